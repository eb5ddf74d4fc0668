//! The scanner: finds Claude Code's transcripts and reads what is new in them.
//!
//! Transcripts live at `<claude dir>/projects/<project>/<session>.jsonl`,
//! subagents' at `<project>/<session>/subagents/*.jsonl`. Real files reach
//! hundreds of MB and only grow, so the store keeps, per file, its device,
//! inode, size, modification time, how far it was read and a hash of the
//! bytes just before that point. A rescan stats every file and reads only
//! the appended bytes of those that grew. A file that shrank below what was
//! read, changed inode, or whose bytes before the read point changed was
//! truncated or replaced: its entries are dropped and it is read again from
//! the start. Only complete lines are consumed, so a half-written last line
//! is read again once it is finished.
//!
//! Files are read by two threads (the machines this runs on are small),
//! each streaming through a fixed buffer; the calling thread writes the
//! results to the store, committing often enough that hooks waiting on
//! the store's lock are not held up for long. A byte budget bounds a scan
//! on the hook path: whatever does not fit is left for the next scan.

use std::collections::HashMap;
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use anyhow::Context;

use super::entry;
use super::ledger::{self, ChunkEncoder, EncodedChunk, FileRecord};
use crate::store::Store;

/// How many bytes before the read point are hashed to notice a rewrite
/// (a typical reply line fits, message id and counts included).
const TAIL_HASH_BYTES: u64 = 4096;
/// How many bytes at the start of a file are hashed with them.
const HEAD_HASH_BYTES: u64 = 1024;
/// Read buffer per thread (a longer line grows it for as long as it lasts).
const READ_BUFFER_BYTES: usize = 1 << 20;
/// A write transaction is committed after this long, to let others in.
const COMMIT_EVERY: Duration = Duration::from_millis(200);

/// What to scan and how much.
#[derive(Debug, Clone)]
pub struct ScanOptions {
    /// Claude folders; each one's `projects/` is scanned.
    pub roots: Vec<PathBuf>,
    /// Stop queuing files once this many new bytes are queued (the hook path).
    pub max_bytes: Option<u64>,
    /// Reader threads.
    pub threads: usize,
}

impl ScanOptions {
    /// Every Claude folder of this environment, no budget, two threads.
    pub fn from_env() -> Self {
        Self {
            roots: crate::paths::claude_dirs(),
            max_bytes: None,
            threads: 2,
        }
    }
}

/// What a scan did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ScanSummary {
    pub files_seen: usize,
    pub files_read: usize,
    /// Files read again from the start because they were truncated or replaced.
    pub files_reset: usize,
    pub bytes_read: u64,
    pub entries_read: u64,
    /// False when the byte budget left files unread.
    pub complete: bool,
}

/// A transcript found on disk.
#[derive(Debug, Clone)]
struct Found {
    path: PathBuf,
    project: String,
    session_id: String,
    device: u64,
    inode: u64,
    size: u64,
    modified_ns: i64,
}

/// Lists `<root>/projects/**/*.jsonl` for every root that has a `projects/`
/// folder. The first two levels (projects, then sessions) are listed here;
/// the entries found there are stat'ed and walked by `threads` threads,
/// which halves a rescan's wall time (it is mostly one stat per file).
fn discover(roots: &[PathBuf], threads: usize) -> Vec<Found> {
    let mut items: Vec<(&Path, std::fs::DirEntry)> = Vec::new();
    let projects_folders: Vec<PathBuf> = roots
        .iter()
        .map(|root| root.join("projects"))
        .filter(|projects| projects.is_dir())
        .collect();
    for projects in &projects_folders {
        let Ok(reader) = std::fs::read_dir(projects) else {
            continue;
        };
        for project in reader.flatten() {
            let is_dir = project
                .file_type()
                .is_ok_and(|t| t.is_dir() || (t.is_symlink() && project.path().is_dir()));
            if !is_dir {
                continue;
            }
            let Ok(sessions) = std::fs::read_dir(project.path()) else {
                continue;
            };
            items.extend(sessions.flatten().map(|item| (projects.as_path(), item)));
        }
    }
    let next = AtomicUsize::new(0);
    let mut found: Vec<Found> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads.clamp(1, 16))
            .map(|_| {
                scope.spawn(|| {
                    let mut found = Vec::new();
                    loop {
                        let index = next.fetch_add(1, Ordering::Relaxed);
                        let Some((projects, item)) = items.get(index) else {
                            break;
                        };
                        visit(projects, item, &mut found);
                    }
                    found
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|worker| worker.join().unwrap_or_default())
            .collect()
    });
    // Byte order (as the store's `ORDER BY path` sorts), which is also much
    // cheaper than comparing paths component by component.
    found.sort_unstable_by(|a, b| {
        a.path
            .as_os_str()
            .as_encoded_bytes()
            .cmp(b.path.as_os_str().as_encoded_bytes())
    });
    found.dedup_by(|a, b| a.path == b.path);
    found
}

