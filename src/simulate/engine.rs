//! The discrete-event engine: sessions working through their missions
//! against the account's usage windows, on machines that see what a real
//! machine sees.
//!
//! - **The mission is fixed in advance.** Each session's work is a
//!   sequence of cycles (a wait for a person or none, model time, tool
//!   time, cost) drawn in order from the session's own generator, with the
//!   phase of each cycle chosen by the session's *unpaced* clock. Pacing
//!   delays the work; it never skips or reorders it, and bursts, lulls and
//!   person pauses belong to the work, so a slowed burst is finished later
//!   rather than forgotten.
//! - **The cost** of a cycle is its drawn warm-cache cost, plus the reading
//!   of its context (growing every cycle until compaction) when the
//!   scenario prices that, plus a rebuild of the whole context when the
//!   request comes more than the cache TTL after the session's previous one.
//! - **Windows as Anthropic runs them.** The 5-hour window opens at the
//!   first request after the previous one reset (the one open when the run
//!   starts has the scenario's figure and reset); the weekly window resets
//!   on its own schedule. A window at 100 % refuses requests until it
//!   resets (a lockout).
//! - **Machines.** Sessions run on machines; each machine has its own store
//!   (a real SQLite store in memory), its own usage poller, status line and
//!   local estimate, and sees only its own sessions' calls and sleeps. Usage
//!   is the account's.
//! - **The hook's own path.** For a pacer that runs on the store
//!   (pace-maker), the engine writes what the hook writes (session start,
//!   prompts, every tool call) and what the status line and the poller
//!   write, and the pacer decides through `pacing::apply::decide`, the code
//!   `hook post-tool-use` runs, on the simulated clock.
//!
//! After the run's duration, work goes on until the windows open at that
//! moment reset (the earlier of the two), so every window's budget is in
//! play when a run is scored.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::path::PathBuf;

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use super::estimate::model_estimate;
use super::policies::{HookSide, Pacer, View};
use super::scenario::{Scenario, SessionSpec};
use crate::event::SessionContext;
use crate::pacing::policy::{ToolCall, OTHER_SESSIONS_HISTORY_MS};
use crate::store::Store;
use crate::usage::snapshot::{
    self, ModelFamily, SnapshotSource, UsageSnapshot, WindowKind, WindowReading,
};
use crate::usage::statusline::{self, StatuslineReading};

pub const MINUTE_MS: i64 = 60_000;
const FIVE_HOUR_MS: i64 = 5 * 60 * MINUTE_MS;
const WEEK_MS: i64 = 7 * 24 * 60 * MINUTE_MS;
/// History a pacer is shown: a day and an hour is more than any looks at.
const VIEW_HISTORY_MS: i64 = 25 * 60 * MINUTE_MS;
/// The status line reports at most this often.
const STATUSLINE_EVERY_MS: i64 = 30_000;
/// The local estimate is taken at most this often for pacers that keep
/// their own readings (the hook takes it when it needs it).
const ESTIMATE_EVERY_MS: i64 = 60_000;

/// One instance of a window: when it opened and reset, what it started
/// with, and its highest utilization.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct WindowSpan {
    pub kind: WindowKind,
    pub opened_ms: i64,
    pub ends_ms: i64,
    pub initial_percent: f64,
    pub peak_percent: f64,
}

/// The account's windows at one moment.
#[derive(Debug, Clone, Copy, PartialEq)]
struct State {
    at_ms: i64,
    five_percent: f64,
    five_ends_ms: Option<i64>,
    week_percent: f64,
    week_ends_ms: i64,
    opus_percent: f64,
    opus_ends_ms: Option<i64>,
}

/// The account: both windows and how they moved.
#[derive(Debug, Clone)]
pub struct Account {
    pub start_ms: i64,
    /// Percent of the weekly window per unit of usage (a unit is 1 % of the
    /// 5-hour window).
    pub weekly_per_unit: f64,
    weekly_first_reset_ms: i64,
    five_ends_ms: Option<i64>,
    five_percent: f64,
    week_ends_ms: i64,
    week_percent: f64,
    /// Percent of the Opus weekly window per unit of usage: 0 unless the
    /// scenario has that window and its sessions run Opus.
    pub opus_per_unit: f64,
    /// The Opus weekly window's first reset, when the scenario has one.
    opus_first_reset_ms: Option<i64>,
    opus_ends_ms: Option<i64>,
    opus_percent: f64,
    /// Every 5-hour window, in order (the one open at the start first).
    pub five_hour_windows: Vec<WindowSpan>,
    /// Every weekly period, in order.
    pub weekly_periods: Vec<WindowSpan>,
    /// Every period of the Opus weekly window, in order (none without it).
    pub opus_periods: Vec<WindowSpan>,
    history: Vec<State>,
}

