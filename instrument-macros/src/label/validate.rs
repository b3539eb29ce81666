//! The rules a `#[derive(Label)]` input must follow, one `check_*` function each, every
//! violation collected and spanned on its token.

use std::collections::HashMap;

use syn::Fields;

use super::ast::{Input, Shape, Variant};
use super::case::RenameRule;
use crate::errors::Errors;

pub(crate) fn check(input: &Input<'_>, errors: &mut Errors) {
    let variants = match &input.shape {
        Shape::Enum(variants) => variants,
        Shape::NotAnEnum(keyword, what) => return check_is_enum(keyword, what, errors),
    };
    check_has_variants(input, variants, errors);
    check_fieldless(variants, errors);
    check_names_not_empty(variants, errors);
    check_names_unique(input, variants, errors);
}

// `#[derive(Label)]` is for enums: a label's values are the enum's variants.
fn check_is_enum(keyword: &proc_macro2::TokenStream, what: &str, errors: &mut Errors) {
    errors.spanned(
        keyword,
        format_args!(
            "#[derive(Label)] is for fieldless enums, not {what}: a label's values are the \
             variants of an enum; implement `Label` by hand to bucket other values"
        ),
    );
}

// An enum without variants has no value to label with.
fn check_has_variants(input: &Input<'_>, variants: &[Variant<'_>], errors: &mut Errors) {
    if variants.is_empty() {
        errors.spanned(
            input.ident,
            "#[derive(Label)] needs at least one variant: an enum without variants has no value",
        );
    }
}

// Variants carry no fields: a field could hold any number of values, so the label would be
// unbounded.
fn check_fieldless(variants: &[Variant<'_>], errors: &mut Errors) {
    for v in variants {
        if !matches!(v.fields, Fields::Unit) {
            errors.spanned(
                v.fields,
                format_args!(
                    "variant `{}` has fields: #[derive(Label)] is for fieldless enums, whose \
                     values are known to the compiler; remove the fields, or implement `Label` \
                     by hand",
                    v.ident
                ),
            );
        }
    }
}

// A renamed variant has a non-empty name (an empty label value is an absent label in
// Prometheus).
fn check_names_not_empty(variants: &[Variant<'_>], errors: &mut Errors) {
    for v in variants {
        if let Some(lit) = v.rename.as_ref().filter(|l| l.value().is_empty()) {
            errors.spanned(lit, "a label value cannot be empty");
        }
    }
}

// No two variants render to the same text: they would be one series on the backend.
fn check_names_unique(input: &Input<'_>, variants: &[Variant<'_>], errors: &mut Errors) {
    let rule = input
        .rename_all
        .as_ref()
        .map_or(RenameRule::Snake, |(r, _)| *r);
    let mut first_with_name = HashMap::new();
    for v in variants {
        let name = v.name(rule);
        if let Some(first) = first_with_name.get(&name) {
            errors.spanned(
                v.name_tokens(),
                format_args!(
                    "variant `{}` is exported as \"{name}\", like `{first}`; give one of them \
                     another name with `#[label(rename = \"...\")]`",
                    v.ident
                ),
            );
        } else {
            first_with_name.insert(name, v.ident);
        }
    }
}
