#!/usr/bin/env bash
# The shipped library over a generated lake, as a daily run sees it: wall time and peak RSS
# of `segmint run` (release build), its own timings and memory summary, and DuckDB's scan
# floor on the same files (benches/peers/scan_floor_duckdb.py) for the ratio.
#
# usage: benches/scripts/library_run.sh [USERS] [EXTRA segmint FLAGS...]
#   USERS defaults to 60000 (about 20 M events over 121 days).
#   SEGMINT=path/to/segmint (default target/release/segmint), PYTHON=python with duckdb,
#   DIR=where the lake and output go (default target/bench-library-USERS).
set -euo pipefail
cd "$(dirname "$0")/../.."
source benches/scripts/generated_lake.sh "${1:-}"
shift || true
rm -rf "$dir/segments" "$dir/out"
cp -r segments "$dir/segments"
write_project segmint.yaml out segments profiles
events=$(find "$dir/lake/events" -name '*.parquet' | wc -l)
echo "lake: $users users, $events day files under $dir/lake"
/usr/bin/time -f "%e %M" -o "$dir/time.txt" "$segmint" -p "$dir/segmint.yaml" "$@" \
  run --as-of 2026-11-22 --json > "$dir/summary.json"
read -r wall rss_kb < "$dir/time.txt"
"$python" - "$dir/summary.json" "$wall" "$rss_kb" <<'PY'
import json, sys
summary = json.load(open(sys.argv[1]))
wall, rss = float(sys.argv[2]), int(sys.argv[3]) / 1024
t, m = summary["timings_ms"], summary.get("memory", {})
print(f"segmint run: {wall:.2f}s wall, peak RSS {rss:.0f} MB "
      f"(plan {t.get('plan')} ms, execute {t.get('execute')} ms, write {t.get('write')} ms; "
      f"pool peak {m.get('peak_bytes', 0) / 1e6:.0f} MB, spills {m.get('spills')})")
PY
floor=$("$python" benches/peers/scan_floor_duckdb.py "$dir/lake/events")
echo "$floor"
"$python" -c "import sys; w=float(sys.argv[1]); f=float(sys.argv[2].split()[-1].rstrip('s')); print(f'ratio segmint run / duckdb scan floor: {w/f:.1f}x')" "$wall" "$floor"
