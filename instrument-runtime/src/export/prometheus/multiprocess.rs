//! Multiprocess mode: the processes of a pre-fork server served as one scrape (see the
//! [module docs](super#pre-fork-servers-multiprocess-mode) for the contract).
//!
//! The first process that builds an exporter with a multiprocess directory is the
//! **aggregator**: it listens on `<dir>/prometheus.sock` (a unix socket) besides its HTTP
//! endpoint. A process that builds one later (a forked worker re-creating its exporters from
//! the recipe, or any process pointed at the same directory) finds the socket alive and is a
//! **reporter**: it opens no port and sends its cumulative snapshots to the aggregator. A
//! scrape of the aggregator asks every reporter for a fresh snapshot (a demand frame), waits
//! for the answers at most the scrape's bounded wait, and renders the sum of its own
//! snapshot, every live reporter's latest one, and the [`Retired`] totals of exited ones.

use std::collections::BTreeMap;
use std::hash::{Hash, Hasher};
use std::io::{self, Write};
use std::net::Shutdown;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, Weak};
use std::thread;
use std::time::{Duration, Instant};

use super::merge::{Model, Retired};
use super::wire::{self, Message};
use super::PrometheusHandle;
use crate::export::MetricsSnapshot;
use crate::fork::CloseInChild;

/// The socket's file name inside the multiprocess directory (the only file the mode makes).
pub const SOCKET_NAME: &str = "prometheus.sock";
/// At most this many reporters are connected at once; more are refused (with a warning).
pub const MAX_REPORTERS: usize = 1024;
/// How long a reporter waits for its own pipeline's fresh snapshot before answering a demand
/// with the latest it has: less than the aggregator's wait, so the answer is in time.
const REPLY_WAIT: Duration = Duration::from_millis(150);
/// How long a new reporter waits for the aggregator's welcome (it is then part of every
/// scrape); past this it goes on, and is part of the scrapes once the aggregator admits it.
const WELCOME_WAIT: Duration = Duration::from_secs(2);
/// The welcome: a demand with id 0, sent once the aggregator has admitted a reporter.
const WELCOME: u64 = 0;
/// The longest a socket write may block (a peer that stops reading is dropped, not waited
/// for).
const WRITE_TIMEOUT: Duration = Duration::from_secs(1);
/// Default for [`PrometheusBuilder::report_interval`](super::PrometheusBuilder::report_interval).
pub const DEFAULT_REPORT_INTERVAL: Duration = Duration::from_secs(1);
/// The shortest report interval accepted.
pub const MIN_REPORT_INTERVAL: Duration = Duration::from_millis(10);

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// What this process is in its multiprocess group.
pub(crate) enum Role {
    Aggregator(Arc<Aggregator>),
    /// The reporter, and this exporter's member id in it (for [`Reporter::leave`]).
    Reporter(Arc<Reporter>, u64),
}

/// Options of the mode, from the builder.
#[derive(Clone, Debug)]
pub(crate) struct Options {
    pub(crate) dir: PathBuf,
    pub(crate) process_label: Option<String>,
    pub(crate) report_interval: Duration,
}

/// Aggregators made by this process, by socket path (a forked child inherits the list with
/// its parent's pid, so it never mistakes its parent's aggregator for its own).
static AGGREGATORS: Mutex<Vec<Registered>> = Mutex::new(Vec::new());

/// An aggregator of [`AGGREGATORS`]: its socket, the pid that made it, the aggregator.
type Registered = (PathBuf, u32, Weak<Aggregator>);

/// Reporters of this process, by socket path: a second exporter in a reporting process (a
/// pipeline swap) shares its connection, so the aggregator never has two connections of one
/// process (whose cumulative totals it would count twice).
static REPORTERS: Mutex<Vec<RegisteredReporter>> = Mutex::new(Vec::new());

/// A reporter of [`REPORTERS`]: its socket, the pid that made it, the reporter.
type RegisteredReporter = (PathBuf, u32, Weak<Reporter>);

