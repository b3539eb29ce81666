//! `#[derive(Label)]`: parse ([`ast`]) -> validate ([`validate`]) -> expand ([`expand`]).
//! On error, the errors are emitted with a one-value fallback impl (see [`expand::fallback`]).

mod ast;
pub(crate) mod case;
mod expand;
mod validate;

use proc_macro2::TokenStream;
use syn::DeriveInput;

use crate::errors::Errors;

pub(crate) fn derive(input: TokenStream) -> TokenStream {
    let input: DeriveInput = match syn::parse2(input) {
        Ok(input) => input,
        Err(e) => return e.to_compile_error(),
    };
    let mut errors = Errors::default();
    let parsed = ast::parse(&input, &mut errors);
    validate::check(&parsed, &mut errors);
    match errors.finish() {
        Ok(()) => expand::expand(&parsed),
        Err(e) => {
            let mut out = e.to_compile_error();
            out.extend(expand::fallback(&parsed));
            out
        }
    }
}
