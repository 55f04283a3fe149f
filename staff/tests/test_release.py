"""The release tool on this repository, and the submission bundle on fake notebooks.

Staff-only: staff/release/manifest.txt keeps this file out of the student release.
"""
import json
import os
import re
import subprocess
import sys
import zipfile

import pytest

from staff.alt_solution import run as ALT
from staff.release import check as CHK
from tools import collect_submission as CS
from staff.release import regions as R
from staff.release import starter as REL

ROOT = REL.ROOT
PY_WITH_REGIONS = ['cs231n/layers.py', 'cs231n/layer_utils.py', 'cs231n/classifiers/fc_net.py',
                   'cs231n/optim.py']
NOTEBOOKS = ['notebooks/01_FullyConnectedNets.ipynb', 'notebooks/02_BatchNormalization.ipynb',
             'notebooks/03_Dropout.ipynb']
START, END = R.START_MARKER, R.END_MARKER


def read(root, path):
    with open(os.path.join(root, path), encoding='utf-8') as f:
        return f.read()


@pytest.fixture(scope='module')
def built(tmp_path_factory):
    out = tmp_path_factory.mktemp('release') / 'starter'
    summary = REL.release(str(out))
    return str(out), summary


@pytest.fixture(scope='module')
def solution():
    files, _ = REL.release_files(ROOT)
    return CHK.Solution(ROOT, files)


# ---------------------------------------------------------------------------
# Regions of the real repository

def test_regions_parse_and_name_their_functions():
    found = {}
    for path in PY_WITH_REGIONS:
        regions = R.py_regions(read(ROOT, path), path)
        assert regions, '%s: no solution region found' % path
        for r in regions:
            found.setdefault(r.function, []).append(r)
            assert r.end > r.start + 1, '%r: empty region' % r
    for name in ('affine_forward', 'affine_backward', 'relu_forward', 'softmax_loss',
                 'batchnorm_backward_alt', 'layernorm_backward', 'TwoLayerNet.__init__',
                 'FullyConnectedNet.__init__', 'sgd_momentum', 'rmsprop', 'adam'):
        assert name in found, 'no region found inside %s' % name
    # Functions with a region per branch or per pass number their parts.
    for name in ('batchnorm_forward', 'dropout_forward', 'TwoLayerNet.loss',
                 'FullyConnectedNet.loss'):
        assert [(r.part, r.parts) for r in found[name]] == [(1, 2), (2, 2)], name
    # The sandwich of layer_utils.py is the one module-level region.
    assert [(r.where, r.indent) for r in found[None]] == [('cs231n/layer_utils.py', '')]


def test_notebook_regions_and_answers_parse():
    for path in NOTEBOOKS:
        code, answers = R.notebook_regions(json.loads(read(ROOT, path)), path)
        assert answers, '%s: no "## Answer:" cell' % path
    code, _ = R.notebook_regions(json.loads(read(ROOT, NOTEBOOKS[0])), NOTEBOOKS[0])
    assert sum(len(v) for v in code.values()) >= 2  # the Solver cell and "Train a good model"


# ---------------------------------------------------------------------------
# The release

def test_region_bodies_become_stubs(built):
    out, _ = built
    for path in PY_WITH_REGIONS:
        for r in R.py_regions(read(out, path), path):
            body = ''.join(r.body).strip()
            if r.function is None:
                assert body == 'pass', '%r' % r
            else:
                assert body.startswith('raise NotImplementedError('), '%r: %s' % (r, body)
                assert '%s in %s' % (r.function, path) in body.replace("'\n", '').replace(
                    "    '", ''), body


def test_no_solution_line_survives(built, solution):
    out, _ = built
    excludes, _ = REL.load_manifest(ROOT)
    problems, leaks = CHK.check_no_solution(solution, out, excludes)
    assert problems == [] and leaks == 0
    assert len(solution.inside) > 100  # the check had something to look for


