//! The discrete-event engine: sessions doing tool cycles against the two
//! usage windows, usage reported the way the real sources report it.
//!
//! A cycle is a model request, the tool it asks for, then the PostToolUse
//! hook where the pacer decides a sleep; the next request follows the
//! sleep. A request costs its warm-cache price, plus a rebuild of the whole
//! context when it comes more than the cache TTL after the session's
//! previous request. A window at 100 % refuses requests until it resets
//! (a lockout). All random draws of a session come from its own generator,
//! a fixed number per cycle, one stream per 5-hour period: the k-th cycle
//! of a period costs the same under every policy, however many cycles the
//! policy ran before the period opened, so every policy faces the same
//! demand and a comparison of two policies is not decided by which draws
//! fell into which period.
//!
//! Usage is kept as one cumulative series; a window's utilization at any
//! moment is the usage since its current period started (plus the run's
//! initial figure in the first period), so readings at a lag and the
//! utilization at each reset are read back from the same series.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use super::policies::{Pacer, View};
use super::scenario::{Phase, Scenario, SessionSpec};
use crate::pacing::policy::{ToolCall, OTHER_SESSIONS_HISTORY_MS};
use crate::usage::snapshot::{SnapshotSource, UsageSnapshot, WindowKind, WindowReading};

const MINUTE_MS: i64 = 60_000;
/// History a pacer is shown: a day and an hour is more than any looks at.
const VIEW_HISTORY_MS: i64 = 25 * 60 * MINUTE_MS;

/// One window's schedule and scale.
#[derive(Debug, Clone, Copy)]
pub struct WindowModel {
    pub kind: WindowKind,
    /// Percent of this window per unit of usage (a unit is 1 % of the 5-hour window).
    pub percent_per_unit: f64,
    pub first_reset_ms: i64,
    pub initial_percent: f64,
}

impl WindowModel {
    pub fn length_ms(&self) -> i64 {
        self.kind.length_s() * 1000
    }

    /// 0 for the period open when the run starts, then 1, 2, ...
    pub fn period_index(&self, at_ms: i64) -> i64 {
        if at_ms < self.first_reset_ms {
            0
        } else {
            1 + (at_ms - self.first_reset_ms) / self.length_ms()
        }
    }

    pub fn period_start_ms(&self, at_ms: i64) -> i64 {
        self.first_reset_ms + (self.period_index(at_ms) - 1) * self.length_ms()
    }

    pub fn period_end_ms(&self, at_ms: i64) -> i64 {
        self.period_start_ms(at_ms) + self.length_ms()
    }
}

/// Both windows and the usage so far.
#[derive(Debug, Clone)]
pub struct Usage {
    pub start_ms: i64,
    pub windows: [WindowModel; 2],
    /// (time, cumulative units), in time order.
    series: Vec<(i64, f64)>,
}

impl Usage {
    pub fn new(scenario: &Scenario) -> Self {
        let start_ms = scenario.start_ms();
        let window = |kind, percent_per_unit, start: &super::scenario::WindowStart| WindowModel {
            kind,
            percent_per_unit,
            first_reset_ms: start_ms + (start.resets_in_minutes * MINUTE_MS as f64) as i64,
            initial_percent: start.initial_percent,
        };
        Self {
            start_ms,
            windows: [
                window(WindowKind::FiveHour, 1.0, &scenario.windows.five_hour),
                window(
                    WindowKind::SevenDay,
                    1.0 / scenario.weekly_capacity_in_five_hour_windows,
                    &scenario.windows.seven_day,
                ),
            ],
            series: vec![(start_ms, 0.0)],
        }
    }

    pub fn add(&mut self, at_ms: i64, units: f64) {
        let total = self.total() + units;
        self.series.push((at_ms, total));
    }

    pub fn total(&self) -> f64 {
        self.series.last().map_or(0.0, |&(_, total)| total)
    }

    /// Cumulative units up to and including `at_ms`.
    pub fn cumulative(&self, at_ms: i64) -> f64 {
        let index = self.series.partition_point(|&(at, _)| at <= at_ms);
        if index == 0 {
            0.0
        } else {
            self.series[index - 1].1
        }
    }

    /// True utilization of a window at a moment.
    pub fn percent(&self, window: &WindowModel, at_ms: i64) -> f64 {
        if window.period_index(at_ms) == 0 {
            window.initial_percent + self.cumulative(at_ms) * window.percent_per_unit
        } else {
            // Usage at exactly the period start belongs to the new period.
            let start = window.period_start_ms(at_ms);
            (self.cumulative(at_ms) - self.cumulative(start - 1)) * window.percent_per_unit
        }
    }

