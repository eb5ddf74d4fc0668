//! Momentum: keeps a mission going until its acceptance criteria are met,
//! and never loops.
//!
//! A project directory can have an epic attached: a Markdown spec whose
//! task items are the mission's acceptance criteria ([`spec`]). While one
//! is attached and `momentum.enabled` is set, SessionStart tells the model
//! about the mission and the Stop hook refuses premature stops. The
//! decision is the pure [`verdict::decide`]; this module is its edge: it
//! finds the epic, reads the spec and the transcript's end
//! ([`transcript_tail`]), and reads and writes the session's counters in one
//! write transaction so two hooks of a session cannot lose an update.
//! A criterion may carry a check command ([`checks`]): the Stop hook runs
//! it before a tick counts, and files its result under the project's state
//! ([`project_state`], [`check_store`]).

pub mod check_store;
pub mod checks;
pub mod project_state;
pub mod spec;
pub mod transcript_tail;
pub mod verdict;

use std::path::{Path, PathBuf};

use std::time::Duration;

use rusqlite::{params, Connection, OptionalExtension, Transaction};

use crate::config::{MomentumConfig, HOOK_TIMEOUT_MARGIN_SECONDS};
use crate::event::{Event, SessionContext};
use crate::hook_context::HookContext;
use check_store::{Approved, CheckResult};
use checks::{Unmet, Why};
use spec::Spec;
use transcript_tail::TranscriptFacts;
use verdict::{Allow, BlockLimits, Counters, Mission, Phrases, SpecState, StopDecision, StopInput};

/// An epic attached to a project directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Epic {
    pub project_dir: String,
    pub spec_path: PathBuf,
    pub attached_at_ms: i64,
}

/// The epic of `project_dir`: attached to it or to its nearest ancestor,
/// so a session started in a subfolder still finds its mission.
pub fn find_epic(connection: &Connection, project_dir: &Path) -> rusqlite::Result<Option<Epic>> {
    let mut statement = connection.prepare_cached(
        "SELECT project_dir, spec_path, attached_at FROM epics WHERE project_dir = ?1",
    )?;
    for directory in project_dir.ancestors() {
        let key = directory.to_string_lossy();
        if key.is_empty() {
            continue;
        }
        let found = statement
            .query_row([key.as_ref()], |row| {
                Ok(Epic {
                    project_dir: row.get(0)?,
                    spec_path: PathBuf::from(row.get::<_, String>(1)?),
                    attached_at_ms: row.get(2)?,
                })
            })
            .optional()?;
        if found.is_some() {
            return Ok(found);
        }
    }
    Ok(None)
}

/// How far an epic is: criteria verified (ticked, every approved check of
/// them passed at its last run), ticked, and in all.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Progress {
    pub verified: usize,
    pub ticked: usize,
    pub total: usize,
    /// Criteria with an approved check.
    pub with_checks: usize,
}

/// The progress of `spec`, the epic of `project_dir`.
pub fn progress(
    connection: &Connection,
    project_dir: &str,
    spec: &Spec,
) -> rusqlite::Result<Progress> {
    let approved = check_store::approved(connection, project_dir)?;
    let mut verified = 0;
    let mut with_checks = 0;
    for criterion in &spec.criteria {
        let checks = checks::approved_for(criterion, &approved);
        if checks.is_empty() {
            continue;
        }
        with_checks += 1;
        if !criterion.done {
            continue;
        }
        let mut all_passed = true;
        for check in checks {
            let passed = check_store::latest(connection, project_dir, check)?
                .is_some_and(|result| result.passed());
            all_passed &= passed;
        }
        verified += usize::from(all_passed);
    }
    Ok(Progress {
        verified,
        ticked: spec.done(),
        total: spec.total(),
        with_checks,
    })
}

/// Attaches (or re-attaches) a spec to a project directory.
pub fn attach_epic(
    transaction: &Transaction<'_>,
    project_dir: &Path,
    spec_path: &Path,
    now_ms: i64,
) -> rusqlite::Result<()> {
    transaction.execute(
        "INSERT INTO epics (project_dir, spec_path, attached_at) VALUES (?1, ?2, ?3)
         ON CONFLICT(project_dir) DO UPDATE SET spec_path = excluded.spec_path, attached_at = excluded.attached_at",
        params![
            project_dir.to_string_lossy(),
            spec_path.to_string_lossy(),
            now_ms
        ],
    )?;
    Ok(())
}

