//! `pace-maker install | uninstall` run as a person runs them: the built
//! binary, a temporary HOME, real settings files. Then every hook command
//! exactly as written into settings.json, through `sh -c`, with captured
//! payloads.

use crate::support;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command as StdCommand, Stdio};

use crate::support::{fixture_lines, refused_url, Sandbox};
use pace_maker::install::plugin;
use serde_json::{json, Value};

fn user_settings(sandbox: &Sandbox) -> PathBuf {
    sandbox.home().join(".claude").join("settings.json")
}

fn read_json(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn write(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

/// Install's backups of the settings file `path`, in the tool home's
/// backup folder, oldest first.
fn backups_of(sandbox: &Sandbox, path: &Path) -> Vec<PathBuf> {
    let prefix = pace_maker::install::settings_file::backup_prefix(path);
    let mut found: Vec<PathBuf> = std::fs::read_dir(sandbox.tool_home().join("backups"))
        .map(|entries| {
            entries
                .flatten()
                .map(|entry| entry.path())
                .filter(|candidate| {
                    let candidate = candidate.file_name().unwrap().to_string_lossy();
                    candidate.starts_with(&prefix)
                })
                .collect()
        })
        .unwrap_or_default();
    // In the order pace-maker keeps them: by stamp, then attempt.
    found.sort_by_key(|candidate| {
        let name = candidate
            .file_name()
            .unwrap()
            .to_string_lossy()
            .into_owned();
        pace_maker::install::settings_file::backup_stamp(&name[prefix.len()..])
    });
    found
}

/// The names in a folder, sorted.
fn names_in(folder: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(folder)
        .unwrap()
        .flatten()
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

fn mode_of(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

/// Our commands in a settings value, by event.
fn own_commands(settings: &Value) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for (event, groups) in settings["hooks"].as_object().unwrap() {
        for group in groups.as_array().unwrap() {
            for entry in group["hooks"].as_array().unwrap() {
                let command = entry["command"].as_str().unwrap();
                if command.contains("pace-maker") && command.contains(" hook ") {
                    out.push((event.clone(), command.to_string()));
                }
            }
        }
    }
    out
}

/// A copy of the built binary at `folder/pace-maker`.
fn binary_copy(folder: &Path) -> PathBuf {
    std::fs::create_dir_all(folder).unwrap();
    let copy = folder.join("pace-maker");
    std::fs::copy(assert_cmd::cargo::cargo_bin("pace-maker"), &copy).unwrap();
    // A process another test thread forked while the copy was open for
    // writing holds that descriptor until it execs, and exec of the copy
    // fails with ETXTBSY meanwhile: wait until the copy runs.
    for _ in 0..200 {
        match StdCommand::new(&copy).arg("--version").output() {
            Err(error) if error.raw_os_error() == Some(libc::ETXTBSY) => {
                std::thread::sleep(std::time::Duration::from_millis(10));
            }
            _ => break,
        }
    }
    copy
}

#[test]
fn install_into_a_fresh_home_creates_the_folders_the_settings_and_a_commented_config() {
    let sandbox = Sandbox::new();
    sandbox.command().arg("install").assert().success();
    let settings_path = user_settings(&sandbox);
    let settings = read_json(&settings_path);
    let binary = assert_cmd::cargo::cargo_bin("pace-maker");
    let events: Vec<&String> = settings["hooks"].as_object().unwrap().keys().collect();
    assert_eq!(
        events,
        [
            "SessionStart",
            "UserPromptSubmit",
            "PostToolUse",
            "Stop",
            "SubagentStop",
            "SessionEnd"
        ]
    );
    assert_eq!(
        settings["hooks"]["PostToolUse"],
        json!([{"matcher": "*", "hooks": [{"type": "command", "command": format!("{} hook post-tool-use", binary.display()), "timeout": 300}]}])
    );
    // Stop runs the criteria's checks: `hooks.stop_timeout_seconds`.
    assert_eq!(settings["hooks"]["Stop"][0]["hooks"][0]["timeout"], 300);
    assert_eq!(
        settings["hooks"]["SubagentStop"][0]["hooks"][0]["timeout"],
        10
    );
    assert_eq!(
        settings["statusLine"]["command"],
        format!("{} statusline", binary.display())
    );
    let text = std::fs::read_to_string(&settings_path).unwrap();
    assert!(
        text.starts_with("{\n  \"hooks\": {\n    \"SessionStart\""),
        "two-space indentation: {text}"
    );
    assert!(text.ends_with("}\n"));
    assert_eq!(mode_of(&settings_path), 0o600);
    assert_eq!(
        std::fs::read_to_string(sandbox.tool_home().join("config.toml")).unwrap(),
        pace_maker::config::default_file_text()
    );
    assert_eq!(mode_of(&sandbox.tool_home()), 0o700);
    assert!(sandbox.store_path().exists(), "install creates the store");
    assert!(
        backups_of(&sandbox, &settings_path).is_empty(),
        "nothing to back up for a new file"
    );
}

#[test]
fn every_hook_command_as_written_runs_through_sh_with_a_fixture_payload_and_exits_zero() {
    let sandbox = Sandbox::new();
    // A folder with a space and a quote makes the quoting matter.
    let binary = binary_copy(&sandbox.dir.path().join("my tools/it's"));
    let claude_dir = sandbox.dir.path().join("claude config");
    StdCommand::new(&binary)
        .arg("install")
        .env_clear()
        .envs(support::clock_env())
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", sandbox.home())
        .env("CLAUDE_CONFIG_DIR", &claude_dir)
        .env("PACE_MAKER_HOME", sandbox.tool_home())
        .current_dir(sandbox.dir.path())
        .status()
        .unwrap()
        .success()
        .then_some(())
        .expect("install succeeds");
    let settings = read_json(&claude_dir.join("settings.json"));
    let commands = own_commands(&settings);
    assert_eq!(commands.len(), 6);

    let payloads: Vec<Value> = fixture_lines("hook-inputs-basic.jsonl")
        .iter()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    let payload_for = |event: &str| -> Value {
        if let Some(found) = payloads.iter().find(|p| p["hook_event_name"] == event) {
            return found.clone();
        }
        // The basic capture has no subagent: its Stop payload, renamed, is
        // what a SubagentStop carries.
        assert_eq!(event, "SubagentStop");
        let mut stop = payloads
            .iter()
            .find(|p| p["hook_event_name"] == "Stop")
            .unwrap()
            .clone();
        stop["hook_event_name"] = json!("SubagentStop");
        stop["agent_transcript_path"] =
            json!("/home/dev/.claude/projects/-home-dev-project/d095304d/subagents/agent-1.jsonl");
        stop
    };
    for (event, command) in &commands {
        let payload = payload_for(event).to_string();
        let mut child = StdCommand::new("sh")
            .arg("-c")
            .arg(command)
            .env_clear()
            .envs(support::clock_env())
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("HOME", sandbox.home())
            .env("CLAUDE_CONFIG_DIR", &claude_dir)
            .env("PACE_MAKER_HOME", sandbox.tool_home())
            .env("CLAUDE_PROJECT_DIR", "/home/dev/project")
            .env("CLAUDECODE", "1")
            // Nothing may leave the machine, even if a hook wanted to poll.
            .env("PACE_MAKER_API_BASE", refused_url())
            .current_dir(sandbox.dir.path())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        use std::io::Write;
        child
            .stdin
            .take()
            .unwrap()
            .write_all(payload.as_bytes())
            .unwrap();
        let output = child.wait_with_output().unwrap();
        assert_eq!(
            output.status.code(),
            Some(0),
            "{event}: `{command}` failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        assert!(
            output.stderr.is_empty(),
            "{event}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    // Each command reached the binary: every event left its row.
    assert_eq!(
        sandbox.query_i64("SELECT count(DISTINCT event) FROM hook_events"),
        6
    );
}

#[test]
fn installing_twice_changes_nothing_the_second_time() {
    let sandbox = Sandbox::new();
    let path = user_settings(&sandbox);
    write(
        &path,
        r#"{"model": "opus", "hooks": {"Stop": [{"hooks": [{"type": "command", "command": "notify-send done"}]}]}}"#,
    );
    sandbox.command().arg("install").assert().success();
    let first = std::fs::read(&path).unwrap();
    assert_eq!(backups_of(&sandbox, &path).len(), 1);
    sandbox
        .command()
        .arg("install")
        .assert()
        .success()
        .stderr(predicates::str::contains("nothing to change"));
    assert_eq!(std::fs::read(&path).unwrap(), first);
    assert_eq!(backups_of(&sandbox, &path).len(), 1, "no change, no backup");
}

#[test]
fn reinstalling_from_a_moved_binary_updates_the_entries_in_place() {
    let sandbox = Sandbox::new();
    let old = binary_copy(&sandbox.dir.path().join("old"));
    let new = binary_copy(&sandbox.dir.path().join("new"));
    for binary in [&old, &new] {
        let status = StdCommand::new(binary)
            .arg("install")
            .env_clear()
            .envs(support::clock_env())
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("HOME", sandbox.home())
            .env("PACE_MAKER_HOME", sandbox.tool_home())
            .current_dir(sandbox.dir.path())
            .stderr(Stdio::null())
            .status()
            .unwrap();
        assert!(status.success());
    }
    let commands = own_commands(&read_json(&user_settings(&sandbox)));
    assert_eq!(commands.len(), 6, "{commands:?}");
    for (_, command) in commands {
        assert!(command.starts_with(&new.display().to_string()), "{command}");
    }
}

#[test]
fn malformed_settings_are_refused_with_line_and_column_and_left_untouched() {
    let sandbox = Sandbox::new();
    let path = user_settings(&sandbox);
    let text = "{\n  \"model\": \"opus\",\n  \"hooks\": {,}\n}\n";
    write(&path, text);
    sandbox
        .command()
        .arg("install")
        .assert()
        .failure()
        .stderr(predicates::str::contains("is not valid JSON"))
        .stderr(predicates::str::contains("at line 3, column 13"))
        .stderr(predicates::str::contains("hint: fix the file by hand"));
    assert_eq!(std::fs::read_to_string(&path).unwrap(), text);
    assert!(backups_of(&sandbox, &path).is_empty());
    sandbox
        .command()
        .arg("uninstall")
        .assert()
        .failure()
        .stderr(predicates::str::contains("at line 3, column 13"));
    assert_eq!(std::fs::read_to_string(&path).unwrap(), text);
}

#[test]
fn settings_that_are_not_an_object_or_hold_hooks_of_the_wrong_shape_are_refused() {
    let sandbox = Sandbox::new();
    let path = user_settings(&sandbox);
    for text in [
        "[1, 2]\n",
        "{\"hooks\": []}\n",
        "{\"hooks\": {\"Stop\": 1}}\n",
    ] {
        write(&path, text);
        sandbox.command().arg("install").assert().failure().stderr(
            predicates::str::contains("not a JSON object")
                .or(predicates::str::contains("is not an object"))
                .or(predicates::str::contains("is not a list")),
        );
        assert_eq!(std::fs::read_to_string(&path).unwrap(), text);
    }
}

use predicates::prelude::PredicateBooleanExt;

#[test]
fn a_read_only_settings_file_is_refused_and_left_untouched() {
    let sandbox = Sandbox::new();
    let path = user_settings(&sandbox);
    let text = "{\"model\": \"opus\"}\n";
    write(&path, text);
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o444)).unwrap();
    sandbox
        .command()
        .arg("install")
        .assert()
        .failure()
        .stderr(predicates::str::contains("is read-only"))
        .stderr(predicates::str::contains("hint: make it writable"));
    assert_eq!(std::fs::read_to_string(&path).unwrap(), text);
    assert_eq!(mode_of(&path), 0o444);
    assert!(backups_of(&sandbox, &path).is_empty());
}

#[test]
fn a_symlinked_settings_file_keeps_its_link_and_its_target_is_updated() {
    let sandbox = Sandbox::new();
    let dotfiles = sandbox.dir.path().join("dotfiles");
    let target = dotfiles.join("claude-settings.json");
    write(&target, "{\"model\": \"opus\"}\n");
    std::fs::set_permissions(&target, std::fs::Permissions::from_mode(0o640)).unwrap();
    let link = user_settings(&sandbox);
    std::fs::create_dir_all(link.parent().unwrap()).unwrap();
    std::os::unix::fs::symlink("../../dotfiles/claude-settings.json", &link).unwrap();
    sandbox.command().arg("install").assert().success();
    assert!(std::fs::symlink_metadata(&link)
        .unwrap()
        .file_type()
        .is_symlink());
    let settings = read_json(&target);
    assert_eq!(settings["model"], "opus");
    assert_eq!(own_commands(&settings).len(), 6);
    assert_eq!(mode_of(&target), 0o640, "the target keeps its mode");
    let backups = backups_of(&sandbox, &link);
    assert_eq!(backups.len(), 1);
    assert_eq!(
        std::fs::read_to_string(&backups[0]).unwrap(),
        "{\"model\": \"opus\"}\n"
    );
    assert_eq!(mode_of(&backups[0]), 0o600);
    sandbox.command().arg("uninstall").assert().success();
    assert!(std::fs::symlink_metadata(&link)
        .unwrap()
        .file_type()
        .is_symlink());
    assert_eq!(read_json(&target), json!({"model": "opus"}));
}

#[test]
fn missing_folders_are_created_for_every_scope_and_an_explicit_file() {
    let sandbox = Sandbox::new();
    let project = sandbox.dir.path();
    for (args, path) in [
        (
            vec!["install", "--scope", "project"],
            project.join(".claude/settings.json"),
        ),
        (
            vec!["install", "--scope", "local"],
            project.join(".claude/settings.local.json"),
        ),
        (
            vec![
                "install",
                "--settings",
                project.join("deep/er/settings.json").to_str().unwrap(),
            ],
            project.join("deep/er/settings.json"),
        ),
    ] {
        sandbox.command().args(&args).assert().success();
        assert_eq!(own_commands(&read_json(&path)).len(), 6, "{args:?}");
    }
    assert!(
        !user_settings(&sandbox).exists(),
        "the user scope is untouched"
    );
}

#[test]
fn dry_run_prints_a_diff_and_writes_nothing() {
    let sandbox = Sandbox::new();
    let path = user_settings(&sandbox);
    let text = "{\n  \"model\": \"opus\"\n}\n";
    write(&path, text);
    let output = sandbox
        .command()
        .args(["install", "--dry-run"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let diff = String::from_utf8(output).unwrap();
    assert!(
        diff.starts_with(&format!(
            "--- {}\n+++ {}\n@@ ",
            path.display(),
            path.display()
        )),
        "{diff}"
    );
    assert!(diff.contains("-  \"model\": \"opus\"\n+  \"model\": \"opus\",\n"));
    assert!(diff.contains("hook post-tool-use"));
    assert_eq!(std::fs::read_to_string(&path).unwrap(), text);
    assert!(backups_of(&sandbox, &path).is_empty());
    assert!(
        !sandbox.tool_home().exists(),
        "a dry run does not create the tool home"
    );

    // A dry run of a new file diffs against /dev/null and creates nothing.
    let project = sandbox.dir.path().join(".claude/settings.json");
    let diff = sandbox
        .command()
        .args(["install", "--dry-run", "--scope", "project"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    assert!(String::from_utf8(diff)
        .unwrap()
        .starts_with("--- /dev/null\n"));
    assert!(!project.parent().unwrap().exists());

    // And uninstall's dry run leaves an installed file as it is.
    sandbox.command().arg("install").assert().success();
    let installed = std::fs::read_to_string(&path).unwrap();
    let diff = sandbox
        .command()
        .args(["uninstall", "--dry-run"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    assert!(String::from_utf8(diff)
        .unwrap()
        .contains("-    \"Stop\": ["));
    assert_eq!(std::fs::read_to_string(&path).unwrap(), installed);
}

#[test]
fn uninstall_gives_back_the_original_file_byte_for_byte() {
    let sandbox = Sandbox::new();
    let path = user_settings(&sandbox);
    let original = pace_maker::install::settings_file::render(&json!({
        "permissions": {"allow": ["Bash(ls:*)"]},
        "hooks": {
            "Stop": [],
            "PostToolUse": [{"matcher": "Bash", "hooks": [{"type": "command", "command": "lint", "async": true}]}]
        },
        "statusLine": {"type": "command", "command": "~/bin/line.sh", "padding": 1},
        "futureKey": {"x": [1, 2, 3]}
    }));
    write(&path, &original);
    for mode in ["auto", "chain", "force", "skip"] {
        sandbox
            .command()
            .args(["install", "--statusline", mode])
            .assert()
            .success();
        assert_ne!(std::fs::read_to_string(&path).unwrap(), original, "{mode}");
        sandbox.command().arg("uninstall").assert().success();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), original, "{mode}");
    }
}

#[test]
fn a_settings_file_that_install_created_is_removed_by_uninstall() {
    let sandbox = Sandbox::new();
    let path = sandbox.dir.path().join(".claude/settings.local.json");
    sandbox
        .command()
        .args(["install", "--scope", "local"])
        .assert()
        .success();
    assert!(path.exists());
    sandbox
        .command()
        .args(["uninstall", "--scope", "local"])
        .assert()
        .success()
        .stderr(predicates::str::contains("install created it"));
    assert!(!path.exists());
}

#[test]
fn each_status_line_mode_does_what_it_says() {
    let binary = assert_cmd::cargo::cargo_bin("pace-maker");
    let theirs = json!({"type": "command", "command": "~/bin/my line.sh", "padding": 1});
    let ours = json!({"type": "command", "command": format!("{} statusline", binary.display()), "padding": 0});
    let chained = json!({"type": "command", "command": format!("{} statusline --chain '~/bin/my line.sh'", binary.display()), "padding": 1});
    // (mode, user has one, expected after install, stderr mentions)
    let cases = [
        ("auto", false, ours.clone(), "installed pace-maker's"),
        ("auto", true, theirs.clone(), "yours is kept"),
        ("chain", true, chained.clone(), "runs through pace-maker's"),
        ("force", true, ours.clone(), "replaced by pace-maker's"),
        ("skip", true, theirs.clone(), ""),
    ];
    for (mode, has_one, expected, message) in cases {
        let sandbox = Sandbox::new();
        let path = user_settings(&sandbox);
        let before = if has_one {
            json!({"statusLine": theirs.clone()})
        } else {
            json!({})
        };
        write(&path, &before.to_string());
        sandbox
            .command()
            .args(["install", "--statusline", mode])
            .assert()
            .success()
            .stderr(predicates::str::contains(message));
        assert_eq!(read_json(&path)["statusLine"], expected, "{mode}");
        if mode == "force" {
            // The replaced line is in the backup as well as restored by uninstall.
            let backup = read_json(&backups_of(&sandbox, &path)[0]);
            assert_eq!(backup["statusLine"], theirs);
        }
        sandbox.command().arg("uninstall").assert().success();
        assert_eq!(read_json(&path), before, "{mode}: uninstall restores");
    }
}

#[test]
fn a_second_scope_warns_only_when_it_calls_another_program_and_uninstall_says_what_remains() {
    let sandbox = Sandbox::new();
    sandbox.command().arg("install").assert().success();
    // The local scope calls the same binary: Claude Code runs it once.
    sandbox
        .command()
        .args(["install", "--scope", "local"])
        .assert()
        .success()
        .stderr(predicates::str::contains(
            "with the same command: Claude Code runs it once",
        ))
        .stderr(predicates::str::contains("warning").not());
    sandbox
        .command()
        .args(["uninstall", "--scope", "local"])
        .assert()
        .success();
    // The project scope calls `pace-maker` from PATH: another program.
    sandbox
        .command()
        .args(["install", "--scope", "project"])
        .assert()
        .success()
        .stderr(predicates::str::contains(
            "warning: pace-maker is also installed in",
        ))
        .stderr(predicates::str::contains(
            "(user scope) through another program",
        ))
        .stderr(predicates::str::contains(
            "hint: keep one: pace-maker uninstall --scope user",
        ));
    // Removing the project's leaves one: nothing to uninstall, just where it runs.
    sandbox
        .command()
        .args(["uninstall", "--scope", "project"])
        .assert()
        .success()
        .stderr(predicates::str::contains("is still installed in"))
        .stderr(predicates::str::contains("hint").not());
}

#[test]
fn the_project_scope_calls_pace_maker_from_path_and_never_hides_the_users_status_line() {
    let sandbox = Sandbox::new();
    let user = sandbox.home().join(".claude/settings.json");
    write(
        &user,
        r#"{"statusLine":{"type":"command","command":"npx -y ccusage statusline"}}"#,
    );
    sandbox
        .command()
        .args(["install", "--statusline", "chain"])
        .assert()
        .success();
    let binary = assert_cmd::cargo::cargo_bin("pace-maker");
    let project = sandbox.dir.path().join(".claude/settings.json");
    sandbox
        .command()
        .args(["install", "--scope", "project"])
        .assert()
        .success()
        .stderr(predicates::str::contains("shared"));
    let text = std::fs::read_to_string(&project).unwrap();
    let value: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert!(
        !text.contains(binary.to_str().unwrap()),
        "no machine's path in a file meant for the team: {text}"
    );
    let command = value["hooks"]["PostToolUse"][0]["hooks"][0]["command"]
        .as_str()
        .unwrap();
    assert_eq!(command, "pace-maker hook post-tool-use");
    assert!(
        value.get("statusLine").is_none(),
        "the user's status line stays in force: {text}"
    );
    // The user's chained status line is untouched.
    let user_value: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&user).unwrap()).unwrap();
    assert!(user_value["statusLine"]["command"]
        .as_str()
        .unwrap()
        .contains("ccusage statusline"));
    // Asked for by name, the project gets one.
    sandbox
        .command()
        .args(["install", "--scope", "project", "--statusline", "force"])
        .assert()
        .success();
    let value: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&project).unwrap()).unwrap();
    assert_eq!(value["statusLine"]["command"], "pace-maker statusline");
}

#[test]
fn uninstall_keeps_the_tool_home_unless_purge_is_given() {
    let sandbox = Sandbox::new();
    sandbox.command().arg("install").assert().success();
    sandbox.command().arg("uninstall").assert().success();
    assert!(sandbox.tool_home().join("config.toml").exists());
    sandbox
        .command()
        .args(["uninstall", "--purge"])
        .assert()
        .success()
        .stderr(predicates::str::contains("removed"));
    assert!(!sandbox.tool_home().exists());
}

#[test]
fn purge_refuses_a_folder_that_is_not_a_tool_home() {
    let sandbox = Sandbox::new();
    let elsewhere = sandbox.dir.path().join("photos");
    write(&elsewhere.join("cat.jpg"), "meow");
    sandbox
        .command()
        .env("PACE_MAKER_HOME", &elsewhere)
        .args(["uninstall", "--purge"])
        .assert()
        .failure()
        .stderr(predicates::str::contains(
            "does not look like pace-maker's home",
        ));
    assert!(elsewhere.join("cat.jpg").exists());
}

/// Installs into the user settings holding `text`, checks what install
/// wrote with `check`, then uninstalls and expects `text` back, byte for
/// byte. Returns what install wrote.
fn install_then_uninstall(sandbox: &Sandbox, text: &str) -> String {
    let path = user_settings(sandbox);
    write(&path, text);
    sandbox.command().arg("install").assert().success();
    let installed = std::fs::read_to_string(&path).unwrap();
    assert_eq!(own_commands(&read_json(&path)).len(), 6, "{installed}");
    sandbox.command().arg("uninstall").assert().success();
    assert_eq!(std::fs::read_to_string(&path).unwrap(), text);
    installed
}

/// A settings file of another tool, with a hook of its own in one of our
/// events, as `serde_json` lays it out with `indent`.
fn someone_elses_settings(indent: &[u8]) -> String {
    let value = json!({
        "model": "opus",
        "hooks": {"Stop": [{"hooks": [{"type": "command", "command": "notify-send done"}]}]},
        "permissions": {"allow": ["Bash(ls:*)"], "deny": []}
    });
    let mut out = Vec::new();
    let formatter = serde_json::ser::PrettyFormatter::with_indent(indent);
    let mut serializer = serde_json::Serializer::with_formatter(&mut out, formatter);
    serde::Serialize::serialize(&value, &mut serializer).unwrap();
    String::from_utf8(out).unwrap() + "\n"
}

#[test]
fn a_four_space_file_stays_four_space_and_uninstall_gives_it_back_byte_for_byte() {
    let sandbox = Sandbox::new();
    let text = someone_elses_settings(b"    ");
    let installed = install_then_uninstall(&sandbox, &text);
    assert!(
        installed.starts_with("{\n    \"model\": \"opus\",\n    \"hooks\": {\n        \"Stop\": ["),
        "{installed}"
    );
    assert!(installed.ends_with("\n}\n"), "{installed}");
    for line in installed.lines() {
        let width = line.len() - line.trim_start_matches(' ').len();
        assert_eq!(width % 4, 0, "{line:?} in {installed}");
    }
    // Without the receipt the file is still given back: rendered in its
    // own layout, which serde_json's four spaces are.
    let path = user_settings(&sandbox);
    sandbox.command().arg("install").assert().success();
    std::fs::remove_file(sandbox.tool_home().join("installs.json")).unwrap();
    sandbox.command().arg("uninstall").assert().success();
    assert_eq!(std::fs::read_to_string(&path).unwrap(), text);
}

#[test]
fn a_tab_indented_file_stays_tab_indented() {
    let sandbox = Sandbox::new();
    let text = someone_elses_settings(b"\t");
    let installed = install_then_uninstall(&sandbox, &text);
    assert!(installed.starts_with("{\n\t\"model\""), "{installed}");
    assert!(!installed.contains("\n "), "no space indents: {installed}");
}

#[test]
fn a_compact_one_line_file_stays_on_one_line_and_comes_back_byte_for_byte() {
    let sandbox = Sandbox::new();
    // Spaced as a person writes one line, not as serde_json does.
    let text = r#"{"model": "opus", "hooks": {"Stop": [{"hooks": [{"type": "command", "command": "notify-send done"}]}]}}"#.to_string() + "\n";
    let installed = install_then_uninstall(&sandbox, &text);
    assert_eq!(installed.lines().count(), 1, "{installed}");
    assert!(installed.ends_with("}\n"));
    assert!(
        installed.starts_with(r#"{"model": "opus", "hooks": {"Stop": [{"hooks": [{"type": "command", "command": "notify-send done"}]}, {"#),
        "{installed}"
    );
    // serde_json's own compact form too.
    let sandbox = Sandbox::new();
    let text = json!({"model": "opus", "env": {"A": "1"}}).to_string();
    let installed = install_then_uninstall(&sandbox, &text);
    assert_eq!(installed.lines().count(), 1);
    assert!(
        installed.starts_with(r#"{"model":"opus","env":{"A":"1"},"hooks":{"#),
        "{installed}"
    );
    assert!(!installed.ends_with('\n'));
}

#[test]
fn a_file_without_a_final_newline_gains_none() {
    let sandbox = Sandbox::new();
    let text = "{\n  \"model\": \"opus\"\n}";
    let installed = install_then_uninstall(&sandbox, text);
    assert!(installed.ends_with("\n}"), "{installed:?}");
    assert!(installed.starts_with("{\n  \"model\": \"opus\",\n  \"hooks\": {"));
}

#[test]
fn an_empty_or_blank_file_comes_back_as_it_was() {
    for text in ["", " \n\n"] {
        let sandbox = Sandbox::new();
        let installed = install_then_uninstall(&sandbox, text);
        assert!(
            installed.starts_with("{\n  \"hooks\": {\n    \"SessionStart\""),
            "a new layout gets two spaces: {installed}"
        );
        assert!(installed.ends_with("}\n"));
        assert!(
            user_settings(&sandbox).exists(),
            "the file was there: it stays"
        );
    }
}

#[test]
fn a_file_edited_after_install_keeps_the_edit_and_its_layout_on_uninstall() {
    let sandbox = Sandbox::new();
    let path = user_settings(&sandbox);
    write(&path, "{\n    \"model\": \"opus\"\n}");
    sandbox.command().arg("install").assert().success();
    let mut settings = read_json(&path);
    settings["model"] = json!("sonnet");
    let mut out = Vec::new();
    let formatter = serde_json::ser::PrettyFormatter::with_indent(b"    ");
    let mut serializer = serde_json::Serializer::with_formatter(&mut out, formatter);
    serde::Serialize::serialize(&settings, &mut serializer).unwrap();
    std::fs::write(&path, out).unwrap();
    sandbox.command().arg("uninstall").assert().success();
    assert_eq!(
        std::fs::read_to_string(&path).unwrap(),
        "{\n    \"model\": \"sonnet\"\n}"
    );
}

#[test]
fn backups_go_to_the_tool_home_keep_the_first_and_the_newest_and_purge_removes_them() {
    let sandbox = Sandbox::new();
    let path = user_settings(&sandbox);
    let original = "{\"model\": \"opus\"}\n";
    write(&path, original);
    // One a previous version left next to the file.
    let old_style = path.with_file_name("settings.json.pace-maker-backup.20250101T000000Z");
    write(&old_style, original);
    for _ in 0..4 {
        sandbox.command().arg("install").assert().success();
        sandbox.command().arg("uninstall").assert().success();
    }
    assert_eq!(
        names_in(path.parent().unwrap()),
        [
            "settings.json",
            "settings.json.pace-maker-backup.20250101T000000Z"
        ],
        "nothing new next to the settings"
    );
    let backups = backups_of(&sandbox, &path);
    assert_eq!(
        backups.len(),
        pace_maker::install::settings_file::BACKUPS_KEPT,
        "{backups:?}"
    );
    assert_eq!(
        std::fs::read_to_string(&backups[0]).unwrap(),
        original,
        "the very first is the file from before pace-maker"
    );
    assert!(
        std::fs::read_to_string(backups.last().unwrap())
            .unwrap()
            .contains("hook post-tool-use"),
        "the newest is the installed file, from before the last uninstall"
    );
    for backup in &backups {
        assert_eq!(mode_of(backup), 0o600, "{}", backup.display());
    }
    assert_eq!(mode_of(&sandbox.tool_home().join("backups")), 0o700);

    sandbox
        .command()
        .args(["uninstall", "--purge"])
        .assert()
        .success();
    assert!(
        !sandbox.tool_home().exists(),
        "the backups went with the home"
    );
    assert_eq!(names_in(path.parent().unwrap()), ["settings.json"]);
    assert_eq!(std::fs::read_to_string(&path).unwrap(), original);
}

#[test]
fn install_and_uninstall_say_how_running_sessions_pick_up_the_change() {
    let sandbox = Sandbox::new();
    let hint =
        "restart running Claude Code sessions (or open /hooks in them) to pick up the change";
    sandbox
        .command()
        .arg("install")
        .assert()
        .success()
        .stderr(predicates::str::contains(hint));
    sandbox
        .command()
        .arg("install")
        .assert()
        .success()
        .stderr(predicates::str::contains(hint).not());
    sandbox
        .command()
        .arg("uninstall")
        .assert()
        .success()
        .stderr(predicates::str::contains(hint));
}

#[test]
fn install_writes_only_what_it_adds_and_keeps_the_rest_of_a_hand_formatted_file() {
    let sandbox = Sandbox::new();
    let path = user_settings(&sandbox);
    // As prettier or a person writes it: short lists inline, an escape,
    // a number spelled with a trailing zero.
    let text = "{\n  \"permissions\": { \"allow\": [\"Bash(ls:*)\", \"Read\"], \"deny\": [] },\n  \"env\": { \"NAME\": \"caf\\u00e9\", \"RATIO\": 1.50 },\n  \"hooks\": {\n    \"Stop\": [{ \"hooks\": [{ \"type\": \"command\", \"command\": \"notify-send done\" }] }]\n  }\n}\n";
    write(&path, text);
    sandbox.command().arg("install").assert().success();
    let installed = std::fs::read_to_string(&path).unwrap();
    for kept in [
        "{\n  \"permissions\": { \"allow\": [\"Bash(ls:*)\", \"Read\"], \"deny\": [] },\n  \"env\": { \"NAME\": \"caf\\u00e9\", \"RATIO\": 1.50 },\n  \"hooks\": {\n    \"Stop\": [{ \"hooks\": [{ \"type\": \"command\", \"command\": \"notify-send done\" }] }, {",
        "\n    \"SessionStart\": [\n      {\n        \"hooks\": [\n          {\n            \"type\": \"command\",",
    ] {
        assert!(installed.contains(kept), "{kept:?} not in {installed}");
    }
    assert_eq!(own_commands(&read_json(&path)).len(), 6);
    // Without the receipt too, uninstall takes out only what install put in.
    std::fs::remove_file(sandbox.tool_home().join("installs.json")).unwrap();
    sandbox.command().arg("uninstall").assert().success();
    assert_eq!(std::fs::read_to_string(&path).unwrap(), text);
}

// The Claude Code plugin: its files, its launcher, `--statusline-only`,
// and what install and uninstall say when it is enabled too. The real CLI
// installing and running it is in tests/it/e2e.rs.

fn repository() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn plugin_root() -> PathBuf {
    repository().join(plugin::PLUGIN_FOLDER)
}

#[test]
fn the_plugin_hooks_file_is_what_install_writes_with_the_default_timeouts() {
    let defaults = pace_maker::config::Config::default();
    let expected = plugin::hooks_file_text(
        defaults.hooks.post_tool_use_timeout_seconds,
        defaults.hooks.other_timeout_seconds,
    );
    let path = plugin_root().join(plugin::HOOKS_FILE);
    // One definition: the file is generated. `PACE_MAKER_WRITE_PLUGIN_HOOKS=1
    // cargo test --test it the_plugin_hooks_file` writes it anew.
    if std::env::var_os("PACE_MAKER_WRITE_PLUGIN_HOOKS").is_some() {
        std::fs::write(&path, &expected).unwrap();
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert_eq!(
        committed,
        expected,
        "{} is not what install writes (PACE_MAKER_WRITE_PLUGIN_HOOKS=1 writes it)",
        path.display()
    );
    // The same events, matchers and timeouts as a settings install.
    let sandbox = Sandbox::new();
    sandbox.command().arg("install").assert().success();
    let settings = read_json(&user_settings(&sandbox));
    let file: Value = serde_json::from_str(&committed).unwrap();
    let shape = |hooks: &Value| -> Vec<(String, Option<String>, u64)> {
        let mut out = Vec::new();
        for (event, groups) in hooks.as_object().unwrap() {
            for group in groups.as_array().unwrap() {
                for entry in group["hooks"].as_array().unwrap() {
                    out.push((
                        event.clone(),
                        group["matcher"].as_str().map(str::to_string),
                        entry["timeout"].as_u64().unwrap(),
                    ));
                }
            }
        }
        out
    };
    assert_eq!(shape(&file["hooks"]), shape(&settings["hooks"]));
    let post_tool_use = &file["hooks"]["PostToolUse"][0];
    assert_eq!(post_tool_use["matcher"], "*");
    assert!(
        post_tool_use["hooks"][0]["timeout"].as_u64().unwrap()
            >= defaults.pacing.max_delay_seconds + 30
    );
}

#[test]
fn the_marketplace_and_the_plugin_are_versioned_with_the_crate() {
    let marketplace = read_json(&repository().join(plugin::MARKETPLACE_MANIFEST));
    assert_eq!(marketplace["name"], plugin::MARKETPLACE_NAME);
    let entries: Vec<&Value> = marketplace["plugins"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|entry| entry["name"] == plugin::PLUGIN_NAME)
        .collect();
    assert_eq!(entries.len(), 1, "{marketplace}");
    assert_eq!(entries[0]["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(entries[0]["source"], format!("./{}", plugin::PLUGIN_FOLDER));
    let manifest = read_json(&plugin_root().join(plugin::PLUGIN_MANIFEST));
    assert_eq!(manifest["name"], plugin::PLUGIN_NAME);
    assert_eq!(manifest["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(
        plugin::PLUGIN_ID,
        format!("{}@{}", plugin::PLUGIN_NAME, plugin::MARKETPLACE_NAME)
    );
    // What runs must stay runnable after a copy that keeps modes (git, Claude Code's cache).
    assert_eq!(
        mode_of(&plugin_root().join("bin/pace-maker")) & 0o111,
        0o111
    );
}

/// A fake `pace-maker` at `folder/pace-maker` that prints where it is and
/// its arguments.
fn fake_binary(folder: &Path) -> PathBuf {
    std::fs::create_dir_all(folder).unwrap();
    let path = folder.join("pace-maker");
    std::fs::write(&path, "#!/bin/sh\necho \"ran $0 $*\"\n").unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path
}

/// Where the launcher looks, laid out in a sandbox.
struct LauncherWorld {
    home: PathBuf,
    tool_home: PathBuf,
    cargo_home: PathBuf,
    path: String,
    cwd: PathBuf,
}

impl LauncherWorld {
    fn new(sandbox: &Sandbox) -> Self {
        let cwd = sandbox.dir.path().join("project");
        std::fs::create_dir_all(&cwd).unwrap();
        Self {
            home: sandbox.home(),
            tool_home: sandbox.tool_home(),
            cargo_home: sandbox.dir.path().join("cargo"),
            path: "/usr/bin:/bin".into(),
            cwd,
        }
    }

    fn record(&self, binary: &Path) -> PathBuf {
        let record = self.tool_home.join("binary-path");
        write(&record, &format!("{}\n", binary.display()));
        record
    }

    fn environment(&self) -> Vec<(&'static str, std::ffi::OsString)> {
        vec![
            ("HOME", self.home.clone().into()),
            ("PACE_MAKER_HOME", self.tool_home.clone().into()),
            ("CARGO_HOME", self.cargo_home.clone().into()),
            ("PATH", self.path.clone().into()),
            ("CLAUDE_PLUGIN_ROOT", plugin_root().into()),
        ]
    }

    /// A plugin hook exactly as Claude Code runs it: its command through
    /// `sh -c`, the payload on stdin.
    fn hook(&self, event: &str, payload: &str) -> std::process::Output {
        let kind = pace_maker::event::EventKind::parse(event).unwrap();
        self.run(
            StdCommand::new("/bin/sh")
                .arg("-c")
                .arg(plugin::hook_command(kind)),
            payload,
        )
    }

    fn run(&self, command: &mut StdCommand, stdin: &str) -> std::process::Output {
        use std::io::Write;
        let mut child = command
            .env_clear()
            .envs(support::clock_env())
            .envs(self.environment())
            .current_dir(&self.cwd)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // A hook that exits without reading its input closes the pipe early.
        let _ = child.stdin.take().unwrap().write_all(stdin.as_bytes());
        child.wait_with_output().unwrap()
    }

    /// What doctor's lookup finds in the same world.
    fn lookup(&self) -> Option<PathBuf> {
        plugin::find_binary(&plugin::Lookup {
            record: self.tool_home.join("binary-path"),
            path: Some(self.path.clone().into()),
            cargo_binary: self.cargo_home.join("bin/pace-maker"),
        })
        .map(|found| found.path)
    }
}

fn stdout_of(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[test]
fn the_launcher_runs_the_recorded_binary_then_the_first_on_path_then_cargos() {
    let sandbox = Sandbox::new();
    let mut world = LauncherWorld::new(&sandbox);
    let recorded = fake_binary(&sandbox.dir.path().join("recorded"));
    let on_path = fake_binary(&sandbox.dir.path().join("on path"));
    let cargos = fake_binary(&world.cargo_home.join("bin"));
    let in_project = fake_binary(&world.cwd);
    let expect = |world: &LauncherWorld, binary: &Path, case: &str| {
        let output = world.hook("stop", "{}");
        assert!(output.status.success(), "{case}: {output:?}");
        assert_eq!(
            stdout_of(&output),
            format!("ran {} hook stop\n", binary.display()),
            "{case}"
        );
        assert!(output.stderr.is_empty(), "{case}: {output:?}");
        assert_eq!(
            world.lookup().as_deref(),
            Some(binary),
            "{case}: doctor's lookup disagrees with the launcher"
        );
    };

    // Empty and relative PATH entries would run what the project holds.
    world.path = format!(
        ":.:project:{}:/usr/bin:/bin",
        on_path.parent().unwrap().display()
    );
    world.record(&recorded);
    expect(&world, &recorded, "the recorded path comes first");
    world.record(&sandbox.dir.path().join("gone/pace-maker"));
    expect(
        &world,
        &on_path,
        "a recorded path that is gone is passed over",
    );
    // The plugin's own bin/pace-maker (on the Bash tool's PATH) runs the
    // launcher again, which never picks that file.
    world.path = format!(
        "{}:{}:/usr/bin:/bin",
        plugin_root().join("bin").display(),
        on_path.parent().unwrap().display()
    );
    expect(
        &world,
        &on_path,
        "the plugin's bin/pace-maker is passed over",
    );
    world.path = format!("{}:/usr/bin:/bin", plugin_root().join("bin").display());
    expect(&world, &cargos, "cargo's bin folder comes last");
    // A record someone else owns is not read (root only can make one).
    if unsafe { libc::geteuid() } == 0 {
        let record = world.record(&recorded);
        std::os::unix::fs::chown(&record, Some(65534), Some(65534)).unwrap();
        expect(&world, &cargos, "a record of another user's is passed over");
    }
    assert!(in_project.exists());
}

#[test]
fn without_a_binary_the_plugin_hooks_exit_zero_and_only_session_start_tells_what_to_install() {
    let sandbox = Sandbox::new();
    let world = LauncherWorld::new(&sandbox);
    let payloads: Vec<Value> = fixture_lines("hook-inputs-basic.jsonl")
        .iter()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    for payload in &payloads {
        let event = support::kebab(payload["hook_event_name"].as_str().unwrap());
        let Some(_) = pace_maker::event::EventKind::parse(&event) else {
            continue;
        };
        let output = world.hook(&event, &payload.to_string());
        assert!(output.status.success(), "{event}: {output:?}");
        assert!(output.stderr.is_empty(), "{event}: {output:?}");
        if event != "session-start" {
            assert!(output.stdout.is_empty(), "{event}: {output:?}");
            continue;
        }
        let reply: Value = serde_json::from_slice(&output.stdout)
            .unwrap_or_else(|error| panic!("{error}: {}", stdout_of(&output)));
        let message = reply["systemMessage"].as_str().unwrap();
        assert!(
            message.contains("cargo install --locked"),
            "the message names the install command: {message}"
        );
        // The repository holds the plugin next to Cargo.toml: it builds
        // the very version.
        assert!(
            message.contains(&format!(
                "--path '{}'",
                repository().canonicalize().unwrap().display()
            )),
            "{message}"
        );
        // Not again when the context is compacted.
        let mut compact = payload.clone();
        compact["source"] = json!("compact");
        let output = world.hook(&event, &compact.to_string());
        assert!(
            output.status.success() && output.stdout.is_empty(),
            "{output:?}"
        );
    }
    // A command through the plugin's bin/pace-maker: the same words, on
    // stderr, and the shell's "not found".
    let output = world.run(
        &mut StdCommand::new(plugin_root().join("bin/pace-maker")),
        "",
    );
    assert_eq!(output.status.code(), Some(127), "{output:?}");
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("cargo install --locked"),
        "{output:?}"
    );
}

#[test]
fn statusline_only_chains_the_users_line_adds_no_hook_and_records_the_binary_for_the_plugin() {
    let sandbox = Sandbox::new();
    let path = user_settings(&sandbox);
    let original = "{\n  \"statusLine\": {\"type\": \"command\", \"command\": \"echo mine\"},\n  \"enabledPlugins\": {\"pace-maker@claude-pace-maker\": true}\n}\n";
    write(&path, original);
    sandbox
        .command()
        .args(["install", "--statusline-only", "--statusline", "chain"])
        .assert()
        .success()
        .stderr(predicates::str::contains("and no hooks"))
        .stderr(predicates::str::contains(
            "the hooks come from the plugin pace-maker@claude-pace-maker (user scope)",
        ));
    let settings = read_json(&path);
    let binary = assert_cmd::cargo::cargo_bin("pace-maker");
    assert_eq!(
        settings["statusLine"]["command"],
        format!("{} statusline --chain 'echo mine'", binary.display())
    );
    assert!(settings.get("hooks").is_none(), "{settings}");
    let record = sandbox.tool_home().join("binary-path");
    assert_eq!(
        std::fs::read_to_string(&record).unwrap(),
        format!("{}\n", binary.display())
    );
    assert_eq!(mode_of(&record), 0o600);
    // The plugin's hooks now run this binary, wherever PATH leads.
    let mut world = LauncherWorld::new(&sandbox);
    world.tool_home = sandbox.tool_home();
    assert_eq!(world.lookup().as_deref(), Some(binary.as_path()));
    // Uninstall gives the line back, then purge takes the record with the home.
    sandbox
        .command()
        .arg("uninstall")
        .assert()
        .success()
        .stderr(predicates::str::contains(
            "the plugin pace-maker@claude-pace-maker is still enabled (user scope)",
        ));
    assert_eq!(std::fs::read_to_string(&path).unwrap(), original);
    sandbox
        .command()
        .args(["uninstall", "--purge"])
        .assert()
        .success();
    assert!(!sandbox.tool_home().exists());
    // Leaving the status line alone leaves nothing to do.
    sandbox
        .command()
        .args(["install", "--statusline-only", "--statusline", "skip"])
        .assert()
        .failure()
        .stderr(predicates::str::contains("nothing to do"));
}

#[test]
fn the_plugin_hooks_run_the_recorded_binary_and_the_session_is_counted() {
    let sandbox = Sandbox::new();
    sandbox
        .command()
        .args(["install", "--statusline-only"])
        .assert()
        .success()
        .stderr(predicates::str::contains("no hooks run yet"));
    let world = LauncherWorld::new(&sandbox);
    for line in fixture_lines("hook-inputs-basic.jsonl") {
        let payload: Value = serde_json::from_str(&line).unwrap();
        let event = support::kebab(payload["hook_event_name"].as_str().unwrap());
        if pace_maker::event::EventKind::parse(&event).is_none() {
            continue;
        }
        let output = world.hook(&event, &line);
        assert!(output.status.success(), "{event}: {output:?}");
        assert!(output.stderr.is_empty(), "{event}: {output:?}");
    }
    assert_eq!(sandbox.query_i64("SELECT count(*) FROM tool_calls"), 1);
    assert_eq!(sandbox.query_i64("SELECT count(*) FROM sessions"), 1);
}

#[test]
fn install_and_uninstall_say_what_to_do_when_the_plugin_is_enabled_too() {
    let sandbox = Sandbox::new();
    let project = sandbox.dir.path().join("project");
    write(
        &project.join(".claude/settings.local.json"),
        "{\"enabledPlugins\": {\"pace-maker@claude-pace-maker\": true}}\n",
    );
    sandbox
        .command()
        .current_dir(&project)
        .arg("install")
        .assert()
        .success()
        .stderr(predicates::str::contains(
            "warning: the plugin pace-maker@claude-pace-maker is enabled too (local scope",
        ))
        .stderr(predicates::str::contains(
            "`claude plugin uninstall --scope local pace-maker@claude-pace-maker`",
        ));
    sandbox
        .command()
        .current_dir(&project)
        .arg("uninstall")
        .assert()
        .success()
        .stderr(predicates::str::contains(
            "the plugin pace-maker@claude-pace-maker is still enabled (local scope)",
        ));
    // Disabled in a more specific scope, it is not there.
    write(
        &project.join(".claude/settings.local.json"),
        "{\"enabledPlugins\": {\"pace-maker@claude-pace-maker\": false}}\n",
    );
    write(
        &user_settings(&sandbox),
        "{\"enabledPlugins\": {\"pace-maker@claude-pace-maker\": true}}\n",
    );
    sandbox
        .command()
        .current_dir(&project)
        .arg("install")
        .assert()
        .success()
        .stderr(predicates::str::contains("enabled too").not());
}