    /// The window that locks requests out at `at_ms`, if any: until when.
    fn locked_until(&self, at_ms: i64) -> Option<i64> {
        self.windows
            .iter()
            .filter(|window| self.percent(window, at_ms) >= 100.0)
            .map(|window| window.period_end_ms(at_ms))
            .max()
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
    pub end_ms: i64,
    pub usage: Usage,
    pub requests: Vec<CycleRecord>,
    /// Completed tool cycles (PostToolUse reached), per session.
    pub completed: Vec<u64>,
    pub decisions: Vec<DecisionRecord>,
    /// (from, to) of each wait for a locked window.
    pub lockouts: Vec<(i64, i64)>,
    pub snapshots: Vec<UsageSnapshot>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Event {
    Request(usize),
    PostToolUse(usize),
    Poll,
}

#[derive(Debug, Clone, Copy)]
struct CycleDraw {
    idle: bool,
    idle_ms: i64,
    model_ms: i64,
    tool_ms: i64,
    cost: f64,
}

struct SessionState<'a> {
    spec: &'a SessionSpec,
    /// The scenario's seed and the session's index, which seed its draws.
    seed: u64,
    index: usize,
    /// The draws of the current 5-hour period, and that period's index.
    rng: ChaCha8Rng,
    rng_period: i64,
    start_ms: i64,
    end_ms: i64,
    /// The next request's draws, and the period they were drawn in.
    pending: Option<(CycleDraw, i64)>,
    idle_done: bool,
    last_touch_ms: Option<i64>,
    /// The sleep decided at the session's last PostToolUse.
    last_delay_ms: i64,
    context_kilotokens: f64,
    calls: Vec<ToolCall>,
    tool_ms: i64,
}

impl SessionState<'_> {
    fn phase_index(&self, at_ms: i64) -> usize {
        let mut elapsed = (at_ms - self.start_ms) as f64 / MINUTE_MS as f64;
        for (index, phase) in self.spec.phases.iter().enumerate() {
            if elapsed < phase.minutes {
                return index;
            }
            elapsed -= phase.minutes;
        }
        self.spec.phases.len() - 1
    }

    /// The next cycle's draws. Each 5-hour period of a session has its own
    /// stream, so the k-th cycle of a period costs the same under every
    /// policy, however many cycles a policy ran in the periods before.
    fn draw(&mut self, at_ms: i64, period: i64) -> CycleDraw {
        if period != self.rng_period {
            self.rng = draw_stream(self.seed, self.index, period);
            self.rng_period = period;
        }
        let phase: Phase = self.spec.phases[self.phase_index(at_ms)].clone();
        let rng = &mut self.rng;
        let idle_roll = phase.idle_minutes.sample(rng);
        let idle = super::scenario::unit(rng) < phase.idle_probability;
        let _ = super::scenario::unit(rng);
        CycleDraw {
            idle,
            idle_ms: (idle_roll * MINUTE_MS as f64) as i64,
            model_ms: (phase.model_seconds.sample(rng) * 1000.0) as i64,
            tool_ms: (phase.tool_seconds.sample(rng) * 1000.0) as i64,
            cost: phase.cost_percent.sample(rng),
        }
    }
}

/// The generator of one session's draws in one 5-hour period.
fn draw_stream(seed: u64, session: usize, period: i64) -> ChaCha8Rng {
    let mut rng =
        ChaCha8Rng::seed_from_u64(seed ^ (session as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15));
    rng.set_stream(period as u64);
    rng
}

/// Options that differ between a real run and the capacity run.
#[derive(Debug, Clone, Copy)]
pub struct Options {
    /// Whether a window at 100 % locks requests out. Off for the run that
    /// measures what the sessions would do with no limit at all.
    pub limits: bool,
    /// The target a request is measured against (`within_target`).
    pub target_percent: f64,
}

