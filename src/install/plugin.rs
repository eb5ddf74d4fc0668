//! The Claude Code plugin that the repository's own marketplace ships
//! (`.claude-plugin/marketplace.json` and the `plugin/` folder), as the
//! rest of pace-maker sees it.
//!
//! `claude plugin marketplace add <the repository>` then `claude plugin
//! install pace-maker@claude-pace-maker` copies `plugin/` into Claude
//! Code's plugin cache and enables it in one scope's settings
//! (`enabledPlugins`); Claude Code then runs the hooks of its
//! `hooks/hooks.json` with `${CLAUDE_PLUGIN_ROOT}` set to the plugin's
//! folder. Nothing of pace-maker's is written into any settings file.
//!
//! A plugin cannot carry the compiled program, so each hook sources the
//! plugin's `scripts/launch` (POSIX sh) in the very shell Claude Code
//! starts for it: builtins find the binary (the path `install` recorded,
//! PATH, cargo's folder) and `exec` it, with no process of their own; with
//! no binary, SessionStart tells the person once what to install and every
//! other hook exits 0 at once. [`find_binary`] follows the same order for
//! `doctor`.
//!
//! The hooks file is made by the same merge `install` applies to a settings
//! file ([`hooks_file`]), with the config's default timeouts, so both ways
//! register the same events, matchers and timeouts; a test holds the
//! committed file to it, and the manifests' versions to the crate's. The
//! one thing a plugin cannot set is the status line: `pace-maker install
//! --statusline-only` (the plugin's `/pace-maker:statusline`) does.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use serde_json::{json, Value};

use super::merge::{self, FoundHook, InstallOptions, OwnCommand, StatusLineMode};
use super::settings_file::{self, Scope};
use crate::event::EventKind;
use crate::paths;

/// The plugin's name, the part of its id before `@`.
pub const PLUGIN_NAME: &str = "pace-maker";
/// The marketplace's name, from `.claude-plugin/marketplace.json`.
pub const MARKETPLACE_NAME: &str = "claude-pace-maker";
/// `claude plugin install` takes this.
pub const PLUGIN_ID: &str = "pace-maker@claude-pace-maker";
/// The plugin's folder in the repository (the marketplace entry's `source`).
pub const PLUGIN_FOLDER: &str = "plugin";
/// The marketplace manifest, relative to the repository.
pub const MARKETPLACE_MANIFEST: &str = ".claude-plugin/marketplace.json";
/// The plugin manifest, relative to the plugin's folder.
pub const PLUGIN_MANIFEST: &str = ".claude-plugin/plugin.json";
/// The hooks file, relative to the plugin's folder.
pub const HOOKS_FILE: &str = "hooks/hooks.json";
/// The launcher, relative to the plugin's folder.
pub const LAUNCHER: &str = "scripts/launch";
/// The launcher as the hooks name it.
pub const LAUNCHER_IN_HOOKS: &str = "${CLAUDE_PLUGIN_ROOT}/scripts/launch";
/// The settings key that enables plugins: `{"pace-maker@claude-pace-maker": true}`.
pub const ENABLED_PLUGINS_KEY: &str = "enabledPlugins";
/// Claude Code's record of the plugins it installed, in its folder.
pub const INSTALLED_PLUGINS_FILE: &str = "plugins/installed_plugins.json";

/// What a plugin hook runs for `kind`: its positional parameters set, then
/// the launcher sourced, so the shell Claude Code started for the hook
/// finds the binary and becomes it.
pub fn hook_command(kind: EventKind) -> String {
    format!("set -- hook {}; . \"{LAUNCHER_IN_HOOKS}\"", kind.cli_name())
}

/// The event (kebab case) of a command [`hook_command`] wrote; `None` for
/// any other command.
pub fn parse_hook_command(command: &str) -> Option<String> {
    let event = command
        .trim()
        .strip_prefix("set -- hook ")?
        .strip_suffix(&format!("; . \"{LAUNCHER_IN_HOOKS}\""))?;
    let plain = !event.is_empty()
        && event
            .bytes()
            .all(|byte| byte.is_ascii_lowercase() || byte == b'-');
    plain.then(|| event.to_string())
}

