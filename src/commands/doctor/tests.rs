//! The checks and the text report, from facts written out by hand.

use super::*;
use crate::config::Config;
use crate::controls::Control;
use crate::install::merge;
use crate::install::merge::{InstallOptions, StatusLineMode};
use crate::install::plugin::{self, Enablement, FoundBinary, InstalledCopy};
use crate::install::settings_file::Scope;
use crate::store::SCHEMA_VERSION;
use serde_json::json;

const NOW: i64 = 1_780_000_000_000;
const MINUTE: i64 = 60_000;
const BIN: &str = "/usr/local/bin/pace-maker";

fn installed_at(binary: &str, post_tool_use_timeout_seconds: u64) -> SettingsFacts {
    let settings = crate::install::merge::install(
        &json!({}),
        &InstallOptions {
            binary: binary.into(),
            post_tool_use_timeout_seconds,
            stop_timeout_seconds: 300,
            other_timeout_seconds: 10,
            status_line: StatusLineMode::Auto,
        },
    )
    .unwrap()
    .settings;
    SettingsFacts::Read {
        installation: merge::inspect(&settings),
        missing_programs: Vec::new(),
    }
}

fn scope(scope: Scope, settings: SettingsFacts) -> ScopeFacts {
    let path = match scope {
        Scope::User => "/home/dev/.claude/settings.json",
        Scope::Project => "/home/dev/project/.claude/settings.json",
        Scope::Local => "/home/dev/project/.claude/settings.local.json",
    };
    ScopeFacts {
        scope,
        path: path.into(),
        settings,
    }
}

fn healthy() -> Facts {
    Facts {
        now_ms: NOW,
        version: "0.1.0".into(),
        binary: BIN.into(),
        scopes: vec![
            scope(Scope::User, installed_at(BIN, 300)),
            scope(Scope::Project, SettingsFacts::Missing),
            scope(
                Scope::Local,
                SettingsFacts::Read {
                    installation: merge::inspect(&json!({"permissions": {}})),
                    missing_programs: Vec::new(),
                },
            ),
        ],
        plugin: PluginFacts {
            enablement: Vec::new(),
            copies: Ok(Vec::new()),
            binary: None,
            binary_is_this: false,
        },
        credentials: CredentialsFacts::Present {
            path: "/home/dev/.claude/.credentials.json".into(),
            oauth: true,
            expires_at_ms: Some(NOW + 5 * 60 * MINUTE),
            subscription_type: Some("max".into()),
        },
        store: StoreState::Open(Box::new(StoreFacts {
            path: "/home/dev/.claude-pace-maker/pace-maker.db".into(),
            // A literal, so the snapshot outlives new migrations.
            schema_version: 1,
            writable: Ok(()),
            control: Control::On,
            api: ApiFacts {
                state: "ok".into(),
                last_success_at_ms: Some(NOW - 4 * MINUTE),
                backoff_until_ms: None,
                failures: 0,
                last_error: None,
            },
            statusline_taken_at_ms: Some(NOW - 3 * MINUTE),
            extra_usage: None,
            extra_usage_setting: (false, 0.0),
            epic: Some(EpicFacts {
                attached_to: "/home/dev/project".into(),
                spec_path: "/home/dev/project/EPIC.md".into(),
                spec_exists: true,
            }),
            recovered: None,
        })),
        config_file: "/home/dev/.claude-pace-maker/config.toml".into(),
        config_file_exists: true,
        config_warnings: Vec::new(),
        config_refused: Vec::new(),
        home: "/home/dev/.claude-pace-maker".into(),
        home_refused: None,
        limits: ConfigLimits::from_config(&Config::default()),
        kill_switch: false,
        project_dir: "/home/dev/project".into(),
    }
}

