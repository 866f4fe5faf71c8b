#!/usr/bin/env bash
# Run the example DAG with a real Airflow, for one or more dates:
#
#   examples/airflow/run_example.sh PROJECT_YAML SEGMINT_BIN DATE [DATE...]
#
# Installs Apache Airflow from PyPI into a virtual environment the first time
# ($SEGMINT_AIRFLOW_VENV, default ~/.cache/segmint-airflow-venv), then runs
# `airflow dags test segmint_daily DATE` for each date against a throwaway Airflow home
# (SQLite). Exits non-zero if a DAG run fails.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
project="$(realpath "$1")"
binary="$(realpath "$2")"
shift 2
venv="${SEGMINT_AIRFLOW_VENV:-$HOME/.cache/segmint-airflow-venv}"
if [ ! -x "$venv/bin/airflow" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet "apache-airflow>=2.10,<4"
fi
AIRFLOW_HOME="$(mktemp -d)"
export AIRFLOW_HOME
export AIRFLOW__CORE__DAGS_FOLDER="$here/dags"
export AIRFLOW__CORE__LOAD_EXAMPLES=False
export AIRFLOW__DATABASE__SQL_ALCHEMY_CONN="sqlite:///$AIRFLOW_HOME/airflow.db"
export SEGMINT_PROJECT="$project"
export SEGMINT_BIN="$binary"
export SEGMINT_RETRY_DELAY_SECONDS="${SEGMINT_RETRY_DELAY_SECONDS:-1}"
"$venv/bin/airflow" db migrate > "$AIRFLOW_HOME/migrate.log" 2>&1
status=0
for day in "$@"; do
  if ! "$venv/bin/airflow" dags test segmint_daily "$day" > "$AIRFLOW_HOME/dags-test-$day.log" 2>&1; then
    status=1
  fi
  # `dags test` reports a failed task in its log; make that the exit status too.
  if grep -q "state=failed\|DagRunState.FAILED\|Dag run .*failed\|ERROR - Task failed" "$AIRFLOW_HOME/dags-test-$day.log"; then
    status=1
  fi
  echo "== airflow dags test segmint_daily $day (log: $AIRFLOW_HOME/dags-test-$day.log)"
  tail -n 5 "$AIRFLOW_HOME/dags-test-$day.log"
done
exit "$status"
