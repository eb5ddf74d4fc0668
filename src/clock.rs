//! Time as the tool stores it: integer milliseconds since the Unix epoch.
//!
//! Only the edges read the clock; the pure parts take `now` as an argument.

use std::time::{SystemTime, UNIX_EPOCH};

use crate::hint::Hinted;

/// A stored time later than now by more than this was written before the
/// clock jumped back (a corrected clock, a restored snapshot of a machine).
/// Readers that decide something (poll or not, pace or not) treat such a
/// time as unknown rather than let it hold them up until the clock
/// catches up.
pub const FUTURE_TOLERANCE_MS: i64 = 60_000;

/// Milliseconds since the Unix epoch, now.
///
/// In test builds (debug assertions on) the variable
/// [`crate::paths::ENV_TEST_NOW_MS`] sets a virtual now, so the tests can
/// run the built hook through a quarter hour of a mission in a second; the
/// hook then records its sleeps without taking them. A release build
/// ignores the variable.
pub fn now_ms() -> i64 {
    if let Some(now) = virtual_now_ms() {
        return now;
    }
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|elapsed| elapsed.as_millis() as i64)
        .unwrap_or(0)
}

/// The virtual now of a test build, if one is set.
pub fn virtual_now_ms() -> Option<i64> {
    if !cfg!(debug_assertions) {
        return None;
    }
    static VIRTUAL: std::sync::OnceLock<Option<i64>> = std::sync::OnceLock::new();
    *VIRTUAL.get_or_init(|| {
        crate::paths::env(crate::paths::ENV_TEST_NOW_MS).and_then(|text| text.parse().ok())
    })
}

/// Formats a duration in seconds for people: `45 s`, `12 min`, `1 h 12 min`, `2 d 3 h`.
///
/// Kept by hand rather than through jiff's friendly printer (which parses
/// our durations, see [`parse_span`]): its designators are `45s`/`12m` or
/// `45secs`/`12mins`, not the `s`/`min`/`h`/`d` every message, status and
/// pacing reason already shows, and the cut to the two largest units
/// would still be ours to write.
pub fn human_duration(seconds: i64) -> String {
    let seconds = seconds.max(0);
    if seconds < 60 {
        format!("{seconds} s")
    } else if seconds < 3600 {
        format!("{} min", seconds / 60)
    } else if seconds < 86_400 {
        let minutes = (seconds % 3600) / 60;
        if minutes == 0 {
            format!("{} h", seconds / 3600)
        } else {
            format!("{} h {} min", seconds / 3600, minutes)
        }
    } else {
        let hours = (seconds % 86_400) / 3600;
        if hours == 0 {
            format!("{} d", seconds / 86_400)
        } else {
            format!("{} d {} h", seconds / 86_400, hours)
        }
    }
}

/// The words every command takes for a length of time and a point in the
/// past (`pause`, `history --since`, `report --since/--until`), in one
/// place so they never disagree:
///
/// - a duration always has units, in jiff's friendly format: `90s`, `15m`,
///   `2h`, `1h30m`, `1h 30m`, `7d`, `2w`, `90 minutes`;
/// - a date is `YYYY-MM-DD` or ccusage's `YYYYMMDD`, and means the start
///   of that day (local time, or the report's `--timezone`);
/// - any other bare number is refused: `90` could be seconds, minutes or
///   a date, so it has to say which.
pub fn parse_span(text: &str) -> Result<jiff::Span, Hinted> {
    let text = text.trim();
    if text.is_empty() {
        return Err(Hinted::new("an empty duration", ""));
    }
    if text.bytes().all(|byte| byte.is_ascii_digit()) {
        return Err(Hinted::new(
            format!("`{text}` has no unit"),
            format!("write {text}m, {text}s or 1h30m"),
        ));
    }
    let span: jiff::Span = text.parse().map_err(|_| {
        Hinted::new(
            format!("`{text}` is not a duration"),
            "write one like 90s, 15m, 2h, 1h30m or 7d",
        )
    })?;
    if span.is_negative() {
        return Err(Hinted::new(
            format!("`{text}`: a duration cannot be negative"),
            "",
        ));
    }
    Ok(span)
}

