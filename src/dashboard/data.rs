//! Everything the views show, gathered from the store in one pass.
//!
//! `status`, `watch` and `history` draw from a [`DashboardData`] and
//! nothing else: the gathering reads the store (a handful of indexed
//! queries, so `status` stays fast with months of history), and the
//! drawing is a pure function of the gathered value. Tests build a real
//! store, gather with a fixed `now` and time zone, and compare what is
//! drawn.

use std::collections::HashMap;
use std::path::Path;

use jiff::tz::TimeZone;
use rusqlite::Connection;

use super::pace::{PaceState, Projection};
use crate::config::Config;
use crate::controls::{self, Control};
use crate::momentum;
pub use crate::pacing::decisions::{decisions_between, recent_decisions, DecisionRow};
use crate::pacing::decisions::{delay_since, last_delay};
use crate::pacing::policy::{self, PacingSettings, PolicyInput};
use crate::sessions::{self, SessionRow};
use crate::usage::poll::{ApiState, ApiStatus};
use crate::usage::snapshot::{
    self, ExtraUsage, SnapshotSource, UsageSnapshot, WindowKind, WindowReading,
};

/// How far back "recent" sessions reach.
pub const RECENT_SESSIONS_MS: i64 = 24 * 3_600_000;
/// Sessions listed at most.
pub const MAX_SESSIONS: usize = 50;
/// Pacing decisions listed at most (the dashboard's "recent delays").
pub const RECENT_DECISIONS: usize = 12;

/// The usage history the pacing policy reads (see `pacing::apply`).
const POLICY_HISTORY_MS: i64 = policy::SEVEN_DAY_LOOKBACK_SECONDS * 1000;

/// What to gather besides the one-shot figures.
#[derive(Debug, Clone, Copy, Default)]
pub struct GatherOptions {
    /// The 5-hour window's readings for the chart.
    pub chart: bool,
}

/// One point of a utilization curve.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct UsagePoint {
    pub at_ms: i64,
    pub percent: f64,
}

/// One window as the views show it.
#[derive(Debug, Clone, PartialEq)]
pub struct WindowView {
    pub kind: WindowKind,
    /// Whether pacing watches this window (`pacing.five_hour`, `pacing.seven_day`).
    pub paced: bool,
    /// Utilization at reset the pacing aims for (`pacing.target_percent`).
    pub target_percent: f64,
    /// The reading and where it came from; `None` without any snapshot.
    pub reading: Option<Reading>,
}

/// A window's current reading with the pacing policy's figures for it.
#[derive(Debug, Clone, PartialEq)]
pub struct Reading {
    /// Utilization now, as the source said (0 once the reset has passed).
    pub percent: f64,
    pub resets_at_ms: Option<i64>,
    pub source: SnapshotSource,
    pub taken_at_ms: i64,
    pub age_s: i64,
    /// Older than `pacing.stale_after_seconds`: pacing ignores it.
    pub stale: bool,
    /// The target pacing holds this reading to (lowered on the estimate).
    pub target_percent: f64,
    /// The target pace now (needs the reset time).
    pub pace_percent: Option<f64>,
    pub pace_state: Option<PaceState>,
    /// The policy's observed burn rate, percent per hour.
    pub burn_rate_per_hour: Option<f64>,
    /// The policy's projection at reset, as a phrase-ready value.
    pub projection: Option<Projection>,
    /// Readings of this window since it started, oldest first (only with
    /// [`GatherOptions::chart`], only the 5-hour window).
    pub history: Vec<UsagePoint>,
}

/// A session as the views show it.
#[derive(Debug, Clone, PartialEq)]
pub struct SessionView {
    pub row: SessionRow,
    pub epic: Option<EpicProgress>,
}

impl SessionView {
    pub fn short_id(&self) -> String {
        self.row.id.chars().take(8).collect()
    }

    pub fn active(&self) -> bool {
        self.row.ended_at_ms.is_none()
    }

    /// The project's folder name, for narrow columns.
    pub fn project_name(&self) -> String {
        Path::new(&self.row.project_dir)
            .file_name()
            .map(|name| name.to_string_lossy().into_owned())
            .unwrap_or_else(|| self.row.project_dir.clone())
    }
}

