//! `pace-maker doctor` run against real setups in a temporary HOME: one
//! healthy, one broken in every way it can be while the store still opens.
//! The sandbox path, the binary's path, the version and the schema number
//! are replaced by placeholders, and every time in the setup sits in the
//! middle of a minute, so the snapshots hold on any machine at any time.

use std::path::Path;

use crate::support::Sandbox;
use serde_json::{json, Value};

const MINUTE: i64 = 60_000;

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

fn write(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

/// A credentials file with a token that must never show up anywhere.
fn write_credentials(sandbox: &Sandbox, expires_at_ms: i64, plan: &str) {
    let credentials = json!({"claudeAiOauth": {
        "accessToken": "sk-ant-oat01-NEVER-PRINT-THIS",
        "refreshToken": "sk-ant-ort01-NEVER-PRINT-THIS",
        "expiresAt": expires_at_ms,
        "scopes": ["user:inference", "user:profile"],
        "subscriptionType": plan
    }});
    write(
        &sandbox.home().join(".claude/.credentials.json"),
        &credentials.to_string(),
    );
}

/// Runs doctor; returns its exit code and its stdout with placeholders.
fn doctor(sandbox: &Sandbox, json: bool) -> (i32, String) {
    let mut command = sandbox.command();
    command.arg("doctor");
    if json {
        command.arg("--json");
    }
    let output = command.output().unwrap();
    let stdout = String::from_utf8(output.stdout).unwrap();
    assert!(
        !stdout.contains("NEVER-PRINT-THIS"),
        "the token leaked: {stdout}"
    );
    let binary = assert_cmd::cargo::cargo_bin("pace-maker");
    let text = stdout
        .replace(&binary.display().to_string(), "[BIN]")
        .replace(&sandbox.dir.path().display().to_string(), "[SANDBOX]")
        .replace(env!("CARGO_PKG_VERSION"), "[VERSION]")
        .replace(
            &format!("schema {}", pace_maker::store::SCHEMA_VERSION),
            "schema [CURRENT]",
        );
    (output.status.code().unwrap_or(-1), text)
}

fn install(sandbox: &Sandbox, args: &[&str]) {
    sandbox
        .command()
        .arg("install")
        .args(args)
        .assert()
        .success();
}

#[test]
fn doctor_reports_a_healthy_setup_and_exits_zero() {
    let sandbox = Sandbox::new();
    install(&sandbox, &[]);
    let now = now_ms();
    write_credentials(&sandbox, now + 5 * 60 * MINUTE + 30_000, "max");
    let spec = sandbox.dir.path().join("EPIC.md");
    write(
        &spec,
        "# Mission\n\n## Acceptance criteria\n- [ ] the tests pass\n",
    );
    sandbox
        .command()
        .args(["epic", "attach"])
        .arg(&spec)
        .assert()
        .success();
    let store = sandbox.store();
    store
        .execute(
            "UPDATE api_state SET state = 'ok', last_attempt_at = ?1, last_success_at = ?1 WHERE id = 1",
            [now - 4 * MINUTE - 30_000],
        )
        .unwrap();
    store
        .execute(
            "INSERT INTO usage_snapshots (source, taken_at, five_hour_percent, seven_day_percent)
             VALUES ('statusline', ?1, 42.0, 17.0)",
            [now - 3 * MINUTE - 30_000],
        )
        .unwrap();
    drop(store);

    let (code, text) = doctor(&sandbox, false);
    insta::assert_snapshot!("doctor_healthy_setup", text);
    assert_eq!(code, 0, "{text}");

    let (code, json) = doctor(&sandbox, true);
    assert_eq!(code, 0);
    let report: Value = serde_json::from_str(&json).unwrap();
    assert_eq!(report["ok"], true);
    assert!(report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .all(|check| check["status"] != "fail"));
}

#[test]
fn doctor_reports_a_broken_setup_with_hints_and_exits_non_zero() {
    let sandbox = Sandbox::new();
    install(&sandbox, &[]);
    install(&sandbox, &["--scope", "local", "--statusline", "skip"]);
    let now = now_ms();
    // The user scope points at a binary that is gone, with a short timeout.
    let user = sandbox.home().join(".claude/settings.json");
    let binary = assert_cmd::cargo::cargo_bin("pace-maker");
    let text = std::fs::read_to_string(&user)
        .unwrap()
        .replace(&binary.display().to_string(), "/gone/pace-maker")
        .replace("\"timeout\": 300", "\"timeout\": 60");
    write(&user, &text);
    write(
        &sandbox.dir.path().join(".claude/settings.json"),
        "{\n  \"model\": \"opus\"\n  \"env\": {}\n}\n",
    );
    write_credentials(&sandbox, now - 2 * 60 * MINUTE - 30_000, "pro");
    write(
        &sandbox.tool_home().join("config.toml"),
        "[pacing]\ntarget_percent = 150\n",
    );
    sandbox.command().arg("off").assert().success();
    let store = sandbox.store();
    store
        .execute(
            "UPDATE api_state SET state = 'backing-off', failures = 3, last_error = 'HTTP 429 Too Many Requests',
                    last_success_at = ?1, backoff_until = ?2 WHERE id = 1",
            [now - 3 * 60 * MINUTE - 30_000, now + 10 * MINUTE + 30_000],
        )
        .unwrap();
    drop(store);

    let (code, text) = doctor(&sandbox, false);
    insta::assert_snapshot!("doctor_broken_setup", text);
    assert_eq!(code, 1, "{text}");

    let (code, json) = doctor(&sandbox, true);
    assert_eq!(code, 1);
    let report: Value = serde_json::from_str(&json).unwrap();
    assert_eq!(report["ok"], false);
    let failed: Vec<&str> = report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|check| check["status"] == "fail")
        .map(|check| check["name"].as_str().unwrap())
        .collect();
    assert_eq!(failed, ["user scope", "switch"]);
}

