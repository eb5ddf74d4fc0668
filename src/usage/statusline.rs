//! The status line: a free, official usage reading on every refresh, and
//! the one line the person sees.
//!
//! For subscription logins Claude Code puts `rate_limits` into the
//! status-line input (percent 0-100, resets in epoch seconds), taken from
//! the rate-limit headers of its latest Messages API response. That is the
//! freshest official figure there is, and it costs no request, so it is
//! recorded as a `statusline` snapshot, but only when the figures changed
//! or the last one is a minute old: the status line refreshes often and
//! the store should not grow by a row per refresh. The prompt cache's
//! time-to-live (`prompt_cache.ttl`) is kept in `meta` for pacing, which
//! must not sleep past it.
//!
//! Parsing and rendering are pure; [`record`] is the store edge. The
//! command around them (stdin, `--chain`, printing) is
//! `commands::statusline`.

use serde_json::Value;

use super::snapshot::{
    self, ExtraUsage, SnapshotSource, UsageSnapshot, WindowKind, WindowReading,
    META_PROMPT_CACHE_TTL_SECONDS,
};
use crate::controls::Control;
use crate::store::{self, Store};

/// Unchanged figures are recorded again once the last record is this old.
pub const RECORD_AGAIN_AFTER_MS: i64 = 60_000;
/// A pacing decision older than this is not "the current delay".
pub const RECENT_DECISION_MS: i64 = 5 * 60_000;
/// Within this many points of the pace line counts as on pace.
const ON_PACE_POINTS: f64 = 1.0;

/// What one status-line input tells us.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct StatuslineReading {
    /// From `rate_limits`; absent for API-key logins.
    pub snapshot: Option<UsageSnapshot>,
    /// From `prompt_cache.ttl` (`5m`, `1h`).
    pub prompt_cache_ttl_s: Option<i64>,
    /// `session_id` and `model.id`: the session's model, which pacing
    /// reads to pace the weekly window of its family.
    pub session_model: Option<(String, String)>,
}

/// Reads the status-line JSON. Anything that is not a JSON object reads as
/// an input that says nothing.
pub fn parse_input(bytes: &[u8], now_ms: i64) -> StatuslineReading {
    let Ok(Value::Object(input)) = serde_json::from_slice::<Value>(bytes) else {
        return StatuslineReading::default();
    };
    let snapshot = input
        .get("rate_limits")
        .and_then(|limits| rate_limits_snapshot(limits, now_ms));
    let prompt_cache_ttl_s = input
        .get("prompt_cache")
        .and_then(|cache| cache.get("ttl"))
        .and_then(ttl_seconds);
    let session_model = input
        .get("session_id")
        .and_then(Value::as_str)
        .zip(
            input
                .get("model")
                .and_then(|model| model.get("id").or(Some(model)))
                .and_then(Value::as_str),
        )
        .filter(|(session, model)| !session.is_empty() && !model.is_empty())
        .map(|(session, model)| (session.to_string(), model.to_string()));
    StatuslineReading {
        snapshot,
        prompt_cache_ttl_s,
        session_model,
    }
}

fn rate_limits_snapshot(limits: &Value, now_ms: i64) -> Option<UsageSnapshot> {
    let limits = limits.as_object()?;
    let window = |key: &str| limits.get(key).and_then(parse_window);
    let snapshot = UsageSnapshot {
        source: SnapshotSource::Statusline,
        taken_at_ms: now_ms,
        five_hour: window("five_hour"),
        seven_day: window("seven_day"),
        seven_day_opus: window("seven_day_opus"),
        seven_day_sonnet: window("seven_day_sonnet"),
        raw_json: serde_json::to_string(limits).ok(),
    };
    let any = snapshot.five_hour.is_some()
        || snapshot.seven_day.is_some()
        || snapshot.seven_day_opus.is_some()
        || snapshot.seven_day_sonnet.is_some();
    any.then_some(snapshot)
}