/// The epic attached to a session's project and how far it is.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct EpicProgress {
    pub spec_path: String,
    /// Criteria ticked and in all; `None` when the spec cannot be read.
    pub done: Option<usize>,
    pub total: Option<usize>,
    /// Ticked criteria whose every check passed at its last run; `None`
    /// when no criterion has a check (or the spec cannot be read).
    pub verified: Option<usize>,
}

/// The usage API's state (the `api_state` row, as the poller keeps it).
#[derive(Debug, Clone, PartialEq)]
pub struct ApiView {
    pub state: ApiStatus,
    pub backoff_until_ms: Option<i64>,
    pub last_attempt_at_ms: Option<i64>,
    pub last_success_at_ms: Option<i64>,
    pub failures: u32,
    pub last_error: Option<String>,
}

impl ApiView {
    fn from_state(state: ApiState) -> Self {
        Self {
            state: state.status,
            backoff_until_ms: state.backoff_until_ms,
            last_attempt_at_ms: state.last_attempt_at_ms,
            last_success_at_ms: state.last_success_at_ms,
            failures: state.failures,
            last_error: state.last_error,
        }
    }

    /// Backing off at `now_ms`: the time of the next allowed request.
    pub fn backing_off(&self, now_ms: i64) -> Option<i64> {
        self.backoff_until_ms.filter(|until| *until > now_ms)
    }
}

/// Pacing's switch and what it did lately.
#[derive(Debug, Clone, PartialEq)]
pub struct PacingView {
    /// `pacing.enabled` in the config.
    pub enabled: bool,
    /// `pacing.use_estimate` in the config.
    pub use_estimate: bool,
    /// `pacing.allow_extra_usage` and `pacing.extra_usage_max_spend`.
    pub allow_extra_usage: bool,
    pub extra_usage_max_spend: f64,
    /// The runtime switch.
    pub control: Control,
    /// The newest decision that added a delay.
    pub last_delay: Option<DecisionRow>,
    /// Delay added since local midnight.
    pub delay_ms_today: i64,
    /// The newest decisions, newest first.
    pub recent: Vec<DecisionRow>,
}

/// Everything the dashboard shows at one moment.
#[derive(Debug, Clone)]
pub struct DashboardData {
    pub now_ms: i64,
    pub time_zone: TimeZone,
    pub windows: Vec<WindowView>,
    pub pacing: PacingView,
    pub sessions: Vec<SessionView>,
    pub api: ApiView,
    /// The local estimate: its latest figure and what calibrates it.
    pub estimate: crate::local_usage::estimate::EstimateStatus,
    /// Extra usage as the usage endpoint last reported it.
    pub extra_usage: Option<ExtraUsage>,
    /// Windows the usage endpoint reported that this build does not pace
    /// (`seven_day_oauth_apps`, new keys), as they stand now.
    pub other_windows: Vec<(String, WindowReading)>,
    /// A `mission run` waiting for a usage limit to reset.
    pub mission_wait: Option<crate::mission_wait::MissionWait>,
}

impl DashboardData {
    pub fn window(&self, kind: WindowKind) -> Option<&WindowView> {
        self.windows.iter().find(|window| window.kind == kind)
    }

    /// A clock time in the data's time zone: `14:05`.
    pub fn clock(&self, at_ms: i64) -> String {
        self.format(at_ms, "%H:%M")
    }

    /// A date and clock time: `Nov 25 14:05`.
    pub fn date_clock(&self, at_ms: i64) -> String {
        self.format(at_ms, "%b %d %H:%M")
    }

    /// A clock time today (local), else the date: `14:05`, `Nov 24`.
    pub fn recent_time(&self, at_ms: i64) -> String {
        let today = day_start_ms(self.now_ms, &self.time_zone);
        if (today..today + 86_400_000).contains(&at_ms) {
            self.clock(at_ms)
        } else {
            self.format(at_ms, "%b %d")
        }
    }

    fn format(&self, at_ms: i64, pattern: &str) -> String {
        jiff::Timestamp::from_millisecond(at_ms)
            .map(|at| {
                at.to_zoned(self.time_zone.clone())
                    .strftime(pattern)
                    .to_string()
            })
            .unwrap_or_default()
    }
}

