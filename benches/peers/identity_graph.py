"""Write a synthetic identifier graph as an events table for `segmint identity build`.

usage: identity_graph.py OUT_DIR PEOPLE

Each person has one user_id, one email_hash and 1-5 devices (mean 3), each device with an
anonymous_id and a push_token; one event row per (person, device) carries all four, so each
device gives five edges (user, email and each other) and each person one more (user-email):
8 identifiers and 16 edges per person on average — 1.25 M people give 10 M identifiers and
20 M edges.
2 % of people share one of their devices with the next person (a household: those rows
break the one-user-id limit and are dropped by the rules), and 1 % of rows carry the
placeholder `00000000-0000-0000-0000-000000000000` instead of a device. Written as
`events/date=2026-11-22/part-N.parquet` with event_time and event_name columns.
"""

import os
import sys

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

out, people = sys.argv[1], int(sys.argv[2])
rng = np.random.default_rng(7)
devices = rng.integers(1, 6, size=people)  # 1..5, mean 3
rows = int(devices.sum())
person = np.repeat(np.arange(people), devices)
device = np.arange(rows)
# Households: the first device of 2 % of people is also used by the next person.
shared = np.flatnonzero(rng.random(people) < 0.02)
starts = np.concatenate([[0], np.cumsum(devices)[:-1]])
extra_person = (shared + 1) % people
extra_device = starts[shared]
person = np.concatenate([person, extra_person])
device = np.concatenate([device, extra_device])
n = len(person)
anon = np.char.add("d", device.astype(str)).astype(object)
junk = rng.random(n) < 0.01
anon[junk] = "00000000-0000-0000-0000-000000000000"
base = np.datetime64("2026-11-22T00:00:00", "us")
times = base + rng.integers(0, 86_400_000_000, size=n).astype("timedelta64[us]")
table = pa.table(
    {
        "user_id": pa.array(np.char.add("u", person.astype(str)), pa.string()),
        "email_hash": pa.array(np.char.add("e", person.astype(str)), pa.string()),
        "anonymous_id": pa.array(anon, pa.string()),
        "push_token": pa.array(np.char.add("t", device.astype(str)), pa.string()),
        "event_time": pa.array(times, pa.timestamp("us", tz="UTC")),
        "event_name": pa.array(np.full(n, "page_view"), pa.string()),
    }
)
folder = os.path.join(out, "events", "date=2026-11-22")
os.makedirs(folder, exist_ok=True)
chunk = 2_000_000
for i, start in enumerate(range(0, n, chunk)):
    pq.write_table(table.slice(start, chunk), os.path.join(folder, f"part-{i}.parquet"))
identifiers = people * 2 + rows * 2
print(f"{people} people, ~{identifiers} identifiers, {n} event rows, "
      f"~{rows * 5 + people + 4 * len(shared)} edges")
