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
import html
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
from staff.release.starter import ROOT
from tools import collect_submission as CS

# Where the browser tests copy their screenshots, when set (for a person to look at).
SCREENSHOTS = os.environ.get('CS231N_SCREENSHOT_DIR')
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
    _keep_screenshot(shot, 'report.png')


def _keep_screenshot(shot, name):
    if SCREENSHOTS:
        os.makedirs(SCREENSHOTS, exist_ok=True)
        shutil.copyfile(shot, os.path.join(SCREENSHOTS, name))


def _browser(tmp_path):
    return [_chromium(), '--headless', '--disable-gpu', '--no-sandbox',
            '--user-data-dir=%s' % (tmp_path / 'profile'),
            '--host-resolver-rules=MAP * ~NOTFOUND',   # no network
            '--proxy-server=127.0.0.1:9', '--no-first-run']


# ---------------------------------------------------------------------------
# Reference corpora (corpus.py): earlier terms' zips and public solutions

ESCAPED = 'cs231n-escaped-%d' % os.getpid()


@pytest.fixture(scope='module')
def corpora(klass, tmp_path_factory):
    """Two reference folders, as --compare-with takes them: an earlier term's zips
    (kim handed in the alternative solution that copy_a and copy_b renamed; lee the
    model answers, which the whole class writes alike; stub the untouched starter;
    evil.zip an unsafe zip) and a tree of public solutions (the alternative solution
    in one file and its layers.py alone; the starter's layers.py)."""
    out, rubric, stored, submissions, starter = klass
    base = tmp_path_factory.mktemp('corpora')
    term = base / 'spring2024'
    (term / 'section1').mkdir(parents=True)
    zip_package(renamed(write_alt_package(starter, str(base / 'kim')), 5),
                str(term / 'section1' / 'kim.zip'))
    zip_package(write_package(starter, str(base / 'lee')), str(term / 'lee.zip'))
    zip_package(write_package(starter, str(base / 'stub'), bodies='starter'),
                str(term / 'stub.zip'))
    with zipfile.ZipFile(str(term / 'evil.zip'), 'w') as z:
        z.writestr('cs231n/layers.py', 'x = 1\n')
        z.writestr('../../%s.py' % ESCAPED, 'x = 1\n')
    public = base / 'public' / 'someone-cs231n'
    (public / 'cs231n').mkdir(parents=True)
    alt = write_alt_package(starter, str(base / 'alt'))
    whole = ''
    for rel in ('cs231n/layers.py', 'cs231n/classifiers/fc_net.py', 'cs231n/optim.py'):
        with open(os.path.join(alt, rel), encoding='utf-8') as f:
            whole += f.read() + '\n'
    (public / 'all_in_one.py').write_text(whole)
    shutil.copy(os.path.join(alt, 'cs231n', 'layers.py'), str(public / 'cs231n' / 'layers.py'))
    shutil.copy(os.path.join(starter, 'cs231n', 'layers.py'),
                str(public / 'starter_layers.py'))
    (public / 'notes.txt').write_text('not code')
    return [str(term), str(base / 'public')]


@pytest.fixture(scope='module')
def written_with_references(klass, corpora, tmp_path_factory):
    out, rubric, stored, submissions, starter = klass
    out = str(tmp_path_factory.mktemp('report-references'))
    path = REP.write_report(out, rubric, stored, submissions, starter, references=corpora)
    with open(path, encoding='utf-8') as f:
        return path, f.read()


