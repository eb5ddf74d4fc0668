//! Properties of the settings merge over generated settings: other tools'
//! hooks in the same events and groups, unknown fields on entries and
//! groups, a status line, permissions, env and keys nobody knows, in any
//! order. Install twice is install once; uninstall after install gives the
//! original value back; no foreign entry is ever removed or altered.
//!
//! Then the same as text, over generated layouts (two spaces, four, a tab,
//! short lists inline or not, one line with or without spaces, a final
//! newline or none): uninstall after install gives back the very bytes,
//! with or without the receipt's copy of them, and install keeps the
//! layout and the bytes of everything it does not change.

use pace_maker::install::layout;
use pace_maker::install::merge::{
    self, inspect, install, is_own_hook_entry, parse_own_command, uninstall, InstallOptions,
    Receipt, StatusLineMode, StatusLineState,
};
use proptest::prelude::*;
use serde_json::{json, Map, Value};

const OUR_EVENTS: [&str; 6] = [
    "SessionStart",
    "UserPromptSubmit",
    "PostToolUse",
    "Stop",
    "SubagentStop",
    "SessionEnd",
];

fn object(entries: Vec<(String, Value)>) -> Value {
    let mut map = Map::new();
    for (key, value) in entries {
        map.insert(key, value);
    }
    Value::Object(map)
}

fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i32>().prop_map(|number| json!(number)),
        "[a-z ]{0,8}".prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 16, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::vec(("[a-zA-Z]{1,6}", inner), 0..4).prop_map(object),
        ]
    })
}

/// Commands that are not ours, including near misses.
fn foreign_command() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("npx other-tool hook stop".to_string()),
        Just("/opt/pace-maker/bin/tool hook stop".to_string()),
        Just("pace-maker-other hook stop".to_string()),
        Just("echo pace-maker hook stop".to_string()),
        Just("pace-maker hook stop; echo done".to_string()),
        Just("PACE=1 pace-maker hook stop".to_string()),
        Just("pace-maker statusline".to_string()),
        Just("~/bin/status.sh".to_string()),
        "[a-z/ ._'-]{1,30}",
    ]
    .prop_filter("not one of ours", |command| {
        parse_own_command(command).is_none()
    })
}

/// A status-line command that is not ours.
fn foreign_status_command() -> impl Strategy<Value = String> {
    foreign_command().prop_filter("not ours", |command| {
        !matches!(
            merge::status_line_state(Some(&json!({"command": command}))),
            StatusLineState::Ours { .. }
        )
    })
}

/// Ours, as an older install or a person may have written it.
fn own_command() -> impl Strategy<Value = String> {
    (
        prop_oneof![
            Just("/old/bin/pace-maker"),
            Just("'/home/a b/pace-maker'"),
            Just("pace-maker")
        ],
        prop::sample::select(vec![
            "session-start",
            "stop",
            "post-tool-use",
            "pre-tool-use",
        ]),
    )
        .prop_map(|(program, event)| format!("{program} hook {event}"))
}

fn unknown_entry_fields() -> impl Strategy<Value = Vec<(String, Value)>> {
    prop::sample::subsequence(
        vec![
            ("async".to_string(), json!(true)),
            ("once".to_string(), json!(false)),
            ("statusMessage".to_string(), json!("working")),
            ("if".to_string(), json!("Bash(git *)")),
            ("shell".to_string(), json!("bash")),
            ("onFailure".to_string(), json!("ignore")),
            ("futureField".to_string(), json!({"nested": [1, 2]})),
        ],
        0..4,
    )
}

fn entry(command: impl Strategy<Value = String> + 'static) -> impl Strategy<Value = Value> {
    (command, prop::option::of(1u64..900), unknown_entry_fields())
        .prop_map(|(command, timeout, extra)| {
            let mut fields = vec![
                ("type".to_string(), json!("command")),
                ("command".to_string(), json!(command)),
            ];
            if let Some(timeout) = timeout {
                fields.push(("timeout".to_string(), json!(timeout)));
            }
            fields.extend(extra);
            object(fields)
        })
        .prop_shuffle_fields()
}

trait ShuffleFields: Strategy<Value = Value> + Sized {
    /// Shuffles the keys of a generated object.
    fn prop_shuffle_fields(self) -> BoxedStrategy<Value>
    where
        Self: 'static,
    {
        self.prop_flat_map(|value| {
            let entries: Vec<(String, Value)> = value
                .as_object()
                .map(|map| map.clone().into_iter().collect())
                .unwrap_or_default();
            Just(entries).prop_shuffle().prop_map(object)
        })
        .boxed()
    }
}

