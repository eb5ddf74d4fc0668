//! The store side of local usage: which transcript files were read how
//! far, and the usage entries read from them, in compact chunks.
//!
//! Every copy of every reply is kept (one entry per line with usage), in
//! the order and file it was read from, and de-duplication happens when
//! the entries are loaded. That is what makes a truncated or replaced file
//! safe to re-read: its chunks are deleted and read again, and the winner
//! among copies is chosen afresh, so nothing is counted twice and a copy
//! elsewhere that lost before is not lost now. Entries are stored as
//! chunks (one row per run of up to [`CHUNK_ENTRIES`] entries of one file,
//! varint-packed) rather than a row per entry: a first scan of hundreds of
//! MB writes a few thousand rows instead of a few hundred thousand, and a
//! chunk's time range lets the estimate read only recent chunks.

use std::collections::HashMap;

use rusqlite::{params, Connection, Transaction};

use super::entry::{DedupKey, ParsedEntry, TokenCounts};

/// Most entries in one chunk.
pub const CHUNK_ENTRIES: usize = 8192;

/// Version byte at the start of every chunk.
const CHUNK_FORMAT: u8 = 1;

const FLAG_KEY: u8 = 1;
const FLAG_SIDECHAIN: u8 = 2;
const FLAG_SPEED: u8 = 4;
const FLAG_LIMIT: u8 = 8;
const FLAG_MODEL: u8 = 16;

/// What the store knows of one transcript file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileRecord {
    pub id: i64,
    pub path: String,
    /// The folder under `projects/` (Claude Code's encoded working directory).
    pub project: String,
    /// The session the file belongs to, from its path (a subagent file
    /// belongs to the session folder it sits in).
    pub session_id: String,
    pub device: u64,
    pub inode: u64,
    pub size: u64,
    /// Bytes read so far: the end of the last complete line.
    pub offset: u64,
    pub modified_ns: i64,
    /// A hash of the bytes just before `offset`, to notice a file rewritten in place.
    pub tail_hash: u64,
}

/// Every known file.
pub fn load_files(connection: &Connection) -> rusqlite::Result<Vec<FileRecord>> {
    let mut statement = connection.prepare_cached(
        "SELECT id, path, project, session_id, device, inode, size, offset, modified_ns, tail_hash
         FROM transcript_files",
    )?;
    let rows = statement.query_map([], |row| {
        Ok(FileRecord {
            id: row.get(0)?,
            path: row.get(1)?,
            project: row.get(2)?,
            session_id: row.get(3)?,
            device: row.get::<_, i64>(4)? as u64,
            inode: row.get::<_, i64>(5)? as u64,
            size: row.get::<_, i64>(6)? as u64,
            offset: row.get::<_, i64>(7)? as u64,
            modified_ns: row.get(8)?,
            tail_hash: row.get::<_, i64>(9)? as u64,
        })
    })?;
    rows.collect()
}

/// Inserts or updates a file's record; returns its id.
pub fn save_file(
    transaction: &Transaction<'_>,
    record: &FileRecord,
    now_ms: i64,
) -> rusqlite::Result<i64> {
    transaction
        .prepare_cached(
            "INSERT INTO transcript_files
                (path, project, session_id, device, inode, size, offset, modified_ns, tail_hash, scanned_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)
             ON CONFLICT(path) DO UPDATE SET
                project = excluded.project, session_id = excluded.session_id,
                device = excluded.device, inode = excluded.inode, size = excluded.size,
                offset = excluded.offset, modified_ns = excluded.modified_ns,
                tail_hash = excluded.tail_hash, scanned_at = excluded.scanned_at",
        )?
        .execute(params![
            record.path,
            record.project,
            record.session_id,
            record.device as i64,
            record.inode as i64,
            record.size as i64,
            record.offset as i64,
            record.modified_ns,
            record.tail_hash as i64,
            now_ms
        ])?;
    transaction
        .prepare_cached("SELECT id FROM transcript_files WHERE path = ?1")?
        .query_row([&record.path], |row| row.get(0))
}

/// Forgets what was read from a file (before reading it again from the start).
pub fn delete_chunks(transaction: &Transaction<'_>, file_id: i64) -> rusqlite::Result<usize> {
    transaction
        .prepare_cached("DELETE FROM transcript_chunks WHERE file_id = ?1")?
        .execute([file_id])
}

