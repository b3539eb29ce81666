//! `#[instrument]`: parse ([`args`], [`item`]) -> validate ([`validate`], with the name lists
//! of [`names`]) -> expand ([`expand`], with [`labels`] for `labels(...)` and `error_label`).

mod args;
mod expand;
mod item;
mod labels;
mod names;
mod validate;

use proc_macro2::TokenStream;

use crate::errors;

pub(crate) fn instrument(args: TokenStream, item: TokenStream) -> TokenStream {
    match run(args, item.clone()) {
        Ok(tokens) => tokens,
        Err(e) => errors::with_item(&e, item),
    }
}

fn run(args: TokenStream, item: TokenStream) -> syn::Result<TokenStream> {
    let args: args::Args = syn::parse2(args)?;
    let func = match item::parse(item) {
        Ok(func) => func,
        Err(not_a_fn) => {
            // Still report the attribute's own mistakes with it.
            let mut errors = errors::Errors::default();
            errors.extend_from(&args.errors);
            errors.push(not_a_fn);
            errors.finish()?;
            unreachable!("an error was pushed");
        }
    };
    validate::check(&args, &func)?;
    Ok(expand::expand(&args, func))
}