impl<S: Strategy<Value = Value> + Sized> ShuffleFields for S {}

fn group(entries: BoxedStrategy<Value>) -> impl Strategy<Value = Value> {
    (
        prop::option::of(prop::sample::select(vec!["*", "Bash", "", "Edit|Write"])),
        prop::collection::vec(entries, 0..3),
        prop::option::of(any_json()),
    )
        .prop_map(|(matcher, entries, extra)| {
            let mut fields = Vec::new();
            if let Some(matcher) = matcher {
                fields.push(("matcher".to_string(), json!(matcher)));
            }
            fields.push(("hooks".to_string(), Value::Array(entries)));
            if let Some(extra) = extra {
                fields.push(("x-note".to_string(), extra));
            }
            object(fields)
        })
}

fn event_name() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => prop::sample::select(OUR_EVENTS.to_vec()).prop_map(String::from),
        1 => prop::sample::select(vec!["PreToolUse", "Notification", "PreCompact", "SubagentStart"]).prop_map(String::from),
        1 => "[A-Z][a-z]{2,8}",
    ]
}

fn hooks_object(entries: BoxedStrategy<Value>) -> impl Strategy<Value = Value> {
    prop::collection::vec(
        (event_name(), prop::collection::vec(group(entries), 0..3)),
        0..6,
    )
    .prop_map(|events| {
        object(
            events
                .into_iter()
                .map(|(name, groups)| (name, Value::Array(groups)))
                .collect(),
        )
    })
}

fn status_line() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        Just(json!({"type": "command"})),
        (
            foreign_status_command(),
            prop::option::of(0u64..3),
            prop::option::of(1u64..60)
        )
            .prop_map(|(command, padding, refresh)| {
                let mut fields = vec![
                    ("type".to_string(), json!("command")),
                    ("command".to_string(), json!(command)),
                ];
                if let Some(padding) = padding {
                    fields.push(("padding".to_string(), json!(padding)));
                }
                if let Some(refresh) = refresh {
                    fields.push(("refreshInterval".to_string(), json!(refresh)));
                }
                object(fields)
            }),
    ]
}

fn settings_with(entries: BoxedStrategy<Value>) -> impl Strategy<Value = Value> {
    (
        prop::option::of(hooks_object(entries)),
        prop::option::of(status_line()),
        prop::option::of(Just(json!({"allow": ["Bash(ls:*)"], "deny": []}))),
        prop::option::of(Just(json!({"FOO": "1", "BAR": ""}))),
        prop::collection::vec(("[a-z]{1,8}", any_json()), 0..4),
    )
        .prop_flat_map(|(hooks, status_line, permissions, env, unknown)| {
            let mut fields: Vec<(String, Value)> = unknown
                .into_iter()
                .filter(|(key, _)| key != "hooks" && key != "permissions" && key != "env")
                .collect();
            if let Some(hooks) = hooks {
                fields.push(("hooks".into(), hooks));
            }
            if let Some(status_line) = status_line {
                fields.push(("statusLine".into(), status_line));
            }
            if let Some(permissions) = permissions {
                fields.push(("permissions".into(), permissions));
            }
            if let Some(env) = env {
                fields.push(("env".into(), env));
            }
            Just(fields).prop_shuffle().prop_map(object)
        })
}

/// Settings holding only other tools' entries.
fn foreign_settings() -> impl Strategy<Value = Value> {
    settings_with(entry(foreign_command()).boxed())
}

/// Settings where our entries (from older installs, elsewhere, twice) may
/// sit among other tools' entries, in the same groups.
fn mixed_settings() -> impl Strategy<Value = Value> {
    settings_with(
        prop_oneof![
            3 => entry(foreign_command()),
            1 => entry(own_command()),
        ]
        .boxed(),
    )
}

fn binary() -> impl Strategy<Value = String> {
    prop::sample::select(vec![
        "/usr/local/bin/pace-maker",
        "/home/a b/.cargo/bin/pace-maker",
        "/tmp/it's here/pace-maker",
    ])
    .prop_map(String::from)
}

fn mode() -> impl Strategy<Value = StatusLineMode> {
    prop::sample::select(vec![
        StatusLineMode::Auto,
        StatusLineMode::Chain,
        StatusLineMode::Force,
        StatusLineMode::Skip,
    ])
}

