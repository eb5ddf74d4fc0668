//! Where a window stands against its pace: the target pace now, ahead or
//! behind, and where the current burn rate leads by the reset.
//!
//! Pure arithmetic on two readings and `now`, so the views (status, watch,
//! history) can be tested as tables. The target pace is the straight line
//! from 0 % at the window's start to the configured target at its reset:
//! the line the pacing policy keeps a mission under.

use crate::usage::snapshot::WindowKind;

/// Closer than this (percentage points) to the pace line counts as on pace.
pub const ON_PACE_TOLERANCE_POINTS: f64 = 1.0;

/// A burn rate is measured over at least this long, or not at all.
pub const MIN_BURN_SPAN_MS: i64 = 5 * 60_000;

/// The target pace of a window at `now_ms`: where usage should be by now
/// for the window to reach `target_percent` exactly at its reset.
pub fn target_pace_percent(
    kind: WindowKind,
    resets_at_ms: i64,
    target_percent: f64,
    now_ms: i64,
) -> f64 {
    let length_ms = kind.length_s() * 1000;
    let elapsed_ms = (now_ms - (resets_at_ms - length_ms)).clamp(0, length_ms);
    target_percent * elapsed_ms as f64 / length_ms as f64
}

/// Usage against the pace line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum PaceState {
    /// Used more than the pace allows by now: pacing slows the mission down.
    Ahead,
    OnPace,
    /// Used less than the pace allows: room to spare.
    Behind,
}

impl PaceState {
    /// Classifies `percent` against `pace_percent`.
    pub fn of(percent: f64, pace_percent: f64) -> Self {
        let difference = percent - pace_percent;
        if difference > ON_PACE_TOLERANCE_POINTS {
            PaceState::Ahead
        } else if difference < -ON_PACE_TOLERANCE_POINTS {
            PaceState::Behind
        } else {
            PaceState::OnPace
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            PaceState::Ahead => "ahead",
            PaceState::OnPace => "on-pace",
            PaceState::Behind => "behind",
        }
    }
}

/// Utilization growth in percentage points per hour between two readings of
/// the same window, or `None` when they are too close in time to say.
pub fn burn_rate_per_hour(
    earlier_ms: i64,
    earlier_percent: f64,
    later_ms: i64,
    later_percent: f64,
) -> Option<f64> {
    let span_ms = later_ms - earlier_ms;
    if span_ms < MIN_BURN_SPAN_MS {
        return None;
    }
    Some(((later_percent - earlier_percent) * 3_600_000.0 / span_ms as f64).max(0.0))
}

/// Where the current burn rate leads by the reset.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Projection {
    /// The window fills before it resets.
    FullBeforeReset { full_in_s: i64, before_reset_s: i64 },
    /// The window resets first, at about this utilization.
    AtReset { percent: f64 },
}

impl Projection {
    /// The projection of a window at `percent` now, growing at
    /// `rate_per_hour`, that resets at `resets_at_ms`.
    pub fn at_rate(percent: f64, rate_per_hour: f64, resets_at_ms: i64, now_ms: i64) -> Self {
        let to_reset_s = ((resets_at_ms - now_ms) / 1000).max(0);
        if percent >= 100.0 {
            return Projection::FullBeforeReset {
                full_in_s: 0,
                before_reset_s: to_reset_s,
            };
        }
        if rate_per_hour > 0.0 {
            let full_in_s = ((100.0 - percent) / rate_per_hour * 3600.0).ceil() as i64;
            if full_in_s < to_reset_s {
                return Projection::FullBeforeReset {
                    full_in_s,
                    before_reset_s: to_reset_s - full_in_s,
                };
            }
        }
        Projection::AtReset {
            percent: (percent + rate_per_hour.max(0.0) * to_reset_s as f64 / 3600.0).min(100.0),
        }
    }

    /// "100 % in 1 h 12 min, 38 min before reset" or "about 84 % at reset".
    pub fn describe(&self) -> String {
        use crate::clock::human_duration;
        match *self {
            Projection::FullBeforeReset {
                full_in_s: 0,
                before_reset_s,
            } => format!("full, {} before reset", human_duration(before_reset_s)),
            Projection::FullBeforeReset {
                full_in_s,
                before_reset_s,
            } => format!(
                "100 % in {}, {} before reset",
                human_duration(full_in_s),
                human_duration(before_reset_s)
            ),
            Projection::AtReset { percent } => format!("about {percent:.0} % at reset"),
        }
    }

    /// The utilization the projection reaches at the reset (100 when it fills first).
    pub fn percent_at_reset(&self) -> f64 {
        match *self {
            Projection::FullBeforeReset { .. } => 100.0,
            Projection::AtReset { percent } => percent,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOUR_MS: i64 = 3_600_000;

    #[test]
    fn the_target_pace_runs_from_zero_at_the_start_to_the_target_at_the_reset() {
        let reset = 10 * HOUR_MS;
        for (name, now, expected) in [
            ("at the start", 5 * HOUR_MS, 0.0),
            ("halfway", 7 * HOUR_MS + HOUR_MS / 2, 47.5),
            ("at the reset", 10 * HOUR_MS, 95.0),
            ("before the window (clamped)", 0, 0.0),
            ("after the reset (clamped)", 11 * HOUR_MS, 95.0),
        ] {
            let pace = target_pace_percent(WindowKind::FiveHour, reset, 95.0, now);
            assert!(
                (pace - expected).abs() < 1e-9,
                "{name}: {pace} != {expected}"
            );
        }
    }

    #[test]
    fn pace_state_has_a_tolerance_of_one_point() {
        for (name, percent, pace, expected) in [
            ("well over", 60.0, 50.0, PaceState::Ahead),
            ("just over", 50.5, 50.0, PaceState::OnPace),
            ("just under", 49.2, 50.0, PaceState::OnPace),
            ("well under", 30.0, 50.0, PaceState::Behind),
        ] {
            assert_eq!(PaceState::of(percent, pace), expected, "{name}");
        }
    }

    #[test]
    fn burn_rate_needs_five_minutes_and_never_goes_negative() {
        assert_eq!(burn_rate_per_hour(0, 10.0, 60_000, 20.0), None);
        assert_eq!(burn_rate_per_hour(0, 10.0, HOUR_MS, 22.0), Some(12.0));
        assert_eq!(burn_rate_per_hour(0, 30.0, HOUR_MS, 20.0), Some(0.0));
    }

    #[test]
    fn projections_read_as_the_issue_words_them() {
        let now = 0;
        for (name, percent, rate, reset_in_s, expected) in [
            (
                "fills before the reset",
                64.0,
                30.0,
                72 * 60 + 38 * 60,
                "100 % in 1 h 12 min, 38 min before reset",
            ),
            ("resets first", 60.0, 12.0, 2 * 3600, "about 84 % at reset"),
            ("idle", 60.0, 0.0, 2 * 3600, "about 60 % at reset"),
            ("already full", 100.0, 5.0, 600, "full, 10 min before reset"),
        ] {
            let projection = Projection::at_rate(percent, rate, now + reset_in_s * 1000, now);
            assert_eq!(projection.describe(), expected, "{name}");
        }
    }
}
