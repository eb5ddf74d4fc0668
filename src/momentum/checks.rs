//! Criterion checks: the commands that prove a ticked criterion, run by the
//! Stop hook so that a tick alone cannot end a mission.
//!
//! Who decides what runs. A check runs only when the person approved it:
//! `epic attach` (run in their own shell) records each criterion's text and
//! the commands of its `<!-- check: ... -->` comments, and the Stop hook
//! runs the approved command of each ticked criterion, whatever the file
//! says now. The model edits the spec (it ticks the boxes), so a check it
//! adds or rewrites is not run (`epic show` lists it as not approved), and
//! an approved check whose criterion it reworded or removed counts as
//! unmet. The project's `.claude/pace-maker.toml` can only shorten
//! `momentum.check_timeout_seconds`. docs/security.md has the whole model.
//!
//! How a check runs. The command is split into words as a POSIX shell
//! would (quotes and backslashes, with `shell-words`) and started without
//! a shell: no pipes, redirections, variables or globs (a check that needs
//! them names a script, or `sh -c '...'` explicitly). It runs in the
//! epic's project folder with the user's environment (the hook's own,
//! which Claude Code passes on), stdin closed, in a process group of its
//! own; its stdout and stderr are kept together, only their last
//! [`KEPT_OUTPUT_BYTES`]. Past `momentum.check_timeout_seconds` the group
//! is killed and the check counts as failed. Checks run one at a time, and
//! only while the Stop hook's time (`hooks.stop_timeout_seconds`, less a
//! margin) lasts: one that does not fit runs at the next stop.
//!
//! When. At a stop where the model ticked a criterion with a check (its
//! last run did not pass, or it never ran), or said the complete phrase,
//! or every box is ticked, unless the stop is allowed anyway (an API
//! error, the blocked phrase, a breaker). Then each ticked criterion's
//! check runs unless a result at the project's current state
//! ([`super::project_state`]) is on record: a pass there counts, a failure
//! there blocks again without running. Otherwise a ticked criterion whose
//! check passed before counts as verified, so work on the next criterion
//! does not re-run every earlier check at every stop.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use super::check_store::{Approved, CheckResult, Outcome};
use super::project_state::ProjectState;
use super::spec::{Criterion, Spec};
use crate::subprocess::{self, Ending};

/// Bytes of a check's output kept while it runs.
pub const KEPT_OUTPUT_BYTES: usize = 64 * 1024;
/// Lines of a check's output recorded in the store.
pub const RECORDED_OUTPUT_LINES: usize = 40;
/// Longest recorded output line, in characters.
const RECORDED_LINE_CHARS: usize = 400;
/// A check is not started with less than this left of the stop's time.
const SHORTEST_RUN: Duration = Duration::from_secs(1);

/// Why a ticked criterion's check does not count as passed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Why {
    /// It ran (now, or at this same project state before) and did not pass.
    Result { result: CheckResult, reused: bool },
    /// The stop's time ran out before it could run.
    NotRunYet,
    /// The person approved it for a criterion the spec no longer has.
    Missing,
}

impl Why {
    pub fn is_missing(&self) -> bool {
        matches!(self, Why::Missing)
    }
}

/// A check that takes its criterion's tick back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unmet {
    pub criterion: String,
    /// The criterion's line; `None` when it is no longer in the spec.
    pub line: Option<usize>,
    pub command: String,
    pub why: Why,
}

/// One approved check of a criterion.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Due<'a> {
    pub criterion: &'a Criterion,
    pub check: Approved,
}

/// The approved checks matched against the spec as it is now.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Plan<'a> {
    /// Checks of ticked criteria, in file order.
    pub due: Vec<Due<'a>>,
    /// Approved checks whose criterion is gone (reworded or removed).
    pub missing: Vec<Approved>,
    /// Check comments nobody approved: not run.
    pub unapproved: Vec<(usize, String)>,
}

/// The approved checks of a criterion, by its text.
pub fn approved_for<'a>(criterion: &Criterion, approved: &'a [Approved]) -> Vec<&'a Approved> {
    approved
        .iter()
        .filter(|check| check.criterion == criterion.text)
        .collect()
}

