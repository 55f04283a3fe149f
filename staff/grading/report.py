"""The class report (staff only): one self-contained page beside grades.csv.

    path = write_report(out_dir, rubric, stored, submissions, starter_dir)

OUT/report.html holds, for the staff:
- the distribution of the totals and each rubric item's pass rate (plots,
  embedded as PNG data: the page opens from disk, with no server and no network);
- the named mistakes (the assignment's name_mistakes), ranked by how many students
  made them, with the students;
- the sandbox that graded, and what the grader flagged for a person to look at (a
  saved model that may have trained on the held-out images), never as a verdict;
- the submissions the grader could not grade, and why;
- code similarity between the students' solution regions, with copydetect
  (winnowing, as MOSS does): the pairs above a threshold, side by side, with
  the shared passages marked. The starter's code is boilerplate (it never
  counts), and so is any passage found in more than `common` submissions
  (MOSS's -m): what most of the class writes alike (the one-line numpy idioms
  of an assignment like this one) is no sign of copying. The pairs are for a
  person to look at, never a verdict.

Everything that comes from students (names, code, messages, reasons) is
HTML-escaped. The page is written atomically (cs231n._files.atomic_write).
"""
import base64
import collections
import functools
import html
import io
import math
import os
import time

import numpy as np

from staff.release import regions as R
from . import assignment as A, submission as SUB
from .corpus import strip_boilerplate

THRESHOLD = 0.5        # a pair is listed when one side shares this fraction of its code
MAX_PAIRS = 50         # listed at most, the most similar first
OPEN_PAIRS = 3         # shown side by side without a click
NOISE = 25             # copydetect's noise threshold: shorter matches never count (characters
GUARANTEE = 30         # of tokenized code); matches this long are always found
MIN_SHARED = 100       # a pair shares at least this many characters of tokenized code
MAX_TEXT = 256 * 1024  # characters of one student's regions compared (the first ones)


# ---------------------------------------------------------------------------
# The students' code

def starter_code(starter_dir):
    """{path: text} of the starter's files that hold solution regions."""
    out = {}
    for rel in A.current().CODE:
        path = os.path.join(starter_dir, rel)
        if os.path.isfile(path):
            with open(path, encoding='utf-8') as f:
                text = f.read()
            if R.START_MARKER in text:
                out[rel] = text
    return out


def solution_text(files, starter):
    """The student's region bodies, one document: each body the student
    changed from the stub, under a comment naming its file and function.

    Inputs:
    - files: {path: bytes} from submission.read_submission
    - starter: {path: text} from starter_code
    Returns the text ('' when no region was written).
    """
    chunks = []
    for rel, starter_text in starter.items():
        data = files.get(rel)
        if data is None or len(data) > SUB.MAX_CODE:
            continue
        text = data.decode('utf-8', errors='replace').replace('\r\n', '\n')
        regions = _regions(starter_text, rel)
        bodies = SUB._student_bodies(regions, text, rel, [])
        for region, body in zip(regions, bodies):
            if body is None or body == region.body or not ''.join(body).strip():
                continue
            chunks.append('# %s: %s (part %d)\n' % (rel, region.function or 'module level',
                                                     region.part))
            chunks.append(''.join(body).strip('\n') + '\n\n')
    return ''.join(chunks)[:MAX_TEXT]


@functools.lru_cache(maxsize=64)
def _regions(text, rel):
    """The starter's regions of a file (parsed once, not once per student)."""
    return tuple(R.py_regions(text, rel))


def _fingerprint(name, text, boilerplate, window=GUARANTEE - NOISE + 1):
    """copydetect's fingerprint of a Python text (boilerplate: hashes to leave
    out; window 1 keeps every k-gram, as copydetect does for boilerplate)."""
    from copydetect.detector import CodeFingerprint
    return CodeFingerprint(name + '.py', NOISE, window, boilerplate, fp=io.StringIO(text))


