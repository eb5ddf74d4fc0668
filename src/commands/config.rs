//! `pace-maker config list [--resolved] | get KEY | set KEY VALUE | unset KEY | path`.
//!
//! `get` and `list` show what is in force for the project found from the
//! current folder up ([`config::project_dir_from_cwd`]); `set` and `unset`
//! edit the user's config.toml and say when a layer above it (a project
//! file, a `PACE_MAKER_*` variable) still decides, or when `install` must
//! run again for the change to reach Claude Code's settings.

use std::process::ExitCode;

use crate::cli::ConfigCommand;
use crate::config::{self, Config, Loaded, Source};
use crate::hint::HintExt;
use crate::paths::ToolHome;

/// Keys whose value `install` writes into Claude Code's settings.
const INSTALLED_KEYS: &[&str] = &[
    "hooks.post_tool_use_timeout_seconds",
    "hooks.stop_timeout_seconds",
    "hooks.other_timeout_seconds",
];

pub fn run(home: &ToolHome, command: ConfigCommand) -> anyhow::Result<ExitCode> {
    match command {
        ConfigCommand::Path => {
            println!("{}", home.config_file().display());
        }
        ConfigCommand::Get { key } => {
            let loaded = load(home);
            let value = loaded.config.get(&key).ok_or_else(|| {
                crate::hint::hinted(
                    config::unknown_key(&key).to_string(),
                    "`pace-maker config list --resolved` shows every key",
                )
            })?;
            println!("{}", display_value(&value));
        }
        ConfigCommand::Set { key, value } => {
            let path = home.config_file();
            let check_more = |config: &Config| {
                if key == "usage.api_base" {
                    crate::usage::api::usage_url(&config.usage.api_base)
                        .map_err(|error| anyhow::anyhow!("{error}"))?;
                }
                Ok(())
            };
            let stored = config::set_in_file(&path, &key, &value, check_more)
                .hint("`pace-maker config list --resolved` shows every key and its value")?;
            println!("{key} = {stored}");
            after_change(home, &key);
        }
        ConfigCommand::Unset { key } => {
            let path = home.config_file();
            let outcome = config::unset_in_file(&path, &key)
                .hint("`pace-maker config list` shows the keys config.toml sets")?;
            let default = Config::default()
                .get(&key)
                .map(|value| value.to_string())
                .unwrap_or_default();
            match outcome {
                config::Unset::Removed => {
                    println!("{key} removed from config.toml (default: {default})");
                    after_change(home, &key);
                }
                config::Unset::NotSet => {
                    println!("{key} is not set in config.toml (default: {default})");
                }
            }
        }
        ConfigCommand::List { resolved } => {
            let loaded = load(home);
            for warning in &loaded.warnings {
                eprintln!("warning: config: {warning}");
            }
            for key in Config::keys() {
                let source = loaded.source_of(&key);
                if !resolved && source != Source::ConfigFile {
                    continue;
                }
                let value = loaded
                    .config
                    .get(&key)
                    .map(|v| v.to_string())
                    .unwrap_or_default();
                if resolved {
                    println!("{key} = {value}  # {source}");
                } else {
                    println!("{key} = {value}");
                }
            }
            // Shown with or without --resolved: a project tried to set them.
            for refused in &loaded.refused {
                println!(
                    "# refused: {} = {}  # {}: {}",
                    refused.key, refused.value, refused.origin, refused.why
                );
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Every layer in force for the project around the current folder.
fn load(home: &ToolHome) -> Loaded {
    Config::load(home, Some(&config::project_dir_from_cwd()))
}

/// After `set` or `unset`: a layer above config.toml that still decides
/// the key, and a key that only reaches Claude Code through `install`.
fn after_change(home: &ToolHome, key: &str) {
    let loaded = load(home);
    let source = loaded.source_of(key);
    if matches!(source, Source::Project | Source::Environment) {
        let value = loaded
            .config
            .get(key)
            .map(|value| value.to_string())
            .unwrap_or_default();
        let origin = loaded.origin_of(key).unwrap_or("a layer above");
        let what = if source == Source::Environment {
            "the environment variable"
        } else {
            "the project file"
        };
        eprintln!("warning: {what} {origin} overrides it here: `{key}` is {value} in force");
    }
    if INSTALLED_KEYS.contains(&key) {
        eprintln!(
            "note: Claude Code reads this timeout from its settings: run `pace-maker install` again to write it there"
        );
    }
}

fn display_value(value: &toml::Value) -> String {
    match value {
        toml::Value::String(text) => text.clone(),
        other => other.to_string(),
    }
}
