//! The pacers the simulator compares, behind one small trait.
//!
//! `pace-maker` is not a model of our policy: it decides through
//! `pacing::apply::decide`, the code `hook post-tool-use` runs, over the
//! simulated machine's own store, with the default configuration.
//! `reference` and `log-curve` are the existing Python pacer's version-2
//! formula and version-1 logarithmic curve, implemented from their
//! published description (docs/simulator.md spells it out); `none` never
//! sleeps. Each sees only what it would see in real use: the readings the
//! sources reported so far, never the true utilization.

use crate::config::Config;
use crate::pacing::{apply, pass};
use crate::store::Store;
use crate::usage::snapshot::{SnapshotSource, UsageSnapshot, WindowKind, WindowReading};

/// What a pacer sees at one PostToolUse.
pub struct View<'a> {
    pub now_ms: i64,
    pub session: usize,
    /// The session's id in the machine's store.
    pub session_id: &'a str,
    /// Readings this machine's sources reported so far (the last day or
    /// so), oldest first: for pacers that keep their own readings.
    pub snapshots: &'a [UsageSnapshot],
    /// This session's recent calls, the current one last.
    pub calls: &'a [crate::pacing::policy::ToolCall],
    /// The same machine's other sessions' recent calls.
    pub other_sessions: &'a [&'a [crate::pacing::policy::ToolCall]],
    pub tool_duration_ms: i64,
    pub cache_ttl_seconds: u64,
    /// The machine's store, for a pacer that runs on the hook's own path
    /// (`Pacer::uses_store`).
    pub hook: Option<HookSide<'a>>,
}

/// What the hook has on a simulated machine: its store, and what its
/// transcripts would tell the local estimate.
pub struct HookSide<'a> {
    pub store: &'a mut Store,
    /// Cumulative usage of the machine's sessions, (time, units).
    pub local: &'a [(i64, f64)],
    pub weekly_per_unit: f64,
    pub estimate_error: f64,
    /// Whether the local estimate is available at all.
    pub estimate: bool,
    /// The no-delay passes of the machine's sessions.
    pub passes: &'a mut std::collections::HashMap<String, pass::Pass>,
    /// When the machine's next poll of the usage API comes (a pass ends
    /// then, as the hook's does).
    pub poll_due_ms: Option<i64>,
}

/// A pacing policy under test.
pub trait Pacer {
    fn name(&self) -> &'static str;
    /// The sleep after this tool call, milliseconds.
    fn delay_ms(&mut self, view: &mut View<'_>) -> i64;
    /// Whether the pacer decides from the machine's store (the engine then
    /// keeps one per machine, written as the hook writes it).
    fn uses_store(&self) -> bool {
        false
    }
}

/// Names accepted by `--policy`, in the order the comparison shows them.
pub const POLICY_NAMES: [&str; 4] = ["pace-maker", "reference", "log-curve", "none"];

/// A pacer by name.
pub fn by_name(name: &str) -> Option<Box<dyn Pacer>> {
    match name {
        "pace-maker" => Some(Box::new(PaceMaker::default())),
        "reference" => Some(Box::new(Reference::default())),
        "log-curve" => Some(Box::new(LogCurve)),
        "none" => Some(Box::new(NoPacing)),
        _ => None,
    }
}

/// Ours, on the hook's own path: a call under the session's no-delay pass
/// takes it (`pacing::pass`, recorded as the spool's drain records it);
/// any other decision comes from `pacing::apply::decide` over the
/// machine's store (inputs, thinning, estimate gating, the cache TTL the
/// status line stored), is recorded with `pacing::apply::record` and
/// grants the next pass, exactly as `hook post-tool-use` does. The hook
/// keeps passes in files, the simulator in each machine's memory.
#[derive(Debug, Default)]
pub struct PaceMaker {
    pub config: Config,
}

impl Pacer for PaceMaker {
    fn name(&self) -> &'static str {
        "pace-maker"
    }

    fn uses_store(&self) -> bool {
        true
    }

