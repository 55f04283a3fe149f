#!/bin/sh
# The test command: set up .venv, fetch CIFAR-10 if it is missing, then run
# the unit tests and execute the notebooks under nbval in fast mode
# (CS231N_FAST=1). Extra arguments go to pytest, e.g.
#   ./run_tests.sh tests -k affine       # only the affine tests
set -e
cd "$(dirname "$0")"
. tools/setup_env.sh
./get_datasets.sh
status=0
"$PY" -m pytest "$@" || status=$?
if [ "$status" -eq 5 ]; then
    echo "run_tests.sh: pytest collected no tests; check the path or -k expression" >&2
    exit 1
fi
exit "$status"
