//! Parsing `#[instrument(...)]`'s arguments into a typed model.
//!
//! The arguments are first read as a list of `syn::Meta` (so a syntax error anywhere is one
//! clear error), then each is interpreted; every problem is collected, spanned on its token.

use proc_macro2::TokenStream;
use quote::ToTokens;
use syn::parse::{Parse, ParseStream};
use syn::punctuated::Punctuated;
use syn::{Expr, Ident, LitInt, LitStr, Meta, Path, Token};

use crate::errors::Errors;

/// How a value is turned into text: `Display` (`%`) or `Debug` (`?`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Format {
    Display,
    Debug,
}

/// How a field's value is recorded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Sigil {
    /// No sigil: the value must implement `FieldValue` (numbers, bools, strings).
    Value,
    /// `%value`
    Display,
    /// `?value`
    Debug,
}

/// One entry of `fields(...)`.
pub(crate) struct Field {
    /// Dotted name, e.g. `http.method`.
    pub(crate) name: String,
    /// The name's tokens, for error spans.
    pub(crate) name_tokens: TokenStream,
    pub(crate) sigil: Sigil,
    /// `None` for the shorthand `fields(arg)`, which captures the parameter `arg`, and for
    /// `fields(name = redacted)`.
    pub(crate) value: Option<Expr>,
    /// `fields(name = redacted)`: recorded as `"[redacted]"`, nothing is evaluated.
    pub(crate) redacted: bool,
}

/// One entry of `labels(...)`.
pub(crate) struct LabelArg {
    /// The name, `r#` stripped.
    pub(crate) name: String,
    pub(crate) ident: Ident,
    pub(crate) value: LabelValue,
}

/// A label's value.
pub(crate) enum LabelValue {
    /// A string literal: a constant label (one value).
    Const(LitStr),
    /// Any other expression; its type must implement `Label`.
    Expr(Expr),
    /// The shorthand `labels(arg)`: the parameter `arg`.
    Param,
}

/// The whole attribute, interpreted.
#[derive(Default)]
pub(crate) struct Args {
    pub(crate) name: Option<LitStr>,
    pub(crate) level: Option<LitStr>,
    pub(crate) target: Option<LitStr>,
    /// `kind = "server" | "client" | "producer" | "consumer" | "internal"`, checked here.
    pub(crate) kind: Option<LitStr>,
    pub(crate) fields: Vec<Field>,
    pub(crate) skip: Vec<Ident>,
    pub(crate) skip_all: bool,
    pub(crate) err: Option<Format>,
    pub(crate) ret: Option<Format>,
    pub(crate) parent: Option<Expr>,
    pub(crate) krate: Option<Path>,
    /// `labels(...)`, in order (the order of the series index digits).
    pub(crate) labels: Vec<LabelArg>,
    /// The `labels` keyword, where the budget error points.
    pub(crate) labels_token: Option<Path>,
    /// `max_series = N`.
    pub(crate) max_series: Option<LitInt>,
    /// The `error_label` keyword, if given.
    pub(crate) error_label: Option<Path>,
    /// Every argument given, by name, with its tokens (for the "at most once" rule).
    pub(crate) seen: Vec<(String, TokenStream)>,
    /// The `err` and `ret` keywords, where errors about the return type point.
    pub(crate) err_span: Option<proc_macro2::Span>,
    pub(crate) ret_span: Option<proc_macro2::Span>,
    /// Mistakes found while interpreting the arguments; reported together with validation's,
    /// so one build shows every mistake of the attribute.
    pub(crate) errors: Errors,
}

impl Parse for Args {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let metas = Punctuated::<Meta, Token![,]>::parse_terminated(input)?;
        let mut args = Args::default();
        let mut errors = Errors::default();
        for meta in metas {
            args.seen
                .push((meta_name(&meta), meta.path().to_token_stream()));
            args.interpret(meta, &mut errors);
        }
        args.errors = errors;
        Ok(args)
    }
}

fn meta_name(meta: &Meta) -> String {
    meta.path()
        .get_ident()
        .map(Ident::to_string)
        .unwrap_or_else(|| meta.path().to_token_stream().to_string().replace(' ', ""))
}

