//! `pace-maker mission run -- claude -p ...`: a mission that survives a
//! usage limit.
//!
//! When the account reaches a limit, Claude Code 2.1.330 ends the turn with
//! an error entry (`apiError: "usage_limit_reached"`, the reset in
//! `apiErrorParams.rate_limit_info.resetsAt`), fires `StopFailure` (not
//! `Stop`, so momentum never sees it) and `claude -p` exits 1. Nothing in
//! a hook can keep that session alive, so the mission is run from outside:
//! this command runs the given command, and when it ended on a usage limit
//! it reads the reset from the session's transcript (else from the official
//! figures in the store: a window at 100 %), says what it does and until
//! when, sleeps until the reset, and runs the command again resuming that
//! session (`--resume <session id>`, or `--continue` when the session is
//! not known). It stops when a run ends without a usage limit (the
//! mission's own end: momentum and its breakers decided), when the epic
//! has no open criterion left, after `--max-waits` waits, when a reset lies
//! further than `--max-wait-hours`, or when the kill switch or `off` is set
//! (checked every second of the wait).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, SystemTime};

use anyhow::Context;

use crate::cli::MissionRunArgs;
use crate::controls::{self, Control};
use crate::momentum::transcript_tail::{self, ApiError};
use crate::paths::{self, ToolHome};
use crate::store::{self, Store};
use crate::usage::snapshot::{self, WindowKind};

pub use crate::mission_wait::{current_wait, MissionWait, META_MISSION_WAIT};

/// Transcript bytes read from the end to find how a run ended.
const TAIL_BYTES: u64 = 1024 * 1024;

/// How long a wait is when no reset time is known at all: then the limit
/// is looked at again.
const UNKNOWN_RESET_WAIT_MS: i64 = 5 * 60_000;

/// How a run of the command ended.
#[derive(Debug, Clone, PartialEq)]
struct RunEnd {
    session_id: Option<String>,
    /// The window the limit entry names (`rateLimitType`: `five_hour`, ...).
    limit_window: Option<String>,
    /// `Some` when the session ended on a usage limit: its reset, epoch s, when said.
    usage_limit: Option<Option<i64>>,
}

pub fn run(home: &ToolHome, args: &MissionRunArgs) -> anyhow::Result<ExitCode> {
    let config = super::common::load_config(home);
    let Some((program, rest)) = args.command.split_first() else {
        anyhow::bail!("no command to run (hint: pace-maker mission run -- claude -p \"...\")");
    };
    let cwd = std::env::current_dir().context("cannot read the current folder")?;
    let project_dir = paths::project_dir();
    let mut arguments: Vec<String> = rest.to_vec();
    let mut waits = 0u32;
    loop {
        let before = transcripts(&cwd);
        let status = std::process::Command::new(program)
            .args(&arguments)
            .status()
            .with_context(|| format!("cannot run {program}"))?;
        let code = exit_code(&status);
        let end = how_it_ended(&cwd, &before);
        let Some(reset_s) = end.usage_limit else {
            note_open_criteria(home, &config, &project_dir);
            return Ok(code);
        };
        let mut store = super::common::open_store(home, &config)?;
        let now_ms = crate::clock::now_ms();
        if let Some(open) = open_criteria(&store, &project_dir) {
            if open == 0 {
                say("the usage limit was reached, but the epic has no open criterion: the mission is done");
                return Ok(code);
            }
        }
        if let Some(why) = stopped(&store, now_ms)? {
            say(&format!(
                "the usage limit was reached; not waiting for the reset: {why}"
            ));
            return Ok(code);
        }
        if waits >= args.max_waits {
            say(&format!(
                "the usage limit was reached again after {waits} waits (--max-waits {}): stopping",
                args.max_waits
            ));
            return Ok(code);
        }
        waits += 1;
        let official = full_window(&store, now_ms)?;
        let (until_ms, known) = match (reset_s, official) {
            (Some(reset_s), _) => (reset_s * 1000, true),
            (None, Some((_, reset_ms))) => (reset_ms, true),
            (None, None) => (now_ms + UNKNOWN_RESET_WAIT_MS, false),
        };
        let until_ms = until_ms.max(now_ms) + args.margin_seconds as i64 * 1000;
        let longest_ms = (args.max_wait_hours * 3_600_000.0) as i64;
        if until_ms - now_ms > longest_ms {
            say(&format!(
                "the usage limit resets at {}, further away than --max-wait-hours {}: stopping",
                crate::clock::iso(until_ms),
                args.max_wait_hours
            ));
            return Ok(code);
        }
        let window = end
            .limit_window
            .as_deref()
            .and_then(WindowKind::from_key)
            .or(official.map(|(kind, _)| kind));
        let resume = match &end.session_id {
            Some(id) => format!("--resume {id}"),
            None => "--continue".to_string(),
        };
        say(&format!(
            "the usage limit is reached{}; waiting until {} (in {}){}, then resuming the session with `{program} {resume}` (wait {waits} of {})",
            window.map(|kind| format!(" ({} window)", kind.label())).unwrap_or_default(),
            crate::clock::iso(until_ms),
            minutes(until_ms - now_ms),
            if known { "" } else { ", when the limit is looked at again (no reset time was given)" },
            args.max_waits
        ));
        let wait = MissionWait {
            until_ms,
            session_id: end.session_id.clone(),
            window: window.map(|kind| kind.key().to_string()),
            wait: waits,
            max_waits: args.max_waits,
            pid: std::process::id(),
        };
        store.write(|transaction| {
            store::set_meta(
                transaction,
                META_MISSION_WAIT,
                &serde_json::to_string(&wait).unwrap_or_default(),
            )
        })?;
        let outcome = sleep_until(&store, until_ms);
        store.write(|transaction| store::delete_meta(transaction, META_MISSION_WAIT))?;
        if let Some(why) = outcome? {
            say(&format!("stopped waiting: {why}"));
            return Ok(code);
        }
        say(&format!(
            "the limit has reset; resuming with `{program} {resume}`"
        ));
        arguments = resume_arguments(rest, end.session_id.as_deref());
    }
}

