//! The live dashboard's drawing: a pure function of [`DashboardData`] and
//! the frame's size.
//!
//! Nothing here reads the store, the clock or the terminal, so the same
//! data draws the same screen; the tests draw into ratatui's `TestBackend`
//! and compare the text with snapshots. Layout, top to bottom: a header
//! (switch, source, API), both windows as bars with their pace figures, the
//! 5-hour window's chart (usage against the target pace line and the
//! projection), the sessions beside the recent pacing decisions, and a
//! footer (last delay, delay today, keys). It fits 80x24 and grows with
//! the terminal.

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::symbols::Marker;
use ratatui::text::{Line, Span};
use ratatui::widgets::{
    Axis, Block, Borders, Cell, Chart, Dataset, GraphType, Paragraph, Row, Table,
};
use ratatui::Frame;

use super::data::{DashboardData, Reading, WindowView};
use super::describe;
use super::pace::{PaceState, Projection};
use crate::clock::human_duration;
use crate::usage::snapshot::WindowKind;

const USAGE_COLOUR: Color = Color::Cyan;
const PACE_COLOUR: Color = Color::Gray;
const PROJECTION_COLOUR: Color = Color::Yellow;
/// From this width on, the views add clock times and details.
const WIDE: u16 = 100;
const DIM: Style = Style::new().fg(Color::DarkGray);

/// Draws the whole dashboard into the frame.
pub fn draw(frame: &mut Frame<'_>, data: &DashboardData) {
    let area = frame.area();
    let bottom_height = if area.height >= 36 { 12 } else { 6 };
    // Two lines a window (the per-model weekly ones when reported), and the frame.
    let windows_height = 2 + 2 * data.windows.len().clamp(2, 4) as u16;
    let [header, windows, chart, bottom, footer] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Length(windows_height),
        Constraint::Min(6),
        Constraint::Length(bottom_height),
        Constraint::Length(1),
    ])
    .areas(area);
    draw_header(frame, header, data);
    draw_windows(frame, windows, data);
    draw_chart(frame, chart, data);
    // The sessions table needs about 72 columns; the decisions take the rest.
    let split = if area.width >= 130 {
        [Constraint::Length(72), Constraint::Fill(1)]
    } else {
        [Constraint::Percentage(60), Constraint::Percentage(40)]
    };
    let [sessions, decisions] = Layout::horizontal(split).areas(bottom);
    draw_sessions(frame, sessions, data);
    draw_decisions(frame, decisions, data);
    draw_footer(frame, footer, data);
}

fn draw_header(frame: &mut Frame<'_>, area: Rect, data: &DashboardData) {
    let pacing = describe::pacing_state(data, &data.pacing);
    let api = if area.width >= WIDE {
        describe::api(data, &data.api)
    } else {
        describe::api_short(data, &data.api)
    };
    let pacing_style = if data.pacing.enabled && data.pacing.control.is_active() {
        Style::new().fg(Color::Green)
    } else {
        Style::new().fg(Color::Yellow)
    };
    let api_style = if describe::api_is_troubled(data, &data.api) {
        Style::new().fg(Color::Red)
    } else {
        Style::default()
    };
    let line = Line::from(vec![
        Span::styled(" pace-maker ", Style::new().add_modifier(Modifier::BOLD)),
        Span::raw(data.clock(data.now_ms)),
        Span::styled(" · pacing ", DIM),
        Span::styled(pacing, pacing_style),
        Span::styled(" · usage API ", DIM),
        Span::styled(api, api_style),
    ]);
    frame.render_widget(Paragraph::new(line), area);
}

fn window_style(reading: &Reading, target_percent: f64) -> Style {
    if reading.percent >= target_percent {
        Style::new().fg(Color::Red)
    } else if reading.pace_state == Some(PaceState::Ahead) {
        Style::new().fg(Color::Yellow)
    } else {
        Style::new().fg(Color::Green)
    }
}

fn draw_windows(frame: &mut Frame<'_>, area: Rect, data: &DashboardData) {
    let source = data
        .windows
        .iter()
        .find_map(|window| window.reading.as_ref())
        .map(|reading| format!(" windows · {} ", describe::source(data, reading)))
        .unwrap_or_else(|| " windows · no usage reading yet ".to_string());
    let block = Block::new().borders(Borders::ALL).title(source);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let bar_width = usize::from(inner.width).saturating_sub(44).clamp(10, 60);
    let with_clock = area.width >= WIDE;
    let mut lines = Vec::new();
    for window in &data.windows {
        lines.extend(window_lines(data, window, bar_width, with_clock));
    }
    frame.render_widget(Paragraph::new(lines), inner);
}

