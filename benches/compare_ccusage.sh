#!/usr/bin/env bash
# Compares `pace-maker report` with ccusage on generated transcripts, and
# benchmarks it side by side with ccusage and claudelytics.
#
#   benches/compare_ccusage.sh [SIZE ...]        default: 50MB 500MB
#
# For each size: generates a transcript tree under $WORK (default
# /tmp/pace-maker-bench, never inside the repo), then
#   1. compares token totals per day (`daily`), week and month (`weekly`,
#      `monthly`: the `week`/`month` keys of `ccusage claude weekly|monthly`),
#      per block (`blocks`) and per session with `ccusage daily|blocks
#      --json --offline` and `ccusage claude weekly|monthly|session --json
#      --offline` (exact), and cost (within 0.5 %);
#   2. times a full scan (fresh store) of `pace-maker report daily --json`,
#      `ccusage daily --json --offline` and `claudelytics --json daily`,
#      with max RSS from /usr/bin/time -v;
#   3. appends 1 MB of new lines to one transcript and times the rescan
#      (in-process scan only, then the whole report command).
# Tools are installed once into $TOOLS (default /tmp/pace-maker-bench-tools):
# ccusage from npm (version $CCUSAGE_VERSION), claudelytics from crates.io
# into its own CARGO_HOME. Exits non-zero when a comparison fails.
set -euo pipefail

