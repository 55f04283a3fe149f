"""Known mistakes: one catalogue of rows (catalogue.py), and how the grader names them.

A row is a Mistake: its key, the parts it is named in, the message to the
student, what recognises it, and the source edits that plant it in the model
answers. The same rows feed the grader's feedback (name_mistakes, through
staff/assignment's interface), the bug runner (python -m staff.bugs: each
planting is a bug to catch) and the staff tests (each row must be named, in
every part its plantings fail, at every draw). A Variant row is correct code
written unlike the model answers: nothing may reject it or name anything.

A mistake is recognised in one of two ways:

- by a buggy reference, the usual way: the staff references with one formula
  replaced (references.REF.but(...)), or a family of them, one per value of
  the family's free parameters (any eps, any axis, any sign: family()). It is
  named when a check of the part's judge fails on the student's results and
  the same check passes when it is given the buggy reference instead of the
  staff's. The judge decides, with its own tolerances, so a result the judge
  accepts is never named, and a result with two mistakes at once, or one no
  row describes, gets no name: no guessing.
- by a custom matcher, where no reference expresses the mistake (the
  statistics of a dropout mask, the given code's refusals, a numerical
  overflow): matcher(part name, got) returns the message's fields, or None.

name_mistakes never raises and never re-runs the student's code.
"""
import itertools

import numpy as np

from staff.grading.api import Fail

# A source edit of a model answer: `old` occurs exactly once in the region's
# body (Region.key: 'batchnorm_forward part 1', '<module>') and is replaced by
# `new`, whose further lines get the indentation of the line `old` starts on;
# `old` None replaces the whole body by `new`, written at column 0.
Edit = tuple   # (path, region key, old, new)


def plant(path, region, old, new):
    """A planting of one edit: [(path, region, old, new)]; add plantings to combine edits."""
    return [(path, region, old, new)]


class Mistake:
    """A row of the catalogue.

    - key: the mistake's name (kebab-case), in the feedback, grades.csv and the
      bug runner; parts: the parts it is named in
    - message: the feedback line, str.format'ed with fn (the student function
      of the part, `function` picking one of several: '__init__'), the fields
      of the reference or matcher that recognised it, and said (those fields'
      non-empty texts, joined)
    - reference: a References, or a family (a list of (References, fields))
    - matcher(part name, got) -> fields or None, where no reference expresses it
    - plants: the edits that plant it (a list of edits), or {label: edits} for
      several plantings
    """
    kind = 'bug'

    def __init__(self, key, parts, message, reference=None, matcher=None, plants=(),
                 function=None, note=''):
        self.key, self.parts, self.message = key, tuple(parts), message
        self.candidates = reference if isinstance(reference, list) else \
            [] if reference is None else [(reference, {})]
        self.matcher, self.function, self.note = matcher, function, note
        self.plants = plants if isinstance(plants, dict) else {None: plants}

    def text(self, part, fields):
        """The message for `part` (an api.Part) filled with `fields` (a dict of texts)."""
        names = part.functions
        fn = next((f for f in names if self.function and f.endswith(self.function)), names[-1])
        fields = fields if isinstance(fields, _Blank) else dict(fields)
        texts = [t for t in fields.values() if isinstance(t, str) and t]
        fields.setdefault('said', ', '.join(texts[:-1]) + ' and ' * (len(texts) > 1) + (
            texts[-1] if texts else ''))
        fields.setdefault('fn', fn)
        return self.message.format_map(fields)

    def example(self, part_name):
        """The message in part `part_name`, with the fields of the row's first
        reference (a matcher's fields as '...'): for the staff's tests and benchmarks."""
        from ..parts import load_parts
        fields = self.candidates[0][1] if self.candidates else _Blank()
        return self.text(load_parts()[part_name], fields)

    def recognise(self, part, got, failing):
        """The fields of the message if `got` (what the part's probe emitted, or
        {'__error__': message}) shows this mistake, else None. `failing`: the
        checks of the part's judge that got fails."""
        if self.matcher is not None:
            return self.matcher(part.name, got)
        for reference, fields in self.candidates:
            if any(_passes(check, got, reference) for check in failing):
                return fields
        return None

    def __repr__(self):
        return '<Mistake %s>' % self.key


