//! `#[instrument]`, a pipeline with one error accumulator ([`Errors`]) threaded through it:
//!
//! 1. parse: [`item`] (the function, and the shape of its body: [`body`]), then [`args`] (the
//!    attribute, which needs the parameter names; `buckets = [...]` is read by [`buckets`]);
//! 2. validate: [`validate`] (with the name lists of [`refused`]);
//! 3. expand: [`expand`] (with [`names`] for the generated identifiers and [`labels`] for
//!    `labels(...)` and `error_label`).

mod args;
mod body;
mod buckets;
mod expand;
mod item;
mod labels;
mod names;
mod refused;
mod validate;

use proc_macro2::TokenStream;

use crate::errors::Errors;

pub(crate) fn instrument(args: TokenStream, item: TokenStream) -> TokenStream {
    let mut errors = Errors::default();
    let func = item::parse(item.clone(), &mut errors);
    let params = func
        .as_ref()
        .map(item::Func::param_names)
        .unwrap_or_default();
    let args = args::parse(args, &params, &mut errors);
    if let (Some(args), Some(func)) = (&args, &func) {
        validate::check(args, func, &mut errors);
    }
    errors.finish(item, || Some(expand::expand(&args?, func?)))
}
