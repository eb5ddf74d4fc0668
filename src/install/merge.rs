//! Installing into Claude Code's settings as a pure transformation of a
//! JSON value: no files, no clock, no environment.
//!
//! A user's settings hold other tools' hooks, permissions, environment and
//! keys nobody here knows. The rules that keep all of that intact:
//! - Our entries are recognised by shape, not by position: a command whose
//!   program's file name is `pace-maker` followed by `hook <event>` (or
//!   `statusline`), wherever the binary lives. Re-running updates them in
//!   place, also after the binary moved, and never adds a second one.
//! - New entries go into a matcher group of their own, appended at the end
//!   of the event's list; an existing group is never touched. Keys are
//!   added at the end of their object and removed with `shift_remove`, so
//!   the key order of everything else stays as it was.
//! - Uninstall removes our entries, and the groups, event lists and the
//!   `hooks` object that this removal leaves empty. What install cannot
//!   tell from the settings alone (an event list or `hooks` object that was
//!   already empty, a status line it replaced) goes into a [`Receipt`] that
//!   the caller keeps and hands back to [`uninstall`], so that
//!   `uninstall(install(x)) == x` holds exactly.

use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

use super::shell;
use crate::event::EventKind;

/// The binary's file name, by which its entries are recognised wherever it lives.
pub const PROGRAM_FILE_NAME: &str = "pace-maker";

/// The settings key that holds the hooks.
pub const HOOKS_KEY: &str = "hooks";
/// The settings key that holds the status line.
pub const STATUS_LINE_KEY: &str = "statusLine";
/// The settings key with which a user turns every hook off.
pub const DISABLE_ALL_HOOKS_KEY: &str = "disableAllHooks";

/// What to do about the status line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum StatusLineMode {
    /// Install ours when there is none; otherwise leave the user's and say how to chain it.
    #[default]
    Auto,
    /// Wrap the user's status line: ours runs it and shows its output too.
    Chain,
    /// Replace the user's status line (it is kept in the backup and restored by uninstall).
    Force,
    /// Leave the status line alone.
    Skip,
}

/// What install writes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstallOptions {
    /// The absolute path of the binary that the entries call.
    pub binary: String,
    /// `timeout` of the PostToolUse entry (`hooks.post_tool_use_timeout_seconds`).
    pub post_tool_use_timeout_seconds: u64,
    /// `timeout` of the Stop entry, which runs the criteria's checks
    /// (`hooks.stop_timeout_seconds`).
    pub stop_timeout_seconds: u64,
    /// `timeout` of every other entry (`hooks.other_timeout_seconds`).
    pub other_timeout_seconds: u64,
    pub status_line: StatusLineMode,
}

impl InstallOptions {
    fn timeout_for(&self, kind: EventKind) -> u64 {
        match kind {
            EventKind::PostToolUse => self.post_tool_use_timeout_seconds,
            EventKind::Stop => self.stop_timeout_seconds,
            _ => self.other_timeout_seconds,
        }
    }
}

/// What install changed that the settings alone cannot tell uninstall.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Receipt {
    /// The `hooks` object was there and empty before install.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub kept_empty_hooks: bool,
    /// Event lists that were there and empty before install.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub kept_empty_events: Vec<String>,
    /// The status line that install replaced (a user's line under `force`,
    /// or a `null`), restored by uninstall.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replaced_status_line: Option<ReplacedValue>,
}

/// A JSON value that was replaced (wrapped, so a replaced `null` survives
/// serialization as something other than "nothing").
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReplacedValue {
    pub value: Value,
}

impl Receipt {
    /// Whether there is nothing to remember.
    pub fn is_empty(&self) -> bool {
        *self == Receipt::default()
    }

    /// Folds the receipt of a later install into this one: what an earlier
    /// install remembered still holds unless the later one replaced it.
    pub fn absorb(&mut self, later: Receipt) {
        self.kept_empty_hooks |= later.kept_empty_hooks;
        for event in later.kept_empty_events {
            if !self.kept_empty_events.contains(&event) {
                self.kept_empty_events.push(event);
            }
        }
        if later.replaced_status_line.is_some() {
            self.replaced_status_line = later.replaced_status_line;
        }
    }
}

/// Something the person should know about the outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Note {
    StatusLineInstalled,
    StatusLineUpdated,
    /// `auto` found the user's own status line and left it.
    StatusLineKept,
    StatusLineChained,
    /// `chain` found a status line without a command to wrap.
    StatusLineNotChainable,
    StatusLineReplaced,
    StatusLineRemoved,
    StatusLineRestored,
    /// Entries of ours in events this version no longer uses were removed.
    StaleEntriesRemoved(Vec<String>),
}

