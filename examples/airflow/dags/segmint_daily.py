"""Daily segmint run: two tasks per day,

    run_segments       `segmint run --as-of {{ ds }} --json`: evaluate and commit the segments
    sync_destinations  `segmint sync --as-of {{ ds }} --json`: deliver who entered and exited
                       to the project's destinations (webhooks, files); nothing to do
                       without `destinations:`

Each task maps segmint's exit codes to Airflow's retry semantics:

    0        ok: the one-line JSON summary is returned (it lands in XCom)
    1, 3, 4  retry: internal error, source data unreadable, output not written or a
             destination that refused a batch — usually transient (a store outage, a late
             partition, a receiver down); a retried sync re-sends with the same
             idempotency keys
    2, 5, 6  fail at once, no retry: an invalid spec or a missing secret variable, a
             guard (--max-change) tripped, or the run needs more memory than its
             memory_limit even spilling — a person has to look

Settings come from the environment of the Airflow workers:

    SEGMINT_BIN          the segmint binary (default: `segmint` on PATH)
    SEGMINT_PROJECT      the project file (segmint.yaml)
    SEGMINT_MAX_CHANGE   optional: refuse to commit when a segment moves more than this %

Re-running a day (clearing the tasks) is safe: segmint replaces that as-of atomically,
and a sync of a day older than what a destination holds sends nothing.
"""

from __future__ import annotations

import json
import os
import subprocess
from datetime import timedelta

import pendulum

try:  # Airflow 3
    from airflow.sdk import DAG
    from airflow.providers.standard.operators.python import PythonOperator
except ImportError:  # Airflow 2
    from airflow import DAG
    from airflow.operators.python import PythonOperator

from airflow.exceptions import AirflowException, AirflowFailException

RETRY_CODES = {1, 3, 4}


def segmint(args: list[str]) -> dict:
    """Run one segmint command; return its JSON line or raise the right Airflow exception."""
    command = [
        os.environ.get("SEGMINT_BIN", "segmint"),
        "-p",
        os.environ["SEGMINT_PROJECT"],
        "--log-format",
        "json",
        "--error-format",
        "json",
        *args,
    ]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    # segmint logs to stderr; keep them in the task log.
    if done.stderr:
        print(done.stderr)
    if done.returncode == 0:
        return json.loads(done.stdout.strip())
    cause = done.stderr.strip().splitlines()[-1:] or ["(no message)"]
    message = f"segmint {args[0]} exited with {done.returncode}: {cause[0]}"
    if done.returncode in RETRY_CODES:
        raise AirflowException(message)
    raise AirflowFailException(message)


def run_segmint(ds: str, **_context) -> dict:
    """Evaluate and commit one as-of."""
    args = ["run", "--as-of", ds, "--json"]
    max_change = os.environ.get("SEGMINT_MAX_CHANGE")
    if max_change:
        args += ["--max-change", max_change]
    return segmint(args)


def sync_segmint(ds: str, **_context) -> dict:
    """Deliver the as-of's changes to every destination."""
    return segmint(["sync", "--as-of", ds, "--json"])


with DAG(
    dag_id="segmint_daily",
    schedule="@daily",
    start_date=pendulum.datetime(2026, 11, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    # SEGMINT_RETRY_DELAY_SECONDS shortens the wait between retries (the example runner's
    # tests set it so a failing run does not wait 3 × 10 minutes).
    default_args={
        "retries": 3,
        "retry_delay": timedelta(seconds=int(os.environ.get("SEGMINT_RETRY_DELAY_SECONDS", "600"))),
    },
    tags=["segmint"],
) as dag:
    run = PythonOperator(task_id="run_segments", python_callable=run_segmint)
    sync = PythonOperator(task_id="sync_destinations", python_callable=sync_segmint)
    run >> sync