fn broken() -> Facts {
    let mut facts = healthy();
    let mut stale = installed_at("/old/bin/pace-maker", 60);
    if let SettingsFacts::Read {
        missing_programs, ..
    } = &mut stale
    {
        missing_programs.push("/old/bin/pace-maker".into());
    }
    facts.scopes = vec![
        scope(Scope::User, stale),
        scope(
            Scope::Project,
            SettingsFacts::Broken {
                error: "/home/dev/project/.claude/settings.json is not valid JSON: expected `,` or `}` at line 3, column 5".into(),
            },
        ),
        scope(Scope::Local, installed_at(BIN, 300)),
    ];
    facts.credentials = CredentialsFacts::Present {
        path: "/home/dev/.claude/.credentials.json".into(),
        oauth: true,
        expires_at_ms: Some(NOW - 2 * 60 * MINUTE),
        subscription_type: Some("pro".into()),
    };
    if let StoreState::Open(store) = &mut facts.store {
        store.control = Control::Off;
        store.api = ApiFacts {
            state: "backing-off".into(),
            last_success_at_ms: Some(NOW - 3 * 60 * MINUTE),
            backoff_until_ms: Some(NOW + 10 * MINUTE),
            failures: 3,
            last_error: Some("HTTP 429 Too Many Requests".into()),
        };
        store.statusline_taken_at_ms = None;
        store.epic = Some(EpicFacts {
            attached_to: "/home/dev".into(),
            spec_path: "/home/dev/gone.md".into(),
            spec_exists: false,
        });
    }
    facts.config_warnings = vec![
        "/home/dev/.claude-pace-maker/config.toml: `pacing.target_percent` must be in (0, 100]; keeping 95.0".into(),
        "/home/dev/.claude-pace-maker/config.toml: unknown key `pacing.speed`; keeping nothing".into(),
    ];
    facts.config_refused = vec![crate::config::Refused {
        key: "usage.api_base".into(),
        value: "\"https://collector.example\"".into(),
        origin: "/home/dev/project/.claude/pace-maker.toml".into(),
        why: "it decides where requests go and what they carry".into(),
    }];
    facts.home_refused = Some(
        "the tool home /home/dev/.claude-pace-maker is writable by others (mode 777); `chmod 700` it".into(),
    );
    facts
}

#[test]
fn two_scopes_run_twice_only_through_two_different_programs() {
    let mut same = healthy();
    same.scopes[2] = scope(Scope::Local, installed_at(BIN, 300));
    assert_eq!(status_of(&same, "installed"), Status::Ok);
    let mut different = healthy();
    different.scopes[2] = scope(Scope::Local, installed_at("/elsewhere/pace-maker", 300));
    assert_eq!(status_of(&different, "installed"), Status::Warn);
}

fn status_of(facts: &Facts, name: &str) -> Status {
    checks(facts)
        .into_iter()
        .find(|check| check.name == name)
        .unwrap_or_else(|| panic!("no check {name}"))
        .status
}

#[test]
fn a_healthy_setup_reports_every_check_ok() {
    let checks = checks(&healthy());
    insta::assert_snapshot!("doctor_healthy", render_text(&checks));
    assert!(checks.iter().all(|check| check.status != Status::Fail));
}

#[test]
fn a_broken_setup_reports_each_problem_with_a_hint() {
    let checks = checks(&broken());
    insta::assert_snapshot!("doctor_broken", render_text(&checks));
    for check in &checks {
        if matches!(check.status, Status::Warn | Status::Fail) {
            assert!(check.hint.is_some(), "{} has no hint", check.name);
        }
    }
}

#[test]
fn a_broken_store_and_the_kill_switch_fail() {
    let mut facts = healthy();
    facts.kill_switch = true;
    facts.store = StoreState::Broken {
        error: "cannot create /home/dev/.claude-pace-maker: Not a directory (os error 20)".into(),
    };
    insta::assert_snapshot!("doctor_store_broken", render_text(&checks(&facts)));
}

