# Shared by the benchmark scripts: a sandbox, the release binary, and a
# timing loop that reports the median of many runs. Sourced, not run.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
runs="${RUNS:-300}"
warmup="${WARMUP:-20}"

# The binary under test: $PACE_MAKER_BIN, else a release build.
if [[ -z "${PACE_MAKER_BIN:-}" ]]; then
  cargo build --release --quiet --manifest-path "$repo/Cargo.toml"
  PACE_MAKER_BIN="$repo/target/release/pace-maker"
fi
bin="$PACE_MAKER_BIN"

sandbox="$(mktemp -d)"
trap 'rm -rf "$sandbox"' EXIT
mkdir -p "$sandbox/user/.claude" "$sandbox/project"
# Nothing from the caller's own pace-maker setup leaks in.
while read -r name; do unset "$name"; done < <(env | sed -n 's/^\(PACE_MAKER_[A-Z_]*\)=.*/\1/p')
export HOME="$sandbox/user"
export PACE_MAKER_HOME="$sandbox/user/.claude-pace-maker"
export CLAUDE_CONFIG_DIR="$sandbox/user/.claude"
export CLAUDE_PROJECT_DIR="$sandbox/project"
# A dead port: should anything try to poll, it fails at once instead of
# reaching beyond this machine.
export PACE_MAKER_API_BASE="http://127.0.0.1:9"
cd "$sandbox/project"
# Wall-clock figures mean little on a loaded machine: say how loaded it is.
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo unknown)"

# time_runs NAME INPUT_FILE ARGS...: runs `$bin ARGS < INPUT_FILE` $warmup
# times unmeasured, then $runs times, and prints the median and p90 in ms.
time_runs() {
  local name="$1" input="$2"
  shift 2
  local i start end
  local -a samples=()
  for ((i = 0; i < warmup; i++)); do "$bin" "$@" <"$input" >/dev/null; done
  for ((i = 0; i < runs; i++)); do
    start=$EPOCHREALTIME
    "$bin" "$@" <"$input" >/dev/null
    end=$EPOCHREALTIME
    samples+=("$(awk -v s="$start" -v e="$end" 'BEGIN { printf "%.3f", (e - s) * 1000 }')")
  done
  printf '%s\n' "${samples[@]}" | sort -n | awk -v name="$name" -v n="$runs" '
    { v[NR] = $1 }
    END {
      median = (n % 2) ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2
      printf "%-40s runs %d  median %.2f ms  p90 %.2f ms  min %.2f ms\n", name, n, median, v[int(n * 0.9)], v[1]
    }'
}
