//! `pace-maker logs [--follow]`: the newest log file, optionally followed.

use std::io::{BufRead, Seek, SeekFrom, Write};
use std::process::ExitCode;
use std::time::Duration;

use crate::cli::LogsArgs;
use crate::logging;
use crate::paths::ToolHome;

pub fn run(home: &ToolHome, args: &LogsArgs) -> anyhow::Result<ExitCode> {
    let files = logging::files(home);
    let mut stdout = std::io::stdout().lock();
    let Some(newest) = files.last().cloned() else {
        if !args.follow {
            eprintln!("no log yet in {}", home.log_dir().display());
            return Ok(ExitCode::SUCCESS);
        }
        return follow(home, None, 0, &mut stdout);
    };
    let text = std::fs::read_to_string(&newest).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    for line in &lines[lines.len().saturating_sub(args.lines)..] {
        writeln!(stdout, "{line}")?;
    }
    stdout.flush()?;
    if args.follow {
        return follow(home, Some(newest), text.len() as u64, &mut stdout);
    }
    Ok(ExitCode::SUCCESS)
}

/// Polls for appended lines (and for the next day's file) until interrupted.
fn follow(
    home: &ToolHome,
    mut current: Option<std::path::PathBuf>,
    mut offset: u64,
    stdout: &mut dyn Write,
) -> anyhow::Result<ExitCode> {
    loop {
        let newest = logging::files(home).last().cloned();
        if newest != current {
            current = newest;
            offset = 0;
        }
        if let Some(path) = &current {
            if let Ok(mut file) = std::fs::File::open(path) {
                let length = file.metadata().map(|m| m.len()).unwrap_or(0);
                if length < offset {
                    offset = 0;
                }
                file.seek(SeekFrom::Start(offset))?;
                let mut reader = std::io::BufReader::new(file);
                let mut line = String::new();
                while reader.read_line(&mut line)? > 0 {
                    if !line.ends_with('\n') {
                        break;
                    }
                    stdout.write_all(line.as_bytes())?;
                    offset += line.len() as u64;
                    line.clear();
                }
                stdout.flush()?;
            }
        }
        std::thread::sleep(Duration::from_millis(250));
    }
}