    fn delay_ms(&mut self, view: &mut View<'_>) -> i64 {
        let now_ms = view.now_ms;
        let Some(HookSide {
            store,
            local,
            weekly_per_unit,
            estimate_error,
            estimate,
            passes,
            poll_due_ms,
        }) = view.hook.as_mut()
        else {
            return 0;
        };
        let (local, weekly_per_unit, estimate_error, estimate) =
            (*local, *weekly_per_unit, *estimate_error, *estimate);
        let fingerprint = pass::fingerprint(&self.config);
        if let Some(held) = passes.get(view.session_id) {
            if held.holds(now_ms, fingerprint) {
                store
                    .write(|transaction| {
                        pass::record_call(transaction, view.session_id, now_ms, held)
                    })
                    .expect("the simulated store records");
                return 0;
            }
        }
        let mut estimator = |store: &mut Store| {
            if estimate {
                super::estimate::store_estimate(
                    store,
                    local,
                    weekly_per_unit,
                    estimate_error,
                    now_ms,
                )
            } else {
                Ok(None)
            }
        };
        let decision = apply::decide(
            store,
            &self.config,
            view.session_id,
            now_ms,
            Some(view.tool_duration_ms.max(0) as u64),
            &mut estimator,
        )
        .expect("the simulated store answers");
        apply::record(store, view.session_id, now_ms, &decision)
            .expect("the simulated store records");
        match pass::grant(&decision, now_ms, fingerprint, *poll_due_ms) {
            Some(granted) => passes.insert(view.session_id.to_string(), granted),
            None => passes.remove(view.session_id),
        };
        decision.delay_ms
    }
}

/// Never sleeps.
#[derive(Debug, Default)]
pub struct NoPacing;

impl Pacer for NoPacing {
    fn name(&self) -> &'static str {
        "none"
    }

    fn delay_ms(&mut self, _view: &mut View<'_>) -> i64 {
        0
    }
}

/// The freshest reading the Python pacer would use: its own API poll, or
/// its token-cost estimate when the API is not answering. It does not read
/// the status line. Age does not matter to it; only a window whose reset
/// passed more than five minutes ago is ignored.
fn api_or_estimate(snapshots: &[UsageSnapshot], kind: WindowKind) -> Option<WindowReading> {
    let freshest = |source: SnapshotSource| {
        snapshots
            .iter()
            .rev()
            .find(|snapshot| snapshot.source == source && snapshot.window(kind).is_some())
    };
    let api = freshest(SnapshotSource::Api);
    let estimate = freshest(SnapshotSource::Estimate);
    let chosen = match (api, estimate) {
        (Some(api), Some(estimate)) if estimate.taken_at_ms > api.taken_at_ms + 600_000 => estimate,
        (Some(api), _) => api,
        (None, Some(estimate)) => estimate,
        (None, None) => return None,
    };
    chosen.window(kind)
}

const HOUR_S: f64 = 3600.0;

/// Monday = 0 ... Sunday = 6, in UTC. 1970-01-01 was a Thursday.
fn weekday(epoch_s: i64) -> i64 {
    (epoch_s.div_euclid(86_400) + 3).rem_euclid(7)
}

/// Hours of Monday to Friday (UTC) between two moments.
fn weekday_hours(from_s: i64, to_s: i64) -> f64 {
    let mut total = 0.0;
    let mut at = from_s;
    while at < to_s {
        let day_end = (at.div_euclid(86_400) + 1) * 86_400;
        let until = day_end.min(to_s);
        if weekday(at) < 5 {
            total += (until - at) as f64 / HOUR_S;
        }
        at = until;
    }
    total
}

/// The existing pacer's version-2 formula.
#[derive(Debug, Default)]
pub struct Reference {
    /// The last decision, reused for 300 s by every session.
    last: Option<(i64, i64)>,
}

impl Reference {
    const MAX_DELAY_S: f64 = 350.0;
    const RECOMPUTE_MS: i64 = 300_000;

