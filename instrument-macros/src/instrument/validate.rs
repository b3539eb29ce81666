//! The rules an `#[instrument]` use must follow, one `check_*` function each, every violation
//! collected and spanned on its token.

use std::collections::HashSet;

use syn::Ident;

use super::args::{Args, FieldValue, LabelValue};
use super::body::Output;
use super::item::{self, Func};
use super::refused;
use crate::errors::Errors;

/// Largest `max_series`: every thread keeps one slot per possible series of a function.
pub(crate) const MAX_SERIES_LIMIT: u64 = 100_000;

pub(crate) fn check(args: &Args, func: &Func, errors: &mut Errors) {
    let params = func.param_names();
    check_at_most_once(args, errors);
    check_fields(args, errors);
    check_skip(args, &params, errors);
    check_signature(func, errors);
    check_secret_fields(args, errors);
    check_labels_given(args, errors);
    check_identifying_label_names(args, errors);
    check_reserved_label_names(args, errors);
    check_label_names_unique(args, errors);
    check_label_params(args, &params, errors);
    check_constant_labels(args, errors);
    check_max_series(args, errors);
    check_error_label(args, func, errors);
    if let Some(bounds) = &args.buckets {
        super::buckets::check(bounds, errors);
    }
}

// Every argument may be given at most once.
fn check_at_most_once(args: &Args, errors: &mut Errors) {
    let mut seen = HashSet::new();
    for (name, tokens) in &args.seen {
        if !seen.insert(name) {
            errors.spanned(tokens, format_args!("`{name}` is given more than once"));
        }
    }
}

// Field names are unique and do not collide with the names the span uses itself. (A name
// given as a `{CONST}` is known only to rustc, and not checked.)
fn check_fields(args: &Args, errors: &mut Errors) {
    let mut names = HashSet::new();
    for field in &args.fields {
        let Some(name) = field.dotted() else {
            continue;
        };
        if !names.insert(name) {
            errors.spanned(
                &field.name_tokens,
                format_args!("field `{name}` is recorded twice"),
            );
        }
        if name == "return" && args.ret.is_some() {
            errors.spanned(
                &field.name_tokens,
                "`return` is the field `ret` records; rename this one",
            );
        }
    }
}

// `skip(x)` names parameters (accepted for compatibility with tracing: nothing is captured
// unless named in `fields`).
fn check_skip(args: &Args, params: &[Ident], errors: &mut Errors) {
    for ident in &args.skip {
        if !params.contains(ident) {
            errors.spanned(
                ident,
                format_args!("`{ident}` is not a parameter of this function"),
            );
        }
    }
}

// `const fn` cannot be instrumented (timing and spans are run-time effects), nor can a
// function whose body never returns to us in a way we can observe.
fn check_signature(func: &Func, errors: &mut Errors) {
    let sig = &func.item.sig;
    if let Some(c) = &sig.constness {
        errors.spanned(
            c,
            "#[instrument] cannot be used on a `const fn`: a span is a run-time effect",
        );
    }
    if let Some(v) = &sig.variadic {
        errors.spanned(v, "#[instrument] cannot be used on a variadic function");
    }
}

// A span field whose name looks like a secret (`password`, `token`, `api_key`, ...) is exported
// in clear text to every trace backend: it must be written `fields(name = redacted)`, which
// records "[redacted]" without evaluating anything.
fn check_secret_fields(args: &Args, errors: &mut Errors) {
    for field in &args.fields {
        if matches!(field.value, FieldValue::Redacted | FieldValue::Empty) {
            continue;
        }
        let Some(name) = field.dotted() else {
            continue;
        };
        let Some(word) = refused::secret_word(name) else {
            continue;
        };
        errors.spanned(
            &field.name_tokens,
            format_args!(
                "`{name}` looks like a secret, and span fields are exported in clear text; write \
                 `fields({name} = redacted)` to record that it was there without its value, or \
                 remove it (if it is not a secret, choose a name without the word `{word}`)"
            ),
        );
    }
}

// `labels(...)` names at least one label.
fn check_labels_given(args: &Args, errors: &mut Errors) {
    if let (Some(token), true) = (&args.labels_token, args.labels.is_empty()) {
        errors.spanned(
            token,
            "`labels()` is empty; expected `labels(name = value, ...)`",
        );
    }
}