fn options(binary: String, mode: StatusLineMode) -> InstallOptions {
    InstallOptions {
        binary,
        post_tool_use_timeout_seconds: 300,
        stop_timeout_seconds: 300,
        other_timeout_seconds: 10,
        status_line: mode,
    }
}

/// The settings with every entry of ours taken out, then every group,
/// event list and `hooks` object left empty, and the status line dropped:
/// what remains is only what belongs to others, in order.
fn foreign_view(settings: &Value) -> Value {
    let mut settings = settings.clone();
    let root = settings.as_object_mut().unwrap();
    root.shift_remove("statusLine");
    if let Some(Value::Object(hooks)) = root.get_mut("hooks") {
        for groups in hooks.values_mut() {
            if let Value::Array(groups) = groups {
                for group in groups.iter_mut() {
                    if let Some(Value::Array(entries)) = group.get_mut("hooks") {
                        entries.retain(|entry| !is_own_hook_entry(entry));
                    }
                }
                groups.retain(|group| {
                    group
                        .get("hooks")
                        .and_then(Value::as_array)
                        .is_none_or(|entries| !entries.is_empty())
                });
            }
        }
        hooks.retain(|_, groups| groups.as_array().is_none_or(|groups| !groups.is_empty()));
    }
    if root
        .get("hooks")
        .and_then(Value::as_object)
        .is_some_and(Map::is_empty)
    {
        root.shift_remove("hooks");
    }
    settings
}

/// Values as text: `Value`'s own equality ignores key order, this does not.
fn text(value: &Value) -> String {
    serde_json::to_string(value).unwrap()
}