/// Gathers the dashboard at `now_ms`.
pub fn gather(
    connection: &Connection,
    config: &Config,
    now_ms: i64,
    time_zone: &TimeZone,
    options: GatherOptions,
) -> rusqlite::Result<DashboardData> {
    let current = current_snapshot(connection, config, now_ms)?;
    let stale_ms = config.pacing.stale_after_seconds as i64 * 1000;
    let mut history = snapshot::since(connection, now_ms - POLICY_HISTORY_MS - stale_ms)?;
    if let Some(current) = &current {
        // A reading older than the policy's history still shows, stale.
        if history
            .first()
            .is_none_or(|first| first.taken_at_ms > current.taken_at_ms)
        {
            history.insert(0, current.clone());
        }
    }
    let mut windows = Vec::with_capacity(2);
    for kind in WindowKind::ALL {
        windows.push(window_view(
            connection,
            config,
            kind,
            current.as_ref(),
            &history,
            now_ms,
            options,
        )?);
    }
    // The per-model weekly windows come from the usage endpoint only (the
    // status line carries the 5-hour and weekly ones): shown when its
    // latest reading has them.
    let api = snapshot::latest(connection, SnapshotSource::Api)?;
    if let Some(api) = &api {
        for kind in WindowKind::PER_MODEL {
            if api.window(kind).is_some() {
                windows.push(window_view(
                    connection,
                    config,
                    kind,
                    Some(api),
                    &history,
                    now_ms,
                    options,
                )?);
            }
        }
    }
    let now_s = now_ms.div_euclid(1000);
    let other_windows = api
        .as_ref()
        .map(|api| {
            api.other_windows()
                .into_iter()
                .map(|(key, reading)| {
                    let current = match reading.resets_at_s {
                        Some(reset) if reset <= now_s => WindowReading {
                            percent: 0.0,
                            resets_at_s: None,
                        },
                        _ => reading,
                    };
                    (key, current)
                })
                .collect()
        })
        .unwrap_or_default();
    let extra_usage = api.as_ref().and_then(UsageSnapshot::extra_usage);
    let mut specs = HashMap::new();
    let sessions = sessions::recent(connection, now_ms - RECENT_SESSIONS_MS, MAX_SESSIONS)?
        .into_iter()
        .map(|row| {
            let epic = epic_progress(connection, &row.project_dir, &mut specs)?;
            Ok(SessionView { row, epic })
        })
        .collect::<rusqlite::Result<Vec<_>>>()?;
    let recent = recent_decisions(connection, RECENT_DECISIONS)?;
    let last_delay = match recent.iter().find(|decision| decision.delay_ms > 0) {
        Some(decision) => Some(decision.clone()),
        None => last_delay(connection)?,
    };
    let pacing = PacingView {
        enabled: config.pacing.enabled,
        use_estimate: config.pacing.use_estimate,
        allow_extra_usage: config.pacing.allow_extra_usage,
        extra_usage_max_spend: config.pacing.extra_usage_max_spend,
        control: controls::read(connection, now_ms)?,
        last_delay,
        delay_ms_today: delay_since(connection, day_start_ms(now_ms, time_zone))?,
        recent,
    };
    Ok(DashboardData {
        now_ms,
        time_zone: time_zone.clone(),
        windows,
        pacing,
        sessions,
        api: ApiView::from_state(ApiState::read(connection)?),
        estimate: crate::local_usage::estimate::status(
            connection,
            &crate::local_usage::estimate::plan_key(),
            now_ms,
        )?,
        extra_usage,
        other_windows,
        mission_wait: crate::mission_wait::current_wait(connection, now_ms)?,
    })
}

/// Local midnight before `now_ms`.
pub fn day_start_ms(now_ms: i64, time_zone: &TimeZone) -> i64 {
    jiff::Timestamp::from_millisecond(now_ms)
        .ok()
        .and_then(|now| now.to_zoned(time_zone.clone()).start_of_day().ok())
        .map(|start| start.timestamp().as_millisecond())
        .unwrap_or(now_ms - now_ms.rem_euclid(86_400_000))
}

