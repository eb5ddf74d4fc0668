//! `pace-maker history [--since 24h] [--json] [--svg FILE]`: the usage
//! readings and pacing decisions of a past span, as tables, JSON, or the
//! usage chart.
//!
//! The JSON form is documented in `docs/history-json.md` and, like
//! `status --json`, only ever gains fields.

use std::io::{IsTerminal, Write};
use std::process::ExitCode;

use anyhow::Context;
use serde::Serialize;

use crate::cli::HistoryArgs;
use crate::clock::{self, human_duration};
use crate::dashboard::data::{self, DecisionRow};
use crate::dashboard::paint::Paint;
use crate::paths::ToolHome;
use crate::usage::snapshot::{self, UsageSnapshot, WindowKind, WindowReading};

/// The version of the `history --json` schema.
pub const HISTORY_SCHEMA_VERSION: u32 = 1;

#[derive(Debug, Serialize)]
pub struct HistoryReport {
    pub schema_version: u32,
    pub since: String,
    pub until: String,
    pub snapshots: Vec<SnapshotEntry>,
    pub decisions: Vec<DecisionEntry>,
}

#[derive(Debug, Serialize)]
pub struct SnapshotEntry {
    pub taken_at: String,
    pub source: String,
    pub five_hour_percent: Option<f64>,
    pub five_hour_resets_at: Option<String>,
    pub seven_day_percent: Option<f64>,
    pub seven_day_resets_at: Option<String>,
    /// The per-model weekly windows, only when the source reported them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seven_day_opus_percent: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seven_day_opus_resets_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seven_day_sonnet_percent: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seven_day_sonnet_resets_at: Option<String>,
}

impl SnapshotEntry {
    fn from_snapshot(snapshot: &UsageSnapshot) -> Self {
        let reset = |reading: Option<WindowReading>| {
            reading
                .and_then(|reading| reading.resets_at_s)
                .map(|seconds| clock::iso(seconds * 1000))
        };
        Self {
            taken_at: clock::iso(snapshot.taken_at_ms),
            source: snapshot.source.to_string(),
            five_hour_percent: snapshot.five_hour.map(|reading| reading.percent),
            five_hour_resets_at: reset(snapshot.five_hour),
            seven_day_percent: snapshot.seven_day.map(|reading| reading.percent),
            seven_day_resets_at: reset(snapshot.seven_day),
            seven_day_opus_percent: snapshot.seven_day_opus.map(|reading| reading.percent),
            seven_day_opus_resets_at: reset(snapshot.seven_day_opus),
            seven_day_sonnet_percent: snapshot.seven_day_sonnet.map(|reading| reading.percent),
            seven_day_sonnet_resets_at: reset(snapshot.seven_day_sonnet),
        }
    }
}

#[derive(Debug, Serialize)]
pub struct DecisionEntry {
    pub decided_at: String,
    pub session_id: Option<String>,
    pub delay_ms: i64,
    pub window: Option<String>,
    pub utilization: Option<f64>,
    pub projected_percent: Option<f64>,
    pub target_percent: Option<f64>,
    pub reason: String,
}

impl DecisionEntry {
    fn from_decision(decision: &DecisionRow) -> Self {
        Self {
            decided_at: clock::iso(decision.decided_at_ms),
            session_id: decision.session_id.clone(),
            delay_ms: decision.delay_ms,
            window: decision.window.clone(),
            utilization: decision.utilization,
            projected_percent: decision.projected_percent,
            target_percent: decision.target_percent,
            reason: decision.reason.clone(),
        }
    }
}

/// The readings and decisions of `[since_ms, until_ms)`.
pub struct History {
    pub since_ms: i64,
    pub until_ms: i64,
    pub snapshots: Vec<UsageSnapshot>,
    pub decisions: Vec<DecisionRow>,
}

impl History {
    pub fn read(
        connection: &rusqlite::Connection,
        since_ms: i64,
        until_ms: i64,
    ) -> rusqlite::Result<Self> {
        let snapshots = snapshot::since(connection, since_ms)?
            .into_iter()
            .filter(|snapshot| snapshot.taken_at_ms < until_ms)
            .collect();
        let decisions = data::decisions_between(connection, since_ms, until_ms)?;
        Ok(Self {
            since_ms,
            until_ms,
            snapshots,
            decisions,
        })
    }

    pub fn report(&self) -> HistoryReport {
        HistoryReport {
            schema_version: HISTORY_SCHEMA_VERSION,
            since: clock::iso(self.since_ms),
            until: clock::iso(self.until_ms),
            snapshots: self
                .snapshots
                .iter()
                .map(SnapshotEntry::from_snapshot)
                .collect(),
            decisions: self
                .decisions
                .iter()
                .map(DecisionEntry::from_decision)
                .collect(),
        }
    }
}