fn own_entry_count(settings: &Value) -> usize {
    inspect(settings).hooks.len()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn install_twice_equals_install_once(settings in mixed_settings(), binary in binary(), mode in mode()) {
        let options = options(binary, mode);
        let once = install(&settings, &options).unwrap();
        let twice = install(&once.settings, &options).unwrap();
        prop_assert_eq!(text(&twice.settings), text(&once.settings));
        prop_assert!(twice.receipt.is_empty(), "a second install has nothing new to remember");
        prop_assert_eq!(own_entry_count(&once.settings), 6);
    }

    #[test]
    fn uninstall_after_install_gives_back_the_original(settings in foreign_settings(), binary in binary(), mode in mode()) {
        let installed = install(&settings, &options(binary, mode)).unwrap();
        // The receipt goes through its stored form, as between two runs.
        let stored = serde_json::to_string(&installed.receipt).unwrap();
        let receipt: Receipt = serde_json::from_str(&stored).unwrap();
        let back = uninstall(&installed.settings, Some(&receipt), StatusLineMode::Auto).unwrap();
        prop_assert_eq!(text(&back.settings), text(&settings));
    }

    #[test]
    fn the_status_line_alone_touches_no_hook_and_uninstall_gives_back_the_original(settings in mixed_settings(), binary in binary(), mode in mode()) {
        let options = options(binary, mode);
        let installed = merge::install_status_line_only(&settings, &options).unwrap();
        prop_assert_eq!(text(&installed.settings["hooks"]), text(&settings["hooks"]));
        let twice = merge::install_status_line_only(&installed.settings, &options).unwrap();
        prop_assert_eq!(text(&twice.settings), text(&installed.settings));
        if own_entry_count(&settings) == 0 {
            let back = uninstall(&installed.settings, Some(&installed.receipt), StatusLineMode::Auto).unwrap();
            prop_assert_eq!(text(&back.settings), text(&settings));
        }
    }

    #[test]
    fn install_keeps_every_foreign_group_key_and_status_line_in_place(settings in foreign_settings(), binary in binary(), mode in mode()) {
        let after = install(&settings, &options(binary, mode)).unwrap().settings;
        let before_root = settings.as_object().unwrap();
        let after_root = after.as_object().unwrap();
        // Every top-level key keeps its place; new keys only come after.
        let before_keys: Vec<&String> = before_root.keys().collect();
        let after_keys: Vec<&String> = after_root.keys().take(before_keys.len()).collect();
        prop_assert_eq!(before_keys, after_keys);
        for (key, value) in before_root {
            if key != "hooks" && key != "statusLine" {
                prop_assert_eq!(text(value), text(&after_root[key]));
            }
        }
        // Every event keeps its place, every group of others stays where it
        // was, unchanged: ours only come after them.
        if let Some(Value::Object(before_hooks)) = before_root.get("hooks") {
            let after_hooks = after_root["hooks"].as_object().unwrap();
            let before_events: Vec<&String> = before_hooks.keys().collect();
            let after_events: Vec<&String> = after_hooks.keys().take(before_events.len()).collect();
            prop_assert_eq!(before_events, after_events);
            for (event, groups) in before_hooks {
                let before_groups = groups.as_array().unwrap();
                let after_groups = after_hooks[event].as_array().unwrap();
                prop_assert_eq!(
                    text(&Value::Array(after_groups[..before_groups.len()].to_vec())),
                    text(groups)
                );
                for added in &after_groups[before_groups.len()..] {
                    prop_assert!(added["hooks"].as_array().unwrap().iter().all(is_own_hook_entry));
                }
            }
        }
        // The user's status line: kept by auto and skip, wrapped by chain
        // with every other field kept.
        if let Some(theirs) = before_root.get("statusLine").filter(|value| value.get("command").is_some()) {
            let ours = &after_root["statusLine"];
            match mode {
                StatusLineMode::Auto | StatusLineMode::Skip => prop_assert_eq!(text(theirs), text(ours)),
                StatusLineMode::Chain => {
                    let state = merge::status_line_state(Some(ours));
                    let chained = match state {
                        StatusLineState::Ours { chained, .. } => chained,
                        other => panic!("not chained: {other:?}"),
                    };
                    prop_assert_eq!(chained.as_deref(), theirs["command"].as_str());
                    for (key, value) in theirs.as_object().unwrap() {
                        if key != "command" {
                            prop_assert_eq!(text(value), text(&ours[key]));
                        }
                    }
                }
                StatusLineMode::Force => {}
            }
        }
    }

    #[test]
    fn no_foreign_entry_is_ever_removed_or_altered(settings in mixed_settings(), binary in binary(), mode in mode()) {
        let installed = install(&settings, &options(binary, mode)).unwrap();
        prop_assert_eq!(text(&foreign_view(&installed.settings)), text(&foreign_view(&settings)));
        let uninstalled = uninstall(&installed.settings, Some(&installed.receipt), StatusLineMode::Auto).unwrap();
        prop_assert_eq!(text(&foreign_view(&uninstalled.settings)), text(&foreign_view(&settings)));
        prop_assert_eq!(own_entry_count(&uninstalled.settings), 0);
        let untouched = uninstall(&settings, None, StatusLineMode::Skip).unwrap();
        prop_assert_eq!(text(&foreign_view(&untouched.settings)), text(&foreign_view(&settings)));
    }

    #[test]
    fn uninstall_leaves_settings_without_our_entries_exactly_as_they_are(settings in foreign_settings()) {
        let out = uninstall(&settings, None, StatusLineMode::Auto).unwrap();
        prop_assert_eq!(text(&out.settings), text(&settings));
    }

    #[test]
    fn installing_after_the_binary_moved_equals_installing_fresh(settings in foreign_settings(), first in binary(), second in binary(), mode in mode()) {
        let moved = install(&install(&settings, &options(first, mode)).unwrap().settings, &options(second.clone(), mode)).unwrap();
        let fresh = install(&settings, &options(second, mode)).unwrap();
        prop_assert_eq!(text(&moved.settings), text(&fresh.settings));
    }
}

/// How a generated settings file is laid out, printed by [`Layout::print`]
/// (written here, independent of the code under test).
#[derive(Debug, Clone, Copy)]
struct Layout {
    /// One indentation step; `None` for one line.
    indent: Option<&'static str>,
    /// One line only: `", "` and `": "` rather than `","` and `":"`.
    spaced: bool,
    /// Many lines only: a list of plain values on one line, `[1, "a"]`,
    /// as prettier and people write them.
    inline_lists: bool,
    final_newline: bool,
}

impl Layout {
    fn print(&self, value: &Value) -> String {
        let mut out = String::new();
        self.print_at(value, 0, &mut out);
        if self.final_newline {
            out.push('\n');
        }
        out
    }