fn window_lines<'a>(
    data: &DashboardData,
    window: &WindowView,
    bar_width: usize,
    with_clock: bool,
) -> Vec<Line<'a>> {
    let label = format!("{:<8}", window.kind.label());
    let Some(reading) = &window.reading else {
        return vec![
            Line::from(vec![
                Span::raw(label),
                Span::styled(describe::bar(0.0, None, bar_width), DIM),
                Span::raw("   no reading"),
            ]),
            Line::raw(""),
        ];
    };
    let style = window_style(reading, reading.target_percent);
    let not_paced = if window.paced { "" } else { " · not paced" };
    vec![
        Line::from(vec![
            Span::raw(label),
            Span::styled(
                describe::bar(reading.percent, reading.pace_percent, bar_width),
                style,
            ),
            Span::styled(format!(" {:>5}", describe::percent(reading.percent)), style),
            Span::raw(format!("  {}{not_paced}", describe::pace(reading))),
        ]),
        Line::from(vec![
            Span::raw("        "),
            Span::raw(describe::reset(data, reading, with_clock)),
            Span::styled(" · ", DIM),
            Span::styled(describe::projection(reading), projection_style(reading)),
        ]),
    ]
}

fn projection_style(reading: &Reading) -> Style {
    match reading.projection {
        Some(Projection::FullBeforeReset { .. }) => Style::new().fg(Color::Red),
        _ => Style::default(),
    }
}

fn draw_chart(frame: &mut Frame<'_>, area: Rect, data: &DashboardData) {
    let title = Line::from(vec![
        Span::raw(" 5-hour window: "),
        Span::styled("usage", Style::new().fg(USAGE_COLOUR)),
        Span::raw(" against "),
        Span::styled("target pace", Style::new().fg(PACE_COLOUR)),
        Span::raw(" and "),
        Span::styled("projection", Style::new().fg(PROJECTION_COLOUR)),
        Span::raw(" "),
    ]);
    let block = Block::new().borders(Borders::ALL).title(title);
    let reading = data
        .window(WindowKind::FiveHour)
        .and_then(|window| window.reading.as_ref());
    let Some((reading, reset_ms)) =
        reading.and_then(|reading| Some((reading, reading.resets_at_ms?)))
    else {
        let message = Paragraph::new(Line::styled("no 5-hour reading with a reset time yet", DIM))
            .centered()
            .block(block);
        frame.render_widget(message, area);
        return;
    };
    let length_ms = WindowKind::FiveHour.length_s() * 1000;
    let start_ms = reset_ms - length_ms;
    let minutes = |at_ms: i64| ((at_ms - start_ms) as f64 / 60_000.0).clamp(0.0, 300.0);
    let now = minutes(data.now_ms);

    let pace_points = vec![(0.0, 0.0), (300.0, reading.target_percent)];
    let mut usage_points: Vec<(f64, f64)> = reading
        .history
        .iter()
        .map(|point| (minutes(point.at_ms), point.percent))
        .collect();
    if usage_points.is_empty() {
        usage_points.push((minutes(reading.taken_at_ms), reading.percent));
    }
    let projection_points = match reading.projection {
        Some(Projection::FullBeforeReset { full_in_s, .. }) => {
            vec![
                (now, reading.percent),
                (minutes(data.now_ms + full_in_s * 1000), 100.0),
            ]
        }
        Some(Projection::AtReset { percent }) => vec![(now, reading.percent), (300.0, percent)],
        None => Vec::new(),
    };
    let now_points = vec![(now, 0.0), (now, 100.0)];
    let datasets = vec![
        Dataset::default()
            .marker(Marker::Braille)
            .graph_type(GraphType::Line)
            .style(DIM)
            .data(&now_points),
        Dataset::default()
            .marker(Marker::Braille)
            .graph_type(GraphType::Line)
            .style(Style::new().fg(PACE_COLOUR))
            .data(&pace_points),
        Dataset::default()
            .marker(Marker::Braille)
            .graph_type(GraphType::Line)
            .style(Style::new().fg(PROJECTION_COLOUR))
            .data(&projection_points),
        Dataset::default()
            .marker(Marker::Braille)
            .graph_type(GraphType::Line)
            .style(Style::new().fg(USAGE_COLOUR))
            .data(&usage_points),
    ];
    let x_labels = vec![
        Span::raw(data.clock(start_ms)),
        Span::raw(data.clock(start_ms + length_ms / 2)),
        Span::raw(data.clock(reset_ms)),
    ];
    let chart = Chart::new(datasets)
        .block(block)
        .x_axis(
            Axis::default()
                .bounds([0.0, 300.0])
                .labels(x_labels)
                .style(DIM),
        )
        .y_axis(
            Axis::default()
                .bounds([0.0, 100.0])
                .labels(vec![Span::raw("0"), Span::raw("50"), Span::raw("100")])
                .style(DIM),
        );
    frame.render_widget(chart, area);
}

