//! Code generation for `#[instrument]`. The user's body is kept as tokens (so a typo inside
//! still gets rustc's own error, at its own span); everything generated refers to the runtime
//! through `::instrument_runtime::__private` (or the `crate = ...` override), uses
//! `__instrument_` names with mixed-site hygiene, and contains no `unsafe`.

use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote, quote_spanned, ToTokens};
use syn::{Ident, ReturnType};

use super::args::{Args, Format, Sigil};
use super::item::{self, Func};
use super::labels::Labels;

/// Names of everything generated, resolved once.
pub(crate) struct Names {
    pub(crate) krate: TokenStream,
    pub(crate) callsite: Ident,
    pub(crate) span: Ident,
    pub(crate) ret: Ident,
    /// Span of generated locals (mixed-site: invisible to the user's code).
    pub(crate) site: Span,
}

impl Names {
    fn new(args: &Args) -> Names {
        let site = Span::mixed_site();
        let krate = match &args.krate {
            Some(p) => p.to_token_stream(),
            None => quote!(::instrument_runtime),
        };
        Names {
            krate,
            callsite: format_ident!("__instrument_callsite", span = site),
            span: format_ident!("__instrument_span", span = site),
            ret: format_ident!("__instrument_ret", span = site),
            site,
        }
    }
}

pub(crate) fn expand(args: &Args, func: Func) -> TokenStream {
    // The compile-time off switch (`RUSTFLAGS="--cfg instrument_off"`, see instrument-runtime's
    // "Compiled off"): the function exactly as written, after the arguments were checked.
    if cfg!(instrument_off) {
        return func.item.into_token_stream();
    }
    let names = Names::new(args);
    let mut item = func.item;
    let is_async = item.sig.asyncness.is_some();
    let shape = Shape::of(&item);
    let labels = Labels::new(args, &item.sig);
    let callsite = gen_callsite(args, &names, &item.sig.ident);
    let label_entry = labels
        .as_ref()
        .map(|l| l.gen_entry(&names, &item.sig.ident));
    let open = gen_open(args, &names, is_async);
    let label_select = labels.as_ref().map(|_| Labels::gen_after_open(&names));
    let fields = gen_fields(args, &names);
    // Opened at entry: the callsite, the labels, the span and its fields.
    let prologue = quote! {
        #callsite
        #label_entry
        #open
        #label_select
        #fields
    };
    let new_body = if shape == Shape::Never {
        // `-> !`: the body can only leave by unwinding (or never); the span closes in `Drop`.
        let stmts = &item.block.stmts;
        quote! {{
            #prologue
            #(#stmts)*
        }}
    } else {
        let run = gen_run(&names, &item.block, &item.sig.output, is_async, shape);
        let label_exit = labels.as_ref().map(|l| l.gen_exit(&names));
        let close = gen_close(args, &names, label_exit);
        let Names { ret, .. } = &names;
        quote! {{
            #prologue
            #run
            #close
            #ret
        }}
    };
    let brace = item.block.brace_token;
    item.block = syn::parse2(new_body).expect("generated body is a block");
    // The user's braces: a diagnostic about the whole body points at the function, not at
    // the attribute.
    item.block.brace_token = brace;
    item.into_token_stream()
}

/// How the body must be run.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Shape {
    /// In a closure (sync) or an `async move` block, so its value comes back to us.
    Normal,
    /// `#[track_caller]`: inline (a closure would hide the caller's location); an early
    /// `return` or `?` then closes the span in `Drop`, as `ok`.
    Inline,
    /// `-> !`.
    Never,
}

impl Shape {
    fn of(item: &syn::ItemFn) -> Shape {
        if matches!(&item.sig.output, ReturnType::Type(_, ty) if matches!(**ty, syn::Type::Never(_)))
        {
            Shape::Never
        } else if item.sig.asyncness.is_none()
            && item.attrs.iter().any(|a| a.path().is_ident("track_caller"))
        {
            Shape::Inline
        } else {
            Shape::Normal
        }
    }
}

