"""Training speed of FullyConnectedNet against the same MLP in PyTorch (CPU).

Run from the repository root (needs bench/requirements.txt):

    python bench/bench_torch.py [--threads N] [--repeats R] [--skip-epoch]

Prints medians over repeats, the two sides interleaved step by step so that
both see the same machine load, at the same thread count and dtype:

- training-step throughput (samples/s): a random minibatch, forward, backward
  and an Adam update of every parameter; ours is Solver's step, PyTorch's is
  torch.optim.Adam after loss.backward();
    [100]*4, batch 200, float32 and float64;
    [1024, 512, 256] with batchnorm, batch 256, float32;
- the share of our step spent in its unavoidable matrix products: the same
  GEMMs timed alone in the same run, GEMM time / step time;
- the GEMM ratio: those products in PyTorch against numpy, both alone, as the
  step ratio is (below 1, PyTorch's BLAS is the faster one);
- Adam alone (optim.adam, the model answer) over the big net's parameters,
  against the net's largest product;
- one full epoch of the big net over 49,000 training images (real CIFAR-10 if
  installed, else random data of that shape), wall seconds and peak RSS, in a
  child process that never imports torch.
"""
import argparse
import json
import os
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
_THREAD_VARIABLES = ('OMP_NUM_THREADS', 'OPENBLAS_NUM_THREADS', 'MKL_NUM_THREADS')

CONFIGS = [
    # name, hidden_dims, normalization, batch, dtype
    ('[100]*4 f32', [100] * 4, None, 200, 'float32'),
    ('[100]*4 f64', [100] * 4, None, 200, 'float64'),
    ('[1024,512,256]+BN f32', [1024, 512, 256], 'batchnorm', 256, 'float32'),
]


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--threads', type=int, default=os.cpu_count(), help='threads for both sides')
    p.add_argument('--repeats', type=int, default=30, help='timed steps per configuration')
    p.add_argument('--skip-epoch', action='store_true', help='skip the full-epoch measurement')
    p.add_argument('--epoch-child', action='store_true', help=argparse.SUPPRESS)
    return p.parse_args(argv)


ARGS = parse_args() if __name__ == '__main__' else None
if ARGS is not None:
    for variable in _THREAD_VARIABLES:  # before numpy and torch load their BLAS
        os.environ[variable] = str(ARGS.threads)
    # Interleaving puts two thread pools in one process: OpenBLAS's and
    # PyTorch's OpenMP one. Both spin for a while after each parallel region
    # by default (OpenBLAS for about 0.1 s), stealing the cores from whichever
    # side runs next. Short spins make the step-by-step interleaving fair to
    # both sides: each then runs about as fast as it does alone.
    os.environ.setdefault('OMP_WAIT_POLICY', 'PASSIVE')
    os.environ.setdefault('OPENBLAS_THREAD_TIMEOUT', '4')

import numpy as np  # noqa: E402

from bench.bench_train import interleaved_medians  # noqa: E402
from cs231n import optim  # noqa: E402
from cs231n.classifiers.fc_net import FullyConnectedNet  # noqa: E402
from cs231n.solver import Solver  # noqa: E402

N_TRAIN = 49000


def training_data(dtype, n=N_TRAIN):
    """Real CIFAR-10 if it is installed, else random data of the same shape."""
    try:
        from cs231n.data_utils import get_CIFAR10_data
        data = get_CIFAR10_data(num_training=n, dtype=dtype)
        return data, 'CIFAR-10'
    except (FileNotFoundError, OSError, ValueError):
        rng = np.random.RandomState(0)
        X = rng.randn(n + 1000, 3, 32, 32).astype(dtype)
        y = rng.randint(10, size=n + 1000)
        return {'X_train': X[:n], 'y_train': y[:n], 'X_val': X[n:], 'y_val': y[n:]}, 'random'


def ours(hidden_dims, normalization, batch, dtype, data):
    np.random.seed(0)
    model = FullyConnectedNet(hidden_dims, weight_scale=np.sqrt(2 / 3072),
                              normalization=normalization, dtype=dtype)
    solver = Solver(model, data, update_rule='adam', optim_config={'learning_rate': 1e-4},
                    batch_size=batch, verbose=False)
    return model, lambda: solver._step(0.0)


def theirs(model, normalization, batch, dtype, data):
    import torch
    tdtype = getattr(torch, dtype)
    dims = [3072] + [model.params['W%d' % i].shape[1] for i in range(1, model.num_layers + 1)]
    layers = []
    for i in range(model.num_layers):
        linear = torch.nn.Linear(dims[i], dims[i + 1], dtype=tdtype)
        with torch.no_grad():  # the same starting point as ours
            linear.weight.copy_(torch.from_numpy(model.params['W%d' % (i + 1)].T.copy()))
            linear.bias.zero_()
        layers.append(linear)
        if i < model.num_layers - 1:
            if normalization == 'batchnorm':
                layers.append(torch.nn.BatchNorm1d(dims[i + 1], momentum=0.1, eps=1e-5,
                                                   dtype=tdtype))
            layers.append(torch.nn.ReLU())
    net = torch.nn.Sequential(*layers)
    optimizer = torch.optim.Adam(net.parameters(), lr=1e-4)
    X = torch.from_numpy(data['X_train'].reshape(len(data['X_train']), -1))
    y = torch.from_numpy(data['y_train'].astype(np.int64))
    loss_fn = torch.nn.CrossEntropyLoss()

    def step():
        idx = torch.randint(len(X), (batch,))
        optimizer.zero_grad(set_to_none=True)
        loss = loss_fn(net(X[idx]), y[idx])
        loss.backward()
        optimizer.step()
    return step