/// Detaches the epic of exactly `project_dir`, forgetting its checks;
/// returns whether there was one.
pub fn detach_epic(transaction: &Transaction<'_>, project_dir: &Path) -> rusqlite::Result<bool> {
    let key = project_dir.to_string_lossy();
    let removed = transaction.execute("DELETE FROM epics WHERE project_dir = ?1", [&key])?;
    check_store::forget(transaction, &key)?;
    Ok(removed > 0)
}

/// The epic in force for a hook, when mission mode is on.
fn mission_epic(
    context: &HookContext<'_>,
    session: &SessionContext,
) -> anyhow::Result<Option<Epic>> {
    if !context.control.is_active() || !context.config.momentum.enabled {
        return Ok(None);
    }
    Ok(find_epic(context.store.connection(), &session.project_dir)?)
}

/// SessionStart: tells the model about the mission. Returns the context
/// to add (the hook sends it as `additionalContext`), if any.
pub fn on_session_start(
    context: &mut HookContext<'_>,
    event: &Event,
) -> anyhow::Result<Option<String>> {
    let session = event.session();
    let Some(epic) = mission_epic(context, session)? else {
        return Ok(None);
    };
    let spec = match spec::read(&epic.spec_path) {
        Ok(spec) => spec,
        Err(error) => {
            tracing::warn!(
                session = session.session_id,
                "mission mode without context: {error}"
            );
            return Ok(None);
        }
    };
    let mut text = session_start_context(
        &epic.spec_path.to_string_lossy(),
        &spec,
        &context.config.momentum,
    );
    let approved = check_store::approved(context.store.connection(), &epic.project_dir)?;
    if !approved.is_empty() {
        text.push_str(&checks_context(approved.len()));
    }
    tracing::info!(
        session = session.session_id,
        spec = %epic.spec_path.display(),
        open = spec.open(),
        "mission mode: context injected"
    );
    Ok(Some(text))
}

/// The `additionalContext` of a mission's SessionStart.
pub fn session_start_context(spec_path: &str, spec: &Spec, config: &MomentumConfig) -> String {
    format!(
        "pace-maker mission mode: this project has an epic attached, {spec_path}. \
         {open} of {total} acceptance criteria in it are open. \
         Work until every criterion is met. When you have met one, tick it in that file \
         (change `- [ ]` to `- [x]`); the file is re-read at every stop, and the session is \
         not allowed to stop while a criterion is open. \
         When every criterion is ticked, say `{complete}`. \
         If you cannot go on without a person (missing access, a decision only they can make), \
         end your reply with `{blocked} <the reason>`.",
        open = spec.open(),
        total = spec.total(),
        complete = config.complete_phrase,
        blocked = config.blocked_phrase,
    )
}

/// What SessionStart adds when some criteria have checks.
pub fn checks_context(checks: usize) -> String {
    format!(
        " {checks} of the criteria have a check command (in a `<!-- check: ... -->` comment): \
         a ticked criterion counts only once its check passes, and the stop hook runs the checks \
         of the criteria you ticked; run them yourself before you tick."
    )
}

/// What the Stop hook answers; the hook turns it into Claude Code's JSON.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StopReply {
    /// Let the session stop, saying nothing.
    Allow,
    /// Let it stop, and tell the person why (a breaker let it go with
    /// criteria open).
    AllowSaying(String),
    /// Send the session back to work, for this reason (the model reads it).
    Block(String),
}