fn draw_sessions(frame: &mut Frame<'_>, area: Rect, data: &DashboardData) {
    let active = data
        .sessions
        .iter()
        .filter(|session| session.active())
        .count();
    let block = Block::new()
        .borders(Borders::ALL)
        .title(format!(" sessions ({active} active) "));
    if data.sessions.is_empty() {
        let message =
            Paragraph::new(Line::styled("no sessions in the last 24 h", DIM)).block(block);
        frame.render_widget(message, area);
        return;
    }
    let header = Row::new(["session", "project", "calls", "delay", "blocks", "epic"])
        .style(Style::new().add_modifier(Modifier::BOLD));
    let rows = data.sessions.iter().map(|session| {
        let style = if session.active() {
            Style::default()
        } else {
            DIM
        };
        let epic = match &session.epic {
            Some(epic) => match (epic.done, epic.total) {
                (Some(done), Some(total)) => format!("{done}/{total}"),
                _ => "?".to_string(),
            },
            None => "-".to_string(),
        };
        Row::new([
            Cell::from(session.short_id()),
            Cell::from(session.project_name()),
            Cell::from(session.row.tool_calls.to_string()),
            Cell::from(human_duration(session.row.delay_ms_total / 1000)),
            Cell::from(session.row.momentum_blocks.to_string()),
            Cell::from(epic),
        ])
        .style(style)
    });
    let table = Table::new(
        rows,
        [
            Constraint::Length(8),
            Constraint::Fill(1),
            Constraint::Length(5),
            Constraint::Length(8),
            Constraint::Length(6),
            Constraint::Length(5),
        ],
    )
    .header(header)
    .block(block);
    frame.render_widget(table, area);
}

fn draw_decisions(frame: &mut Frame<'_>, area: Rect, data: &DashboardData) {
    let block = Block::new()
        .borders(Borders::ALL)
        .title(" recent pacing decisions ");
    if data.pacing.recent.is_empty() {
        let message = Paragraph::new(Line::styled("no decisions yet", DIM)).block(block);
        frame.render_widget(message, area);
        return;
    }
    let lines: Vec<Line<'_>> = data
        .pacing
        .recent
        .iter()
        .map(|decision| {
            let delay_style = if decision.delay_ms > 0 {
                Style::new().fg(Color::Yellow)
            } else {
                DIM
            };
            Line::from(vec![
                Span::styled(
                    format!("{:<6}", data.recent_time(decision.decided_at_ms)),
                    DIM,
                ),
                Span::styled(
                    format!("{:>6} ", human_duration(decision.delay_ms / 1000)),
                    delay_style,
                ),
                Span::raw(decision.reason.clone()),
            ])
        })
        .collect();
    frame.render_widget(Paragraph::new(lines).block(block), area);
}

fn draw_footer(frame: &mut Frame<'_>, area: Rect, data: &DashboardData) {
    let last = match &data.pacing.last_delay {
        Some(decision) => describe::delay(data, decision),
        None => "none".to_string(),
    };
    let line = Line::from(vec![
        Span::styled(" q", Style::new().add_modifier(Modifier::BOLD)),
        Span::styled(" quit · ", DIM),
        Span::raw(format!(
            "delay today {} · last delay {last}",
            human_duration(data.pacing.delay_ms_today / 1000)
        )),
    ]);
    frame.render_widget(Paragraph::new(line), area);
}
