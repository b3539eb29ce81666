//! The scrape endpoint: a minimal HTTP/1.1 server, std only.
//!
//! The accept thread hands every connection to a thread of its own, at most
//! [`MAX_CONNECTIONS`] at once (past that a connection gets an immediate `503` and is closed),
//! so a slow or idle client never delays another scrape: two clients sending a byte a second
//! cost two parked threads, not 10 s of everyone's time. The request head must arrive within
//! [`HEAD_DEADLINE`] and the whole exchange end by [`CONNECTION_DEADLINE`]; every socket wait
//! is at most [`STEP`] long, so the threads notice a stop request quickly. No application
//! thread and not the exporter thread ever waits on a scrape.

use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use super::{PrometheusHandle, CONTENT_TYPE, FRESH_WAIT, OPENMETRICS_CONTENT_TYPE};

/// The name of the server thread.
pub(crate) const THREAD_NAME: &str = "instrument-prometheus";
/// How long one connection may take, from accept to the last byte written.
const CONNECTION_DEADLINE: Duration = Duration::from_secs(5);
/// How long a client has to send its request head (a scraper sends it at once).
const HEAD_DEADLINE: Duration = Duration::from_secs(1);
/// Connections served at once; more get `503 Service Unavailable` at once.
pub(crate) const MAX_CONNECTIONS: usize = 16;
/// The longest single wait: on the listener when idle, and on a socket read or write.
const STEP: Duration = Duration::from_millis(25);
/// A request head larger than this is refused (we only need the request line).
const MAX_HEAD: usize = 16 * 1024;

/// A running endpoint; stopping or dropping it stops and joins the thread.
pub(crate) struct Server {
    /// The address actually bound (the real port when port 0 was asked for).
    local_addr: SocketAddr,
    /// Set once, by `stop`; the server threads poll it between waits.
    stop: Arc<AtomicBool>,
    /// Connection threads running.
    active: Arc<AtomicUsize>,
    /// `None` once joined.
    thread: Option<JoinHandle<()>>,
}

impl Server {
    /// Binds `addr` and starts the thread. Binding happens here, so a taken port is an error
    /// for the caller, not a panic on the thread.
    pub(crate) fn start(addr: SocketAddr, handle: PrometheusHandle) -> io::Result<Server> {
        let listener = TcpListener::bind(addr).map_err(|e| bind_error(addr, &e))?;
        // Non-blocking accept: the loop sleeps `STEP` when idle and checks `stop`.
        listener.set_nonblocking(true)?;
        let local_addr = listener.local_addr()?;
        // A forked worker must not keep the port bound after this process lets it go.
        #[cfg(unix)]
        let listener = crate::fork::CloseInChild::new(listener);
        let stop = Arc::new(AtomicBool::new(false));
        let active = Arc::new(AtomicUsize::new(0));
        let (thread_stop, thread_active) = (Arc::clone(&stop), Arc::clone(&active));
        let thread = thread::Builder::new()
            .name(THREAD_NAME.to_owned())
            .spawn(move || accept_loop(&listener, &thread_stop, &thread_active, &handle))?;
        Ok(Server {
            local_addr,
            stop,
            active,
            thread: Some(thread),
        })
    }

    pub(crate) fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Stops the thread and waits for it: at most about one `STEP`, as every wait is bounded.
    pub(crate) fn stop(&mut self) {
        // Release pairs with the Acquire loads in `accept_loop` and `Budget::next_wait`.
        self.stop.store(true, Ordering::Release);
        if let Some(thread) = self.thread.take() {
            // The thread has nothing that can panic but a bug; its result says nothing more.
            let _ = thread.join();
        }
        // Connection threads end within a `STEP` of seeing the flag (a write in progress
        // within its own bounded wait); wait for them, bounded.
        let until = Instant::now() + STEP * 8;
        while self.active.load(Ordering::Acquire) > 0 && Instant::now() < until {
            thread::sleep(Duration::from_millis(1));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop();
    }
}

impl std::fmt::Debug for Server {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Server")
            .field("local_addr", &self.local_addr)
            .finish_non_exhaustive()
    }
}

fn bind_error(addr: SocketAddr, error: &io::Error) -> io::Error {
    let message = format!("prometheus exporter cannot listen on {addr}: {error}");
    io::Error::new(error.kind(), message)
}

/// How long the accept loop sleeps when nobody is connecting: short, since a scrape waits
/// for it.
const ACCEPT_IDLE: Duration = Duration::from_millis(2);

