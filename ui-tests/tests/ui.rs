//! trybuild: every misuse in `tests/ui/fail/<macro>/<mistake>.rs` must fail with exactly the
//! error in its `.stderr`; every program in `tests/ui/pass/` must compile and run to success.
//!
//! Regenerate snapshots with `TRYBUILD=overwrite cargo test -p instrument-ui-tests --test ui`,
//! then review the `.stderr` diffs like code: rustc's wording changes between toolchains.

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/ui/fail/*/*.rs");
    t.pass("tests/ui/pass/*.rs");
}
