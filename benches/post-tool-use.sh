#!/usr/bin/env bash
# Benchmark: `pace-maker hook post-tool-use` on the captured PostToolUse
# payload with a fresh usage cache (no poll is due): bookkeeping plus the
# usage freshness check. Pacing is switched off so that no sleep is timed.
# Usage:
#   bash benches/post-tool-use.sh         (RUNS=300 WARMUP=20 by default)
source "$(dirname "$0")/common.sh"
export PACE_MAKER_PACING_ENABLED=false

payload="$sandbox/post-tool-use.json"
grep '"hook_event_name":"PostToolUse"' \
  "$repo/tests/fixtures/claude-code-2.1.330/hook-inputs-basic.jsonl" | head -n 1 >"$payload"

# A fresh official snapshot: the status line records one now.
sed -n 2p "$repo/tests/fixtures/claude-code-2.1.330/statusline-inputs-oauth.jsonl" |
  "$bin" statusline >/dev/null

echo "binary: $bin"
time_runs "hook post-tool-use (fresh cache)" "$payload" hook post-tool-use

if command -v hyperfine >/dev/null; then
  hyperfine --shell=bash --warmup "$warmup" --runs "$runs" --style basic \
    "'$bin' hook post-tool-use < '$payload' > /dev/null"
fi