/// Runs a scenario with a pacer.
pub fn run(scenario: &Scenario, pacer: &mut dyn Pacer, options: Options) -> Trace {
    let start_ms = scenario.start_ms();
    let end_ms = start_ms + (scenario.duration_hours * 60.0 * MINUTE_MS as f64) as i64;
    let reporting = &scenario.reporting;
    let ttl_ms = (scenario.cache.ttl_seconds * 1000.0) as i64;
    let ttl_seconds = scenario.cache.ttl_seconds.round().max(1.0) as u64;
    let mut usage = Usage::new(scenario);
    let mut sessions: Vec<SessionState<'_>> = scenario
        .sessions
        .iter()
        .enumerate()
        .map(|(index, spec)| SessionState {
            spec,
            seed: scenario.seed,
            index,
            rng: draw_stream(scenario.seed, index, 0),
            rng_period: 0,
            start_ms: start_ms + (spec.start_minutes * MINUTE_MS as f64) as i64,
            end_ms: (start_ms + (spec.end_minutes * MINUTE_MS as f64) as i64).min(end_ms),
            pending: None,
            idle_done: false,
            last_touch_ms: None,
            last_delay_ms: 0,
            context_kilotokens: spec.context.start_kilotokens,
            calls: Vec::new(),
            tool_ms: 0,
        })
        .collect();
    let mut trace = Trace {
        start_ms,
        end_ms,
        usage: usage.clone(),
        requests: Vec::new(),
        completed: vec![0; sessions.len()],
        decisions: Vec::new(),
        lockouts: Vec::new(),
        snapshots: Vec::new(),
    };
    let mut queue: BinaryHeap<Reverse<(i64, u64, Event)>> = BinaryHeap::new();
    let mut sequence = 0u64;
    let mut push = |queue: &mut BinaryHeap<_>, at: i64, event: Event| {
        sequence += 1;
        queue.push(Reverse((at, sequence, event)));
    };
    for (index, session) in sessions.iter().enumerate() {
        push(&mut queue, session.start_ms, Event::Request(index));
    }
    push(&mut queue, start_ms, Event::Poll);
    let poll_ms = (reporting.api_poll_seconds * 1000.0) as i64;
    let lag_ms = (reporting.report_lag_seconds * 1000.0) as i64;
    let in_outage = |at_ms: i64, statusline: bool| {
        reporting.outages.iter().any(|outage| {
            let from = start_ms + (outage.start_minutes * MINUTE_MS as f64) as i64;
            let to = from + (outage.duration_minutes * MINUTE_MS as f64) as i64;
            (!statusline || outage.statusline_too) && at_ms >= from && at_ms < to
        })
    };
    let mut reporter = Reporter {
        granularity: reporting.granularity_percent,
        estimate_error: reporting.estimate_error,
        last_official: None,
        last_statusline_ms: i64::MIN / 2,
        last_estimate_ms: i64::MIN / 2,
    };

    while let Some(Reverse((now, _, event))) = queue.pop() {
        match event {
            Event::Poll => {
                if now >= end_ms {
                    continue;
                }
                if !in_outage(now, false) {
                    let snapshot = reporter.official(&usage, SnapshotSource::Api, now, lag_ms);
                    trace.snapshots.push(snapshot);
                }
                push(&mut queue, now + poll_ms, Event::Poll);
            }
            Event::Request(index) => {
                let session = &mut sessions[index];
                if now >= session.end_ms {
                    continue;
                }
                let period = usage.windows[0].period_index(now);
                let draw = match session.pending {
                    // A request held back (idle, locked out) into a new
                    // period is that period's first: it draws from its stream.
                    Some((draw, drawn_in)) if drawn_in == period => draw,
                    Some(_) => {
                        let draw = session.draw(now, period);
                        session.pending = Some((draw, period));
                        draw
                    }
                    None => {
                        let draw = session.draw(now, period);
                        session.pending = Some((draw, period));
                        session.idle_done = false;
                        draw
                    }
                };
                if draw.idle && !session.idle_done {
                    session.idle_done = true;
                    push(&mut queue, now + draw.idle_ms.max(1), Event::Request(index));
                    continue;
                }
                if options.limits {
                    if let Some(until) = usage.locked_until(now) {
                        trace
                            .lockouts
                            .push((now, until.min(session.end_ms).max(now)));
                        push(&mut queue, until.max(now + 1), Event::Request(index));
                        continue;
                    }
                }
                session.pending = None;
                let gap = session.last_touch_ms.map(|touched| now - touched);
                let cold = gap.is_none_or(|gap| gap > ttl_ms);
                // Cold only because of the sleep: without it the cache was warm.
                let slept_cold =
                    gap.is_some_and(|gap| gap > ttl_ms && gap - session.last_delay_ms <= ttl_ms);
                let rebuild = if cold {
                    session.context_kilotokens * scenario.cache.rebuild_percent_per_kilotoken
                } else {
                    0.0
                };
                let cost = draw.cost + rebuild;
                usage.add(now, cost);
                let within_target = usage
                    .windows
                    .iter()
                    .all(|window| usage.percent(window, now) <= options.target_percent);
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
                if reporting.statusline
                    && !in_outage(now, true)
                    && now - reporter.last_statusline_ms >= 30_000
                {
                    reporter.last_statusline_ms = now;
                    let snapshot = reporter.official(&usage, SnapshotSource::Statusline, now, 0);
                    trace.snapshots.push(snapshot);
                }
                if reporting.estimate && now - reporter.last_estimate_ms >= 60_000 {
                    reporter.last_estimate_ms = now;
                    trace.snapshots.push(reporter.estimate(&usage, now));
                }
                push(
                    &mut queue,
                    now + draw.model_ms + draw.tool_ms,
                    Event::PostToolUse(index),
                );
            }
            Event::PostToolUse(index) => {
                trace.completed[index] += 1;
                sessions[index].calls.push(ToolCall {
                    at_ms: now,
                    delay_ms: 0,
                });
                let history_from = trace
                    .snapshots
                    .partition_point(|snapshot| snapshot.taken_at_ms < now - VIEW_HISTORY_MS);
                let since = |calls: &[ToolCall], span_ms: i64| {
                    calls.partition_point(|call| call.at_ms < now - span_ms)
                };
                // What the hook reads: the other sessions' last hour.
                let others: Vec<&[ToolCall]> = sessions
                    .iter()
                    .enumerate()
                    .filter(|(other, _)| *other != index)
                    .map(|(_, other)| {
                        &other.calls[since(&other.calls, OTHER_SESSIONS_HISTORY_MS)..]
                    })
                    .filter(|calls| !calls.is_empty())
                    .collect();
                let session = &sessions[index];
                let keep_from = since(&session.calls, VIEW_HISTORY_MS);
                let view = View {
                    now_ms: now,
                    session: index,
                    snapshots: &trace.snapshots[history_from..],
                    calls: &session.calls[keep_from..],
                    other_sessions: &others,
                    tool_duration_ms: session.tool_ms,
                    cache_ttl_seconds: ttl_seconds,
                };
                let delay_ms = pacer.delay_ms(&view).max(0);
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
                let next = now + delay_ms;
                if next < session.end_ms {
                    push(&mut queue, next, Event::Request(index));
                }
            }
        }
    }
    trace.usage = usage;
    trace
}