/// A duration's length in seconds from `now_ms` on (so `1d` across a
/// daylight saving change is a calendar day), in the system's time zone.
pub fn parse_duration(text: &str, now_ms: i64) -> Result<i64, Hinted> {
    let span = parse_span(text)?;
    let end = shift(now_ms, &jiff::tz::TimeZone::system(), span, text)?;
    Ok((end - now_ms) / 1000)
}

/// `now_ms` moved by `span` in `time_zone`.
fn shift(
    now_ms: i64,
    time_zone: &jiff::tz::TimeZone,
    span: jiff::Span,
    text: &str,
) -> Result<i64, Hinted> {
    let now = jiff::Timestamp::from_millisecond(now_ms)
        .map_err(|error| Hinted::new(error.to_string(), ""))?
        .to_zoned(time_zone.clone());
    now.checked_add(span)
        .map(|at| at.timestamp().as_millisecond())
        .map_err(|_| Hinted::new(format!("`{text}` is too long a duration"), ""))
}

/// A length of time a program wrote (Claude Code's prompt-cache TTL,
/// `"5m"`, `"1h"`), in seconds: a bare number is seconds there, and a day
/// is 24 hours. People's durations go through [`parse_span`] instead.
pub fn wire_seconds(text: &str) -> Option<i64> {
    let text = text.trim();
    if let Ok(seconds) = text.parse::<i64>() {
        return Some(seconds);
    }
    let span: jiff::Span = text.parse().ok()?;
    let total = span
        .total((
            jiff::Unit::Second,
            jiff::SpanRelativeTo::days_are_24_hours(),
        ))
        .ok()?;
    Some(total as i64)
}

/// A point in the past as a person writes it: a date, or how long ago.
#[derive(Debug, Clone, Copy)]
pub enum Since {
    /// The start of this day.
    Date(jiff::civil::Date),
    /// This long before now.
    Ago(jiff::Span),
}

impl Since {
    /// Parses `2026-01-31`, `20260131`, or a duration (see [`parse_span`]).
    pub fn parse(text: &str) -> Result<Self, Hinted> {
        let text = text.trim();
        let is_date_shape = (text.len() == 8 && text.bytes().all(|byte| byte.is_ascii_digit()))
            || (text.len() == 10
                && text.bytes().enumerate().all(|(at, byte)| {
                    if at == 4 || at == 7 {
                        byte == b'-'
                    } else {
                        byte.is_ascii_digit()
                    }
                }));
        if is_date_shape {
            let dashed = if text.len() == 8 {
                format!("{}-{}-{}", &text[0..4], &text[4..6], &text[6..8])
            } else {
                text.to_string()
            };
            return dashed
                .parse::<jiff::civil::Date>()
                .map(Since::Date)
                .map_err(|_| {
                    Hinted::new(
                        format!("`{text}` is not a date"),
                        "write one like 2026-01-31 or 20260131",
                    )
                });
        }
        parse_span(text).map(Since::Ago).map_err(|_| {
            // A bare number has no unit (see `parse_span`).
            if text.bytes().all(|byte| byte.is_ascii_digit()) {
                Hinted::new(
                    format!("`{text}` has no unit"),
                    format!("write how long ago, like {text}m or {text}h, or a date like 20260131"),
                )
            } else {
                Hinted::new(
                    format!("`{text}` is neither a duration nor a date"),
                    "write how long ago, like 90m, 24h or 7d, or a date like 2026-01-31",
                )
            }
        })
    }

    /// The instant it names.
    pub fn start_ms(self, now_ms: i64, time_zone: &jiff::tz::TimeZone) -> Result<i64, Hinted> {
        match self {
            Since::Date(date) => date
                .to_zoned(time_zone.clone())
                .map(|day| {
                    day.start_of_day()
                        .map_or(day.timestamp(), |start| start.timestamp())
                })
                .map(|start| start.as_millisecond())
                .map_err(|error| Hinted::new(error.to_string(), "")),
            Since::Ago(span) => shift(now_ms, time_zone, span.negate(), "the duration"),
        }
    }