impl Account {
    pub fn new(scenario: &Scenario) -> Self {
        let start_ms = scenario.start_ms();
        let minutes = |value: f64| (value * MINUTE_MS as f64) as i64;
        let five = &scenario.windows.five_hour;
        let week = &scenario.windows.seven_day;
        let five_ends_ms = start_ms + minutes(five.resets_in_minutes);
        let weekly_first_reset_ms = start_ms + minutes(week.resets_in_minutes);
        let open = five.initial_percent > 0.0 && five_ends_ms > start_ms;
        let opus = scenario.windows.seven_day_opus.as_ref();
        let opus_first_reset_ms = opus.map(|opus| start_ms + minutes(opus.resets_in_minutes));
        let runs_opus =
            scenario.model.as_deref().and_then(ModelFamily::of_model) == Some(ModelFamily::Opus);
        let mut account = Self {
            start_ms,
            weekly_per_unit: 1.0 / scenario.weekly_capacity_in_five_hour_windows,
            weekly_first_reset_ms,
            five_ends_ms: open.then_some(five_ends_ms),
            five_percent: if open { five.initial_percent } else { 0.0 },
            week_ends_ms: weekly_first_reset_ms,
            week_percent: week.initial_percent,
            opus_per_unit: if runs_opus && opus.is_some() {
                1.0 / scenario.opus_capacity_in_five_hour_windows
            } else {
                0.0
            },
            opus_first_reset_ms,
            opus_ends_ms: opus_first_reset_ms,
            opus_percent: opus.map_or(0.0, |opus| opus.initial_percent),
            opus_periods: opus
                .zip(opus_first_reset_ms)
                .map(|(opus, ends_ms)| WindowSpan {
                    kind: WindowKind::SevenDayOpus,
                    opened_ms: ends_ms - WEEK_MS,
                    ends_ms,
                    initial_percent: opus.initial_percent,
                    peak_percent: opus.initial_percent,
                })
                .into_iter()
                .collect(),
            five_hour_windows: Vec::new(),
            weekly_periods: vec![WindowSpan {
                kind: WindowKind::SevenDay,
                opened_ms: weekly_first_reset_ms - WEEK_MS,
                ends_ms: weekly_first_reset_ms,
                initial_percent: week.initial_percent,
                peak_percent: week.initial_percent,
            }],
            history: Vec::new(),
        };
        if open {
            account.five_hour_windows.push(WindowSpan {
                kind: WindowKind::FiveHour,
                opened_ms: five_ends_ms - FIVE_HOUR_MS,
                ends_ms: five_ends_ms,
                initial_percent: five.initial_percent,
                peak_percent: five.initial_percent,
            });
        }
        account.settle(start_ms);
        account.remember(start_ms);
        account
    }

    /// The end of the weekly period that holds `at_ms`.
    fn week_end_at(&self, at_ms: i64) -> i64 {
        period_end_at(self.weekly_first_reset_ms, at_ms)
    }

    /// The end of the Opus weekly period that holds `at_ms`.
    fn opus_end_at(&self, at_ms: i64) -> Option<i64> {
        self.opus_first_reset_ms
            .map(|first| period_end_at(first, at_ms))
    }

    /// Applies the resets due by `now_ms`.
    fn settle(&mut self, now_ms: i64) {
        if self.five_ends_ms.is_some_and(|ends| ends <= now_ms) {
            self.five_ends_ms = None;
            self.five_percent = 0.0;
        }
        let week_ends = self.week_end_at(now_ms);
        if week_ends != self.week_ends_ms {
            self.week_ends_ms = week_ends;
            self.week_percent = 0.0;
            self.weekly_periods.push(WindowSpan {
                kind: WindowKind::SevenDay,
                opened_ms: week_ends - WEEK_MS,
                ends_ms: week_ends,
                initial_percent: 0.0,
                peak_percent: 0.0,
            });
        }
        let opus_ends = self.opus_end_at(now_ms);
        if let (Some(ends), true) = (opus_ends, opus_ends != self.opus_ends_ms) {
            self.opus_ends_ms = Some(ends);
            self.opus_percent = 0.0;
            self.opus_periods.push(WindowSpan {
                kind: WindowKind::SevenDayOpus,
                opened_ms: ends - WEEK_MS,
                ends_ms: ends,
                initial_percent: 0.0,
                peak_percent: 0.0,
            });
        }
    }