/// The `static` callsite: the function's metadata, made once.
fn gen_callsite(args: &Args, n: &Names, fn_name: &Ident) -> TokenStream {
    let Names {
        krate, callsite, ..
    } = n;
    let name = match &args.name {
        Some(lit) => lit.value(),
        None => fn_name.to_string().trim_start_matches("r#").to_owned(),
    };
    let target = match &args.target {
        Some(lit) => lit.to_token_stream(),
        None => quote!(::core::module_path!()),
    };
    let level = args
        .level
        .as_ref()
        .map_or_else(|| "info".to_owned(), |l| l.value().to_ascii_lowercase());
    // The static lives in a block, so the body can neither see nor collide with it.
    quote! {
        let #callsite: &'static #krate::__private::Callsite = {
            static CALLSITE: #krate::__private::Callsite = #krate::__private::Callsite::new(
                #name,
                #target,
                ::core::module_path!(),
                ::core::file!(),
                ::core::line!(),
                #krate::__private::level_from_str(#level),
                &[],
            );
            &CALLSITE
        };
    }
}

/// Opens the span: entered for sync fns, started (entered at each poll) for async fns.
fn gen_open(args: &Args, n: &Names, is_async: bool) -> TokenStream {
    let Names {
        krate,
        callsite,
        span,
        ..
    } = n;
    let parent = args.parent.as_ref().map(|p| {
        let at = syn::spanned::Spanned::span(p);
        quote_spanned!(at=> #krate::__private::parent_context(#p))
    });
    let ctor = match (is_async, parent) {
        (false, None) => quote!(#krate::__private::Span::enter(#callsite)),
        (true, None) => quote!(#krate::__private::Span::start(#callsite)),
        (false, Some(p)) => quote!(#krate::__private::Span::enter_with_parent(#callsite, #p)),
        (true, Some(p)) => quote!(#krate::__private::Span::start_with_parent(#callsite, #p)),
    };
    quote! {
        #[allow(unused_mut)]
        let mut #span = #ctor;
    }
}

/// Records `fields(...)`, only when the span is sampled (formatting costs time).
fn gen_fields(args: &Args, n: &Names) -> TokenStream {
    if args.fields.is_empty() {
        return TokenStream::new();
    }
    let Names { krate, span, .. } = n;
    let records = args.fields.iter().map(|f| {
        let name = &f.name;
        if f.redacted {
            return quote! { #span.record(#name, #krate::__private::redacted()); };
        }
        let value = match &f.value {
            Some(e) => e.to_token_stream(),
            None => f.name_tokens.clone(),
        };
        let conv = match f.sigil {
            Sigil::Value => quote!(#krate::__private::value),
            Sigil::Display => quote!(#krate::__private::display),
            Sigil::Debug => quote!(#krate::__private::debug),
        };
        // Spanned on the value: "cannot be recorded" / "doesn't implement Display" points there.
        let at = value_span(&value);
        let call = quote_spanned!(at=> #conv(&(#value)));
        quote! { #span.record(#name, #call); }
    });
    quote! {
        if #span.is_sampled() {
            #(#records)*
        }
    }
}

/// Span of a field's value, so a type error ("cannot be recorded") points at the value.
fn value_span(value: &TokenStream) -> Span {
    value
        .clone()
        .into_iter()
        .next()
        .map_or_else(Span::call_site, |t| t.span())
}

/// Runs the body and binds its value. Sync bodies run in an immediately-called closure so
/// `return` and `?` come back to us; the closure is made `FnOnce` (by moving a token into it)
/// so it may return borrows of its captured arguments. Async bodies become an `async move`
/// block polled with the span current.
fn gen_run(
    n: &Names,
    body: &syn::Block,
    output: &ReturnType,
    is_async: bool,
    shape: Shape,
) -> TokenStream {
    let Names {
        krate, span, ret, ..
    } = n;
    let ty = binding_type(output);
    let expect = gen_expected_type(output, krate);
    let stmts = &body.stmts;
    if is_async {
        return quote! {
            let #ret #ty = #span.instrument(async move { #expect #(#stmts)* }).await;
        };
    }
    if shape == Shape::Inline {
        return quote! {
            let #ret #ty = #body;
        };
    }
    let once = format_ident!("__instrument_once", span = Span::mixed_site());
    let taken = format_ident!("__instrument_once_taken", span = Span::mixed_site());
    // The closure's return type is written when it can be (so `?` and a wrong body type get
    // rustc's usual errors at the body); `impl Trait` cannot be, and is left to inference.
    let closure_ret = match output {
        ReturnType::Type(_, t) if item::writable_in_let(t) => quote!(-> #t),
        ReturnType::Default => quote!(-> ()),
        ReturnType::Type(..) => TokenStream::new(),
    };
    quote! {
        let #once = #krate::__private::Once;
        #[allow(clippy::redundant_closure_call)]
        let #ret #ty = (move || #closure_ret {
            let #taken = #once;
            #(#stmts)*
        })();
    }
}

/// A first, never-taken `return` of the declared type at the top of the async block (an async
/// block's return type cannot be written): it fixes the block's return type before the body is checked, so a body returning
/// the wrong type gets rustc's error at the body's expression (as without the macro), not at
/// the attribute. Spanned on the declared return type.
fn gen_expected_type(output: &ReturnType, krate: &TokenStream) -> TokenStream {
    let ReturnType::Type(_, ty) = output else {
        return TokenStream::new();
    };
    if !item::writable_in_let(ty) {
        return TokenStream::new();
    }
    let at = syn::spanned::Spanned::span(&**ty);
    // The returned expression is this identifier, located at the declared type: rustc's
    // "return type inferred to be `T` here" then points at the user's `T`.
    let expected = format_ident!(
        "__instrument_expected",
        span = Span::mixed_site().located_at(at)
    );
    quote_spanned! {at=>
        #[allow(unreachable_code)]
        if false {
            let #expected: #ty = #krate::__private::expected();
            return #expected;
        }
    }
}

/// `: T` for the return binding when the return type can be written in a `let` (not when it
/// contains `impl Trait` or is `!`), so `?` in the body infers its error type from it.
fn binding_type(output: &ReturnType) -> TokenStream {
    match output {
        // `()` is written too: a diverging body would otherwise leave the type to inference,
        // and the outcome probe would guess `Result`.
        ReturnType::Default => quote!(: ()),
        ReturnType::Type(_, ty) if item::writable_in_let(ty) => quote!(: #ty),
        ReturnType::Type(..) => TokenStream::new(),
    }
}

/// After the body: `err`, `ret`, the `error` label, then the outcome for the `result` label,
/// and close.
fn gen_close(args: &Args, n: &Names, label_exit: Option<TokenStream>) -> TokenStream {
    let Names {
        krate, span, ret, ..
    } = n;
    // Errors about `err` / `ret` (not a `Result`, no `Display`...) point at the keyword.
    let err_at = args.err_span.unwrap_or_else(Span::call_site);
    let ret_at = args.ret_span.unwrap_or_else(Span::call_site);
    let err = args.err.map(|f| {
        let e = format_ident!(
            "__instrument_error",
            span = Span::mixed_site().located_at(err_at)
        );
        let (record, get) = match f {
            Format::Display => (quote!(record_error), quote!(err_display)),
            Format::Debug => (quote!(record_error_debug), quote!(err_debug)),
        };
        let (ret, span) = (located(ret, err_at), located(span, err_at));
        quote_spanned! {err_at=>
            if let ::core::option::Option::Some(#e) = #krate::__private::#get(&#ret) {
                #span.#record(#e);
            }
        }
    });
    let outcome = format_ident!("__instrument_outcome", span = Span::mixed_site());
    // With `err`, `ret` records the `Ok` value (as tracing does); otherwise the whole value.
    let ret_field = args.ret.map(|f| {
        let v = format_ident!(
            "__instrument_value",
            span = Span::mixed_site().located_at(ret_at)
        );
        let (ret, span) = (located(ret, ret_at), located(span, ret_at));
        let record = match f {
            Format::Debug => quote!(record_return),
            Format::Display => quote!(record_return_display),
        };
        if args.err.is_some() {
            let get = match f {
                Format::Debug => quote!(ok_debug),
                Format::Display => quote!(ok_display),
            };
            quote_spanned! {ret_at=>
                if let ::core::option::Option::Some(#v) = #krate::__private::#get(&#ret) {
                    #span.#record(#v);
                }
            }
        } else {
            let conv = match f {
                Format::Debug => quote!(ret_debug),
                Format::Display => quote!(ret_display),
            };
            quote_spanned! {ret_at=>
                let #v = #krate::__private::#conv(&#ret);
                #span.#record(#v);
            }
        }
    });
    quote! {
        #err
        #ret_field
        #label_exit
        let #outcome = {
            #[allow(unused_imports)]
            use #krate::__private::{OutcomeOfOther as _, OutcomeOfResult as _};
            (&#krate::__private::Probe(&#ret)).__instrument_outcome()
        };
        #span.finish(#outcome);
    }
}

/// The same (mixed-site) identifier, reported at `at`: a generated expression made of tokens
/// located at `at` is reported there, instead of at the whole attribute.
fn located(ident: &Ident, at: Span) -> Ident {
    Ident::new(&ident.to_string(), ident.span().located_at(at))
}
