"""Data augmentation: new training images from old ones, a minibatch at a time.

The Solver applies one of these to every minibatch it draws
(Solver(..., augment='flip')); any function from a minibatch of images to a
new minibatch of the same shape works too.
"""
import numpy as np


def random_flip(X):
    """Flip a random half of a batch of images left to right.

    A mirrored cat is still a cat, so flips double the variety of the
    training images for free.

    Inputs:
    - X: Images of shape (N, C, H, W)

    Returns:
    - A new array of the same shape and dtype
    """
    X = X.copy()
    flip = np.random.rand(X.shape[0]) < 0.5
    X[flip] = X[flip, :, :, ::-1]
    return X


# The names that Solver(augment=...) accepts.
AUGMENTATIONS = {'flip': random_flip}
