#!/usr/bin/env bash
# Quick side-by-side loop: salvo (CLI, one worker) vs autocannon against one target, both
# pinned to core 1. Prints req/s, CPU seconds (user+sys) and peak RSS for each.
#   bench/profile/ab.sh PORT closed|open VUS_OR_RATE [SECONDS]
set -euo pipefail
cd "$(dirname "$0")/../.."
port=$1; mode=$2; n=$3; secs=${4:-8}
url=http://127.0.0.1:$port
out=$(mktemp /tmp/salvo-ab.XXXXXX.json)
t=$(mktemp)
if [ "$mode" = closed ]; then
  /usr/bin/time -f "%U %S %M" -o "$t" taskset -c 1 node bin/salvo.js run bench/profile/closed.ts \
    --workers 1 --no-check -q --target "$url" --out "$out" --vus "$n" --duration "${secs}s" || true
else
  /usr/bin/time -f "%U %S %M" -o "$t" taskset -c 1 node bin/salvo.js run bench/profile/open.ts \
    --workers 1 --no-check -q --target "$url" --out "$out" --rate "$n" --duration "${secs}s" || true
fi
read -r u s m < <(tail -1 "$t")
node -e '
const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
const w = r.workflows[0]; const st = Object.values(w.steps)[0];
const secs = (r.run?.durationMs ?? r.durationMs ?? 0) / 1000;
const cpu = Number(process.argv[2]) + Number(process.argv[3]);
console.log(`salvo      reqs=${st.count} ok=${st.ok} dur=${secs}s req/s=${(st.count / Number(process.argv[5])).toFixed(0)} cpu=${cpu.toFixed(2)}s cpu/100k=${(cpu * 1e5 / st.count).toFixed(2)} rss=${(Number(process.argv[4]) / 1024).toFixed(0)}MB p50=${st.latency?.p50}`);
' "$out" "$u" "$s" "$m" "$secs" 2>&1 || { echo "salvo result unreadable: $out"; head -c 600 "$out"; }
if [ "$mode" = closed ]; then
  /usr/bin/time -f "%U %S %M" -o "$t" taskset -c 1 node node_modules/autocannon/autocannon.js -j \
    -c "$n" -d "$secs" "$url" > "$out.ac" 2>/dev/null || true
else
  /usr/bin/time -f "%U %S %M" -o "$t" taskset -c 1 node node_modules/autocannon/autocannon.js -j \
    -c 200 --overallRate "$n" -d "$secs" "$url" > "$out.ac" 2>/dev/null || true
fi
read -r u s m < <(tail -1 "$t")
node -e '
const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
const cpu = Number(process.argv[2]) + Number(process.argv[3]);
const n = r.requests.total;
console.log(`autocannon reqs=${n} req/s=${(n / Number(process.argv[5])).toFixed(0)} cpu=${cpu.toFixed(2)}s cpu/100k=${(cpu * 1e5 / n).toFixed(2)} rss=${(Number(process.argv[4]) / 1024).toFixed(0)}MB p50=${r.latency.p50}`);
' "$out.ac" "$u" "$s" "$m" "$secs"
rm -f "$t" "$out" "$out.ac"
