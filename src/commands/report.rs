//! `pace-maker report daily|session|blocks [--json]`: usage from the local
//! transcripts, read incrementally into the store first.
//!
//! The JSON mirrors ccusage's Claude reports (`daily`, `sessions`, `blocks`
//! with camelCase fields and `totals`), so the two can be compared and
//! scripts can switch. The table is for people.

use std::io::Write;
use std::process::ExitCode;

use anyhow::Context;

use crate::cli::{ReportArgs, ReportKind};
use crate::clock;
use crate::local_usage::blocks::{self, BlockEntry, BlockJson};
use crate::local_usage::load::{self, LoadFilter};
use crate::local_usage::report::{self, thousands, Period, Sums};
use crate::local_usage::scanner::{self, ScanOptions};
use crate::paths::{self, ToolHome};

pub fn run(home: &ToolHome, args: &ReportArgs) -> anyhow::Result<ExitCode> {
    let now_ms = clock::now_ms();
    let time_zone = match &args.timezone {
        Some(name) => jiff::tz::TimeZone::get(name).with_context(|| {
            format!(
                "unknown time zone `{name}` (hint: use an IANA name such as UTC or Europe/Paris)"
            )
        })?,
        None => jiff::tz::TimeZone::system(),
    };
    let parse = |text: &Option<String>| -> anyhow::Result<Option<String>> {
        text.as_deref()
            .map(report::parse_day)
            .transpose()
            .map_err(|error| {
                anyhow::anyhow!("{error} (hint: --since and --until take days like 2026-01-31)")
            })
    };
    let period = Period {
        time_zone,
        since: parse(&args.since)?,
        until: parse(&args.until)?,
    };
    let config = super::load_config(home);
    let mut store = super::open_store(home, &config)?;
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
                serde_json::to_writer_pretty(&mut stdout, &daily)?;
                writeln!(stdout)?;
            } else {
                let rows: Vec<(String, String, &Sums)> = daily
                    .daily
                    .iter()
                    .map(|row| (row.date.clone(), row.models_used.join(", "), &row.sums))
                    .collect();
                print_table(&mut stdout, "Date", &rows, &daily.totals.sums)?;
            }
        }
        ReportKind::Session => {
            let sessions = report::sessions(&loaded, &period);
            if args.json {
                serde_json::to_writer_pretty(&mut stdout, &sessions)?;
                writeln!(stdout)?;
            } else {
                let rows: Vec<(String, String, &Sums)> = sessions
                    .sessions
                    .iter()
                    .map(|row| {
                        (
                            format!("{} {}", row.session_id, row.project_path),
                            row.models_used.join(", "),
                            &row.sums,
                        )
                    })
                    .collect();
                print_table(&mut stdout, "Session", &rows, &sessions.totals.sums)?;
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
                serde_json::to_writer_pretty(&mut stdout, &serde_json::json!({ "blocks": json }))?;
                writeln!(stdout)?;
            } else {
                print_blocks(&mut stdout, &shown, now_ms)?;
            }
        }
    }
    stdout.flush()?;
    Ok(ExitCode::SUCCESS)
}

fn print_table(
    out: &mut impl Write,
    first: &str,
    rows: &[(String, String, &Sums)],
    totals: &Sums,
) -> std::io::Result<()> {
    if rows.is_empty() {
        eprintln!("no usage found in the transcripts");
        return Ok(());
    }
    let label_width = rows
        .iter()
        .map(|r| r.0.len())
        .max()
        .unwrap_or(0)
        .max(first.len())
        .max(5);
    writeln!(
        out,
        "{first:<label_width$}  {:>13}  {:>13}  {:>14}  {:>15}  {:>15}  {:>10}  Models",
        "Input", "Output", "Cache create", "Cache read", "Total tokens", "Cost (USD)"
    )?;
    let line = |out: &mut dyn Write, label: &str, models: &str, sums: &Sums| {
        writeln!(
            out,
            "{label:<label_width$}  {:>13}  {:>13}  {:>14}  {:>15}  {:>15}  {:>10}  {models}",
            thousands(sums.input_tokens),
            thousands(sums.output_tokens),
            thousands(sums.cache_creation_tokens),
            thousands(sums.cache_read_tokens),
            thousands(sums.total_tokens),
            format!("{:.2}", sums.total_cost),
        )
    };
    for (label, models, sums) in rows {
        line(out, label, models, sums)?;
    }
    line(out, "Total", "", totals)
}

fn print_blocks(
    out: &mut impl Write,
    shown: &[&blocks::Block],
    now_ms: i64,
) -> std::io::Result<()> {
    if shown.is_empty() {
        eprintln!("no usage found in the transcripts");
        return Ok(());
    }
    writeln!(
        out,
        "{:<24}  {:<8}  {:>15}  {:>10}  Models",
        "Block start (UTC)", "State", "Total tokens", "Cost (USD)"
    )?;
    for block in shown {
        let state = if block.is_gap {
            "gap"
        } else if block.is_active {
            "active"
        } else {
            ""
        };
        writeln!(
            out,
            "{:<24}  {:<8}  {:>15}  {:>10}  {}",
            clock::iso(block.start_ms),
            state,
            if block.is_gap {
                String::new()
            } else {
                thousands(block.tokens.total())
            },
            if block.is_gap {
                String::new()
            } else {
                format!("{:.2}", block.cost)
            },
            block.models.join(", ")
        )?;
        if let Some(projection) = block.projection(now_ms) {
            writeln!(
                out,
                "{:<24}  projected {} tokens, ${:.2}, {} min left",
                "",
                thousands(projection.total_tokens),
                projection.total_cost,
                projection.remaining_minutes
            )?;
        }
    }
    Ok(())
}
