//! 5-hour blocks, as ccusage draws them.
//!
//! Entries sorted by time are cut into blocks: a block starts at its first
//! entry's time floored to the UTC hour and lasts 5 hours; an entry more
//! than 5 hours after the block's start, or after the previous entry,
//! starts a new one. When the silence between two blocks is longer than 5
//! hours, a gap block stands for it (from the last entry plus 5 hours to
//! the next entry). A block is active while it has not ended and its last
//! entry is under 5 hours old; only an active block gets a burn rate
//! (tokens per minute between its first and last entry) and a projection
//! (total plus rate times the minutes left). These blocks approximate the
//! real 5-hour window, whose start Anthropic does not publish. Pure: `now`
//! is an argument.

use serde::Serialize;

use super::entry::TokenCounts;
use super::pricing;

/// Block length.
pub const BLOCK_MS: i64 = 5 * 3_600_000;
const HOUR_MS: i64 = 3_600_000;

/// What blocks need of an entry.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BlockEntry<'a> {
    pub timestamp_ms: i64,
    pub tokens: TokenCounts,
    pub model: Option<&'a str>,
    pub limit_resets_at_s: Option<i64>,
}

/// One block (or gap).
#[derive(Debug, Clone, PartialEq)]
pub struct Block {
    pub start_ms: i64,
    pub end_ms: i64,
    pub actual_end_ms: Option<i64>,
    pub first_ms: Option<i64>,
    pub is_active: bool,
    pub is_gap: bool,
    pub entries: usize,
    pub tokens: TokenCounts,
    pub cost: f64,
    /// Models used, sorted by name.
    pub models: Vec<String>,
    /// Models used that the price table does not know, sorted by name.
    pub unpriced_models: Vec<String>,
    pub limit_resets_at_s: Option<i64>,
}

/// Cuts time-sorted entries into blocks.
pub fn identify(entries: &[BlockEntry<'_>], now_ms: i64) -> Vec<Block> {
    let mut blocks = Vec::new();
    let mut current: Option<Block> = None;
    for entry in entries {
        if let Some(block) = current.as_mut() {
            let last = block.actual_end_ms.unwrap_or(block.start_ms);
            let since_start = entry.timestamp_ms - block.start_ms;
            let since_last = entry.timestamp_ms - last;
            if since_start > BLOCK_MS || since_last > BLOCK_MS {
                let finished = current.take().map(|b| close(b, now_ms));
                blocks.extend(finished);
                if since_last > BLOCK_MS {
                    blocks.push(gap(last, entry.timestamp_ms));
                }
            }
        }
        let block = current.get_or_insert_with(|| open(entry.timestamp_ms));
        add(block, entry);
    }
    blocks.extend(current.map(|b| close(b, now_ms)));
    // A gap starts 5 h after the last entry, which can be after the next
    // block's hour-floored start: order by start, as ccusage lists them.
    blocks.sort_by_key(|block| block.start_ms);
    blocks
}

fn floor_to_hour(timestamp_ms: i64) -> i64 {
    timestamp_ms.div_euclid(HOUR_MS) * HOUR_MS
}

fn open(timestamp_ms: i64) -> Block {
    let start_ms = floor_to_hour(timestamp_ms);
    Block {
        start_ms,
        end_ms: start_ms + BLOCK_MS,
        actual_end_ms: None,
        first_ms: None,
        is_active: false,
        is_gap: false,
        entries: 0,
        tokens: TokenCounts::default(),
        cost: 0.0,
        models: Vec::new(),
        unpriced_models: Vec::new(),
        limit_resets_at_s: None,
    }
}

fn add(block: &mut Block, entry: &BlockEntry<'_>) {
    block.entries += 1;
    block.tokens.add(&entry.tokens);
    if let Some(model) = entry.model {
        let priced = pricing::cost(model, &entry.tokens);
        block.cost += priced.unwrap_or(0.0);
        if let Err(at) = block.models.binary_search_by(|m| m.as_str().cmp(model)) {
            block.models.insert(at, model.to_string());
        }
        if priced.is_none() {
            if let Err(at) = block
                .unpriced_models
                .binary_search_by(|m| m.as_str().cmp(model))
            {
                block.unpriced_models.insert(at, model.to_string());
            }
        }
    }
    block.first_ms.get_or_insert(entry.timestamp_ms);
    block.actual_end_ms = Some(entry.timestamp_ms);
    block.limit_resets_at_s = block.limit_resets_at_s.or(entry.limit_resets_at_s);
}

fn close(mut block: Block, now_ms: i64) -> Block {
    block.is_active = block
        .actual_end_ms
        .is_some_and(|last| now_ms - last < BLOCK_MS && now_ms < block.end_ms);
    block
}

fn gap(last_ms: i64, next_ms: i64) -> Block {
    Block {
        start_ms: last_ms + BLOCK_MS,
        end_ms: next_ms,
        actual_end_ms: None,
        first_ms: None,
        is_active: false,
        is_gap: true,
        entries: 0,
        tokens: TokenCounts::default(),
        cost: 0.0,
        models: Vec::new(),
        unpriced_models: Vec::new(),
        limit_resets_at_s: None,
    }
}

/// Tokens per minute between an active block's first and last entry.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BurnRate {
    pub tokens_per_minute: f64,
    /// Input and output only (cache traffic left out), for a burn indicator.
    pub tokens_per_minute_for_indicator: f64,
    pub cost_per_hour: f64,
}

