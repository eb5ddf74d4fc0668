#!/usr/bin/env bash
# Benchmark: `pace-maker statusline` (without --chain) on the captured OAuth
# status-line input. The goal is a median under 5 ms. Usage:
#   bash benches/statusline.sh            (RUNS=300 WARMUP=20 by default)
source "$(dirname "$0")/common.sh"

oauth="$sandbox/oauth.json"
sed -n 2p "$repo/tests/fixtures/claude-code-2.1.330/statusline-inputs-oauth.jsonl" >"$oauth"
no_limits="$sandbox/api-key.json"
sed -n 1p "$repo/tests/fixtures/claude-code-2.1.330/statusline-inputs-oauth.jsonl" >"$no_limits"

echo "binary: $bin"
# Same figures on every refresh: read, compare, print (the usual case).
time_runs "statusline (oauth, unchanged figures)" "$oauth" statusline
# No rate_limits (API-key login): the stored figures are shown.
time_runs "statusline (no rate_limits)" "$no_limits" statusline

if command -v hyperfine >/dev/null; then
  # A cross-check; hyperfine subtracts the shell's own start-up.
  hyperfine --shell=bash --warmup "$warmup" --runs "$runs" --style basic \
    "'$bin' statusline < '$oauth' > /dev/null"
fi