/// The plugin's `hooks/hooks.json`: what `install` writes into an empty
/// settings file with these timeouts (`hooks.post_tool_use_timeout_seconds`,
/// `hooks.other_timeout_seconds`), every command turned into the plugin's.
pub fn hooks_file(post_tool_use_timeout_seconds: u64, other_timeout_seconds: u64) -> Value {
    let options = InstallOptions {
        binary: merge::PROGRAM_FILE_NAME.to_string(),
        post_tool_use_timeout_seconds,
        other_timeout_seconds,
        // Stop's own default: the criteria's checks run inside it.
        stop_timeout_seconds: crate::config::Config::default().hooks.stop_timeout_seconds,
        status_line: StatusLineMode::Skip,
    };
    let mut hooks = merge::install(&json!({}), &options)
        .expect("an empty object always merges")
        .settings[merge::HOOKS_KEY]
        .take();
    let entries = hooks
        .as_object_mut()
        .into_iter()
        .flat_map(|events| events.values_mut())
        .filter_map(Value::as_array_mut)
        .flatten()
        .filter_map(|group| group.get_mut(merge::HOOKS_KEY))
        .filter_map(Value::as_array_mut)
        .flatten();
    for entry in entries {
        let kind = entry
            .get("command")
            .and_then(Value::as_str)
            .and_then(merge::parse_own_command)
            .and_then(|command| match command {
                OwnCommand::Hook { event, .. } => EventKind::parse(&event),
                OwnCommand::StatusLine { .. } => None,
            })
            .expect("install writes one of its hook commands");
        entry["command"] = json!(hook_command(kind));
    }
    json!({
        "description": "pace-maker: pacing after each tool call, momentum at each stop, bookkeeping at the others. Each hook sources scripts/launch, which runs the pace-maker program.",
        "hooks": hooks,
    })
}

/// [`hooks_file`] as the committed file holds it.
pub fn hooks_file_text(post_tool_use_timeout_seconds: u64, other_timeout_seconds: u64) -> String {
    let value = hooks_file(post_tool_use_timeout_seconds, other_timeout_seconds);
    serde_json::to_string_pretty(&value).expect("a JSON value always serializes") + "\n"
}

/// The plugin hooks in a hooks file's value, each named by its launcher.
pub fn inspect_hooks(file: &Value) -> Vec<FoundHook> {
    merge::find_hooks(file.get(merge::HOOKS_KEY), |command| {
        parse_hook_command(command).map(|event| (LAUNCHER_IN_HOOKS.to_string(), event))
    })
}

/// The plugin's ids a settings value names in `enabledPlugins`, each with
/// whether it is enabled (`true`; anything else is not).
pub fn named_in(settings: &Value) -> Vec<(String, bool)> {
    settings
        .get(ENABLED_PLUGINS_KEY)
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
        .filter(|(id, _)| id.split('@').next() == Some(PLUGIN_NAME))
        .map(|(id, value)| (id.clone(), value.as_bool() == Some(true)))
        .collect()
}

/// Whether the plugin is on, and where that was decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Enablement {
    /// `pace-maker@<marketplace>`.
    pub id: String,
    /// The scope whose settings decide: the most specific that names it.
    pub scope: Scope,
    /// That scope's settings file.
    pub path: String,
    pub enabled: bool,
}

/// For each id of the plugin that any scope names, the most specific
/// scope's word (local over project over user, as Claude Code merges
/// settings). `scopes` are the settings values, in any order.
pub fn enablement<'a>(
    scopes: impl IntoIterator<Item = (Scope, &'a str, &'a Value)>,
) -> Vec<Enablement> {
    let rank = |scope: Scope| Scope::ALL.iter().position(|known| *known == scope);
    let mut scopes: Vec<_> = scopes.into_iter().collect();
    scopes.sort_by_key(|(scope, _, _)| rank(*scope));
    let mut found: Vec<Enablement> = Vec::new();
    for (scope, path, settings) in scopes {
        for (id, enabled) in named_in(settings) {
            let decided = Enablement {
                id: id.clone(),
                scope,
                path: path.to_string(),
                enabled,
            };
            match found.iter_mut().find(|known| known.id == id) {
                Some(known) => *known = decided,
                None => found.push(decided),
            }
        }
    }
    found
}

