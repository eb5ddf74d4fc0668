//! The pacing policy: a pure function from usage history, the session's own
//! recent tool calls, settings and `now` to a delay and the reason for it.
//!
//! The idea, per window (5-hour, weekly, and the weekly window of the
//! session's model family when the endpoint reports one; the one needing
//! the longer delay decides):
//! - The *observed* burn rate `b` is the least-squares slope of the
//!   readings over a lookback span (30 minutes for the 5-hour window, a
//!   day for the weekly one, never before the window's start). The
//!   readings are chosen by their times only, never by their values, so a
//!   higher reading never gives a lower rate (the delay rises with
//!   utilization); a span shorter than a floor (15 min, 1 day) is divided
//!   by the floor, so whole-percent steps and a fresh window cannot fake a
//!   steep rate. Thirty minutes is the measured trade-off: shorter follows
//!   a burst's end sooner (calm work is not slowed for a burst that is
//!   over), longer changes the delay less often. For the 5-hour window
//!   the slope over the last ten minutes (two polls) is measured too, and
//!   the larger of the two is the recent rate: a burst's start shows there
//!   first. Not right after a pause longer than the prompt cache lives:
//!   that rise is the cache rebuilt once, not a new rate.
//! - Part of that span the account's sessions slept in pace-maker's own
//!   delays (this session's calls, and the other sessions' recent ones
//!   when the caller knows them); the part of the span before the first
//!   call any of them made counts as unpaced work by someone unseen, so a
//!   fresh session does not take its first sleeps for the whole span's.
//!   The *unpaced* rate
//!   `D = b / (1 - slept share)` is the rate the mission runs at when left
//!   alone. Projecting `D`, not `b`, is what keeps the policy from
//!   oscillating: the sleeps that brought the mission on pace do not make
//!   it look as if no sleep were needed. Counting the other sessions'
//!   sleeps is what makes a session that joins a paced account slow down
//!   with the others at once, instead of running free on a rate they hold
//!   down until its own sleeps fill the span.
//! - For the 5-hour window the same is measured over the whole window so
//!   far (divided by at least an hour): the *long-run* unpaced rate `L`,
//!   pauses and lulls included, and the *active* rate `A`, `L` over the
//!   share of the time the sessions were not away (gaps over 15 min). The
//!   *near-term* rate `N` is the larger of `D` and `A` (right after a lull
//!   `D` is flat, a burst that starts now shows only at the next reading,
//!   and the session that just called is working): it carries the reading
//!   forward and decides when a burst is held to the reset (below).
//! - The utilization now, `U`, is the freshest reading carried forward at
//!   `N` times the share of the time since that the session did not sleep
//!   (a reading up to a poll interval old still sees a lull in the
//!   delays).
//!   In the window's last half hour the requests every known session sent
//!   since the reading count too, at the rise per request the half hour
//!   before it showed (after a lull, with fewer than three requests there,
//!   at the window's own rise per request): when they reach the target,
//!   the window is done (a
//!   5-minute poll with whole-percent steps misses quick cycles of several
//!   percent just before a reset). They only end the window, never stretch
//!   cycles: a count off by a request or two would slow work for nothing.
//! - The near term, `min(T, 30 min)`, rises at `D`, plus `A - D` (when
//!   larger) over 6 minutes: room kept for a burst that starts now and
//!   runs until a reading shows it. Projecting `A` over the whole near
//!   term slept through the calm ends of windows for bursts that did not
//!   come.
//! - The projection at reset is `U + near-term rise + F * (rest of T)`.
//!   `F` is `L` when `L` rests on a span as long as half the far future,
//!   or asks for a stretch of 1.75 or more; below that it leans toward the
//!   rate that lands on the target, so a window's first noisy half hour is
//!   not projected over four more hours. Under the target: no delay. Over
//!   it, every tool cycle is stretched by `(projection - U) / (target - U)`:
//!   the delay is the session's typical work per cycle (the median of the
//!   last half hour's cycles: a person's pause is no cycle's work) times
//!   the stretch less
//!   one; a stretch under 1.2 is noise and is not taken. When `N` kept up
//!   to the reset would ask for 0.85 or more of the stretch the capped
//!   sleeps can give at all, `N` is projected to the reset instead: a
//!   throttled burst lasts longer (the same requests over more time), and
//!   one found too late rises a few percent an hour under the longest
//!   sleeps, past the target before the reset. In a calm stretch
//!   (`D` below `L`) with room for ten minutes of `L` before the target,
//!   cheap cycles take the delay in proportion `D / L` (at least a
//!   quarter): sleeping through them buys little budget, and the
//!   expensive cycles to come pay the stretch. Each concurrent
//!   session sees the same account-wide rates and stretches its own cycles
//!   by the same factor, so together they slow in proportion without
//!   knowing of each other.
//! - A single sleep stays under the prompt-cache time-to-live (minus a
//!   margin and the time the current cycle has already used), under
//!   `max_delay` and under the hook timeout. A larger slowdown is spread
//!   over more calls: the shortfall shows up as a faster rise, which raises
//!   the next delays. When even that cannot hold pace the reason says so.
//! - A window never asks for a sleep past its own reset: after it, the
//!   window is fresh and a longer sleep would only cost the new one time.
//!   While one more cycle would land the window at most half a cycle past
//!   the target, the sleep ends in time for that cycle to run before the
//!   reset, so the window's last budget is not left unused.
//! - Small changes to the previous delay are ignored (hysteresis), so the
//!   delay does not jitter with every whole-percent step.
//! - No fresh official figure (and no fresh estimate when estimates are
//!   allowed) means no delay: pacing fails open.

use serde::Serialize;

use crate::config::{Config, HOOK_TIMEOUT_MARGIN_SECONDS};
use crate::usage::snapshot::{
    ModelFamily, SnapshotSource, UsageSnapshot, WindowKind, WindowReading,
};