/// `list` locked, waiting for it at most 100 ms: in a forked child the lock may be held by a
/// thread of the parent that does not exist here (the child's entries are all its parent's
/// anyway, so going without it only skips sharing one).
fn registry<T>(list: &'static Mutex<Vec<T>>) -> Option<MutexGuard<'static, Vec<T>>> {
    for _ in 0..100 {
        match list.try_lock() {
            Ok(guard) => return Some(guard),
            Err(std::sync::TryLockError::Poisoned(p)) => return Some(p.into_inner()),
            Err(std::sync::TryLockError::WouldBlock) => thread::sleep(Duration::from_millis(1)),
        }
    }
    None
}

/// Joins (or starts) the group of `opts.dir`. `handle` is the new exporter's handle.
pub(crate) fn join(opts: &Options, handle: &PrometheusHandle) -> io::Result<Role> {
    let context = |e: io::Error| {
        io::Error::new(
            e.kind(),
            format!(
                "prometheus multiprocess directory {}: {e}",
                opts.dir.display()
            ),
        )
    };
    std::fs::create_dir_all(&opts.dir).map_err(context)?;
    let socket = opts.dir.join(SOCKET_NAME);
    let me = std::process::id();
    if let Some(mut aggregators) = registry(&AGGREGATORS) {
        aggregators.retain(|(_, pid, weak)| *pid != me || weak.strong_count() > 0);
        let mine = aggregators
            .iter()
            .filter(|(path, pid, _)| *path == socket && *pid == me)
            .find_map(|(_, _, weak)| weak.upgrade())
            .filter(|a| !a.stop.load(Ordering::Acquire));
        if let Some(aggregator) = mine {
            // A second exporter in the aggregating process (a pipeline swap): same group.
            aggregator.members.fetch_add(1, Ordering::AcqRel);
            return Ok(Role::Aggregator(aggregator));
        }
    }
    if let Some(mut reporters) = registry(&REPORTERS) {
        reporters.retain(|(_, pid, weak)| *pid != me || weak.strong_count() > 0);
        let mine = reporters
            .iter()
            .filter(|(path, pid, _)| *path == socket && *pid == me)
            .find_map(|(_, _, weak)| weak.upgrade())
            .filter(|r| !r.stop.load(Ordering::Acquire));
        if let Some(reporter) = mine {
            let member = reporter.add_source(handle);
            return Ok(Role::Reporter(reporter, member));
        }
    }
    match UnixStream::connect(&socket) {
        Ok(stream) => return start_reporter(stream, &socket, opts, handle),
        Err(e) if is_stale(&e) => {}
        Err(e) => return Err(context(e)),
    }
    // Nobody listens: a socket file left there is from a previous run.
    match std::fs::remove_file(&socket) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(context(e)),
    }
    let listener = match UnixListener::bind(&socket) {
        Ok(l) => l,
        // Another process won the race to aggregate: report to it.
        Err(e) if e.kind() == io::ErrorKind::AddrInUse => {
            let stream = UnixStream::connect(&socket).map_err(context)?;
            return start_reporter(stream, &socket, opts, handle);
        }
        Err(e) => return Err(context(e)),
    };
    let aggregator = Aggregator::start(listener, socket.clone(), opts).map_err(context)?;
    if let Some(mut aggregators) = registry(&AGGREGATORS) {
        aggregators.push((socket, me, Arc::downgrade(&aggregator)));
    }
    Ok(Role::Aggregator(aggregator))
}

fn start_reporter(
    stream: UnixStream,
    socket: &std::path::Path,
    opts: &Options,
    handle: &PrometheusHandle,
) -> io::Result<Role> {
    let reporter = Reporter::start(stream, opts, handle)?;
    if let Some(mut reporters) = registry(&REPORTERS) {
        reporters.push((
            socket.to_path_buf(),
            std::process::id(),
            Arc::downgrade(&reporter),
        ));
    }
    Ok(Role::Reporter(reporter, FIRST_MEMBER))
}

/// No aggregator behind the path: no file, or a file nobody listens on.
fn is_stale(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::NotFound | io::ErrorKind::ConnectionRefused
    )
}

// ----- the aggregator ------------------------------------------------------------------

