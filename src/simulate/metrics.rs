//! What a run achieved, against what could be achieved.
//!
//! Three runs frame every policy's run of a scenario (same mission, same
//! draws):
//! - the *free run*: no pacing and no limit at all, the mission at full
//!   speed. It tells whether demand exceeds the budget (the free run takes
//!   a window past the target) and where delay is needless;
//! - the *oracle*: it knows every cycle's cost and the true utilization,
//!   never sleeps, and holds a request back until the window resets
//!   exactly when it would take a window past the target (its holds cost
//!   no cache rebuild). `work_vs_oracle` compares a policy's work with it;
//! - the policy's own run, with the limits on.
//!
//! The figures:
//! - `efficiency`: per complete window (one that reset before the run
//!   stopped), the work done in it up to the target over the budget up to
//!   the target (the target less the window's figure when it opened).
//!   Work is what the cycles cost, less the cache rebuilds the policy's own
//!   sleeps caused; only cycles after which every window was still at or
//!   under the target count. Those cycles' costs add up to at most the
//!   window's rise to the target, so the share is at most 1.0 by
//!   construction. Summed over the complete windows of each kind; the
//!   kind whose budget the work filled most (the binding one) is reported.
//! - `work_vs_oracle`: cycles done within the target over the oracle's,
//!   both counted up to the earlier of the two runs' stops.
//! - `needless_delay_seconds`: sleep added while no pacing would have
//!   stayed under the target: before the first window in which the free
//!   run passes it (all of the run's sleep when it never does).
//! - lockout minutes, cache rebuilds and those caused by sleeps, delays.

use serde::Serialize;

use super::engine::{Trace, WindowSpan, MINUTE_MS};
use crate::usage::snapshot::WindowKind;

/// Consecutive delays of a session further apart than this count as a change.
pub const DELAY_CHANGE_MS: i64 = 5000;

/// What the mission asks and what the budget allows.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Allowance {
    /// Cycles of the mission done by the free run (nothing in its way).
    pub free_cycles: u64,
    /// Percent of each window usable over the run (5-hour, weekly): the
    /// target less the opening figure, for every window the free run saw.
    pub budget_percent: [f64; 2],
    /// Cycles the oracle did within the budget, per window kind it was
    /// held by (5-hour, weekly): both are the oracle's total.
    pub budget_cycles: [f64; 2],
    /// The oracle's cycles: the most the budget allowed of this mission.
    pub allowed_cycles: f64,
    /// Whether the free run takes a window past the target.
    pub demand_exceeds_budget: bool,
    /// The free run's usage over its budget, for the tighter window (2.5 = 2.5x).
    pub demand_ratio: f64,
    /// When the free run first passes the target (ms since the epoch), if it does.
    #[serde(skip)]
    pub first_over_ms: Option<i64>,
    /// When the oracle's cycles were requested, and when its run stopped:
    /// a policy's work is compared with the oracle's up to the earlier of
    /// the two runs' stops, one clock for both.
    #[serde(skip)]
    pub oracle_requests_ms: Vec<i64>,
    #[serde(skip)]
    pub oracle_stop_ms: i64,
}

/// A window's utilization when it reset.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ResetReading {
    pub window: WindowKind,
    /// RFC 3339.
    pub at: String,
    pub hours_into_run: f64,
    pub percent: f64,
}

/// The figures of one run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Metrics {
    pub policy: String,
    /// Wall minutes during which a session waited for a locked window.
    pub lockout_minutes: f64,
    /// Tool cycles completed.
    pub cycles: u64,
    /// Of those, cycles that left a window past the target: they ate the
    /// reserve the target keeps, and do not count as work.
    pub cycles_over_target: u64,
    /// The share of the complete windows' budgets that became work (at
    /// most 1.0 by construction; see the module documentation).
    pub efficiency: f64,
    /// Complete windows `efficiency` is measured over.
    pub windows_scored: u64,
    /// Cycles within the target over the oracle's (up to the earlier stop).
    pub work_vs_oracle: f64,
    /// Sleep added where no pacing stays under the target, seconds.
    pub needless_delay_seconds: f64,
    /// Mean sleep per tool call, seconds (calls without a sleep count as 0).
    pub mean_delay_seconds: f64,
    pub max_delay_seconds: f64,
    /// Times a session's delay moved by 5 s or more from its previous one.
    pub delay_changes: u64,
    /// Requests that found the cache cold (a session's first excepted).
    pub cache_rebuilds: u64,
    /// Of those, the ones that were cold only because of the pacer's sleep.
    pub cache_rebuilds_from_sleeps: u64,
    /// Share of all usage spent rebuilding the cache.
    pub rebuild_share: f64,
    pub peak_five_hour_percent: f64,
    pub peak_seven_day_percent: f64,
    pub resets: Vec<ResetReading>,
}

