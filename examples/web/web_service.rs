//! A small instrumented web service: axum on a multi-thread tokio runtime.
//!
//! ```text
//! cargo run -p instrument-example-web --example web_service     # listens on 127.0.0.1:3000
//! WEB_ADDR=127.0.0.1:0 cargo run -p instrument-example-web --example web_service  # any free port
//! ```
//!
//! It prints the address it listens on and serves until Ctrl-C. Then, from another terminal:
//!
//! ```text
//! curl -s http://127.0.0.1:3000/hello
//! curl -s -X PUT http://127.0.0.1:3000/hello                     # counted as method="other"
//! curl -s -X POST http://127.0.0.1:3000/checkout/apple \
//!      -H 'traceparent: 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01'
//! curl -s http://127.0.0.1:3000/checkout/unicorn                 # 404: result="error"
//! curl -s http://127.0.0.1:3000/metrics
//! ```
//!
//! # What to look at
//!
//! - **Metric labels.** Each route's instrumented function has
//!   `#[instrument(labels(route = "...", method = method))]`, where `method` is a
//!   `#[derive(Label)] enum Method { Get, Post, Other }` made from the request's
//!   `http::Method`: a fixed set of values, so no request can create a new metric series.
//!   `GET /metrics` (served by this router, from `PrometheusExporter::handle()`) shows
//!   `function_calls_total{error="none",function="checkout",method="post",module="web_service",
//!   result="ok",route="checkout"} 1` and the latency histogram
//!   `function_calls_duration_seconds`. `checkout` also has `error_label`: its `error` label
//!   says which `ShopError` it returned (`none` when it succeeded).
//! - **Incoming `traceparent`.** Each route extracts the W3C context from the request headers
//!   (`propagation::extract(&headers)`) and hands it to the instrumented function as
//!   `parent = remote`: with the curl above, the `checkout` span has trace id
//!   `4bf92f3577b34da6a3ce929d0e0e4736` and parent `00f067aa0ba902b7`. A missing or invalid
//!   header starts a new trace.
//! - **Outgoing calls.** `/checkout/{item}` calls `/inventory/{item}` of this same service over
//!   real HTTP. `reserve` injects ITS span's `traceparent` into the request
//!   (`propagation::inject(&mut headers)`), so the `inventory` span is its child, in the same
//!   trace. The JSON answer shows the header sent and the one `/inventory` received.
//! - **Logs carry trace ids.** `log::info!` inside the handlers goes through the runtime's `log`
//!   bridge: each log line on stdout has the `trace_id` and `span_id` of its span.
//!
//! Spans, logs and metric snapshots are printed on stdout as JSON lines
//! (`INSTRUMENT_STDOUT=pretty` for span trees). `/metrics` serves the latest metrics snapshot,
//! taken every `OTEL_METRIC_EXPORT_INTERVAL` ms (10 s by default; set it to `1000` to watch
//! the counters move).
//!
//! # Self-test
//!
//! With `INSTRUMENT_EXAMPLE_SELFTEST=1` it binds 127.0.0.1:0, sends a few requests to itself,
//! checks the trace ids and `/metrics`, and exits 0, or 1 with the failed check on stderr.
//! Everything is under a deadline (and a watchdog thread), so it cannot hang
//! (`ci/check_web_example.sh` runs it).

use std::future::IntoFuture;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;

use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, Method as HttpMethod, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get};
use axum::{Json, Router};
use instrument_runtime::export::prometheus::{PrometheusExporter, PrometheusHandle, CONTENT_TYPE};
use instrument_runtime::export::stdout::StdoutExporter;
use instrument_runtime::propagation::{self, RemoteContext, TRACEPARENT};
use instrument_runtime::{current_span_id, current_trace_id, instrument, Label, Telemetry};
use serde_json::{json, Value};
use tokio::net::TcpListener;
use tokio::sync::oneshot;

/// Where the service listens unless `WEB_ADDR` says otherwise.
const DEFAULT_ADDR: &str = "127.0.0.1:3000";
/// Deadline of every HTTP call this example makes, to itself or from the self-test.
const HTTP_TIMEOUT: Duration = Duration::from_secs(5);
/// Deadline of the final flush and shutdown of the telemetry pipeline.
const SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(5);

// ---------------------------------------------------------------------------------------------
// Labels and errors
// ---------------------------------------------------------------------------------------------

