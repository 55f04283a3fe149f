"""CI checks of the student release, built fresh from this repository.

    python -m staff.release.check                  # build into a temp folder, run checks 1-4
    python -m staff.release.check --release DIR    # check a release written by staff.release
    python -m staff.release.check --keep           # keep the temp release and report its path

1. No solution content survives: no line from inside a solution region or an
   inline answer appears in the release (unless the same line also appears
   outside the regions of the solution), notebooks carry no outputs, and no
   staff-only file ships. The student README (the manifest's replacement of
   README.md) names no staff-only path.
1b. No formula of a stubbed function appears in any shipped file (code,
   tests, notebook cells of every kind, READMEs): see staff/release/leak_patterns.txt.
1c. The given code of every student function is at most the official
   starter's plus two lines (one call before the student's code, one after):
   see staff/release/given_lines.py.
2. The release installs (pip, no dependencies, no network) and every module of
   the package imports. Its unit tests run (python -m pytest tests, with the
   current interpreter, in the release folder), with no collection error, and
   every failing test fails on NotImplementedError or a wrong value (an
   AssertionError), never on another exception.
3. Splicing the solution regions and answers back into the release gives the
   solution files byte for byte (notebooks: the solution with outputs and
   execution counts cleared, which is all the release clears); every other
   file is identical, and a file the manifest replaces is its replacement.
4. Each release notebook, run headless in fast mode on the real data
   (CS231N_DATA_DIR: the folder that holds cifar-10-batches-py), executes up
   to its first stub and stops there on NotImplementedError whose message
   names the function and its file. Skipped, with a message, when no data is
   installed.

Prints one line per problem and exits 1 if there is any.
"""
import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time

from . import given_lines as GL
from . import harness as H
from . import regions as R
from . import starter as REL

ROOT = REL.ROOT
PACKAGE = 'cs231n'
TEST_TIMEOUT = 240      # seconds for the release's whole unit-test run
CELL_TIMEOUT = 300      # seconds per notebook cell
ALLOWED_FAILURES = ('NotImplementedError', 'AssertionError', 'Failed')
STUB_MESSAGE = re.compile(r'^([A-Za-z_][\w.]*) in (cs231n/[\w/]+\.py)\b')
STAFF_MARKERS = ('~~START DELETE~~', '~~END DELETE~~')


def _read(path):
    with open(path, 'rb') as f:
        return f.read()


def package_modules(folder):
    """The importable modules of the cs231n package in folder, found on disk."""
    modules = set()
    for path in _rel_files(os.path.join(folder, PACKAGE)):
        if not path.endswith('.py') or '__pycache__' in path:
            continue
        parts = path[:-3].split('/')
        if parts[-1] == '__init__':
            parts = parts[:-1]
        elif parts[-1].startswith('__'):  # __main__.py runs; it is not imported
            continue
        modules.add('.'.join([PACKAGE] + parts))
    return sorted(modules)


def _rel_files(folder):
    out = []
    for base, dirs, files in os.walk(folder):
        for name in files:
            out.append(os.path.relpath(os.path.join(base, name), folder).replace(os.sep, '/'))
    return sorted(out)


# ---------------------------------------------------------------------------
# The solution side: what the release must not contain