/// How far back the burn rate of the 5-hour window is measured (see the
/// module documentation for why 30 minutes).
pub const FIVE_HOUR_LOOKBACK_SECONDS: i64 = 1800;
/// How far ahead the recent rate is projected; past it, the window's
/// long-run rate.
pub const NEAR_TERM_MS: i64 = FIVE_HOUR_LOOKBACK_SECONDS * 1000;
/// The short span whose rate a burst's start shows in first (two polls
/// of the usage API); the recent rate is the larger of the two spans'.
const QUICK_LOOKBACK_MS: i64 = 10 * 60 * 1000;
/// How long a burst that starts now runs before the readings show it (a
/// poll and the next decision): the near term keeps room for this much of
/// the window's active rate over the recent one.
const UNSEEN_BURST_MS: i64 = 6 * 60 * 1000;
/// The shortest span the 5-hour window's long-run rate is divided by: a
/// window's first minutes (a cache rebuilt after the reset, a quick start)
/// are not taken for its hours.
const LONG_RUN_MIN_SPAN_MS: i64 = 3_600_000;
/// The stretch the long-run rate asks for from which it starts to be
/// trusted over the far future whatever its span, and from which it is
/// trusted fully.
const TRUSTED_STRETCH: (f64, f64) = (1.25, 1.75);
/// How long a burst may run before the readings show it: a calm stretch
/// pays a smaller share of the delay only while the window has room for
/// this much of the long-run rate (see `calm_share`).
const CALM_GUARD_MS: i64 = 10 * 60 * 1000;
/// The share of the stretch the capped sleeps can give from which the
/// near-term rate is projected all the way to the reset (see
/// `hold_to_reset`).
const HOLD_SHARE: f64 = 0.85;
/// The least share of the delay a calm stretch takes.
const CALM_FLOOR: f64 = 0.25;
/// A slowdown smaller than this share of a cycle is not taken.
const NOISE_STRETCH: f64 = 0.2;
/// How far back callers pass the other sessions' calls: twice the 5-hour
/// window's lookback. A whole day of every session's calls, for the weekly
/// window's span, would cost the hook more than it tells.
pub const OTHER_SESSIONS_HISTORY_MS: i64 = 2 * FIVE_HOUR_LOOKBACK_SECONDS * 1000;
/// The shortest span a 5-hour burn rate is divided by.
pub const FIVE_HOUR_MIN_SPAN_SECONDS: i64 = 900;
/// How far back the burn rate of the weekly window is measured: a whole
/// day, so nights and breaks count and a busy hour is not taken for a week.
pub const SEVEN_DAY_LOOKBACK_SECONDS: i64 = 24 * 3600;
/// The shortest span a weekly burn rate is divided by.
pub const SEVEN_DAY_MIN_SPAN_SECONDS: i64 = 24 * 3600;
/// A gap between tool calls longer than this (after the sleep) is idle time
/// (waiting for a person, a lockout), not work.
pub const IDLE_GAP_MS: i64 = 15 * 60 * 1000;
/// Calls closer than this are parallel tool calls of one cycle.
pub const PARALLEL_CALL_GAP_MS: i64 = 2000;
/// How far back a session's mean work per cycle is measured (and how far
/// back the hook reads the session's calls one by one).
pub const CYCLE_WORK_LOOKBACK_MS: i64 = 1_800_000;
/// Work per cycle assumed before a session has a cycle of its own.
pub const DEFAULT_CYCLE_WORK_MS: i64 = 30_000;
/// How much later than one window length from now a reset may lie (clock
/// skew between this machine and the API) before the reading is refused.
const RESET_SLACK_SECONDS: i64 = 300;
/// A window's delay lasts at most until its reset, plus this much (reset
/// times are whole seconds and clocks differ a little).
const RESET_MARGIN_MS: i64 = 1000;
/// The active rate assumes at most this share of time was spent away.
const MAX_IDLE_SHARE: f64 = 0.75;
/// The unpaced rate assumes at most this share of time was spent asleep.
const MAX_SLEEP_SHARE: f64 = 0.95;
/// A new delay within this many milliseconds of the previous one keeps it.
const HYSTERESIS_MIN_MS: f64 = 2000.0;
/// ... or within this share of the previous delay, whichever is larger.
const HYSTERESIS_SHARE: f64 = 0.10;

/// The settings the policy reads, taken from `Config`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PacingSettings {
    pub target_percent: f64,
    pub max_delay_seconds: u64,
    pub hook_timeout_seconds: u64,
    pub five_hour: bool,
    pub seven_day: bool,
    pub stale_after_seconds: u64,
    pub cache_ttl_margin_seconds: u64,
    pub use_estimate: bool,
    pub estimate_safety_margin_percent: f64,
    /// Whether the weekly window of the session's model family is paced.
    pub per_model: bool,
    /// The session's model family, when known: its weekly window
    /// (`seven_day_opus`, ...) is paced with the account-wide ones.
    pub model: Option<ModelFamily>,
}

impl PacingSettings {
    pub fn from_config(config: &Config) -> Self {
        let pacing = &config.pacing;
        Self {
            target_percent: pacing.target_percent,
            max_delay_seconds: pacing.max_delay_seconds,
            hook_timeout_seconds: config.hooks.post_tool_use_timeout_seconds,
            five_hour: pacing.five_hour,
            seven_day: pacing.seven_day,
            stale_after_seconds: pacing.stale_after_seconds,
            cache_ttl_margin_seconds: pacing.cache_ttl_margin_seconds,
            use_estimate: pacing.use_estimate,
            estimate_safety_margin_percent: pacing.estimate_safety_margin_percent,
            per_model: pacing.per_model,
            model: None,
        }
    }

    /// The longest sleep the hook may take: `max_delay`, and never closer to
    /// the hook timeout than the margin (validation enforces this too; the
    /// policy does not rely on it).
    pub fn longest_delay_ms(&self) -> i64 {
        let by_timeout = self
            .hook_timeout_seconds
            .saturating_sub(HOOK_TIMEOUT_MARGIN_SECONDS);
        self.max_delay_seconds.min(by_timeout) as i64 * 1000
    }

    fn paces(&self, kind: WindowKind) -> bool {
        match kind {
            WindowKind::FiveHour => self.five_hour,
            WindowKind::SevenDay => self.seven_day,
            per_model => self.per_model && per_model.family() == self.model,
        }
    }
}

impl Default for PacingSettings {
    fn default() -> Self {
        Self::from_config(&Config::default())
    }
}

/// One tool call of the session: when its PostToolUse hook ran and the
/// delay pace-maker decided then (0 when none).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct ToolCall {
    pub at_ms: i64,
    pub delay_ms: i64,
}

