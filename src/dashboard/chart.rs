//! The usage chart of a past span as SVG (`history --svg`): utilization of
//! both windows over time, each 5-hour window's target pace line, and the
//! pacing delays as ticks along the bottom.
//!
//! A string built by hand: the chart is a few polylines and labels, which
//! needs no drawing library, and the output is stable text a test can read.

use std::fmt::Write;

use super::data::Decision;
use crate::usage::snapshot::{UsageSnapshot, WindowKind};

const WIDTH: f64 = 960.0;
const HEIGHT: f64 = 360.0;
const LEFT: f64 = 48.0;
const RIGHT: f64 = 16.0;
const TOP: f64 = 24.0;
const BOTTOM: f64 = 40.0;

/// The chart of `[since_ms, until_ms)`.
pub fn history_svg(
    snapshots: &[UsageSnapshot],
    decisions: &[Decision],
    since_ms: i64,
    until_ms: i64,
    target_percent: f64,
) -> String {
    let span_ms = (until_ms - since_ms).max(1) as f64;
    let x = |at_ms: i64| LEFT + (at_ms - since_ms) as f64 / span_ms * (WIDTH - LEFT - RIGHT);
    let y =
        |percent: f64| TOP + (1.0 - percent.clamp(0.0, 100.0) / 100.0) * (HEIGHT - TOP - BOTTOM);
    let mut svg = String::new();
    let _ = writeln!(
        svg,
        r##"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" font-family="sans-serif" font-size="11">"##
    );
    let _ = writeln!(
        svg,
        r##"<rect width="100%" height="100%" fill="#ffffff"/>"##
    );
    for percent in [0.0, 25.0, 50.0, 75.0, 100.0] {
        let _ = writeln!(
            svg,
            r##"<line x1="{LEFT}" x2="{}" y1="{y:.1}" y2="{y:.1}" stroke="#e0e0e0"/><text x="{}" y="{:.1}" text-anchor="end">{percent:.0} %</text>"##,
            WIDTH - RIGHT,
            LEFT - 6.0,
            y(percent) + 4.0,
            y = y(percent),
        );
    }
    let _ = writeln!(
        svg,
        r##"<text x="{LEFT}" y="{}">{}</text><text x="{}" y="{}" text-anchor="end">{}</text>"##,
        HEIGHT - 12.0,
        crate::clock::iso(since_ms),
        WIDTH - RIGHT,
        HEIGHT - 12.0,
        crate::clock::iso(until_ms),
    );

    // Target pace: one line per 5-hour window seen, start 0 % to reset target.
    let mut resets: Vec<i64> = snapshots
        .iter()
        .filter_map(|snapshot| snapshot.five_hour.and_then(|reading| reading.resets_at_s))
        .map(|seconds| seconds * 1000)
        .collect();
    resets.sort_unstable();
    resets.dedup_by(|a, b| (*a - *b).abs() <= 120_000);
    for reset_ms in resets {
        let start_ms = reset_ms - WindowKind::FiveHour.length_s() * 1000;
        let _ = writeln!(
            svg,
            r##"<line class="pace" x1="{:.1}" y1="{:.1}" x2="{:.1}" y2="{:.1}" stroke="#888888" stroke-dasharray="4 3"/>"##,
            x(start_ms.max(since_ms)),
            y(target_percent * (start_ms.max(since_ms) - start_ms) as f64
                / (reset_ms - start_ms) as f64),
            x(reset_ms.min(until_ms)),
            y(target_percent * (reset_ms.min(until_ms) - start_ms) as f64
                / (reset_ms - start_ms) as f64),
        );
    }

    for (kind, colour) in [
        (WindowKind::FiveHour, "#1f77b4"),
        (WindowKind::SevenDay, "#9467bd"),
    ] {
        let points: Vec<String> = snapshots
            .iter()
            .filter_map(|snapshot| {
                let reading = snapshot.window(kind)?;
                Some(format!(
                    "{:.1},{:.1}",
                    x(snapshot.taken_at_ms),
                    y(reading.percent)
                ))
            })
            .collect();
        if points.is_empty() {
            continue;
        }
        let _ = writeln!(
            svg,
            r##"<polyline class="{}" fill="none" stroke="{colour}" stroke-width="1.5" points="{}"/>"##,
            kind.label(),
            points.join(" ")
        );
    }

    for decision in decisions.iter().filter(|decision| decision.delay_ms > 0) {
        let at = x(decision.decided_at_ms);
        let _ = writeln!(
            svg,
            r##"<line class="delay" x1="{at:.1}" x2="{at:.1}" y1="{:.1}" y2="{:.1}" stroke="#d62728"/>"##,
            HEIGHT - BOTTOM,
            HEIGHT - BOTTOM + 6.0,
        );
    }
    let _ = writeln!(
        svg,
        r##"<text x="{LEFT}" y="14"><tspan fill="#1f77b4">5-hour</tspan> <tspan fill="#9467bd">weekly</tspan> <tspan fill="#888888">target pace</tspan> <tspan fill="#d62728">delays</tspan></text>"##
    );
    svg.push_str("</svg>\n");
    svg
}
