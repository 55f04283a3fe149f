"""The rubric: points per part, the trained models' accuracy checks, and limits.

The assignment names its file (staff/assignment/rubric.txt here; format described at its top).
"""
import hashlib
import shlex

SETTINGS = {  # key: (type, default)
    'part_timeout': (float, 30.0),
    'memory_mb': (int, 2048),
    'output_kb': (int, 256),
    'file_mb': (int, 16),
    'visibility': (str, 'visible'),
    'submission_timeout': (float, 480.0),
}
VISIBILITIES = ('visible', 'hidden', 'after_due_date', 'after_published')


class RubricError(ValueError):
    pass


class Item:
    """One graded line: kind 'part' or 'accuracy' (a saved model, its notebook and
    the label of the notebook's check)."""

    def __init__(self, kind, name, points, notebook=None, label=None, minimum=None, model=None):
        self.kind, self.name, self.points = kind, name, points
        self.notebook, self.label, self.minimum = notebook, label, minimum
        self.model = model

    def __repr__(self):
        return '<%s %s %g>' % (self.kind, self.name, self.points)


class Rubric:
    def __init__(self, items, settings, text):
        self.items, self.settings, self.text = items, settings, text

    @property
    def total(self):
        return sum(i.points for i in self.items)

    @property
    def parts(self):
        return [i for i in self.items if i.kind == 'part']

    @property
    def accuracies(self):
        return [i for i in self.items if i.kind == 'accuracy']

    def digest(self):
        return hashlib.sha256(self.text.encode('utf-8')).hexdigest()


def _number(where, text, what):
    try:
        value = float(text)
    except ValueError:
        raise RubricError('%s: %s must be a number, got %r' % (where, what, text))
    if not value >= 0:
        raise RubricError('%s: %s must be >= 0, got %r' % (where, what, text))
    return value


def parse(text, where='rubric.txt', known_parts=None):
    """Rubric from the file's text; with known_parts (the names of the hidden
    tests), every test must have a part line and every part line a test."""
    items, settings, seen = [], {k: v[1] for k, v in SETTINGS.items()}, set()
    for n, line in enumerate(text.splitlines(), 1):
        at = '%s:%d' % (where, n)
        try:
            words = shlex.split(line, comments=True)
        except ValueError as e:
            raise RubricError('%s: %s' % (at, e))
        if not words:
            continue
        kind = words[0]
        if kind == 'setting':
            if len(words) != 3 or words[1] not in SETTINGS:
                raise RubricError('%s: expected "setting KEY VALUE" with KEY one of %s'
                                  % (at, ', '.join(SETTINGS)))
            typ = SETTINGS[words[1]][0]
            try:
                value = typ(words[2])
            except ValueError:
                raise RubricError('%s: %s must be a %s, got %r'
                                  % (at, words[1], typ.__name__, words[2]))
            if words[1] == 'visibility' and value not in VISIBILITIES:
                raise RubricError('%s: visibility must be one of %s' % (at, ', '.join(VISIBILITIES)))
            if typ is not str and not value > 0:
                raise RubricError('%s: %s must be > 0' % (at, words[1]))
            settings[words[1]] = value
            continue
        if kind == 'part' and len(words) == 3:
            item = Item('part', words[1], _number(at, words[2], 'POINTS'))
        elif kind == 'accuracy' and len(words) == 7:
            item = Item('accuracy', words[1], _number(at, words[2], 'POINTS'), notebook=words[4],
                        label=words[5], minimum=_number(at, words[6], 'MIN'), model=words[3])
            if not item.model.endswith('.npz'):
                raise RubricError('%s: MODEL must be a .npz file, got %r' % (at, item.model))
        else:
            raise RubricError('%s: expected "part NAME POINTS", "accuracy NAME POINTS MODEL '
                              'NOTEBOOK LABEL MIN" or "setting KEY VALUE", got %r'
                              % (at, line.strip()))
        if item.name in seen:
            raise RubricError('%s: %s listed twice' % (at, item.name))
        seen.add(item.name)
        items.append(item)
    if known_parts is not None:
        listed = {i.name for i in items if i.kind == 'part'}
        missing = [p for p in known_parts if p not in listed]
        unknown = sorted(listed - set(known_parts))
        if missing:
            raise RubricError('%s: no points for the hidden test(s) %s' % (where, ', '.join(missing)))
        if unknown:
            raise RubricError('%s: no hidden test named %s' % (where, ', '.join(unknown)))
    return Rubric(items, settings, text)


def load(path, known_parts=None):
    with open(path, encoding='utf-8') as f:
        return parse(f.read(), path, known_parts)
