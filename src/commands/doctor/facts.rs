//! What the checks look at: plain data, gathered by [`super::gather`].

use std::path::Path;

use crate::config::Config;
use crate::controls::Control;
use crate::install::merge::{FoundHook, Installation};
use crate::install::plugin::{Enablement, FoundBinary, InstalledCopy};
use crate::install::settings_file::Scope;

/// Everything the checks look at.
#[derive(Debug, Clone, PartialEq)]
pub struct Facts {
    pub now_ms: i64,
    pub version: String,
    /// The running binary (what a current entry calls).
    pub binary: String,
    pub scopes: Vec<ScopeFacts>,
    pub plugin: PluginFacts,
    pub credentials: CredentialsFacts,
    pub store: StoreState,
    pub config_file: String,
    pub config_file_exists: bool,
    pub config_warnings: Vec<String>,
    /// Keys the project's file set that a project may not set.
    pub config_refused: Vec<crate::config::Refused>,
    /// The tool home, and why it may not be used if it may not.
    pub home: String,
    pub home_refused: Option<String>,
    pub limits: ConfigLimits,
    pub kill_switch: bool,
    pub project_dir: String,
}

/// The config values the checks compare against.
#[derive(Debug, Clone, PartialEq)]
pub struct ConfigLimits {
    pub max_delay_seconds: u64,
    pub post_tool_use_timeout_seconds: u64,
    pub stop_timeout_seconds: u64,
    pub other_timeout_seconds: u64,
    pub stale_after_seconds: u64,
    pub pacing_enabled: bool,
    pub momentum_enabled: bool,
}

impl ConfigLimits {
    pub(super) fn from_config(config: &Config) -> Self {
        Self {
            max_delay_seconds: config.pacing.max_delay_seconds,
            post_tool_use_timeout_seconds: config.hooks.post_tool_use_timeout_seconds,
            stop_timeout_seconds: config.hooks.stop_timeout_seconds,
            other_timeout_seconds: config.hooks.other_timeout_seconds,
            stale_after_seconds: config.pacing.stale_after_seconds,
            pacing_enabled: config.pacing.enabled,
            momentum_enabled: config.momentum.enabled,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct ScopeFacts {
    pub scope: Scope,
    pub path: String,
    pub settings: SettingsFacts,
}

#[derive(Debug, Clone, PartialEq)]
pub enum SettingsFacts {
    Missing,
    Broken {
        error: String,
    },
    Read {
        installation: Installation,
        /// Programs our entries call that do not exist.
        missing_programs: Vec<String>,
    },
}

/// The Claude Code plugin, as this machine has it.
#[derive(Debug, Clone, PartialEq)]
pub struct PluginFacts {
    /// Each id of the plugin that a scope's `enabledPlugins` names, with
    /// the scope that decides whether it is on.
    pub enablement: Vec<Enablement>,
    /// The copies Claude Code installed, or why its record cannot be read.
    pub copies: Result<Vec<PluginCopyFacts>, String>,
    /// What the plugin's launcher runs.
    pub binary: Option<FoundBinary>,
    /// That binary is the one running doctor (the same file).
    pub binary_is_this: bool,
}

/// One installed copy of the plugin and the hooks its hooks file registers.
#[derive(Debug, Clone, PartialEq)]
pub struct PluginCopyFacts {
    pub copy: InstalledCopy,
    /// Or why the hooks file cannot be read.
    pub hooks: Result<Vec<FoundHook>, String>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum CredentialsFacts {
    Missing {
        path: String,
    },
    /// On macOS Claude Code keeps them in the login keychain.
    Keychain,
    Broken {
        path: String,
        error: String,
    },
    Present {
        path: String,
        /// Whether a subscription (OAuth) login is there at all.
        oauth: bool,
        expires_at_ms: Option<i64>,
        subscription_type: Option<String>,
    },
}

/// The store, as doctor found it. Doctor never creates it.
#[derive(Debug, Clone, PartialEq)]
pub enum StoreState {
    /// No file yet: install or the first hook creates it.
    Missing {
        path: String,
    },
    /// It exists but cannot be opened or read.
    Broken {
        error: String,
    },
    Open(Box<StoreFacts>),
}

impl StoreState {
    pub(super) fn open(&self) -> Option<&StoreFacts> {
        match self {
            StoreState::Open(store) => Some(store),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct StoreFacts {
    pub path: String,
    pub schema_version: i64,
    /// A real write worked: a probe file in the tool home and a committed
    /// row in the store (see `prove_write`); else why not.
    pub writable: Result<(), String>,
    pub control: Control,
    pub api: ApiFacts,
    /// When the status line last recorded official figures.
    pub statusline_taken_at_ms: Option<i64>,
    /// Extra usage as the usage endpoint last reported it.
    pub extra_usage: Option<crate::usage::snapshot::ExtraUsage>,
    /// `pacing.allow_extra_usage` and `pacing.extra_usage_max_spend`.
    pub extra_usage_setting: (bool, f64),
    pub epic: Option<EpicFacts>,
    /// The store was found unreadable and started anew (`meta.store_recovered`).
    pub recovered: Option<Recovery>,
}

/// A corrupt store that was moved aside and replaced by a new one.
#[derive(Debug, Clone, PartialEq)]
pub struct Recovery {
    pub at_ms: i64,
    /// Where the unreadable file went.
    pub moved_to: String,
    /// Whether that file is still there (the person may have deleted it).
    pub moved_file_exists: bool,
}

impl Recovery {
    /// Reads the `meta` note: `<epoch ms> <path>`.
    pub fn from_note(note: &str) -> Option<Self> {
        let (at, path) = note.split_once(' ')?;
        Some(Self {
            at_ms: at.parse().ok()?,
            moved_file_exists: Path::new(path).exists(),
            moved_to: path.to_string(),
        })
    }
}

/// The `api_state` row, as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiFacts {
    pub state: String,
    pub last_success_at_ms: Option<i64>,
    pub backoff_until_ms: Option<i64>,
    pub failures: i64,
    pub last_error: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct EpicFacts {
    /// The folder it is attached to (the project or an ancestor).
    pub attached_to: String,
    pub spec_path: String,
    pub spec_exists: bool,
}
