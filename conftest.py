"""Loads the nbval plugin only for a run that collects notebooks.

Importing nbval costs about 1.5 s (nbformat -> jsonschema -> its format
checkers), more than the unit tests of one part take. pyproject.toml blocks
its automatic loading (-p no:nbval); this file, the first conftest pytest
reads, registers it again when a path on the command line is a notebook or
a folder holding one, or when no path is given (the testpaths include
notebooks/). Such a run executes the notebooks in nbval's lax mode (only
cells marked NBVAL_CHECK_OUTPUT compare outputs), as `--nbval-lax` did;
pass --nbval for the strict mode.
"""
import os
import sys

import pytest


def _collects_notebooks(args):
    """Whether the pytest arguments `args` name notebooks, or no path at all."""
    paths = [a.split('::')[0] for a in args if not a.startswith('-')]
    paths = [p for p in paths if os.path.exists(p)]
    if not paths:
        return True
    for path in paths:
        if path.endswith('.ipynb'):
            return True
        if os.path.isdir(path) and any(name.endswith('.ipynb') for _, _, names in os.walk(path)
                                       for name in names):
            return True
    return False


_argv = sys.argv[1:] + os.environ.get('PYTEST_ADDOPTS', '').split()
# 'nbval.plugin' is imported already when the command line says -p nbval.
if 'nbval.plugin' not in sys.modules and _collects_notebooks(_argv):
    pytest_plugins = ['nbval.plugin']


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config):
    if config.pluginmanager.has_plugin('nbval.plugin') or config.pluginmanager.has_plugin('nbval'):
        if not (config.option.nbval or config.option.nbval_lax):
            config.option.nbval_lax = True