/// [`enablement`] read from the settings file of every scope (one that
/// cannot be read says nothing; two scopes naming one file count once).
pub fn enablement_on_disk(claude_dir: &Path, project_dir: &Path) -> Vec<Enablement> {
    let mut seen = Vec::new();
    let mut files = Vec::new();
    for scope in Scope::ALL {
        let path = scope.path(claude_dir, project_dir);
        let identity = settings_file::identity(&path);
        if seen.contains(&identity) {
            continue;
        }
        seen.push(identity);
        if let Ok(file) = settings_file::read(&path) {
            files.push((scope, path.display().to_string(), file.value));
        }
    }
    enablement(
        files
            .iter()
            .map(|(scope, path, value)| (*scope, path.as_str(), value)),
    )
}

/// The plugin ids enabled in this machine's settings, as Claude Code
/// would run them from the current project.
pub fn enabled_here() -> Vec<Enablement> {
    let project_dir =
        std::path::absolute(paths::project_dir()).unwrap_or_else(|_| paths::project_dir());
    enablement_on_disk(&paths::claude_dir(), &project_dir)
        .into_iter()
        .filter(|found| found.enabled)
        .collect()
}

/// The command that removes the plugin from where `found` enables it.
pub fn uninstall_command(found: &Enablement) -> String {
    match found.scope {
        Scope::User => format!("claude plugin uninstall {}", found.id),
        scope => format!("claude plugin uninstall --scope {scope} {}", found.id),
    }
}

/// One copy of the plugin that Claude Code installed
/// (`plugins/installed_plugins.json`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstalledCopy {
    pub id: String,
    /// `user`, `project` or `local`, as Claude Code wrote it.
    pub scope: String,
    /// The plugin's folder in Claude Code's cache.
    pub install_path: PathBuf,
    pub version: Option<String>,
    /// The project of a project or local install.
    pub project_path: Option<String>,
}

/// The copies of the plugin in the text of `installed_plugins.json`
/// (`{"version": 2, "plugins": {"<id>": [{"scope", "installPath",
/// "version", "projectPath"?}]}}`); other plugins and unknown fields are
/// ignored.
pub fn parse_installed(text: &str) -> Result<Vec<InstalledCopy>, String> {
    let value: Value = serde_json::from_str(text).map_err(|error| error.to_string())?;
    let plugins = value
        .get("plugins")
        .and_then(Value::as_object)
        .ok_or("no `plugins` object")?;
    let mut copies = Vec::new();
    for (id, entries) in plugins {
        if id.split('@').next() != Some(PLUGIN_NAME) {
            continue;
        }
        for entry in entries.as_array().into_iter().flatten() {
            let text = |key: &str| entry.get(key).and_then(Value::as_str).map(str::to_string);
            let Some(install_path) = text("installPath") else {
                continue;
            };
            copies.push(InstalledCopy {
                id: id.clone(),
                scope: text("scope").unwrap_or_default(),
                install_path: PathBuf::from(install_path),
                version: text("version"),
                project_path: text("projectPath"),
            });
        }
    }
    Ok(copies)
}

/// The copies of the plugin Claude Code installed under `claude_dir`; none
/// when it installed no plugin at all.
pub fn installed_copies(claude_dir: &Path) -> Result<Vec<InstalledCopy>, String> {
    let path = claude_dir.join(INSTALLED_PLUGINS_FILE);
    match std::fs::read_to_string(&path) {
        Ok(text) => parse_installed(&text).map_err(|why| format!("{}: {why}", path.display())),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(error) => Err(format!("cannot read {}: {error}", path.display())),
    }
}

/// Where the launcher found the binary.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BinarySource {
    /// The path `install` recorded in the tool home.
    Recorded,
    /// A folder of `PATH`.
    Path,
    /// Cargo's `bin/` folder.
    Cargo,
}

