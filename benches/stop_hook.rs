//! `cargo bench --bench stop_hook`: the Stop hook on a 500 MB transcript.
//!
//! The Stop hook runs at every turn of a mission and reads the end of the
//! session's transcript, which in real use reaches hundreds of megabytes.
//! This writes a transcript of that size (real line shapes, under the temp
//! folder, deleted afterwards), attaches an epic with open criteria, and
//! spawns `pace-maker hook stop` as Claude Code does, with the breakers
//! raised so that every run takes the full path: spec parse, transcript
//! tail, verdict, counters written, block printed. Two tails are measured:
//! the usual one (the last block's feedback a few lines from the end) and
//! the worst one (no feedback within the read budget, so the whole budget,
//! `momentum.transcript_tail_bytes`, is scanned). `/bin/true`, spawned the
//! same way and interleaved, is the floor.

mod support;

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use support::{milliseconds, percentile, run_timed};

const RUNS: usize = 200;
const TRANSCRIPT_BYTES: u64 = 500 * 1024 * 1024;
const SESSION: &str = "d095304d-895a-4782-9633-22c1acc3ecef";

fn spawn_once(
    program: &str,
    args: &[&str],
    payload: &[u8],
    envs: &[(&str, &Path)],
) -> (Duration, Vec<u8>) {
    run_timed(
        Command::new(program).args(args).envs(envs.iter().copied()),
        payload,
    )
}

fn assistant_tool_use(index: usize, input_bytes: usize) -> String {
    serde_json::json!({
        "parentUuid": format!("p{index}"), "isSidechain": false, "type": "assistant",
        "message": {"id": format!("msg_{index}"), "type": "message", "role": "assistant", "model": "claude-opus-5-5",
            "content": [{"type": "tool_use", "id": format!("toolu_{index}"), "name": "Write",
                "input": {"file_path": "/home/dev/project/src/lib.rs", "content": "x".repeat(input_bytes)}}],
            "stop_reason": "tool_use", "usage": {"input_tokens": 100, "output_tokens": 500,
                "cache_creation_input_tokens": 10, "cache_read_input_tokens": 90000}},
        "requestId": format!("req_{index}"), "timestamp": "2026-11-24T00:26:49.487Z", "sessionId": SESSION,
    })
    .to_string()
}

fn tool_result(index: usize, content_bytes: usize) -> String {
    serde_json::json!({
        "parentUuid": format!("a{index}"), "isSidechain": false, "type": "user",
        "message": {"role": "user", "content": [{"tool_use_id": format!("toolu_{index}"), "type": "tool_result",
            "content": "y".repeat(content_bytes), "is_error": false}]},
        "timestamp": "2026-11-24T00:26:49.962Z", "sessionId": SESSION,
    })
    .to_string()
}

fn assistant_text(index: usize, text: &str) -> String {
    serde_json::json!({
        "type": "assistant", "sessionId": SESSION, "requestId": format!("req_t{index}"),
        "message": {"id": format!("msg_t{index}"), "role": "assistant", "content": [{"type": "text", "text": text}],
            "stop_reason": "end_turn", "usage": {"input_tokens": 10, "output_tokens": 20}},
    })
    .to_string()
}

fn feedback() -> String {
    serde_json::json!({
        "type": "user", "isMeta": true, "sessionId": SESSION,
        "message": {"role": "user", "content": "Stop hook feedback:\npace-maker: the mission is not finished."},
    })
    .to_string()
}

/// Writes about `bytes` of turns: tool calls with inputs and results of
/// mixed sizes, and text replies.
fn write_turns(file: &mut impl Write, bytes: u64, first_index: usize) -> usize {
    let mut written = 0u64;
    let mut index = first_index;
    while written < bytes {
        let lines = [
            assistant_tool_use(index, 200 + (index % 7) * 900),
            tool_result(index, 300 + (index % 11) * 4000),
            assistant_text(index, "Wrote the module; running the tests next."),
        ];
        for line in lines {
            file.write_all(line.as_bytes()).unwrap();
            file.write_all(b"\n").unwrap();
            written += line.len() as u64 + 1;
        }
        index += 1;
    }
    index
}

