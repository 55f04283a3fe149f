#!/usr/bin/env bash
# Staff setup for grading on this machine (Debian/Ubuntu), after tools/setup_env.sh made .venv:
#   sudo staff/setup_grading.sh      # or as root, as CI does
# - the Debian packages bubblewrap (the sandbox) and libseccomp2 (no sockets in it);
# - the unprivileged user cs231n-sandbox that the students' code runs as when the
#   grader runs as root (Gradescope's documented practice);
# - the staff-only Python packages (staff/requirements.txt) into .venv;
# - read and traverse rights for that user on the interpreter's folders, which the
#   sandbox binds read-only (a Python under /root is otherwise out of its reach).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
[ -x "$PY" ] || { echo "setup_grading: no .venv; run . tools/setup_env.sh first" >&2; exit 1; }
if [ "$(id -u)" -eq 0 ]; then
    if ! command -v bwrap >/dev/null 2>&1 || ! ldconfig -p | grep -q libseccomp.so.2; then
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq
        apt-get install -y -qq --no-install-recommends bubblewrap libseccomp2 >/dev/null
    fi
    user="${CS231N_SANDBOX_USER:-cs231n-sandbox}"
    id "$user" >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin "$user"
    # Every folder from / down to the interpreter and the venv must be traversable.
    for p in "$("$PY" -c 'import sys; print(sys.base_prefix)')" "$PWD/.venv"; do
        p="$(readlink -f "$p")"
        while [ "$p" != / ]; do chmod o+x "$p"; p="$(dirname "$p")"; done
    done
    chmod -R o+rX "$("$PY" -c 'import sys; print(sys.base_prefix)')" .venv
else
    command -v bwrap >/dev/null 2>&1 || echo "setup_grading: install bubblewrap (sudo apt install bubblewrap), or run this as root" >&2
fi
"$PY" -m pip install --quiet -r staff/requirements.txt
"$PY" -c 'from staff.grading import sandbox; print("grading sandbox:", sandbox.choose().describe())'
