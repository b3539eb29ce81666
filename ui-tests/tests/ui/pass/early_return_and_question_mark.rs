// Early `return` and `?` (converting errors through `From`) come back through the span.
use std::num::ParseIntError;

use instrument_runtime::export::SpanStatus;
use instrument_runtime::instrument;
use instrument_ui_tests::{collect, spans};

#[derive(Debug)]
enum AppError {
    Parse(ParseIntError),
    Negative,
}

impl From<ParseIntError> for AppError {
    fn from(e: ParseIntError) -> Self {
        AppError::Parse(e)
    }
}

impl std::fmt::Display for AppError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{self:?}")
    }
}

#[instrument(err)]
fn parse(s: &str) -> Result<u32, AppError> {
    if s.is_empty() {
        return Ok(0);
    }
    let n: i64 = s.trim().parse()?;
    if n < 0 {
        return Err(AppError::Negative);
    }
    Ok(u32::try_from(n).unwrap_or(u32::MAX))
}

#[instrument]
fn boxed(s: &str) -> Result<u8, Box<dyn std::error::Error>> {
    let n: u8 = s.parse()?;
    Ok(n)
}

#[instrument]
fn first_even(xs: &[u32]) -> Option<u32> {
    for &x in xs {
        if x % 2 == 0 {
            return Some(x);
        }
    }
    let last = xs.last()?;
    Some(*last + 1)
}

fn main() {
    let (telemetry, collected) = collect();
    assert_eq!(parse("").unwrap(), 0);
    assert_eq!(parse(" 12 ").unwrap(), 12);
    assert!(matches!(parse("-1"), Err(AppError::Negative)));
    assert!(matches!(parse("x"), Err(AppError::Parse(_))));
    assert!(boxed("300").is_err());
    assert_eq!(first_even(&[1, 4]), Some(4));
    assert_eq!(first_even(&[]), None);
    let errors = spans(&telemetry, &collected, "parse")
        .into_iter()
        .filter(|s| matches!(s.status, SpanStatus::Error { .. }))
        .count();
    assert_eq!(errors, 2);
    assert_eq!(collected.call_count("parse", "error"), 2);
    assert_eq!(collected.call_count("parse", "ok"), 2);
    assert_eq!(collected.call_count("boxed", "error"), 1);
}