/// The snapshot the views describe: the freshest official reading, or the
/// local estimate when no official reading is fresh and the estimate is newer.
fn current_snapshot(
    connection: &Connection,
    config: &Config,
    now_ms: i64,
) -> rusqlite::Result<Option<UsageSnapshot>> {
    let official = snapshot::freshest_official(connection)?;
    let stale_ms = config.pacing.stale_after_seconds as i64 * 1000;
    let official_fresh = official
        .as_ref()
        .is_some_and(|snapshot| now_ms - snapshot.taken_at_ms <= stale_ms);
    if official_fresh {
        return Ok(official);
    }
    let estimate = snapshot::latest(connection, SnapshotSource::Estimate)?;
    Ok(match (official, estimate) {
        (Some(official), Some(estimate)) if estimate.taken_at_ms > official.taken_at_ms => {
            Some(estimate)
        }
        (Some(official), _) => Some(official),
        (None, estimate) => estimate,
    })
}

fn window_view(
    connection: &Connection,
    config: &Config,
    kind: WindowKind,
    current: Option<&UsageSnapshot>,
    history: &[UsageSnapshot],
    now_ms: i64,
    options: GatherOptions,
) -> rusqlite::Result<WindowView> {
    let paced = match kind {
        WindowKind::FiveHour => config.pacing.five_hour,
        WindowKind::SevenDay => config.pacing.seven_day,
        WindowKind::SevenDayOpus | WindowKind::SevenDaySonnet => config.pacing.per_model,
    };
    let target_percent = config.pacing.target_percent;
    let Some((snapshot, raw)) =
        current.and_then(|snapshot| Some((snapshot, snapshot.window(kind)?)))
    else {
        return Ok(WindowView {
            kind,
            paced,
            target_percent,
            reading: None,
        });
    };
    let now_s = now_ms.div_euclid(1000);
    let at_now = raw.at(kind, now_s);
    let reset_passed = at_now != raw;
    let resets_at_ms = at_now.resets_at_s.map(|seconds| seconds * 1000);
    let stale_ms = config.pacing.stale_after_seconds as i64 * 1000;
    let stale = now_ms - snapshot.taken_at_ms > stale_ms;
    let assessment = assess(config, kind, snapshot, history, stale, now_ms);
    let chart = match (options.chart, kind, resets_at_ms) {
        (true, WindowKind::FiveHour, Some(reset)) if !reset_passed => window_history(
            connection,
            kind,
            snapshot.source,
            reset - kind.length_s() * 1000,
            raw,
        )?,
        _ => Vec::new(),
    };
    let pace_percent = assessment
        .as_ref()
        .map(|assessment| assessment.pace_percent);
    Ok(WindowView {
        kind,
        paced,
        target_percent,
        reading: Some(Reading {
            percent: at_now.percent,
            resets_at_ms,
            source: snapshot.source,
            taken_at_ms: snapshot.taken_at_ms,
            age_s: snapshot.age_s(now_ms),
            stale,
            target_percent: assessment
                .as_ref()
                .map_or(target_percent, |assessment| assessment.target_percent),
            pace_percent,
            pace_state: pace_percent.map(|pace| PaceState::of(at_now.percent, pace)),
            burn_rate_per_hour: assessment
                .as_ref()
                .map(|assessment| assessment.burn_percent_per_hour),
            projection: assessment
                .as_ref()
                .map(|assessment| Projection::from_assessment(assessment, now_ms)),
            history: chart,
        }),
    })
}

/// The pacing policy's view of `kind` for the reading the views show. The
/// policy assesses the freshest official reading, else a fresh estimate;
/// when the reading shown is stale (pacing would skip it), the policy is
/// asked with the staleness allowance stretched to that reading, so the
/// figures still come from the one implementation of pacing.
fn assess(
    config: &Config,
    kind: WindowKind,
    shown: &UsageSnapshot,
    history: &[UsageSnapshot],
    stale: bool,
    now_ms: i64,
) -> Option<policy::WindowAssessment> {
    let mut settings = PacingSettings::from_config(config);
    if !shown.source.is_official() {
        settings.use_estimate = true;
    }
    if stale {
        settings.stale_after_seconds = (shown.age_s(now_ms) + 1).max(0) as u64;
    }
    let input = PolicyInput {
        now_ms,
        snapshots: history,
        calls: &[],
        other_sessions: &[],
        tool_duration_ms: None,
        cache_ttl_seconds: config.pacing.default_cache_ttl_seconds,
        settings: &settings,
    };
    policy::assess(kind, &input, policy::DEFAULT_CYCLE_WORK_MS)
        .ok()
        .filter(|assessment| assessment.source.is_official() == shown.source.is_official())
}

