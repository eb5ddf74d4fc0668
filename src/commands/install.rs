//! `pace-maker install | uninstall`: the pure merge applied to a real
//! settings file, with the backup, receipt and tool home around it.
//!
//! Order of work for install: read and check everything first (the settings
//! must parse, the merge must succeed), then the tool home, then the
//! backup, then the atomic write, then the receipt. A failure before the
//! write leaves the settings untouched; a failure after it leaves them
//! correct. Messages go to stderr; a `--dry-run` diff is data, on stdout.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use serde_json::Value;

use crate::cli::{InstallArgs, SettingsTargetArgs, UninstallArgs};
use crate::clock;
use crate::config::{self, Config};
use crate::event::EventKind;
use crate::fsutil;
use crate::hint::HintExt;
use crate::install::diff;
use crate::install::layout;
use crate::install::merge::{self, InstallOptions, StatusLineMode};
use crate::install::plugin;
use crate::install::receipts::{self, FileReceipt, BEFORE_INSTALL_MAX};
use crate::install::settings_file::{self, Scope, SettingsFile};
use crate::paths::{self, ToolHome};
use crate::store::Store;

/// The settings file a command edits.
#[derive(Debug, Clone)]
struct Target {
    /// `None` for `--settings FILE`.
    scope: Option<Scope>,
    path: PathBuf,
}

impl Target {
    fn from_args(args: &SettingsTargetArgs) -> Self {
        match &args.settings {
            Some(file) => Self {
                scope: None,
                path: file.clone(),
            },
            None => Self {
                scope: Some(args.scope.into()),
                path: Scope::from(args.scope).path(&paths::claude_dir(), &paths::project_dir()),
            },
        }
    }

    fn describe(&self) -> String {
        match self.scope {
            Some(scope) => format!("{} ({scope} scope)", self.path.display()),
            None => self.path.display().to_string(),
        }
    }
}

