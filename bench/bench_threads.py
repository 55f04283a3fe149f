"""How well numpy's elementwise work scales over two threads, against two processes.

Run from the repository root:

    python bench/bench_threads.py [--repeats R]

The update rules in cs231n/optim.py spread cache-sized blocks over one thread
per core. numpy releases the GIL inside each ufunc call but holds it between
calls, so two threads hand the GIL back and forth once per call; two processes
never do. This prints, per block size, the median time of a run of in-place
ufunc calls (a multiply by a scalar and an add of two arrays: the cheap passes
of an update rule) and the scaling efficiency of two workers:

    efficiency = time of one worker's calls alone / time of both running at once

1.0 means the two cores each did their share at full speed. It also times
optim.adam on a 3072 x 1024 float32 matrix (the first layer of the big net in
bench_torch.py) with one worker and with two.
"""
import argparse
import multiprocessing
import os
import statistics
import sys
import time
from concurrent.futures import ThreadPoolExecutor

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import numpy as np  # noqa: E402

from cs231n import optim  # noqa: E402

CALLS = 100  # ufunc calls per worker and repeat
OPERATIONS = {
    'a *= c': lambda a, b: np.multiply(a, 0.999, out=a),
    'a += b': lambda a, b: np.add(a, b, out=a),
}


def calls(operation, elements):
    """Seconds for CALLS calls of `operation` on a private pair of arrays."""
    a, b = np.ones(elements, np.float32), np.ones(elements, np.float32)
    start = time.perf_counter()
    for _ in range(CALLS):
        OPERATIONS[operation](a, b)
    return time.perf_counter() - start


def _process_worker(operation, elements, repeats, barrier, results):
    times = []
    for _ in range(repeats):
        barrier.wait()  # both processes start each repeat together
        times.append(calls(operation, elements))
    results.put(statistics.median(times))


def two_processes(operation, elements, repeats):
    """Median seconds of one process's calls while another runs the same."""
    # spawn, not fork: this process already runs BLAS and pool threads.
    context = multiprocessing.get_context('spawn')
    barrier, results = context.Barrier(2), context.Queue()
    workers = [context.Process(target=_process_worker,
                               args=(operation, elements, repeats, barrier, results))
               for _ in range(2)]
    for worker in workers:
        worker.start()
    medians = [results.get() for _ in workers]
    for worker in workers:
        worker.join()
    return max(medians)


def two_threads(operation, elements, repeats, pool):
    """Median seconds of both threads' calls, run at once."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        other = pool.submit(calls, operation, elements)
        calls(operation, elements)
        other.result()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def adam_time(workers, repeats):
    rng = np.random.RandomState(0)
    w, dw = rng.randn(2, 3072, 1024).astype(np.float32)
    config = {'learning_rate': 1e-3}
    saved, optim._WORKERS = optim._WORKERS, workers
    times = []
    try:
        for _ in range(repeats + 3):
            start = time.perf_counter()
            optim.adam(w, dw, config)
            times.append(time.perf_counter() - start)
    finally:
        optim._WORKERS = saved
    return statistics.median(times[3:])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--repeats', type=int, default=30)
    args = parser.parse_args(argv)
    print('python %s, numpy %s, %d CPUs, load average %s; %d calls per worker, medians of %d'
          % (sys.version.split()[0], np.__version__, os.cpu_count(),
             ' '.join('%.1f' % v for v in os.getloadavg()), CALLS, args.repeats))
    print('%-8s %8s %12s %14s %14s' % ('call', 'block', 'one worker', '2 threads eff', '2 procs eff'))
    with ThreadPoolExecutor(1) as pool:
        for operation in OPERATIONS:
            for kilobytes in (128, 384, 768, 1536):
                elements = (kilobytes << 10) // 4
                alone = statistics.median(calls(operation, elements) for _ in range(args.repeats))
                threads = two_threads(operation, elements, args.repeats, pool)
                processes = two_processes(operation, elements, args.repeats)
                print('%-8s %6d KB %9.1f us %14.2f %14.2f'
                      % (operation, kilobytes, 1e6 * alone / CALLS, alone / threads,
                         alone / processes))
    workers = optim._WORKERS
    one, two = adam_time(1, args.repeats), adam_time(workers, args.repeats)
    print('adam, 3072 x 1024 float32: %.2f ms on one worker, %.2f ms on %d (%.2fx)'
          % (1e3 * one, 1e3 * two, workers, one / two))
    return 0


if __name__ == '__main__':
    sys.exit(main())
