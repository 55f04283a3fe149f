"""Benchmarks: training throughput and the batchnorm backward speedup.

Run from the repository root:

    python bench/bench_train.py [--quick] [--threads N]

Prints a table of medians over repeats (time.perf_counter, after warm-up):

- samples/s of one training step of FullyConnectedNet([100] * 4) with batch
  200 and Adam: model.loss on a random minibatch plus an Adam update of every
  parameter, which is what Solver._step does; in float32 and float64, the two
  interleaved repeat by repeat so that both see the same machine load;
- the speedup of batchnorm_backward_alt over batchnorm_backward at (100, 500)
  and (1000, 1000) in float64, also interleaved.

The header line gives the machine's load average: on a busy machine the
figures drop, and a multi-threaded BLAS suffers most (--threads 1 then gives
steadier figures).
"""
import argparse
import os
import platform
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

_THREAD_VARIABLES = ('OMP_NUM_THREADS', 'OPENBLAS_NUM_THREADS', 'MKL_NUM_THREADS')


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--quick', action='store_true',
                        help='fewer repeats (a smoke test; the figures are noisier)')
    parser.add_argument('--threads', type=int, default=None,
                        help='BLAS threads (default: the library default)')
    return parser.parse_args(argv)


if __name__ == '__main__':
    ARGS = parse_args()
    if ARGS.threads is not None:         # must be set before numpy is imported
        for variable in _THREAD_VARIABLES:
            os.environ[variable] = str(ARGS.threads)

import numpy as np  # noqa: E402

from cs231n import optim  # noqa: E402
from cs231n.classifiers.fc_net import FullyConnectedNet  # noqa: E402
from cs231n.layers import (batchnorm_backward, batchnorm_backward_alt,  # noqa: E402
                           batchnorm_forward)

BATCH_SIZE = 200
HIDDEN_DIMS = [100] * 4


def interleaved_medians(functions, repeats, warmup):
    """Median seconds per call of each function, calling them in turn."""
    for _ in range(warmup):
        for f in functions:
            f()
    times = [[] for _ in functions]
    for _ in range(repeats):
        for f, t in zip(functions, times):
            start = time.perf_counter()
            f()
            t.append(time.perf_counter() - start)
    return [statistics.median(t) for t in times]


def make_train_step(dtype, X_train, y_train, rng):
    """One Solver-style step: a random minibatch, model.loss, Adam on every param."""
    model = FullyConnectedNet(HIDDEN_DIMS, weight_scale=5e-2, dtype=dtype)
    configs = {p: {'learning_rate': 1e-3} for p in model.params}

    def step():
        batch = rng.randint(len(X_train), size=BATCH_SIZE)
        loss, grads = model.loss(X_train[batch], y_train[batch])
        for p, w in model.params.items():
            model.params[p], configs[p] = optim.adam(w, grads[p], configs[p])
        return loss

    return step


def bench_training(repeats, warmup):
    rng = np.random.RandomState(0)
    X_train = rng.randn(1000, 3, 32, 32).astype(np.float32)
    y_train = rng.randint(10, size=1000)
    steps = [make_train_step(dtype, X_train, y_train, rng) for dtype in (np.float32, np.float64)]
    t32, t64 = interleaved_medians(steps, repeats, warmup)
    return [
        ('train step float32 (%s, batch %d, adam)' % (HIDDEN_DIMS, BATCH_SIZE),
         BATCH_SIZE / t32, 'samples/s', '-', ''),
        ('train step float64 (%s, batch %d, adam)' % (HIDDEN_DIMS, BATCH_SIZE),
         BATCH_SIZE / t64, 'samples/s', '-', ''),
        ('float32 / float64 throughput', t64 / t32, 'x', '-', ''),
    ]


def bench_batchnorm(shape, repeats, warmup):
    rng = np.random.RandomState(231)
    N, D = shape
    x = 5 * rng.randn(N, D) + 12
    gamma, beta, dout = rng.randn(D), rng.randn(D), rng.randn(N, D)
    _, cache = batchnorm_forward(x, gamma, beta, {'mode': 'train'})
    t_graph, t_alt = interleaved_medians([lambda: batchnorm_backward(dout, cache),
                                          lambda: batchnorm_backward_alt(dout, cache)],
                                         repeats, warmup)
    speedup = t_graph / t_alt
    return [
        ('batchnorm_backward %dx%d' % shape, t_graph * 1e3, 'ms', '-', ''),
        ('batchnorm_backward_alt %dx%d' % shape, t_alt * 1e3, 'ms', '-', ''),
        ('alt speedup %dx%d' % shape, speedup, 'x', '-', ''),
    ]


def format_table(rows):
    header = ('benchmark', 'median', 'unit', 'target', '')
    cells = [header] + [(name, '%.0f' % value if value >= 100 else '%.3g' % value, unit,
                         target, verdict)
                        for name, value, unit, target, verdict in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    lines = []
    for i, row in enumerate(cells):
        lines.append('  '.join([row[0].ljust(widths[0]), row[1].rjust(widths[1])] +
                               [c.ljust(w) for c, w in zip(row[2:], widths[2:])]).rstrip())
        if i == 0:
            lines.append('  '.join('-' * w for w in widths))
    return '\n'.join(lines)


def main(args):
    step_repeats, bn_repeats, warmup = (5, 10, 1) if args.quick else (25, 60, 3)
    threads = next((os.environ[v] for v in _THREAD_VARIABLES if v in os.environ), 'default')
    load = '%.1f' % os.getloadavg()[0] if hasattr(os, 'getloadavg') else 'n/a'
    print('python %s, numpy %s, %s, %d CPUs (load average %s), BLAS threads %s; medians of '
          '%d (train) / %d (batchnorm) repeats'
          % (platform.python_version(), np.__version__, platform.machine(),
             os.cpu_count() or 0, load, threads, step_repeats, bn_repeats))
    rows = bench_training(step_repeats, warmup)
    for shape in ((100, 500), (1000, 1000)):
        rows += bench_batchnorm(shape, bn_repeats, warmup)
    print(format_table(rows))


if __name__ == '__main__':
    main(ARGS)