#[test]
fn verdicts_for_single_facts() {
    type Change = fn(&mut Facts);
    let cases: [(&str, Change, &str, Status); 10] = [
        (
            "not installed anywhere fails",
            |facts| facts.scopes[0].settings = SettingsFacts::Missing,
            "installed",
            Status::Fail,
        ),
        (
            "a paused switch warns",
            |facts| {
                if let StoreState::Open(store) = &mut facts.store {
                    store.control = Control::Paused {
                        until_ms: NOW + 42 * MINUTE,
                    };
                }
            },
            "switch",
            Status::Warn,
        ),
        (
            "pacing disabled in config fails",
            |facts| facts.limits.pacing_enabled = false,
            "switch",
            Status::Fail,
        ),
        (
            "a store not created yet warns but leaves the switch on",
            |facts| {
                facts.store = StoreState::Missing {
                    path: "/x/pace-maker.db".into(),
                }
            },
            "store",
            Status::Warn,
        ),
        (
            "a newer schema fails",
            |facts| {
                if let StoreState::Open(store) = &mut facts.store {
                    store.schema_version = SCHEMA_VERSION + 1;
                }
            },
            "store",
            Status::Fail,
        ),
        (
            "an unwritable store fails",
            |facts| {
                if let StoreState::Open(store) = &mut facts.store {
                    store.writable = Err("attempt to write a readonly database".into());
                }
            },
            "store",
            Status::Fail,
        ),
        (
            "a timeout of exactly max delay plus the margin is enough",
            |facts| facts.scopes[0].settings = installed_at(BIN, 270),
            "user scope",
            Status::Ok,
        ),
        (
            "a timeout one second shorter fails",
            |facts| facts.scopes[0].settings = installed_at(BIN, 269),
            "user scope",
            Status::Fail,
        ),
        (
            "another existing binary warns",
            |facts| facts.scopes[0].settings = installed_at("/opt/pace-maker", 300),
            "user scope",
            Status::Warn,
        ),
        (
            "missing credentials warn",
            |facts| facts.credentials = CredentialsFacts::Missing { path: "/x".into() },
            "credentials",
            Status::Warn,
        ),
    ];
    for (name, change, check, expected) in cases {
        let mut facts = healthy();
        change(&mut facts);
        assert_eq!(status_of(&facts, check), expected, "{name}");
    }
    let mut missing = healthy();
    missing.store = StoreState::Missing {
        path: "/x/pace-maker.db".into(),
    };
    assert_eq!(status_of(&missing, "switch"), Status::Ok);
}

/// `facts` with the plugin enabled in the user scope: installed from
/// the marketplace with the hooks file of these timeouts, its launcher
/// finding this binary.
fn with_plugin(mut facts: Facts, post_tool_use_timeout_seconds: u64) -> Facts {
    let file = plugin::hooks_file(post_tool_use_timeout_seconds, 10);
    facts.plugin = PluginFacts {
        enablement: vec![Enablement {
            id: plugin::PLUGIN_ID.into(),
            scope: Scope::User,
            path: "/home/dev/.claude/settings.json".into(),
            enabled: true,
        }],
        copies: Ok(vec![PluginCopyFacts {
            copy: InstalledCopy {
                id: plugin::PLUGIN_ID.into(),
                scope: "user".into(),
                install_path: "/home/dev/.claude/plugins/cache/claude-pace-maker/pace-maker/0.1.0"
                    .into(),
                version: Some("0.1.0".into()),
                project_path: None,
            },
            hooks: Ok(plugin::inspect_hooks(&file)),
        }]),
        binary: Some(FoundBinary {
            path: BIN.into(),
            source: plugin::BinarySource::Path,
        }),
        binary_is_this: true,
    };
    facts
}

fn check_named(facts: &Facts, name: &str) -> Check {
    checks(facts)
        .into_iter()
        .find(|check| check.name == name)
        .unwrap_or_else(|| panic!("no check {name}"))
}

#[test]
fn the_plugin_alone_is_one_installation() {
    let mut facts = with_plugin(healthy(), 300);
    facts.scopes[0] = scope(
        Scope::User,
        SettingsFacts::Read {
            installation: merge::inspect(
                &json!({"enabledPlugins": {"pace-maker@claude-pace-maker": true}}),
            ),
            missing_programs: Vec::new(),
        },
    );
    let plugin = check_named(&facts, "plugin");
    assert_eq!(plugin.status, Status::Ok, "{plugin:?}");
    assert!(
        plugin.summary.contains(
            "enabled in the user scope: 6 hooks, running /usr/local/bin/pace-maker (found on PATH)"
        ),
        "{plugin:?}"
    );
    let installed = check_named(&facts, "installed");
    assert_eq!(installed.status, Status::Ok, "{installed:?}");
    assert!(
        installed
            .summary
            .contains("as the plugin pace-maker@claude-pace-maker"),
        "{installed:?}"
    );
}

#[test]
fn the_plugin_and_hooks_in_settings_run_every_event_twice() {
    let facts = with_plugin(healthy(), 300);
    let installed = check_named(&facts, "installed");
    assert_eq!(installed.status, Status::Warn, "{installed:?}");
    assert!(installed.summary.contains("twice"), "{installed:?}");
    let hint = installed.hint.unwrap();
    assert!(hint.contains("pace-maker uninstall --scope user"), "{hint}");
    assert!(
        hint.contains("claude plugin uninstall pace-maker@claude-pace-maker"),
        "{hint}"
    );
}

