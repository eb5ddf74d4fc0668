//! The store: one SQLite file in the tool home, shared by every hook process.
//!
//! Many hook processes run at once (parallel sessions, parallel hooks of one
//! event), each for a few milliseconds. WAL mode lets readers go on while one
//! writer writes; every write runs in a `BEGIN IMMEDIATE` transaction, so a
//! writer takes the lock before it reads and the busy timeout (config
//! `store.busy_timeout_ms`) queues it instead of failing with a lost update.
//! The schema is versioned with `PRAGMA user_version`; each migration runs
//! once, inside the same kind of transaction, by whichever process gets
//! there first.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;
use rusqlite::{Connection, OptionalExtension, Transaction, TransactionBehavior};

use crate::hint::HintExt;
use crate::paths;

/// The schema, one entry per version. Append only: never edit a released step.
const MIGRATIONS: &[&str] = &[
    // 1: sessions, tool calls, usage snapshots, pacing decisions, API state,
    //    controls, epics, hook events, maintenance metadata.
    r#"
    CREATE TABLE sessions (
        id TEXT PRIMARY KEY,
        project_dir TEXT NOT NULL DEFAULT '',
        transcript_path TEXT NOT NULL DEFAULT '',
        source TEXT,
        model TEXT,
        started_at INTEGER NOT NULL,
        last_activity_at INTEGER NOT NULL,
        last_prompt_at INTEGER,
        ended_at INTEGER,
        end_reason TEXT,
        tool_calls INTEGER NOT NULL DEFAULT 0,
        tool_time_ms INTEGER NOT NULL DEFAULT 0,
        delay_ms_total INTEGER NOT NULL DEFAULT 0,
        momentum_blocks INTEGER NOT NULL DEFAULT 0,
        consecutive_blocks INTEGER NOT NULL DEFAULT 0,
        tool_calls_at_last_block INTEGER,
        blocking_since INTEGER,
        last_block_at INTEGER,
        last_open_criteria INTEGER
    );
    CREATE INDEX sessions_last_activity ON sessions(last_activity_at);
    CREATE TABLE tool_calls (
        id INTEGER PRIMARY KEY,
        session_id TEXT NOT NULL,
        at INTEGER NOT NULL,
        tool_name TEXT NOT NULL,
        duration_ms INTEGER
    );
    CREATE INDEX tool_calls_session_at ON tool_calls(session_id, at);
    CREATE INDEX tool_calls_at ON tool_calls(at);
    CREATE TABLE hook_events (
        id INTEGER PRIMARY KEY,
        session_id TEXT NOT NULL,
        event TEXT NOT NULL,
        at INTEGER NOT NULL
    );
    CREATE INDEX hook_events_at ON hook_events(at);
    CREATE INDEX hook_events_session ON hook_events(session_id, event);
    CREATE TABLE usage_snapshots (
        id INTEGER PRIMARY KEY,
        source TEXT NOT NULL,
        taken_at INTEGER NOT NULL,
        five_hour_percent REAL,
        five_hour_resets_at INTEGER,
        seven_day_percent REAL,
        seven_day_resets_at INTEGER,
        seven_day_opus_percent REAL,
        seven_day_opus_resets_at INTEGER,
        seven_day_sonnet_percent REAL,
        seven_day_sonnet_resets_at INTEGER,
        raw_json TEXT
    );
    CREATE INDEX usage_snapshots_taken_at ON usage_snapshots(taken_at);
    CREATE TABLE pacing_decisions (
        id INTEGER PRIMARY KEY,
        session_id TEXT,
        decided_at INTEGER NOT NULL,
        delay_ms INTEGER NOT NULL,
        window TEXT,
        utilization REAL,
        projected_percent REAL,
        target_percent REAL,
        reason TEXT NOT NULL
    );
    CREATE INDEX pacing_decisions_at ON pacing_decisions(decided_at);
    CREATE TABLE api_state (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        state TEXT NOT NULL DEFAULT 'unknown',
        lease_owner INTEGER,
        lease_until INTEGER,
        last_attempt_at INTEGER,
        last_success_at INTEGER,
        backoff_until INTEGER,
        failures INTEGER NOT NULL DEFAULT 0,
        last_error TEXT,
        credentials_fingerprint TEXT
    );
    INSERT INTO api_state (id) VALUES (1);
    CREATE TABLE controls (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        mode TEXT NOT NULL DEFAULT 'on',
        paused_until INTEGER,
        changed_at INTEGER
    );
    INSERT INTO controls (id) VALUES (1);
    CREATE TABLE epics (
        project_dir TEXT PRIMARY KEY,
        spec_path TEXT NOT NULL,
        attached_at INTEGER NOT NULL
    );
    CREATE TABLE meta (
        key TEXT PRIMARY KEY,
        value TEXT
    );
    "#,
    // 2: local usage: transcript files read so far, the usage entries read
    //    from them (in chunks), and the estimate's calibration.
    r#"
    CREATE TABLE transcript_files (
        id INTEGER PRIMARY KEY,
        path TEXT NOT NULL UNIQUE,
        project TEXT NOT NULL,
        session_id TEXT NOT NULL,
        device INTEGER NOT NULL,
        inode INTEGER NOT NULL,
        size INTEGER NOT NULL,
        offset INTEGER NOT NULL,
        modified_ns INTEGER NOT NULL,
        tail_hash INTEGER NOT NULL,
        scanned_at INTEGER NOT NULL
    );
    CREATE TABLE transcript_chunks (
        id INTEGER PRIMARY KEY,
        file_id INTEGER NOT NULL,
        start_offset INTEGER NOT NULL,
        end_offset INTEGER NOT NULL,
        min_timestamp INTEGER NOT NULL,
        max_timestamp INTEGER NOT NULL,
        entries INTEGER NOT NULL,
        data BLOB NOT NULL
    );
    CREATE INDEX transcript_chunks_file ON transcript_chunks(file_id, start_offset);
    CREATE INDEX transcript_chunks_max_timestamp ON transcript_chunks(max_timestamp);
    CREATE TABLE usage_calibration (
        plan TEXT NOT NULL,
        window TEXT NOT NULL,
        percent_sum REAL NOT NULL,
        cost_sum REAL NOT NULL,
        samples INTEGER NOT NULL,
        updated_at INTEGER NOT NULL,
        PRIMARY KEY (plan, window)
    );
    "#,
    // 3: the newest delay for `status` without walking every zero-delay
    //    decision (a mission behind its pace records thousands of them).
    r#"
    CREATE INDEX pacing_decisions_delayed ON pacing_decisions(decided_at) WHERE delay_ms > 0;
    "#,
    // 4: each tool call carries the delay its PostToolUse slept, so pacing
    //    reads a session's day of calls from one index range instead of
    //    joining every call against the decisions (45 M instructions a hook
    //    at a heavy day's 5,760 calls, a tenth of that without the join).
    r#"
    ALTER TABLE tool_calls ADD COLUMN delay_ms INTEGER NOT NULL DEFAULT 0;
    UPDATE tool_calls SET delay_ms = COALESCE((
        SELECT MAX(d.delay_ms) FROM pacing_decisions d
        WHERE d.session_id = tool_calls.session_id AND d.decided_at = tool_calls.at
    ), 0);
    DROP INDEX tool_calls_session_at;
    CREATE INDEX tool_calls_session_at ON tool_calls(session_id, at, delay_ms);
    "#,
    // 5: the hook inputs of the last seconds (a handful of rows, so no
    //    index on their time: one less page written per hook), by digest
    //    and the program that ran: when two different commands run pace-maker for one event
    //    (installed through two paths), the second sees the first's and
    //    does nothing, so every call, delay and block is counted once.
    r#"
    CREATE TABLE hook_inputs (
        digest INTEGER NOT NULL,
        program TEXT NOT NULL,
        at INTEGER NOT NULL,
        PRIMARY KEY (digest, program)
    ) WITHOUT ROWID;
    "#,
    // 6: criterion checks: the commands approved when an epic was attached,
    //    and each run's result filed under the project's state
    //    (`momentum::check_store` holds every statement on them).
    r#"
    CREATE TABLE epic_checks (
        project_dir TEXT NOT NULL,
        criterion TEXT NOT NULL,
        command TEXT NOT NULL,
        approved_at INTEGER NOT NULL,
        PRIMARY KEY (project_dir, criterion, command)
    ) WITHOUT ROWID;
    CREATE TABLE check_results (
        id INTEGER PRIMARY KEY,
        project_dir TEXT NOT NULL,
        criterion TEXT NOT NULL,
        command TEXT NOT NULL,
        state TEXT,
        state_after TEXT,
        outcome TEXT NOT NULL,
        exit_code INTEGER,
        signal INTEGER,
        duration_ms INTEGER NOT NULL,
        output TEXT NOT NULL,
        ran_at INTEGER NOT NULL
    );
    CREATE INDEX check_results_check ON check_results(project_dir, criterion, command, ran_at);
    "#,
    // 7: the snapshots' time index carries their source, so a hook thins a
    //    day of readings from the index alone, without a sort.
    r#"
    DROP INDEX usage_snapshots_taken_at;
    CREATE INDEX usage_snapshots_taken_at ON usage_snapshots(taken_at, source);
    "#,
    // 8: each session's calls per ten minutes (`TOOL_CALL_BUCKET_MS`): the
    //    first call's time and the delays slept, kept by triggers on every
    //    insert and delay update, so a hook reads a session's older day as
    //    at most 144 rows however many calls it made (3,000 calls cost a
    //    hook half its instructions when it folded them one by one).
    //    The bucket is `at` divided by the step, rounded down.
    r#"
    CREATE TABLE tool_call_buckets (
        session_id TEXT NOT NULL,
        bucket INTEGER NOT NULL,
        first_at INTEGER NOT NULL,
        delay_ms INTEGER NOT NULL,
        PRIMARY KEY (session_id, bucket)
    ) WITHOUT ROWID;
    INSERT INTO tool_call_buckets (session_id, bucket, first_at, delay_ms)
        SELECT session_id, (at - ((at % 600000) + 600000) % 600000) / 600000, MIN(at), SUM(delay_ms)
        FROM tool_calls GROUP BY 1, 2;
    CREATE TRIGGER tool_calls_bucket_insert AFTER INSERT ON tool_calls BEGIN
        INSERT INTO tool_call_buckets (session_id, bucket, first_at, delay_ms)
        VALUES (new.session_id, (new.at - ((new.at % 600000) + 600000) % 600000) / 600000,
                new.at, new.delay_ms)
        ON CONFLICT (session_id, bucket) DO UPDATE SET
            first_at = MIN(first_at, excluded.first_at),
            delay_ms = delay_ms + excluded.delay_ms;
    END;
    CREATE TRIGGER tool_calls_bucket_delay AFTER UPDATE OF delay_ms ON tool_calls BEGIN
        UPDATE tool_call_buckets SET delay_ms = delay_ms + new.delay_ms - old.delay_ms
        WHERE session_id = old.session_id
          AND bucket = (old.at - ((old.at % 600000) + 600000) % 600000) / 600000;
    END;
    "#,
    // 9: no query reads hook events by session and event (only pruning
    //    reads them, by time), and every hook paid a page of this index in
    //    the WAL, and its parse at each open.
    r#"
    DROP INDEX hook_events_session;
    "#,
];