def similar_pairs(documents, starter, threshold=THRESHOLD, max_pairs=MAX_PAIRS, common=None,
                  keep=None):
    """The most similar pairs of documents.

    Inputs:
    - documents: {student: solution_text}
    - starter: {path: text}: boilerplate, never counted
    - common: passages in more than this many documents are boilerplate too
      (default: the larger of 10 and 5% of the documents)

    Returns (pairs, common): pairs is a list of dicts, most similar first, with
    the students a and b, similarity (the larger of the two fractions),
    fraction_a and fraction_b (of each one's code shared with the other),
    shared (characters of tokenized code) and html_a, html_b (each one's
    code, escaped, with the shared passages in <mark>).
    With keep (a dict), keep['prints'], keep['boiler'] and keep['frequent'] are
    the fingerprints, the starter's hashes and the class-wide boilerplate's
    (for the comparison with reference corpora, corpus.py).
    """
    from copydetect.detector import compare_files
    from copydetect.utils import highlight_overlap
    if common is None:
        common = max(10, int(math.ceil(0.05 * len(documents))))
    boiler = [_fingerprint('starter', text, None, window=1).hashes for text in starter.values()]
    boiler = np.unique(np.array(sorted(set().union(*boiler)) if boiler else [], dtype=np.int64))
    prints = {s: _fingerprint(s, text, boiler) for s, text in documents.items() if text.strip()}
    counts = collections.Counter(h for fp in prints.values() for h in fp.hashes)
    frequent = {h for h, n in counts.items() if n > common}
    for fp in prints.values():
        strip_boilerplate(fp, frequent)     # what most of the class writes alike
    if keep is not None:
        keep.update(prints=prints, boiler=boiler, frequent=frequent)
    # only pairs that share a fingerprint are compared
    holders = collections.defaultdict(list)
    for s, fp in prints.items():
        for h in fp.hashes:
            holders[h].append(s)
    candidates = set()
    for students in holders.values():
        students.sort()
        candidates.update((a, b) for i, a in enumerate(students) for b in students[i + 1:])
    pairs = []
    for a, b in candidates:
        shared, (frac_a, frac_b), slices = compare_files(prints[a], prints[b])
        similarity = max(frac_a, frac_b)
        if shared >= MIN_SHARED and similarity >= threshold:
            pairs.append({'a': a, 'b': b, 'similarity': float(similarity),
                          'fraction_a': float(frac_a), 'fraction_b': float(frac_b),
                          'shared': int(shared), 'slices': slices})
    pairs.sort(key=lambda p: (-p['similarity'], -p['shared'], p['a'], p['b']))
    pairs = pairs[:max_pairs]
    for p in pairs:
        for side, slices in zip('ab', p.pop('slices')):
            code, _ = highlight_overlap(prints[p[side]].raw_code, slices, '<mark>', '</mark>',
                                        truncate=8, escape_html=True)
            p['html_' + side] = code
    return pairs, common


# ---------------------------------------------------------------------------
# Figures

def _png(fig):
    buf = io.BytesIO()
    fig.savefig(buf, format='png', dpi=90, bbox_inches='tight')
    return 'data:image/png;base64,' + base64.b64encode(buf.getvalue()).decode('ascii')


def totals_figure(totals, max_total):
    from matplotlib.figure import Figure
    fig = Figure(figsize=(7, 3.2))
    ax = fig.add_subplot()
    bins = np.linspace(0, max(max_total, 1), 21)
    ax.hist(totals, bins=bins, color='#4472c4', edgecolor='white')
    ax.set_xlabel('total (of %g)' % max_total)
    ax.set_ylabel('students')
    ax.set_title('Distribution of the totals (%d graded)' % len(totals))
    return _png(fig)


def pass_rate_figure(names, rates):
    from matplotlib.figure import Figure
    fig = Figure(figsize=(7, 0.25 * len(names) + 1.2))
    ax = fig.add_subplot()
    y = np.arange(len(names))[::-1]
    ax.barh(y, [100 * r for r in rates], color='#70ad47')
    ax.set_yticks(y)
    ax.set_yticklabels(names, fontsize=8)
    ax.set_xlim(0, 100)
    ax.set_xlabel('% of graded students with full points')
    ax.set_title('Pass rate of each rubric item')
    return _png(fig)


# ---------------------------------------------------------------------------
# The page

