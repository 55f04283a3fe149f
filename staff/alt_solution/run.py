"""The alternative solution: splice it into a fresh student starter, then run
the public self-check and the notebooks there.

    python -m staff.alt_solution                  # build a starter, splice, run tests + notebooks
    python -m staff.alt_solution --no-notebooks   # the self-check only
    python -m staff.alt_solution --keep           # keep the spliced starter, print its path
    python -m staff.alt_solution --release DIR    # splice into a copy of this release instead

(`python -m staff.release.check --alt` runs the same.)

staff/alt_solution/ holds a second, independently written solution of every
region, deliberately unlike the model answers (in-place updates, dict
caches, the graph batchnorm backward with np.ones, a binomial dropout
mask, layer norm through its own batchnorm on x.T with (D, 1) gamma and
beta, the 2019 official losses, no optional sandwich helper, ...). The
starter's self-check must accept it: a test that only the model answers
pass tests one way of writing the code, not the code's correctness.

Layout: one file per file with regions, at the same path for a .py file
(staff/alt_solution/cs231n/layers.py) and at notebooks/<name>.py for a
notebook. Each section starts with a line "# @@ <key>":
- .py: the enclosing function, qualified ("FullyConnectedNet.loss"), plus
  " part <k>" when the function holds several regions; "<module>" for a
  region at module level;
- notebook: "region <k>", the k-th code region of the notebook in cell order.
A section's body is written at column 0; splicing indents it to the
region's markers and puts an empty line before and after it. Keys rather
than line numbers or cell indices, so that edits around the regions do not
break the splice. Every region needs a section, and every section a region.
"""
import argparse
import os
import posixpath
import re
import shutil
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET

from staff.release import regions as R
from staff.release import starter as REL

ROOT = REL.ROOT
ALT_DIR = os.path.join('staff', 'alt_solution')
KEY_LINE = re.compile(r'^# @@ (.+?)\s*$')
TEST_TIMEOUT = 300       # seconds for the self-check
NOTEBOOK_TIMEOUT = 900   # seconds for the three notebooks under nbval
CELL_TIMEOUT = 300
# Skips the self-check may report: only the optional sandwich helper, which
# the alternative solution leaves unwritten on purpose.
ALLOWED_SKIP = re.compile(r'affine_norm_relu_dropout')


class AltError(ValueError):
    pass


def alt_file(path):
    """Where the alternative solution of a release file lives, relative to the root."""
    if path.endswith('.ipynb'):
        path = posixpath.splitext(path)[0] + '.py'
    return posixpath.join(ALT_DIR, path)


def parse_sections(text, where):
    """{key: body lines} of an alternative-solution file, in file order.

    The lines before the first key are its header comment. Leading and
    trailing empty lines of a body are dropped; a key may appear once."""
    sections, key = {}, None
    for n, line in enumerate(R.split_lines(text), 1):
        m = KEY_LINE.match(line.rstrip('\r\n'))
        if m:
            key = m.group(1)
            if key in sections:
                raise AltError('%s:%d: section %r appears twice' % (where, n, key))
            sections[key] = []
        elif key is not None:
            sections[key].append(line if line.endswith('\n') else line + '\n')
    for key, body in sections.items():
        while body and not body[0].strip():
            body.pop(0)
        while body and not body[-1].strip():
            body.pop()
        if not body:
            raise AltError('%s: section %r is empty (write pass for an empty region)'
                           % (where, key))
    return sections


def py_key(region):
    if region.function is None:
        return '<module>'
    return region.function + (' part %d' % region.part if region.parts > 1 else '')


def indented(body, indent, eol='\n'):
    """A section's lines as a region body: indented, with an empty line around it."""
    lines = [(indent + l.rstrip('\r\n') if l.strip() else '') + eol for l in body]
    return [eol] + lines + [eol]


def _take(sections, keys, where):
    missing = [k for k in keys if k not in sections]
    unused = [k for k in sections if k not in keys]
    problems = []
    if missing:
        problems.append('%s: no section for the region(s) %s' % (where, ', '.join(missing)))
    if unused:
        problems.append('%s: section(s) %s match no region of the starter'
                        % (where, ', '.join(unused)))
    if problems:
        raise AltError('; '.join(problems))


def splice_file(path, text, alt_text):
    """The release file `path` (its text) with the alternative bodies spliced in.

    Returns (new text, {key: (alternative body, region)})."""
    where = alt_file(path)
    sections = parse_sections(alt_text, where)
    if path.endswith('.ipynb'):
        nb = R.load_notebook(text)
        code, _ = R.notebook_regions(nb, path)
        numbered = [(k, r) for k in sorted(code) for r in code[k]]
        keys = ['region %d' % (i + 1) for i in range(len(numbered))]
        _take(sections, keys, where)
        used = {}
        for cell_index in sorted(code):
            cell = nb['cells'][cell_index]
            src = R.cell_source(cell)
            bodies = []
            for r in code[cell_index]:
                key = keys[numbered.index((cell_index, r))]
                used[key] = (sections[key], r)
                bodies.append(indented(sections[key], r.indent))
            R.set_cell_source(cell, R.replace_bodies(src, code[cell_index], bodies))
        return R.dump_notebook(nb), used
    regions = R.py_regions(text, path)
    keys = [py_key(r) for r in regions]
    _take(sections, keys, where)
    used = {k: (sections[k], r) for k, r in zip(keys, regions)}
    return R.replace_bodies(text, regions, [indented(sections[k], r.indent)
                                            for k, r in zip(keys, regions)]), used


