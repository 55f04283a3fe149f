# Sourced by run_notebooks.sh and run_tests.sh, from the repository root.
# Creates .venv with a Python >= 3.10 (or $PYTHON) and installs
# requirements.txt into it; reinstalls only when requirements.txt changes.
# Sets PY to the environment's python.
PYTHON=${PYTHON:-python3}
command -v "$PYTHON" >/dev/null 2>&1 || PYTHON=python
if [ -x .venv/bin/python ]; then
    PY=.venv/bin/python
elif [ -x .venv/Scripts/python.exe ]; then
    PY=.venv/Scripts/python.exe
else
    if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 10))' 2>/dev/null; then
        echo "setup: needs Python 3.10 or newer; set PYTHON=/path/to/python3.x" >&2
        exit 1
    fi
    echo "setup: creating .venv with $("$PYTHON" --version 2>&1)"
    "$PYTHON" -m venv .venv || { echo "setup: could not create .venv (on Debian/Ubuntu: apt install python3-venv)" >&2; exit 1; }
    if [ -x .venv/bin/python ]; then PY=.venv/bin/python; else PY=.venv/Scripts/python.exe; fi
fi
if ! cmp -s requirements.txt .venv/requirements.installed; then
    echo "setup: installing requirements.txt into .venv"
    "$PY" -m pip install --quiet --upgrade pip
    "$PY" -m pip install --quiet -r requirements.txt
    cp requirements.txt .venv/requirements.installed
fi
