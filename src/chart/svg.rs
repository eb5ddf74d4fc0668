//! A small SVG line-chart writer: stacked panels sharing one x axis, each
//! with its own y scale, series as polylines, a legend. No dependency and
//! no layout engine; enough for `simulate --svg` (utilization against the
//! target pace, and the delay, over time) and for `history --svg` later.

use std::fmt::Write;

/// A whole chart.
#[derive(Debug, Clone, PartialEq)]
pub struct Chart {
    pub title: String,
    /// A smaller line under the title (may be empty).
    pub subtitle: String,
    pub x_label: String,
    pub panels: Vec<Panel>,
}

/// One panel: a y axis and the series drawn against it.
#[derive(Debug, Clone, PartialEq)]
pub struct Panel {
    pub y_label: String,
    /// The y axis runs from 0 to this (at least the data's maximum).
    pub y_max: f64,
    pub series: Vec<Series>,
    /// Horizontal reference lines: (value, label).
    pub marks: Vec<(f64, String)>,
}

/// One line.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    pub name: String,
    /// CSS colour.
    pub color: String,
    pub dashed: bool,
    pub points: Vec<(f64, f64)>,
}

const WIDTH: f64 = 960.0;
const PANEL_HEIGHT: f64 = 220.0;
const LEFT: f64 = 64.0;
const RIGHT: f64 = 180.0;
const TOP: f64 = 46.0;
const GAP: f64 = 36.0;
const BOTTOM: f64 = 44.0;

/// Escapes text for SVG.
fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// A "nice" step for about `count` ticks over `span`.
fn tick_step(span: f64, count: f64) -> f64 {
    if span <= 0.0 || !span.is_finite() {
        return 1.0;
    }
    let raw = span / count;
    let magnitude = 10f64.powf(raw.log10().floor());
    let normalized = raw / magnitude;
    let nice = if normalized <= 1.0 {
        1.0
    } else if normalized <= 2.0 {
        2.0
    } else if normalized <= 5.0 {
        5.0
    } else {
        10.0
    };
    nice * magnitude
}

fn format_tick(value: f64) -> String {
    if (value - value.round()).abs() < 1e-9 {
        format!("{}", value.round() as i64)
    } else {
        format!("{value:.1}")
    }
}

