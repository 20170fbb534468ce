#!/usr/bin/env bash
# The many-seed simulation soak: the DC chaos test over SEEDS seeds (default 10,000), split
# over one process per core. A failing seed prints the command that replays it alone.
set -euo pipefail
cd "$(dirname "$0")/.."
seeds="${SEEDS:-10000}"
shards="${SHARDS:-$(node -e 'console.log(require("node:os").availableParallelism())')}"
per=$(( (seeds + shards - 1) / shards ))
echo "test:sim: ${seeds} seeds of the DC chaos test in ${shards} processes of ${per}"
pids=()
for ((i = 0; i < shards; i++)); do
  base=$(( 1 + i * per ))
  count=$(( seeds - i * per < per ? seeds - i * per : per ))
  (( count > 0 )) || break
  SALVO_SIM_SEED_BASE="$base" SALVO_SIM_SEEDS="$count" \
    node --test --test-reporter=dot dist/test/nodes/dc/chaos.sim.test.js \
    > "dist/test-sim.$i.log" 2>&1 &
  pids+=("$!")
done
failed=0
for i in "${!pids[@]}"; do
  if ! wait "${pids[$i]}"; then
    failed=1
    grep -E 'replay:|AssertionError|Error' "dist/test-sim.$i.log" | head -40
  fi
done
if (( failed )); then
  echo "test:sim: failures above (logs in dist/test-sim.*.log)"
  exit 1
fi
echo "test:sim: ${seeds} seeds passed"
