//! `pace-maker status [--json]`: a one-shot view of the switch and the sessions.
//!
//! The JSON form is a stable interface (documented in `docs/status-json.md`):
//! fields are only ever added, never renamed or removed.

use std::io::Write;
use std::process::ExitCode;

use serde::Serialize;

use crate::cli::StatusArgs;
use crate::clock;
use crate::controls::{self, Control};
use crate::paths::ToolHome;
use crate::sessions::{self, SessionRow};

/// The version of the `status --json` schema.
pub const STATUS_SCHEMA_VERSION: u32 = 1;

/// How far back "recent" sessions reach.
const RECENT_MS: i64 = 24 * 3_600_000;

#[derive(Debug, Serialize)]
pub struct StatusReport {
    pub schema_version: u32,
    pub generated_at: String,
    pub control: Control,
    pub sessions: Vec<SessionStatus>,
}

#[derive(Debug, Serialize)]
pub struct SessionStatus {
    pub id: String,
    pub short_id: String,
    pub project_dir: String,
    pub tool_calls: i64,
    pub delay_ms_total: i64,
    pub momentum_blocks: i64,
    pub started_at: String,
    pub last_activity_at: String,
    pub ended_at: Option<String>,
    pub active: bool,
}

impl SessionStatus {
    fn from_row(row: SessionRow) -> Self {
        Self {
            short_id: row.id.chars().take(8).collect(),
            active: row.ended_at_ms.is_none(),
            started_at: clock::iso(row.started_at_ms),
            last_activity_at: clock::iso(row.last_activity_at_ms),
            ended_at: row.ended_at_ms.map(clock::iso),
            id: row.id,
            project_dir: row.project_dir,
            tool_calls: row.tool_calls,
            delay_ms_total: row.delay_ms_total,
            momentum_blocks: row.momentum_blocks,
        }
    }
}

/// Gathers the report from the store.
pub fn gather(home: &ToolHome, now_ms: i64) -> anyhow::Result<StatusReport> {
    let config = super::load_config(home);
    let store = super::open_store(home, &config)?;
    let control = controls::read(store.connection(), now_ms)?;
    let sessions = sessions::recent(store.connection(), now_ms - RECENT_MS, 50)?
        .into_iter()
        .map(SessionStatus::from_row)
        .collect();
    Ok(StatusReport {
        schema_version: STATUS_SCHEMA_VERSION,
        generated_at: clock::iso(now_ms),
        control,
        sessions,
    })
}

pub fn run(home: &ToolHome, args: &StatusArgs) -> anyhow::Result<ExitCode> {
    let now_ms = clock::now_ms();
    let report = gather(home, now_ms)?;
    let mut stdout = std::io::stdout().lock();
    if args.json {
        serde_json::to_writer_pretty(&mut stdout, &report)?;
        writeln!(stdout)?;
        return Ok(ExitCode::SUCCESS);
    }
    writeln!(stdout, "pace-maker: {}", report.control)?;
    if report.sessions.is_empty() {
        writeln!(stdout, "no sessions in the last 24 h")?;
    } else {
        writeln!(stdout, "sessions:")?;
        for session in &report.sessions {
            let state = if session.active { "active" } else { "ended" };
            writeln!(
                stdout,
                "  {}  {}  {} tool calls  last activity {} ago  {}",
                session.short_id,
                session.project_dir,
                session.tool_calls,
                clock::human_duration(
                    (now_ms - parse_ms(&session.last_activity_at).unwrap_or(now_ms)) / 1000
                ),
                state
            )?;
        }
    }
    stdout.flush()?;
    Ok(ExitCode::SUCCESS)
}

fn parse_ms(iso: &str) -> Option<i64> {
    iso.parse::<jiff::Timestamp>()
        .ok()
        .map(|t| t.as_millisecond())
}