/// `{"used_percentage": 42, "resets_at": 1795483306}`.
fn parse_window(value: &Value) -> Option<WindowReading> {
    let percent = value
        .get("used_percentage")?
        .as_f64()
        .filter(|percent| percent.is_finite())?;
    let resets_at_s = value
        .get("resets_at")
        .and_then(|resets| match resets {
            Value::Number(number) => number
                .as_i64()
                .or_else(|| number.as_f64().map(|float| float as i64)),
            Value::String(text) => text.trim().parse::<i64>().ok().or_else(|| {
                text.parse::<jiff::Timestamp>()
                    .ok()
                    .map(|timestamp| timestamp.as_second())
            }),
            _ => None,
        })
        .and_then(snapshot::plausible_reset_s);
    Some(WindowReading {
        percent,
        resets_at_s,
    })
}

/// `"5m"`, `"1h"` (or a number of seconds).
fn ttl_seconds(value: &Value) -> Option<i64> {
    let seconds = match value {
        Value::String(text) => crate::clock::wire_seconds(text)?,
        Value::Number(number) => number.as_i64()?,
        _ => return None,
    };
    (seconds > 0).then_some(seconds)
}

/// Whether a new reading is worth a row: the figures changed, or the last
/// statusline row is a minute old.
pub fn should_record(previous: Option<&UsageSnapshot>, reading: &UsageSnapshot) -> bool {
    match previous {
        None => true,
        Some(previous) => {
            !previous.same_figures(reading)
                || reading.taken_at_ms - previous.taken_at_ms >= RECORD_AGAIN_AFTER_MS
        }
    }
}

/// What [`record`] stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Recorded {
    /// A snapshot row was written.
    pub snapshot: bool,
    /// Its figures differ from the status line's reading before: the
    /// no-delay passes end (`pacing::pass`).
    pub new_figures: bool,
}

/// Stores what the input said, when it says something new.
pub fn record(store: &mut Store, reading: &StatuslineReading) -> rusqlite::Result<Recorded> {
    let (snapshot_due, new_figures) = match &reading.snapshot {
        Some(new) => {
            let previous = snapshot::latest(store.connection(), SnapshotSource::Statusline)?;
            (
                should_record(previous.as_ref(), new),
                previous.is_none_or(|previous| !previous.same_figures(new)),
            )
        }
        None => (false, false),
    };
    let recorded = Recorded {
        snapshot: snapshot_due,
        new_figures,
    };
    let ttl_text = reading
        .prompt_cache_ttl_s
        .map(|seconds| seconds.to_string());
    let ttl_due = match &ttl_text {
        Some(text) => store.meta(META_PROMPT_CACHE_TTL_SECONDS)?.as_ref() != Some(text),
        None => false,
    };
    // The model is written only when it changed (`/model`), so a refresh
    // costs a read, not a write.
    let model_due = match &reading.session_model {
        Some((session, model)) => {
            crate::sessions::model_differs(store.connection(), session, model)?
        }
        None => false,
    };
    if !snapshot_due && !ttl_due && !model_due {
        return Ok(recorded);
    }
    store.write(|transaction| {
        if let (true, Some((session, model))) = (model_due, &reading.session_model) {
            crate::sessions::set_model(transaction, session, model)?;
        }
        if let (true, Some(snapshot)) = (snapshot_due, &reading.snapshot) {
            snapshot::insert(transaction, snapshot)?;
        }
        if let (true, Some(text)) = (ttl_due, &ttl_text) {
            store::set_meta(transaction, META_PROMPT_CACHE_TTL_SECONDS, text)?;
        }
        Ok(())
    })?;
    Ok(recorded)
}

/// Points above (positive) or below the simple pace line: the target
/// times the elapsed share of the window. Needs a reset time.
pub fn pace_points(
    reading: WindowReading,
    kind: WindowKind,
    now_s: i64,
    target_percent: f64,
) -> Option<f64> {
    let resets_at = reading.resets_at_s?;
    let length = kind.length_s() as f64;
    let elapsed_share = (1.0 - (resets_at - now_s) as f64 / length).clamp(0.0, 1.0);
    Some(reading.percent - target_percent * elapsed_share)
}