impl std::fmt::Display for BinarySource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            BinarySource::Recorded => "recorded by install",
            BinarySource::Path => "found on PATH",
            BinarySource::Cargo => "in cargo's bin folder",
        })
    }
}

/// The binary the launcher runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FoundBinary {
    pub path: PathBuf,
    pub source: BinarySource,
}

/// Where the launcher looks, in its order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lookup {
    /// The tool home's [`paths::BINARY_RECORD_FILE`].
    pub record: PathBuf,
    /// `PATH`.
    pub path: Option<OsString>,
    /// `<cargo home>/bin/pace-maker`.
    pub cargo_binary: PathBuf,
}

impl Lookup {
    /// The places this process's environment names, as the launcher reads
    /// the same variables in a hook: `PACE_MAKER_HOME` (else
    /// `$HOME/.claude-pace-maker`), `PATH`, `CARGO_HOME` (else `$HOME/.cargo`).
    pub fn from_env() -> Self {
        Self {
            record: paths::ToolHome::from_env()
                .root()
                .join(paths::BINARY_RECORD_FILE),
            path: std::env::var_os(paths::ENV_PATH),
            cargo_binary: paths::env(paths::ENV_CARGO_HOME)
                .map(PathBuf::from)
                .unwrap_or_else(|| paths::user_home().join(".cargo"))
                .join("bin")
                .join(merge::PROGRAM_FILE_NAME),
        }
    }
}

/// The binary the plugin's launcher would run: the recorded path when the
/// record is a regular file of this user's, else the first `pace-maker` in
/// an absolute folder of `PATH` that is not a plugin's own
/// `bin/pace-maker`, else cargo's. Each must be an absolute path to an
/// executable regular file. `scripts/launch` does the same in sh.
pub fn find_binary(lookup: &Lookup) -> Option<FoundBinary> {
    let found = |path: PathBuf, source| Some(FoundBinary { path, source });
    if let Some(recorded) = read_record(&lookup.record) {
        if usable(&recorded) {
            return found(recorded, BinarySource::Recorded);
        }
    }
    for folder in lookup.path.iter().flat_map(std::env::split_paths) {
        let candidate = folder.join(merge::PROGRAM_FILE_NAME);
        if folder.is_absolute() && usable(&candidate) && !is_plugin_wrapper(&candidate) {
            return found(candidate, BinarySource::Path);
        }
    }
    if usable(&lookup.cargo_binary) {
        return found(lookup.cargo_binary.clone(), BinarySource::Cargo);
    }
    None
}

/// The first line of the record, when it is a regular file owned by this user.
fn read_record(record: &Path) -> Option<PathBuf> {
    use std::os::unix::fs::MetadataExt;
    let meta = std::fs::metadata(record).ok()?;
    // SAFETY: geteuid has no preconditions.
    if !meta.is_file() || meta.uid() != unsafe { libc::geteuid() } {
        return None;
    }
    let text = std::fs::read_to_string(record).ok()?;
    let line = text.split('\n').next().unwrap_or_default();
    (!line.is_empty()).then(|| PathBuf::from(line))
}

/// An absolute path to a regular file this user may execute (sh's `-f` and `-x`).
fn usable(path: &Path) -> bool {
    use std::os::unix::ffi::OsStrExt;
    if !path.is_absolute() || !path.is_file() {
        return false;
    }
    let Ok(name) = std::ffi::CString::new(path.as_os_str().as_bytes()) else {
        return false;
    };
    // SAFETY: a NUL-terminated path; access only reads it.
    unsafe { libc::access(name.as_ptr(), libc::X_OK) == 0 }
}

/// Whether `candidate` is a plugin's `bin/pace-maker`, which runs the
/// launcher again: its folder's sibling holds `scripts/launch`.
fn is_plugin_wrapper(candidate: &Path) -> bool {
    candidate
        .parent()
        .and_then(Path::parent)
        .is_some_and(|root| root.join(LAUNCHER).is_file())
}

