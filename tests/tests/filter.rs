//! Level filtering: `RUST_LOG` directives by target and level, from the builder, the
//! environment and `set_filter` at run time; a disabled function records nothing (no span, no
//! metric sample, no `err` record) and is transparent to the spans around it.

use std::time::Duration;

use instrument_runtime::testing::{Collected, TestExporter};
use instrument_runtime::{current_filter, instrument, set_filter, Filter, Telemetry};
use instrument_tests::isolated;

const T: Duration = Duration::from_secs(30);

fn install(filter: Option<&str>) -> (Telemetry, Collected) {
    let (exporter, collected) = TestExporter::new();
    let mut builder = instrument_runtime::builder()
        .exporter(exporter)
        .sample_ratio(1.0);
    if let Some(f) = filter {
        builder = builder.filter(f.parse().expect("valid filter"));
    }
    (builder.install().expect("install"), collected)
}

#[instrument]
fn loud() -> u32 {
    log::info!("from loud");
    quiet::step()
}

#[instrument(level = "debug")]
fn chatty() {}

mod quiet {
    use instrument_runtime::instrument;

    #[instrument]
    pub fn step() -> u32 {
        log::info!("from quiet");
        super::inner()
    }

    #[instrument]
    pub async fn quiet_async() -> u32 {
        super::inner()
    }

    #[instrument(err)]
    pub fn fails() -> Result<(), String> {
        Err("boom".into())
    }
}

#[instrument]
fn inner() -> u32 {
    7
}

fn names(c: &Collected, name: &str) -> usize {
    c.spans_named(name).len()
}

#[test]
fn disabled_callsites_export_nothing_and_reload_works() {
    isolated(
        "disabled_callsites_export_nothing_and_reload_works",
        T,
        || {
            let (telemetry, c) = install(Some("info,filter::quiet=off"));
            for _ in 0..10 {
                assert_eq!(loud(), 7);
                chatty();
                assert!(quiet::fails().is_err());
            }
            assert!(telemetry.flush(T).completed);
            assert_eq!(names(&c, "loud"), 10);
            assert_eq!(names(&c, "inner"), 10);
            assert_eq!(names(&c, "step"), 0, "disabled by target");
            assert_eq!(names(&c, "chatty"), 0, "debug is below info");
            assert_eq!(names(&c, "fails"), 0);
            // Metrics too: a disabled function's calls are not counted.
            assert_eq!(c.call_count("loud", "ok"), 10);
            assert_eq!(c.call_count("step", "ok"), 0);
            assert_eq!(c.call_count("chatty", "ok"), 0);
            assert_eq!(c.call_count("fails", "error"), 0);
            // The disabled span is transparent: `inner` is a child of `loud`.
            for span in c.spans_named("inner") {
                let parent = span.parent_span_id.expect("inner has a parent");
                assert!(c
                    .spans_named("loud")
                    .iter()
                    .any(|l| l.span_id == parent && l.trace_id == span.trace_id));
            }
            // Log records by target: `filter::quiet` is off, `filter` is at info; no `err` record.
            let logs = c.logs();
            assert_eq!(logs.iter().filter(|l| l.body == "from loud").count(), 10);
            assert_eq!(logs.iter().filter(|l| l.body == "from quiet").count(), 0);
            assert_eq!(logs.iter().filter(|l| l.body.contains("boom")).count(), 0);

            // Reload at run time: the quiet module at debug, the default at warn.
            set_filter("warn,filter::quiet=debug,filter=info".parse().unwrap());
            assert_eq!(
                current_filter().to_string(),
                "warn,filter=info,filter::quiet=debug"
            );
            c.clear();
            for _ in 0..5 {
                loud();
                chatty();
                assert!(quiet::fails().is_err());
            }
            assert!(telemetry.flush(T).completed);
            assert_eq!(names(&c, "loud"), 5);
            assert_eq!(names(&c, "step"), 5);
            assert_eq!(names(&c, "chatty"), 0);
            assert_eq!(names(&c, "fails"), 5);
            assert_eq!(c.call_count("step", "ok"), 5);
            assert_eq!(c.call_count("fails", "error"), 5);
            let logs = c.logs();
            assert_eq!(logs.iter().filter(|l| l.body == "from quiet").count(), 5);
            assert_eq!(logs.iter().filter(|l| l.body.contains("boom")).count(), 5);

            // `debug` everywhere: the debug-level function is recorded; then everything off.
            set_filter(Filter::parse("debug").unwrap());
            c.clear();
            chatty();
            assert!(telemetry.flush(T).completed);
            assert_eq!(names(&c, "chatty"), 1);
            set_filter(Filter::parse("off").unwrap());
            c.clear();
            loud();
            chatty();
            log::error!("nothing passes");
            assert!(telemetry.flush(T).completed);
            assert_eq!(c.spans().len(), 0);
            assert_eq!(c.logs().len(), 0);
            drop(telemetry);
        },
    );
}