/// The aggregating process's view of its group.
pub(crate) struct Aggregator {
    socket: PathBuf,
    label: Option<String>,
    pid: u32,
    state: Mutex<State>,
    /// Signalled when a reporter's snapshot arrives or a reporter leaves.
    changed: Condvar,
    stop: AtomicBool,
    next_demand: AtomicU64,
    /// Exporters of this process using this aggregator; the last to leave stops it.
    members: AtomicUsize,
}

#[derive(Default)]
struct State {
    reporters: BTreeMap<u64, Connected>,
    next_id: u64,
    retired: Retired,
}

struct Connected {
    /// For demand frames; the reading half is owned by the connection's thread.
    writer: Arc<Mutex<CloseInChild<UnixStream>>>,
    /// The reporter's latest snapshot, with its pid.
    latest: Option<(u32, MetricsSnapshot)>,
    /// The highest demand id it answered.
    answered: u64,
    /// The highest demand id sent to it.
    demanded: u64,
}

impl Aggregator {
    fn start(listener: UnixListener, socket: PathBuf, opts: &Options) -> io::Result<Arc<Self>> {
        let aggregator = Arc::new(Aggregator {
            socket,
            label: opts.process_label.clone(),
            pid: std::process::id(),
            state: Mutex::new(State::default()),
            changed: Condvar::new(),
            stop: AtomicBool::new(false),
            next_demand: AtomicU64::new(1),
            members: AtomicUsize::new(1),
        });
        let accepting = Arc::clone(&aggregator);
        let listener = CloseInChild::new(listener);
        thread::Builder::new()
            .name("instrument-prometheus-mp".into())
            .spawn(move || accepting.accept_loop(&listener))?;
        Ok(aggregator)
    }

    fn accept_loop(self: &Arc<Self>, listener: &UnixListener) {
        for stream in listener.incoming() {
            if self.stop.load(Ordering::Acquire) {
                break;
            }
            match stream {
                Ok(stream) => self.admit(stream),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                // EMFILE and the like: back off, retry.
                Err(_) => thread::sleep(Duration::from_millis(50)),
            }
        }
    }

    fn admit(self: &Arc<Self>, stream: UnixStream) {
        let stream = CloseInChild::new(stream);
        let writer = match stream.try_clone() {
            Ok(w) => CloseInChild::new(w),
            Err(_) => return,
        };
        let _ = writer.set_write_timeout(Some(Duration::from_millis(50)));
        let id = {
            let mut state = lock(&self.state);
            if state.reporters.len() >= MAX_REPORTERS {
                crate::diag::warn(format!(
                    "prometheus multiprocess: more than {MAX_REPORTERS} processes report; \
                     refusing the next ones"
                ));
                let _ = stream.shutdown(Shutdown::Both);
                return;
            }
            state.next_id += 1;
            let id = state.next_id;
            state.reporters.insert(
                id,
                Connected {
                    writer: Arc::new(Mutex::new(writer)),
                    latest: None,
                    answered: 0,
                    demanded: 0,
                },
            );
            id
        };
        // The welcome: the reporter's build returns once it is part of every scrape.
        if let Some(r) = lock(&self.state).reporters.get(&id) {
            let _ = wire::write_frame(&mut **lock(&r.writer), &wire::encode_demand(WELCOME));
        }
        let reading = Arc::clone(self);
        let spawned = thread::Builder::new()
            .name("instrument-prometheus-mp-conn".into())
            .spawn(move || reading.read_loop(id, stream));
        if spawned.is_err() {
            self.leave(id);
        }
    }

    /// Takes a reporter's snapshots until it leaves (end of stream, error, bad frame).
    fn read_loop(&self, id: u64, mut stream: CloseInChild<UnixStream>) {
        loop {
            let body = match wire::read_frame(&mut *stream) {
                Ok(Some(body)) => body,
                Ok(None) => break,
                Err(e) => {
                    if !self.stop.load(Ordering::Acquire) {
                        warn_bad_peer(&e);
                    }
                    break;
                }
            };
            match wire::decode(&body) {
                Ok(Message::Snapshot {
                    pid,
                    answers,
                    snapshot,
                }) => {
                    let mut state = lock(&self.state);
                    if let Some(r) = state.reporters.get_mut(&id) {
                        r.latest = Some((pid, snapshot));
                        r.answered = r.answered.max(answers);
                    }
                    drop(state);
                    self.changed.notify_all();
                }
                Ok(Message::Demand { .. }) => {}
                Err(e) => {
                    warn_bad_peer(&e);
                    break;
                }
            }
        }
        self.leave(id);
    }