/// The union length of intervals, clipped to [from, to].
fn union_ms(intervals: &[(i64, i64)], from: i64, to: i64) -> i64 {
    let mut sorted: Vec<(i64, i64)> = intervals
        .iter()
        .map(|&(start, end)| (start.max(from), end.min(to)))
        .filter(|(start, end)| end > start)
        .collect();
    sorted.sort_unstable();
    let mut total = 0;
    let mut current: Option<(i64, i64)> = None;
    for (start, end) in sorted {
        current = match current {
            Some((open, close)) if start <= close => Some((open, close.max(end))),
            Some((open, close)) => {
                total += close - open;
                Some((start, end))
            }
            None => Some((start, end)),
        };
    }
    if let Some((open, close)) = current {
        total += close - open;
    }
    total
}

/// Cycles done within the target.
fn cycles_within(trace: &Trace) -> u64 {
    trace
        .requests
        .iter()
        .filter(|request| request.within_target)
        .count() as u64
}

/// The frame of a scenario's runs, from its free run and its oracle.
pub fn allowance(free: &Trace, oracle: &Trace, target: f64) -> Allowance {
    let account = &free.account;
    let first_over_ms = free
        .requests
        .iter()
        .find(|request| !request.within_target)
        .map(|request| {
            // Delay is needless only before the window the target was
            // passed in opened.
            let five = account
                .five_hour_windows
                .iter()
                .rev()
                .find(|window| window.opened_ms <= request.at_ms)
                .map_or(request.at_ms, |window| window.opened_ms);
            let week = account
                .weekly_periods
                .iter()
                .rev()
                .find(|period| period.opened_ms <= request.at_ms)
                .map_or(request.at_ms, |period| period.opened_ms);
            let opus = account
                .opus_periods
                .iter()
                .rev()
                .find(|period| period.opened_ms <= request.at_ms)
                .map_or(request.at_ms, |period| period.opened_ms);
            let mut from = five;
            if account.percent(WindowKind::SevenDay, request.at_ms) > target {
                from = from.min(week);
            }
            if account.opus_per_unit > 0.0
                && account.percent(WindowKind::SevenDayOpus, request.at_ms) > target
            {
                from = from.min(opus);
            }
            from
        });
    let budget = |spans: &[WindowSpan]| -> f64 {
        spans
            .iter()
            .filter(|span| span.opened_ms < free.stop_ms && span.ends_ms > free.start_ms)
            .map(|span| (target - span.initial_percent).max(0.0))
            .sum()
    };
    let budget_percent = [
        budget(&account.five_hour_windows),
        budget(&account.weekly_periods),
    ];
    let used: f64 = free.requests.iter().map(|request| request.cost).sum();
    let ratio_five = if budget_percent[0] > 0.0 {
        used / budget_percent[0]
    } else {
        0.0
    };
    let ratio_week = if budget_percent[1] > 0.0 {
        used * account.weekly_per_unit / budget_percent[1]
    } else {
        0.0
    };
    let opus_budget = budget(&account.opus_periods);
    let ratio_opus = if account.opus_per_unit > 0.0 && opus_budget > 0.0 {
        used * account.opus_per_unit / opus_budget
    } else {
        0.0
    };
    let allowed = cycles_within(oracle) as f64;
    Allowance {
        free_cycles: free.requests.len() as u64,
        budget_percent,
        budget_cycles: [allowed, allowed],
        allowed_cycles: allowed,
        demand_exceeds_budget: first_over_ms.is_some(),
        demand_ratio: ratio_five.max(ratio_week).max(ratio_opus),
        first_over_ms,
        oracle_requests_ms: oracle
            .requests
            .iter()
            .filter(|request| request.within_target)
            .map(|request| request.at_ms)
            .collect(),
        oracle_stop_ms: oracle.stop_ms,
    }
}

