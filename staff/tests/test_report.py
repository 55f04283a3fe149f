"""The class report (staff/grading/report.py).

A generated class: the model answers, a planting of each row of the mistake
catalogue spliced into them (staff/assignment/mistakes/), and two near-copies of the
alternative solution (staff/alt_solution) with their variables renamed and
their comments rewritten; independent of both, the model answers. The
stored results are what grade.py would write for them (the bug's parts at
zero, with the catalogue's names), plus a refused submission and a zip with
no result. The report must put the near-copies at the top of the similarity
list, not list the independent correct solutions together, and open from disk
in a real headless browser, with its plots.

Staff-only: staff/ never ships.
"""
import os
import re
import shutil
import subprocess
import zipfile

import numpy as np
import pytest

from staff.assignment import mistakes as M
from staff.grading import grader, report as REP
from staff.tests.submissions import write_alt_package, write_package
from tools import collect_submission as CS

NOTES = '/work/notes'
HOSTILE = '<img src=x onerror=alert(1)>'


def zip_package(root, out):
    """The code files of a package folder as a submission zip."""
    CS.write_zip(root, out, [rel for rel in CS.CODE if os.path.isfile(os.path.join(root, rel))])
    return out


def renamed(root, seed):
    """Rename the variables assigned in the package's regions (the same name
    everywhere in a file) and reword its comments: a near-copy."""
    from staff.release import regions as R
    rng = np.random.RandomState(seed)
    for rel in CS.CODE:
        path = os.path.join(root, rel)
        with open(path, encoding='utf-8') as f:
            text = f.read()
        regions = R.py_regions(text, rel)
        bodies = []
        for r in regions:
            body = ''.join(r.body)
            names = sorted(set(re.findall(r'^\s*(\w+)\s*[-+*/]?=', body, re.M))
                           - {'out', 'cache', 'dx', 'dw', 'db', 'loss', 'next_w', 'config',
                              'scores', 'grads', 'dgamma', 'dbeta', 'mask', 'v', 'w'})
            for name in names:
                new = '%s_%s' % (name, ''.join(rng.choice(list('abcdefgh'), 3)))
                body = re.sub(r'\b%s\b' % re.escape(name), new, body)
            body = re.sub(r'#[^\n]*', '# (comment rewritten %d)' % seed, body)
            bodies.append(R.split_lines(body))
        with open(path, 'w', encoding='utf-8') as f:
            f.write(R.replace_bodies(text, regions, bodies))
    return root


def fake_stored(student, zip_path, rubric, failed=(), mistakes=None, error=None):
    """A result as grade.py stores it (OUT/results/STUDENT.json)."""
    scores = {i.name: (0.0 if error or i.name in failed else i.points) for i in rubric.items}
    return {'student': student, 'zip': zip_path, 'zip_sha256': '0' * 64, 'grader': 'test',
            'graded_at': '2025-01-01 00:00:00', 'seconds': 1.0, 'total': sum(scores.values()),
            'max_total': rubric.total, 'scores': scores,
            'results': {'score': sum(scores.values()), 'tests': [], 'output': ''},
            'mistakes': mistakes or {}, 'error': error}


@pytest.fixture(scope='module')
def klass(tmp_path_factory):
    """(out_dir, rubric, stored, submissions, starter) of a generated class."""
    from staff.release import starter as REL
    base = tmp_path_factory.mktemp('report')
    starter = str(base / 'starter')
    REL.release(starter)
    rubric = grader.load_rubric()
    zips, stored = base / 'zips', []
    zips.mkdir()
    submissions = {}

    def add(student, package, **kw):
        z = zip_package(package, str(zips / (student + '.zip')))
        submissions[student] = z
        stored.append(fake_stored(student, z, rubric, **kw))

    add('model', write_package(starter, str(base / 'model')))
    mistakes = [row for row in M.rows() if row.kind == 'bug']
    for n, row in enumerate(mistakes):
        edits = next(iter(row.plants.values()))
        add('bug%02d' % n, write_package(starter, str(base / row.key), edits), failed=row.parts,
            mistakes={p: [[row.key, row.example(p)]] for p in row.parts})
    for student, seed in (('copy_a', 1), ('copy_b', 2)):
        add(student, renamed(write_alt_package(starter, str(base / student)), seed))
    add('refused', str(base / 'model'), error='Submission refused: unsafe zip member %r' % HOSTILE)
    bad = str(zips / 'unreadable.zip')
    with open(bad, 'wb') as f:
        f.write(b'not a zip')
    submissions['unreadable'] = bad
    out = str(base / 'out')
    return out, rubric, stored, submissions, starter


@pytest.fixture(scope='module')
def written(klass):
    out, rubric, stored, submissions, starter = klass
    path = REP.write_report(out, rubric, stored, submissions, starter)
    with open(path, encoding='utf-8') as f:
        return path, f.read()