    fn compute(snapshots: &[UsageSnapshot], now_ms: i64) -> f64 {
        let now_s = now_ms / 1000;
        // (deviation, utilization, allowance, elapsed hours, hours left, kind)
        let mut driving: Option<(f64, f64, f64, f64, f64, WindowKind)> = None;
        for kind in WindowKind::ALL {
            let Some(reading) = api_or_estimate(snapshots, kind) else {
                continue;
            };
            let Some(resets_at) = reading.resets_at_s else {
                continue;
            };
            if resets_at + 300 < now_s {
                continue;
            }
            let length = kind.length_s();
            let left_s = (resets_at - now_s).max(0);
            let elapsed_s = (length - left_s).max(0);
            let elapsed_share = elapsed_s as f64 / length as f64 * 100.0;
            let allowance = match kind {
                WindowKind::FiveHour => {
                    if elapsed_s < 1800 {
                        10.0
                    } else {
                        elapsed_share
                    }
                }
                WindowKind::SevenDay | WindowKind::SevenDayOpus | WindowKind::SevenDaySonnet => {
                    if elapsed_s < 12 * 3600 {
                        10.0
                    } else {
                        let start = resets_at - length;
                        (weekday_hours(start, now_s) / 120.0 * 100.0).clamp(10.0, 100.0)
                    }
                }
            };
            let utilization = reading.percent;
            let deviation = utilization - allowance;
            let candidate = (
                deviation,
                utilization,
                allowance,
                elapsed_s as f64 / HOUR_S,
                left_s as f64 / HOUR_S,
                kind,
            );
            if driving.is_none_or(|known| deviation > known.0) {
                driving = Some(candidate);
            }
        }
        let Some((deviation, utilization, allowance, elapsed_hours, hours_left, kind)) = driving
        else {
            return 0.0;
        };
        if kind == WindowKind::SevenDay && deviation > 0.0 && weekday(now_s) >= 5 {
            return Self::MAX_DELAY_S;
        }
        if utilization <= 0.95 * allowance {
            return 0.0;
        }
        if elapsed_hours <= 0.0 || hours_left <= 0.0 {
            return 0.0;
        }
        let burn = utilization / elapsed_hours;
        let mut target = (95.0 - utilization) / hours_left;
        if target <= 0.0 {
            target = 0.5 * (100.0 - utilization) / hours_left;
        }
        if burn <= 0.0 {
            return 0.0;
        }
        let ratio = target / burn;
        if ratio >= 0.95 {
            return 0.0;
        }
        if ratio <= 0.0 {
            return Self::MAX_DELAY_S;
        }
        let multiplier = if hours_left >= 3.0 {
            20.0
        } else if hours_left >= 1.0 {
            40.0
        } else {
            60.0
        };
        let delay = 5.0 * (1.0 / ratio - 1.0) * multiplier;
        if delay <= 5.0 {
            0.0
        } else {
            delay.min(Self::MAX_DELAY_S)
        }
    }
}

impl Pacer for Reference {
    fn name(&self) -> &'static str {
        "reference"
    }

    fn delay_ms(&mut self, view: &mut View<'_>) -> i64 {
        if let Some((at, delay)) = self.last {
            if view.now_ms - at < Self::RECOMPUTE_MS {
                return delay;
            }
        }
        let delay = (Self::compute(view.snapshots, view.now_ms) * 1000.0).round() as i64;
        self.last = Some((view.now_ms, delay));
        delay
    }
}

/// The existing pacer's version-1 logarithmic curve (5-hour window only).
#[derive(Debug, Default)]
pub struct LogCurve;

