//! Faults, each one provoked for real against the built binary: a usage
//! API that hangs, resets, storms 500s or trickles bytes (servers on
//! 127.0.0.1); a store deleted mid-run, made read-only, filled with
//! garbage, or on a full disk; readings whose reset is absurdly far away
//! and clocks that jumped; a hook killed in the middle of its pacing
//! sleep; a bug (panic) inside a hook. Every time the same promises are
//! checked: hooks exit 0 with nothing on stdout or stderr inside their
//! deadline, nothing already recorded is lost, the tool recovers by
//! itself, and the log (or `doctor`) says what happened.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use crate::support::measured::{self, Measured};
use crate::support::refused_url;
use crate::usage::sandbox::{self, UsageSandbox, NEVER_EXPIRES_MS, TOKEN};
use crate::usage::server::{Reply, Server};
use pace_maker::clock;
use pace_maker::usage::poll::{ApiState, ApiStatus};
use pace_maker::usage::snapshot::{self, SnapshotSource, UsageSnapshot, WindowReading};

const FULL_BODY: &str = r#"{"five_hour":{"utilization":12.0,"resets_at":null},"seven_day":{"utilization":7.5,"resets_at":null}}"#;
/// The sandbox's usage deadlines (connect 500 ms, total 1000 ms) plus
/// generous slack for a loaded two-core machine running a debug build.
const POLLING_HOOK_DEADLINE: Duration = Duration::from_millis(1000 + 3000);
/// A hook that makes no request has no business taking longer than this.
const QUICK_HOOK_DEADLINE: Duration = Duration::from_millis(3000);
const MINUTE_MS: i64 = 60_000;

fn with_token() -> UsageSandbox {
    let sandbox = UsageSandbox::new();
    sandbox.write_credentials(TOKEN, NEVER_EXPIRES_MS);
    sandbox
}

fn hook_command(sandbox: &UsageSandbox, base: &str, event: &str) -> Command {
    let mut command = sandbox.command(base);
    command.args(["hook", event]);
    command
}

/// One PostToolUse hook, measured.
fn post_tool_use(sandbox: &UsageSandbox, base: &str) -> Measured {
    measured::run(
        &mut hook_command(sandbox, base, "post-tool-use"),
        sandbox::post_tool_use_payload().as_bytes(),
    )
}

/// `count` PostToolUse hooks started together, measured.
fn post_tool_uses_at_once(sandbox: &UsageSandbox, base: &str, count: usize) -> Vec<Measured> {
    let payload = sandbox::post_tool_use_payload();
    let started = Instant::now();
    let children: Vec<_> = (0..count)
        .map(|_| {
            measured::spawn(
                &mut hook_command(sandbox, base, "post-tool-use"),
                payload.as_bytes(),
            )
        })
        .collect();
    children
        .into_iter()
        .map(|child| measured::finish(child, started))
        .collect()
}

fn count(sandbox: &UsageSandbox, sql: &str) -> i64 {
    sandbox
        .store()
        .connection()
        .query_row(sql, [], |row| row.get(0))
        .unwrap()
}

fn api_state(sandbox: &UsageSandbox) -> ApiState {
    ApiState::read(sandbox.store().connection()).unwrap()
}

/// Every line of the sandbox's log files.
fn log_text(sandbox: &UsageSandbox) -> String {
    UsageSandbox::files_under(&sandbox.tool_home().join("logs"))
        .into_iter()
        .map(|(_, bytes)| String::from_utf8_lossy(&bytes).into_owned())
        .collect()
}

fn assert_within(measured: &Measured, deadline: Duration, what: &str) {
    assert!(
        measured.wall < deadline,
        "{what} took {:?}, more than {deadline:?}",
        measured.wall
    );
}

// ---- the usage API misbehaves ----

