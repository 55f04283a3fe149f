"""The notebooks as a student meets them: offline, opened in JupyterLab without
changes, checks that assert, text that agrees with the code, a starter whose
cells run in order; and the tools that run and render them.

Staff-only: staff/release/manifest.txt keeps staff/ out of the student release.
The JupyterLab check in a real browser is opt-in (CS231N_BROWSER_TESTS=1; see
staff/tests/lab_check.py), since it needs Chromium and playwright.
"""
import ast
import builtins
import io
import json
import os
import platform
import re
import subprocess
import sys
import time

import nbformat
import numpy as np
import pytest

from staff.release import regions as R
from tools import render_notebooks, run_notebooks

ROOT = run_notebooks.ROOT
NOTEBOOKS = ['notebooks/01_FullyConnectedNets.ipynb', 'notebooks/02_BatchNormalization.ipynb',
             'notebooks/03_Dropout.ipynb']
KERNELSPEC = {'display_name': 'Python 3 (ipykernel)', 'language': 'python', 'name': 'python3'}
UPDATE_RULES = {'sgd', 'sgd_momentum', 'rmsprop', 'adam', 'adagrad', 'rule'}
WIDTH = 100  # what fits in JupyterLab's notebook panel without wrapping


def text_of(path):
    with open(os.path.join(ROOT, path), encoding='utf-8') as f:
        return f.read()


def load(path):
    return nbformat.reads(text_of(path), as_version=4)


def cells(path, cell_type=None):
    return [(k, c) for k, c in enumerate(load(path).cells)
            if cell_type is None or c.cell_type == cell_type]


def is_answer(cell):
    return cell.cell_type == 'markdown' and cell.source.lstrip().startswith(R.ANSWER_HEADING)


# ---------------------------------------------------------------------------
# Offline: nothing is fetched over the network

# Markdown and HTML that make a renderer fetch something: images, frames,
# scripts, styles, media. Plain links ([text](https://...)) are fine.
_FETCHING = [
    re.compile(r'!\[[^\]]*\]\(\s*<?([^)\s>]+)'),                       # ![alt](url)
    re.compile(r'^\s*\[[^\]]+\]:\s*(\S+)', re.M),                       # [ref]: url (used by ![alt][ref])
    re.compile(r'<(?:img|iframe|script|source|video|audio|embed|object|track)\b[^>]*?'
               r'\b(?:src|data|srcset)\s*=\s*["\']?([^"\'\s>]+)', re.I),
    re.compile(r'<link\b[^>]*?\bhref\s*=\s*["\']?([^"\'\s>]+)', re.I),
    re.compile(r'url\(\s*["\']?([^"\')\s]+)', re.I),                    # CSS in an HTML cell or output
    re.compile(r'@import\s+["\']?([^"\';\s]+)', re.I),
]
_REMOTE = re.compile(r'^(?:[a-z][a-z0-9+.-]*:)?//', re.I)


def fetched_resources(text):
    """The addresses that rendering `text` (markdown or HTML) would load."""
    return [m.group(1) for pattern in _FETCHING for m in pattern.finditer(text)]


def test_resource_scanner_finds_what_a_browser_would_fetch():
    found = fetched_resources(
        '![graph](https://example.org/g.png) [paper](https://arxiv.org/abs/1502.03167)\n'
        '<img width=3 src="http://x.org/a.png"> <iframe src=//y.org/f></iframe>\n'
        '<script src="https://cdn.org/s.js"></script> <link rel="stylesheet" href="https://c.org/s.css">'
        '\n![local](figures/batchnorm_graph.svg)')
    remote = [u for u in found if _REMOTE.match(u)]
    assert remote == ['https://example.org/g.png', 'http://x.org/a.png', '//y.org/f',
                      'https://cdn.org/s.js', 'https://c.org/s.css']
    assert 'figures/batchnorm_graph.svg' in found and 'https://arxiv.org/abs/1502.03167' not in found


@pytest.mark.parametrize('path', NOTEBOOKS)
def test_notebook_fetches_nothing_over_the_network(path):
    problems = []
    for k, cell in cells(path):
        texts = [cell.source]
        for out in cell.get('outputs', []):
            for mime, value in out.get('data', {}).items():
                if mime in ('text/html', 'text/markdown', 'image/svg+xml', 'text/latex'):
                    texts.append(value if isinstance(value, str) else ''.join(value))
        for text in texts:
            for url in fetched_resources(text):
                if _REMOTE.match(url):
                    problems.append('cell %d loads %s' % (k, url))
                elif not url.startswith(('data:', 'attachment:', '#')):
                    local = os.path.join(ROOT, os.path.dirname(path), url.split('#')[0])
                    if not os.path.isfile(local):
                        problems.append('cell %d shows %s, which is not in the repository'
                                        % (k, url))
    assert problems == []