impl Chart {
    /// Renders the chart as a standalone SVG document.
    pub fn to_svg(&self) -> String {
        let x_max = self
            .panels
            .iter()
            .flat_map(|panel| panel.series.iter())
            .flat_map(|series| series.points.iter())
            .map(|&(x, _)| x)
            .fold(0.0f64, f64::max)
            .max(1e-9);
        let plot_width = WIDTH - LEFT - RIGHT;
        let height = TOP + self.panels.len() as f64 * (PANEL_HEIGHT + GAP) - GAP + BOTTOM;
        let mut out = String::new();
        let _ = writeln!(
            out,
            r#"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" viewBox="0 0 {WIDTH} {height}" font-family="sans-serif" font-size="12">"#
        );
        let _ = writeln!(
            out,
            r##"<rect width="100%" height="100%" fill="white"/><text x="{LEFT}" y="18" font-size="15" font-weight="bold">{}</text><text x="{LEFT}" y="33" fill="#555">{}</text>"##,
            escape(&self.title),
            escape(&self.subtitle)
        );
        let x_step = tick_step(x_max, 10.0);
        for (index, panel) in self.panels.iter().enumerate() {
            let top = TOP + index as f64 * (PANEL_HEIGHT + GAP);
            let bottom = top + PANEL_HEIGHT;
            let data_max = panel
                .series
                .iter()
                .flat_map(|series| series.points.iter())
                .map(|&(_, y)| y)
                .fold(0.0f64, f64::max);
            let y_max = panel.y_max.max(data_max).max(1e-9);
            let x_of = |x: f64| LEFT + x / x_max * plot_width;
            let y_of = |y: f64| bottom - y / y_max * PANEL_HEIGHT;
            let _ = writeln!(
                out,
                r##"<rect x="{LEFT}" y="{top}" width="{plot_width}" height="{PANEL_HEIGHT}" fill="none" stroke="#888"/>"##
            );
            let y_step = tick_step(y_max, 5.0);
            let mut tick = 0.0;
            while tick <= y_max + 1e-9 {
                let y = y_of(tick);
                let _ = writeln!(
                    out,
                    r##"<line x1="{LEFT}" y1="{y:.1}" x2="{:.1}" y2="{y:.1}" stroke="#eee"/><text x="{:.1}" y="{:.1}" text-anchor="end">{}</text>"##,
                    LEFT + plot_width,
                    LEFT - 6.0,
                    y + 4.0,
                    format_tick(tick)
                );
                tick += y_step;
            }
            let mut tick = 0.0;
            while tick <= x_max + 1e-9 {
                let x = x_of(tick);
                let _ = writeln!(
                    out,
                    r##"<line x1="{x:.1}" y1="{bottom}" x2="{x:.1}" y2="{:.1}" stroke="#888"/><text x="{x:.1}" y="{:.1}" text-anchor="middle">{}</text>"##,
                    bottom + 4.0,
                    bottom + 16.0,
                    format_tick(tick)
                );
                tick += x_step;
            }
            let _ = writeln!(
                out,
                r#"<text transform="translate(16 {:.1}) rotate(-90)" text-anchor="middle">{}</text>"#,
                top + PANEL_HEIGHT / 2.0,
                escape(&panel.y_label)
            );
            for (value, label) in &panel.marks {
                let y = y_of(*value);
                let _ = writeln!(
                    out,
                    r##"<line x1="{LEFT}" y1="{y:.1}" x2="{:.1}" y2="{y:.1}" stroke="#c00" stroke-dasharray="2 3"/><text x="{:.1}" y="{:.1}" fill="#c00" text-anchor="start" font-size="10">{}</text>"##,
                    LEFT + plot_width,
                    LEFT + 4.0,
                    y - 3.0,
                    escape(label)
                );
            }
            for (position, series) in panel.series.iter().enumerate() {
                let mut path = String::new();
                for &(x, y) in &series.points {
                    let _ = write!(path, "{:.1},{:.1} ", x_of(x), y_of(y.min(y_max)));
                }
                let dash = if series.dashed {
                    r#" stroke-dasharray="6 4""#
                } else {
                    ""
                };
                let _ = writeln!(
                    out,
                    r#"<polyline fill="none" stroke="{}" stroke-width="1.5"{dash} points="{}"/>"#,
                    escape(&series.color),
                    path.trim_end()
                );
                let legend_y = top + 14.0 + position as f64 * 16.0;
                let legend_x = LEFT + plot_width + 12.0;
                let _ = writeln!(
                    out,
                    r#"<line x1="{legend_x:.1}" y1="{:.1}" x2="{:.1}" y2="{:.1}" stroke="{}" stroke-width="2"{dash}/><text x="{:.1}" y="{legend_y:.1}">{}</text>"#,
                    legend_y - 4.0,
                    legend_x + 18.0,
                    legend_y - 4.0,
                    escape(&series.color),
                    legend_x + 24.0,
                    escape(&series.name)
                );
            }
        }
        let _ = writeln!(
            out,
            r#"<text x="{:.1}" y="{:.1}" text-anchor="middle">{}</text>"#,
            LEFT + plot_width / 2.0,
            height - 8.0,
            escape(&self.x_label)
        );
        out.push_str("</svg>\n");
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_chart_renders_every_series_and_escapes_text() {
        let chart = Chart {
            title: "a <b> & c".into(),
            subtitle: String::new(),
            x_label: "hours".into(),
            panels: vec![Panel {
                y_label: "%".into(),
                y_max: 100.0,
                series: vec![Series {
                    name: "5-hour".into(),
                    color: "#1f77b4".into(),
                    dashed: false,
                    points: vec![(0.0, 0.0), (1.0, 50.0), (2.0, 120.0)],
                }],
                marks: vec![(95.0, "target".into())],
            }],
        };
        let svg = chart.to_svg();
        assert!(svg.starts_with("<svg"));
        assert!(svg.trim_end().ends_with("</svg>"));
        assert!(svg.contains("a &lt;b&gt; &amp; c"));
        assert_eq!(svg.matches("<polyline").count(), 1);
        assert!(svg.contains(">target</text>"));
    }

    #[test]
    fn ticks_are_round_numbers() {
        assert_eq!(tick_step(100.0, 5.0), 20.0);
        assert_eq!(tick_step(24.0, 10.0), 5.0);
        assert_eq!(tick_step(0.0, 5.0), 1.0);
    }
}