/// The span of one `tool_call_buckets` row (migration 8 spells it out).
pub const TOOL_CALL_BUCKET_MS: i64 = 600_000;

/// The schema version this build writes.
pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

/// An open store.
pub struct Store {
    connection: Connection,
    path: PathBuf,
    busy_timeout: Duration,
}

/// The WAL size past which a closing process checkpoints and truncates it.
pub const WAL_CHECKPOINT_BYTES: u64 = 1024 * 1024;

impl Drop for Store {
    fn drop(&mut self) {
        self.checkpoint_if_large();
    }
}

impl Store {
    /// Ends a store whose process exits next (a hook): the WAL is
    /// checkpointed as on any drop when it has grown past
    /// [`WAL_CHECKPOINT_BYTES`], but the connection is not closed. Every
    /// transaction is already committed to the WAL, and the exit releases
    /// the file locks; an orderly `sqlite3_close` would only free the
    /// parsed schema and the page cache one allocation at a time, about
    /// 5 % of a hook's instructions.
    pub fn close_at_exit(self) {
        self.checkpoint_if_large();
        std::mem::forget(self);
    }

    fn checkpoint_if_large(&self) {
        let wal = PathBuf::from(format!("{}-wal", self.path.display()));
        if std::fs::metadata(&wal).is_ok_and(|meta| meta.len() > WAL_CHECKPOINT_BYTES) {
            // Never wait long for readers here: the next process will try again.
            let _ = self.connection.busy_timeout(Duration::from_millis(20));
            if let Err(error) =
                self.connection
                    .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
            {
                tracing::debug!("WAL checkpoint postponed: {error}");
            }
        }
    }
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").field("path", &self.path).finish()
    }
}

