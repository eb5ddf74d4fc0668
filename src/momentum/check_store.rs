//! The store's record of criterion checks: which commands the person
//! approved when they attached the epic, and what each run found. Every
//! statement on the `epic_checks` and `check_results` tables is in this
//! module.
//!
//! A result is filed under the project's state when it ran (and the state
//! it left behind: a check's own writes, build output outside
//! `.gitignore`, are no change of the project), so a stop on an unchanged
//! project finds the result instead of running the check again. Each
//! check keeps its newest [`KEPT_RESULTS`] results; detaching the epic
//! forgets them with the approvals.

use rusqlite::{params, Connection, OptionalExtension, Transaction};
use serde::Serialize;

/// Results kept per check (the newest).
pub const KEPT_RESULTS: i64 = 20;

/// A check the person approved: a criterion's text and its command.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Approved {
    pub criterion: String,
    pub command: String,
}

/// How a check's run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Outcome {
    /// Exit code 0.
    Passed,
    /// Any other exit code, or a signal.
    Failed,
    /// Killed at `momentum.check_timeout_seconds`.
    TimedOut,
    /// It could not be started (no such program, a command that does not
    /// split into words).
    NotStarted,
}

impl Outcome {
    fn as_str(self) -> &'static str {
        match self {
            Outcome::Passed => "passed",
            Outcome::Failed => "failed",
            Outcome::TimedOut => "timed-out",
            Outcome::NotStarted => "not-started",
        }
    }

    fn parse(text: &str) -> Self {
        match text {
            "passed" => Outcome::Passed,
            "timed-out" => Outcome::TimedOut,
            "not-started" => Outcome::NotStarted,
            _ => Outcome::Failed,
        }
    }
}

/// One run of one check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CheckResult {
    pub criterion: String,
    pub command: String,
    /// The project's state it started from; `None` when unknown.
    pub state: Option<String>,
    /// The state it left, when that differs.
    pub state_after: Option<String>,
    pub outcome: Outcome,
    pub exit_code: Option<i32>,
    pub signal: Option<i32>,
    pub duration_ms: i64,
    /// The last lines of what it printed (or why it could not start).
    pub output: String,
    pub ran_at_ms: i64,
}

impl CheckResult {
    pub fn passed(&self) -> bool {
        self.outcome == Outcome::Passed
    }
}

/// Replaces the approved checks of the epic of `project_dir`.
pub fn approve(
    transaction: &Transaction<'_>,
    project_dir: &str,
    checks: &[Approved],
    now_ms: i64,
) -> rusqlite::Result<()> {
    transaction.execute(
        "DELETE FROM epic_checks WHERE project_dir = ?1",
        [project_dir],
    )?;
    let mut insert = transaction.prepare_cached(
        "INSERT OR IGNORE INTO epic_checks (project_dir, criterion, command, approved_at)
         VALUES (?1, ?2, ?3, ?4)",
    )?;
    for check in checks {
        insert.execute(params![project_dir, check.criterion, check.command, now_ms])?;
    }
    Ok(())
}

/// Forgets the approvals and results of the epic of `project_dir`.
pub fn forget(transaction: &Transaction<'_>, project_dir: &str) -> rusqlite::Result<()> {
    transaction.execute(
        "DELETE FROM epic_checks WHERE project_dir = ?1",
        [project_dir],
    )?;
    transaction.execute(
        "DELETE FROM check_results WHERE project_dir = ?1",
        [project_dir],
    )?;
    Ok(())
}

/// The approved checks of the epic of `project_dir`.
pub fn approved(connection: &Connection, project_dir: &str) -> rusqlite::Result<Vec<Approved>> {
    let mut statement = connection.prepare_cached(
        "SELECT criterion, command FROM epic_checks WHERE project_dir = ?1
         ORDER BY criterion, command",
    )?;
    let rows = statement.query_map([project_dir], |row| {
        Ok(Approved {
            criterion: row.get(0)?,
            command: row.get(1)?,
        })
    })?;
    rows.collect()
}

const RESULT_COLUMNS: &str = "criterion, command, state, state_after, outcome, exit_code, signal,
    duration_ms, output, ran_at";

fn result_from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<CheckResult> {
    Ok(CheckResult {
        criterion: row.get(0)?,
        command: row.get(1)?,
        state: row.get(2)?,
        state_after: row.get(3)?,
        outcome: Outcome::parse(&row.get::<_, String>(4)?),
        exit_code: row.get(5)?,
        signal: row.get(6)?,
        duration_ms: row.get(7)?,
        output: row.get(8)?,
        ran_at_ms: row.get(9)?,
    })
}

/// The newest result of a check.
pub fn latest(
    connection: &Connection,
    project_dir: &str,
    check: &Approved,
) -> rusqlite::Result<Option<CheckResult>> {
    connection
        .prepare_cached(&format!(
            "SELECT {RESULT_COLUMNS} FROM check_results
             WHERE project_dir = ?1 AND criterion = ?2 AND command = ?3
             ORDER BY ran_at DESC, id DESC LIMIT 1"
        ))?
        .query_row(
            params![project_dir, check.criterion, check.command],
            result_from_row,
        )
        .optional()
}

/// The newest result of a check at the project's state `state` (it
/// started from that state, or left the project in it).
pub fn latest_at_state(
    connection: &Connection,
    project_dir: &str,
    check: &Approved,
    state: &str,
) -> rusqlite::Result<Option<CheckResult>> {
    connection
        .prepare_cached(&format!(
            "SELECT {RESULT_COLUMNS} FROM check_results
             WHERE project_dir = ?1 AND criterion = ?2 AND command = ?3
               AND (state = ?4 OR state_after = ?4)
             ORDER BY ran_at DESC, id DESC LIMIT 1"
        ))?
        .query_row(
            params![project_dir, check.criterion, check.command, state],
            result_from_row,
        )
        .optional()
}

