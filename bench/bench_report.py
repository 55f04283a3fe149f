"""Time the class report (staff/grading/report.py) on a generated class.

    python bench/bench_report.py [--students 600] [--repeat 3]
    python bench/bench_report.py --references 1000 --repeat 1   # against reference corpora

The class: each student's regions are, region by region, the model answer or
the alternative solution (staff/alt_solution), with a line of their own in
some regions; a few pairs are near-copies; a few submissions were not graded.
The stored results are random (scores, named mistakes from the catalogue).
Prints the median time of write_report over the runs, and of its parts:
reading the zips, the similarity and the page.

With --references N, the report also compares the class with reference
corpora (corpus.py, grade's --compare-with) of N files: 60% an earlier term's
submission zips, generated as the class is (other draws), 40% public
solutions, whole .py files with regions filled the same way; every 60th
student of the class hands in an earlier submission as their own.
"""
import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
import zipfile

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from staff.alt_solution import run as ALT  # noqa: E402
from staff.assignment import mistakes as M  # noqa: E402
from staff.grading import grader, report as REP, submission as SUB  # noqa: E402
from staff.release import regions as R, starter as REL  # noqa: E402


def region_bodies(starter):
    """{path: ([region], model bodies, alternative bodies)} of the starter's files."""
    out = {}
    for rel, text in REP.starter_code(starter).items():
        with open(os.path.join(REL.ROOT, rel), encoding='utf-8') as f:
            model = {(r.function, r.part): r.body for r in R.py_regions(f.read(), rel)}
        with open(os.path.join(REL.ROOT, ALT.alt_file(rel)), encoding='utf-8') as f:
            alt_text, _ = ALT.splice_file(rel, text, f.read())
        alt = {(r.function, r.part): r.body for r in R.py_regions(alt_text, rel)}
        regions = R.py_regions(text, rel)
        out[rel] = (text, regions, [model[(r.function, r.part)] for r in regions],
                    [alt[(r.function, r.part)] for r in regions])
    return out


def student_files(rng, sources):
    """{path: text} of one generated student."""
    files = {}
    for rel, (text, regions, model, alt) in sources.items():
        bodies = []
        for r, m, a in zip(regions, model, alt):
            body = list(m if rng.rand() < 0.5 else a)
            if rng.rand() < 0.3 and r.function:
                body.insert(1, '%ssanity_%d = %d * %d + %d\n' % (
                    r.indent, rng.randint(1e6), rng.randint(1e6), rng.randint(1e6),
                    rng.randint(1e6)))
            bodies.append(body)
        files[rel] = R.replace_bodies(text, regions, bodies)
    return files


def make_class(folder, starter, n, rubric, seed=0):
    rng = np.random.RandomState(seed)
    sources = region_bodies(starter)
    keys = [(part, m.key, m.example(part)) for m in M.rows() if m.kind == 'bug' for part in m.parts]
    submissions, stored, previous = {}, [], None
    for k in range(n):
        student = 's%04d' % k
        files = previous if (k % 100 == 99 and previous) else student_files(rng, sources)
        previous = files
        path = os.path.join(folder, student + '.zip')
        with zipfile.ZipFile(path, 'w', zipfile.ZIP_DEFLATED) as z:
            for rel, text in files.items():
                z.writestr(rel, text)
        submissions[student] = path
        error = 'Submission refused: a test reason' if k % 97 == 0 else None
        scores = {i.name: float(i.points * (rng.rand() < 0.85)) for i in rubric.items}
        named = {}
        for part, key, message in [keys[j] for j in rng.choice(len(keys), rng.poisson(1.0))]:
            named.setdefault(part, []).append([key, message])
        stored.append({'student': student, 'zip': path, 'total': sum(scores.values()),
                       'max_total': rubric.total, 'scores': scores, 'mistakes': named,
                       'error': error})
    return submissions, stored


def make_references(folder, starter, n, seed=1):
    """n reference files under folder/: earlier-term/*.zip and public/*/cs231n/*.py;
    returns (the corpora's folders, the earlier zips)."""
    rng = np.random.RandomState(seed)
    sources = region_bodies(starter)
    term, public = os.path.join(folder, 'earlier-term'), os.path.join(folder, 'public')
    n_zips = int(round(0.6 * n))
    zips = []
    for k in range(n_zips):
        path = os.path.join(term, 'section%d' % (k % 4), 'e%04d.zip' % k)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with zipfile.ZipFile(path, 'w', zipfile.ZIP_DEFLATED) as z:
            for rel, text in student_files(rng, sources).items():
                z.writestr(rel, text)
        zips.append(path)
    rels = sorted(sources)
    for k in range(n - n_zips):
        files = student_files(rng, sources)
        rel = rels[k % len(rels)]
        path = os.path.join(public, 'user%04d' % (k // len(rels)), rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, 'w', encoding='utf-8') as f:
            f.write(files[rel])
    return [term, public], zips


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--students', type=int, default=600)
    parser.add_argument('--repeat', type=int, default=3)
    parser.add_argument('--references', type=int, default=0, metavar='N',
                        help='compare with reference corpora of N files (default: none)')
    args = parser.parse_args(argv)
    rubric = grader.load_rubric()
    with tempfile.TemporaryDirectory(prefix='bench-report-') as tmp:
        starter = os.path.join(tmp, 'starter')
        REL.release(starter)
        zips = os.path.join(tmp, 'zips')
        os.mkdir(zips)
        t = time.perf_counter()
        submissions, stored = make_class(zips, starter, args.students, rubric)
        print('generated %d submissions in %.1f s' % (args.students, time.perf_counter() - t))
        corpora = None
        if args.references:
            t = time.perf_counter()
            corpora, earlier = make_references(os.path.join(tmp, 'corpora'), starter,
                                               args.references)
            for k in range(0, args.students, 60):      # hands in an earlier submission
                shutil.copyfile(earlier[k % len(earlier)], submissions['s%04d' % k])
            print('generated %d reference files in %.1f s' % (args.references,
                                                             time.perf_counter() - t))
        code = REP.starter_code(starter)
        times = {'read the zips': [], 'similarity': [], 'write_report (all)': []}
        for _ in range(args.repeat):
            t = time.perf_counter()
            documents = {s: REP.solution_text(SUB.read_submission(z)[0], code)
                         for s, z in submissions.items()}
            times['read the zips'].append(time.perf_counter() - t)
            t = time.perf_counter()
            pairs, common = REP.similar_pairs(documents, code)
            times['similarity'].append(time.perf_counter() - t)
            t = time.perf_counter()
            REP.write_report(os.path.join(tmp, 'out'), rubric, stored, submissions, starter,
                             references=corpora)
            times['write_report (all)'].append(time.perf_counter() - t)
        with open(os.path.join(tmp, 'out', 'report.html'), encoding='utf-8') as f:
            page = f.read()
        size = len(page.encode('utf-8'))
    print('class of %d, %d runs: %d pairs listed, passages in more than %d submissions '
          'left out; report.html %.0f KB' % (args.students, args.repeat, len(pairs), common,
                                              size / 1024))
    if args.references:
        print('against %d reference files: %d students listed with the references they share '
              'most with' % (args.references, page.count('<details id="ref')))
    for name, values in times.items():
        print('  %-20s median %6.2f s  (min %.2f, max %.2f)'
              % (name, statistics.median(values), min(values), max(values)))
    import resource
    print('  peak memory of this process: %.0f MB'
          % (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024))


if __name__ == '__main__':
    main()
