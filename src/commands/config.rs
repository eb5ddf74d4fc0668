//! `pace-maker config list [--resolved] | get KEY | set KEY VALUE | path`.

use std::process::ExitCode;

use crate::cli::ConfigCommand;
use crate::config::{self, Config};
use crate::paths::{self, ToolHome};

pub fn run(home: &ToolHome, command: ConfigCommand) -> anyhow::Result<ExitCode> {
    match command {
        ConfigCommand::Path => {
            println!("{}", home.config_file().display());
        }
        ConfigCommand::Get { key } => {
            let loaded = Config::load(home, Some(&paths::project_dir()));
            let value = loaded.config.get(&key).ok_or_else(|| {
                anyhow::anyhow!("unknown key `{key}` (hint: `pace-maker config list --resolved` shows every key)")
            })?;
            println!("{}", display_value(&value));
        }
        ConfigCommand::Set { key, value } => {
            let path = home.config_file();
            let stored = config::set_in_file(&path, &key, &value).map_err(|error| {
                anyhow::anyhow!("{error:#} (hint: `pace-maker config list --resolved` shows every key and its value)")
            })?;
            println!("{key} = {stored}");
        }
        ConfigCommand::List { resolved } => {
            let loaded = Config::load(home, Some(&paths::project_dir()));
            for warning in &loaded.warnings {
                eprintln!("warning: config: {warning}");
            }
            for key in Config::keys() {
                let source = loaded.source_of(&key);
                if !resolved && source != config::Source::ConfigFile {
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

fn display_value(value: &toml::Value) -> String {
    match value {
        toml::Value::String(text) => text.clone(),
        other => other.to_string(),
    }
}
