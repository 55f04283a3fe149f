#!/bin/sh
# Fetch CIFAR-10 into cs231n/datasets/cifar-10-batches-py (or $CS231N_DATA_DIR).
# A thin wrapper: all the work is done by `python -m cs231n.datasets`, which
# also runs on its own where sh is missing (Windows, some notebooks).
#   ./get_datasets.sh --help
#   ./get_datasets.sh --source /path/to/cifar-10-python.tar.gz
set -e
root=$(cd "$(dirname "$0")" && pwd)
if [ -x "$root/.venv/bin/python" ]; then
    py="$root/.venv/bin/python"
elif [ -x "$root/.venv/Scripts/python.exe" ]; then
    py="$root/.venv/Scripts/python.exe"
elif command -v python3 >/dev/null 2>&1; then
    py=python3
elif command -v python >/dev/null 2>&1; then
    py=python
else
    echo "get_datasets.sh: no python3 or python on PATH; install Python 3.10+ first" >&2
    exit 1
fi
# The repo root goes on sys.path as an argument rather than by cd'ing there,
# so relative --source/--data-dir paths still mean what the caller meant.
exec "$py" -c 'import sys; sys.path.insert(0, sys.argv[1]); from cs231n.datasets.__main__ import main; sys.exit(main(sys.argv[2:], prog="get_datasets.sh"))' "$root" "$@"