def test_batchnorm_graph_ships_with_the_notebooks():
    md = [c.source for _, c in cells(NOTEBOOKS[1], 'markdown')
          if 'figures/batchnorm_graph.svg' in c.source]
    assert len(md) == 1
    svg = text_of('notebooks/figures/batchnorm_graph.svg')
    assert svg.lstrip().startswith('<svg') and 'σ = √(v + ε)' in svg
    assert not any(_REMOTE.match(u) for u in fetched_resources(svg))


# ---------------------------------------------------------------------------
# Opened in JupyterLab, a notebook must not become "dirty": Lab rewrites a
# kernelspec or language_info that differs from what the kernel reports, and
# adds cell ids that are missing.

def test_kernelspec_is_what_the_venv_installs():
    assert run_notebooks.kernelspec_metadata() == KERNELSPEC
    for path in NOTEBOOKS:
        assert load(path).metadata.kernelspec == KERNELSPEC, path


@pytest.mark.parametrize('path', NOTEBOOKS)
def test_language_info_is_what_the_kernel_reports(path):
    info = load(path).metadata.language_info
    assert info['name'] == 'python'
    assert info['version'] == platform.python_version(), (
        '%s was run with Python %s, the kernel here is %s: JupyterLab would rewrite it on '
        'opening; re-run it with ./run_notebooks.sh --inplace' % (path, info['version'],
                                                                   platform.python_version()))


@pytest.mark.parametrize('path', NOTEBOOKS)
def test_nbformat_writes_the_committed_file_unchanged(path):
    text = text_of(path)
    nb = nbformat.reads(text, as_version=4)
    nbformat.validate(nb)
    assert (nb.nbformat, nb.nbformat_minor) >= (4, 5)
    ids = [c.get('id') for c in nb.cells]
    assert all(ids) and len(set(ids)) == len(ids)
    assert nbformat.writes(nb) + '\n' == text
    for cell in nb.cells:
        assert 'execution' not in cell.metadata, 'run metadata left in %s' % path


# ---------------------------------------------------------------------------
# What a student reads first, and what the checks print

@pytest.mark.parametrize('path', NOTEBOOKS)
def test_first_screen_is_title_then_one_short_setup_cell(path):
    nb = load(path)
    first, setup, data = nb.cells[:3]
    assert first.cell_type == 'markdown' and first.source.startswith('# ')
    assert setup.cell_type == 'code' and 'setup_notebook()' in setup.source
    assert "'google.colab' in sys.modules" in setup.source  # Colab support stays
    assert len(setup.source.splitlines()) <= 25
    assert data.cell_type == 'code' and 'load_cifar10' in data.source
    assert 'OPENBLAS' not in text_of(path)  # a speed trick for scripts, not for students


@pytest.mark.parametrize('path', NOTEBOOKS)
def test_every_comparison_asserts(path):
    for k, cell in cells(path, 'code'):
        assert 'NBVAL' not in cell.source, 'cell %d: nbval markers compare nothing in the ' \
                                           'starter, whose outputs are cleared' % k
        # A comparison printed as True/False checks nothing.
        for line in cell.source.splitlines():
            assert not re.search(r"print\(.*(<|>|==).*\)\s*$", line) or 'assert' in line, \
                'cell %d prints a comparison instead of asserting it: %s' % (k, line.strip())


def test_checks_print_one_line_and_assert(capsys):
    from cs231n.notebook_utils import check_at_least, check_at_most, check_error, check_value
    check_value('affine_forward out', [[1.0, 2.0]], [[1.0, 2.0 + 1e-9]], tol=1e-8)
    check_error('affine_backward dx', [1.0, 2.0], [1.0, 2.0], 1e-9)
    check_at_most('largest |mean|', 3e-17, 1e-12)
    check_at_least('Validation set accuracy', 0.6, 0.5)
    check_value('t', 6, 6, tol=0)
    lines = capsys.readouterr().out.splitlines()
    assert lines == ['affine_forward out: relative error 2.5e-10 (tol 1e-08)  ok',
                     'affine_backward dx: relative error 0.0e+00 (tol 1e-09)  ok',
                     'largest |mean|: 3.0e-17 (limit 1e-12)  ok',
                     'Validation set accuracy: 0.6000 (target >= 0.50)  ok',
                     't: 6, relative error 0.0e+00 (tol 0)  ok']
    with pytest.raises(AssertionError, match='relative error'):
        check_value('next_w', [[1.0, 2.0]], [[1.0, 3.0]], tol=1e-7)
    out = capsys.readouterr().out
    assert out.startswith('next_w: relative error 2.0e-01 (tol 1e-07)  FAILED\n')
    assert 'got' in out and 'expected' in out  # the arrays, only on a failure
    for fails in (lambda: check_error('dx', [1.0], [2.0], 1e-9),
                  lambda: check_at_most('m', 1.0, 1e-12),
                  lambda: check_at_least('acc', 0.1, 0.5)):
        with pytest.raises(AssertionError):
            fails()
        assert 'FAILED' in capsys.readouterr().out