CSS = """
body { font-family: sans-serif; margin: 2em; max-width: 90em; color: #222; }
table { border-collapse: collapse; margin: 0.5em 0 1.5em; }
td, th { border: 1px solid #ccc; padding: 0.25em 0.6em; text-align: left; vertical-align: top; }
th { background: #f0f0f0; }
.note { color: #555; max-width: 60em; }
.pair { display: flex; gap: 1em; }
.pair pre { flex: 1; overflow-x: auto; background: #fafafa; border: 1px solid #ddd;
            padding: 0.5em; font-size: 0.8em; line-height: 1.45; }
mark { background: #ffd27f; }
details { margin: 0.3em 0 1em; }
"""


def _e(value):
    return html.escape(str(value), quote=True)


def _table(header, rows):
    out = ['<table><tr>%s</tr>' % ''.join('<th>%s</th>' % _e(h) for h in header)]
    for row in rows:
        out.append('<tr>%s</tr>' % ''.join('<td>%s</td>' % cell for cell in row))
    out.append('</table>')
    return '\n'.join(out)


def mistake_counts(stored):
    """[(key, messages, parts, students)], the most frequent first."""
    found = collections.defaultdict(lambda: (set(), set(), set()))
    for s in stored:
        for part, named in (s.get('mistakes') or {}).items():
            for key, message in named:
                messages, parts, students = found[key]
                messages.add(message)
                parts.add(part)
                students.add(s['student'])
    return sorted(((k, sorted(m), sorted(p), sorted(st)) for k, (m, p, st) in found.items()),
                  key=lambda r: (-len(r[3]), r[0]))


def ungraded(stored, submissions):
    """[(student, reason)] of the submissions without a grade."""
    out = [(s['student'], s['error']) for s in stored if s.get('error')]
    have = {s['student'] for s in stored}
    out += [(student, 'no result: the grader did not finish this submission')
            for student in sorted(submissions) if student not in have]
    return sorted(out)


def changes_section(changes):
    """The "Changes since the last grading" section (regrade.load_changes)."""
    out = ['<h2 id="changes">Changes since the last grading</h2>']
    if not changes:
        out.append('<p>No earlier grading of this class to compare with: the first regrade '
                   '(after a rubric or hidden-test change, or --force) keeps these grades and '
                   'lists what it changes here and in changes.csv.</p>')
        return out
    moved = changes['moved']
    by_student = collections.OrderedDict()
    for student, part, old, new, why in changes['rows']:
        by_student.setdefault(student, []).append((part, old, new, why))
    out.append('<p>Compared with the grading of %s (kept in history/): <strong>%d student%s '
               'whose total moved</strong>, %d change%s in all (changes.csv).</p>'
               % (_e(changes['since'] or 'an earlier run'), len(moved),
                  '' if len(moved) == 1 else 's', len(changes['rows']),
                  '' if len(changes['rows']) == 1 else 's'))
    rows = []
    for student, items in by_student.items():
        total = [(o, n, w) for p, o, n, w in items if p == 'total'] or [('', '', '')]
        what = ['<code>%s</code> %s &rarr; %s: %s' % (_e(p), _e(o), _e(n), _e(w))
                for p, o, n, w in items if p != 'total']
        rows.append((_e(student), _e(total[0][0]), _e(total[0][1]),
                     '<br>'.join(what) or _e(total[0][2])))
    if rows:
        out.append(_table(['student', 'old total', 'new total', 'what changed, and the '
                           'feedback that explains it'], rows))
    return out