    fn remember(&mut self, at_ms: i64) {
        let state = State {
            at_ms,
            five_percent: self.five_percent,
            five_ends_ms: self.five_ends_ms,
            week_percent: self.week_percent,
            week_ends_ms: self.week_ends_ms,
            opus_percent: self.opus_percent,
            opus_ends_ms: self.opus_ends_ms,
        };
        match self.history.last_mut() {
            Some(last) if last.at_ms == at_ms => *last = state,
            _ => self.history.push(state),
        }
    }

    /// Charges a request: opens a 5-hour window if none is open.
    fn charge(&mut self, now_ms: i64, units: f64) {
        self.settle(now_ms);
        if self.five_ends_ms.is_none() {
            self.five_ends_ms = Some(now_ms + FIVE_HOUR_MS);
            self.five_percent = 0.0;
            self.five_hour_windows.push(WindowSpan {
                kind: WindowKind::FiveHour,
                opened_ms: now_ms,
                ends_ms: now_ms + FIVE_HOUR_MS,
                initial_percent: 0.0,
                peak_percent: 0.0,
            });
        }
        self.five_percent += units;
        self.week_percent += units * self.weekly_per_unit;
        if let Some(window) = self.five_hour_windows.last_mut() {
            window.peak_percent = window.peak_percent.max(self.five_percent);
        }
        if let Some(period) = self.weekly_periods.last_mut() {
            period.peak_percent = period.peak_percent.max(self.week_percent);
        }
        self.opus_percent += units * self.opus_per_unit;
        if let Some(period) = self.opus_periods.last_mut() {
            period.peak_percent = period.peak_percent.max(self.opus_percent);
        }
        self.remember(now_ms);
    }

    /// Until when a window at 100 % refuses requests, if one does.
    fn locked_until(&mut self, now_ms: i64) -> Option<i64> {
        self.settle(now_ms);
        let five = self.five_ends_ms.filter(|_| self.five_percent >= 100.0);
        let week = (self.week_percent >= 100.0).then_some(self.week_ends_ms);
        let opus = self.opus_ends_ms.filter(|_| self.opus_percent >= 100.0);
        five.max(week).max(opus)
    }

    /// For the oracle: until when a request of `units` must wait so that no
    /// window passes `target` (a window with nothing used yet takes it).
    fn fits_after(&mut self, now_ms: i64, units: f64, target: f64) -> Option<i64> {
        self.settle(now_ms);
        let five = self
            .five_ends_ms
            .filter(|_| self.five_percent > 0.0 && self.five_percent + units > target);
        let week = (self.week_percent > 0.0
            && self.week_percent + units * self.weekly_per_unit > target)
            .then_some(self.week_ends_ms);
        let opus = self.opus_ends_ms.filter(|_| {
            self.opus_per_unit > 0.0
                && self.opus_percent > 0.0
                && self.opus_percent + units * self.opus_per_unit > target
        });
        five.max(week).max(opus)
    }

    /// Whether every window the sessions spend is at or under `target` now.
    fn within(&self, target: f64) -> bool {
        self.five_percent <= target
            && self.week_percent <= target
            && (self.opus_per_unit <= 0.0 || self.opus_percent <= target)
    }

    fn state_at(&self, at_ms: i64) -> State {
        let index = self.history.partition_point(|state| state.at_ms <= at_ms);
        let mut state = self.history[index.saturating_sub(1)];
        if state.five_ends_ms.is_some_and(|ends| ends <= at_ms) {
            state.five_ends_ms = None;
            state.five_percent = 0.0;
        }
        if self.week_end_at(at_ms) != state.week_ends_ms {
            state.week_ends_ms = self.week_end_at(at_ms);
            state.week_percent = 0.0;
        }
        if self.opus_end_at(at_ms) != state.opus_ends_ms {
            state.opus_ends_ms = self.opus_end_at(at_ms);
            state.opus_percent = 0.0;
        }
        state
    }

    /// True utilization of a window at a moment.
    pub fn percent(&self, kind: WindowKind, at_ms: i64) -> f64 {
        let state = self.state_at(at_ms);
        match kind {
            WindowKind::FiveHour => state.five_percent,
            WindowKind::SevenDay => state.week_percent,
            WindowKind::SevenDayOpus => state.opus_percent,
            WindowKind::SevenDaySonnet => 0.0,
        }
    }

