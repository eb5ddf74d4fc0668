//! `pace-maker usage refresh [--json]`: one poll of the usage API now.
//!
//! It goes through the same gate as the hooks, except that a fresh cache
//! does not stop it: a backoff or another process's poll in flight is
//! respected, and the refusal is reported (exit 1) with the state and a
//! hint, rather than waited out.

use std::io::Write;
use std::process::ExitCode;

use serde_json::{json, Value};

use crate::cli::UsageCommand;
use crate::clock;
use crate::paths::{self, ToolHome};
use crate::usage::poll::{self, ApiState, Gate, Mode, Refresh};
use crate::usage::snapshot::{UsageSnapshot, WindowKind, WindowReading};

pub fn run(home: &ToolHome, command: UsageCommand) -> anyhow::Result<ExitCode> {
    match command {
        UsageCommand::Refresh { json } => refresh(home, json),
    }
}

fn refresh(home: &ToolHome, json: bool) -> anyhow::Result<ExitCode> {
    let config = super::common::load_config(home);
    crate::logging::init(home, &config.log.level, config.log.keep_days);
    let mut store = super::common::open_store(home, &config)?;
    let now_ms = clock::now_ms();
    let outcome = poll::refresh(
        &mut store,
        &config.usage,
        &paths::claude_dir(),
        Mode::Now,
        now_ms,
    )?;
    let state = ApiState::read(store.connection())?;
    let (name, error, hint) = describe(&outcome, &state, now_ms);
    let mut stdout = std::io::stdout().lock();
    if json {
        let snapshot = match &outcome {
            Refresh::Polled(snapshot) => snapshot_json(snapshot),
            _ => Value::Null,
        };
        let report = json!({
            "outcome": name,
            "snapshot": snapshot,
            "api_state": state,
            "error": error,
            "hint": hint,
        });
        serde_json::to_writer_pretty(&mut stdout, &report)?;
        writeln!(stdout)?;
    } else if let Refresh::Polled(snapshot) = &outcome {
        write_snapshot(&mut stdout, snapshot, now_ms)?;
    }
    stdout.flush()?;
    if let Refresh::Polled(_) = outcome {
        return Ok(ExitCode::SUCCESS);
    }
    if !json {
        let mut stderr = std::io::stderr().lock();
        if let Some(error) = &error {
            writeln!(stderr, "error: {error}")?;
        }
        if let Some(hint) = &hint {
            writeln!(stderr, "hint: {hint}")?;
        }
    }
    Ok(ExitCode::FAILURE)
}

/// The outcome's name, error and hint.
fn describe(
    outcome: &Refresh,
    state: &ApiState,
    now_ms: i64,
) -> (&'static str, Option<String>, Option<String>) {
    let after = |last_error: &Option<String>| {
        last_error
            .as_ref()
            .map(|error| format!(" (last error: {error})"))
            .unwrap_or_default()
    };
    match outcome {
        Refresh::Polled(_) => ("polled", None, None),
        Refresh::Failed(failure) => (
            "failed",
            Some(failure.to_string()),
            failure.hint().map(str::to_string),
        ),
        Refresh::NotNeeded(Gate::BackingOff { until_ms }) => (
            "backing-off",
            Some(format!(
                "the usage API is backing off for {}{}",
                clock::human_duration((until_ms - now_ms + 999) / 1000),
                after(&state.last_error)
            )),
            Some("pace-maker polls again by itself after that; the status line keeps figures fresh meanwhile".into()),
        ),
        Refresh::NotNeeded(Gate::Leased { .. }) => (
            "busy",
            Some("another pace-maker process is polling the usage API right now".into()),
            Some("try again in a few seconds".into()),
        ),
        // Not reached with `Mode::Now`, but named all the same.
        Refresh::NotNeeded(Gate::Fresh { .. }) => ("fresh", None, None),
        Refresh::NotNeeded(Gate::TooSoon { .. }) => ("too-soon", None, None),
        Refresh::NotNeeded(Gate::Poll) => ("not-polled", None, None),
    }
}

fn reading_json(reading: Option<WindowReading>) -> Value {
    match reading {
        Some(reading) => json!({
            "percent": reading.percent,
            "resets_at": reading.resets_at_s.map(|seconds| clock::iso(seconds * 1000)),
        }),
        None => Value::Null,
    }
}

fn snapshot_json(snapshot: &UsageSnapshot) -> Value {
    json!({
        "source": snapshot.source,
        "taken_at": clock::iso(snapshot.taken_at_ms),
        "five_hour": reading_json(snapshot.five_hour),
        "seven_day": reading_json(snapshot.seven_day),
        "seven_day_opus": reading_json(snapshot.seven_day_opus),
        "seven_day_sonnet": reading_json(snapshot.seven_day_sonnet),
        "raw": snapshot
            .raw_json
            .as_deref()
            .and_then(|raw| serde_json::from_str::<Value>(raw).ok()),
    })
}

fn write_snapshot(
    out: &mut impl Write,
    snapshot: &UsageSnapshot,
    now_ms: i64,
) -> std::io::Result<()> {
    let now_s = now_ms.div_euclid(1000);
    let current = snapshot.at(now_s);
    writeln!(
        out,
        "usage from the {} at {}",
        snapshot.source,
        clock::local_time(snapshot.taken_at_ms, now_ms)
    )?;
    let rows = [
        (WindowKind::FiveHour.label(), current.five_hour),
        (WindowKind::SevenDay.label(), current.seven_day),
        ("weekly (Opus)", current.seven_day_opus),
        ("weekly (Sonnet)", current.seven_day_sonnet),
    ];
    let mut shown = 0;
    for (label, reading) in rows {
        let Some(reading) = reading else { continue };
        shown += 1;
        let resets = reading
            .resets_at_s
            .map(|at| format!("  resets in {}", clock::human_duration(at - now_s)))
            .unwrap_or_default();
        writeln!(out, "  {label:<16} {:>5.1} %{resets}", reading.percent)?;
    }
    if shown == 0 {
        writeln!(out, "  (the API reported no windows)")?;
    }
    Ok(())
}
