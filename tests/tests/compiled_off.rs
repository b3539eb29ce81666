//! The compile-time off switch: built with `RUSTFLAGS="--cfg instrument_off"`, an
//! `#[instrument]` function is the function as written: the same machine code size as its
//! unannotated twin and no callsite static; built without it, both differ (so this test can
//! fail). The fixture is `tests/compiled-off` (built twice, in `target/compiled-off/`).

use std::path::{Path, PathBuf};
use std::process::Command;

fn build(flags: &str, dir: &str) -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let target = root.join("../target/compiled-off").join(dir);
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let status = Command::new(cargo)
        .args([
            "build",
            "--release",
            "--offline",
            "--quiet",
            "--manifest-path",
        ])
        .arg(root.join("compiled-off/Cargo.toml"))
        .env("CARGO_TARGET_DIR", &target)
        .env("RUSTFLAGS", flags)
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .status()
        .expect("run cargo");
    assert!(
        status.success(),
        "building the fixture with {flags:?} failed"
    );
    target.join("release/compiled-off")
}

/// `(size of instrumented, size of plain, has a callsite static)` from `nm -S -C`.
fn symbols(bin: &Path) -> (u64, u64, bool) {
    let out = Command::new("nm")
        .args(["-S", "-C"])
        .arg(bin)
        .output()
        .expect("run nm");
    let text = String::from_utf8_lossy(&out.stdout);
    let size = |name: &str| {
        text.lines()
            .find(|l| l.ends_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .map(|s| u64::from_str_radix(s, 16).expect("hex size"))
            .unwrap_or_else(|| panic!("no symbol {name}"))
    };
    let callsite = text
        .lines()
        .any(|l| l.contains("compiled_off::instrumented::") && l.contains("CALLSITE"));
    (
        size(" compiled_off::instrumented"),
        size(" compiled_off::plain"),
        callsite,
    )
}

#[test]
fn compiled_off_is_the_function_as_written() {
    let off = build("--cfg instrument_off", "off");
    let (instrumented, plain, callsite) = symbols(&off);
    assert_eq!(instrumented, plain, "compiled off: same code size");
    assert!(!callsite, "compiled off: no callsite static");

    let on = build("", "on");
    let (instrumented_on, plain_on, callsite_on) = symbols(&on);
    assert_eq!(plain_on, plain);
    assert!(instrumented_on > plain_on, "instrumented: more code");
    assert!(callsite_on, "instrumented: a callsite static");

    // Cost per call of the compiled-off function next to the plain one (reported, not
    // asserted: a shared machine; benches/run.sh puts it in RESULTS.md).
    let timing = Command::new(&off).output().expect("run the fixture");
    println!("{}", String::from_utf8_lossy(&timing.stdout));
}