/// Sleeps until `until_ms`, looking every second at the kill switch and
/// `off`; returns why it stopped early, if it did.
fn sleep_until(store: &Store, until_ms: i64) -> anyhow::Result<Option<String>> {
    loop {
        let now_ms = crate::clock::now_ms();
        if let Some(why) = stopped(store, now_ms)? {
            return Ok(Some(why));
        }
        // On a test build's virtual clock the wait is announced, not taken.
        if now_ms >= until_ms || crate::clock::virtual_now_ms().is_some() {
            return Ok(None);
        }
        std::thread::sleep(Duration::from_millis(
            (until_ms - now_ms).clamp(1, 1000) as u64
        ));
    }
}

/// Why the mission must not go on: the kill switch, or `pace-maker off`.
fn stopped(store: &Store, now_ms: i64) -> anyhow::Result<Option<String>> {
    if paths::kill_switch() {
        return Ok(Some(format!(
            "the kill switch ({}) is set",
            paths::ENV_DISABLE
        )));
    }
    Ok(match controls::read(store.connection(), now_ms)? {
        Control::Off => Some("pace-maker is off (`pace-maker on` turns it back on)".to_string()),
        _ => None,
    })
}

/// The window at 100 % in the freshest official reading, and its reset (ms).
fn full_window(store: &Store, now_ms: i64) -> anyhow::Result<Option<(WindowKind, i64)>> {
    let Some(current) = snapshot::freshest_official(store.connection())? else {
        return Ok(None);
    };
    let now_s = now_ms.div_euclid(1000);
    Ok(WindowKind::EVERY
        .into_iter()
        .filter_map(|kind| {
            let reading = current.window(kind)?;
            let reset = reading.resets_at_s.filter(|reset| *reset > now_s)?;
            (reading.percent >= 100.0).then_some((kind, reset * 1000))
        })
        .max_by_key(|(_, reset)| *reset))
}

/// The attached epic's open criteria, when an epic is attached and readable.
fn open_criteria(store: &Store, project_dir: &Path) -> Option<usize> {
    let epic = crate::momentum::find_epic(store.connection(), project_dir)
        .ok()
        .flatten()?;
    crate::momentum::spec::read(&epic.spec_path)
        .ok()
        .map(|spec| spec.open())
}

fn note_open_criteria(home: &ToolHome, config: &crate::config::Config, project_dir: &Path) {
    let Ok(store) = super::common::open_store(home, config) else {
        return;
    };
    if let Some(open) = open_criteria(&store, project_dir).filter(|open| *open > 0) {
        say(&format!(
            "the run ended without a usage limit; the epic still has {open} open criteria"
        ));
    }
}

/// The command's arguments for a resumed run: the same, with any earlier
/// `--resume`/`--continue` left out and the session named (`--continue`,
/// the newest session of this folder, when it is not known).
fn resume_arguments(original: &[String], session_id: Option<&str>) -> Vec<String> {
    let mut kept = Vec::with_capacity(original.len() + 2);
    let mut skip_value = false;
    for argument in original {
        if skip_value {
            skip_value = false;
            continue;
        }
        match argument.as_str() {
            "--continue" | "-c" => continue,
            "--resume" | "-r" => {
                skip_value = true;
                continue;
            }
            _ if argument.starts_with("--resume=") => continue,
            _ => kept.push(argument.clone()),
        }
    }
    match session_id {
        Some(id) => {
            kept.insert(0, id.to_string());
            kept.insert(0, "--resume".to_string());
        }
        None => kept.insert(0, "--continue".to_string()),
    }
    kept
}

