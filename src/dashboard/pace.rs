//! How the views put a window's pacing figures into words: ahead of or
//! behind the pace line, and where the burn rate leads by the reset.
//!
//! The figures themselves (pace now, burn rate, projection at reset) are
//! the pacing policy's own ([`crate::pacing::policy::assess`]), so what a
//! person reads is what pacing acts on; this module only classifies and
//! phrases them, as pure functions tested as tables.

use crate::pacing::policy::WindowAssessment;

/// Closer than this (percentage points) to the pace line counts as on pace.
pub const ON_PACE_TOLERANCE_POINTS: f64 = 1.0;

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

/// Where the unpaced burn rate leads by the reset.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Projection {
    /// The window fills before it resets.
    FullBeforeReset { full_in_s: i64, before_reset_s: i64 },
    /// The window resets first, at about this utilization.
    AtReset { percent: f64 },
}

impl Projection {
    /// Where the policy's projection leads: when the window fills before
    /// its reset at the unpaced burn rate, how soon; otherwise the
    /// utilization expected at the reset.
    pub fn from_assessment(assessment: &WindowAssessment, now_ms: i64) -> Self {
        let to_reset_s = (assessment.resets_at_s - now_ms.div_euclid(1000)).max(0);
        let percent = assessment.utilization_percent;
        let rate = assessment.unpaced_percent_per_hour;
        if percent >= 100.0 {
            return Projection::FullBeforeReset {
                full_in_s: 0,
                before_reset_s: to_reset_s,
            };
        }
        if assessment.projected_percent >= 100.0 && rate > 0.0 {
            let full_in_s = ((100.0 - percent) / rate * 3600.0).ceil() as i64;
            if full_in_s < to_reset_s {
                return Projection::FullBeforeReset {
                    full_in_s,
                    before_reset_s: to_reset_s - full_in_s,
                };
            }
        }
        Projection::AtReset {
            percent: assessment.projected_percent.clamp(0.0, 100.0),
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
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::usage::snapshot::{SnapshotSource, WindowKind};

    fn assessment(percent: f64, rate: f64, projected: f64, reset_in_s: i64) -> WindowAssessment {
        WindowAssessment {
            kind: WindowKind::FiveHour,
            source: SnapshotSource::Statusline,
            utilization_percent: percent,
            pace_percent: 50.0,
            projected_percent: projected,
            target_percent: 95.0,
            resets_at_s: reset_in_s,
            burn_percent_per_hour: rate,
            unpaced_percent_per_hour: rate,
            needed_delay_ms: 0,
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
    fn projections_read_as_the_issue_words_them() {
        for (name, percent, rate, projected, reset_in_s, expected) in [
            (
                "fills before the reset",
                64.0,
                30.0,
                119.0,
                72 * 60 + 38 * 60,
                "100 % in 1 h 12 min, 38 min before reset",
            ),
            (
                "resets first",
                60.0,
                12.0,
                84.0,
                2 * 3600,
                "about 84 % at reset",
            ),
            ("idle", 60.0, 0.0, 60.0, 2 * 3600, "about 60 % at reset"),
            (
                "already full",
                100.0,
                5.0,
                100.0,
                600,
                "full, 10 min before reset",
            ),
        ] {
            let projection =
                Projection::from_assessment(&assessment(percent, rate, projected, reset_in_s), 0);
            assert_eq!(projection.describe(), expected, "{name}");
        }
    }
}