impl Args {
    fn interpret(&mut self, meta: Meta, errors: &mut Errors) {
        match (meta_name(&meta).as_str(), meta) {
            ("name", m) => self.name = lit_str(m, errors),
            ("level", m) => self.level = lit_str(m, errors),
            ("target", m) => self.target = lit_str(m, errors),
            ("kind", m) => {
                self.kind = lit_str(m, errors);
                if let Some(kind) = &self.kind {
                    if !KINDS.contains(&kind.value().as_str()) {
                        errors.spanned(
                            kind,
                            "unknown span kind; expected \"server\", \"client\", \"producer\", \
                             \"consumer\" or \"internal\"",
                        );
                        self.kind = None;
                    }
                }
            }
            ("fields", Meta::List(l)) => match l.parse_args_with(parse_fields) {
                Ok(f) => self.fields.extend(f),
                Err(e) => errors.push(e),
            },
            ("skip", Meta::List(l)) => {
                match l.parse_args_with(Punctuated::<Ident, Token![,]>::parse_terminated) {
                    Ok(ids) => self.skip.extend(ids),
                    Err(e) => errors.push(e),
                }
            }
            ("skip_all", Meta::Path(_)) => self.skip_all = true,
            ("err", m) => {
                self.err_span = Some(syn::spanned::Spanned::span(m.path()));
                self.err = format_arg(m, errors);
            }
            ("ret", m) => {
                self.ret_span = Some(syn::spanned::Spanned::span(m.path()));
                self.ret = format_arg(m, errors);
            }
            ("parent", Meta::NameValue(nv)) => self.parent = Some(nv.value),
            ("crate", Meta::NameValue(nv)) => self.krate = path_value(nv.value, errors),
            ("labels", Meta::List(l)) => {
                match l.parse_args_with(Punctuated::<LabelArg, Token![,]>::parse_terminated) {
                    Ok(list) => {
                        self.labels.extend(list);
                        self.labels_token = Some(l.path);
                    }
                    // Already reported; later checks must not add "`labels()` is empty".
                    Err(e) => errors.push(e),
                }
            }
            ("max_series", Meta::NameValue(nv)) => self.max_series = int_value(nv.value, errors),
            ("error_label", Meta::Path(p)) => self.error_label = Some(p),
            (
                known @ ("fields" | "skip" | "skip_all" | "parent" | "crate" | "labels"
                | "max_series" | "error_label"),
                m,
            ) => {
                errors.spanned(m, usage(known));
            }
            (_, m) => errors.spanned(
                m.path(),
                format_args!(
                    "unknown argument `{}`; expected one of: name, level, target, fields, skip, \
                     skip_all, err, ret, parent, crate, labels, max_series, error_label",
                    meta_name(&m)
                ),
            ),
        }
    }
}

/// The values of `kind = "..."` (the runtime's `SpanKind` variants, lowercase).
const KINDS: [&str; 5] = ["server", "client", "producer", "consumer", "internal"];

/// How an argument is written, for "wrong form" errors.
fn usage(name: &str) -> &'static str {
    match name {
        "fields" => "expected `fields(name, name = value, name = %value, name = ?value)`",
        "skip" => "expected `skip(arg, ...)`",
        "skip_all" => "expected `skip_all` with no value",
        "parent" => "expected `parent = <expression giving a SpanContext>`",
        "crate" => "expected `crate = path::to::instrument_runtime`",
        "labels" => "expected `labels(name = value, ...)`",
        "max_series" => "expected `max_series = <integer>`",
        "error_label" => "expected `error_label` with no value",
        _ => "unexpected form",
    }
}

fn lit_str(meta: Meta, errors: &mut Errors) -> Option<LitStr> {
    let name = meta_name(&meta);
    if let Meta::NameValue(nv) = &meta {
        if let Expr::Lit(syn::ExprLit {
            lit: syn::Lit::Str(s),
            ..
        }) = &nv.value
        {
            return Some(s.clone());
        }
        errors.spanned(
            &nv.value,
            format_args!("expected a string literal: `{name} = \"...\"`"),
        );
        return None;
    }
    errors.spanned(meta, format_args!("expected `{name} = \"...\"`"));
    None
}

/// `err`, `err(Display)`, `err(Debug)` (and the same for `ret`).
fn format_arg(meta: Meta, errors: &mut Errors) -> Option<Format> {
    let name = meta_name(&meta);
    let default = if name == "err" {
        Format::Display
    } else {
        Format::Debug
    };
    match &meta {
        Meta::Path(_) => Some(default),
        Meta::List(l) => match l.parse_args::<Ident>() {
            Ok(i) if i == "Display" => Some(Format::Display),
            Ok(i) if i == "Debug" => Some(Format::Debug),
            Ok(i) => {
                errors.spanned(
                    i,
                    format_args!("expected `{name}(Display)` or `{name}(Debug)`"),
                );
                None
            }
            Err(e) => {
                errors.push(e);
                None
            }
        },
        Meta::NameValue(nv) => {
            errors.spanned(
                nv,
                format_args!("expected `{name}`, `{name}(Display)` or `{name}(Debug)`"),
            );
            None
        }
    }
}

