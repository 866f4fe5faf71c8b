#!/usr/bin/env bash
# The shipped library as a daily incremental run (`incremental:` in the project) against a
# full recompute of the same as-of: wall time and peak RSS of each `segmint run` (release
# build), the ratio, and whether both committed the same member rows (read back with the
# `deltalake` Python reader).
#
#   1. full runs of D-1 and D (no `incremental:`)       -> out-full (D timed)
#   2. incremental run of D-1: the first, summarises all history  -> out-incremental
#   3. incremental run of D: reads day D (and one lookback day) plus the summaries
# Both timed runs of D have a committed previous day, so both compute entered/exited.
#
# usage: benches/scripts/library_incremental.sh [USERS]
#   USERS defaults to 60000 (about 20 M events over 121 days).
#   SEGMINT=path/to/segmint (default target/release/segmint), PYTHON=python with deltalake,
#   DIR=where the lake and outputs go (default target/bench-library-USERS).
set -euo pipefail
cd "$(dirname "$0")/../.."
source benches/scripts/generated_lake.sh "${1:-}"
rm -rf "$dir/segments" "$dir/out-full" "$dir/out-incremental"
cp -r segments "$dir/segments"
write_project full.yaml out-full segments profiles
write_project incremental.yaml out-incremental segments profiles
echo "incremental: {lookback_days: 1}" >> "$dir/incremental.yaml"
day=2026-11-22
previous=2026-11-21

timed() { # timed NAME PROJECT AS_OF: run, print wall / RSS / timings
  /usr/bin/time -f "%e %M" -o "$dir/time-$1.txt" "$segmint" -p "$dir/$2" run --as-of "$3" --json > "$dir/summary-$1.json"
  read -r wall rss_kb < "$dir/time-$1.txt"
  "$python" - "$dir/summary-$1.json" "$wall" "$rss_kb" "$1" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
wall, rss, name = float(sys.argv[2]), int(sys.argv[3]) / 1024, sys.argv[4]
t, inc = s["timings_ms"], s.get("incremental") or {}
extra = (f", {inc.get('mode')}: {inc.get('days_summarised')} days summarised, "
         f"{inc.get('days_merged')} merged") if inc else ""
print(f"{name}: {wall:.2f}s wall, peak RSS {rss:.0f} MB (plan {t.get('plan')} ms, "
      f"summarise {t.get('summarise', 0)} ms, execute {t.get('execute')} ms, write {t.get('write')} ms{extra})")
PY
}

timed full-previous full.yaml "$previous" > /dev/null
timed full full.yaml "$day"
timed first-incremental incremental.yaml "$previous"
timed incremental incremental.yaml "$day"
"$python" - "$dir" "$day" <<'PY'
import sys, deltalake
d, day = sys.argv[1], sys.argv[2]
walls = {n: float(open(f"{d}/time-{n}.txt").read().split()[0]) for n in ("full", "incremental")}
print(f"ratio full / incremental: {walls['full'] / walls['incremental']:.1f}x")
def rows(out):
    t = deltalake.DeltaTable(f"{d}/{out}/members").to_pyarrow_table()
    t = t.filter(__import__("pyarrow.compute", fromlist=["x"]).equal(t["as_of"], __import__("datetime").date.fromisoformat(day)))
    cols = sorted(c for c in t.column_names)
    return sorted(tuple(str(r[c]) for c in cols) for r in t.select(cols).to_pylist())
full, inc = rows("out-full"), rows("out-incremental")
print(f"member rows: full {len(full)}, incremental {len(inc)}, identical: {full == inc}")
PY