    /// A reporter left: its counters and histograms are kept, its gauges go.
    fn leave(&self, id: u64) {
        let mut state = lock(&self.state);
        if let Some(gone) = state.reporters.remove(&id) {
            if let Some((pid, snapshot)) = gone.latest {
                state.retired.retire(&snapshot, pid, self.label.as_deref());
            }
        }
        drop(state);
        self.changed.notify_all();
    }

    /// Asks every reporter for a fresh snapshot, then `own_fresh` (this process's), then
    /// waits for the answers until `deadline`. A reporter with a demand still unanswered
    /// (slow, or stopped) is not sent another: at most one demand frame per reporter is ever
    /// pending, so a write never blocks; the scrape waits for the answer to that one.
    pub(crate) fn refresh_all(&self, deadline: Instant, own_fresh: impl FnOnce()) {
        if !self.in_its_process() {
            return own_fresh();
        }
        let id = self.next_demand.fetch_add(1, Ordering::Relaxed);
        let mut send = Vec::new();
        let awaited: Vec<(u64, u64)> = {
            let mut state = lock(&self.state);
            state
                .reporters
                .iter_mut()
                .map(|(k, r)| {
                    if r.answered >= r.demanded {
                        r.demanded = id;
                        send.push(Arc::clone(&r.writer));
                    }
                    (*k, r.demanded)
                })
                .collect()
        };
        let frame = wire::encode_demand(id);
        for writer in &send {
            // 13 bytes into an idle socket: taken at once.
            let _ = wire::write_frame(&mut **lock(writer), &frame);
        }
        own_fresh();
        let mut state = lock(&self.state);
        loop {
            let waiting = awaited
                .iter()
                .any(|(k, want)| state.reporters.get(k).is_some_and(|r| r.answered < *want));
            if !waiting {
                break;
            }
            let Some(left) = deadline.checked_duration_since(Instant::now()) else {
                break;
            };
            state = match self.changed.wait_timeout(state, left) {
                Ok((guard, _)) => guard,
                Err(p) => p.into_inner().0,
            };
        }
    }

    /// The sum of `own` (this process's latest snapshot), every reporter's latest, and the
    /// retired totals; `None` when there is nothing at all yet.
    pub(crate) fn merged(&self, own: Option<&MetricsSnapshot>) -> Option<MetricsSnapshot> {
        if !self.in_its_process() {
            return own.cloned();
        }
        let label = self.label.as_deref();
        let state = lock(&self.state);
        let reporting = state.reporters.values().filter_map(|r| r.latest.as_ref());
        if own.is_none() && state.reporters.values().all(|r| r.latest.is_none()) {
            return None;
        }
        let mut model = Model::default();
        if let Some(own) = own {
            model.add(own, self.pid, label, true);
        }
        for (pid, snapshot) in reporting {
            model.add(snapshot, *pid, label, true);
        }
        state.retired.add_to(&mut model);
        drop(state);
        let start = own.map_or(0, |s| s.start_unix_nanos);
        let time = own.map_or_else(unix_nanos_now, |s| s.time_unix_nanos);
        Some(model.into_snapshot(start, time))
    }

    /// `false` in a forked child holding a copy of its parent's aggregator (through a
    /// handle): the copy's sockets and reporters are the parent's, so the child renders only
    /// its own snapshot and never writes to them.
    fn in_its_process(&self) -> bool {
        std::process::id() == self.pid
    }

    /// One exporter of this process stops using the aggregator; the last one stops it.
    pub(crate) fn release(&self) {
        if !self.in_its_process() {
            return;
        }
        if self.members.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.stop();
        }
    }

    /// Stops taking reporters and removes the socket file (bounded: nothing here waits).
    fn stop(&self) {
        if self.stop.swap(true, Ordering::AcqRel) {
            return;
        }
        // Wake the accept loop (it checks `stop` per connection), then end every connection.
        let _ = UnixStream::connect(&self.socket);
        let _ = std::fs::remove_file(&self.socket);
        for r in lock(&self.state).reporters.values() {
            let _ = lock(&r.writer).shutdown(Shutdown::Both);
        }
    }
}

