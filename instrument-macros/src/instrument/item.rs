//! The instrumented item: a function with a body (free fn, method, trait impl method, trait
//! default method), and the names of its parameters.

use proc_macro2::TokenStream;
use syn::visit::Visit;
use syn::{FnArg, Ident, ItemFn, Pat, Type};

/// The function being instrumented.
pub(crate) struct Func {
    pub(crate) item: ItemFn,
}

impl Func {
    /// Parameters that bind a plain name (`x: T`, `mut x: T`, `self`), in order.
    pub(crate) fn param_names(&self) -> Vec<Ident> {
        self.item
            .sig
            .inputs
            .iter()
            .filter_map(|arg| match arg {
                FnArg::Receiver(r) => Some(Ident::new("self", r.self_token.span)),
                FnArg::Typed(t) => match &*t.pat {
                    Pat::Ident(p) => Some(p.ident.clone()),
                    _ => None,
                },
            })
            .collect()
    }
}

pub(crate) fn parse(item: TokenStream) -> syn::Result<Func> {
    match syn::parse2::<ItemFn>(item.clone()) {
        Ok(item) => Ok(Func { item }),
        Err(_) => Err(not_a_function(item)),
    }
}

/// A trait method without a body gets its own message; anything else is "not a function".
fn not_a_function(item: TokenStream) -> syn::Error {
    if let Ok(m) = syn::parse2::<syn::TraitItemFn>(item.clone()) {
        return syn::Error::new_spanned(
            &m.sig,
            "#[instrument] needs a function body: put it on the trait's implementations, or on a \
             default method",
        );
    }
    syn::Error::new(
        proc_macro2::Span::call_site(),
        "#[instrument] can only be used on functions",
    )
}

/// `true` if `ty` can be written in a `let` (it contains no `impl Trait`, `!` or macro).
pub(crate) fn writable_in_let(ty: &Type) -> bool {
    struct FindImpl(bool);
    impl<'ast> Visit<'ast> for FindImpl {
        fn visit_type_impl_trait(&mut self, _: &'ast syn::TypeImplTrait) {
            self.0 = true;
        }
        fn visit_type_never(&mut self, _: &'ast syn::TypeNever) {
            self.0 = true;
        }
        fn visit_type_macro(&mut self, _: &'ast syn::TypeMacro) {
            self.0 = true;
        }
    }
    let mut v = FindImpl(false);
    v.visit_type(ty);
    !v.0
}
