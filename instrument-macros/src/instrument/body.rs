//! The shape of an instrumented function's body: how its work runs, and so what the span must
//! cover. A function that returns a future it builds (`#[async_trait]` methods, `-> impl
//! Future`, `-> Pin<Box<dyn Future>>`) does its work when the future is polled, not when it is
//! created: for those the span instruments the future (as tracing-attributes' `AsyncInfo`).

use proc_macro2::TokenStream;
use quote::ToTokens;
use syn::visit::Visit;
use syn::visit_mut::VisitMut;
use syn::{Expr, ItemFn, ReturnType, Stmt, Type};

/// How the body runs.
#[derive(Clone)]
pub(crate) enum Shape {
    /// A sync body, run in a closure so its value comes back to us.
    Sync,
    /// `#[track_caller]`: inline (a closure would hide the caller's location); an early
    /// `return` or `?` then closes the span in `Drop`, as `ok`.
    Inline,
    /// `-> !`: the body can only leave by unwinding (or never); the span closes in `Drop`.
    Never,
    /// `async fn`: the body becomes an `async move` block polled with the span current.
    AsyncFn,
    /// A sync fn whose last expression is `async {..}` or `Box::pin(async {..})` (async-trait
    /// 0.1.44 and later, hand-written `impl Future` returners): that block is instrumented.
    /// `stmt` is the statement's index; the statements before it run uninstrumented.
    FutureBlock { stmt: usize },
    /// A sync fn ending in `Box::pin(inner(..))` where `inner` is an `async fn` declared in
    /// the body (async-trait 0.1.43 and before): `inner` is instrumented in the function's
    /// name.
    /// `stmt` is the index of `inner`'s declaration.
    InnerAsyncFn { stmt: usize },
}

/// The type of the value the instrumented work produces (for `err`, `ret`, `error_label` and
/// the expected-type guard).
#[derive(Clone)]
pub(crate) enum Output {
    /// No declared type: `()`.
    Unit,
    /// A declared type (may contain `impl Trait`).
    Type(Box<Type>),
    /// A future whose `Output` cannot be read from the declared type (a type alias such as
    /// `BoxFuture<'a, T>`): left to inference.
    Unknown,
}

impl Shape {
    pub(crate) fn of(item: &ItemFn) -> Shape {
        if matches!(&item.sig.output, ReturnType::Type(_, ty) if matches!(**ty, Type::Never(_))) {
            return Shape::Never;
        }
        if item.sig.asyncness.is_some() {
            return Shape::AsyncFn;
        }
        if let Some(shape) = future_shape(item) {
            return shape;
        }
        if item.attrs.iter().any(|a| a.path().is_ident("track_caller")) {
            Shape::Inline
        } else {
            Shape::Sync
        }
    }

    /// `true` when the work runs in a future (the span is started, not entered).
    pub(crate) fn is_async(&self) -> bool {
        matches!(
            self,
            Shape::AsyncFn | Shape::FutureBlock { .. } | Shape::InnerAsyncFn { .. }
        )
    }
}

/// The last expression statement, and its index.
fn last_expr(item: &ItemFn) -> Option<(usize, &Expr)> {
    item.block
        .stmts
        .iter()
        .enumerate()
        .rev()
        .find_map(|(i, stmt)| match stmt {
            Stmt::Expr(expr, None) => Some((i, expr)),
            _ => None,
        })
}

/// `Box::pin(arg)` (any path ending in `Box::pin`): its argument.
pub(crate) fn box_pin_arg(expr: &Expr) -> Option<&Expr> {
    let Expr::Call(call) = expr else { return None };
    let Expr::Path(path) = &*call.func else {
        return None;
    };
    let segs: Vec<String> = path
        .path
        .segments
        .iter()
        .map(|s| s.ident.to_string())
        .collect();
    let is_box_pin = segs.len() >= 2 && segs[segs.len() - 2..] == ["Box", "pin"];
    match (is_box_pin, call.args.len()) {
        (true, 1) => call.args.first(),
        _ => None,
    }
}