def references_section(dirs, texts, unread, matches, threshold):
    """The "Similarity with reference corpora" section (corpus.py)."""
    from . import corpus
    out = ['<h2 id="references">Similarity with reference corpora</h2>']
    counts = collections.Counter(name.split('/', 1)[0] for name in texts)
    out.append('<p class="note">For a person to look at, never a verdict. Each student\'s '
               'solution regions compared with copydetect\'s reference support against '
               'earlier terms\' submissions (their regions, read from the zips without '
               'extracting them) and public solutions (whole .py files): %s. The starter\'s '
               'code and the class-wide boilerplate above are left out. Listed: the students '
               'of whose code a reference holds at least %.0f%%, with the %d references they '
               'share most with, at most %d students, the closest first.</p>'
               % (_e('; '.join('%s (%s: %d files read)' % (n, d, counts.get(n, 0))
                               for d, n in corpus.corpus_names(dirs).items())),
                  100 * threshold, corpus.TOP, corpus.MAX_STUDENTS))
    if unread:
        out.append('<p>Not read: %s</p>' % _e('; '.join('%s: %s' % u for u in unread)))
    if not matches:
        out.append('<p>No student shares that much with a reference.</p>')
        return out
    out.append(_table(['student', 'reference', 'of the student\'s code', 'of the reference',
                       'shared (tokens)'], [
        ('<a href="#ref%d">%s</a>' % (n, _e(r['student'])) if k == 0 else '',
         _e(m['reference']), '%.0f%%' % (100 * m['fraction_student']),
         '%.0f%%' % (100 * m['fraction_reference']), str(m['shared']))
        for n, r in enumerate(matches, 1) for k, m in enumerate(r['matches'])]))
    for n, r in enumerate(matches, 1):
        out.append('<details id="ref%d"%s><summary>%s: %s</summary>' % (
            n, ' open' if n <= OPEN_PAIRS else '', _e(r['student']),
            _e(', '.join('%s (%.0f%%)' % (m['reference'], 100 * m['fraction_student'])
                         for m in r['matches']))))
        for m in r['matches']:
            out.append('<p>%s and <code>%s</code></p><div class="pair"><pre>%s</pre><pre>%s</pre>'
                       '</div>' % (_e(r['student']), _e(m['reference']), m['html_student'],
                                   m['html_reference']))
        out.append('</details>')
    return out


