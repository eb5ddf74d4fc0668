//! How results are shown: an aligned table (one row per scenario and
//! policy; the default fits 100 columns, `--wide` has every metric), JSON,
//! a compact chart for a terminal, and an SVG chart. Policies are named in
//! plain words in the text output, by their ids in JSON and `--policy`.

use std::fmt::Write;

use super::ScenarioResult;
use crate::chart::svg::{Chart, Panel, Series};

/// Colours of the policies, in `POLICY_NAMES` order, then spares.
fn color(policy: &str) -> &'static str {
    match policy {
        "pace-maker" => "#1f77b4",
        "reference" => "#d62728",
        "log-curve" => "#ff7f0e",
        "none" => "#7f7f7f",
        _ => "#2ca02c",
    }
}

/// Width the default text output fits in.
pub const NARROW_WIDTH: usize = 100;

/// A policy in plain words (ids stay for `--policy` and JSON).
pub fn plain_name(policy: &str) -> &str {
    match policy {
        "pace-maker" => "pace-maker",
        "reference" => "Python pacer v2",
        "log-curve" => "Python pacer v1",
        "none" => "no pacing",
        other => other,
    }
}

/// What the policies are, where the columns are explained, what to do next.
pub fn legend() -> String {
    let text = "Policies: pace-maker is this tool's own (the hook's policy, default settings); \
        Python pacer v2 and v1 are the earlier pacer's formula and its logarithmic curve; \
        no pacing never sleeps (`--policy pace-maker|reference|log-curve|none` picks one). \
        The columns are explained in docs/simulator.md (`--wide` shows every metric). \
        To pace your own sessions: `pace-maker install`.";
    wrap(text, NARROW_WIDTH, "")
}

/// Words wrapped at `width` columns, continuation lines indented.
pub fn wrap(text: &str, width: usize, indent: &str) -> String {
    let mut out = String::new();
    let mut line = String::new();
    for word in text.split_whitespace() {
        let extra = usize::from(!line.is_empty());
        if !line.is_empty() && line.chars().count() + extra + word.chars().count() > width {
            out.push_str(&line);
            out.push('\n');
            line = indent.to_string();
        } else if extra == 1 {
            line.push(' ');
        }
        line.push_str(word);
    }
    if !line.trim().is_empty() {
        out.push_str(&line);
        out.push('\n');
    }
    out
}

/// The comparison table that fits [`NARROW_WIDTH`]: per scenario a heading
/// (demand, allowed cycles), then a row per policy with the main metrics.
pub fn narrow_table(results: &[ScenarioResult]) -> String {
    let headers: Vec<[String; 2]> = [
        ["", "policy"],
        ["lockout", "min"],
        ["", "cycles"],
        ["vs", "oracle"],
        ["", "efficiency"],
        ["delay s", "mean/max"],
        ["needless", "delay s"],
        ["cache", "rebuilds"],
        ["peak", "5h %"],
    ]
    .iter()
    .map(|[a, b]| [a.to_string(), b.to_string()])
    .collect();
    let mut blocks: Vec<(String, Vec<Vec<String>>)> = Vec::new();
    for result in results {
        let heading = format!(
            "{}: demand {:.1}x the budgets, the oracle does {:.0} cycles",
            result.scenario, result.allowance.demand_ratio, result.allowance.allowed_cycles
        );
        let mut rows = Vec::new();
        for run in &result.runs {
            let metrics = &run.metrics;
            rows.push(vec![
                plain_name(&metrics.policy).to_string(),
                format!("{:.0}", metrics.lockout_minutes),
                metrics.cycles.to_string(),
                format!("{:.3}", metrics.work_vs_oracle),
                format!("{:.3}", metrics.efficiency),
                format!(
                    "{:.1}/{:.0}",
                    metrics.mean_delay_seconds, metrics.max_delay_seconds
                ),
                format!("{:.0}", metrics.needless_delay_seconds),
                metrics.cache_rebuilds.to_string(),
                format!("{:.1}", metrics.peak_five_hour_percent),
            ]);
        }
        blocks.push((heading, rows));
    }
    let mut widths: Vec<usize> = headers
        .iter()
        .map(|[a, b]| a.chars().count().max(b.chars().count()))
        .collect();
    for (_, rows) in &blocks {
        for row in rows {
            for (width, cell) in widths.iter_mut().zip(row) {
                *width = (*width).max(cell.chars().count());
            }
        }
    }
    let line = |out: &mut String, cells: &[String]| {
        let mut text = String::new();
        for (index, (cell, width)) in cells.iter().zip(&widths).enumerate() {
            if index > 0 {
                text.push_str("  ");
            }
            if index == 0 {
                let _ = write!(text, "{cell:<width$}");
            } else {
                let _ = write!(text, "{cell:>width$}");
            }
        }
        out.push_str(text.trim_end());
        out.push('\n');
    };
    let mut out = String::new();
    for (index, (heading, rows)) in blocks.iter().enumerate() {
        if index > 0 {
            out.push('\n');
        }
        out.push_str(&wrap(heading, NARROW_WIDTH, "  "));
        let top: Vec<String> = headers.iter().map(|[a, _]| a.clone()).collect();
        let bottom: Vec<String> = headers.iter().map(|[_, b]| b.clone()).collect();
        line(&mut out, &top);
        line(&mut out, &bottom);
        for row in rows {
            line(&mut out, row);
        }
    }
    out
}