/// The `method` metric label. Three values only: any other HTTP method is `other`.
#[derive(Label, Clone, Copy, Debug, PartialEq, Eq)]
enum Method {
    Get,
    Post,
    Other,
}

impl From<&HttpMethod> for Method {
    fn from(method: &HttpMethod) -> Self {
        if method == HttpMethod::GET {
            Method::Get
        } else if method == HttpMethod::POST {
            Method::Post
        } else {
            Method::Other
        }
    }
}

/// Why a checkout failed. Fieldless, so it can also be the `error` metric label.
#[derive(Label, Clone, Copy, Debug, PartialEq, Eq)]
enum ShopError {
    /// The inventory does not know the item (HTTP 404).
    UnknownItem,
    /// The inventory did not answer properly (HTTP 502).
    InventoryUnavailable,
}

impl std::fmt::Display for ShopError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            ShopError::UnknownItem => "unknown item",
            ShopError::InventoryUnavailable => "the inventory did not answer",
        })
    }
}

impl IntoResponse for ShopError {
    fn into_response(self) -> Response {
        let status = match self {
            ShopError::UnknownItem => StatusCode::NOT_FOUND,
            ShopError::InventoryUnavailable => StatusCode::BAD_GATEWAY,
        };
        (status, Json(json!({ "error": self.to_string() }))).into_response()
    }
}

// ---------------------------------------------------------------------------------------------
// The instrumented functions: one per route, plus the outgoing call
// ---------------------------------------------------------------------------------------------

/// What every handler shares: the `/metrics` renderer, and a client for calls to this service.
#[derive(Clone, Debug)]
struct AppState {
    metrics: PrometheusHandle,
    client: reqwest::Client,
    /// `http://<address this service listens on>`.
    base_url: String,
}

/// `GET /hello` (any method, in fact: try `PUT` to see `method="other"`).
#[instrument(labels(route = "hello", method = method), parent = remote)]
async fn hello(method: Method, remote: Option<RemoteContext>) -> Json<Value> {
    log::info!("hello, {method:?} request");
    Json(json!({ "hello": "world", "trace_id": trace_id_text() }))
}

/// `GET|POST /checkout/{item}`: reserves the item through `/inventory` over HTTP.
#[instrument(
    labels(route = "checkout", method = method),
    error_label,
    parent = remote,
    err,
    fields(item = %item)
)]
async fn checkout(
    state: &AppState,
    method: Method,
    remote: Option<RemoteContext>,
    item: String,
) -> Result<Json<Value>, ShopError> {
    log::info!("checking out {item}");
    let reservation = reserve(state, &item).await?;
    log::info!("{item} reserved");
    Ok(Json(json!({
        "item": item,
        "trace_id": trace_id_text(),
        "span_id": current_span_id().map(|id| id.to_string()),
        "reservation": reservation,
    })))
}

/// The outgoing call to `/inventory/{item}`, with this span's `traceparent` injected.
///
/// Returns the inventory's answer and, under `sent_traceparent`, the header it sent.
#[instrument(err)]
async fn reserve(state: &AppState, item: &str) -> Result<Value, ShopError> {
    let mut headers = HeaderMap::new();
    propagation::inject(&mut headers); // traceparent: 00-<this trace>-<this span>-01
    let sent = header_text(&headers, TRACEPARENT);
    let url = format!("{}/inventory/{item}", state.base_url);
    log::info!("calling {url}");
    let response = state
        .client
        .get(&url)
        .headers(headers)
        .send()
        .await
        .map_err(|e| unavailable(&format!("GET {url}: {e}")))?;
    match response.status() {
        StatusCode::OK => {}
        StatusCode::NOT_FOUND => return Err(ShopError::UnknownItem),
        other => return Err(unavailable(&format!("GET {url}: HTTP {other}"))),
    }
    let body = response
        .text()
        .await
        .map_err(|e| unavailable(&format!("GET {url}: {e}")))?;
    let stock: Value =
        serde_json::from_str(&body).map_err(|e| unavailable(&format!("GET {url}: {e}")))?;
    Ok(json!({ "sent_traceparent": sent, "inventory": stock }))
}