    fn print_at(&self, value: &Value, depth: usize, out: &mut String) {
        let (open, close, items): (char, char, Vec<(Option<&String>, &Value)>) = match value {
            Value::Object(map) => ('{', '}', map.iter().map(|(k, v)| (Some(k), v)).collect()),
            Value::Array(list) => ('[', ']', list.iter().map(|v| (None, v)).collect()),
            scalar => {
                out.push_str(&serde_json::to_string(scalar).unwrap());
                return;
            }
        };
        out.push(open);
        if items.is_empty() {
            out.push(close);
            return;
        }
        let plain = items.iter().all(|(key, item)| {
            key.is_none() && !matches!(item, Value::Array(_) | Value::Object(_))
        });
        if self.indent.is_some() && self.inline_lists && plain {
            let items: Vec<String> = items
                .iter()
                .map(|(_, item)| serde_json::to_string(item).unwrap())
                .collect();
            out.push_str(&items.join(", "));
            out.push(close);
            return;
        }
        let colon = if self.indent.is_some() || self.spaced {
            ": "
        } else {
            ":"
        };
        for (index, (key, item)) in items.iter().enumerate() {
            if index > 0 {
                out.push(',');
                if self.indent.is_none() && self.spaced {
                    out.push(' ');
                }
            }
            if let Some(indent) = self.indent {
                out.push('\n');
                out.push_str(&indent.repeat(depth + 1));
            }
            if let Some(key) = key {
                out.push_str(&serde_json::to_string(key).unwrap());
                out.push_str(colon);
            }
            self.print_at(item, depth + 1, out);
        }
        if let Some(indent) = self.indent {
            out.push('\n');
            out.push_str(&indent.repeat(depth));
        }
        out.push(close);
    }

    /// A top-level member as this layout prints it inside the object.
    fn member(&self, key: &str, value: &Value) -> String {
        let colon = if self.indent.is_some() || self.spaced {
            ": "
        } else {
            ":"
        };
        let mut out = serde_json::to_string(key).unwrap() + colon;
        self.print_at(value, 1, &mut out);
        out
    }
}

fn layout_strategy() -> impl Strategy<Value = Layout> {
    (
        prop::sample::select(vec![Some("  "), Some("    "), Some("\t"), None]),
        any::<bool>(),
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(|(indent, spaced, inline_lists, final_newline)| Layout {
            indent,
            spaced,
            inline_lists,
            final_newline,
        })
}

/// What `pace-maker install` writes for the file `text`, and the receipt's
/// bytes from before install, as the command does it.
fn install_text(text: &str, options: &InstallOptions) -> (String, Receipt) {
    let value = layout::value_of(text).unwrap();
    let installed = install(&value, options).unwrap();
    let after = layout::rewrite(Some(text), &installed.settings);
    // The receipt goes through its stored form, as between two runs.
    let stored = serde_json::to_string(&installed.receipt).unwrap();
    (after, serde_json::from_str(&stored).unwrap())
}

/// What `pace-maker uninstall` writes for the file `text`.
fn uninstall_text(text: &str, receipt: Option<&Receipt>, before_install: Option<&str>) -> String {
    let value = layout::value_of(text).unwrap();
    let after = uninstall(&value, receipt, StatusLineMode::Auto)
        .unwrap()
        .settings;
    layout::uninstalled_text(Some(text), &after, before_install)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn uninstall_after_install_gives_back_the_very_bytes(settings in foreign_settings(), layout in layout_strategy(), binary in binary(), mode in mode()) {
        let text = layout.print(&settings);
        let (installed, receipt) = install_text(&text, &options(binary, mode));
        prop_assert_ne!(&installed, &text);
        prop_assert_eq!(uninstall_text(&installed, Some(&receipt), Some(&text)), text.clone());
        // Without the bytes (a receipt from an older version) the file is
        // still given back: uninstall removes only what install added.
        prop_assert_eq!(uninstall_text(&installed, Some(&receipt), None), text);
    }

    #[test]
    fn install_twice_is_install_once_byte_for_byte(settings in mixed_settings(), layout in layout_strategy(), binary in binary(), mode in mode()) {
        let options = options(binary, mode);
        let (once, _) = install_text(&layout.print(&settings), &options);
        let (twice, receipt) = install_text(&once, &options);
        prop_assert_eq!(twice, once);
        prop_assert!(receipt.is_empty());
    }

    #[test]
    fn install_keeps_the_layout_and_every_byte_of_the_other_keys(settings in foreign_settings(), layout in layout_strategy(), binary in binary(), mode in mode()) {
        let text = layout.print(&settings);
        let (installed, _) = install_text(&text, &options(binary, mode));
        let after: Value = serde_json::from_str(&installed).unwrap();
        let before_root = settings.as_object().unwrap();
        // A file with no member shows no layout: it gets two spaces (and
        // keeps its final newline or none).
        let layout = if before_root.is_empty() {
            Layout { indent: Some("  "), spaced: true, inline_lists: false, ..layout }
        } else {
            layout
        };
        for (key, value) in before_root {
            if key != "hooks" && key != "statusLine" {
                prop_assert_eq!(text_of(&after[key]), text_of(value));
                // The very bytes, laid out as before.
                let member = layout.member(key, value);
                prop_assert!(installed.contains(&member), "{member} not in {installed}");
            }
        }
        prop_assert_eq!(installed.ends_with('\n'), layout.final_newline);
        let body = installed.strip_suffix('\n').unwrap_or(&installed);
        match layout.indent {
            None => prop_assert!(!body.contains('\n'), "one line: {installed}"),
            Some(indent) => {
                for line in body.lines() {
                    let mut rest = line;
                    while let Some(shorter) = rest.strip_prefix(indent) {
                        rest = shorter;
                    }
                    prop_assert!(
                        !rest.starts_with([' ', '\t']),
                        "{line:?} is not indented by {indent:?}: {installed}"
                    );
                }
            }
        }
    }
}

fn text_of(value: &Value) -> String {
    serde_json::to_string(value).unwrap()
}

/// Prints `value` with the whitespace of `gaps`, taken in turn, wherever
/// JSON allows it: a layout nobody would choose, but a file may have.
/// Returns the text and where each top-level member's value is in it.
fn messy_print(value: &Value, gaps: &[&str]) -> (String, Vec<(String, std::ops::Range<usize>)>) {
    struct Printer<'a> {
        gaps: &'a [&'a str],
        next: usize,
        out: String,
        members: Vec<(String, std::ops::Range<usize>)>,
    }
    impl Printer<'_> {
        fn gap(&mut self) {
            self.out.push_str(self.gaps[self.next % self.gaps.len()]);
            self.next += 1;
        }
        fn value(&mut self, value: &Value, depth: usize) {
            match value {
                Value::Object(map) => {
                    self.out.push('{');
                    self.gap();
                    for (index, (key, item)) in map.iter().enumerate() {
                        if index > 0 {
                            self.out.push(',');
                            self.gap();
                        }
                        self.out.push_str(&serde_json::to_string(key).unwrap());
                        self.gap();
                        self.out.push(':');
                        self.gap();
                        let start = self.out.len();
                        self.value(item, depth + 1);
                        if depth == 0 {
                            self.members.push((key.clone(), start..self.out.len()));
                        }
                        self.gap();
                    }
                    self.out.push('}');
                }
                Value::Array(items) => {
                    self.out.push('[');
                    self.gap();
                    for (index, item) in items.iter().enumerate() {
                        if index > 0 {
                            self.out.push(',');
                            self.gap();
                        }
                        self.value(item, depth + 1);
                        self.gap();
                    }
                    self.out.push(']');
                }
                scalar => self.out.push_str(&serde_json::to_string(scalar).unwrap()),
            }
        }
    }
    let mut printer = Printer {
        gaps,
        next: 0,
        out: String::new(),
        members: Vec::new(),
    };
    printer.gap();
    printer.value(value, 0);
    printer.gap();
    (printer.out, printer.members)
}

