//! Trace and span identifiers, and the per-thread generator that makes them.
//!
//! Ids are random and never zero (W3C Trace Context treats all-zero ids as invalid). They are
//! formatted as 32 and 16 lowercase hex digits, the form OpenTelemetry uses everywhere.

use std::cell::Cell;
use std::fmt;

/// A 128-bit trace identifier. Never zero when produced by this crate.
///
/// ```
/// use instrument_runtime::TraceId;
/// let id = TraceId::from_u128(0x4bf92f3577b34da6a3ce929d0e0e4736);
/// assert_eq!(id.to_string(), "4bf92f3577b34da6a3ce929d0e0e4736");
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct TraceId(u128);

/// A 64-bit span identifier. Never zero when produced by this crate.
///
/// ```
/// use instrument_runtime::SpanId;
/// assert_eq!(SpanId::from_u64(0xa).to_string(), "000000000000000a");
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct SpanId(u64);

impl TraceId {
    /// The invalid (all-zero) trace id.
    pub const INVALID: TraceId = TraceId(0);

    /// Wraps a raw value.
    pub const fn from_u128(v: u128) -> Self {
        TraceId(v)
    }
    /// The raw value.
    pub const fn to_u128(self) -> u128 {
        self.0
    }
    /// Big-endian bytes, as sent on the wire.
    pub const fn to_bytes(self) -> [u8; 16] {
        self.0.to_be_bytes()
    }
    /// `false` for the all-zero id.
    pub const fn is_valid(self) -> bool {
        self.0 != 0
    }
    /// Parses exactly 32 lowercase hex digits; `None` for anything else or for all zeros.
    pub fn from_hex(s: &str) -> Option<Self> {
        parse_lower_hex::<32>(s.as_bytes())
            .map(TraceId)
            .filter(|t| t.is_valid())
    }
}

impl SpanId {
    /// The invalid (all-zero) span id.
    pub const INVALID: SpanId = SpanId(0);

    /// Wraps a raw value.
    pub const fn from_u64(v: u64) -> Self {
        SpanId(v)
    }
    /// The raw value.
    pub const fn to_u64(self) -> u64 {
        self.0
    }
    /// Big-endian bytes, as sent on the wire.
    pub const fn to_bytes(self) -> [u8; 8] {
        self.0.to_be_bytes()
    }
    /// `false` for the all-zero id.
    pub const fn is_valid(self) -> bool {
        self.0 != 0
    }
    /// Parses exactly 16 lowercase hex digits; `None` for anything else or for all zeros.
    pub fn from_hex(s: &str) -> Option<Self> {
        parse_lower_hex::<16>(s.as_bytes())
            .map(|v| SpanId(v as u64))
            .filter(|t| t.is_valid())
    }
}

/// Parses exactly `N` lowercase hex digits (no sign, no uppercase, no prefix).
pub(crate) fn parse_lower_hex<const N: usize>(bytes: &[u8]) -> Option<u128> {
    if bytes.len() != N {
        return None;
    }
    bytes.iter().try_fold(0u128, |acc, &b| {
        let digit = match b {
            b'0'..=b'9' => b - b'0',
            b'a'..=b'f' => b - b'a' + 10,
            _ => return None,
        };
        Some(acc << 4 | u128::from(digit))
    })
}

impl fmt::Display for TraceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:032x}", self.0)
    }
}
impl fmt::Debug for TraceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TraceId({self})")
    }
}
impl fmt::Display for SpanId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:016x}", self.0)
    }
}
impl fmt::Debug for SpanId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SpanId({self})")
    }
}

/// A per-thread id generator (wyrand: one add and one 64x64->128 multiply per draw); the
/// state 0 means "not seeded yet".
///
/// Not cryptographic, and it does not need to be: ids must be unique, not secret. The seed
/// mixes the OS-seeded `RandomState`, the thread, the time and the process id, so two threads
/// and two processes differ; a forked child reseeds (see `fork.rs`).
#[derive(Debug)]
pub(crate) struct IdGen(Cell<u64>);

