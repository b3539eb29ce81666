//! The HTTP client handed to opentelemetry-otlp: reqwest, plus a note of the last response.
//!
//! opentelemetry-otlp turns an HTTP failure into `"... status code: 503"` and drops the
//! `Retry-After` header. Wrapping the client lets the bridge see the real status and
//! `Retry-After` without touching the protocol code.

use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use opentelemetry_http::{Bytes, HttpClient, HttpError, Request, Response};

use super::classify::HttpOutcome;

/// Where the last response of one signal's exporter is noted. One per signal, so signals
/// exported concurrently don't overwrite each other's notes.
#[derive(Debug, Default)]
pub(crate) struct LastResponse(Mutex<Option<HttpOutcome>>);

impl LastResponse {
    /// Forgets the last response (called before each export).
    pub(crate) fn clear(&self) {
        *self.lock() = None;
    }

    /// The response seen since the last [`clear`](Self::clear), if any.
    pub(crate) fn take(&self) -> Option<HttpOutcome> {
        self.lock().take()
    }

    fn set(&self, outcome: HttpOutcome) {
        *self.lock() = Some(outcome);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<HttpOutcome>> {
        // Only whole values are stored, so a poisoned lock still holds a consistent value.
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// reqwest's async client, noting each response's status and `Retry-After`.
#[derive(Debug, Clone)]
pub(crate) struct RecordingHttpClient {
    inner: reqwest::Client,
    last: Arc<LastResponse>,
}

impl RecordingHttpClient {
    pub(crate) fn new(inner: reqwest::Client, last: Arc<LastResponse>) -> Self {
        RecordingHttpClient { inner, last }
    }
}

#[async_trait]
impl HttpClient for RecordingHttpClient {
    async fn send_bytes(&self, request: Request<Bytes>) -> Result<Response<Bytes>, HttpError> {
        let response = self.inner.send_bytes(request).await?;
        let retry_after = response
            .headers()
            .get(http::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        self.last.set(HttpOutcome {
            status: response.status().as_u16(),
            retry_after,
        });
        Ok(response)
    }
}
