#!/bin/sh
# The main job: set up .venv, fetch CIFAR-10 if it is missing, then execute
# the three notebooks top to bottom on the full data, writing the executed
# copies to output/. Extra arguments go to tools/run_notebooks.py
# (e.g. --fast, --inplace, or a notebook path).
set -e
cd "$(dirname "$0")"
. tools/setup_env.sh
./get_datasets.sh
exec "$PY" -m tools.run_notebooks "$@"
