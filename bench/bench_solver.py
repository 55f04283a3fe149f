"""What the Solver costs beyond the training steps themselves.

Run from the repository root:

    python bench/bench_solver.py [--repeats R] [--epochs E]

For each network (float32, Adam, the model answers of the package), the
median over R interleaved repeats of:

- Solver.train() for E epochs (verbose off; per epoch it also checks the
  accuracy on 1,000 training and the 1,000 validation images, as the
  notebooks do);
- the bare loop of the same number of steps: a random minibatch,
  model.loss, optim.adam on every parameter, nothing else;
- the Solver's overhead, (Solver - bare) / bare; the target is <= 5%;
- the accuracy checks alone, in batches of 100 (check_accuracy's default)
  and of 1,000.
"""
import argparse
import os
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

import numpy as np  # noqa: E402

from bench.bench_train import interleaved_medians  # noqa: E402
from cs231n import optim  # noqa: E402
from cs231n.classifiers.fc_net import FullyConnectedNet  # noqa: E402
from cs231n.solver import Solver  # noqa: E402

CONFIGS = [
    # name, hidden_dims, normalization, batch
    ('[100]*4', [100] * 4, None, 200),
    ('[1024,512,256]+BN', [1024, 512, 256], 'batchnorm', 256),
]
OVERHEAD_TARGET = 0.05


def load_data(num_train):
    """Real CIFAR-10 in float32 if it is installed, else random data of its shape."""
    try:
        from cs231n.data_utils import get_CIFAR10_data
        return get_CIFAR10_data(num_training=num_train, dtype=np.float32), 'CIFAR-10'
    except (FileNotFoundError, OSError, ValueError):
        rng = np.random.RandomState(0)
        X = rng.randn(num_train + 1000, 3, 32, 32).astype(np.float32)
        y = rng.randint(10, size=num_train + 1000)
        return {'X_train': X[:num_train], 'y_train': y[:num_train],
                'X_val': X[num_train:], 'y_val': y[num_train:]}, 'random'


def make_model(hidden_dims, normalization):
    np.random.seed(0)
    return FullyConnectedNet(hidden_dims, weight_scale=np.sqrt(2 / 3072),
                             normalization=normalization, dtype=np.float32)


def solver_run(data, hidden_dims, normalization, batch, epochs):
    def run():
        model = make_model(hidden_dims, normalization)
        Solver(model, data, update_rule='adam', optim_config={'learning_rate': 1e-4},
               batch_size=batch, num_epochs=epochs, verbose=False).train()
    return run


def bare_run(data, hidden_dims, normalization, batch, epochs):
    X, y = data['X_train'], data['y_train']
    steps = epochs * max(len(X) // batch, 1)

    def run():
        model = make_model(hidden_dims, normalization)
        configs = {p: {'learning_rate': 1e-4} for p in model.params}
        for _ in range(steps):
            idx = np.random.choice(len(X), batch)
            loss, grads = model.loss(X[idx], y[idx])
            for p, w in model.params.items():
                model.params[p], configs[p] = optim.adam(w, grads[p], configs[p])
    return run


def accuracy_checks(data, hidden_dims, normalization, batch_size):
    model = make_model(hidden_dims, normalization)
    solver = Solver(model, data, verbose=False)

    def run():
        solver.check_accuracy(data['X_train'], data['y_train'], num_samples=1000,
                              batch_size=batch_size)
        solver.check_accuracy(data['X_val'], data['y_val'], batch_size=batch_size)
    return run


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--repeats', type=int, default=3)
    parser.add_argument('--epochs', type=int, default=1)
    parser.add_argument('--num-train', type=int, default=49000,
                        help='training images (the notebooks use 49000)')
    args = parser.parse_args(argv)
    data, source = load_data(args.num_train)
    print('numpy %s, %d CPUs, load average %.1f; %s data, %d training images, %d epochs, '
          'medians of %d' % (np.__version__, os.cpu_count() or 0, os.getloadavg()[0], source,
                             args.num_train, args.epochs, args.repeats))
    print('%-20s %10s %10s %10s %8s %16s %16s' % ('network', 'Solver s', 'bare s', 'overhead',
                                                 'target', 'acc checks/100', 'acc checks/1000'))
    for name, hidden_dims, normalization, batch in CONFIGS:
        t_solver, t_bare = interleaved_medians(
            [solver_run(data, hidden_dims, normalization, batch, args.epochs),
             bare_run(data, hidden_dims, normalization, batch, args.epochs)],
            args.repeats, warmup=1)
        t_acc100, t_acc1000 = interleaved_medians(
            [accuracy_checks(data, hidden_dims, normalization, 100),
             accuracy_checks(data, hidden_dims, normalization, 1000)],
            args.repeats * 4, warmup=1)
        overhead = t_solver / t_bare - 1
        print('%-20s %10.2f %10.2f %9.1f%% %7.0f%% %14.0f ms %14.0f ms  %s'
              % (name, t_solver, t_bare, 100 * overhead, 100 * OVERHEAD_TARGET,
                 1e3 * t_acc100, 1e3 * t_acc1000,
                 'PASS' if overhead <= OVERHEAD_TARGET else 'above target'))
    return 0


if __name__ == '__main__':
    start = time.perf_counter()
    code = main()
    print('(%.0f s)' % (time.perf_counter() - start))
    sys.exit(code)
