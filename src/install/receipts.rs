//! What each install remembers for its uninstall, kept in the tool home.
//!
//! Most of what uninstall needs is in the settings themselves (our entries
//! are recognisable, a chained status line carries the user's command).
//! The rest cannot be: whether an emptied event list was there before,
//! which status line `force` replaced, whether install created the file.
//! That goes here, one entry per settings file, so uninstall can give the
//! file back exactly as it was. A missing or unreadable receipt only makes
//! uninstall fall back to removing what its removal emptied.
//!
//! Several installs may run at once (one per settings file, from a script
//! or a dotfiles tool). Each update is read, merge, atomic write under an
//! exclusive `flock` on `installs.json.lock` in the tool home, so none
//! writes over a receipt another has just added.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::Context;
use serde::{Deserialize, Serialize};

use super::merge::Receipt;
use crate::fsutil;
use crate::paths::{self, ToolHome, RECEIPTS_FILE, RECEIPTS_LOCK};

/// How long an update waits for another process to finish with the receipts.
const LOCK_WAIT: Duration = Duration::from_secs(10);

/// The largest settings file whose bytes a receipt keeps (a bigger one is
/// given back in its own layout, re-rendered).
pub const BEFORE_INSTALL_MAX: usize = 1 << 20;

/// What one settings file's install remembers.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct FileReceipt {
    /// The settings file did not exist before the first install.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub created_file: bool,
    /// The file's bytes before install, when it held none of pace-maker's
    /// entries: uninstall gives them back exactly when what remains after
    /// removing ours is the value they hold (see
    /// [`super::layout::uninstalled_text`]). Absent for a file install
    /// created, or larger than [`BEFORE_INSTALL_MAX`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub before_install: Option<String>,
    #[serde(default, flatten)]
    pub merge: Receipt,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct ReceiptsFile {
    #[serde(default)]
    installs: BTreeMap<String, FileReceipt>,
}

fn load_all(home: &ToolHome) -> ReceiptsFile {
    std::fs::read_to_string(home.root().join(RECEIPTS_FILE))
        .ok()
        .and_then(|text| serde_json::from_str(&text).ok())
        .unwrap_or_default()
}

/// An exclusive lock on the receipts, held until dropped.
struct ReceiptsLock {
    /// The `flock` lives as long as this descriptor stays open.
    _file: std::fs::File,
}

/// Takes the receipts' lock (creating the tool home if needed), waiting up
/// to [`LOCK_WAIT`] for another process to release it.
fn lock(home: &ToolHome) -> anyhow::Result<ReceiptsLock> {
    use std::os::fd::AsRawFd;
    paths::ensure_home(home.root())
        .with_context(|| format!("cannot create {}", home.root().display()))?;
    let path = home.root().join(RECEIPTS_LOCK);
    let file = fsutil::create_private_file(&path)
        .with_context(|| format!("cannot open the lock {}", path.display()))?;
    let deadline = Instant::now() + LOCK_WAIT;
    // SAFETY: flock on a descriptor we own; released when it closes.
    while unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } != 0 {
        let error = std::io::Error::last_os_error();
        if error.raw_os_error() != Some(libc::EWOULDBLOCK) {
            return Err(error).with_context(|| format!("cannot lock {}", path.display()));
        }
        if Instant::now() >= deadline {
            anyhow::bail!(
                "another pace-maker install or uninstall held {} for {} s",
                path.display(),
                LOCK_WAIT.as_secs()
            );
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    Ok(ReceiptsLock { _file: file })
}

/// Writes the receipts; only under [`lock`].
fn save_all(home: &ToolHome, file: &ReceiptsFile, _locked: &ReceiptsLock) -> anyhow::Result<()> {
    let path = home.root().join(RECEIPTS_FILE);
    let text = serde_json::to_string_pretty(file)? + "\n";
    fsutil::write_atomic(&path, text.as_bytes(), Some(0o600))
        .with_context(|| format!("cannot write {}", path.display()))
}

/// The receipt of the settings file named by `identity`, if any.
pub fn load(home: &ToolHome, identity: &Path) -> Option<FileReceipt> {
    load_all(home)
        .installs
        .remove(identity.to_string_lossy().as_ref())
}

/// Records an install: `later` is folded into what an earlier install kept.
pub fn record(home: &ToolHome, identity: &Path, later: FileReceipt) -> anyhow::Result<()> {
    let locked = lock(home)?;
    let mut all = load_all(home);
    let key = identity.to_string_lossy().into_owned();
    match all.installs.get_mut(&key) {
        Some(earlier) => {
            earlier.created_file |= later.created_file;
            // A later install that found none of ours saw the file as it
            // is without pace-maker: that is what uninstall gives back.
            if later.before_install.is_some() {
                earlier.before_install = later.before_install;
            }
            earlier.merge.absorb(later.merge);
        }
        None => {
            all.installs.insert(key, later);
        }
    }
    save_all(home, &all, &locked)
}

/// Forgets a settings file's receipt after its uninstall.
pub fn forget(home: &ToolHome, identity: &Path) -> anyhow::Result<()> {
    // No receipts, nothing to forget: the tool home is not created for it.
    if !home.root().join(RECEIPTS_FILE).exists() {
        return Ok(());
    }
    let locked = lock(home)?;
    let mut all = load_all(home);
    if all
        .installs
        .remove(identity.to_string_lossy().as_ref())
        .is_some()
    {
        save_all(home, &all, &locked)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_later_install_adds_to_what_an_earlier_one_kept() {
        let dir = tempfile::tempdir().unwrap();
        let home = ToolHome::at(dir.path().join("home"));
        let identity = Path::new("/x/settings.json");
        assert_eq!(load(&home, identity), None);
        let first = FileReceipt {
            created_file: true,
            before_install: Some("{ }".into()),
            merge: Receipt {
                kept_empty_events: vec!["Stop".into()],
                ..Receipt::default()
            },
        };
        record(&home, identity, first.clone()).unwrap();
        record(&home, identity, FileReceipt::default()).unwrap();
        assert_eq!(load(&home, identity), Some(first));
        forget(&home, identity).unwrap();
        assert_eq!(load(&home, identity), None);
    }
}