REPO="$(cd "$(dirname "$0")/.." && pwd)"
WORK="${WORK:-/tmp/pace-maker-bench}"
TOOLS="${TOOLS:-/tmp/pace-maker-bench-tools}"
CCUSAGE_VERSION="${CCUSAGE_VERSION:-20.0.24}"
SEED="${SEED:-42}"
RUNS="${RUNS:-3}"
SIZES=("$@")
[ ${#SIZES[@]} -eq 0 ] && SIZES=(50MB 500MB)

case "$WORK" in "$REPO"*) echo "error: WORK must be outside the repository" >&2; exit 2 ;; esac

# --- tools -------------------------------------------------------------------
mkdir -p "$TOOLS" "$WORK"
if [ ! -x /usr/bin/time ]; then
  echo "== installing GNU time" >&2
  apt-get install -y time >/dev/null
fi
CCUSAGE="$TOOLS/ccusage/node_modules/.bin/ccusage"
if [ ! -x "$CCUSAGE" ] || [ "$("$CCUSAGE" --version 2>/dev/null)" != "ccusage $CCUSAGE_VERSION" ]; then
  echo "== installing ccusage@$CCUSAGE_VERSION into $TOOLS/ccusage" >&2
  mkdir -p "$TOOLS/ccusage"
  (cd "$TOOLS/ccusage" && npm init -y >/dev/null && npm install --no-audit --no-fund "ccusage@$CCUSAGE_VERSION" >/dev/null)
fi
CLAUDELYTICS="$TOOLS/claudelytics/bin/claudelytics"
if [ ! -x "$CLAUDELYTICS" ]; then
  echo "== installing claudelytics into $TOOLS/claudelytics (compiles; takes a while)" >&2
  CARGO_HOME="$TOOLS/cargo-home" cargo install claudelytics --root "$TOOLS/claudelytics" -j 1 >/dev/null 2>&1
fi

echo "== building pace-maker (release)" >&2
(cd "$REPO" && cargo build --release --quiet --bin pace-maker --example gen_transcripts --example scan_timing)
PACE="$REPO/target/release/pace-maker"
GEN="$REPO/target/release/examples/gen_transcripts"
SCAN="$REPO/target/release/examples/scan_timing"

# Runs a command with an empty HOME so no real data is read.
SANDBOX=(env -i PATH="$PATH" HOME="$WORK/empty-home" TZ=UTC NO_COLOR=1 LOG_LEVEL=0)
sandboxed() { "${SANDBOX[@]}" "$@"; }
mkdir -p "$WORK/empty-home"

# Best wall seconds and max RSS (MB) of $RUNS runs of a sandboxed command:
# prints "seconds rss_mb". With FRESH_HOME set, that folder is removed first.
measure() {
  local best="" rss=0 line seconds kb
  for _ in $(seq "$RUNS"); do
    if [ -n "${FRESH_HOME:-}" ]; then rm -rf "$FRESH_HOME"; fi
    line=$( { /usr/bin/time -f 'TIME %e %M' "${SANDBOX[@]}" "$@" >/dev/null; } 2>&1 | grep '^TIME' | tail -1 )
    seconds=$(echo "$line" | awk '{print $2}')
    kb=$(echo "$line" | awk '{print $3}')
    if [ -z "$best" ] || awk "BEGIN{exit !($seconds < $best)}"; then best=$seconds; fi
    [ "$kb" -gt "$rss" ] && rss=$kb
  done
  echo "$best $((rss / 1024))"
}

status=0
for size in "${SIZES[@]}"; do
  data="$WORK/data-$size"
  echo
  echo "=== data set $size (seed $SEED) in $data"
  if [ ! -f "$data/manifest.json" ]; then
    rm -rf "$data"
    "$GEN" --size "$size" --out "$data" --seed "$SEED" > "$WORK/manifest.tmp"
    mv "$WORK/manifest.tmp" "$data/manifest.json"
  fi
  du -sh "$data/projects" | awk '{print "size on disk: " $1}'
  home="$WORK/home-$size"
  rm -rf "$home"

  # --- 1. comparison -----------------------------------------------------------
  sandboxed CLAUDE_CONFIG_DIR="$data" PACE_MAKER_HOME="$home" "$PACE" report daily --json --timezone UTC > "$WORK/ours-daily.json"
  sandboxed CLAUDE_CONFIG_DIR="$data" "$CCUSAGE" daily --json --offline --timezone UTC > "$WORK/ccusage-daily.json"
  sandboxed CLAUDE_CONFIG_DIR="$data" PACE_MAKER_HOME="$home" "$PACE" report blocks --json > "$WORK/ours-blocks.json"
  sandboxed CLAUDE_CONFIG_DIR="$data" "$CCUSAGE" blocks --json --offline > "$WORK/ccusage-blocks.json"
  sandboxed CLAUDE_CONFIG_DIR="$data" PACE_MAKER_HOME="$home" "$PACE" report session --json > "$WORK/ours-session.json"
  sandboxed CLAUDE_CONFIG_DIR="$data" "$CCUSAGE" claude session --json --offline > "$WORK/ccusage-session.json"
  for kind in weekly monthly; do
    sandboxed CLAUDE_CONFIG_DIR="$data" PACE_MAKER_HOME="$home" "$PACE" report "$kind" --json --timezone UTC > "$WORK/ours-$kind.json"
    sandboxed CLAUDE_CONFIG_DIR="$data" "$CCUSAGE" claude "$kind" --json --offline --timezone UTC > "$WORK/ccusage-$kind.json"
  done
  python3 - "$WORK" "$data/manifest.json" <<'PY' || status=1
import json, sys
work, manifest_path = sys.argv[1], sys.argv[2]
ours = json.load(open(f"{work}/ours-daily.json"))
theirs = json.load(open(f"{work}/ccusage-daily.json"))
manifest = json.load(open(manifest_path))
kinds = ["inputTokens", "outputTokens", "cacheCreationTokens", "cacheReadTokens", "totalTokens"]
day = lambda row: row.get("date") or row.get("period")
o = {day(r): r for r in ours["daily"]}
t = {day(r): r for r in theirs["daily"]}
failures = []
if set(o) != set(t):
    failures.append(f"days differ: only ours {sorted(set(o) - set(t))[:5]}, only ccusage {sorted(set(t) - set(o))[:5]}")
for d in sorted(set(o) & set(t)):
    for k in kinds:
        if o[d][k] != t[d][k]:
            failures.append(f"{d} {k}: ours {o[d][k]} ccusage {t[d][k]}")
    oc, tc = o[d]["totalCost"], t[d]["totalCost"]
    if abs(oc - tc) > 0.005 * max(abs(tc), 1e-9):
        failures.append(f"{d} cost: ours {oc:.6f} ccusage {tc:.6f}")
for k in kinds:
    if ours["totals"][k] != theirs["totals"][k]:
        failures.append(f"totals {k}: ours {ours['totals'][k]} ccusage {theirs['totals'][k]}")
    if ours["totals"][k] != manifest["totals"][k]:
        failures.append(f"totals {k}: ours {ours['totals'][k]} generator truth {manifest['totals'][k]}")
# Weeks (from Sunday) and months: the same keys and tokens as ccusage's.
for kind, key in (("weekly", "week"), ("monthly", "month")):
    ow = {r[key]: r for r in json.load(open(f"{work}/ours-{kind}.json"))[kind]}
    tw = {r[key]: r for r in json.load(open(f"{work}/ccusage-{kind}.json"))[kind]}
    if set(ow) != set(tw):
        failures.append(f"{kind} keys differ: only ours {sorted(set(ow) - set(tw))[:5]}, only ccusage {sorted(set(tw) - set(ow))[:5]}")
    for w in sorted(set(ow) & set(tw)):
        for k in kinds:
            if ow[w][k] != tw[w][k]:
                failures.append(f"{kind} {w} {k}: ours {ow[w][k]} ccusage {tw[w][k]}")
oc, tc = ours["totals"]["totalCost"], theirs["totals"]["totalCost"]
cost_delta = abs(oc - tc) / max(abs(tc), 1e-9) * 100
if cost_delta > 0.5:
    failures.append(f"total cost: ours {oc:.4f} ccusage {tc:.4f}")
ob = json.load(open(f"{work}/ours-blocks.json"))["blocks"]
tb = json.load(open(f"{work}/ccusage-blocks.json"))["blocks"]
if len(ob) != len(tb):
    failures.append(f"blocks: ours {len(ob)} ccusage {len(tb)}")
block_fields = ["id", "startTime", "endTime", "actualEndTime", "isGap", "entries", "tokenCounts", "totalTokens", "usageLimitResetTime"]
for a, b in zip(ob, tb):
    for k in block_fields:
        if a.get(k) != b.get(k):
            failures.append(f"block {b['id']} {k}: ours {a.get(k)} ccusage {b.get(k)}")
    if abs(a["costUSD"] - b["costUSD"]) > 0.005 * max(abs(b["costUSD"]), 1e-9):
        failures.append(f"block {b['id']} cost: ours {a['costUSD']} ccusage {b['costUSD']}")
    if sorted(a["models"]) != sorted(b["models"]):
        failures.append(f"block {b['id']} models: ours {a['models']} ccusage {b['models']}")
os_ = {r["sessionId"]: r for r in json.load(open(f"{work}/ours-session.json"))["sessions"]}
ts_ = {r["sessionId"]: r for r in json.load(open(f"{work}/ccusage-session.json"))["sessions"]}
if set(os_) != set(ts_):
    failures.append(f"sessions differ: {len(os_)} ours, {len(ts_)} ccusage")
for sid in set(os_) & set(ts_):
    for k in kinds + ["projectPath", "lastActivity"]:
        if os_[sid].get(k) != ts_[sid].get(k):
            failures.append(f"session {sid} {k}: ours {os_[sid].get(k)} ccusage {ts_[sid].get(k)}")
print(f"sessions: {len(os_)} compared")
print(f"daily: {len(o)} days, {ours['totals']['totalTokens']:,} tokens; "
      f"cost ours ${oc:,.2f} ccusage ${tc:,.2f} (delta {cost_delta:.4f} %); "
      f"blocks: {len(ob)} ({sum(1 for b in ob if b['isGap'])} gaps)")
for f in failures[:20]:
    print("MISMATCH", f)
print("comparison:", "FAILED" if failures else "tokens equal, cost within 0.5 %")
sys.exit(1 if failures else 0)
PY

  # --- 2. full scan, side by side ----------------------------------------------
  echo "full scan, best of $RUNS (wall seconds, max RSS MB):"
  FRESH_HOME="$home"
  ours=$(measure CLAUDE_CONFIG_DIR="$data" PACE_MAKER_HOME="$home" "$PACE" report daily --json --timezone UTC)
  FRESH_HOME=""
  cc=$(measure CLAUDE_CONFIG_DIR="$data" "$CCUSAGE" daily --json --offline --timezone UTC)
  cl=$(measure "$CLAUDELYTICS" --path "$data" --json daily)
  warm=$(measure CLAUDE_CONFIG_DIR="$data" PACE_MAKER_HOME="$home" "$PACE" report daily --json --timezone UTC)
  printf '  %-44s %8s s %6s MB\n' "pace-maker report daily --json (fresh store)" $ours
  printf '  %-44s %8s s %6s MB\n' "ccusage daily --json --offline" $cc
  printf '  %-44s %8s s %6s MB\n' "claudelytics --json daily" $cl
  printf '  %-44s %8s s %6s MB\n' "pace-maker report daily --json (warm store)" $warm

  # --- 3. rescan after appending 1 MB ------------------------------------------
  extra="$WORK/extra-$size"
  rm -rf "$extra"
  "$GEN" --size 1MB --out "$extra" --seed $((SEED + 1)) > /dev/null
  target=$(find "$data/projects" -name '*.jsonl' -not -path '*/subagents/*' | sort | head -1)
  find "$extra/projects" -name '*.jsonl' | sort | xargs cat | head -c 1048576 | sed '$d' > "$WORK/append.jsonl"
  sandboxed CLAUDE_CONFIG_DIR="$data" PACE_MAKER_HOME="$home" "$PACE" report daily --json > /dev/null
  cp "$target" "$WORK/target.backup"
  : > "$WORK/rescans.txt"
  : > "$WORK/idle.txt"
  for _ in $(seq 9); do
    cat "$WORK/append.jsonl" >> "$target"
    sandboxed "$SCAN" --claude-dir "$data" --store "$home/pace-maker.db" >> "$WORK/rescans.txt"
    sandboxed "$SCAN" --claude-dir "$data" --store "$home/pace-maker.db" >> "$WORK/idle.txt"
  done
  python3 - "$WORK" "$(stat -c %s "$WORK/append.jsonl")" <<'PY' || status=1
import json, statistics, sys
work, appended = sys.argv[1], int(sys.argv[2])
runs = [json.loads(l) for l in open(f"{work}/rescans.txt")]
idle = [json.loads(l) for l in open(f"{work}/idle.txt")]
assert all(r["bytes_read"] == appended and r["files_read"] == 1 for r in runs), runs
times = sorted(r["elapsed_ms"] for r in runs)
idle_times = sorted(r["elapsed_ms"] for r in idle)
median = statistics.median(times)
print(f"rescan after appending {appended} bytes ({runs[0]['files_seen']} files), 9 runs: "
      f"median {median:.1f} ms, min {times[0]:.1f} ms, max {times[-1]:.1f} ms "
      f"(store open {statistics.median(r['store_open_ms'] for r in runs):.1f} ms more)")
cpu = sorted(r["cpu_ms"] for r in runs)
print(f"  CPU time of the rescan: median {statistics.median(cpu):.1f} ms, min {cpu[0]:.1f} ms")
print(f"rescan with nothing new: median {statistics.median(idle_times):.1f} ms wall, "
      f"{statistics.median(r['cpu_ms'] for r in idle):.1f} ms CPU")
print("  rescan", "under 20 ms" if median < 20 else "OVER 20 ms")
sys.exit(0 if median < 20 else 1)
PY
  cat "$WORK/append.jsonl" >> "$target"
  report=$(measure CLAUDE_CONFIG_DIR="$data" PACE_MAKER_HOME="$home" "$PACE" report daily --json)
  echo "whole 'report daily --json' after appending again (scan + load + report): $report (s, MB)"
  cp "$WORK/target.backup" "$target"
  rm -rf "$home"
done
exit $status
