#!/usr/bin/env bash
# `segmint identity build` over a synthetic identifier graph (benches/peers/identity_graph.py):
# rounds, wall time and peak RSS of a release build, with the build's own timings; then
# `identity update` for one more day (benches/peers/identity_day.py: about 1.5 % of the
# people touched) against a full rebuild of the same days.
#
# usage: benches/scripts/identity_build.sh [PEOPLE]
#   PEOPLE defaults to 1250000 (about 10 M identifiers and 20 M edges).
#   SEGMINT=path/to/segmint (default target/release/segmint), PYTHON=python with pyarrow,
#   DIR=where the lake and output go (default target/bench-identity-PEOPLE).
set -euo pipefail
cd "$(dirname "$0")/../.."
people="${1:-1250000}"
segmint="${SEGMINT:-target/release/segmint}"
python="${PYTHON:-python3}"
dir="${DIR:-target/bench-identity-$people}"
mkdir -p "$dir"
if [ ! -d "$dir/lake/events" ]; then
  "$python" benches/peers/identity_graph.py "$dir/lake" "$people"
fi
rm -rf "$dir/lake/events/date=2026-11-23"
rm -rf "$dir/out"
mkdir -p "$dir/segments"
cat > "$dir/segmint.yaml" <<YAML
lake:
  events:
    location: lake/events
    partitioning: {date: date}
    columns: {entity: user_id, time: event_time, event: event_name}
output:
  location: out
timezone: UTC
segments: segments
identity:
  identifiers: [user_id, email_hash, anonymous_id, push_token]
  limits: {user_id: 1, email_hash: 1}
YAML
/usr/bin/time -f "%e %M" -o "$dir/time.txt" "$segmint" -p "$dir/segmint.yaml" \
  identity build --as-of 2026-11-22 --json > "$dir/summary.json"
read -r wall rss_kb < "$dir/time.txt"
"$python" - "$dir/summary.json" "$wall" "$rss_kb" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
wall, rss = float(sys.argv[2]), int(sys.argv[3]) / 1024
print(f"identity build: {s['identifiers']} identifiers, {s['edges']} edges -> {s['people']} people; "
      f"{s['rounds']} contraction rounds; {wall:.1f}s wall, peak RSS {rss:.0f} MB")
print(f"  read {s['read_ms']} ms, components {s['components_ms']} ms, "
      f"stitch {s['stitch_ms']} ms, write {s['write_ms']} ms; dropped {s['dropped_edges']}")
PY

"$python" benches/peers/identity_day.py "$dir/lake" "$people" 2026-11-23
/usr/bin/time -f "%e %M" -o "$dir/time.txt" "$segmint" -p "$dir/segmint.yaml" \
  identity update --as-of 2026-11-23 --json > "$dir/update.json"
read -r uwall urss_kb < "$dir/time.txt"
/usr/bin/time -f "%e %M" -o "$dir/time.txt" "$segmint" -p "$dir/segmint.yaml" \
  identity build --as-of 2026-11-23 --json > "$dir/rebuild.json"
read -r rwall rrss_kb < "$dir/time.txt"
"$python" - "$dir/update.json" "$uwall" "$urss_kb" "$rwall" "$rrss_kb" <<'PY'
import json, sys
u = json.load(open(sys.argv[1]))
uw, ur, rw, rr = float(sys.argv[2]), int(sys.argv[3]) / 1024, float(sys.argv[4]), int(sys.argv[5]) / 1024
print(f"identity update (one more day): {u['components']} components re-stitched, {u['merges']} merges; "
      f"{uw:.1f}s wall, peak RSS {ur:.0f} MB (read {u['read_ms']} ms, stitch {u['stitch_ms']} ms, "
      f"write {u['write_ms']} ms)")
print(f"full rebuild of the same days: {rw:.1f}s wall, peak RSS {rr:.0f} MB; update/rebuild {uw / rw:.2f}")
PY
