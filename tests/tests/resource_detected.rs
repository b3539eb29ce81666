//! The detected resource attributes (`process.pid`, `telemetry.sdk.*`, `host.name`, ...) are
//! on the pipeline's resource for every exporter, not only OTLP (issue 14, "Resource"): a
//! custom exporter's batches and Prometheus's `target_info` carry them, the configured values
//! (`OTEL_RESOURCE_ATTRIBUTES`, `OTEL_SERVICE_NAME`, builder) win over detected ones, and no
//! key appears twice.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use instrument_runtime::export::prometheus::PrometheusExporter;
use instrument_runtime::export::Resource;
use instrument_runtime::{instrument, Batch, ExportError, Exporter};
use instrument_tests::isolated;

#[instrument]
fn resource_work(n: u32) -> u32 {
    n * 2
}

/// Keeps the resource of every batch it gets.
struct Capture(Arc<Mutex<Vec<Arc<Resource>>>>);

impl Exporter for Capture {
    fn export(&mut self, batch: &Batch) -> Result<(), ExportError> {
        if let Some(resource) = &batch.resource {
            self.0.lock().unwrap().push(Arc::clone(resource));
        }
        Ok(())
    }
}

/// Every value of `key` in the resource, as text.
fn value(resource: &Resource, key: &str) -> Vec<String> {
    resource
        .attributes
        .iter()
        .filter(|kv| kv.key == key)
        .map(|kv| kv.value.to_string())
        .collect()
}

#[test]
fn every_exporter_sees_the_detected_resource() {
    // A child process: the environment it sets is its own.
    isolated(
        "every_exporter_sees_the_detected_resource",
        Duration::from_secs(60),
        || {
            std::env::set_var(
                "OTEL_RESOURCE_ATTRIBUTES",
                "host.name=env-host,deployment.environment=resource-test",
            );
            std::env::set_var("OTEL_SERVICE_NAME", "resource-svc");
            let seen = Arc::new(Mutex::new(Vec::new()));
            let prometheus = PrometheusExporter::new();
            let handle = prometheus.handle();
            let telemetry = instrument_runtime::builder()
                .exporter(Capture(Arc::clone(&seen)))
                .exporter(prometheus)
                .resource_attribute("team", "checkout")
                .install()
                .expect("install");
            for i in 0..3 {
                resource_work(i);
            }
            assert!(telemetry.flush(Duration::from_secs(30)).completed);

            let seen = seen.lock().unwrap().clone();
            assert!(!seen.is_empty(), "no batch with a resource");
            let pid = std::process::id().to_string();
            for resource in &seen {
                assert_eq!(resource.service_name, "resource-svc");
                assert_eq!(value(resource, "process.pid"), [pid.as_str()]);
                assert_eq!(value(resource, "telemetry.sdk.language"), ["rust"]);
                assert_eq!(
                    value(resource, "telemetry.sdk.name"),
                    ["instrument-runtime"]
                );
                assert_eq!(value(resource, "service.instance.id").len(), 1);
                // The environment's host.name wins over the detected one, once.
                assert_eq!(value(resource, "host.name"), ["env-host"]);
                assert_eq!(value(resource, "deployment.environment"), ["resource-test"]);
                assert_eq!(value(resource, "team"), ["checkout"]);
                let mut keys: Vec<&str> = resource.attributes.iter().map(|kv| &*kv.key).collect();
                let n = keys.len();
                keys.sort_unstable();
                keys.dedup();
                assert_eq!(keys.len(), n, "a key twice: {:?}", resource.attributes);
            }

            // Prometheus renders them as target_info labels.
            let text = handle.render();
            let info = text
                .lines()
                .find(|l| l.starts_with("target_info{"))
                .unwrap_or_else(|| panic!("no target_info in:\n{text}"));
            for label in [
                format!("process_pid=\"{pid}\""),
                "telemetry_sdk_language=\"rust\"".to_owned(),
                "host_name=\"env-host\"".to_owned(),
                "service_name=\"resource-svc\"".to_owned(),
            ] {
                assert!(info.contains(&label), "{label} missing from {info}");
            }
            assert_eq!(info.matches("host_name=").count(), 1, "{info}");
            telemetry.shutdown_with_timeout(Duration::from_secs(30));
        },
    );
}
