//! The error accumulator of one macro invocation (serde_derive's `Ctxt`): every stage (parse,
//! validate) adds to it, spanned on the offending token, so the user sees all mistakes of an
//! attribute in one build; [`Errors::finish`] ends the invocation with either the expansion or
//! every error followed by a fallback item. Both macros use it the same way:
//!
//! ```text
//! let mut errors = Errors::default();
//! let parsed = parse(input, &mut errors);      // Option<Model>: None if unreadable
//! validate(&parsed, &mut errors);
//! errors.finish(fallback, || expand(parsed))
//! ```

use proc_macro2::TokenStream;
use quote::ToTokens;
use std::fmt::Display;

/// Collected errors of one macro invocation.
#[derive(Default)]
pub(crate) struct Errors {
    errors: Vec<syn::Error>,
}

impl Errors {
    /// Adds an error spanned on `tokens`.
    pub(crate) fn spanned(&mut self, tokens: impl ToTokens, message: impl Display) {
        self.errors.push(syn::Error::new_spanned(tokens, message));
    }

    /// Adds an already-built error.
    pub(crate) fn push(&mut self, error: syn::Error) {
        self.errors.push(error);
    }

    /// Adds every error of a nested accumulator (one attribute's, reported after the
    /// attribute's own syntax error).
    pub(crate) fn extend(&mut self, nested: Errors) {
        self.errors.extend(nested.errors);
    }

    /// The output of the invocation: `expand()` when no error was added; otherwise every
    /// error's `compile_error!` followed by `fallback` (the untouched item, or a placeholder
    /// impl), so one mistake gives one error, not fifty. `expand`
    /// runs only when no error was added; it returns `None` when the model is incomplete.
    pub(crate) fn finish(
        self,
        fallback: TokenStream,
        expand: impl FnOnce() -> Option<TokenStream>,
    ) -> TokenStream {
        if self.errors.is_empty() {
            if let Some(tokens) = expand() {
                return tokens;
            }
        }
        let mut out: TokenStream = self
            .errors
            .iter()
            .map(syn::Error::to_compile_error)
            .collect();
        out.extend(fallback);
        out
    }
}