    /// The window's reset as the sources report it at a moment (none for a
    /// 5-hour window not yet opened).
    pub fn resets_at_ms(&self, kind: WindowKind, at_ms: i64) -> Option<i64> {
        let state = self.state_at(at_ms);
        match kind {
            WindowKind::FiveHour => state.five_ends_ms,
            WindowKind::SevenDay => Some(state.week_ends_ms),
            WindowKind::SevenDayOpus => state.opus_ends_ms,
            WindowKind::SevenDaySonnet => None,
        }
    }
}

/// The end of the weekly period that holds `at_ms`, for a window that
/// first resets at `first_reset_ms` and every week after.
fn period_end_at(first_reset_ms: i64, at_ms: i64) -> i64 {
    if at_ms < first_reset_ms {
        first_reset_ms
    } else {
        first_reset_ms + ((at_ms - first_reset_ms) / WEEK_MS + 1) * WEEK_MS
    }
}

/// One request as it happened.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CycleRecord {
    pub session: usize,
    pub at_ms: i64,
    /// Everything the request cost, units.
    pub cost: f64,
    /// The part of it that rebuilt the cache.
    pub rebuild: f64,
    /// The session's first request (its cache is cold by nature).
    pub first: bool,
    /// Cold only because of the pacer's sleep before it.
    pub slept_cold: bool,
    /// Whether every window was still at or under the target after it.
    pub within_target: bool,
}

/// One pacer decision.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DecisionRecord {
    pub session: usize,
    pub at_ms: i64,
    pub delay_ms: i64,
}

/// Everything a run leaves behind.
#[derive(Debug, Clone)]
pub struct Trace {
    pub start_ms: i64,
    /// The end of the scenario's duration.
    pub end_ms: i64,
    /// When the run stopped: the end, or later the first reset of a window
    /// open at the end.
    pub stop_ms: i64,
    pub account: Account,
    pub requests: Vec<CycleRecord>,
    /// Completed tool cycles (PostToolUse reached), per session.
    pub completed: Vec<u64>,
    pub decisions: Vec<DecisionRecord>,
    /// (from, to) of each wait for a locked window.
    pub lockouts: Vec<(i64, i64)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Event {
    End,
    Poll(usize),
    Request(usize),
    PostToolUse(usize),
}

#[derive(Debug, Clone, Copy)]
struct CycleDraw {
    idle_ms: Option<i64>,
    model_ms: i64,
    tool_ms: i64,
    cost: f64,
}

struct SessionState<'a> {
    spec: &'a SessionSpec,
    id: String,
    machine: usize,
    rng: ChaCha8Rng,
    start_ms: i64,
    /// The session's work lasts this long at full speed.
    work_ms: i64,
    /// Where the unpaced clock stands (ms from the session's start).
    nominal_ms: i64,
    pending: Option<CycleDraw>,
    idle_done: bool,
    last_touch_ms: Option<i64>,
    /// The sleep decided at the session's last PostToolUse.
    last_delay_ms: i64,
    /// Time the oracle held the session back since its last request: the
    /// oracle is an ideal, and its waits cost no cache rebuild.
    held_ms: i64,
    context_kilotokens: f64,
    calls: Vec<ToolCall>,
    tool_ms: i64,
    started: bool,
}

impl SessionState<'_> {
    fn phase_index(&self) -> usize {
        let mut elapsed = self.nominal_ms as f64 / MINUTE_MS as f64;
        for (index, phase) in self.spec.phases.iter().enumerate() {
            if elapsed < phase.minutes {
                return index;
            }
            elapsed -= phase.minutes;
        }
        self.spec.phases.len() - 1
    }

    /// The next cycle of the mission, or none when its work is done. The
    /// draws are the same whatever happened before: cycle k of a session
    /// is the same under every policy.
    fn draw(&mut self) -> Option<CycleDraw> {
        if self.nominal_ms >= self.work_ms {
            return None;
        }
        let phase = &self.spec.phases[self.phase_index()];
        let rng = &mut self.rng;
        let idle_roll = phase.idle_minutes.sample(rng);
        let idle = super::scenario::unit(rng) < phase.idle_probability;
        let model_ms = (phase.model_seconds.sample(rng) * 1000.0) as i64;
        let tool_ms = (phase.tool_seconds.sample(rng) * 1000.0) as i64;
        let cost = phase.cost_percent.sample(rng);
        let idle_ms = idle.then(|| ((idle_roll * MINUTE_MS as f64) as i64).max(1));
        self.nominal_ms += idle_ms.unwrap_or(0) + model_ms + tool_ms;
        Some(CycleDraw {
            idle_ms,
            model_ms,
            tool_ms,
            cost,
        })
    }

    fn context(&self) -> SessionContext {
        SessionContext {
            session_id: self.id.clone(),
            transcript_path: PathBuf::new(),
            cwd: PathBuf::from("/simulated"),
            project_dir: PathBuf::from("/simulated"),
        }
    }
}

