//! Code generation for `labels(...)`, `error_label` and `max_series`.
//!
//! The label types are inferred from the label expressions, so everything that needs them is
//! in one generic function generated inside the instrumented body, `__instrument_labels`, called
//! at entry with a reference to each label value:
//!
//! - its bounds (`__L0: Label`) are the type check: a value whose type is not a label fails
//!   there, spanned on the label's expression, with `Label`'s `on_unimplemented` message;
//! - its `const` block is the series budget check over the `CARDINALITY` constants (a const
//!   panic names the function, every label and its size);
//! - it returns a `LabelSet`: the mixed-radix series index of the values (computed once, before
//!   the body runs; no strings, no hashing, no allocation) and the `'static` label descriptions,
//!   which the callsite is given on first use.
//!
//! Label `k` is digit `k` of the index (first label least significant); constant labels have
//! one value, so they add nothing to it; the `error` label of `error_label` is the last digit,
//! added at exit from the return value.

use proc_macro2::{Delimiter, Group, Span, TokenStream};
use quote::{format_ident, quote, quote_spanned, ToTokens};
use syn::Ident;

use super::args::{Args, LabelArg, LabelValue};
use super::body::Output;
use super::names::Names;

/// Default series budget of a function.
const DEFAULT_MAX_SERIES: u64 = 1000;

/// One label, as the generated function sees it.
enum Slot<'a> {
    /// A value whose type is inferred: generic parameter `ty`, argument `arg`.
    Typed {
        label: &'a LabelArg,
        ty: Ident,
        arg: Ident,
        value: TokenStream,
    },
    /// A string literal.
    Const {
        label: &'a LabelArg,
        value: &'a syn::LitStr,
    },
}

impl Slot<'_> {
    fn key(&self) -> &str {
        match self {
            Slot::Typed { label, .. } | Slot::Const { label, .. } => &label.name,
        }
    }
}

/// The labels of one function, ready to generate.
pub(crate) struct Labels<'a> {
    slots: Vec<Slot<'a>>,
    /// `Some(return type, keyword)` with `error_label`.
    error: Option<(&'a syn::Type, &'a syn::Path)>,
    args: &'a Args,
}

