//! `pace-maker report daily|weekly|monthly|session|blocks [--json]`: usage
//! from the local transcripts, read incrementally into the store first.
//!
//! The JSON mirrors ccusage's Claude reports (`daily`, `weekly`, `monthly`,
//! `sessions`, `blocks` with camelCase fields and `totals`), so the two can
//! be compared and scripts can switch; its times are UTC, as ccusage's.
//! The table is for people: every time and header in the report's zone,
//! and a cost that leaves out an unpriced model is marked `?` with a
//! footnote naming the model, never shown as a plain 0.00.

use std::io::Write;
use std::process::ExitCode;

use anyhow::Context;

use crate::cli::{ReportArgs, ReportKind};
use crate::clock;
use crate::hint::HintExt;
use crate::local_usage::blocks::{self, BlockEntry, BlockJson};
use crate::local_usage::load::{self, LoadFilter};
use crate::local_usage::report::{self, thousands, Period, Sums, Totals};
use crate::local_usage::scanner::{self, ScanOptions};
use crate::paths::{self, ToolHome};

pub fn run(home: &ToolHome, args: &ReportArgs) -> anyhow::Result<ExitCode> {
    let now_ms = clock::now_ms();
    let time_zone = match &args.timezone {
        Some(name) => jiff::tz::TimeZone::get(name).context_hint(
            format!("unknown time zone `{name}`"),
            "use an IANA name such as UTC or Europe/Paris",
        )?,
        None => jiff::tz::TimeZone::system(),
    };
    // The words of `history --since` and `pause` (clock::Since): a date,
    // ccusage's YYYYMMDD included, or how long ago.
    let parse = |text: &Option<String>| -> anyhow::Result<Option<String>> {
        text.as_deref()
            .map(|text| {
                clock::Since::parse(text)
                    .and_then(|since| since.date(now_ms, &time_zone))
                    .map(|date| date.to_string())
            })
            .transpose()
            .map_err(anyhow::Error::from)
    };
    let (since, until) = (parse(&args.since)?, parse(&args.until)?);
    let period = Period {
        time_zone,
        since,
        until,
    };
    let config = super::common::load_config(home);
    let mut store = super::common::open_store(home, &config)?;
    let options = ScanOptions::from_env();
    scanner::scan(&mut store, &options, now_ms).context("cannot read the transcripts")?;
    let filter = LoadFilter {
        roots: Some(paths::claude_dirs()),
        project: args.project.clone(),
        since_ms: None,
    };
    let loaded = load::load(store.connection(), &filter)?;
    let mut stdout = std::io::stdout().lock();
    match args.kind {
        ReportKind::Daily => {
            let daily = report::daily(&loaded, &period);
            if args.json {
                write_json(&mut stdout, &daily, &daily.totals.unpriced_models)?;
            } else {
                let rows: Vec<Row<'_>> = daily
                    .daily
                    .iter()
                    .map(|row| {
                        Row::new(
                            row.date.clone(),
                            &row.models_used,
                            &row.sums,
                            &row.unpriced_models,
                        )
                    })
                    .collect();
                let first = format!("Date ({})", period.zone_name());
                print_table(&mut stdout, &first, &rows, &daily.totals)?;
            }
        }
        ReportKind::Weekly => {
            let weekly = report::weekly(&loaded, &period, args.start_of_week.weekday());
            if args.json {
                write_json(&mut stdout, &weekly, &weekly.totals.unpriced_models)?;
            } else {
                let rows: Vec<Row<'_>> = weekly
                    .weekly
                    .iter()
                    .map(|row| {
                        Row::new(
                            row.week.clone(),
                            &row.models_used,
                            &row.sums,
                            &row.unpriced_models,
                        )
                    })
                    .collect();
                let first = format!(
                    "Week from {:?} ({})",
                    args.start_of_week.weekday(),
                    period.zone_name()
                );
                print_table(&mut stdout, &first, &rows, &weekly.totals)?;
            }
        }
        ReportKind::Monthly => {
            let monthly = report::monthly(&loaded, &period);
            if args.json {
                write_json(&mut stdout, &monthly, &monthly.totals.unpriced_models)?;
            } else {
                let rows: Vec<Row<'_>> = monthly
                    .monthly
                    .iter()
                    .map(|row| {
                        Row::new(
                            row.month.clone(),
                            &row.models_used,
                            &row.sums,
                            &row.unpriced_models,
                        )
                    })
                    .collect();
                let first = format!("Month ({})", period.zone_name());
                print_table(&mut stdout, &first, &rows, &monthly.totals)?;
            }
        }
        ReportKind::Session => {
            let sessions = report::sessions(&loaded, &period);
            if args.json {
                write_json(&mut stdout, &sessions, &sessions.totals.unpriced_models)?;
            } else {
                let rows: Vec<Row<'_>> = sessions
                    .sessions
                    .iter()
                    .map(|row| {
                        Row::new(
                            format!(
                                "{}  {}  {}",
                                period.minute(row.last_ms),
                                row.session_id,
                                row.project_path
                            ),
                            &row.models_used,
                            &row.sums,
                            &row.unpriced_models,
                        )
                    })
                    .collect();
                let first = format!("Last activity ({}), session, project", period.zone_name());
                print_table(&mut stdout, &first, &rows, &sessions.totals)?;
            }
        }
        ReportKind::Blocks => {
            let entries: Vec<BlockEntry<'_>> = report::by_time(&loaded)
                .into_iter()
                .map(|entry| BlockEntry {
                    timestamp_ms: entry.timestamp_ms,
                    tokens: entry.tokens,
                    model: loaded.model_name(entry),
                    limit_resets_at_s: entry.limit_resets_at_s,
                })
                .collect();
            let all = blocks::identify(&entries, now_ms);
            let shown: Vec<&blocks::Block> = all
                .iter()
                .filter(|block| period.contains_day(&period.day(block.start_ms)))
                .collect();
            if args.json {
                let json: Vec<BlockJson> =
                    shown.iter().map(|b| BlockJson::new(b, now_ms)).collect();
                let mut unpriced: Vec<String> = shown
                    .iter()
                    .flat_map(|block| block.unpriced_models.iter().cloned())
                    .collect();
                unpriced.sort();
                unpriced.dedup();
                write_json(
                    &mut stdout,
                    &serde_json::json!({ "blocks": json }),
                    &unpriced,
                )?;
            } else {
                print_blocks(&mut stdout, &shown, &period, now_ms)?;
            }
        }
    }
    stdout.flush()?;
    Ok(ExitCode::SUCCESS)
}

