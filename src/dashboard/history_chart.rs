//! The usage chart of a past span (`history --svg`): the simulator's chart
//! (the shared writer in [`crate::chart::svg`]) drawn from the store's
//! readings and decisions instead of a simulated run.
//!
//! Three panels over the hours of the span, as `simulate --svg` draws
//! them: the 5-hour window and the weekly window, each against its even
//! pace to the target, and the delay per call. The pace at each reading is
//! the pacing policy's own figure ([`crate::pacing::policy::assess`] on
//! that reading alone), so the line is the one pacing held the mission to.

use crate::chart::svg::{Chart, Panel, Series};
use crate::config::Config;
use crate::pacing::policy::{self, PacingSettings, PolicyInput};
use crate::usage::snapshot::{UsageSnapshot, WindowKind};

use super::data::DecisionRow;

const OFFICIAL_COLOUR: &str = "#1f77b4";
const ESTIMATE_COLOUR: &str = "#ff7f0e";
const PACE_COLOUR: &str = "#999999";
const DELAY_COLOUR: &str = "#d62728";

/// The chart of `[since_ms, until_ms)`.
pub fn history_chart(
    snapshots: &[UsageSnapshot],
    decisions: &[DecisionRow],
    since_ms: i64,
    until_ms: i64,
    config: &Config,
) -> Chart {
    let hours = |at_ms: i64| (at_ms - since_ms) as f64 / 3_600_000.0;
    let mut settings = PacingSettings::from_config(config);
    // Each reading is assessed at its own time, alone: always fresh.
    settings.stale_after_seconds = u64::MAX / 2_000;
    settings.use_estimate = true;
    let panel = |kind: WindowKind, label: &str| {
        let mut official = Vec::new();
        let mut estimate = Vec::new();
        let mut pace = Vec::new();
        for snapshot in snapshots {
            let Some(reading) = snapshot.window(kind) else {
                continue;
            };
            let point = (hours(snapshot.taken_at_ms), reading.percent);
            if snapshot.source.is_official() {
                official.push(point);
                let input = PolicyInput {
                    now_ms: snapshot.taken_at_ms,
                    snapshots: std::slice::from_ref(snapshot),
                    calls: &[],
                    other_sessions: &[],
                    tool_duration_ms: None,
                    cache_ttl_seconds: config.pacing.default_cache_ttl_seconds,
                    settings: &settings,
                };
                if let Ok(assessment) = policy::assess(kind, &input, policy::DEFAULT_CYCLE_WORK_MS)
                {
                    pace.push((point.0, assessment.pace_percent));
                }
            } else {
                estimate.push(point);
            }
        }
        let mut series = vec![Series {
            name: "even pace to target".into(),
            color: PACE_COLOUR.into(),
            dashed: true,
            points: pace,
        }];
        series.push(Series {
            name: "official".into(),
            color: OFFICIAL_COLOUR.into(),
            dashed: false,
            points: official,
        });
        if !estimate.is_empty() {
            series.push(Series {
                name: "local estimate".into(),
                color: ESTIMATE_COLOUR.into(),
                dashed: true,
                points: estimate,
            });
        }
        let target = config.pacing.target_percent;
        Panel {
            y_label: label.into(),
            y_max: 100.0,
            series,
            marks: vec![
                (target, format!("target {target:.0} %")),
                (100.0, "limit".to_string()),
            ],
        }
    };
    let delays = Series {
        name: "delay".into(),
        color: DELAY_COLOUR.into(),
        dashed: false,
        points: decisions
            .iter()
            .map(|decision| {
                (
                    hours(decision.decided_at_ms),
                    decision.delay_ms as f64 / 1000.0,
                )
            })
            .collect(),
    };
    let delay_total_s: i64 = decisions
        .iter()
        .map(|decision| decision.delay_ms)
        .sum::<i64>()
        / 1000;
    Chart {
        title: format!(
            "pace-maker history: the last {}",
            crate::clock::human_duration((until_ms - since_ms) / 1000)
        ),
        subtitle: format!(
            "{} to {}: {}, {}, {} of delay",
            crate::clock::iso(since_ms),
            crate::clock::iso(until_ms),
            super::describe::count(snapshots.len() as i64, "reading", "readings"),
            super::describe::count(
                decisions.len() as i64,
                "pacing decision",
                "pacing decisions"
            ),
            crate::clock::human_duration(delay_total_s)
        ),
        x_label: format!("hours since {}", crate::clock::iso(since_ms)),
        panels: vec![
            panel(WindowKind::FiveHour, "5-hour window %"),
            panel(WindowKind::SevenDay, "weekly window %"),
            Panel {
                y_label: "delay per call, s".into(),
                y_max: 10.0,
                series: vec![delays],
                marks: Vec::new(),
            },
        ],
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::usage::snapshot::{SnapshotSource, WindowReading};

    const HOUR_MS: i64 = 3_600_000;

    fn snapshot(source: SnapshotSource, at_ms: i64, percent: f64, reset_ms: i64) -> UsageSnapshot {
        UsageSnapshot {
            source,
            taken_at_ms: at_ms,
            five_hour: Some(WindowReading {
                percent,
                resets_at_s: Some(reset_ms / 1000),
            }),
            seven_day: None,
            seven_day_opus: None,
            seven_day_sonnet: None,
            raw_json: None,
        }
    }

    #[test]
    fn the_chart_has_the_simulators_panels_with_the_policys_pace() {
        let since = 100 * HOUR_MS;
        let reset = since + 5 * HOUR_MS;
        let snapshots = vec![
            snapshot(SnapshotSource::Statusline, since + HOUR_MS, 10.0, reset),
            snapshot(SnapshotSource::Estimate, since + 2 * HOUR_MS, 30.0, reset),
            snapshot(SnapshotSource::Api, since + 4 * HOUR_MS, 60.0, reset),
        ];
        let decisions = vec![DecisionRow {
            session_id: Some("s".into()),
            decided_at_ms: since + 3 * HOUR_MS,
            delay_ms: 4_000,
            window: Some("five_hour".into()),
            utilization: Some(40.0),
            projected_percent: Some(110.0),
            target_percent: Some(95.0),
            reason: "ahead".into(),
        }];
        let chart = history_chart(
            &snapshots,
            &decisions,
            since,
            since + 6 * HOUR_MS,
            &Config::default(),
        );
        assert_eq!(chart.panels.len(), 3);
        let five = &chart.panels[0];
        let pace = &five.series[0].points;
        // 1 h and 4 h into a window that started at `since`: 19 % and 76 % of 95 %.
        assert_eq!(pace.len(), 2);
        assert!((pace[0].1 - 19.0).abs() < 1e-9, "{pace:?}");
        assert!((pace[1].1 - 76.0).abs() < 1e-9, "{pace:?}");
        assert_eq!(five.series[1].points, vec![(1.0, 10.0), (4.0, 60.0)]);
        assert_eq!(five.series[2].points, vec![(2.0, 30.0)]);
        // No weekly readings: only the (empty) pace and official lines.
        assert!(chart.panels[1]
            .series
            .iter()
            .all(|series| series.points.is_empty()));
        assert_eq!(chart.panels[2].series[0].points, vec![(3.0, 4.0)]);
        let svg = chart.to_svg();
        assert!(svg.contains("even pace to target"), "{svg}");
    }
}
