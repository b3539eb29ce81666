// `buckets = [...]` gives a function's latency histogram its own bounds (ints and floats,
// scientific notation); other functions keep the default bounds.
use instrument_runtime::export::MetricData;
use instrument_runtime::{instrument, BOUNDS_SECONDS, CALLS_DURATION};
use instrument_ui_tests::collect;

#[instrument(buckets = [5e-4, 0.001, 2, 30])]
fn own() {}

#[instrument]
fn default_bounds() {}

struct Repo;

impl Repo {
    #[instrument(buckets = [0.25])]
    fn get(&self) -> u8 {
        1
    }
}

fn main() {
    let (telemetry, collected) = collect();
    own();
    default_bounds();
    assert_eq!(Repo.get(), 1);
    assert!(telemetry.flush(std::time::Duration::from_secs(5)).completed);
    let snapshot = collected.metrics().expect("snapshot");
    let MetricData::Histogram(points) = &snapshot.get(CALLS_DURATION).unwrap().data else {
        panic!("histogram");
    };
    let bounds = |function: &str| {
        let point = points
            .iter()
            .find(|p| p.labels.iter().any(|(k, v)| k == "function" && v == function))
            .expect(function);
        assert_eq!(point.bucket_counts.len(), point.bounds.len() + 1);
        assert_eq!(point.count, 1);
        point.bounds
    };
    assert_eq!(bounds("own"), [5e-4, 0.001, 2.0, 30.0]);
    assert_eq!(bounds("default_bounds"), BOUNDS_SECONDS);
    assert_eq!(bounds("Repo::get"), [0.25]);
}
