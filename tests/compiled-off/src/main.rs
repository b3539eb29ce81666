//! Times both functions in one process: `instrumented <ns/call> plain <ns/call>` (medians of
//! 15 interleaved rounds of 2,000,000 calls, wall clock).

use std::hint::black_box;
use std::time::Instant;

fn round(f: fn(u64) -> u64) -> f64 {
    let n = 2_000_000u64;
    let start = Instant::now();
    for i in 0..n {
        black_box(f(black_box(i)));
    }
    start.elapsed().as_nanos() as f64 / n as f64
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let (mut a, mut b) = (Vec::new(), Vec::new());
    for _ in 0..15 {
        a.push(round(compiled_off::instrumented));
        b.push(round(compiled_off::plain));
    }
    println!("instrumented {:.3} plain {:.3}", median(a), median(b));
}