/// Records a result and drops the check's results past the newest
/// [`KEPT_RESULTS`].
pub fn record(
    transaction: &Transaction<'_>,
    project_dir: &str,
    result: &CheckResult,
) -> rusqlite::Result<()> {
    transaction
        .prepare_cached(
            "INSERT INTO check_results (project_dir, criterion, command, state, state_after,
                outcome, exit_code, signal, duration_ms, output, ran_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
        )?
        .execute(params![
            project_dir,
            result.criterion,
            result.command,
            result.state,
            result.state_after,
            result.outcome.as_str(),
            result.exit_code,
            result.signal,
            result.duration_ms,
            result.output,
            result.ran_at_ms,
        ])?;
    transaction
        .prepare_cached(
            "DELETE FROM check_results
             WHERE project_dir = ?1 AND criterion = ?2 AND command = ?3 AND id NOT IN (
                SELECT id FROM check_results
                WHERE project_dir = ?1 AND criterion = ?2 AND command = ?3
                ORDER BY ran_at DESC, id DESC LIMIT ?4)",
        )?
        .execute(params![
            project_dir,
            result.criterion,
            result.command,
            KEPT_RESULTS
        ])?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Store;
    use std::time::Duration;

    fn store() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("db"), Duration::from_secs(1)).unwrap();
        (dir, store)
    }

    fn check(criterion: &str, command: &str) -> Approved {
        Approved {
            criterion: criterion.into(),
            command: command.into(),
        }
    }

    fn result(check: &Approved, state: &str, outcome: Outcome, at: i64) -> CheckResult {
        CheckResult {
            criterion: check.criterion.clone(),
            command: check.command.clone(),
            state: Some(state.into()),
            state_after: None,
            outcome,
            exit_code: Some(if outcome == Outcome::Passed { 0 } else { 1 }),
            signal: None,
            duration_ms: 12,
            output: format!("ran at {at}"),
            ran_at_ms: at,
        }
    }

    #[test]
    fn approvals_are_replaced_whole_and_forgotten_with_the_results() {
        let (_dir, mut store) = store();
        let (a, b) = (check("a", "cargo test a"), check("b", "make b"));
        store
            .write(|tx| approve(tx, "/p", &[a.clone(), b.clone()], 1))
            .unwrap();
        store
            .write(|tx| approve(tx, "/other", std::slice::from_ref(&a), 1))
            .unwrap();
        assert_eq!(
            approved(store.connection(), "/p").unwrap(),
            [a.clone(), b.clone()]
        );
        store
            .write(|tx| approve(tx, "/p", std::slice::from_ref(&b), 2))
            .unwrap();
        assert_eq!(
            approved(store.connection(), "/p").unwrap(),
            std::slice::from_ref(&b)
        );
        store
            .write(|tx| record(tx, "/p", &result(&b, "s1", Outcome::Passed, 5)))
            .unwrap();
        store.write(|tx| forget(tx, "/p")).unwrap();
        assert!(approved(store.connection(), "/p").unwrap().is_empty());
        assert_eq!(latest(store.connection(), "/p", &b).unwrap(), None);
        assert_eq!(approved(store.connection(), "/other").unwrap(), [a]);
    }

    #[test]
    fn the_newest_result_and_the_newest_at_a_state_are_found() {
        let (_dir, mut store) = store();
        let a = check("a", "cargo test a");
        let passed = result(&a, "s1", Outcome::Passed, 10);
        let failed = CheckResult {
            state_after: Some("s3".into()),
            ..result(&a, "s2", Outcome::Failed, 20)
        };
        for one in [&passed, &failed] {
            store.write(|tx| record(tx, "/p", one)).unwrap();
        }
        let connection = store.connection();
        assert_eq!(latest(connection, "/p", &a).unwrap(), Some(failed.clone()));
        assert_eq!(
            latest_at_state(connection, "/p", &a, "s1").unwrap(),
            Some(passed)
        );
        assert_eq!(
            latest_at_state(connection, "/p", &a, "s3").unwrap(),
            Some(failed)
        );
        assert_eq!(latest_at_state(connection, "/p", &a, "s9").unwrap(), None);
        assert_eq!(
            latest(connection, "/p", &check("a", "other")).unwrap(),
            None
        );
    }

    #[test]
    fn only_the_newest_results_of_a_check_are_kept() {
        let (_dir, mut store) = store();
        let a = check("a", "x");
        let b = check("b", "y");
        store
            .write(|tx| record(tx, "/p", &result(&b, "s", Outcome::Passed, 1)))
            .unwrap();
        for at in 0..KEPT_RESULTS + 5 {
            store
                .write(|tx| {
                    record(
                        tx,
                        "/p",
                        &result(&a, &format!("s{at}"), Outcome::Failed, at),
                    )
                })
                .unwrap();
        }
        let count = |criterion: &str| -> i64 {
            store
                .connection()
                .query_row(
                    "SELECT count(*) FROM check_results WHERE criterion = ?1",
                    [criterion],
                    |row| row.get(0),
                )
                .unwrap()
        };
        assert_eq!(count("a"), KEPT_RESULTS);
        assert_eq!(count("b"), 1);
        assert_eq!(
            latest_at_state(store.connection(), "/p", &a, "s0").unwrap(),
            None
        );
        assert!(latest_at_state(
            store.connection(),
            "/p",
            &a,
            &format!("s{}", KEPT_RESULTS + 4)
        )
        .unwrap()
        .is_some());
    }
}
