//! `pace-maker status [--json]`: a one-shot view of both windows against
//! their pace, the pacing switch and what it did, the sessions, and the
//! usage API.
//!
//! The figures come from [`crate::dashboard::data`], the same gathering the
//! live dashboard draws from, so `status` and `watch` never disagree. The
//! JSON form is a stable interface (documented in `docs/status-json.md`,
//! schema in `docs/status-json.schema.json`): fields are only ever added,
//! never renamed, retyped or removed.

use std::io::{IsTerminal, Write};
use std::process::ExitCode;

use serde::Serialize;

use crate::cli::StatusArgs;
use crate::clock::{self, human_duration};
use crate::config::Config;
use crate::controls::Control;
use crate::dashboard::data::{
    self, ApiView, DashboardData, DecisionRow, EpicProgress, GatherOptions, PacingView,
    SessionView, WindowView,
};
use crate::dashboard::describe;
use crate::dashboard::pace::{PaceState, Projection};
use crate::dashboard::paint::Paint;
use crate::install::settings_file::{self, Scope};
use crate::install::{merge, plugin};
use crate::paths::{self, ToolHome};

/// The version of the `status --json` schema.
pub const STATUS_SCHEMA_VERSION: u32 = 1;

/// Width of the text view's bars.
const BAR_WIDTH: usize = 30;

#[derive(Debug, Serialize)]
pub struct StatusReport {
    pub schema_version: u32,
    pub generated_at: String,
    pub control: Control,
    pub sessions: Vec<SessionStatus>,
    pub windows: WindowsStatus,
    pub pacing: PacingStatus,
    pub usage_api: UsageApiStatus,
    pub estimate: EstimateStatus,
    /// Extra usage (work past the plan's limits, billed), when the usage
    /// endpoint reported it; and whether pacing lets a mission use it.
    pub extra_usage: Option<ExtraUsageStatus>,
    /// A `mission run` waiting for a usage limit to reset, if one is.
    pub mission_wait: Option<MissionWaitStatus>,
}

/// `extra_usage` as the usage endpoint reported it, and the setting.
#[derive(Debug, Serialize)]
pub struct ExtraUsageStatus {
    pub is_enabled: bool,
    pub monthly_limit: Option<f64>,
    pub used_credits: Option<f64>,
    pub utilization: Option<f64>,
    /// `pacing.allow_extra_usage`: pacing lets a mission run past the
    /// plan's limits while `used_credits` is under `max_spend`.
    pub allowed_by_pacing: bool,
    /// `pacing.extra_usage_max_spend`.
    pub max_spend: f64,
}

/// A `mission run` waiting out a usage limit.
#[derive(Debug, Serialize)]
pub struct MissionWaitStatus {
    pub until: String,
    pub in_s: i64,
    pub session_id: Option<String>,
    pub window: Option<String>,
    pub wait: u32,
    pub max_waits: u32,
    pub pid: u32,
}

/// The local estimate pacing falls back on when no official figure is fresh.
#[derive(Debug, Serialize)]
pub struct EstimateStatus {
    /// `pacing.use_estimate`.
    pub enabled: bool,
    /// The plan its coefficients are filed under (`subscriptionType/rateLimitTier`).
    pub plan: String,
    /// When the latest estimate was made, and how long ago.
    pub taken_at: Option<String>,
    pub age_s: Option<i64>,
    /// Pairs of official readings each window's coefficient rests on (0: no estimate).
    pub five_hour_calibration_samples: u32,
    pub seven_day_calibration_samples: u32,
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
    pub epic: Option<EpicProgress>,
}

impl SessionStatus {
    fn from_view(view: &SessionView) -> Self {
        let row = &view.row;
        Self {
            id: row.id.clone(),
            short_id: view.short_id(),
            project_dir: row.project_dir.clone(),
            tool_calls: row.tool_calls,
            delay_ms_total: row.delay_ms_total,
            momentum_blocks: row.momentum_blocks,
            started_at: clock::iso(row.started_at_ms),
            last_activity_at: clock::iso(row.last_activity_at_ms),
            ended_at: row.ended_at_ms.map(clock::iso),
            active: view.active(),
            epic: view.epic.clone(),
        }
    }
}

