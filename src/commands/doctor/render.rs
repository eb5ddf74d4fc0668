//! The text report.

use super::checks::{Check, Status};
use crate::dashboard::paint::Paint;

/// The report as text: one line per check, a hint under each that needs one.
pub fn render_text(checks: &[Check]) -> String {
    render_text_painted(checks, Paint::PLAIN)
}

/// The text report, its labels coloured as `status` colours its state
/// (a failure red, a warning yellow, ok green) when `paint` is enabled.
pub fn render_text_painted(checks: &[Check], paint: Paint) -> String {
    let width = checks
        .iter()
        .map(|check| check.name.len())
        .max()
        .unwrap_or(0);
    let mut out = String::new();
    for check in checks {
        let label = format!("{:<4}", check.status.label());
        let label = match check.status {
            Status::Fail => paint.red(&label),
            Status::Warn => paint.yellow(&label),
            Status::Ok => paint.green(&label),
            Status::Info => label,
        };
        out.push_str(&format!(
            "{label}  {:<width$}  {}\n",
            check.name, check.summary
        ));
        if let Some(hint) = &check.hint {
            out.push_str(&format!("{:<4}  {:<width$}  hint: {hint}\n", "", ""));
        }
    }
    let failures = checks
        .iter()
        .filter(|check| check.status == Status::Fail)
        .count();
    let warnings = checks
        .iter()
        .filter(|check| check.status == Status::Warn)
        .count();
    let plural =
        |count: usize, word: &str| format!("{count} {word}{}", if count == 1 { "" } else { "s" });
    if failures == 0 {
        out.push_str(&format!(
            "pacing can work ({})\n",
            plural(warnings, "warning")
        ));
    } else {
        out.push_str(&format!(
            "{} {} pacing ({})\n",
            plural(failures, "problem"),
            if failures == 1 { "stops" } else { "stop" },
            plural(warnings, "warning")
        ));
    }
    out
}