/// Matches the approved checks against the spec.
pub fn plan<'a>(spec: &'a Spec, approved: &[Approved]) -> Plan<'a> {
    let mut plan = Plan::default();
    for criterion in &spec.criteria {
        let checks = approved_for(criterion, approved);
        for command in &criterion.checks {
            if !checks.iter().any(|check| check.command == *command) {
                plan.unapproved.push((criterion.line, command.clone()));
            }
        }
        if criterion.done {
            plan.due.extend(checks.into_iter().map(|check| Due {
                criterion,
                check: check.clone(),
            }));
        }
    }
    plan.missing = approved
        .iter()
        .filter(|check| {
            !spec
                .criteria
                .iter()
                .any(|criterion| criterion.text == check.criterion)
        })
        .cloned()
        .collect();
    plan
}

/// The checks a spec asks for, to be approved at `epic attach`.
pub fn requested(spec: &Spec) -> Vec<Approved> {
    let mut requested: Vec<Approved> = Vec::new();
    for criterion in &spec.criteria {
        for command in &criterion.checks {
            let check = Approved {
                criterion: criterion.text.clone(),
                command: command.clone(),
            };
            if !requested.contains(&check) {
                requested.push(check);
            }
        }
    }
    requested
}

/// The missing checks as unmet.
pub fn missing_as_unmet(missing: &[Approved]) -> Vec<Unmet> {
    missing
        .iter()
        .map(|check| Unmet {
            criterion: check.criterion.clone(),
            line: None,
            command: check.command.clone(),
            why: Why::Missing,
        })
        .collect()
}

/// A check's command as the program and its arguments.
pub fn split_command(command: &str) -> Result<Vec<String>, String> {
    let words = shell_words::split(command)
        .map_err(|error| format!("cannot split `{command}` into words: {error}"))?;
    if words.is_empty() {
        return Err("the command is empty".into());
    }
    Ok(words)
}

/// How long a run may take, and what is left of the stop's time.
#[derive(Debug, Clone, Copy)]
pub struct Deadlines {
    /// `momentum.check_timeout_seconds`.
    pub per_check: Duration,
    /// When the stop's time for checks ends.
    pub stop_ends: Instant,
}

/// Runs one check in `project_dir` at `state`; `None` when the stop's
/// time ran out before it could run or finish.
pub fn run(
    check: &Approved,
    project_dir: &Path,
    state: &ProjectState,
    deadlines: Deadlines,
    now_ms: i64,
) -> Option<CheckResult> {
    let left = deadlines
        .stop_ends
        .saturating_duration_since(Instant::now());
    if left < SHORTEST_RUN {
        return None;
    }
    let deadline = deadlines.per_check.min(left);
    let base = CheckResult {
        criterion: check.criterion.clone(),
        command: check.command.clone(),
        state: state.digest().map(str::to_string),
        state_after: None,
        outcome: Outcome::NotStarted,
        exit_code: None,
        signal: None,
        duration_ms: 0,
        output: String::new(),
        ran_at_ms: now_ms,
    };
    let words = match split_command(&check.command) {
        Ok(words) => words,
        Err(why) => {
            return Some(CheckResult {
                output: why,
                ..base
            })
        }
    };
    let mut command = Command::new(&words[0]);
    command.args(&words[1..]).current_dir(project_dir);
    let captured = match subprocess::run_merged(command, deadline, KEPT_OUTPUT_BYTES) {
        Ok(captured) => captured,
        Err(error) => {
            let hint = match error.kind() {
                std::io::ErrorKind::NotFound if !project_dir.is_dir() => format!(
                    " (the project folder {} is not there)",
                    project_dir.display()
                ),
                std::io::ErrorKind::NotFound => {
                    format!(" (is `{}` installed and on PATH?)", words[0])
                }
                _ => String::new(),
            };
            return Some(CheckResult {
                output: format!("cannot start `{}`: {error}{hint}", words[0]),
                ..base
            });
        }
    };
    let (outcome, exit_code, signal) = match captured.ending {
        Ending::Exited(0) => (Outcome::Passed, Some(0), None),
        Ending::Exited(code) => (Outcome::Failed, Some(code), None),
        Ending::Signaled(signal) => (Outcome::Failed, None, Some(signal)),
        // Cut short by the stop's time, not by its own deadline: not a
        // result, it runs again at the next stop.
        Ending::TimedOut if deadline < deadlines.per_check => return None,
        Ending::TimedOut => (Outcome::TimedOut, None, None),
    };
    Some(CheckResult {
        outcome,
        exit_code,
        signal,
        duration_ms: i64::try_from(captured.duration.as_millis()).unwrap_or(i64::MAX),
        output: tail_text(&captured.output_tail, RECORDED_OUTPUT_LINES),
        ..base
    })
}