/// What the line shows.
#[derive(Debug, Clone, PartialEq)]
pub struct LineFacts {
    /// The figures to show, already as they stand now (`UsageSnapshot::at`).
    pub snapshot: Option<UsageSnapshot>,
    /// Shown as "N min old" when the figures are older than this.
    pub stale_after_ms: i64,
    pub target_percent: f64,
    pub delay_ms: Option<i64>,
    /// The window that decided the delay.
    pub delay_window: Option<WindowKind>,
    /// Extra usage, when the usage endpoint reported it enabled.
    pub extra_usage: Option<ExtraUsage>,
    pub control: Control,
}

/// The one compact line: `5h 42% (3 ahead) · wk 17% (on pace) · opus 80%
/// · extra 12.50/50.00 · delay 12s (opus)`.
pub fn render(facts: &LineFacts, now_ms: i64) -> String {
    let now_s = now_ms.div_euclid(1000);
    let mut parts: Vec<String> = Vec::new();
    if let Some(snapshot) = &facts.snapshot {
        for (kind, short) in [
            (WindowKind::FiveHour, "5h"),
            (WindowKind::SevenDay, "wk"),
            (WindowKind::SevenDayOpus, "opus"),
            (WindowKind::SevenDaySonnet, "sonnet"),
        ] {
            let Some(reading) = snapshot.window(kind) else {
                continue;
            };
            let mut part = format!("{short} {:.0}%", reading.percent);
            if let Some(points) = pace_points(reading, kind, now_s, facts.target_percent) {
                part.push_str(&match points {
                    p if p >= ON_PACE_POINTS => format!(" ({:.0} ahead)", p),
                    p if p <= -ON_PACE_POINTS => format!(" ({:.0} behind)", -p),
                    _ => " (on pace)".to_string(),
                });
            }
            parts.push(part);
        }
        let age_ms = now_ms - snapshot.taken_at_ms;
        if !parts.is_empty() && age_ms > facts.stale_after_ms {
            parts.push(format!("{} min old", age_ms / 60_000));
        }
    }
    if parts.is_empty() {
        parts.push("pace-maker: no usage figures".to_string());
    }
    if let Some(extra) = facts.extra_usage.filter(|extra| extra.is_enabled) {
        let amount = |value: Option<f64>| value.map_or("?".to_string(), |v| format!("{v:.2}"));
        parts.push(match extra.monthly_limit {
            Some(limit) => format!(
                "extra {}/{}",
                amount(extra.used_credits),
                amount(Some(limit))
            ),
            None => format!("extra {}", amount(extra.used_credits)),
        });
    }
    match facts.control {
        Control::Off => parts.push("pacing off".to_string()),
        Control::Paused { .. } => parts.push("paused".to_string()),
        Control::On => {
            if let Some(delay_ms) = facts.delay_ms.filter(|delay| *delay > 0) {
                let mut part = format!("delay {}", compact_duration(delay_ms / 1000));
                if let Some(window) = facts.delay_window {
                    part.push_str(&format!(" ({})", short_label(window)));
                }
                parts.push(part);
            }
        }
    }
    parts.join(" · ")
}

/// The window's name on the line: `5h`, `wk`, `opus`, `sonnet`.
fn short_label(kind: WindowKind) -> &'static str {
    match kind {
        WindowKind::FiveHour => "5h",
        WindowKind::SevenDay => "wk",
        WindowKind::SevenDayOpus => "opus",
        WindowKind::SevenDaySonnet => "sonnet",
    }
}

