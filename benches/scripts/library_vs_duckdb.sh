#!/usr/bin/env bash
# The segments of the shipped library that plain SQL expresses (benches/peers/
# library_subset_duckdb.py: activity, recency, spend, counts with and without events), run by
# segmint (release, one fused plan, membership only) and by DuckDB (one fused GROUP BY) on the
# same files; the members are compared.
#
# usage: benches/scripts/library_vs_duckdb.sh [USERS]
#   USERS defaults to 60000 (about 20 M events). SEGMINT=path/to/segmint (default
#   target/release/segmint), PYTHON=python with duckdb and deltalake, DIR=where the lake and
#   output go (default target/bench-library-USERS, shared with library_run.sh).
set -euo pipefail
cd "$(dirname "$0")/../.."
source benches/scripts/generated_lake.sh "${1:-}"
subset="heavy_users light_users new_users lapsed_users big_spenders support_seekers video_watchers_no_cart frequent_unconverted_visitors"
rm -rf "$dir/subset" "$dir/out-subset"
mkdir -p "$dir/subset"
for s in $subset; do
  # Membership only: everything from `outputs:` on is cut.
  sed '/^outputs:/,$d' "segments/$s.yaml" > "$dir/subset/$s.yaml"
done
write_project subset.yaml out-subset subset
best=""
for _ in 1 2 3; do
  rm -rf "$dir/out-subset"
  start=$(date +%s.%N)
  "$segmint" -p "$dir/subset.yaml" run --as-of 2026-11-22 --json > "$dir/subset-summary.json"
  took=$(echo "$(date +%s.%N) - $start" | bc)
  if [ -z "$best" ] || [ "$(echo "$took < $best" | bc)" = 1 ]; then best=$took; fi
done
printf "segmint %s segments fused: %.2fs (best of three, wall, including the Delta commit)\n" \
  "$(echo $subset | wc -w)" "$best"
"$python" benches/peers/library_subset_duckdb.py "$dir/lake" "$dir/out-subset" 2026-11-22