class Solution:
    """Regions, answers and the lines outside them, of every shipped file."""

    def __init__(self, root, files):
        self.root, self.files = root, files
        self.replaces = REL.load_replacements(root)
        self.inside = {}    # stripped line -> 'path:line' of its first region
        self.outside = set()
        self.regions = {}   # path -> [Region] of .py files
        self.parts = {}     # path -> solution_parts
        self.defined_in_regions = {}  # name -> 'path:line' for defs/assignments in regions
        for path in files:
            if path in self.replaces:
                continue  # ships another file's content
            if path.endswith('.py'):
                self._py(path)
            elif path.endswith('.ipynb'):
                self._notebook(path)

    def source(self, path):
        """Full path of the repository file whose content ships as `path`."""
        return os.path.join(self.root, self.replaces.get(path, path))

    def _add(self, lines, where, first_line):
        for k, line in enumerate(lines):
            s = line.strip()
            if s and s != 'pass' and s.strip('#').strip():
                self.inside.setdefault(s, '%s:%d' % (where, first_line + k))
            m = re.match(r'\s*(?:def|class)\s+(\w+)|\s*([A-Za-z_]\w*)\s*=[^=]', line)
            if m:
                self.defined_in_regions.setdefault(m.group(1) or m.group(2),
                                                   '%s:%d' % (where, first_line + k))

    def _outside(self, text, regions):
        lines = R.split_lines(text)
        skip = set()
        for r in regions:
            skip.update(range(r.start, r.end - 1))  # 0-based indices of the bodies
        self.outside.update(l.strip() for i, l in enumerate(lines) if i not in skip)

    def _py(self, path):
        text = _read(os.path.join(self.root, path)).decode('utf-8')
        regions = R.py_regions(text, path)
        self.regions[path] = regions
        self.parts[path] = [r.body for r in regions]
        for r in regions:
            self._add(r.body, path, r.start + 1)
        self._outside(text, regions)

    def _notebook(self, path):
        text = _read(os.path.join(self.root, path)).decode('utf-8')
        nb = R.load_notebook(text)
        code, answers = R.notebook_regions(nb, path)
        self.parts[path] = R.solution_parts(path, text)
        for k, cell in enumerate(nb.get('cells', [])):
            src = R.cell_source(cell)
            if k in answers:
                body = R.split_lines(src)
                self._add(body[1:], '%s cell %d' % (path, k), 2)
                self.outside.add(body[0].strip() if body else '')
                continue
            regions = code.get(k, [])
            for r in regions:
                self._add(r.body, '%s cell %d' % (path, k), r.start + 1)
            self._outside(src, regions)


# ---------------------------------------------------------------------------
# Check 1: no solution content

def check_no_solution(sol, release_dir, excludes):
    problems = []
    shipped = _rel_files(release_dir)
    for path in shipped:
        if REL.is_excluded(path, excludes):
            problems.append('%s: staff-only file shipped (excluded in %s)' % (path, REL.MANIFEST))
        if '__pycache__/' in path or path.endswith(('.pyc', '.so', '.pyd')) \
                or path.startswith('__MACOSX'):
            problems.append('%s: build artefact shipped' % path)
    extra = sorted(set(shipped) - set(sol.files))
    missing = sorted(set(sol.files) - set(shipped))
    for path in extra:
        problems.append('%s: in the release but not in the list of files to ship' % path)
    for path in missing:
        problems.append('%s: listed to ship but missing from the release' % path)
    leaks = 0
    for path in shipped:
        full = os.path.join(release_dir, path)
        data = _read(full)
        try:
            text = data.decode('utf-8')
        except UnicodeDecodeError:
            continue
        if path.endswith('.ipynb'):
            nb = R.load_notebook(text)
            for k, cell in enumerate(nb.get('cells', [])):
                if cell.get('outputs') or cell.get('execution_count') is not None:
                    problems.append('%s cell %d: outputs or an execution count survive'
                                    % (path, k))
                lines = [('cell %d line %d' % (k, i + 1), l)
                         for i, l in enumerate(R.split_lines(R.cell_source(cell)))]
                if R.is_answer_cell(cell) and R.cell_source(cell) != R.ANSWER_STUB:
                    problems.append('%s cell %d: answer cell is not the placeholder %r'
                                    % (path, k, R.ANSWER_STUB))
                leaks += _leaks(problems, sol, path, lines)
        else:
            leaks += _leaks(problems, sol, path,
                            [('line %d' % (i + 1), l) for i, l in enumerate(R.split_lines(text))])
        for marker in STAFF_MARKERS:
            if marker in text:
                problems.append('%s: contains the staff marker %r' % (path, marker))
        if path in sol.replaces:
            problems += _staff_mentions(path, text, excludes, sol)
    return problems, leaks


def _staff_mentions(path, text, excludes, sol):
    """A replacement file (the student README) names nothing that does not ship."""
    problems = []
    names = sorted({e.rstrip('/') for e in excludes} | set(sol.replaces.values()))
    for n, line in enumerate(R.split_lines(text), 1):
        for name in names:
            if re.search(r'(?<![\w/.-])%s(?![\w-])' % re.escape(name), line):
                problems.append('%s line %d: names %s, which does not ship: %s'
                                % (path, n, name, line.strip()[:100]))
    return problems


def _leaks(problems, sol, path, lines):
    n = 0
    for where, line in lines:
        s = line.strip()
        if s in sol.inside and s not in sol.outside:
            n += 1
            problems.append('%s %s: solution line survives (from %s): %s'
                            % (path, where, sol.inside[s], s[:100]))
    return n


