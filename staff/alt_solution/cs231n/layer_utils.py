# Alternative solution of cs231n/layer_utils.py. The sandwich helper is
# optional: the alternative FullyConnectedNet chains the layers itself, so
# the region keeps the starter's `pass` and its tests must skip.

# @@ <module>
pass