impl std::fmt::Display for Note {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Note::StatusLineInstalled => f.write_str("status line: installed pace-maker's"),
            Note::StatusLineUpdated => f.write_str("status line: pace-maker's, brought up to date"),
            Note::StatusLineKept => f.write_str(
                "status line: yours is kept (hint: `--statusline chain` shows both, `--statusline force` replaces it)",
            ),
            Note::StatusLineChained => f.write_str("status line: yours now runs through pace-maker's, which shows both"),
            Note::StatusLineNotChainable => f.write_str(
                "status line: yours has no command to wrap, so it is kept (hint: `--statusline force` replaces it)",
            ),
            Note::StatusLineReplaced => f.write_str("status line: replaced by pace-maker's (uninstall restores yours)"),
            Note::StatusLineRemoved => f.write_str("status line: pace-maker's removed"),
            Note::StatusLineRestored => f.write_str("status line: yours is restored"),
            Note::StaleEntriesRemoved(events) => {
                write!(f, "removed pace-maker entries from events it no longer uses: {}", events.join(", "))
            }
        }
    }
}

/// The settings could not be edited safely.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MergeError {
    #[error("the settings are not a JSON object at the top level")]
    TopLevelNotObject,
    #[error("`hooks` in the settings is not an object")]
    HooksNotObject,
    #[error("`hooks.{0}` in the settings is not a list")]
    EventNotList(String),
}

/// The outcome of [`install`].
#[derive(Debug, Clone, PartialEq)]
pub struct Installed {
    pub settings: Value,
    pub receipt: Receipt,
    pub notes: Vec<Note>,
}

/// The outcome of [`uninstall`].
#[derive(Debug, Clone, PartialEq)]
pub struct Uninstalled {
    pub settings: Value,
    pub notes: Vec<Note>,
}

/// The hook command for an event: `<binary> hook <event>`.
pub fn hook_command(binary: &str, kind: EventKind) -> String {
    format!("{} hook {}", shell::quote(binary), kind.cli_name())
}

/// The status-line command: `<binary> statusline [--chain '<command>']`.
pub fn status_line_command(binary: &str, chained: Option<&str>) -> String {
    match chained {
        None => format!("{} statusline", shell::quote(binary)),
        Some(command) => format!(
            "{} statusline --chain {}",
            shell::quote(binary),
            shell::quote_always(command)
        ),
    }
}

/// One of our commands, read back from the settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OwnCommand {
    /// `<program> hook <event>`.
    Hook { program: String, event: String },
    /// `<program> statusline [--chain <command>]`.
    StatusLine {
        program: String,
        chained: Option<String>,
    },
}

/// Reads a command as one of ours, or `None` when it is someone else's.
pub fn parse_own_command(command: &str) -> Option<OwnCommand> {
    let words = shell::split(command)?;
    let program = words.first()?;
    let file_name = std::path::Path::new(program).file_name()?;
    if file_name != PROGRAM_FILE_NAME {
        return None;
    }
    let program = program.clone();
    match &words[1..] {
        [hook, event] if hook == "hook" => Some(OwnCommand::Hook {
            program,
            event: event.clone(),
        }),
        [statusline] if statusline == "statusline" => Some(OwnCommand::StatusLine {
            program,
            chained: None,
        }),
        [statusline, chain, command] if statusline == "statusline" && chain == "--chain" => {
            Some(OwnCommand::StatusLine {
                program,
                chained: Some(command.clone()),
            })
        }
        _ => None,
    }
}

/// Whether a hook entry (`{"type": "command", "command": ...}`) is ours.
pub fn is_own_hook_entry(entry: &Value) -> bool {
    entry
        .get("command")
        .and_then(Value::as_str)
        .and_then(parse_own_command)
        .is_some_and(|command| matches!(command, OwnCommand::Hook { .. }))
}

/// The status line as install sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StatusLineState {
    /// No `statusLine` key, or `null`.
    Absent,
    Ours {
        program: String,
        chained: Option<String>,
    },
    /// Someone else's; `command` when it has a string command.
    Theirs { command: Option<String> },
}

/// Classifies a `statusLine` value (`None` when the key is absent).
pub fn status_line_state(value: Option<&Value>) -> StatusLineState {
    let Some(value) = value.filter(|value| !value.is_null()) else {
        return StatusLineState::Absent;
    };
    let command = value.get("command").and_then(Value::as_str);
    match command.and_then(parse_own_command) {
        Some(OwnCommand::StatusLine { program, chained }) => {
            StatusLineState::Ours { program, chained }
        }
        _ => StatusLineState::Theirs {
            command: command.map(str::to_string),
        },
    }
}