#[test]
fn disabled_async_function_is_transparent() {
    isolated("disabled_async_function_is_transparent", T, || {
        let (telemetry, c) = install(Some("info,filter::quiet=off"));
        #[instrument]
        async fn outer() -> u32 {
            quiet::quiet_async().await
        }
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        assert_eq!(rt.block_on(outer()), 7);
        assert!(telemetry.flush(T).completed);
        assert_eq!(names(&c, "quiet_async"), 0);
        let outer = c.spans_named("outer");
        let inner = c.spans_named("inner");
        assert_eq!((outer.len(), inner.len()), (1, 1));
        assert_eq!(inner[0].parent_span_id, Some(outer[0].span_id));
        drop(telemetry);
    });
}

#[test]
fn environment_variables_in_order() {
    isolated("environment_variables_in_order", T, || {
        // SAFETY of set_var: this child process runs this one test, on one thread, before
        // anything reads the environment.
        std::env::set_var("INSTRUMENT_LOG", "warn,filter=debug,bad=nolevel");
        std::env::set_var("RUST_LOG", "off");
        let (telemetry, c) = install(None);
        assert_eq!(current_filter().to_string(), "warn,filter=debug");
        chatty();
        assert!(telemetry.flush(T).completed);
        assert_eq!(names(&c, "chatty"), 1);
        drop(telemetry);
    });
}

#[test]
fn rust_log_is_the_fallback_and_builder_wins() {
    isolated("rust_log_is_the_fallback_and_builder_wins", T, || {
        std::env::set_var("RUST_LOG", "filter=off");
        let (telemetry, c) = install(None);
        assert_eq!(current_filter().to_string(), "error,filter=off");
        loud();
        assert!(telemetry.flush(T).completed);
        assert_eq!(c.spans().len(), 0);
        drop(telemetry);
        let (telemetry, c) = install(Some("trace"));
        loud();
        chatty();
        assert!(telemetry.flush(T).completed);
        assert_eq!(names(&c, "loud") + names(&c, "chatty"), 2);
        drop(telemetry);
    });
}

/// Manual spans and `tracing` spans and events (through the bridge) follow the same filter as
/// `#[instrument]`: disabled ones record nothing and are transparent.
#[test]
fn manual_and_tracing_spans_follow_the_filter() {
    isolated("manual_and_tracing_spans_follow_the_filter", T, || {
        use tracing_subscriber::layer::SubscriberExt;
        let (telemetry, collected) = install(Some("info,noisy=off"));
        let subscriber =
            tracing_subscriber::registry().with(instrument_runtime::tracing_bridge::layer());
        tracing::subscriber::with_default(subscriber, || {
            let _outer = instrument_runtime::span("outer").entered();
            {
                // Disabled by target: transparent, the call inside is a child of `outer`.
                let _muted = instrument_runtime::span("muted").target("noisy").entered();
                assert_eq!(inner(), 7);
            }
            // Disabled by level (debug < info).
            instrument_runtime::span("too_fine")
                .level(instrument_runtime::Level::Debug)
                .in_scope(|| ());
            let quiet = tracing::info_span!(target: "noisy", "tracing_muted");
            quiet.in_scope(|| tracing::info!(target: "noisy", "dropped event"));
            let shown = tracing::info_span!("tracing_shown");
            shown.in_scope(|| tracing::info!("kept event"));
            tracing::debug!("debug event below the filter");
        });
        assert!(telemetry.flush(T).completed);
        let outer = collected.spans_named("outer");
        assert_eq!(outer.len(), 1);
        assert_eq!(names(&collected, "muted"), 0);
        assert_eq!(names(&collected, "too_fine"), 0);
        assert_eq!(names(&collected, "tracing_muted"), 0);
        assert_eq!(names(&collected, "tracing_shown"), 1);
        let inner = collected.spans_named("inner");
        assert_eq!(inner.len(), 1);
        assert_eq!(inner[0].parent_span_id, Some(outer[0].span_id));
        let bodies: Vec<String> = collected
            .logs()
            .iter()
            .map(|l| l.body.to_string())
            .collect();
        assert!(bodies.iter().any(|b| b == "kept event"), "{bodies:?}");
        assert!(
            !bodies
                .iter()
                .any(|b| b.contains("dropped event") || b.contains("below")),
            "{bodies:?}"
        );
    });
}

