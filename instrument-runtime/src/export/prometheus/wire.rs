//! The frames a multiprocess worker and its aggregator exchange over their unix socket (see
//! [`multiprocess`](super::multiprocess)): length-prefixed, little-endian, every value exact
//! (floats as their bits), every length checked before it is trusted.
//!
//! ```text
//! frame    = len:u32 body                       (len <= MAX_FRAME)
//! body     = 1:u8 version:u8 pid:u32 answers:u64 snapshot   (worker -> aggregator)
//!          | 2:u8 id:u64                                    (aggregator -> worker: demand)
//! snapshot = start:u64 time:u64 n:u32 metric*n
//! metric   = name:str description:str unit:str kind:u8 points:u32 point*points
//! point    = labels:u32 (str str)*labels value
//! value    = counter: u64 | gauge: f64 | histogram: n:u32 f64*n m:u32 u64*m sum:f64 count:u64
//! str      = len:u32 utf8
//! ```

use std::borrow::Cow;
use std::io::{self, Read, Write};

use crate::export::{
    CounterPoint, Exemplar, GaugePoint, HistogramPoint, Labels, Metric, MetricData, MetricsSnapshot,
};
use crate::{SpanId, TraceId};

/// The largest frame accepted (a worker with this many bytes of series is refused, with a
/// warning, rather than allocating without bound).
pub(crate) const MAX_FRAME: usize = 64 << 20;
/// The wire version; a frame of another version is refused.
const VERSION: u8 = 1;
const SNAPSHOT: u8 = 1;
const DEMAND: u8 = 2;
/// The most distinct histogram bound sets the aggregator keeps (they are interned, see
/// [`intern_bounds`]); a point with a new set past this is refused.
const MAX_BOUND_SETS: usize = 256;

/// What one frame says.
#[derive(Debug, PartialEq)]
pub(crate) enum Message {
    /// A worker's cumulative snapshot; `answers` is the highest demand id it answers.
    Snapshot {
        pid: u32,
        answers: u64,
        snapshot: MetricsSnapshot,
    },
    /// The aggregator asks for a fresh snapshot.
    Demand { id: u64 },
}

/// Encodes a worker's snapshot frame.
pub(crate) fn encode_snapshot(pid: u32, answers: u64, snapshot: &MetricsSnapshot) -> Vec<u8> {
    let mut out = vec![0; 4];
    out.push(SNAPSHOT);
    out.push(VERSION);
    out.extend_from_slice(&pid.to_le_bytes());
    put_u64(&mut out, answers);
    put_u64(&mut out, snapshot.start_unix_nanos);
    put_u64(&mut out, snapshot.time_unix_nanos);
    put_len(&mut out, snapshot.metrics.len());
    for metric in &snapshot.metrics {
        put_str(&mut out, &metric.name);
        put_str(&mut out, &metric.description);
        put_str(&mut out, &metric.unit);
        match &metric.data {
            MetricData::Counter(points) => {
                out.push(0);
                put_len(&mut out, points.len());
                for p in points {
                    put_labels(&mut out, &p.labels);
                    put_u64(&mut out, p.value);
                }
            }
            MetricData::Gauge(points) => {
                out.push(1);
                put_len(&mut out, points.len());
                for p in points {
                    put_labels(&mut out, &p.labels);
                    put_u64(&mut out, p.value.to_bits());
                }
            }
            MetricData::Histogram(points) => {
                out.push(2);
                put_len(&mut out, points.len());
                for p in points {
                    put_labels(&mut out, &p.labels);
                    put_len(&mut out, p.bounds.len());
                    for b in p.bounds {
                        put_u64(&mut out, b.to_bits());
                    }
                    put_len(&mut out, p.bucket_counts.len());
                    for c in &p.bucket_counts {
                        put_u64(&mut out, *c);
                    }
                    put_u64(&mut out, p.sum.to_bits());
                    put_u64(&mut out, p.count);
                    put_len(&mut out, p.exemplars.len());
                    for e in &p.exemplars {
                        put_u64(&mut out, e.bucket as u64);
                        let trace = e.trace_id.to_u128();
                        put_u64(&mut out, (trace >> 64) as u64);
                        put_u64(&mut out, trace as u64);
                        put_u64(&mut out, e.span_id.to_u64());
                        put_u64(&mut out, e.value.to_bits());
                        put_u64(&mut out, e.time_unix_nanos);
                    }
                }
            }
        }
    }
    finish(out)
}