/// Whether two readings belong to the same window (resets may jitter by seconds).
fn same_window(a: &WindowReading, b: &WindowReading) -> bool {
    match (a.resets_at_s, b.resets_at_s) {
        (Some(a), Some(b)) => (a - b).abs() <= 120,
        _ => true,
    }
}

/// The readings of the current window since it started, oldest first.
fn window_history(
    connection: &Connection,
    kind: WindowKind,
    source: SnapshotSource,
    window_start_ms: i64,
    current_reading: WindowReading,
) -> rusqlite::Result<Vec<UsagePoint>> {
    let rows = crate::usage::snapshot::window_readings_since(
        connection,
        kind,
        source.is_official(),
        window_start_ms,
    )?;
    let mut points = Vec::new();
    for (at_ms, reading) in rows {
        if same_window(&reading, &current_reading) {
            points.push(UsagePoint {
                at_ms,
                percent: reading.percent,
            });
        }
    }
    Ok(points)
}

/// The epic attached to the project (or an ancestor) and its progress;
/// each spec is read once per gathering.
fn epic_progress(
    connection: &Connection,
    project_dir: &str,
    specs: &mut HashMap<String, Option<momentum::Progress>>,
) -> rusqlite::Result<Option<EpicProgress>> {
    if project_dir.is_empty() {
        return Ok(None);
    }
    let Some(epic) = momentum::find_epic(connection, Path::new(project_dir))? else {
        return Ok(None);
    };
    let progress = match specs.get(&epic.project_dir) {
        Some(known) => *known,
        None => {
            let progress = match momentum::spec::read(&epic.spec_path) {
                Ok(spec) => Some(momentum::progress(connection, &epic.project_dir, &spec)?),
                Err(_) => None,
            };
            specs.insert(epic.project_dir.clone(), progress);
            progress
        }
    };
    Ok(Some(EpicProgress {
        spec_path: epic.spec_path.to_string_lossy().into_owned(),
        done: progress.map(|progress| progress.ticked),
        total: progress.map(|progress| progress.total),
        verified: progress
            .filter(|progress| progress.with_checks > 0)
            .map(|progress| progress.verified),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Store;
    use std::time::Duration;

    const NOW: i64 = 1_795_615_200_000;
    const MINUTE: i64 = 60_000;

    fn store() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("db"), Duration::from_secs(1)).unwrap();
        (dir, store)
    }

    fn insert(store: &mut Store, source: SnapshotSource, at: i64, five: f64, reset_ms: i64) {
        let snapshot = UsageSnapshot {
            source,
            taken_at_ms: at,
            five_hour: Some(WindowReading {
                percent: five,
                resets_at_s: Some(reset_ms / 1000),
            }),
            seven_day: None,
            seven_day_opus: None,
            seven_day_sonnet: None,
            raw_json: None,
        };
        store.write(|tx| snapshot::insert(tx, &snapshot)).unwrap();
    }

    fn gather_now(store: &Store) -> DashboardData {
        gather(
            store.connection(),
            &Config::default(),
            NOW,
            &TimeZone::UTC,
            GatherOptions { chart: true },
        )
        .unwrap()
    }

    #[test]
    fn the_reading_shown_is_the_freshest_official_one_unless_it_is_stale_and_an_estimate_is_newer()
    {
        let reset = NOW + 60 * MINUTE;
        for (name, rows, expected) in [
            (
                "fresh official beats a newer estimate",
                vec![
                    (SnapshotSource::Api, NOW - 5 * MINUTE, 10.0),
                    (SnapshotSource::Estimate, NOW - MINUTE, 20.0),
                ],
                Some((SnapshotSource::Api, 10.0)),
            ),
            (
                "stale official gives way to a newer estimate",
                vec![
                    (SnapshotSource::Statusline, NOW - 30 * MINUTE, 10.0),
                    (SnapshotSource::Estimate, NOW - MINUTE, 20.0),
                ],
                Some((SnapshotSource::Estimate, 20.0)),
            ),
            (
                "stale official stays when the estimate is older",
                vec![
                    (SnapshotSource::Estimate, NOW - 40 * MINUTE, 20.0),
                    (SnapshotSource::Statusline, NOW - 30 * MINUTE, 10.0),
                ],
                Some((SnapshotSource::Statusline, 10.0)),
            ),
            (
                "an estimate alone is shown",
                vec![(SnapshotSource::Estimate, NOW - 2 * MINUTE, 20.0)],
                Some((SnapshotSource::Estimate, 20.0)),
            ),
            ("nothing", vec![], None),
        ] {
            let (_dir, mut store) = store();
            for (source, at, percent) in rows {
                insert(&mut store, source, at, percent, reset);
            }
            let data = gather_now(&store);
            let shown = data.windows[0]
                .reading
                .as_ref()
                .map(|reading| (reading.source, reading.percent));
            assert_eq!(shown, expected, "{name}");
        }
    }

    #[test]
    fn a_window_whose_reset_passed_reads_zero_with_the_next_reset_and_no_rise() {
        let (_dir, mut store) = store();
        let reset = NOW - 10 * MINUTE;
        insert(
            &mut store,
            SnapshotSource::Api,
            NOW - 80 * MINUTE,
            70.0,
            reset,
        );
        insert(
            &mut store,
            SnapshotSource::Api,
            NOW - 12 * MINUTE,
            97.0,
            reset,
        );
        let data = gather_now(&store);
        let reading = data.windows[0].reading.as_ref().unwrap();
        assert_eq!(reading.percent, 0.0);
        assert_eq!(reading.resets_at_ms, Some(reset + 5 * 3_600_000));
        assert_eq!(reading.burn_rate_per_hour, Some(0.0));
        assert_eq!(
            reading.projection,
            Some(Projection::AtReset { percent: 0.0 })
        );
        assert!(reading.history.is_empty());
    }

    #[test]
    fn the_burn_rate_and_the_chart_keep_to_the_current_window() {
        let (_dir, mut store) = store();
        let old_reset = NOW - 30 * MINUTE;
        let reset = old_reset + 5 * 3_600_000;
        insert(
            &mut store,
            SnapshotSource::Api,
            NOW - 50 * MINUTE,
            90.0,
            old_reset,
        );
        insert(
            &mut store,
            SnapshotSource::Api,
            NOW - 20 * MINUTE,
            2.0,
            reset,
        );
        insert(
            &mut store,
            SnapshotSource::Statusline,
            NOW - MINUTE,
            6.0,
            reset,
        );
        let data = gather_now(&store);
        let reading = data.windows[0].reading.as_ref().unwrap();
        // The policy's least-squares slope runs through the window's start
        // (0 %, 29 minutes before the reading), 2 % and 6 %, never through
        // the old window's 90 %: over (-29, 0), (-19, 2), (0, 6) minutes it
        // is 90 / 434 % a minute.
        let rate = reading.burn_rate_per_hour.unwrap();
        assert!((rate - 90.0 / 434.0 * 60.0).abs() < 1e-9, "{rate}");
        assert_eq!(
            reading
                .history
                .iter()
                .map(|point| point.percent)
                .collect::<Vec<_>>(),
            vec![2.0, 6.0]
        );
    }

    #[test]
    fn local_midnight_follows_the_time_zone() {
        let paris = TimeZone::get("Europe/Paris").unwrap_or(TimeZone::fixed(jiff::tz::offset(1)));
        // 14:00 UTC is 15:00 in Paris (winter): midnight there is 23:00 UTC the day before.
        assert_eq!(day_start_ms(NOW, &TimeZone::UTC), NOW - 14 * 3_600_000);
        assert_eq!(day_start_ms(NOW, &paris), NOW - 15 * 3_600_000);
    }
}
