//! The rules an `#[instrument]` use must follow, one `check_*` function each, every violation
//! collected and spanned on its token.

use std::collections::HashSet;

use syn::Ident;

use super::args::Args;
use super::item::Func;
use crate::errors::Errors;

pub(crate) fn check(args: &Args, func: &Func) -> syn::Result<()> {
    let mut errors = Errors::default();
    let params = func.param_names();
    check_at_most_once(args, &mut errors);
    check_level(args, &mut errors);
    check_fields(args, &params, &mut errors);
    check_skip(args, &params, &mut errors);
    check_signature(func, &mut errors);
    errors.finish()
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

// `level` is one of trace, debug, info, warn, error.
fn check_level(args: &Args, errors: &mut Errors) {
    if let Some(level) = &args.level {
        let v = level.value().to_ascii_lowercase();
        if !matches!(v.as_str(), "trace" | "debug" | "info" | "warn" | "error") {
            errors.spanned(
                level,
                "unknown level; expected \"trace\", \"debug\", \"info\", \"warn\" or \"error\"",
            );
        }
    }
}

// `fields(x)` captures parameter `x`, which must exist; field names are unique and do not
// collide with the names the span uses itself.
fn check_fields(args: &Args, params: &[Ident], errors: &mut Errors) {
    let mut names = HashSet::new();
    for field in &args.fields {
        if !names.insert(field.name.as_str()) {
            errors.spanned(
                &field.name_tokens,
                format_args!("field `{}` is recorded twice", field.name),
            );
        }
        if field.name == "return" && args.ret.is_some() {
            errors.spanned(
                &field.name_tokens,
                "`return` is the field `ret` records; rename this one",
            );
        }
        if field.value.is_none() && !params.iter().any(|p| *p == field.name) {
            errors.spanned(
                &field.name_tokens,
                format_args!(
                    "`{}` is not a parameter of this function; to record another value write \
                     `fields({} = value)`",
                    field.name, field.name
                ),
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
