"""What an assignment gives the grading engine, and how the engine finds it.

The engine (this package) grades any assignment whose student code sits in
solution regions (staff/release/regions.py) of a Python package. It never
imports an assignment by name in its code: it loads the package named by
$GRADING_ASSIGNMENT (default: staff.assignment, this repository's), which
provides, as module attributes:

    PACKAGE          the folder of the student's package in the starter ('cs231n')
    ANCHOR           a file of that package that locates it inside a zip
    CODE             the files with solution regions, relative to the starter's root
    FILES            every file a submission holds that the grader reads (CODE,
                     notebooks, saved models)
    STUDENT_MODULES  the modules of PACKAGE whose functions the hidden tests call
    RUBRIC           the path of the rubric (rubric.py's format)
    SOURCES          files outside the assignment's folder that a grade depends on,
                     relative to the repository's root (the grader's fingerprint, and
                     what the Gradescope bundle carries besides staff/)
    REFERENCES       (module, {function name: staff function}): within
                     S.layers('reference') the student's calls of these functions of
                     that module are answered by the staff's, in the grading process
    load_parts()     {name: api.Part}: the hidden tests, written with api.py
    name_mistakes(part_name, got)
                     [(key, message)] of the known mistakes that a failed part's
                     results (`got`, or {'__error__': message}) match; [] for none
    grade_item(item, files, data)
                     (passed, message) or (passed, message, flag) of a rubric line
                     that is not a part (rubric.Item), from the submission's files
                     ({path: bytes}); flag, if not None, says in one line why a
                     person should look at it (the feedback and the report show it;
                     it changes no score)
    load_data(root, path=None)
                     what grade_item needs (None if nothing): from `path`, else
                     from the bundle at `root`, else built locally
    save_data(data, path), data_digest(data)
                     write it (the Gradescope bundle's copy); its hash (part of the
                     fingerprint: other data, other grades)
    DATA_FILE        the name of that copy in a bundle
"""
import importlib
import os

DEFAULT = 'staff.assignment'
REQUIRED = ('PACKAGE', 'ANCHOR', 'CODE', 'FILES', 'STUDENT_MODULES', 'RUBRIC', 'SOURCES',
            'REFERENCES', 'load_parts', 'name_mistakes', 'grade_item', 'load_data',
            'save_data', 'data_digest', 'DATA_FILE')

_loaded = {}


class AssignmentError(ImportError):
    """The assignment package is missing something the engine needs."""


def current(name=None):
    """The assignment module (loaded once): `name`, else $GRADING_ASSIGNMENT, else DEFAULT."""
    name = name or os.environ.get('GRADING_ASSIGNMENT') or DEFAULT
    if name not in _loaded:
        module = importlib.import_module(name)
        missing = [attr for attr in REQUIRED if not hasattr(module, attr)]
        if missing:
            raise AssignmentError('the assignment %s does not provide %s (see %s)'
                                  % (name, ', '.join(missing), __name__))
        _loaded[name] = module
    return _loaded[name]
