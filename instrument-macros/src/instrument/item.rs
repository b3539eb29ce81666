//! The instrumented item: a function with a body (free fn, method, trait impl method, trait
//! default method), and the names of its parameters.

use proc_macro2::TokenStream;
use syn::visit::Visit;
use syn::{FnArg, Ident, ItemFn, Pat, Type};

use super::body::{self, Output, Shape};
use crate::errors::Errors;

/// The function being instrumented.
pub(crate) struct Func {
    pub(crate) item: ItemFn,
    /// How its body runs.
    pub(crate) shape: Shape,
    /// The type of the value its work produces.
    pub(crate) output: Output,
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

/// The function, `None` (with the error added) when the item is not a function with a body.
/// Every name the parameters bind (`self`, `x`, and the names inside patterns such as
/// `(a, b): (u8, u8)`), in order.
pub(crate) fn bindings(item: &ItemFn) -> Vec<Ident> {
    struct Find(Vec<Ident>);
    impl<'ast> Visit<'ast> for Find {
        fn visit_pat_ident(&mut self, p: &'ast syn::PatIdent) {
            self.0.push(p.ident.clone());
            syn::visit::visit_pat_ident(self, p);
        }
    }
    let mut find = Find(Vec::new());
    for arg in &item.sig.inputs {
        match arg {
            FnArg::Receiver(r) => find.0.push(Ident::new("self", r.self_token.span)),
            FnArg::Typed(t) => find.visit_pat(&t.pat),
        }
    }
    find.0
}

pub(crate) fn parse(tokens: TokenStream, errors: &mut Errors) -> Option<Func> {
    match syn::parse2::<ItemFn>(tokens.clone()) {
        Ok(item) => {
            let shape = Shape::of(&item);
            let output = body::output(&item, &shape);
            Some(Func {
                item,
                shape,
                output,
            })
        }
        Err(_) => {
            errors.push(not_a_function(tokens));
            None
        }
    }
}

/// A trait method without a body gets its own message (on its `;`); anything else is "not a
/// function", spanned on the item's keyword and name.
fn not_a_function(item: TokenStream) -> syn::Error {
    if let Ok(m) = syn::parse2::<syn::TraitItemFn>(item.clone()) {
        let message = "#[instrument] needs a function body: put it on the trait's \
                       implementations, or on a default method";
        return match &m.semi_token {
            Some(semi) => syn::Error::new_spanned(semi, message),
            None => syn::Error::new_spanned(&m.sig, message),
        };
    }
    let message = "#[instrument] can only be used on functions";
    match syn::parse2::<syn::Item>(item) {
        Ok(parsed) => syn::Error::new_spanned(item_head(&parsed), message),
        Err(_) => syn::Error::new(proc_macro2::Span::call_site(), message),
    }
}

/// The keyword and name of an item (`struct Config`), or the whole item for other kinds.
fn item_head(item: &syn::Item) -> TokenStream {
    use quote::{quote, ToTokens};
    match item {
        syn::Item::Struct(s) => (s.struct_token, &s.ident).pair(),
        syn::Item::Enum(e) => (e.enum_token, &e.ident).pair(),
        syn::Item::Union(u) => (u.union_token, &u.ident).pair(),
        syn::Item::Trait(t) => (t.trait_token, &t.ident).pair(),
        syn::Item::Mod(m) => (m.mod_token, &m.ident).pair(),
        syn::Item::Const(c) => (c.const_token, &c.ident).pair(),
        syn::Item::Static(s) => (s.static_token, &s.ident).pair(),
        syn::Item::Type(t) => (t.type_token, &t.ident).pair(),
        syn::Item::Impl(i) => {
            let (kw, ty) = (&i.impl_token, &i.self_ty);
            quote!(#kw #ty)
        }
        other => other.to_token_stream(),
    }
}

/// Two tokens side by side.
trait Pair {
    fn pair(self) -> TokenStream;
}

impl<K: quote::ToTokens> Pair for (K, &Ident) {
    fn pair(self) -> TokenStream {
        let (kw, name) = self;
        quote::quote!(#kw #name)
    }
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