def test_near_copies_top_the_similarity_list_and_independent_solutions_are_not_listed(klass):
    out, rubric, stored, submissions, starter = klass
    code = REP.starter_code(starter)
    from staff.grading import submission as SUB
    documents = {s: REP.solution_text(SUB.read_submission(z)[0], code)
                 for s, z in submissions.items() if s != 'unreadable'}
    pairs, common = REP.similar_pairs(documents, code)
    assert pairs, 'no pair listed'
    assert {pairs[0]['a'], pairs[0]['b']} == {'copy_a', 'copy_b'}, pairs[:3]
    assert pairs[0]['similarity'] > 0.9
    listed = [{p['a'], p['b']} for p in pairs]
    for copy in ('copy_a', 'copy_b'):
        assert {'model', copy} not in listed, 'independent correct solutions listed together'
    # the comparison itself sees the model answers and the alternative as different code
    everything, _ = REP.similar_pairs(documents, code, threshold=0.0, common=len(documents))
    sims = {frozenset((p['a'], p['b'])): p['similarity'] for p in everything}
    top = sims[frozenset(('copy_a', 'copy_b'))]
    assert sims.get(frozenset(('model', 'copy_a')), 0) < 0.5 * top


def test_a_region_left_as_the_stub_is_no_code():
    from staff.release import starter as REL
    import tempfile
    with tempfile.TemporaryDirectory() as tmp:
        REL.release(os.path.join(tmp, 's'))
        code = REP.starter_code(os.path.join(tmp, 's'))
        files = {rel: text.encode() for rel, text in code.items()}
        assert REP.solution_text(files, code) == ''


def test_report_holds_scores_mistakes_ungraded_and_pairs(written, klass):
    path, text = written
    out, rubric, stored, submissions, starter = klass
    assert path == os.path.join(out, 'report.html')
    assert text.count('src="data:image/png;base64,') == 2
    assert not re.search(r'(src|href)="(?!data:|#)', text), 'an external resource'
    # the named mistakes, ranked: net-relu-on-scores is in five parts but one student
    for key, messages, parts, students in REP.mistake_counts(stored):
        assert '<code>%s</code>' % key in text
    assert 'net-l2-other-params' in text and (
        'FullyConnectedNet.loss: the loss and gradients match an L2 term that covers the biases '
        'too') in text
    # ungraded, escaped
    assert 'refused' in text and 'unreadable' in text
    assert HOSTILE not in text and '&lt;img src=x onerror=alert(1)&gt;' in text
    assert 'never a verdict' in text
    assert re.search(r'copy_a</td><td>copy_b|copy_b</td><td>copy_a', text)
    assert '<mark>' in text


def test_mistake_counts_rank_by_students():
    stored = [{'student': s, 'mistakes': m} for s, m in [
        ('a', {'p': [['k1', 'm1']], 'q': [['k1', 'm1b']]}), ('b', {'p': [['k1', 'm1']]}),
        ('c', {'p': [['k2', 'm2']]}), ('d', {})]]
    counts = REP.mistake_counts(stored)
    assert [(k, st) for k, _, _, st in counts] == [('k1', ['a', 'b']), ('k2', ['c'])]
    assert counts[0][2] == ['p', 'q']


def _chromium():
    for name in ('chromium', 'chromium-browser', 'google-chrome'):
        path = shutil.which(name)
        if path:
            return path
    return None


@pytest.mark.skipif(_chromium() is None, reason='no headless chromium on this machine')
def test_report_opens_from_disk_in_a_headless_browser_with_its_plots(written, tmp_path):
    path, _ = written
    url = 'file://' + os.path.abspath(path)
    common = [_chromium(), '--headless', '--disable-gpu', '--no-sandbox',
              '--user-data-dir=%s' % (tmp_path / 'profile'),
              '--host-resolver-rules=MAP * ~NOTFOUND',   # no network
              '--proxy-server=127.0.0.1:9', '--no-first-run']
    dom = subprocess.run(common + ['--dump-dom', url], capture_output=True, text=True,
                         timeout=120)
    assert dom.returncode == 0, dom.stderr[-2000:]
    imgs = re.findall(r'<img[^>]*src="data:image/png;base64,[^"]+"', dom.stdout)
    assert len(imgs) == 2, dom.stdout[:2000]
    shot = str(tmp_path / 'report.png')
    run = subprocess.run(common + ['--screenshot=%s' % shot, '--window-size=1200,1500',
                                   '--hide-scrollbars', url],
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0 and os.path.isfile(shot), run.stderr[-2000:]
    from matplotlib import image
    pixels = (image.imread(shot)[..., :3] * 255).round()
    for color in ((0x44, 0x72, 0xc4), (0x70, 0xad, 0x47)):   # the two plots' bars
        near = np.all(np.abs(pixels - np.array(color)) < 12, axis=-1)
        assert near.sum() > 200, 'plot color %s not rendered' % (color,)
    if os.path.isdir(NOTES):
        shutil.copyfile(shot, os.path.join(NOTES, 'report.png'))