/// Adds or updates pace-maker's entries and status line.
pub fn install(settings: &Value, options: &InstallOptions) -> Result<Installed, MergeError> {
    let mut settings = settings.clone();
    let root = settings
        .as_object_mut()
        .ok_or(MergeError::TopLevelNotObject)?;
    let mut receipt = Receipt::default();
    let mut notes = Vec::new();

    match root.get(HOOKS_KEY) {
        None => {
            root.insert(HOOKS_KEY.to_string(), Value::Object(Map::new()));
        }
        Some(Value::Object(hooks)) => receipt.kept_empty_hooks = hooks.is_empty(),
        Some(_) => return Err(MergeError::HooksNotObject),
    }
    let hooks = root
        .get_mut(HOOKS_KEY)
        .and_then(Value::as_object_mut)
        .expect("hooks is an object by now");
    // Check every list we will touch before changing anything.
    for kind in EventKind::ALL {
        if let Some(value) = hooks.get(kind.claude_name()) {
            if !value.is_array() {
                return Err(MergeError::EventNotList(kind.claude_name().to_string()));
            }
        }
    }
    for kind in EventKind::ALL {
        let name = kind.claude_name();
        if hooks
            .get(name)
            .and_then(Value::as_array)
            .is_some_and(Vec::is_empty)
        {
            receipt.kept_empty_events.push(name.to_string());
        }
        let groups = hooks
            .entry(name.to_string())
            .or_insert_with(|| Value::Array(Vec::new()))
            .as_array_mut()
            .expect("checked to be a list");
        let command = hook_command(&options.binary, kind);
        let timeout = options.timeout_for(kind);
        let own = own_positions(groups);
        match own.split_first() {
            None => {
                let entry = json!({"type": "command", "command": command, "timeout": timeout});
                let group = if kind == EventKind::PostToolUse {
                    json!({"matcher": "*", "hooks": [entry]})
                } else {
                    json!({"hooks": [entry]})
                };
                groups.push(group);
            }
            Some((&(group_index, entry_index), duplicates)) => {
                if let Some(entry) = groups[group_index]
                    .get_mut(HOOKS_KEY)
                    .and_then(|entries| entries.get_mut(entry_index))
                    .and_then(Value::as_object_mut)
                {
                    entry.insert("type".into(), json!("command"));
                    entry.insert("command".into(), json!(command));
                    entry.insert("timeout".into(), json!(timeout));
                }
                remove_entries(groups, duplicates);
            }
        }
    }
    let stale = remove_stale_entries(hooks);
    if !stale.is_empty() {
        notes.push(Note::StaleEntriesRemoved(stale));
    }

    install_status_line(root, options, &mut receipt, &mut notes);
    Ok(Installed {
        settings,
        receipt,
        notes,
    })
}

/// Adds or updates pace-maker's status line and nothing else: every hook
/// stays as it is. For the plugin, whose hooks Claude Code's plugin system
/// runs, while a status line can only come from a settings file.
/// [`uninstall`] undoes it like a full install.
pub fn install_status_line_only(
    settings: &Value,
    options: &InstallOptions,
) -> Result<Installed, MergeError> {
    let mut settings = settings.clone();
    let root = settings
        .as_object_mut()
        .ok_or(MergeError::TopLevelNotObject)?;
    let mut receipt = Receipt::default();
    let mut notes = Vec::new();
    install_status_line(root, options, &mut receipt, &mut notes);
    Ok(Installed {
        settings,
        receipt,
        notes,
    })
}

/// Removes pace-maker's entries (and what that removal empties) and puts
/// the status line back as it was. `receipt` is what [`install`] returned;
/// without it, every container our removal empties is removed.
/// `status_line` = [`StatusLineMode::Skip`] leaves the status line alone.
pub fn uninstall(
    settings: &Value,
    receipt: Option<&Receipt>,
    status_line: StatusLineMode,
) -> Result<Uninstalled, MergeError> {
    let mut settings = settings.clone();
    let root = settings
        .as_object_mut()
        .ok_or(MergeError::TopLevelNotObject)?;
    let empty = Receipt::default();
    let receipt = receipt.unwrap_or(&empty);
    let mut notes = Vec::new();

    let mut hooks_emptied = false;
    if let Some(Value::Object(hooks)) = root.get_mut(HOOKS_KEY) {
        let mut emptied = Vec::new();
        for (name, value) in hooks.iter_mut() {
            let Some(groups) = value.as_array_mut() else {
                continue;
            };
            let own = own_positions(groups);
            if own.is_empty() {
                continue;
            }
            remove_entries(groups, &own);
            if groups.is_empty() && !receipt.kept_empty_events.contains(name) {
                emptied.push(name.clone());
            }
        }
        for name in &emptied {
            hooks.shift_remove(name);
        }
        hooks_emptied = !emptied.is_empty() && hooks.is_empty() && !receipt.kept_empty_hooks;
    }
    if hooks_emptied {
        root.shift_remove(HOOKS_KEY);
    }

    if status_line != StatusLineMode::Skip {
        match status_line_state(root.get(STATUS_LINE_KEY)) {
            StatusLineState::Ours { chained: None, .. } => match &receipt.replaced_status_line {
                Some(replaced) => {
                    root.insert(STATUS_LINE_KEY.to_string(), replaced.value.clone());
                    notes.push(Note::StatusLineRestored);
                }
                None => {
                    root.shift_remove(STATUS_LINE_KEY);
                    notes.push(Note::StatusLineRemoved);
                }
            },
            StatusLineState::Ours {
                chained: Some(theirs),
                ..
            } => {
                set_status_line_command(root, theirs);
                notes.push(Note::StatusLineRestored);
            }
            StatusLineState::Absent | StatusLineState::Theirs { .. } => {}
        }
    }
    Ok(Uninstalled { settings, notes })
}

