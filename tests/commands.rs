//! The person-facing foundation commands: config, status, logs.

mod support;

use predicates::prelude::*;
use support::Sandbox;

#[test]
fn config_set_keeps_comments_and_rejects_invalid_values() {
    let sandbox = Sandbox::new();
    std::fs::create_dir_all(sandbox.tool_home()).unwrap();
    let path = sandbox.tool_home().join("config.toml");
    std::fs::write(
        &path,
        "# my notes about pacing\n[pacing]\n# keep a margin\ntarget_percent = 90 # tuned in May\n",
    )
    .unwrap();
    sandbox
        .command()
        .args(["config", "set", "pacing.target_percent", "85"])
        .assert()
        .success()
        .stdout("pacing.target_percent = 85.0\n");
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains("# my notes about pacing"), "{text}");
    assert!(text.contains("# keep a margin"), "{text}");
    assert!(text.contains("# tuned in May"), "{text}");
    assert!(text.contains("target_percent = 85.0"), "{text}");

    for (key, value, message) in [
        ("pacing.target_percent", "150", "(0, 100]"),
        ("pacing.target_percent", "lots", "expects a number"),
        ("pacing.no_such_key", "1", "unknown key"),
        ("store.busy_timeout_ms", "-5", "store.busy_timeout_ms"),
        (
            "pacing.max_delay_seconds",
            "3000",
            "hooks.post_tool_use_timeout_seconds",
        ),
    ] {
        sandbox
            .command()
            .args(["config", "set", key, value])
            .assert()
            .failure()
            .stderr(predicate::str::starts_with("error: "))
            .stderr(predicate::str::contains(message))
            .stderr(predicate::str::contains("hint: "));
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            text,
            "{key} = {value} changed the file"
        );
    }
}

#[test]
fn config_set_creates_the_file_and_section() {
    let sandbox = Sandbox::new();
    sandbox
        .command()
        .args(["config", "set", "log.level", "debug"])
        .assert()
        .success();
    sandbox
        .command()
        .args(["config", "get", "log.level"])
        .assert()
        .success()
        .stdout("debug\n");
    sandbox
        .command()
        .args(["config", "list"])
        .assert()
        .success()
        .stdout("log.level = \"debug\"\n");
}

#[test]
fn config_layers_resolve_project_over_file_and_environment_over_both() {
    let sandbox = Sandbox::new();
    sandbox
        .command()
        .args(["config", "set", "pacing.target_percent", "90"])
        .assert()
        .success();
    let project = sandbox.dir.path().join("project");
    std::fs::create_dir_all(project.join(".claude")).unwrap();
    std::fs::write(
        project.join(".claude/pace-maker.toml"),
        "[pacing]\ntarget_percent = 80\n[momentum]\nmax_blocks_per_session = 7\n",
    )
    .unwrap();
    let resolved = sandbox
        .command()
        .env("CLAUDE_PROJECT_DIR", &project)
        .env("PACE_MAKER_MOMENTUM_MAX_BLOCKS_PER_SESSION", "9")
        .args(["config", "list", "--resolved"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let resolved = String::from_utf8(resolved).unwrap();
    assert!(
        resolved.contains("pacing.target_percent = 80.0  # project"),
        "{resolved}"
    );
    assert!(
        resolved.contains("momentum.max_blocks_per_session = 9  # environment"),
        "{resolved}"
    );
    assert!(
        resolved.contains("pacing.max_delay_seconds = 240  # default"),
        "{resolved}"
    );
    sandbox
        .command()
        .args(["config", "get", "pacing.target_percent"])
        .assert()
        .success()
        .stdout("90.0\n");
}

#[test]
fn config_path_and_unknown_get() {
    let sandbox = Sandbox::new();
    sandbox
        .command()
        .args(["config", "path"])
        .assert()
        .success()
        .stdout(format!(
            "{}\n",
            sandbox.tool_home().join("config.toml").display()
        ));
    sandbox
        .command()
        .args(["config", "get", "nope.nope"])
        .assert()
        .failure()
        .stderr(predicate::str::contains("error: unknown key"));
}

#[test]
fn an_unparseable_config_file_is_refused_by_set_and_warned_about_by_list() {
    let sandbox = Sandbox::new();
    std::fs::create_dir_all(sandbox.tool_home()).unwrap();
    let path = sandbox.tool_home().join("config.toml");
    std::fs::write(&path, "[pacing\ntarget = ").unwrap();
    sandbox
        .command()
        .args(["config", "set", "log.level", "debug"])
        .assert()
        .failure()
        .stderr(predicate::str::contains("not valid TOML"));
    assert_eq!(
        std::fs::read_to_string(&path).unwrap(),
        "[pacing\ntarget = "
    );
    sandbox
        .command()
        .args(["config", "list", "--resolved"])
        .assert()
        .success()
        .stderr(predicate::str::contains("warning: config:"));
}

#[test]
fn status_lists_sessions_in_text_and_json() {
    let sandbox = Sandbox::new();
    for line in support::fixture_lines("hook-inputs-basic.jsonl")
        .into_iter()
        .take(4)
    {
        let value: serde_json::Value = serde_json::from_str(&line).unwrap();
        let event = support::kebab(value["hook_event_name"].as_str().unwrap());
        sandbox.hook(&event, line).success();
    }
    sandbox
        .command()
        .arg("status")
        .assert()
        .success()
        .stdout(predicate::str::contains("pace-maker: on"))
        .stdout(predicate::str::contains(
            "d095304d  /home/dev/project  1 tool calls",
        ));
    let output = sandbox
        .command()
        .args(["status", "--json"])
        .output()
        .unwrap();
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(json["schema_version"], 1);
    assert_eq!(json["control"]["state"], "on");
    let session = &json["sessions"][0];
    assert_eq!(session["id"], "d095304d-895a-4782-9633-22c1acc3ecef");
    assert_eq!(session["short_id"], "d095304d");
    assert_eq!(session["project_dir"], "/home/dev/project");
    assert_eq!(session["tool_calls"], 1);
    assert_eq!(session["active"], true);
    assert!(session["last_activity_at"].as_str().unwrap().ends_with('Z'));
}

#[test]
fn logs_prints_the_newest_file() {
    let sandbox = Sandbox::new();
    sandbox
        .command()
        .arg("logs")
        .assert()
        .success()
        .stderr(predicate::str::contains("no log yet"));
    sandbox.hook("stop", "not json").success();
    sandbox
        .command()
        .arg("logs")
        .assert()
        .success()
        .stdout(predicate::str::contains("WARN hook failed open"));
}