/// Records `binary` (an absolute path) as the program the launcher runs
/// first: one line in the tool home, owner-only.
pub fn record_binary(home: &paths::ToolHome, binary: &str) -> std::io::Result<()> {
    let text = format!("{binary}\n");
    crate::fsutil::write_atomic(
        &home.root().join(paths::BINARY_RECORD_FILE),
        text.as_bytes(),
        Some(0o600),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hook_commands_read_back_as_their_event() {
        for kind in EventKind::ALL {
            let command = hook_command(kind);
            assert_eq!(
                parse_hook_command(&command).as_deref(),
                Some(kind.cli_name())
            );
            assert!(merge::parse_own_command(&command).is_none(), "{command}");
        }
        for other in [
            "pace-maker hook stop",
            "set -- hook stop; . \"/elsewhere/launch\"",
            "set -- hook stop; rm -rf /; . \"${CLAUDE_PLUGIN_ROOT}/scripts/launch\"",
            "",
        ] {
            assert_eq!(parse_hook_command(other), None, "{other}");
        }
    }

    #[test]
    fn the_hooks_file_registers_what_install_registers() {
        let file = hooks_file(300, 10);
        let installed = merge::inspect(
            &merge::install(
                &json!({}),
                &InstallOptions {
                    binary: "/bin/pace-maker".into(),
                    post_tool_use_timeout_seconds: 300,
                    other_timeout_seconds: 10,
                    stop_timeout_seconds: 300,
                    status_line: StatusLineMode::Skip,
                },
            )
            .unwrap()
            .settings,
        );
        let plugin = inspect_hooks(&file);
        assert_eq!(plugin.len(), EventKind::ALL.len());
        for (ours, theirs) in plugin.iter().zip(&installed.hooks) {
            assert_eq!(ours.program, LAUNCHER_IN_HOOKS);
            assert_eq!(
                (
                    &ours.event,
                    &ours.argument,
                    ours.timeout_seconds,
                    &ours.matcher
                ),
                (
                    &theirs.event,
                    &theirs.argument,
                    theirs.timeout_seconds,
                    &theirs.matcher
                )
            );
        }
    }

    #[test]
    fn the_most_specific_scope_decides_whether_the_plugin_is_on() {
        let on = json!({"enabledPlugins": {"pace-maker@claude-pace-maker": true, "other@x": true}});
        let off = json!({"enabledPlugins": {"pace-maker@claude-pace-maker": false}});
        let none = json!({"enabledPlugins": {"other@x": true}});
        let decided = enablement([
            (Scope::Local, "local.json", &off),
            (Scope::User, "user.json", &on),
        ]);
        assert_eq!(
            decided,
            vec![Enablement {
                id: PLUGIN_ID.into(),
                scope: Scope::Local,
                path: "local.json".into(),
                enabled: false,
            }]
        );
        let decided = enablement([
            (Scope::User, "user.json", &on),
            (Scope::Project, "project.json", &none),
        ]);
        assert_eq!(decided.len(), 1);
        assert!(decided[0].enabled);
        assert_eq!(decided[0].scope, Scope::User);
        assert!(enablement([(Scope::User, "user.json", &json!({}))]).is_empty());
        assert_eq!(
            named_in(&json!({"enabledPlugins": {"pace-maker@fork": "yes"}})),
            vec![("pace-maker@fork".to_string(), false)]
        );
    }

    #[test]
    fn installed_plugins_json_yields_our_copies_only() {
        let text = r#"{"version": 2, "plugins": {
            "pace-maker@claude-pace-maker": [
                {"scope": "user", "installPath": "/c/pace-maker/0.1.0", "version": "0.1.0", "installedAt": "x"},
                {"scope": "project", "installPath": "/c/pace-maker/0.1.0", "version": "0.1.0", "projectPath": "/p"}
            ],
            "other@x": [{"scope": "user", "installPath": "/c/other"}]
        }}"#;
        let copies = parse_installed(text).unwrap();
        assert_eq!(copies.len(), 2);
        assert_eq!(copies[0].install_path, PathBuf::from("/c/pace-maker/0.1.0"));
        assert_eq!(copies[1].project_path.as_deref(), Some("/p"));
        assert!(parse_installed("[]").is_err());
        assert!(parse_installed("not json").is_err());
    }
}