/// The hook meets a failing API once: it exits 0 silently within the
/// request deadline, its bookkeeping is kept, the failure is stored with a
/// backoff, and the next hook sends nothing and is quick.
fn assert_one_failed_poll_then_quiet(reply: Reply, what: &str) {
    let sandbox = with_token();
    sandbox.store_stale_snapshot();
    let server = Server::always(reply);
    let first = post_tool_use(&sandbox, &server.base());
    first.assert_quiet_success(what);
    assert_within(&first, POLLING_HOOK_DEADLINE, what);
    assert_eq!(server.count(), 1, "{what}: one request");
    let state = api_state(&sandbox);
    assert_eq!(state.status, ApiStatus::Error, "{what}");
    assert!(
        state.backoff_until_ms.unwrap_or(0) > clock::now_ms(),
        "{what}: a backoff is set"
    );
    assert_eq!(state.lease_owner, None, "{what}: the lease is released");
    let second = post_tool_use(&sandbox, &server.base());
    second.assert_quiet_success(what);
    assert_within(&second, QUICK_HOOK_DEADLINE, what);
    assert_eq!(server.count(), 1, "{what}: no request while backing off");
    assert_eq!(
        count(&sandbox, "SELECT count(*) FROM tool_calls"),
        2,
        "{what}: both tool calls recorded"
    );
    // Doctor tells what happened and when the next try is.
    let mut doctor = sandbox.command(&server.base());
    doctor.args(["doctor", "--json"]);
    let report: serde_json::Value =
        serde_json::from_slice(&measured::run(&mut doctor, b"").stdout).unwrap();
    let api = report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|check| check["name"] == "usage api")
        .unwrap_or_else(|| panic!("{what}: no usage api check in {report}"));
    assert_eq!(api["status"], "warn", "{what}: {api}");
    let summary = api["summary"].as_str().unwrap();
    assert!(
        summary.contains("error: ") && summary.contains("next try in"),
        "{what}: {summary}"
    );
}

#[test]
fn a_usage_api_that_hangs_costs_one_hook_its_deadline_and_the_next_nothing() {
    assert_one_failed_poll_then_quiet(Reply::Silent(Duration::from_secs(30)), "a hang");
}

#[test]
fn a_usage_api_that_resets_connections_is_survived_and_backed_off() {
    assert_one_failed_poll_then_quiet(Reply::Reset, "a reset before the answer");
    assert_one_failed_poll_then_quiet(
        Reply::ResetMidBody {
            body: FULL_BODY.to_string(),
        },
        "a reset in the middle of the body",
    );
}

#[test]
fn a_usage_api_that_trickles_bytes_is_cut_at_the_total_deadline() {
    // 5 s per byte of a 150-byte body: it would take 12 minutes.
    assert_one_failed_poll_then_quiet(
        Reply::SlowBody {
            body: FULL_BODY.to_string(),
            byte_delay: Duration::from_millis(200),
        },
        "a trickle",
    );
}

#[test]
fn a_storm_of_500s_gets_one_request_per_backoff_growing_to_the_maximum() {
    let sandbox = with_token();
    sandbox.store_stale_snapshot();
    let server = Server::always(Reply::json(500, "<html>overloaded</html>"));
    let rounds = 6;
    for round in 1..=rounds {
        // Let the backoff (and the poll interval) pass, as if time went by.
        sandbox
            .store()
            .write(|transaction| {
                transaction.execute(
                    "UPDATE api_state SET backoff_until = ?1, last_attempt_at = ?2 WHERE id = 1",
                    [clock::now_ms() - 1, clock::now_ms() - 3_600_000],
                )
            })
            .unwrap();
        for (index, hook) in post_tool_uses_at_once(&sandbox, &server.base(), 8)
            .iter()
            .enumerate()
        {
            let what = format!("round {round} hook {index}");
            hook.assert_quiet_success(&what);
            assert_within(hook, POLLING_HOOK_DEADLINE, &what);
        }
        assert_eq!(server.count(), round, "one request in round {round}");
        let state = api_state(&sandbox);
        assert_eq!(state.failures, round as u32);
        // 300 s, doubled per failure, capped at an hour.
        let expected_s = (300i64 << (round - 1)).min(3600);
        let backoff_s = (state.backoff_until_ms.unwrap() - clock::now_ms()) / 1000;
        assert!(
            (backoff_s - expected_s).abs() <= 10,
            "round {round}: backoff {backoff_s} s, expected {expected_s} s"
        );
    }
    assert_eq!(
        count(&sandbox, "SELECT count(*) FROM tool_calls"),
        8 * rounds as i64
    );
}

// ---- a bug inside a hook ----

#[test]
fn a_panic_inside_a_hook_is_logged_and_the_hook_exits_zero_silently() {
    let sandbox = UsageSandbox::new();
    let mut command = hook_command(&sandbox, &refused_url(), "post-tool-use");
    command.env(pace_maker::paths::ENV_TEST_PANIC, "hook");
    let hook = measured::run(&mut command, sandbox::post_tool_use_payload().as_bytes());
    hook.assert_quiet_success("a panicking hook");
    assert_eq!(
        count(&sandbox, "SELECT count(*) FROM tool_calls"),
        1,
        "the bookkeeping before the panic is kept"
    );
    let log = log_text(&sandbox);
    assert!(log.contains("internal error, a bug"), "{log}");
    assert!(log.contains("a deliberate panic"), "{log}");
}

