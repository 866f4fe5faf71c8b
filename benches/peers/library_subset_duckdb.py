"""The segments of the shipped library that plain SQL expresses, in DuckDB on the same files,
fused into one GROUP BY user as segmint fuses them — with the members compared to what
segmint committed.

usage: python3 benches/peers/library_subset_duckdb.py LAKE OUTPUT AS_OF
  LAKE: the generated lake (events/, profiles/); OUTPUT: segmint's output folder after
  `segmint run --as-of AS_OF` over the same segments (see benches/scripts/library_vs_duckdb.sh).
Prints DuckDB's best of three (all cores) and, per segment, the member counts of both and
whether the member sets are equal. (pip install duckdb deltalake)
"""

import datetime as dt
import sys
import time

import duckdb
from deltalake import DeltaTable

# Membership conditions only (segmint's run is given the same segments without outputs).
# Windows end at the start of the day after AS_OF (UTC); `within: Nd` is [end - N days, end).
SEGMENTS = {
    "heavy_users": "count(DISTINCT CAST(event_time AS DATE)) FILTER (WHERE event_time >= $end - INTERVAL 28 DAY) >= 20",
    "light_users": "count(*) FILTER (WHERE event_time >= $end - INTERVAL 30 DAY) >= 1 AND "
    "count(DISTINCT CAST(event_time AS DATE)) FILTER (WHERE event_time >= $end - INTERVAL 30 DAY) <= 3",
    "new_users": "min(event_time) >= $end - INTERVAL 14 DAY",
    "lapsed_users": "max(event_time) < $end - INTERVAL 30 DAY",
    "big_spenders": "coalesce(sum(revenue) FILTER (WHERE event_name = 'purchase' AND event_time >= $end - INTERVAL 90 DAY), 0) >= 1000",
    "support_seekers": "count(*) FILTER (WHERE event_name = 'support_ticket' AND event_time >= $end - INTERVAL 30 DAY) >= 1",
    "video_watchers_no_cart": "count(*) FILTER (WHERE event_name = 'video_view' AND event_time >= $end - INTERVAL 30 DAY) >= 3 AND "
    "count(*) FILTER (WHERE event_name = 'add_to_cart' AND event_time >= $end - INTERVAL 30 DAY) = 0",
    "frequent_unconverted_visitors": "count(*) FILTER (WHERE event_name = 'product_view' AND category = 'camping' AND event_time >= $end - INTERVAL 30 DAY) >= 12 AND "
    "count(*) FILTER (WHERE event_name = 'purchase' AND event_time >= $end - INTERVAL 90 DAY) = 0",
}


def query(events: str) -> str:
    columns = ",\n  ".join(f"({cond}) AS {name}" for name, cond in SEGMENTS.items())
    return (
        f"SELECT user_id,\n  {columns}\n"
        f"FROM read_parquet('{events}/**/*.parquet', hive_partitioning = true)\n"
        "WHERE event_time < $end AND date <= $end_day\n"
        "GROUP BY user_id"
    )


def main() -> None:
    lake, output, as_of = sys.argv[1].rstrip("/"), sys.argv[2].rstrip("/"), sys.argv[3]
    day = dt.date.fromisoformat(as_of)
    end = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), dt.timezone.utc)
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    sql = query(lake + "/events")
    params = {"end": end, "end_day": day + dt.timedelta(days=1)}
    best, rows = None, None
    for _ in range(3):
        started = time.perf_counter()
        rows = con.sql(sql, params=params).to_arrow_table()
        took = time.perf_counter() - started
        best = took if best is None else min(best, took)
    print(f"duckdb {len(SEGMENTS)} segments fused: {best:.2f}s")
    committed = (
        DeltaTable(output + "/members")
        .to_pyarrow_table(filters=[("as_of", "=", day)], columns=["segment", "entity"])
        .to_pylist()
    )
    by_segment: dict[str, set[str]] = {}
    for r in committed:
        by_segment.setdefault(r["segment"], set()).add(r["entity"])
    users = rows.column("user_id").to_pylist()
    equal = True
    for name in SEGMENTS:
        flags = rows.column(name).to_pylist()
        duck = {u for u, f in zip(users, flags) if f}
        seg = by_segment.get(name, set())
        same = duck == seg
        equal &= same
        print(f"  {name:<32} duckdb {len(duck):>6}  segmint {len(seg):>6}  {'same' if same else 'DIFFERENT'}")
    if not equal:
        sys.exit(1)


if __name__ == "__main__":
    main()