/// Everything the policy looks at.
#[derive(Debug, Clone, Copy)]
pub struct PolicyInput<'a> {
    pub now_ms: i64,
    /// Recent snapshots of every source, oldest first, the freshest included.
    pub snapshots: &'a [UsageSnapshot],
    /// This session's recent tool calls, oldest first; the current call
    /// last (at `now_ms`, delay 0).
    pub calls: &'a [ToolCall],
    /// The other sessions' recent tool calls on this account, each oldest
    /// first (empty when unknown): their sleeps count in the account's
    /// sleep share, so a session that just joined paces like the others.
    pub other_sessions: &'a [&'a [ToolCall]],
    /// How long the tool that just finished ran, when Claude Code said.
    pub tool_duration_ms: Option<i64>,
    /// The prompt-cache time-to-live in force.
    pub cache_ttl_seconds: u64,
    pub settings: &'a PacingSettings,
}

/// What the policy decided.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Decision {
    pub delay_ms: i64,
    pub reason: Reason,
}

/// The outcome in one word.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    /// No fresh usage figure for any paced window: no delay (fail open).
    NoData,
    /// Every window lands under its target at the unpaced rate.
    OnPace,
    /// A window is ahead of pace: a delay.
    Ahead,
}

/// What cut a delay short.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Limit {
    /// `pacing.max_delay_seconds` (or the hook timeout minus its margin).
    MaxDelay,
    /// The prompt-cache time-to-live minus its margin and the cycle so far.
    CacheTtl,
}

/// Why a window was left out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "why", rename_all = "kebab-case")]
pub enum Skip {
    /// Not paced (`pacing.five_hour` / `pacing.seven_day` off).
    Disabled,
    /// No reading of this window at all.
    Missing,
    /// The freshest usable reading is this many seconds old.
    Stale { age_seconds: i64 },
    /// The reading has no reset time, so no pace can be computed.
    NoResetTime,
}

/// How one window stands.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct WindowAssessment {
    pub kind: WindowKind,
    pub source: SnapshotSource,
    /// Utilization now (the reading, carried forward by the burn rate).
    pub utilization_percent: f64,
    /// Where an even pace to the target would stand now.
    pub pace_percent: f64,
    /// Utilization at reset if the mission ran unpaced from now on.
    pub projected_percent: f64,
    /// The target (lowered when pacing on an estimate).
    pub target_percent: f64,
    pub resets_at_s: i64,
    /// Observed rise, percent per hour.
    pub burn_percent_per_hour: f64,
    /// The rise without pace-maker's sleeps, percent per hour.
    pub unpaced_percent_per_hour: f64,
    /// The delay this window asks for, before any cap (ms): at most until
    /// the window's reset (plus a second), and all of that when the window
    /// is already at or past its target.
    pub needed_delay_ms: i64,
}

impl WindowAssessment {
    fn is_ahead(&self) -> bool {
        self.projected_percent > self.target_percent
    }
}

/// Why the policy decided what it did: for the log, the store and `status`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Reason {
    pub verdict: Verdict,
    /// The binding window (the one asking for the longest delay).
    pub window: Option<WindowAssessment>,
    /// Windows left out, and why.
    pub skipped: Vec<(WindowKind, Skip)>,
    /// The delay the binding window asked for, before hysteresis and caps.
    pub needed_delay_ms: i64,
    /// What cut the delay short, if anything.
    pub limit: Option<Limit>,
    /// Whether the delay is long enough to hold pace.
    pub holds_pace: bool,
    pub cache_ttl_seconds: u64,
}

impl Decision {
    /// The one line shown to the user: `pace-maker: pausing 40 s, 5-hour
    /// window at 63 % vs 50 % pace`.
    pub fn user_message(&self) -> String {
        let seconds = (self.delay_ms as f64 / 1000.0).round() as i64;
        match &self.reason.window {
            Some(window) => {
                let mut text = format!(
                    "pace-maker: pausing {seconds} s, {} window at {:.0} % vs {:.0} % pace",
                    window.kind.label(),
                    window.utilization_percent,
                    window.pace_percent
                );
                if !self.reason.holds_pace && self.reason.limit == Some(Limit::CacheTtl) {
                    text.push_str(&format!(
                        " (kept under the {} s prompt-cache TTL; slowing over more calls)",
                        self.reason.cache_ttl_seconds
                    ));
                }
                text
            }
            None => format!("pace-maker: pausing {seconds} s"),
        }
    }
}

impl std::fmt::Display for Reason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.verdict {
            Verdict::NoData => {
                f.write_str("no fresh usage figure")?;
                let mut first = true;
                for (kind, skip) in &self.skipped {
                    f.write_str(if first { " (" } else { "; " })?;
                    first = false;
                    write!(f, "{}: ", kind.label())?;
                    match skip {
                        Skip::Disabled => f.write_str("not paced")?,
                        Skip::Missing => f.write_str("missing")?,
                        Skip::Stale { age_seconds } => write!(f, "{age_seconds} s old")?,
                        Skip::NoResetTime => f.write_str("no reset time")?,
                    }
                }
                if !first {
                    f.write_str(")")?;
                }
                f.write_str(": no delay")
            }
            Verdict::OnPace | Verdict::Ahead => {
                let Some(window) = &self.window else {
                    return f.write_str("on pace");
                };
                write!(
                    f,
                    "{} {} window at {:.1} % (pace {:.1} %), projected {:.0} % at reset vs target {:.0} %",
                    if self.verdict == Verdict::Ahead {
                        "ahead:"
                    } else {
                        "on pace:"
                    },
                    window.kind.label(),
                    window.utilization_percent,
                    window.pace_percent,
                    window.projected_percent,
                    window.target_percent
                )?;
                if window.source == SnapshotSource::Estimate {
                    f.write_str(" (on the local estimate)")?;
                }
                match self.limit {
                    Some(Limit::CacheTtl) if !self.holds_pace => write!(
                        f,
                        "; sleep capped under the {} s prompt-cache TTL, which cannot hold pace this call: the slowdown spreads over the next calls",
                        self.cache_ttl_seconds
                    ),
                    Some(Limit::MaxDelay) if !self.holds_pace => f.write_str(
                        "; sleep capped at the maximum delay, which cannot hold pace: the slowdown spreads over the next calls",
                    ),
                    _ => Ok(()),
                }
            }
        }
    }
}