fn walk(projects: &Path, folder: &Path, found: &mut Vec<Found>) {
    let Ok(reader) = std::fs::read_dir(folder) else {
        return;
    };
    for item in reader.flatten() {
        visit(projects, &item, found);
    }
}

/// One directory entry: a folder is walked, a transcript is stat'ed.
fn visit(projects: &Path, item: &std::fs::DirEntry, found: &mut Vec<Found>) {
    // The directory listing says what an entry is without a stat call;
    // only transcripts (and symbolic links) are stat'ed.
    let Ok(file_type) = item.file_type() else {
        return;
    };
    let path = item.path();
    if file_type.is_dir() {
        walk(projects, &path, found);
        return;
    }
    if path.extension().is_none_or(|e| e != "jsonl") && !file_type.is_symlink() {
        return;
    }
    let metadata = if file_type.is_symlink() {
        std::fs::metadata(&path)
    } else {
        item.metadata()
    };
    let Ok(metadata) = metadata else {
        return;
    };
    if metadata.is_dir() {
        walk(projects, &path, found);
    } else if metadata.is_file() && path.extension().is_some_and(|e| e == "jsonl") {
        let Some((project, session_id)) = project_and_session(projects, &path) else {
            return;
        };
        found.push(Found {
            project,
            session_id,
            device: metadata.dev(),
            inode: metadata.ino(),
            size: metadata.len(),
            modified_ns: metadata.mtime() * 1_000_000_000 + metadata.mtime_nsec(),
            path,
        });
    }
}

/// `projects/<project>/<session>.jsonl` or `projects/<project>/<session>/.../x.jsonl`.
pub fn project_and_session(projects: &Path, path: &Path) -> Option<(String, String)> {
    let relative = path.strip_prefix(projects).ok()?;
    let parts: Vec<&str> = relative
        .components()
        .map(|c| c.as_os_str().to_str())
        .collect::<Option<_>>()?;
    match parts.as_slice() {
        [project, file] => Some((
            project.to_string(),
            file.strip_suffix(".jsonl").unwrap_or(file).to_string(),
        )),
        [project, session, _, ..] => Some((project.to_string(), session.to_string())),
        _ => None,
    }
}

/// One file to read.
#[derive(Debug, Clone)]
struct Job {
    found: Found,
    /// Where reading starts (0 for a new or reset file).
    start: u64,
    /// The hash the bytes before `start` should have.
    expected_tail_hash: u64,
    /// The file was known and must have its old entries dropped.
    known_reset: bool,
    /// Read at most about this many bytes (whole lines), the rest next time.
    limit: Option<u64>,
}

/// What reading one file gave.
#[derive(Debug)]
struct Outcome {
    job_index: usize,
    /// Old entries must be dropped (truncated, replaced or rewritten).
    reset: bool,
    end_offset: u64,
    tail_hash: u64,
    size: u64,
    chunks: Vec<EncodedChunk>,
    entries: u64,
    bytes: u64,
}

