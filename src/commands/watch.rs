//! `pace-maker watch`: the live dashboard (see [`crate::dashboard::live`]).

use std::process::ExitCode;

use crate::dashboard::live;
use crate::paths::ToolHome;

pub fn run(home: &ToolHome) -> anyhow::Result<ExitCode> {
    let config = super::load_config(home);
    let store = super::open_store(home, &config)?;
    live::run(&store, &config)?;
    Ok(ExitCode::SUCCESS)
}