/// A chunk ready to be stored.
#[derive(Debug, Clone, Default)]
pub struct EncodedChunk {
    pub start_offset: u64,
    pub end_offset: u64,
    pub min_timestamp_ms: i64,
    pub max_timestamp_ms: i64,
    pub entries: usize,
    pub data: Vec<u8>,
}

pub fn insert_chunk(
    transaction: &Transaction<'_>,
    file_id: i64,
    chunk: &EncodedChunk,
) -> rusqlite::Result<()> {
    transaction
        .prepare_cached(
            "INSERT INTO transcript_chunks
                (file_id, start_offset, end_offset, min_timestamp, max_timestamp, entries, data)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        )?
        .execute(params![
            file_id,
            chunk.start_offset as i64,
            chunk.end_offset as i64,
            chunk.min_timestamp_ms,
            chunk.max_timestamp_ms,
            chunk.entries as i64,
            chunk.data
        ])?;
    Ok(())
}

/// Calls `visit(file_id, data)` for each chunk whose newest entry is at or
/// after `since_ms` (every chunk for `None`), in path and offset order
/// (the order decides which of two equal copies of a reply is kept).
pub fn for_each_chunk(
    connection: &Connection,
    since_ms: Option<i64>,
    mut visit: impl FnMut(i64, &[u8]) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    let mut statement = connection.prepare_cached(
        "SELECT c.file_id, c.data FROM transcript_chunks c
         JOIN transcript_files f ON f.id = c.file_id
         WHERE c.max_timestamp >= ?1
         ORDER BY f.path, c.start_offset",
    )?;
    let mut rows = statement.query([since_ms.unwrap_or(i64::MIN)])?;
    while let Some(row) = rows.next()? {
        let file_id: i64 = row.get(0)?;
        let data = row.get_ref(1)?.as_blob()?;
        visit(file_id, data)?;
    }
    Ok(())
}

/// Builds chunks from parsed entries.
#[derive(Debug, Default)]
pub struct ChunkEncoder {
    models: Vec<String>,
    model_index: HashMap<String, u32>,
    body: Vec<u8>,
    entries: usize,
    previous_timestamp: i64,
    min_timestamp: i64,
    max_timestamp: i64,
    start_offset: u64,
}

impl ChunkEncoder {
    pub fn new(start_offset: u64) -> Self {
        Self {
            start_offset,
            min_timestamp: i64::MAX,
            max_timestamp: i64::MIN,
            ..Self::default()
        }
    }

    pub fn len(&self) -> usize {
        self.entries
    }

    pub fn is_empty(&self) -> bool {
        self.entries == 0
    }

    pub fn push(&mut self, entry: &ParsedEntry<'_>) {
        let mut flags = 0;
        if entry.key.is_some() {
            flags |= FLAG_KEY;
        }
        if entry.is_sidechain {
            flags |= FLAG_SIDECHAIN;
        }
        if entry.has_speed {
            flags |= FLAG_SPEED;
        }
        if entry.limit_resets_at_s.is_some() {
            flags |= FLAG_LIMIT;
        }
        if entry.model.is_some() {
            flags |= FLAG_MODEL;
        }
        self.body.push(flags);
        if let Some(key) = entry.key {
            self.body.extend_from_slice(&key.to_le_bytes());
        }
        write_signed(&mut self.body, entry.timestamp_ms - self.previous_timestamp);
        self.previous_timestamp = entry.timestamp_ms;
        self.min_timestamp = self.min_timestamp.min(entry.timestamp_ms);
        self.max_timestamp = self.max_timestamp.max(entry.timestamp_ms);
        let tokens = &entry.tokens;
        for value in [
            tokens.input,
            tokens.output,
            tokens.cache_creation_5m,
            tokens.cache_creation_1h,
            tokens.cache_read,
        ] {
            write_unsigned(&mut self.body, value);
        }
        if let Some(model) = &entry.model {
            let index = match self.model_index.get(model.as_ref()) {
                Some(index) => *index,
                None => {
                    let index = self.models.len() as u32;
                    self.models.push(model.to_string());
                    self.model_index.insert(model.to_string(), index);
                    index
                }
            };
            write_unsigned(&mut self.body, u64::from(index));
        }
        if let Some(resets) = entry.limit_resets_at_s {
            write_signed(&mut self.body, resets);
        }
        self.entries += 1;
    }

