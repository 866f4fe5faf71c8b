#!/usr/bin/env bash
# The shipped library as daily incremental runs (`incremental:` in the project) against a
# full recompute of the same as-of: wall time and peak RSS of each `segmint run` (release
# build), the ratio, and whether both committed the same member rows (read back with the
# `deltalake` Python reader).
#
#   1. full runs of D-1 and D (no `incremental:`)                 -> out-full (D timed)
#   2. the first incremental run, of D-DAYS: summarises all history and builds the
#      blocks                                                      -> out-incremental
#   3. daily incremental runs of D-DAYS+1 ... D, each timed: each reads its day (and one
#      lookback day) plus the summaries; the day a chunk of days closes also merges its
#      blocks (docs/incremental.md)
# Both timed runs of D have a committed previous day, so both compute entered/exited.
#
# usage: benches/scripts/library_incremental.sh [USERS]
#   USERS defaults to 60000 (about 20 M events over 121 days). DAYS (default 7): daily runs.
#   SEGMINT=path/to/segmint (default target/release/segmint), PYTHON=python with deltalake,
#   DIR=where the lake and outputs go (default target/bench-library-USERS).
set -euo pipefail
cd "$(dirname "$0")/../.."
source benches/scripts/generated_lake.sh "${1:-}"
rm -rf "$dir/segments" "$dir/out-full" "$dir/out-incremental" "$dir"/summary-incremental-* "$dir"/time-incremental-*
cp -r segments "$dir/segments"
write_project full.yaml out-full segments profiles
write_project incremental.yaml out-incremental segments profiles
echo "incremental: {lookback_days: 1}" >> "$dir/incremental.yaml"
day=2026-11-22
previous=2026-11-21
days="${DAYS:-7}"
day_before() { date -u -d "$day - $1 days" +%F; }

timed() { # timed NAME PROJECT AS_OF: run, print wall / RSS / timings
  /usr/bin/time -f "%e %M" -o "$dir/time-$1.txt" "$segmint" -p "$dir/$2" run --as-of "$3" --json > "$dir/summary-$1.json"
  read -r wall rss_kb < "$dir/time-$1.txt"
  "$python" - "$dir/summary-$1.json" "$wall" "$rss_kb" "$1" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
wall, rss, name = float(sys.argv[2]), int(sys.argv[3]) / 1024, sys.argv[4]
t, inc = s["timings_ms"], s.get("incremental") or {}
extra = (f", {inc.get('mode')}: {inc.get('days_summarised')} days summarised, "
         f"{inc.get('days_merged')} merged from {inc.get('files_read')} files") if inc else ""
print(f"{name}: {wall:.2f}s wall, peak RSS {rss:.0f} MB (plan {t.get('plan')} ms, "
      f"summarise {t.get('summarise', 0)} ms, execute {t.get('execute')} ms, write {t.get('write')} ms{extra})")
PY
}

timed full-previous full.yaml "$previous" > /dev/null
timed full full.yaml "$day"
timed first-incremental incremental.yaml "$(day_before "$days")"
for back in $(seq $((days - 1)) -1 0); do
  timed "incremental-$(day_before "$back")" incremental.yaml "$(day_before "$back")"
done
"$python" - "$dir" "$day" <<'PY'
import datetime, glob, statistics, sys
import deltalake, pyarrow.compute as pc
d, day = sys.argv[1], sys.argv[2]
wall = lambda name: float(open(f"{d}/time-{name}.txt").read().split()[0])
daily = sorted(glob.glob(f"{d}/time-incremental-*.txt"))
walls = [float(open(f).read().split()[0]) for f in daily]
full, mean = wall("full"), statistics.mean(walls)
print(f"daily incremental runs: mean {mean:.2f}s, median {statistics.median(walls):.2f}s, "
      f"max {max(walls):.2f}s over {len(walls)} days")
print(f"ratio full / incremental of {day}: {full / wall('incremental-' + day):.1f}x; "
      f"full / mean daily incremental: {full / mean:.1f}x")
def rows(out):
    t = deltalake.DeltaTable(f"{d}/{out}/members").to_pyarrow_table()
    t = t.filter(pc.equal(t["as_of"], datetime.date.fromisoformat(day)))
    cols = sorted(t.column_names)
    return sorted(tuple(str(r[c]) for c in cols) for r in t.select(cols).to_pylist())
full_rows, inc = rows("out-full"), rows("out-incremental")
print(f"member rows: full {len(full_rows)}, incremental {len(inc)}, identical: {full_rows == inc}")
PY