fn resets(trace: &Trace) -> Vec<ResetReading> {
    let account = &trace.account;
    let mut readings: Vec<ResetReading> = account
        .five_hour_windows
        .iter()
        .chain(&account.weekly_periods)
        .chain(
            account
                .opus_periods
                .iter()
                .filter(|_| account.opus_per_unit > 0.0),
        )
        .filter(|span| span.ends_ms > trace.start_ms && span.ends_ms <= trace.stop_ms)
        .map(|span| ResetReading {
            window: span.kind,
            at: crate::clock::iso(span.ends_ms),
            hours_into_run: (span.ends_ms - trace.start_ms) as f64 / (60.0 * MINUTE_MS as f64),
            percent: account.percent(span.kind, span.ends_ms - 1),
        })
        .collect();
    readings.sort_by_key(|reading| (reading.at.clone(), reading.window != WindowKind::FiveHour));
    readings
}

/// The budget share of one kind's complete windows: (work, budget,
/// windows). Work and budget are in that window's percent.
fn budget_share(
    trace: &Trace,
    spans: &[WindowSpan],
    per_unit: f64,
    target: f64,
) -> (f64, f64, u64) {
    let (mut work, mut budget, mut windows) = (0.0, 0.0, 0);
    for span in spans {
        if span.ends_ms > trace.stop_ms || span.ends_ms <= trace.start_ms {
            continue;
        }
        let window_budget = target - span.initial_percent;
        if window_budget <= 0.0 {
            continue;
        }
        let from = span.opened_ms.max(trace.start_ms);
        let done: f64 = trace
            .requests
            .iter()
            .filter(|request| {
                request.within_target && request.at_ms >= from && request.at_ms < span.ends_ms
            })
            .map(|request| {
                if request.slept_cold {
                    request.cost - request.rebuild
                } else {
                    request.cost
                }
            })
            .sum();
        work += done * per_unit;
        budget += window_budget;
        windows += 1;
    }
    (work, budget, windows)
}

/// The share of the binding budget that became work: of the two kinds of
/// window, the one whose complete windows' budget the work filled most
/// (the weekly one only when a weekly period completed in the run). Each
/// share is at most 1.0 by construction.
fn efficiency(trace: &Trace, target: f64) -> (f64, u64) {
    let account = &trace.account;
    let share = |(work, budget, windows): (f64, f64, u64)| {
        (if budget > 0.0 { work / budget } else { 0.0 }, windows)
    };
    let five = share(budget_share(trace, &account.five_hour_windows, 1.0, target));
    let week = share(budget_share(
        trace,
        &account.weekly_periods,
        account.weekly_per_unit,
        target,
    ));
    let opus = share(budget_share(
        trace,
        &account.opus_periods,
        account.opus_per_unit,
        target,
    ));
    [week, opus]
        .into_iter()
        .filter(|(_, windows)| *windows > 0)
        .fold(
            five,
            |best, other| if other.0 > best.0 { other } else { best },
        )
}

