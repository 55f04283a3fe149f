"""Splice each planting of the mistake catalogue (staff/assignment/mistakes/) into
a fresh student starter and run the public self-check on it.

    python -m staff.bugs                      # every bug and variant, a table, the kill rate
    python -m staff.bugs -k batchnorm -k drop # entries whose name holds one of these
    python -m staff.bugs --kind variant       # only the legitimate variants
    python -m staff.bugs --grader             # also grade each with staff.grading.grader.grade
    python -m staff.bugs --jobs 2             # entries run in parallel (default: 2)
    python -m staff.bugs --list               # the catalogue's counts, then its entries
    python -m staff.bugs --set second         # the independent set (staff/bugs/second_set.py)

An entry is one planting of a row of the catalogue: named by the row's key
(a mistake's, or a variant's), followed by ':' and the planting's label when
the row has several (net-l2:fc-without-half).

A bug is caught when `python -m pytest tests -x` fails in its starter; the
table gives the first failing test's message and whether it names the
function at fault first (first), somewhere (named) or not (no). A variant
must pass. Exit status 1 if a variant is rejected or an entry cannot be
spliced.
"""
import argparse
import collections
import concurrent.futures
import os
import re
import shutil
import sys
import tempfile
import time

from staff.release import harness as H
from staff.release import regions as R
from staff.release import starter as REL

ROOT = REL.ROOT
TEST_TIMEOUT = 600

Entry = collections.namedtuple('Entry', 'name kind edits note')


def catalogue_entries():
    """[Entry] of every planting of the catalogue's rows, mistakes then variants."""
    from staff.assignment import mistakes
    entries = []
    for row in mistakes.rows():
        for label, edits in row.plants.items():
            name = row.key if label is None else '%s:%s' % (row.key, label)
            entries.append(Entry(name, row.kind, edits, row.note))
    return entries


class SpliceError(ValueError):
    pass


def apply_edit(body, old, new, where):
    """The region body (lines) with `old` replaced by `new` (staff/assignment/mistakes/:
    Edit)."""
    text = ''.join(body)
    if old is None:
        indent = next((l[:len(l) - len(l.lstrip())] for l in body if l.strip()), '')
        lines = new.rstrip('\n').split('\n')
        return ['\n'] + [(indent + l if l.strip() else '') + '\n' for l in lines] + ['\n']
    count = text.count(old)
    if count != 1:
        raise SpliceError('%s: %r occurs %d times in the model answer, expected once'
                          % (where, old, count))
    at = text.index(old)
    line_start = text.rfind('\n', 0, at) + 1
    indent = text[line_start:at][:len(text[line_start:at]) - len(text[line_start:at].lstrip())]
    parts = new.split('\n')
    new = parts[0] + ''.join('\n' + (indent + p if p else p) for p in parts[1:])
    return R.split_lines(text.replace(old, new))


def mutated_bodies(entry, root=ROOT):
    """{path: {region key: body}} of the solution files with the entry's edits."""
    bodies = {}
    for path, key, old, new in entry.edits:
        if path not in bodies:
            bodies[path] = REL.model_bodies(path, root)
        if key not in bodies[path]:
            raise SpliceError('%s: %s has no region %r (it has %s)'
                              % (entry.name, path, key, ', '.join(bodies[path])))
        bodies[path][key] = apply_edit(bodies[path][key], old, new,
                                   '%s, %s %s' % (entry.name, path, key))
    return bodies


def splice_entry(entry, starter_dir, target, root=ROOT):
    """A copy of the starter at `target` holding the model answers, with the
    entry's edits, in every region."""
    shutil.copytree(starter_dir, target)
    bodies = mutated_bodies(entry, root)
    for path in R.files_with_regions(target):
        if path.endswith('.ipynb'):
            continue
        full = os.path.join(target, path)
        with open(full, encoding='utf-8') as f:
            text = f.read()
        regions = R.py_regions(text, path)
        model = bodies.get(path) or REL.model_bodies(path, root)
        new = R.replace_bodies(text, regions, [model[r.key] for r in regions])
        with open(full, 'w', encoding='utf-8', newline='') as f:
            f.write(new)


