//! `pace-maker epic attach SPEC | detach | show [--json]`.
//!
//! An epic belongs to a project directory (`CLAUDE_PROJECT_DIR`, else the
//! cwd), the same key the hooks look it up by, so attaching in a shell at
//! the project's root is what turns mission mode on for every session
//! started there. The spec is stored as an absolute path and parsed again
//! at every use: the file, not the store, holds the criteria' state.
//!
//! Attaching also approves the spec's check commands, as they are written
//! now: the Stop hook runs only approved ones (see `momentum::checks`).
//! Run inside a Claude Code session (`CLAUDECODE` set, as for the model's
//! own Bash tool) it approves none, so the model cannot approve its own.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use serde::Serialize;

use crate::cli::{EpicArgs, EpicCommand};
use crate::clock;
use crate::momentum::check_store::{self, Approved, CheckResult, Outcome};
use crate::momentum::{self, checks, spec};
use crate::paths::{self, ToolHome};

pub fn run(home: &ToolHome, args: EpicArgs) -> anyhow::Result<ExitCode> {
    let project_dir = project_dir()?;
    match args.command.unwrap_or(EpicCommand::Show { json: false }) {
        EpicCommand::Attach { spec } => attach(home, &project_dir, &spec),
        EpicCommand::Detach => detach(home, &project_dir),
        EpicCommand::Show { json } => show(home, &project_dir, json),
    }
}

fn project_dir() -> anyhow::Result<PathBuf> {
    let directory = paths::project_dir();
    std::path::absolute(&directory)
        .with_context(|| format!("cannot make {} absolute", directory.display()))
}

fn attach(home: &ToolHome, project_dir: &Path, spec_path: &Path) -> anyhow::Result<ExitCode> {
    let spec_path = match spec_path.canonicalize() {
        Ok(path) => path,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            return Err(crate::hint::hinted(
                format!("the spec {} does not exist", spec_path.display()),
                "give the path of a Markdown file with task items like `- [ ] the tests pass`",
            ))
        }
        Err(error) => {
            return Err(error).with_context(|| format!("cannot resolve {}", spec_path.display()))
        }
    };
    if !spec_path.is_file() {
        return Err(crate::hint::hinted(
            format!("{} is not a file", spec_path.display()),
            "give the path of a Markdown file",
        ));
    }
    let spec = spec::read(&spec_path)?;
    if spec.total() == 0 {
        let hint = match spec.source {
            spec::CriteriaSource::Sections => "its acceptance criteria sections hold no task items; add items like `- [ ] the tests pass` under them",
            spec::CriteriaSource::WholeFile => "add task items like `- [ ] the tests pass` under a `## Acceptance criteria` heading",
        };
        return Err(crate::hint::hinted(
            format!("{} has no acceptance criteria", spec_path.display()),
            hint,
        ));
    }
    let requested = checks::requested(&spec);
    for check in &requested {
        if let Err(why) = checks::split_command(&check.command) {
            let line = spec
                .criteria
                .iter()
                .find(|criterion| criterion.text == check.criterion)
                .map_or(0, |criterion| criterion.line);
            return Err(crate::hint::hinted(format!("the check on line {line} of {} cannot be run: {why}", spec_path.display()), "quote as a shell would: `cargo test 'two words'`; for pipes or variables, name a script"));
        }
    }
    // The model's own Bash tool runs with CLAUDECODE set: what it attaches
    // gets no check approved, so it cannot choose what the Stop hook runs.
    let inside_claude_code = paths::env(paths::ENV_CLAUDECODE).is_some();
    let approved: &[Approved] = if inside_claude_code { &[] } else { &requested };
    let config = super::common::load_config(home);
    let mut store = super::common::open_store(home, &config)?;
    let key = project_dir.to_string_lossy();
    store
        .write(|transaction| {
            let now_ms = clock::now_ms();
            momentum::attach_epic(transaction, project_dir, &spec_path, now_ms)?;
            check_store::approve(transaction, &key, approved, now_ms)
        })
        .context("cannot record the epic in the store")?;
    println!(
        "attached {} to {}: {}, {} open",
        spec_path.display(),
        project_dir.display(),
        crate::dashboard::describe::count(spec.total() as i64, "criterion", "criteria"),
        spec.open()
    );
    for check in approved {
        println!(
            "approved check of \"{}\": {}",
            check.criterion, check.command
        );
    }
    if inside_claude_code && !requested.is_empty() {
        eprintln!(
            "warning: run inside a Claude Code session ({} is set): the spec's {} approved, so none runs at a stop",
            paths::ENV_CLAUDECODE,
            crate::dashboard::describe::count(requested.len() as i64, "check is not", "checks are not"),
        );
        eprintln!("hint: attach it from your own terminal to approve its checks");
    }
    if !config.momentum.enabled {
        eprintln!("warning: momentum is disabled, so stops are not blocked");
        eprintln!("hint: pace-maker config set momentum.enabled true");
    }
    Ok(ExitCode::SUCCESS)
}