/// Where an active block is heading at its burn rate.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Projection {
    pub total_tokens: u64,
    pub total_cost: f64,
    pub remaining_minutes: u64,
}

impl Block {
    pub fn burn_rate(&self) -> Option<BurnRate> {
        if !self.is_active || self.is_gap {
            return None;
        }
        let minutes = (self.actual_end_ms? - self.first_ms?) as f64 / 60_000.0;
        if minutes <= 0.0 {
            return None;
        }
        Some(BurnRate {
            tokens_per_minute: self.tokens.total() as f64 / minutes,
            tokens_per_minute_for_indicator: (self.tokens.input + self.tokens.output) as f64
                / minutes,
            cost_per_hour: self.cost / minutes * 60.0,
        })
    }

    pub fn projection(&self, now_ms: i64) -> Option<Projection> {
        let rate = self.burn_rate()?;
        let remaining_minutes = ((self.end_ms - now_ms).max(0) as f64 / 60_000.0).round();
        let total_tokens = self.tokens.total() as f64 + rate.tokens_per_minute * remaining_minutes;
        let total_cost = self.cost + rate.cost_per_hour / 60.0 * remaining_minutes;
        Some(Projection {
            total_tokens: total_tokens.round() as u64,
            total_cost: (total_cost * 100.0).round() / 100.0,
            remaining_minutes: remaining_minutes as u64,
        })
    }
}

/// `tokenCounts` in ccusage's block JSON.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BlockTokens {
    pub input_tokens: u64,
    pub output_tokens: u64,
    pub cache_creation_input_tokens: u64,
    pub cache_read_input_tokens: u64,
}

/// One block as JSON.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BlockJson {
    pub id: String,
    pub start_time: String,
    pub end_time: String,
    pub actual_end_time: Option<String>,
    pub is_active: bool,
    pub is_gap: bool,
    pub entries: usize,
    pub token_counts: BlockTokens,
    pub total_tokens: u64,
    #[serde(rename = "costUSD")]
    pub cost_usd: f64,
    pub models: Vec<String>,
    /// Models whose cost is not in `costUSD` (not in the price table).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub unpriced_models: Vec<String>,
    pub burn_rate: Option<BurnRate>,
    pub projection: Option<Projection>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub usage_limit_reset_time: Option<String>,
}

/// RFC 3339 with milliseconds, as ccusage prints block times.
pub fn iso_ms(ms: i64) -> String {
    jiff::Timestamp::from_millisecond(ms)
        .map(|t| t.strftime("%Y-%m-%dT%H:%M:%S%.3fZ").to_string())
        .unwrap_or_default()
}

