"""Read the files of segmint's files destinations with pyarrow and print them as one JSON
document:

    read_exports.py LOCATION

{destination: {segment: {as_of: {file: {column: [values]}}}}} for every
LOCATION/<destination>/<segment>/as_of=<D>/<file>.<csv|jsonl|parquet>.
"""

import json
import os
import sys

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.json as pajson
import pyarrow.parquet as pq


def read(path):
    if path.endswith(".parquet"):
        return pq.read_table(path).to_pydict()
    if os.path.getsize(path) == 0:
        return {"entity": []}
    if path.endswith(".csv"):
        options = pacsv.ConvertOptions(column_types={"entity": pa.string()})
        return pacsv.read_csv(path, convert_options=options).to_pydict()
    if path.endswith(".jsonl"):
        return pajson.read_json(path).to_pydict()
    raise ValueError(f"unexpected file {path}")


def main():
    root = sys.argv[1]
    view = {}
    for folder, _, files in os.walk(root):
        for name in files:
            relative = os.path.relpath(os.path.join(folder, name), root)
            destination, segment, as_of, file = relative.split(os.sep)
            day = as_of.removeprefix("as_of=")
            stem = file.rsplit(".", 1)[0]
            table = read(os.path.join(folder, name))
            view.setdefault(destination, {}).setdefault(segment, {}).setdefault(day, {})[stem] = table
    json.dump(view, sys.stdout, default=str)


main()