def _axes_of(fig):
    import matplotlib.pyplot as plt
    axes = fig.axes
    plt.close(fig)
    return axes


def test_loss_axes_show_the_bulk_of_the_curve():
    import matplotlib
    matplotlib.use('Agg')
    from types import SimpleNamespace
    from cs231n import vis_utils
    rng = np.random.RandomState(0)

    def run(losses):
        return SimpleNamespace(loss_history=list(losses), train_acc_history=[0.1, 0.3, 0.5],
                               val_acc_history=[0.1, 0.2, 0.4], best_val_acc=0.4)
    # Two early spikes (AdaGrad's first steps): left out, marked, counted.
    spiky = 1.5 + 0.1 * rng.rand(200)
    spiky[1:3] = [12.0, 5.4]
    ax = _axes_of(vis_utils.plot_solvers({'adagrad': run(spiky), 'sgd': run(1.6 + 0.1 * rng.rand(200))}))[0]
    top = ax.get_ylim()[1]
    assert 1.6 < top < 2.0 and ax.get_yscale() == 'linear'
    assert any('2 points above' in t.get_text() for t in ax.texts)
    # A loss that falls from 250 to 1.3 over a long stretch: a log axis shows all of it.
    decay = 1.3 + 250 * np.exp(-np.arange(4900) / 400.0)
    ax = _axes_of(vis_utils.plot_solver_history(run(decay), title='Best model'))[0]
    assert ax.get_yscale() == 'log' and ax.get_title() == 'Best model training loss'
    # A short overfitting run is shown whole; epoch ticks are whole numbers.
    assert vis_utils.loss_axis_limit([np.linspace(7, 0.02, 40)]) is None
    acc = _axes_of(vis_utils.plot_solver_history(run(decay), title='TwoLayerNet'))[1]
    assert acc.get_title() == 'TwoLayerNet accuracy'
    assert all(float(t).is_integer() for t in acc.get_xticks())
    assert acc.get_legend() is not None and acc.get_legend().get_bbox_to_anchor().x0 > \
        acc.get_window_extent().x1 - 1  # outside the axes


@pytest.mark.parametrize('path', NOTEBOOKS)
def test_printed_lines_fit_the_panel(path):
    # Lab wraps long output lines (code cells scroll sideways instead).
    long = []
    for k, cell in cells(path, 'code'):
        for out in cell.get('outputs', []):
            if out.get('output_type') == 'stream':
                long += ['cell %d output: %s' % (k, l) for l in out['text'].splitlines()
                         if len(l) > WIDTH]
    assert long == []


# ---------------------------------------------------------------------------
# Text that agrees with the code, in the solution and in the starter

@pytest.mark.parametrize('path', NOTEBOOKS)
def test_markdown_never_speaks_as_the_solution(path):
    voice = re.compile(r'\b(the solution|solution below|below uses|here we aim|'
                       r'model answer)\b', re.I)
    for k, cell in cells(path, 'markdown'):
        if not is_answer(cell):
            assert not voice.search(cell.source), 'cell %d: %r' % (k, voice.search(cell.source)[0])


def _percent(target):
    return '%g%%' % round(100 * target, 4)


@pytest.mark.parametrize('path', NOTEBOOKS)
def test_accuracy_targets_in_text_match_the_checks(path):
    """Every check_at_least(..., fast_or(T, ...)) target T < 1 is stated in the
    markdown since the previous such check, and no other percentage target is."""
    nb = load(path)
    since = []
    for k, cell in enumerate(nb.cells):
        if cell.cell_type == 'markdown' and not is_answer(cell):
            since.append(cell.source)
            continue
        if cell.cell_type != 'code':
            continue
        for m in re.finditer(r'check_at_least\([^)]*?fast_or\(\s*([0-9.]+)', cell.source):
            target = float(m.group(1))
            if target >= 1:
                continue
            text = '\n'.join(since)
            assert _percent(target) in text, 'cell %d checks %s, the text says %s' % (
                k, target, re.findall(r'\d+(?:\.\d+)?%', text))
            stated = set(re.findall(r'\*\*(\d+(?:\.\d+)?%)\*\*', text))
            assert stated <= {_percent(target)}, 'cell %d checks %s, the text targets %s' % (
                k, target, stated)
            since = []