fn future_shape(item: &ItemFn) -> Option<Shape> {
    let (index, expr) = last_expr(item)?;
    let inner = box_pin_arg(expr).unwrap_or(expr);
    if let Expr::Async(_) = inner {
        return Some(Shape::FutureBlock { stmt: index });
    }
    // `Box::pin(name(..))` with `async fn name` declared in the body.
    let Expr::Call(call) = box_pin_arg(expr)? else {
        return None;
    };
    let Expr::Path(called) = &*call.func else {
        return None;
    };
    let called = called.path.get_ident()?;
    item.block
        .stmts
        .iter()
        .position(|stmt| {
            matches!(stmt, Stmt::Item(syn::Item::Fn(f))
                if f.sig.asyncness.is_some() && f.sig.ident == *called)
        })
        .map(|stmt| Shape::InnerAsyncFn { stmt })
}

/// The output of the instrumented work of `item` in shape `shape`.
pub(crate) fn output(item: &ItemFn, shape: &Shape) -> Output {
    let declared = match &item.sig.output {
        ReturnType::Default => return Output::Unit,
        ReturnType::Type(_, ty) => &**ty,
    };
    match shape {
        Shape::FutureBlock { .. } => {
            future_output(declared).map_or(Output::Unknown, |t| Output::Type(Box::new(t)))
        }
        _ => Output::Type(Box::new(declared.clone())),
    }
}

/// `T` of `Future<Output = T>` anywhere in `ty` (`impl Future<Output = T> + Send`,
/// `Pin<Box<dyn Future<Output = T> + Send + 'a>>`).
fn future_output(ty: &Type) -> Option<Type> {
    struct Find(Option<Type>);
    impl<'ast> Visit<'ast> for Find {
        fn visit_path_segment(&mut self, seg: &'ast syn::PathSegment) {
            if self.0.is_some() {
                return;
            }
            if seg.ident == "Future" {
                if let syn::PathArguments::AngleBracketed(args) = &seg.arguments {
                    for arg in &args.args {
                        if let syn::GenericArgument::AssocType(a) = arg {
                            if a.ident == "Output" {
                                self.0 = Some(a.ty.clone());
                                return;
                            }
                        }
                    }
                }
            }
            syn::visit::visit_path_segment(self, seg);
        }
    }
    let mut find = Find(None);
    find.visit_type(ty);
    find.0
}

/// `ty` with every `impl Trait` replaced by `_`, when the result can be written in a `let` and
/// says something (`Wrapper<_>`, not `_`): the type the expected-type guard fixes.
pub(crate) fn erased(ty: &Type) -> Option<Type> {
    struct Erase;
    impl VisitMut for Erase {
        fn visit_type_mut(&mut self, t: &mut Type) {
            if let Type::ImplTrait(i) = t {
                let underscore = syn::Token![_](syn::spanned::Spanned::span(i));
                *t = Type::Infer(syn::TypeInfer {
                    underscore_token: underscore,
                });
            } else {
                syn::visit_mut::visit_type_mut(self, t);
            }
        }
    }
    let mut ty = ty.clone();
    Erase.visit_type_mut(&mut ty);
    let says_something = !matches!(ty, Type::Infer(_));
    (says_something && super::item::writable_in_let(&ty)).then_some(ty)
}

/// `tokens` with every identifier `self` replaced by `_self` (the old async-trait form passes
/// `self` to its inner fn as `_self`; the attribute's expressions are rewritten to match).
pub(crate) fn rename_self(tokens: TokenStream) -> TokenStream {
    tokens
        .into_iter()
        .map(|t| match t {
            proc_macro2::TokenTree::Ident(i) if i == "self" => {
                proc_macro2::Ident::new("_self", i.span()).into()
            }
            proc_macro2::TokenTree::Group(g) => {
                let mut new = proc_macro2::Group::new(g.delimiter(), rename_self(g.stream()));
                new.set_span(g.span());
                new.into()
            }
            other => other,
        })
        .collect()
}

/// [`rename_self`] on an expression.
pub(crate) fn rename_self_expr(expr: &Expr) -> Expr {
    syn::parse2(rename_self(expr.to_token_stream())).unwrap_or_else(|_| expr.clone())
}
