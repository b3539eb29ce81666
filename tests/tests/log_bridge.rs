//! The `log` bridge: key-values become attributes, and a logger the user already has is
//! composed with (records captured with our ids, then forwarded, enriched with them).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use instrument_runtime::export::Value;
use instrument_runtime::testing::TestExporter;
use instrument_runtime::{current_span_context, instrument};
use instrument_tests::isolated;

const T: Duration = Duration::from_secs(30);

/// One record as the user's logger saw it: level, message, key-values.
type Seen = (log::Level, String, Vec<(String, String)>);

/// A user's logger: keeps what it is given.
#[derive(Clone, Default)]
struct UserLogger(Arc<Mutex<Vec<Seen>>>);

impl log::Log for UserLogger {
    fn enabled(&self, m: &log::Metadata<'_>) -> bool {
        m.level() <= log::Level::Debug
    }
    fn log(&self, r: &log::Record<'_>) {
        if !self.enabled(r.metadata()) {
            return;
        }
        struct Collect(Vec<(String, String)>);
        impl<'k> log::kv::VisitSource<'k> for Collect {
            fn visit_pair(
                &mut self,
                k: log::kv::Key<'k>,
                v: log::kv::Value<'k>,
            ) -> Result<(), log::kv::Error> {
                self.0.push((k.to_string(), v.to_string()));
                Ok(())
            }
        }
        let mut kv = Collect(Vec::new());
        r.key_values().visit(&mut kv).unwrap();
        self.0
            .lock()
            .unwrap()
            .push((r.level(), r.args().to_string(), kv.0));
    }
    fn flush(&self) {}
}

#[instrument]
fn work() {
    log::info!(user = 7, ratio = 0.5, admin = false, name = "ann"; "working");
    log::debug!("debug: forwarded, not captured");
}

#[test]
fn key_values_are_attributes_and_the_users_logger_gets_every_record() {
    isolated(
        "key_values_are_attributes_and_the_users_logger_gets_every_record",
        T,
        || {
            let user = UserLogger::default();
            assert!(instrument_runtime::log_bridge::forward_to(
                user.clone(),
                log::LevelFilter::Debug
            ));
            assert!(!instrument_runtime::log_bridge::forward_to(
                UserLogger::default(),
                log::LevelFilter::Debug
            ));
            let (exporter, c) = TestExporter::new();
            let telemetry = instrument_runtime::builder()
                .exporter(exporter)
                .install()
                .unwrap();
            assert!(current_span_context().is_none());
            work();
            log::warn!("outside");
            log::trace!("trace: neither");
            assert!(telemetry.flush(T).completed);

            let spans = c.spans();
            assert_eq!(spans.len(), 1);
            let logs = c.logs();
            assert_eq!(logs.len(), 2, "{logs:#?}");
            let w = logs.iter().find(|l| l.body == "working").unwrap();
            assert_eq!(w.span_id, Some(spans[0].span_id));
            let get = |k: &str| {
                w.attributes
                    .iter()
                    .find(|kv| kv.key == k)
                    .map(|kv| &kv.value)
            };
            assert_eq!(get("user"), Some(&Value::I64(7)));
            assert_eq!(get("ratio"), Some(&Value::F64(0.5)));
            assert_eq!(get("admin"), Some(&Value::Bool(false)));
            assert_eq!(get("name"), Some(&Value::from("ann")));
            assert_eq!(w.attributes.len(), 4);

            let got = user.0.lock().unwrap().clone();
            assert_eq!(got.len(), 3, "{got:?}");
            assert_eq!(got[0].1, "working");
            let kv: Vec<_> = got[0].2.iter().map(|(k, _)| k.as_str()).collect();
            assert_eq!(
                kv,
                ["user", "ratio", "admin", "name", "trace_id", "span_id"]
            );
            assert_eq!(got[0].2[4].1, spans[0].trace_id.to_string());
            assert_eq!(got[0].2[5].1, spans[0].span_id.to_string());
            assert_eq!(got[1].0, log::Level::Debug);
            assert!(got[1].2.iter().any(|(k, _)| k == "span_id"));
            assert_eq!(got[2].1, "outside");
            assert!(got[2].2.is_empty(), "no ids outside a span");
        },
    );
}

#[test]
fn install_reports_a_foreign_logger_instead_of_pretending() {
    isolated(
        "install_reports_a_foreign_logger_instead_of_pretending",
        T,
        || {
            log::set_boxed_logger(Box::new(UserLogger::default())).unwrap();
            assert!(!instrument_runtime::log_bridge::install());
        },
    );
}