mod lazy {
    use std::sync::atomic::{AtomicU32, Ordering};

    use instrument_runtime::{current_span_context, instrument, SpanContext};

    pub static PARENTS: AtomicU32 = AtomicU32::new(0);
    pub static LINKS: AtomicU32 = AtomicU32::new(0);
    pub static FIELDS: AtomicU32 = AtomicU32::new(0);

    pub fn parent() -> Option<SpanContext> {
        PARENTS.fetch_add(1, Ordering::Relaxed);
        current_span_context()
    }

    pub fn links() -> Vec<SpanContext> {
        LINKS.fetch_add(1, Ordering::Relaxed);
        Vec::new()
    }

    pub fn field(x: u32) -> u32 {
        FIELDS.fetch_add(1, Ordering::Relaxed);
        x
    }

    /// Takes `s` by value, returns a borrow of `v` and returns early: the body runs the same
    /// whether the filter disables the span or not.
    #[instrument(parent = parent(), follows_from = links(), fields(f = field(x)))]
    pub fn work<'a>(x: u32, s: String, v: &'a [u32]) -> Result<&'a u32, String> {
        if x == 0 {
            return Err(s);
        }
        let first = v.first().ok_or("empty")?;
        Ok(first)
    }

    pub fn counts() -> [u32; 3] {
        [&PARENTS, &LINKS, &FIELDS].map(|c| c.load(Ordering::Relaxed))
    }
}

#[test]
fn a_disabled_function_runs_its_body_and_evaluates_no_span_expression() {
    isolated(
        "a_disabled_function_runs_its_body_and_evaluates_no_span_expression",
        T,
        || {
            let (telemetry, c) = install(Some("info,filter::lazy=off"));
            let v = [4, 5];
            assert_eq!(lazy::work(1, "a".into(), &v), Ok(&4));
            assert_eq!(lazy::work(0, "b".into(), &v), Err("b".to_string()));
            assert_eq!(lazy::work(1, "c".into(), &[]), Err("empty".to_string()));
            assert_eq!(lazy::counts(), [0, 0, 0], "parent, follows_from, fields");
            set_filter(Filter::parse("info").unwrap());
            assert_eq!(lazy::work(1, "a".into(), &v), Ok(&4));
            assert_eq!(lazy::work(0, "b".into(), &v), Err("b".to_string()));
            assert_eq!(lazy::counts(), [2, 2, 2], "parent, follows_from, fields");
            assert!(telemetry.flush(T).completed);
            let spans = c.spans_named("work");
            assert_eq!(spans.len(), 2, "only the enabled calls: {spans:#?}");
            let mut f: Vec<_> = spans
                .iter()
                .map(|s| {
                    s.attributes
                        .iter()
                        .find(|kv| kv.key == "f")
                        .map(|kv| kv.value.clone())
                })
                .collect();
            f.sort_by_key(|v| format!("{v:?}"));
            use instrument_runtime::export::Value;
            assert_eq!(f, [Some(Value::I64(0)), Some(Value::I64(1))]);
        },
    );
}
