"""Evaluate aggregate expressions with embedded ClickHouse (chdb) over a CSV of events.

Usage: clickhouse_oracle.py EVENTS_CSV EXPRESSIONS_JSON
  EVENTS_CSV: header `cid,ts,e`; `ts` an unsigned integer time, `e` an event name.
  EXPRESSIONS_JSON: {"name": "ClickHouse aggregate expression", ...}
Prints one JSON object: {"version": "...", "results": {"name": {"case": value, ...}, ...}}.
"""

import json
import sys

import chdb


def main() -> None:
    events, expressions = sys.argv[1], sys.argv[2]
    with open(expressions, encoding="utf-8") as f:
        wanted = json.load(f)
    source = f"file('{events}', CSVWithNames, 'cid UInt32, ts UInt32, e String')"
    version = chdb.query("SELECT version()", "CSV").data().strip().strip('"')
    results = {}
    for name, expression in wanted.items():
        rows = chdb.query(
            f"SELECT cid, {expression} AS v FROM {source} GROUP BY cid ORDER BY cid",
            "JSONEachRow",
        ).data()
        results[name] = {}
        for line in rows.splitlines():
            row = json.loads(line)
            results[name][str(row["cid"])] = row["v"]
    print(json.dumps({"version": version, "results": results}))


if __name__ == "__main__":
    main()