    /// The finished chunk, covering bytes up to `end_offset`.
    pub fn finish(self, end_offset: u64) -> EncodedChunk {
        let mut data = Vec::with_capacity(self.body.len() + 64);
        data.push(CHUNK_FORMAT);
        write_unsigned(&mut data, self.models.len() as u64);
        for model in &self.models {
            write_unsigned(&mut data, model.len() as u64);
            data.extend_from_slice(model.as_bytes());
        }
        write_unsigned(&mut data, self.entries as u64);
        data.extend_from_slice(&self.body);
        EncodedChunk {
            start_offset: self.start_offset,
            end_offset,
            min_timestamp_ms: self.min_timestamp,
            max_timestamp_ms: self.max_timestamp,
            entries: self.entries,
            data,
        }
    }
}

/// An entry as loaded back from the store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StoredEntry {
    pub key: Option<DedupKey>,
    pub timestamp_ms: i64,
    pub tokens: TokenCounts,
    /// Index into the loader's model names.
    pub model: Option<u16>,
    pub is_sidechain: bool,
    pub has_speed: bool,
    pub limit_resets_at_s: Option<i64>,
    /// Index into the loader's file list.
    pub file: u32,
}

/// Decodes a chunk, calling `visit` for each entry. `intern` turns the
/// chunk's model names into the caller's indices.
pub fn decode_chunk(
    data: &[u8],
    file: u32,
    mut intern: impl FnMut(&str) -> u16,
    mut visit: impl FnMut(StoredEntry),
) -> anyhow::Result<()> {
    let mut reader = Reader { data, position: 0 };
    let format = reader.byte()?;
    anyhow::ensure!(format == CHUNK_FORMAT, "unknown chunk format {format}");
    let model_count = reader.unsigned()? as usize;
    let mut models = Vec::with_capacity(model_count);
    for _ in 0..model_count {
        let length = reader.unsigned()? as usize;
        let bytes = reader.take(length)?;
        models.push(intern(std::str::from_utf8(bytes)?));
    }
    let count = reader.unsigned()?;
    let mut timestamp = 0i64;
    for _ in 0..count {
        let flags = reader.byte()?;
        let key = if flags & FLAG_KEY != 0 {
            let bytes: [u8; 16] = reader.take(16)?.try_into()?;
            Some(u128::from_le_bytes(bytes))
        } else {
            None
        };
        timestamp += reader.signed()?;
        let tokens = TokenCounts {
            input: reader.unsigned()?,
            output: reader.unsigned()?,
            cache_creation_5m: reader.unsigned()?,
            cache_creation_1h: reader.unsigned()?,
            cache_read: reader.unsigned()?,
        };
        let model = if flags & FLAG_MODEL != 0 {
            let index = reader.unsigned()? as usize;
            Some(
                *models
                    .get(index)
                    .ok_or_else(|| anyhow::anyhow!("bad model index"))?,
            )
        } else {
            None
        };
        let limit_resets_at_s = if flags & FLAG_LIMIT != 0 {
            Some(reader.signed()?)
        } else {
            None
        };
        visit(StoredEntry {
            key,
            timestamp_ms: timestamp,
            tokens,
            model,
            is_sidechain: flags & FLAG_SIDECHAIN != 0,
            has_speed: flags & FLAG_SPEED != 0,
            limit_resets_at_s,
            file,
        });
    }
    Ok(())
}

