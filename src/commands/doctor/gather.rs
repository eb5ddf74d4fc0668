//! The I/O: reads everything the checks need into [`Facts`].

use std::io::Write;
use std::path::Path;

use super::facts::*;
use crate::clock;
use crate::config::Config;
use crate::controls::{self};
use crate::install::merge::{self};
use crate::install::plugin::{self};
use crate::install::settings_file::{self, Scope};
use crate::paths::{self, ToolHome};
use crate::store::Store;

/// Reads everything the checks need. Never fails: what cannot be read
/// becomes a fact of its own.
pub fn gather(home: &ToolHome, now_ms: i64) -> Facts {
    let project_dir =
        std::path::absolute(paths::project_dir()).unwrap_or_else(|_| paths::project_dir());
    let loaded = Config::load(home, Some(&project_dir));
    let home_refused = home.trust().err();
    let claude_dir = paths::claude_dir();
    let mut seen = Vec::new();
    let mut scopes = Vec::new();
    let mut values = Vec::new();
    for scope in Scope::ALL {
        let path = scope.path(&claude_dir, &project_dir);
        let identity = settings_file::identity(&path);
        // With the project at $HOME, two scopes name one file.
        if seen.contains(&identity) {
            continue;
        }
        seen.push(identity);
        let settings = match settings_file::read(&path) {
            Ok(file) if !file.exists() => SettingsFacts::Missing,
            Ok(file) => {
                values.push((scope, path.display().to_string(), file.value.clone()));
                let installation = merge::inspect(&file.value);
                let mut missing_programs: Vec<String> = installation
                    .hooks
                    .iter()
                    .map(|hook| hook.program.clone())
                    .filter(|program| !program_exists(program))
                    .collect();
                missing_programs.dedup();
                SettingsFacts::Read {
                    installation,
                    missing_programs,
                }
            }
            Err(error) => SettingsFacts::Broken {
                error: error.to_string(),
            },
        };
        scopes.push(ScopeFacts {
            scope,
            path: path.display().to_string(),
            settings,
        });
    }
    Facts {
        now_ms,
        version: env!("CARGO_PKG_VERSION").to_string(),
        binary: paths::current_binary().unwrap_or_else(|error| format!("unknown ({error})")),
        scopes,
        plugin: read_plugin(&claude_dir, &values),
        credentials: read_credentials(&claude_dir),
        store: match &home_refused {
            None => read_store(home, &loaded.config, &project_dir, now_ms),
            Some(_) => StoreState::Broken {
                error: "not opened: the tool home is not yours alone".into(),
            },
        },
        config_file: home.config_file().display().to_string(),
        config_file_exists: home.config_file().is_file(),
        config_warnings: loaded.warnings,
        config_refused: loaded.refused,
        home: home.root().display().to_string(),
        home_refused,
        limits: ConfigLimits::from_config(&loaded.config),
        kill_switch: paths::kill_switch(),
        project_dir: project_dir.display().to_string(),
    }
}

/// The plugin: where the settings enable it, the copies Claude Code
/// installed with their hooks files, and the binary its launcher finds.
fn read_plugin(claude_dir: &Path, settings: &[(Scope, String, serde_json::Value)]) -> PluginFacts {
    let enablement = plugin::enablement(
        settings
            .iter()
            .map(|(scope, path, value)| (*scope, path.as_str(), value)),
    );
    let copies = plugin::installed_copies(claude_dir).map(|copies| {
        copies
            .into_iter()
            .map(|copy| {
                let path = copy.install_path.join(plugin::HOOKS_FILE);
                let hooks = std::fs::read_to_string(&path)
                    .map_err(|error| format!("{}: {error}", path.display()))
                    .and_then(|text| {
                        serde_json::from_str(&text)
                            .map_err(|error| format!("{}: {error}", path.display()))
                    })
                    .map(|value| plugin::inspect_hooks(&value));
                PluginCopyFacts { copy, hooks }
            })
            .collect()
    });
    let binary = plugin::find_binary(&plugin::Lookup::from_env());
    let this = std::env::current_exe().and_then(std::fs::canonicalize).ok();
    let binary_is_this = binary.as_ref().is_some_and(|found| {
        std::fs::canonicalize(&found.path)
            .ok()
            .is_some_and(|path| Some(path) == this)
    });
    PluginFacts {
        enablement,
        copies,
        binary,
        binary_is_this,
    }
}

/// Whether the program an entry calls is there (a bare name is looked up in `PATH`).
fn program_exists(program: &str) -> bool {
    if program.contains('/') {
        return Path::new(program).is_file();
    }
    std::env::var_os("PATH")
        .map(|path| std::env::split_paths(&path).any(|folder| folder.join(program).is_file()))
        .unwrap_or(false)
}