#[derive(Debug, Serialize)]
pub struct WindowsStatus {
    pub five_hour: WindowStatus,
    pub seven_day: WindowStatus,
    /// The Opus weekly window, when the usage endpoint reports it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seven_day_opus: Option<WindowStatus>,
    /// The Sonnet weekly window, when the usage endpoint reports it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seven_day_sonnet: Option<WindowStatus>,
    /// Windows the endpoint reported that this build does not pace.
    pub other: Vec<OtherWindowStatus>,
}

/// A window the usage endpoint reported under a key this build does not
/// know (`seven_day_oauth_apps`, ...): shown, not paced.
#[derive(Debug, Serialize)]
pub struct OtherWindowStatus {
    pub key: String,
    pub percent: f64,
    pub resets_at: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct WindowStatus {
    pub label: &'static str,
    pub paced: bool,
    pub target_percent: f64,
    pub percent: Option<f64>,
    pub resets_at: Option<String>,
    pub resets_in_s: Option<i64>,
    pub pace_percent: Option<f64>,
    pub pace_state: Option<PaceState>,
    pub ahead_by_percent: Option<f64>,
    pub burn_rate_percent_per_hour: Option<f64>,
    pub projection: Option<Projection>,
    pub projection_text: Option<String>,
    pub source: Option<String>,
    pub taken_at: Option<String>,
    pub age_s: Option<i64>,
    pub stale: Option<bool>,
}

impl WindowStatus {
    fn from_view(view: &WindowView, now_ms: i64) -> Self {
        let reading = view.reading.as_ref();
        Self {
            label: view.kind.label(),
            paced: view.paced,
            target_percent: reading.map_or(view.target_percent, |r| r.target_percent),
            percent: reading.map(|r| round(r.percent)),
            resets_at: reading.and_then(|r| r.resets_at_ms).map(clock::iso),
            resets_in_s: reading
                .and_then(|r| r.resets_at_ms)
                .map(|reset| ((reset - now_ms) / 1000).max(0)),
            pace_percent: reading.and_then(|r| r.pace_percent).map(round),
            pace_state: reading.and_then(|r| r.pace_state),
            ahead_by_percent: reading
                .and_then(|r| r.pace_percent.map(|pace| round(r.percent - pace))),
            burn_rate_percent_per_hour: reading.and_then(|r| r.burn_rate_per_hour).map(round),
            projection: reading.and_then(|r| r.projection).map(|p| match p {
                Projection::AtReset { percent } => Projection::AtReset {
                    percent: round(percent),
                },
                other => other,
            }),
            projection_text: reading.and_then(|r| r.projection).map(|p| p.describe()),
            source: reading.map(|r| r.source.to_string()),
            taken_at: reading.map(|r| clock::iso(r.taken_at_ms)),
            age_s: reading.map(|r| r.age_s),
            stale: reading.map(|r| r.stale),
        }
    }
}

#[derive(Debug, Serialize)]
pub struct PacingStatus {
    pub enabled: bool,
    pub state: &'static str,
    pub paused_until: Option<String>,
    pub last_delay: Option<DecisionStatus>,
    pub delay_ms_today: i64,
}

impl PacingStatus {
    fn from_view(view: &PacingView) -> Self {
        let (state, paused_until) = match view.control {
            Control::On => ("on", None),
            Control::Off => ("off", None),
            Control::Paused { until_ms } => ("paused", Some(clock::iso(until_ms))),
        };
        Self {
            enabled: view.enabled,
            state,
            paused_until,
            last_delay: view.last_delay.as_ref().map(DecisionStatus::from_decision),
            delay_ms_today: view.delay_ms_today,
        }
    }
}

#[derive(Debug, Serialize)]
pub struct DecisionStatus {
    pub decided_at: String,
    pub delay_ms: i64,
    pub reason: String,
    pub window: Option<String>,
    pub session_id: Option<String>,
}

impl DecisionStatus {
    fn from_decision(decision: &DecisionRow) -> Self {
        Self {
            decided_at: clock::iso(decision.decided_at_ms),
            delay_ms: decision.delay_ms,
            reason: decision.reason.clone(),
            window: decision.window.clone(),
            session_id: decision.session_id.clone(),
        }
    }
}

#[derive(Debug, Serialize)]
pub struct UsageApiStatus {
    pub state: String,
    pub backing_off: bool,
    pub backoff_until: Option<String>,
    pub last_attempt_at: Option<String>,
    pub last_success_at: Option<String>,
    pub failures: i64,
    pub last_error: Option<String>,
}

impl UsageApiStatus {
    fn from_view(view: &ApiView, now_ms: i64) -> Self {
        Self {
            state: view.state.as_str().to_string(),
            backing_off: view.backing_off(now_ms).is_some(),
            backoff_until: view.backoff_until_ms.map(clock::iso),
            last_attempt_at: view.last_attempt_at_ms.map(clock::iso),
            last_success_at: view.last_success_at_ms.map(clock::iso),
            failures: i64::from(view.failures),
            last_error: view.last_error.clone(),
        }
    }
}

/// One decimal is plenty for people and keeps JSON diffs quiet.
fn round(value: f64) -> f64 {
    (value * 10.0).round() / 10.0
}

impl StatusReport {
    /// The JSON report of gathered data.
    pub fn from_data(data: &DashboardData) -> Self {
        let window = |kind| {
            WindowStatus::from_view(
                data.window(kind).expect("gather reads both windows"),
                data.now_ms,
            )
        };
        use crate::usage::snapshot::WindowKind;
        Self {
            schema_version: STATUS_SCHEMA_VERSION,
            generated_at: clock::iso(data.now_ms),
            control: data.pacing.control,
            sessions: data.sessions.iter().map(SessionStatus::from_view).collect(),
            windows: WindowsStatus {
                five_hour: window(WindowKind::FiveHour),
                seven_day: window(WindowKind::SevenDay),
                seven_day_opus: data
                    .window(WindowKind::SevenDayOpus)
                    .map(|view| WindowStatus::from_view(view, data.now_ms)),
                seven_day_sonnet: data
                    .window(WindowKind::SevenDaySonnet)
                    .map(|view| WindowStatus::from_view(view, data.now_ms)),
                other: data
                    .other_windows
                    .iter()
                    .map(|(key, reading)| OtherWindowStatus {
                        key: key.clone(),
                        percent: round(reading.percent),
                        resets_at: reading.resets_at_s.map(|s| clock::iso(s * 1000)),
                    })
                    .collect(),
            },
            pacing: PacingStatus::from_view(&data.pacing),
            usage_api: UsageApiStatus::from_view(&data.api, data.now_ms),
            estimate: EstimateStatus {
                enabled: data.pacing.use_estimate,
                plan: data.estimate.plan.clone(),
                taken_at: data
                    .estimate
                    .latest
                    .as_ref()
                    .map(|latest| clock::iso(latest.taken_at_ms)),
                age_s: data.estimate.age_s,
                five_hour_calibration_samples: data.estimate.five_hour_calibration_samples,
                seven_day_calibration_samples: data.estimate.seven_day_calibration_samples,
            },
            extra_usage: data.extra_usage.map(|extra| ExtraUsageStatus {
                is_enabled: extra.is_enabled,
                monthly_limit: extra.monthly_limit,
                used_credits: extra.used_credits,
                utilization: extra.utilization,
                allowed_by_pacing: data.pacing.allow_extra_usage,
                max_spend: data.pacing.extra_usage_max_spend,
            }),
            mission_wait: data.mission_wait.as_ref().map(|wait| MissionWaitStatus {
                until: clock::iso(wait.until_ms),
                in_s: ((wait.until_ms - data.now_ms) / 1000).max(0),
                session_id: wait.session_id.clone(),
                window: wait.window.clone(),
                wait: wait.wait,
                max_waits: wait.max_waits,
                pid: wait.pid,
            }),
        }
    }
}

/// Gathers what `status` shows from the store.
pub fn gather(home: &ToolHome, config: &Config, now_ms: i64) -> anyhow::Result<DashboardData> {
    let store = super::common::open_store(home, config)?;
    let data = data::gather(
        store.connection(),
        config,
        now_ms,
        &jiff::tz::TimeZone::system(),
        GatherOptions::default(),
    )?;
    Ok(data)
}

pub fn run(home: &ToolHome, args: &StatusArgs) -> anyhow::Result<ExitCode> {
    let config = super::common::load_config(home);
    let data = gather(home, &config, clock::now_ms())?;
    let mut stdout = std::io::stdout().lock();
    if args.json {
        serde_json::to_writer_pretty(&mut stdout, &StatusReport::from_data(&data))?;
        writeln!(stdout)?;
    } else {
        let paint = Paint::for_stream(std::io::stdout().is_terminal());
        let headline = if !installed_anywhere() {
            Some(paint.yellow(
                "not installed: no hook runs (run `pace-maker install` to add its hooks to Claude Code, or install the plugin: see `pace-maker doctor`)",
            ))
        } else if paths::kill_switch() {
            Some(paint.yellow(&format!(
                "disabled by {}: every hook exits at once (unset it to turn pace-maker back on)",
                paths::ENV_DISABLE
            )))
        } else {
            None
        };
        write_text_with(&mut stdout, &data, paint, headline)?;
    }
    stdout.flush()?;
    Ok(ExitCode::SUCCESS)
}

/// Whether any settings scope (user, project, local) runs pace-maker's
/// hooks, or the plugin is enabled: what `doctor`'s "installed" check
/// decides, without its other checks. The project is `CLAUDE_PROJECT_DIR`,
/// else the cwd, as for doctor.
pub fn installed_anywhere() -> bool {
    let project_dir = paths::project_dir();
    let claude_dir = paths::claude_dir();
    Scope::ALL.iter().any(|scope| {
        settings_file::read(&scope.path(&claude_dir, &project_dir))
            .is_ok_and(|file| file.exists() && merge::inspect(&file.value).is_installed())
    }) || !plugin::enabled_here().is_empty()
}

/// The text view.
pub fn write_text(out: &mut dyn Write, data: &DashboardData, paint: Paint) -> std::io::Result<()> {
    write_text_with(out, data, paint, None)
}

/// The text view, with what replaces the switch's state at the top when
/// the switch is not what decides (not installed, the kill switch).
fn write_text_with(
    out: &mut dyn Write,
    data: &DashboardData,
    paint: Paint,
    headline: Option<String>,
) -> std::io::Result<()> {
    let pacing = describe::pacing_state(data, &data.pacing);
    let pacing = if let Some(headline) = headline {
        headline
    } else if data.pacing.enabled && data.pacing.control.is_active() {
        paint.green(&pacing)
    } else {
        paint.yellow(&pacing)
    };
    let api = describe::api(data, &data.api);
    let api = if describe::api_is_troubled(data, &data.api) {
        paint.red(&api)
    } else {
        api
    };
    let source = data
        .windows
        .iter()
        .find_map(|window| window.reading.as_ref())
        .map(|reading| format!("usage from {}", describe::source(data, reading)))
        .unwrap_or_else(|| "no usage reading yet".to_string());
    writeln!(out, "pace-maker: {pacing} · {source} · usage API {api}")?;
    writeln!(out)?;
    for window in &data.windows {
        write_window(out, data, window, paint)?;
    }
    for (key, reading) in &data.other_windows {
        writeln!(
            out,
            "{key}: {} (not paced){}",
            describe::percent(reading.percent),
            reading
                .resets_at_s
                .map(|s| format!(", resets {}", data.date_clock(s * 1000)))
                .unwrap_or_default()
        )?;
    }
    if let Some(extra) = &data.extra_usage {
        writeln!(
            out,
            "extra usage: {}{}",
            extra.describe(),
            if !extra.is_enabled {
                String::new()
            } else if data.pacing.allow_extra_usage {
                format!(
                    " · pacing lets missions use it up to {:.2}",
                    data.pacing.extra_usage_max_spend
                )
            } else {
                " · pacing keeps missions inside the plan's limits".to_string()
            }
        )?;
    }
    if let Some(wait) = &data.mission_wait {
        writeln!(
            out,
            "{}",
            paint.yellow(&format!(
                "mission waiting for a usage limit to reset until {} (in {}), then resuming (wait {} of {}, pid {})",
                data.date_clock(wait.until_ms),
                human_duration((wait.until_ms - data.now_ms) / 1000),
                wait.wait,
                wait.max_waits,
                wait.pid
            ))
        )?;
    }
    writeln!(out)?;
    let last = match &data.pacing.last_delay {
        Some(decision) => describe::delay(data, decision),
        None => "none".to_string(),
    };
    writeln!(
        out,
        "delay today {} · last delay {last}",
        human_duration(data.pacing.delay_ms_today / 1000)
    )?;
    writeln!(out)?;
    if data.sessions.is_empty() {
        writeln!(out, "no sessions in the last 24 h")?;
        return Ok(());
    }
    writeln!(out, "sessions:")?;
    for session in &data.sessions {
        let epic = match &session.epic {
            // verified/ticked/total when criteria have checks.
            Some(EpicProgress {
                done: Some(done),
                total: Some(total),
                verified: Some(verified),
                ..
            }) => format!("  epic {verified}/{done}/{total} verified"),
            Some(EpicProgress {
                done: Some(done),
                total: Some(total),
                ..
            }) => format!("  epic {done}/{total}"),
            Some(_) => "  epic unreadable".to_string(),
            None => String::new(),
        };
        let state = if session.active() {
            paint.green("active")
        } else {
            paint.dim("ended")
        };
        writeln!(
            out,
            "  {}  {}  {}  delay {}  {}{epic}  last activity {} ago  {state}",
            paint.bold(&session.short_id()),
            session.row.project_dir,
            describe::count(session.row.tool_calls, "tool call", "tool calls"),
            human_duration(session.row.delay_ms_total / 1000),
            describe::count(
                session.row.momentum_blocks,
                "momentum block",
                "momentum blocks"
            ),
            human_duration((data.now_ms - session.row.last_activity_at_ms) / 1000),
        )?;
    }
    Ok(())
}

fn write_window(
    out: &mut dyn Write,
    data: &DashboardData,
    window: &WindowView,
    paint: Paint,
) -> std::io::Result<()> {
    let label = format!("{:<8}", describe::window_label(window));
    let Some(reading) = &window.reading else {
        return writeln!(
            out,
            "{label}{}  no reading yet",
            paint.dim(&describe::bar(0.0, None, BAR_WIDTH))
        );
    };
    let bar = describe::bar(reading.percent, reading.pace_percent, BAR_WIDTH);
    let figure = format!("{:>5}", describe::percent(reading.percent));
    let (bar, figure) = if reading.percent >= reading.target_percent {
        (paint.red(&bar), paint.red(&figure))
    } else if reading.pace_state == Some(PaceState::Ahead) {
        (paint.yellow(&bar), paint.yellow(&figure))
    } else {
        (paint.green(&bar), paint.green(&figure))
    };
    writeln!(out, "{label}{bar} {figure}  {}", describe::pace(reading))?;
    let projection = describe::projection(reading);
    let projection = match reading.projection {
        Some(Projection::FullBeforeReset { .. }) => paint.red(&projection),
        _ => projection,
    };
    writeln!(
        out,
        "        {} · {projection}",
        describe::reset(data, reading, true)
    )
}