#[test]
fn a_panic_inside_the_status_line_still_prints_a_line_and_exits_zero() {
    let sandbox = UsageSandbox::new();
    let input = sandbox::fixture("statusline-inputs-oauth.jsonl");
    let second = input.lines().nth(1).unwrap();
    let mut command = sandbox.command(&refused_url());
    command
        .args(["statusline", "--chain", "echo mine"])
        .env(pace_maker::paths::ENV_TEST_PANIC, "statusline");
    let line = measured::run(&mut command, second.as_bytes());
    assert!(line.succeeded(), "{}", line.stderr_text());
    assert_eq!(line.stderr_text(), "");
    assert_eq!(
        line.stdout_text(),
        format!(
            "mine · {}\n",
            pace_maker::commands::statusline::INTERNAL_ERROR_SEGMENT
        )
    );
    assert!(log_text(&sandbox).contains("a deliberate panic"));
}

// ---- absurd readings and clocks ----

/// Runs the status line with `rate_limits` of 90 % in both windows that
/// reset at `resets_at` (any JSON), after an API reading of 40 % an hour
/// before with the same reset, then one PostToolUse with pacing on.
fn pace_on_a_reset(resets_at: serde_json::Value, what: &str) {
    let sandbox = UsageSandbox::new();
    let now_ms = clock::now_ms();
    if let Some(resets_at_s) = resets_at.as_i64() {
        let earlier = UsageSnapshot {
            source: SnapshotSource::Api,
            taken_at_ms: now_ms - 60 * MINUTE_MS,
            five_hour: Some(WindowReading {
                percent: 40.0,
                resets_at_s: Some(resets_at_s),
            }),
            seven_day: Some(WindowReading {
                percent: 40.0,
                resets_at_s: Some(resets_at_s),
            }),
            seven_day_opus: None,
            seven_day_sonnet: None,
            raw_json: None,
        };
        // Straight into the store, as an older build would have kept it.
        sandbox
            .store()
            .write(|transaction| snapshot::insert(transaction, &earlier))
            .unwrap();
    }
    let input = serde_json::json!({
        "session_id": "d095304d-895a-4782-9633-22c1acc3ecef",
        "rate_limits": {
            "five_hour": {"used_percentage": 90, "resets_at": resets_at},
            "seven_day": {"used_percentage": 90, "resets_at": resets_at},
        }
    });
    let mut statusline = sandbox.command(&refused_url());
    statusline.arg("statusline");
    let line = measured::run(&mut statusline, input.to_string().as_bytes());
    assert!(line.succeeded(), "{what}: {}", line.stderr_text());
    assert_eq!(line.stderr_text(), "", "{what}");
    assert_eq!(line.stdout_text().lines().count(), 1, "{what}");

    let mut hook = hook_command(&sandbox, &refused_url(), "post-tool-use");
    hook.env("PACE_MAKER_PACING_ENABLED", "true")
        .env("PACE_MAKER_PACING_MAX_DELAY_SECONDS", "2");
    let hook = measured::run(&mut hook, sandbox::post_tool_use_payload().as_bytes());
    hook.assert_quiet_success(what);
    assert_within(&hook, Duration::from_millis(1900), what);
    assert_eq!(
        count(&sandbox, "SELECT count(*) FROM pacing_decisions"),
        1,
        "{what}: the decision is recorded"
    );
    assert_eq!(
        count(&sandbox, "SELECT max(delay_ms) FROM pacing_decisions"),
        0,
        "{what}: no delay"
    );
}

#[test]
fn resets_absurdly_far_away_never_crash_a_hook_or_make_it_sleep() {
    let now_s = clock::now_ms() / 1000;
    let year_s = 365 * 86_400;
    let table: Vec<(&str, serde_json::Value)> = vec![
        ("1e30", serde_json::json!(1e30)),
        ("-1e30", serde_json::json!(-1e30)),
        ("the largest integer", serde_json::json!(i64::MAX)),
        ("the smallest integer", serde_json::json!(i64::MIN)),
        (
            "the last second of 9999",
            serde_json::json!("9999-12-31T23:59:59Z"),
        ),
        ("a century ahead", serde_json::json!(now_s + 100 * year_s)),
        ("a day ahead", serde_json::json!(now_s + 86_400 * 8)),
        ("the epoch", serde_json::json!(0)),
        ("a decade ago", serde_json::json!(now_s - 10 * year_s)),
    ];
    for (what, resets_at) in table {
        pace_on_a_reset(resets_at, what);
    }
}

// ---- the store misbehaves ----

fn tool_calls_in(path: &Path) -> i64 {
    let connection = rusqlite::Connection::open(path).unwrap();
    connection
        .query_row("SELECT count(*) FROM tool_calls", [], |row| row.get(0))
        .unwrap()
}

