"""Always write a result: what every platform's entry point shares.

    status = write_always(path, grade, failed, validate=None, dump=None)

A platform (Gradescope's run_autograder, PrairieLearn's entrypoint, Autolab's
Makefile) shows the student only what the grader leaves behind, so the entry
point must leave a result whatever happens:

- grade() returns the platform's result (a dict): it is written;
- grade() is stopped (SIGTERM, Ctrl-C): failed('stopped', message) is written,
  and the status is 1;
- no sandbox can run here (sandbox.SandboxUnavailable):
  failed('unavailable', message);
- anything else goes wrong, in the grader itself: failed('crashed', message),
  with the traceback on stderr.

The messages are the student's: what happened and what to do. The result is
checked with validate(data) -> [problems] (printed on stderr, never fatal:
a result the platform may half-read beats none) and written atomically, by
this process alone, after every process of the student's is gone (dump(data)
-> text, default: indented JSON).
"""
import json
import sys
import traceback

from . import sandbox as SB

KINDS = ('stopped', 'unavailable', 'crashed')


def stopped_message(how):
    return ('Grading was stopped by %s before it finished (a time limit of the autograder?). '
            'Nothing was graded: please resubmit, or tell the course staff if it happens '
            'again.' % how)


def unavailable_message(error):
    return ('The autograder cannot run your code safely here (%s). This is not your fault: '
            'please tell the course staff.' % error)


def crashed_message(error):
    return ('The autograder itself failed (%s: %s). This is not your fault: please tell the '
            'course staff.' % (type(error).__name__, error))


def _json(data):
    return json.dumps(data, indent=1)


def write_always(path, grade, failed, validate=None, dump=None):
    """Write grade()'s result to path, or failed(kind, message) if it does not
    return one (kind in KINDS); return the exit status (1 if stopped, else 0)."""
    # cs231n._files sits beside staff/ in the repository and in every bundle.
    from cs231n._files import Terminated, atomic_write, terminate_as_interrupt
    status = 0
    try:
        with terminate_as_interrupt():
            data = grade()
    except (KeyboardInterrupt, Terminated) as e:
        SB.stop_all()
        data = failed('stopped', stopped_message(
            'SIGTERM' if isinstance(e, Terminated) else 'an interrupt'))
        status = 1
    except SB.SandboxUnavailable as e:
        print(e, file=sys.stderr)
        data = failed('unavailable', unavailable_message(e))
    except BaseException as e:  # noqa: B902: the result must exist whatever happens
        traceback.print_exc()
        data = failed('crashed', crashed_message(e))
    problems = validate(data) if validate else []
    if problems:
        print('%s does not follow the platform\'s schema: %s' % (path, '; '.join(problems)),
              file=sys.stderr)
    text = (dump or _json)(data)
    with atomic_write(path, 'w', encoding='utf-8') as f:
        f.write(text)
    return status
