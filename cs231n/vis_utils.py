"""Pictures of images and of training runs.

The notebooks draw every training history through these helpers, so each
figure of the same kind looks the same and no notebook repeats plotting code.
matplotlib is imported when a plot is drawn, not when this module is.
"""
from math import ceil, sqrt

import numpy as np


def visualize_grid(Xs, ubound=255.0, padding=1):
    """Reshape a 4D tensor of image data to a grid for easy visualization.

    Inputs:
    - Xs: Data of shape (N, H, W, C)
    - ubound: Output grid will have values scaled to the range [0, ubound]
    - padding: The number of blank pixels between elements of the grid

    Returns:
    - grid: Array of shape (G*H + (G-1)*padding, G*W + (G-1)*padding, C)
      with G = ceil(sqrt(N)); each image is rescaled to [0, ubound] on its own
    """
    (N, H, W, C) = Xs.shape
    grid_size = int(ceil(sqrt(N)))
    low = Xs.min(axis=(1, 2, 3), keepdims=True)
    high = Xs.max(axis=(1, 2, 3), keepdims=True)
    scaled = ubound * (Xs - low) / np.where(high > low, high - low, 1)
    # Pad every image on the bottom and right, lay the padded tiles out on a
    # grid_size x grid_size board, then trim the padding after the last tile.
    tiles = np.zeros((grid_size * grid_size, H + padding, W + padding, C))
    tiles[:N, :H, :W] = scaled
    grid = tiles.reshape(grid_size, grid_size, H + padding, W + padding, C)
    grid = grid.transpose(0, 2, 1, 3, 4).reshape(grid_size * (H + padding),
                                                 grid_size * (W + padding), C)
    grid = grid[:grid.shape[0] - padding or None, :grid.shape[1] - padding or None]
    return grid


def _figure(nrows, ncols=1, figsize=None):
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(nrows, ncols, figsize=figsize or (15, 5 * nrows), squeeze=False)
    return fig, axes.ravel()


def _finish(fig, axes, legend=True):
    for ax in axes:
        ax.grid(linestyle='--', linewidth=0.5)
        if legend and ax.get_legend_handles_labels()[0]:
            ax.legend(loc='best', ncol=2)
    fig.tight_layout()
    return fig


def plot_solver_history(solver, title='', target=None):
    """Loss per iteration and train/val accuracy per epoch of one training run.

    Inputs:
    - solver: A trained Solver
    - title: Prefix for the subplot titles
    - target: If given, an accuracy to draw as a dashed line

    Returns:
    - The matplotlib figure
    """
    fig, (ax_loss, ax_acc) = _figure(1, 2, figsize=(15, 5))
    ax_loss.plot(solver.loss_history, 'o', markersize=2)
    ax_loss.set(title=(title + ' training loss').strip().capitalize(),
                xlabel='Iteration', ylabel='Loss')
    epochs = np.arange(len(solver.train_acc_history))
    ax_acc.plot(epochs, solver.train_acc_history, '-o', label='train')
    ax_acc.plot(epochs, solver.val_acc_history, '-o', label='val')
    if target is not None:
        ax_acc.axhline(target, color='k', linestyle='--', label='target %.2f' % target)
    ax_acc.set(title=(title + ' accuracy').strip().capitalize(), xlabel='Epoch', ylabel='Accuracy')
    return _finish(fig, [ax_loss, ax_acc])


def plot_loss_history(solver, title='Training loss history'):
    """Training loss per iteration of one run, as in the overfitting checks.

    Returns:
    - The matplotlib figure
    """
    fig, (ax,) = _figure(1, 1, figsize=(10, 4))
    ax.plot(solver.loss_history, '-o', markersize=3)
    ax.set(title=title, xlabel='Iteration', ylabel='Training loss')
    return _finish(fig, [ax], legend=False)


def plot_solvers(solvers, marker='o', title=''):
    """Compare training runs: loss per iteration, train and val accuracy per epoch.

    Inputs:
    - solvers: Dict mapping a label to a trained Solver (drawn in order)
    - marker: matplotlib marker for the points
    - title: Suffix for the subplot titles, e.g. ' (batch size 50)'

    Returns:
    - The matplotlib figure, three stacked axes
    """
    fig, axes = _figure(3, 1, figsize=(15, 13))
    for label, solver in solvers.items():
        epochs = np.arange(len(solver.train_acc_history))
        axes[0].plot(solver.loss_history, marker, markersize=2, alpha=0.6, label=label)
        axes[1].plot(epochs, solver.train_acc_history, '-' + marker, label=label)
        axes[2].plot(epochs, solver.val_acc_history, '-' + marker, label=label)
    axes[0].set(title='Training loss' + title, xlabel='Iteration', ylabel='Loss')
    axes[1].set(title='Training accuracy' + title, xlabel='Epoch', ylabel='Accuracy')
    axes[2].set(title='Validation accuracy' + title, xlabel='Epoch', ylabel='Accuracy')
    return _finish(fig, axes)


def plot_accuracies(solvers, title=''):
    """Train and validation accuracy per epoch of several runs, side by side.

    Inputs:
    - solvers: Dict mapping a label to a trained Solver
    - title: Suffix for the subplot titles

    Returns:
    - The matplotlib figure, two axes
    """
    fig, axes = _figure(1, 2, figsize=(15, 5))
    for label, solver in solvers.items():
        epochs = np.arange(len(solver.train_acc_history))
        axes[0].plot(epochs, solver.train_acc_history, '-o', markersize=4, label=label)
        axes[1].plot(epochs, solver.val_acc_history, '-o', markersize=4, label=label)
    axes[0].set(title='Training accuracy' + title, xlabel='Epoch', ylabel='Accuracy')
    axes[1].set(title='Validation accuracy' + title, xlabel='Epoch', ylabel='Accuracy')
    return _finish(fig, axes)


def plot_sweep(x, curves, xlabel, titles, logx=True, ylims=None):
    """Summaries of a hyperparameter sweep, one subplot per quantity.

    Inputs:
    - x: Swept values, of shape (K,)
    - curves: List with one dict per subplot, mapping a label to K values
    - xlabel: Name of the swept hyperparameter
    - titles: One title per subplot
    - logx: Use a logarithmic x axis
    - ylims: None, or one (low, high) or None per subplot

    Returns:
    - The matplotlib figure
    """
    fig, axes = _figure(len(curves), 1, figsize=(12, 4.5 * len(curves)))
    for i, (ax, series, title) in enumerate(zip(axes, curves, titles)):
        for label, values in series.items():
            ax.plot(x, values, '-o', label=label)
        ax.set(title=title, xlabel=xlabel)
        if logx:
            ax.set_xscale('log')
        if ylims and ylims[i]:
            ax.set_ylim(*ylims[i])
    return _finish(fig, axes)