/// The generator of one session's mission.
fn mission_stream(seed: u64, session: usize) -> ChaCha8Rng {
    ChaCha8Rng::seed_from_u64(seed ^ (session as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15))
}

/// What one machine knows.
pub struct Machine {
    /// The machine's store, for a pacer that runs on it.
    pub store: Option<Store>,
    /// Every reading the machine's sources gave, oldest first (for pacers
    /// that keep their own readings, and for the estimate).
    pub snapshots: Vec<UsageSnapshot>,
    /// Cumulative usage of this machine's sessions: (time, units). What
    /// its transcripts say.
    local: Vec<(i64, f64)>,
    last_statusline_ms: i64,
    last_estimate_ms: i64,
    /// The no-delay passes the machine's sessions hold (the hook keeps
    /// them in the tool home's files).
    passes: std::collections::HashMap<String, crate::pacing::pass::Pass>,
    /// When the machine's next poll of the usage API comes.
    next_poll_ms: i64,
}

impl Machine {
    fn local_total(&self) -> f64 {
        self.local.last().map_or(0.0, |&(_, total)| total)
    }
}

/// Options that differ between runs of one scenario.
#[derive(Debug, Clone, Copy)]
pub struct Options {
    /// Whether a window at 100 % locks requests out. Off for the run that
    /// measures what the mission does with nothing in its way.
    pub limits: bool,
    /// The target a request is measured against (`within_target`).
    pub target_percent: f64,
    /// The oracle: it knows every cycle's cost and the true utilization,
    /// and holds a request back (until the window resets) exactly when it
    /// would take a window past the target. Its holds cost no rebuild.
    pub oracle: bool,
}

impl Options {
    pub fn paced(target_percent: f64) -> Self {
        Self {
            limits: true,
            target_percent,
            oracle: false,
        }
    }
}

/// Rounds down to the reporting step, as the sources report.
fn round_down(percent: f64, granularity: f64) -> f64 {
    let percent = percent.clamp(0.0, 100.0);
    if granularity > 0.0 {
        (percent / granularity + 1e-9).floor() * granularity
    } else {
        percent
    }
}

/// What an official source reports at `at_ms` of usage as it was at `seen_ms`.
fn official_reading(
    account: &Account,
    source: SnapshotSource,
    at_ms: i64,
    seen_ms: i64,
    granularity: f64,
) -> UsageSnapshot {
    let seen_ms = seen_ms.max(account.start_ms);
    let reading = |kind| WindowReading {
        percent: round_down(account.percent(kind, seen_ms), granularity),
        resets_at_s: account.resets_at_ms(kind, seen_ms).map(|ms| ms / 1000),
    };
    UsageSnapshot {
        source,
        taken_at_ms: at_ms,
        five_hour: Some(reading(WindowKind::FiveHour)),
        seven_day: Some(reading(WindowKind::SevenDay)),
        // As the endpoint reports it: only when the account has the window.
        seven_day_opus: account
            .opus_first_reset_ms
            .map(|_| reading(WindowKind::SevenDayOpus)),
        seven_day_sonnet: None,
        raw_json: None,
    }
}

