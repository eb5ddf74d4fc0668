//! `pace-maker on | off | pause [DURATION] | resume`.

use std::process::ExitCode;

use anyhow::Context;

use crate::clock;
use crate::controls::{self, Control};
use crate::paths::ToolHome;

pub fn on(home: &ToolHome) -> anyhow::Result<ExitCode> {
    set(home, Control::On)?;
    println!("pace-maker is on");
    Ok(ExitCode::SUCCESS)
}

pub fn off(home: &ToolHome) -> anyhow::Result<ExitCode> {
    set(home, Control::Off)?;
    println!("pace-maker is off: hooks do nothing until `pace-maker on`");
    Ok(ExitCode::SUCCESS)
}

pub fn pause(home: &ToolHome, duration: &str) -> anyhow::Result<ExitCode> {
    let seconds = clock::parse_duration(duration).map_err(|error| {
        anyhow::anyhow!("{error} (hint: write a duration like 30m, 2h or 1h30m)")
    })?;
    if seconds == 0 {
        anyhow::bail!(
            "a pause must last longer than 0 s (hint: use `pace-maker resume` to end one)"
        );
    }
    let until_ms = clock::now_ms() + seconds * 1000;
    set(home, Control::Paused { until_ms })?;
    println!(
        "pace-maker paused for {} (until {}): no delays, no stop blocks",
        clock::human_duration(seconds),
        clock::iso(until_ms)
    );
    Ok(ExitCode::SUCCESS)
}

fn set(home: &ToolHome, control: Control) -> anyhow::Result<()> {
    let config = super::load_config(home);
    let mut store = super::open_store(home, &config)?;
    controls::set(&mut store, control, clock::now_ms())
        .context("cannot change the switch in the store")
}
