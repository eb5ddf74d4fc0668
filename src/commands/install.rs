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
use crate::fsutil;
use crate::hook::event::EventKind;
use crate::install::diff;
use crate::install::merge::{self, InstallOptions};
use crate::install::receipts::{self, FileReceipt};
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
                scope: Some(args.scope),
                path: args.scope.path(&paths::claude_dir(), &paths::project_dir()),
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

/// The absolute path of the running binary, as the entries will call it.
pub fn current_binary() -> anyhow::Result<String> {
    let path = std::env::current_exe().context("cannot tell where this binary is")?;
    path.to_str().map(str::to_string).ok_or_else(|| {
        anyhow::anyhow!(
            "the binary's path {} is not valid UTF-8 (hint: move pace-maker to a plain path)",
            path.display()
        )
    })
}

pub fn install(home: &ToolHome, args: &InstallArgs) -> anyhow::Result<ExitCode> {
    let target = Target::from_args(&args.target);
    let project =
        matches!(target.scope, Some(Scope::Project | Scope::Local)).then(paths::project_dir);
    let loaded = Config::load(home, project.as_deref());
    for warning in &loaded.warnings {
        eprintln!("warning: config: {warning}");
    }
    let options = InstallOptions {
        binary: current_binary()?,
        post_tool_use_timeout_seconds: loaded.config.hooks.post_tool_use_timeout_seconds,
        other_timeout_seconds: loaded.config.hooks.other_timeout_seconds,
        status_line: args.statusline,
    };
    let file = settings_file::read(&target.path)?;
    let installed = merge::install(&file.value, &options).map_err(|error| {
        anyhow::anyhow!(
            "{}: {error} (hint: fix the file by hand; it was not changed)",
            target.path.display()
        )
    })?;
    let changed = !file.exists() || installed.settings != file.value;

    if args.dry_run {
        let after = settings_file::render(&installed.settings);
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
    if changed {
        write_settings(&target.path, &file, Some(&installed.settings))?;
        let receipt = FileReceipt {
            created_file: !file.exists(),
            merge: installed.receipt,
        };
        if let Err(error) = receipts::record(home, &settings_file::identity(&target.path), receipt)
        {
            eprintln!("warning: {error:#} (uninstall will still remove every entry)");
        }
        eprintln!(
            "installed pace-maker in {}: {} hooks run {}",
            target.describe(),
            EventKind::ALL.len(),
            options.binary
        );
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
    warn_about_other_scopes(&target, "also installed");
    Ok(ExitCode::SUCCESS)
}

pub fn uninstall(home: &ToolHome, args: &UninstallArgs) -> anyhow::Result<ExitCode> {
    let target = Target::from_args(&args.target);
    let file = settings_file::read(&target.path)?;
    let identity = settings_file::identity(&target.path);
    let receipt = receipts::load(home, &identity);
    let uninstalled = merge::uninstall(
        &file.value,
        receipt.as_ref().map(|receipt| &receipt.merge),
        args.statusline,
    )
    .map_err(|error| {
        anyhow::anyhow!(
            "{}: {error} (hint: fix the file by hand; it was not changed)",
            target.path.display()
        )
    })?;
    // A file that install created goes away again once nothing else is in it.
    let remove_file = file.exists()
        && receipt.as_ref().is_some_and(|receipt| receipt.created_file)
        && uninstalled.settings == Value::Object(Default::default());
    let changed = file.exists() && (uninstalled.settings != file.value || remove_file);
    let after = (!remove_file).then_some(&uninstalled.settings);

    if args.dry_run {
        match (changed, after) {
            (false, _) => print_diff(&file, None)?,
            (true, Some(after)) => print_diff(&file, Some(&settings_file::render(after)))?,
            (true, None) => {
                print_diff(&file, Some(""))?;
                eprintln!("the file would be removed: install created it");
            }
        }
        for note in &uninstalled.notes {
            eprintln!("{note}");
        }
        if args.purge {
            eprintln!("would remove {}", home.root().display());
        }
        eprintln!("dry run: nothing was written");
        return Ok(ExitCode::SUCCESS);
    }

    if changed {
        write_settings(&target.path, &file, after)?;
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
        purge(home)?;
    } else {
        warn_about_other_scopes(&target, "still installed");
    }
    Ok(ExitCode::SUCCESS)
}

/// Backs the file up, then writes `after` (or removes the file when `None`).
fn write_settings(path: &Path, file: &SettingsFile, after: Option<&Value>) -> anyhow::Result<()> {
    settings_file::check_writable(path)?;
    if let Some(text) = &file.text {
        let backup = settings_file::backup(path, text, clock::now_ms())?;
        eprintln!("backup: {}", backup.display());
        // Old backups are tidied up; failing to is worth a warning, not a refusal.
        if let Err(error) = settings_file::prune_backups(path) {
            eprintln!("warning: {error:#}");
        }
    }
    match after {
        Some(value) => settings_file::write(path, value),
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
    home.ensure()
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

fn warn_about_other_scopes(target: &Target, how: &str) {
    for (scope, path) in installed_elsewhere(&target.path) {
        eprintln!(
            "warning: pace-maker is {how} in {} ({scope} scope): with both, its hooks run twice",
            path.display()
        );
        eprintln!("hint: pace-maker uninstall --scope {scope}");
    }
}

/// Deletes the tool home, refusing folders that are clearly not one.
fn purge(home: &ToolHome) -> anyhow::Result<()> {
    let root = home.root();
    if !root.exists() {
        eprintln!("{} does not exist: nothing to purge", root.display());
        return Ok(());
    }
    let known = [
        paths::CONFIG_FILE,
        paths::STORE_FILE,
        paths::LOG_FOLDER,
        paths::RECEIPTS_FILE,
    ];
    let entries: Vec<String> = std::fs::read_dir(root)
        .with_context(|| format!("cannot read {}", root.display()))?
        .flatten()
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .collect();
    let looks_like_ours =
        entries.is_empty() || entries.iter().any(|name| known.contains(&name.as_str()));
    let is_special = root.parent().is_none() || root == paths::user_home();
    if is_special || !looks_like_ours {
        anyhow::bail!(
            "{} does not look like pace-maker's home; not deleting it (hint: check PACE_MAKER_HOME)",
            root.display()
        );
    }
    std::fs::remove_dir_all(root).with_context(|| format!("cannot remove {}", root.display()))?;
    eprintln!("removed {}", root.display());
    Ok(())
}