def write_report(out_dir, rubric, stored, submissions, starter_dir, threshold=THRESHOLD,
                 max_pairs=MAX_PAIRS, common=None, changes=None, references=None):
    """Write out_dir/report.html and return its path.

    Inputs:
    - rubric: staff.grading.rubric.Rubric
    - stored: one dict per student, as grade.py writes OUT/results/STUDENT.json
      ('student', 'total', 'max_total', 'scores', 'mistakes', 'error', ...)
    - submissions: {student: path of the zip}
    - starter_dir: the starter the class was graded against (staff.release)
    - threshold, max_pairs, common: see similar_pairs
    - changes: the last regrade's changes (regrade.load_changes), or None
    - references: folders of reference corpora (corpus.py), or None
    """
    from cs231n._files import atomic_write
    started = time.monotonic()
    graded = [s for s in stored if not s.get('error')]
    items = [i for i in rubric.items if i.points > 0]
    totals = [float(s.get('total', 0)) for s in graded]
    rates = [float(np.mean([s.get('scores', {}).get(i.name, 0) >= i.points for s in graded]))
             if graded else 0.0 for i in items]

    starter = starter_code(starter_dir)
    documents, unread = {}, []
    for student, path in sorted(submissions.items()):
        try:
            # Only the code, read as the grader reads it (bounded: submission.py).
            files, _ = SUB.read_submission(path, only=list(starter))
            documents[student] = solution_text(files, starter)
        except SUB.Refused as e:
            unread.append((student, str(e)))
        except Exception as e:  # noqa: BLE001 one unreadable zip must not stop the report
            unread.append((student, '%s: %s' % (type(e).__name__, e)))
    keep = {} if references else None
    pairs, common = similar_pairs(documents, starter, threshold, max_pairs, common, keep=keep)
    if references:
        from . import corpus
        ref_texts, ref_unread = corpus.read_corpora(references, starter, solution_text)
        ref_matches = corpus.compare(keep['prints'], ref_texts, starter, keep['boiler'],
                                     keep['frequent'], NOISE, GUARANTEE, threshold, MIN_SHARED)

    parts = ['<!DOCTYPE html>', '<html lang="en"><head><meta charset="utf-8">',
             '<title>Class report</title><style>%s</style></head><body>' % CSS,
             '<h1>Class report</h1>',
             '<p>%d submissions, %d graded, %d not graded. Rubric total %g. Median total %s, '
             'mean %s.</p>' % (len(submissions), len(graded), len(stored) - len(graded)
                               + len(set(submissions) - {s['student'] for s in stored}),
                               rubric.total,
                               '%.1f' % np.median(totals) if totals else '-',
                               '%.1f' % np.mean(totals) if totals else '-')]

    kinds = collections.Counter(s.get('sandbox') or 'none recorded' for s in graded)
    parts.append('<p>Sandbox: %s.</p>' % _e('; '.join('%s (%d)' % kv for kv in sorted(
        kinds.items())) or 'nothing was graded'))
    parts.append('<h2>Scores</h2>')
    if graded:
        parts.append('<p><img alt="distribution of the totals" src="%s"></p>'
                     % totals_figure(totals, rubric.total))
        parts.append('<p><img alt="pass rate of each rubric item" src="%s"></p>'
                     % pass_rate_figure([i.name for i in items], rates))
    parts.append(_table(['item', 'points', 'pass rate'],
                        [(_e(i.name), '%g' % i.points, '%.0f%%' % (100 * r))
                         for i, r in zip(items, rates)]))

    parts += changes_section(changes)

    parts.append('<h2>Named mistakes</h2>')
    counts = mistake_counts(stored)
    if counts:
        parts.append(_table(['mistake', 'students', 'part', 'feedback', 'who'], [
            ('<code>%s</code>' % _e(k), str(len(st)), _e(', '.join(p)),
             '<br>'.join(_e(m) for m in ms), _e(', '.join(st))) for k, ms, p, st in counts]))
    else:
        parts.append('<p>No known mistake was recognised.</p>')

    parts.append('<h2>Flagged for a person to look at</h2>')
    flagged = [(s['student'], item, why) for s in stored
               for item, why in sorted((s.get('flags') or {}).items())]
    if flagged:
        parts.append('<p class="note">Never a verdict: what the grader found implausible (a '
                     'saved model that scores far better on the held-out images than on the '
                     'training images may have trained on them). The scores stand.</p>')
        parts.append(_table(['student', 'item', 'why'], [(_e(st), _e(item), _e(why))
                                                         for st, item, why in sorted(flagged)]))
    else:
        parts.append('<p>Nothing was flagged.</p>')

    parts.append('<h2>Not graded</h2>')
    missing = ungraded(stored, submissions)
    if missing:
        parts.append(_table(['student', 'why'], [(_e(s), _e(r)) for s, r in missing]))
    else:
        parts.append('<p>Every submission was graded.</p>')

    parts.append('<h2>Code similarity</h2>')
    parts.append(
        '<p class="note">For a person to look at, never a verdict. The solution regions of '
        'each pair of submissions compared with copydetect (winnowing, as MOSS does; names, '
        'strings and comments do not count). The starter\'s code is left out, and so is any '
        'passage found in more than %d submissions: code that much of the class writes alike '
        'is not a sign of copying (but a solution shared by that many is not shown either). '
        'Listed: the pairs where one side shares at least %.0f%% of its code with the other, '
        'at most %d, most similar first.</p>' % (common, 100 * threshold, max_pairs))
    if unread:
        parts.append('<p>Not compared (unreadable): %s</p>'
                     % _e('; '.join('%s: %s' % u for u in unread)))
    if pairs:
        parts.append(_table(['#', 'student A', 'student B', 'A shares', 'B shares',
                             'shared (tokens)'], [
            ('<a href="#pair%d">%d</a>' % (n, n), _e(p['a']), _e(p['b']),
             '%.0f%%' % (100 * p['fraction_a']), '%.0f%%' % (100 * p['fraction_b']),
             str(p['shared'])) for n, p in enumerate(pairs, 1)]))
        for n, p in enumerate(pairs, 1):
            parts.append('<details id="pair%d"%s><summary>%d. %s and %s: %.0f%%</summary>'
                         '<div class="pair"><pre>%s</pre><pre>%s</pre></div></details>'
                         % (n, ' open' if n <= OPEN_PAIRS else '', n, _e(p['a']), _e(p['b']),
                            100 * p['similarity'], p['html_a'], p['html_b']))
    else:
        parts.append('<p>No pair above the threshold.</p>')
    if references:
        parts += references_section(references, ref_texts, ref_unread, ref_matches, threshold)
    parts.append('<p class="note">Written %s in %.1f s.</p></body></html>'
                 % (time.strftime('%Y-%m-%d %H:%M:%S'), time.monotonic() - started))

    path = os.path.join(out_dir, 'report.html')
    with atomic_write(path, 'w', encoding='utf-8') as f:
        f.write('\n'.join(parts))
    return path