/// Stop: allow, or send the session back to work.
pub fn on_stop(context: &mut HookContext<'_>, event: &Event) -> anyhow::Result<StopReply> {
    let Event::Stop {
        session,
        stop_hook_active,
        last_assistant_message,
    } = event
    else {
        return Ok(StopReply::Allow);
    };
    let Some(epic) = mission_epic(context, session)? else {
        return Ok(StopReply::Allow);
    };
    let config = &context.config.momentum;
    let parsed = spec::read(&epic.spec_path);
    let spec_state = match &parsed {
        Ok(spec) => SpecState::Parsed(spec),
        Err(spec::SpecError::Missing { .. }) => SpecState::Missing,
        Err(spec::SpecError::Unreadable { .. } | spec::SpecError::TooLarge { .. }) => {
            SpecState::Unreadable
        }
    };
    if let Err(error) = &parsed {
        tracing::warn!(session = session.session_id, "{error}; the stop is allowed");
    }
    // Checks only where the person approved some; none: as before checks.
    let approved = match &parsed {
        Ok(_) => check_store::approved(context.store.connection(), &epic.project_dir)?,
        Err(_) => Vec::new(),
    };
    // The transcript matters only while criteria are open, or checks may
    // take a tick back.
    let transcript = match &parsed {
        Ok(spec) if spec.open() > 0 || !approved.is_empty() => {
            read_transcript(session, config.transcript_tail_bytes)
        }
        _ => TranscriptFacts::default(),
    };
    let spec_path = epic.spec_path.to_string_lossy();
    let limits = BlockLimits {
        max_consecutive_blocks: config.max_consecutive_blocks,
        max_blocks_per_session: config.max_blocks_per_session,
        max_blocking_ms: i64::try_from(config.max_blocking_minutes.saturating_mul(60_000))
            .unwrap_or(i64::MAX),
    };
    let phrases = Phrases {
        complete: &config.complete_phrase,
        blocked: &config.blocked_phrase,
    };
    let now_ms = context.now_ms;
    let input = |counters: Counters, checks: &[Unmet]| {
        verdict::decide(&StopInput {
            mission: Some(Mission {
                spec_path: &spec_path,
                spec: spec_state,
            }),
            last_assistant_message: last_assistant_message.as_deref(),
            transcript: &transcript,
            counters,
            limits,
            phrases,
            now_ms,
            checks,
        })
    };
    let (unmet, results) = match &parsed {
        Ok(spec) if !approved.is_empty() => {
            let message = last_assistant_message
                .as_deref()
                .or(transcript.last_assistant_text.as_deref())
                .unwrap_or("");
            let counters = crate::sessions::momentum_counters(
                context.store.connection(),
                &session.session_id,
            )?;
            let would = |unmet: &[Unmet]| input(counters, unmet).decision;
            checks_at_stop(context, &epic, spec, &approved, message, would)?
        }
        _ => (Vec::new(), Vec::new()),
    };
    let verdict = context.store.write(|transaction| {
        for result in &results {
            check_store::record(transaction, &epic.project_dir, result)?;
        }
        let counters = crate::sessions::momentum_counters(transaction, &session.session_id)?;
        let verdict = input(counters, &unmet);
        if verdict.counters != counters {
            crate::sessions::set_momentum_counters(
                transaction,
                &session.session_id,
                &verdict.counters,
            )?;
        }
        Ok(verdict)
    })?;
    match verdict.decision {
        StopDecision::Block { reason } => {
            tracing::info!(
                session = session.session_id,
                stop_hook_active,
                blocks = verdict.counters.momentum_blocks,
                in_a_row = verdict.counters.consecutive_blocks,
                open = verdict.counters.last_open_criteria,
                "momentum: stop blocked"
            );
            Ok(StopReply::Block(reason))
        }
        StopDecision::Allow(allow) => {
            tracing::info!(
                session = session.session_id,
                stop_hook_active,
                "momentum: stop allowed: {}",
                allow.describe()
            );
            if allow.is_breaker() {
                let open = verdict.counters.last_open_criteria.unwrap_or(0);
                return Ok(StopReply::AllowSaying(format!(
                    "pace-maker let the session stop with {open} acceptance criteria open: {}.",
                    allow.describe()
                )));
            }
            Ok(StopReply::Allow)
        }
    }
}