pub fn install(home: &ToolHome, args: &InstallArgs) -> anyhow::Result<ExitCode> {
    let target = Target::from_args(&args.target);
    let project =
        matches!(target.scope, Some(Scope::Project | Scope::Local)).then(paths::project_dir);
    let loaded = Config::load(home, project.as_deref());
    for warning in &loaded.warnings {
        eprintln!("warning: config: {warning}");
    }
    // The project scope's file is shared with the team: its entries call
    // `pace-maker` from PATH, which resolves on every machine that has it,
    // never this machine's path; and the status line is each person's own
    // (Claude Code prefers the project's, which would hide theirs), so it
    // is set there only when asked for by name.
    let shared = target.scope == Some(Scope::Project);
    // The shared file names no path of this machine, so only the other
    // scopes need this binary's (the plugin's record is a nicety).
    let binary = paths::current_binary();
    let options = InstallOptions {
        binary: if shared {
            merge::PROGRAM_FILE_NAME.to_string()
        } else {
            binary
                .as_ref()
                .map_err(|error| anyhow::anyhow!("{error:#}"))?
                .clone()
        },
        post_tool_use_timeout_seconds: loaded.config.hooks.post_tool_use_timeout_seconds,
        stop_timeout_seconds: loaded.config.hooks.stop_timeout_seconds,
        other_timeout_seconds: loaded.config.hooks.other_timeout_seconds,
        status_line: match (shared, StatusLineMode::from(args.statusline)) {
            (true, StatusLineMode::Auto) => StatusLineMode::Skip,
            (_, mode) => mode,
        },
    };
    if args.statusline_only && options.status_line == StatusLineMode::Skip {
        return Err(crate::hint::hinted(
            format!(
                "--statusline-only has nothing to do with the status line left alone{}",
                if shared {
                    " (at the project scope `auto` leaves each person's own)"
                } else {
                    ""
                }
            ),
            "--statusline auto, chain or force",
        ));
    }
    let file = settings_file::read(&target.path)?;
    let merged = if args.statusline_only {
        merge::install_status_line_only(&file.value, &options)
    } else {
        merge::install(&file.value, &options)
    };
    let installed = merged.map_err(|error| {
        crate::hint::hinted(
            format!("{}: {error}", target.path.display()),
            "fix the file by hand; it was not changed",
        )
    })?;
    let changed = !file.exists() || !layout::same_value(&installed.settings, &file.value);
    // Only what changes is written; the rest keeps its bytes, and what is
    // new follows the file's layout.
    let after = layout::rewrite(file.text.as_deref(), &installed.settings);

    if args.dry_run {
        print_diff(&file, changed.then_some(after.as_str()))?;
        for note in &installed.notes {
            eprintln!("{note}");
        }
        eprintln!("dry run: nothing was written");
        return Ok(ExitCode::SUCCESS);
    }

    if ensure_tool_home(home)? {
        eprintln!(
            "created {} with a commented config.toml",
            home.root().display()
        );
    }
    // The plugin's launcher runs this binary first from now on.
    if let Ok(binary) = &binary {
        if let Err(error) = plugin::record_binary(home, binary) {
            eprintln!(
                "warning: cannot record {binary} for the plugin in {}: {error}",
                home.root().display()
            );
        }
    }
    if changed {
        write_settings(home, &target.path, &file, Some(&after))?;
        // Bytes worth giving back: a file without any of ours yet.
        let before_install = file.text.clone().filter(|text| {
            text.len() <= BEFORE_INSTALL_MAX && !merge::inspect(&file.value).is_installed()
        });
        let receipt = FileReceipt {
            created_file: !file.exists(),
            before_install,
            merge: installed.receipt,
        };
        if let Err(error) = receipts::record(home, &settings_file::identity(&target.path), receipt)
        {
            eprintln!("warning: {error:#} (uninstall will still remove every entry)");
        }
        if args.statusline_only {
            eprintln!(
                "set pace-maker's status line in {}, and no hooks",
                target.describe()
            );
        } else {
            eprintln!(
                "installed pace-maker in {}: {} hooks run {}",
                target.describe(),
                EventKind::ALL.len(),
                options.binary
            );
        }
        if shared {
            eprintln!(
                "the project's file is shared: its hooks call `pace-maker` from PATH on each machine (install it there with `cargo install --locked --path .`), and your status line stays your own (`pace-maker install --statusline chain` at user scope)"
            );
            if !on_path(merge::PROGRAM_FILE_NAME) {
                eprintln!(
                    "warning: `pace-maker` is not on this machine's PATH: these hooks fail here until it is (hint: cargo install --locked --path .)"
                );
            }
        }
        if !args.statusline_only {
            eprintln!("{PICK_UP_HINT}");
        }
    } else {
        eprintln!(
            "pace-maker is installed and current in {}: nothing to change",
            target.describe()
        );
    }
    for note in &installed.notes {
        eprintln!("{note}");
    }
    if let Err(error) = Store::open_home(home, &loaded.config) {
        eprintln!(
            "warning: {error:#} (hint: hooks will do nothing until the store opens; run `pace-maker doctor`)"
        );
    }
    if args.statusline_only {
        say_where_the_hooks_come_from(&target);
    } else {
        warn_about_other_scopes(&target, &options.binary);
        warn_about_the_plugin();
    }
    Ok(ExitCode::SUCCESS)
}

/// After `--statusline-only`: the hooks come from the plugin or from
/// settings; with neither, nothing but the status line runs.
fn say_where_the_hooks_come_from(target: &Target) {
    let plugin = plugin::enabled_here();
    if let Some(found) = plugin.first() {
        eprintln!(
            "the hooks come from the plugin {} ({} scope)",
            found.id, found.scope
        );
        return;
    }
    let in_settings = merge::inspect(
        &settings_file::read(&target.path)
            .map(|file| file.value)
            .unwrap_or_default(),
    )
    .is_installed()
        || !installed_elsewhere(&target.path).is_empty();
    if !in_settings {
        eprintln!(
            "note: no hooks run yet: install the plugin (`claude plugin install {}`) or the hooks in settings (`pace-maker install`)",
            plugin::PLUGIN_ID
        );
    }
}

/// After an install of the hooks into settings: the plugin, enabled too,
/// runs every event a second time.
fn warn_about_the_plugin() {
    for found in plugin::enabled_here() {
        eprintln!(
            "warning: the plugin {} is enabled too ({} scope, {}): every event runs twice (pace-maker counts it once)",
            found.id, found.scope, found.path
        );
        eprintln!(
            "hint: keep one: `{}` (then `pace-maker install --statusline-only` for the status line alone), or `pace-maker uninstall` to keep the plugin",
            plugin::uninstall_command(&found)
        );
    }
}

