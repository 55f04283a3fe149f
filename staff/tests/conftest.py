"""Staff tests share the public suite's fixtures (rng, check_grad, ...)."""
from tests.conftest import *  # noqa: F401,F403
