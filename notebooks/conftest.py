"""pytest runs the notebooks under nbval in fast mode (small subsets, few
epochs) unless CS231N_FAST is already set; the kernels inherit this."""
import os

os.environ.setdefault('CS231N_FAST', '1')