impl BlockJson {
    pub fn new(block: &Block, now_ms: i64) -> Self {
        let start = iso_ms(block.start_ms);
        Self {
            id: if block.is_gap {
                format!("gap-{start}")
            } else {
                start.clone()
            },
            start_time: start,
            end_time: iso_ms(block.end_ms),
            actual_end_time: block.actual_end_ms.map(iso_ms),
            is_active: block.is_active,
            is_gap: block.is_gap,
            entries: block.entries,
            token_counts: BlockTokens {
                input_tokens: block.tokens.input,
                output_tokens: block.tokens.output,
                cache_creation_input_tokens: block.tokens.cache_creation(),
                cache_read_input_tokens: block.tokens.cache_read,
            },
            total_tokens: block.tokens.total(),
            cost_usd: block.cost,
            models: block.models.clone(),
            unpriced_models: block.unpriced_models.clone(),
            burn_rate: block.burn_rate(),
            projection: block.projection(now_ms),
            usage_limit_reset_time: block.limit_resets_at_s.map(|s| iso_ms(s * 1000)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// Blocks cover every entry exactly once, in order, each within its
        /// 5 hours from an hour boundary; gaps hold nothing and have length.
        #[test]
        fn blocks_partition_the_entries(steps in prop::collection::vec((0i64..40 * 60, 0u64..1000), 1..60)) {
            let mut time = T0;
            let entries: Vec<BlockEntry<'static>> = steps
                .iter()
                .map(|(minutes, input)| {
                    time += minutes * MIN;
                    BlockEntry { timestamp_ms: time, tokens: TokenCounts { input: *input, ..TokenCounts::default() }, model: None, limit_resets_at_s: None }
                })
                .collect();
            let blocks = identify(&entries, time);
            prop_assert_eq!(blocks.iter().map(|b| b.entries).sum::<usize>(), entries.len());
            prop_assert_eq!(
                blocks.iter().map(|b| b.tokens.input).sum::<u64>(),
                entries.iter().map(|e| e.tokens.input).sum::<u64>()
            );
            prop_assert!(blocks.windows(2).all(|pair| pair[0].start_ms <= pair[1].start_ms));
            for block in &blocks {
                if block.is_gap {
                    prop_assert_eq!(block.entries, 0);
                    prop_assert!(block.end_ms > block.start_ms);
                } else {
                    prop_assert_eq!(block.start_ms % HOUR_MS, 0);
                    prop_assert_eq!(block.end_ms - block.start_ms, BLOCK_MS);
                    prop_assert!(block.first_ms.unwrap() >= block.start_ms);
                    prop_assert!(block.actual_end_ms.unwrap() <= block.end_ms);
                }
            }
        }
    }

    const T0: i64 = 1_767_225_600_000; // 2026-01-01T00:00:00Z
    const MIN: i64 = 60_000;

    fn at(minutes: i64, input: u64) -> BlockEntry<'static> {
        BlockEntry {
            timestamp_ms: T0 + minutes * MIN,
            tokens: TokenCounts {
                input,
                ..TokenCounts::default()
            },
            model: Some("claude-sonnet-4-5"),
            limit_resets_at_s: None,
        }
    }

    #[test]
    fn blocks_start_on_the_hour_and_break_after_five_hours() {
        // 00:30 and 04:00 share a block (00:00-05:00); 05:10 is past the
        // block's end; 11:00 is more than 5 h after 05:10: a gap between.
        let entries = [at(30, 1), at(240, 2), at(310, 4), at(660, 8)];
        let blocks = identify(&entries, T0 + 100 * 60 * MIN);
        let shape: Vec<(i64, i64, bool, u64)> = blocks
            .iter()
            .map(|b| {
                (
                    (b.start_ms - T0) / MIN,
                    (b.end_ms - T0) / MIN,
                    b.is_gap,
                    b.tokens.input,
                )
            })
            .collect();
        assert_eq!(
            shape,
            vec![
                (0, 300, false, 3),
                (300, 600, false, 4),
                (610, 660, true, 0),
                (660, 960, false, 8)
            ]
        );
        assert!(blocks
            .iter()
            .all(|b| !b.is_active && b.burn_rate().is_none()));
    }

    #[test]
    fn an_active_block_has_a_burn_rate_and_projection() {
        let entries = [at(0, 600), at(60, 600)];
        let now = T0 + 120 * MIN;
        let blocks = identify(&entries, now);
        assert_eq!(blocks.len(), 1);
        assert!(blocks[0].is_active);
        let rate = blocks[0].burn_rate().unwrap();
        assert_eq!(rate.tokens_per_minute, 20.0);
        let projection = blocks[0].projection(now).unwrap();
        assert_eq!(projection.remaining_minutes, 180);
        assert_eq!(projection.total_tokens, 1200 + 20 * 180);
        let json = BlockJson::new(&blocks[0], now);
        assert_eq!(json.id, "2026-01-01T00:00:00.000Z");
        assert_eq!(json.end_time, "2026-01-01T05:00:00.000Z");
    }

    #[test]
    fn a_gap_that_starts_after_the_next_blocks_hour_is_listed_after_it() {
        // 04:10, then 09:20: the gap runs 09:10-09:20, the next block from 09:00.
        let blocks = identify(&[at(250, 1), at(560, 2)], T0);
        let starts: Vec<(i64, bool)> = blocks
            .iter()
            .map(|b| ((b.start_ms - T0) / MIN, b.is_gap))
            .collect();
        assert_eq!(starts, vec![(240, false), (540, false), (550, true)]);
    }

    #[test]
    fn a_gap_block_is_named_after_its_start() {
        let entries = [at(0, 1), at(24 * 60, 1)];
        let blocks = identify(&entries, T0);
        let json = BlockJson::new(&blocks[1], T0);
        assert!(json.is_gap);
        assert_eq!(json.id, "gap-2026-01-01T05:00:00.000Z");
        assert_eq!(json.actual_end_time, None);
    }
}