fn integrity_of(path: &Path) -> String {
    let connection = rusqlite::Connection::open(path).unwrap();
    connection
        .query_row("PRAGMA integrity_check", [], |row| row.get(0))
        .unwrap()
}

fn store_path(sandbox: &UsageSandbox) -> PathBuf {
    sandbox.tool_home().join("pace-maker.db")
}

/// The same command run through `wrapper` (`unshare ...`, `nsenter ...`):
/// `wrapper` followed by the program and its arguments, same environment.
fn wrapped(wrapper: &[&str], inner: &Command) -> Command {
    let mut outer = Command::new(wrapper[0]);
    outer
        .args(&wrapper[1..])
        .arg(inner.get_program())
        .args(inner.get_args());
    for (name, value) in inner.get_envs() {
        match value {
            Some(value) => outer.env(name, value),
            None => outer.env_remove(name),
        };
    }
    if let Some(dir) = inner.get_current_dir() {
        outer.current_dir(dir);
    }
    outer
}

#[test]
fn a_store_deleted_mid_run_is_recreated_and_every_hook_exits_zero() {
    let sandbox = UsageSandbox::new();
    post_tool_use(&sandbox, &refused_url()).assert_quiet_success("the first hook");
    let path = store_path(&sandbox);
    let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let deleter = {
        let done = std::sync::Arc::clone(&done);
        let path = path.clone();
        std::thread::spawn(move || {
            let mut deletions = 0;
            while !done.load(std::sync::atomic::Ordering::Relaxed) {
                std::thread::sleep(Duration::from_millis(150));
                for suffix in ["", "-wal", "-shm"] {
                    let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
                }
                deletions += 1;
            }
            deletions
        })
    };
    let hooks: Vec<Vec<Measured>> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..4)
            .map(|_| {
                scope.spawn(|| {
                    (0..25)
                        .map(|_| post_tool_use(&sandbox, &refused_url()))
                        .collect()
                })
            })
            .collect();
        workers
            .into_iter()
            .map(|worker| worker.join().unwrap())
            .collect()
    });
    done.store(true, std::sync::atomic::Ordering::Relaxed);
    let deletions = deleter.join().unwrap();
    assert!(
        deletions >= 2,
        "the store was deleted only {deletions} times"
    );
    for (number, hook) in hooks.iter().flatten().enumerate() {
        let what = format!("hook {number}");
        hook.assert_quiet_success(&what);
        assert_within(hook, QUICK_HOOK_DEADLINE, &what);
    }
    // Recovered by itself: the next hook finds (or makes) a sound store and counts.
    post_tool_use(&sandbox, &refused_url()).assert_quiet_success("a hook after");
    let before = tool_calls_in(&path);
    post_tool_use(&sandbox, &refused_url()).assert_quiet_success("another hook after");
    assert_eq!(tool_calls_in(&path), before + 1);
    assert_eq!(integrity_of(&path), "ok");
}