#[test]
fn doctor_with_nothing_installed_fails_and_creates_nothing() {
    let sandbox = Sandbox::new();
    let (code, text) = doctor(&sandbox, false);
    assert_eq!(code, 1);
    assert!(text.contains("FAIL  installed      not installed in any scope"));
    assert!(text.contains("hint: pace-maker install"));
    assert!(
        !sandbox.tool_home().exists(),
        "doctor does not create the tool home"
    );
}

#[test]
fn doctor_fails_when_the_kill_switch_is_set_or_the_store_cannot_open() {
    let sandbox = Sandbox::new();
    install(&sandbox, &[]);
    let output = sandbox
        .command()
        .env("PACE_MAKER_DISABLE", "1")
        .arg("doctor")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&output.stdout)
        .contains("FAIL  switch         PACE_MAKER_DISABLE is set"));

    // A store file that is a folder cannot be opened.
    let broken = Sandbox::new();
    install(&broken, &[]);
    std::fs::remove_file(broken.store_path()).unwrap();
    std::fs::create_dir(broken.store_path()).unwrap();
    let (code, text) = doctor(&broken, false);
    assert_eq!(code, 1);
    assert!(text.contains("FAIL  store"), "{text}");
}

/// The plugin as `claude plugin install` leaves it: the repository's
/// plugin folder copied into Claude Code's cache, recorded in
/// `installed_plugins.json`, enabled in the user's settings.
fn install_the_plugin_as_claude_code_does(sandbox: &Sandbox) {
    let claude_dir = sandbox.home().join(".claude");
    let cache = claude_dir.join("plugins/cache/claude-pace-maker/pace-maker/0.1.0");
    let hooks = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("plugin/hooks/hooks.json"),
    )
    .unwrap();
    write(&cache.join("hooks/hooks.json"), &hooks);
    let installed = json!({"version": 2, "plugins": {"pace-maker@claude-pace-maker": [{
        "scope": "user",
        "installPath": cache,
        "version": env!("CARGO_PKG_VERSION"),
        "installedAt": "2026-01-01T00:00:00.000Z",
        "lastUpdated": "2026-01-01T00:00:00.000Z"
    }]}});
    write(
        &claude_dir.join("plugins/installed_plugins.json"),
        &installed.to_string(),
    );
    let settings_path = claude_dir.join("settings.json");
    let mut settings: Value = std::fs::read_to_string(&settings_path)
        .ok()
        .and_then(|text| serde_json::from_str(&text).ok())
        .unwrap_or_else(|| json!({}));
    settings["enabledPlugins"] = json!({"pace-maker@claude-pace-maker": true});
    write(
        &settings_path,
        &serde_json::to_string_pretty(&settings).unwrap(),
    );
}

fn check<'a>(report: &'a Value, name: &str) -> &'a Value {
    report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|check| check["name"] == name)
        .unwrap_or_else(|| panic!("no {name} check: {report}"))
}

#[test]
fn doctor_recognises_the_plugin_and_the_double_installation_with_settings_hooks() {
    let sandbox = Sandbox::new();
    install_the_plugin_as_claude_code_does(&sandbox);
    // The launcher finds the binary `install --statusline-only` recorded.
    install(&sandbox, &["--statusline-only"]);
    let (code, json) = doctor(&sandbox, true);
    let report: Value = serde_json::from_str(&json).unwrap();
    assert_eq!(code, 0, "{report}");
    let plugin = check(&report, "plugin");
    assert_eq!(plugin["status"], "ok", "{plugin}");
    assert_eq!(
        plugin["summary"],
        "pace-maker@claude-pace-maker [VERSION], enabled in the user scope: 6 hooks, running [BIN] (recorded by install)"
    );
    let installed = check(&report, "installed");
    assert_eq!(installed["status"], "ok", "{installed}");
    assert_eq!(
        installed["summary"],
        "once, as the plugin pace-maker@claude-pace-maker (user scope)"
    );

    // Settings hooks as well: every event would run twice.
    install(&sandbox, &[]);
    let (code, json) = doctor(&sandbox, true);
    let report: Value = serde_json::from_str(&json).unwrap();
    assert_eq!(code, 0, "a warning, not a failure: {report}");
    let installed = check(&report, "installed");
    assert_eq!(installed["status"], "warn", "{installed}");
    assert!(
        installed["summary"]
            .as_str()
            .unwrap()
            .starts_with("twice: as the plugin pace-maker@claude-pace-maker (user scope) and in the user scope's settings"),
        "{installed}"
    );

    // Without a binary for the launcher, the plugin's hooks do nothing.
    std::fs::remove_file(sandbox.tool_home().join("binary-path")).unwrap();
    let output = sandbox
        .command()
        .env("PATH", sandbox.dir.path().join("nothing on path"))
        .env("CARGO_HOME", sandbox.dir.path().join("no-cargo"))
        .args(["doctor", "--json"])
        .output()
        .unwrap();
    let report: Value = serde_json::from_slice(&output.stdout).unwrap();
    let plugin = check(&report, "plugin");
    assert_eq!(plugin["status"], "fail", "{plugin}");
    assert!(
        plugin["summary"]
            .as_str()
            .unwrap()
            .contains("its hooks find no pace-maker program"),
        "{plugin}"
    );
}
