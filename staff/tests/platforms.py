"""The graders as the platforms run them, for the grading tests (staff only).

    gradescope_layout(tmp_path, bundle)   a temporary root laid out as Gradescope's
    peak_memory(printed)                  the grading process's peak memory and its bound
    run_autograder(root)                  run_autograder there, as Gradescope does
    prairielearn_layout(base, image)      a temporary /grade laid out as PrairieLearn's
    run_prairielearn(root, image)         the image's entrypoint, as PrairieLearn runs it
    check_schema(results, rubric)         Gradescope's schema, checked by hand
    grade_cli(folder, *args)              python -m staff.grading.grade, as staff run it
    grader_root()                         the grader grade_cli runs: this repository, or a
                                          private copy of it in user mode
    copy_grader(dest)                     a copy of the grader, to change for a test
    processes_running(argv)               live processes whose command line starts so
    venv_under_tmp(tmp_root)              a venv under /tmp (a space, a symlink)
"""
import atexit
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import zipfile

from staff.assignment import models as MOD
from staff.grading import results as RES
from staff.tests import grading_fixtures as G
from staff.tests.submissions import HELDOUT, ROOT, SANDBOX


def extract_with_modes(zip_path, dest):
    with zipfile.ZipFile(zip_path) as z:
        for info in z.infolist():
            z.extract(info, dest)
            mode = info.external_attr >> 16
            if mode & 0o111:
                os.chmod(os.path.join(dest, info.filename), 0o755)


def gradescope_layout(tmp_path, bundle, settings=None):
    """A Gradescope root under tmp_path with the bundle in source/; settings ({key:
    value}) are appended to the bundle's rubric (e.g. a shorter part_timeout)."""
    root = tmp_path / 'autograder'
    for d in ('source', 'submission', 'results'):
        (root / d).mkdir(parents=True)
    extract_with_modes(bundle, str(root / 'source'))
    shutil.copy(str(root / 'source' / 'run_autograder'), str(root / 'run_autograder'))
    # The bundle's held-out CIFAR-10 images, replaced by the ones the test models fit.
    G.heldout_file(str(root / 'source' / 'grader' / MOD.HELDOUT_FILE), HELDOUT)
    if settings:
        rubric = root / 'source' / 'grader' / 'staff' / 'assignment' / 'rubric.txt'
        with open(str(rubric), 'a') as f:
            f.writelines('setting %s %s\n' % kv for kv in sorted(settings.items()))
    return root


def peak_memory(text):
    """(peak, bound) in MB from what a grader printed ('grading process: peak memory ...')."""
    import re
    found = re.search(r'grading process: peak memory (\d+) MB \(bound (\d+) MB', text)
    assert found, 'the grader did not print its peak memory:\n' + text[-2000:]
    return int(found.group(1)), int(found.group(2))