/// Encodes a demand frame.
pub(crate) fn encode_demand(id: u64) -> Vec<u8> {
    let mut out = vec![0; 4];
    out.push(DEMAND);
    put_u64(&mut out, id);
    finish(out)
}

fn finish(mut out: Vec<u8>) -> Vec<u8> {
    let len = u32::try_from(out.len() - 4).unwrap_or(u32::MAX);
    out[..4].copy_from_slice(&len.to_le_bytes());
    out
}

fn put_u64(out: &mut Vec<u8>, v: u64) {
    out.extend_from_slice(&v.to_le_bytes());
}

fn put_len(out: &mut Vec<u8>, n: usize) {
    out.extend_from_slice(&u32::try_from(n).unwrap_or(u32::MAX).to_le_bytes());
}

fn put_str(out: &mut Vec<u8>, s: &str) {
    put_len(out, s.len());
    out.extend_from_slice(s.as_bytes());
}

fn put_labels(out: &mut Vec<u8>, labels: &Labels) {
    put_len(out, labels.len());
    for (k, v) in labels {
        put_str(out, k);
        put_str(out, v);
    }
}

/// Reads one frame body from `stream`. `Ok(None)` at a clean end of stream (before a frame);
/// an error for a short, oversized or unreadable frame. Read timeouts surface as
/// `WouldBlock`/`TimedOut` only before the first byte of a frame; once a frame has started,
/// the rest is waited for.
pub(crate) fn read_frame(stream: &mut impl Read) -> io::Result<Option<Vec<u8>>> {
    let mut len = [0u8; 4];
    let mut got = 0;
    while got < 4 {
        match stream.read(&mut len[got..]) {
            Ok(0) if got == 0 => return Ok(None),
            Ok(0) => return Err(io::ErrorKind::UnexpectedEof.into()),
            Ok(n) => got += n,
            Err(e) if got > 0 && is_timeout(&e) => {}
            Err(e) => return Err(e),
        }
    }
    let len = u32::from_le_bytes(len) as usize;
    if len > MAX_FRAME {
        return Err(invalid(format!("frame of {len} bytes (max {MAX_FRAME})")));
    }
    let mut body = vec![0u8; len];
    let mut got = 0;
    while got < len {
        match stream.read(&mut body[got..]) {
            Ok(0) => return Err(io::ErrorKind::UnexpectedEof.into()),
            Ok(n) => got += n,
            Err(e) if is_timeout(&e) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(Some(body))
}

/// Writes a whole encoded frame.
pub(crate) fn write_frame(stream: &mut impl Write, frame: &[u8]) -> io::Result<()> {
    stream.write_all(frame)
}

/// A socket read timeout: `WouldBlock` on Unix.
pub(crate) fn is_timeout(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut | io::ErrorKind::Interrupted
    )
}

fn invalid(message: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, message)
}

/// Decodes a frame body.
pub(crate) fn decode(body: &[u8]) -> io::Result<Message> {
    let mut r = Reader { rest: body };
    let message = match r.u8()? {
        DEMAND => Message::Demand { id: r.u64()? },
        SNAPSHOT => {
            let version = r.u8()?;
            if version != VERSION {
                return Err(invalid(format!(
                    "wire version {version}, expected {VERSION}"
                )));
            }
            let pid = r.u32()?;
            let answers = r.u64()?;
            let snapshot = r.snapshot()?;
            Message::Snapshot {
                pid,
                answers,
                snapshot,
            }
        }
        other => return Err(invalid(format!("unknown frame type {other}"))),
    };
    if !r.rest.is_empty() {
        return Err(invalid(format!("{} trailing bytes", r.rest.len())));
    }
    Ok(message)
}

struct Reader<'a> {
    rest: &'a [u8],
}

