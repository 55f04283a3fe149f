"""Build the folder of PrairieLearn's grader image (staff only).

    python -m staff.grading.prairielearn.bundle OUT_DIR            # OUT_DIR must not exist
    python -m staff.grading.prairielearn.bundle OUT_DIR --force    # replace it
    docker build -t YOUR_ORG/cs231n-a2-grader OUT_DIR && docker push YOUR_ORG/cs231n-a2-grader

OUT_DIR is the image's build context:

    Dockerfile           FROM prairielearn/grader-python: bubblewrap where available, the
                         sandbox user, a venv with the requirements; copies OUT_DIR to /grader
    run_prairielearn     the entrypoint (/grader/run_prairielearn in the image): grades
                         /grade/student, writes /grade/results/results.json
    info.json            the fragment to paste into the question's info.json
    requirements.txt, staff-requirements.txt, grader/, starter/, BUILD.txt
                         as in the Gradescope bundle (staff.grading.autograder): the engine,
                         the assignment with its held-out images, the pristine starter

The folder is written beside OUT_DIR and renamed into place when complete.
"""
import argparse
import os
import shutil
import sys
import tempfile

from staff.release import starter as REL
from .. import autograder, grader

ROOT = REL.ROOT
HERE = os.path.dirname(os.path.abspath(__file__))
OWN_FILES = (('Dockerfile', False), ('run_prairielearn', True), ('info.json', False))


def build(out, root=ROOT, force=False, heldout_path=None):
    """Write the image's folder to `out`; return a summary line. heldout_path: a
    private held-out set instead of the one built from the local data."""
    rubric = grader.load_rubric(grader_root=root)   # refuse to bundle a broken rubric
    heldout = autograder.bundle_heldout(root, heldout_path)
    out = os.path.abspath(out)
    if os.path.exists(out) and not force:
        raise ValueError('%s exists; pass --force to replace it' % out)
    parent = os.path.dirname(out)
    os.makedirs(parent, exist_ok=True)
    partial = tempfile.mkdtemp(dir=parent, prefix='.tmp-' + os.path.basename(out) + '-')
    try:
        def add(name, data, executable=False):
            path = os.path.join(partial, *name.split('/'))
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, 'wb') as f:
                f.write(data.encode('utf-8') if isinstance(data, str) else data)
            os.chmod(path, 0o755 if executable else 0o644)

        with tempfile.TemporaryDirectory(prefix='cs231n-prairielearn-') as tmp:
            starter = os.path.join(tmp, 'starter')
            REL.release(starter, root=root)
            files, n_starter = autograder.add_grader(add, root, starter, heldout, rubric,
                                                     heldout_path)
        for name, executable in OWN_FILES:
            with open(os.path.join(HERE, name), 'rb') as f:
                add(name, f.read(), executable)
        os.chmod(partial, 0o755)
        old = None
        if os.path.exists(out):
            old = tempfile.mkdtemp(dir=parent, prefix='.old-' + os.path.basename(out) + '-')
            os.rmdir(old)
            os.rename(out, old)
        os.rename(partial, out)
        if old:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    return ('%s: %d grader files, %d starter files, %d parts worth %g points; build it with: '
            'docker build -t YOUR_ORG/cs231n-a2-grader %s'
            % (out, len(files), n_starter, len(rubric.items), rubric.total, out))


def main(argv=None):
    parser = argparse.ArgumentParser(prog='python -m staff.grading.prairielearn.bundle',
                                     description='Build the folder of the PrairieLearn '
                                     'grader image.')
    parser.add_argument('out', metavar='OUT_DIR')
    parser.add_argument('--force', action='store_true', help='replace OUT_DIR if it exists')
    parser.add_argument('--heldout', metavar='FILE.npz',
                        help='a private held-out set (images the course keeps back) to score '
                        'the saved models on, instead of the one built from the local CIFAR-10')
    args = parser.parse_args(argv)
    try:
        print(build(args.out, force=args.force, heldout_path=args.heldout))
    except (REL.ReleaseError, ValueError, OSError) as e:
        print('prairielearn.bundle: %s' % e, file=sys.stderr)
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
