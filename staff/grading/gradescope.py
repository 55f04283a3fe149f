"""The Gradescope autograder's entry point (run_autograder calls it).

    python -m staff.grading.gradescope [--root ROOT]

ROOT (default: $GRADESCOPE_ROOT, else /autograder) is laid out as Gradescope
lays it out:

    ROOT/source/          the bundle: grader/ (this code, the hidden tests), starter/
    ROOT/submission/      the student's upload: the zip, or the files Gradescope extracted
    ROOT/results/         results.json goes here, written by this process only

It always writes results.json, also when the grader itself fails (score 0 and
a message asking the student to tell the staff).
"""
import argparse
import json
import os
import sys
import traceback

from . import grader, results, sandbox


def main(argv=None):
    parser = argparse.ArgumentParser(prog='python -m staff.grading.gradescope')
    parser.add_argument('--root', default=os.environ.get('GRADESCOPE_ROOT', '/autograder'))
    args = parser.parse_args(argv)
    root = os.path.abspath(args.root)
    source = os.path.join(root, 'source')
    grader_root = grader.GRADER_ROOT
    starter = os.path.join(source, 'starter')
    submission = os.path.join(root, 'submission')
    out_dir = os.path.join(root, 'results')
    out = os.path.join(out_dir, 'results.json')
    os.makedirs(out_dir, exist_ok=True)
    sandbox.become_subreaper()
    try:
        rubric = grader.load_rubric(grader_root=grader_root)
        result = grader.grade(submission, starter, rubric, student='submission',
                              grader_root=grader_root, protect=[out_dir])
        data = results.gradescope(result, rubric.settings['visibility'])
        print(results.feedback(result))
    except BaseException as e:  # noqa: B902: results.json must exist whatever happens
        traceback.print_exc()
        data = {'score': 0.0, 'output': 'The autograder itself failed (%s: %s). This is not '
                'your fault: please tell the course staff.' % (type(e).__name__, e),
                'visibility': 'visible', 'tests': []}
        if isinstance(e, KeyboardInterrupt):
            raise
    finally:
        sandbox.reap_orphans()
    problems = results.validate(data)
    if problems:
        print('results.json does not follow the schema: %s' % '; '.join(problems),
              file=sys.stderr)
    if grader_root not in sys.path:
        sys.path.append(grader_root)
    from cs231n._files import atomic_write
    with atomic_write(out, 'w', encoding='utf-8') as f:
        json.dump(data, f, indent=1)
    return 0


if __name__ == '__main__':
    sys.exit(main())