def run_autograder(root, env=None, signal_after=None):
    """Run root/run_autograder as Gradescope does (SIGTERM after `signal_after`
    seconds, if given); (results.json, exit status, stdout, stderr)."""
    env = dict(os.environ, GRADESCOPE_ROOT=str(root), AUTOGRADER_PYTHON=sys.executable,
               **(env or {}))
    proc = subprocess.Popen([str(root / 'run_autograder')], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    if signal_after is not None:
        time.sleep(signal_after)
        proc.send_signal(signal.SIGTERM)
    stdout, stderr = proc.communicate(timeout=600)
    with open(str(root / 'results' / 'results.json'), encoding='utf-8') as f:
        return json.load(f), proc.returncode, stdout, stderr


def prairielearn_layout(base, image):
    """A fresh base/grade laid out as PrairieLearn's /grade (student/, data/data.json,
    tests/; results/ is the grader's to create) and base/image, a copy of the grader
    image's folder (staff.grading.prairielearn.bundle) with the held-out images the
    test models fit: (grade root, image folder)."""
    base = str(base)
    root, here = os.path.join(base, 'grade'), os.path.join(base, 'image')
    for path in (root, here):
        if os.path.exists(path):
            shutil.rmtree(path)
    for d in ('student', 'data', 'tests'):
        os.makedirs(os.path.join(root, d))
    with open(os.path.join(root, 'data', 'data.json'), 'w') as f:
        json.dump({'params': {}, 'correct_answers': {}, 'submitted_answers': {},
                   'format_errors': {}, 'partial_scores': {}, 'score': 0, 'feedback': {},
                   'variant_seed': 1, 'options': {}, 'raw_submitted_answers': {},
                   'editable': False, 'panel': 'question', 'extensions': {}}, f)
    shutil.copytree(str(image), here, symlinks=True)
    G.heldout_file(os.path.join(here, 'grader', MOD.HELDOUT_FILE), HELDOUT)
    return root, here


def run_prairielearn(root, image, env=None, signal_after=None):
    """Run the image's entrypoint as PrairieLearn does, on the job folder root (SIGTERM
    after `signal_after` seconds, if given): (results.json, exit status, stdout, stderr)."""
    environ = dict(os.environ, PRAIRIELEARN_ROOT=str(root), AUTOGRADER_PYTHON=sys.executable)
    environ.update(env or {})
    proc = subprocess.Popen([os.path.join(str(image), 'run_prairielearn')], env=environ,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if signal_after is not None:
        time.sleep(signal_after)
        proc.send_signal(signal.SIGTERM)
    stdout, stderr = proc.communicate(timeout=600)
    with open(os.path.join(str(root), 'results', 'results.json'), encoding='utf-8') as f:
        return json.load(f), proc.returncode, stdout, stderr


def check_schema(data, rubric):
    """Gradescope's schema, checked by hand, besides staff.grading.results.validate."""
    assert RES.validate(data) == [], RES.validate(data)
    assert isinstance(data['score'], (int, float)) and not isinstance(data['score'], bool)
    assert isinstance(data['tests'], list) and len(data['tests']) == len(rubric.items)
    total = 0
    for test, item in zip(data['tests'], rubric.items):
        assert set(test) >= {'name', 'score', 'max_score', 'visibility', 'output'}
        assert test['name'] == item.name and test['max_score'] == item.points
        assert 0 <= test['score'] <= test['max_score']
        assert test['visibility'] in ('hidden', 'after_due_date', 'after_published', 'visible')
        assert isinstance(test['output'], str) and test['output']
        total += test['score']
    assert abs(total - data['score']) < 1e-9


def processes_running(argv):
    found = []
    for pid in os.listdir('/proc'):
        try:
            with open('/proc/%s/cmdline' % pid, 'rb') as f:
                if f.read().split(b'\0')[:len(argv)] == [a.encode() for a in argv]:
                    found.append(int(pid))
        except (OSError, ValueError):
            pass
    return found


_private_copy = []


def grader_root():
    """This repository; in user mode a private copy of its grader, made once, as the
    staff guide asks (the grader refuses to run while the sandbox user can read its
    files, and a clone is usually readable by all)."""
    if SANDBOX.kind != 'user':
        return ROOT
    if not _private_copy:
        base = tempfile.mkdtemp(prefix='cs231n-grader-')    # mode 0700
        atexit.register(shutil.rmtree, base, True)
        _private_copy.append(copy_grader(base))
    return _private_copy[0]


def grade_cli(folder, *args, root=None, popen=False):
    """python -m staff.grading.grade FOLDER ARGS run from the grader in `root` (default:
    grader_root()): the CompletedProcess, or the Popen with popen=True."""
    root = grader_root() if root is None else root
    heldout = os.path.join(str(folder), 'heldout.npz')
    if not os.path.exists(heldout):
        G.heldout_file(heldout, HELDOUT)
    trusted = ['--trusted'] if SANDBOX.kind == 'none' else []
    argv = [sys.executable, '-m', 'staff.grading.grade', str(folder), '--heldout',
            heldout] + trusted + list(args)
    if popen:
        return subprocess.Popen(argv, cwd=str(root), stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
    return subprocess.run(argv, cwd=str(root), capture_output=True, text=True, timeout=600)


def copy_grader(dest):
    """A copy of this repository's grader (staff/, cs231n/ without the data, tools/) at
    dest, to change for a test (its hidden tests, its rubric); returns dest."""
    ignore = shutil.ignore_patterns('__pycache__', '*.pyc', 'cifar-10-batches-py', '*.tar.gz')
    for folder in ('staff', 'cs231n', 'tools'):
        shutil.copytree(os.path.join(ROOT, folder), os.path.join(str(dest), folder),
                        ignore=ignore)
    return str(dest)


def venv_under_tmp(tmp_root):
    """A venv under /tmp, in a folder with a space, reached also through a
    symlink, whose .pth file adds this environment's packages: (python, python
    through the symlink)."""
    import site
    import sysconfig
    venv = os.path.join(tmp_root, 'a venv')
    base = os.path.join(sys.base_prefix, 'bin', 'python3')
    subprocess.run([base, '-m', 'venv', '--without-pip', venv], check=True, timeout=120)
    purelib = subprocess.run([os.path.join(venv, 'bin', 'python'), '-c',
                              'import sysconfig; print(sysconfig.get_paths()["purelib"])'],
                             capture_output=True, text=True, check=True).stdout.strip()
    with open(os.path.join(purelib, 'grader-packages.pth'), 'w') as f:
        f.write('\n'.join(site.getsitepackages() + [sysconfig.get_paths()['purelib']]) + '\n')
    os.symlink(venv, os.path.join(tmp_root, 'linked venv'))
    for here, dirs, files in os.walk(tmp_root):     # the sandbox user must read it
        os.chmod(here, 0o755)
    return (os.path.join(venv, 'bin', 'python'),
            os.path.join(tmp_root, 'linked venv', 'bin', 'python'))
