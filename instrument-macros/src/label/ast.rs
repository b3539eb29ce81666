//! Parsing `#[derive(Label)]`'s input into a typed model: the item's shape, its variants and
//! the `#[label(...)]` attributes (every problem collected, spanned on its token).

use proc_macro2::TokenStream;
use quote::ToTokens;
use syn::meta::ParseNestedMeta;
use syn::{Attribute, Data, DeriveInput, Fields, Generics, Ident, LitStr, Path};

use super::case::RenameRule;
use crate::errors::Errors;

/// The derive's input, interpreted.
pub(crate) struct Input<'a> {
    pub(crate) ident: &'a Ident,
    pub(crate) generics: &'a Generics,
    pub(crate) shape: Shape<'a>,
    /// `#[label(rename_all = "...")]`, with the literal for error spans.
    pub(crate) rename_all: Option<(RenameRule, LitStr)>,
    /// `#[label(crate = path)]`.
    pub(crate) krate: Option<Path>,
}

/// What kind of item the derive is on.
pub(crate) enum Shape<'a> {
    Enum(Vec<Variant<'a>>),
    /// A struct or a union: the `struct` / `union` keyword, for the error span.
    NotAnEnum(TokenStream, &'static str),
}

/// One variant of the enum.
pub(crate) struct Variant<'a> {
    pub(crate) ident: &'a Ident,
    pub(crate) fields: &'a Fields,
    /// `#[label(rename = "...")]`.
    pub(crate) rename: Option<LitStr>,
}

impl Variant<'_> {
    /// The exported text of this variant.
    pub(crate) fn name(&self, rule: RenameRule) -> String {
        match &self.rename {
            Some(lit) => lit.value(),
            None => rule.apply(&self.ident.to_string()),
        }
    }

    /// The tokens a "this name" error points at: the rename literal, else the identifier.
    pub(crate) fn name_tokens(&self) -> TokenStream {
        match &self.rename {
            Some(lit) => lit.to_token_stream(),
            None => self.ident.to_token_stream(),
        }
    }
}

/// Where an attribute sits, for "wrong place" errors.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Level {
    Enum,
    Variant,
}

pub(crate) fn parse<'a>(input: &'a DeriveInput, errors: &mut Errors) -> Input<'a> {
    let mut parsed = Input {
        ident: &input.ident,
        generics: &input.generics,
        shape: Shape::NotAnEnum(TokenStream::new(), ""),
        rename_all: None,
        krate: None,
    };
    for attr in label_attrs(&input.attrs) {
        parse_attr(attr, Level::Enum, errors, |key, meta, errors| {
            match key {
                "rename_all" => parsed.rename_all = rename_rule(&meta, errors)?,
                _ => parsed.krate = Some(meta.value()?.parse()?),
            }
            Ok(())
        });
    }
    parsed.shape = match &input.data {
        Data::Enum(e) => Shape::Enum(e.variants.iter().map(|v| variant(v, errors)).collect()),
        Data::Struct(s) => Shape::NotAnEnum(s.struct_token.to_token_stream(), "a struct"),
        Data::Union(u) => Shape::NotAnEnum(u.union_token.to_token_stream(), "a union"),
    };
    parsed
}

fn variant<'a>(v: &'a syn::Variant, errors: &mut Errors) -> Variant<'a> {
    let mut rename = None;
    for attr in label_attrs(&v.attrs) {
        parse_attr(attr, Level::Variant, errors, |_, meta, _| {
            rename = Some(meta.value()?.parse::<LitStr>()?);
            Ok(())
        });
    }
    Variant {
        ident: &v.ident,
        fields: &v.fields,
        rename,
    }
}

fn label_attrs(attrs: &[Attribute]) -> impl Iterator<Item = &Attribute> {
    attrs.iter().filter(|a| a.path().is_ident("label"))
}

/// Reads one `#[label(key = value, ...)]`, checking each key is known at `level` and given at
/// most once, and hands known keys to `known`.
fn parse_attr(
    attr: &Attribute,
    level: Level,
    errors: &mut Errors,
    mut known: impl FnMut(&str, ParseNestedMeta<'_>, &mut Errors) -> syn::Result<()>,
) {
    let mut seen: Vec<String> = Vec::new();
    let mut nested_errors = Errors::default();
    let result = attr.parse_nested_meta(|meta| {
        let key = meta
            .path
            .get_ident()
            .map(Ident::to_string)
            .unwrap_or_default();
        if let Some(message) = misplaced(&key, level) {
            nested_errors.spanned(&meta.path, message);
            return skip_value(&meta);
        }
        if seen.contains(&key) {
            nested_errors.spanned(&meta.path, format_args!("`{key}` is given more than once"));
            return skip_value(&meta);
        }
        seen.push(key.clone());
        known(&key, meta, &mut nested_errors)
    });
    if let Err(e) = result {
        errors.push(e);
    }
    errors.extend(nested_errors);
}

/// `None` if `key` belongs at `level`, else the error to report.
fn misplaced(key: &str, level: Level) -> Option<String> {
    match (key, level) {
        ("rename_all" | "crate", Level::Enum) | ("rename", Level::Variant) => None,
        ("rename", Level::Enum) => Some(
            "`rename` goes on a variant; on the enum, write `#[label(rename_all = \"...\")]`"
                .to_owned(),
        ),
        ("rename_all" | "crate", Level::Variant) => {
            Some(format!("`{key}` goes on the enum, not on a variant"))
        }
        (_, Level::Enum) => Some(format!(
            "unknown `label` attribute `{key}`; expected `rename_all = \"...\"` or `crate = path`"
        )),
        (_, Level::Variant) => Some(format!(
            "unknown `label` attribute `{key}`; expected `rename = \"...\"`"
        )),
    }
}

/// Consumes `= value` after a rejected key so the rest of the attribute is still read.
fn skip_value(meta: &ParseNestedMeta<'_>) -> syn::Result<()> {
    if meta.input.peek(syn::Token![=]) {
        meta.value()?.parse::<syn::Expr>()?;
    } else if meta.input.peek(syn::token::Paren) {
        meta.input.parse::<proc_macro2::Group>()?;
    }
    Ok(())
}

/// `rename_all = "..."`: one of the known rules.
fn rename_rule(
    meta: &ParseNestedMeta<'_>,
    errors: &mut Errors,
) -> syn::Result<Option<(RenameRule, LitStr)>> {
    let lit: LitStr = meta.value()?.parse()?;
    let Some(rule) = RenameRule::from_name(&lit.value()) else {
        errors.spanned(
            &lit,
            format_args!(
                "unknown case `{}`; expected one of {}",
                lit.value(),
                RenameRule::names()
            ),
        );
        return Ok(None);
    };
    Ok(Some((rule, lit)))
}
