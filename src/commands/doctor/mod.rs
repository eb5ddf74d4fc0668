//! `pace-maker doctor [--json]`: everything pacing depends on, one line each.
//!
//! Two halves. [`gather`] does the I/O: the settings files of every scope,
//! the plugin (where `enabledPlugins` turns it on, the copy Claude Code
//! installed and its hooks file, the binary its launcher finds),
//! the credentials file (only its expiry and plan: the token is never
//! read into a field), the store (schema, a write probe, the switch, the
//! usage API state, the latest status-line capture, the epic), config
//! warnings and the kill switch, all into plain [`Facts`]. [`checks`] is a
//! pure function from facts to check lines, so every verdict and wording
//! is tested without a machine in a particular state. A check fails when
//! it would stop pacing (not installed, hooks pointing at a missing
//! binary, store unusable, switched off, ...); the command then exits 1.
//!
//! Its parts, a file each: `facts` (what the checks look at), `checks` (pure),
//! `render` (the text report) and `gather` (the I/O).

mod checks;
mod facts;
mod gather;
mod render;
#[cfg(test)]
mod tests;

use std::io::{IsTerminal, Write};
use std::process::ExitCode;

use crate::cli::DoctorArgs;
use crate::clock;
use crate::dashboard::paint::Paint;
use crate::paths::ToolHome;

pub use checks::{checks, Check, Report, Status};
pub use facts::*;
pub use gather::gather;
pub use render::{render_text, render_text_painted};

/// The version of the `doctor --json` schema.
pub const DOCTOR_SCHEMA_VERSION: u32 = 1;

/// `pace-maker doctor [--json]`.
pub fn run(home: &ToolHome, args: &DoctorArgs) -> anyhow::Result<ExitCode> {
    let facts = gather(home, clock::now_ms());
    let checks = checks(&facts);
    let ok = checks.iter().all(|check| check.status != Status::Fail);
    let mut stdout = std::io::stdout().lock();
    if args.json {
        let report = Report {
            schema_version: DOCTOR_SCHEMA_VERSION,
            ok,
            checks,
        };
        serde_json::to_writer_pretty(&mut stdout, &report)?;
        writeln!(stdout)?;
    } else {
        let paint = Paint::for_stream(std::io::stdout().is_terminal());
        stdout.write_all(render_text_painted(&checks, paint).as_bytes())?;
    }
    stdout.flush()?;
    Ok(if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
