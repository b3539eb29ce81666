//! `RUST_LOG`'s directive syntax and its matching: `info`, `my_crate::db=debug`,
//! `my_crate=off`, comma-separated, as `env_logger` and `tracing-subscriber`'s `EnvFilter`
//! read them (without span/field filters and without the `/regex` suffix).
//!
//! A leaf: imports only [`Level`].

use std::fmt;

use crate::Level;

/// The most verbose level a directive enables, or `Off`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum LevelFilter {
    /// Nothing.
    Off,
    /// `error` only.
    Error,
    /// `warn` and more severe.
    Warn,
    /// `info` and more severe.
    Info,
    /// `debug` and more severe.
    Debug,
    /// Everything.
    Trace,
}

impl LevelFilter {
    /// `true` if a record at `level` passes.
    #[inline]
    pub const fn allows(self, level: Level) -> bool {
        // Level: Trace=0 .. Error=4; LevelFilter: Off=0, Error=1 .. Trace=5.
        (self as u8) + (level as u8) >= 5
    }

    /// The filter that lets `level` and everything more severe through.
    pub const fn from_level(level: Level) -> LevelFilter {
        match level {
            Level::Trace => LevelFilter::Trace,
            Level::Debug => LevelFilter::Debug,
            Level::Info => LevelFilter::Info,
            Level::Warn => LevelFilter::Warn,
            Level::Error => LevelFilter::Error,
        }
    }

    /// Parses a level name, case-insensitively (`off`, `error`, `warn`, `info`, `debug`,
    /// `trace`), or a number as `env_logger` does (`0` off .. `5` trace).
    pub fn parse(s: &str) -> Option<LevelFilter> {
        Some(match s.to_ascii_lowercase().as_str() {
            "off" | "0" => LevelFilter::Off,
            "error" | "1" => LevelFilter::Error,
            "warn" | "warning" | "2" => LevelFilter::Warn,
            "info" | "3" => LevelFilter::Info,
            "debug" | "4" => LevelFilter::Debug,
            "trace" | "5" => LevelFilter::Trace,
            _ => return None,
        })
    }

    /// Lowercase name.
    pub const fn as_str(self) -> &'static str {
        match self {
            LevelFilter::Off => "off",
            LevelFilter::Error => "error",
            LevelFilter::Warn => "warn",
            LevelFilter::Info => "info",
            LevelFilter::Debug => "debug",
            LevelFilter::Trace => "trace",
        }
    }
}

/// One `target=level` directive (`target` empty: the default).
#[derive(Clone, Debug, PartialEq, Eq)]
struct Directive {
    target: String,
    level: LevelFilter,
}

/// A parsed filter: which targets and levels are recorded (spans, their metrics, and log
/// records). The most specific directive whose target is a prefix of a record's target decides
/// (as in `env_logger` and `EnvFilter`, a plain string prefix: `my_crate` also matches
/// `my_crate_utils`); records no directive names use the default level (`error`... see
/// [`Filter::parse`]).
///
/// ```
/// use instrument_runtime::{Filter, Level};
/// let f = Filter::parse("warn,shop::db=debug,shop::db::pool=off").unwrap();
/// assert!(f.enabled("shop::db::query", Level::Debug));
/// assert!(!f.enabled("shop::db::pool", Level::Error));
/// assert!(!f.enabled("shop::http", Level::Info));
/// assert!(f.enabled("shop::http", Level::Warn));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Filter {
    /// By target length, longest first (the most specific match is the first found).
    directives: Vec<Directive>,
    default: LevelFilter,
}

/// Why a filter string was refused: the directive and what is wrong with it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FilterError {
    directive: String,
    reason: &'static str,
}

impl fmt::Display for FilterError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "invalid filter directive {:?}: {}",
            self.directive, self.reason
        )
    }
}

impl std::error::Error for FilterError {}

impl Filter {
    /// A filter with only a default level.
    pub const fn from_level(default: LevelFilter) -> Filter {
        Filter {
            directives: Vec::new(),
            default,
        }
    }

    /// Parses `RUST_LOG` syntax strictly: comma-separated directives, each `level`, `target`
    /// (every level of that target) or `target=level`; the level is a name
    /// (case-insensitive) or `0`..`5`. Empty directives are skipped. Without a bare level the
    /// default is `error` (as `env_logger`'s); a later directive for the same target replaces
    /// an earlier one. Span/field filters (`target[span{field}]=level`) and `env_logger`'s
    /// `/regex` suffix are not supported and are errors.
    pub fn parse(spec: &str) -> Result<Filter, FilterError> {
        let (filter, errors) = Filter::parse_lenient(spec);
        match errors.into_iter().next() {
            Some(e) => Err(e),
            None => Ok(filter),
        }
    }

