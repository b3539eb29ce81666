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
            callsite: format_ident!("__INSTRUMENT_CALLSITE", span = site),
            span: format_ident!("__instrument_span", span = site),
            ret: format_ident!("__instrument_ret", span = site),
            site,
        }
    }
}

pub(crate) fn expand(args: &Args, func: Func) -> TokenStream {
    let names = Names::new(args);
    let mut item = func.item;
    let is_async = item.sig.asyncness.is_some();
    let labels = Labels::new(args, &item.sig);
    let callsite = gen_callsite(args, &names, &item.sig.ident);
    let label_entry = labels
        .as_ref()
        .map(|l| l.gen_entry(&names, &item.sig.ident));
    let open = gen_open(args, &names, is_async);
    let label_select = labels.as_ref().map(|_| Labels::gen_after_open(&names));
    let fields = gen_fields(args, &names);
    let run = gen_run(&names, &item.block, &item.sig.output, is_async);
    let label_exit = labels.as_ref().map(|l| l.gen_exit(&names));
    let close = gen_close(args, &names, label_exit);
    let Names { ret, .. } = &names;
    let new_body = quote! {{
        #callsite
        #label_entry
        #open
        #label_select
        #fields
        #run
        #close
        #ret
    }};
    item.block = syn::parse2(new_body).expect("generated body is a block");
    item.into_token_stream()
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
    quote! {
        static #callsite: #krate::__private::Callsite = #krate::__private::Callsite::new(
            #name,
            #target,
            ::core::module_path!(),
            ::core::file!(),
            ::core::line!(),
            #krate::__private::level_from_str(#level),
            &[],
        );
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
    let ctor = match (is_async, &args.parent) {
        (false, None) => quote!(#krate::__private::Span::enter(&#callsite)),
        (true, None) => quote!(#krate::__private::Span::start(&#callsite)),
        (false, Some(p)) => quote! {
            #krate::__private::Span::enter_with_parent(&#callsite, #krate::__private::parent_context(#p))
        },
        (true, Some(p)) => quote! {
            #krate::__private::Span::start_with_parent(&#callsite, #krate::__private::parent_context(#p))
        },
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
            Sigil::Value => quote_spanned!(value_span(&value)=> #krate::__private::value),
            Sigil::Display => quote!(#krate::__private::display),
            Sigil::Debug => quote!(#krate::__private::debug),
        };
        quote! { #span.record(#name, #conv(&(#value))); }
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
fn gen_run(n: &Names, body: &syn::Block, output: &ReturnType, is_async: bool) -> TokenStream {
    let Names {
        krate, span, ret, ..
    } = n;
    let ty = binding_type(output);
    if is_async {
        return quote! {
            let #ret #ty = #span.instrument(async move #body).await;
        };
    }
    let once = format_ident!("__instrument_once", span = Span::mixed_site());
    let taken = format_ident!("__instrument_once_taken", span = Span::mixed_site());
    let stmts = &body.stmts;
    quote! {
        let #once = #krate::__private::Once;
        #[allow(clippy::redundant_closure_call)]
        let #ret #ty = (move || {
            let #taken = #once;
            #(#stmts)*
        })();
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
    let err = args.err.map(|f| {
        let e = format_ident!("__instrument_error", span = Span::mixed_site());
        let call = match f {
            Format::Display => quote!(#span.record_error(#e)),
            Format::Debug => quote!(#span.record_error_debug(#e)),
        };
        quote! {
            if let ::core::result::Result::Err(#e) = &#ret {
                #call;
            }
        }
    });
    let outcome = format_ident!("__instrument_outcome", span = Span::mixed_site());
    let ret_field = args.ret.map(|f| match f {
        Format::Debug => quote!(#span.record_return(&#ret);),
        Format::Display => quote!(#span.record_return_display(&#ret);),
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