/// The policy.
pub fn decide(input: &PolicyInput<'_>) -> Decision {
    let settings = input.settings;
    let mut assessments = Vec::with_capacity(2);
    let mut skipped = Vec::new();
    let work_ms = typical_work_per_cycle(input.calls, input.now_ms);
    for kind in WindowKind::EVERY {
        // Another family's window, or the session's own left unused this
        // week (the endpoint reports null), is no part of the decision.
        if kind.family().is_some()
            && (!settings.paces(kind) || input.snapshots.iter().all(|s| s.window(kind).is_none()))
        {
            continue;
        }
        if !settings.paces(kind) {
            skipped.push((kind, Skip::Disabled));
            continue;
        }
        match assess(kind, input, work_ms) {
            Ok(assessment) => assessments.push(assessment),
            Err(skip) => skipped.push((kind, skip)),
        }
    }
    let ttl = input.cache_ttl_seconds;
    let Some(binding) = assessments.into_iter().max_by(|left, right| {
        (
            left.is_ahead(),
            left.needed_delay_ms,
            left.projected_percent - left.target_percent,
        )
            .partial_cmp(&(
                right.is_ahead(),
                right.needed_delay_ms,
                right.projected_percent - right.target_percent,
            ))
            .unwrap_or(std::cmp::Ordering::Equal)
    }) else {
        return Decision {
            delay_ms: 0,
            reason: Reason {
                verdict: Verdict::NoData,
                window: None,
                skipped,
                needed_delay_ms: 0,
                limit: None,
                holds_pace: true,
                cache_ttl_seconds: ttl,
            },
        };
    };
    if !binding.is_ahead() {
        return Decision {
            delay_ms: 0,
            reason: Reason {
                verdict: Verdict::OnPace,
                window: Some(binding),
                skipped,
                needed_delay_ms: 0,
                limit: None,
                holds_pace: true,
                cache_ttl_seconds: ttl,
            },
        };
    }
    let needed = binding.needed_delay_ms;
    let held = match previous_delay(input.calls, input.now_ms) {
        Some(previous) if previous > 0 => {
            let band = HYSTERESIS_MIN_MS.max(HYSTERESIS_SHARE * previous as f64);
            if (needed as f64 - previous as f64).abs() <= band {
                previous
            } else {
                needed
            }
        }
        _ => needed,
    };
    let longest = settings.longest_delay_ms();
    let ttl_cap = ttl_cap_ms(input);
    let (cap, cap_kind) = if ttl_cap < longest {
        (ttl_cap, Limit::CacheTtl)
    } else {
        (longest, Limit::MaxDelay)
    };
    let capped = held.min(cap).max(0);
    let delay_ms = round_to_second(capped);
    let limit = (held > cap).then_some(cap_kind);
    Decision {
        delay_ms,
        reason: Reason {
            verdict: Verdict::Ahead,
            window: Some(binding),
            skipped,
            needed_delay_ms: needed,
            limit,
            holds_pace: needed <= cap,
            cache_ttl_seconds: ttl,
        },
    }
}

fn round_to_second(ms: i64) -> i64 {
    (ms + 500) / 1000 * 1000
}

/// The longest single sleep that keeps the prompt cache warm: the TTL less
/// its margin (at least a second) and the time this cycle already used
/// since the cache was last touched.
fn ttl_cap_ms(input: &PolicyInput<'_>) -> i64 {
    let ttl_ms = input.cache_ttl_seconds as i64 * 1000;
    let margin_ms = (input.settings.cache_ttl_margin_seconds.max(1) as i64) * 1000;
    let elapsed = cycle_elapsed_ms(input).max(0);
    (ttl_ms - margin_ms - elapsed).max(0)
}

/// Time since the cache was last touched, as well as it can be known: the
/// end of the previous call's sleep (the next request left then) to now.
/// After an idle gap that bound says nothing; the tool's own duration is
/// the best remaining guess (the margin covers the model's reply).
fn cycle_elapsed_ms(input: &PolicyInput<'_>) -> i64 {
    let ttl_ms = input.cache_ttl_seconds as i64 * 1000;
    let tool = input.tool_duration_ms.unwrap_or(0).max(0);
    match input
        .calls
        .iter()
        .rev()
        .find(|call| call.at_ms < input.now_ms)
    {
        Some(previous) => {
            let gap = input.now_ms - previous.at_ms;
            let work = gap - previous.delay_ms.clamp(0, gap);
            if work < ttl_ms {
                work.max(tool)
            } else {
                tool
            }
        }
        None => tool,
    }
}

/// The delay decided at the session's previous call, if it was recent.
fn previous_delay(calls: &[ToolCall], now_ms: i64) -> Option<i64> {
    calls
        .iter()
        .rev()
        .find(|call| call.at_ms < now_ms)
        .filter(|call| now_ms - call.at_ms - call.delay_ms <= IDLE_GAP_MS)
        .map(|call| call.delay_ms)
}

/// Work and sleep of the session between two moments.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
struct Activity {
    work_ms: i64,
    sleep_ms: i64,
    idle_ms: i64,
}

impl Activity {
    /// The share of the time the sessions were away (gaps longer than
    /// `IDLE_GAP_MS`), at most `MAX_IDLE_SHARE`.
    fn idle_share(&self) -> f64 {
        let all = self.work_ms + self.sleep_ms + self.idle_ms;
        if all <= 0 {
            0.0
        } else {
            (self.idle_ms as f64 / all as f64).clamp(0.0, MAX_IDLE_SHARE)
        }
    }

    fn sleep_share(&self) -> f64 {
        let active = self.work_ms + self.sleep_ms;
        if active <= 0 {
            0.0
        } else {
            (self.sleep_ms as f64 / active as f64).clamp(0.0, MAX_SLEEP_SHARE)
        }
    }
}