def files_with_regions(folder):
    """Relative paths of the .py and .ipynb files under folder that hold regions."""
    found = []
    for base, dirs, files in os.walk(folder):
        dirs[:] = [d for d in dirs if not d.startswith('.') and d != '__pycache__']
        for name in files:
            if not name.endswith(('.py', '.ipynb')):
                continue
            rel = os.path.relpath(os.path.join(base, name), folder).replace(os.sep, '/')
            with open(os.path.join(base, name), encoding='utf-8') as f:
                text = f.read()
            if R.START_MARKER in text:
                found.append(rel)
    return sorted(found)


def _normalized(lines):
    """A body without comments, blank lines and spacing, to compare two answers."""
    out = []
    for line in lines:
        code = line.split('#', 1)[0]
        code = re.sub(r'\s+', '', code)
        if code:
            out.append(code)
    return out


def model_bodies(path, root=ROOT):
    """{key: model-answer body} of a solution file."""
    with open(os.path.join(root, path), encoding='utf-8') as f:
        text = f.read()
    if path.endswith('.ipynb'):
        nb = R.load_notebook(text)
        code, _ = R.notebook_regions(nb, path)
        numbered = [r for k in sorted(code) for r in code[k]]
        return {'region %d' % (i + 1): r.body for i, r in enumerate(numbered)}
    return {py_key(r): r.body for r in R.py_regions(text, path)}


def splice_release(release_dir, root=ROOT):
    """Splice the alternative solution into release_dir, in place.

    Returns (spliced paths, regions spliced, problems): problems name the
    regions whose alternative is the model answer written the same way."""
    paths = files_with_regions(release_dir)
    if not paths:
        raise AltError('%s holds no solution region: is it a starter?' % release_dir)
    n_regions, problems = 0, []
    for path in paths:
        alt = os.path.join(root, alt_file(path))
        if not os.path.isfile(alt):
            raise AltError('%s has solution regions but %s does not exist'
                           % (path, alt_file(path)))
        full = os.path.join(release_dir, path)
        with open(full, encoding='utf-8') as f:
            text = f.read()
        with open(alt, encoding='utf-8') as f:
            alt_text = f.read()
        new, used = splice_file(path, text, alt_text)
        with open(full, 'w', encoding='utf-8', newline='') as f:
            f.write(new)
        n_regions += len(used)
        model = model_bodies(path, root)
        for key, (body, _) in used.items():
            if key in model and _normalized(body) == _normalized(model[key]) \
                    and _normalized(body) != ['pass']:
                problems.append('%s, %s: the alternative solution is the model answer; write '
                                'it differently' % (path, key))
    return paths, n_regions, problems


# ---------------------------------------------------------------------------
# Running the spliced starter

def _env(**extra):
    env = dict(os.environ, MPLBACKEND='Agg', PYTHONDONTWRITEBYTECODE='1')
    env.update(extra)
    return env


def _junit_cases(junit):
    """[(test id, outcome, message)] of a junit report; outcome in passed/failed/skipped."""
    cases = []
    for tc in ET.parse(junit).getroot().iter('testcase'):
        test_id = '%s::%s' % (tc.get('classname', ''), tc.get('name'))
        outcome = [ch for ch in tc if ch.tag in ('failure', 'error', 'skipped')]
        if not outcome:
            cases.append((test_id, 'passed', ''))
        else:
            ch = outcome[0]
            cases.append((test_id, 'skipped' if ch.tag == 'skipped' else 'failed',
                          (ch.get('message') or '').splitlines()[0][:200]
                          if ch.get('message') else ''))
    return cases


def run_pytest(folder, args, junit, env, timeout):
    """(problems, cases, seconds, output tail) of one pytest run in folder."""
    cmd = [sys.executable, '-m', 'pytest', *args, '-q', '--no-header', '-p', 'no:cacheprovider',
           '--junitxml', junit]
    start = time.perf_counter()
    try:
        p = subprocess.run(cmd, cwd=folder, env=env, capture_output=True, text=True,
                           timeout=timeout)
    except subprocess.TimeoutExpired:
        return (['pytest %s did not finish in %d s' % (' '.join(args), timeout)], [],
                time.perf_counter() - start, '')
    seconds = time.perf_counter() - start
    tail = '\n'.join((p.stdout + p.stderr).strip().splitlines()[-15:])
    if not os.path.isfile(junit):
        return (['pytest %s wrote no report (exit %d)' % (' '.join(args), p.returncode)], [],
                seconds, tail)
    cases = _junit_cases(junit)
    problems = []
    if p.returncode not in (0, 1):
        problems.append('pytest %s exited with status %d' % (' '.join(args), p.returncode))
    if not cases:
        problems.append('pytest %s collected no test' % ' '.join(args))
    for test_id, outcome, message in cases:
        if outcome == 'failed':
            problems.append('%s fails: %s' % (test_id, message))
        elif outcome == 'skipped' and not ALLOWED_SKIP.search(message):
            problems.append('%s is skipped: %s' % (test_id, message))
    return problems, cases, seconds, tail