fn install_status_line(
    root: &mut Map<String, Value>,
    options: &InstallOptions,
    receipt: &mut Receipt,
    notes: &mut Vec<Note>,
) {
    if options.status_line == StatusLineMode::Skip {
        return;
    }
    let binary = options.binary.as_str();
    let ours = || {
        json!({
            "type": "command",
            "command": status_line_command(binary, None),
            "padding": 0,
        })
    };
    match status_line_state(root.get(STATUS_LINE_KEY)) {
        StatusLineState::Absent => {
            if let Some(existing) = root.get(STATUS_LINE_KEY) {
                receipt.replaced_status_line = Some(ReplacedValue {
                    value: existing.clone(),
                });
            }
            root.insert(STATUS_LINE_KEY.to_string(), ours());
            notes.push(Note::StatusLineInstalled);
        }
        StatusLineState::Ours { chained, .. } => {
            let chained = match (options.status_line, chained) {
                (StatusLineMode::Force, Some(theirs)) => {
                    let mut original = root[STATUS_LINE_KEY].clone();
                    original["command"] = json!(theirs);
                    receipt.replaced_status_line = Some(ReplacedValue { value: original });
                    notes.push(Note::StatusLineReplaced);
                    None
                }
                (_, chained) => chained,
            };
            let command = status_line_command(binary, chained.as_deref());
            if root[STATUS_LINE_KEY]["command"] != json!(command) {
                set_status_line_command(root, command);
                if !notes.contains(&Note::StatusLineReplaced) {
                    notes.push(Note::StatusLineUpdated);
                }
            }
        }
        StatusLineState::Theirs { command } => match (options.status_line, command) {
            (StatusLineMode::Chain, Some(theirs)) => {
                set_status_line_command(root, status_line_command(binary, Some(&theirs)));
                notes.push(Note::StatusLineChained);
            }
            (StatusLineMode::Chain, None) => notes.push(Note::StatusLineNotChainable),
            (StatusLineMode::Force, _) => {
                receipt.replaced_status_line = Some(ReplacedValue {
                    value: root[STATUS_LINE_KEY].clone(),
                });
                root.insert(STATUS_LINE_KEY.to_string(), ours());
                notes.push(Note::StatusLineReplaced);
            }
            (StatusLineMode::Auto | StatusLineMode::Skip, _) => notes.push(Note::StatusLineKept),
        },
    }
}

/// Sets `statusLine.command`, keeping the object's other keys and their order.
fn set_status_line_command(root: &mut Map<String, Value>, command: String) {
    if let Some(status_line) = root.get_mut(STATUS_LINE_KEY).and_then(Value::as_object_mut) {
        status_line.insert("command".to_string(), Value::String(command));
    }
}

/// `(group, entry)` positions of our entries in an event's groups, in order.
fn own_positions(groups: &[Value]) -> Vec<(usize, usize)> {
    let mut positions = Vec::new();
    for (group_index, group) in groups.iter().enumerate() {
        if let Some(entries) = group.get(HOOKS_KEY).and_then(Value::as_array) {
            for (entry_index, entry) in entries.iter().enumerate() {
                if is_own_hook_entry(entry) {
                    positions.push((group_index, entry_index));
                }
            }
        }
    }
    positions
}

/// Removes the entries at `positions` (ascending, as [`own_positions`]
/// gives them), then the groups this removal left without entries.
fn remove_entries(groups: &mut Vec<Value>, positions: &[(usize, usize)]) {
    let mut touched = Vec::new();
    for &(group_index, entry_index) in positions.iter().rev() {
        if let Some(entries) = groups[group_index]
            .get_mut(HOOKS_KEY)
            .and_then(Value::as_array_mut)
        {
            entries.remove(entry_index);
        }
        if touched.last() != Some(&group_index) {
            touched.push(group_index);
        }
    }
    // `touched` is in descending order, so removing keeps the rest valid.
    for group_index in touched {
        let emptied = groups[group_index]
            .get(HOOKS_KEY)
            .and_then(Value::as_array)
            .is_some_and(Vec::is_empty);
        if emptied {
            groups.remove(group_index);
        }
    }
}

/// Removes our entries from events this version does not register (left
/// by an older version, or added by hand) and returns those events' names.
fn remove_stale_entries(hooks: &mut Map<String, Value>) -> Vec<String> {
    let mut stale = Vec::new();
    let mut emptied = Vec::new();
    for (name, value) in hooks.iter_mut() {
        if EventKind::ALL.iter().any(|kind| kind.claude_name() == name) {
            continue;
        }
        let Some(groups) = value.as_array_mut() else {
            continue;
        };
        let own = own_positions(groups);
        if own.is_empty() {
            continue;
        }
        remove_entries(groups, &own);
        stale.push(name.clone());
        if groups.is_empty() {
            emptied.push(name.clone());
        }
    }
    for name in emptied {
        hooks.shift_remove(&name);
    }
    stale
}