/// Splits the time between `from_ms` and `to_ms` into sleep (pace-maker's
/// delay after a call) and work (model and tool time up to the next call),
/// clipped to the span: a sleep that began before the span counts for the
/// part inside it (a reading taken mid-sleep must not carry the session
/// forward as if it had worked since). Work in a gap longer than
/// `IDLE_GAP_MS` after the sleep is idle and not counted.
fn activity(calls: &[ToolCall], from_ms: i64, to_ms: i64) -> Activity {
    let mut activity = Activity::default();
    let inside = |start: i64, end: i64| (end.min(to_ms) - start.max(from_ms)).max(0);
    // Calls are in time order: start at the last one before the span.
    let first = calls
        .partition_point(|call| call.at_ms < from_ms)
        .saturating_sub(1);
    for pair in calls[first..].windows(2) {
        let (call, next) = (pair[0], pair[1]);
        if call.at_ms >= to_ms {
            break;
        }
        let gap = (next.at_ms - call.at_ms).max(0);
        let sleep = call.delay_ms.clamp(0, gap);
        let work = gap - sleep;
        activity.sleep_ms += inside(call.at_ms, call.at_ms + sleep);
        if work > IDLE_GAP_MS {
            activity.idle_ms += inside(call.at_ms + sleep, next.at_ms);
            continue;
        }
        activity.work_ms += inside(call.at_ms + sleep, next.at_ms);
    }
    activity
}

/// The session's typical work (model plus tool time) per cycle over the
/// last half hour: the median of its cycles, or a default before it has
/// any. Not the mean: a person's pause of a few minutes (shorter than an
/// idle gap) is no cycle's work, and in the mean one such pause made every
/// sleep of the next half hour several times longer than pace needs.
fn typical_work_per_cycle(calls: &[ToolCall], now_ms: i64) -> i64 {
    let from_ms = now_ms - CYCLE_WORK_LOOKBACK_MS;
    let mut works: Vec<i64> = calls
        .windows(2)
        .filter(|pair| pair[0].at_ms >= from_ms && pair[1].at_ms <= now_ms)
        .filter_map(|pair| {
            let gap = pair[1].at_ms - pair[0].at_ms;
            let work = gap - pair[0].delay_ms.clamp(0, gap);
            (gap >= PARALLEL_CALL_GAP_MS && work <= IDLE_GAP_MS).then_some(work)
        })
        .collect();
    if works.is_empty() {
        return DEFAULT_CYCLE_WORK_MS;
    }
    works.sort_unstable();
    works[works.len() / 2].max(1000)
}

fn lookback_ms(kind: WindowKind) -> (i64, i64) {
    match kind {
        WindowKind::FiveHour => (
            FIVE_HOUR_LOOKBACK_SECONDS * 1000,
            FIVE_HOUR_MIN_SPAN_SECONDS * 1000,
        ),
        WindowKind::SevenDay | WindowKind::SevenDayOpus | WindowKind::SevenDaySonnet => (
            SEVEN_DAY_LOOKBACK_SECONDS * 1000,
            SEVEN_DAY_MIN_SPAN_SECONDS * 1000,
        ),
    }
}

fn freshest(
    snapshots: &[UsageSnapshot],
    kind: WindowKind,
    official: bool,
) -> Option<(i64, SnapshotSource, WindowReading)> {
    snapshots.iter().rev().find_map(|snapshot| {
        if snapshot.source.is_official() != official {
            return None;
        }
        snapshot
            .window(kind)
            .map(|reading| (snapshot.taken_at_ms, snapshot.source, reading))
    })
}

