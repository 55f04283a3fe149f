"""Time the full CIFAR-10 load plus preprocessing (get_CIFAR10_data defaults:
all 60,000 images read, 49,000/1,000/1,000 split, mean image subtracted).

    python bench/bench_data.py [--data-dir DIR] [--repeats N]

Reads the real copy (--data-dir, else $CS231N_DATA_DIR, else cs231n/datasets)
and prints the median seconds for float32 and float64. The target is under
3 s on 2 cores. A figure to watch, not a test.
"""
import argparse
import gc
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import numpy as np  # noqa: E402

from cs231n.data_utils import get_CIFAR10_data  # noqa: E402
from cs231n.datasets import cifar10_dir  # noqa: E402
from cs231n.datasets.batches import missing_message  # noqa: E402


def main():
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    p.add_argument('--data-dir', help='folder holding cifar-10-batches-py')
    p.add_argument('--repeats', type=int, default=5)
    args = p.parse_args()

    folder = cifar10_dir(args.data_dir)
    if not os.path.isdir(folder):
        print(missing_message(folder), file=sys.stderr)
        return 1
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, 'sched_getaffinity') else os.cpu_count()
    print('CIFAR-10 at %s; numpy %s; %d CPUs; %d repeats'
          % (folder, np.__version__, cpus, args.repeats))
    get_CIFAR10_data(num_training=10, num_validation=10, num_test=10,
                     data_dir=args.data_dir)  # warm the page cache
    for dtype in (np.float32, np.float64):
        times = []
        for _ in range(args.repeats):
            gc.collect()
            t0 = time.perf_counter()
            data = get_CIFAR10_data(dtype=dtype, data_dir=args.data_dir)
            times.append(time.perf_counter() - t0)
            del data
        print('%-8s median %.2f s  (min %.2f, max %.2f)'
              % (np.dtype(dtype).name, statistics.median(times), min(times), max(times)))
    return 0


if __name__ == '__main__':
    sys.exit(main())
