"""PrairieLearn's external grader (staff/grading/prairielearn/): the real entrypoint in a laid-out root.

The image's folder is built by the real command (python -m
staff.grading.prairielearn.bundle); docker does not run here, so its
contents are checked and its entrypoint, run_prairielearn, is run directly
as PrairieLearn runs it in the container: as root, on a temporary folder
laid out as /grade ($PRAIRIELEARN_ROOT), with the student's code as the
unprivileged sandbox user (bubblewrap off, as in a Docker container that
refuses namespaces). The hostile class of test_adversarial.py (hostile.py)
is graded there too.

Staff-only: staff/ never ships.
"""
import json
import os
import shutil
import subprocess
import sys
import time
import zipfile

import pytest

from staff.grading import prairielearn as PL, sandbox as SB
from staff.tests.hostile import (SECRET, check_outputs_leak_nothing, expected_total, hostile_class,
                                 serve, strays, strays_of, tree_digest)
from staff.tests.platforms import prairielearn_layout, run_prairielearn
from staff.tests.submissions import ROOT, make_submission, prepend


def _user_sandbox():
    if os.geteuid() != 0:
        return None, 'the sandbox user needs a grader running as root'
    try:
        SB._chosen.clear()
        return SB.choose('user'), None
    except SB.SandboxUnavailable as e:
        return None, str(e)
    finally:
        SB._chosen.clear()


USER, USER_WHY = _user_sandbox()
needs_user = pytest.mark.skipif(USER is None, reason='no sandbox user: %s' % USER_WHY)
SANDBOX_ENV = {'CS231N_SANDBOX': 'user', 'CS231N_TEST_MARKER': SECRET}