impl<'a> Labels<'a> {
    /// `None` when the function has no labels (nothing is generated).
    pub(crate) fn new(args: &'a Args, output: &'a Output) -> Option<Labels<'a>> {
        let error = match (&args.error_label, output) {
            (Some(keyword), Output::Type(ty)) => Some((&**ty, keyword)),
            _ => None,
        };
        if args.labels.is_empty() && error.is_none() {
            return None;
        }
        let slots = args
            .labels
            .iter()
            .enumerate()
            .map(|(i, l)| slot(i, l))
            .collect();
        Some(Labels { slots, error, args })
    }

    fn set(n: &Names) -> Ident {
        format_ident!("__instrument_label_set", span = n.site)
    }

    /// Before the span opens: the label function, its call, and the callsite's labels.
    pub(crate) fn gen_entry(&self, n: &Names, fn_name: &Ident) -> TokenStream {
        let Names {
            callsite, krate, ..
        } = n;
        let func = self.gen_function(n, fn_name);
        // The call is spanned on `labels`: "required by a bound introduced by this call".
        let label_fn = format_ident!("__instrument_labels", span = self.keyword_span());
        let set = Self::set(n);
        let values = self.slots.iter().filter_map(|s| match s {
            Slot::Typed { value, .. } => Some(spanned_ref(value.clone())),
            Slot::Const { .. } => None,
        });
        let ret = self.error.map(|(ty, keyword)| {
            let span = keyword_span(keyword);
            quote_spanned!(span=> ::core::marker::PhantomData::<#ty>)
        });
        let mut call_args = Group::new(Delimiter::Parenthesis, quote!(#(#values,)* #ret));
        call_args.set_span(self.keyword_span());
        quote! {
            #func
            let #set = #label_fn #call_args;
            #krate::__private::Callsite::bind_labels(#callsite, #set.descs);
        }
    }

    /// After the span opened: select the series. (The exporter thread renders the labels as
    /// span attributes from the series index: nothing is recorded per call.)
    pub(crate) fn gen_after_open(n: &Names) -> TokenStream {
        let span = &n.span;
        let span_ty = n.span_ty();
        let set = Self::set(n);
        quote! {
            #span_ty::set_label_index(&mut #span, #set.index);
        }
    }

    /// Before the span closes: with `error_label`, add the error digit from the return value.
    pub(crate) fn gen_exit(&self, n: &Names) -> TokenStream {
        if self.error.is_none() {
            return TokenStream::new();
        }
        let Names {
            span, ret, krate, ..
        } = n;
        let span_ty = n.span_ty();
        let set = Self::set(n);
        quote! {
            #span_ty::set_label_index(
                &mut #span,
                #krate::__private::LabelSet::index_with(&#set, &#ret),
            );
        }
    }

    /// `fn __instrument_labels<__L0: Label, ...>(v0: &__L0, ...) -> LabelSet<R>`.
    fn gen_function(&self, n: &Names, fn_name: &Ident) -> TokenStream {
        let krate = &n.krate;
        let label_fn = format_ident!("__instrument_labels", span = n.site);
        let params = self.slots.iter().filter_map(|s| match s {
            Slot::Typed { label, ty, arg, .. } => {
                // "required by this bound" points at the label's name.
                let param = quote!(#ty: #krate::__private::Label + ?::core::marker::Sized);
                Some((respan(param, label.ident.span()), quote!(#arg: &#ty)))
            }
            Slot::Const { .. } => None,
        });
        let (mut generics, mut inputs): (Vec<_>, Vec<_>) = params.unzip();
        let r = match self.error {
            Some((_, keyword)) => {
                let param = quote!(__R: #krate::__private::ErrorLabel);
                generics.push(respan(param, keyword_span(keyword)));
                inputs.push(quote!(_: ::core::marker::PhantomData<__R>));
                quote!(__R)
            }
            None => quote!(()),
        };
        let budget = self.gen_budget(n, fn_name);
        let index = self.gen_index(krate);
        let stride = self.gen_stride(krate);
        let descs = self.gen_descs(krate);
        let user_labels = self.slots.len();
        let error_index = match self.error {
            Some(_) => quote!(<__R as #krate::__private::ErrorLabel>::error_index),
            None => quote!(#krate::__private::no_error::<()>),
        };
        quote! {
            #[inline(always)]
            #[allow(clippy::inline_always, clippy::too_many_arguments)]
            fn #label_fn<#(#generics),*>(#(#inputs),*) -> #krate::__private::LabelSet<#r> {
                #budget
                #index
                #krate::__private::LabelSet::new(
                    __instrument_index,
                    #stride,
                    #user_labels,
                    const { &[#(#descs),*] },
                    #error_index,
                )
            }
        }
    }

    /// The series budget, a `const` assertion: 2 (`result`) × every label's `CARDINALITY` must
    /// not exceed `max_series`. Its panic points at `labels` (or `error_label`).
    fn gen_budget(&self, n: &Names, fn_name: &Ident) -> TokenStream {
        let krate = &n.krate;
        let mut keys: Vec<String> = self.slots.iter().map(|s| s.key().to_owned()).collect();
        let mut cards: Vec<TokenStream> = self
            .slots
            .iter()
            .map(|s| match s {
                Slot::Typed { ty, .. } => quote!(<#ty as #krate::__private::Label>::CARDINALITY),
                Slot::Const { .. } => quote!(1),
            })
            .collect();
        if self.error.is_some() {
            keys.push("error".to_owned());
            cards.push(quote!(<__R as #krate::__private::ErrorLabel>::CARDINALITY));
        }
        let max = self
            .args
            .max_series
            .as_ref()
            .and_then(|l| l.base10_parse::<u64>().ok())
            .unwrap_or(DEFAULT_MAX_SERIES);
        let max = proc_macro2::Literal::u64_unsuffixed(max);
        let name = fn_name.to_string().trim_start_matches("r#").to_owned();
        let span = self.keyword_span();
        let panic = quote_spanned!(span=>
            ::core::panic!("{}", #krate::__private::Budget::message(&__instrument_budget))
        );
        let check = quote! {
            let __instrument_budget = #krate::__private::Budget::check(
                #name,
                &[#(#keys),*],
                &[#(#cards),*],
                #max,
            );
            if #krate::__private::Budget::exceeded(&__instrument_budget) {
                #panic
            }
        };
        // The `const` keyword and braces carry the span too: "erroneous constant encountered".
        let konst = quote_spanned!(span=> const);
        let mut block = Group::new(Delimiter::Brace, check);
        block.set_span(span);
        quote!(#konst #block)
    }

    /// `labels`, else `error_label`: where errors about the labels as a whole point.
    fn keyword_span(&self) -> Span {
        match (&self.args.labels_token, self.error) {
            (Some(labels), _) => keyword_span(labels),
            (None, Some((_, keyword))) => keyword_span(keyword),
            (None, None) => Span::call_site(),
        }
    }

    /// `let __instrument_index = ((i2) * C1 + i1) * C0 + i0;` over the typed labels (Horner,
    /// last label most significant).
    fn gen_index(&self, krate: &TokenStream) -> TokenStream {
        let steps = self.slots.iter().rev().filter_map(|s| match s {
            Slot::Typed { ty, arg, .. } => Some(quote! {
                __instrument_index = __instrument_index
                    * <#ty as #krate::__private::Label>::CARDINALITY
                    + #krate::__private::label_index(#arg);
            }),
            Slot::Const { .. } => None,
        });
        quote! {
            #[allow(unused_mut)]
            let mut __instrument_index: ::core::primitive::usize = 0;
            #(#steps)*
        }
    }

    /// The weight of the `error` digit: the product of the user labels' cardinalities.
    fn gen_stride(&self, krate: &TokenStream) -> TokenStream {
        let cards = self.slots.iter().filter_map(|s| match s {
            Slot::Typed { ty, .. } => {
                Some(quote!(* <#ty as #krate::__private::Label>::CARDINALITY))
            }
            Slot::Const { .. } => None,
        });
        quote!(1 #(#cards)*)
    }

    /// The `LabelDesc` of every label, in index order (`error` last).
    fn gen_descs(&self, krate: &TokenStream) -> Vec<TokenStream> {
        let desc = quote!(#krate::__private::LabelDesc);
        let mut descs: Vec<TokenStream> = self
            .slots
            .iter()
            .map(|s| match s {
                Slot::Typed { label, ty, .. } => {
                    let key = &label.name;
                    quote! {
                        #desc {
                            key: #key,
                            cardinality: <#ty as #krate::__private::Label>::CARDINALITY,
                            value_name: <#ty as #krate::__private::Label>::name,
                        }
                    }
                }
                Slot::Const { label, value } => {
                    let key = &label.name;
                    quote! {
                        #desc {
                            key: #key,
                            cardinality: 1,
                            value_name: |_: ::core::primitive::usize| -> &'static ::core::primitive::str { #value },
                        }
                    }
                }
            })
            .collect();
        if self.error.is_some() {
            descs.push(quote! {
                #desc {
                    key: "error",
                    cardinality: <__R as #krate::__private::ErrorLabel>::CARDINALITY,
                    value_name: <__R as #krate::__private::ErrorLabel>::name,
                }
            });
        }
        descs
    }
}

fn slot(i: usize, label: &LabelArg) -> Slot<'_> {
    let value = match &label.value {
        LabelValue::Const(value) => return Slot::Const { label, value },
        LabelValue::Expr(e) => e.to_token_stream(),
        LabelValue::Param => label.ident.to_token_stream(),
    };
    Slot::Typed {
        label,
        ty: format_ident!("__L{}", i),
        arg: format_ident!("__instrument_v{}", i),
        value,
    }
}

/// `tokens` with every span replaced by `span` (groups included).
fn respan(tokens: TokenStream, span: Span) -> TokenStream {
    tokens
        .into_iter()
        .map(|mut t| {
            if let proc_macro2::TokenTree::Group(g) = &t {
                let mut inner = Group::new(g.delimiter(), respan(g.stream(), span));
                inner.set_span(span);
                t = inner.into();
            }
            t.set_span(span);
            t
        })
        .collect()
}

fn keyword_span(path: &syn::Path) -> Span {
    path.segments
        .first()
        .map_or_else(Span::call_site, |s| s.ident.span())
}

/// `&(value)` whose span covers `value`: `&` takes the span of its first token and the
/// parentheses that of its last, so a type error on the argument underlines the whole
/// expression, not the attribute.
fn spanned_ref(value: TokenStream) -> TokenStream {
    let mut tokens = value.clone().into_iter();
    let first = tokens.next().map_or_else(Span::call_site, |t| t.span());
    let last = tokens.last().map_or(first, |t| match t {
        proc_macro2::TokenTree::Group(g) => g.span_close(),
        other => other.span(),
    });
    let amp = quote_spanned!(first=> &);
    let mut group = Group::new(Delimiter::Parenthesis, value);
    group.set_span(last);
    quote!(#amp #group)
}