/// The figures of a run against the scenario's frame.
pub fn measure(policy: &str, trace: &Trace, allowance: &Allowance, target: f64) -> Metrics {
    let cycles: u64 = trace.completed.iter().sum();
    let over_target = trace
        .requests
        .iter()
        .filter(|request| !request.within_target)
        .count() as u64;
    let delays: Vec<i64> = trace
        .decisions
        .iter()
        .map(|decision| decision.delay_ms)
        .collect();
    let mean_delay = if delays.is_empty() {
        0.0
    } else {
        delays.iter().sum::<i64>() as f64 / delays.len() as f64 / 1000.0
    };
    let max_delay = delays.iter().copied().max().unwrap_or(0) as f64 / 1000.0;
    let mut changes = 0;
    let mut previous: Vec<Option<i64>> = vec![None; trace.completed.len()];
    for decision in &trace.decisions {
        if let Some(before) = previous[decision.session] {
            if (decision.delay_ms - before).abs() >= DELAY_CHANGE_MS {
                changes += 1;
            }
        }
        previous[decision.session] = Some(decision.delay_ms);
    }
    let needless_until = allowance.first_over_ms.unwrap_or(i64::MAX);
    let needless: i64 = trace
        .decisions
        .iter()
        .filter(|decision| decision.at_ms < needless_until)
        .map(|decision| decision.delay_ms)
        .sum();
    let total: f64 = trace.requests.iter().map(|request| request.cost).sum();
    let rebuilt: f64 = trace
        .requests
        .iter()
        .filter(|request| !request.first)
        .map(|request| request.rebuild)
        .sum();
    let rebuilds = trace
        .requests
        .iter()
        .filter(|request| !request.first && request.rebuild > 0.0)
        .count() as u64;
    let peak = |spans: &[WindowSpan]| {
        spans
            .iter()
            .map(|span| span.peak_percent)
            .fold(0.0, f64::max)
    };
    let (efficiency, windows) = efficiency(trace, target);
    let cutoff = trace.stop_ms.min(allowance.oracle_stop_ms);
    let within = trace
        .requests
        .iter()
        .filter(|request| request.within_target && request.at_ms < cutoff)
        .count() as f64;
    let oracle = allowance
        .oracle_requests_ms
        .iter()
        .filter(|&&at| at < cutoff)
        .count() as f64;
    Metrics {
        policy: policy.to_string(),
        lockout_minutes: union_ms(&trace.lockouts, trace.start_ms, trace.stop_ms) as f64
            / MINUTE_MS as f64,
        cycles,
        cycles_over_target: over_target,
        efficiency,
        windows_scored: windows,
        work_vs_oracle: if oracle > 0.0 { within / oracle } else { 1.0 },
        needless_delay_seconds: needless as f64 / 1000.0,
        mean_delay_seconds: mean_delay,
        max_delay_seconds: max_delay,
        delay_changes: changes,
        cache_rebuilds: rebuilds,
        cache_rebuilds_from_sleeps: trace
            .requests
            .iter()
            .filter(|request| request.slept_cold)
            .count() as u64,
        rebuild_share: if total > 0.0 { rebuilt / total } else { 0.0 },
        peak_five_hour_percent: peak(&trace.account.five_hour_windows),
        peak_seven_day_percent: peak(&trace.account.weekly_periods),
        resets: resets(trace),
    }
}

/// One point of the over-time chart.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Sample {
    pub hours: f64,
    pub five_hour_percent: f64,
    pub seven_day_percent: f64,
    /// Where an even pace to the target stands in the current 5-hour window.
    pub five_hour_pace_percent: f64,
    pub seven_day_pace_percent: f64,
    /// Mean sleep of the calls in the interval ending here, seconds.
    pub delay_seconds: f64,
    pub locked: bool,
}

/// Samples the run every `step_minutes`.
pub fn samples(trace: &Trace, step_minutes: f64, target: f64) -> Vec<Sample> {
    let step = (step_minutes * MINUTE_MS as f64) as i64;
    let account = &trace.account;
    let mut points = Vec::new();
    let mut decision_index = 0;
    let mut at = trace.start_ms;
    let pace = |spans: &[WindowSpan], at: i64| {
        spans
            .iter()
            .rev()
            .find(|span| span.opened_ms <= at && at < span.ends_ms)
            .map_or(0.0, |span| {
                let from = span.opened_ms.max(trace.start_ms);
                let done = (at - from) as f64 / (span.ends_ms - from).max(1) as f64;
                span.initial_percent + (target - span.initial_percent).max(0.0) * done
            })
    };
    while at <= trace.stop_ms {
        let (mut sum, mut count) = (0i64, 0i64);
        while decision_index < trace.decisions.len() && trace.decisions[decision_index].at_ms <= at
        {
            sum += trace.decisions[decision_index].delay_ms;
            count += 1;
            decision_index += 1;
        }
        points.push(Sample {
            hours: (at - trace.start_ms) as f64 / (60.0 * MINUTE_MS as f64),
            five_hour_percent: account.percent(WindowKind::FiveHour, at),
            seven_day_percent: account.percent(WindowKind::SevenDay, at),
            five_hour_pace_percent: pace(&account.five_hour_windows, at),
            seven_day_pace_percent: pace(&account.weekly_periods, at),
            delay_seconds: if count > 0 {
                sum as f64 / count as f64 / 1000.0
            } else {
                0.0
            },
            locked: trace
                .lockouts
                .iter()
                .any(|&(from, to)| at >= from && at < to),
        });
        at += step;
    }
    points
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overlapping_lockouts_count_once() {
        assert_eq!(union_ms(&[(0, 10), (5, 20), (30, 40)], 0, 100), 30);
        assert_eq!(union_ms(&[(0, 10), (5, 20)], 8, 15), 7);
        assert_eq!(union_ms(&[], 0, 100), 0);
    }
}