def test_update_rule_results_are_used():
    """An update rule may or may not work in place: its result must be used."""
    for path in NOTEBOOKS:
        for k, cell in cells(path, 'code'):
            for node in ast.walk(ast.parse(cell.source)):
                if isinstance(node, ast.Expr) and isinstance(node.value, ast.Call):
                    func = node.value.func
                    name = getattr(func, 'id', getattr(func, 'attr', None))
                    assert name not in UPDATE_RULES, '%s cell %d ignores what %s returns' % (
                        path, k, name)


def _star_names(module):
    mod = __import__(module, fromlist=['*'])
    return set(getattr(mod, '__all__', [n for n in vars(mod) if not n.startswith('_')]))


class _Names(ast.NodeVisitor):
    """Names a cell binds at top level (anywhere in it) and names it loads."""

    def __init__(self):
        self.bound, self.loaded, self.star = set(), [], set()

    def visit_Name(self, node):
        (self.loaded.append(node) if isinstance(node.ctx, ast.Load) else self.bound.add(node.id))

    def visit_FunctionDef(self, node):
        self.bound.add(node.name)
        inner = _Names()
        for child in node.body:
            inner.visit(child)
        args = {a.arg for a in ast.walk(node.args) if isinstance(a, ast.arg)}
        self.loaded += [n for n in inner.loaded if n.id not in inner.bound | args]
        for default in node.args.defaults + node.args.kw_defaults:
            if default is not None:
                self.visit(default)

    def visit_Lambda(self, node):
        args = {a.arg for a in ast.walk(node.args) if isinstance(a, ast.arg)}
        inner = _Names()
        inner.visit(node.body)
        self.loaded += [n for n in inner.loaded if n.id not in args]

    def visit_comprehension(self, node):
        self.generic_visit(node)

    def visit_ListComp(self, node):
        inner = _Names()
        for gen in node.generators:
            inner.visit(gen)
        inner.visit(node.elt) if hasattr(node, 'elt') else None
        self.loaded += [n for n in inner.loaded if n.id not in inner.bound]

    visit_SetComp = visit_GeneratorExp = visit_ListComp

    def visit_DictComp(self, node):
        inner = _Names()
        for gen in node.generators:
            inner.visit(gen)
        inner.visit(node.key)
        inner.visit(node.value)
        self.loaded += [n for n in inner.loaded if n.id not in inner.bound]

    def visit_Import(self, node):
        for a in node.names:
            self.bound.add((a.asname or a.name).split('.')[0])

    def visit_ImportFrom(self, node):
        for a in node.names:
            if a.name == '*':
                self.star |= _star_names(node.module)
            else:
                self.bound.add(a.asname or a.name)

    def visit_ExceptHandler(self, node):
        if node.name:
            self.bound.add(node.name)
        self.generic_visit(node)


@pytest.mark.parametrize('path', NOTEBOOKS)
def test_starter_cells_use_only_names_defined_before(path):
    """In the starter (regions stubbed), every name a cell uses is defined by it
    or by an earlier cell: a student who fills in the TODOs as they are worded
    gets no NameError further down."""
    release, _, _ = R.stub_notebook(text_of(path), path)
    defined = set(dir(builtins)) | {'get_ipython', 'display'}
    problems = []
    for k, cell in enumerate(json.loads(release)['cells']):
        if cell['cell_type'] != 'code':
            continue
        names = _Names()
        names.visit(ast.parse(R.cell_source(cell)))
        defined |= names.star
        for node in names.loaded:
            if node.id not in defined | names.bound:
                problems.append('cell %d line %d uses %s' % (k, node.lineno, node.id))
        defined |= names.bound
    assert problems == []


def test_best_model_todos_ask_for_what_later_cells_use():
    for path in (NOTEBOOKS[0], NOTEBOOKS[2]):
        release, _, _ = R.stub_notebook(text_of(path), path)
        todo = [R.cell_source(c) for c in json.loads(release)['cells']
                if 'TODO' in R.cell_source(c) and 'best_model' in R.cell_source(c)]
        assert len(todo) == 1 and 'best_solver' in todo[0], path