impl Reader<'_> {
    fn take(&mut self, n: usize) -> io::Result<&[u8]> {
        if self.rest.len() < n {
            return Err(invalid("truncated frame".into()));
        }
        let (head, tail) = self.rest.split_at(n);
        self.rest = tail;
        Ok(head)
    }

    fn u8(&mut self) -> io::Result<u8> {
        Ok(self.take(1)?[0])
    }

    fn u32(&mut self) -> io::Result<u32> {
        let mut b = [0u8; 4];
        b.copy_from_slice(self.take(4)?);
        Ok(u32::from_le_bytes(b))
    }

    fn u64(&mut self) -> io::Result<u64> {
        let mut b = [0u8; 8];
        b.copy_from_slice(self.take(8)?);
        Ok(u64::from_le_bytes(b))
    }

    fn f64(&mut self) -> io::Result<f64> {
        Ok(f64::from_bits(self.u64()?))
    }

    /// A count of items at least `item` bytes each: never more than the bytes left, so a
    /// corrupt count cannot make us allocate.
    fn count(&mut self, item: usize) -> io::Result<usize> {
        let n = self.u32()? as usize;
        if n.saturating_mul(item) > self.rest.len() {
            return Err(invalid("count past the end of the frame".into()));
        }
        Ok(n)
    }

    fn string(&mut self) -> io::Result<Cow<'static, str>> {
        let n = self.count(1)?;
        let bytes = self.take(n)?;
        let s = std::str::from_utf8(bytes).map_err(|e| invalid(e.to_string()))?;
        Ok(Cow::Owned(s.to_owned()))
    }

    fn labels(&mut self) -> io::Result<Labels> {
        let n = self.count(8)?;
        (0..n)
            .map(|_| Ok((self.string()?, self.string()?)))
            .collect()
    }

    fn snapshot(&mut self) -> io::Result<MetricsSnapshot> {
        let start_unix_nanos = self.u64()?;
        let time_unix_nanos = self.u64()?;
        let n = self.count(17)?;
        let mut metrics = Vec::with_capacity(n);
        for _ in 0..n {
            let name = self.string()?;
            let description = self.string()?;
            let unit = self.string()?;
            let kind = self.u8()?;
            let points = self.count(4)?;
            let data = match kind {
                0 => MetricData::Counter(
                    (0..points)
                        .map(|_| {
                            Ok(CounterPoint {
                                labels: self.labels()?,
                                value: self.u64()?,
                            })
                        })
                        .collect::<io::Result<_>>()?,
                ),
                1 => MetricData::Gauge(
                    (0..points)
                        .map(|_| {
                            Ok(GaugePoint {
                                labels: self.labels()?,
                                value: self.f64()?,
                            })
                        })
                        .collect::<io::Result<_>>()?,
                ),
                2 => MetricData::Histogram(
                    (0..points)
                        .map(|_| self.histogram_point())
                        .collect::<io::Result<_>>()?,
                ),
                other => return Err(invalid(format!("unknown metric kind {other}"))),
            };
            metrics.push(Metric {
                name,
                description,
                unit,
                data,
            });
        }
        Ok(MetricsSnapshot {
            start_unix_nanos,
            time_unix_nanos,
            metrics,
        })
    }

    fn histogram_point(&mut self) -> io::Result<HistogramPoint> {
        let labels = self.labels()?;
        let n = self.count(8)?;
        let bounds: Vec<f64> = (0..n).map(|_| self.f64()).collect::<io::Result<_>>()?;
        let m = self.count(8)?;
        let bucket_counts: Vec<u64> = (0..m).map(|_| self.u64()).collect::<io::Result<_>>()?;
        let sum = self.f64()?;
        let count = self.u64()?;
        let e = self.count(48)?;
        let mut exemplars = Vec::with_capacity(e);
        for _ in 0..e {
            let bucket = usize::try_from(self.u64()?).unwrap_or(usize::MAX);
            if bucket >= bucket_counts.len() {
                return Err(invalid(format!("exemplar of bucket {bucket} out of range")));
            }
            let trace = (u128::from(self.u64()?) << 64) | u128::from(self.u64()?);
            exemplars.push(Exemplar {
                bucket,
                trace_id: TraceId::from_u128(trace),
                span_id: SpanId::from_u64(self.u64()?),
                value: self.f64()?,
                time_unix_nanos: self.u64()?,
            });
        }
        let bounds = intern_bounds(&bounds)
            .ok_or_else(|| invalid(format!("more than {MAX_BOUND_SETS} histogram bound sets")))?;
        Ok(HistogramPoint {
            labels,
            bounds,
            bucket_counts,
            sum,
            count,
            exemplars,
            exponential: None,
        })
    }
}