fn write_unsigned(out: &mut Vec<u8>, mut value: u64) {
    while value >= 0x80 {
        out.push((value as u8) | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

fn write_signed(out: &mut Vec<u8>, value: i64) {
    write_unsigned(out, ((value << 1) ^ (value >> 63)) as u64);
}

struct Reader<'a> {
    data: &'a [u8],
    position: usize,
}

impl<'a> Reader<'a> {
    fn byte(&mut self) -> anyhow::Result<u8> {
        let byte = *self
            .data
            .get(self.position)
            .ok_or_else(|| anyhow::anyhow!("chunk ends early"))?;
        self.position += 1;
        Ok(byte)
    }

    fn take(&mut self, length: usize) -> anyhow::Result<&'a [u8]> {
        let end = self.position + length;
        let bytes = self
            .data
            .get(self.position..end)
            .ok_or_else(|| anyhow::anyhow!("chunk ends early"))?;
        self.position = end;
        Ok(bytes)
    }

    fn unsigned(&mut self) -> anyhow::Result<u64> {
        let mut value = 0u64;
        let mut shift = 0;
        loop {
            let byte = self.byte()?;
            anyhow::ensure!(shift < 64, "varint too long");
            value |= u64::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                return Ok(value);
            }
            shift += 7;
        }
    }

    fn signed(&mut self) -> anyhow::Result<i64> {
        let raw = self.unsigned()?;
        Ok(((raw >> 1) as i64) ^ -((raw & 1) as i64))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::borrow::Cow;

    #[test]
    fn a_chunk_round_trips_every_field() {
        let entries = [
            ParsedEntry {
                key: Some(u128::MAX - 7),
                timestamp_ms: 1_795_480_009_487,
                tokens: TokenCounts {
                    input: 1,
                    output: 2,
                    cache_creation_5m: 3,
                    cache_creation_1h: 4,
                    cache_read: u64::MAX,
                },
                model: Some(Cow::Borrowed("claude-a")),
                is_sidechain: true,
                has_speed: false,
                limit_resets_at_s: None,
            },
            ParsedEntry {
                key: None,
                timestamp_ms: 1_795_480_000_000,
                tokens: TokenCounts::default(),
                model: None,
                is_sidechain: false,
                has_speed: true,
                limit_resets_at_s: Some(1_795_490_000),
            },
            ParsedEntry {
                key: Some(5),
                timestamp_ms: 1_795_480_000_001,
                tokens: TokenCounts::default(),
                model: Some(Cow::Borrowed("claude-a")),
                is_sidechain: false,
                has_speed: false,
                limit_resets_at_s: None,
            },
        ];
        let mut encoder = ChunkEncoder::new(10);
        for entry in &entries {
            encoder.push(entry);
        }
        let chunk = encoder.finish(99);
        assert_eq!(
            (chunk.start_offset, chunk.end_offset, chunk.entries),
            (10, 99, 3)
        );
        assert_eq!(chunk.min_timestamp_ms, 1_795_480_000_000);
        assert_eq!(chunk.max_timestamp_ms, 1_795_480_009_487);
        let mut decoded = Vec::new();
        let mut names = Vec::new();
        decode_chunk(
            &chunk.data,
            7,
            |name| {
                names.push(name.to_string());
                41
            },
            |entry| decoded.push(entry),
        )
        .unwrap();
        assert_eq!(names, vec!["claude-a".to_string()]);
        assert_eq!(decoded.len(), 3);
        for (parsed, stored) in entries.iter().zip(&decoded) {
            assert_eq!(stored.key, parsed.key);
            assert_eq!(stored.timestamp_ms, parsed.timestamp_ms);
            assert_eq!(stored.tokens, parsed.tokens);
            assert_eq!(stored.model.is_some(), parsed.model.is_some());
            assert_eq!(stored.is_sidechain, parsed.is_sidechain);
            assert_eq!(stored.has_speed, parsed.has_speed);
            assert_eq!(stored.limit_resets_at_s, parsed.limit_resets_at_s);
            assert_eq!(stored.file, 7);
        }
        assert_eq!(decoded[0].model, Some(41));
    }

    #[test]
    fn a_damaged_chunk_is_an_error_not_a_panic() {
        let mut encoder = ChunkEncoder::new(0);
        encoder.push(&ParsedEntry {
            key: Some(1),
            timestamp_ms: 5,
            tokens: TokenCounts::default(),
            model: Some(Cow::Borrowed("m")),
            is_sidechain: false,
            has_speed: false,
            limit_resets_at_s: None,
        });
        let data = encoder.finish(1).data;
        for cut in 0..data.len() {
            assert!(decode_chunk(&data[..cut], 0, |_| 0, |_| {}).is_err());
        }
    }
}
