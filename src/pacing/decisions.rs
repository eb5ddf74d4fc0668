//! The `pacing_decisions` table: every PostToolUse's decision, written by
//! [`super::apply`], read by the dashboard, `history` and the status line.
//! Its SQL is here and nowhere else.

use rusqlite::{params, Connection, OptionalExtension, Transaction};

/// One pacing decision.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct DecisionRow {
    pub session_id: Option<String>,
    pub decided_at_ms: i64,
    pub delay_ms: i64,
    pub window: Option<String>,
    pub utilization: Option<f64>,
    pub projected_percent: Option<f64>,
    pub target_percent: Option<f64>,
    pub reason: String,
}

/// A decision to record.
#[derive(Debug, Clone, Copy)]
pub struct NewDecision<'a> {
    pub session_id: &'a str,
    pub decided_at_ms: i64,
    pub delay_ms: i64,
    pub window: Option<&'a str>,
    pub utilization: Option<f64>,
    pub projected_percent: Option<f64>,
    pub target_percent: Option<f64>,
    pub reason: &'a str,
}

/// Records one decision.
pub fn insert(transaction: &Transaction<'_>, decision: &NewDecision<'_>) -> rusqlite::Result<()> {
    transaction.execute(
        "INSERT INTO pacing_decisions (session_id, decided_at, delay_ms, window,
            utilization, projected_percent, target_percent, reason)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        params![
            decision.session_id,
            decision.decided_at_ms,
            decision.delay_ms,
            decision.window,
            decision.utilization,
            decision.projected_percent,
            decision.target_percent,
            decision.reason
        ],
    )?;
    Ok(())
}

const DECISION_COLUMNS: &str = "session_id, decided_at, delay_ms, window, utilization,
    projected_percent, target_percent, reason";

fn decision_from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<DecisionRow> {
    Ok(DecisionRow {
        session_id: row.get(0)?,
        decided_at_ms: row.get(1)?,
        delay_ms: row.get(2)?,
        window: row.get(3)?,
        utilization: row.get(4)?,
        projected_percent: row.get(5)?,
        target_percent: row.get(6)?,
        reason: row.get(7)?,
    })
}

/// The newest decisions, newest first.
pub fn recent_decisions(
    connection: &Connection,
    limit: usize,
) -> rusqlite::Result<Vec<DecisionRow>> {
    let mut statement = connection.prepare_cached(&format!(
        "SELECT {DECISION_COLUMNS} FROM pacing_decisions ORDER BY decided_at DESC, id DESC LIMIT ?1"
    ))?;
    let rows = statement.query_map([limit as i64], decision_from_row)?;
    rows.collect()
}

/// Decisions in `[since_ms, until_ms)`, oldest first.
pub fn decisions_between(
    connection: &Connection,
    since_ms: i64,
    until_ms: i64,
) -> rusqlite::Result<Vec<DecisionRow>> {
    let mut statement = connection.prepare_cached(&format!(
        "SELECT {DECISION_COLUMNS} FROM pacing_decisions
         WHERE decided_at >= ?1 AND decided_at < ?2 ORDER BY decided_at, id"
    ))?;
    let rows = statement.query_map([since_ms, until_ms], decision_from_row)?;
    rows.collect()
}

/// The query of [`last_delay`] (its plan is tested).
fn last_delay_sql() -> String {
    format!(
        "SELECT {DECISION_COLUMNS} FROM pacing_decisions WHERE delay_ms > 0
         ORDER BY decided_at DESC, id DESC LIMIT 1"
    )
}

/// The newest decision that added a delay.
pub fn last_delay(connection: &Connection) -> rusqlite::Result<Option<DecisionRow>> {
    connection
        .prepare_cached(&last_delay_sql())?
        .query_row([], decision_from_row)
        .optional()
}

/// The delays decided since `since_ms`, summed.
pub fn delay_since(connection: &Connection, since_ms: i64) -> rusqlite::Result<i64> {
    connection
        .prepare_cached(
            "SELECT COALESCE(SUM(delay_ms), 0) FROM pacing_decisions WHERE decided_at >= ?1",
        )?
        .query_row([since_ms], |row| row.get(0))
}

/// The latest decision made at or after `since_ms`: its delay and the
/// window that decided it (`None` when no window did).
pub fn latest_since(
    connection: &Connection,
    since_ms: i64,
) -> rusqlite::Result<Option<(i64, Option<String>)>> {
    connection
        .query_row(
            "SELECT delay_ms, window FROM pacing_decisions WHERE decided_at >= ?1
             ORDER BY decided_at DESC, id DESC LIMIT 1",
            [since_ms],
            |row| Ok((row.get(0)?, row.get(1)?)),
        )
        .optional()
}

/// Deletes the decisions made before `cutoff_ms` (the retention sweep,
/// `retention::prune`); returns how many.
pub fn prune_before(transaction: &Transaction<'_>, cutoff_ms: i64) -> rusqlite::Result<usize> {
    transaction.execute(
        "DELETE FROM pacing_decisions WHERE decided_at < ?1",
        [cutoff_ms],
    )
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::store::Store;

    #[test]
    fn the_last_delay_is_found_through_the_partial_index() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("db"), Duration::from_secs(1)).unwrap();
        let plan: Vec<String> = store
            .connection()
            .prepare(&format!("EXPLAIN QUERY PLAN {}", last_delay_sql()))
            .unwrap()
            .query_map([], |row| row.get::<_, String>(3))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        assert!(
            plan.iter()
                .any(|step| step.contains("pacing_decisions_delayed")),
            "{plan:?}"
        );
    }
}