/// The checks at one stop: which ticked criteria's checks do not count as
/// passed, and the results of the checks run (to record). `would` is the
/// verdict for a list of unmet checks, to tell whether running any could
/// matter. See [`checks`] for when checks run.
fn checks_at_stop(
    context: &HookContext<'_>,
    epic: &Epic,
    spec: &Spec,
    approved: &[Approved],
    message: &str,
    would: impl Fn(&[Unmet]) -> StopDecision,
) -> anyhow::Result<(Vec<Unmet>, Vec<CheckResult>)> {
    let config = &context.config.momentum;
    let connection = context.store.connection();
    let plan = checks::plan(spec, approved);
    for (line, command) in &plan.unapproved {
        tracing::info!(
            line,
            command,
            "check not run: not approved when the epic was attached (`pace-maker epic attach` approves it)"
        );
    }
    let mut unmet = checks::missing_as_unmet(&plan.missing);
    if plan.due.is_empty() {
        return Ok((unmet, Vec::new()));
    }
    let mut latest = Vec::with_capacity(plan.due.len());
    for due in &plan.due {
        latest.push(check_store::latest(
            connection,
            &epic.project_dir,
            &due.check,
        )?);
    }
    let unverified = latest
        .iter()
        .any(|result| !result.as_ref().is_some_and(CheckResult::passed));
    let triggered = unverified || spec.open() == 0 || message.contains(&config.complete_phrase);
    if !triggered {
        return Ok((unmet, Vec::new()));
    }
    // A stop the verdict allows whatever the checks say needs none of them.
    if let StopDecision::Allow(allow) = would(&unmet) {
        if allow != Allow::AllCriteriaMet {
            tracing::info!(
                "checks not run: the stop is allowed anyway ({})",
                allow.describe()
            );
            return Ok((unmet, Vec::new()));
        }
    }
    let project_dir = Path::new(&epic.project_dir);
    let state = project_state::take(project_dir, &epic.spec_path);
    if let project_state::ProjectState::Unknown(why) = &state {
        tracing::info!("the project's state is unknown ({why}): every due check runs");
    }
    let deadlines = checks::Deadlines {
        per_check: Duration::from_secs(config.check_timeout_seconds),
        stop_ends: context.started
            + Duration::from_secs(
                context
                    .config
                    .hooks
                    .stop_timeout_seconds
                    .saturating_sub(HOOK_TIMEOUT_MARGIN_SECONDS),
            ),
    };
    let mut results = Vec::new();
    for due in &plan.due {
        let unmet_because = |why: Why| Unmet {
            criterion: due.criterion.text.clone(),
            line: Some(due.criterion.line),
            command: due.check.command.clone(),
            why,
        };
        let known = match state.digest() {
            Some(digest) => {
                check_store::latest_at_state(connection, &epic.project_dir, &due.check, digest)?
            }
            None => None,
        };
        if let Some(result) = known {
            tracing::debug!(
                command = due.check.command,
                passed = result.passed(),
                "check not run again: the project has not changed since its result"
            );
            if !result.passed() {
                unmet.push(unmet_because(Why::Result {
                    result,
                    reused: true,
                }));
            }
            continue;
        }
        let now_ms = crate::clock::now_ms();
        match checks::run(&due.check, project_dir, &state, deadlines, now_ms) {
            Some(result) => {
                tracing::info!(
                    line = due.criterion.line,
                    command = due.check.command,
                    outcome = ?result.outcome,
                    exit_code = ?result.exit_code,
                    duration_ms = result.duration_ms,
                    "check ran"
                );
                if !result.passed() {
                    unmet.push(unmet_because(Why::Result {
                        result: result.clone(),
                        reused: false,
                    }));
                }
                results.push(result);
            }
            None => {
                tracing::info!(
                    command = due.check.command,
                    "check not run: the stop's time is spent; it runs at the next stop"
                );
                unmet.push(unmet_because(Why::NotRunYet));
            }
        }
    }
    // What the checks themselves wrote (build output git does not ignore,
    // any file outside git) is no change of the project: their results
    // count at the state they left too.
    if !results.is_empty() {
        if let Some(before) = state.digest() {
            let after = project_state::take(project_dir, &epic.spec_path);
            if let Some(after) = after.digest().filter(|after| *after != before) {
                for result in &mut results {
                    result.state_after = Some(after.to_string());
                }
            }
        }
    }
    Ok((unmet, results))
}

