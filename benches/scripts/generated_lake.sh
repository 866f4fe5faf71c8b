# Sourced by the library benchmarks (library_run.sh, library_vs_duckdb.sh,
# thread_scaling.sh): the generated lake they share, and their project files.
#
# Sets `users` (the first argument, default 60000), `segmint` (SEGMINT, default
# target/release/segmint), `python` (PYTHON, default python3) and `dir` (DIR, default
# target/bench-library-USERS, or target/bench-library-USERS-DAYSd with LAKE_DAYS);
# generates the lake under "$dir/lake" unless it is there, with LAKE_DAYS days of events
# (default 120, ending 2026-11-22).
users="${1:-60000}"
segmint="${SEGMINT:-target/release/segmint}"
python="${PYTHON:-python3}"
lake_days="${LAKE_DAYS:-120}"
if [ -n "${LAKE_DAYS:-}" ]; then
  dir="${DIR:-target/bench-library-$users-${lake_days}d}"
else
  dir="${DIR:-target/bench-library-$users}"
fi
mkdir -p "$dir"
if [ ! -d "$dir/lake/events" ]; then
  "$segmint" generate-lake --out "$dir/lake" --users "$users" --days "$lake_days" >/dev/null
fi

# write_project FILE OUTPUT SEGMENTS [profiles]: a project over "$dir/lake" (with its
# profiles table when the fourth argument is `profiles`), writing to "$dir/OUTPUT".
write_project() {
  local profiles=""
  if [ "${4:-}" = profiles ]; then
    profiles=$'\n  profiles:\n    location: lake/profiles\n    key: user_id'
  fi
  cat > "$dir/$1" <<YAML
lake:
  events:
    location: lake/events
    partitioning: {date: date}
    columns: {entity: user_id, time: event_time, event: event_name}$profiles
output:
  location: $2
timezone: UTC
segments: $3
YAML
}