/// How one window stands for the policy: its reading (the freshest
/// official one, else a fresh estimate), pace, burn rate and projection.
/// Public so the dashboard shows each window exactly as pacing sees it.
pub fn assess(
    kind: WindowKind,
    input: &PolicyInput<'_>,
    work_ms: i64,
) -> Result<WindowAssessment, Skip> {
    let settings = input.settings;
    let now_ms = input.now_ms;
    let stale_ms = settings.stale_after_seconds as i64 * 1000;
    let official = freshest(input.snapshots, kind, true);
    let fresh = |found: &Option<(i64, SnapshotSource, WindowReading)>| {
        found.filter(|(taken_at, _, _)| now_ms - taken_at <= stale_ms)
    };
    let (taken_at_ms, source, reading, target) = match fresh(&official) {
        Some((taken_at, source, reading)) => (taken_at, source, reading, settings.target_percent),
        None => {
            let estimate = if settings.use_estimate {
                fresh(&freshest(input.snapshots, kind, false))
            } else {
                None
            };
            match estimate {
                Some((taken_at, source, reading)) => (
                    taken_at,
                    source,
                    reading,
                    (settings.target_percent - settings.estimate_safety_margin_percent).max(1.0),
                ),
                None => {
                    return Err(match official {
                        Some((taken_at, _, _)) => Skip::Stale {
                            age_seconds: (now_ms - taken_at) / 1000,
                        },
                        None => Skip::Missing,
                    })
                }
            }
        }
    };
    let now_s = now_ms.div_euclid(1000);
    // A window cannot reset later than one length from now: a reset past
    // that is a bad reading or a clock that jumped back, and pacing on it
    // would project a burn over decades. Read it as no reset time.
    let resets_at_s = reading
        .resets_at_s
        .filter(|resets_at| {
            resets_at.saturating_sub(now_s) <= kind.length_s() + RESET_SLACK_SECONDS
        })
        .ok_or(Skip::NoResetTime)?;
    let length_ms = kind.length_s() * 1000;
    if resets_at_s <= now_s {
        // The reading predates a reset: a fresh window with nothing known
        // about its use yet. Never a throttle right after a reset.
        let current = reading.at(kind, now_s);
        let resets = current.resets_at_s.unwrap_or(resets_at_s);
        let start_ms = resets * 1000 - length_ms;
        return Ok(WindowAssessment {
            kind,
            source,
            utilization_percent: 0.0,
            pace_percent: target * ((now_ms - start_ms) as f64 / length_ms as f64).clamp(0.0, 1.0),
            projected_percent: 0.0,
            target_percent: target,
            resets_at_s: resets,
            burn_percent_per_hour: 0.0,
            unpaced_percent_per_hour: 0.0,
            needed_delay_ms: 0,
        });
    }
    let resets_ms = resets_at_s * 1000;
    let start_ms = resets_ms - length_ms;
    let official = source.is_official();
    let (lookback, min_span) = lookback_ms(kind);
    let recent = unpaced_rate(
        input,
        kind,
        official,
        start_ms,
        taken_at_ms,
        lookback,
        min_span,
    );
    let burn_per_ms = recent.burn;
    // A burst's start shows in the last two polls' rise before the half
    // hour's slope follows: the recent rate is the larger of the two. Not
    // right after a pause longer than the prompt cache lives: that rise is
    // the cache rebuilt once, not a new rate.
    let quick_from_ms = taken_at_ms - QUICK_LOOKBACK_MS;
    let unpaced_per_ms =
        if kind == WindowKind::FiveHour && !paused_since(input, quick_from_ms, taken_at_ms) {
            let quick = unpaced_rate(
                input,
                kind,
                official,
                start_ms,
                taken_at_ms,
                QUICK_LOOKBACK_MS,
                QUICK_LOOKBACK_MS,
            );
            recent.unpaced.max(quick.unpaced)
        } else {
            recent.unpaced
        };
    // The window's long-run unpaced rate, since it opened: what the
    // mission does over hours, pauses and lulls included. (The weekly
    // window's day-long lookback is already its long run.)
    let (long_per_ms, active_per_ms) = match kind {
        WindowKind::FiveHour => {
            let long = unpaced_rate(
                input,
                kind,
                official,
                start_ms,
                taken_at_ms,
                length_ms,
                LONG_RUN_MIN_SPAN_MS,
            );
            (long.unpaced, long.active)
        }
        WindowKind::SevenDay | WindowKind::SevenDayOpus | WindowKind::SevenDaySonnet => {
            (unpaced_per_ms, unpaced_per_ms)
        }
    };
    // The recent rate governs the near term only: a burst is slowed at once,
    // but a half hour of it is not projected over the hours to the reset,
    // where the long-run rate holds. Right after a lull the recent rate is
    // flat: the near term then runs at the window's active rate (its
    // long-run rate while the sessions work, lulls left out: the session
    // that just called is working), so a burst that starts before the next
    // reading is held from its first call.
    let near_per_ms = unpaced_per_ms.max(active_per_ms);
    let left_ms = (resets_ms - now_ms).max(1) as f64;
    let near_ms = left_ms.min(NEAR_TERM_MS as f64);
    // Since the reading the session ran at its own recent speed: carry the
    // reading forward with the near-term rate less what it slept since, so
    // a lull in the delays shows up before the next reading does.
    let age_ms = (now_ms - taken_at_ms).max(0);
    let slept_since = activity(input.calls, taken_at_ms, now_ms).sleep_share();
    let carried = (reading.percent + near_per_ms * (1.0 - slept_since) * age_ms as f64).min(100.0);
    // In the window's last half hour, the requests sent since the reading
    // (every known session's) at the recent rise per request: when they
    // reach the target, the window is done.
    let counted = if kind == WindowKind::FiveHour && left_ms <= NEAR_TERM_MS as f64 {
        reading.percent
            + counted_rise(
                input,
                start_ms,
                taken_at_ms,
                now_ms,
                burn_per_ms,
                reading.percent,
            )
    } else {
        0.0
    };
    let utilization = if counted >= target {
        carried.max(counted.min(100.0))
    } else {
        carried
    };
    // The near term runs at the recent rate. A burst may start any moment
    // and run unseen until the readings show it: room is kept for that
    // much of the active rate over the recent one. (Projecting the active
    // rate over the whole near term, as before, slept through the calm
    // end of a window for a burst that did not come.)
    let near_rise = unpaced_per_ms * near_ms
        + (active_per_ms - unpaced_per_ms).max(0.0) * near_ms.min(UNSEEN_BURST_MS as f64);
    let far_ms = left_ms - near_ms;
    // The rise that lands on the target, spread over the far future.
    let on_pace_per_ms = ((target - utilization - near_rise) / far_ms.max(1.0)).max(0.0);
    // How far the long-run rate is trusted over the hours to the reset
    // grows with how long it was measured: a window's first half hour,
    // projected over four more, would slow a mission for its jitter. Until
    // the measured span matches half the far future, the far future leans
    // toward the pace that lands on the target, and the next readings, with
    // more time behind them, correct it. That is safe only while the
    // long-run rate asks for a mild slowdown, one later calls can still make
    // up: from `TRUSTED_STRETCH` on it is trusted whatever its span (a
    // burst must be held from its start).
    let measured_ms = (taken_at_ms - start_ms).max(0) as f64;
    let by_span = measured_ms / (measured_ms + far_ms / 2.0).max(1.0);
    let room = (target - utilization).max(f64::EPSILON);
    let stretch_if_trusted = (near_rise + long_per_ms * far_ms) / room;
    let (from, to) = TRUSTED_STRETCH;
    let by_stretch = ((stretch_if_trusted - from) / (to - from)).clamp(0.0, 1.0);
    let trust = by_span.max(by_stretch);
    let far_per_ms = trust * long_per_ms + (1.0 - trust) * on_pace_per_ms.min(long_per_ms);
    let projected = utilization + near_rise + far_per_ms * far_ms;
    // A throttled burst lasts longer: its requests are the same, spread
    // over more time. When the near-term rate kept up to the reset asks
    // for nearly the most the capped sleeps can stretch a cycle, the burst
    // may well outlast the window, and the long-run rate's calm stretches
    // are no relief: it is projected to the reset.
    let near_to_reset = near_per_ms * left_ms;
    let projected = if hold_to_reset(
        near_to_reset,
        target - utilization,
        work_ms,
        longest_sleep_ms(input, work_ms),
    ) {
        projected.max(utilization + near_to_reset)
    } else {
        projected
    };
    let elapsed_share = ((now_ms - start_ms) as f64 / length_ms as f64).clamp(0.0, 1.0);
    let needed_delay_ms = if projected <= target {
        0
    } else if utilization >= target {
        i64::MAX
    } else {
        // Every cycle stretched so the projected rise fits what is left:
        // the rise to reset over the room to the target.
        let stretch = (projected - utilization) / (target - utilization);
        // A slowdown under a fifth is within the readings' noise (whole
        // percent steps, a mission's jitter): the reserve above the target
        // covers it, and the next readings tell whether it was real.
        let stretch = if stretch < 1.0 + NOISE_STRETCH {
            1.0
        } else {
            stretch
        };
        let delay = work_ms as f64
            * (stretch - 1.0)
            * calm_share(unpaced_per_ms, long_per_ms, utilization, target, left_ms);
        if delay >= i64::MAX as f64 {
            i64::MAX
        } else {
            delay.max(0.0) as i64
        }
    }
    .min(reset_cap_ms(
        resets_ms - now_ms,
        utilization,
        near_per_ms * work_ms as f64,
        target,
        work_ms,
    ));
    let unpaced_per_ms = (projected - utilization) / left_ms;
    let hour_ms = 3_600_000.0;
    Ok(WindowAssessment {
        kind,
        source,
        utilization_percent: utilization,
        pace_percent: target * elapsed_share,
        projected_percent: projected,
        target_percent: target,
        resets_at_s,
        burn_percent_per_hour: burn_per_ms * hour_ms,
        unpaced_percent_per_hour: unpaced_per_ms * hour_ms,
        needed_delay_ms,
    })
}