/// `12s`, `4m05s`, `2h10m`.
fn compact_duration(seconds: i64) -> String {
    match seconds {
        s if s < 60 => format!("{s}s"),
        s if s < 3600 => format!("{}m{:02}s", s / 60, s % 60),
        s => format!("{}h{:02}m", s / 3600, (s % 3600) / 60),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FIXTURE: &str =
        include_str!("../../tests/fixtures/claude-code-2.1.330/statusline-inputs-oauth.jsonl");

    fn reading(percent: f64, resets_at_s: Option<i64>) -> WindowReading {
        WindowReading {
            percent,
            resets_at_s,
        }
    }

    #[test]
    fn the_oauth_fixture_yields_both_windows_and_the_cache_ttl() {
        let second = FIXTURE.lines().nth(1).unwrap();
        let parsed = parse_input(second.as_bytes(), 7);
        let snapshot = parsed.snapshot.unwrap();
        assert_eq!(snapshot.source, SnapshotSource::Statusline);
        assert_eq!(snapshot.taken_at_ms, 7);
        assert_eq!(snapshot.five_hour, Some(reading(42.0, Some(1_795_483_306))));
        assert_eq!(snapshot.seven_day, Some(reading(17.0, Some(1_795_911_706))));
        assert_eq!(parsed.prompt_cache_ttl_s, Some(3600));
        // The first line comes before any response: no figures yet.
        let first = parse_input(FIXTURE.lines().next().unwrap().as_bytes(), 7);
        assert_eq!(first.snapshot, None);
        assert_eq!(first.prompt_cache_ttl_s, None);
        // The session's model, for pacing its family's weekly window.
        assert_eq!(
            first.session_model,
            Some((
                "a59b04e0-bbec-4c1d-b2df-f0cef63833a9".to_string(),
                "claude-opus-5-5".to_string()
            ))
        );
    }

    #[test]
    fn an_absurd_reset_time_reads_as_unknown() {
        for resets_at in [
            "1e30",
            "-1e30",
            "9223372036854775807",
            "-5",
            "\"99999999999\"",
        ] {
            let input = format!(
                r#"{{"rate_limits":{{"five_hour":{{"used_percentage":50,"resets_at":{resets_at}}}}}}}"#
            );
            let snapshot = parse_input(input.as_bytes(), 0).snapshot.unwrap();
            assert_eq!(snapshot.five_hour, Some(reading(50.0, None)), "{resets_at}");
        }
    }

    #[test]
    fn odd_inputs_read_as_saying_nothing() {
        for input in [
            "",
            "not json",
            "[]",
            r#"{"rate_limits":null}"#,
            r#"{"rate_limits":{"five_hour":null}}"#,
            r#"{"rate_limits":{"five_hour":{"used_percentage":"x"}}}"#,
            r#"{"prompt_cache":{"ttl":"soon"}}"#,
        ] {
            assert_eq!(
                parse_input(input.as_bytes(), 0),
                StatuslineReading::default(),
                "{input}"
            );
        }
        let partial = parse_input(
            br#"{"rate_limits":{"seven_day":{"used_percentage":5.5,"resets_at":"2026-11-30T00:00:00Z"}},"prompt_cache":{"ttl":"5m"}}"#,
            0,
        );
        let snapshot = partial.snapshot.unwrap();
        assert_eq!(snapshot.five_hour, None);
        assert_eq!(snapshot.seven_day.unwrap().percent, 5.5);
        assert!(snapshot.seven_day.unwrap().resets_at_s.is_some());
        assert_eq!(partial.prompt_cache_ttl_s, Some(300));
    }

    #[test]
    fn a_reading_is_recorded_when_it_changed_or_a_minute_passed() {
        let at = |ms: i64, five: f64| UsageSnapshot {
            source: SnapshotSource::Statusline,
            taken_at_ms: ms,
            five_hour: Some(reading(five, Some(100))),
            seven_day: None,
            seven_day_opus: None,
            seven_day_sonnet: None,
            raw_json: None,
        };
        let previous = at(1_000, 42.0);
        let table = [
            ("the first reading", None, at(1_000, 42.0), true),
            (
                "the same figures soon after",
                Some(&previous),
                at(30_000, 42.0),
                false,
            ),
            (
                "the same figures a minute later",
                Some(&previous),
                at(61_000, 42.0),
                true,
            ),
            (
                "changed figures at once",
                Some(&previous),
                at(1_001, 43.0),
                true,
            ),
        ];
        for (name, previous, new, expected) in table {
            assert_eq!(should_record(previous, &new), expected, "{name}");
        }
    }

    #[test]
    fn pace_is_the_target_times_the_elapsed_share() {
        let now = 1_000_000;
        let five = WindowKind::FiveHour.length_s();
        // Half the window gone, target 100: the pace line is at 50.
        let half = reading(60.0, Some(now + five / 2));
        assert_eq!(
            pace_points(half, WindowKind::FiveHour, now, 100.0),
            Some(10.0)
        );
        // Just reset: the pace line is at 0.
        let fresh = reading(0.0, Some(now + five));
        assert_eq!(
            pace_points(fresh, WindowKind::FiveHour, now, 95.0),
            Some(0.0)
        );
        assert_eq!(
            pace_points(reading(3.0, None), WindowKind::FiveHour, now, 95.0),
            None
        );
    }

    #[test]
    fn the_line_shows_windows_pace_delay_and_switch() {
        let now_ms = 1_000_000_000;
        let now_s = now_ms / 1000;
        let five = WindowKind::FiveHour.length_s();
        let week = WindowKind::SevenDay.length_s();
        let snapshot = UsageSnapshot {
            source: SnapshotSource::Statusline,
            taken_at_ms: now_ms,
            five_hour: Some(reading(60.0, Some(now_s + five / 2))),
            seven_day: Some(reading(10.0, Some(now_s + week / 2))),
            seven_day_opus: None,
            seven_day_sonnet: None,
            raw_json: None,
        };
        let facts = LineFacts {
            snapshot: Some(snapshot.clone()),
            stale_after_ms: 900_000,
            target_percent: 100.0,
            delay_ms: Some(12_400),
            delay_window: None,
            extra_usage: None,
            control: Control::On,
        };
        let table = [
            (
                "everything",
                facts.clone(),
                "5h 60% (10 ahead) · wk 10% (40 behind) · delay 12s",
            ),
            (
                "no delay",
                LineFacts {
                    delay_ms: Some(0),
                    ..facts.clone()
                },
                "5h 60% (10 ahead) · wk 10% (40 behind)",
            ),
            (
                "the Opus weekly window decides, extra usage on",
                LineFacts {
                    snapshot: Some(UsageSnapshot {
                        seven_day_opus: Some(reading(90.0, Some(now_s + week / 2))),
                        ..snapshot.clone()
                    }),
                    delay_window: Some(WindowKind::SevenDayOpus),
                    extra_usage: Some(ExtraUsage {
                        is_enabled: true,
                        monthly_limit: Some(50.0),
                        used_credits: Some(12.5),
                        utilization: Some(25.0),
                    }),
                    ..facts.clone()
                },
                "5h 60% (10 ahead) · wk 10% (40 behind) · opus 90% (40 ahead) · extra 12.50/50.00 · delay 12s (opus)",
            ),
            (
                "paused hides the delay",
                LineFacts {
                    delay_window: None,
                    extra_usage: None,
                    control: Control::Paused { until_ms: 0 },
                    ..facts.clone()
                },
                "5h 60% (10 ahead) · wk 10% (40 behind) · paused",
            ),
            (
                "old figures say so",
                LineFacts {
                    snapshot: Some(UsageSnapshot {
                        taken_at_ms: now_ms - 20 * 60_000,
                        ..snapshot.clone()
                    }),
                    delay_ms: None,
                    ..facts.clone()
                },
                "5h 60% (10 ahead) · wk 10% (40 behind) · 20 min old",
            ),
            (
                "an API-key login with nothing known",
                LineFacts {
                    snapshot: None,
                    delay_ms: Some(65_000),
                    ..facts.clone()
                },
                "pace-maker: no usage figures · delay 1m05s",
            ),
        ];
        for (name, facts, expected) in table {
            assert_eq!(render(&facts, now_ms), expected, "{name}");
        }
    }

    #[test]
    fn recording_writes_only_new_figures_and_a_changed_ttl() {
        let dir = tempfile::tempdir().unwrap();
        let mut store =
            Store::open(&dir.path().join("db"), std::time::Duration::from_secs(1)).unwrap();
        let second = FIXTURE.lines().nth(1).unwrap().as_bytes();
        assert!(
            record(&mut store, &parse_input(second, 1_000))
                .unwrap()
                .snapshot
        );
        assert!(
            !record(&mut store, &parse_input(second, 2_000))
                .unwrap()
                .snapshot
        );
        assert!(
            record(&mut store, &parse_input(second, 61_000))
                .unwrap()
                .snapshot
        );
        assert_eq!(
            store
                .meta(META_PROMPT_CACHE_TTL_SECONDS)
                .unwrap()
                .as_deref(),
            Some("3600")
        );
        let rows: i64 = store
            .connection()
            .query_row("SELECT count(*) FROM usage_snapshots", [], |row| row.get(0))
            .unwrap();
        assert_eq!(rows, 2);
    }
}