/// The JSON, and on stderr a warning per unpriced model (as ccusage warns).
fn write_json(
    out: &mut impl Write,
    value: &impl serde::Serialize,
    unpriced: &[String],
) -> anyhow::Result<()> {
    for model in unpriced {
        eprintln!("warning: no price for {model}; its cost is not included (docs/pricing.md)");
    }
    serde_json::to_writer_pretty(&mut *out, value)?;
    writeln!(out)?;
    Ok(())
}

/// Marks a cost that leaves out unpriced models.
const UNPRICED_MARK: &str = "?";

/// One table row: its label, models (sorted), sums and unpriced models.
struct Row<'a> {
    label: String,
    models: String,
    sums: &'a Sums,
    unpriced: &'a [String],
}

impl<'a> Row<'a> {
    fn new(label: String, models: &[String], sums: &'a Sums, unpriced: &'a [String]) -> Self {
        Self {
            label,
            models: models.join(", "),
            sums,
            unpriced,
        }
    }
}

/// The cost as shown: `?` when nothing in it is priced, `12.34?` when some
/// of it is not, so an unknown model never reads as free.
fn cost_cell(cost: f64, unpriced: &[String], all_unpriced: bool) -> String {
    if unpriced.is_empty() {
        format!("{cost:.2}")
    } else if all_unpriced {
        UNPRICED_MARK.to_string()
    } else {
        format!("{cost:.2}{UNPRICED_MARK}")
    }
}