/// One of our hook entries found in a settings file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FoundHook {
    /// The event it is registered under (Claude Code's name).
    pub event: String,
    /// The program it runs, as written.
    pub program: String,
    /// The event named on its command line (kebab case).
    pub argument: String,
    /// Its `timeout` in seconds (`None`: Claude Code's default, 600).
    pub timeout_seconds: Option<u64>,
    /// The `matcher` of its group.
    pub matcher: Option<String>,
}

/// What a settings file holds of pace-maker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Installation {
    pub hooks: Vec<FoundHook>,
    pub status_line: StatusLineState,
    /// `disableAllHooks: true` turns every hook off, ours included.
    pub all_hooks_disabled: bool,
}

impl Installation {
    /// Whether any entry of ours is there.
    pub fn is_installed(&self) -> bool {
        !self.hooks.is_empty()
    }
}

/// Reads pace-maker's entries out of a settings value (anything unexpected
/// is simply not ours).
pub fn inspect(settings: &Value) -> Installation {
    let hooks = find_hooks(
        settings.get(HOOKS_KEY),
        |command| match parse_own_command(command)? {
            OwnCommand::Hook { program, event } => Some((program, event)),
            OwnCommand::StatusLine { .. } => None,
        },
    );
    Installation {
        hooks,
        status_line: status_line_state(settings.get(STATUS_LINE_KEY)),
        all_hooks_disabled: settings
            .get(DISABLE_ALL_HOOKS_KEY)
            .and_then(Value::as_bool)
            .unwrap_or(false),
    }
}

