//! Code generation for `#[instrument]`. The user's body is kept as tokens (so a typo inside
//! still gets rustc's own error, at its own span); everything generated refers to the runtime
//! through `::instrument_runtime::__private` (or the `crate = ...` override) by full paths,
//! never by method syntax (an extension trait in the user's scope, `tracing::Instrument` or
//! `futures::FutureExt`, could capture a method call), uses `__instrument_` names with
//! mixed-site hygiene, and contains no `unsafe`. The one method call left is the outcome
//! probe's `__instrument_outcome` (autoref specialisation needs method syntax; its name is
//! reserved).

use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote, quote_spanned, ToTokens};
use syn::{Expr, Ident, ItemFn, Stmt};

use super::args::{Args, Event, FieldValue, Format, LabelValue, LevelArg, Sigil};
use super::body::{self, Output, Shape};
use super::item::{self, Func};
use super::labels::Labels;
use super::names::Names;

pub(crate) fn expand(args: &Args, func: Func) -> TokenStream {
    // The compile-time off switch (`RUSTFLAGS="--cfg instrument_off"`, see instrument-runtime's
    // "Compiled off"): the function exactly as written, after the arguments were checked.
    if cfg!(instrument_off) {
        return func.item.into_token_stream();
    }
    let names = Names::new(args);
    let Func {
        mut item,
        shape,
        output,
    } = func;
    let fn_name = item.sig.ident.clone();
    let uses = param_uses(&item);
    match shape {
        Shape::FutureBlock { stmt } => {
            let work = Work {
                args,
                names: &names,
                fn_name: &fn_name,
                output: &output,
                shape: &shape,
                declare_here: true,
            };
            item.block.stmts[stmt] = expand_future_block(&work, &item.block.stmts[stmt]);
            // In the sync part: the future must not capture what it did not before.
            let uses: syn::Block =
                syn::parse2(quote!({ #(#uses)* })).expect("a block of statements");
            item.block.stmts.splice(stmt..stmt, uses.stmts);
        }
        Shape::InnerAsyncFn { stmt } => {
            expand_inner_fn(args, &names, &mut item, stmt);
        }
        Shape::Sync | Shape::Inline | Shape::Never | Shape::AsyncFn => {
            let work = Work {
                args,
                names: &names,
                fn_name: &fn_name,
                output: &output,
                shape: &shape,
                declare_here: true,
            };
            let stmts = std::mem::take(&mut item.block.stmts);
            let new_body = if matches!(shape, Shape::Sync) {
                work.gen_split(&stmts)
            } else {
                work.gen(&stmts, None)
            };
            let brace = item.block.brace_token;
            item.block =
                syn::parse2(quote!({ #(#uses)* #new_body })).expect("generated body is a block");
            // The user's braces: a diagnostic about the whole body points at the function,
            // not at the attribute.
            item.block.brace_token = brace;
        }
    }
    item.into_token_stream()
}

/// `Box::pin(async move { .. })` / `async move { .. }` as the last statement: the block
/// becomes `async move { <prologue> <the user's block, instrumented> <close> }`, so the span
/// opens when the future is first polled and closes when it completes (tracing does the same).
fn expand_future_block(work: &Work<'_>, stmt: &Stmt) -> Stmt {
    let Stmt::Expr(expr, None) = stmt else {
        unreachable!("Shape::FutureBlock is a trailing expression")
    };
    let rewrite = |block: &syn::ExprAsync| -> Expr {
        let attrs = &block.attrs;
        let body = work.gen(&block.block.stmts, Some(block));
        syn::parse2(quote!(#(#attrs)* async move { #body })).expect("an async block")
    };
    let new = match expr {
        Expr::Async(block) => rewrite(block),
        Expr::Call(call) => {
            let mut call = call.clone();
            let Some(Expr::Async(block)) = body::box_pin_arg(expr) else {
                unreachable!("Shape::FutureBlock is `Box::pin(async ..)`")
            };
            call.args[0] = rewrite(block);
            Expr::Call(call)
        }
        _ => unreachable!("Shape::FutureBlock is an async block or `Box::pin` of one"),
    };
    Stmt::Expr(new, None)
}

/// async-trait <= 0.1.43: `async fn __name(_self: &Self, ..) { .. } Box::pin(__name(self, ..))`.
/// The inner fn is instrumented as an `async fn` under the outer fn's name, with `self` in the
/// attribute's expressions read as `_self`; the qualifying fn is declared in the outer body so
/// the metric series is the outer method's.
fn expand_inner_fn(args: &Args, names: &Names, item: &mut ItemFn, stmt: usize) {
    let Stmt::Item(syn::Item::Fn(inner)) = &item.block.stmts[stmt] else {
        unreachable!("Shape::InnerAsyncFn points at an async fn item")
    };
    let mut inner: ItemFn = inner.clone();
    let renamed = args.renamed_self();
    let shape = Shape::AsyncFn;
    let output = body::output(&inner, &shape);
    let work = Work {
        args: &renamed,
        names,
        fn_name: &item.sig.ident,
        output: &output,
        shape: &shape,
        declare_here: false,
    };
    let stmts = std::mem::take(&mut inner.block.stmts);
    let new_body = work.gen(&stmts, None);
    let uses = param_uses(&inner);
    inner.block = syn::parse2(quote!({ #(#uses)* #new_body })).expect("generated body is a block");
    item.block.stmts[stmt] = Stmt::Item(syn::Item::Fn(inner));
    let here = gen_here(names);
    let here: Stmt = syn::parse2(here).expect("an fn item");
    item.block.stmts.insert(0, here);
}

/// `let _ = &name;` for every name the parameters bind: they count as used, as with tracing
/// (which records them all), so swapping the attribute adds no `unused_variables` warning.
fn param_uses(item: &ItemFn) -> Vec<TokenStream> {
    item::bindings(item)
        .into_iter()
        .map(|name| quote!(let _ = &#name;))
        .collect()
}

/// `fn __instrument_here() -> &'static str`: its `type_name` is the function's path with this
/// fn's name appended (`shop::repo::UserRepo::get::__instrument_here`); the runtime trims it to
/// the series' `function` label (`UserRepo::get`) once, when the callsite registers.
fn gen_here(n: &Names) -> TokenStream {
    let Names { krate, here, .. } = n;
    quote! {
        fn #here() -> &'static ::core::primitive::str {
            #krate::__private::type_name_of(#here)
        }
    }
}

/// One instrumented unit of work: what the generators need to know.
struct Work<'a> {
    args: &'a Args,
    names: &'a Names,
    /// The span's name unless `name = ...`: the (outer) function's name.
    fn_name: &'a Ident,
    output: &'a Output,
    shape: &'a Shape,
    /// Declare the qualifying fn next to the callsite (not for the old async-trait form,
    /// whose outer body declares it).
    declare_here: bool,
}

impl Work<'_> {
    /// The instrumented body's statements: the prologue (callsite, labels, span, fields), the
    /// user's statements run so their value comes back, then `err`/`ret`/labels and close.
    /// `block` is the user's async block for [`Shape::FutureBlock`].
    fn gen(&self, stmts: &[Stmt], block: Option<&syn::ExprAsync>) -> TokenStream {
        let labels = Labels::new(self.args, self.output);
        let callsite = self.gen_callsite();
        let label_entry = labels
            .as_ref()
            .map(|l| l.gen_entry(self.names, self.fn_name));
        let open = self.gen_open();
        let label_select = labels.as_ref().map(|_| Labels::gen_after_open(self.names));
        let fields = self.gen_fields();
        let (links, follows) = self.gen_follows_from();
        let prologue = quote! {
            #callsite
            #label_entry
            #links
            #open
            #label_select
            #fields
            #follows
        };
        if matches!(self.shape, Shape::Never) {
            return quote! {
                #prologue
                #(#stmts)*
            };
        }
        let run = self.gen_run(stmts, block);
        let label_exit = labels.as_ref().map(|l| l.gen_exit(self.names));
        let close = self.gen_close(label_exit);
        let ret = &self.names.ret;
        quote! {
            #prologue
            #run
            #close
            #ret
        }
    }

    /// A sync function's body, split at the filter's verdict: the user's statements once, in a `move` closure that records the
    /// `fields(...)` first when handed the span; a disabled call runs that closure directly
    /// (one relaxed load and a branch over the plain body: no span in this frame), an
    /// enabled one in `__private::outlined`, a separate non-inlined frame that opens the
    /// span, runs the closure with it, then records `err`/`ret`/labels and closes.
    ///
    /// What must be evaluated before the span opens and may borrow arguments the closure
    /// takes (labels always, as documented; `parent` and `follows_from` only when enabled)
    /// is evaluated here, before the closure is made.
    fn gen_split(&self, stmts: &[Stmt]) -> TokenStream {
        let Names {
            krate,
            callsite,
            span,
            ret,
            ..
        } = self.names;
        let span_ty = self.names.span_ty();
        let site = self.names.site;
        let on = format_ident!("__instrument_on", span = site);
        let body = format_ident!("__instrument_body", span = site);
        let arg = format_ident!("__instrument_span_arg", span = site);
        let given = format_ident!("__instrument_given", span = site);
        let parent = format_ident!("__instrument_parent", span = site);
        let once = format_ident!("__instrument_once", span = site);
        let taken = format_ident!("__instrument_once_taken", span = site);

        let labels = Labels::new(self.args, self.output);
        let callsite_decl = self.gen_callsite();
        let label_entry = labels
            .as_ref()
            .map(|l| l.gen_entry(self.names, self.fn_name));
        let label_select = labels.as_ref().map(|_| Labels::gen_after_open(self.names));
        let label_exit = labels.as_ref().and_then(|l| {
            let exit = l.gen_exit(self.names);
            (!exit.is_empty()).then_some(exit)
        });

        // `parent = ..`: evaluated only when enabled, before the span opens.
        let (parent_eval, parent_arg) = match &self.args.parent {
            Some(p) => {
                let at = syn::spanned::Spanned::span(p);
                let value = quote_spanned!(at=> #krate::__private::parent_context(#p));
                (
                    quote! {
                        let #parent = if #on {
                            ::core::option::Option::Some(#value)
                        } else {
                            ::core::option::Option::None
                        };
                    },
                    Some(quote!(::core::option::Option::flatten(#parent))),
                )
            }
            None => (TokenStream::new(), None),
        };
        // `follows_from = ..`: likewise; recorded as links once the span is open.
        let (links_eval, links_record) = match &self.args.follows_from {
            Some(expr) => {
                let links = format_ident!("__instrument_links", span = site);
                let at = syn::spanned::Spanned::span(expr);
                let (links_at, span_at) = (located(&links, at), located(span, at));
                let record =
                    quote_spanned!(at=> #krate::__private::follows_from(&mut #span_at, #links_at));
                (
                    quote! {
                        let #links = if #on {
                            ::core::option::Option::Some(#expr)
                        } else {
                            ::core::option::Option::None
                        };
                    },
                    quote! {
                        if let ::core::option::Option::Some(#links) = #links {
                            #record;
                        }
                    },
                )
            }
            None => (TokenStream::new(), TokenStream::new()),
        };
        let ctor = match parent_arg {
            None => quote!(#span_ty::enter(#callsite)),
            Some(p) => quote!(#span_ty::enter_with_parent(#callsite, #p)),
        };
        let kind = self.gen_kind();
        let fields = self.gen_fields();
        let fields = (!fields.is_empty()).then(|| {
            quote! {
                if let ::core::option::Option::Some(#given) = #arg {
                    #[allow(unused_mut)]
                    let mut #span: &mut #span_ty = #given;
                    #fields
                }
            }
        });
        let ty = binding_type(self.output);
        // The closure's return type is written when it can be (so `?` and a wrong body type
        // get rustc's usual errors at the body); `impl Trait` cannot be, and is left to
        // inference.
        let closure_ret = match self.output {
            Output::Type(t) if item::writable_in_let(t) => quote!(-> #t),
            Output::Unit => quote!(-> ()),
            Output::Type(_) | Output::Unknown => TokenStream::new(),
        };
        let close = self.gen_close(label_exit);
        quote! {
            #callsite_decl
            #label_entry
            let #on = #krate::__private::Callsite::enabled(#callsite);
            #parent_eval
            #links_eval
            let #once = #krate::__private::Once;
            // `FnOnce` (it moves the token), so it may return borrows of what it captured.
            let #body = move |#arg: ::core::option::Option<&mut #span_ty>| #closure_ret {
                let #taken = #once;
                #fields
                #(#stmts)*
            };
            if !#on {
                return #body(::core::option::Option::None);
            }
            #krate::__private::outlined(move || #closure_ret {
                #[allow(unused_mut)]
                let mut #span = #ctor;
                #kind
                #label_select
                #links_record
                let #ret #ty = #body(::core::option::Option::Some(&mut #span));
                #close
                #ret
            })
        }
    }

    /// The `static` callsite: the function's metadata, made once.
    fn gen_callsite(&self) -> TokenStream {
        let n = self.names;
        let Names {
            krate,
            callsite,
            here,
            ..
        } = n;
        let args = self.args;
        let name = match &args.name {
            Some(expr) => expr.to_token_stream(),
            None => self
                .fn_name
                .to_string()
                .trim_start_matches("r#")
                .to_token_stream(),
        };
        let target = match &args.target {
            Some(expr) => expr.to_token_stream(),
            None => quote!(::core::module_path!()),
        };
        let level = match &args.level {
            None => quote!(#krate::__private::Level::Info),
            Some(LevelArg::Known(l)) => level_path(krate, l),
            Some(LevelArg::Path(p)) => p.to_token_stream(),
        };
        let declared = args.fields.iter().filter_map(|f| match f.value {
            FieldValue::Empty => Some(f.name_expr()),
            _ => None,
        });
        let here_fn = self.declare_here.then(|| gen_here(n));
        let buckets = args.buckets.as_ref().map(|b| super::buckets::gen(krate, b));
        let uses = &args.uses;
        // Paths read by their last segment, named here so their imports count as used.
        let uses = (!uses.is_empty()).then(|| {
            quote! {
                const _: () = {
                    #(let _ = #uses;)*
                };
            }
        });
        // The static lives in a block, so the body can neither see nor collide with it.
        quote! {
            let #callsite: &'static #krate::__private::Callsite = {
                #uses
                #here_fn
                static CALLSITE: #krate::__private::Callsite = #krate::__private::Callsite::new(
                    #name,
                    #target,
                    ::core::module_path!(),
                    ::core::file!(),
                    ::core::line!(),
                    #level,
                    &[],
                )
                .qualified_by(#here)
                .with_declared_fields(&[#(#declared),*])
                #buckets;
                &CALLSITE
            };
        }
    }

    /// Opens the span: entered for sync fns, started (entered at each poll) for async work.
    fn gen_open(&self) -> TokenStream {
        let Names {
            krate,
            callsite,
            span,
            ..
        } = self.names;
        let span_ty = self.names.span_ty();
        let parent = self.args.parent.as_ref().map(|p| {
            let at = syn::spanned::Spanned::span(p);
            quote_spanned!(at=> #krate::__private::parent_context(#p))
        });
        let ctor = match (self.shape.is_async(), parent) {
            (false, None) => quote!(#span_ty::enter(#callsite)),
            (true, None) => quote!(#span_ty::start(#callsite)),
            (false, Some(p)) => quote!(#span_ty::enter_with_parent(#callsite, #p)),
            (true, Some(p)) => quote!(#span_ty::start_with_parent(#callsite, #p)),
        };
        let kind = self.gen_kind();
        quote! {
            #[allow(unused_mut)]
            let mut #span = #ctor;
            #kind
        }
    }

    /// `kind = "..."` (validated in args.rs): kept only when sampled, by `Span::set_kind`.
    fn gen_kind(&self) -> TokenStream {
        let Names { krate, span, .. } = self.names;
        let span_ty = self.names.span_ty();
        let kind = self.args.kind.as_ref().map(|k| {
            let variant = match k.value().as_str() {
                "server" => quote!(Server),
                "client" => quote!(Client),
                "producer" => quote!(Producer),
                "consumer" => quote!(Consumer),
                _ => quote!(Internal),
            };
            quote! { #span_ty::set_kind(&mut #span, #krate::__private::SpanKind::#variant); }
        });
        kind.unwrap_or_default()
    }

    /// Records `fields(...)`, only when the span is sampled (formatting costs time). Empty
    /// fields are declared on the callsite and record nothing here.
    fn gen_fields(&self) -> TokenStream {
        let Names { krate, span, .. } = self.names;
        let span_ty = self.names.span_ty();
        let records: Vec<TokenStream> = self
            .args
            .fields
            .iter()
            .filter_map(|f| {
                let name = f.name_expr();
                let value = match &f.value {
                    FieldValue::Empty => return None,
                    FieldValue::Redacted => {
                        return Some(quote! {
                            #span_ty::record(&mut #span, #name, #krate::__private::redacted());
                        });
                    }
                    FieldValue::Expr(e) => e.to_token_stream(),
                    FieldValue::Param => f.name_tokens.clone(),
                };
                let conv = match f.sigil {
                    Sigil::Value => quote!(#krate::__private::value),
                    Sigil::Display => quote!(#krate::__private::display),
                    Sigil::Debug => quote!(#krate::__private::debug),
                };
                // Spanned on the value: "cannot be recorded" / "doesn't implement Display"
                // points there.
                let at = first_span(&value);
                let call = quote_spanned!(at=> #conv(&(#value)));
                Some(quote! { #span_ty::record(&mut #span, #name, #call); })
            })
            .collect();
        if records.is_empty() {
            return TokenStream::new();
        }
        quote! {
            if #span_ty::is_sampled(&#span) {
                #(#records)*
            }
        }
    }

    /// `follows_from = expr`: evaluated before the span opens (as tracing does: the current
    /// span is still the caller's), its contexts recorded as the span's links after.
    fn gen_follows_from(&self) -> (TokenStream, TokenStream) {
        let Some(expr) = &self.args.follows_from else {
            return (TokenStream::new(), TokenStream::new());
        };
        let Names { krate, span, .. } = self.names;
        let links = format_ident!("__instrument_links", span = self.names.site);
        let at = syn::spanned::Spanned::span(expr);
        // Located at the expression: "cannot use a `&Span`" points there.
        let (links_at, span) = (located(&links, at), located(span, at));
        let call = quote_spanned!(at=> #krate::__private::follows_from(&mut #span, #links_at));
        (quote! { let #links = #expr; }, quote! { #call; })
    }

    /// Runs the body and binds its value. Sync bodies run in an immediately-called closure so
    /// `return` and `?` come back to us; the closure is made `FnOnce` (by moving a token into
    /// it) so it may return borrows of its captured arguments. Async work becomes an async
    /// block polled with the span current.
    fn gen_run(&self, stmts: &[Stmt], block: Option<&syn::ExprAsync>) -> TokenStream {
        let Names {
            krate, span, ret, ..
        } = self.names;
        let span_ty = self.names.span_ty();
        let ty = binding_type(self.output);
        if self.shape.is_async() {
            let expect = self.gen_expected_type();
            // The user's own `async`/`async move` for a returned block.
            let (asyncness, capture) = match block {
                Some(b) => (b.async_token.to_token_stream(), b.capture.to_token_stream()),
                None => (quote!(async), quote!(move)),
            };
            // The user's statements in a block of their own: an item they declare (`use
            // Bar::*`) does not reach the guard (tokio-rs/tracing#3306).
            return quote! {
                let #ret #ty = #span_ty::instrument(
                    &#span,
                    #asyncness #capture { #expect { #(#stmts)* } },
                ).await;
            };
        }
        if matches!(self.shape, Shape::Inline) {
            return quote! {
                let #ret #ty = { #(#stmts)* };
            };
        }
        let once = format_ident!("__instrument_once", span = Span::mixed_site());
        let taken = format_ident!("__instrument_once_taken", span = Span::mixed_site());
        // The closure's return type is written when it can be (so `?` and a wrong body type get
        // rustc's usual errors at the body); `impl Trait` cannot be, and is left to inference.
        let closure_ret = match self.output {
            Output::Type(t) if item::writable_in_let(t) => quote!(-> #t),
            Output::Unit => quote!(-> ()),
            Output::Type(_) | Output::Unknown => TokenStream::new(),
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

    /// A first, never-taken `return` of the declared type at the top of the async block (an
    /// async block's return type cannot be written): it fixes the block's return type before
    /// the body is checked, so a body returning the wrong type gets rustc's error at the body's
    /// expression (as without the macro), not at the attribute. `impl Trait` in the declared
    /// type is `_` here (`Wrapper<impl Display>` fixes `Wrapper<_>`); no declared type is `()`.
    fn gen_expected_type(&self) -> TokenStream {
        let krate = &self.names.krate;
        let (ty, at) = match self.output {
            Output::Unit => (quote!(()), self.fn_name.span()),
            Output::Type(t) => match body::erased(t) {
                Some(erased) => (erased.to_token_stream(), syn::spanned::Spanned::span(t)),
                None => return TokenStream::new(),
            },
            Output::Unknown => return TokenStream::new(),
        };
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

    /// After the body: `err`, `ret`, the `error` label, then the outcome for the `result`
    /// label, and close.
    fn gen_close(&self, label_exit: Option<TokenStream>) -> TokenStream {
        let Names {
            krate, span, ret, ..
        } = self.names;
        let span_ty = self.names.span_ty();
        let err = self.args.err.map(|e| self.gen_err(e));
        let ret_field = self.args.ret.map(|r| self.gen_ret(r));
        let outcome = format_ident!("__instrument_outcome", span = Span::mixed_site());
        quote! {
            #err
            #ret_field
            #label_exit
            let #outcome = {
                #[allow(unused_imports)]
                use #krate::__private::{OutcomeOfOther as _, OutcomeOfResult as _};
                (&#krate::__private::Probe(&#ret)).__instrument_outcome()
            };
            #span_ty::finish(&mut #span, #outcome);
        }
    }

    /// `err`: the error of an `Err` marks the span failed and emits a log record (ERROR, or
    /// `err(level = ..)`'s). Errors about `err` (not a `Result`, no `Display`) point at `err`.
    fn gen_err(&self, event: Event) -> TokenStream {
        let Names {
            krate,
            span,
            ret,
            callsite,
            ..
        } = self.names;
        let at = event.span;
        let e = format_ident!(
            "__instrument_error",
            span = Span::mixed_site().located_at(at)
        );
        let (get, record) = match event.format {
            Format::Display => (quote!(err_display), quote!(record_error)),
            Format::Debug => (quote!(err_debug), quote!(record_error_debug)),
        };
        let level = level_path(krate, event.level.unwrap_or("error"));
        let (ret, span) = (located(ret, at), located(span, at));
        quote_spanned! {at=>
            if let ::core::option::Option::Some(#e) = #krate::__private::#get(&#ret) {
                #krate::__private::#record(&mut #span, #callsite, #level, #e);
            }
        }
    }

    /// `ret`: the value (the `Ok` value, with `err`, as tracing does) as attribute `return`.
    fn gen_ret(&self, event: Event) -> TokenStream {
        let Names {
            krate, span, ret, ..
        } = self.names;
        let span_ty = self.names.span_ty();
        let at = event.span;
        let v = format_ident!(
            "__instrument_value",
            span = Span::mixed_site().located_at(at)
        );
        let (ret, span) = (located(ret, at), located(span, at));
        let record = match event.format {
            Format::Debug => quote!(record_return),
            Format::Display => quote!(record_return_display),
        };
        if self.args.err.is_some() {
            let get = match event.format {
                Format::Debug => quote!(ok_debug),
                Format::Display => quote!(ok_display),
            };
            quote_spanned! {at=>
                if let ::core::option::Option::Some(#v) = #krate::__private::#get(&#ret) {
                    #span_ty::#record(&mut #span, #v);
                }
            }
        } else {
            let conv = match event.format {
                Format::Debug => quote!(ret_debug),
                Format::Display => quote!(ret_display),
            };
            quote_spanned! {at=>
                let #v = #krate::__private::#conv(&#ret);
                #span_ty::#record(&mut #span, #v);
            }
        }
    }
}

impl Args {
    /// These arguments with `self` read as `_self` in every expression (the old async-trait
    /// form's inner fn).
    fn renamed_self(&self) -> Args {
        let mut args = self.clone();
        for f in &mut args.fields {
            if let FieldValue::Expr(e) = &mut f.value {
                *e = body::rename_self_expr(e);
            }
            if matches!(f.value, FieldValue::Param) {
                f.name_tokens = body::rename_self(f.name_tokens.clone());
            }
        }
        for l in &mut args.labels {
            if let LabelValue::Expr(e) = &mut l.value {
                *e = body::rename_self_expr(e);
            }
        }
        args.parent = args.parent.as_ref().map(body::rename_self_expr);
        args.follows_from = args.follows_from.as_ref().map(body::rename_self_expr);
        args
    }
}

/// `krate::__private::Level::Info` for `"info"`.
fn level_path(krate: &TokenStream, level: &str) -> TokenStream {
    let variant = match level {
        "trace" => quote!(Trace),
        "debug" => quote!(Debug),
        "warn" => quote!(Warn),
        "error" => quote!(Error),
        _ => quote!(Info),
    };
    quote!(#krate::__private::Level::#variant)
}

/// Span of the first token, so a type error points at the user's value.
fn first_span(value: &TokenStream) -> Span {
    value
        .clone()
        .into_iter()
        .next()
        .map_or_else(Span::call_site, |t| t.span())
}

/// `: T` for the return binding when the return type can be written in a `let` (not when it
/// contains `impl Trait` or is `!`), so `?` in the body infers its error type from it.
fn binding_type(output: &Output) -> TokenStream {
    match output {
        // `()` is written too: a diverging body would otherwise leave the type to inference,
        // and the outcome probe would guess `Result`.
        Output::Unit => quote!(: ()),
        Output::Type(ty) if item::writable_in_let(ty) => quote!(: #ty),
        Output::Type(_) | Output::Unknown => TokenStream::new(),
    }
}

/// The same (mixed-site) identifier, reported at `at`: a generated expression made of tokens
/// located at `at` is reported there, instead of at the whole attribute.
fn located(ident: &Ident, at: Span) -> Ident {
    Ident::new(&ident.to_string(), ident.span().located_at(at))
}