/// The observed burn rate over a lookback (percent per ms) and the
/// unpaced rate: the observed one over the share of the span not spent
/// asleep in pace-maker's delays (this session's and the other sessions'
/// on this machine). The part of the span before any known session's
/// first call was spent by someone this machine did not see (an earlier
/// session, another device) without pace-maker's sleeps: it counts as
/// unpaced work, so a fresh session does not read its first few sleeps as
/// the whole span's sleep share. Third, the *active* rate: the unpaced one
/// over the share of the time the sessions were not away (idle gaps), the
/// rate they burn at while they work.
fn unpaced_rate(
    input: &PolicyInput<'_>,
    kind: WindowKind,
    official: bool,
    start_ms: i64,
    taken_at_ms: i64,
    lookback_ms: i64,
    min_span_ms: i64,
) -> Rates {
    let (burn_per_ms, then_ms) = burn_rate(
        input.snapshots,
        kind,
        official,
        start_ms,
        taken_at_ms,
        lookback_ms,
        min_span_ms,
    );
    let mut span = activity(input.calls, then_ms, taken_at_ms);
    let mut earliest_known = input.calls.first().map(|call| call.at_ms);
    for other in input.other_sessions {
        let theirs = activity(other, then_ms, taken_at_ms);
        span.work_ms += theirs.work_ms;
        span.sleep_ms += theirs.sleep_ms;
        span.idle_ms += theirs.idle_ms;
        if let Some(first) = other.first() {
            earliest_known =
                Some(earliest_known.map_or(first.at_ms, |known| known.min(first.at_ms)));
        }
    }
    let known_from = earliest_known.unwrap_or(taken_at_ms).min(taken_at_ms);
    span.work_ms += (known_from - then_ms).max(0);
    let unpaced = burn_per_ms / (1.0 - span.sleep_share());
    Rates {
        burn: burn_per_ms,
        unpaced,
        active: unpaced / (1.0 - span.idle_share()),
    }
}

/// Whether any known session paused for longer than the prompt cache
/// lives (a gap of work, sleep left out) that ended after `from_ms` less
/// that time-to-live and began before `to_ms`: its next request rebuilt
/// the cache, a one-off rise.
fn paused_since(input: &PolicyInput<'_>, from_ms: i64, to_ms: i64) -> bool {
    let ttl_ms = input.cache_ttl_seconds as i64 * 1000;
    std::iter::once(input.calls)
        .chain(input.other_sessions.iter().copied())
        .any(|calls| {
            calls.windows(2).any(|pair| {
                pair[1].at_ms > from_ms - ttl_ms
                    && pair[0].at_ms < to_ms
                    && pair[1].at_ms - pair[0].at_ms - pair[0].delay_ms.max(0) > ttl_ms
            })
        })
}

/// The rise of the requests every known session sent between a reading
/// and now, at the rise per request over the half hour before the reading.
fn counted_rise(
    input: &PolicyInput<'_>,
    start_ms: i64,
    taken_at_ms: i64,
    now_ms: i64,
    burn_per_ms: f64,
    reading_percent: f64,
) -> f64 {
    let from_ms = (taken_at_ms - NEAR_TERM_MS).max(start_ms);
    let (mut before, mut since, mut in_window) = (0usize, 0usize, 0usize);
    let sessions = std::iter::once(input.calls).chain(input.other_sessions.iter().copied());
    for calls in sessions {
        before += requests_between(calls, from_ms, taken_at_ms);
        since += requests_between(calls, taken_at_ms, now_ms);
        in_window += requests_between(calls, start_ms, taken_at_ms);
    }
    let per_request = if before >= MIN_COUNTED_REQUESTS {
        burn_per_ms * (taken_at_ms - from_ms) as f64 / before as f64
    } else if in_window >= MIN_COUNTED_REQUESTS {
        // After a lull the half hour before the reading has next to no
        // requests to price a burst's by: the window's own rise per
        // request so far stands in.
        reading_percent / in_window as f64
    } else {
        return 0.0;
    };
    per_request * since as f64
}

/// Fewer requests than this price nothing (`counted_rise`).
const MIN_COUNTED_REQUESTS: usize = 3;

/// How many requests left between two moments: one after each call's
/// sleep (the current call's request has not left yet).
fn requests_between(calls: &[ToolCall], from_ms: i64, to_ms: i64) -> usize {
    calls
        .iter()
        .filter(|call| {
            let sent = call.at_ms + call.delay_ms.max(0);
            call.at_ms < to_ms && sent > from_ms && sent <= to_ms
        })
        .count()
}

/// The rates measured over a span of readings (percent per ms).
#[derive(Debug, Clone, Copy)]
struct Rates {
    /// The observed rise.
    burn: f64,
    /// The rise without pace-maker's sleeps.
    unpaced: f64,
    /// The unpaced rise while the sessions work (idle gaps left out).
    active: f64,
}

