//! The offline price table: US dollars per million tokens, per model.
//!
//! Reports and the estimate must work without a network, so the table is
//! compiled in. `docs/pricing.md` says how to update it. A model is looked
//! up by its name with any `-YYYYMMDD` date suffix removed; a model the
//! table does not know costs nothing and is reported as unpriced (never
//! guessed). Models with a long-context tier are charged the tier's prices
//! for a whole request whose input (fresh, cache writes and cache reads)
//! exceeds 200,000 tokens, as Anthropic bills them.

use super::entry::TokenCounts;

/// Prices in US dollars per million tokens.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rates {
    pub input: f64,
    pub output: f64,
    /// Cache writes with the 5-minute time-to-live.
    pub cache_write_5m: f64,
    /// Cache writes with the 1-hour time-to-live.
    pub cache_write_1h: f64,
    pub cache_read: f64,
}

/// One model's prices.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ModelPrice {
    /// Model name without a date suffix, e.g. `claude-sonnet-4-5`.
    pub model: &'static str,
    pub standard: Rates,
    /// Prices for requests whose input exceeds [`LONG_CONTEXT_TOKENS`].
    pub long_context: Option<Rates>,
}

/// Input size above which the long-context tier applies.
pub const LONG_CONTEXT_TOKENS: u64 = 200_000;

const fn rates(
    input: f64,
    output: f64,
    cache_write_5m: f64,
    cache_write_1h: f64,
    cache_read: f64,
) -> Rates {
    Rates {
        input,
        output,
        cache_write_5m,
        cache_write_1h,
        cache_read,
    }
}

const FABLE_5: Rates = rates(10.0, 50.0, 12.50, 20.0, 1.0);
const OPUS_4_5: Rates = rates(5.0, 25.0, 6.25, 10.0, 0.50);
const OPUS_4: Rates = rates(15.0, 75.0, 18.75, 30.0, 1.50);
const SONNET_5: Rates = rates(2.0, 10.0, 2.50, 4.0, 0.20);
const SONNET: Rates = rates(3.0, 15.0, 3.75, 6.0, 0.30);
const SONNET_LONG: Rates = rates(6.0, 22.50, 7.50, 12.0, 0.60);
const HAIKU_4_5: Rates = rates(1.0, 5.0, 1.25, 2.0, 0.10);
const HAIKU_3_5: Rates = rates(0.80, 4.0, 1.0, 1.6, 0.08);
const HAIKU_3: Rates = rates(0.25, 1.25, 0.30, 0.50, 0.03);

/// The table, as of the date in `docs/pricing.md`.
pub const PRICES: &[ModelPrice] = &[
    price("claude-fable-5", FABLE_5, None),
    price("claude-opus-5", OPUS_4_5, None),
    price("claude-opus-4-8", OPUS_4_5, None),
    price("claude-opus-4-7", OPUS_4_5, None),
    price("claude-opus-4-6", OPUS_4_5, None),
    price("claude-opus-4-5", OPUS_4_5, None),
    price("claude-opus-4-1", OPUS_4, None),
    price("claude-opus-4", OPUS_4, None),
    price("claude-sonnet-5", SONNET_5, None),
    price("claude-sonnet-4-6", SONNET, None),
    price("claude-sonnet-4-5", SONNET, Some(SONNET_LONG)),
    price("claude-sonnet-4", SONNET, Some(SONNET_LONG)),
    price("claude-3-7-sonnet", SONNET, None),
    price("claude-3-5-sonnet", SONNET, None),
    price("claude-haiku-4-5", HAIKU_4_5, None),
    price("claude-3-5-haiku", HAIKU_3_5, None),
    price("claude-3-haiku", HAIKU_3, None),
    price("claude-3-opus", OPUS_4, None),
];

const fn price(model: &'static str, standard: Rates, long_context: Option<Rates>) -> ModelPrice {
    ModelPrice {
        model,
        standard,
        long_context,
    }
}

/// `claude-sonnet-4-5-20250929` -> `claude-sonnet-4-5`.
fn without_date(model: &str) -> &str {
    match model.rsplit_once('-') {
        Some((base, date)) if date.len() == 8 && date.bytes().all(|b| b.is_ascii_digit()) => base,
        _ => model,
    }
}

