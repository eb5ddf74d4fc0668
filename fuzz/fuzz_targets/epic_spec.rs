//! Fuzz target: see `harness::epic_spec`.

#![no_main]

#[path = "../harness.rs"]
mod harness;

libfuzzer_sys::fuzz_target!(|data: &[u8]| harness::epic_spec(data));
