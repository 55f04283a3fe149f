"""Gradescope's results.json, the per-student feedback text, and a check of the schema.

Gradescope's schema (https://gradescope-autograders.readthedocs.io/en/latest/specs/):

    {"score": 44.0,                       # total; optional if tests carry scores
     "execution_time": 12,                # seconds, optional
     "output": "text shown above the tests",
     "visibility": "visible", "stdout_visibility": "hidden",
     "tests": [{"score": 2.0, "max_score": 2.0, "name": "...", "number": "1",
                "output": "...", "visibility": "visible", "status": "passed"}]}
"""
import numbers

VISIBILITIES = ('hidden', 'after_due_date', 'after_published', 'visible')
TOP_KEYS = {'score', 'execution_time', 'output', 'output_format', 'visibility',
            'stdout_visibility', 'extra_data', 'tests', 'leaderboard', 'test_output_format',
            'test_name_format'}
TEST_KEYS = {'score', 'max_score', 'status', 'name', 'name_format', 'number', 'output',
             'output_format', 'tags', 'visibility', 'extra_data'}
STATUSES = ('passed', 'failed')
MAX_OUTPUT = 16000


def _clip(text, limit=MAX_OUTPUT):
    if len(text) <= limit:
        return text
    return text[:limit] + '\n[... %d more characters not shown]' % (len(text) - limit)


SHOWN_OUTPUT = 2000          # characters of what the student's code printed, per test


def student_output(part):
    """What the student's code printed during the part, bounded, each line marked "| "
    so that nothing it prints can pass for the grader's own words."""
    if not part.output:
        return ''
    shown = part.output[:SHOWN_OUTPUT]
    size = max(part.output_bytes, len(part.output))
    head = 'What your code printed during this test'
    if size > len(shown):
        head += ' (%d bytes; the first %d characters)' % (size, len(shown))
    lines = ['| ' + line for line in shown.replace('\r', '').splitlines()]
    return head + ':\n' + '\n'.join(lines)


def test_output(part):
    text = part.message
    for _, message in part.mistakes:
        text += '\nKnown mistake: ' + message
    printed = student_output(part)
    if printed:
        text += '\n\n' + printed
    return _clip(text)


def gradescope(result, visibility='visible'):
    """results.json for one graded submission (a grader.GradeResult)."""
    tests = []
    for k, p in enumerate(result.parts, 1):
        tests.append({'name': p.name, 'number': str(k), 'score': round(p.score, 4),
                      'max_score': p.points, 'status': 'passed' if p.passed else 'failed',
                      'output': test_output(p), 'visibility': visibility})
    lines = ['Total: %g / %g' % (result.total, result.max_total)]
    if result.error:
        lines.append(result.error)
    lines += result.notes
    named = [m for p in result.parts for _, m in p.mistakes]
    if named:
        lines.append('Known mistakes recognised in your code:')
        lines += ['  - ' + m for m in named]
    lines.append('Only the code between the START and END OF YOUR CODE lines is graded, spliced '
                 'into a fresh copy of the starter.')
    if sandbox_line(result):
        lines.append(sandbox_line(result))
    return {'score': round(result.total, 4), 'execution_time': int(round(result.seconds)),
            'output': _clip('\n'.join(lines)), 'visibility': 'visible',
            'stdout_visibility': 'hidden', 'tests': tests}


def sandbox_line(result):
    """Which sandbox ran the student's code, in one line ('' if none ran it)."""
    kind = (getattr(result, 'sandbox', None) or {}).get('kind')
    return 'Your code ran in the sandbox: %s.' % kind if kind else ''


def feedback(result):
    """The feedback text for one student."""
    lines = ['%s: %g / %g points' % (result.student, result.total, result.max_total), '']
    if result.error:
        lines += [result.error, '']
    if result.notes:
        lines += ['Notes:'] + ['  - ' + n for n in result.notes] + ['']
    width = max([len(p.name) for p in result.parts] + [4])
    for p in result.parts:
        lines.append('%s %-*s %5g / %g' % ('[ok]' if p.passed else '[--]', width, p.name,
                                             p.score, p.points))
        if not p.passed or p.output or p.message != 'passed':
            for line in test_output(p).splitlines():
                lines.append('       ' + line)
    if sandbox_line(result):
        lines += ['', sandbox_line(result)]
    return '\n'.join(lines) + '\n'


def validate(results):
    """Problems (strings) of a results.json dict against Gradescope's schema; [] if valid."""
    problems = []

    def number(where, v):
        if isinstance(v, bool) or not isinstance(v, numbers.Real) or v != v:
            problems.append('%s must be a number, got %r' % (where, v))
            return False
        return True

    if not isinstance(results, dict):
        return ['results must be a JSON object']
    for k in results:
        if k not in TOP_KEYS:
            problems.append('unknown top-level key %r' % k)
    if 'score' not in results and not all('score' in t for t in results.get('tests', [])):
        problems.append('no top-level score, and not every test has a score')
    if 'score' in results:
        number('score', results['score'])
    for key in ('visibility', 'stdout_visibility'):
        if key in results and results[key] not in VISIBILITIES:
            problems.append('%s must be one of %s' % (key, VISIBILITIES))
    if 'output' in results and not isinstance(results['output'], str):
        problems.append('output must be a string')
    if 'execution_time' in results:
        number('execution_time', results['execution_time'])
    tests = results.get('tests', [])
    if not isinstance(tests, list):
        return problems + ['tests must be a list']
    names = set()
    total = 0.0
    for i, t in enumerate(tests):
        where = 'tests[%d]' % i
        if not isinstance(t, dict):
            problems.append('%s must be an object' % where)
            continue
        for k in t:
            if k not in TEST_KEYS:
                problems.append('%s: unknown key %r' % (where, k))
        if not isinstance(t.get('name'), str) or not t.get('name'):
            problems.append('%s: name must be a non-empty string' % where)
        elif t['name'] in names:
            problems.append('%s: name %r repeated' % (where, t['name']))
        else:
            names.add(t['name'])
        ok = True
        for key in ('score', 'max_score'):
            if key in t:
                ok = number('%s.%s' % (where, key), t[key]) and ok
        if ok and 'score' in t and 'max_score' in t and not 0 <= t['score'] <= t['max_score']:
            problems.append('%s: score %r outside [0, max_score %r]' % (where, t['score'],
                                                                       t['max_score']))
        if ok and 'score' in t:
            total += t['score']
        for key in ('output', 'number'):
            if key in t and not isinstance(t[key], str):
                problems.append('%s: %s must be a string' % (where, key))
        if 'status' in t and t['status'] not in STATUSES:
            problems.append('%s: status must be one of %s' % (where, STATUSES))
        if 'visibility' in t and t['visibility'] not in VISIBILITIES:
            problems.append('%s: visibility must be one of %s' % (where, VISIBILITIES))
    if 'score' in results and tests and all('score' in t for t in tests) \
            and abs(total - results['score']) > 1e-6:
        problems.append('score %r is not the sum of the tests\' scores %r'
                        % (results['score'], total))
    return problems
