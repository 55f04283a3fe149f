"""Open the notebooks in a real JupyterLab (from .venv) with headless Chromium,
as a student would, and report what the first load shows.

    python staff/tests/lab_check.py notebooks/01_FullyConnectedNets.ipynb ...
    python staff/tests/lab_check.py --json notebooks/*.ipynb   # last line: a JSON report

Needs Chromium (Debian: apt-get install chromium) and the playwright package in
the Python that runs this script (not in the project's requirements:
`python3 -m venv /tmp/pw && /tmp/pw/bin/pip install playwright`, then run this
script with /tmp/pw/bin/python). The browser is the system one, started with a
fresh profile and without background networking. JupyterLab runs on a free
local port with fresh settings, workspaces and runtime folders, so nothing of
an earlier session is reused; the notebooks are opened read-only in spirit:
nothing is saved.

For each notebook it reports whether its tab is marked dirty (modified) once the
kernel is idle, which kernel and status the toolbar shows, the seconds until
the kernel was idle, and any request the page made to another host. It then
reports the server's errors (log lines at level E, tracebacks, 5xx responses).
"""
import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CHROMIUM_FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run',
                  '--disable-background-networking', '--disable-component-update',
                  '--disable-sync']

_PANEL = '.jp-NotebookPanel:not(.lm-mod-hidden)'
_STATE = """() => {
  const panel = document.querySelector('%s');
  const tab = document.querySelector('.jp-MainAreaWidget + .lm-TabBar .lm-mod-current, '
                                     + '#jp-main-dock-panel .lm-TabBar-tab.lm-mod-current');
  const indicator = panel && panel.querySelector('.jp-Notebook-ExecutionIndicator');
  const kernel = panel && panel.querySelector('.jp-KernelName, .jp-Toolbar-kernelName');
  return {dirty: !!(tab && tab.classList.contains('jp-mod-dirty')),
          kernel: indicator ? indicator.getAttribute('data-status') : null,
          kernel_name: kernel ? kernel.textContent.trim() : null,
          dialog: (document.querySelector('.jp-Dialog') || {}).textContent || null};
}""" % _PANEL


def free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def server_errors(log_text):
    keep = []
    for line in log_text.splitlines():
        if line.startswith('[E ') or 'Traceback' in line or ' 500 ' in line \
                or 'Uncaught exception' in line or 'kernel_ws_protocol' in line:
            keep.append(line)
    return keep


def check(notebooks, chromium='/usr/bin/chromium', wait=120):
    from playwright.sync_api import sync_playwright
    home = tempfile.mkdtemp(prefix='lab-check-')
    env = dict(os.environ, JUPYTERLAB_SETTINGS_DIR=os.path.join(home, 'settings'),
               JUPYTERLAB_WORKSPACES_DIR=os.path.join(home, 'workspaces'),
               JUPYTER_RUNTIME_DIR=os.path.join(home, 'runtime'),
               JUPYTER_CONFIG_DIR=os.path.join(home, 'config'))
    port, token = free_port(), 'lab-check-%d' % os.getpid()
    log_path = os.path.join(home, 'server.log')
    jupyter = os.path.join(ROOT, '.venv', 'bin', 'jupyter')
    report = {'notebooks': [], 'server_errors': []}
    with open(log_path, 'w') as log:
        server = subprocess.Popen(
            [jupyter, 'lab', '--no-browser', '--port=%d' % port, '--ip=127.0.0.1',
             '--IdentityProvider.token=' + token, '--ServerApp.root_dir=' + ROOT,
             '--allow-root'], stdout=log, stderr=subprocess.STDOUT, env=env, cwd=ROOT)
    try:
        base = 'http://127.0.0.1:%d' % port
        for _ in range(240):
            try:
                urllib.request.urlopen('%s/api/status?token=%s' % (base, token), timeout=1)
                break
            except OSError:
                time.sleep(0.5)
        with sync_playwright() as p:
            browser = p.chromium.launch_persistent_context(
                os.path.join(home, 'chromium'), executable_path=chromium, headless=True,
                args=CHROMIUM_FLAGS, viewport={'width': 1400, 'height': 1000})
            page = browser.pages[0] if browser.pages else browser.new_page()
            external = []
            page.on('request', lambda r: external.append(r.url) if not r.url.startswith(
                (base, 'ws://127.0.0.1:%d' % port, 'data:', 'blob:', 'about:')) else None)
            for k, nb in enumerate(notebooks):
                del external[:]
                start = time.time()
                # A workspace of its own, reset: the notebook opens alone, as on a first visit.
                page.goto('%s/lab/workspaces/check-%d/tree/%s?reset&token=%s' % (base, k, nb, token))
                page.wait_for_selector(_PANEL + ' .jp-Notebook', timeout=wait * 1000)
                state = page.evaluate(_STATE)
                while state['kernel'] != 'idle' and time.time() - start < wait:
                    time.sleep(0.5)
                    state = page.evaluate(_STATE)
                idle_after = time.time() - start
                time.sleep(3)  # anything Lab rewrites after connecting shows by now
                state = page.evaluate(_STATE)
                shot = os.path.join(home, os.path.basename(nb) + '.png')
                page.screenshot(path=shot)
                report['notebooks'].append(dict(state, notebook=nb, seconds_to_idle=round(idle_after, 1),
                                                external_requests=list(external), screenshot=shot))
            browser.close()
    finally:
        server.terminate()
        try:
            server.wait(20)
        except subprocess.TimeoutExpired:
            server.kill()
    with open(log_path) as f:
        report['server_errors'] = server_errors(f.read())
    report['server_log'] = log_path
    return report


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('notebooks', nargs='+', help='paths relative to the repository root')
    parser.add_argument('--chromium', default=shutil.which('chromium') or '/usr/bin/chromium')
    parser.add_argument('--json', action='store_true', help='end with a one-line JSON report')
    args = parser.parse_args(argv)
    report = check(args.notebooks, chromium=args.chromium)
    for nb in report['notebooks']:
        print('%s: kernel %s (%s) after %.1f s, %s%s' % (
            nb['notebook'], nb['kernel'], nb['kernel_name'], nb['seconds_to_idle'],
            'DIRTY' if nb['dirty'] else 'not dirty',
            ', external requests: %s' % nb['external_requests'] if nb['external_requests'] else ''))
    print('server errors: %s' % (report['server_errors'] or 'none'))
    print('server log: %s' % report['server_log'])
    if args.json:
        print(json.dumps(report))
    ok = all(nb['kernel'] == 'idle' and not nb['dirty'] and not nb['external_requests']
             for nb in report['notebooks']) and not report['server_errors']
    return 0 if ok else 1


if __name__ == '__main__':
    sys.exit(main())