/// Scans the transcripts and records what is new in the store.
pub fn scan(store: &mut Store, options: &ScanOptions, now_ms: i64) -> anyhow::Result<ScanSummary> {
    // Listing the folders and reading what the store knows overlap.
    let (found, known) = std::thread::scope(|scope| {
        let listing = scope.spawn(|| discover(&options.roots, options.threads));
        let known = ledger::load_files(store.connection());
        (listing.join().unwrap_or_default(), known)
    });
    let known: HashMap<String, FileRecord> = known?
        .into_iter()
        .map(|record| (record.path.clone(), record))
        .collect();
    let mut summary = ScanSummary {
        files_seen: found.len(),
        complete: true,
        ..ScanSummary::default()
    };
    let mut jobs = Vec::new();
    let mut queued_bytes = 0u64;
    for file in found {
        let path = file.path.to_string_lossy().into_owned();
        let job = match known.get(&path) {
            None => Job {
                found: file,
                start: 0,
                expected_tail_hash: 0,
                known_reset: false,
                limit: None,
            },
            Some(record) => {
                let same_file = record.device == file.device && record.inode == file.inode;
                if same_file && record.size == file.size && record.modified_ns == file.modified_ns {
                    continue;
                }
                if same_file && file.size >= record.offset {
                    Job {
                        found: file,
                        start: record.offset,
                        expected_tail_hash: record.tail_hash,
                        known_reset: false,
                        limit: None,
                    }
                } else {
                    Job {
                        found: file,
                        start: 0,
                        expected_tail_hash: 0,
                        known_reset: true,
                        limit: None,
                    }
                }
            }
        };
        let mut job = job;
        let pending = job.found.size.saturating_sub(job.start);
        if let Some(budget) = options.max_bytes {
            if queued_bytes >= budget {
                summary.complete = false;
                continue;
            }
            if queued_bytes + pending > budget {
                // Read this one only in part: whole lines up to the budget.
                job.limit = Some(budget - queued_bytes);
                summary.complete = false;
            }
        }
        queued_bytes += pending;
        jobs.push(job);
    }
    if jobs.is_empty() {
        return Ok(summary);
    }

    let next = AtomicUsize::new(0);
    let threads = options.threads.clamp(1, 16).min(jobs.len());
    let (sender, receiver) = mpsc::sync_channel::<anyhow::Result<Outcome>>(threads * 2);
    std::thread::scope(|scope| -> anyhow::Result<()> {
        for _ in 0..threads {
            let sender = sender.clone();
            let jobs = &jobs;
            let next = &next;
            scope.spawn(move || {
                // One read buffer per thread, reused from file to file.
                let mut buffer = vec![0u8; READ_BUFFER_BYTES];
                loop {
                    let index = next.fetch_add(1, Ordering::Relaxed);
                    let Some(job) = jobs.get(index) else {
                        break;
                    };
                    let outcome = read_job(index, job, &mut buffer)
                        .with_context(|| format!("cannot read {}", job.found.path.display()));
                    if sender.send(outcome).is_err() {
                        break;
                    }
                }
            });
        }
        drop(sender);
        let mut receiver = receiver.into_iter().peekable();
        while receiver.peek().is_some() {
            let started = Instant::now();
            store.write(|transaction| {
                for outcome in receiver.by_ref() {
                    match outcome {
                        Ok(outcome) => {
                            record_outcome(
                                transaction,
                                &jobs[outcome.job_index],
                                &outcome,
                                now_ms,
                            )?;
                            summary.files_read += 1;
                            summary.files_reset += usize::from(outcome.reset);
                            summary.bytes_read += outcome.bytes;
                            summary.entries_read += outcome.entries;
                        }
                        // A file that vanished or cannot be read is skipped; it is tried again next time.
                        Err(error) => tracing::debug!("local usage: {error:#}"),
                    }
                    if started.elapsed() > COMMIT_EVERY {
                        break;
                    }
                }
                Ok(())
            })?;
        }
        Ok(())
    })?;
    Ok(summary)
}