fn accept_loop(
    listener: &TcpListener,
    stop: &Arc<AtomicBool>,
    active: &Arc<AtomicUsize>,
    handle: &PrometheusHandle,
) {
    // Acquire pairs with the Release store in `Server::stop`.
    while !stop.load(Ordering::Acquire) {
        match listener.accept() {
            Ok((stream, _)) => dispatch(stream, stop, active, handle),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => thread::sleep(ACCEPT_IDLE),
            // EMFILE and the like: back off, retry.
            Err(_) => thread::sleep(STEP),
        }
    }
}

/// Serves `stream` on a thread of its own, or answers 503 when [`MAX_CONNECTIONS`] are busy
/// (or no thread can be started).
fn dispatch(
    mut stream: TcpStream,
    stop: &Arc<AtomicBool>,
    active: &Arc<AtomicUsize>,
    handle: &PrometheusHandle,
) {
    if active.fetch_add(1, Ordering::AcqRel) >= MAX_CONNECTIONS {
        active.fetch_sub(1, Ordering::AcqRel);
        refuse(&mut stream);
        return;
    }
    let (stop, guard_active, handle) = (Arc::clone(stop), Arc::clone(active), handle.clone());
    let spawned = thread::Builder::new()
        .name(format!("{THREAD_NAME}-conn"))
        .spawn(move || {
            serve(stream, &stop, &handle);
            guard_active.fetch_sub(1, Ordering::AcqRel);
        });
    if spawned.is_err() {
        active.fetch_sub(1, Ordering::AcqRel);
    }
}

/// A short `503` written without waiting (the socket buffer takes it), then close.
fn refuse(stream: &mut TcpStream) {
    let busy = response(
        "503 Service Unavailable",
        "text/plain",
        "too many connections\n",
        true,
    );
    let _ = stream.set_nonblocking(true);
    let _ = stream.write(&busy);
    let _ = stream.shutdown(Shutdown::Both);
}

/// Answers one request. Client errors (timeouts, resets) only end this connection.
fn serve(mut stream: TcpStream, stop: &AtomicBool, handle: &PrometheusHandle) {
    let accepted = Instant::now();
    // Some platforms let the accepted socket inherit the listener's non-blocking mode.
    if stream.set_nonblocking(false).is_err() {
        return;
    }
    let _ = stream.set_nodelay(true);
    let head_budget = Budget {
        deadline: accepted + HEAD_DEADLINE,
        stop,
    };
    let Some(head) = read_head(&mut stream, &head_budget) else {
        return;
    };
    let budget = Budget {
        deadline: accepted + CONNECTION_DEADLINE,
        stop,
    };
    let openmetrics = wants_openmetrics(&head);
    let response = respond(&request_line(&head), openmetrics, handle);
    if write_all(&mut stream, &response, &budget).is_ok() {
        let _ = stream.shutdown(Shutdown::Write);
    }
}

/// The time one connection has left, and the server's stop flag.
struct Budget<'a> {
    deadline: Instant,
    stop: &'a AtomicBool,
}

impl Budget<'_> {
    /// How long the next socket wait may be; `None` when the connection must end.
    fn next_wait(&self) -> Option<Duration> {
        // Acquire pairs with the Release store in `Server::stop`.
        if self.stop.load(Ordering::Acquire) {
            return None;
        }
        let left = self.deadline.checked_duration_since(Instant::now())?;
        (!left.is_zero()).then(|| left.min(STEP))
    }

    /// Runs `op` with a wait limit until it does something other than time out.
    fn retry<T>(&self, mut op: impl FnMut(Duration) -> io::Result<T>) -> io::Result<T> {
        loop {
            let wait = self.next_wait().ok_or(io::ErrorKind::TimedOut)?;
            match op(wait) {
                Err(e) if is_transient(&e) => {}
                result => return result,
            }
        }
    }
}

/// A socket timeout shows as `WouldBlock` on Unix and `TimedOut` on Windows.
fn is_transient(error: &io::Error) -> bool {
    matches!(
        error.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut | io::ErrorKind::Interrupted
    )
}

/// Reads up to the blank line that ends the request head (a GET has no body). `None` when the
/// client closes early, is too slow, or sends too much.
fn read_head(stream: &mut TcpStream, budget: &Budget<'_>) -> Option<Vec<u8>> {
    let mut head = Vec::with_capacity(1024);
    let mut chunk = [0u8; 1024];
    while !head_complete(&head) {
        if head.len() > MAX_HEAD {
            return None;
        }
        let read = budget.retry(|wait| {
            stream.set_read_timeout(Some(wait))?;
            stream.read(&mut chunk)
        });
        match read {
            Ok(0) | Err(_) => return None,
            Ok(n) => head.extend_from_slice(&chunk[..n]),
        }
    }
    Some(head)
}