/// The share of the delay a calm stretch takes. Sleeping through cheap
/// cycles buys little budget and costs a lot of work: when the recent
/// unpaced rate is below the window's long-run rate, the stretch the long
/// run asks for is paid mostly by the expensive cycles to come, and the
/// cheap ones now sleep in proportion to what they cost. Only while the
/// window has room for the long-run rate over `CALM_GUARD_MS` (a burst
/// that starts now shows at the next readings) and more than twice that
/// to its reset; never below `CALM_FLOOR` of the delay.
fn calm_share(recent: f64, long: f64, utilization: f64, target: f64, left_ms: f64) -> f64 {
    if long <= 0.0 || recent >= long {
        return 1.0;
    }
    let guard_ms = CALM_GUARD_MS as f64;
    if left_ms < 2.0 * guard_ms || utilization + long * guard_ms > target {
        return 1.0;
    }
    (recent / long).clamp(CALM_FLOOR, 1.0)
}

/// Whether a window must be paced as if the near-term rate lasted until
/// its reset: when that rise (`near_to_reset`) over the room left asks for
/// a stretch of at least `HOLD_SHARE` of the most the capped sleeps give
/// (`(longest sleep + work) / work`). Past that, waiting for the readings
/// to confirm the burst leaves too few cycles to hold it before the reset:
/// a burst at several times the budget late in a window, stretched by the
/// longest sleep, still rises a few percent an hour. Under it, the
/// long-run rate's lulls are trusted as before.
fn hold_to_reset(near_to_reset: f64, room: f64, work_ms: i64, longest_sleep_ms: i64) -> bool {
    if room <= 0.0 || work_ms <= 0 {
        return false;
    }
    let stretch = near_to_reset / room;
    let most = (longest_sleep_ms.max(0) + work_ms) as f64 / work_ms as f64;
    stretch > 1.0 && stretch >= HOLD_SHARE * most
}

/// The longest sleep a cycle of `work_ms` can take, cycle after cycle:
/// `max_delay` (or the hook timeout less its margin), and under the
/// prompt-cache time-to-live less its margin and the cycle's work. (The
/// current cycle's own cap, `ttl_cap_ms`, also depends on how long this
/// cycle ran; what the next ones can take is what counts here.)
fn longest_sleep_ms(input: &PolicyInput<'_>, work_ms: i64) -> i64 {
    let ttl_ms = input.cache_ttl_seconds as i64 * 1000;
    let margin_ms = (input.settings.cache_ttl_margin_seconds.max(1) as i64) * 1000;
    input
        .settings
        .longest_delay_ms()
        .min(ttl_ms - margin_ms - work_ms)
        .max(0)
}

/// The longest sleep a window asks for, `left_ms` before its reset.
/// Past the reset the window is fresh, so never longer than that. And
/// while one more cycle (`cycle_percent`, taking `work_ms`) would land the
/// window at most half a cycle past the target, the sleep ends early
/// enough for that cycle to run before the reset: holding it back would
/// leave the window's last budget unused.
fn reset_cap_ms(
    left_ms: i64,
    utilization: f64,
    cycle_percent: f64,
    target: f64,
    work_ms: i64,
) -> i64 {
    let left_ms = left_ms.max(0);
    if utilization + cycle_percent / 2.0 <= target {
        (left_ms - work_ms).max(0)
    } else {
        left_ms.saturating_add(RESET_MARGIN_MS)
    }
}

/// The observed burn rate (percent per millisecond) up to a reading, and
/// the moment it is measured from.
///
/// The points: readings of the same class (official or estimate) within
/// the lookback and the current window period, plus the window's start at
/// 0 % when that lies within the lookback. When they cover less than half
/// of the lookback (a gap, a new install), the newest older point of the
/// period is added (down to the window's start): a longer average beats a
/// guess from a few minutes. The rate is the least-squares slope through
/// the points, which whole-percent steps move far less than a slope between
/// two readings, scaled down when the points span less than the minimum
/// span. Points are chosen by time only, never by value, and the reading's
/// own weight in the slope is positive: a higher reading never gives a
/// lower rate.
fn burn_rate(
    snapshots: &[UsageSnapshot],
    kind: WindowKind,
    official: bool,
    start_ms: i64,
    taken_at_ms: i64,
    lookback_ms: i64,
    min_span_ms: i64,
) -> (f64, i64) {
    let horizon = (taken_at_ms - lookback_ms).max(start_ms);
    let first = snapshots.partition_point(|snapshot| snapshot.taken_at_ms < horizon);
    let last = snapshots.partition_point(|snapshot| snapshot.taken_at_ms <= taken_at_ms);
    let usable = |snapshot: &UsageSnapshot| {
        if snapshot.source.is_official() != official {
            return None;
        }
        snapshot
            .window(kind)
            .map(|reading| (snapshot.taken_at_ms, reading.percent))
    };
    let mut points: Vec<(i64, f64)> = Vec::new();
    if start_ms >= taken_at_ms - lookback_ms {
        points.push((start_ms, 0.0));
    }
    points.extend(snapshots[first..last].iter().filter_map(usable));
    let oldest = points
        .iter()
        .map(|&(at, _)| at)
        .min()
        .unwrap_or(taken_at_ms);
    if taken_at_ms - oldest < lookback_ms / 2 && start_ms < horizon {
        let before = snapshots[..first]
            .iter()
            .rev()
            .take_while(|snapshot| snapshot.taken_at_ms >= start_ms)
            .find_map(usable)
            .unwrap_or((start_ms, 0.0));
        points.push(before);
    }
    let oldest = points
        .iter()
        .map(|&(at, _)| at)
        .min()
        .unwrap_or(taken_at_ms);
    let span_ms = taken_at_ms - oldest;
    if points.len() < 2 || span_ms <= 0 {
        return (0.0, oldest);
    }
    let count = points.len() as f64;
    let x = |at: i64| (at - taken_at_ms) as f64;
    let mean_x = points.iter().map(|&(at, _)| x(at)).sum::<f64>() / count;
    let mean_y = points.iter().map(|&(_, percent)| percent).sum::<f64>() / count;
    let (mut covariance, mut variance) = (0.0, 0.0);
    for &(at, percent) in &points {
        covariance += (x(at) - mean_x) * (percent - mean_y);
        variance += (x(at) - mean_x) * (x(at) - mean_x);
    }
    if variance <= 0.0 {
        return (0.0, oldest);
    }
    let slope = covariance / variance;
    let scale = span_ms as f64 / span_ms.max(min_span_ms) as f64;
    ((slope * scale).max(0.0), oldest)
}

#[cfg(test)]
mod tests;