/// The entries of a `hooks` object (a settings file's, or a plugin's hooks
/// file) that `own` recognises: it gives the program and the event named
/// by a command of ours, and `None` for anyone else's.
pub fn find_hooks(
    hooks: Option<&Value>,
    own: impl Fn(&str) -> Option<(String, String)>,
) -> Vec<FoundHook> {
    let mut found = Vec::new();
    let Some(events) = hooks.and_then(Value::as_object) else {
        return found;
    };
    for (event, groups) in events {
        for group in groups.as_array().into_iter().flatten() {
            let matcher = group
                .get("matcher")
                .and_then(Value::as_str)
                .map(str::to_string);
            for entry in group
                .get(HOOKS_KEY)
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                let Some((program, argument)) =
                    entry.get("command").and_then(Value::as_str).and_then(&own)
                else {
                    continue;
                };
                let timeout = entry.get("timeout");
                found.push(FoundHook {
                    event: event.clone(),
                    program,
                    argument,
                    timeout_seconds: timeout
                        .and_then(Value::as_u64)
                        .or_else(|| timeout.and_then(Value::as_f64).map(|t| t.max(0.0) as u64)),
                    matcher: matcher.clone(),
                });
            }
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    const BIN: &str = "/usr/local/bin/pace-maker";

    fn options(mode: StatusLineMode) -> InstallOptions {
        InstallOptions {
            binary: BIN.to_string(),
            post_tool_use_timeout_seconds: 300,
            stop_timeout_seconds: 300,
            other_timeout_seconds: 10,
            status_line: mode,
        }
    }

    fn parse(text: &str) -> Value {
        serde_json::from_str(text).unwrap()
    }

    fn installed(settings: &Value, mode: StatusLineMode) -> Installed {
        install(settings, &options(mode)).unwrap()
    }

    #[test]
    fn install_into_empty_settings_adds_six_events_and_a_status_line() {
        let out = installed(&json!({}), StatusLineMode::Auto);
        let expected = parse(
            r#"{
              "hooks": {
                "SessionStart": [{"hooks": [{"type": "command", "command": "/usr/local/bin/pace-maker hook session-start", "timeout": 10}]}],
                "UserPromptSubmit": [{"hooks": [{"type": "command", "command": "/usr/local/bin/pace-maker hook user-prompt-submit", "timeout": 10}]}],
                "PostToolUse": [{"matcher": "*", "hooks": [{"type": "command", "command": "/usr/local/bin/pace-maker hook post-tool-use", "timeout": 300}]}],
                "Stop": [{"hooks": [{"type": "command", "command": "/usr/local/bin/pace-maker hook stop", "timeout": 300}]}],
                "SubagentStop": [{"hooks": [{"type": "command", "command": "/usr/local/bin/pace-maker hook subagent-stop", "timeout": 10}]}],
                "SessionEnd": [{"hooks": [{"type": "command", "command": "/usr/local/bin/pace-maker hook session-end", "timeout": 10}]}]
              },
              "statusLine": {"type": "command", "command": "/usr/local/bin/pace-maker statusline", "padding": 0}
            }"#,
        );
        assert_eq!(out.settings, expected);
        assert!(out.receipt.is_empty());
        assert_eq!(out.notes, vec![Note::StatusLineInstalled]);
    }

    #[test]
    fn install_keeps_other_tools_entries_and_their_unknown_fields() {
        let before = parse(
            r#"{
              "env": {"A": "1"},
              "hooks": {
                "PostToolUse": [{"matcher": "Bash", "hooks": [{"type": "command", "command": "lint-hook", "async": true, "statusMessage": "linting", "if": "x", "shell": "bash"}]}],
                "Stop": [{"hooks": [{"type": "command", "command": "notify-done", "once": true}]}],
                "Notification": [{"hooks": [{"type": "command", "command": "say hi"}]}]
              },
              "permissions": {"allow": ["Bash(ls)"]}
            }"#,
        );
        let after = installed(&before, StatusLineMode::Skip).settings;
        let keys: Vec<&String> = after.as_object().unwrap().keys().collect();
        assert_eq!(keys, ["env", "hooks", "permissions"]);
        let events: Vec<&String> = after["hooks"].as_object().unwrap().keys().collect();
        assert_eq!(
            events,
            [
                "PostToolUse",
                "Stop",
                "Notification",
                "SessionStart",
                "UserPromptSubmit",
                "SubagentStop",
                "SessionEnd"
            ]
        );
        assert_eq!(
            after["hooks"]["PostToolUse"][0],
            before["hooks"]["PostToolUse"][0]
        );
        assert_eq!(after["hooks"]["PostToolUse"][1]["matcher"], "*");
        assert_eq!(after["hooks"]["Stop"][0], before["hooks"]["Stop"][0]);
        assert_eq!(
            after["hooks"]["Notification"],
            before["hooks"]["Notification"]
        );
        assert_eq!(after["permissions"], before["permissions"]);
    }

    #[test]
    fn install_updates_entries_in_place_after_the_binary_moved() {
        let before = parse(
            r#"{"hooks": {"Stop": [{"hooks": [
                {"type": "command", "command": "other"},
                {"type": "command", "command": "'/old place/pace-maker' hook stop", "timeout": 3, "statusMessage": "kept"}
            ]}]}}"#,
        );
        let after = installed(&before, StatusLineMode::Skip).settings;
        assert_eq!(
            after["hooks"]["Stop"],
            parse(
                r#"[{"hooks": [
                {"type": "command", "command": "other"},
                {"type": "command", "command": "/usr/local/bin/pace-maker hook stop", "timeout": 300, "statusMessage": "kept"}
            ]}]"#
            )
        );
    }

    #[test]
    fn install_removes_duplicates_of_its_own_entries() {
        let before = parse(
            r#"{"hooks": {"Stop": [
                {"hooks": [{"type": "command", "command": "/a/pace-maker hook stop"}]},
                {"hooks": [{"type": "command", "command": "keep-me"}, {"type": "command", "command": "/b/pace-maker hook stop"}]},
                {"hooks": [{"type": "command", "command": "/c/pace-maker hook stop"}]}
            ]}}"#,
        );
        let after = installed(&before, StatusLineMode::Skip).settings;
        assert_eq!(
            after["hooks"]["Stop"],
            parse(
                r#"[
                {"hooks": [{"type": "command", "command": "/usr/local/bin/pace-maker hook stop", "timeout": 300}]},
                {"hooks": [{"type": "command", "command": "keep-me"}]}
            ]"#
            )
        );
    }

    #[test]
    fn install_removes_its_entries_from_events_it_no_longer_uses() {
        let before = parse(
            r#"{"hooks": {"PreToolUse": [{"hooks": [{"type": "command", "command": "pace-maker hook pre-tool-use"}]}],
                          "PreCompact": [{"hooks": [{"type": "command", "command": "theirs"}, {"type": "command", "command": "pace-maker hook pre-compact"}]}]}}"#,
        );
        let out = installed(&before, StatusLineMode::Skip);
        let hooks = out.settings["hooks"].as_object().unwrap();
        assert!(!hooks.contains_key("PreToolUse"));
        assert_eq!(
            hooks["PreCompact"],
            parse(r#"[{"hooks": [{"type": "command", "command": "theirs"}]}]"#)
        );
        assert_eq!(
            out.notes,
            vec![Note::StaleEntriesRemoved(vec![
                "PreToolUse".into(),
                "PreCompact".into()
            ])]
        );
    }

    #[test]
    fn a_binary_path_with_spaces_or_quotes_is_quoted_for_sh() {
        let mut options = options(StatusLineMode::Auto);
        options.binary = "/home/o'neil/my tools/pace-maker".into();
        let out = install(&json!({}), &options).unwrap();
        let command = out.settings["hooks"]["Stop"][0]["hooks"][0]["command"]
            .as_str()
            .unwrap();
        assert_eq!(command, r"'/home/o'\''neil/my tools/pace-maker' hook stop");
        assert_eq!(
            shell::split(command).unwrap(),
            ["/home/o'neil/my tools/pace-maker", "hook", "stop"]
        );
        assert!(is_own_hook_entry(&json!({"command": command})));
    }

    #[test]
    fn only_commands_of_exactly_our_shape_are_ours() {
        let ours = [
            "/usr/local/bin/pace-maker hook stop",
            "pace-maker hook post-tool-use",
            "'/a b/pace-maker' hook stop",
            "\"/a b/pace-maker\"   hook   stop",
        ];
        let theirs = [
            "pace-maker-other hook stop",
            "/opt/pace-maker/bin/tool hook stop",
            "echo pace-maker hook stop",
            "pace-maker hook stop; rm -rf /tmp/x",
            "pace-maker hook stop && notify",
            "pace-maker hook",
            "pace-maker hook stop extra",
            "pace-maker hooks stop",
            "PACE=1 pace-maker hook stop",
            "pace-maker hook $EVENT",
            "pace-maker statusline",
        ];
        for command in ours {
            assert!(is_own_hook_entry(&json!({"command": command})), "{command}");
        }
        for command in theirs {
            assert!(
                !is_own_hook_entry(&json!({"command": command})),
                "{command}"
            );
        }
    }

    #[test]
    fn status_line_modes_do_what_they_say() {
        let theirs = json!({"type": "command", "command": "~/bin/my line.sh", "padding": 2});
        let chained = json!({"type": "command", "command": "/usr/local/bin/pace-maker statusline --chain '~/bin/my line.sh'", "padding": 2});
        let ours = json!({"type": "command", "command": "/usr/local/bin/pace-maker statusline", "padding": 0});
        let no_command = json!({"type": "command"});
        // (name, status line before (None: absent), mode, after (None: absent), note)
        type Case = (
            &'static str,
            Option<Value>,
            StatusLineMode,
            Option<Value>,
            Option<Note>,
        );
        let cases: Vec<Case> = vec![
            (
                "auto installs ours when there is none",
                None,
                StatusLineMode::Auto,
                Some(ours.clone()),
                Some(Note::StatusLineInstalled),
            ),
            (
                "auto leaves the user's",
                Some(theirs.clone()),
                StatusLineMode::Auto,
                Some(theirs.clone()),
                Some(Note::StatusLineKept),
            ),
            (
                "chain wraps the user's",
                Some(theirs.clone()),
                StatusLineMode::Chain,
                Some(chained.clone()),
                Some(Note::StatusLineChained),
            ),
            (
                "chain without one installs ours",
                None,
                StatusLineMode::Chain,
                Some(ours.clone()),
                Some(Note::StatusLineInstalled),
            ),
            (
                "chain cannot wrap a line without a command",
                Some(no_command.clone()),
                StatusLineMode::Chain,
                Some(no_command.clone()),
                Some(Note::StatusLineNotChainable),
            ),
            (
                "chain again keeps the chain",
                Some(chained.clone()),
                StatusLineMode::Chain,
                Some(chained.clone()),
                None,
            ),
            (
                "auto keeps an existing chain",
                Some(chained.clone()),
                StatusLineMode::Auto,
                Some(chained.clone()),
                None,
            ),
            (
                "force replaces the user's",
                Some(theirs.clone()),
                StatusLineMode::Force,
                Some(ours.clone()),
                Some(Note::StatusLineReplaced),
            ),
            (
                "force unwraps a chain",
                Some(chained.clone()),
                StatusLineMode::Force,
                Some(
                    json!({"type": "command", "command": "/usr/local/bin/pace-maker statusline", "padding": 2}),
                ),
                Some(Note::StatusLineReplaced),
            ),
            (
                "force replaces a null",
                Some(Value::Null),
                StatusLineMode::Force,
                Some(ours.clone()),
                Some(Note::StatusLineInstalled),
            ),
            (
                "skip leaves the user's",
                Some(theirs.clone()),
                StatusLineMode::Skip,
                Some(theirs.clone()),
                None,
            ),
            ("skip adds none", None, StatusLineMode::Skip, None, None),
        ];
        for (name, before, mode, expected, note) in cases {
            let mut settings = json!({"model": "opus"});
            if let Some(before) = &before {
                settings[STATUS_LINE_KEY] = before.clone();
            }
            let out = installed(&settings, mode);
            assert_eq!(
                out.settings.get(STATUS_LINE_KEY),
                expected.as_ref(),
                "{name}"
            );
            assert_eq!(out.notes.first(), note.as_ref(), "{name}");
            let started_with_ours = matches!(
                status_line_state(before.as_ref()),
                StatusLineState::Ours { .. }
            );
            if !started_with_ours {
                let back =
                    uninstall(&out.settings, Some(&out.receipt), StatusLineMode::Auto).unwrap();
                assert_eq!(
                    back.settings, settings,
                    "{name}: uninstall gives the original back"
                );
            }
        }
    }

    #[test]
    fn uninstall_without_a_receipt_removes_ours_and_unwraps_a_chain() {
        let settings = parse(
            r#"{"statusLine": {"type": "command", "command": "/x/pace-maker statusline --chain 'echo \"hi\" | cat'", "padding": 1},
                "hooks": {"Stop": [{"hooks": [{"type": "command", "command": "/x/pace-maker hook stop"}]}]}}"#,
        );
        let out = uninstall(&settings, None, StatusLineMode::Auto).unwrap();
        assert_eq!(
            out.settings,
            parse(
                r#"{"statusLine": {"type": "command", "command": "echo \"hi\" | cat", "padding": 1}}"#
            )
        );
        let plain =
            json!({"statusLine": {"type": "command", "command": "/x/pace-maker statusline"}});
        assert_eq!(
            uninstall(&plain, None, StatusLineMode::Auto)
                .unwrap()
                .settings,
            json!({})
        );
        assert_eq!(
            uninstall(&plain, None, StatusLineMode::Skip)
                .unwrap()
                .settings,
            plain
        );
    }

    #[test]
    fn uninstall_keeps_the_order_of_what_remains() {
        let settings = parse(
            r#"{"statusLine": {"type": "command", "command": "/x/pace-maker statusline"},
                "hooks": {"Stop": [{"hooks": [{"type": "command", "command": "/x/pace-maker hook stop"}]}],
                          "Foo": [], "Bar": [{"hooks": [{"command": "b"}]}]},
                "z": 1, "a": 2}"#,
        );
        let out = uninstall(&settings, None, StatusLineMode::Auto).unwrap();
        // Compared as text: `Value` equality ignores key order.
        assert_eq!(
            serde_json::to_string(&out.settings).unwrap(),
            r#"{"hooks":{"Foo":[],"Bar":[{"hooks":[{"command":"b"}]}]},"z":1,"a":2}"#
        );
    }

    #[test]
    fn containers_that_were_empty_before_install_survive_uninstall() {
        for text in [
            r#"{"hooks": {}}"#,
            r#"{"hooks": {"Stop": []}}"#,
            r#"{"hooks": {"Stop": [], "SessionEnd": []}, "x": 1}"#,
            r#"{"hooks": {"Stop": [{"hooks": []}]}}"#,
            r#"{"hooks": {"Stop": [{"matcher": "", "hooks": []}], "PostToolUse": []}}"#,
        ] {
            let before = parse(text);
            let out = installed(&before, StatusLineMode::Skip);
            let back = uninstall(&out.settings, Some(&out.receipt), StatusLineMode::Auto).unwrap();
            assert_eq!(
                serde_json::to_string(&back.settings).unwrap(),
                serde_json::to_string(&before).unwrap(),
                "{text}"
            );
        }
    }

    #[test]
    fn settings_of_the_wrong_shape_are_refused() {
        let cases = [
            (json!([]), MergeError::TopLevelNotObject),
            (json!({"hooks": []}), MergeError::HooksNotObject),
            (
                json!({"hooks": {"Stop": {}}}),
                MergeError::EventNotList("Stop".into()),
            ),
        ];
        for (settings, error) in cases {
            assert_eq!(
                install(&settings, &options(StatusLineMode::Auto)),
                Err(error)
            );
        }
        assert_eq!(
            uninstall(&json!(1), None, StatusLineMode::Auto),
            Err(MergeError::TopLevelNotObject)
        );
    }

    #[test]
    fn inspect_reads_back_what_install_wrote() {
        let out = installed(&json!({"disableAllHooks": true}), StatusLineMode::Auto);
        let installation = inspect(&out.settings);
        assert!(installation.all_hooks_disabled);
        assert_eq!(installation.hooks.len(), 6);
        let post = installation
            .hooks
            .iter()
            .find(|hook| hook.event == "PostToolUse")
            .unwrap();
        assert_eq!(post.program, BIN);
        assert_eq!(post.argument, "post-tool-use");
        assert_eq!(post.timeout_seconds, Some(300));
        assert_eq!(post.matcher.as_deref(), Some("*"));
        assert_eq!(
            installation.status_line,
            StatusLineState::Ours {
                program: BIN.into(),
                chained: None
            }
        );
        assert!(!inspect(&json!({})).is_installed());
    }

    #[test]
    fn a_receipt_survives_serialization_even_for_a_replaced_null() {
        let receipt = Receipt {
            kept_empty_hooks: true,
            kept_empty_events: vec!["Stop".into()],
            replaced_status_line: Some(ReplacedValue { value: Value::Null }),
        };
        let text = serde_json::to_string(&receipt).unwrap();
        assert_eq!(serde_json::from_str::<Receipt>(&text).unwrap(), receipt);
        assert_eq!(serde_json::to_string(&Receipt::default()).unwrap(), "{}");
    }
}