/// A `'static` copy of `bounds` (a [`HistogramPoint`] borrows its bounds for the whole
/// program): each distinct set is leaked once and reused, at most [`MAX_BOUND_SETS`] of them.
fn intern_bounds(bounds: &[f64]) -> Option<&'static [f64]> {
    use std::sync::Mutex;
    static SETS: Mutex<Vec<&'static [f64]>> = Mutex::new(Vec::new());
    let mut sets = SETS.lock().unwrap_or_else(|p| p.into_inner());
    let same = |s: &&'static [f64]| {
        s.len() == bounds.len()
            && s.iter()
                .zip(bounds)
                .all(|(a, b)| a.to_bits() == b.to_bits())
    };
    if let Some(found) = sets.iter().find(|s| same(s)) {
        return Some(found);
    }
    if sets.len() >= MAX_BOUND_SETS {
        return None;
    }
    let leaked: &'static [f64] = Box::leak(bounds.to_vec().into_boxed_slice());
    sets.push(leaked);
    Some(leaked)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> MetricsSnapshot {
        let labels: Labels = vec![(Cow::Borrowed("function"), Cow::Borrowed("f \"x\""))];
        MetricsSnapshot {
            start_unix_nanos: 1,
            time_unix_nanos: 2,
            metrics: vec![
                Metric {
                    name: "c".into(),
                    description: "calls".into(),
                    unit: "{call}".into(),
                    data: MetricData::Counter(vec![CounterPoint {
                        labels: labels.clone(),
                        value: u64::MAX,
                    }]),
                },
                Metric {
                    name: "g".into(),
                    description: "".into(),
                    unit: "1".into(),
                    data: MetricData::Gauge(vec![GaugePoint {
                        labels: Labels::new(),
                        value: f64::NAN,
                    }]),
                },
                Metric {
                    name: "h".into(),
                    description: "latency".into(),
                    unit: "s".into(),
                    data: MetricData::Histogram(vec![HistogramPoint {
                        labels,
                        bounds: &[0.1, 1.0],
                        bucket_counts: vec![1, 2, 3],
                        sum: 0.1 + 0.2,
                        count: 6,
                        exemplars: vec![Exemplar {
                            bucket: 2,
                            trace_id: TraceId::from_u128(u128::MAX - 7),
                            span_id: SpanId::from_u64(42),
                            value: 1.5,
                            time_unix_nanos: 1_700_000_000_000_000_000,
                        }],
                        exponential: None,
                    }]),
                },
            ],
        }
    }

    fn body(frame: &[u8]) -> Vec<u8> {
        read_frame(&mut &frame[..]).unwrap().unwrap()
    }

    #[test]
    fn snapshots_and_demands_round_trip_exactly() {
        let snapshot = sample();
        let frame = encode_snapshot(42, 7, &snapshot);
        let Message::Snapshot {
            pid,
            answers,
            snapshot: back,
        } = decode(&body(&frame)).unwrap()
        else {
            panic!("not a snapshot");
        };
        assert_eq!((pid, answers), (42, 7));
        // NaN != NaN: compare the gauge by bits, the rest structurally.
        let MetricData::Gauge(g) = &back.metrics[1].data else {
            panic!()
        };
        assert!(g[0].value.is_nan());
        assert_eq!(back.metrics[0], snapshot.metrics[0]);
        assert_eq!(back.metrics[2], snapshot.metrics[2]);
        assert_eq!(
            decode(&body(&encode_demand(9))).unwrap(),
            Message::Demand { id: 9 }
        );
    }

    #[test]
    fn bad_frames_are_errors_not_panics() {
        let frame = encode_snapshot(1, 0, &sample());
        let full = body(&frame);
        for cut in 0..full.len() {
            assert!(decode(&full[..cut]).is_err(), "cut at {cut}");
        }
        let mut long = full.clone();
        long.push(0);
        assert!(decode(&long).is_err());
        // A huge count is refused before allocating.
        let mut huge = vec![SNAPSHOT, VERSION, 0, 0, 0, 0];
        huge.extend_from_slice(&[0; 24]);
        huge.extend_from_slice(&u32::MAX.to_le_bytes());
        assert!(decode(&huge).is_err());
        let oversized = ((MAX_FRAME + 1) as u32).to_le_bytes();
        assert!(read_frame(&mut &oversized[..]).is_err());
        assert_eq!(read_frame(&mut &[][..]).unwrap(), None);
        assert!(read_frame(&mut &[1u8, 0][..]).is_err());
    }
}