class _Blank(dict):
    def __missing__(self, key):
        return '...'


class Variant:
    """A correct way of writing the code that no part may reject: its key and plants."""
    kind = 'variant'

    def __init__(self, key, plants, note=''):
        self.key, self.note = key, note
        self.plants = plants if isinstance(plants, dict) else {None: plants}


def family(build, **grid):
    """The candidates of a family: [(build(*values), fields)] for every
    combination of the grid, whose entries are lists of (text, value), in the
    order of build's parameters; `fields` holds the texts, by the grid's names.
    build returns None for a combination that is no mistake."""
    out = []
    for combo in itertools.product(*grid.values()):
        reference = build(*[value for _, value in combo])
        if reference is not None:
            out.append((reference, {name: text for name, (text, _) in zip(grid, combo)}))
    return out


def _passes(check, got, reference):
    try:
        check(got, reference)
        return True
    except Exception:   # noqa: BLE001 Fail, or a reference that cannot compute these inputs
        return False


def _failing(part, got):
    failing = []
    for check in part.checks:
        try:
            check(got)
        except Fail:
            failing.append(check)
        except Exception:   # noqa: BLE001 results the check cannot read: nothing to name there
            pass
    return failing


_rows = {}


def rows():
    """Every row of the catalogue (Mistake and Variant), in order."""
    if not _rows:
        from .catalogue import ROWS
        keys = [r.key for r in ROWS]
        assert len(set(keys)) == len(keys), 'two rows share a key'
        _rows.update((r.key, r) for r in ROWS)
    return list(_rows.values())


def mistakes_of(part_name):
    """The Mistake rows named in the part `part_name`."""
    return [r for r in rows() if r.kind == 'bug' and part_name in r.parts]


def name_mistakes(part_name, got):
    """[(key, message)] of the known mistakes that `got` shows: the results a
    failed part's probe emitted, or {'__error__': message} for a part that ended
    in an error. [] for none, or for any part or input it cannot read."""
    from ..parts import load_parts
    try:
        part = load_parts().get(part_name)
        if part is None or not isinstance(got, dict):
            return []
        if '__error__' in got:
            got, failing = {'__error__': str(got['__error__'])}, []
        with np.errstate(all='ignore'):
            if '__error__' not in got:
                failing = _failing(part, got)
                if not failing:
                    return []
            named = []
            for row in mistakes_of(part_name):
                if row.matcher is None and not failing:
                    continue
                try:
                    fields = row.recognise(part, got, failing)
                    if fields is not None:
                        named.append((row.key, row.text(part, fields)))
                except Exception:   # noqa: BLE001 a matcher that cannot read these results
                    pass
            return named
    except Exception:   # noqa: BLE001 naming a mistake must never cost the grade
        return []


def summary():
    """The catalogue's counts, in a few lines (python -m staff.bugs --list prints them)."""
    mistakes = [r for r in rows() if r.kind == 'bug']
    variants = [r for r in rows() if r.kind == 'variant']
    families = [r for r in mistakes if len(r.candidates) > 1]
    return ('%d known mistakes, named in %d parts: %d families (%d buggy references in all), '
            '%d single buggy references, %d custom matchers\n'
            '%d bugs plant them (python -m staff.bugs); %d legitimate variants, %d plantings'
            % (len(mistakes), len({p for r in mistakes for p in r.parts}), len(families),
               sum(len(r.candidates) for r in families),
               sum(1 for r in mistakes if len(r.candidates) == 1),
               sum(1 for r in mistakes if r.matcher), sum(len(r.plants) for r in mistakes),
               len(variants), sum(len(r.plants) for r in variants)))