impl Store {
    /// Opens (creating if needed, owner-only) the store at `path` and brings
    /// its schema up to date. A file that SQLite reports as corrupt or not a
    /// database is moved aside (`pace-maker.db.corrupt-<ms>`) and a new store
    /// is started, so a damaged file costs history, never a working hook;
    /// `doctor` reports the recovery from the `meta` table.
    pub fn open(path: &Path, busy_timeout: Duration) -> anyhow::Result<Self> {
        match Self::open_once(path, busy_timeout) {
            Err(error) if is_corruption(&error) => {
                let aside = quarantine(path, busy_timeout).with_context(|| {
                    format!("cannot move the corrupt store {} aside", path.display())
                })?;
                let mut store = Self::open_once(path, busy_timeout)?;
                if let Some(aside) = aside {
                    store.note_recovery(&aside, &error)?;
                }
                Ok(store)
            }
            other => other,
        }
    }

    /// For a store found damaged after it opened (a write or read met a
    /// corrupt page): moves the file aside if it really is damaged (see
    /// `quarantine`) and opens a new store in its place, like [`Store::open`]
    /// does for a file that cannot be opened at all.
    pub fn recover(self) -> anyhow::Result<Self> {
        let path = self.path.clone();
        let busy_timeout = self.busy_timeout;
        drop(self);
        let aside = quarantine(&path, busy_timeout)
            .with_context(|| format!("cannot move the corrupt store {} aside", path.display()))?;
        let mut store = Self::open(&path, busy_timeout)?;
        if let Some(aside) = aside {
            store.note_recovery(&aside, &anyhow::anyhow!("a page is damaged"))?;
        }
        Ok(store)
    }

