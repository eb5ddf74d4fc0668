//! `pace-maker watch`: the live dashboard (see [`crate::dashboard::live`]).

use std::process::ExitCode;

use crate::dashboard::live;
use crate::paths::ToolHome;

pub fn run(home: &ToolHome) -> anyhow::Result<ExitCode> {
    let config = super::common::load_config(home);
    // The background usage refresh logs to the file, never to the screen.
    crate::logging::init(home, &config.log.level, config.log.keep_days);
    let store = super::common::open_store(home, &config)?;
    live::run(home, &store, &config)?;
    Ok(ExitCode::SUCCESS)
}