# ---------------------------------------------------------------------------
# Check 1b: no formula of a stubbed function

LEAK_PATTERNS = os.path.join('staff', 'release', 'leak_patterns.txt')


def load_formulas(root=ROOT):
    """The entries of staff/release/leak_patterns.txt: [(stubbed functions, what, regex)]."""
    formulas = []
    with open(os.path.join(root, LEAK_PATTERNS), encoding='utf-8') as f:
        blocks = [b for b in re.split(r'\n\s*\n', f.read()) if b.strip()]
    for block in blocks:
        lines = [l for l in block.splitlines() if not l.startswith('#')]
        if not lines:
            continue
        head, alternatives = lines[0], lines[1:]
        fns, _, what = head.partition(':')
        if not what or not alternatives:
            raise ValueError('%s: expected "FUNCTION[, FUNCTION...]: what" and a regex, got %r'
                             % (LEAK_PATTERNS, block[:80]))
        formulas.append((tuple(f.strip() for f in fns.split(',')), what.strip(),
                         '|'.join(alternatives)))
    return formulas


# What a student writes, as it is usually written: a shipped file that
# matches one of these gives part of a solution away, whatever the regions say.
FORMULAS = load_formulas()
_FORMULA_RES = [(fns, what, re.compile(rx)) for fns, what, rx in FORMULAS]


def formula_hits(text):
    """[(line number, functions, what, line)] of the formulas in a text."""
    hits = []
    for n, line in enumerate(R.split_lines(text), 1):
        for fns, what, rx in _FORMULA_RES:
            if rx.search(line):
                hits.append((n, fns, what, line.strip()))
    return hits


def check_formulas(release_dir, stubbed):
    """(problems, files scanned): every shipped text file, notebook cells of
    every kind included, scanned for the formulas of the stubbed functions."""
    problems, scanned = [], 0
    for path in _rel_files(release_dir):
        try:
            text = _read(os.path.join(release_dir, path)).decode('utf-8')
        except UnicodeDecodeError:
            continue
        scanned += 1
        if path.endswith('.ipynb'):
            nb = R.load_notebook(text)
            parts = [('%s cell %d' % (path, k), R.cell_source(c))
                     for k, c in enumerate(nb.get('cells', []))]
        else:
            parts = [(path, text)]
        for where, part in parts:
            for n, fns, what, line in formula_hits(part):
                relevant = [f for f in fns if f in stubbed]
                if relevant:
                    problems.append('%s line %d: %s of %s, which the starter leaves to the '
                                    'student: %s' % (where, n, what, ' / '.join(relevant),
                                                     line[:100]))
    return problems, scanned


# ---------------------------------------------------------------------------
# Check 3: splice back

def check_splice(sol, release_dir):
    problems, identical, cleared_only = [], 0, []
    excludes, _ = REL.load_manifest(sol.root)
    for path in sol.files:
        full = os.path.join(release_dir, path)
        if not os.path.isfile(full):
            continue  # reported by check 1
        released = _read(full)
        original = _read(sol.source(path))
        if path.endswith(('.py', '.ipynb')) and path not in sol.replaces:
            try:
                spliced = R.splice(path, released.decode('utf-8'), sol.parts[path]).encode('utf-8')
            except (ValueError, KeyError) as e:
                problems.append('%s: cannot splice the solution back: %s' % (path, e))
                continue
        else:
            spliced = released
        expected = original
        if path == 'pyproject.toml':      # ships without the staff's testpaths
            expected = REL.release_text(path, original, excludes)[0]
        if path.endswith('.ipynb') and path not in sol.replaces:
            expected = R.cleared_notebook_text(original.decode('utf-8')).encode('utf-8')
            if expected != original:
                cleared_only.append(path)
        if spliced == expected:
            identical += 1
        else:
            a = spliced.decode('utf-8', 'replace').splitlines()
            b = expected.decode('utf-8', 'replace').splitlines()
            n = next((i for i, (x, y) in enumerate(zip(a, b)) if x != y), min(len(a), len(b)))
            problems.append('%s: splicing the solution back differs from the solution at line '
                            '%d: release gives %r, solution has %r'
                            % (path, n + 1, a[n][:80] if n < len(a) else '<end of file>',
                               b[n][:80] if n < len(b) else '<end of file>'))
    return problems, identical, cleared_only


# ---------------------------------------------------------------------------
# Check 2: install, import, unit tests

