"""Execute the assignment notebooks headless, top to bottom, with progress.

    python -m tools.run_notebooks                 # all three, full data -> output/
    python -m tools.run_notebooks --fast          # CS231N_FAST=1: small subsets, few epochs
    python -m tools.run_notebooks --inplace       # refresh the committed notebooks (staff)
    python -m tools.run_notebooks notebooks/02_BatchNormalization.ipynb
    python -m tools.run_notebooks --quiet         # one progress line per cell, no cell output

Each notebook runs in a fresh Jupyter kernel with notebooks/ as its working
directory. While a cell runs, what it prints (the Solver's epoch lines, the
checks, tables) is streamed to the terminal as it arrives, indented under the
notebook's name; after each cell a progress line gives the cell number and the
time so far. The executed copy is written atomically: a temporary file beside
the target, renamed into place only when the whole notebook ran without error.
Its kernelspec is the one of the kernel that ran it, as Jupyter would record it,
and its metadata records the run (RUN_METADATA: the wall time in seconds, fast
or full mode, the number of cores), which the repository's results table quotes.
"""
import argparse
import glob
import os
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NOTEBOOK_DIR = os.path.join(ROOT, 'notebooks')
KERNEL_NAME = 'python3'
RUN_METADATA = 'cs231n_run'


def write_atomically(nb, path):
    import nbformat
    from cs231n._files import atomic_write
    with atomic_write(path, 'w', encoding='utf-8') as f:
        nbformat.write(nb, f)


def kernelspec_metadata(kernel_name=KERNEL_NAME):
    """The notebook metadata Jupyter writes for a kernel: name, display name, language."""
    from jupyter_client.kernelspec import KernelSpecManager
    spec = KernelSpecManager().get_kernel_spec(kernel_name)
    return {'display_name': spec.display_name, 'language': spec.language, 'name': kernel_name}


class LineWriter:
    """Writes text that arrives in pieces as whole lines, each with a prefix."""

    def __init__(self, out, prefix):
        self.out, self.prefix, self.partial = out, prefix, ''

    def write(self, text):
        # A carriage return (a progress bar redrawing its line) ends a line too.
        lines = (self.partial + text.replace('\r\n', '\n').replace('\r', '\n')).split('\n')
        self.partial = lines.pop()
        for line in lines:
            self.out.write(self.prefix + line + '\n')
        self.out.flush()

    def flush(self):
        if self.partial:
            self.out.write(self.prefix + self.partial + '\n')
            self.partial = ''
            self.out.flush()


def make_client(nb, path, timeout, stream_to=None, on_progress=None):
    """An nbclient NotebookClient that streams each cell's output as it arrives.

    Inputs:
    - nb: The notebook (nbformat NotebookNode), executed in place
    - path: Its file, whose folder is the kernel's working directory
    - timeout: Seconds allowed per cell
    - stream_to: A file to stream cell output to (None: do not stream)
    - on_progress: Called as on_progress(done, total) after every code cell
    """
    from nbclient import NotebookClient

    code_cells = [c for c in nb.cells if c.cell_type == 'code']
    writer = LineWriter(stream_to, '    | ') if stream_to is not None else None

    class StreamingClient(NotebookClient):
        def output(self, outs, msg, display_id, cell_index):
            if writer is not None:
                kind, content = msg['msg_type'], msg['content']
                if kind == 'stream':
                    writer.write(content.get('text', ''))
                elif kind == 'error':
                    writer.write('%s: %s\n' % (content.get('ename'), content.get('evalue')))
                elif kind in ('display_data', 'execute_result'):
                    data = content.get('data', {})
                    if any(k.startswith('image/') for k in data):
                        writer.write('[figure]\n')
                    elif 'text/plain' in data:
                        writer.write(data['text/plain'] + '\n')
            return super().output(outs, msg, display_id, cell_index)

    def on_cell_executed(cell, cell_index, execute_reply):
        if writer is not None:
            writer.flush()
        if on_progress is not None:
            on_progress(code_cells.index(cell) + 1, len(code_cells))

    # No per-cell timing metadata, and a cell's consecutive prints saved as one
    # output: the committed notebooks then change only where results change.
    return StreamingClient(nb, timeout=timeout, kernel_name=KERNEL_NAME, record_timing=False,
                           coalesce_streams=True,
                           resources={'metadata': {'path': os.path.dirname(os.path.abspath(path))}},
                           on_cell_executed=on_cell_executed)


def execute(path, out_path, timeout, stream=True, out=None):
    """Run one notebook; return its wall time in seconds. Raises on a cell error."""
    import nbformat
    out = out or sys.stdout
    nb = nbformat.read(path, as_version=4)
    name = os.path.basename(path)
    start = time.perf_counter()

    def on_progress(done, total):
        out.write('  %s: cell %d/%d done (%.0f s)\n' % (name, done, total,
                                                        time.perf_counter() - start))
        out.flush()

    client = make_client(nb, path, timeout, stream_to=out if stream else None,
                         on_progress=on_progress)
    client.execute()
    seconds = time.perf_counter() - start
    nb.metadata['kernelspec'] = kernelspec_metadata()
    nb.metadata[RUN_METADATA] = {'seconds': round(seconds, 1),
                                 'mode': 'fast' if os.environ.get('CS231N_FAST') == '1' else 'full',
                                 'cores': os.cpu_count()}
    write_atomically(nb, out_path)
    return seconds


def _missing_data_message(folder):
    for module in ('cs231n.datasets.batches', 'cs231n.datasets.cifar10'):
        try:
            return __import__(module, fromlist=['missing_message']).missing_message(folder)
        except (ImportError, AttributeError):
            continue
    return 'CIFAR-10 is missing (%s); fetch it with ./get_datasets.sh' % folder


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
    parser.add_argument('--quiet', action='store_true',
                        help="print only a progress line per cell, not the cells' output")
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
    if not os.path.isdir(cifar10_dir()):
        print(_missing_data_message(cifar10_dir()), file=sys.stderr)
        return 1

    total = time.perf_counter()
    failed = []
    for path in paths:
        out_path = path if args.inplace else os.path.join(args.output, os.path.basename(path))
        print('Running %s%s' % (os.path.relpath(path, ROOT), ' (fast mode)' if args.fast else ''),
              flush=True)
        try:
            seconds = execute(path, out_path, args.timeout, stream=not args.quiet)
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