def test_bookkeeping_lines_kept(built):
    out, _ = built
    layers, optim = read(out, 'cs231n/layers.py'), read(out, 'cs231n/optim.py')
    for line in ('cache = (x, w, b)', 'cache = x', 'N, D = x.shape',
                 'return _given.finish_batchnorm_forward(out, cache, running_mean, running_var,',
                 'cache = (dropout_param, mask)', 'return _given.finish_dropout_forward(out, x)',
                 'out = None', 'dx, dw, db = None, None, None'):
        assert line in layers, line
    assert "config['velocity'] = v" in optim and 'next_w = None' in optim
    fc = read(out, 'cs231n/classifiers/fc_net.py')
    assert '_given.finish_net_init(self, input_dim, dtype)' in fc
    # Outside the regions, every line is the solution's, in the same order.
    for path in PY_WITH_REGIONS:
        def outside(text):
            lines = R.split_lines(text)
            inside = {i for r in R.find_regions(text, path) for i in range(r.start, r.end - 1)}
            return [l for i, l in enumerate(lines) if i not in inside]
        assert outside(read(out, path)) == outside(read(ROOT, path)), path


def test_release_python_compiles(built):
    out, summary = built
    pys = [p for p in summary['files'] if p.endswith('.py')]
    assert pys
    for path in pys:
        compile(read(out, path), path, 'exec')