/// The last `lines` lines of a command's output as plain text: invalid
/// UTF-8 replaced, terminal escapes and control characters removed, a
/// progress line redrawn with `\r` reduced to what was drawn last.
pub fn tail_text(bytes: &[u8], lines: usize) -> String {
    let text = String::from_utf8_lossy(bytes);
    let mut cleaned = String::with_capacity(text.len());
    let mut characters = text.chars().peekable();
    while let Some(character) = characters.next() {
        match character {
            // CSI sequences (colours, cursor moves): ESC [ ... final byte.
            '\u{1b}' => {
                if characters.peek() == Some(&'[') {
                    characters.next();
                    for next in characters.by_ref() {
                        if ('@'..='~').contains(&next) {
                            break;
                        }
                    }
                } else {
                    characters.next();
                }
            }
            '\n' | '\t' => cleaned.push(character),
            '\r' if characters.peek() == Some(&'\n') => {}
            '\r' => {
                let start = cleaned.rfind('\n').map_or(0, |at| at + 1);
                cleaned.truncate(start);
            }
            character if character.is_control() => {}
            character => cleaned.push(character),
        }
    }
    let all: Vec<&str> = cleaned.trim_end().lines().collect();
    let mut out = String::new();
    for line in &all[all.len().saturating_sub(lines)..] {
        let mut kept: String = line.chars().take(RECORDED_LINE_CHARS).collect();
        if kept.len() < line.len() {
            kept.push_str("...");
        }
        out.push_str(kept.trim_end());
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::momentum::spec;

    fn approved(criterion: &str, command: &str) -> Approved {
        Approved {
            criterion: criterion.into(),
            command: command.into(),
        }
    }

    #[test]
    fn the_plan_runs_approved_checks_of_ticked_criteria_only() {
        let spec = spec::parse(
            "- [x] a <!-- check: test a -->\n\
             - [ ] b <!-- check: test b -->\n\
             - [x] c <!-- check: changed by the model -->\n\
             - [x] d\n\
             - [x] e <!-- check: added later -->\n",
        );
        let approvals = [
            approved("a", "test a"),
            approved("b", "test b"),
            approved("c", "test c"),
            approved("d", "test d"),
            approved("gone", "test gone"),
        ];
        let plan = plan(&spec, &approvals);
        let due: Vec<(&str, &str)> = plan
            .due
            .iter()
            .map(|due| (due.criterion.text.as_str(), due.check.command.as_str()))
            .collect();
        assert_eq!(
            due,
            [("a", "test a"), ("c", "test c"), ("d", "test d")],
            "the approved command runs, whatever the file says now"
        );
        assert_eq!(plan.missing, [approved("gone", "test gone")]);
        assert_eq!(
            plan.unapproved,
            [
                (3, "changed by the model".to_string()),
                (5, "added later".to_string())
            ]
        );
    }

    #[test]
    fn a_spec_requests_each_check_once() {
        let spec = spec::parse(
            "- [ ] a <!-- check: x --> <!-- check: y -->\n- [ ] a <!-- check: x -->\n- [ ] b\n",
        );
        assert_eq!(requested(&spec), [approved("a", "x"), approved("a", "y")]);
    }

    #[test]
    fn commands_split_like_a_shell_without_one() {
        assert_eq!(
            split_command(r#"cargo test "two words" it\'s 'a|b' $HOME"#).unwrap(),
            ["cargo", "test", "two words", "it's", "a|b", "$HOME"]
        );
        assert!(split_command("echo 'unclosed").is_err());
        assert!(split_command("   ").is_err());
    }

    #[test]
    fn the_output_tail_is_plain_text_of_the_last_lines() {
        let bytes = b"one\r\ntwo\n\x1b[31mred\x1b[0m\nprogress 10%\rprogress 100%\n\x07bell\nlast";
        assert_eq!(tail_text(bytes, 4), "red\nprogress 100%\nbell\nlast\n");
        assert_eq!(tail_text(b"", 4), "");
        let long = "x".repeat(1000);
        assert_eq!(tail_text(long.as_bytes(), 1).chars().count(), 404);
        assert_eq!(tail_text(&[0xff, b'a'], 1), "\u{fffd}a\n");
    }

    fn far() -> Deadlines {
        Deadlines {
            per_check: Duration::from_secs(20),
            stop_ends: Instant::now() + Duration::from_secs(60),
        }
    }

    #[test]
    fn a_check_runs_in_the_project_without_a_shell() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("here.txt"), "x").unwrap();
        let state = ProjectState::Known("files:1".into());
        let passed = run(&approved("c", "ls here.txt"), dir.path(), &state, far(), 5).unwrap();
        assert_eq!(passed.outcome, Outcome::Passed);
        assert_eq!(passed.output, "here.txt\n");
        assert_eq!(passed.state.as_deref(), Some("files:1"));
        assert_eq!(passed.ran_at_ms, 5);
        let no_shell = run(
            &approved("c", "echo a | wc -l"),
            dir.path(),
            &state,
            far(),
            5,
        )
        .unwrap();
        assert_eq!(no_shell.output, "a | wc -l\n", "`|` is a word, not a pipe");
        let failed = run(
            &approved("c", "ls nothing-here"),
            dir.path(),
            &state,
            far(),
            5,
        )
        .unwrap();
        assert_eq!(failed.outcome, Outcome::Failed);
        assert_eq!(failed.exit_code, Some(2));
        assert!(failed.output.contains("nothing-here"), "{}", failed.output);
        let missing = run(
            &approved("c", "no-such-program-here x"),
            dir.path(),
            &ProjectState::Unknown("test".into()),
            far(),
            5,
        )
        .unwrap();
        assert_eq!(missing.outcome, Outcome::NotStarted);
        assert!(
            missing.output.contains("no-such-program-here"),
            "{}",
            missing.output
        );
        assert_eq!(missing.state, None);
        let unsplit = run(&approved("c", "echo 'x"), dir.path(), &state, far(), 5).unwrap();
        assert_eq!(unsplit.outcome, Outcome::NotStarted);
        // A relative program is found from the project folder.
        // (A link, not a script written here: executing a file another
        // test thread's fork may still hold open for writing fails.)
        std::os::unix::fs::symlink("/bin/sh", dir.path().join("own-sh")).unwrap();
        let relative = run(
            &approved("c", "./own-sh -c 'echo from $(pwd)'"),
            dir.path(),
            &state,
            far(),
            5,
        )
        .unwrap();
        assert_eq!(relative.outcome, Outcome::Passed, "{}", relative.output);
        assert!(relative.output.starts_with("from /"), "{}", relative.output);
        let nowhere = run(
            &approved("c", "true"),
            &dir.path().join("gone"),
            &state,
            far(),
            5,
        )
        .unwrap();
        assert!(
            nowhere.output.contains("is not there"),
            "{}",
            nowhere.output
        );
    }

    #[test]
    fn a_check_past_its_deadline_times_out_and_one_past_the_stops_time_waits() {
        let dir = tempfile::tempdir().unwrap();
        let state = ProjectState::Known("files:1".into());
        let slow = approved("c", "sleep 30");
        let short = Deadlines {
            per_check: Duration::from_millis(1200),
            stop_ends: Instant::now() + Duration::from_secs(60),
        };
        let timed_out = run(&slow, dir.path(), &state, short, 5).unwrap();
        assert_eq!(timed_out.outcome, Outcome::TimedOut);
        let cut = Deadlines {
            per_check: Duration::from_secs(20),
            stop_ends: Instant::now() + Duration::from_millis(1100),
        };
        assert_eq!(run(&slow, dir.path(), &state, cut, 5), None);
        let spent = Deadlines {
            per_check: Duration::from_secs(20),
            stop_ends: Instant::now(),
        };
        assert_eq!(run(&slow, dir.path(), &state, spent, 5), None);
    }
}
