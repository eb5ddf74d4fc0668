//! The words and bars the text view (`status`) and the live view (`watch`)
//! share, so both say the same thing the same way.

use super::data::{ApiView, DashboardData, DecisionRow, PacingView, Reading, WindowView};
use super::pace::PaceState;
use crate::clock::human_duration;
use crate::controls::Control;

/// Full and empty cells of a bar, and the pace marker.
const FULL: char = '█';
const EMPTY: char = '░';
const PACE_MARK: char = '│';

/// A bar `width` cells wide filled to `percent`, with the pace marked
/// where it falls, inside the fill too (a notch), so ahead reads at a glance.
pub fn bar(percent: f64, pace_percent: Option<f64>, width: usize) -> String {
    let cells = |value: f64| ((value.clamp(0.0, 100.0) / 100.0) * width as f64).round() as usize;
    let filled = cells(percent).min(width);
    let pace_cell = pace_percent.map(|pace| cells(pace).min(width.saturating_sub(1)));
    (0..width)
        .map(|cell| {
            if Some(cell) == pace_cell {
                PACE_MARK
            } else if cell < filled {
                FULL
            } else {
                EMPTY
            }
        })
        .collect()
}

/// `62 %`.
pub fn percent(value: f64) -> String {
    format!("{value:.0} %")
}

/// `pace 55 % · ahead by 7 pts`, or `no reset time` when the pace is unknown.
pub fn pace(reading: &Reading) -> String {
    match (reading.pace_percent, reading.pace_state) {
        (Some(pace), Some(state)) => {
            let points = (reading.percent - pace).abs();
            match state {
                PaceState::Ahead => format!("pace {} · ahead by {points:.0} pts", percent(pace)),
                PaceState::Behind => format!("pace {} · behind by {points:.0} pts", percent(pace)),
                PaceState::OnPace => format!("pace {} · on pace", percent(pace)),
            }
        }
        _ => "pace unknown (no reset time)".to_string(),
    }
}

/// `resets in 1 h 20 min (16:00)`, without the clock time when `with_clock` is false.
pub fn reset(data: &DashboardData, reading: &Reading, with_clock: bool) -> String {
    match reading.resets_at_ms {
        Some(reset) if !with_clock => {
            format!("resets in {}", human_duration((reset - data.now_ms) / 1000))
        }
        Some(reset) => {
            let clock = if reset - data.now_ms < 20 * 3_600_000 {
                data.clock(reset)
            } else {
                data.date_clock(reset)
            };
            format!(
                "resets in {} ({clock})",
                human_duration((reset - data.now_ms) / 1000)
            )
        }
        None => "reset time unknown".to_string(),
    }
}

/// The projection, or why there is none.
pub fn projection(reading: &Reading) -> String {
    match reading.projection {
        Some(projection) => projection.describe(),
        None => "no burn rate yet".to_string(),
    }
}

/// `statusline, 12 s old` (and `stale` past `pacing.stale_after_seconds`);
/// the estimate adds what calibrates it: `estimate, 1 min old, calibrated
/// on 12 pairs of official readings`.
pub fn source(data: &DashboardData, reading: &Reading) -> String {
    let stale = if reading.stale { ", stale" } else { "" };
    let mut text = format!(
        "{}, {} old{stale}",
        reading.source,
        human_duration(reading.age_s)
    );
    let pairs = data
        .estimate
        .five_hour_calibration_samples
        .max(data.estimate.seven_day_calibration_samples);
    if !reading.source.is_official() && pairs > 0 {
        let noun = if pairs == 1 { "pair" } else { "pairs" };
        text.push_str(&format!(
            ", calibrated on {pairs} {noun} of official readings"
        ));
    }
    text
}

/// One line per window for a narrow text view: `5-hour  62 %`.
pub fn window_label(window: &WindowView) -> String {
    let paced = if window.paced { "" } else { " (not paced)" };
    format!("{}{paced}", window.kind.label())
}

/// `on`, `off`, `paused until 15:05 (for 42 min)`, `disabled in config`.
pub fn pacing_state(data: &DashboardData, pacing: &PacingView) -> String {
    if !pacing.enabled {
        return "off in config (pacing.enabled = false)".to_string();
    }
    match pacing.control {
        Control::On => "on".to_string(),
        Control::Off => "off until `pace-maker on`".to_string(),
        Control::Paused { until_ms } => format!(
            "paused until {} (for {})",
            data.clock(until_ms),
            human_duration((until_ms - data.now_ms) / 1000)
        ),
    }
}

/// `45 s at 14:05 (reason)`.
pub fn delay(data: &DashboardData, decision: &DecisionRow) -> String {
    format!(
        "{} at {}, {}",
        human_duration(decision.delay_ms / 1000),
        data.clock(decision.decided_at_ms),
        decision.reason
    )
}

/// `ok`, `backing off until 14:30 (rate limited)`, `credentials expired`, ...
pub fn api(data: &DashboardData, api: &ApiView) -> String {
    let mut text = match api.state.as_str() {
        "credentials-expired" => "credentials expired (log in to Claude Code again)".to_string(),
        "credentials-missing" => "no credentials (log in to Claude Code)".to_string(),
        "unauthorized" => "unauthorized until the credentials change".to_string(),
        "unknown" => "not polled yet".to_string(),
        other => other.replace('-', " "),
    };
    if let Some(until) = api.backing_off(data.now_ms) {
        text = format!(
            "backing off until {} (in {})",
            data.clock(until),
            human_duration((until - data.now_ms) / 1000)
        );
        if let Some(error) = &api.last_error {
            text.push_str(&format!(": {error}"));
        }
    }
    text
}

/// The API state in a few words, for narrow places: `ok`, `backing off 25 min`.
pub fn api_short(data: &DashboardData, api: &ApiView) -> String {
    match api.backing_off(data.now_ms) {
        Some(until) => format!(
            "backing off {}",
            human_duration((until - data.now_ms) / 1000)
        ),
        None => match api.state.as_str() {
            "unknown" => "not polled yet".to_string(),
            other => other.replace('-', " "),
        },
    }
}

/// Whether the API state is a problem worth colouring.
pub fn api_is_troubled(data: &DashboardData, api: &ApiView) -> bool {
    api.backing_off(data.now_ms).is_some()
        || !matches!(api.state.as_str(), "ok" | "unknown" | "backing-off")
}

/// `1 tool call`, `3 tool calls`.
pub fn count(n: i64, one: &str, many: &str) -> String {
    if n == 1 {
        format!("{n} {one}")
    } else {
        format!("{n} {many}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bars_fill_to_the_percent_and_mark_the_pace() {
        for (name, percent, pace, width, expected) in [
            ("empty", 0.0, None, 10, "░░░░░░░░░░"),
            ("half with pace ahead", 50.0, Some(80.0), 10, "█████░░░│░"),
            (
                "pace inside the fill is a notch",
                50.0,
                Some(20.0),
                10,
                "██│██░░░░░",
            ),
            ("over full is full", 130.0, None, 4, "████"),
            (
                "over full keeps the pace notch",
                130.0,
                Some(95.0),
                4,
                "███│",
            ),
            ("pace at the end stays inside", 0.0, Some(100.0), 4, "░░░│"),
        ] {
            assert_eq!(bar(percent, pace, width), expected, "{name}");
        }
    }
}
