#!/usr/bin/env bash
# Benchmark: `pace-maker hook post-tool-use` when no official figure is
# fresh, so the hook makes the local estimate: a check of every transcript
# file for appended bytes, the calibration and the estimate itself. Beside
# it, the same hook with a fresh official figure (no estimate), and the
# first hook after 1 MB was appended to a transcript.
# Usage:
#   bash benches/estimate-hook.sh [SIZE]   (SIZE of generated transcripts, default 50MB;
#                                          RUNS=300 WARMUP=20 by default)
cargo build --release --quiet --manifest-path "$(dirname "$0")/../Cargo.toml" --example gen_transcripts
source "$(dirname "$0")/common.sh"
size="${1:-50MB}"
export PACE_MAKER_PACING_ENABLED=true

"$repo/target/release/examples/gen_transcripts" --size "$size" --out "$CLAUDE_CONFIG_DIR" --seed 1 >/dev/null

payload="$sandbox/post-tool-use.json"
grep '"hook_event_name":"PostToolUse"' \
  "$repo/tests/fixtures/claude-code-2.1.330/hook-inputs-basic.jsonl" | head -n 1 >"$payload"
sed -n 2p "$repo/tests/fixtures/claude-code-2.1.330/statusline-inputs-oauth.jsonl" |
  "$bin" statusline >/dev/null

echo "binary: $bin, transcripts: $size"
time_runs "fresh official figure (no estimate)" "$payload" hook post-tool-use

# Every reading counts as stale from now on: each hook makes the estimate.
export PACE_MAKER_PACING_STALE_AFTER_SECONDS=1
sleep 2
# The first hooks read the transcripts in 32 MB parts (the budget of a
# hook-path scan); time_runs' unmeasured warm-up runs cover them.
time_runs "stale: estimate, nothing appended" "$payload" hook post-tool-use

biggest=$(find "$CLAUDE_CONFIG_DIR/projects" -name '*.jsonl' -printf '%s %p\n' | sort -n | tail -n 1 | cut -d' ' -f2-)
samples=()
for ((i = 0; i < 20; i++)); do
  head -c 1048576 "$biggest" | head -n -1 >"$sandbox/append.jsonl"
  cat "$sandbox/append.jsonl" >>"$biggest"
  start=$EPOCHREALTIME
  "$bin" hook post-tool-use <"$payload" >/dev/null
  end=$EPOCHREALTIME
  samples+=("$(awk -v s="$start" -v e="$end" 'BEGIN { printf "%.3f", (e - s) * 1000 }')")
done
printf '%s\n' "${samples[@]}" | sort -n | awk '{ v[NR] = $1 } END {
  printf "%-40s runs %d  median %.2f ms  max %.2f ms\n", "stale: estimate after 1 MB appended", NR, (v[10] + v[11]) / 2, v[NR] }'
