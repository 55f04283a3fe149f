"""Learning-rate schedules: the factor to multiply the initial rate by, as a
function of the fraction of training done.

The Solver applies one of these at every iteration
(Solver(..., lr_schedule='cosine')); any function from [0, 1] to a factor
works too. lr_decay, the other option, multiplies the rate by a constant
after every epoch instead.
"""
import math


def cosine_schedule(progress):
    """A factor that falls from 1 to 0 along half a cosine.

    Large steps early, small steps to settle at the end (Loshchilov & Hutter,
    SGDR, without restarts).

    Inputs:
    - progress: Fraction of training done, in [0, 1]

    Returns:
    - The factor to multiply the initial learning rate by
    """
    return 0.5 * (1 + math.cos(math.pi * progress))


# The names that Solver(lr_schedule=...) accepts.
LR_SCHEDULES = {'cosine': cosine_schedule}