/// Each policy over many seeds (`--seeds N`): per scenario, how many seeds
/// were over budget, then per policy the lockouts, the needless delay and
/// the work against the oracle where demand exceeds the budget.
pub fn seeds_table(results: &[ScenarioResult]) -> String {
    let mut out = String::new();
    for result in results {
        let Some(means) = &result.over_seeds else {
            continue;
        };
        let Some(first) = means.first() else {
            continue;
        };
        let _ = writeln!(
            out,
            "{}: seeds 1-{} ({} over budget)",
            result.scenario, first.seeds, first.seeds_over_budget
        );
        let _ = writeln!(
            out,
            "  {:<16} {:>12} {:>12} {:>14} {:>12} {:>12} {:>10}",
            "policy",
            "locked seeds",
            "max lock min",
            "needless s",
            "vs oracle",
            "min",
            "efficiency"
        );
        for mean in means {
            let _ = writeln!(
                out,
                "  {:<16} {:>12} {:>12.1} {:>14.0} {:>12.4} {:>12.4} {:>10.4}",
                plain_name(&mean.policy),
                mean.seeds_locked_out,
                mean.max_lockout_minutes,
                mean.needless_delay_seconds,
                mean.mean_work_vs_oracle,
                mean.min_work_vs_oracle,
                mean.mean_efficiency
            );
        }
    }
    out
}

/// The comparison table with every metric (`--wide`).
pub fn table(results: &[ScenarioResult]) -> String {
    let headers = [
        "scenario",
        "demand",
        "policy",
        "lockout min",
        "cycles",
        "over target",
        "oracle",
        "vs oracle",
        "efficiency",
        "windows",
        "needless delay s",
        "mean delay s",
        "max delay s",
        "changes",
        "rebuilds",
        "by sleeps",
        "rebuild share",
        "peak 5h %",
        "peak weekly %",
    ];
    let headers: Vec<String> = headers.iter().map(|header| header.to_string()).collect();
    let mut rows: Vec<Vec<String>> = Vec::new();
    for result in results {
        for (index, run) in result.runs.iter().enumerate() {
            let metrics = &run.metrics;
            let first = index == 0;
            rows.push(vec![
                if first {
                    result.scenario.clone()
                } else {
                    String::new()
                },
                if first {
                    format!("{:.1}x", result.allowance.demand_ratio)
                } else {
                    String::new()
                },
                plain_name(&metrics.policy).to_string(),
                format!("{:.0}", metrics.lockout_minutes),
                metrics.cycles.to_string(),
                metrics.cycles_over_target.to_string(),
                format!("{:.0}", result.allowance.allowed_cycles),
                format!("{:.3}", metrics.work_vs_oracle),
                format!("{:.3}", metrics.efficiency),
                metrics.windows_scored.to_string(),
                format!("{:.0}", metrics.needless_delay_seconds),
                format!("{:.1}", metrics.mean_delay_seconds),
                format!("{:.0}", metrics.max_delay_seconds),
                metrics.delay_changes.to_string(),
                metrics.cache_rebuilds.to_string(),
                metrics.cache_rebuilds_from_sleeps.to_string(),
                format!("{:.1} %", metrics.rebuild_share * 100.0),
                format!("{:.1}", metrics.peak_five_hour_percent),
                format!("{:.1}", metrics.peak_seven_day_percent),
            ]);
        }
    }
    let mut widths: Vec<usize> = headers.iter().map(|header| header.len()).collect();
    for row in &rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    let line = |out: &mut String, cells: &[String]| {
        let mut text = String::new();
        for (index, (cell, width)) in cells.iter().zip(&widths).enumerate() {
            if index > 0 {
                text.push_str("  ");
            }
            // Text columns left, figures right.
            if index < 3 {
                let _ = write!(text, "{cell:<width$}");
            } else {
                let _ = write!(text, "{cell:>width$}");
            }
        }
        out.push_str(text.trim_end());
        out.push('\n');
    };
    line(&mut out, &headers);
    for row in &rows {
        line(&mut out, row);
    }
    out
}

/// Utilization of each window at each reset, for the runs of one scenario.
pub fn resets(result: &ScenarioResult) -> String {
    let mut out = String::new();
    for run in &result.runs {
        let figures: Vec<String> = run
            .metrics
            .resets
            .iter()
            .map(|reset| {
                format!(
                    "{} {:.0} % at {:.1} h",
                    reset.window.label(),
                    reset.percent,
                    reset.hours_into_run
                )
            })
            .collect();
        let text = format!(
            "{}: utilization at each reset: {}",
            plain_name(&run.metrics.policy),
            if figures.is_empty() {
                "no reset during the run".to_string()
            } else {
                figures.join(", ")
            }
        );
        out.push_str(&wrap(&text, NARROW_WIDTH, "    "));
    }
    out
}