/// The prices of a model, if the table knows it.
pub fn lookup(model: &str) -> Option<&'static ModelPrice> {
    let base = without_date(model);
    PRICES.iter().find(|price| price.model == base)
}

/// What one reply cost, in US dollars; `None` for a model the table does not know.
pub fn cost(model: &str, tokens: &TokenCounts) -> Option<f64> {
    let price = lookup(model)?;
    let input_size = tokens.input + tokens.cache_creation() + tokens.cache_read;
    let rates = match price.long_context {
        Some(long) if input_size > LONG_CONTEXT_TOKENS => long,
        _ => price.standard,
    };
    let dollars = tokens.input as f64 * rates.input
        + tokens.output as f64 * rates.output
        + tokens.cache_creation_5m as f64 * rates.cache_write_5m
        + tokens.cache_creation_1h as f64 * rates.cache_write_1h
        + tokens.cache_read as f64 * rates.cache_read;
    Some(dollars / 1_000_000.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tokens(input: u64, output: u64, write_5m: u64, write_1h: u64, read: u64) -> TokenCounts {
        TokenCounts {
            input,
            output,
            cache_creation_5m: write_5m,
            cache_creation_1h: write_1h,
            cache_read: read,
        }
    }

    #[test]
    fn costs_follow_the_table() {
        let cases = [
            (
                "dated sonnet",
                "claude-sonnet-4-5-20250929",
                tokens(1000, 1000, 1000, 0, 100_000),
                Some(0.05175),
            ),
            (
                "opus 4.5 one-hour writes",
                "claude-opus-4-5-20251101",
                tokens(0, 0, 0, 100_000, 0),
                Some(1.0),
            ),
            (
                "haiku 4.5 output",
                "claude-haiku-4-5",
                tokens(0, 1_000_000, 0, 0, 0),
                Some(5.0),
            ),
            (
                "long context sonnet",
                "claude-sonnet-4",
                tokens(10_000, 1000, 0, 0, 200_000),
                Some((10_000.0 * 6.0 + 1000.0 * 22.5 + 200_000.0 * 0.6) / 1e6),
            ),
            (
                "long context needs the tier",
                "claude-opus-4-5",
                tokens(10_000, 0, 0, 0, 200_000),
                Some((10_000.0 * 5.0 + 200_000.0 * 0.5) / 1e6),
            ),
            (
                "opus 5 output",
                "claude-opus-5",
                tokens(0, 1_000_000, 0, 0, 0),
                Some(25.0),
            ),
            (
                "fable 5 cache reads and writes",
                "claude-fable-5",
                tokens(0, 0, 1_000_000, 1_000_000, 1_000_000),
                Some(12.5 + 20.0 + 1.0),
            ),
            (
                "sonnet 5 cache writes",
                "claude-sonnet-5",
                tokens(0, 0, 1_000_000, 1_000_000, 0),
                Some(2.5 + 4.0),
            ),
            (
                "unknown model",
                "claude-opus-5-5",
                tokens(1, 1, 1, 1, 1),
                None,
            ),
            (
                "fast mode is not guessed",
                "claude-opus-4-6-fast",
                tokens(1, 1, 1, 1, 1),
                None,
            ),
        ];
        for (name, model, tokens, expected) in cases {
            let got = cost(model, &tokens);
            match (got, expected) {
                (Some(got), Some(expected)) => assert!(
                    (got - expected).abs() < 1e-12,
                    "{name}: {got} != {expected}"
                ),
                (got, expected) => assert_eq!(got, expected, "{name}"),
            }
        }
    }

    #[test]
    fn every_model_is_listed_once_and_priced_sanely() {
        for (index, price) in PRICES.iter().enumerate() {
            assert!(
                PRICES[index + 1..]
                    .iter()
                    .all(|other| other.model != price.model),
                "{}",
                price.model
            );
            let r = price.standard;
            assert!(
                r.cache_read < r.input
                    && r.input < r.cache_write_5m
                    && r.cache_write_5m < r.cache_write_1h
                    && r.input < r.output,
                "{}",
                price.model
            );
        }
    }
}