/// The transcript's facts; an unreadable transcript yields none (and a log line).
fn read_transcript(session: &SessionContext, budget: u64) -> TranscriptFacts {
    if session.transcript_path.as_os_str().is_empty() {
        return TranscriptFacts::default();
    }
    match transcript_tail::read_facts(&session.transcript_path, budget) {
        Ok(facts) => facts,
        Err(error) if error.kind() == std::io::ErrorKind::InvalidInput => {
            tracing::warn!(
                path = %session.transcript_path.display(),
                "the transcript is not a regular file; not read: {error}"
            );
            TranscriptFacts::default()
        }
        Err(error) => {
            tracing::debug!(
                path = %session.transcript_path.display(),
                "cannot read the transcript: {error}"
            );
            TranscriptFacts::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Store;
    use std::time::Duration;

    #[test]
    fn an_epic_is_found_from_a_subfolder_and_detached() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("db"), Duration::from_secs(1)).unwrap();
        store
            .write(|tx| {
                attach_epic(
                    tx,
                    Path::new("/work/repo"),
                    Path::new("/work/repo/epic.md"),
                    5,
                )
            })
            .unwrap();
        let found = find_epic(store.connection(), Path::new("/work/repo/src/deep"))
            .unwrap()
            .unwrap();
        assert_eq!(found.spec_path, PathBuf::from("/work/repo/epic.md"));
        assert_eq!(found.attached_at_ms, 5);
        assert!(find_epic(store.connection(), Path::new("/work/other"))
            .unwrap()
            .is_none());
        assert!(find_epic(store.connection(), Path::new("/work"))
            .unwrap()
            .is_none());
        assert!(store
            .write(|tx| detach_epic(tx, Path::new("/work/repo")))
            .unwrap());
        assert!(!store
            .write(|tx| detach_epic(tx, Path::new("/work/repo")))
            .unwrap());
        assert!(find_epic(store.connection(), Path::new("/work/repo"))
            .unwrap()
            .is_none());
    }

    #[test]
    fn the_session_start_context_names_the_spec_the_count_and_the_phrases() {
        let spec = spec::parse("# Acceptance criteria\n- [ ] a\n- [x] b\n- [ ] c\n");
        let config = crate::config::Config::default().momentum;
        let text = session_start_context("/p/epic.md", &spec, &config);
        assert!(text.contains("/p/epic.md"), "{text}");
        assert!(text.contains("2 of 3 acceptance criteria"), "{text}");
        assert!(text.contains("`- [x]`"), "{text}");
        assert!(text.contains("`MISSION COMPLETE`"), "{text}");
        assert!(text.contains("`MISSION BLOCKED: <the reason>`"), "{text}");
    }

    #[test]
    fn the_session_start_context_says_how_checks_count_when_there_are_some() {
        let text = checks_context(2);
        assert!(
            text.contains("2 of the criteria have a check command"),
            "{text}"
        );
        assert!(text.contains("counts only once its check passes"), "{text}");
    }

    #[test]
    fn progress_counts_a_ticked_criterion_verified_once_every_check_passed() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("db"), Duration::from_secs(1)).unwrap();
        let spec = spec::parse(
            "- [x] a <!-- check: x --> <!-- check: y -->\n- [x] b <!-- check: z -->\n- [ ] c <!-- check: w -->\n- [x] d\n",
        );
        let approved = checks::requested(&spec);
        store
            .write(|tx| check_store::approve(tx, "/p", &approved, 1))
            .unwrap();
        let pass = |check: &Approved, passed: bool| CheckResult {
            criterion: check.criterion.clone(),
            command: check.command.clone(),
            state: None,
            state_after: None,
            outcome: if passed {
                check_store::Outcome::Passed
            } else {
                check_store::Outcome::Failed
            },
            exit_code: Some(i32::from(!passed)),
            signal: None,
            duration_ms: 1,
            output: String::new(),
            ran_at_ms: 2,
        };
        // a: x passed, y failed; b: z passed; c is not ticked.
        for (check, passed) in approved.iter().zip([true, false, true, true]) {
            store
                .write(|tx| check_store::record(tx, "/p", &pass(check, passed)))
                .unwrap();
        }
        assert_eq!(
            progress(store.connection(), "/p", &spec).unwrap(),
            Progress {
                verified: 1,
                ticked: 3,
                total: 4,
                with_checks: 3
            }
        );
    }

    #[test]
    fn counters_round_trip_through_the_store() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("db"), Duration::from_secs(1)).unwrap();
        let session = SessionContext {
            session_id: "s".into(),
            transcript_path: PathBuf::new(),
            cwd: PathBuf::from("/p"),
            project_dir: PathBuf::from("/p"),
        };
        store
            .write(|tx| crate::sessions::touch(tx, &session, 1))
            .unwrap();
        store
            .write(|tx| crate::sessions::record_tool_call(tx, &session, "Bash", None, 2))
            .unwrap();
        let counters = Counters {
            momentum_blocks: 4,
            consecutive_blocks: 2,
            tool_calls: 99,
            tool_calls_at_last_block: Some(1),
            blocking_since: Some(10),
            last_block_at: Some(20),
            last_open_criteria: Some(3),
        };
        store
            .write(|tx| crate::sessions::set_momentum_counters(tx, "s", &counters))
            .unwrap();
        let read = store
            .write(|tx| crate::sessions::momentum_counters(tx, "s"))
            .unwrap();
        assert_eq!(
            read,
            Counters {
                tool_calls: 1,
                ..counters
            }
        );
        assert_eq!(
            store
                .write(|tx| crate::sessions::momentum_counters(tx, "none"))
                .unwrap(),
            Counters::default()
        );
    }
}