    /// Logs a recovery and keeps it in `meta` for `doctor`.
    fn note_recovery(&mut self, aside: &Path, error: &anyhow::Error) -> anyhow::Result<()> {
        tracing::error!(
            "the store {} was unreadable ({error:#}); moved it to {} and started a new one",
            self.path.display(),
            aside.display()
        );
        let note = format!("{} {}", crate::clock::now_ms(), aside.display());
        self.write(|transaction| set_meta(transaction, META_STORE_RECOVERED, &note))?;
        Ok(())
    }

    fn open_once(path: &Path, busy_timeout: Duration) -> anyhow::Result<Self> {
        if let Some(parent) = path.parent() {
            paths::ensure_private_dir(parent)
                .with_context(|| format!("cannot create {}", parent.display()))?;
        }
        // Held while the connection opens the file and its WAL: a process
        // moving a damaged store aside (`quarantine`, exclusive) never
        // renames the three files while another opens them, which could
        // pair a new database with the old WAL or shared-memory index.
        let opening = StoreLock::acquire(path, LockMode::Shared, busy_timeout)?;
        if !path.exists() {
            // Create the file ourselves so it is 0600 from its first byte;
            // SQLite gives its -wal and -shm files the same mode.
            crate::fsutil::create_private_file(path)
                .with_context(|| format!("cannot create {}", path.display()))?;
        }
        let connection = Connection::open(path)
            .with_context(|| format!("cannot open the store {}", path.display()))?;
        connection.busy_timeout(busy_timeout)?;
        // A hook process is short-lived and usually the last connection to
        // close. By default that close checkpoints the WAL into the database
        // with four fsyncs and deletes it: most of a hook's time. Instead the
        // WAL is left in place and truncated once it passes
        // `WAL_CHECKPOINT_BYTES` (see `Drop`), so a checkpoint's cost is
        // shared by dozens of hook calls and the recovery scan that the next
        // process runs over the WAL stays short. `synchronous=NORMAL` keeps
        // the file consistent through power loss either way.
        connection.set_db_config(
            rusqlite::config::DbConfig::SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE,
            true,
        )?;
        let mut store = Self {
            connection,
            path: path.to_path_buf(),
            busy_timeout,
        };
        store.prepare(opening).context_hint(
            format!("cannot prepare the store {}", path.display()),
            "raise store.busy_timeout_ms if it is busy",
        )?;
        Ok(store)
    }