/// The footnote naming the models a `?` stands for.
fn unpriced_note(out: &mut impl Write, unpriced: &[String]) -> std::io::Result<()> {
    if unpriced.is_empty() {
        return Ok(());
    }
    writeln!(out)?;
    writeln!(
        out,
        "{UNPRICED_MARK} no price for {}: tokens counted, cost not included (see docs/pricing.md)",
        unpriced.join(", ")
    )
}

fn print_table(
    out: &mut impl Write,
    first: &str,
    rows: &[Row<'_>],
    totals: &Totals,
) -> std::io::Result<()> {
    if rows.is_empty() {
        eprintln!("no usage found in the transcripts");
        return Ok(());
    }
    let label_width = rows
        .iter()
        .map(|r| r.label.chars().count())
        .max()
        .unwrap_or(0)
        .max(first.chars().count())
        .max(5);
    writeln!(
        out,
        "{first:<label_width$}  {:>13}  {:>13}  {:>14}  {:>15}  {:>15}  {:>10}  Models",
        "Input", "Output", "Cache create", "Cache read", "Total tokens", "Cost (USD)"
    )?;
    let line = |out: &mut dyn Write, label: &str, models: &str, sums: &Sums, cost: String| {
        let text = format!(
            "{label:<label_width$}  {:>13}  {:>13}  {:>14}  {:>15}  {:>15}  {:>10}  {models}",
            thousands(sums.input_tokens),
            thousands(sums.output_tokens),
            thousands(sums.cache_creation_tokens),
            thousands(sums.cache_read_tokens),
            thousands(sums.total_tokens),
            cost,
        );
        writeln!(out, "{}", text.trim_end())
    };
    for row in rows {
        let all_unpriced = row.sums.total_cost == 0.0;
        let cost = cost_cell(row.sums.total_cost, row.unpriced, all_unpriced);
        line(out, &row.label, &row.models, row.sums, cost)?;
    }
    let all_unpriced = totals.sums.total_cost == 0.0;
    let cost = cost_cell(
        totals.sums.total_cost,
        &totals.unpriced_models,
        all_unpriced,
    );
    line(out, "Total", "", &totals.sums, cost)?;
    unpriced_note(out, &totals.unpriced_models)
}

fn print_blocks(
    out: &mut impl Write,
    shown: &[&blocks::Block],
    period: &Period,
    now_ms: i64,
) -> std::io::Result<()> {
    if shown.is_empty() {
        eprintln!("no usage found in the transcripts");
        return Ok(());
    }
    let first = format!("Block start ({})", period.zone_name());
    let width = first.chars().count().max(16);
    writeln!(
        out,
        "{first:<width$}  {:<8}  {:>15}  {:>10}  Models",
        "State", "Total tokens", "Cost (USD)"
    )?;
    let mut unpriced: Vec<String> = Vec::new();
    for block in shown {
        let state = if block.is_gap {
            "gap"
        } else if block.is_active {
            "active"
        } else {
            ""
        };
        let (tokens, cost) = if block.is_gap {
            (String::new(), String::new())
        } else {
            (
                thousands(block.tokens.total()),
                cost_cell(block.cost, &block.unpriced_models, block.cost == 0.0),
            )
        };
        let text = format!(
            "{:<width$}  {:<8}  {:>15}  {:>10}  {}",
            period.minute(block.start_ms),
            state,
            tokens,
            cost,
            block.models.join(", ")
        );
        writeln!(out, "{}", text.trim_end())?;
        if let Some(projection) = block.projection(now_ms) {
            writeln!(
                out,
                "{:<width$}  projected {} tokens, ${:.2}{}, {} min left",
                "",
                thousands(projection.total_tokens),
                projection.total_cost,
                if block.unpriced_models.is_empty() {
                    ""
                } else {
                    UNPRICED_MARK
                },
                projection.remaining_minutes
            )?;
        }
        unpriced.extend(block.unpriced_models.iter().cloned());
    }
    unpriced.sort();
    unpriced.dedup();
    unpriced_note(out, &unpriced)
}
