#!/usr/bin/env bash
# The many-seed simulation soak: the DC chaos test (one DC, fake gate) and the whole-cluster
# chaos test (3 gates, 2 DCs) over SEEDS seeds each (default 10,000), split over one process per
# core; SUITES=dc or SUITES=whole runs one of them. A failing seed prints its replay command.
set -euo pipefail
cd "$(dirname "$0")/.."
seeds="${SEEDS:-10000}"
shards="${SHARDS:-$(node -e 'console.log(require("node:os").availableParallelism())')}"
per=$(( (seeds + shards - 1) / shards ))
suites="${SUITES:-dc whole}"
declare -A files=([dc]=dist/test/nodes/dc/chaos.sim.test.js [whole]=dist/test/nodes/whole/whole-chaos.sim.test.js)
for suite in $suites; do
file="${files[$suite]:-}"
if [[ -z "$file" ]]; then
  echo "test:sim: SUITES names '$suite'; allowed: dc, whole" >&2
  exit 2
fi
echo "test:sim: ${seeds} seeds of the ${suite} chaos test in ${shards} processes of ${per} ($(date -u +%H:%M:%S))"
pids=()
for ((i = 0; i < shards; i++)); do
  base=$(( 1 + i * per ))
  count=$(( seeds - i * per < per ? seeds - i * per : per ))
  (( count > 0 )) || break
  SALVO_SIM_SEED_BASE="$base" SALVO_SIM_SEEDS="$count" \
    node --test --test-reporter=dot "$file" \
    > "dist/test-sim.$suite.$i.log" 2>&1 &
  pids+=("$!")
done
failed=0
for i in "${!pids[@]}"; do
  if ! wait "${pids[$i]}"; then
    failed=1
    grep -E 'replay:|AssertionError|Error' "dist/test-sim.$suite.$i.log" | head -40
  fi
done
if (( failed )); then
  echo "test:sim: failures above (logs in dist/test-sim.$suite.*.log)"
  exit 1
fi
echo "test:sim: ${seeds} seeds of the ${suite} chaos test passed ($(date -u +%H:%M:%S))"
done