/// `GET /inventory/{item}`: the downstream service. Answers with the trace id of its own span
/// and the `traceparent` it received, so callers can check the trace went through.
#[instrument(labels(route = "inventory", method = method), parent = remote, err)]
async fn inventory(
    method: Method,
    remote: Option<RemoteContext>,
    item: String,
    received: Option<String>,
) -> Result<Json<Value>, ShopError> {
    let Some(in_stock) = stock_of(&item) else {
        log::warn!("{item} is not in the catalogue");
        return Err(ShopError::UnknownItem);
    };
    log::info!("{item}: {in_stock} in stock");
    Ok(Json(json!({
        "item": item,
        "in_stock": in_stock,
        "trace_id": trace_id_text(),
        "received_traceparent": received,
    })))
}

/// The whole catalogue.
fn stock_of(item: &str) -> Option<u32> {
    match item {
        "apple" => Some(12),
        "pear" => Some(3),
        _ => None,
    }
}

fn unavailable(why: &str) -> ShopError {
    log::warn!("inventory unavailable: {why}");
    ShopError::InventoryUnavailable
}

fn trace_id_text() -> Option<String> {
    current_trace_id().map(|id| id.to_string())
}

fn header_text(headers: &HeaderMap, name: &str) -> Option<String> {
    let value = headers.get(name)?.to_str().ok()?;
    Some(value.to_owned())
}

// ---------------------------------------------------------------------------------------------
// The router: thin axum handlers that extract the request parts and call the functions above
// ---------------------------------------------------------------------------------------------

fn router(state: AppState) -> Router {
    Router::new()
        .route("/hello", any(hello_route))
        .route("/checkout/{item}", get(checkout_route).post(checkout_route))
        .route("/inventory/{item}", get(inventory_route))
        .route("/metrics", get(metrics_route))
        .with_state(state)
}

async fn hello_route(method: HttpMethod, headers: HeaderMap) -> Json<Value> {
    hello(Method::from(&method), propagation::extract(&headers)).await
}

async fn checkout_route(
    State(state): State<AppState>,
    method: HttpMethod,
    headers: HeaderMap,
    Path(item): Path<String>,
) -> Result<Json<Value>, ShopError> {
    let remote = propagation::extract(&headers);
    checkout(&state, Method::from(&method), remote, item).await
}

async fn inventory_route(
    method: HttpMethod,
    headers: HeaderMap,
    Path(item): Path<String>,
) -> Result<Json<Value>, ShopError> {
    let received = header_text(&headers, TRACEPARENT);
    let remote = propagation::extract(&headers);
    inventory(Method::from(&method), remote, item, received).await
}

/// `GET /metrics`: the Prometheus text exposition of the latest metrics snapshot.
async fn metrics_route(State(state): State<AppState>) -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, CONTENT_TYPE)],
        state.metrics.render(),
    )
}

// ---------------------------------------------------------------------------------------------
// Start-up and shutdown
// ---------------------------------------------------------------------------------------------

fn main() -> ExitCode {
    let selftest = std::env::var_os("INSTRUMENT_EXAMPLE_SELFTEST").is_some_and(|v| v == "1");
    if selftest {
        start_watchdog(Duration::from_secs(100));
    }
    let prometheus = PrometheusExporter::new();
    let metrics = prometheus.handle();
    let telemetry = match install_telemetry(prometheus) {
        Ok(t) => t,
        Err(e) => return fail(&format!("cannot install the telemetry pipeline: {e}")),
    };
    let outcome = run_on_tokio(selftest, metrics);
    let report = telemetry.shutdown_with_timeout(SHUTDOWN_TIMEOUT);
    let outcome = outcome.and_then(|()| {
        expect(
            report.completed,
            format!("telemetry shutdown incomplete: {report:?}"),
        )
    });
    match outcome {
        Ok(()) if selftest => {
            println!("self-test passed");
            ExitCode::SUCCESS
        }
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => fail(&e),
    }
}

/// Spans and logs to stdout (JSON lines), metrics to stdout and to our own `/metrics`.
fn install_telemetry(prometheus: PrometheusExporter) -> Result<Telemetry, String> {
    instrument_runtime::builder()
        .exporter(StdoutExporter::from_env())
        .exporter(prometheus)
        .install()
        .map_err(|e| e.to_string())
}