/// Runs a scenario with a pacer.
pub fn run(scenario: &Scenario, pacer: &mut dyn Pacer, options: Options) -> Trace {
    let start_ms = scenario.start_ms();
    let end_ms = start_ms + (scenario.duration_hours * 60.0 * MINUTE_MS as f64) as i64;
    let reporting = &scenario.reporting;
    let ttl_ms = (scenario.cache.ttl_seconds * 1000.0) as i64;
    let ttl_seconds = scenario.cache.ttl_seconds.round().max(1.0) as i64;
    let granularity = reporting.granularity_percent;
    let mut account = Account::new(scenario);
    let uses_store = pacer.uses_store();
    let machine_count = scenario.machine_count();
    let mut machines: Vec<Machine> = (0..machine_count)
        .map(|_| Machine {
            store: uses_store.then(|| Store::open_in_memory().expect("a store in memory opens")),
            snapshots: Vec::new(),
            local: vec![(start_ms, 0.0)],
            last_statusline_ms: i64::MIN / 2,
            last_estimate_ms: i64::MIN / 2,
            passes: Default::default(),
            next_poll_ms: i64::MAX,
        })
        .collect();
    // Readings from before the run, on every machine.
    for prior in &scenario.history {
        let at_ms = start_ms + (prior.minutes * MINUTE_MS as f64) as i64;
        let reading = |kind: WindowKind, percent: f64| WindowReading {
            percent,
            resets_at_s: account.resets_at_ms(kind, start_ms).map(|ms| ms / 1000),
        };
        let snapshot = UsageSnapshot {
            source: prior.source(),
            taken_at_ms: at_ms,
            five_hour: Some(reading(WindowKind::FiveHour, prior.five_hour_percent)),
            seven_day: Some(reading(WindowKind::SevenDay, prior.seven_day_percent)),
            seven_day_opus: None,
            seven_day_sonnet: None,
            raw_json: None,
        };
        for machine in &mut machines {
            machine.snapshots.push(snapshot.clone());
            if let Some(store) = &mut machine.store {
                store
                    .write(|transaction| snapshot::insert(transaction, &snapshot).map(drop))
                    .expect("the store takes a reading");
            }
        }
    }
    for machine in &mut machines {
        machine
            .snapshots
            .sort_by_key(|snapshot| snapshot.taken_at_ms);
    }
    let mut sessions: Vec<SessionState<'_>> = scenario
        .sessions
        .iter()
        .enumerate()
        .map(|(index, spec)| SessionState {
            spec,
            id: format!("session-{index}"),
            machine: spec.machine,
            rng: mission_stream(scenario.seed, index),
            start_ms: start_ms + (spec.start_minutes * MINUTE_MS as f64) as i64,
            work_ms: ((spec.end_minutes - spec.start_minutes) * MINUTE_MS as f64) as i64,
            nominal_ms: 0,
            pending: None,
            idle_done: false,
            last_touch_ms: None,
            last_delay_ms: 0,
            held_ms: 0,
            context_kilotokens: spec.context.start_kilotokens,
            calls: Vec::new(),
            tool_ms: 0,
            started: false,
        })
        .collect();
    let mut trace = Trace {
        start_ms,
        end_ms,
        stop_ms: end_ms,
        account: account.clone(),
        requests: Vec::new(),
        completed: vec![0; sessions.len()],
        decisions: Vec::new(),
        lockouts: Vec::new(),
    };
    let mut queue: BinaryHeap<Reverse<(i64, u64, Event)>> = BinaryHeap::new();
    let mut sequence = 0u64;
    let mut push = |queue: &mut BinaryHeap<_>, at: i64, event: Event| {
        sequence += 1;
        queue.push(Reverse((at, sequence, event)));
    };
    push(&mut queue, end_ms, Event::End);
    for (index, session) in sessions.iter().enumerate() {
        push(&mut queue, session.start_ms, Event::Request(index));
    }
    let poll_ms = ((reporting.api_poll_seconds * 1000.0) as i64).max(1000);
    for (index, machine) in machines.iter_mut().enumerate() {
        // Machines poll out of step with each other.
        machine.next_poll_ms = start_ms + poll_ms * index as i64 / machine_count as i64;
        push(&mut queue, machine.next_poll_ms, Event::Poll(index));
    }
    let lag_ms = (reporting.report_lag_seconds * 1000.0) as i64;
    let in_outage = |at_ms: i64, statusline: bool| {
        reporting.outages.iter().any(|outage| {
            let from = start_ms + (outage.start_minutes * MINUTE_MS as f64) as i64;
            let to = from + (outage.duration_minutes * MINUTE_MS as f64) as i64;
            (!statusline || outage.statusline_too) && at_ms >= from && at_ms < to
        })
    };
    let mut stop_ms = i64::MAX;

    while let Some(Reverse((now, _, event))) = queue.pop() {
        if now >= stop_ms {
            break;
        }
        match event {
            Event::End => {
                // Work goes on until a window open now resets, so every
                // window's budget is in play when the run is scored.
                account.settle(now);
                let five = account.five_ends_ms.unwrap_or(now);
                stop_ms = five.min(account.week_ends_ms).max(now);
                if stop_ms == now {
                    break;
                }
            }
            Event::Poll(index) => {
                if !in_outage(now, false) {
                    let snapshot = official_reading(
                        &account,
                        SnapshotSource::Api,
                        now,
                        now - lag_ms,
                        granularity,
                    );
                    let machine = &mut machines[index];
                    if let Some(store) = &mut machine.store {
                        store
                            .write(|transaction| snapshot::insert(transaction, &snapshot).map(drop))
                            .expect("the store takes a poll");
                    }
                    machine.snapshots.push(snapshot);
                }
                machines[index].next_poll_ms = now + poll_ms;
                push(&mut queue, now + poll_ms, Event::Poll(index));
            }
            Event::Request(index) => {
                let session = &mut sessions[index];
                let draw = match session.pending {
                    Some(draw) => draw,
                    None => match session.draw() {
                        Some(draw) => {
                            session.pending = Some(draw);
                            session.idle_done = false;
                            draw
                        }
                        None => continue,
                    },
                };
                let machine = &mut machines[session.machine];
                if !session.started {
                    session.started = true;
                    if let Some(store) = &mut machine.store {
                        let context = session.context();
                        store
                            .write(|transaction| {
                                crate::sessions::start(
                                    transaction,
                                    &context,
                                    "startup",
                                    scenario.model.as_deref(),
                                    now,
                                )?;
                                crate::sessions::record_prompt(transaction, &context, now)
                            })
                            .expect("the store takes a session");
                    }
                }
                if let (Some(idle_ms), false) = (draw.idle_ms, session.idle_done) {
                    session.idle_done = true;
                    push(&mut queue, now + idle_ms, Event::Request(index));
                    continue;
                }
                if draw.idle_ms.is_some() && session.idle_done {
                    // The person is back: a prompt.
                    if let Some(store) = &mut machine.store {
                        let context = session.context();
                        store
                            .write(|transaction| {
                                crate::sessions::record_prompt(transaction, &context, now)
                            })
                            .expect("the store takes a prompt");
                    }
                    session.idle_done = false;
                    session.pending = Some(CycleDraw {
                        idle_ms: None,
                        ..draw
                    });
                }
                let gap = session
                    .last_touch_ms
                    .map(|touched| now - touched - session.held_ms);
                let cold = gap.is_none_or(|gap| gap > ttl_ms);
                let rebuild = if cold {
                    session.context_kilotokens * scenario.cache.rebuild_percent_per_kilotoken
                } else {
                    0.0
                };
                let cost = draw.cost
                    + session.context_kilotokens * scenario.cache.read_percent_per_kilotoken
                    + rebuild;
                if options.oracle {
                    if let Some(until) = account.fits_after(now, cost, options.target_percent) {
                        session.held_ms += until - now;
                        push(&mut queue, until, Event::Request(index));
                        continue;
                    }
                }
                if options.limits {
                    if let Some(until) = account.locked_until(now) {
                        trace.lockouts.push((now, until));
                        push(&mut queue, until.max(now + 1), Event::Request(index));
                        continue;
                    }
                }
                session.pending = None;
                session.held_ms = 0;
                // Cold only because of the sleep: without it the cache was warm.
                let slept_cold =
                    gap.is_some_and(|gap| gap > ttl_ms && gap - session.last_delay_ms <= ttl_ms);
                account.charge(now, cost);
                let within_target = account.within(options.target_percent);
                trace.requests.push(CycleRecord {
                    session: index,
                    at_ms: now,
                    cost,
                    rebuild,
                    first: session.last_touch_ms.is_none(),
                    slept_cold,
                    within_target,
                });
                session.last_touch_ms = Some(now);
                let context = &session.spec.context;
                session.context_kilotokens += context.growth_kilotokens_per_cycle;
                if session.context_kilotokens > context.max_kilotokens {
                    session.context_kilotokens = context.after_compaction_kilotokens;
                }
                session.tool_ms = draw.tool_ms;
                let total = machine.local_total() + cost;
                machine.local.push((now, total));
                let reply_ms = now + draw.model_ms;
                if reporting.statusline
                    && !in_outage(reply_ms, true)
                    && reply_ms - machine.last_statusline_ms >= STATUSLINE_EVERY_MS
                {
                    // The status line shows the figures of the reply's
                    // headers: the account as the request left it.
                    machine.last_statusline_ms = reply_ms;
                    let mut snapshot = official_reading(
                        &account,
                        SnapshotSource::Statusline,
                        reply_ms,
                        now,
                        granularity,
                    );
                    snapshot.taken_at_ms = reply_ms;
                    // The status line carries the 5-hour and weekly windows only.
                    snapshot.seven_day_opus = None;
                    if let Some(store) = &mut machine.store {
                        let recorded = statusline::record(
                            store,
                            &StatuslineReading {
                                snapshot: Some(snapshot.clone()),
                                prompt_cache_ttl_s: Some(ttl_seconds),
                                session_model: None,
                            },
                        )
                        .expect("the store takes a status line");
                        // As the status line command does: new figures end
                        // the machine's no-delay passes.
                        if recorded.new_figures {
                            machine.passes.clear();
                        }
                    }
                    machine.snapshots.push(snapshot);
                }
                if !uses_store
                    && reporting.estimate
                    && now - machine.last_estimate_ms >= ESTIMATE_EVERY_MS
                {
                    if let Some(official) = machine
                        .snapshots
                        .iter()
                        .rev()
                        .find(|snapshot| snapshot.source.is_official())
                    {
                        machine.last_estimate_ms = now;
                        let estimate = model_estimate(
                            official,
                            &machine.local,
                            account.weekly_per_unit,
                            reporting.estimate_error,
                            now,
                        );
                        machine.snapshots.push(estimate);
                    }
                }
                push(
                    &mut queue,
                    now + draw.model_ms + draw.tool_ms,
                    Event::PostToolUse(index),
                );
            }
            Event::PostToolUse(index) => {
                trace.completed[index] += 1;
                let machine_index = sessions[index].machine;
                sessions[index].calls.push(ToolCall {
                    at_ms: now,
                    delay_ms: 0,
                });
                let machine = &mut machines[machine_index];
                if let Some(store) = &mut machine.store {
                    let context = sessions[index].context();
                    let tool_ms = sessions[index].tool_ms;
                    store
                        .write(|transaction| {
                            crate::sessions::record_tool_call(
                                transaction,
                                &context,
                                "Bash",
                                Some(tool_ms.max(0) as u64),
                                now,
                            )
                        })
                        .expect("the store takes a tool call");
                }
                let history_from = machine
                    .snapshots
                    .partition_point(|snapshot| snapshot.taken_at_ms < now - VIEW_HISTORY_MS);
                let since = |calls: &[ToolCall], span_ms: i64| {
                    calls.partition_point(|call| call.at_ms < now - span_ms)
                };
                // What this machine sees: its other sessions' last hour.
                let others: Vec<&[ToolCall]> = sessions
                    .iter()
                    .enumerate()
                    .filter(|(other, state)| *other != index && state.machine == machine_index)
                    .map(|(_, other)| {
                        &other.calls[since(&other.calls, OTHER_SESSIONS_HISTORY_MS)..]
                    })
                    .filter(|calls| !calls.is_empty())
                    .collect();
                let session = &sessions[index];
                let keep_from = since(&session.calls, VIEW_HISTORY_MS);
                let Machine {
                    store,
                    snapshots,
                    local,
                    passes,
                    next_poll_ms,
                    ..
                } = machine;
                let mut view = View {
                    now_ms: now,
                    session: index,
                    session_id: &session.id,
                    snapshots: &snapshots[history_from..],
                    calls: &session.calls[keep_from..],
                    other_sessions: &others,
                    tool_duration_ms: session.tool_ms,
                    cache_ttl_seconds: ttl_seconds as u64,
                    hook: store.as_mut().map(|store| HookSide {
                        store,
                        local,
                        weekly_per_unit: account.weekly_per_unit,
                        estimate_error: reporting.estimate_error,
                        estimate: reporting.estimate,
                        passes,
                        poll_due_ms: Some(*next_poll_ms),
                    }),
                };
                let delay_ms = pacer.delay_ms(&mut view).max(0);
                let session = &mut sessions[index];
                if let Some(last) = session.calls.last_mut() {
                    last.delay_ms = delay_ms;
                }
                if keep_from > 4096 {
                    session.calls.drain(..keep_from);
                }
                trace.decisions.push(DecisionRecord {
                    session: index,
                    at_ms: now,
                    delay_ms,
                });
                session.last_delay_ms = delay_ms;
                push(&mut queue, now + delay_ms, Event::Request(index));
            }
        }
    }
    trace.stop_ms = if stop_ms == i64::MAX { end_ms } else { stop_ms };
    account.settle(trace.stop_ms);
    trace.account = account;
    trace
}

#[cfg(test)]
mod tests;