def _import_all(folder, cwd, modules):
    """None if every package module imports from `folder`, else the error line."""
    code = ('import importlib, os, sys\n'
            'for m in %r:\n'
            '    mod = importlib.import_module(m)\n'
            '    assert os.path.realpath(mod.__file__).startswith(os.path.realpath(%r)), '
            '(m, mod.__file__)\n' % (modules, folder))
    env = dict(os.environ, PYTHONPATH=folder, MPLBACKEND='Agg', PYTHONDONTWRITEBYTECODE='1')
    p = subprocess.run([sys.executable, '-c', code], cwd=cwd, env=env, capture_output=True,
                       text=True)
    return (p.stderr.strip().splitlines() or ['?'])[-1] if p.returncode else None


def can_build_offline():
    """Whether pip can build the release here without fetching its build backend:
    setuptools with its own bdist_wheel (>= 70.1), or setuptools plus wheel."""
    try:
        import setuptools
    except ImportError:
        return False
    version = tuple(int(x) for x in re.findall(r'\d+', setuptools.__version__)[:2])
    if version >= (70, 1):
        return True
    try:
        import wheel  # noqa: F401
        return True
    except ImportError:
        return False


def check_install(release_dir, scratch):
    """(problems, info): the package imports from the release folder (the way the notebooks
    and tests use it), and a copy installed with pip (no deps, no network) imports too."""
    problems, info = [], []
    modules = package_modules(release_dir)
    error = _import_all(release_dir, scratch, modules)
    if error:
        problems.append('install: importing the package from the release folder failed: %s'
                        % error)
    if not can_build_offline():
        info.append('pip install of the release skipped: building it without network needs '
                    'setuptools >= 70.1, or setuptools and wheel, in this environment')
        return problems, info
    src = os.path.join(scratch, 'src')
    target = os.path.join(scratch, 'site')
    shutil.copytree(release_dir, src)  # pip build writes build/ and *.egg-info into the source
    cmd = [sys.executable, '-m', 'pip', 'install', '--quiet', '--no-deps', '--no-build-isolation',
           '--no-index', '--disable-pip-version-check', '--target', target, src]
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode:
        tail = (p.stderr or p.stdout).strip().splitlines()[-5:]
        problems.append('install: pip install of the release failed: %s' % ' | '.join(tail))
        return problems, info
    error = _import_all(target, scratch, modules)
    if error:
        problems.append('install: importing the pip-installed package failed: %s' % error)
    elif not problems:
        info.append('pip install of the release, and import of its %d modules: ok'
                    % len(modules))
    return problems, info


def run_tests(release_dir, junit, result, paths=('tests',)):
    """Run unit tests of a release; store its harness.PytestRun as result['run']."""
    result['run'] = H.run_pytest(release_dir, [*paths, '--continue-on-collection-errors'],
                                 junit, TEST_TIMEOUT)


def _exception_type(message):
    message = message or ''
    m = re.match(r'(?:failed on (?:setup|teardown) with ")?([A-Za-z_][\w.]*)', message)
    if message.startswith('assert') or (m and m.group(1) == 'assert'):
        return 'AssertionError'
    return m.group(1).split('.')[-1] if m else '?'