/// Runs the service (or the self-test) on a multi-thread runtime; its shutdown is bounded.
fn run_on_tokio(selftest: bool, metrics: PrometheusHandle) -> Result<(), String> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start tokio: {e}"))?;
    let outcome = runtime.block_on(run(selftest, metrics));
    runtime.shutdown_timeout(Duration::from_secs(2));
    outcome
}

async fn run(selftest: bool, metrics: PrometheusHandle) -> Result<(), String> {
    let addr = if selftest {
        "127.0.0.1:0".to_owned()
    } else {
        std::env::var("WEB_ADDR").unwrap_or_else(|_| DEFAULT_ADDR.to_owned())
    };
    let listener = TcpListener::bind(&addr)
        .await
        .map_err(|e| format!("cannot listen on {addr}: {e}"))?;
    let local = listener.local_addr().map_err(|e| e.to_string())?;
    let state = AppState {
        metrics,
        client: http_client()?,
        base_url: format!("http://{local}"),
    };
    println!("listening on http://{local}");
    if selftest {
        return self_test(listener, router(state), local).await;
    }
    axum::serve(listener, router(state))
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await
        .map_err(|e| format!("server error: {e}"))
}

/// A client for plain HTTP on loopback: no proxy from the environment, a deadline per call.
fn http_client() -> Result<reqwest::Client, String> {
    reqwest::Client::builder()
        .no_proxy()
        .timeout(HTTP_TIMEOUT)
        .build()
        .map_err(|e| format!("cannot build the HTTP client: {e}"))
}

/// Exits the process if the self-test is still running after `limit`, whatever it is doing.
fn start_watchdog(limit: Duration) {
    std::thread::spawn(move || {
        std::thread::sleep(limit);
        eprintln!("self-test: still running after {limit:?}, giving up");
        std::process::exit(2);
    });
}

fn fail(message: &str) -> ExitCode {
    eprintln!("web_service: {message}");
    ExitCode::FAILURE
}

// ---------------------------------------------------------------------------------------------
// Self-test (INSTRUMENT_EXAMPLE_SELFTEST=1)
// ---------------------------------------------------------------------------------------------

/// The incoming context of the self-test's checkout request.
const TEST_TRACEPARENT: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
const TEST_TRACE_ID: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const TEST_PARENT_ID: &str = "00f067aa0ba902b7";
/// Deadline of the self-test's requests and checks.
const SELFTEST_TIMEOUT: Duration = Duration::from_secs(30);

/// Serves `app` in the background, runs [`checks`] against it, then stops the server.
async fn self_test(listener: TcpListener, app: Router, addr: SocketAddr) -> Result<(), String> {
    let (stop, stopped) = oneshot::channel::<()>();
    let server = tokio::spawn(
        axum::serve(listener, app)
            .with_graceful_shutdown(async {
                let _ = stopped.await;
            })
            .into_future(),
    );
    let outcome = tokio::time::timeout(SELFTEST_TIMEOUT, checks(addr))
        .await
        .unwrap_or_else(|_| Err(format!("no result within {SELFTEST_TIMEOUT:?}")));
    let _ = stop.send(());
    if tokio::time::timeout(Duration::from_secs(2), server)
        .await
        .is_err()
    {
        eprintln!("self-test: the server took more than 2 s to stop; not waiting");
    }
    outcome
}

/// The requests of the self-test, and what their answers must show.
async fn checks(addr: SocketAddr) -> Result<(), String> {
    let client = http_client()?;
    let base = format!("http://{addr}");

    let hello = request(&client, HttpMethod::GET, &format!("{base}/hello"), None).await?;
    expect(hello.0 == StatusCode::OK, format!("GET /hello: {hello:?}"))?;
    let put = request(&client, HttpMethod::PUT, &format!("{base}/hello"), None).await?;
    expect(put.0 == StatusCode::OK, format!("PUT /hello: {put:?}"))?;

    let url = format!("{base}/checkout/apple");
    let (status, body) = request(&client, HttpMethod::POST, &url, Some(TEST_TRACEPARENT)).await?;
    expect(
        status == StatusCode::OK,
        format!("POST /checkout/apple: {status} {body}"),
    )?;
    check_trace_went_through(&body)?;

    let url = format!("{base}/checkout/unicorn");
    let (status, body) = request(&client, HttpMethod::GET, &url, None).await?;
    expect(
        status == StatusCode::NOT_FOUND,
        format!("GET /checkout/unicorn: expected 404, got {status} {body}"),
    )?;

    check_metrics(&client, &base).await
}

