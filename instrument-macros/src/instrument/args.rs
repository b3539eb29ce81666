//! Parsing `#[instrument(...)]`'s arguments into a typed model.
//!
//! The arguments are read as an optional bare `"name"` followed by a list of `syn::Meta` (so a
//! syntax error anywhere is one clear error), then each is interpreted; every problem is added
//! to the invocation's [`Errors`], spanned on its token. Every form `tracing::instrument`
//! accepts is read here with the same meaning (see the macro's documentation).

use proc_macro2::{Span, TokenStream};
use quote::ToTokens;
use syn::parse::{ParseStream, Parser};
use syn::punctuated::Punctuated;
use syn::spanned::Spanned;
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

/// A field's name: dotted identifiers, or a constant expression in braces (`{NAME}`).
#[derive(Clone)]
pub(crate) enum FieldName {
    /// `http.method`; `r#` stripped from each segment.
    Dotted(String),
    /// `{CONST}`: any constant `&'static str` expression.
    Const(Expr),
}

/// What a field records.
#[derive(Clone)]
pub(crate) enum FieldValue {
    /// `name = value` (with its sigil).
    Expr(Expr),
    /// `fields(name)` where `name` is a parameter: that parameter.
    Param,
    /// `fields(name)` where `name` is not a parameter, or `fields(name = Empty)`: declared on
    /// the callsite, recorded later (tracing's `field::Empty`).
    Empty,
    /// `fields(name = redacted)`: recorded as `"[redacted]"`, nothing is evaluated.
    Redacted,
}

/// One entry of `fields(...)`.
#[derive(Clone)]
pub(crate) struct Field {
    pub(crate) name: FieldName,
    /// The name's tokens, for error spans.
    pub(crate) name_tokens: TokenStream,
    pub(crate) sigil: Sigil,
    pub(crate) value: FieldValue,
    /// The `Empty` path of `name = Empty`.
    pub(crate) empty_path: Option<Path>,
}

impl Field {
    /// The dotted name, `None` for a `{CONST}` name (its value is known only to rustc).
    pub(crate) fn dotted(&self) -> Option<&str> {
        match &self.name {
            FieldName::Dotted(s) => Some(s),
            FieldName::Const(_) => None,
        }
    }

    /// The name as a `&'static str` expression.
    pub(crate) fn name_expr(&self) -> TokenStream {
        match &self.name {
            FieldName::Dotted(s) => s.to_token_stream(),
            FieldName::Const(e) => e.to_token_stream(),
        }
    }
}

/// One entry of `labels(...)`.
#[derive(Clone)]
pub(crate) struct LabelArg {
    /// The name, `r#` stripped.
    pub(crate) name: String,
    pub(crate) ident: Ident,
    pub(crate) value: LabelValue,
}

/// A label's value.
#[derive(Clone)]
pub(crate) enum LabelValue {
    /// A string literal: a constant label (one value).
    Const(LitStr),
    /// Any other expression; its type must implement `Label`.
    Expr(Expr),
    /// The shorthand `labels(arg)`: the parameter `arg`.
    Param,
}

