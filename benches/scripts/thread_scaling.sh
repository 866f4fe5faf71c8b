#!/usr/bin/env bash
# Thread scaling of a whole-library run: the same release `segmint run` pinned to 1, 2, 4, 8
# and 16 cores (as many as the machine has) with `taskset`; segmint sizes its partitions and
# threads from the cores it may use. Prints wall time, speed-up over one core and peak RSS.
#
# usage: benches/scripts/thread_scaling.sh [USERS]
#   USERS defaults to 60000 (about 20 M events). SEGMINT=path/to/segmint (default
#   target/release/segmint), DIR=where the lake and output go (default
#   target/bench-library-USERS, shared with library_run.sh).
set -euo pipefail
cd "$(dirname "$0")/../.."
source benches/scripts/generated_lake.sh "${1:-}"
rm -rf "$dir/segments-scaling"
cp -r segments "$dir/segments-scaling"
write_project scaling.yaml out-scaling segments-scaling profiles
cores=$(nproc)
one=""
# Each core count runs twice: with segmint's one malloc arena (its default on glibc) and with
# glibc's own default of 8 arenas per core, to show what the single arena costs as threads grow.
run() { # run CORES ARENAS: sets wall and rss_kb
  rm -rf "$dir/out-scaling"
  MALLOC_ARENA_MAX="$2" /usr/bin/time -f "%e %M" -o "$dir/scaling-time.txt" \
    taskset -c "0-$(($1 - 1))" \
    "$segmint" -p "$dir/scaling.yaml" run --as-of 2026-11-22 --json > /dev/null
  read -r wall rss_kb < "$dir/scaling-time.txt"
}
for n in 1 2 4 8 16; do
  if [ "$n" -gt "$cores" ]; then break; fi
  run "$n" 1
  if [ -z "$one" ]; then one=$wall; fi
  printf "%2d cores: %6.2fs  speed-up %5.2fx  peak RSS %5d MB" "$n" "$wall" \
    "$(echo "$one / $wall" | bc -l)" "$((rss_kb / 1024))"
  run "$n" $((8 * n))
  printf "  | %d arenas: %6.2fs  peak RSS %5d MB\n" $((8 * n)) "$wall" "$((rss_kb / 1024))"
done
