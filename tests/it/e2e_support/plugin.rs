//! The plugin way in: the repository's marketplace copied into a sandbox
//! (what `claude plugin marketplace add` reads), and a PATH on which no
//! `pace-maker` is found, so a scenario decides where the plugin's
//! launcher finds the binary, if anywhere.

use std::path::{Path, PathBuf};

use pace_maker::install::plugin;

/// Copies what the marketplace needs (`.claude-plugin/` and the plugin's
/// folder) from the repository into `into`, modes kept; returns `into`.
pub fn copy_marketplace(into: &Path) -> PathBuf {
    let repository = Path::new(env!("CARGO_MANIFEST_DIR"));
    for part in [".claude-plugin", plugin::PLUGIN_FOLDER] {
        copy_tree(&repository.join(part), &into.join(part));
    }
    into.to_path_buf()
}

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap().flatten() {
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            // `fs::copy` keeps the permission bits: the launcher's wrapper
            // stays executable.
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// This process's PATH without any folder that holds a `pace-maker`.
pub fn path_without_pace_maker() -> String {
    let path = std::env::var_os("PATH").unwrap_or_else(|| "/usr/bin:/bin".into());
    let folders: Vec<PathBuf> = std::env::split_paths(&path)
        .filter(|folder| !folder.join("pace-maker").exists())
        .collect();
    std::env::join_paths(folders)
        .expect("PATH's own folders join again")
        .into_string()
        .expect("PATH is UTF-8")
}