fn record_outcome(
    transaction: &rusqlite::Transaction<'_>,
    job: &Job,
    outcome: &Outcome,
    now_ms: i64,
) -> rusqlite::Result<()> {
    let record = FileRecord {
        id: 0,
        path: job.found.path.to_string_lossy().into_owned(),
        project: job.found.project.clone(),
        session_id: job.found.session_id.clone(),
        device: job.found.device,
        inode: job.found.inode,
        size: outcome.size,
        offset: outcome.end_offset,
        modified_ns: job.found.modified_ns,
        tail_hash: outcome.tail_hash,
    };
    let file_id = ledger::save_file(transaction, &record, now_ms)?;
    if outcome.reset {
        ledger::delete_chunks(transaction, file_id)?;
    }
    for chunk in &outcome.chunks {
        ledger::insert_chunk(transaction, file_id, chunk)?;
    }
    Ok(())
}

/// Hash of the file's first `HEAD_HASH_BYTES` and of the
/// `TAIL_HASH_BYTES` before `offset` (both within what was read): enough to
/// tell a different file, or a rewritten last line, from the one read before.
fn tail_hash(file: &mut File, offset: u64) -> std::io::Result<u64> {
    let head_length = offset.min(HEAD_HASH_BYTES);
    let tail_start = offset.saturating_sub(TAIL_HASH_BYTES).max(head_length);
    let mut bytes = vec![0u8; (head_length + offset - tail_start) as usize];
    file.seek(SeekFrom::Start(0))?;
    file.read_exact(&mut bytes[..head_length as usize])?;
    file.seek(SeekFrom::Start(tail_start))?;
    file.read_exact(&mut bytes[head_length as usize..])?;
    Ok(crate::digest::fnv1a(&bytes))
}

fn read_job(job_index: usize, job: &Job, buffer: &mut Vec<u8>) -> anyhow::Result<Outcome> {
    let mut file = File::open(&job.found.path)?;
    let size = file.metadata()?.len();
    let mut start = job.start;
    let mut reset = job.known_reset;
    if start > 0 && (size < start || tail_hash(&mut file, start)? != job.expected_tail_hash) {
        // Rewritten in place: what was read before is no longer there.
        start = 0;
        reset = true;
    }
    file.seek(SeekFrom::Start(start))?;
    let (chunks, end_offset, entries) = match job.limit {
        Some(limit) => read_lines(&mut (&mut file).take(limit), start, buffer)?,
        None => read_lines(&mut file, start, buffer)?,
    };
    let tail_hash = if end_offset > 0 {
        tail_hash(&mut file, end_offset)?
    } else {
        0
    };
    // A file read in part is recorded at the size read, so the next scan
    // sees it as grown and goes on from there.
    let recorded_size = if job.limit.is_some() {
        end_offset
    } else {
        size.max(end_offset)
    };
    Ok(Outcome {
        job_index,
        reset,
        end_offset,
        tail_hash,
        size: recorded_size,
        chunks,
        entries,
        bytes: end_offset.saturating_sub(start),
    })
}