fn gaps() -> impl Strategy<Value = Vec<&'static str>> {
    prop::collection::vec(
        prop::sample::select(vec!["", " ", "\n", "\n  ", "\t", "\n\t\t", "   ", " \n "]),
        1..8,
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn any_spacing_keeps_the_other_keys_bytes_and_comes_back_whole(settings in foreign_settings(), gaps in gaps(), binary in binary(), mode in mode()) {
        let (text, members) = messy_print(&settings, &gaps);
        let options = options(binary, mode);
        let (installed, receipt) = install_text(&text, &options);
        for (key, span) in &members {
            if key != "hooks" && key != "statusLine" {
                let bytes = &text[span.clone()];
                prop_assert!(installed.contains(bytes), "{key}: {bytes:?} not in {installed:?}");
            }
        }
        prop_assert_eq!(install_text(&installed, &options).0, installed.clone());
        prop_assert_eq!(uninstall_text(&installed, Some(&receipt), Some(&text)), text.clone());
        // Without the receipt's bytes: the same value, the other keys'
        // bytes (only the spacing inside a list or object that install
        // filled and uninstall emptied, `{ }`, is not known any more).
        let back = uninstall_text(&installed, Some(&receipt), None);
        prop_assert_eq!(text_of(&layout::value_of(&back).unwrap()), text_of(&settings));
        for (key, span) in &members {
            if key != "hooks" && key != "statusLine" {
                prop_assert!(back.contains(&text[span.clone()]), "{key} in {back:?}");
            }
        }
    }
}
