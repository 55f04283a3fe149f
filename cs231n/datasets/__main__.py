"""Fetch CIFAR-10:  python -m cs231n.datasets [--source PATH_OR_URL] ...

Run with --help for the options. Exit status: 0 when a valid copy is in
place, 1 when fetching failed, 2 for a usage error, 130 on Ctrl-C, 143 on
SIGTERM (both clean up the same way: nothing half-installed is left).
"""
import argparse
import math
import os
import re
import sys

from .._files import Terminated, terminate_as_interrupt
from . import CIFAR10_FOLDER, DATA_DIR_ENV, DEFAULT_DATA_DIR, SOURCE_ENV, data_dir

EPILOG = """\
environment:
  %(source)s    default for --source
  %(data)s   default for --data-dir (the folder that holds %(folder)s)

exit status:
  0 a valid copy is in place, 1 fetching failed, 2 usage error,
  130 Ctrl-C, 143 SIGTERM (both leave nothing half-installed)

examples:
  %(prog)s
  %(prog)s --source ~/Downloads/cifar-10-python.tar.gz
  %(prog)s --source ~/data/%(folder)s
  %(prog)s --source https://mirror.example.org/cifar-10-python.tar.gz
"""


def _md5(value):
    if not re.fullmatch(r'[0-9a-fA-F]{32}', value):
        raise argparse.ArgumentTypeError('%r is not an md5 (32 hex digits)' % value)
    return value.lower()


def _seconds(value):
    try:
        v = float(value)
    except ValueError:
        v = math.nan
    if not (math.isfinite(v) and v > 0):  # inf overflows the socket timeout
        raise argparse.ArgumentTypeError('%r is not a positive, finite number of seconds'
                                         % value)
    return v


def _count(value):
    if not value.isdigit():
        raise argparse.ArgumentTypeError('%r is not a non-negative integer' % value)
    return int(value)


def build_parser(prog=None):
    p = argparse.ArgumentParser(
        prog=prog or 'python -m cs231n.datasets',
        description='Download (or install a local copy of) CIFAR-10 into '
                    '<data dir>/%s: md5-checked, resumable, extracted safely and '
                    'atomically. Does nothing if a valid copy is already there.'
                    % CIFAR10_FOLDER,
        epilog=EPILOG % {'source': SOURCE_ENV, 'data': DATA_DIR_ENV,
                         'folder': CIFAR10_FOLDER, 'prog': prog or 'python -m cs231n.datasets'},
        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--source', metavar='PATH_OR_URL',
                   help='a local cifar-10-python.tar.gz, an extracted %s folder, or a '
                        'mirror URL (env %s)' % (CIFAR10_FOLDER, SOURCE_ENV))
    p.add_argument('--url', help='download from this URL instead of the official one')
    p.add_argument('--data-dir', metavar='DIR',
                   help='folder that holds (or will hold) %s (env %s; default %s)'
                        % (CIFAR10_FOLDER, DATA_DIR_ENV, DEFAULT_DATA_DIR))
    p.add_argument('--accept-md5', metavar='MD5', type=_md5, action='append', default=[],
                   help='also accept an archive with this md5 (a known copy that differs '
                        'from the official one); may be repeated')
    p.add_argument('--allow-unofficial', action='store_true',
                   help='accept an archive whatever its md5 (its content is still checked)')
    p.add_argument('--timeout', type=_seconds, default=30.0, metavar='SECONDS',
                   help='network connect/read timeout (default 30)')
    p.add_argument('--retries', type=_count, default=2, metavar='N',
                   help='resume a dropped download up to N times (default 2)')
    p.add_argument('--keep-archive', action='store_true',
                   help='keep the archive in the data dir after installing it (by default '
                        'a downloaded, or earlier kept, %s there is removed)'
                        % 'cifar-10-python.tar.gz')
    p.add_argument('--force', action='store_true',
                   help='reinstall even if a valid copy is present')
    p.add_argument('--check', action='store_true',
                   help='only check the installed copy; exit 0 if valid, 1 if not')
    return p


def main(argv=None, prog=None):
    """
    Run the command line.

    Inputs:
    - argv: the arguments (default sys.argv[1:]).
    - prog: the program name for help and messages.

    Returns: the exit status (see the module docstring).
    """
    parser = build_parser(prog)
    args = parser.parse_args(argv)
    try:
        # SIGTERM (kill, a CI job running out of time) then unwinds like
        # Ctrl-C, so the temporary folders are removed on the way out.
        with terminate_as_interrupt():
            return _run(args, parser.prog)
    except KeyboardInterrupt as e:
        print('\n%s: nothing was installed. A partial download, if any, is kept '
              'as a .part file and the next run resumes it.'
              % ('terminated' if isinstance(e, Terminated) else 'interrupted'),
              file=sys.stderr)
        return 143 if isinstance(e, Terminated) else 130


def _run(args, prog):
    # Import late so that --help works even without numpy.
    from .batches import DatasetError, missing_message, stat_or_none, validate_folder
    from .download import DownloadError, DownloadInterrupted
    from .install import fetch

    source = args.source or args.url or os.environ.get(SOURCE_ENV) or None
    target = os.path.join(data_dir(args.data_dir), CIFAR10_FOLDER)
    try:
        if args.check:
            if stat_or_none(target) is None:
                print('error: %s' % missing_message(target), file=sys.stderr)
                return 1
            validate_folder(target)
            print('CIFAR-10 is present and valid at %s' % target)
            return 0
        path, already = fetch(
            data_dir=args.data_dir, source=source, accept_md5=args.accept_md5,
            allow_unofficial=args.allow_unofficial, timeout=args.timeout,
            retries=args.retries, force=args.force, keep_archive=args.keep_archive)
    except DownloadError as e:
        print('error: %s' % e, file=sys.stderr)
        if not isinstance(e, DownloadInterrupted):
            print('If you have a copy, pass it with:  %s --source /path/to/cifar-10-python.tar.gz'
                  '  (or an extracted %s folder, or a mirror URL; env %s works too)'
                  % (prog, CIFAR10_FOLDER, SOURCE_ENV), file=sys.stderr)
        return 1
    except (DatasetError, OSError) as e:  # OSError: e.g. a read-only or full data folder
        print('error: %s' % e, file=sys.stderr)
        return 1
    if already:
        print('CIFAR-10 already present and valid at %s' % path)
    else:
        print('CIFAR-10 is ready at %s' % path)
    return 0


if __name__ == '__main__':
    sys.exit(main())