/// Reads complete lines from `start` to the end through `buffer` (any
/// length; it grows for a longer line and shrinks back after); returns the
/// chunks, the offset after the last line consumed, and how many entries
/// were read.
fn read_lines(
    reader: &mut impl Read,
    start: u64,
    buffer: &mut Vec<u8>,
) -> std::io::Result<(Vec<EncodedChunk>, u64, u64)> {
    if buffer.len() < READ_BUFFER_BYTES {
        buffer.resize(READ_BUFFER_BYTES, 0);
    }
    // Bytes [0, filled) of the buffer hold data from file offset `buffer_offset`.
    let mut filled = 0usize;
    let mut buffer_offset = start;
    let mut chunks = Vec::new();
    let mut encoder = ChunkEncoder::new(start);
    let mut entries = 0u64;
    let mut at_end = false;
    loop {
        if !at_end {
            if filled == buffer.len() {
                buffer.resize(buffer.len() * 2, 0);
            }
            let read = reader.read(&mut buffer[filled..])?;
            if read == 0 {
                at_end = true;
            }
            filled += read;
        }
        let mut consumed = 0usize;
        while let Some(newline) = memchr::memchr(b'\n', &buffer[consumed..filled]) {
            let line = &buffer[consumed..consumed + newline];
            consumed += newline + 1;
            if let Some(parsed) = entry::parse_line(line) {
                encoder.push(&parsed);
                entries += 1;
                if encoder.len() >= ledger::CHUNK_ENTRIES {
                    let end = buffer_offset + consumed as u64;
                    chunks
                        .push(std::mem::replace(&mut encoder, ChunkEncoder::new(end)).finish(end));
                }
            }
        }
        if at_end {
            // A last line without its newline counts only if it is a whole
            // entry (a half-written line is never valid JSON); else it waits.
            let rest = &buffer[consumed..filled];
            if !rest.is_empty() {
                if let Some(parsed) = entry::parse_line(rest) {
                    encoder.push(&parsed);
                    entries += 1;
                    consumed = filled;
                }
            }
            let end = buffer_offset + consumed as u64;
            if !encoder.is_empty() {
                chunks.push(encoder.finish(end));
            }
            return Ok((chunks, end, entries));
        }
        buffer.copy_within(consumed..filled, 0);
        filled -= consumed;
        buffer_offset += consumed as u64;
        if filled < buffer.len() / 2 && buffer.len() > READ_BUFFER_BYTES {
            buffer.truncate(READ_BUFFER_BYTES.max(filled));
            buffer.shrink_to(READ_BUFFER_BYTES.max(filled));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn project_and_session_come_from_the_path() {
        let projects = Path::new("/h/.claude/projects");
        let cases = [
            ("/h/.claude/projects/-p/s1.jsonl", Some(("-p", "s1"))),
            (
                "/h/.claude/projects/-p/s1/subagents/agent-a.jsonl",
                Some(("-p", "s1")),
            ),
            ("/h/.claude/projects/loose.jsonl", None),
        ];
        for (path, expected) in cases {
            let got = project_and_session(projects, Path::new(path));
            assert_eq!(
                got,
                expected.map(|(p, s)| (p.to_string(), s.to_string())),
                "{path}"
            );
        }
    }

    fn line(id: &str) -> String {
        format!(
            r#"{{"timestamp":"2026-01-01T00:00:00Z","requestId":"r","message":{{"id":"{id}","usage":{{"input_tokens":1,"output_tokens":1}}}}}}"#
        )
    }

    #[test]
    fn a_half_written_last_line_is_left_for_later() {
        let whole = format!("{}\n{}", line("a"), line("b"));
        let half = &whole[..whole.len() - 5];
        let (_, end, entries) = read_lines(&mut half.as_bytes(), 0, &mut Vec::new()).unwrap();
        assert_eq!(entries, 1);
        assert_eq!(end as usize, line("a").len() + 1);
        // The same text finished, without a newline, counts.
        let (_, end, entries) = read_lines(&mut whole.as_bytes(), 0, &mut Vec::new()).unwrap();
        assert_eq!((end as usize, entries), (whole.len(), 2));
    }

    #[test]
    fn lines_longer_than_the_buffer_are_read_whole() {
        let padding = "x".repeat(3 * READ_BUFFER_BYTES);
        let long = format!(
            r#"{{"timestamp":"2026-01-01T00:00:00Z","pad":"{padding}","message":{{"usage":{{"input_tokens":7,"output_tokens":1}}}}}}"#
        );
        let text = format!("{}\n{long}\n{}\n", line("a"), line("b"));
        let (chunks, end, entries) =
            read_lines(&mut text.as_bytes(), 100, &mut Vec::new()).unwrap();
        assert_eq!(entries, 3);
        assert_eq!(end, 100 + text.len() as u64);
        assert_eq!(chunks.len(), 1);
    }
}