class TestReport:
    """What one pytest run of a release (a harness.PytestRun) says: counts,
    problems, stubs reached."""

    def __init__(self, run, sol, label=''):
        self.problems, self.reached, self.by_type = [], {}, {}
        self.cases = self.passed = self.failed = self.skipped = 0
        self.seconds = run.seconds
        label = ' (%s)' % label if label else ''
        if run.returncode is None:
            self.problems.append('tests%s: the test run did not finish in %d s'
                                 % (label, TEST_TIMEOUT))
            return
        if run.junit is None:
            self.problems.append('tests%s: pytest wrote no report (exit %s): %s'
                                 % (label, run.returncode, run.tail(5).replace('\n', ' | ')))
            return
        if run.returncode not in (0, 1, 2):
            self.problems.append('tests%s: pytest exited with status %s' % (label, run.returncode))
        for tc in run.testcases:
            self._case(tc, sol, label)

    def _case(self, tc, sol, label):
        self.cases += 1
        outcome = [ch for ch in tc if ch.tag in ('failure', 'error', 'skipped')]
        if not outcome:
            self.passed += 1
            return
        ch = outcome[0]
        if ch.tag == 'skipped':
            self.skipped += 1
            return
        self.failed += 1
        message = ch.get('message') or ''
        if message == 'collection failure':
            module = (tc.get('name') or tc.get('classname') or '?').replace('.', '/') + '.py'
            cause = [l[1:].strip() for l in (ch.text or '').splitlines() if l.startswith('E ')]
            cause = cause[-1] if cause else '?'
            hint = ''
            m = re.search(r"cannot import name '(\w+)' from '([\w.]+)'", cause)
            if m and m.group(1) in sol.defined_in_regions:
                hint = ('; %s is defined only inside the solution region at %s, so the starter '
                        'lacks it: the test module must not import it at module level'
                        % (m.group(1), sol.defined_in_regions[m.group(1)]))
            self.problems.append('tests%s: %s does not collect: %s%s (and without '
                                 '--continue-on-collection-errors pytest runs no test at all: '
                                 '"python -m pytest tests -k affine" runs nothing)'
                                 % (label, module, cause, hint))
            self.by_type['collection error'] = self.by_type.get('collection error', 0) + 1
            return
        test_id = '%s.py::%s' % (tc.get('classname', '').replace('.', '/'), tc.get('name'))
        etype = _exception_type(message)
        self.by_type[etype] = self.by_type.get(etype, 0) + 1
        if etype not in ALLOWED_FAILURES:
            self.problems.append('tests%s: %s fails on %s, not on NotImplementedError or a wrong '
                                 'value: %s' % (label, test_id, etype,
                                                message.splitlines()[0][:160] if message else ''))
        m = STUB_MESSAGE.search(message.split('NotImplementedError: ', 1)[-1])
        if etype == 'NotImplementedError' and m:
            self.reached[m.group(1)] = self.reached.get(m.group(1), 0) + 1

    def summary(self):
        return ('%d unit tests in %.0f s: %d passed, %d failed (%s), %d skipped'
                % (self.cases, self.seconds, self.passed, self.failed,
                   ', '.join('%s %d' % kv for kv in sorted(self.by_type.items())) or 'none',
                   self.skipped))


def check_tests(result, sol):
    """(problems, info lines, stubs reached) of the release's own test run."""
    run = TestReport(result['run'], sol)
    problems, info = list(run.problems), [run.summary()] if run.cases else []
    test_text = ''
    for path in sol.files:
        if path.startswith('tests/') and path.endswith('.py'):
            test_text += _read(os.path.join(sol.root, path)).decode('utf-8', 'replace')
    for f in stubbed_functions(sol):
        if not re.search(r'\b%s\b' % re.escape(f.split('.')[0]), test_text):
            problems.append('tests: no unit test mentions %s, which the starter stubs' % f)
    return problems, info, run.reached


def stubbed_functions(sol):
    return sorted({r.function for rs in sol.regions.values() for r in rs if r.function})


def check_later_stubs(release_dir, sol, reached, scratch, max_rounds=3):
    """Stubs the release's tests never reach stop behind an earlier stub (a backward
    test fails on the forward pass first). Build starters where only those are
    left to write, run the test files that mention them, and check that each
    stub is reached and that they too fail only on NotImplementedError or a
    wrong value. Returns (problems, info lines)."""
    problems, info = [], []
    remaining = [f for f in stubbed_functions(sol) if f not in reached]
    tests = {p: _read(os.path.join(sol.root, p)).decode('utf-8', 'replace') for p in sol.files
             if p.startswith('tests/test_') and p.endswith('.py')}
    for n in range(1, max_rounds + 1):
        if not remaining:
            break
        variant = os.path.join(scratch, 'later-stubs-%d' % n)
        shutil.copytree(release_dir, variant)
        for path, regions in sol.regions.items():
            if regions:
                text = _read(os.path.join(sol.root, path)).decode('utf-8')
                with open(os.path.join(variant, path), 'w', encoding='utf-8', newline='') as f:
                    f.write(R.stub_py(text, path, only=set(remaining))[0])
        names = {f.split('.')[0] for f in remaining}
        paths = sorted(p for p, text in tests.items()
                       if any(re.search(r'\b%s\b' % re.escape(x), text) for x in names))
        if not paths:
            break
        junit, result = os.path.join(scratch, 'junit-later-%d.xml' % n), {}
        run_tests(variant, junit, result, paths)
        run = TestReport(result['run'], sol, 'starter with only %s left' % ', '.join(remaining))
        problems += run.problems
        newly = [f for f in remaining if f in run.reached]
        info.append('with only %d stub(s) left (%s): %s; the tests reach %s'
                    % (len(remaining), ', '.join(remaining), run.summary(),
                       ', '.join(newly) or 'none of them'))
        shutil.rmtree(variant, ignore_errors=True)
        if not newly:
            break
        remaining = [f for f in remaining if f not in newly]
    for f in remaining:
        problems.append('tests: no unit test fails on the stub of %s, even with every other '
                        'function written: the self-check does not cover it' % f)
    return problems, info