const LEVELS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];

fn sparkline(values: &[f64], width: usize, max: f64) -> String {
    if values.is_empty() || width == 0 {
        return String::new();
    }
    let mut out = String::new();
    for column in 0..width.min(values.len()) {
        let from = column * values.len() / width.min(values.len());
        let to = ((column + 1) * values.len() / width.min(values.len())).max(from + 1);
        let peak = values[from..to].iter().copied().fold(0.0f64, f64::max);
        let level = if max <= 0.0 {
            0
        } else {
            ((peak / max) * (LEVELS.len() - 1) as f64)
                .round()
                .clamp(0.0, (LEVELS.len() - 1) as f64) as usize
        };
        out.push(LEVELS[level]);
    }
    out
}

/// A compact chart for a terminal: per policy, the 5-hour utilization
/// (0-100 %) and the delay, over the run.
pub fn text_chart(result: &ScenarioResult, width: usize) -> String {
    let delay_max = result
        .runs
        .iter()
        .flat_map(|run| run.samples.iter())
        .map(|sample| sample.delay_seconds)
        .fold(1.0f64, f64::max);
    let hours = result
        .runs
        .first()
        .and_then(|run| run.samples.last())
        .map_or(0.0, |sample| sample.hours);
    let mut out = format!(
        "{}: 5-hour utilization (0-100 %) and delay (0-{:.0} s) over {:.0} h\n",
        result.scenario, delay_max, hours
    );
    let name_width = result
        .runs
        .iter()
        .map(|run| plain_name(&run.metrics.policy).chars().count())
        .max()
        .unwrap_or(0);
    for run in &result.runs {
        let utilization: Vec<f64> = run
            .samples
            .iter()
            .map(|sample| sample.five_hour_percent)
            .collect();
        let delay: Vec<f64> = run
            .samples
            .iter()
            .map(|sample| sample.delay_seconds)
            .collect();
        let _ = writeln!(
            out,
            "{:<name_width$}  % {}",
            plain_name(&run.metrics.policy),
            sparkline(&utilization, width, 100.0)
        );
        let _ = writeln!(
            out,
            "{:<name_width$}  s {}",
            "",
            sparkline(&delay, width, delay_max)
        );
    }
    out
}

/// The SVG chart of one scenario's runs: each window's utilization against
/// the target pace, and the delay, over time.
pub fn svg(result: &ScenarioResult) -> String {
    let target = super::target_percent();
    let mut five = Vec::new();
    let mut weekly = Vec::new();
    let mut delays = Vec::new();
    if let Some(first) = result.runs.first() {
        five.push(Series {
            name: "even pace to target".into(),
            color: "#999999".into(),
            dashed: true,
            points: first
                .samples
                .iter()
                .map(|sample| (sample.hours, sample.five_hour_pace_percent))
                .collect(),
        });
        weekly.push(Series {
            name: "even pace to target".into(),
            color: "#999999".into(),
            dashed: true,
            points: first
                .samples
                .iter()
                .map(|sample| (sample.hours, sample.seven_day_pace_percent))
                .collect(),
        });
    }
    for run in &result.runs {
        let name = plain_name(&run.metrics.policy).to_string();
        let color = color(&run.metrics.policy).to_string();
        let series = |value: &dyn Fn(&super::metrics::Sample) -> f64| {
            run.samples
                .iter()
                .map(|sample| (sample.hours, value(sample)))
                .collect::<Vec<_>>()
        };
        five.push(Series {
            name: name.clone(),
            color: color.clone(),
            dashed: false,
            points: series(&|sample| sample.five_hour_percent),
        });
        weekly.push(Series {
            name: name.clone(),
            color: color.clone(),
            dashed: false,
            points: series(&|sample| sample.seven_day_percent),
        });
        delays.push(Series {
            name,
            color,
            dashed: false,
            points: series(&|sample| sample.delay_seconds),
        });
    }
    let limits = vec![
        (target, format!("target {target:.0} %")),
        (100.0, "limit".to_string()),
    ];
    Chart {
        title: format!(
            "pace-maker simulate: {} (seed {})",
            result.scenario, result.seed
        ),
        subtitle: result.description.clone(),
        x_label: "hours into the run".into(),
        panels: vec![
            Panel {
                y_label: "5-hour window %".into(),
                y_max: 100.0,
                series: five,
                marks: limits.clone(),
            },
            Panel {
                y_label: "weekly window %".into(),
                y_max: 100.0,
                series: weekly,
                marks: limits,
            },
            Panel {
                y_label: "delay per call, s".into(),
                y_max: 10.0,
                series: delays,
                marks: Vec::new(),
            },
        ],
    }
    .to_svg()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sparkline_scales_to_its_maximum() {
        assert_eq!(sparkline(&[0.0, 50.0, 100.0], 3, 100.0), "▁▅█");
        assert_eq!(sparkline(&[0.0, 100.0, 0.0, 0.0], 2, 100.0), "█▁");
        assert_eq!(sparkline(&[], 10, 1.0), "");
    }
}
