//! Code generation for `#[derive(Label)]`: `CARDINALITY`, a `match` from variant to index (the
//! hot path), and a table from index to name (the exporter's side).

use proc_macro2::TokenStream;
use quote::{quote, ToTokens};
use syn::{Ident, LitStr};

use super::ast::{Input, Shape};
use super::case::RenameRule;

fn krate(input: &Input<'_>) -> TokenStream {
    match &input.krate {
        Some(path) => path.to_token_stream(),
        None => quote!(::instrument_runtime),
    }
}

pub(crate) fn expand(input: &Input<'_>) -> TokenStream {
    let Shape::Enum(variants) = &input.shape else {
        return fallback(input);
    };
    let rule = input
        .rename_all
        .as_ref()
        .map_or(RenameRule::Snake, |(r, _)| *r);
    let idents: Vec<&Ident> = variants.iter().map(|v| v.ident).collect();
    let names: Vec<LitStr> = variants
        .iter()
        .map(|v| LitStr::new(&v.name(rule), v.ident.span()))
        .collect();
    let indices = 0..variants.len();
    let count = variants.len();
    gen_impl(
        input,
        &quote! {
            const CARDINALITY: ::core::primitive::usize = #count;

            #[inline]
            fn index(&self) -> ::core::primitive::usize {
                match *self {
                    #(Self::#idents => #indices,)*
                }
            }

            fn name(index: ::core::primitive::usize) -> &'static ::core::primitive::str {
                const NAMES: [&::core::primitive::str; #count] = [#(#names),*];
                match NAMES.get(index) {
                    ::core::option::Option::Some(name) => name,
                    ::core::option::Option::None => "",
                }
            }
        },
    )
}

/// What is emitted beside the errors: an impl with one value, so uses of the type as a label
/// elsewhere do not add errors of their own ("one mistake gives one error").
pub(crate) fn fallback(input: &Input<'_>) -> TokenStream {
    gen_impl(
        input,
        &quote! {
            const CARDINALITY: ::core::primitive::usize = 1;
            fn index(&self) -> ::core::primitive::usize {
                0
            }
            fn name(_: ::core::primitive::usize) -> &'static ::core::primitive::str {
                ""
            }
        },
    )
}

fn gen_impl(input: &Input<'_>, body: &TokenStream) -> TokenStream {
    let krate = krate(input);
    let ident = input.ident;
    let (impl_generics, ty_generics, where_clause) = input.generics.split_for_impl();
    quote! {
        #[automatically_derived]
        impl #impl_generics #krate::Label for #ident #ty_generics #where_clause {
            #body
        }
    }
}