def test_batchnorm_backward_formula_is_left_to_derive():
    md = '\n'.join(c.source for _, c in cells(NOTEBOOKS[1], 'markdown') if not is_answer(c))
    assert 'batchnorm_backward_alt' in md and 'simplified' in md  # the hints stay
    # The closed form (dL/dx_i in terms of the sums over dL/dy_k) is not given.
    assert not re.search(r'\\frac\{\\partial L\}\{\\partial x_i\}\s*=', md)
    assert '\\sum_k \\frac{\\partial L}{\\partial y_k}' not in md


# ---------------------------------------------------------------------------
# The tools: streaming runner and HTML rendering

def _tiny_notebook(path):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell('# Tiny'),
                nbformat.v4.new_code_cell("import time\nprint('epoch 1', flush=True)\n"
                                          "time.sleep(3)\nprint('epoch 2')"),
                nbformat.v4.new_code_cell("print('a', end='')\nprint('b')\n6 * 7")]
    nbformat.write(nb, str(path))


class _Clock(io.StringIO):
    """Records when each line is written."""

    def __init__(self):
        super().__init__()
        self.lines = []

    def write(self, text):
        for line in text.splitlines():
            self.lines.append((time.perf_counter(), line))
        return len(text)


def test_runner_streams_cell_output_while_the_cell_runs(tmp_path):
    src, dst = tmp_path / 'tiny.ipynb', tmp_path / 'out' / 'tiny.ipynb'
    _tiny_notebook(src)
    out = _Clock()
    run_notebooks.execute(str(src), str(dst), timeout=60, out=out)
    text = [line for _, line in out.lines]
    progress = [re.sub(r'\(\d+ s\)$', '(N s)', line) for line in text]
    assert progress == ['    | epoch 1', '    | epoch 2', '  tiny.ipynb: cell 1/2 done (N s)',
                        '    | ab', '    | 42', '  tiny.ipynb: cell 2/2 done (N s)']
    when = {line: t for t, line in out.lines}
    # 'epoch 1' reached the terminal while the cell was still sleeping.
    assert when['    | epoch 2'] - when['    | epoch 1'] > 2
    nb = nbformat.read(str(dst), as_version=4)
    assert nb.metadata.kernelspec == KERNELSPEC
    assert nb.cells[1].outputs[0]['text'] == 'epoch 1\nepoch 2\n'
    assert all('execution' not in c.metadata for c in nb.cells)


def test_runner_quiet_prints_only_progress(tmp_path):
    src = tmp_path / 'tiny.ipynb'
    _tiny_notebook(src)
    out = _Clock()
    run_notebooks.execute(str(src), str(tmp_path / 'o.ipynb'), timeout=60, stream=False, out=out)
    assert [line[:28] for _, line in out.lines] == ['  tiny.ipynb: cell 1/2 done ',
                                                    '  tiny.ipynb: cell 2/2 done ']


def test_render_writes_one_page_per_notebook(tmp_path):
    result = subprocess.run([sys.executable, '-m', 'tools.render_notebooks', '--out', str(tmp_path)],
                            cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    for path in NOTEBOOKS:
        page = tmp_path / (os.path.splitext(os.path.basename(path))[0] + '.html')
        html = page.read_text(encoding='utf-8')
        title = load(path).cells[0].source.splitlines()[0].lstrip('# ').strip()
        assert title in html
        assert 'raw.githubusercontent' not in html and 'figures/' not in html
    html = (tmp_path / '02_BatchNormalization.html').read_text(encoding='utf-8')
    assert 'src="data:image/svg+xml;base64,' in html  # the graph, embedded


@pytest.mark.skipif(not os.environ.get('CS231N_BROWSER_TESTS'),
                    reason='needs Chromium and playwright; set CS231N_BROWSER_TESTS=1')
def test_jupyterlab_opens_every_notebook_clean_and_connects():
    """A real JupyterLab from .venv and headless Chromium (staff/tests/lab_check.py)."""
    python = os.environ.get('CS231N_PLAYWRIGHT_PYTHON', sys.executable)
    script = os.path.join(ROOT, 'staff', 'tests', 'lab_check.py')
    result = subprocess.run([python, script, '--json'] + NOTEBOOKS, cwd=ROOT,
                            capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    report = json.loads(result.stdout.splitlines()[-1])
    for nb in report['notebooks']:
        assert nb['kernel'] == 'idle' and not nb['dirty'], nb
        assert nb['external_requests'] == [], nb
    assert report['server_errors'] == [], report['server_errors']
