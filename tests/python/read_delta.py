"""Read segmint's output tables with the `deltalake` package (delta-rs's Python binding,
from PyPI) and print what another engine sees, as one JSON document:

    read_delta.py OUTPUT [--version N] [--check-versions]

OUTPUT is a folder or an `s3://bucket/prefix` URL (then AWS_ENDPOINT_URL,
AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and AWS_REGION from the environment are used).

{"members_version": N,
 "members": {as_of: {segment: [entity, ...]}},      # at the newest version, or --version N
 "run_ids": {as_of: [run_id, ...]},                 # the runs the as-of's files came from
 "runs": [{"as_of", "run_id", "members_version", "sizes": {segment: size}}],
 "columns": [members table columns],
 "missing": [file a version references that is gone]}   # with --check-versions (local)
"""

import json
import os
import sys

from deltalake import DeltaTable


def options(location):
    if not location.startswith("s3://"):
        return None
    keys = ["AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_REGION"]
    found = {k: os.environ[k] for k in keys if k in os.environ}
    found["AWS_ALLOW_HTTP"] = "true"
    return found


def table(location, name, version=None):
    path = location.rstrip("/") + "/" + name
    return DeltaTable(path, version=version, storage_options=options(location))


def missing_files(location):
    """Every file any version of either table references, that does not exist (local)."""
    gone = []
    for name in ["members", "runs"]:
        latest = table(location, name).version()
        for version in range(0, latest + 1):
            for uri in table(location, name, version).file_uris():
                path = uri[len("file://"):] if uri.startswith("file://") else uri
                if not os.path.exists(path):
                    gone.append(f"{name}@{version}: {uri}")
    return gone


def main():
    args = sys.argv[1:]
    location = args[0]
    version = int(args[args.index("--version") + 1]) if "--version" in args else None
    members = table(location, "members", version)
    rows = members.to_pyarrow_table(columns=["as_of", "segment", "entity"]).to_pylist()
    by_day, run_ids = {}, {}
    for row in rows:
        day = row["as_of"].isoformat()
        by_day.setdefault(day, {}).setdefault(row["segment"], []).append(row["entity"])
    # Each file's name carries the run that wrote it: part-<run_id>-<uuid>.zstd.parquet.
    for uri in members.file_uris():
        day = uri.split("as_of=")[1][:10]
        name = uri.rsplit("/", 1)[1]
        run_ids.setdefault(day, set()).add(name[len("part-"):].rsplit("-", 1)[0])
    for day in by_day.values():
        for entities in day.values():
            entities.sort()
    runs = []
    for row in table(location, "runs").to_pyarrow_table().to_pylist():
        runs.append({
            "as_of": row["as_of"].isoformat(),
            "run_id": row["run_id"],
            "members_version": row["members_version"],
            "sizes": {s["segment"]: s["size"] for s in row["segments"]},
        })
    runs.sort(key=lambda r: r["members_version"])
    doc = {
        "members_version": members.version(),
        "members": by_day,
        "run_ids": {day: sorted(ids) for day, ids in run_ids.items()},
        "runs": runs,
        "columns": [f.name for f in members.schema().fields],
    }
    if "--check-versions" in args:
        doc["missing"] = missing_files(location)
    sys.stdout.write(json.dumps(doc))
    sys.stdout.flush()
    # deltalake's background threads can abort the interpreter at shutdown; the answer is
    # already out.
    os._exit(0)


if __name__ == "__main__":
    main()
