//! Fuzz target: see `harness::statusline_input`.

#![no_main]

#[path = "../harness.rs"]
mod harness;

libfuzzer_sys::fuzz_target!(|data: &[u8]| harness::statusline_input(data));
