//! `pace-maker on | off | pause [DURATION] | resume`.
//!
//! `off` lasts until `on`: `pause` and `resume` act on a pause only and
//! never turn pace-maker back on.

use std::process::ExitCode;

use anyhow::Context;

use crate::clock;
use crate::controls::{self, Control};
use crate::paths::ToolHome;
use crate::store::Store;

pub fn on(home: &ToolHome) -> anyhow::Result<ExitCode> {
    let mut store = open(home)?;
    set(home, &mut store, Control::On)?;
    println!("pace-maker is on");
    Ok(ExitCode::SUCCESS)
}

pub fn off(home: &ToolHome) -> anyhow::Result<ExitCode> {
    let mut store = open(home)?;
    set(home, &mut store, Control::Off)?;
    println!("pace-maker is off: hooks do nothing until `pace-maker on`");
    Ok(ExitCode::SUCCESS)
}

pub fn pause(home: &ToolHome, duration: &str) -> anyhow::Result<ExitCode> {
    let now_ms = clock::now_ms();
    let seconds = clock::parse_duration(duration, now_ms)?;
    if seconds == 0 {
        return Err(crate::hint::hinted(
            "a pause must last longer than 0 s",
            "use `pace-maker resume` to end one",
        ));
    }
    let mut store = open(home)?;
    if read(&store, now_ms)? == Control::Off {
        println!(
            "pace-maker is off, so there is nothing to pause: hooks do nothing until `pace-maker on`"
        );
        return Ok(ExitCode::SUCCESS);
    }
    let until_ms = now_ms + seconds * 1000;
    set(home, &mut store, Control::Paused { until_ms })?;
    println!(
        "pace-maker paused for {} (until {}): no delays, no stop blocks",
        clock::human_duration(seconds),
        clock::local_time(until_ms, now_ms)
    );
    Ok(ExitCode::SUCCESS)
}

pub fn resume(home: &ToolHome) -> anyhow::Result<ExitCode> {
    let now_ms = clock::now_ms();
    let mut store = open(home)?;
    let was = read(&store, now_ms)?;
    controls::end_pause(&mut store, now_ms).context("cannot change the switch in the store")?;
    crate::pacing::pass::revoke_all(&home.fast_dir())
        .with_context(|| format!("cannot end the passes in {}", home.fast_dir().display()))?;
    match was {
        Control::Off => println!(
            "pace-maker is off, and `resume` only ends a pause: hooks do nothing until `pace-maker on`"
        ),
        Control::Paused { .. } => println!("pause ended: pace-maker is on"),
        Control::On => println!("no pause to end: pace-maker is on"),
    }
    Ok(ExitCode::SUCCESS)
}

fn open(home: &ToolHome) -> anyhow::Result<Store> {
    let config = super::common::load_config(home);
    super::common::open_store(home, &config)
}

fn read(store: &Store, now_ms: i64) -> anyhow::Result<Control> {
    controls::read(store.connection(), now_ms).context("cannot read the switch in the store")
}

/// Changes the switch and ends every session's no-delay pass, so the next
/// tool call of each session meets the new switch.
fn set(home: &ToolHome, store: &mut Store, control: Control) -> anyhow::Result<()> {
    controls::set(store, control, clock::now_ms())
        .context("cannot change the switch in the store")?;
    crate::pacing::pass::revoke_all(&home.fast_dir())
        .with_context(|| format!("cannot end the passes in {}", home.fast_dir().display()))
}