fn detach(home: &ToolHome, project_dir: &Path) -> anyhow::Result<ExitCode> {
    let config = super::common::load_config(home);
    let mut store = super::common::open_store(home, &config)?;
    let removed = store
        .write(|transaction| momentum::detach_epic(transaction, project_dir))
        .context("cannot remove the epic from the store")?;
    if removed {
        println!("detached the epic from {}", project_dir.display());
        return Ok(ExitCode::SUCCESS);
    }
    match momentum::find_epic(store.connection(), project_dir)? {
        Some(epic) => Err(crate::hint::hinted(
            format!(
                "no epic is attached to {} itself; the one in force is attached to {}",
                project_dir.display(),
                epic.project_dir
            ),
            format!("run `pace-maker epic detach` in {}", epic.project_dir),
        )),
        None => {
            eprintln!("no epic was attached to {}", project_dir.display());
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// `epic show --json`.
#[derive(Debug, Serialize)]
struct EpicReport {
    project_dir: String,
    spec_path: String,
    attached_at: String,
    momentum_enabled: bool,
    source: spec::CriteriaSource,
    total: usize,
    done: usize,
    open: usize,
    /// Ticked criteria whose every approved check passed at its last run.
    verified: usize,
    criteria: Vec<CriterionReport>,
    /// Approved checks whose criterion the spec no longer has: they count
    /// as unmet at every stop until the criterion is back or the spec is
    /// attached again.
    missing_checks: Vec<Approved>,
}

/// A criterion in `epic show --json`.
#[derive(Debug, Serialize)]
struct CriterionReport {
    text: String,
    done: bool,
    line: usize,
    /// Ticked, with checks, and every one passed at its last run.
    verified: bool,
    checks: Vec<CheckReport>,
}

/// A check of a criterion: approved, in the spec, or both.
#[derive(Debug, Serialize)]
struct CheckReport {
    command: String,
    /// Approved at attach: only these run.
    approved: bool,
    /// Written in the spec now.
    in_spec: bool,
    last_result: Option<LastResult>,
}

#[derive(Debug, Serialize)]
struct LastResult {
    outcome: Outcome,
    exit_code: Option<i32>,
    signal: Option<i32>,
    duration_ms: i64,
    ran_at: String,
    #[serde(skip)]
    ran_at_ms: i64,
    output: String,
}

impl LastResult {
    fn from_result(result: CheckResult) -> Self {
        Self {
            outcome: result.outcome,
            exit_code: result.exit_code,
            signal: result.signal,
            duration_ms: result.duration_ms,
            ran_at: clock::iso(result.ran_at_ms),
            ran_at_ms: result.ran_at_ms,
            output: result.output,
        }
    }
}

/// The criteria with their checks and last results.
fn criteria_report(
    connection: &rusqlite::Connection,
    project_dir: &str,
    spec: &spec::Spec,
    approved: &[Approved],
) -> anyhow::Result<Vec<CriterionReport>> {
    let mut reports = Vec::with_capacity(spec.criteria.len());
    for criterion in &spec.criteria {
        let mut checks = Vec::new();
        for check in checks::approved_for(criterion, approved) {
            checks.push(CheckReport {
                command: check.command.clone(),
                approved: true,
                in_spec: criterion.checks.contains(&check.command),
                last_result: check_store::latest(connection, project_dir, check)?
                    .map(LastResult::from_result),
            });
        }
        for command in &criterion.checks {
            if !checks.iter().any(|known| known.command == *command) {
                checks.push(CheckReport {
                    command: command.clone(),
                    approved: false,
                    in_spec: true,
                    last_result: None,
                });
            }
        }
        let approved_checks: Vec<&CheckReport> = checks.iter().filter(|c| c.approved).collect();
        let verified = criterion.done
            && !approved_checks.is_empty()
            && approved_checks.iter().all(|check| {
                check
                    .last_result
                    .as_ref()
                    .is_some_and(|last| last.outcome == Outcome::Passed)
            });
        reports.push(CriterionReport {
            text: criterion.text.clone(),
            done: criterion.done,
            line: criterion.line,
            verified,
            checks,
        });
    }
    Ok(reports)
}

/// One line about a check for `epic show`.
fn describe_check(check: &CheckReport, now_ms: i64) -> String {
    if !check.approved {
        return "not approved: it was not in the spec when the epic was attached, so it does not run (`pace-maker epic attach` again approves it)".into();
    }
    let Some(last) = &check.last_result else {
        return "not run yet".into();
    };
    let at = clock::local_time(last.ran_at_ms, now_ms);
    let seconds = last.duration_ms as f64 / 1000.0;
    let last_line = last.output.lines().last().unwrap_or("").trim();
    let said = if last_line.is_empty() {
        String::new()
    } else {
        format!(": {last_line}")
    };
    let mut text = match last.outcome {
        Outcome::Passed => format!("passed {at} ({seconds:.1} s)"),
        Outcome::Failed => match (last.exit_code, last.signal) {
            (Some(code), _) => format!("failed {at}, exit code {code} after {seconds:.1} s{said}"),
            (None, Some(signal)) => {
                format!("failed {at}, signal {signal} after {seconds:.1} s{said}")
            }
            (None, None) => format!("failed {at} after {seconds:.1} s{said}"),
        },
        Outcome::TimedOut => format!("timed out {at}, killed after {seconds:.0} s{said}"),
        Outcome::NotStarted => format!("could not start {at}{said}"),
    };
    if !check.in_spec {
        text.push_str(" (no longer written in the spec; the approved command still runs)");
    }
    text
}

fn show(home: &ToolHome, project_dir: &Path, json: bool) -> anyhow::Result<ExitCode> {
    let config = super::common::load_config(home);
    let store = super::common::open_store(home, &config)?;
    let Some(epic) = momentum::find_epic(store.connection(), project_dir)? else {
        return Err(crate::hint::hinted(
            format!("no epic is attached to {}", project_dir.display()),
            "pace-maker epic attach SPEC",
        ));
    };
    let spec = spec::read(&epic.spec_path).map_err(|error| {
        crate::hint::hinted(
            error.to_string(),
            "restore the file, or `pace-maker epic detach` and attach another",
        )
    })?;
    let epic_attached_at_ms = epic.attached_at_ms;
    let approved = check_store::approved(store.connection(), &epic.project_dir)?;
    let criteria = criteria_report(store.connection(), &epic.project_dir, &spec, &approved)?;
    let missing_checks = checks::plan(&spec, &approved).missing;
    let report = EpicReport {
        verified: criteria
            .iter()
            .filter(|criterion| criterion.verified)
            .count(),
        project_dir: epic.project_dir,
        spec_path: epic.spec_path.display().to_string(),
        attached_at: clock::iso(epic.attached_at_ms),
        momentum_enabled: config.momentum.enabled,
        source: spec.source,
        total: spec.total(),
        done: spec.done(),
        open: spec.open(),
        criteria,
        missing_checks,
    };
    let now_ms = clock::now_ms();
    let mut out = String::new();
    if json {
        out = serde_json::to_string_pretty(&report)?;
        out.push('\n');
    } else {
        let source = match report.source {
            spec::CriteriaSource::Sections => "under acceptance criteria headings",
            spec::CriteriaSource::WholeFile => "every task item in the file",
        };
        out.push_str(&format!(
            "epic      {}\nproject   {} (attached {})\ncriteria  {} of {} done, {} open ({source})\n",
            report.spec_path,
            report.project_dir,
            clock::local_time(epic_attached_at_ms, now_ms),
            report.done,
            report.total,
            report.open
        ));
        let with_checks = report
            .criteria
            .iter()
            .filter(|criterion| criterion.checks.iter().any(|check| check.approved))
            .count();
        if with_checks > 0 || !report.missing_checks.is_empty() {
            out.push_str(&format!(
                "checks    {} verified of {} ticked; {} with a check\n",
                report.verified, report.done, with_checks
            ));
        }
        if !report.momentum_enabled {
            out.push_str("momentum  disabled: stops are not blocked\n");
        }
        for criterion in &report.criteria {
            let mark = if criterion.done { 'x' } else { ' ' };
            out.push_str(&format!(
                "  [{mark}] {:>4}  {}\n",
                criterion.line, criterion.text
            ));
            for check in &criterion.checks {
                out.push_str(&format!(
                    "              check: {}\n                {}\n",
                    check.command,
                    describe_check(check, now_ms)
                ));
            }
        }
        for check in &report.missing_checks {
            out.push_str(&format!(
                "  [?]       {}\n              check: {}\n                approved, but the criterion is no longer in the spec: it counts as unmet (put it back, or attach the spec again)\n",
                check.criterion, check.command
            ));
        }
    }
    use std::io::Write;
    std::io::stdout().lock().write_all(out.as_bytes())?;
    Ok(ExitCode::SUCCESS)
}