    /// The calendar day it falls in.
    pub fn date(
        self,
        now_ms: i64,
        time_zone: &jiff::tz::TimeZone,
    ) -> Result<jiff::civil::Date, Hinted> {
        match self {
            Since::Date(date) => Ok(date),
            Since::Ago(_) => {
                let at = jiff::Timestamp::from_millisecond(self.start_ms(now_ms, time_zone)?)
                    .map_err(|error| Hinted::new(error.to_string(), ""))?;
                Ok(time_zone.to_datetime(at).date())
            }
        }
    }
}

/// A time for people, in the system's time zone: `14:05` today,
/// `Dec 03 14:05` on another day.
pub fn local_time(ms: i64, now_ms: i64) -> String {
    let time_zone = jiff::tz::TimeZone::system();
    let (Ok(at), Ok(now)) = (
        jiff::Timestamp::from_millisecond(ms),
        jiff::Timestamp::from_millisecond(now_ms),
    ) else {
        return iso(ms);
    };
    let (at, now) = (at.to_zoned(time_zone.clone()), now.to_zoned(time_zone));
    if at.date() == now.date() {
        at.strftime("%H:%M").to_string()
    } else {
        at.strftime("%b %d %H:%M").to_string()
    }
}

/// RFC 3339 in UTC, for JSON output.
pub fn iso(ms: i64) -> String {
    jiff::Timestamp::from_millisecond(ms)
        .map(|timestamp| timestamp.to_string())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_need_units() {
        let now = 1_700_000_000_000;
        assert_eq!(parse_duration("15m", now), Ok(900));
        assert_eq!(parse_duration("1h30m", now), Ok(5400));
        assert_eq!(parse_duration("1h 30m", now), Ok(5400));
        assert_eq!(parse_duration("90s", now), Ok(90));
        assert_eq!(parse_duration("2w", now).map(|s| s / 86_400), Ok(14));
        for bad in ["90", "5x", "h", "", "-1h"] {
            assert!(parse_duration(bad, now).is_err(), "{bad}");
        }
        assert!(parse_duration("90", now)
            .unwrap_err()
            .hint()
            .contains("90m"));
    }

    #[test]
    fn wire_durations_read_bare_seconds() {
        assert_eq!(wire_seconds("5m"), Some(300));
        assert_eq!(wire_seconds("1h"), Some(3600));
        assert_eq!(wire_seconds("90"), Some(90));
        assert_eq!(wire_seconds("soon"), None);
    }

    #[test]
    fn since_is_a_date_or_how_long_ago() {
        let utc = jiff::tz::TimeZone::UTC;
        let now = 1_700_000_000_000;
        let day: jiff::civil::Date = "2026-12-01".parse().unwrap();
        for text in ["20261201", "2026-12-01"] {
            assert!(matches!(Since::parse(text), Ok(Since::Date(date)) if date == day));
        }
        assert_eq!(
            Since::parse("24h").unwrap().start_ms(now, &utc),
            Ok(now - 86_400_000)
        );
        assert_eq!(
            Since::parse("20261201").unwrap().start_ms(now, &utc),
            Ok(jiff::Timestamp::from_second(1_796_083_200)
                .unwrap()
                .as_millisecond())
        );
        assert!(Since::parse("90")
            .unwrap_err()
            .message()
            .contains("has no unit"));
        assert!(Since::parse("20261301").is_err());
    }

    #[test]
    fn durations_print() {
        assert_eq!(human_duration(45), "45 s");
        assert_eq!(human_duration(720), "12 min");
        assert_eq!(human_duration(4320), "1 h 12 min");
        assert_eq!(human_duration(3600), "1 h");
        assert_eq!(human_duration(183_600), "2 d 3 h");
    }
}