fn read_credentials(claude_dir: &Path) -> CredentialsFacts {
    let path = crate::usage::credentials::credentials_file(claude_dir);
    let shown = path.display().to_string();
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            return if cfg!(target_os = "macos") {
                CredentialsFacts::Keychain
            } else {
                CredentialsFacts::Missing { path: shown }
            };
        }
        Err(error) => {
            return CredentialsFacts::Broken {
                path: shown,
                error: error.to_string(),
            }
        }
    };
    match crate::usage::credentials::login_facts(text.as_bytes()) {
        Ok(Some(facts)) => CredentialsFacts::Present {
            path: shown,
            oauth: true,
            expires_at_ms: facts.expires_at_ms,
            subscription_type: facts.subscription_type,
        },
        Ok(None) => CredentialsFacts::Present {
            path: shown,
            oauth: false,
            expires_at_ms: None,
            subscription_type: None,
        },
        // The parser's message could quote the file; say only where it broke.
        Err(error) => CredentialsFacts::Broken {
            path: shown,
            error: format!(
                "not valid JSON (line {}, column {})",
                error.line(),
                error.column()
            ),
        },
    }
}

fn read_store(home: &ToolHome, config: &Config, project_dir: &Path, now_ms: i64) -> StoreState {
    let path = home.store_file();
    if !path.exists() {
        return StoreState::Missing {
            path: path.display().to_string(),
        };
    }
    match open_store(home, config, project_dir, now_ms) {
        Ok(store) => StoreState::Open(Box::new(store)),
        Err(error) => StoreState::Broken { error },
    }
}

fn open_store(
    home: &ToolHome,
    config: &Config,
    project_dir: &Path,
    now_ms: i64,
) -> Result<StoreFacts, String> {
    let mut store =
        crate::pacing::spool::open_home(home, config).map_err(|error| format!("{error:#}"))?;
    let writable = prove_write(home, &mut store);
    let read = || -> rusqlite::Result<StoreFacts> {
        let connection = store.connection();
        let api = crate::usage::poll::ApiState::read(connection).map(|state| ApiFacts {
            state: state.status.as_str().to_string(),
            last_success_at_ms: state.last_success_at_ms,
            backoff_until_ms: state.backoff_until_ms,
            failures: i64::from(state.failures),
            last_error: state.last_error,
        })?;
        let statusline_taken_at_ms = crate::usage::snapshot::latest_taken_at(
            connection,
            crate::usage::snapshot::SnapshotSource::Statusline,
        )?;
        Ok(StoreFacts {
            path: store.path().display().to_string(),
            schema_version: store.schema_version()?,
            writable: writable.clone(),
            control: controls::read(connection, now_ms)?,
            api,
            statusline_taken_at_ms,
            extra_usage: crate::usage::snapshot::latest(
                connection,
                crate::usage::snapshot::SnapshotSource::Api,
            )?
            .and_then(|api| api.extra_usage()),
            extra_usage_setting: (
                config.pacing.allow_extra_usage,
                config.pacing.extra_usage_max_spend,
            ),
            epic: find_epic(connection, project_dir)?,
            recovered: store
                .meta(crate::store::META_STORE_RECOVERED)?
                .as_deref()
                .and_then(Recovery::from_note),
        })
    };
    read().map_err(|error| format!("cannot read the store {}: {error}", store.path().display()))
}

/// Bytes of doctor's probe file: room for a few hooks' store pages.
const PROBE_BYTES: usize = 64 * 1024;

/// Proves the store takes a write as a hook's would, or says why not (the
/// OS or SQLite error). First a file of [`PROBE_BYTES`] is written, synced
/// and deleted in the tool home: a full disk or a read-only mount fails
/// there even while SQLite could still reuse its WAL's pages. Then a row
/// is inserted into `meta` and deleted again in a committed transaction,
/// which writes the store's WAL (an empty transaction writes nothing).
fn prove_write(home: &ToolHome, store: &mut Store) -> Result<(), String> {
    use std::os::unix::fs::OpenOptionsExt;
    let probe = home
        .root()
        .join(format!("{}{}", paths::PROBE_PREFIX, std::process::id()));
    let written = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .custom_flags(libc::O_NOFOLLOW)
        .open(&probe)
        .and_then(|mut file| {
            file.write_all(&[0u8; PROBE_BYTES])?;
            file.sync_all()
        });
    let _ = std::fs::remove_file(&probe);
    written
        .map_err(|error| format!("cannot write a file in {}: {error}", home.root().display()))?;
    store
        .write(|transaction| {
            crate::store::set_meta(
                transaction,
                "doctor_write_probe",
                &clock::now_ms().to_string(),
            )?;
            crate::store::delete_meta(transaction, "doctor_write_probe")?;
            Ok(())
        })
        .map_err(|error| format!("a committed write to the store failed: {error}"))
}

/// The epic of the project folder or its nearest ancestor, as the Stop hook finds it.
fn find_epic(
    connection: &rusqlite::Connection,
    project_dir: &Path,
) -> rusqlite::Result<Option<EpicFacts>> {
    Ok(
        crate::momentum::find_epic(connection, project_dir)?.map(|epic| EpicFacts {
            spec_exists: epic.spec_path.is_file(),
            spec_path: epic.spec_path.display().to_string(),
            attached_to: epic.project_dir,
        }),
    )
}