#[test]
fn a_read_only_store_fails_hooks_open_and_loses_nothing() {
    let sandbox = UsageSandbox::new();
    for _ in 0..3 {
        post_tool_use(&sandbox, &refused_url()).assert_quiet_success("before");
    }
    let path = store_path(&sandbox);
    let tool_home = sandbox.tool_home().display().to_string();
    // A private mount namespace in which the tool home is a read-only bind
    // mount: file modes do not bind root, a read-only mount does.
    let read_only = [
        "unshare",
        "--mount",
        "--propagation",
        "private",
        "sh",
        "-c",
        r#"mount --bind -o ro "$0" "$0" && exec "$@""#,
        tool_home.as_str(),
    ];
    for number in 0..5 {
        let what = format!("read-only hook {number}");
        let mut command = wrapped(
            &read_only,
            &hook_command(&sandbox, &refused_url(), "post-tool-use"),
        );
        let hook = measured::run(&mut command, sandbox::post_tool_use_payload().as_bytes());
        hook.assert_quiet_success(&what);
        assert_within(&hook, QUICK_HOOK_DEADLINE, &what);
    }
    // The namespace really was read-only: a write there fails.
    let probe = Command::new("unshare")
        .args(["--mount", "--propagation", "private", "sh", "-c"])
        .arg(r#"mount --bind -o ro "$0" "$0" && touch "$0/probe""#)
        .arg(&tool_home)
        .output()
        .unwrap();
    assert!(
        !probe.status.success(),
        "a write in the read-only namespace worked"
    );
    // Doctor, run where the store is read-only, says so.
    let mut doctor = wrapped(&read_only, &sandbox.command(&refused_url()));
    doctor.arg("doctor");
    let report = measured::run(&mut doctor, b"");
    assert!(
        report.stdout_text().contains("not writable") || report.stdout_text().contains("cannot"),
        "doctor: {}",
        report.stdout_text()
    );
    assert_eq!(
        tool_calls_in(&path),
        3,
        "nothing lost, nothing half-written"
    );
    assert_eq!(integrity_of(&path), "ok");
    post_tool_use(&sandbox, &refused_url()).assert_quiet_success("writable again");
    assert_eq!(tool_calls_in(&path), 4);
}

#[test]
fn sixteen_hooks_meeting_a_garbage_store_move_it_aside_once_and_doctor_tells() {
    let sandbox = UsageSandbox::new();
    std::fs::create_dir_all(sandbox.tool_home()).unwrap();
    let path = store_path(&sandbox);
    let garbage: Vec<u8> = (0..256 * 1024u32)
        .map(|index| (index.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    std::fs::write(&path, &garbage).unwrap();
    for (number, hook) in post_tool_uses_at_once(&sandbox, &refused_url(), 16)
        .iter()
        .enumerate()
    {
        let what = format!("hook {number}");
        hook.assert_quiet_success(&what);
        assert_within(hook, QUICK_HOOK_DEADLINE, &what);
    }
    let aside: Vec<PathBuf> = std::fs::read_dir(sandbox.tool_home())
        .unwrap()
        .flatten()
        .map(|entry| entry.path())
        .filter(|path| {
            path.to_string_lossy().contains(".corrupt-")
                && !path.to_string_lossy().ends_with("-wal")
                && !path.to_string_lossy().ends_with("-shm")
        })
        .collect();
    assert_eq!(aside.len(), 1, "moved aside exactly once: {aside:?}");
    assert_eq!(
        std::fs::read(&aside[0]).unwrap(),
        garbage,
        "the old bytes are kept"
    );
    assert_eq!(
        tool_calls_in(&path),
        16,
        "every hook recorded in the new store"
    );
    assert_eq!(integrity_of(&path), "ok");
    let note = sandbox
        .store()
        .meta(pace_maker::store::META_STORE_RECOVERED)
        .unwrap();
    assert!(note.is_some_and(|note| note.contains(".corrupt-")));
    let mut doctor = sandbox.command(&refused_url());
    doctor.arg("doctor");
    let report = measured::run(&mut doctor, b"");
    let text = report.stdout_text();
    assert!(text.contains("recovered"), "doctor: {text}");
    assert!(
        text.contains(&*aside[0].to_string_lossy()),
        "doctor names the file: {text}"
    );
    assert!(log_text(&sandbox).contains("moved it to"), "the log tells");
}

/// A process holding a private mount namespace in which the sandbox's
/// tool home is a tmpfs of `size`; killed on drop.
struct FullDisk {
    holder: std::process::Child,
    tool_home: PathBuf,
}

impl FullDisk {
    fn mount(sandbox: &UsageSandbox, size: &str) -> Self {
        use std::io::BufRead;
        let tool_home = sandbox.tool_home();
        std::fs::create_dir_all(&tool_home).unwrap();
        let mut holder = Command::new("unshare")
            .args(["--mount", "--propagation", "private", "sh", "-c"])
            .arg(r#"mount -t tmpfs -o "size=$1,mode=0700" tmpfs "$0" && echo ready && exec sleep 600"#)
            .arg(&tool_home)
            .arg(size)
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("unshare");
        let mut line = String::new();
        std::io::BufReader::new(holder.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        assert_eq!(line.trim(), "ready", "the tmpfs could not be mounted");
        Self { holder, tool_home }
    }

    /// The tool home as the namespace sees it, reachable from outside.
    fn inside(&self, path: &Path) -> PathBuf {
        PathBuf::from(format!("/proc/{}/root{}", self.holder.id(), path.display()))
    }

    fn enter(&self) -> Vec<String> {
        vec![
            "nsenter".into(),
            format!("--target={}", self.holder.id()),
            "--mount".into(),
            "--".into(),
        ]
    }

    /// A copy of the store as it stands inside (SQLite itself resolves the
    /// `/proc/<pid>/root` link to this namespace's `/`, so it cannot open
    /// the file in place). The copy lives in `into`.
    fn copy_of_store(&self, into: &Path) -> PathBuf {
        let inside = self.inside(&self.tool_home.join("pace-maker.db"));
        let copy = into.join("copy.db");
        let _ = std::fs::remove_file(into.join("copy.db-wal"));
        let _ = std::fs::remove_file(into.join("copy.db-shm"));
        std::fs::copy(&inside, &copy).unwrap();
        let wal = PathBuf::from(format!("{}-wal", inside.display()));
        if wal.exists() {
            std::fs::copy(&wal, into.join("copy.db-wal")).unwrap();
        }
        copy
    }

    /// Fills the tmpfs to the last byte.
    fn fill(&self) -> PathBuf {
        use std::io::Write;
        let filler = self.inside(&self.tool_home.join("filler"));
        let mut file = std::fs::File::create(&filler).unwrap();
        let block = vec![0u8; 4096];
        while file.write_all(&block).is_ok() {}
        let _ = file.write_all(&[0]);
        filler
    }
}

impl Drop for FullDisk {
    fn drop(&mut self) {
        let _ = self.holder.kill();
        let _ = self.holder.wait();
    }
}

#[test]
fn a_full_disk_fails_hooks_open_and_the_store_recovers_when_space_returns() {
    let sandbox = UsageSandbox::new();
    let disk = FullDisk::mount(&sandbox, "2m");
    let enter = disk.enter();
    let enter: Vec<&str> = enter.iter().map(String::as_str).collect();
    let copies = tempfile::tempdir().unwrap();
    let store = || disk.copy_of_store(copies.path());
    let hook = |what: &str| {
        let mut command = wrapped(
            &enter,
            &hook_command(&sandbox, &refused_url(), "post-tool-use"),
        );
        let hook = measured::run(&mut command, sandbox::post_tool_use_payload().as_bytes());
        hook.assert_quiet_success(what);
        assert_within(&hook, QUICK_HOOK_DEADLINE, what);
    };
    for number in 0..10 {
        hook(&format!("hook {number} with space"));
    }
    assert_eq!(tool_calls_in(&store()), 10);
    let filler = disk.fill();
    for number in 0..10 {
        hook(&format!("hook {number} on a full disk"));
    }
    let during = tool_calls_in(&store());
    assert!(during >= 10, "recorded calls were lost: {during}");
    assert_eq!(integrity_of(&store()), "ok");
    std::fs::remove_file(filler).unwrap();
    for number in 0..10 {
        hook(&format!("hook {number} after space returned"));
    }
    assert_eq!(tool_calls_in(&store()), during + 10, "recovered by itself");
    assert_eq!(integrity_of(&store()), "ok");
}

#[test]
fn a_file_size_limit_fails_hooks_open_instead_of_killing_them() {
    use std::os::unix::process::CommandExt;
    let sandbox = UsageSandbox::new();
    for _ in 0..3 {
        post_tool_use(&sandbox, &refused_url()).assert_quiet_success("before");
    }
    let path = store_path(&sandbox);
    // Any write past 4 KiB fails. SIGXFSZ keeps its default (terminate):
    // the hook itself must ignore it so writes fail with EFBIG instead.
    for number in 0..5 {
        let what = format!("hook {number} under a 4 KiB file size limit");
        let mut command = hook_command(&sandbox, &refused_url(), "post-tool-use");
        // SAFETY: setrlimit and signal are async-signal-safe.
        unsafe {
            command.pre_exec(|| {
                let limit = libc::rlimit {
                    rlim_cur: 4096,
                    rlim_max: 4096,
                };
                libc::signal(libc::SIGXFSZ, libc::SIG_DFL);
                if libc::setrlimit(libc::RLIMIT_FSIZE, &limit) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let hook = measured::run(&mut command, sandbox::post_tool_use_payload().as_bytes());
        hook.assert_quiet_success(&what);
        assert_within(&hook, QUICK_HOOK_DEADLINE, &what);
    }
    let during = tool_calls_in(&path);
    assert!(during >= 3, "recorded calls were lost: {during}");
    assert_eq!(integrity_of(&path), "ok");
    post_tool_use(&sandbox, &refused_url()).assert_quiet_success("without the limit");
    assert_eq!(tool_calls_in(&path), during + 1);
}

// ---- a hook killed in the middle of its pacing sleep ----

/// 5-hour readings far ahead of pace: 30 %, 45 %, 60 % over the last hour
/// of a window that started two hours ago.
fn store_ahead_of_pace(sandbox: &UsageSandbox) {
    let now = clock::now_ms();
    let resets_at_s = (now + 3 * 60 * MINUTE_MS) / 1000;
    let mut store = sandbox.store();
    for (minutes_ago, percent) in [(60, 30.0), (30, 45.0), (0, 60.0)] {
        let reading = UsageSnapshot {
            source: SnapshotSource::Api,
            taken_at_ms: now - minutes_ago * MINUTE_MS,
            five_hour: Some(WindowReading {
                percent,
                resets_at_s: Some(resets_at_s),
            }),
            seven_day: None,
            seven_day_opus: None,
            seven_day_sonnet: None,
            raw_json: None,
        };
        store
            .write(|transaction| snapshot::insert(transaction, &reading))
            .unwrap();
    }
}

fn kill_mid_sleep(signal: libc::c_int, what: &str) {
    let sandbox = UsageSandbox::new();
    store_ahead_of_pace(&sandbox);
    let mut command = hook_command(&sandbox, &refused_url(), "post-tool-use");
    command
        .env("PACE_MAKER_PACING_ENABLED", "true")
        .env("PACE_MAKER_PACING_MAX_DELAY_SECONDS", "30");
    let started = Instant::now();
    let child = measured::spawn(&mut command, sandbox::post_tool_use_payload().as_bytes());
    // The decision is recorded before the sleep: wait for it, then strike.
    let deadline = Instant::now() + Duration::from_secs(15);
    while count(&sandbox, "SELECT count(*) FROM pacing_decisions") == 0 {
        assert!(
            Instant::now() < deadline,
            "{what}: no decision was recorded"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_millis(200));
    // SAFETY: signals our own child.
    assert_eq!(unsafe { libc::kill(child.id() as libc::pid_t, signal) }, 0);
    let ended = measured::finish(child, started);
    assert_eq!(ended.ended, measured::Ended::Signalled(signal), "{what}");
    assert!(
        ended.wall < Duration::from_secs(20),
        "{what}: it was sleeping"
    );
    assert!(ended.stdout.is_empty(), "{what}: half a reply");
    let delay = count(&sandbox, "SELECT delay_ms FROM pacing_decisions");
    assert!(delay >= 5_000, "{what}: the decision says {delay} ms");
    assert_eq!(
        count(&sandbox, "SELECT count(*) FROM tool_calls"),
        1,
        "{what}"
    );
    assert_eq!(
        count(&sandbox, "SELECT delay_ms_total FROM sessions"),
        delay,
        "{what}: the session's total includes the interrupted delay"
    );
    assert_eq!(integrity_of(&store_path(&sandbox)), "ok", "{what}");
    // The next call goes on normally (no sleep here: pacing off).
    let next = post_tool_use(&sandbox, &refused_url());
    next.assert_quiet_success(what);
    assert_eq!(
        count(&sandbox, "SELECT count(*) FROM tool_calls"),
        2,
        "{what}"
    );
}

#[test]
fn a_hook_killed_by_sigterm_mid_sleep_leaves_its_decision_and_a_sound_store() {
    kill_mid_sleep(libc::SIGTERM, "SIGTERM");
}

#[test]
fn a_hook_killed_by_sigkill_mid_sleep_leaves_its_decision_and_a_sound_store() {
    kill_mid_sleep(libc::SIGKILL, "SIGKILL");
}

// ---- clocks that jumped ----

/// Stores an API reading of the 5-hour window.
fn store_reading(sandbox: &UsageSandbox, taken_at_ms: i64, percent: f64, resets_at_s: i64) {
    let reading = UsageSnapshot {
        source: SnapshotSource::Api,
        taken_at_ms,
        five_hour: Some(WindowReading {
            percent,
            resets_at_s: Some(resets_at_s),
        }),
        seven_day: None,
        seven_day_opus: None,
        seven_day_sonnet: None,
        raw_json: None,
    };
    sandbox
        .store()
        .write(|transaction| snapshot::insert(transaction, &reading))
        .unwrap();
}

/// A PostToolUse with pacing on (at most 2 s), which must not sleep.
fn unpaced_hook(sandbox: &UsageSandbox, base: &str, what: &str) {
    let mut command = hook_command(sandbox, base, "post-tool-use");
    command
        .env("PACE_MAKER_PACING_ENABLED", "true")
        .env("PACE_MAKER_PACING_MAX_DELAY_SECONDS", "2");
    let hook = measured::run(&mut command, sandbox::post_tool_use_payload().as_bytes());
    hook.assert_quiet_success(what);
    assert_within(&hook, Duration::from_millis(1900), what);
}

#[test]
fn a_clock_that_jumped_back_a_day_neither_stops_polling_nor_paces_on_future_readings() {
    let sandbox = with_token();
    let now = clock::now_ms();
    let day = 24 * 60 * MINUTE_MS;
    // Written while the clock ran a day ahead: readings rising fast to 99 %
    // near a reset, and a backoff, a lease and an attempt "from tomorrow".
    let resets_at_s = (now + 2 * 60 * MINUTE_MS) / 1000;
    store_reading(&sandbox, now + day - 60 * MINUTE_MS, 40.0, resets_at_s);
    store_reading(&sandbox, now + day, 99.0, resets_at_s);
    sandbox
        .store()
        .write(|transaction| {
            transaction.execute(
                "UPDATE api_state SET state = 'error', backoff_until = ?1, lease_owner = 7,
                    lease_until = ?1, last_attempt_at = ?1, failures = 1 WHERE id = 1",
                [now + day],
            )
        })
        .unwrap();
    let server = Server::always(Reply::json(200, FULL_BODY));
    unpaced_hook(&sandbox, &server.base(), "after the jump");
    assert_eq!(
        server.count(),
        1,
        "the hook polled despite tomorrow's backoff and lease"
    );
    assert_eq!(api_state(&sandbox).status, ApiStatus::Ok);
    assert_eq!(
        count(&sandbox, "SELECT max(delay_ms) FROM pacing_decisions"),
        0,
        "no pacing on tomorrow's readings"
    );
    // And the pure rule behind it, for every field at once.
    let usage = pace_maker::config::Config::default().usage;
    let jumped = ApiState {
        backoff_until_ms: Some(now + day),
        lease_until_ms: Some(now + day),
        last_attempt_at_ms: Some(now + day),
        ..ApiState::default()
    }
    .as_of(now, &usage);
    assert_eq!(jumped.backoff_until_ms, None);
    assert_eq!(jumped.lease_until_ms, None);
    assert_eq!(jumped.last_attempt_at_ms, None);
    let normal = ApiState {
        backoff_until_ms: Some(now + 3_600_000),
        lease_until_ms: Some(now + 5_000),
        last_attempt_at_ms: Some(now - 1_000),
        ..ApiState::default()
    };
    assert_eq!(
        normal.clone().as_of(now, &usage),
        normal,
        "real values stay"
    );
}

#[test]
fn a_clock_that_jumped_forward_sees_old_figures_as_stale_and_polls_once() {
    let sandbox = with_token();
    // Figures from "a year ago" (the clock jumped a year ahead since).
    let year = 365 * 24 * 60 * MINUTE_MS;
    let then = clock::now_ms() - year;
    store_reading(&sandbox, then, 99.0, then / 1000 + 3600);
    let server = Server::always(Reply::json(200, FULL_BODY));
    for number in 0..3 {
        unpaced_hook(&sandbox, &server.base(), &format!("hook {number}"));
    }
    assert_eq!(
        server.count(),
        1,
        "one poll, then the fresh figures are used"
    );
    assert_eq!(
        count(&sandbox, "SELECT max(delay_ms) FROM pacing_decisions"),
        0
    );
}

#[test]
fn a_store_damaged_inside_is_moved_aside_by_the_next_hooks_and_doctor_tells() {
    let sandbox = UsageSandbox::new();
    post_tool_use(&sandbox, &refused_url()).assert_quiet_success("the first hook");
    let path = store_path(&sandbox);
    {
        let store = sandbox.store();
        store
            .connection()
            .execute_batch(
                "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 5000)
                 INSERT INTO tool_calls (session_id, at, tool_name, duration_ms)
                 SELECT 'old-session', i, 'Bash', 10 FROM n;
                 PRAGMA wal_checkpoint(TRUNCATE);",
            )
            .unwrap();
    }
    // The header and the schema stay sound, so the store still opens; the
    // last pages (where new tool calls go) are overwritten with garbage.
    let size = std::fs::metadata(&path).unwrap().len();
    let pages = size / 4096;
    {
        use std::io::{Seek, SeekFrom, Write};
        let mut file = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
        for page in pages - 8..pages {
            file.seek(SeekFrom::Start(page * 4096)).unwrap();
            file.write_all(&[0xA5; 4096]).unwrap();
        }
    }
    for (number, hook) in post_tool_uses_at_once(&sandbox, &refused_url(), 8)
        .iter()
        .enumerate()
    {
        let what = format!("hook {number}");
        hook.assert_quiet_success(&what);
        assert_within(hook, QUICK_HOOK_DEADLINE, &what);
    }
    let aside: Vec<PathBuf> = std::fs::read_dir(sandbox.tool_home())
        .unwrap()
        .flatten()
        .map(|entry| entry.path())
        .filter(|path| {
            let name = path.to_string_lossy();
            name.contains(".corrupt-") && !name.ends_with("-wal") && !name.ends_with("-shm")
        })
        .collect();
    assert_eq!(aside.len(), 1, "moved aside exactly once: {aside:?}");
    assert_eq!(integrity_of(&path), "ok");
    assert_eq!(
        tool_calls_in(&path),
        8,
        "every hook recorded in the new store"
    );
    post_tool_use(&sandbox, &refused_url()).assert_quiet_success("a later hook");
    assert_eq!(tool_calls_in(&path), 9, "and the ones after");
    let mut doctor = sandbox.command(&refused_url());
    doctor.arg("doctor");
    let text = measured::run(&mut doctor, b"").stdout_text();
    assert!(text.contains("recovered"), "doctor: {text}");
}
