"""The scan floor of a library run, in DuckDB on the same files: read the columns the
library needs and group them by user once, with a few aggregates.

usage: python3 benches/peers/scan_floor_duckdb.py LAKE/events   (pip install duckdb)
Prints "duckdb scan floor: <best seconds>s" (best of three, all cores, Arrow result).
"""

import sys
import time

import duckdb

QUERY = """
SELECT user_id, count(*), min(event_time), max(event_time),
       count(*) FILTER (WHERE event_name = 'purchase'), sum(revenue),
       count(DISTINCT event_name)
FROM read_parquet(?, hive_partitioning = true)
GROUP BY user_id
"""


def main() -> None:
    events = sys.argv[1].rstrip("/")
    con = duckdb.connect()
    best = None
    for _ in range(3):
        started = time.perf_counter()
        con.execute(QUERY, [events + "/**/*.parquet"]).fetchall()
        took = time.perf_counter() - started
        best = took if best is None else min(best, took)
    print(f"duckdb scan floor: {best:.2f}s")


if __name__ == "__main__":
    main()