/// Whether a bare program name is found in `PATH`.
fn on_path(program: &str) -> bool {
    std::env::var_os("PATH").is_some_and(|path| {
        std::env::split_paths(&path).any(|folder| folder.join(program).is_file())
    })
}

pub fn uninstall(home: &ToolHome, args: &UninstallArgs) -> anyhow::Result<ExitCode> {
    let target = Target::from_args(&args.target);
    let file = settings_file::read(&target.path)?;
    // A purge that would be refused is refused before anything changes.
    let purge_plan = args
        .purge
        .then(|| plan_purge(home, &target.path))
        .transpose()?;
    let identity = settings_file::identity(&target.path);
    let receipt = receipts::load(home, &identity);
    let uninstalled = merge::uninstall(
        &file.value,
        receipt.as_ref().map(|receipt| &receipt.merge),
        args.statusline.into(),
    )
    .map_err(|error| {
        crate::hint::hinted(
            format!("{}: {error}", target.path.display()),
            "fix the file by hand; it was not changed",
        )
    })?;
    // A file that install created goes away again once nothing else is in it.
    let remove_file = file.exists()
        && receipt.as_ref().is_some_and(|receipt| receipt.created_file)
        && uninstalled.settings == Value::Object(Default::default());
    let changed =
        file.exists() && (!layout::same_value(&uninstalled.settings, &file.value) || remove_file);
    // The very bytes from before install when nothing else changed since,
    // else the value in the file's own layout.
    let after = (!remove_file).then(|| {
        layout::uninstalled_text(
            file.text.as_deref(),
            &uninstalled.settings,
            receipt
                .as_ref()
                .and_then(|receipt| receipt.before_install.as_deref()),
        )
    });

    if args.dry_run {
        match (changed, &after) {
            (false, _) => print_diff(&file, None)?,
            (true, Some(after)) => print_diff(&file, Some(after))?,
            (true, None) => {
                print_diff(&file, Some(""))?;
                eprintln!("the file would be removed: install created it");
            }
        }
        for note in &uninstalled.notes {
            eprintln!("{note}");
        }
        if let Some(plan) = &purge_plan {
            plan.describe(home, &target.path);
        }
        eprintln!("dry run: nothing was written");
        return Ok(ExitCode::SUCCESS);
    }

    if changed {
        write_settings(home, &target.path, &file, after.as_deref())?;
        eprintln!(
            "uninstalled pace-maker from {}{}",
            target.describe(),
            if remove_file {
                " (the file is removed: install created it)"
            } else {
                ""
            }
        );
        for note in &uninstalled.notes {
            eprintln!("{note}");
        }
        eprintln!("{PICK_UP_HINT}");
    } else {
        eprintln!(
            "pace-maker is not installed in {}: nothing to change",
            target.describe()
        );
    }
    if let Err(error) = receipts::forget(home, &identity) {
        eprintln!("warning: {error:#}");
    }
    if args.purge {
        purge(home, &target.path)?;
    } else {
        for (scope, path) in installed_elsewhere(&target.path) {
            eprintln!(
                "pace-maker is still installed in {} ({scope} scope): its hooks go on running from there",
                path.display()
            );
        }
    }
    for found in plugin::enabled_here() {
        eprintln!(
            "the plugin {} is still enabled ({} scope): its hooks go on running (hint: `{}` removes it)",
            found.id,
            found.scope,
            plugin::uninstall_command(&found)
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// What a running Claude Code session needs to pick up a changed settings
/// file: it takes a snapshot of the hooks when it starts, so a session
/// started from now on has the change; one already running keeps its
/// snapshot (it warns of the change) until a restart or a review in its
/// `/hooks` menu (anthropics/claude-code issues 6305 and 22679).
const PICK_UP_HINT: &str =
    "restart running Claude Code sessions (or open /hooks in them) to pick up the change";

/// Backs the file up into the tool home's backup folder, then writes
/// `after` (or removes the file when `None`).
fn write_settings(
    home: &ToolHome,
    path: &Path,
    file: &SettingsFile,
    after: Option<&str>,
) -> anyhow::Result<()> {
    settings_file::check_writable(path)?;
    if let Some(text) = &file.text {
        paths::ensure_home(home.root())
            .with_context(|| format!("cannot create {}", home.root().display()))?;
        let folder = home.root().join(paths::BACKUP_FOLDER);
        let backup = settings_file::backup(&folder, path, text, clock::now_ms())?;
        eprintln!("backup: {}", backup.display());
        // Old backups are tidied up; failing to is worth a warning, not a refusal.
        if let Err(error) = settings_file::prune_backups(&folder, path) {
            eprintln!("warning: {error:#}");
        }
    }
    match after {
        Some(text) => settings_file::write(path, text),
        None => {
            let target = fsutil::resolve_target(path)?;
            std::fs::remove_file(&target)
                .with_context(|| format!("cannot remove {}", target.display()))
        }
    }
}

/// Prints the change from the file's text to `after` as a unified diff on
/// stdout; `None` means no change. An empty `after` is a removed file.
fn print_diff(file: &SettingsFile, after: Option<&str>) -> anyhow::Result<()> {
    let Some(after) = after else {
        eprintln!("no change to {}", file.path.display());
        return Ok(());
    };
    let path = file.path.display().to_string();
    let null = "/dev/null".to_string();
    let old_label = if file.exists() { &path } else { &null };
    let new_label = if after.is_empty() { &null } else { &path };
    let text = diff::unified(
        file.text.as_deref().unwrap_or(""),
        after,
        old_label,
        new_label,
    );
    let mut stdout = std::io::stdout().lock();
    stdout.write_all(text.as_bytes())?;
    stdout.flush()?;
    Ok(())
}

/// Creates the tool home and its commented `config.toml` when missing.
/// Returns whether the config file was created.
fn ensure_tool_home(home: &ToolHome) -> anyhow::Result<bool> {
    paths::ensure_home(home.root())
        .with_context(|| format!("cannot create {}", home.root().display()))?;
    let path = home.config_file();
    if path.exists() {
        return Ok(false);
    }
    fsutil::write_atomic(&path, config::default_file_text().as_bytes(), Some(0o600))
        .with_context(|| format!("cannot write {}", path.display()))?;
    Ok(true)
}

/// Scopes other than the target's whose settings hold pace-maker entries.
pub fn installed_elsewhere(target_path: &Path) -> Vec<(Scope, PathBuf)> {
    let target = settings_file::identity(target_path);
    let (claude_dir, project_dir) = (paths::claude_dir(), paths::project_dir());
    let mut found: Vec<(Scope, PathBuf)> = Vec::new();
    for scope in Scope::ALL {
        let path = scope.path(&claude_dir, &project_dir);
        let identity = settings_file::identity(&path);
        if identity == target || found.iter().any(|(_, known)| *known == identity) {
            continue;
        }
        if let Ok(file) = settings_file::read(&path) {
            if merge::inspect(&file.value).is_installed() {
                found.push((scope, identity));
            }
        }
    }
    found
}

/// After an install: another scope with pace-maker's entries runs them as
/// well. Claude Code runs identical commands once, so only entries that
/// call another program make every event run twice (pace-maker then
/// counts each once, but every hook costs twice).
fn warn_about_other_scopes(target: &Target, binary: &str) {
    for (scope, path) in installed_elsewhere(&target.path) {
        let programs: Vec<String> = settings_file::read(&path)
            .map(|file| {
                merge::inspect(&file.value)
                    .hooks
                    .into_iter()
                    .map(|hook| hook.program)
                    .collect()
            })
            .unwrap_or_default();
        if programs.iter().all(|program| program == binary) {
            eprintln!(
                "pace-maker is also installed in {} ({scope} scope) with the same command: Claude Code runs it once",
                path.display()
            );
            continue;
        }
        eprintln!(
            "warning: pace-maker is also installed in {} ({scope} scope) through another program: every event runs twice (counted once)",
            path.display()
        );
        eprintln!("hint: keep one: pace-maker uninstall --scope {scope}");
    }
}

/// What `--purge` deletes, found before anything is changed.
struct PurgePlan {
    /// The tool home's entries; `None` when it does not exist.
    home: Option<paths::HomeEntries>,
    /// Backups of the settings file that earlier versions left next to it.
    backups: Vec<PathBuf>,
}

impl PurgePlan {
    /// What a `--dry-run` would delete.
    fn describe(&self, home: &ToolHome, settings: &Path) {
        match &self.home {
            Some(entries) => eprintln!(
                "would remove {} ({} files of pace-maker's)",
                home.root().display(),
                entries.own_files.len()
            ),
            None => eprintln!("{} does not exist: nothing to purge", home.root().display()),
        }
        if !self.backups.is_empty() {
            eprintln!(
                "would remove {} backups of {}",
                self.backups.len(),
                settings.display()
            );
        }
    }
}

/// How many entries a refusal names.
const NAMED_ENTRIES: usize = 5;

/// Decides what `--purge` may delete, or refuses. Only what is
/// recognisably pace-maker's goes (see [`paths::home_entries`]), and the
/// folder itself once that leaves it empty: a folder holding anything else
/// is refused, naming what it holds, and so is a folder without the
/// marker ([`paths::HOME_MARKER`]) unless it holds pace-maker's store,
/// receipts or logs (a home made before the marker). The home is never
/// reached through a symlink.
fn plan_purge(home: &ToolHome, settings: &Path) -> anyhow::Result<PurgePlan> {
    let root = home.root();
    let refuse = |why: String| {
        crate::hint::hinted(
            format!(
                "{} does not look like pace-maker's home: {why}; nothing was deleted",
                root.display()
            ),
            "check PACE_MAKER_HOME",
        )
    };
    let entries = match std::fs::symlink_metadata(root) {
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => None,
        Err(error) => return Err(error).with_context(|| format!("cannot read {}", root.display())),
        Ok(meta) if meta.file_type().is_symlink() => {
            return Err(refuse(
                "it is a symbolic link, which --purge does not follow".into(),
            ))
        }
        Ok(meta) if !meta.is_dir() => return Err(refuse("it is not a folder".into())),
        Ok(_) => {
            let canonical = root.canonicalize().unwrap_or_else(|_| root.to_path_buf());
            let user_home = paths::user_home();
            if canonical.parent().is_none()
                || canonical == user_home.canonicalize().unwrap_or(user_home)
            {
                return Err(refuse("it is the root or your home folder".into()));
            }
            let entries = paths::home_entries(root)
                .with_context(|| format!("cannot read {}", root.display()))?;
            if !entries.foreign.is_empty() {
                let mut named = entries
                    .foreign
                    .iter()
                    .take(NAMED_ENTRIES)
                    .cloned()
                    .collect::<Vec<_>>()
                    .join(", ");
                if entries.foreign.len() > NAMED_ENTRIES {
                    named += &format!(" and {} more", entries.foreign.len() - NAMED_ENTRIES);
                }
                return Err(refuse(format!(
                    "it holds {named}, which pace-maker did not make"
                )));
            }
            if !entries.marked && !entries.looks_like_a_home {
                return Err(refuse(format!(
                    "it has no {} and none of pace-maker's store, receipts or logs",
                    paths::HOME_MARKER
                )));
            }
            Some(entries)
        }
    };
    Ok(PurgePlan {
        home: entries,
        backups: settings_backups(settings)?,
    })
}

/// Backups of `settings` that earlier versions of install left next to it:
/// `<name>.pace-maker-backup.<stamp>` or `<stamp>-<n>` (today's are in
/// the tool home). Anything else with a similar name is left alone.
fn settings_backups(settings: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let folder = match settings.parent() {
        Some(folder) if !folder.as_os_str().is_empty() => folder,
        _ => Path::new("."),
    };
    let Some(name) = settings.file_name().and_then(|name| name.to_str()) else {
        return Ok(Vec::new());
    };
    let prefix = format!("{name}.pace-maker-backup.");
    let entries = match std::fs::read_dir(folder) {
        Ok(entries) => entries,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(error) => {
            return Err(error).with_context(|| format!("cannot list {}", folder.display()))
        }
    };
    let mut found = Vec::new();
    for entry in entries.flatten() {
        let file_name = entry.file_name();
        let Some(rest) = file_name
            .to_str()
            .and_then(|text| text.strip_prefix(&prefix))
        else {
            continue;
        };
        let is_stamp = settings_file::backup_stamp(rest).is_some();
        if is_stamp && entry.file_type().is_ok_and(|kind| !kind.is_dir()) {
            found.push(entry.path());
        }
    }
    found.sort();
    Ok(found)
}

/// A folder opened without following a symlink, for `unlinkat`.
fn open_folder(at: Option<&std::fs::File>, path: &Path) -> std::io::Result<std::fs::File> {
    use std::os::fd::{AsRawFd, FromRawFd};
    use std::os::unix::ffi::OsStrExt;
    let name = std::ffi::CString::new(path.as_os_str().as_bytes())?;
    let dir = at.map_or(libc::AT_FDCWD, |file| file.as_raw_fd());
    let flags = libc::O_RDONLY | libc::O_DIRECTORY | libc::O_NOFOLLOW | libc::O_CLOEXEC;
    // SAFETY: a NUL-terminated path and a descriptor we own or AT_FDCWD.
    let fd = unsafe { libc::openat(dir, name.as_ptr(), flags) };
    if fd < 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: `fd` was just opened and is owned by nothing else.
    Ok(unsafe { std::fs::File::from_raw_fd(fd) })
}

/// Removes the entry `name` of the open folder `dir`: a file or symlink
/// (the link itself, never its target), or an empty folder.
fn unlink_in(dir: &std::fs::File, name: &std::ffi::OsStr, folder: bool) -> std::io::Result<()> {
    use std::os::fd::AsRawFd;
    use std::os::unix::ffi::OsStrExt;
    let name = std::ffi::CString::new(name.as_bytes())?;
    let flags = if folder { libc::AT_REMOVEDIR } else { 0 };
    // SAFETY: a NUL-terminated name and a descriptor we own.
    if unsafe { libc::unlinkat(dir.as_raw_fd(), name.as_ptr(), flags) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}

/// Deletes what [`plan_purge`] finds (planned again: the uninstall has
/// just changed the receipts and written a backup), with install's backups
/// in the home, then those earlier versions left next to the settings
/// file. Every removal goes through a folder opened without following a
/// symlink, so a link swapped in meanwhile stops the purge instead of
/// leading it elsewhere.
fn purge(home: &ToolHome, settings: &Path) -> anyhow::Result<()> {
    let plan = plan_purge(home, settings)?;
    let root = home.root();
    match &plan.home {
        None => eprintln!("{} does not exist: nothing to purge", root.display()),
        Some(entries) => {
            let cannot = |path: &Path| format!("cannot remove {}", path.display());
            let home_dir = open_folder(None, root).with_context(|| cannot(root))?;
            // `logs/` and `backups/`, each opened without following a link.
            let mut folders = Vec::new();
            for folder in &entries.own_folders {
                let Some(name) = folder.file_name() else {
                    continue;
                };
                let dir = open_folder(Some(&home_dir), Path::new(name))
                    .with_context(|| cannot(folder))?;
                folders.push((folder.clone(), dir));
            }
            for file in &entries.own_files {
                let (Some(parent), Some(name)) = (file.parent(), file.file_name()) else {
                    continue;
                };
                let dir = if parent == root {
                    &home_dir
                } else {
                    match folders.iter().find(|(folder, _)| folder == parent) {
                        Some((_, dir)) => dir,
                        None => continue,
                    }
                };
                match unlink_in(dir, name, false) {
                    Err(error) if error.kind() != std::io::ErrorKind::NotFound => {
                        return Err(error).with_context(|| cannot(file))
                    }
                    _ => {}
                }
            }
            for (folder, dir) in folders {
                drop(dir);
                if let Some(name) = folder.file_name() {
                    unlink_in(&home_dir, name, true).with_context(|| cannot(&folder))?;
                }
            }
            drop(home_dir);
            std::fs::remove_dir(root).context_hint(
                cannot(root),
                "something appeared in it meanwhile; run the purge again",
            )?;
            eprintln!(
                "removed {} ({} files of pace-maker's)",
                root.display(),
                entries.own_files.len()
            );
        }
    }
    for backup in &plan.backups {
        std::fs::remove_file(backup)
            .with_context(|| format!("cannot remove the backup {}", backup.display()))?;
    }
    if !plan.backups.is_empty() {
        eprintln!(
            "removed {} backups of {} (install's copies of it)",
            plan.backups.len(),
            settings.display()
        );
    }
    Ok(())
}