/// `level = ...`.
#[derive(Clone)]
pub(crate) enum LevelArg {
    /// One of the five levels, lower case (from `"debug"`, `2`, `Level::DEBUG`, `Level::Debug`).
    Known(&'static str),
    /// Another path: a constant of type `instrument_runtime::Level`.
    Path(Path),
}

/// `err(...)` / `ret(...)`: a format and an optional level.
#[derive(Clone, Copy)]
pub(crate) struct Event {
    pub(crate) format: Format,
    /// `err(level = ...)`: the level of the log record the error emits (default ERROR).
    /// `ret(level = ...)`: accepted; `ret` records an attribute, which has no level.
    pub(crate) level: Option<&'static str>,
    /// The keyword, where errors about the return type point.
    pub(crate) span: Span,
}

/// The whole attribute, interpreted.
#[derive(Clone, Default)]
pub(crate) struct Args {
    /// `name = ...` or a bare `"name"` first: the span name (a `&'static str` constant).
    pub(crate) name: Option<Expr>,
    pub(crate) level: Option<LevelArg>,
    /// `target = ...`: a `&'static str` constant.
    pub(crate) target: Option<Expr>,
    /// `kind = "server" | "client" | "producer" | "consumer" | "internal"`, checked here.
    pub(crate) kind: Option<LitStr>,
    pub(crate) fields: Vec<Field>,
    pub(crate) skip: Vec<Ident>,
    pub(crate) skip_all: bool,
    pub(crate) err: Option<Event>,
    pub(crate) ret: Option<Event>,
    pub(crate) parent: Option<Expr>,
    /// `follows_from = expr`: the contexts this call's span links to.
    pub(crate) follows_from: Option<Expr>,
    pub(crate) krate: Option<Path>,
    /// `labels(...)`, in order (the order of the series index digits).
    pub(crate) labels: Vec<LabelArg>,
    /// The `labels` keyword, where the budget error points.
    pub(crate) labels_token: Option<Path>,
    /// `max_series = N`.
    pub(crate) max_series: Option<LitInt>,
    /// `buckets = [...]`: the latency histogram's own bounds, in seconds.
    pub(crate) buckets: Option<super::buckets::Bounds>,
    /// The `error_label` keyword, if given.
    pub(crate) error_label: Option<Path>,
    /// Every argument given, by name, with its tokens (for the "at most once" rule).
    pub(crate) seen: Vec<(String, TokenStream)>,
    /// Paths read by their last segment (`tracing::Level::DEBUG`, `field::Empty`): named in
    /// the expansion too, so their imports count as used and a wrong path is rustc's error.
    pub(crate) uses: Vec<Path>,
}

/// Every argument name, for "unknown argument" errors.
const KNOWN: &str = "name, level, target, fields, skip, skip_all, err, ret, parent, \
                     follows_from, crate, labels, max_series, buckets, error_label";

/// Reads the attribute's tokens; `None` only when they are not even a list of arguments.
pub(crate) fn parse(tokens: TokenStream, params: &[Ident], errors: &mut Errors) -> Option<Args> {
    let parser = |input: ParseStream<'_>| {
        // tracing's bare `"name"` (first, or anywhere: it is one more argument).
        let mut bare = Vec::new();
        let mut metas = Vec::new();
        while !input.is_empty() {
            if input.peek(LitStr) {
                bare.push(input.parse::<LitStr>()?);
            } else {
                metas.push(input.parse::<Meta>()?);
            }
            if input.is_empty() {
                break;
            }
            input.parse::<Token![,]>()?;
        }
        Ok((bare, metas))
    };
    let (bare, metas) = match parser.parse2(tokens) {
        Ok(parsed) => parsed,
        Err(e) => {
            errors.push(e);
            return None;
        }
    };
    let mut args = Args::default();
    for lit in bare {
        args.seen.push(("name".to_owned(), lit.to_token_stream()));
        args.name = Some(Expr::Lit(syn::ExprLit {
            attrs: Vec::new(),
            lit: syn::Lit::Str(lit),
        }));
    }
    for meta in metas {
        args.seen
            .push((meta_name(&meta), meta.path().to_token_stream()));
        args.interpret(meta, params, errors);
    }
    Some(args)
}

fn meta_name(meta: &Meta) -> String {
    meta.path()
        .get_ident()
        .map(Ident::to_string)
        .unwrap_or_else(|| meta.path().to_token_stream().to_string().replace(' ', ""))
}

impl Args {
    fn interpret(&mut self, meta: Meta, params: &[Ident], errors: &mut Errors) {
        match (meta_name(&meta).as_str(), meta) {
            ("name", Meta::NameValue(nv)) => self.name = str_value(nv.value, "name", errors),
            ("target", Meta::NameValue(nv)) => {
                self.target = str_value(nv.value, "target", errors);
            }
            ("kind", Meta::NameValue(nv)) => self.kind = kind_value(&nv.value, errors),
            ("level", Meta::NameValue(nv)) => {
                self.level = level_value(&nv.value, errors);
                if let (Some(LevelArg::Known(_)), Expr::Path(p)) = (&self.level, &nv.value) {
                    self.uses.push(p.path.clone());
                }
            }
            ("fields", Meta::List(l)) => {
                match l.parse_args_with(|input: ParseStream<'_>| parse_fields(input, params)) {
                    Ok(f) => {
                        self.uses
                            .extend(f.iter().filter_map(|f| f.empty_path.clone()));
                        self.fields.extend(f);
                    }
                    Err(e) => errors.push(e),
                }
            }
            ("skip", Meta::List(l)) => {
                // `skip(self)`: keywords are read as identifiers.
                let idents = l.parse_args_with(|input: ParseStream<'_>| {
                    Punctuated::<Ident, Token![,]>::parse_terminated_with(
                        input,
                        syn::ext::IdentExt::parse_any,
                    )
                });
                match idents {
                    Ok(ids) => self.skip.extend(ids),
                    Err(e) => errors.push(e),
                }
            }
            ("skip_all", Meta::Path(_)) => self.skip_all = true,
            ("err", m) => self.err = event_arg(m, Format::Display, &mut self.uses, errors),
            ("ret", m) => self.ret = event_arg(m, Format::Debug, &mut self.uses, errors),
            ("parent", Meta::NameValue(nv)) => self.parent = Some(nv.value),
            ("follows_from", Meta::NameValue(nv)) => self.follows_from = Some(nv.value),
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
            ("buckets", Meta::NameValue(nv)) => {
                self.buckets = super::buckets::parse(nv.value, errors);
            }
            ("error_label", Meta::Path(p)) => self.error_label = Some(p),
            (
                known @ ("name" | "target" | "level" | "fields" | "skip" | "skip_all" | "parent"
                | "follows_from" | "crate" | "labels" | "max_series" | "buckets"
                | "error_label"),
                m,
            ) => {
                errors.spanned(m, usage(known));
            }
            (_, m) => errors.spanned(
                m.path(),
                format_args!(
                    "unknown argument `{}`; expected one of: {KNOWN}",
                    meta_name(&m)
                ),
            ),
        }
    }
}