/// The transcripts of `cwd`'s sessions under each Claude folder, with
/// their modification time and size.
fn transcripts(cwd: &Path) -> HashMap<PathBuf, (SystemTime, u64)> {
    paths::claude_dirs()
        .into_iter()
        .map(|dir| dir.join("projects").join(project_folder_name(cwd)))
        .filter_map(|folder| std::fs::read_dir(folder).ok())
        .flat_map(|entries| entries.flatten())
        .filter(|entry| entry.path().extension().is_some_and(|ext| ext == "jsonl"))
        .filter_map(|entry| {
            let metadata = entry.metadata().ok()?;
            Some((entry.path(), (metadata.modified().ok()?, metadata.len())))
        })
        .collect()
}

/// How the session the run wrote ended: its transcript is the newest
/// `.jsonl` in the project's folder that is new or changed since `before`
/// (compared by the files' own times and sizes, never by the clock, which
/// may disagree with the file system's), and its last assistant entry says
/// whether it was a usage limit.
fn how_it_ended(cwd: &Path, before: &HashMap<PathBuf, (SystemTime, u64)>) -> RunEnd {
    let newest = transcripts(cwd)
        .into_iter()
        .filter(|(path, seen)| before.get(path) != Some(seen))
        .max_by_key(|(_, (modified, _))| *modified)
        .map(|(path, _)| path);
    let Some(path) = newest else {
        return RunEnd {
            session_id: None,
            limit_window: None,
            usage_limit: None,
        };
    };
    let session_id = path
        .file_stem()
        .map(|stem| stem.to_string_lossy().into_owned());
    let usage_limit = match transcript_tail::read_facts(&path, TAIL_BYTES) {
        Ok(facts) => match facts.api_error {
            Some(ApiError::UsageLimit { resets_at }) => Some(resets_at),
            _ => None,
        },
        Err(error) => {
            tracing::warn!("mission: cannot read {}: {error}", path.display());
            None
        }
    };
    let limit_window = usage_limit.and_then(|_| limit_window(&path));
    RunEnd {
        session_id,
        limit_window,
        usage_limit,
    }
}

/// The `rateLimitType` of the newest usage-limit entry in the transcript's
/// tail (`five_hour`, `seven_day`, `seven_day_opus`, ...).
fn limit_window(path: &Path) -> Option<String> {
    let finder = memchr::memmem::Finder::new(b"usage_limit_reached");
    let mut found = None;
    let _ = transcript_tail::for_each_line_backwards(path, TAIL_BYTES, |line| {
        if finder.find(line).is_none() {
            return std::ops::ControlFlow::Continue(());
        }
        found = serde_json::from_slice::<serde_json::Value>(line)
            .ok()
            .and_then(|entry| {
                entry["apiErrorParams"]["rate_limit_info"]["rateLimitType"]
                    .as_str()
                    .map(str::to_string)
            });
        std::ops::ControlFlow::Break(())
    });
    found
}

/// The folder Claude Code keeps a project's transcripts in: its path with
/// every character but letters and digits turned into `-`.
pub fn project_folder_name(cwd: &Path) -> String {
    cwd.to_string_lossy()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect()
}

fn exit_code(status: &std::process::ExitStatus) -> ExitCode {
    match status.code() {
        Some(code) => ExitCode::from(code.clamp(0, 255) as u8),
        None => ExitCode::FAILURE,
    }
}

fn minutes(ms: i64) -> String {
    let seconds = (ms.max(0) + 999) / 1000;
    match seconds {
        s if s < 120 => format!("{s} s"),
        s if s < 2 * 3600 => format!("{} min", (s + 59) / 60),
        s => format!("{} h {:02} min", s / 3600, (s % 3600) / 60),
    }
}

fn say(text: &str) {
    eprintln!("pace-maker: {text}");
    tracing::info!("mission: {text}");
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(items: &[&str]) -> Vec<String> {
        items.iter().map(|item| item.to_string()).collect()
    }

    #[test]
    fn a_resumed_run_names_the_session_and_drops_earlier_resumes() {
        assert_eq!(
            resume_arguments(
                &strings(&["-p", "go on", "--output-format", "json"]),
                Some("abc")
            ),
            strings(&["--resume", "abc", "-p", "go on", "--output-format", "json"])
        );
        assert_eq!(
            resume_arguments(&strings(&["--resume", "old", "-c", "-p", "x"]), None),
            strings(&["--continue", "-p", "x"])
        );
    }

    #[test]
    fn the_project_folder_is_the_path_with_dashes() {
        assert_eq!(
            project_folder_name(Path::new("/tmp/i19exp/proj")),
            "-tmp-i19exp-proj"
        );
        assert_eq!(
            project_folder_name(Path::new("/home/dev/my_app.v2")),
            "-home-dev-my-app-v2"
        );
    }
}