# ---------------------------------------------------------------------------
# Check 4: notebooks run up to the first stub

def check_notebooks(release_dir, data_dir, kernel_logs):
    """(problems, info lines): each notebook stops at its first stub, on NotImplementedError."""
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError
    problems, info = [], []
    saved = {k: os.environ.get(k) for k in ('CS231N_FAST', 'CS231N_DATA_DIR', 'MPLBACKEND')}
    os.environ.update(CS231N_FAST='1', CS231N_DATA_DIR=data_dir, MPLBACKEND='Agg')
    try:
        folder = os.path.join(release_dir, 'notebooks')
        for name in sorted(os.listdir(folder)):
            if not name.endswith('.ipynb'):
                continue
            path = os.path.join(folder, name)
            rel = 'notebooks/' + name
            nb = nbformat.read(path, as_version=4)
            code_cells = [k for k, c in enumerate(nb.cells) if c.cell_type == 'code']
            client = NotebookClient(nb, timeout=CELL_TIMEOUT, kernel_name='python3',
                                    resources={'metadata': {'path': folder}})
            start = time.perf_counter()
            try:
                with open(os.path.join(kernel_logs, name + '.log'), 'w') as log:
                    client.execute(stderr=log)  # the kernel's own chatter goes to the log
                problems.append('%s: ran to the end without reaching a stub' % rel)
                continue
            except CellExecutionError as e:
                ename, evalue = e.ename, e.evalue
            except Exception as e:  # timeouts, dead kernels
                problems.append('%s: did not run: %s: %s' % (rel, type(e).__name__,
                                                            str(e).splitlines()[0][:200]))
                continue
            seconds = time.perf_counter() - start
            failing = [k for k in code_cells
                       if any(o.get('output_type') == 'error' for o in nb.cells[k].outputs)]
            cell = failing[0] if failing else -1
            ran = code_cells.index(cell) if cell in code_cells else '?'
            m = STUB_MESSAGE.match(evalue or '')
            if ename != 'NotImplementedError':
                problems.append('%s: cell %d failed on %s: %s (expected NotImplementedError from '
                                'the first stub)' % (rel, cell, ename, (evalue or '')[:200]))
            elif not m:
                problems.append('%s: cell %d raised NotImplementedError without naming the '
                                'function and its file: %r' % (rel, cell, evalue))
            elif not os.path.isfile(os.path.join(release_dir, m.group(2))):
                problems.append('%s: cell %d names %s, which is not in the release'
                                % (rel, cell, m.group(2)))
            else:
                info.append('%s: %s code cells ran, then cell %d stops at the first stub: %s '
                            '(%.0f s)' % (rel, ran, cell, (evalue or '').split(':')[0], seconds))
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    return problems, info


# ---------------------------------------------------------------------------

