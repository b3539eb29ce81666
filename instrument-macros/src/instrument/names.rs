//! The identifiers and paths every generated piece of `#[instrument]` shares, made once per
//! invocation. Locals are `__instrument_*` with mixed-site hygiene: the user's body can neither
//! see nor shadow them.

use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote, ToTokens};
use syn::Ident;

use super::args::Args;

/// Names of everything generated, resolved once.
pub(crate) struct Names {
    /// `::instrument_runtime`, or the `crate = ...` override.
    pub(crate) krate: TokenStream,
    /// The `&'static Callsite`.
    pub(crate) callsite: Ident,
    /// The open span.
    pub(crate) span: Ident,
    /// The body's value.
    pub(crate) ret: Ident,
    /// The nested fn whose `type_name` qualifies the function (`UserRepo::get`).
    pub(crate) here: Ident,
    /// Span of generated locals (mixed-site: invisible to the user's code).
    pub(crate) site: Span,
}

impl Names {
    pub(crate) fn new(args: &Args) -> Names {
        let site = Span::mixed_site();
        let krate = match &args.krate {
            Some(p) => p.to_token_stream(),
            None => quote!(::instrument_runtime),
        };
        Names {
            krate,
            callsite: format_ident!("__instrument_callsite", span = site),
            span: format_ident!("__instrument_span", span = site),
            ret: format_ident!("__instrument_ret", span = site),
            here: format_ident!("__instrument_here", span = site),
            site,
        }
    }

    /// `krate::__private::Span`: every call on the span is written with this path (never
    /// method syntax, which an extension trait in the user's scope could capture).
    pub(crate) fn span_ty(&self) -> TokenStream {
        let krate = &self.krate;
        quote!(#krate::__private::Span)
    }
}