pub fn run(home: &ToolHome, args: &HistoryArgs) -> anyhow::Result<ExitCode> {
    let now_ms = clock::now_ms();
    let time_zone = jiff::tz::TimeZone::system();
    let since_ms = clock::Since::parse(&args.since)
        .and_then(|since| since.start_ms(now_ms, &time_zone))
        .map_err(|error| anyhow::Error::from(error).context("--since"))?;
    if since_ms > now_ms {
        return Err(crate::hint::hinted(
            format!("--since: `{}` is in the future", args.since),
            "a date like 2026-01-31 starts that day, local time",
        ));
    }
    let config = super::common::load_config(home);
    let store = super::common::open_store(home, &config)?;
    let history = History::read(store.connection(), since_ms, now_ms + 1)?;
    if let Some(path) = &args.svg {
        let svg = crate::dashboard::history_chart::history_chart(
            &history.snapshots,
            &history.decisions,
            history.since_ms,
            history.until_ms,
            &config,
        )
        .to_svg();
        crate::fsutil::write_atomic(path, svg.as_bytes(), None)
            .with_context(|| format!("cannot write {}", path.display()))?;
        eprintln!("wrote {}", path.display());
    }
    let mut stdout = std::io::stdout().lock();
    if args.json {
        serde_json::to_writer_pretty(&mut stdout, &history.report())?;
        writeln!(stdout)?;
    } else {
        let paint = Paint::for_stream(std::io::stdout().is_terminal());
        write_text(&mut stdout, &history, &time_zone, paint)?;
    }
    stdout.flush()?;
    Ok(ExitCode::SUCCESS)
}

fn local(at_ms: i64, time_zone: &jiff::tz::TimeZone) -> String {
    jiff::Timestamp::from_millisecond(at_ms)
        .map(|at| {
            at.to_zoned(time_zone.clone())
                .strftime("%b %d %H:%M:%S")
                .to_string()
        })
        .unwrap_or_default()
}

fn figure(reading: Option<WindowReading>) -> String {
    reading
        .map(|reading| format!("{:.0} %", reading.percent))
        .unwrap_or_else(|| "-".to_string())
}

fn reset(reading: Option<WindowReading>, time_zone: &jiff::tz::TimeZone) -> String {
    reading
        .and_then(|reading| reading.resets_at_s)
        .map(|seconds| {
            jiff::Timestamp::from_second(seconds)
                .map(|at| {
                    at.to_zoned(time_zone.clone())
                        .strftime("%b %d %H:%M")
                        .to_string()
                })
                .unwrap_or_default()
        })
        .unwrap_or_else(|| "-".to_string())
}

/// The tables.
pub fn write_text(
    out: &mut dyn Write,
    history: &History,
    time_zone: &jiff::tz::TimeZone,
    paint: Paint,
) -> std::io::Result<()> {
    let span = human_duration((history.until_ms - history.since_ms) / 1000);
    writeln!(
        out,
        "{}",
        paint.bold(&format!(
            "usage readings, last {span}: {}",
            history.snapshots.len()
        ))
    )?;
    if !history.snapshots.is_empty() {
        // The per-model weekly windows get columns when any reading has them.
        let per_model: Vec<WindowKind> = WindowKind::PER_MODEL
            .into_iter()
            .filter(|kind| history.snapshots.iter().any(|s| s.window(*kind).is_some()))
            .collect();
        let mut header = format!(
            "{:<16} {:<10} {:>6} {:<13} {:>6} {:<13}",
            "taken", "source", "5-hour", "resets", "weekly", "resets"
        );
        for kind in &per_model {
            let name = kind.family().map_or("", |family| family.label());
            header.push_str(&format!(" {name:>6} {:<13}", "resets"));
        }
        writeln!(out, "{}", header.trim_end())?;
        for snapshot in &history.snapshots {
            let mut line = format!(
                "{:<16} {:<10} {:>6} {:<13} {:>6} {:<13}",
                local(snapshot.taken_at_ms, time_zone),
                snapshot.source.as_str(),
                figure(snapshot.five_hour),
                reset(snapshot.five_hour, time_zone),
                figure(snapshot.seven_day),
                reset(snapshot.seven_day, time_zone),
            );
            for kind in &per_model {
                line.push_str(&format!(
                    " {:>6} {:<13}",
                    figure(snapshot.window(*kind)),
                    reset(snapshot.window(*kind), time_zone)
                ));
            }
            writeln!(out, "{}", line.trim_end())?;
        }
    }
    writeln!(out)?;
    let delay_ms: i64 = history.decisions.iter().map(|d| d.delay_ms).sum();
    writeln!(
        out,
        "{}",
        paint.bold(&format!(
            "pacing decisions, last {span}: {} (delay added {})",
            history.decisions.len(),
            human_duration(delay_ms / 1000)
        ))
    )?;
    if !history.decisions.is_empty() {
        writeln!(
            out,
            "{:<16} {:<8} {:>8} {:<16} {:>6} {:>9} {:>6}  reason",
            "decided", "session", "delay", "window", "usage", "projected", "target"
        )?;
        let percent = |value: Option<f64>| {
            value
                .map(|value| format!("{value:.0} %"))
                .unwrap_or_else(|| "-".to_string())
        };
        for decision in &history.decisions {
            let delay = human_duration(decision.delay_ms / 1000);
            let delay = if decision.delay_ms > 0 {
                paint.yellow(&format!("{delay:>8}"))
            } else {
                format!("{delay:>8}")
            };
            writeln!(
                out,
                "{:<16} {:<8} {delay} {:<16} {:>6} {:>9} {:>6}  {}",
                local(decision.decided_at_ms, time_zone),
                decision
                    .session_id
                    .as_deref()
                    .map(|id| id.chars().take(8).collect::<String>())
                    .unwrap_or_else(|| "-".to_string()),
                decision.window.as_deref().unwrap_or("-"),
                percent(decision.utilization),
                percent(decision.projected_percent),
                percent(decision.target_percent),
                decision.reason,
            )?;
        }
    }
    Ok(())
}