#[test]
fn plugin_verdicts_for_single_facts() {
    type Change = fn(&mut Facts);
    let cases: [(&str, Change, Status, &str); 7] = [
        (
            "no binary for the launcher fails",
            |facts| facts.plugin.binary = None,
            Status::Fail,
            "find no pace-maker program",
        ),
        (
            "a max delay the plugin's timeout cannot hold fails",
            |facts| facts.limits.max_delay_seconds = 400,
            Status::Fail,
            "PostToolUse timeout 300 s",
        ),
        (
            "another binary warns",
            |facts| facts.plugin.binary_is_this = false,
            Status::Warn,
            "not this binary",
        ),
        (
            "another version warns",
            |facts| facts.version = "0.2.0".into(),
            Status::Warn,
            "the plugin is 0.1.0, the binary 0.2.0",
        ),
        (
            "enabled without an installed copy fails",
            |facts| facts.plugin.copies = Ok(Vec::new()),
            Status::Fail,
            "no installed copy",
        ),
        (
            "an unreadable hooks file fails",
            |facts| {
                if let Ok(copies) = &mut facts.plugin.copies {
                    copies[0].hooks = Err("gone".into());
                }
            },
            Status::Fail,
            "hooks file cannot be read",
        ),
        (
            "disabled in the local scope is only information",
            |facts| {
                facts.plugin.enablement[0].enabled = false;
                facts.plugin.enablement[0].scope = Scope::Local;
            },
            Status::Info,
            "disabled in the local scope",
        ),
    ];
    for (name, change, expected, words) in cases {
        let mut facts = with_plugin(healthy(), 300);
        change(&mut facts);
        let check = check_named(&facts, "plugin");
        assert_eq!(check.status, expected, "{name}: {check:?}");
        assert!(check.summary.contains(words), "{name}: {check:?}");
        if expected >= Status::Warn {
            assert!(check.hint.is_some(), "{name}: no hint");
        }
    }
    assert_eq!(check_named(&healthy(), "plugin").status, Status::Info);
}

#[test]
fn a_recovered_store_is_reported_until_its_old_file_is_gone() {
    let healthy_checks = checks(&healthy());
    assert!(healthy_checks
        .iter()
        .all(|check| check.name != "store recovery"));
    let note = format!("{} /nowhere/pace-maker.db.corrupt-1", NOW - MINUTE);
    let mut recovered = Recovery::from_note(&note).unwrap();
    assert_eq!(recovered.at_ms, NOW - MINUTE);
    assert_eq!(recovered.moved_to, "/nowhere/pace-maker.db.corrupt-1");
    assert!(!recovered.moved_file_exists);
    let mut facts = healthy();
    if let StoreState::Open(store) = &mut facts.store {
        store.recovered = Some(recovered.clone());
    }
    assert_eq!(status_of(&facts, "store recovery"), Status::Info);
    recovered.moved_file_exists = true;
    if let StoreState::Open(store) = &mut facts.store {
        store.recovered = Some(recovered);
    }
    assert_eq!(status_of(&facts, "store recovery"), Status::Warn);
    let check = checks(&facts)
        .into_iter()
        .find(|check| check.name == "store recovery")
        .unwrap();
    assert!(check.summary.contains("/nowhere/pace-maker.db.corrupt-1"));
    assert_eq!(Recovery::from_note("garbage"), None);
}

#[test]
fn disable_all_hooks_fails_even_where_we_are_not_installed() {
    let mut facts = healthy();
    facts.scopes[2].settings = SettingsFacts::Read {
        installation: merge::inspect(&json!({"disableAllHooks": true})),
        missing_programs: Vec::new(),
    };
    assert_eq!(status_of(&facts, "local scope"), Status::Fail);
}

#[test]
fn the_json_report_names_status_in_lowercase() {
    let report = Report {
        schema_version: DOCTOR_SCHEMA_VERSION,
        ok: false,
        checks: checks(&broken()),
    };
    let value = serde_json::to_value(&report).unwrap();
    assert_eq!(value["checks"][0]["status"], "ok");
    assert!(value["checks"]
        .as_array()
        .unwrap()
        .iter()
        .any(|check| check["status"] == "fail"));
}