    /// Like [`Filter::parse`], but skips invalid directives and returns them beside the
    /// filter made of the valid ones (what an environment variable gets: a typo in one
    /// directive must not turn everything off).
    pub fn parse_lenient(spec: &str) -> (Filter, Vec<FilterError>) {
        let mut directives: Vec<Directive> = Vec::new();
        let mut default = None;
        let mut errors = Vec::new();
        for raw in spec.split(',') {
            let d = raw.trim();
            if d.is_empty() {
                continue;
            }
            let error = |reason| FilterError {
                directive: d.to_owned(),
                reason,
            };
            if d.contains('/') {
                errors.push(error("regex filters (`/...`) are not supported"));
                continue;
            }
            if d.contains(['[', ']', '{', '}']) {
                errors.push(error("span and field filters are not supported"));
                continue;
            }
            let (target, level) = match d.split_once('=') {
                Some((t, l)) => {
                    let t = t.trim();
                    let Some(level) = LevelFilter::parse(l.trim()) else {
                        errors.push(error(
                            "unknown level (expected off, error, warn, info, debug or trace)",
                        ));
                        continue;
                    };
                    if t.is_empty() {
                        errors.push(error("empty target before `=`"));
                        continue;
                    }
                    (Some(t), level)
                }
                None => match LevelFilter::parse(d) {
                    Some(level) => (None, level),
                    None => (Some(d), LevelFilter::Trace),
                },
            };
            match target {
                None => default = Some(level),
                Some(t) if !is_target(t) => {
                    errors.push(error(
                        "a target is a module path (letters, digits, `_`, `-`, `::`)",
                    ));
                }
                Some(t) => {
                    directives.retain(|x| x.target != t);
                    directives.push(Directive {
                        target: t.to_owned(),
                        level,
                    });
                }
            }
        }
        // Longest first; equal lengths (which cannot both match one target) by name, so equal
        // filters compare and print alike.
        directives.sort_by(|a, b| {
            b.target
                .len()
                .cmp(&a.target.len())
                .then_with(|| a.target.cmp(&b.target))
        });
        let filter = Filter {
            directives,
            default: default.unwrap_or(LevelFilter::Error),
        };
        (filter, errors)
    }

    /// `true` if records of `target` at `level` are recorded.
    pub fn enabled(&self, target: &str, level: Level) -> bool {
        self.level_for(target).allows(level)
    }

    /// The level filter that applies to `target`.
    pub fn level_for(&self, target: &str) -> LevelFilter {
        self.directives
            .iter()
            .find(|d| target.starts_with(d.target.as_str()))
            .map_or(self.default, |d| d.level)
    }

    /// The most verbose level any target may record (for `log::set_max_level`).
    pub fn max_level(&self) -> LevelFilter {
        self.directives
            .iter()
            .map(|d| d.level)
            .fold(self.default, Ord::max)
    }

    /// `true` when the level alone decides (no per-target directive).
    pub(crate) fn is_level_only(&self) -> bool {
        self.directives.is_empty()
    }

    /// The default level (targets no directive names).
    pub fn default_level(&self) -> LevelFilter {
        self.default
    }
}

impl fmt::Display for Filter {
    /// The filter in directive syntax (parses back to an equal filter).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.default.as_str())?;
        for d in self.directives.iter().rev() {
            write!(f, ",{}={}", d.target, d.level.as_str())?;
        }
        Ok(())
    }
}

impl std::str::FromStr for Filter {
    type Err = FilterError;
    fn from_str(s: &str) -> Result<Filter, FilterError> {
        Filter::parse(s)
    }
}

fn is_target(t: &str) -> bool {
    !t.is_empty()
        && t.chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '_' | '-' | ':' | '.'))
}

#[cfg(test)]
mod tests {
    use super::*;
    use Level::*;

    fn f(s: &str) -> Filter {
        Filter::parse(s).unwrap_or_else(|e| panic!("{s:?}: {e}"))
    }

    #[test]
    fn levels_allow_more_severe() {
        assert!(LevelFilter::Info.allows(Error));
        assert!(LevelFilter::Info.allows(Info));
        assert!(!LevelFilter::Info.allows(Debug));
        assert!(LevelFilter::Trace.allows(Trace));
        assert!(!LevelFilter::Off.allows(Error));
        assert!(LevelFilter::Error.allows(Error) && !LevelFilter::Error.allows(Warn));
    }

    // The cases below are ported from env_logger's filter tests (`filter/mod.rs`: parse_spec_*,
    // match_full_path, match_use_base, match_off ...) and tracing-subscriber's directive tests.

    #[test]
    fn parse_spec_valid() {
        let filter = f("crate1::mod1=error,crate1::mod2,crate2=debug");
        assert_eq!(filter.directives.len(), 3);
        assert_eq!(filter.level_for("crate1::mod1"), LevelFilter::Error);
        assert_eq!(filter.level_for("crate1::mod2"), LevelFilter::Trace);
        assert_eq!(filter.level_for("crate2"), LevelFilter::Debug);
        assert_eq!(filter.default_level(), LevelFilter::Error);
    }

    #[test]
    fn parse_spec_invalid_crate() {
        // env_logger: `crate1::mod1=warn=info` is invalid; the rest is kept.
        let (filter, errors) = Filter::parse_lenient("crate1::mod1=warn=info,crate2=debug");
        assert_eq!(errors.len(), 1);
        assert_eq!(filter.directives.len(), 1);
        assert_eq!(filter.level_for("crate2"), LevelFilter::Debug);
        assert!(Filter::parse("crate1::mod1=warn=info,crate2=debug").is_err());
    }

