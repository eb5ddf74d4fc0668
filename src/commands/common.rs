//! What most commands open first: the config (its warnings printed) and
//! the store.

use crate::config::Config;
use crate::paths::{self, ToolHome};
use crate::store::Store;

/// Loads config for a command, printing its warnings to stderr.
pub fn load_config(home: &ToolHome) -> Config {
    let loaded = Config::load(home, Some(&paths::project_dir()));
    for warning in &loaded.warnings {
        eprintln!("warning: config: {warning}");
    }
    loaded.config
}

/// Opens the store for a command, with the calls spooled under no-delay
/// passes filed in it.
pub fn open_store(home: &ToolHome, config: &Config) -> anyhow::Result<Store> {
    crate::pacing::spool::open_home(home, config)
}