def at_fault(entry):
    """The function the entry edits, as a message would name it first: in a
    module-level region (layer_utils' sandwiches), the def the edit falls in."""
    path, key, old = entry.edits[0][:3]
    if key == '<module>' and old is not None:
        body = ''.join(REL.model_bodies(path)[key])
        defs = re.findall(r'^\s*def (\w+)\(', body[:body.find(old)], re.M)
        if defs:
            return defs[-1]
    name = key.split(' part ')[0]
    return name.split('.')[0] if '.' in name else name


def naming(message, fn):
    text = re.sub(r'^(?:[A-Za-z_][\w.]*(?:Error|Exception|Warning): )?', '', message or '')
    if text.startswith(fn):
        return 'first'
    return 'named' if fn in text else 'no'


def run_selfcheck(folder, pytest_args=(), timeout=TEST_TIMEOUT):
    """(failed test ids, first failure message, seconds, problems)."""
    run = H.run_pytest(folder, ['tests', '-x', *pytest_args],
                       os.path.join(folder, 'junit-bugs.xml'), timeout)
    if run.returncode is None:
        return [], '', run.seconds, ['pytest did not finish in %d s' % timeout]
    if run.junit is None:
        return [], '', run.seconds, ['pytest wrote no report (exit %d): %s'
                                     % (run.returncode, run.tail(3).replace('\n', ' | '))]
    failed = [(t, m) for t, outcome, m in run.cases if outcome == 'failed']
    problems = [] if run.cases else ['pytest collected no test']
    return [t for t, _ in failed], failed[0][1] if failed else '', run.seconds, problems


def grade_entry(folder, starter_dir):
    """What the grader makes of the spliced solution: {'lost': points lost in the
    code parts, 'parts': those parts, 'mistakes': the known mistakes it named}.
    (The trained-model items are left out: no model is trained here.)"""
    from staff.grading import grader, sandbox as SB
    rubric = grader.load_rubric()
    rubric.items = [i for i in rubric.items if i.kind == 'part']
    try:
        result = grader.grade(folder, starter_dir, rubric, sandbox=SB.choose('none'))
    except Exception as e:  # reported in the table, never the end of the run
        return {'error': '%s: %s' % (type(e).__name__, str(e)[:200])}
    failed = [p for p in result.parts if not p.passed]
    return {'lost': sum(p.points for p in failed), 'parts': [p.name for p in failed],
            'mistakes': [k for p in failed for k, _ in p.mistakes],
            'first': failed[0].message[:200] if failed else ''}


def describe_grade(graded):
    if not graded:
        return ''
    if 'error' in graded:
        return 'grader error: ' + graded['error']
    text = 'loses %g (%s)' % (graded['lost'], ', '.join(graded['parts']) or 'nothing')
    if graded['mistakes']:
        text += '; names ' + ', '.join(graded['mistakes'])
    elif graded.get('first'):
        text += ': ' + graded['first']
    return text


def run_entry(entry, starter_dir, scratch, pytest_args=(), grader=False):
    """One row of the table, as a dict."""
    target = os.path.join(scratch, entry.name.replace(':', '_'))
    row = {'name': entry.name, 'kind': entry.kind, 'function': at_fault(entry)}
    try:
        splice_entry(entry, starter_dir, target)
    except (SpliceError, R.RegionError, OSError) as e:
        row.update(status='splice error', message=str(e), problems=[str(e)])
        return row
    try:
        failed, message, seconds, problems = run_selfcheck(target, pytest_args)
        row.update(failed=failed, message=message, seconds=seconds, problems=problems,
                   caught=bool(failed), naming=naming(message, row['function']))
        if grader:
            row['grader'] = grade_entry(target, starter_dir)
    finally:
        shutil.rmtree(target, ignore_errors=True)
    return row


def select(entries, names=(), kind=None):
    return [e for e in entries if (kind is None or e.kind == kind)
            and (not names or any(n in e.name for n in names))]


def run(entries, pytest_args=(), grader=False, jobs=2, starter_dir=None, out=sys.stdout):
    """Run the entries; print the table; return the rows."""
    scratch = tempfile.mkdtemp(prefix='cs231n-bugs-')
    try:
        if starter_dir is None:
            starter_dir = os.path.join(scratch, 'starter')
            REL.release(starter_dir, root=ROOT)
        with concurrent.futures.ThreadPoolExecutor(max_workers=jobs) as pool:
            rows = list(pool.map(lambda e: run_entry(e, starter_dir, scratch, pytest_args,
                                                     grader), entries))
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    print_table(rows, grader, out)
    return rows


