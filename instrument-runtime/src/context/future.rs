//! Async context: a future wrapper that makes a span context current only while the future is
//! polled, and restores what was current before, so tasks sharing a thread never see each
//! other's spans.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use super::current::SpanContext;
use crate::local;

pin_project_lite::pin_project! {
    /// A future that runs with a span context current while it is polled.
    ///
    /// Made by `#[instrument]` on async functions, and by
    /// [`FutureExt::in_current_span`](crate::FutureExt::in_current_span) for tasks you spawn.
    #[derive(Debug)]
    #[must_use = "futures do nothing unless polled"]
    pub struct WithContext<F> {
        #[pin]
        future: F,
        ctx: SpanContext,
        // `false`: polled in whatever context is current (the future of a function the
        // filter disables).
        enter: bool,
    }
}

impl<F> WithContext<F> {
    pub(crate) fn new(future: F, ctx: SpanContext) -> Self {
        WithContext {
            future,
            ctx,
            enter: true,
        }
    }

    pub(crate) fn transparent(future: F) -> Self {
        WithContext {
            future,
            ctx: SpanContext::NONE,
            enter: false,
        }
    }
}

impl<F: Future> Future for WithContext<F> {
    type Output = F::Output;

    #[inline]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        if !*this.enter {
            return this.future.poll(cx);
        }
        let _restore = Restore(local::replace_current(*this.ctx));
        this.future.poll(cx)
    }
}

/// Puts the previous context back, also when the polled future panics.
struct Restore(SpanContext);

impl Drop for Restore {
    fn drop(&mut self) {
        local::replace_current(self.0);
    }
}

/// Carrying the current span into futures you spawn.
pub trait FutureExt: Future + Sized {
    /// Runs this future with the current span context as its context, so spans it opens are
    /// children of the current span even when it is polled by another task or thread:
    ///
    /// ```
    /// use instrument_runtime::{instrument, FutureExt};
    ///
    /// #[instrument]
    /// async fn child() {}
    ///
    /// #[instrument]
    /// async fn parent() {
    ///     // tokio::spawn(child().in_current_span());
    ///     child().in_current_span().await;
    /// }
    /// ```
    fn in_current_span(self) -> WithContext<Self> {
        WithContext::new(self, local::current())
    }
}

impl<F: Future> FutureExt for F {}