def test_reference_corpora_list_the_students_with_the_references_they_share_most_with(
        klass, corpora, monkeypatch):
    """Through copydetect's own reference support (a CopyDetector with the corpora as
    its reference directory); the starter and the class-wide boilerplate never count."""
    import copydetect
    from staff.grading import corpus, submission as SUB
    out, rubric, stored, submissions, starter = klass
    detectors = []
    real = copydetect.CopyDetector.__init__

    def spy(self, *args, **kwargs):
        detectors.append(kwargs)
        real(self, *args, **kwargs)
    monkeypatch.setattr(copydetect.CopyDetector, '__init__', spy)
    code = REP.starter_code(starter)
    documents = {s: REP.solution_text(SUB.read_submission(z)[0], code)
                 for s, z in submissions.items() if s != 'unreadable'}
    keep = {}
    REP.similar_pairs(documents, code, keep=keep)
    texts, unread = corpus.read_corpora(corpora, code, REP.solution_text)
    assert set(texts) == {'spring2024/section1/kim.zip', 'spring2024/lee.zip',
                          'public/someone-cs231n/all_in_one.py',
                          'public/someone-cs231n/cs231n/layers.py',
                          'public/someone-cs231n/starter_layers.py'}   # stub.zip: no code
    assert [u[0] for u in unread] == ['spring2024/evil.zip']
    assert '".." component' in unread[0][1]
    matches = corpus.compare(keep['prints'], texts, code, keep['boiler'], keep['frequent'],
                             REP.NOISE, REP.GUARANTEE, REP.THRESHOLD, REP.MIN_SHARED)
    assert detectors and all(len(d['ref_dirs']) == 1 and d['boilerplate_dirs']
                             for d in detectors)
    listed = {r['student']: [m['reference'] for m in r['matches']] for r in matches}
    assert set(listed) == {'copy_a', 'copy_b'}, listed
    for student in ('copy_a', 'copy_b'):
        assert {'spring2024/section1/kim.zip', 'public/someone-cs231n/all_in_one.py'} <= \
            set(listed[student]), listed
        best = [r for r in matches if r['student'] == student][0]['matches'][0]
        assert best['fraction_student'] > 0.9 and '<mark>' in best['html_student'] \
            and '<mark>' in best['html_reference']
    # The model answers (lee.zip) are what the whole class writes: never counted, and the
    # starter's own code (starter_layers.py) is boilerplate.
    assert not any(ref in ('spring2024/lee.zip', 'public/someone-cs231n/starter_layers.py')
                   for refs in listed.values() for ref in refs)
    # Were nothing class-wide left out, lee.zip would be the closest reference of the
    # model answers and of every student with one bug in them.
    keep_all = {}
    REP.similar_pairs(documents, code, common=len(documents), keep=keep_all)
    unfiltered = corpus.compare(keep_all['prints'], {'lee.zip': texts['spring2024/lee.zip']},
                                code, keep_all['boiler'], keep_all['frequent'], REP.NOISE,
                                REP.GUARANTEE, REP.THRESHOLD, REP.MIN_SHARED,
                                max_students=len(documents))
    assert {'model', 'bug00', 'bug01'} <= {r['student'] for r in unfiltered}


def test_report_with_reference_corpora(written_with_references, corpora):
    path, text = written_with_references
    section = text[text.index('id="references"'):]
    assert 'spring2024 (' in section and 'public (' in section
    assert 'kim.zip' in section and 'all_in_one.py' in section and '<mark>' in section
    assert 'evil.zip' in section and '".." component' in section.replace('&quot;', '"')
    for student in ('model', 'bug00', 'bug01'):
        assert '>%s<' % student not in section
    for folder in (corpora[0], os.path.dirname(corpora[0]), ROOT, os.getcwd()):
        for up in ('', '..', os.path.join('..', '..')):
            assert not os.path.exists(os.path.join(folder, up, ESCAPED + '.py'))
    code = text[text.index('<h2>Code similarity</h2>'):text.index('id="references"')]
    assert 'kim.zip' not in code                    # apart from the within-class pairs


@pytest.mark.skipif(_chromium() is None, reason='no headless chromium on this machine')
def test_report_with_reference_corpora_in_a_headless_browser(written_with_references, tmp_path):
    path, _ = written_with_references
    url = 'file://' + os.path.abspath(path) + '#references'
    dom = subprocess.run(_browser(tmp_path) + ['--dump-dom', url], capture_output=True,
                         text=True, timeout=120)
    assert dom.returncode == 0, dom.stderr[-2000:]
    section = dom.stdout[dom.stdout.index('id="references"'):]
    assert re.search(r'<details id="ref1" open="?"?>', section), section[:2000]
    assert section.count('<div class="pair">') >= 2 and '<mark>' in section
    # Headless Chromium paints a blank screenshot of a page scrolled to a fragment; the
    # report scrolled to its section inside a frame of a page that is not scrolled is painted.
    frame = tmp_path / 'frame.html'
    frame.write_text('<!DOCTYPE html><html><body style="margin:0"><iframe src="%s" '
                     'style="border:0;width:1300px;height:1400px"></iframe></body></html>'
                     % html.escape(url))
    shot = str(tmp_path / 'report-references.png')
    run = subprocess.run(_browser(tmp_path) + ['--screenshot=%s' % shot, '--window-size=1300,1400',
                                              '--hide-scrollbars', '--allow-file-access-from-files',
                                              'file://' + str(frame)],
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0 and os.path.isfile(shot), run.stderr[-2000:]
    from matplotlib import image
    pixels = (image.imread(shot)[..., :3] * 255).round()
    marked = np.all(np.abs(pixels - np.array((0xff, 0xd2, 0x7f))) < 12, axis=-1)
    assert marked.sum() > 500, 'no shared passage marked on the screen'
    _keep_screenshot(shot, 'report-references.png')