    #[test]
    fn parse_spec_invalid_level() {
        let (filter, errors) = Filter::parse_lenient("crate1::mod1=noNumber,crate2=debug");
        assert_eq!(errors.len(), 1);
        assert_eq!(filter.directives.len(), 1);
        assert_eq!(filter.level_for("crate2"), LevelFilter::Debug);
    }

    #[test]
    fn parse_spec_string_level_and_case() {
        let filter = f("crate1::mod1=wrong,crate2=warn"
            .replace("wrong,", "WARN,")
            .as_str());
        assert_eq!(filter.level_for("crate1::mod1"), LevelFilter::Warn);
        assert_eq!(filter.level_for("crate2"), LevelFilter::Warn);
        assert_eq!(f("crate1=Info").level_for("crate1"), LevelFilter::Info);
    }

    #[test]
    fn parse_spec_empty_level_is_an_error() {
        let (filter, errors) = Filter::parse_lenient("crate1::mod1=wrong,crate2=");
        assert_eq!(errors.len(), 2);
        assert!(filter.directives.is_empty());
    }

    #[test]
    fn parse_spec_global() {
        let filter = f("warn,crate2=debug");
        assert_eq!(filter.default_level(), LevelFilter::Warn);
        assert_eq!(filter.level_for("crate2"), LevelFilter::Debug);
        assert_eq!(filter.level_for("other"), LevelFilter::Warn);
    }

    #[test]
    fn parse_spec_global_bare_warn_lc() {
        assert_eq!(f("warn").default_level(), LevelFilter::Warn);
        assert_eq!(f("WARN").default_level(), LevelFilter::Warn);
        assert_eq!(f("3").default_level(), LevelFilter::Info);
    }

    #[test]
    fn parse_spec_last_global_wins() {
        // env_logger: the last bare level is the default.
        assert_eq!(f("info,warn").default_level(), LevelFilter::Warn);
        assert_eq!(
            f("crate=debug,crate=warn").level_for("crate"),
            LevelFilter::Warn
        );
    }

    #[test]
    fn parse_spec_off() {
        let filter = f("off");
        assert_eq!(filter.max_level(), LevelFilter::Off);
        assert!(!filter.enabled("any", Error));
        let filter = f("info,noisy=off");
        assert!(!filter.enabled("noisy::inner", Error));
        assert!(filter.enabled("quiet", Info));
    }

    #[test]
    fn parse_spec_empty_and_blank() {
        assert_eq!(f(""), Filter::from_level(LevelFilter::Error));
        assert_eq!(f(" , ,"), Filter::from_level(LevelFilter::Error));
        assert_eq!(f(" info , a = debug ").level_for("a"), LevelFilter::Debug);
    }

    #[test]
    fn unsupported_syntax_is_an_error() {
        assert!(Filter::parse("crate1/foo").is_err());
        assert!(Filter::parse("crate1[span]=debug").is_err());
        assert!(Filter::parse("crate1[{field=1}]=debug").is_err());
        assert!(Filter::parse("=info").is_err());
        assert!(Filter::parse("a b=info").is_err());
    }

    #[test]
    fn match_full_path() {
        let filter = f("crate2=info,crate1::mod1=warn");
        assert!(filter.enabled("crate1::mod1", Warn));
        assert!(!filter.enabled("crate1::mod1", Info));
        assert!(filter.enabled("crate2", Info));
        assert!(!filter.enabled("crate2", Debug));
        assert!(!filter.enabled("crate3", Warn));
        assert!(filter.enabled("crate3", Error), "the default is error");
    }

    #[test]
    fn match_use_base() {
        let filter = f("crate1::mod1=warn,crate2=info");
        assert!(filter.enabled("crate2::mod1", Info));
    }

    #[test]
    fn match_beginning_longest_match() {
        let filter = f("crate2=info,crate2::mod=debug,crate1::mod1=warn");
        assert!(filter.enabled("crate2::mod1", Debug));
        assert!(!filter.enabled("crate2::other", Debug));
        assert!(filter.enabled("crate2::other", Info));
    }

    #[test]
    fn match_default_and_zero() {
        let filter = f("info,crate1::mod1=warn");
        assert!(filter.enabled("crate2::mod2", Info));
        let filter = f("crate1::mod1=off");
        assert!(!filter.enabled("crate1::mod1", Error));
    }

    #[test]
    fn plain_prefix_like_env_logger() {
        let filter = f("off,crate1=info");
        assert!(filter.enabled("crate1_utils", Info));
    }

    #[test]
    fn max_level_and_display_round_trip() {
        let filter = f("warn,a=debug,a::b=off,c=trace");
        assert_eq!(filter.max_level(), LevelFilter::Trace);
        assert_eq!(f(&filter.to_string()), filter);
        assert_eq!(f("error").max_level(), LevelFilter::Error);
    }
}