def print_table(rows, grader=False, out=sys.stdout):
    w = max([len(r['name']) for r in rows] + [4])
    for kind, title in (('bug', 'Bugs (the public self-check must fail)'),
                        ('variant', 'Legitimate variants (the self-check must pass)')):
        chosen = [r for r in rows if r['kind'] == kind]
        if not chosen:
            continue
        print('\n%s' % title, file=out)
        print('%-*s  %-7s  %-5s  %s' % (w, 'name', 'result', 'names', 'first failing message'),
              file=out)
        for r in chosen:
            if r.get('status') == 'splice error':
                result, names, message = 'SPLICE', '', r['message']
            elif r.get('problems'):
                result, names, message = 'ERROR', '', '; '.join(r['problems'])
            elif kind == 'bug':
                result = 'caught' if r['caught'] else 'MISSED'
                names, message = (r['naming'] if r['caught'] else ''), r['message']
            else:
                result = 'REJECTED' if r['caught'] else 'passes'
                names, message = '', r['message']
            line = '%-*s  %-7s  %-5s  %s' % (w, r['name'], result, names, message[:150])
            if grader:
                line += '  | grader: %s' % describe_grade(r.get('grader'))
            print(line, file=out)
    bugs = [r for r in rows if r['kind'] == 'bug' and not r.get('problems')]
    caught = [r for r in bugs if r['caught']]
    variants = [r for r in rows if r['kind'] == 'variant' and not r.get('problems')]
    rejected = [r for r in variants if r['caught']]
    if bugs:
        first = sum(1 for r in caught if r['naming'] == 'first')
        print('\npublic self-check: caught %d of %d bugs (%.0f%%); the first message names the '
              'function first for %d of them' % (len(caught), len(bugs),
                                                 100.0 * len(caught) / len(bugs), first),
              file=out)
    if variants:
        print('variants: %d of %d rejected' % (len(rejected), len(variants)), file=out)
    if grader and bugs:
        graded = [r for r in bugs if 'lost' in (r.get('grader') or {})]
        lost = [r for r in graded if r['grader']['lost'] > 0]
        named = [r for r in lost if r['grader']['mistakes']]
        print('grader: %d of %d bugs lose points (%.0f%%), %d of those with the mistake named '
              '(%.0f%%); variants losing points: %d'
              % (len(lost), len(graded), 100.0 * len(lost) / max(len(graded), 1), len(named),
                 100.0 * len(named) / max(len(lost), 1),
                 sum(1 for r in variants if (r.get('grader') or {}).get('lost'))), file=out)
        unnamed = [r['name'] for r in lost if not r['grader']['mistakes']]
        print('grader: lose points, no mistake named: %s' % (' '.join(unnamed) or 'none'),
              file=out)


def main(argv=None):
    parser = argparse.ArgumentParser(prog='python -m staff.bugs',
                                     description=__doc__.split('\n\n')[0])
    parser.add_argument('-k', dest='names', action='append', default=[],
                        help='only the entries whose name holds this text (repeatable)')
    parser.add_argument('--kind', choices=('bug', 'variant'))
    parser.add_argument('--grader', action='store_true',
                        help='also grade each with staff.grading.grader.grade(sandbox="none")')
    parser.add_argument('--jobs', type=int, default=2)
    parser.add_argument('--list', action='store_true',
                        help="print the catalogue's counts and its entries, and exit")
    parser.add_argument('--set', choices=('main', 'second'), default='main',
                        help='the catalogue (main) or the independent second set')
    args = parser.parse_args(argv)
    if args.set == 'second':
        from staff.bugs.second_set import ENTRIES as chosen
    else:
        chosen = catalogue_entries()
    entries = select(chosen, args.names, args.kind)
    if args.list:
        if args.set == 'main':
            from staff.assignment import mistakes
            print(mistakes.summary())
        for e in entries:
            print('%-8s %-46s %s' % (e.kind, e.name, e.note))
        return 0
    if not entries:
        print('no entry matches', file=sys.stderr)
        return 1
    start = time.perf_counter()
    rows = run(entries, grader=args.grader, jobs=args.jobs)
    bad = [r for r in rows if r.get('problems') or (r['kind'] == 'variant' and r['caught'])]
    print('%s in %.0f s' % ('FAILED' if bad else 'OK', time.perf_counter() - start))
    return 1 if bad else 0