/// How an argument is written, for "wrong form" errors.
fn usage(name: &str) -> &'static str {
    match name {
        "name" => "expected `name = \"...\"` (or a `&'static str` constant)",
        "target" => "expected `target = \"...\"` (or a `&'static str` constant)",
        "level" => {
            "expected `level = \"info\"`, `level = Level::INFO` or `level = 3` (1 = trace .. 5 = \
             error)"
        }
        "fields" => "expected `fields(name, name = value, name = %value, name = ?value)`",
        "skip" => "expected `skip(arg, ...)`",
        "skip_all" => "expected `skip_all` with no value",
        "parent" => "expected `parent = <expression giving a SpanContext>`",
        "follows_from" => {
            "expected `follows_from = <expression giving SpanContexts>` (one, an `Option`, or a \
             list)"
        }
        "crate" => "expected `crate = path::to::instrument_runtime`",
        "labels" => "expected `labels(name = value, ...)`",
        "max_series" => "expected `max_series = <integer>`",
        "buckets" => super::buckets::USAGE,
        "error_label" => "expected `error_label` with no value",
        _ => "unexpected form",
    }
}

/// The five levels, by every spelling tracing accepts.
fn level_name(s: &str) -> Option<&'static str> {
    ["trace", "debug", "info", "warn", "error"]
        .into_iter()
        .find(|l| l.eq_ignore_ascii_case(s))
}

const LEVEL_ERROR: &str =
    "unknown level; expected \"trace\", \"debug\", \"info\", \"warn\" or \"error\", a number \
     1-5 (1 = trace), or a path such as `Level::DEBUG`";

/// `"debug"`, `2`, `Level::DEBUG` (tracing's), `Level::Debug` (ours), or a path to a constant.
fn level_value(value: &Expr, errors: &mut Errors) -> Option<LevelArg> {
    let found = match value {
        Expr::Lit(syn::ExprLit {
            lit: syn::Lit::Str(s),
            ..
        }) => level_name(&s.value()).map(LevelArg::Known),
        Expr::Lit(syn::ExprLit {
            lit: syn::Lit::Int(i),
            ..
        }) => match i.base10_parse::<u8>() {
            Ok(n @ 1..=5) => Some(LevelArg::Known(
                ["trace", "debug", "info", "warn", "error"][usize::from(n - 1)],
            )),
            _ => None,
        },
        Expr::Path(p) => {
            let last = p.path.segments.last().map(|s| s.ident.to_string());
            match last.as_deref().and_then(level_name) {
                Some(l) => Some(LevelArg::Known(l)),
                None => Some(LevelArg::Path(p.path.clone())),
            }
        }
        _ => None,
    };
    if found.is_none() {
        errors.spanned(value, LEVEL_ERROR);
    }
    found
}

/// `err`, `err(Display)`, `err(Debug)`, `err(level = ...)`, `err(level = ..., Debug)` (and the
/// same for `ret`).
fn event_arg(
    meta: Meta,
    default: Format,
    uses: &mut Vec<Path>,
    errors: &mut Errors,
) -> Option<Event> {
    let name = meta_name(&meta);
    let mut event = Event {
        format: default,
        level: None,
        span: meta.path().span(),
    };
    match &meta {
        Meta::Path(_) => {}
        Meta::List(l) => {
            let items = l.parse_args_with(Punctuated::<Meta, Token![,]>::parse_terminated);
            let items = match items {
                Ok(items) => items,
                Err(e) => {
                    errors.push(e);
                    return None;
                }
            };
            for item in items {
                match &item {
                    Meta::Path(p) if p.is_ident("Display") => event.format = Format::Display,
                    Meta::Path(p) if p.is_ident("Debug") => event.format = Format::Debug,
                    Meta::NameValue(nv) if nv.path.is_ident("level") => {
                        match level_value(&nv.value, errors) {
                            Some(LevelArg::Known(l)) => {
                                event.level = Some(l);
                                if let Expr::Path(p) = &nv.value {
                                    uses.push(p.path.clone());
                                }
                            }
                            Some(LevelArg::Path(p)) => errors.spanned(
                                p,
                                format_args!(
                                    "`{name}(level = ...)` must name one of the five levels \
                                     (`Level::WARN`, \"warn\", 4)"
                                ),
                            ),
                            None => {}
                        }
                    }
                    other => errors.spanned(
                        other,
                        format_args!(
                            "expected `{name}(Display)`, `{name}(Debug)` or `{name}(level = \
                             \"...\")`"
                        ),
                    ),
                }
            }
        }
        Meta::NameValue(nv) => {
            errors.spanned(
                nv,
                format_args!("expected `{name}`, `{name}(Display)` or `{name}(Debug)`"),
            );
            return None;
        }
    }
    Some(event)
}