def _summary(cases, seconds):
    count = {o: sum(1 for _, outcome, _ in cases if outcome == o)
             for o in ('passed', 'failed', 'skipped')}
    return '%d tests in %.0f s: %d passed, %d failed, %d skipped' % (
        len(cases), seconds, count['passed'], count['failed'], count['skipped'])


def check(release_dir, data_dir, notebooks=True, scratch=None):
    """Splice the alternative solution into release_dir and run it there.

    Returns (problems, info lines)."""
    problems, info = [], []
    try:
        paths, n_regions, same = splice_release(release_dir)
    except (AltError, R.RegionError) as e:
        return ['splice: %s' % e], info
    problems += same
    info.append('spliced %d regions into %s' % (n_regions, ', '.join(paths)))
    scratch = scratch or release_dir
    env = _env()
    p, cases, seconds, tail = run_pytest(release_dir, ['tests'], os.path.join(
        scratch, 'junit-alt-tests.xml'), env, TEST_TIMEOUT)
    info.append('self-check (python -m pytest tests): %s' % _summary(cases, seconds))
    if p and tail:
        info.append('   ' + tail.replace('\n', '\n   '))
    problems += p
    if not notebooks:
        info.append('notebooks: SKIPPED (--no-notebooks)')
    elif data_dir is None:
        problems.append('notebooks: CIFAR-10 is not installed (run ./get_datasets.sh, or set '
                        'CS231N_DATA_DIR to the folder that holds cifar-10-batches-py)')
    else:
        env = _env(CS231N_FAST='1', CS231N_DATA_DIR=data_dir)
        p, cases, seconds, tail = run_pytest(
            release_dir, ['--nbval-lax', '--nbval-cell-timeout=%d' % CELL_TIMEOUT, 'notebooks'],
            os.path.join(scratch, 'junit-alt-notebooks.xml'), env, NOTEBOOK_TIMEOUT)
        info.append('notebooks under nbval in fast mode: %s' % _summary(cases, seconds))
        if p and tail:
            info.append('   ' + tail.replace('\n', '\n   '))
        problems += p
    return problems, info


def find_data_dir():
    """The folder that holds cifar-10-batches-py, or None."""
    for c in (os.environ.get('CS231N_DATA_DIR'), os.path.join(ROOT, 'cs231n', 'datasets')):
        if c and all(os.path.isfile(os.path.join(c, 'cifar-10-batches-py', n))
                     for n in ('batches.meta', 'test_batch', 'data_batch_1', 'data_batch_5')):
            return os.path.abspath(c)
    return None


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog='python -m staff.alt_solution',
        description='Splice the alternative solution (staff/alt_solution/) into a fresh '
                    'student starter and run the public self-check and the notebooks '
                    '(fast mode, nbval) there.')
    parser.add_argument('--release', metavar='DIR',
                        help='splice into a copy of this starter instead of a fresh one')
    parser.add_argument('--keep', action='store_true', help='keep the spliced starter')
    parser.add_argument('--no-notebooks', action='store_true', help='skip the notebooks')
    args = parser.parse_args(argv)
    start = time.perf_counter()
    scratch = tempfile.mkdtemp(prefix='cs231n-alt-solution-')
    target = os.path.join(scratch, 'starter')
    keep = False
    try:
        try:
            if args.release:
                shutil.copytree(args.release, target)
            else:
                REL.release(target, root=ROOT)
        except (REL.ReleaseError, R.RegionError, OSError) as e:
            print('FAILED: cannot build the starter: %s' % e, file=sys.stderr)
            return 1
        problems, info = check(target, find_data_dir(), notebooks=not args.no_notebooks,
                               scratch=scratch)
        print('the alternative solution in the starter: %s' % ('FAILED' if problems else 'ok'))
        for line in info:
            print('   %s' % line)
        for p in problems:
            print('   PROBLEM %s' % p)
        keep = args.keep
    finally:
        if keep:
            print('Kept the spliced starter in %s' % target)
        else:
            shutil.rmtree(scratch, ignore_errors=True)
    print('%s: %d problem(s) in %.0f s' % ('FAILED' if problems else 'OK', len(problems),
                                           time.perf_counter() - start))
    return 1 if problems else 0

