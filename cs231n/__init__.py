"""cs231n: neural networks from scratch in numpy (fully-connected nets,
batch/layer normalization and dropout on CIFAR-10)."""
