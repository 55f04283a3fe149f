"""Pictures of images and of training runs.

The notebooks draw every training history through these helpers, so each
figure of the same kind looks the same and no notebook repeats plotting code:
titles use the names as given, legends sit outside the axes, epoch axes have
integer ticks, and loss axes leave out the few early spikes that would squash
the rest of the curve (the points left out are marked on the top edge and
counted in a note), or turn logarithmic for a loss that falls by orders of
magnitude over a long stretch. matplotlib is imported when a plot is drawn, not when this
module is.
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
        handles = ax.get_legend_handles_labels()[0]
        if legend and handles:
            # Outside the axes, to the right: a legend never covers data. Tiny
            # markers (the loss clouds) are drawn larger there, to be told apart.
            smallest = min(h.get_markersize() or 6 for h in handles)
            ax.legend(loc='upper left', bbox_to_anchor=(1.01, 1.0), borderaxespad=0.0,
                      fontsize='small', markerscale=max(1.0, 5.0 / smallest))
    fig.tight_layout()
    return fig


def _integer_ticks(ax):
    """Whole-number ticks on the x axis (epochs)."""
    from matplotlib.ticker import MaxNLocator
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))


def loss_axis_limit(curves, percentile=98, min_points=100):
    """The top of a loss axis that leaves out a few spikes, or None to show all.

    Each curve's `percentile` says where its bulk ends; the axis reaches 15%
    of the data range above the highest of these. A limit is only returned
    when some curve with at least min_points points has points above it:
    short curves (such as the 40 iterations of an overfitting run) and curves
    without spikes are shown whole.

    Inputs:
    - curves: List of 1D sequences of losses
    - percentile: Percentile of each curve that must stay on the axis
    - min_points: Curves shorter than this count with all their points

    Returns:
    - The upper limit, or None
    """
    curves = [np.asarray(c, dtype=np.float64) for c in curves if len(c)]
    if not curves:
        return None
    low = min(c.min() for c in curves)
    bulk = max(np.percentile(c, percentile) if len(c) >= min_points else c.max() for c in curves)
    limit = bulk + 0.15 * (bulk - low)
    if max(c.max() for c in curves) <= limit:
        return None
    return limit


def _mark_clipped(ax, x, values, limit, color):
    """Draw the points of values above limit as triangles on the top edge.

    Returns:
    - (how many, the largest of them) for the note
    """
    x, values = np.asarray(x), np.asarray(values, dtype=np.float64)
    above = np.flatnonzero(values > limit)
    if len(above):
        ax.plot(x[above], np.full(len(above), limit), '^', color=color, markersize=6,
                clip_on=False)
    return len(above), (values[above].max() if len(above) else -np.inf)


def _note_clipped(ax, count, largest, limit):
    """A note beside the axes (below the legend) about the points left out."""
    if count:
        ax.text(1.01, 0.0, '%d point%s above %.3g\nnot shown: %s\nlargest %.3g'
                % (count, '' if count == 1 else 's', limit, '\u25b2 on the top edge', largest),
                transform=ax.transAxes, ha='left', va='bottom', fontsize='small')


def _plot_losses(ax, curves, marker='o', markersize=2, alpha=1.0):
    """Plot loss curves (dict label -> losses) on an axis that shows their bulk.

    A few spikes (see loss_axis_limit) are left out and marked on the top edge.
    A loss that falls over a long stretch by much more than that (a large
    weight-decay term at the start, say) gets a logarithmic axis instead, so
    that both its start and its end can be read.
    """
    limit = loss_axis_limit(list(curves.values()))
    low = min(np.min(c) for c in curves.values())
    if limit is not None and low > 0 and limit / low > 10:
        from matplotlib.ticker import FuncFormatter, LogLocator, NullLocator
        for label, losses in curves.items():
            ax.plot(losses, marker, markersize=markersize, alpha=alpha, label=label)
        ax.set_yscale('log')
        ax.yaxis.set_major_locator(LogLocator(subs=(1.0, 2.0, 5.0)))
        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: '%g' % v))
        ax.yaxis.set_minor_locator(NullLocator())
        return
    clipped, largest = 0, -np.inf
    for label, losses in curves.items():
        losses = np.asarray(losses, dtype=np.float64)
        line, = ax.plot(losses, marker, markersize=markersize, alpha=alpha, label=label)
        if limit is not None:
            n, top = _mark_clipped(ax, np.arange(len(losses)), losses, limit, line.get_color())
            clipped, largest = clipped + n, max(largest, top)
    if limit is not None:
        ax.set_ylim(low - 0.05 * (limit - low), limit)
        _note_clipped(ax, clipped, largest, limit)


def plot_solver_history(solver, title='', target=None):
    """Loss per iteration and train/val accuracy per epoch of one training run.

    Inputs:
    - solver: A trained Solver
    - title: Prefix for the subplot titles, used as written (e.g. 'TwoLayerNet')
    - target: If given, an accuracy to draw as a dashed line

    Returns:
    - The matplotlib figure
    """
    fig, (ax_loss, ax_acc) = _figure(1, 2, figsize=(15, 5))
    _plot_losses(ax_loss, {'loss': solver.loss_history})
    ax_loss.set(title=('%s training loss' % title).strip(), xlabel='Iteration', ylabel='Loss')
    epochs = np.arange(len(solver.train_acc_history))
    ax_acc.plot(epochs, solver.train_acc_history, '-o', label='train')
    ax_acc.plot(epochs, solver.val_acc_history, '-o', label='val')
    if target is not None:
        ax_acc.axhline(target, color='k', linestyle='--', label='target %.2f' % target)
    ax_acc.set(title=('%s accuracy' % title).strip(), xlabel='Epoch', ylabel='Accuracy')
    _integer_ticks(ax_acc)
    _finish(fig, [ax_acc])
    ax_loss.grid(linestyle='--', linewidth=0.5)
    return fig


def plot_loss_history(solver, title='Training loss history'):
    """Training loss per iteration of one run, as in the overfitting checks.

    Returns:
    - The matplotlib figure
    """
    fig, (ax,) = _figure(1, 1, figsize=(10, 4))
    _plot_losses(ax, {'loss': solver.loss_history}, marker='-o', markersize=3)
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
    _plot_losses(axes[0], {label: s.loss_history for label, s in solvers.items()},
                 marker=marker, alpha=0.6)
    for label, solver in solvers.items():
        epochs = np.arange(len(solver.train_acc_history))
        axes[1].plot(epochs, solver.train_acc_history, '-' + marker, label=label)
        axes[2].plot(epochs, solver.val_acc_history, '-' + marker, label=label)
    axes[0].set(title='Training loss' + title, xlabel='Iteration', ylabel='Loss')
    axes[1].set(title='Training accuracy' + title, xlabel='Epoch', ylabel='Accuracy')
    axes[2].set(title='Validation accuracy' + title, xlabel='Epoch', ylabel='Accuracy')
    for ax in axes[1:]:
        _integer_ticks(ax)
    return _finish(fig, axes)


def plot_accuracies(solvers, title=''):
    """Train and validation accuracy per epoch of several runs, side by side.

    Inputs:
    - solvers: Dict mapping a label to a trained Solver
    - title: Suffix for the subplot titles

    Returns:
    - The matplotlib figure, two axes with one legend outside them
    """
    fig, axes = _figure(1, 2, figsize=(15, 5))
    for label, solver in solvers.items():
        epochs = np.arange(len(solver.train_acc_history))
        axes[0].plot(epochs, solver.train_acc_history, '-o', markersize=4, label=label)
        axes[1].plot(epochs, solver.val_acc_history, '-o', markersize=4, label=label)
    axes[0].set(title='Training accuracy' + title, xlabel='Epoch', ylabel='Accuracy')
    axes[1].set(title='Validation accuracy' + title, xlabel='Epoch', ylabel='Accuracy')
    for ax in axes:
        _integer_ticks(ax)
    # Both axes show the same runs: one legend, right of the second axes.
    _finish(fig, [axes[0]], legend=False)
    return _finish(fig, [axes[1]])


def plot_sweep(x, curves, xlabel, titles, logx=True, ylims=None):
    """Summaries of a hyperparameter sweep, one subplot per quantity.

    Inputs:
    - x: Swept values, of shape (K,)
    - curves: List with one dict per subplot, mapping a label to K values
    - xlabel: Name of the swept hyperparameter
    - titles: One title per subplot
    - logx: Use a logarithmic x axis
    - ylims: None, or one (low, high) or None per subplot. Points above high
      (a loss that explodes for some values) are marked on the top edge and
      counted in a note, so that the range that matters keeps its resolution.

    Returns:
    - The matplotlib figure
    """
    fig, axes = _figure(len(curves), 1, figsize=(12, 4.5 * len(curves)))
    for i, (ax, series, title) in enumerate(zip(axes, curves, titles)):
        limit = ylims[i][1] if ylims and ylims[i] else None
        clipped, largest = 0, -np.inf
        for label, values in series.items():
            line, = ax.plot(x, values, '-o', label=label)
            if limit is not None:
                n, top = _mark_clipped(ax, x, values, limit, line.get_color())
                clipped, largest = clipped + n, max(largest, top)
        ax.set(title=title, xlabel=xlabel)
        if logx:
            ax.set_xscale('log')
        if limit is not None:
            ax.set_ylim(*ylims[i])
            _note_clipped(ax, clipped, largest, limit)
    return _finish(fig, axes)