/// Turns true usage into the readings the sources would report.
struct Reporter {
    granularity: f64,
    estimate_error: f64,
    /// (taken at, reported 5-hour %, reported weekly %) of the last official reading.
    last_official: Option<(i64, f64, f64)>,
    last_statusline_ms: i64,
    last_estimate_ms: i64,
}

impl Reporter {
    fn round(&self, percent: f64) -> f64 {
        let percent = percent.clamp(0.0, 100.0);
        if self.granularity > 0.0 {
            (percent / self.granularity + 1e-9).floor() * self.granularity
        } else {
            percent
        }
    }

    fn official(
        &mut self,
        usage: &Usage,
        source: SnapshotSource,
        at_ms: i64,
        lag_ms: i64,
    ) -> UsageSnapshot {
        let seen_at = (at_ms - lag_ms).max(usage.start_ms);
        let reading = |window: &WindowModel| WindowReading {
            percent: self.round(usage.percent(window, seen_at)),
            resets_at_s: Some(window.period_end_ms(seen_at) / 1000),
        };
        let five = reading(&usage.windows[0]);
        let seven = reading(&usage.windows[1]);
        self.last_official = Some((seen_at, five.percent, seven.percent));
        UsageSnapshot {
            source,
            taken_at_ms: at_ms,
            five_hour: Some(five),
            seven_day: Some(seven),
            seven_day_opus: None,
            seven_day_sonnet: None,
            raw_json: None,
        }
    }

