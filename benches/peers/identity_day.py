"""Write one more day of identifier activity for the graph of identity_graph.py.

usage: identity_day.py OUT_DIR PEOPLE DAY

DAY (2026-11-23, …) gets: 1 % of the existing people with a new device (user, email, new
anonymous_id and push_token on one row), and 0.5 % new people with 1-3 devices each, so an
update touches about 1.5 % of the people. Written as events/date=DAY/part-0.parquet.
"""

import datetime as dt
import os
import sys

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

out, people, day = sys.argv[1], int(sys.argv[2]), dt.date.fromisoformat(sys.argv[3])
k = (day - dt.date(2026, 11, 22)).days
rng = np.random.default_rng(1000 + k)
returning = rng.choice(people, size=people // 100, replace=False)
new_people = people * (1 + k) + np.arange(people // 200)  # ids nobody has used
new_devices = rng.integers(1, 4, size=len(new_people))
person = np.concatenate([returning, np.repeat(new_people, new_devices)])
n = len(person)
device = np.char.add(f"n{k}-", np.arange(n).astype(str))
base = np.datetime64(f"{day.isoformat()}T00:00:00", "us")
times = base + rng.integers(0, 86_400_000_000, size=n).astype("timedelta64[us]")
table = pa.table(
    {
        "user_id": pa.array(np.char.add("u", person.astype(str)), pa.string()),
        "email_hash": pa.array(np.char.add("e", person.astype(str)), pa.string()),
        "anonymous_id": pa.array(np.char.add("d", device), pa.string()),
        "push_token": pa.array(np.char.add("t", device), pa.string()),
        "event_time": pa.array(times, pa.timestamp("us", tz="UTC")),
        "event_name": pa.array(np.full(n, "page_view"), pa.string()),
    }
)
folder = os.path.join(out, "events", f"date={day.isoformat()}")
os.makedirs(folder, exist_ok=True)
pq.write_table(table, os.path.join(folder, "part-0.parquet"))
print(f"{day}: {len(returning)} returning people with a new device, {len(new_people)} new people, {n} rows")