impl Pacer for LogCurve {
    fn name(&self) -> &'static str {
        "log-curve"
    }

    fn delay_ms(&mut self, view: &mut View<'_>) -> i64 {
        let Some(reading) = api_or_estimate(view.snapshots, WindowKind::FiveHour) else {
            return 0;
        };
        let Some(resets_at) = reading.resets_at_s else {
            return 0;
        };
        let now_s = view.now_ms / 1000;
        if resets_at <= now_s {
            return 0;
        }
        let length = WindowKind::FiveHour.length_s();
        let elapsed = ((length - (resets_at - now_s)) as f64 / length as f64).clamp(0.0, 1.0);
        let target = 100.0 * (1.0 + elapsed * (std::f64::consts::E - 1.0)).ln();
        let deviation = reading.percent - target;
        if deviation <= 10.0 {
            return 0;
        }
        let delay = (5.0 * (1.0 + 2.0 * (deviation - 10.0))).min(120.0);
        (delay * 1000.0).round() as i64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_767_600_000_000; // a Monday

    fn reading_view(snapshots: &[UsageSnapshot]) -> View<'_> {
        View {
            now_ms: NOW,
            session: 0,
            session_id: "s",
            snapshots,
            calls: &[],
            other_sessions: &[],
            tool_duration_ms: 1000,
            cache_ttl_seconds: 300,
            hook: None,
        }
    }

    fn five_hour_at(percent: f64, hours_left: f64) -> Vec<UsageSnapshot> {
        vec![UsageSnapshot {
            source: SnapshotSource::Api,
            taken_at_ms: NOW,
            five_hour: Some(WindowReading {
                percent,
                resets_at_s: Some(NOW / 1000 + (hours_left * 3600.0) as i64),
            }),
            seven_day: None,
            seven_day_opus: None,
            seven_day_sonnet: None,
            raw_json: None,
        }]
    }

    #[test]
    fn weekday_hours_skip_the_weekend() {
        // 2026-01-05 is a Monday.
        let monday = 1_767_571_200;
        assert_eq!(weekday(monday), 0);
        assert_eq!(weekday_hours(monday, monday + 7 * 86_400), 120.0);
        assert_eq!(weekday_hours(monday + 5 * 86_400, monday + 7 * 86_400), 0.0);
    }

    #[test]
    fn the_reference_formula_matches_its_description() {
        // 2 h in (3 h left), at 60 %: allowance 40 %, burn 30 %/h, target
        // (95 - 60) / 3 = 11.67 %/h, r = 0.389: 5 * (1/r - 1) * 40 = 314 s.
        let snapshots = five_hour_at(60.0, 3.0 - 1e-6);
        let mut reference = Reference::default();
        let delay = reference.delay_ms(&mut reading_view(&snapshots));
        assert!((delay - 314_286).abs() < 1000, "{delay}");
        // On pace: no delay.
        assert_eq!(Reference::compute(&five_hour_at(38.0, 3.0), NOW), 0.0);
        // Past 95 %: half the rest, still a delay; past 100 %: the maximum.
        assert_eq!(Reference::compute(&five_hour_at(101.0, 0.5), NOW), 350.0);
    }

    #[test]
    fn the_reference_reuses_its_decision_for_five_minutes() {
        let mut reference = Reference::default();
        let ahead = five_hour_at(60.0, 3.0);
        let first = reference.delay_ms(&mut reading_view(&ahead));
        assert!(first > 0);
        let calm = five_hour_at(0.0, 3.0);
        let mut view = reading_view(&calm);
        view.now_ms += 299_000;
        assert_eq!(reference.delay_ms(&mut view), first);
        view.now_ms += 2000;
        assert_eq!(reference.delay_ms(&mut view), 0);
    }

    #[test]
    fn the_log_curve_starts_ten_points_above_its_curve() {
        let mut curve = LogCurve;
        // Halfway: target 100 * ln(1 + 0.5 (e - 1)) = 62.0 %.
        assert_eq!(
            curve.delay_ms(&mut reading_view(&five_hour_at(72.0, 2.5))),
            0
        );
        let delay = curve.delay_ms(&mut reading_view(&five_hour_at(80.0, 2.5)));
        assert!((delay - 85_000).abs() < 1000, "{delay}");
        assert_eq!(
            curve.delay_ms(&mut reading_view(&five_hour_at(99.0, 2.5))),
            120_000
        );
    }
}