/// `x`, or 1 if it is 0 (ids are never zero).
#[inline]
fn nonzero(x: u64) -> u64 {
    x | u64::from(x == 0)
}

impl IdGen {
    pub(crate) const fn new() -> Self {
        IdGen(Cell::new(0))
    }

    /// 128 random bits as two halves (one draw: the 64x64->128 product of the next state).
    #[inline]
    fn draw(&self) -> (u64, u64) {
        let mut s = self.0.get();
        if s == 0 {
            s = seed();
        }
        s = s.wrapping_add(0xa076_1d64_78bd_642f);
        // A state of exactly 0 would read as "unseeded": skip it (once in 2^64 draws).
        self.0.set(s | u64::from(s == 0));
        let t = u128::from(s) * u128::from(s ^ 0xe703_7ed1_a0b4_28db);
        ((t >> 64) as u64, t as u64)
    }

    /// A 64-bit random number; never zero.
    #[inline]
    pub(crate) fn next_u64(&self) -> u64 {
        let (hi, lo) = self.draw();
        nonzero(hi ^ lo)
    }

    /// A new random trace id (two draws; only the mixed `hi ^ lo` of a product is well
    /// distributed, and the sampler reads the trace id's low bits).
    #[inline]
    pub(crate) fn trace_id(&self) -> TraceId {
        TraceId(u128::from(self.next_u64()) << 64 | u128::from(self.next_u64()))
    }

    /// A new root: a random trace id and span id (three draws).
    #[cfg(test)]
    pub(crate) fn root_ids(&self) -> (TraceId, SpanId) {
        (self.trace_id(), SpanId(self.next_u64()))
    }

    /// A new random span id.
    #[inline]
    pub(crate) fn span_id(&self) -> SpanId {
        SpanId(self.next_u64())
    }

    /// Forgets the state: the next id comes from a fresh seed.
    pub(crate) fn reseed(&self) {
        self.0.set(0);
    }
}

#[cold]
fn seed() -> u64 {
    use std::hash::{BuildHasher, Hash, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(std::process::id().into());
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos()),
    );
    std::thread::current().id().hash(&mut h);
    (&h as *const _ as usize).hash(&mut h);
    h.finish() | 1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_round_trip_and_strictness() {
        let t = TraceId::from_hex("4bf92f3577b34da6a3ce929d0e0e4736").unwrap();
        assert_eq!(t.to_string(), "4bf92f3577b34da6a3ce929d0e0e4736");
        assert!(TraceId::from_hex("4BF92F3577B34DA6A3CE929D0E0E4736").is_none());
        assert!(TraceId::from_hex("00000000000000000000000000000000").is_none());
        assert!(TraceId::from_hex("4bf92f3577b34da6a3ce929d0e0e473").is_none());
        assert!(SpanId::from_hex("+0f067aa0ba902b7").is_none());
        assert_eq!(
            SpanId::from_hex("00f067aa0ba902b7").unwrap().to_u64(),
            0x00f0_67aa_0ba9_02b7
        );
    }

    #[test]
    fn ids_are_nonzero_and_distinct() {
        let gen = IdGen::new();
        let mut seen = std::collections::HashSet::new();
        for _ in 0..10_000 {
            let s = gen.span_id();
            assert!(s.is_valid());
            assert!(seen.insert(s), "repeated span id");
        }
        let (t, sp) = gen.root_ids();
        assert!(t.is_valid() && sp.is_valid());
        gen.reseed();
        assert!(gen.span_id().is_valid());
    }

    #[test]
    fn sampled_bits_are_uniform() {
        // The sampler compares the trace id's low 64 bits: they must be uniform, or a ratio of
        // 0.5 would sample everything (a weak low half of a product did exactly that).
        let gen = IdGen::new();
        let n = 20_000;
        let high = (0..n)
            .filter(|_| (gen.root_ids().0.to_u128() as u64) >> 63 == 1)
            .count();
        assert!(
            (n * 45 / 100..n * 55 / 100).contains(&high),
            "{high} of {n}"
        );
    }
}