fn head_complete(head: &[u8]) -> bool {
    head.windows(4).any(|w| w == b"\r\n\r\n") || head.windows(2).any(|w| w == b"\n\n")
}

fn request_line(head: &[u8]) -> String {
    let end = head.iter().position(|&b| b == b'\n').unwrap_or(head.len());
    String::from_utf8_lossy(&head[..end]).trim_end().to_owned()
}

/// Content negotiation: OpenMetrics when the `Accept` header names
/// `application/openmetrics-text` (with a non-zero q), else the 0.0.4 text format.
fn wants_openmetrics(head: &[u8]) -> bool {
    let text = String::from_utf8_lossy(head);
    text.lines()
        .filter_map(|line| line.split_once(':'))
        .filter(|(name, _)| name.trim().eq_ignore_ascii_case("accept"))
        .flat_map(|(_, value)| value.split(',').map(str::to_owned).collect::<Vec<_>>())
        .any(|range| {
            let mut parts = range.split(';').map(str::trim);
            let media = parts.next().unwrap_or_default();
            let refused = parts.any(|p| {
                p.strip_prefix("q=")
                    .and_then(|q| q.parse::<f64>().ok())
                    .is_some_and(|q| q <= 0.0)
            });
            media.eq_ignore_ascii_case("application/openmetrics-text") && !refused
        })
}

/// `GET /metrics` (or `HEAD`) gets the exposition (OpenMetrics if negotiated); another method
/// on `/metrics` gets 405; any other path 404. A query string is ignored.
fn respond(request_line: &str, openmetrics: bool, handle: &PrometheusHandle) -> Vec<u8> {
    let mut parts = request_line.split_ascii_whitespace();
    let method = parts.next().unwrap_or_default();
    let target = parts.next().unwrap_or_default();
    let path = target.split('?').next().unwrap_or_default();
    match (method, path) {
        ("GET", "/metrics") if openmetrics => response(
            "200 OK",
            OPENMETRICS_CONTENT_TYPE,
            &handle.render_openmetrics_fresh(FRESH_WAIT),
            true,
        ),
        ("GET", "/metrics") => response(
            "200 OK",
            CONTENT_TYPE,
            &handle.render_fresh(FRESH_WAIT),
            true,
        ),
        ("HEAD", "/metrics") => response("200 OK", CONTENT_TYPE, &handle.render(), false),
        (_, "/metrics") => response(
            "405 Method Not Allowed",
            "text/plain",
            "GET or HEAD\n",
            true,
        ),
        _ => response(
            "404 Not Found",
            "text/plain",
            "not found; try /metrics\n",
            true,
        ),
    }
}

fn response(status: &str, content_type: &str, body: &str, with_body: bool) -> Vec<u8> {
    let mut out = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n\
         Connection: close\r\n\r\n",
        body.len()
    );
    if with_body {
        out.push_str(body);
    }
    out.into_bytes()
}