    /// A store held in memory, with the same schema and the same functions
    /// over it: the simulator gives each of its machines one, so its
    /// decisions come from the very path the hook takes.
    pub fn open_in_memory() -> anyhow::Result<Self> {
        let connection = Connection::open_in_memory().context("cannot open a store in memory")?;
        let mut store = Self {
            connection,
            path: PathBuf::from(IN_MEMORY),
            busy_timeout: Duration::from_secs(1),
        };
        store.migrate()?;
        Ok(store)
    }

    /// The store of a tool home, creating and marking the home if needed
    /// ([`paths::ensure_home`]).
    pub fn open_home(
        home: &paths::ToolHome,
        config: &crate::config::Config,
    ) -> anyhow::Result<Self> {
        paths::ensure_home(home.root())
            .with_context(|| format!("cannot create {}", home.root().display()))?;
        Self::open(
            &home.store_file(),
            Duration::from_millis(config.store.busy_timeout_ms),
        )
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The schema version of the file.
    pub fn schema_version(&self) -> rusqlite::Result<i64> {
        self.connection
            .query_row("PRAGMA user_version", [], |row| row.get(0))
    }

    /// Settings of the connection, then the schema. A new or older store
    /// is created or upgraded by one process at a time, under the exclusive
    /// lock: SQLite answers "busy" without waiting when several processes
    /// switch a new file to WAL mode at once.
    fn prepare(&mut self, opening: Option<StoreLock>) -> anyhow::Result<()> {
        self.connection
            .pragma_update(None, "synchronous", "NORMAL")?;
        if self.schema_version()? < SCHEMA_VERSION {
            drop(opening);
            let _migrating =
                StoreLock::acquire(&self.path, LockMode::Exclusive, self.busy_timeout)?;
            self.migrate()?;
        }
        Ok(())
    }

    fn migrate(&mut self) -> anyhow::Result<()> {
        let version = self.schema_version()?;
        if version >= SCHEMA_VERSION {
            return Ok(());
        }
        if version == 0 && self.path != Path::new(IN_MEMORY) {
            // Persistent for the file; needs no transaction.
            let mode: String = self
                .connection
                .query_row("PRAGMA journal_mode=WAL", [], |row| row.get(0))?;
            if !mode.eq_ignore_ascii_case("wal") {
                tracing::warn!(mode, "the store could not switch to WAL mode");
            }
        }
        let transaction = self
            .connection
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        // Another process may have migrated while we waited for the lock.
        let current: i64 = transaction.query_row("PRAGMA user_version", [], |row| row.get(0))?;
        if current > SCHEMA_VERSION {
            anyhow::bail!(
                "the store has schema {current}, newer than this build's {SCHEMA_VERSION}: update pace-maker"
            );
        }
        for (index, step) in MIGRATIONS.iter().enumerate().skip(current as usize) {
            transaction
                .execute_batch(step)
                .with_context(|| format!("migration {} failed", index + 1))?;
        }
        transaction.pragma_update(None, "user_version", SCHEMA_VERSION)?;
        transaction.commit()?;
        Ok(())
    }

    /// Runs `work` in a write transaction that holds the write lock from the start.
    pub fn write<T>(
        &mut self,
        work: impl FnOnce(&Transaction<'_>) -> rusqlite::Result<T>,
    ) -> rusqlite::Result<T> {
        let transaction = self
            .connection
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let value = work(&transaction)?;
        transaction.commit()?;
        Ok(value)
    }

    /// Read access.
    pub fn connection(&self) -> &Connection {
        &self.connection
    }

    /// A metadata value.
    pub fn meta(&self, key: &str) -> rusqlite::Result<Option<String>> {
        meta(&self.connection, key)
    }
}

/// The path a store in memory reports.
const IN_MEMORY: &str = ":memory:";

/// `meta` key set when a corrupt store was moved aside: `<epoch ms> <path>`.
pub const META_STORE_RECOVERED: &str = "store_recovered";

/// Whether an error means the file is damaged (rather than busy or unwritable).
pub fn is_corruption(error: &anyhow::Error) -> bool {
    error.chain().any(|cause| {
        matches!(
            cause.downcast_ref::<rusqlite::Error>(),
            Some(rusqlite::Error::SqliteFailure(failure, _))
                if matches!(
                    failure.code,
                    rusqlite::ErrorCode::NotADatabase | rusqlite::ErrorCode::DatabaseCorrupt
                )
        )
    })
}

/// Moves a corrupt store (and its -wal/-shm) aside under an exclusive lock,
/// after checking again that it is still corrupt: many hooks may meet the
/// same damaged file at once, and only the first may move it, never the
/// fresh store another process has just created.
fn quarantine(path: &Path, busy_timeout: Duration) -> anyhow::Result<Option<PathBuf>> {
    let _moving = StoreLock::acquire(path, LockMode::Exclusive, busy_timeout)?
        .context("cannot create the store's lock file")?;
    // `quick_check` reads every page: damage anywhere shows, not only in
    // the header and schema. It runs only here, after an error said
    // "corrupt", so its cost (a read of the whole file) is rare.
    let still_corrupt = match Connection::open(path) {
        Ok(connection) => {
            let _ = connection.busy_timeout(busy_timeout);
            match connection.query_row("PRAGMA quick_check", [], |row| row.get::<_, String>(0)) {
                Ok(verdict) => verdict != "ok",
                Err(error) => matches!(
                    error.sqlite_error_code(),
                    Some(rusqlite::ErrorCode::NotADatabase | rusqlite::ErrorCode::DatabaseCorrupt)
                ),
            }
        }
        Err(_) => true,
    };
    if !still_corrupt {
        return Ok(None);
    }
    let aside = PathBuf::from(format!(
        "{}.corrupt-{}",
        path.display(),
        crate::clock::now_ms()
    ));
    std::fs::rename(path, &aside)?;
    for suffix in ["-wal", "-shm"] {
        let companion = PathBuf::from(format!("{}{suffix}", path.display()));
        let _ = std::fs::rename(&companion, format!("{}{suffix}", aside.display()));
    }
    Ok(Some(aside))
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum LockMode {
    /// Opening the store.
    Shared,
    /// Moving it aside.
    Exclusive,
}

/// An advisory lock on `<store>.lock`, released on drop.
struct StoreLock {
    /// The lock lives as long as this descriptor stays open.
    _file: std::fs::File,
}

impl StoreLock {
    /// Waits up to `timeout` for the lock. `Ok(None)` when the lock file
    /// cannot be created (a read-only home): opening goes on unlocked and
    /// fails or succeeds on its own, as it did before locks existed.
    fn acquire(path: &Path, mode: LockMode, timeout: Duration) -> anyhow::Result<Option<Self>> {
        let lock_path = path.with_extension("db.lock");
        let Ok(file) = crate::fsutil::create_private_file(&lock_path) else {
            return Ok(None);
        };
        let deadline = std::time::Instant::now() + timeout;
        // std's locks (flock on Linux) wait without end or not at all; the
        // wait is bounded here by polling the one that does not wait.
        loop {
            let attempt = match mode {
                LockMode::Shared => file.try_lock_shared(),
                LockMode::Exclusive => file.try_lock(),
            };
            match attempt {
                Ok(()) => break,
                Err(std::fs::TryLockError::WouldBlock) => {}
                Err(std::fs::TryLockError::Error(error)) => {
                    return Err(error)
                        .with_context(|| format!("cannot lock {}", lock_path.display()))
                }
            }
            if std::time::Instant::now() >= deadline {
                anyhow::bail!("another process holds {}", lock_path.display());
            }
            std::thread::sleep(Duration::from_millis(2));
        }
        Ok(Some(Self { _file: file }))
    }
}

/// A metadata value, read inside a transaction or through a connection.
pub fn meta(connection: &Connection, key: &str) -> rusqlite::Result<Option<String>> {
    connection
        .query_row("SELECT value FROM meta WHERE key = ?1", [key], |row| {
            row.get(0)
        })
        .optional()
        .map(Option::flatten)
}

/// Removes a metadata value inside a transaction.
pub fn delete_meta(transaction: &Transaction<'_>, key: &str) -> rusqlite::Result<()> {
    transaction.execute("DELETE FROM meta WHERE key = ?1", [key])?;
    Ok(())
}

/// Sets a metadata value inside a transaction.
pub fn set_meta(transaction: &Transaction<'_>, key: &str, value: &str) -> rusqlite::Result<()> {
    transaction.execute(
        "INSERT INTO meta (key, value) VALUES (?1, ?2)
         ON CONFLICT(key) DO UPDATE SET value = excluded.value",
        [key, value],
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn a_new_store_is_owner_only_wal_and_current() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("home/pace-maker.db");
        let store = Store::open(&path, Duration::from_secs(1)).unwrap();
        assert_eq!(store.schema_version().unwrap(), SCHEMA_VERSION);
        let mode: String = store
            .connection()
            .query_row("PRAGMA journal_mode", [], |row| row.get(0))
            .unwrap();
        assert_eq!(mode, "wal");
        let file_mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(file_mode, 0o600);
        let dir_mode = std::fs::metadata(path.parent().unwrap())
            .unwrap()
            .permissions()
            .mode()
            & 0o777;
        assert_eq!(dir_mode, 0o700);
    }

    #[test]
    fn reopening_does_not_migrate_twice() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("pace-maker.db");
        drop(Store::open(&path, Duration::from_secs(1)).unwrap());
        let store = Store::open(&path, Duration::from_secs(1)).unwrap();
        let controls: i64 = store
            .connection()
            .query_row("SELECT count(*) FROM controls", [], |row| row.get(0))
            .unwrap();
        assert_eq!(controls, 1);
    }

    #[test]
    fn the_wal_is_truncated_once_it_grows_past_the_limit() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("pace-maker.db");
        let wal = dir.path().join("pace-maker.db-wal");
        let blob = vec![7u8; 64 * 1024];
        for _ in 0..40 {
            let mut store = Store::open(&path, Duration::from_secs(1)).unwrap();
            store
                .write(|tx| {
                    tx.execute(
                        "INSERT INTO meta (key, value) VALUES (hex(randomblob(8)), ?1)",
                        [&blob],
                    )
                })
                .unwrap();
            drop(store);
            let size = std::fs::metadata(&wal).map(|m| m.len()).unwrap_or(0);
            assert!(
                size <= WAL_CHECKPOINT_BYTES + 200 * 1024,
                "WAL grew to {size}"
            );
        }
        let store = Store::open(&path, Duration::from_secs(1)).unwrap();
        let rows: i64 = store
            .connection()
            .query_row("SELECT count(*) FROM meta", [], |row| row.get(0))
            .unwrap();
        assert_eq!(rows, 40);
    }

    #[test]
    fn a_garbage_store_is_moved_aside_and_recreated() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("pace-maker.db");
        std::fs::write(&path, vec![0xA5u8; 64 * 1024]).unwrap();
        let store = Store::open(&path, Duration::from_secs(1)).unwrap();
        assert_eq!(store.schema_version().unwrap(), SCHEMA_VERSION);
        let note = store.meta(META_STORE_RECOVERED).unwrap().unwrap();
        assert!(note.contains(".corrupt-"), "{note}");
        let aside: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .flatten()
            .filter(|entry| entry.file_name().to_string_lossy().contains(".corrupt-"))
            .collect();
        assert_eq!(aside.len(), 1);
        assert_eq!(
            std::fs::read(aside[0].path()).unwrap(),
            vec![0xA5u8; 64 * 1024]
        );
    }

