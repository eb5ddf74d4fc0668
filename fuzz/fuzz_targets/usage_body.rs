//! Fuzz target: see `harness::usage_body`.

#![no_main]

#[path = "../harness.rs"]
mod harness;

libfuzzer_sys::fuzz_target!(|data: &[u8]| harness::usage_body(data));
