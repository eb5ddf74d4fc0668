//! Fuzz target: see `harness::transcript_tail`.

#![no_main]

#[path = "../harness.rs"]
mod harness;

libfuzzer_sys::fuzz_target!(|data: &[u8]| harness::transcript_tail(data));