fn write_all(stream: &mut TcpStream, mut bytes: &[u8], budget: &Budget<'_>) -> io::Result<()> {
    while !bytes.is_empty() {
        let written = budget.retry(|wait| {
            stream.set_write_timeout(Some(wait))?;
            stream.write(bytes)
        })?;
        if written == 0 {
            return Err(io::ErrorKind::WriteZero.into());
        }
        bytes = &bytes[written..];
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn get(addr: SocketAddr, request: &str) -> String {
        let mut stream = TcpStream::connect(addr).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        stream.write_all(request.as_bytes()).unwrap();
        let mut response = String::new();
        stream.read_to_string(&mut response).unwrap();
        response
    }

    fn start() -> Server {
        let addr = SocketAddr::from(([127, 0, 0, 1], 0));
        Server::start(addr, PrometheusHandle::default()).unwrap()
    }

    #[test]
    fn metrics_path_answers_with_the_text_format() {
        let server = start();
        let response = get(
            server.local_addr(),
            "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n",
        );
        assert!(response.starts_with("HTTP/1.1 200 OK\r\n"), "{response}");
        let content_type = format!("Content-Type: {CONTENT_TYPE}\r\n");
        assert!(response.contains(&content_type), "{response}");
        assert!(response.contains("Content-Length: 0\r\n"), "{response}");
    }

    #[test]
    fn openmetrics_is_negotiated_by_accept() {
        let server = start();
        let prometheus_accept = "Accept: application/openmetrics-text;version=1.0.0,\
            application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";
        let om = get(
            server.local_addr(),
            &format!("GET /metrics HTTP/1.1\r\n{prometheus_accept}\r\n\r\n"),
        );
        let content_type = format!("Content-Type: {OPENMETRICS_CONTENT_TYPE}\r\n");
        assert!(om.contains(&content_type), "{om}");
        assert!(om.ends_with("# EOF\n"), "{om}");
        let plain = get(
            server.local_addr(),
            "GET /metrics HTTP/1.1\r\nAccept: text/plain\r\n\r\n",
        );
        assert!(
            plain.contains(&format!("Content-Type: {CONTENT_TYPE}\r\n")),
            "{plain}"
        );
        assert!(!wants_openmetrics(
            b"GET / HTTP/1.1\r\nAccept: application/openmetrics-text;q=0\r\n\r\n"
        ));
    }

    #[test]
    fn query_string_is_ignored_and_head_has_no_body() {
        let server = start();
        let response = get(server.local_addr(), "HEAD /metrics?x=1 HTTP/1.0\r\n\r\n");
        assert!(response.starts_with("HTTP/1.1 200 OK\r\n"), "{response}");
        assert!(response.ends_with("\r\n\r\n"), "{response}");
    }

    #[test]
    fn other_paths_and_methods_are_refused() {
        let server = start();
        let not_found = get(server.local_addr(), "GET / HTTP/1.1\r\n\r\n");
        assert!(not_found.starts_with("HTTP/1.1 404 "), "{not_found}");
        let post = get(server.local_addr(), "POST /metrics HTTP/1.1\r\n\r\n");
        assert!(post.starts_with("HTTP/1.1 405 "), "{post}");
    }

    #[test]
    fn a_silent_client_does_not_wedge_the_server() {
        let server = start();
        let _silent = TcpStream::connect(server.local_addr()).unwrap();
        let started = Instant::now();
        let response = get(server.local_addr(), "GET /metrics HTTP/1.1\r\n\r\n");
        assert!(response.starts_with("HTTP/1.1 200 OK"), "{response}");
        let waited = started.elapsed();
        assert!(waited < Duration::from_millis(500), "{waited:?}");
    }

    #[test]
    fn an_endless_head_is_cut_off() {
        let server = start();
        let mut stream = TcpStream::connect(server.local_addr()).unwrap();
        let junk = vec![b'x'; MAX_HEAD * 2];
        // The server may close while we still write: either way, no answer and no hang.
        let _ = stream.write_all(&junk);
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        let mut response = Vec::new();
        let _ = stream.read_to_end(&mut response);
        assert!(response.is_empty());
    }

    #[test]
    fn stop_joins_quickly_even_with_a_client_connected() {
        let mut server = start();
        let _silent = TcpStream::connect(server.local_addr()).unwrap();
        thread::sleep(STEP * 4);
        let started = Instant::now();
        server.stop();
        let waited = started.elapsed();
        assert!(waited < Duration::from_secs(1), "{waited:?}");
        assert!(TcpStream::connect(server.local_addr()).is_err());
    }

    #[test]
    fn a_taken_port_is_an_error() {
        let server = start();
        let error = Server::start(server.local_addr(), PrometheusHandle::default()).unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::AddrInUse);
        assert!(error.to_string().contains("cannot listen on"), "{error}");
    }

    #[test]
    fn an_idle_client_is_cut_off_after_the_head_deadline() {
        let server = start();
        let mut idle = TcpStream::connect(server.local_addr()).unwrap();
        idle.set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        let started = Instant::now();
        let mut response = Vec::new();
        let _ = idle.read_to_end(&mut response);
        let waited = started.elapsed();
        assert!(response.is_empty());
        assert!(waited >= HEAD_DEADLINE - STEP, "{waited:?}");
        assert!(
            waited < HEAD_DEADLINE + Duration::from_secs(1),
            "{waited:?}"
        );
    }

    #[test]
    fn past_the_connection_limit_clients_get_503_at_once() {
        let server = start();
        let idle: Vec<TcpStream> = (0..MAX_CONNECTIONS)
            .map(|_| TcpStream::connect(server.local_addr()).unwrap())
            .collect();
        // Let the accept thread take them all.
        thread::sleep(Duration::from_millis(200));
        let started = Instant::now();
        let response = get(server.local_addr(), "GET /metrics HTTP/1.1\r\n\r\n");
        assert!(response.starts_with("HTTP/1.1 503 "), "{response}");
        assert!(started.elapsed() < Duration::from_millis(500));
        drop(idle);
    }

    #[test]
    fn the_thread_is_named() {
        let server = start();
        let thread = server.thread.as_ref().unwrap();
        assert_eq!(thread.thread().name(), Some(THREAD_NAME));
    }
}
