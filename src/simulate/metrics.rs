//! What a run achieved, and what it could have achieved.
//!
//! Efficiency needs a ceiling: *the cycles the budgets allowed over the
//! run*. It comes from a second run of the same scenario with no pacing
//! and no limit at all (the "capacity run": same sessions, same random
//! draws):
//! - `free_cycles`: the cycles the sessions do when nothing stops them;
//! - each window's budget, period by period: the target (95 %) less what
//!   was used before the period opened; a period still open when the run
//!   ends counts with the share of its remaining time that lies inside the
//!   run (what an even pace would release; no pacer knows the mission
//!   stops early);
//! - the cycles a period's budget allows: its budget over the mean cost of
//!   the capacity run's cycles in that period (what slowing every cycle
//!   alike would buy; growing contexts and natural cache rebuilds are
//!   priced in, rebuilds caused by pacing are not), at most the demand;
//! - `allowed_cycles`: the smaller of the two windows' sums, at most
//!   `free_cycles`.
//!
//! `efficiency` = cycles within the budget (after which every window was
//! still at or under the target) / allowed cycles. The other cycles are
//! counted apart (`cycles_over_target`): they ate the reserve the target
//! keeps. A policy that spares cheap stretches and slows dear ones can
//! pass 1.

use std::collections::BTreeMap;

use serde::Serialize;

use super::engine::{Trace, Usage, WindowModel};
use crate::usage::snapshot::WindowKind;

const MINUTE_MS: f64 = 60_000.0;
/// Consecutive delays of a session further apart than this count as a change.
pub const DELAY_CHANGE_MS: i64 = 5000;

/// The ceiling a scenario's runs are measured against.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Allowance {
    pub free_cycles: u64,
    /// Percent of each window usable over the run (5-hour, weekly).
    pub budget_percent: [f64; 2],
    /// Cycles each window's budget allows (5-hour, weekly).
    pub budget_cycles: [f64; 2],
    pub allowed_cycles: f64,
    /// Whether a budget, not the sessions' own speed, is the limit.
    pub demand_exceeds_budget: bool,
    /// The sessions' demand over the tightest budget (2.5 = 2.5x).
    pub demand_ratio: f64,
}

/// The budget of each period of a window that overlaps the run, percent:
/// `(period index, percent)`.
fn period_budgets(
    window: &WindowModel,
    start_ms: i64,
    end_ms: i64,
    target: f64,
) -> Vec<(i64, f64)> {
    let mut budgets = Vec::new();
    let mut at = start_ms;
    while at < end_ms {
        let period_start = window.period_start_ms(at);
        let period_end = window.period_end_ms(at);
        let from = period_start.max(start_ms);
        let to = period_end.min(end_ms);
        let used = if window.period_index(at) == 0 {
            window.initial_percent
        } else {
            0.0
        };
        let share = (to - from) as f64 / (period_end - from) as f64;
        budgets.push((window.period_index(at), (target - used).max(0.0) * share));
        at = period_end;
    }
    budgets
}

/// The cycles a budget buys from a period's demand when every cycle is
/// slowed alike: the budget over the demand's mean cost per cycle, at
/// most the demand itself.
fn even_cycles(count: u64, cost: f64, budget_units: f64) -> f64 {
    if cost <= budget_units || cost <= 0.0 {
        count as f64
    } else {
        count as f64 * budget_units / cost
    }
}

/// Computes the ceiling from the capacity run.
pub fn allowance(free: &Trace, target: f64) -> Allowance {
    let free_cycles = free.requests.len() as u64;
    let demand: f64 = free.requests.iter().map(|request| request.cost).sum();
    let mut budget = [0.0; 2];
    let mut cycles = [0.0; 2];
    let mut ratio = 0.0f64;
    for (index, window) in free.usage.windows.iter().enumerate() {
        let mut periods: BTreeMap<i64, (u64, f64)> = BTreeMap::new();
        for request in &free.requests {
            let entry = periods
                .entry(window.period_index(request.at_ms))
                .or_insert((0, 0.0));
            entry.0 += 1;
            entry.1 += request.cost;
        }
        for (period, percent) in period_budgets(window, free.start_ms, free.end_ms, target) {
            budget[index] += percent;
            let (count, cost) = periods.get(&period).copied().unwrap_or((0, 0.0));
            cycles[index] += even_cycles(count, cost, percent / window.percent_per_unit);
        }
        let budget_units = budget[index] / window.percent_per_unit;
        if budget_units > 0.0 {
            ratio = ratio.max(demand / budget_units);
        }
    }
    let allowed = (free_cycles as f64).min(cycles[0]).min(cycles[1]);
    Allowance {
        free_cycles,
        budget_percent: budget,
        budget_cycles: cycles,
        allowed_cycles: allowed,
        demand_exceeds_budget: allowed + 0.5 < free_cycles as f64,
        demand_ratio: ratio,
    }
}