    #[test]
    fn many_openers_of_a_new_store_all_get_it_and_lose_no_write() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("pace-maker.db");
        let barrier = std::sync::Barrier::new(16);
        std::thread::scope(|scope| {
            for number in 0..16 {
                let (path, barrier) = (&path, &barrier);
                scope.spawn(move || {
                    barrier.wait();
                    let mut store = Store::open(path, Duration::from_secs(5)).unwrap();
                    store
                        .write(|tx| {
                            tx.execute(
                                "INSERT INTO meta (key, value) VALUES (?1, 'x')",
                                [format!("opener {number}")],
                            )
                        })
                        .unwrap();
                });
            }
        });
        let store = Store::open(&path, Duration::from_secs(1)).unwrap();
        let rows: i64 = store
            .connection()
            .query_row(
                "SELECT count(*) FROM meta WHERE key LIKE 'opener %'",
                [],
                |row| row.get(0),
            )
            .unwrap();
        assert_eq!(rows, 16);
    }

    #[test]
    fn a_store_from_a_newer_build_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("pace-maker.db");
        let store = Store::open(&path, Duration::from_secs(1)).unwrap();
        store
            .connection()
            .pragma_update(None, "user_version", SCHEMA_VERSION + 5)
            .unwrap();
        drop(store);
        // A newer schema is left alone by `migrate` (version >= ours).
        let store = Store::open(&path, Duration::from_secs(1)).unwrap();
        assert_eq!(store.schema_version().unwrap(), SCHEMA_VERSION + 5);
    }
}
