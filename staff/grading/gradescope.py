"""The Gradescope autograder's entry point (run_autograder calls it).

    python -m staff.grading.gradescope [--root ROOT] [--sandbox KIND]

ROOT (default: $GRADESCOPE_ROOT, else /autograder) is laid out as Gradescope
lays it out:

    ROOT/source/          the bundle: grader/ (this code, the hidden tests), starter/
    ROOT/submission/      the student's upload: the zip, or the files Gradescope extracted
    ROOT/results/         results.json goes here, written by this process only

Gradescope runs this as root. Following its documented practice, the
student's code runs as the unprivileged sandbox user (in bubblewrap where the
container allows namespaces), and before any of it runs the source, the
submission and the results are made private to root and checked from the
sandbox user's side (sandbox.check_private).

It always writes results.json: when the grader itself fails (score 0 and a
message asking the student to tell the staff), and when it is stopped
(SIGTERM, Ctrl-C) before it finished.
"""
import argparse
import os
import sys

from . import always, grader, results, sandbox as SB


def _failed(text):
    return {'score': 0.0, 'output': text, 'visibility': 'visible', 'tests': []}


def make_private(paths):
    """chmod 700 each existing folder (as root: the sandbox user must not read them)."""
    for path in paths:
        if os.path.isdir(path) and os.geteuid() == 0:
            os.chmod(path, 0o700)


def main(argv=None):
    parser = argparse.ArgumentParser(prog='python -m staff.grading.gradescope')
    parser.add_argument('--root', default=os.environ.get('GRADESCOPE_ROOT', '/autograder'))
    parser.add_argument('--sandbox', default=os.environ.get('CS231N_SANDBOX', 'auto'),
                        choices=('auto',) + SB.KINDS[:2],
                        help='how the student\'s code is isolated (default: auto)')
    args = parser.parse_args(argv)
    root = os.path.abspath(args.root)
    source = os.path.join(root, 'source')
    grader_root = grader.GRADER_ROOT
    starter = os.path.join(source, 'starter')
    submission = os.path.join(root, 'submission')
    out_dir = os.path.join(root, 'results')
    out = os.path.join(out_dir, 'results.json')
    os.makedirs(out_dir, exist_ok=True)
    if grader_root not in sys.path:
        sys.path.append(grader_root)

    def grade():
        make_private([source, submission, out_dir])
        rubric = grader.load_rubric(grader_root=grader_root)
        box = SB.choose(args.sandbox)
        SB.check_private(box, [source, submission, out_dir, grader_root])
        result = grader.grade(submission, starter, rubric, student='submission',
                              grader_root=grader_root, sandbox=box)
        print(results.feedback(result))
        return results.gradescope(result, rubric.settings['visibility'])

    # Written by this process alone, after every process of the student's is gone;
    # also when the grader fails or is stopped (always.py).
    status = always.write_always(out, grade, lambda kind, text: _failed(text), results.validate)
    print('grading process: peak memory %.0f MB (bound %d MB)' % (
        grader.peak_memory_mb(), grader.memory_bound_mb(1)), file=sys.stderr)
    return status


if __name__ == '__main__':
    sys.exit(main())