/// A window's utilization just before one of its resets.
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
    /// reserve the target keeps, and do not count as efficient work.
    pub cycles_over_target: u64,
    /// Cycles within the target / cycles the budgets allowed.
    pub efficiency: f64,
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

fn resets(usage: &Usage, start_ms: i64, end_ms: i64) -> Vec<ResetReading> {
    let mut readings = Vec::new();
    for window in &usage.windows {
        let mut reset = window.period_end_ms(start_ms);
        while reset <= end_ms {
            readings.push(ResetReading {
                window: window.kind,
                at: crate::clock::iso(reset),
                hours_into_run: (reset - start_ms) as f64 / (60.0 * MINUTE_MS),
                percent: usage.percent(window, reset - 1),
            });
            reset += window.length_ms();
        }
    }
    readings.sort_by_key(|reading| (reading.at.clone(), reading.window == WindowKind::SevenDay));
    readings
}

/// The figures of a run against the scenario's ceiling.
pub fn measure(policy: &str, trace: &Trace, allowance: &Allowance) -> Metrics {
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
    let peak = |index: usize| {
        let window = &trace.usage.windows[index];
        trace
            .requests
            .iter()
            .map(|request| trace.usage.percent(window, request.at_ms))
            .fold(window.initial_percent, f64::max)
    };
    Metrics {
        policy: policy.to_string(),
        lockout_minutes: union_ms(&trace.lockouts, trace.start_ms, trace.end_ms) as f64 / MINUTE_MS,
        cycles,
        cycles_over_target: over_target,
        efficiency: if allowance.allowed_cycles <= 0.0 {
            1.0
        } else {
            (trace.requests.len() as u64 - over_target) as f64 / allowance.allowed_cycles
        },
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
        peak_five_hour_percent: peak(0),
        peak_seven_day_percent: peak(1),
        resets: resets(&trace.usage, trace.start_ms, trace.end_ms),
    }
}

/// One point of the over-time chart.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Sample {
    pub hours: f64,
    pub five_hour_percent: f64,
    pub seven_day_percent: f64,
    /// Where an even pace to the target stands in the current 5-hour period.
    pub five_hour_pace_percent: f64,
    pub seven_day_pace_percent: f64,
    /// Mean sleep of the calls in the interval ending here, seconds.
    pub delay_seconds: f64,
    pub locked: bool,
}

/// Samples the run every `step_minutes`.
pub fn samples(trace: &Trace, step_minutes: f64, target: f64) -> Vec<Sample> {
    let step = (step_minutes * MINUTE_MS) as i64;
    let mut points = Vec::new();
    let mut decision_index = 0;
    let mut at = trace.start_ms;
    let pace = |window: &WindowModel, at: i64| {
        let start = window.period_start_ms(at);
        let share = (at - start) as f64 / window.length_ms() as f64;
        if window.period_index(at) == 0 {
            // The first period: from the initial figure to the target.
            let from = trace.start_ms.max(start);
            let left = (window.period_end_ms(at) - from) as f64;
            let done = (at - from) as f64 / left;
            window.initial_percent + (target - window.initial_percent).max(0.0) * done
        } else {
            target * share
        }
    };
    while at <= trace.end_ms {
        let (mut sum, mut count) = (0i64, 0i64);
        while decision_index < trace.decisions.len() && trace.decisions[decision_index].at_ms <= at
        {
            sum += trace.decisions[decision_index].delay_ms;
            count += 1;
            decision_index += 1;
        }
        let five = &trace.usage.windows[0];
        let seven = &trace.usage.windows[1];
        points.push(Sample {
            hours: (at - trace.start_ms) as f64 / (60.0 * MINUTE_MS),
            five_hour_percent: trace.usage.percent(five, at),
            seven_day_percent: trace.usage.percent(seven, at),
            five_hour_pace_percent: pace(five, at),
            seven_day_pace_percent: pace(seven, at),
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

    #[test]
    fn an_even_slowdown_buys_the_budget_over_the_mean_cost() {
        // 110 cycles costing 101 units; 6 units buy 110 * 6 / 101.
        assert!((even_cycles(110, 101.0, 6.0) - 6.534_653).abs() < 1e-6);
        assert_eq!(even_cycles(10, 1.0, 6.0), 10.0);
    }

    #[test]
    fn a_window_budget_counts_full_periods_and_the_even_share_of_the_last() {
        let window = WindowModel {
            kind: WindowKind::FiveHour,
            percent_per_unit: 1.0,
            first_reset_ms: 60 * 60_000,
            initial_percent: 60.0,
        };
        // 1 h left of the first period (35 % usable), one full period (95),
        // and 2 of the third's 5 hours (38).
        let budgets = period_budgets(&window, 0, 8 * 3_600_000, 95.0);
        assert_eq!(budgets.len(), 3);
        let budget: f64 = budgets.iter().map(|(_, percent)| percent).sum();
        assert!((budget - (35.0 + 95.0 + 38.0)).abs() < 1e-9, "{budget}");
    }
}