/// The checkout continued the incoming trace, and `/inventory` received the `traceparent`
/// that `reserve` injected: same trace, `reserve`'s span as the parent.
fn check_trace_went_through(body: &Value) -> Result<(), String> {
    let at = |pointer: &str| body.pointer(pointer).and_then(Value::as_str).unwrap_or("");
    let checkout_trace = at("/trace_id");
    let sent = at("/reservation/sent_traceparent");
    let received = at("/reservation/inventory/received_traceparent");
    let inventory_trace = at("/reservation/inventory/trace_id");
    expect(
        checkout_trace == TEST_TRACE_ID,
        format!("checkout did not continue the incoming trace: {body}"),
    )?;
    expect(
        !sent.is_empty() && sent == received,
        format!("/inventory did not receive the injected traceparent: {body}"),
    )?;
    let sent_ctx = propagation::parse_traceparent(sent)
        .map_err(|e| format!("injected traceparent {sent:?} is invalid: {e}"))?;
    expect(
        sent_ctx.trace_id.to_string() == TEST_TRACE_ID
            && sent_ctx.span_id.to_string() != TEST_PARENT_ID,
        format!("the injected traceparent is not a span of this trace: {sent}"),
    )?;
    expect(
        inventory_trace == TEST_TRACE_ID,
        format!("the downstream span is in another trace: {body}"),
    )?;
    println!("self-test: /inventory saw trace {inventory_trace} (traceparent {received})");
    Ok(())
}

/// `/metrics` counts the checkout calls with their `route` and `method` labels, and the
/// failed one with `result="error"`.
async fn check_metrics(client: &reqwest::Client, base: &str) -> Result<(), String> {
    // A flush also hands a fresh metrics snapshot to the Prometheus exporter.
    let report = tokio::task::spawn_blocking(|| instrument_runtime::flush(HTTP_TIMEOUT))
        .await
        .map_err(|e| format!("flush task: {e}"))?;
    expect(report.completed, format!("flush incomplete: {report:?}"))?;
    let url = format!("{base}/metrics");
    let (status, text) = request_text(client, HttpMethod::GET, &url, None).await?;
    expect(status == StatusCode::OK, format!("GET /metrics: {status}"))?;
    let calls = |needles: &[&str]| {
        text.lines().any(|l| {
            l.starts_with("function_calls_total{") && needles.iter().all(|n| l.contains(n))
        })
    };
    let checkout_ok = ["route=\"checkout\"", "method=\"post\"", "result=\"ok\""];
    let checkout_err = ["route=\"checkout\"", "method=\"get\"", "result=\"error\""];
    let hello_other = ["route=\"hello\"", "method=\"other\""];
    for needles in [&checkout_ok[..], &checkout_err, &hello_other] {
        expect(
            calls(needles),
            format!("/metrics has no function_calls_total with {needles:?}:\n{text}"),
        )?;
    }
    for line in text.lines().filter(|l| l.contains("route=\"checkout\"")) {
        if line.starts_with("function_calls_total{") {
            println!("self-test: /metrics: {line}");
        }
    }
    Ok(())
}

/// Sends one request (with an incoming `traceparent` if given); returns the status and the
/// JSON body (`null` when the body is not JSON).
async fn request(
    client: &reqwest::Client,
    method: HttpMethod,
    url: &str,
    traceparent: Option<&str>,
) -> Result<(StatusCode, Value), String> {
    let (status, text) = request_text(client, method, url, traceparent).await?;
    Ok((status, serde_json::from_str(&text).unwrap_or(Value::Null)))
}

async fn request_text(
    client: &reqwest::Client,
    method: HttpMethod,
    url: &str,
    traceparent: Option<&str>,
) -> Result<(StatusCode, String), String> {
    let mut request = client.request(method.clone(), url);
    if let Some(value) = traceparent {
        request = request.header(TRACEPARENT, value);
    }
    let response = request
        .send()
        .await
        .map_err(|e| format!("{method} {url}: {e}"))?;
    let status = response.status();
    let text = response
        .text()
        .await
        .map_err(|e| format!("{method} {url}: {e}"))?;
    Ok((status, text))
}

fn expect(condition: bool, failure: String) -> Result<(), String> {
    if condition {
        Ok(())
    } else {
        Err(failure)
    }
}