fn main() {
    let binary = env!("CARGO_BIN_EXE_pace-maker");
    let dir = tempfile::Builder::new()
        .prefix("pace-maker-stop-bench")
        .tempdir()
        .expect("temp dir");
    let home = dir.path().join("home");
    let tool_home = dir.path().join("tool-home");
    let project = dir.path().join("project");
    std::fs::create_dir_all(&project).unwrap();
    let spec = project.join("epic.md");
    let mut spec_text = String::from("# Epic\n\n## Acceptance criteria\n");
    for index in 0..40 {
        let mark = if index % 3 == 0 { 'x' } else { ' ' };
        spec_text.push_str(&format!(
            "- [{mark}] criterion number {index}, with some words to read\n"
        ));
    }
    std::fs::write(&spec, spec_text).unwrap();
    let transcript = dir.path().join(format!("{SESSION}.jsonl"));

    let started = Instant::now();
    let mut file =
        std::io::BufWriter::with_capacity(1 << 20, std::fs::File::create(&transcript).unwrap());
    let index = write_turns(&mut file, TRANSCRIPT_BYTES, 0);
    for line in [
        feedback(),
        assistant_tool_use(index, 500),
        tool_result(index, 2000),
        assistant_text(index, "done"),
    ] {
        writeln!(file, "{line}").unwrap();
    }
    // Written back before measuring, so the disk's catching up is not timed.
    file.into_inner().unwrap().sync_all().unwrap();
    let size = std::fs::metadata(&transcript).unwrap().len();
    println!(
        "transcript: {:.0} MB written in {:.1} s at {}",
        size as f64 / 1e6,
        started.elapsed().as_secs_f64(),
        transcript.display()
    );

    // Env values are OsStr-like; `Path` carries the numbers as well as the paths.
    let huge = Path::new("1000000");
    let envs: [(&str, &Path); 7] = [
        ("HOME", home.as_path()),
        ("PACE_MAKER_HOME", tool_home.as_path()),
        ("CLAUDE_PROJECT_DIR", project.as_path()),
        ("PACE_MAKER_MOMENTUM_MAX_CONSECUTIVE_BLOCKS", huge),
        ("PACE_MAKER_MOMENTUM_MAX_BLOCKS_PER_SESSION", huge),
        ("PACE_MAKER_MOMENTUM_MAX_BLOCKING_MINUTES", huge),
        ("PATH", Path::new("/usr/bin:/bin")),
    ];
    let status = Command::new(binary)
        .args(["epic", "attach"])
        .arg(&spec)
        .current_dir(&project)
        .envs(envs.iter().map(|(key, value)| (*key, *value)))
        .stdout(Stdio::null())
        .status()
        .expect("epic attach");
    assert!(status.success(), "epic attach failed");
    let payload = serde_json::json!({
        "session_id": SESSION, "transcript_path": transcript, "cwd": project,
        "hook_event_name": "Stop", "stop_hook_active": true, "last_assistant_message": "done",
    })
    .to_string()
    .into_bytes();

    let measure = |label: &str| {
        for _ in 0..5 {
            spawn_once(binary, &["hook", "stop"], &payload, &envs);
        }
        let mut hook = Vec::with_capacity(RUNS);
        let mut floor = Vec::with_capacity(RUNS);
        for _ in 0..RUNS {
            let (elapsed, stdout) = spawn_once(binary, &["hook", "stop"], &payload, &envs);
            assert!(
                String::from_utf8_lossy(&stdout).contains("\"decision\":\"block\""),
                "the Stop hook did not block: {}",
                String::from_utf8_lossy(&stdout)
            );
            hook.push(elapsed);
            floor.push(spawn_once("/bin/true", &[], &payload, &envs).0);
        }
        println!(
            "{label:<44} median {:>7.3} ms  p90 {:>7.3} ms   (/bin/true median {:.3} ms)",
            milliseconds(percentile(&hook, 0.5)),
            milliseconds(percentile(&hook, 0.9)),
            milliseconds(percentile(&floor, 0.5)),
        );
    };
    println!("runs: {RUNS} each, interleaved with /bin/true; every run blocks");
    measure("hook stop, feedback near the end");

    // The worst case: 2 MiB more of turns and no feedback, so the scan
    // reads the whole budget without finding it.
    let mut file = std::fs::OpenOptions::new()
        .append(true)
        .open(&transcript)
        .unwrap();
    write_turns(&mut file, 2 << 20, index + 1);
    drop(file);
    measure("hook stop, no feedback in the 1 MiB tail");

    // The momentum work alone, in process: the tail scan and the spec parse.
    let budget = pace_maker::config::Config::default()
        .momentum
        .transcript_tail_bytes;
    let mut scan = Vec::with_capacity(RUNS);
    for _ in 0..RUNS {
        let start = Instant::now();
        let facts = pace_maker::momentum::transcript_tail::read_facts(&transcript, budget).unwrap();
        let spec = pace_maker::momentum::spec::read(&spec).unwrap();
        scan.push(start.elapsed());
        assert_eq!(facts.tool_use_since_feedback, None);
        assert!(spec.open() > 0);
    }
    println!(
        "{:<44} median {:>7.3} ms  p90 {:>7.3} ms",
        "in process: tail scan (worst) + spec parse",
        milliseconds(percentile(&scan, 0.5)),
        milliseconds(percentile(&scan, 0.9)),
    );
}