@pytest.fixture(scope='module')
def image(tmp_path_factory):
    """The grader image's folder, built by the real command."""
    out = str(tmp_path_factory.mktemp('prairielearn') / 'cs231n-a2-grader')
    proc = subprocess.run([sys.executable, '-m', 'staff.grading.prairielearn.bundle', out],
                          cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert 'docker build -t' in proc.stdout
    return out


def test_the_image_folder_holds_what_docker_and_prairielearn_need(image):
    with open(os.path.join(image, 'Dockerfile')) as f:
        dockerfile = f.read()
    assert dockerfile.splitlines()[[not l.startswith('#') and l.strip() != ''
                                    for l in dockerfile.splitlines()].index(True)] \
        == 'FROM prairielearn/grader-python'
    assert 'COPY . /grader' in dockerfile and 'useradd' in dockerfile
    with open(os.path.join(image, 'info.json')) as f:
        info = json.load(f)
    options = info['externalGradingOptions']
    assert info['gradingMethod'] == 'External' and options['enabled'] is True
    assert options['entrypoint'] == '/grader/run_prairielearn' and options['timeout'] <= 600
    entry = os.path.join(image, 'run_prairielearn')
    assert os.stat(entry).st_mode & 0o111
    with open(entry) as f:
        script = f.read()
    venv = [w for w in dockerfile.split() if w.startswith('/opt/') and w.endswith('venv')][0]
    assert '%s/bin/python' % venv in script and '%s/bin/python' % venv in dockerfile
    for rel in ('grader/staff/grading/prairielearn/__init__.py', 'grader/staff/grading/grader.py',
                'grader/staff/assignment/rubric.txt', 'grader/heldout.npz',
                'grader/cs231n/_files.py', 'starter/cs231n/layers.py', 'requirements.txt',
                'staff-requirements.txt', 'BUILD.txt'):
        assert os.path.isfile(os.path.join(image, rel)), rel
    with open(os.path.join(image, 'starter', 'cs231n', 'layers.py')) as f:
        assert 'raise NotImplementedError' in f.read()      # no model answer in the image
    assert not os.path.exists(os.path.join(image, 'grader', 'cs231n', 'layers.py'))
    again = subprocess.run([sys.executable, '-m', 'staff.grading.prairielearn.bundle', image],
                           cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert again.returncode == 1 and again.stderr.strip() == (
        'prairielearn.bundle: %s exists; pass --force to replace it' % image)


def _check(data, rubric):
    assert PL.validate(data) == [], PL.validate(data)
    assert data['gradable'] is True and 0 <= data['score'] <= 1
    assert [t['name'] for t in data['tests']] == [i.name for i in rubric.items]
    for t, item in zip(data['tests'], rubric.items):
        assert t['max_points'] == item.points and 0 <= t['points'] <= t['max_points']
        assert isinstance(t['message'], str) and t['message'] and isinstance(t['output'], str)
    total = sum(t['points'] for t in data['tests'])
    assert abs(data['score'] - total / rubric.total) < 1e-6


@needs_user
def test_the_entrypoint_grades_a_submission_as_the_sandbox_user(tmp_path, image, starter,
                                                                rubric, subs):
    root, here = prairielearn_layout(tmp_path, image)
    shutil.copy(make_submission(starter, subs, 'pl_adam', {'adam': prepend('w = w * 2')}),
                os.path.join(root, 'student', 'a2_submission.zip'))
    data, status, stdout, stderr = run_prairielearn(root, here, SANDBOX_ENV)
    assert status == 0, stderr[-3000:]
    _check(data, rubric)
    assert data['score'] == (rubric.total - 4) / rubric.total
    adam = [t for t in data['tests'] if t['name'] == 'adam'][0]
    assert adam['points'] == 0 and adam['message'].startswith('adam: ')
    assert data['message'] == 'Total: 96 / 100'
    assert sorted(os.listdir(os.path.join(root, 'results'))) == ['results.json']
    assert os.path.getsize(os.path.join(root, 'results', 'results.json')) <= PL.MAX_BYTES
    assert os.stat(os.path.join(root, 'student')).st_mode & 0o777 == 0o700   # made private
    assert not strays_of(USER.user[0])


@needs_user
def test_a_submission_that_cannot_be_graded_is_not_gradable(tmp_path, image):
    root, here = prairielearn_layout(tmp_path, image)
    with zipfile.ZipFile(os.path.join(root, 'student', 'a2_submission.zip'), 'w') as z:
        z.writestr('../cs231n/layers.py', 'x = 1\n')
    data, status, _, stderr = run_prairielearn(root, here, SANDBOX_ENV)
    assert status == 0, stderr[-3000:]
    assert PL.validate(data) == []
    assert data['gradable'] is False and 'score' not in data
    assert 'refused' in data['message'] and '".." component' in data['message']
    assert data['format_errors'] == [data['message']]
    # Nothing submitted at all.
    root, here = prairielearn_layout(tmp_path, image)
    data, status, _, _ = run_prairielearn(root, here, SANDBOX_ENV)
    assert data['gradable'] is False and 'Nothing was submitted' in data['message']


def test_a_grader_that_cannot_start_or_fails_still_writes_results(tmp_path, image):
    """A Python that dies before the grader starts: the entrypoint's own last words. A
    grader that fails (its starter is gone): gradable false, and the student is told it
    is not their fault."""
    root, here = prairielearn_layout(tmp_path, image)
    data, status, _, stderr = run_prairielearn(root, here, {'AUTOGRADER_PYTHON': '/bin/false'})
    assert status == 1 and data['gradable'] is False, stderr
    assert 'the grader wrote no results' in stderr
    assert 'could not start' in data['message']
    root, here = prairielearn_layout(tmp_path, image)
    shutil.rmtree(os.path.join(here, 'starter'))
    with zipfile.ZipFile(os.path.join(root, 'student', 'a2_submission.zip'), 'w') as z:
        z.writestr('cs231n/layers.py', 'x = 1\n')
    data, status, _, stderr = run_prairielearn(root, here, {'CS231N_SANDBOX': 'auto'})
    assert status == 0 and data['gradable'] is False, stderr[-2000:]
    assert 'not your fault' in data['message'] and PL.validate(data) == []


@needs_user
def test_sigterm_of_the_entrypoint_still_writes_results(tmp_path, image, starter, subs):
    root, here = prairielearn_layout(tmp_path, image)
    shutil.copy(make_submission(starter, subs, 'pl_sleeper', {
        'affine_forward': prepend('import time', 'time.sleep(60)')}),
        os.path.join(root, 'student', 'a2_submission.zip'))
    data, status, _, stderr = run_prairielearn(root, here, SANDBOX_ENV, signal_after=6)
    assert status != 0
    assert data['gradable'] is False and 'stopped by SIGTERM' in data['message'], data
    assert not strays_of(USER.user[0])


def test_results_are_clipped_to_prairielearns_limit():
    """Outputs of every test at their largest, in characters that JSON spells long:
    the file still fits in 1 MB, every test with its name and points."""
    big = ('\u00e9\u4e2d\U0001f600' * 6000)[:16000]
    data = {'gradable': True, 'score': 0.5, 'message': 'Total: 50 / 100', 'output': big * 4,
            'tests': [{'name': 'part%d' % k, 'description': 'd', 'points': 1, 'max_points': 2,
                       'message': 'm', 'output': big} for k in range(40)]}
    assert len(json.dumps(data, ensure_ascii=False).encode('utf-8')) > PL.MAX_BYTES
    text = PL.dump(data)
    assert len(text.encode('utf-8')) <= PL.MAX_BYTES
    back = json.loads(text)
    assert PL.validate(back) == []
    assert [(t['name'], t['points']) for t in back['tests']] == [('part%d' % k, 1)
                                                                 for k in range(40)]
    assert 'more characters not shown' in back['tests'][0]['output']


HOSTILE = ['mallory_steal', 'mallory_daemon', 'mallory_kill', 'mallory_peers', 'mallory_snoop',
           'mallory_outside', 'mallory_network', 'mallory_accuracy']


@pytest.fixture(scope='module')
def hostile(tmp_path_factory, starter):
    """(base, the hostile class, the server's port and hits): the class is built once
    for the root base/grade and the image base/image (prairielearn_layout)."""
    base = tmp_path_factory.mktemp('pl-hostile')
    folder = base / 'subs'
    folder.mkdir()
    results = str(base / 'grade' / 'results')
    with serve() as (port, hits):
        made = hostile_class(starter, folder, results, [str(base / 'image' / 'grader')], port,
                             only=HOSTILE, forge=[os.path.join(results, 'results.json'),
                                    '/grade/results/results.json'])
        yield base, made, port, hits


@needs_user
@pytest.mark.parametrize('name', HOSTILE)
def test_hostile_submissions_on_prairielearn(hostile, image, starter, rubric, name):
    base, made, port, hits = hostile
    root, here = prairielearn_layout(base, image)
    path, zero = made[name]
    with zipfile.ZipFile(path) as z:               # as pl-file-upload hands it over
        shutil.copy(path, os.path.join(root, 'student', 'a2_submission.zip'))
        assert 'cs231n/layers.py' in z.namelist()
    before = tree_digest(here, starter, os.path.join(root, 'data'))
    data, status, stdout, stderr = run_prairielearn(root, here, SANDBOX_ENV)
    assert status == 0, stderr[-3000:]
    time.sleep(0.5)                                # a surviving daemon would rewrite it now
    with open(os.path.join(root, 'results', 'results.json')) as f:
        assert json.load(f) == data, 'results.json changed after the grader wrote it'
    _check(data, rubric)
    lost = {t['name'] for t in data['tests'] if t['points'] < t['max_points']}
    assert lost == zero, {t['name']: t['output'][:300] for t in data['tests']
                          if t['name'] in lost ^ zero}
    assert abs(data['score'] - expected_total(rubric, zero) / rubric.total) < 1e-9
    check_outputs_leak_nothing(json.dumps(data), name)
    assert sorted(os.listdir(os.path.join(root, 'results'))) == ['results.json']
    assert tree_digest(here, starter, os.path.join(root, 'data')) == before
    assert not strays(), strays()
    assert not strays_of(USER.user[0]), 'a process of the sandbox user outlived grading'
    assert hits == []