    /// The local estimate: the last official figure plus the usage since,
    /// off by the configured relative error.
    fn estimate(&self, usage: &Usage, at_ms: i64) -> UsageSnapshot {
        let reading = |index: usize| {
            let window = &usage.windows[index];
            let now_percent = usage.percent(window, at_ms);
            let percent = match self.last_official {
                Some((seen_at, five, seven))
                    if window.period_index(seen_at) == window.period_index(at_ms) =>
                {
                    let base = if index == 0 { five } else { seven };
                    let true_then = usage.percent(window, seen_at);
                    base + (1.0 + self.estimate_error) * (now_percent - true_then)
                }
                _ => (1.0 + self.estimate_error) * now_percent,
            };
            WindowReading {
                percent: percent.clamp(0.0, 100.0),
                resets_at_s: Some(window.period_end_ms(at_ms) / 1000),
            }
        };
        UsageSnapshot {
            source: SnapshotSource::Estimate,
            taken_at_ms: at_ms,
            five_hour: Some(reading(0)),
            seven_day: Some(reading(1)),
            seven_day_opus: None,
            seven_day_sonnet: None,
            raw_json: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::simulate::policies::NoPacing;
    use crate::simulate::scenario;

    #[test]
    fn a_window_resets_to_its_own_usage_and_keeps_the_initial_figure_only_before() {
        let mut scenario = scenario::find("late-start").unwrap();
        scenario.windows.five_hour.initial_percent = 60.0;
        let mut usage = Usage::new(&scenario);
        let start = usage.start_ms;
        let five = usage.windows[0];
        usage.add(start + 10 * MINUTE_MS, 5.0);
        assert_eq!(usage.percent(&five, start + 20 * MINUTE_MS), 65.0);
        // Reset after 60 min: what came before is gone.
        usage.add(start + 70 * MINUTE_MS, 2.0);
        assert_eq!(usage.percent(&five, start + 80 * MINUTE_MS), 2.0);
        assert_eq!(
            five.period_end_ms(start + 80 * MINUTE_MS),
            start + 360 * MINUTE_MS
        );
    }

    #[test]
    fn the_same_seed_gives_the_same_run_and_demand_does_not_depend_on_the_pacer() {
        let scenario = scenario::find("steady-heavy").unwrap();
        let options = Options {
            limits: false,
            target_percent: 95.0,
        };
        let first = run(&scenario, &mut NoPacing, options);
        let second = run(&scenario, &mut NoPacing, options);
        assert_eq!(first.requests, second.requests);
        assert!(first.completed[0] > 500);
    }

    /// Sleeps a fixed time after every call.
    struct Sleeper(i64);

    impl crate::simulate::policies::Pacer for Sleeper {
        fn name(&self) -> &'static str {
            "sleeper"
        }

        fn delay_ms(&mut self, _view: &View<'_>) -> i64 {
            self.0
        }
    }

    /// The costs of a run's requests, per 5-hour period.
    fn costs_by_period(trace: &Trace) -> Vec<Vec<f64>> {
        let five = trace.usage.windows[0];
        let mut periods: Vec<Vec<f64>> = Vec::new();
        for request in &trace.requests {
            let period = five.period_index(request.at_ms) as usize;
            periods.resize(periods.len().max(period + 1), Vec::new());
            periods[period].push(request.cost - request.rebuild);
        }
        periods
    }

    #[test]
    fn the_k_th_cycle_of_a_period_costs_the_same_however_many_cycles_came_before() {
        let scenario = scenario::find("steady-heavy").unwrap();
        let options = Options {
            limits: false,
            target_percent: 95.0,
        };
        let fast = costs_by_period(&run(&scenario, &mut NoPacing, options));
        let slow = costs_by_period(&run(&scenario, &mut Sleeper(20_000), options));
        assert_eq!(fast.len(), 2);
        assert_eq!(slow.len(), 2);
        for (fast, slow) in fast.iter().zip(&slow) {
            // The slow run does fewer cycles in each period, and the ones
            // it does are the fast run's first ones.
            assert!(slow.len() < fast.len());
            assert_eq!(slow[..], fast[..slow.len()]);
        }
    }

    #[test]
    fn a_request_held_past_a_reset_draws_from_the_new_period() {
        let scenario = scenario::find("steady-heavy").unwrap();
        let options = Options {
            limits: true,
            target_percent: 95.0,
        };
        // Without pacing the first period ends locked out, its next request
        // waiting for the reset; with limits off nothing waits.
        let locked = run(&scenario, &mut NoPacing, options);
        assert!(!locked.lockouts.is_empty());
        let free = run(
            &scenario,
            &mut NoPacing,
            Options {
                limits: false,
                ..options
            },
        );
        let (locked, free) = (costs_by_period(&locked), costs_by_period(&free));
        // (The first request after the lockout also rebuilds the cache;
        // its cost less the rebuild may differ in the last bit.)
        for (locked, free) in locked[1].iter().zip(&free[1]).take(10) {
            assert!((locked - free).abs() < 1e-12, "{locked} against {free}");
        }
    }

    #[test]
    fn without_pacing_a_heavy_mission_locks_itself_out() {
        let scenario = scenario::find("steady-heavy").unwrap();
        let trace = run(
            &scenario,
            &mut NoPacing,
            Options {
                limits: true,
                target_percent: 95.0,
            },
        );
        assert!(!trace.lockouts.is_empty());
        let five = trace.usage.windows[0];
        let (from, _) = trace.lockouts[0];
        assert!(trace.usage.percent(&five, from) >= 100.0);
    }
}
