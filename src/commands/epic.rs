//! `pace-maker epic attach SPEC | detach | show [--json]`.
//!
//! An epic belongs to a project directory (`CLAUDE_PROJECT_DIR`, else the
//! cwd), the same key the hooks look it up by, so attaching in a shell at
//! the project's root is what turns mission mode on for every session
//! started there. The spec is stored as an absolute path and parsed again
//! at every use: the file, not the store, holds the criteria' state.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Context};
use serde::Serialize;

use crate::cli::{EpicArgs, EpicCommand};
use crate::clock;
use crate::momentum::{self, spec};
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
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => bail!(
            "the spec {} does not exist (hint: give the path of a Markdown file with task items like `- [ ] the tests pass`)",
            spec_path.display()
        ),
        Err(error) => {
            return Err(error).with_context(|| format!("cannot resolve {}", spec_path.display()))
        }
    };
    if !spec_path.is_file() {
        bail!(
            "{} is not a file (hint: give the path of a Markdown file)",
            spec_path.display()
        );
    }
    let spec = spec::read(&spec_path)?;
    if spec.total() == 0 {
        let hint = match spec.source {
            spec::CriteriaSource::Sections => "its acceptance criteria sections hold no task items; add items like `- [ ] the tests pass` under them",
            spec::CriteriaSource::WholeFile => "add task items like `- [ ] the tests pass` under a `## Acceptance criteria` heading",
        };
        bail!(
            "{} has no acceptance criteria (hint: {hint})",
            spec_path.display()
        );
    }
    let config = super::load_config(home);
    let mut store = super::open_store(home, &config)?;
    store
        .write(|transaction| {
            momentum::attach_epic(transaction, project_dir, &spec_path, clock::now_ms())
        })
        .context("cannot record the epic in the store")?;
    println!(
        "attached {} to {}: {}, {} open",
        spec_path.display(),
        project_dir.display(),
        crate::dashboard::describe::count(spec.total() as i64, "criterion", "criteria"),
        spec.open()
    );
    if !config.momentum.enabled {
        eprintln!("warning: momentum is disabled, so stops are not blocked");
        eprintln!("hint: pace-maker config set momentum.enabled true");
    }
    Ok(ExitCode::SUCCESS)
}

fn detach(home: &ToolHome, project_dir: &Path) -> anyhow::Result<ExitCode> {
    let config = super::load_config(home);
    let mut store = super::open_store(home, &config)?;
    let removed = store
        .write(|transaction| momentum::detach_epic(transaction, project_dir))
        .context("cannot remove the epic from the store")?;
    if removed {
        println!("detached the epic from {}", project_dir.display());
        return Ok(ExitCode::SUCCESS);
    }
    match momentum::find_epic(store.connection(), project_dir)? {
        Some(epic) => bail!(
            "no epic is attached to {} itself; the one in force is attached to {} (hint: run `pace-maker epic detach` in {})",
            project_dir.display(),
            epic.project_dir,
            epic.project_dir
        ),
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
    criteria: Vec<spec::Criterion>,
}

fn show(home: &ToolHome, project_dir: &Path, json: bool) -> anyhow::Result<ExitCode> {
    let config = super::load_config(home);
    let store = super::open_store(home, &config)?;
    let Some(epic) = momentum::find_epic(store.connection(), project_dir)? else {
        bail!(
            "no epic is attached to {} (hint: pace-maker epic attach SPEC)",
            project_dir.display()
        );
    };
    let spec = spec::read(&epic.spec_path).map_err(|error| {
        anyhow::anyhow!(
            "{error} (hint: restore the file, or `pace-maker epic detach` and attach another)"
        )
    })?;
    let epic_attached_at_ms = epic.attached_at_ms;
    let report = EpicReport {
        project_dir: epic.project_dir,
        spec_path: epic.spec_path.display().to_string(),
        attached_at: clock::iso(epic.attached_at_ms),
        momentum_enabled: config.momentum.enabled,
        source: spec.source,
        total: spec.total(),
        done: spec.done(),
        open: spec.open(),
        criteria: spec.criteria,
    };
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
            clock::local_time(epic_attached_at_ms, clock::now_ms()),
            report.done,
            report.total,
            report.open
        ));
        if !report.momentum_enabled {
            out.push_str("momentum  disabled: stops are not blocked\n");
        }
        for criterion in &report.criteria {
            let mark = if criterion.done { 'x' } else { ' ' };
            out.push_str(&format!(
                "  [{mark}] {:>4}  {}\n",
                criterion.line, criterion.text
            ));
        }
    }
    use std::io::Write;
    std::io::stdout().lock().write_all(out.as_bytes())?;
    Ok(ExitCode::SUCCESS)
}
