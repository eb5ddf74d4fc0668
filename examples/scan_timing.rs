//! Times one incremental scan in-process (what the hook path pays), for
//! `benches/compare_ccusage.sh`.
//!
//! `cargo run --release --example scan_timing -- --claude-dir DIR --store FILE`
//! prints `{"elapsed_ms": .., "cpu_ms": .., "files_seen": .., "files_read": .., "bytes_read": ..}`
//! (CPU time shows the work done even when a busy machine stretches the wall time).

use std::path::PathBuf;
use std::time::{Duration, Instant};

use pace_maker::local_usage::scanner::{scan, ScanOptions};
use pace_maker::store::Store;

fn main() -> anyhow::Result<()> {
    let mut claude_dir = None;
    let mut store_file = None;
    let mut arguments = std::env::args().skip(1);
    while let Some(flag) = arguments.next() {
        let value = arguments.next().map(PathBuf::from);
        match flag.as_str() {
            "--claude-dir" => claude_dir = value,
            "--store" => store_file = value,
            other => anyhow::bail!("unknown argument `{other}`"),
        }
    }
    let (Some(claude_dir), Some(store_file)) = (claude_dir, store_file) else {
        anyhow::bail!("usage: scan_timing --claude-dir DIR --store FILE");
    };
    let opened = Instant::now();
    let mut store = Store::open(&store_file, Duration::from_secs(5))?;
    let open_ms = opened.elapsed().as_secs_f64() * 1000.0;
    let options = ScanOptions {
        roots: vec![claude_dir],
        max_bytes: None,
        threads: 2,
    };
    let cpu_before = cpu_ms();
    let started = Instant::now();
    let summary = scan(&mut store, &options, pace_maker::clock::now_ms())?;
    let elapsed_ms = started.elapsed().as_secs_f64() * 1000.0;
    let cpu_ms = cpu_ms() - cpu_before;
    println!(
        "{}",
        serde_json::json!({
            "elapsed_ms": elapsed_ms, "cpu_ms": cpu_ms, "store_open_ms": open_ms,
            "files_seen": summary.files_seen, "files_read": summary.files_read,
            "bytes_read": summary.bytes_read, "entries_read": summary.entries_read,
        })
    );
    Ok(())
}

/// User plus system CPU time of this process (all threads), in ms.
fn cpu_ms() -> f64 {
    // SAFETY: getrusage writes into the zeroed struct we pass.
    let usage = unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        libc::getrusage(libc::RUSAGE_SELF, &mut usage);
        usage
    };
    let ms = |t: libc::timeval| t.tv_sec as f64 * 1000.0 + t.tv_usec as f64 / 1000.0;
    ms(usage.ru_utime) + ms(usage.ru_stime)
}
