//! Time as the tool stores it: integer milliseconds since the Unix epoch.
//!
//! Only the edges read the clock; the pure parts take `now` as an argument.

use std::time::{SystemTime, UNIX_EPOCH};

/// A stored time later than now by more than this was written before the
/// clock jumped back (a corrected clock, a restored snapshot of a machine).
/// Readers that decide something (poll or not, pace or not) treat such a
/// time as unknown rather than let it hold them up until the clock
/// catches up.
pub const FUTURE_TOLERANCE_MS: i64 = 60_000;

/// Milliseconds since the Unix epoch, now.
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|elapsed| elapsed.as_millis() as i64)
        .unwrap_or(0)
}

/// Formats a duration in seconds for people: `45 s`, `12 min`, `1 h 12 min`, `2 d 3 h`.
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

/// Parses `90s`, `15m`, `2h`, `1d`, `1h30m` or a bare number of seconds.
pub fn parse_duration(text: &str) -> Result<i64, String> {
    let text = text.trim();
    if text.is_empty() {
        return Err("empty duration".into());
    }
    if let Ok(seconds) = text.parse::<i64>() {
        return if seconds >= 0 {
            Ok(seconds)
        } else {
            Err("a duration cannot be negative".into())
        };
    }
    let mut total: i64 = 0;
    let mut number = String::new();
    for character in text.chars() {
        if character.is_ascii_digit() {
            number.push(character);
            continue;
        }
        let unit = match character {
            's' => 1,
            'm' => 60,
            'h' => 3600,
            'd' => 86_400,
            'w' => 604_800,
            ' ' => continue,
            other => {
                return Err(format!(
                    "unknown unit `{other}` in `{text}` (use s, m, h, d, w)"
                ))
            }
        };
        let value: i64 = number
            .parse()
            .map_err(|_| format!("`{text}` is not a duration like 90s, 15m, 2h or 1h30m"))?;
        total = total.saturating_add(value.saturating_mul(unit));
        number.clear();
    }
    if !number.is_empty() {
        return Err(format!("`{text}` ends without a unit (use s, m, h, d, w)"));
    }
    Ok(total)
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
    fn durations_parse() {
        assert_eq!(parse_duration("90"), Ok(90));
        assert_eq!(parse_duration("15m"), Ok(900));
        assert_eq!(parse_duration("1h30m"), Ok(5400));
        assert_eq!(parse_duration("2d"), Ok(172_800));
        assert!(parse_duration("5x").is_err());
        assert!(parse_duration("5").is_ok());
        assert!(parse_duration("h").is_err());
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
