"""Render the notebooks to HTML pages, to look at them without Jupyter.

    python -m tools.render_notebooks                     # notebooks/*.ipynb as committed -> output/html/
    python -m tools.render_notebooks --execute --fast    # run them in fast mode first, then render
    python -m tools.render_notebooks --execute           # run them on the full data first (minutes)
    python -m tools.render_notebooks output/01_FullyConnectedNets.ipynb --out /tmp/html

Each page is self-contained apart from MathJax and require.js, which the page
loads from a CDN when online (offline, formulas show as TeX source): plots and the
figures that the markdown shows (notebooks/figures/) are embedded in the page.
With --execute the notebooks run headless as in tools/run_notebooks.py, the
executed copies go to --out beside the pages, and the committed notebooks are
left as they are.
"""
import argparse
import glob
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NOTEBOOK_DIR = os.path.join(ROOT, 'notebooks')


def render(path, out_dir, resources_path=None):
    """Write out_dir/<name>.html for one notebook; return the page's path.

    Inputs:
    - path: The notebook
    - out_dir: Folder for the page (created if missing)
    - resources_path: Folder that relative image links in the markdown are
      resolved against (default: the notebook's folder)
    """
    import nbformat
    from nbconvert import HTMLExporter
    nb = nbformat.read(path, as_version=4)
    exporter = HTMLExporter(template_name='lab', embed_images=True)
    folder = resources_path or os.path.dirname(os.path.abspath(path))
    body, _ = exporter.from_notebook_node(nb, resources={'metadata': {'path': folder}})
    os.makedirs(out_dir, exist_ok=True)
    page = os.path.join(out_dir, os.path.splitext(os.path.basename(path))[0] + '.html')
    with open(page, 'w', encoding='utf-8') as f:
        f.write(body)
    return page


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('notebooks', nargs='*',
                        help='notebooks to render (default: the three in notebooks/)')
    parser.add_argument('--out', default=os.path.join(ROOT, 'output', 'html'),
                        help='folder for the pages (default: output/html/)')
    parser.add_argument('--execute', action='store_true',
                        help='run the notebooks first (their executed copies go to --out)')
    parser.add_argument('--fast', action='store_true',
                        help='with --execute: fast mode (CS231N_FAST=1), small subsets')
    parser.add_argument('--timeout', type=int, default=1800,
                        help='with --execute: seconds allowed per cell')
    args = parser.parse_args(argv)
    if args.fast and not args.execute:
        parser.error('--fast needs --execute')
    paths = args.notebooks or sorted(glob.glob(os.path.join(NOTEBOOK_DIR, '[0-9]*.ipynb')))
    missing = [p for p in paths if not os.path.isfile(p)]
    if missing:
        parser.error('no such notebook: %s' % ', '.join(missing))

    failed = 0
    for path in paths:
        source = path
        if args.execute:
            from tools import run_notebooks
            if args.fast:
                os.environ['CS231N_FAST'] = '1'
            else:
                os.environ.pop('CS231N_FAST', None)
            source = os.path.join(args.out, os.path.basename(path))
            print('Running %s%s' % (os.path.relpath(path, ROOT), ' (fast mode)' if args.fast else ''),
                  flush=True)
            try:
                run_notebooks.execute(path, source, args.timeout, stream=False)
            except Exception as e:
                failed += 1
                print('FAILED: %s\n%s' % (os.path.relpath(path, ROOT), str(e)[-3000:]),
                      file=sys.stderr)
                continue
        page = render(source, args.out, resources_path=os.path.dirname(os.path.abspath(path)))
        print('Wrote %s' % os.path.relpath(page, os.getcwd()), flush=True)
    return 1 if failed else 0


if __name__ == '__main__':
    sys.path.insert(0, ROOT)
    sys.exit(main())
