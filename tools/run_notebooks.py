"""Execute the assignment notebooks headless, top to bottom, with progress.

    python -m tools.run_notebooks                 # all three, full data -> output/
    python -m tools.run_notebooks --fast          # CS231N_FAST=1: small subsets, few epochs
    python -m tools.run_notebooks --inplace       # refresh the committed notebooks (staff)
    python -m tools.run_notebooks notebooks/02_BatchNormalization.ipynb

Each notebook runs in a fresh Jupyter kernel with notebooks/ as its working
directory. The executed copy is written atomically: a temporary file beside
the target, renamed into place only when the whole notebook ran without error.
"""
import argparse
import glob
import os
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NOTEBOOK_DIR = os.path.join(ROOT, 'notebooks')


def write_atomically(nb, path):
    import nbformat
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=folder, prefix='.tmp-', suffix='.ipynb')
    try:
        with os.fdopen(fd, 'w', encoding='utf-8') as f:
            nbformat.write(nb, f)
        umask = os.umask(0)  # mkstemp makes the file 0600; give it the usual mode
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


def execute(path, out_path, timeout):
    """Run one notebook; return its wall time in seconds. Raises on a cell error."""
    import nbformat
    from nbclient import NotebookClient
    nb = nbformat.read(path, as_version=4)
    code_cells = [c for c in nb.cells if c.cell_type == 'code']
    name = os.path.basename(path)
    try:
        from tqdm.auto import tqdm
        bar = tqdm(total=len(code_cells), desc=name, unit='cell', file=sys.stdout,
                   disable=None if sys.stdout.isatty() else True)
    except ImportError:
        bar = None
    start = time.perf_counter()

    def on_cell_executed(cell, cell_index, execute_reply):
        done = code_cells.index(cell) + 1
        if bar is not None and not bar.disable:
            bar.update(1)
        else:
            print('  %s: cell %d/%d done (%.0f s)' % (name, done, len(code_cells),
                                                     time.perf_counter() - start), flush=True)

    client = NotebookClient(nb, timeout=timeout, kernel_name='python3',
                            resources={'metadata': {'path': os.path.dirname(os.path.abspath(path))}},
                            on_cell_executed=on_cell_executed)
    try:
        client.execute()
    finally:
        if bar is not None:
            bar.close()
    write_atomically(nb, out_path)
    return time.perf_counter() - start


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('notebooks', nargs='*', help='notebooks to run (default: all in notebooks/)')
    parser.add_argument('--fast', action='store_true',
                        help='set CS231N_FAST=1: small subsets and few epochs (what CI runs)')
    parser.add_argument('--output', default=os.path.join(ROOT, 'output'),
                        help='folder for the executed copies (default: output/)')
    parser.add_argument('--inplace', action='store_true',
                        help='overwrite the notebooks themselves with their executed copies')
    parser.add_argument('--timeout', type=int, default=1800, help='seconds allowed per cell')
    args = parser.parse_args(argv)
    if args.fast:
        os.environ['CS231N_FAST'] = '1'
    else:
        os.environ.pop('CS231N_FAST', None)
    paths = args.notebooks or sorted(glob.glob(os.path.join(NOTEBOOK_DIR, '[0-9]*.ipynb')))
    missing = [p for p in paths if not os.path.isfile(p)]
    if missing:
        parser.error('no such notebook: %s' % ', '.join(missing))

    # A quick presence check: get_datasets.sh validates the batches, and the
    # loader names any file it cannot read.
    from cs231n.datasets import cifar10_dir
    from cs231n.datasets.cifar10 import missing_message
    if not os.path.isdir(cifar10_dir()):
        print(missing_message(cifar10_dir()), file=sys.stderr)
        return 1

    total = time.perf_counter()
    failed = []
    for path in paths:
        out_path = path if args.inplace else os.path.join(args.output, os.path.basename(path))
        print('Running %s%s' % (os.path.relpath(path, ROOT), ' (fast mode)' if args.fast else ''),
              flush=True)
        try:
            seconds = execute(path, out_path, args.timeout)
        except Exception as e:
            failed.append(path)
            print('FAILED: %s\n%s' % (os.path.relpath(path, ROOT), str(e)[-3000:]), file=sys.stderr)
            continue
        print('  done in %.0f s -> %s' % (seconds, os.path.relpath(out_path, ROOT)), flush=True)
    print('%d notebook(s) ran, %d failed, in %.0f s'
          % (len(paths) - len(failed), len(failed), time.perf_counter() - total))
    return 1 if failed else 0


if __name__ == '__main__':
    sys.path.insert(0, ROOT)
    sys.exit(main())