fn path_value(value: Expr, errors: &mut Errors) -> Option<Path> {
    match value {
        Expr::Path(p) => Some(p.path),
        other => {
            errors.spanned(other, usage("crate"));
            None
        }
    }
}

fn int_value(value: Expr, errors: &mut Errors) -> Option<LitInt> {
    match value {
        Expr::Lit(syn::ExprLit {
            lit: syn::Lit::Int(i),
            ..
        }) => Some(i),
        other => {
            errors.spanned(other, usage("max_series"));
            None
        }
    }
}

fn parse_fields(input: ParseStream<'_>) -> syn::Result<Vec<Field>> {
    let list = Punctuated::<Field, Token![,]>::parse_terminated(input)?;
    Ok(list.into_iter().collect())
}

fn parse_sigil(input: ParseStream<'_>) -> syn::Result<Sigil> {
    if input.peek(Token![%]) {
        input.parse::<Token![%]>()?;
        Ok(Sigil::Display)
    } else if input.peek(Token![?]) {
        input.parse::<Token![?]>()?;
        Ok(Sigil::Debug)
    } else {
        Ok(Sigil::Value)
    }
}

impl Parse for Field {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let leading = parse_sigil(input)?;
        let (name, name_tokens) = parse_dotted_name(input)?;
        if !input.peek(Token![=]) {
            return Ok(Field {
                name,
                name_tokens,
                sigil: leading,
                value: None,
                redacted: false,
            });
        }
        let eq: Token![=] = input.parse()?;
        if leading != Sigil::Value {
            return Err(syn::Error::new_spanned(
                eq,
                "put the sigil before the value: `name = %value` or `name = ?value`",
            ));
        }
        let sigil = parse_sigil(input)?;
        if sigil == Sigil::Value && peek_redacted(input) {
            input.parse::<Ident>()?;
            return Ok(Field {
                name,
                name_tokens,
                sigil,
                value: None,
                redacted: true,
            });
        }
        let value: Expr = input.parse()?;
        Ok(Field {
            name,
            name_tokens,
            sigil,
            value: Some(value),
            redacted: false,
        })
    }
}

/// The value is exactly the word `redacted` (not an expression starting with it).
fn peek_redacted(input: ParseStream<'_>) -> bool {
    let fork = input.fork();
    matches!(fork.parse::<Ident>(), Ok(i) if i == "redacted")
        && (fork.is_empty() || fork.peek(Token![,]))
}

impl Parse for LabelArg {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let ident: Ident = input.call(syn::ext::IdentExt::parse_any)?;
        let name = ident.to_string().trim_start_matches("r#").to_owned();
        if input.peek(Token![.]) {
            let dot: Token![.] = input.parse()?;
            return Err(syn::Error::new_spanned(
                dot,
                "a label name is one identifier (metric backends refuse `.` in label names); \
                 write it with `_`",
            ));
        }
        if !input.peek(Token![=]) {
            return Ok(LabelArg {
                name,
                ident,
                value: LabelValue::Param,
            });
        }
        input.parse::<Token![=]>()?;
        let value = match input.parse::<Expr>()? {
            Expr::Lit(syn::ExprLit {
                lit: syn::Lit::Str(s),
                ..
            }) => LabelValue::Const(s),
            other => LabelValue::Expr(other),
        };
        Ok(LabelArg { name, ident, value })
    }
}

/// `ident(.ident)*`, keywords allowed as segments (`r#type`, `self`).
fn parse_dotted_name(input: ParseStream<'_>) -> syn::Result<(String, TokenStream)> {
    let mut tokens = TokenStream::new();
    let mut name = String::new();
    loop {
        let seg: Ident = input.call(syn::ext::IdentExt::parse_any)?;
        name.push_str(seg.to_string().trim_start_matches("r#"));
        seg.to_tokens(&mut tokens);
        if !input.peek(Token![.]) {
            break;
        }
        let dot: Token![.] = input.parse()?;
        dot.to_tokens(&mut tokens);
        name.push('.');
    }
    Ok((name, tokens))
}
