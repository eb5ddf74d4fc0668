#!/usr/bin/env bash
# Pacing judged over many seeds: every built-in scenario at seeds 1 to
# $SEEDS (200 by default), every policy, on every core, then the verdict
# the simulator's acceptance asks of pace-maker:
#   - 0 lockout minutes at every seed of every scenario;
#   - no needless delay (delay where no pacing stays under the target);
#   - at least 0.95 of the oracle's work at every seed over budget;
#   - its mean efficiency at or above the reference pacer's, less the
#     noise band (0.02) stated in docs/simulator.md.
# And how long `simulate --compare` takes at the default seeds.
#
#   bash benches/simulate-seeds.sh            # 200 seeds
#   SEEDS=32 bash benches/simulate-seeds.sh   # quicker
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
seeds="${SEEDS:-200}"
cargo build --release --quiet --manifest-path "$repo/Cargo.toml"
bin="$repo/target/release/pace-maker"
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo unknown), cores: $(nproc)"

start=$(date +%s.%N)
"$bin" simulate --compare >/dev/null
end=$(date +%s.%N)
echo "simulate --compare (every built-in at its default seed): $(echo "$end - $start" | bc) s"

out="$(mktemp)"
trap 'rm -f "$out"' EXIT
start=$(date +%s.%N)
"$bin" simulate --compare --seeds "$seeds" --json >"$out"
end=$(date +%s.%N)
echo "simulate --compare --seeds $seeds: $(echo "$end - $start" | bc) s"

python3 - "$out" <<'PY'
import json, sys
data = json.load(open(sys.argv[1]))
failures = []
print(f"{'scenario':<18}{'over':>6}  {'policy':<12}{'locked':>7}{'max min':>9}{'needless s':>11}{'vs oracle':>10}{'min':>8}{'eff':>8}")
for scenario in data["scenarios"]:
    means = {m["policy"]: m for m in scenario["over_seeds"]}
    for name, m in means.items():
        print(f"{scenario['scenario']:<18}{m['seeds_over_budget']:>6}  {name:<12}{m['seeds_locked_out']:>7}"
              f"{m['max_lockout_minutes']:>9.1f}{m['needless_delay_seconds']:>11.0f}"
              f"{m['mean_work_vs_oracle']:>10.4f}{m['min_work_vs_oracle']:>8.4f}{m['mean_efficiency']:>8.4f}")
    ours, ref = means["pace-maker"], means["reference"]
    where = scenario["scenario"]
    if ours["seeds_locked_out"]:
        failures.append(f"{where}: locked out at {ours['seeds_locked_out']} seeds")
    if ours["needless_delay_seconds"] > 0:
        failures.append(f"{where}: {ours['needless_delay_seconds']:.0f} s of needless delay")
    if ours["seeds_over_budget"] and ours["min_work_vs_oracle"] < 0.95:
        failures.append(f"{where}: {ours['min_work_vs_oracle']:.4f} of the oracle's work at some seed")
    if ours["mean_efficiency"] < ref["mean_efficiency"] - 0.02:
        failures.append(f"{where}: mean efficiency {ours['mean_efficiency']:.4f} against the reference's {ref['mean_efficiency']:.4f}")
print()
if failures:
    print("pace-maker falls short:")
    for failure in failures:
        print("  " + failure)
    sys.exit(1)
print("pace-maker: no lockout, no needless delay, 0.95 of the oracle or more, level with or ahead of the reference")
PY
