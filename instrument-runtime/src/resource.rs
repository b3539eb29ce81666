//! Resource detection: what every signal says about the process it comes from (the
//! pipeline's resource starts with these, for every exporter: OTLP, stdout, Prometheus's
//! `target_info`).
//!
//! `service.instance.id` is a random UUID (version 4) made once per process: a forked child
//! gets its own on its first export (the id is keyed by the pid), so parent and workers of a
//! pre-fork server are distinct instances. `host.name`, `process.pid`,
//! `process.runtime.{name,version,description}` and `telemetry.sdk.{name,language,version}`
//! follow the semantic conventions. The application's own attributes (builder,
//! `OTEL_RESOURCE_ATTRIBUTES`, `OTEL_SERVICE_NAME`) win over detected ones.

use std::sync::Mutex;

use crate::data::KeyValue;

/// `(pid, id)` of the instance id made in this process.
static INSTANCE: Mutex<Option<(u32, String)>> = Mutex::new(None);

/// The detected resource attributes of this process, in this order: `service.instance.id`,
/// `host.name` (when the host has one), `process.pid`, `process.runtime.name`,
/// `process.runtime.version`, `process.runtime.description`, `telemetry.sdk.name`,
/// `telemetry.sdk.language`, `telemetry.sdk.version`.
pub fn detected_attributes() -> Vec<KeyValue> {
    let pid = std::process::id();
    let mut attributes = vec![KeyValue::new("service.instance.id", instance_id(pid))];
    if let Some(host) = host_name() {
        attributes.push(KeyValue::new("host.name", host));
    }
    attributes.extend([
        KeyValue::new("process.pid", i64::from(pid)),
        KeyValue::new("process.runtime.name", "rustc"),
        KeyValue::new("process.runtime.version", rustc_version()),
        KeyValue::new(
            "process.runtime.description",
            concat!("Rust (instrument-runtime ", env!("CARGO_PKG_VERSION"), ")"),
        ),
        KeyValue::new("telemetry.sdk.name", env!("CARGO_PKG_NAME")),
        KeyValue::new("telemetry.sdk.language", "rust"),
        KeyValue::new("telemetry.sdk.version", env!("CARGO_PKG_VERSION")),
    ]);
    attributes
}

/// The pipeline's resource attributes: the detected ones whose key `configured` does not
/// have, then `configured` (builder, `OTEL_RESOURCE_ATTRIBUTES`), so configured values win
/// and no key appears twice. `service.name` is not among the detected keys.
pub(crate) fn with_detected(configured: &[KeyValue]) -> Vec<KeyValue> {
    let mut attributes: Vec<KeyValue> = detected_attributes()
        .into_iter()
        .filter(|d| !configured.iter().any(|c| c.key == d.key))
        .collect();
    attributes.extend(configured.iter().cloned());
    attributes
}

/// The Rust version the crate was built for: the workspace's `rust-version` (the toolchain
/// version itself is not visible to a crate without a build script).
fn rustc_version() -> &'static str {
    let msrv = env!("CARGO_PKG_RUST_VERSION");
    if msrv.is_empty() {
        "unknown"
    } else {
        msrv
    }
}

fn instance_id(pid: u32) -> String {
    let mut slot = INSTANCE
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    match &*slot {
        Some((owner, id)) if *owner == pid => id.clone(),
        _ => {
            let id = uuid_v4();
            *slot = Some((pid, id.clone()));
            id
        }
    }
}

/// 64 random bits: std's OS-seeded `RandomState` (a fresh key per call), mixed with the time
/// and the pid.
fn random_u64(salt: u64) -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(salt);
    h.write_u32(std::process::id());
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos()),
    );
    h.finish()
}

/// A random version-4 UUID.
fn uuid_v4() -> String {
    let words = (u128::from(random_u64(1)) << 64) | u128::from(random_u64(2));
    let mut bytes = words.to_be_bytes();
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

/// The host name without `unsafe`: the kernel's (`/proc/sys/kernel/hostname`, Linux), else
/// `/etc/hostname`, else `HOSTNAME` / `COMPUTERNAME` from the environment.
fn host_name() -> Option<String> {
    let from_file = |path: &str| std::fs::read_to_string(path).ok();
    from_file("/proc/sys/kernel/hostname")
        .or_else(|| from_file("/etc/hostname"))
        .or_else(|| std::env::var("HOSTNAME").ok())
        .or_else(|| std::env::var("COMPUTERNAME").ok())
        .map(|name| name.trim().to_owned())
        .filter(|name| !name.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_instance_id_per_process_and_a_new_one_for_another_pid() {
        let pid = std::process::id();
        let first = instance_id(pid);
        assert_eq!(first, instance_id(pid));
        assert_eq!(first.len(), 36);
        assert_eq!(&first[14..15], "4");
        let child = instance_id(pid.wrapping_add(1));
        assert_ne!(first, child);
    }

    #[test]
    fn the_attributes_are_all_there() {
        let keys: Vec<String> = detected_attributes()
            .into_iter()
            .map(|kv| kv.key.into_owned())
            .collect();
        for key in [
            "service.instance.id",
            "process.pid",
            "process.runtime.name",
            "process.runtime.version",
            "telemetry.sdk.name",
            "telemetry.sdk.language",
            "telemetry.sdk.version",
        ] {
            assert!(keys.iter().any(|k| k == key), "{key} missing from {keys:?}");
        }
    }
}
