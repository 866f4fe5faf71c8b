"""DuckDB on the same Parquet file as benches/benches/distinct_count.rs.

usage: python3 benches/peers/distinct_count_duckdb.py LOG.parquet   (pip install duckdb pyarrow)
Prints one line per query shape: "duckdb  <shape>  <best seconds>s" (best of three after a
warm-up), using all cores, like DataFusion's default. Results are collected as Arrow, as
DataFusion's are.
"""

import sys
import time

import duckdb

SHAPES = [
    (
        "count(DISTINCT activity)",
        "SELECT case_id, count(*), min(ts), max(ts), count(DISTINCT activity) "
        "FROM read_parquet(?) GROUP BY case_id",
    ),
    (
        "no distinct",
        "SELECT case_id, count(*), min(ts), max(ts) FROM read_parquet(?) GROUP BY case_id",
    ),
]


def main() -> None:
    path = sys.argv[1]
    con = duckdb.connect()
    for name, sql in SHAPES:
        best = float("inf")
        for attempt in range(4):
            start = time.perf_counter()
            rows = con.execute(sql, [path]).to_arrow_table().num_rows
            elapsed = time.perf_counter() - start
            assert rows > 0
            if attempt > 0:
                best = min(best, elapsed)
        print(f"duckdb      {name:<26} {best:>7.3f}s")


if __name__ == "__main__":
    main()