def test_stubs_raise_naming_function_and_file(built):
    out, _ = built
    code = ('import numpy as np\n'
            'from cs231n.layers import affine_forward, batchnorm_forward\n'
            'from cs231n.classifiers.fc_net import FullyConnectedNet\n'
            'from cs231n import layer_utils, optim\n'
            'for call in (lambda: affine_forward(np.ones((2, 3)), np.ones((3, 4)), np.ones(4)),\n'
            '             lambda: batchnorm_forward(np.ones((2, 3)), np.ones(3), np.ones(3),\n'
            "                                       {'mode': 'test'}),\n"
            '             lambda: FullyConnectedNet([5]),\n'
            '             lambda: optim.adam(np.ones(3), np.ones(3))):\n'
            '    try:\n'
            '        call()\n'
            '    except NotImplementedError as e:\n'
            '        print(e)\n'
            "print(hasattr(layer_utils, 'affine_norm_relu_dropout_forward'))\n")
    p = subprocess.run([sys.executable, '-c', code], cwd=out, capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    lines = p.stdout.splitlines()
    assert lines[0] == 'affine_forward in cs231n/layers.py: Implement the affine forward pass.'
    assert lines[1].startswith('batchnorm_forward in cs231n/layers.py (part 2 of 2): '
                               'Implement the test-time forward pass')
    assert lines[2].startswith('FullyConnectedNet.__init__ in cs231n/classifiers/fc_net.py: ')
    assert lines[3].startswith('adam in cs231n/optim.py: Implement the Adam update')
    assert lines[4] == 'False'  # the sandwich is the student's to write


def test_release_installs_and_imports(built, tmp_path):
    out, _ = built
    problems, info = CHK.check_install(out, str(tmp_path))
    assert problems == []
    assert info and ('import of its' in info[0] or 'skipped' in info[0])
    assert not os.path.exists(os.path.join(out, 'build'))  # pip built a copy, not the release


def test_splice_back_is_byte_identical(built, solution):
    out, summary = built
    problems, identical, _ = CHK.check_splice(solution, out)
    assert problems == []
    assert identical == len(summary['files'])


def test_splice_rejects_mismatched_regions():
    text = 'x = 1\n%s\ny = 2\n%s\n' % (START, END)
    with pytest.raises(ValueError, match='1 regions, the solution has 2'):
        R.splice('a.py', text, [['a\n'], ['b\n']])
    assert R.splice('a.py', text, [['z = 3\n']]) == 'x = 1\n%s\nz = 3\n%s\n' % (START, END)


def test_release_notebooks_cleared_and_answers_blank(built):
    out, _ = built
    for path in NOTEBOOKS:
        nb = json.loads(read(out, path))
        code, answers = R.notebook_regions(nb, path)
        assert answers
        for k, cell in enumerate(nb['cells']):
            if cell['cell_type'] == 'code':
                assert cell['outputs'] == [] and cell['execution_count'] is None, (path, k)
            assert 'execution' not in cell.get('metadata', {}), (path, k)
        for k in answers:
            assert R.cell_source(nb['cells'][k]) == '## Answer:\n\n[FILL THIS IN]', (path, k)
        for k, regions in code.items():
            for r in regions:
                assert ''.join(r.body).strip() == 'pass', (path, k)
        assert read(out, path) == R.dump_notebook(nb)  # written the way Jupyter writes


def test_solution_only_files_left_out(built):
    out, summary = built
    shipped = set(CHK._rel_files(out))
    assert shipped == set(summary['files'])
    for path in ('staff/release/starter.py', 'staff/release/regions.py', 'staff/release/check.py',
                 'staff/alt_solution/run.py', 'staff/release/manifest.txt', 'staff/release/student_README.md',
                 'staff/tests/test_release.py', 'staff/alt_solution/cs231n/layers.py', '.ci/run'):
        assert path not in shipped, path
    assert not [p for p in shipped if p.startswith(('bench/', '.ci/', 'output/', 'staff/'))]
    assert not [p for p in shipped if '__pycache__' in p or 'cifar-10-batches-py' in p]
    for path in ('tools/collect_submission.py', 'tools/run_notebooks.py', 'tools/__init__.py',
                 'tests/conftest.py', 'tests/test_layers.py', 'pyproject.toml',
                 'notebooks/conftest.py', 'cs231n/solver.py', *NOTEBOOKS):
        assert path in shipped, path
    # Only files git tracks, or files the manifest requires, ship.
    _, requires = REL.load_manifest(ROOT)
    assert shipped <= set(REL.tracked_files(ROOT)) | set(requires)


def test_shipped_pyproject_lists_only_shipped_test_paths(built):
    """A student's bare pytest collects what they have: no staff/tests in testpaths."""
    out, _ = built
    with open(os.path.join(out, 'pyproject.toml'), encoding='utf-8') as f:
        shipped = f.read()
    with open(os.path.join(ROOT, 'pyproject.toml'), encoding='utf-8') as f:
        ours = f.read()
    assert 'staff/tests' in ours
    assert re.search(r'(?m)^testpaths = \["tests", "notebooks"\]$', shipped), shipped
    assert 'staff' not in shipped
    # the rest of the file ships as it is
    assert [l for l in shipped.splitlines() if not l.startswith('testpaths')] == \
        [l for l in ours.splitlines() if not l.startswith('testpaths')]


def test_executable_bits_kept(built):
    out, _ = built
    assert os.access(os.path.join(out, 'run_tests.sh'), os.X_OK)


def test_release_refuses_nonempty_out_dir_without_force(tmp_path, capsys):
    out = tmp_path / 'starter'
    out.mkdir()
    (out / 'keep.txt').write_text('mine')
    assert REL.main([str(out)]) == 1
    assert 'not empty; pass --force' in capsys.readouterr().err
    assert (out / 'keep.txt').read_text() == 'mine'
    assert REL.main([str(out), '--force']) == 0
    assert not (out / 'keep.txt').exists() and (out / 'cs231n' / 'layers.py').is_file()
    assert sorted(os.listdir(tmp_path)) == ['starter']  # no temporary folders left behind


def test_release_refuses_to_replace_the_repository(tmp_path):
    repo = tmp_path / 'repo'
    _git_repo(repo, {'staff/release/manifest.txt': 'require a.py\n', 'a.py': 'x = 1\n'})
    for target in (repo, tmp_path):
        with pytest.raises(REL.ReleaseError, match='holds the solution repository'):
            REL.release(str(target), force=True, root=str(repo))
    assert (repo / 'a.py').read_text() == 'x = 1\n'


# ---------------------------------------------------------------------------
# Malformed regions

@pytest.mark.parametrize('lines, line, message', [
    (['def f():', '    x = 1', '    ' + START, '    x = 2'], 3, 'START marker without an END'),
    (['def f():', '    ' + START, '    x = 1', '    ' + START, '    x = 2', '    ' + END], 4,
     'START marker inside the region opened at line 2'),
    (['def f():', '    x = 1', '    ' + END], 3, 'END marker without a START'),
    (['def f():', '    ' + START, '    x = 1', END], 4, 'indented differently'),
    (['def f():', '    # *****START OF YOUR CODE*****', '    x = 1'], 2, 'altered region marker'),
])
def test_malformed_region_names_file_and_line(lines, line, message):
    with pytest.raises(R.RegionError, match=re.escape('cs231n/bad.py:%d: ' % line) + '.*'
                       + re.escape(message)):
        R.py_regions('\n'.join(lines) + '\n', 'cs231n/bad.py')


def test_malformed_notebook_region_names_cell():
    nb = {'cells': [{'cell_type': 'code', 'source': ['x = 1\n', START + '\n', 'y = 2\n'],
                     'metadata': {}, 'outputs': [], 'execution_count': None}],
          'metadata': {}, 'nbformat': 4, 'nbformat_minor': 5}
    with pytest.raises(R.RegionError, match=r'nb\.ipynb cell 0:2: START marker without an END'):
        R.stub_notebook(json.dumps(nb), 'nb.ipynb')


def _git_repo(root, files):
    for path, text in files.items():
        full = root / path
        full.parent.mkdir(parents=True, exist_ok=True)
        full.write_text(text)
    subprocess.run(['git', 'init', '-q', str(root)], check=True)
    subprocess.run(['git', 'add', '-A'], cwd=root, check=True)


def test_malformed_region_stops_the_release_and_writes_nothing(tmp_path, capsys):
    repo = tmp_path / 'repo'
    _git_repo(repo, {
        'staff/release/manifest.txt': 'exclude secret/\nrequire pkg/a.py\n',
        'pkg/a.py': 'def f():\n    %s\n    return 1\n' % START,
        'secret/answers.py': 'x = 1\n',
    })
    out = tmp_path / 'out'
    with pytest.raises(R.RegionError, match=r'pkg/a\.py:2: START marker without an END'):
        REL.release(str(out), root=str(repo))
    assert sorted(os.listdir(tmp_path)) == ['repo']  # neither out/ nor a temporary folder


def test_release_of_a_small_repository(tmp_path):
    repo = tmp_path / 'repo'
    _git_repo(repo, {
        'staff/release/manifest.txt': 'exclude secret/\nrequire pkg/a.py\n',
        'pkg/a.py': ('class C:\n    def f(self):\n        out = None\n'
                     '        # TODO: Compute out. Then return it.\n'
                     '        %s\n        out = 42\n        %s\n        return out\n'
                     % (START, END)),
        'secret/answers.py': 'x = 1\n',
    })
    (repo / 'untracked.txt').write_text('junk')
    out = tmp_path / 'out'
    REL.release(str(out), root=str(repo))
    assert sorted(CHK._rel_files(str(out))) == ['pkg/a.py', 'staff/release/manifest.txt']
    assert "raise NotImplementedError('C.f in pkg/a.py: Compute out.')" in (
        out / 'pkg' / 'a.py').read_text()


# ---------------------------------------------------------------------------
# The CI check's reading of a test run

def test_check_tests_flags_collection_and_unexpected_errors(tmp_path, solution):
    junit = tmp_path / 'junit.xml'
    junit.write_text(
        '<testsuites><testsuite>'
        '<testcase classname="" name="tests.test_x"><error message="collection failure">'
        "E   ImportError: cannot import name 'affine_norm_relu_dropout_forward' from "
        "'cs231n.layer_utils' (x.py)</error></testcase>"
        '<testcase classname="tests.test_y" name="test_a"><failure message="NotImplementedError: '
        'affine_forward in cs231n/layers.py: Implement the affine forward pass.">t</failure>'
        '</testcase>'
        '<testcase classname="tests.test_y" name="test_b"><failure message="assert 1.0 &lt; 1e-7">'
        't</failure></testcase>'
        '<testcase classname="tests.test_y" name="test_c"><failure message="TypeError: '
        "'NoneType' object is not subscriptable\">t</failure></testcase>"
        '<testcase classname="tests.test_y" name="test_d"/>'
        '</testsuite></testsuites>')
    from staff.release.harness import PytestRun
    run = PytestRun(1, 1.0, '', str(junit))
    problems, info, reached = CHK.check_tests({'run': run}, solution)
    assert len([p for p in problems if 'does not collect' in p]) == 1
    assert 'defined only inside the solution region' in problems[0]
    assert len([p for p in problems if 'fails on TypeError' in p]) == 1
    assert not [p for p in problems if 'test_a' in p or 'test_b' in p]
    assert '5 unit tests' in info[0] and '1 passed' in info[0]
    assert reached == {'affine_forward': 1}


# ---------------------------------------------------------------------------
# The submission bundle

def _notebook(counts, outputs=None, sources=None):
    cells = [{'cell_type': 'markdown', 'metadata': {}, 'source': ['# Title']}]
    for k, count in enumerate(counts):
        cells.append({'cell_type': 'code', 'metadata': {}, 'execution_count': count,
                      'outputs': (outputs or {}).get(k, []),
                      'source': [(sources or {}).get(k, 'x = %d' % k)]})
    return {'cells': cells, 'metadata': {}, 'nbformat': 4, 'nbformat_minor': 5}


def _submission(root, notebooks=None, skip=()):
    for path in CS.CODE:
        if path not in skip:
            (root / path).parent.mkdir(parents=True, exist_ok=True)
            (root / path).write_text('# %s\n' % path)
    (root / 'cs231n' / 'helpers.py').write_text('# extra code of the student\n')
    for i, path in enumerate(CS.NOTEBOOKS):
        if path in skip:
            continue
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        nb = (notebooks or {}).get(path) or _notebook([1, 2, 3])
        (root / path).write_text(json.dumps(nb))
    from staff.tests import grading_fixtures as G
    G.write_models(str(root), {k: v for k, v in _model_files().items() if k not in skip})


_MODELS = {}


def _model_files():
    if not _MODELS:
        from staff.tests import grading_fixtures as G
        _MODELS.update(G.model_files())
    return _MODELS


def _collect(root, capsys):
    out = root / 'bundle.zip'
    code = CS.main(['--root', str(root), '--out', str(out)])
    captured = capsys.readouterr()
    return code, captured.out + captured.err, out


def test_submission_ok(tmp_path, capsys):
    _submission(tmp_path, {CS.NOTEBOOKS[1]: _notebook([1, None, 2], sources={1: '  \n'})})
    code, text, out = _collect(tmp_path, capsys)
    assert code == 0, text
    with zipfile.ZipFile(out) as z:
        names = z.namelist()
    assert set(CS.CODE + CS.NOTEBOOKS + list(CS.MODELS)) <= set(names)
    assert 'cs231n/helpers.py' in names
    assert 'notebooks/01_FullyConnectedNets.ipynb' in text and 'Wrote' in text
    assert [p for p in os.listdir(tmp_path) if p.startswith('.tmp-')] == []


@pytest.mark.parametrize('case, expected', [
    ('missing', 'cs231n/optim.py: required file not found'),
    ('missing_notebook', 'notebooks/03_Dropout.ipynb: required file not found'),
    ('order', 'notebooks/02_BatchNormalization.ipynb: not run top to bottom in one kernel: '
              'cell 2 has execution count 3, expected 2'),
    ('restarted', 'notebooks/02_BatchNormalization.ipynb: not run top to bottom in one kernel: '
                  'cell 1 has execution count 4, expected 1'),
    ('error', 'notebooks/01_FullyConnectedNets.ipynb: cell 2 shows an error: '
              'NotImplementedError: affine_forward in cs231n/layers.py'),
    ('unexecuted', 'notebooks/03_Dropout.ipynb: cell 3 was not executed'),
    ('not_run', 'notebooks/02_BatchNormalization.ipynb: was not run: none of its 3 code cells '
                'has been executed'),
    ('missing_model', 'saved_models/best_model.npz: not found; run notebooks/03_Dropout.ipynb '
                      'to the end: its save_model cell writes it'),
    ('bad_model', 'saved_models/fc_net_best.npz: not a readable .npz file written by '
                  'save_model'),
])
def test_submission_problems_exit_nonzero(tmp_path, capsys, case, expected):
    notebooks, skip = {}, ()
    if case == 'missing':
        skip = ('cs231n/optim.py',)
    elif case == 'missing_notebook':
        skip = (CS.NOTEBOOKS[2],)
    elif case == 'order':
        notebooks[CS.NOTEBOOKS[1]] = _notebook([1, 3, 2])
    elif case == 'restarted':
        notebooks[CS.NOTEBOOKS[1]] = _notebook([4, 5, 6])
    elif case == 'error':
        notebooks[CS.NOTEBOOKS[0]] = _notebook([1, 2], outputs={1: [{
            'output_type': 'error', 'ename': 'NotImplementedError',
            'evalue': 'affine_forward in cs231n/layers.py: Implement the affine forward pass.',
            'traceback': []}]})
    elif case == 'unexecuted':
        notebooks[CS.NOTEBOOKS[2]] = _notebook([1, 2, None])
    elif case == 'not_run':
        notebooks[CS.NOTEBOOKS[1]] = _notebook([None, None, None])
    elif case == 'missing_model':
        skip = ('saved_models/best_model.npz',)
    _submission(tmp_path, notebooks, skip)
    if case == 'bad_model':
        (tmp_path / 'saved_models' / 'fc_net_best.npz').write_bytes(b'half a file')
    old = tmp_path / 'bundle.zip'
    old.write_bytes(b'previous bundle')
    code, text, out = _collect(tmp_path, capsys)
    assert code == 1
    assert expected in text
    assert 'No zip written' in text
    assert out.read_bytes() == b'previous bundle'


def test_submission_command_line_exit_status(tmp_path):
    _submission(tmp_path, {CS.NOTEBOOKS[0]: _notebook([2, 1])})
    p = subprocess.run([sys.executable, '-m', 'tools.collect_submission', '--root', str(tmp_path),
                        '--out', str(tmp_path / 'a.zip')], cwd=ROOT, capture_output=True,
                       text=True)
    assert p.returncode == 1
    assert 'not run top to bottom' in p.stderr
    assert not (tmp_path / 'a.zip').exists()


# ---------------------------------------------------------------------------
# The student README

def test_student_readme_replaces_the_solution_readme(built, solution):
    out, summary = built
    assert summary['replaced'] == {'README.md': 'staff/release/student_README.md'}
    shipped = read(out, 'README.md')
    assert shipped == read(ROOT, 'staff/release/student_README.md')
    assert shipped != read(ROOT, 'README.md')
    for phrase in ('./run_tests.sh tests -k affine', 'python -m pytest tests -k affine',
                   'python -m tools.collect_submission', './get_datasets.sh', 'Colab',
                   'VS Code', 'Jupyter', '02_BatchNormalization', 'layernorm_backward', 'adam'):
        assert phrase in shipped, phrase
    excludes, _ = REL.load_manifest(ROOT)
    assert CHK._staff_mentions('README.md', shipped, excludes, solution) == []
    for word in ('solution', 'bench', '.ci', 'staff'):
        assert word not in shipped.lower(), word


def test_staff_mention_in_the_student_readme_is_a_problem(solution):
    excludes, _ = REL.load_manifest(ROOT)
    text = 'Run bench/bench_train.py, see .ci/run and staff/release/starter.py; the README.md is fine.\n'
    problems = CHK._staff_mentions('README.md', text, excludes, solution)
    assert len(problems) == 3 and all('README.md line 1: names' in p for p in problems)


def test_manifest_replace_in_a_small_repository(tmp_path):
    repo = tmp_path / 'repo'
    _git_repo(repo, {
        'staff/release/manifest.txt': 'replace README.md docs/student.md\n',
        'README.md': 'the solution\n', 'docs/student.md': 'for students\n', 'a.py': 'x = 1\n',
    })
    out = tmp_path / 'out'
    summary = REL.release(str(out), root=str(repo))
    assert summary['replaced'] == {'README.md': 'docs/student.md'}
    assert sorted(CHK._rel_files(str(out))) == ['README.md', 'a.py', 'staff/release/manifest.txt']
    assert (out / 'README.md').read_text() == 'for students\n'


@pytest.mark.parametrize('line, message', [
    ('replace README.md\n', 'expected'),
    ('replace README.md README.md\n', 'replaces itself'),
    ('replace README.md a.md\nreplace README.md b.md\n', 'replaced twice'),
    ('replace README.md missing.md\n', 'missing.md'),
    ('exclude README.md\nreplace README.md a.md\n', 'both replaced and excluded'),
])
def test_manifest_replace_errors(tmp_path, line, message):
    repo = tmp_path / 'repo'
    _git_repo(repo, {'staff/release/manifest.txt': line, 'README.md': 'x\n', 'a.md': 'a\n',
                     'b.md': 'b\n'})
    with pytest.raises(REL.ReleaseError, match=message):
        REL.release(str(tmp_path / 'out'), root=str(repo))


# ---------------------------------------------------------------------------
# The formula scan (check 1b)

def _stubbed(solution):
    return set(CHK.stubbed_functions(solution))


def test_release_has_no_formula(built, solution):
    out, _ = built
    problems, scanned = CHK.check_formulas(out, _stubbed(solution))
    assert scanned > 30
    assert problems == []


PLANTED = {
    'sgd_momentum': "    v_next = mu * v - learning_rate * dw  # planted\n",
    'rmsprop': "    expected_cache = decay_rate * cache + (1 - decay_rate) * dw**2\n",
    'adam': "    m_hat = m / (1 - beta1**t)\n",
    'batchnorm_forward': "    x_hat = (x - x.mean(axis=0)) / np.sqrt(x.var(axis=0) + eps)\n",
    'layernorm_forward': "    expected = gamma * (row - row.mean()) / np.sqrt(row.var() + 1e-5) + beta\n",
    'batchnorm_backward_alt': "    dx = (dxhat - dxhat.mean(axis=0) - xhat * (dxhat * xhat).mean(axis=0)) / std\n",
    'dropout_forward': "    mask = (np.random.rand(*x.shape) < p) / p\n",
    'softmax_loss': "    # the gradient is (softmax - onehot) / N\n",
    'TwoLayerNet.loss': "    'expected 0.5 * reg * sum(W**2)'\n",
}


@pytest.mark.parametrize('function', sorted(PLANTED))
def test_planted_formula_is_found(built, solution, tmp_path, function):
    """A formula planted in a test file, in a notebook's markdown and in the
    README of a copy of the release fails the scan, naming file and line."""
    out, _ = built
    copy = tmp_path / 'release'
    import shutil
    shutil.copytree(out, copy)
    line = PLANTED[function]
    test_file = copy / 'tests' / 'test_layers.py'
    test_file.write_text(test_file.read_text() + '\n\ndef helper():\n' + line)
    nb_path = copy / 'notebooks' / '02_BatchNormalization.ipynb'
    nb = json.loads(nb_path.read_text())
    nb['cells'].insert(3, {'cell_type': 'markdown', 'metadata': {},
                           'source': ['A hint:\n', '`%s`\n' % line.strip()]})
    nb_path.write_text(json.dumps(nb))
    (copy / 'README.md').write_text('# Notes\n\n' + line)
    problems, _ = CHK.check_formulas(str(copy), _stubbed(solution))
    n = len(test_file.read_text().splitlines())
    assert any(p.startswith('tests/test_layers.py line %d: ' % n) and function in p
               for p in problems), problems
    assert any(p.startswith('notebooks/02_BatchNormalization.ipynb cell 3 line 2: ')
               for p in problems), problems
    assert any(p.startswith('README.md line 3: ') for p in problems), problems


@pytest.mark.parametrize('text', [
    # the AdaGrad rule of the FullyConnectedNets notebook (its cell, Inline Question 3)
    'cache += dw**2',
    'w += - learning_rate * dw / (np.sqrt(cache) + eps)',
    '    cache += dw * dw',
    "    w -= config['learning_rate'] * dw / (np.sqrt(cache) + 1e-7)",
    '"""AdaGrad, for comparison: cache += dw**2; w -= lr * dw / (sqrt(cache) + eps)."""',
    # given code, docstrings and TODOs of the package
    '        running_mean = momentum * running_mean + (1 - momentum) * sample_mean',
    '        # Draw the mask with rand(*x.shape) < p and store it in mask.         #',
    '        # NOTE: To ensure that your implementation matches ours and you pass  #',
    '        # a factor of 0.5 to simplify the expression for the gradient.        #',
    '    w -= config[\'learning_rate\'] * dw',
    # the official batchnorm LaTeX, and the notebooks' own setups
    r'& \sigma=\sqrt{v+\epsilon}         &  y_i=\frac{x_i-\mu}{\sigma}',
    'a = np.maximum(0, X.dot(W1)).dot(W2)',
    "    unscaled = x * (mask != 0)",
    "print('  means:', a_norm.mean(axis=0))",
])
def test_given_text_is_not_a_formula(text):
    assert CHK.formula_hits(text) == []


def _by_function(bodies):
    joined = {}
    for key, body in bodies.items():
        joined.setdefault(key.split(' part ')[0], []).extend(body)
    return {k: ''.join(v) for k, v in joined.items()}


@pytest.mark.parametrize('path', ['cs231n/layers.py', 'cs231n/classifiers/fc_net.py',
                                  'cs231n/optim.py'])
def test_formulas_catch_both_solutions(path):
    """Every stubbed function with patterns is caught in the model answer and
    in the alternative solution, two different ways of writing it."""
    covered = {f for fns, _, _ in CHK.FORMULAS for f in fns}
    alt = ALT.parse_sections(read(ROOT, ALT.alt_file(path)), path)
    for label, bodies in (('model answer', REL.model_bodies(path)), ('alternative', alt)):
        for function, text in _by_function(bodies).items():
            if function not in covered:
                continue
            hits = [w for _, fns, w, _ in CHK.formula_hits(text) if function in fns]
            assert hits, 'no formula pattern of %s matches its %s' % (function, label)
    functions = {f for f in _by_function(REL.model_bodies(path))}
    assert functions <= covered, 'stubbed functions without patterns: %s' % (
        sorted(functions - covered))


# ---------------------------------------------------------------------------
# The alternative solution (its run is .ci/run's: python -m staff.alt_solution)

def test_alt_solution_splices_into_the_release(built, tmp_path):
    out, _ = built
    import shutil
    copy = tmp_path / 'starter'
    shutil.copytree(out, copy)
    paths, n_regions, problems = ALT.splice_release(str(copy))
    assert problems == []
    assert paths == ['cs231n/classifiers/fc_net.py', 'cs231n/layer_utils.py',
                     'cs231n/layers.py', 'cs231n/optim.py'] + [
        p for p in NOTEBOOKS if R.notebook_regions(json.loads(read(ROOT, p)), p)[0]]
    assert n_regions == sum(len(R.py_regions(read(ROOT, p), p)) for p in PY_WITH_REGIONS) + sum(
        len(rs) for p in NOTEBOOKS for rs in R.notebook_regions(json.loads(read(ROOT, p)), p)[0]
        .values())
    for path in paths:
        text = read(str(copy), path)
        if path.endswith('.py'):
            compile(text, path, 'exec')
            assert 'NotImplementedError(' not in text or path == 'cs231n/layer_utils.py'
        else:
            nb = json.loads(text)
            code, _ = R.notebook_regions(nb, path)
            for k in code:
                src = R.cell_source(nb['cells'][k])
                assert 'pass' not in [l.strip() for l in src.splitlines()], (path, k)
                compile(src, '%s cell %d' % (path, k), 'exec')
    # the optional sandwich stays unwritten
    assert 'def affine_norm_relu_dropout_forward' not in read(str(copy), 'cs231n/layer_utils.py')


def test_alt_solution_sections_must_match_regions():
    text = 'def f():\n    x = None\n    %s\n    x = 1\n    %s\n    return x\n' % (START, END)
    new, used = ALT.splice_file('m.py', R.stub_py(text, 'm.py')[0],
                                '# header\n# @@ f\nx = 2\nif x:\n    x += 1\n')
    assert '    x = 2\n    if x:\n        x += 1\n' in new and list(used) == ['f']
    with pytest.raises(ALT.AltError, match=r"no section for the region\(s\) f"):
        ALT.splice_file('m.py', text, '# @@ g\nx = 2\n')
    with pytest.raises(ALT.AltError, match=r"section\(s\) g match no region"):
        ALT.splice_file('m.py', text, '# @@ f\nx = 2\n# @@ g\nx = 3\n')
    with pytest.raises(ALT.AltError, match='appears twice'):
        ALT.parse_sections('# @@ f\nx = 1\n# @@ f\nx = 2\n', 'm.py')
    with pytest.raises(ALT.AltError, match='is empty'):
        ALT.parse_sections('# @@ f\n\n', 'm.py')


def test_alt_solution_that_copies_the_model_answer_is_a_problem(tmp_path):
    """splice_release reports a section that is the model answer written the same way."""
    path = 'cs231n/layers.py'
    model = REL.model_bodies(path)
    assert ALT._normalized(model['affine_forward']) == ALT._normalized(
        ['# a comment\n'] + [l.replace(' ', '') + '\n' for l in model['affine_forward']])
    alt = ALT.parse_sections(read(ROOT, ALT.alt_file(path)), path)
    assert ALT._normalized(alt['affine_forward']) != ALT._normalized(model['affine_forward'])
