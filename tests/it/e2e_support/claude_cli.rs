//! The pinned Claude Code CLI, installed once per test process.
//!
//! `.ci/install-claude-code` pins the version and installs it with npm into
//! a cache outside the source tree (reused when present, one installer at a
//! time); this module runs it once and remembers the outcome, so every
//! scenario in the test binary shares one install.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// The installed CLI.
#[derive(Debug)]
pub struct ClaudeCli {
    /// The native binary.
    pub path: PathBuf,
    /// What `claude --version` says, e.g. `2.1.330 (Claude Code)`.
    pub version: String,
}

/// The CLI, or why it is not available.
pub fn claude_cli() -> Result<&'static ClaudeCli, String> {
    static CLI: OnceLock<Result<ClaudeCli, String>> = OnceLock::new();
    CLI.get_or_init(install).as_ref().map_err(Clone::clone)
}

fn install() -> Result<ClaudeCli, String> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join(".ci/install-claude-code");
    let output = Command::new("bash")
        .arg(&script)
        .output()
        .map_err(|error| format!("cannot run {}: {error}", script.display()))?;
    if !output.status.success() {
        return Err(format!(
            "{} failed ({}): {}",
            script.display(),
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        ));
    }
    let path = PathBuf::from(String::from_utf8_lossy(&output.stdout).trim());
    let version = Command::new(&path)
        .arg("--version")
        .output()
        .map_err(|error| format!("cannot run {}: {error}", path.display()))?;
    Ok(ClaudeCli {
        version: String::from_utf8_lossy(&version.stdout).trim().to_string(),
        path,
    })
}