def main(argv=None):
    parser = argparse.ArgumentParser(prog='python -m staff.release.check',
                                     description=__doc__.split('\n\n')[0])
    parser.add_argument('--release', metavar='DIR',
                        help='check this release (written by staff.release from this '
                             'repository) instead of building a fresh one')
    parser.add_argument('--keep', action='store_true', help='keep the temporary release')
    parser.add_argument('--no-notebooks', action='store_true', help='skip check 4')
    args = parser.parse_args(argv)
    start = time.perf_counter()
    scratch = tempfile.mkdtemp(prefix='cs231n-release-check-')
    problems = []
    try:
        try:
            files, warnings = REL.release_files(ROOT)
            excludes, _ = REL.load_manifest(ROOT)
            if args.release:
                release_dir = os.path.abspath(args.release)
            else:
                release_dir = os.path.join(scratch, 'release')
                summary = REL.release(release_dir, root=ROOT)
                print('Built the release: %s' % REL.describe(summary).replace('\n', '\n  '))
            for w in warnings:
                print('warning: %s' % w)
            sol = Solution(ROOT, files)
        except (REL.ReleaseError, R.RegionError) as e:
            print('FAILED: cannot build the release: %s' % e, file=sys.stderr)
            return 1
        n_regions = sum(len(v) for v in sol.regions.values())
        n_nb = sum(len(p['code'][k]) for p in sol.parts.values() if isinstance(p, dict)
                   for k in p['code'])
        n_ans = sum(len(p['answers']) for p in sol.parts.values() if isinstance(p, dict))
        print('Solution: %d files to ship; %d regions in %d .py files, %d notebook code regions, '
              '%d inline answers' % (len(files), n_regions,
                                     len([v for v in sol.regions.values() if v]), n_nb, n_ans))

        # The unit tests take longest: run them while the other checks work.
        junit = os.path.join(scratch, 'junit.xml')
        result = {}
        tests = threading.Thread(target=run_tests, args=(release_dir, junit, result))
        tests.start()

        p1, leaks = check_no_solution(sol, release_dir, excludes)
        _report('1. no solution content in the release', p1,
                ['%d region/answer lines checked across %d files, %d survive'
                 % (len(sol.inside), len(_rel_files(release_dir)), leaks)])
        problems += p1

        stubbed = stubbed_functions(sol)
        p1b, scanned = check_formulas(release_dir, set(stubbed))
        _report('1b. no formula of a stubbed function in the release', p1b,
                ['%d patterns of %d stubbed functions, over %d shipped text files: %d found'
                 % (len(FORMULAS), len({f for fns, _, _ in FORMULAS for f in fns
                                        if f in stubbed}), scanned, len(p1b))])
        problems += p1b

        counts = GL.count_tree(release_dir)
        p1c = GL.problems(counts)
        if not counts:
            p1c.append('no student function found in %s' % ', '.join(GL.FILES))
        _report('1c. given code at most the official starter\'s + %d lines' % GL.SLACK, p1c,
                ['%d student functions: %d given lines (the official starter: %d)'
                 % (len(counts), sum(counts.values()),
                    sum(GL.OFFICIAL.get(k, (0,))[0] for k in counts))])
        problems += p1c

        p3, identical, cleared = check_splice(sol, release_dir)
        _report('3. splicing the regions back gives the solution', p3,
                ['%d of %d files byte-identical%s%s'
                 % (identical, len(files),
                    ' (%s: compared with outputs cleared)' % ', '.join(cleared)
                    if cleared else '',
                    ''.join('; %s is %s' % (k, v) for k, v in sorted(sol.replaces.items())))])
        problems += p3

        p2, info2i = check_install(release_dir, scratch)
        tests.join()
        p2t, info2, reached = check_tests(result, sol)
        info2.append('the tests stop at %d of the %d stubbed functions%s'
                     % (len(reached), len(stubbed), '' if len(reached) == len(stubbed) else
                        '; the others sit behind an earlier stub'))
        p2l, info2l = check_later_stubs(release_dir, sol, reached, scratch)
        _report('2. the release installs, imports, and its tests fail only on the stubs',
                p2 + p2t + p2l, info2i + info2 + info2l)
        problems += p2 + p2t + p2l

        title4 = '4. the release notebooks run up to their first stub'
        data_dir = H.find_data_dir()
        if args.no_notebooks:
            print('%s: SKIPPED (--no-notebooks)' % title4)
        elif data_dir is None:
            print('%s: SKIPPED: CIFAR-10 is not installed (run ./get_datasets.sh, or set '
                  'CS231N_DATA_DIR to the folder that holds cifar-10-batches-py)' % title4)
        else:
            p4, info4 = check_notebooks(release_dir, data_dir, scratch)
            _report(title4, p4, info4)
            problems += p4
    finally:
        if args.keep and not args.release:
            print('Kept the release in %s' % os.path.join(scratch, 'release'))
        else:
            shutil.rmtree(scratch, ignore_errors=True)
    print('%s: %d problem(s) in %.0f s' % ('FAILED' if problems else 'OK', len(problems),
                                           time.perf_counter() - start))
    return 1 if problems else 0


def _report(title, problems, info):
    print('%s: %s' % (title, 'FAILED' if problems else 'ok'))
    for line in info:
        print('   %s' % line)
    for p in problems:
        print('   PROBLEM %s' % p)
    sys.stdout.flush()


if __name__ == '__main__':
    sys.exit(main())