// A label name must not identify a person, request or session (`user_id`, `email`, `url`,
// any `*_id`, ...; the list is `refused::IDENTIFYING`): each value would be its own series.
fn check_identifying_label_names(args: &Args, errors: &mut Errors) {
    for label in &args.labels {
        if let Some(snake) = refused::identifying(&label.name) {
            errors.spanned(
                &label.ident,
                format_args!(
                    "`{name}` cannot be a metric label: `{snake}` identifies a person, request \
                     or session, so every value would become its own time series; record it on \
                     the span instead: `fields({name} = ...)`",
                    name = label.name
                ),
            );
        }
    }
}

// The exporter writes `function`, `module`, `result`, `error` and `le` itself, and Prometheus
// reserves names starting with `__`.
fn check_reserved_label_names(args: &Args, errors: &mut Errors) {
    for label in &args.labels {
        let name = &label.name;
        if !refused::reserved(name) {
            continue;
        }
        let message = if name.starts_with("__") {
            format!("`{name}` cannot be a label name: Prometheus reserves names starting with `__`")
        } else {
            let hint = match name.as_str() {
                "error" => "; to label calls with their error's variant, write `error_label`",
                _ => "",
            };
            format!(
                "`{name}` is a label the exporter writes itself (function, module, result, \
                 error, le); choose another name{hint}"
            )
        };
        errors.spanned(&label.ident, message);
    }
}

// Label names are unique, and differ from field names (both become span attributes).
fn check_label_names_unique(args: &Args, errors: &mut Errors) {
    let mut seen = HashSet::new();
    for label in &args.labels {
        if !seen.insert(label.name.as_str()) {
            errors.spanned(
                &label.ident,
                format_args!("label `{}` is given twice", label.name),
            );
        } else if args
            .fields
            .iter()
            .any(|f| f.dotted() == Some(label.name.as_str()))
        {
            errors.spanned(
                &label.ident,
                format_args!(
                    "`{}` is both a label and a field; labels are recorded on the span too, so \
                     remove the field",
                    label.name
                ),
            );
        }
    }
}

// The shorthand `labels(arg)` names a parameter.
fn check_label_params(args: &Args, params: &[Ident], errors: &mut Errors) {
    for label in &args.labels {
        if matches!(label.value, LabelValue::Param) && !params.iter().any(|p| *p == label.name) {
            errors.spanned(
                &label.ident,
                format_args!(
                    "`{name}` is not a parameter of this function; to label with another value \
                     write `labels({name} = value)`",
                    name = label.name
                ),
            );
        }
    }
}

// A constant label is a non-empty string (an empty label value is an absent label).
fn check_constant_labels(args: &Args, errors: &mut Errors) {
    for label in &args.labels {
        if let LabelValue::Const(lit) = &label.value {
            if lit.value().is_empty() {
                errors.spanned(lit, "a label value cannot be empty");
            }
        }
    }
}

// `max_series = N` bounds labels, so there are labels to bound; N is at least 2 (the `result`
// label alone has two series) and at most `MAX_SERIES_LIMIT`.
fn check_max_series(args: &Args, errors: &mut Errors) {
    let Some(lit) = &args.max_series else {
        return;
    };
    if args.labels.is_empty() && args.error_label.is_none() {
        errors.spanned(
            lit,
            "`max_series` bounds the series of `labels(...)` and `error_label`, and this \
             function has neither",
        );
    }
    match lit.base10_parse::<u64>() {
        Ok(n) if (2..=MAX_SERIES_LIMIT).contains(&n) => {}
        Ok(_) | Err(_) => errors.spanned(
            lit,
            format_args!(
                "`max_series` must be between 2 (the `result` label alone has 2 series) and \
                 {MAX_SERIES_LIMIT} (each thread keeps a slot per possible series)"
            ),
        ),
    }
}

// `error_label` needs a return type that can be named in the body (the error label's values
// come from its `E`): a written type, not `impl Trait`.
fn check_error_label(args: &Args, func: &Func, errors: &mut Errors) {
    let Some(token) = &args.error_label else {
        return;
    };
    match &func.output {
        Output::Type(ty) if item::writable_in_let(ty) => {}
        Output::Type(ty) => errors.spanned(
            ty,
            "`error_label` needs a return type it can name, `Result<T, E>` with `E: Label`, not \
             one containing `impl Trait`",
        ),
        Output::Unknown => errors.spanned(
            &func.item.sig.output,
            "`error_label` needs the `Output` type of the returned future written out \
             (`impl Future<Output = Result<T, E>>`), not behind an alias",
        ),
        Output::Unit => errors.spanned(
            token,
            "`error_label` labels calls with the variant of the `Err` they return, and this \
             function returns nothing; expected a function returning `Result<T, E>` with \
             `E: Label`",
        ),
    }
}
