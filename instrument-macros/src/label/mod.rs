//! `#[derive(Label)]`: parse ([`ast`]) -> validate ([`validate`]) -> expand ([`expand`]), with
//! one error accumulator ([`Errors`]) threaded through, as for `#[instrument]`. On error, the
//! errors are emitted with a one-value fallback impl (see [`expand::fallback`]).

mod ast;
pub(crate) mod case;
mod expand;
mod validate;

use proc_macro2::TokenStream;
use syn::DeriveInput;

use crate::errors::Errors;

pub(crate) fn derive(input: TokenStream) -> TokenStream {
    let mut errors = Errors::default();
    let input: DeriveInput = match syn::parse2(input) {
        Ok(input) => input,
        Err(e) => {
            errors.push(e);
            return errors.finish(TokenStream::new(), || None);
        }
    };
    let parsed = ast::parse(&input, &mut errors);
    validate::check(&parsed, &mut errors);
    errors.finish(expand::fallback(&parsed), || Some(expand::expand(&parsed)))
}
