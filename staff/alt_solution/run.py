"""The alternative solution: splice it into a fresh student starter, then run
the public self-check and the notebooks there.

    python -m staff.alt_solution                  # build a starter, splice, run tests + notebooks
    python -m staff.alt_solution --no-notebooks   # the self-check only
    python -m staff.alt_solution --keep           # keep the spliced starter, print its path
    python -m staff.alt_solution --release DIR    # splice into a copy of this release instead


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
import sys
import tempfile
import time

from staff.release import harness as H
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
    keys = [r.key for r in regions]
    _take(sections, keys, where)
    used = {k: (sections[k], r) for k, r in zip(keys, regions)}
    return R.replace_bodies(text, regions, [indented(sections[k], r.indent)
                                            for k, r in zip(keys, regions)]), used


def _normalized(lines):
    """A body without comments, blank lines and spacing, to compare two answers."""
    out = []
    for line in lines:
        code = line.split('#', 1)[0]
        code = re.sub(r'\s+', '', code)
        if code:
            out.append(code)
    return out


def splice_release(release_dir, root=ROOT):
    """Splice the alternative solution into release_dir, in place.

    Returns (spliced paths, regions spliced, problems): problems name the
    regions whose alternative is the model answer written the same way."""
    paths = R.files_with_regions(release_dir)
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
        model = REL.model_bodies(path, root)
        for key, (body, _) in used.items():
            if key in model and _normalized(body) == _normalized(model[key]) \
                    and _normalized(body) != ['pass']:
                problems.append('%s, %s: the alternative solution is the model answer; write '
                                'it differently' % (path, key))
    return paths, n_regions, problems


# ---------------------------------------------------------------------------
# Running the spliced starter

def _problems(run, what, timeout):
    """What is wrong with a harness.PytestRun that must pass: every failure, an
    unexpected skip, no report, no test, a timeout."""
    if run.returncode is None:
        return ['pytest %s did not finish in %d s' % (what, timeout)]
    if run.junit is None:
        return ['pytest %s wrote no report (exit %d)' % (what, run.returncode)]
    problems = []
    if run.returncode not in (0, 1):
        problems.append('pytest %s exited with status %d' % (what, run.returncode))
    if not run.cases:
        problems.append('pytest %s collected no test' % what)
    for test_id, outcome, message in run.cases:
        if outcome == 'failed':
            problems.append('%s fails: %s' % (test_id, message))
        elif outcome == 'skipped' and not ALLOWED_SKIP.search(message):
            problems.append('%s is skipped: %s' % (test_id, message))
    return problems


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
    run = H.run_pytest(release_dir, ['tests'], os.path.join(scratch, 'junit-alt-tests.xml'),
                       TEST_TIMEOUT)
    info.append('self-check (python -m pytest tests): %s' % run.summary())
    p = _problems(run, 'tests', TEST_TIMEOUT)
    if p and run.output:
        info.append('   ' + run.tail().replace('\n', '\n   '))
    problems += p
    if not notebooks:
        info.append('notebooks: SKIPPED (--no-notebooks)')
    elif data_dir is None:
        problems.append('notebooks: CIFAR-10 is not installed (run ./get_datasets.sh, or set '
                        'CS231N_DATA_DIR to the folder that holds cifar-10-batches-py)')
    else:
        run = H.run_pytest(
            release_dir, ['--nbval-lax', '--nbval-cell-timeout=%d' % CELL_TIMEOUT, 'notebooks'],
            os.path.join(scratch, 'junit-alt-notebooks.xml'), NOTEBOOK_TIMEOUT,
            env={'CS231N_FAST': '1', 'CS231N_DATA_DIR': data_dir})
        info.append('notebooks under nbval in fast mode: %s' % run.summary())
        p = _problems(run, 'notebooks', NOTEBOOK_TIMEOUT)
        if p and run.output:
            info.append('   ' + run.tail().replace('\n', '\n   '))
        problems += p
    return problems, info


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
        problems, info = check(target, H.find_data_dir(), notebooks=not args.no_notebooks,
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