/// The values of `kind = "..."` (the runtime's `SpanKind` variants, lowercase).
const KINDS: [&str; 5] = ["server", "client", "producer", "consumer", "internal"];

/// `kind = "server"`: one of [`KINDS`], as a string literal.
fn kind_value(value: &Expr, errors: &mut Errors) -> Option<LitStr> {
    match value {
        Expr::Lit(syn::ExprLit {
            lit: syn::Lit::Str(kind),
            ..
        }) if KINDS.contains(&kind.value().as_str()) => Some(kind.clone()),
        _ => {
            errors.spanned(
                value,
                "unknown span kind; expected \"server\", \"client\", \"producer\", \
                 \"consumer\" or \"internal\"",
            );
            None
        }
    }
}

/// `name = ...`, `target = ...`: a string literal or a constant expression (rustc checks it
/// is a `&'static str`); another literal is refused here, with the form to write.
fn str_value(value: Expr, name: &str, errors: &mut Errors) -> Option<Expr> {
    match &value {
        Expr::Lit(syn::ExprLit {
            lit: syn::Lit::Str(_),
            ..
        }) => Some(value),
        Expr::Lit(_) => {
            errors.spanned(
                &value,
                format_args!(
                    "expected a string: `{name} = \"...\"`, or a `&'static str` constant \
                     (`{name} = NAME`)"
                ),
            );
            None
        }
        _ => Some(value),
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

fn parse_fields(input: ParseStream<'_>, params: &[Ident]) -> syn::Result<Vec<Field>> {
    let mut fields = Vec::new();
    while !input.is_empty() {
        fields.push(parse_field(input, params)?);
        if input.is_empty() {
            break;
        }
        input.parse::<Token![,]>()?;
    }
    Ok(fields)
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

fn parse_field(input: ParseStream<'_>, params: &[Ident]) -> syn::Result<Field> {
    let leading = parse_sigil(input)?;
    let (name, name_tokens) = if input.peek(syn::token::Brace) {
        let content;
        let brace = syn::braced!(content in input);
        let expr: Expr = content.parse()?;
        let mut tokens = TokenStream::new();
        brace.surround(&mut tokens, |t| expr.to_tokens(t));
        (FieldName::Const(expr), tokens)
    } else {
        let (name, tokens) = parse_dotted_name(input)?;
        (FieldName::Dotted(name), tokens)
    };
    if !input.peek(Token![=]) {
        // `fields(arg)` captures parameter `arg`; any other name is declared empty (tracing's
        // meaning: a field to be recorded later).
        let is_param = matches!(&name, FieldName::Dotted(n) if params.iter().any(|p| p == n));
        let value = if is_param || leading != Sigil::Value {
            FieldValue::Param
        } else {
            FieldValue::Empty
        };
        return Ok(Field {
            name,
            name_tokens,
            sigil: leading,
            value,
            empty_path: None,
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
    if sigil == Sigil::Value && peek_word(input, "redacted") {
        input.parse::<Ident>()?;
        return Ok(Field {
            name,
            name_tokens,
            sigil,
            value: FieldValue::Redacted,
            empty_path: None,
        });
    }
    let value: Expr = input.parse()?;
    let (value, empty_path) = match value {
        Expr::Path(p) if sigil == Sigil::Value && is_empty_path(&p) => {
            (FieldValue::Empty, Some(p.path))
        }
        other => (FieldValue::Expr(other), None),
    };
    Ok(Field {
        name,
        name_tokens,
        sigil,
        value,
        empty_path,
    })
}

/// `Empty`, `field::Empty`, `tracing::field::Empty`: a field declared without a value.
fn is_empty_path(p: &syn::ExprPath) -> bool {
    p.qself.is_none()
        && p.path
            .segments
            .last()
            .is_some_and(|s| s.ident == "Empty" && s.arguments.is_empty())
}

/// The value is exactly the word `word` (not an expression starting with it).
fn peek_word(input: ParseStream<'_>, word: &str) -> bool {
    let fork = input.fork();
    matches!(fork.parse::<Ident>(), Ok(i) if i == word) && (fork.is_empty() || fork.peek(Token![,]))
}

impl syn::parse::Parse for LabelArg {
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