def gemm_only(model, batch, dtype, library='numpy'):
    """The products one step cannot avoid: per layer x@W, and in backward
    dout@W.T (except for the first layer, whose input needs no gradient) and
    x.T@dout. With library='torch', the same products in PyTorch, with the
    weights laid out as torch.nn.Linear keeps them (W.T, contiguous)."""
    rng = np.random.RandomState(0)
    Ws = [model.params['W%d' % i] for i in range(1, model.num_layers + 1)]
    xs = [rng.randn(batch, W.shape[0]).astype(dtype) for W in Ws]
    douts = [rng.randn(batch, W.shape[1]).astype(dtype) for W in Ws]
    if library == 'torch':
        import torch
        Ws = [torch.from_numpy(W.T.copy()).T for W in Ws]
        xs, douts = [torch.from_numpy(x) for x in xs], [torch.from_numpy(d) for d in douts]

    def run():
        for i, (W, x, d) in enumerate(zip(Ws, xs, douts)):
            x @ W
            x.T @ d
            if i > 0:
                d @ W.T
    return run


def adam_updates(model):
    """optim.adam over every parameter of model, with fresh gradients of their shapes."""
    rng = np.random.RandomState(0)
    params = list(model.params.values())
    grads = [rng.randn(*w.shape).astype(w.dtype) for w in params]
    configs = [{'learning_rate': 1e-4} for _ in params]

    def run():
        for w, dw, config in zip(params, grads, configs):
            optim.adam(w, dw, config)
    return run


def epoch_child():
    """One epoch of the big net over the training set; print seconds and peak RSS."""
    import resource
    data, source = training_data(np.float32)
    name, hidden_dims, normalization, batch, dtype = CONFIGS[2]
    model, step = ours(hidden_dims, normalization, batch, np.float32, data)
    step()  # warm-up: first-touch allocations
    iterations = max(N_TRAIN // batch, 1)
    start = time.perf_counter()
    for _ in range(iterations):
        step()
    seconds = time.perf_counter() - start
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({'seconds': seconds, 'rss_mb': rss_mb, 'iterations': iterations,
                      'data': source}))


def main():
    if ARGS.epoch_child:
        epoch_child()
        return 0
    import torch
    torch.set_num_threads(ARGS.threads)
    print('threads %d, numpy %s, torch %s, load average %s'
          % (ARGS.threads, np.__version__, torch.__version__,
             ' '.join('%.1f' % v for v in os.getloadavg())))
    print('%-24s %12s %12s %8s %12s %11s' % ('configuration', 'ours (s/s)', 'torch (s/s)', 'ratio',
                                            'GEMM share', 'GEMM ratio'))
    for name, hidden_dims, normalization, batch, dtype in CONFIGS:
        data, _ = training_data(getattr(np, dtype), n=5000)
        model, our_step = ours(hidden_dims, normalization, batch, getattr(np, dtype), data)
        torch_step = theirs(model, normalization, batch, dtype, data)
        gemms = gemm_only(model, batch, getattr(np, dtype))
        torch_gemms = gemm_only(model, batch, getattr(np, dtype), library='torch')
        t_ours, t_torch, t_gemm, t_torch_gemm = interleaved_medians(
            [our_step, torch_step, gemms, torch_gemms], ARGS.repeats, warmup=5)
        ratio = t_torch / t_ours
        print('%-24s %12.0f %12.0f %7.2fx %11.0f%% %10.2fx'
              % (name, batch / t_ours, batch / t_torch, ratio, 100 * t_gemm / t_ours,
                 t_torch_gemm / t_gemm))
    # The update alone, on the big net's 3.8M parameters, beside one of its
    # two largest products (x @ W1, 256 x 3072 x 1024).
    _, hidden_dims, normalization, batch, _ = CONFIGS[2]
    model = FullyConnectedNet(hidden_dims, normalization=normalization, dtype=np.float32)
    x, W1 = np.ones((batch, 3072), np.float32), model.params['W1']
    t_adam, t_product = interleaved_medians([adam_updates(model), lambda: x @ W1],
                                            ARGS.repeats, warmup=3)
    print('Adam alone over the big net: %.1f ms; its largest product x @ W1: %.1f ms'
          % (1e3 * t_adam, 1e3 * t_product))
    if not ARGS.skip_epoch:
        out = subprocess.run([sys.executable, os.path.abspath(__file__), '--epoch-child',
                              '--threads', str(ARGS.threads)],
                             capture_output=True, text=True, check=True)
        r = json.loads(out.stdout.strip().splitlines()[-1])
        print('full epoch, [1024,512,256]+BN f32, %d steps of 256 on %s data: %.1f s, '
              'peak RSS %.0f MB'
              % (r['iterations'], r['data'], r['seconds'], r['rss_mb']))
    return 0


if __name__ == '__main__':
    sys.exit(main())