fn unix_nanos_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
}

fn warn_bad_peer(e: &io::Error) {
    crate::diag::warn(format!(
        "prometheus multiprocess: dropped a reporting process's connection: {e}"
    ));
}

// ----- the reporter --------------------------------------------------------------------

/// The member id of the exporter that started a reporter.
const FIRST_MEMBER: u64 = 1;

/// A worker's side: sends its exporter's snapshots to the aggregator.
pub(crate) struct Reporter {
    /// The handles of this process's exporters using it, oldest first, with their member
    /// ids; the newest one with a snapshot is what is sent (the call metrics are
    /// process-wide, so a newer pipeline's snapshot includes everything an older one had).
    sources: Mutex<Vec<(u64, PrometheusHandle)>>,
    /// `None` once the connection is gone.
    writer: Mutex<Option<CloseInChild<UnixStream>>>,
    pid: u32,
    /// The demand being answered (the latest read).
    answering: AtomicU64,
    /// A hash of the last frame sent (its series and the demand it answers; 0: none yet), so
    /// an unchanged snapshot is not sent again.
    sent: Mutex<u64>,
    stop: AtomicBool,
}

impl Reporter {
    fn start(
        stream: UnixStream,
        opts: &Options,
        handle: &PrometheusHandle,
    ) -> io::Result<Arc<Self>> {
        stream.set_write_timeout(Some(WRITE_TIMEOUT))?;
        let stream = CloseInChild::new(stream);
        let mut reading = CloseInChild::new(stream.try_clone()?);
        reading.set_read_timeout(Some(WELCOME_WAIT))?;
        match wire::read_frame(&mut *reading).map(|f| f.map(|b| wire::decode(&b))) {
            Ok(Some(Ok(Message::Demand { id: WELCOME }))) => {}
            Ok(Some(Ok(_) | Err(_))) => {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    "the process on the socket is not a prometheus aggregator of this version",
                ));
            }
            Ok(None) => return Err(io::ErrorKind::ConnectionReset.into()),
            Err(e) if wire::is_timeout(&e) => crate::diag::warn(format!(
                "prometheus multiprocess: the aggregating process did not admit this one within \
                 {WELCOME_WAIT:?}; its metrics join the scrapes once it does"
            )),
            Err(e) => return Err(e),
        }
        let reporter = Arc::new(Reporter {
            sources: Mutex::new(vec![(FIRST_MEMBER, handle.clone())]),
            writer: Mutex::new(Some(stream)),
            pid: std::process::id(),
            answering: AtomicU64::new(0),
            sent: Mutex::new(0),
            stop: AtomicBool::new(false),
        });
        let running = Arc::clone(&reporter);
        let interval = opts.report_interval.max(MIN_REPORT_INTERVAL);
        thread::Builder::new()
            .name("instrument-prometheus-report".into())
            .spawn(move || running.run(reading, interval))?;
        Ok(reporter)
    }

    /// Answers demands, and asks the pipeline for a snapshot every `interval` (sent when it
    /// arrives, if anything changed), until stopped or the aggregator goes away.
    fn run(&self, mut stream: CloseInChild<UnixStream>, interval: Duration) {
        let mut next_report = Instant::now() + interval;
        while !self.stop.load(Ordering::Acquire) {
            let wait = next_report
                .saturating_duration_since(Instant::now())
                .max(Duration::from_millis(1));
            if stream.set_read_timeout(Some(wait)).is_err() {
                break;
            }
            match wire::read_frame(&mut *stream) {
                Ok(Some(body)) => match wire::decode(&body) {
                    Ok(Message::Demand { id: WELCOME }) => {}
                    Ok(Message::Demand { id }) => self.answer(id),
                    Ok(Message::Snapshot { .. }) => {}
                    Err(e) => {
                        warn_lost(&e);
                        break;
                    }
                },
                Ok(None) => break,
                Err(e) if wire::is_timeout(&e) => {}
                Err(e) => {
                    if !self.stop.load(Ordering::Acquire) {
                        warn_lost(&e);
                    }
                    break;
                }
            }
            if Instant::now() >= next_report {
                next_report = Instant::now() + interval;
                if let Some(refresh) = self.current().and_then(|h| h.refresh.load_full()) {
                    // Answered through `export`, which sends it (`send`).
                    refresh();
                }
            }
        }
        // Gone for good: a later exporter of this process makes a new connection.
        self.stop.store(true, Ordering::Release);
        *lock(&self.writer) = None;
    }

    fn answer(&self, id: u64) {
        self.answering.fetch_max(id, Ordering::AcqRel);
        // The fresh snapshot comes through `export`, which sends it tagged with `id`; if none
        // came in time, this sends the latest there is (the tag makes it a new frame).
        if let Some(handle) = self.current() {
            handle.wait_fresh(REPLY_WAIT);
        }
        self.send();
    }

    /// The newest exporter's handle (the one whose pipeline runs).
    fn current(&self) -> Option<PrometheusHandle> {
        lock(&self.sources).last().map(|(_, h)| h.clone())
    }

    /// Another exporter of this process joins; its member id.
    fn add_source(&self, handle: &PrometheusHandle) -> u64 {
        let mut sources = lock(&self.sources);
        let id = sources.last().map_or(FIRST_MEMBER, |(id, _)| id + 1);
        sources.push((id, handle.clone()));
        id
    }

    /// Exporter `member` stops: the last one sends the final snapshot and ends the
    /// connection; an earlier one just stops being a source.
    pub(crate) fn leave(&self, member: u64) {
        let last = {
            let sources = lock(&self.sources);
            sources.len() == 1 && sources[0].0 == member
        };
        if last {
            self.stop();
        } else {
            lock(&self.sources).retain(|(id, _)| *id != member);
        }
    }

    /// Sends the exporter's latest snapshot, tagged with the demand being answered, unless
    /// that exact frame (same series, same demand) was the last one sent.
    pub(crate) fn send(&self) {
        let mut writer = lock(&self.writer);
        let Some(stream) = writer.as_mut() else {
            return;
        };
        let answers = self.answering.load(Ordering::Acquire);
        let snapshot = lock(&self.sources)
            .iter()
            .rev()
            .find_map(|(_, h)| h.latest.load_full());
        let mut sent = lock(&self.sent);
        if snapshot.is_none() && *sent != 0 {
            // A newer exporter with no snapshot yet: never replace the counts sent so far.
            return;
        }
        let empty = MetricsSnapshot::default();
        let snapshot = snapshot.as_deref().unwrap_or(&empty);
        let frame = wire::encode_snapshot(self.pid, answers, snapshot);
        let hash = series_hash(&frame, answers);
        if *sent == hash {
            return;
        }
        match wire::write_frame(&mut **stream, &frame).and_then(|()| stream.flush()) {
            Ok(()) => *sent = hash,
            Err(e) => {
                warn_lost(&e);
                let _ = stream.shutdown(Shutdown::Both);
                *writer = None;
            }
        }
    }

    /// Sends the last snapshot and leaves the group (bounded by the write timeout).
    fn stop(&self) {
        self.send();
        self.stop.store(true, Ordering::Release);
        if let Some(stream) = lock(&self.writer).take() {
            let _ = stream.shutdown(Shutdown::Both);
        }
    }
}

/// A hash of a snapshot frame's series (skipping the header up to and including the
/// snapshot's time, which changes at every snapshot) and of the demand id it answers.
fn series_hash(frame: &[u8], answers: u64) -> u64 {
    // len:4 type:1 version:1 pid:4 answers:8 start:8 time:8
    let series = frame.get(34..).unwrap_or_default();
    let mut h = std::collections::hash_map::DefaultHasher::new();
    series.hash(&mut h);
    answers.hash(&mut h);
    h.finish() | 1
}

fn warn_lost(e: &io::Error) {
    crate::diag::warn(format!(
        "prometheus multiprocess: lost the aggregating process ({e}); this process's metrics \
         are no longer scraped"
    ));
}
