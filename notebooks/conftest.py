"""pytest runs the notebooks under nbval in fast mode (small subsets, few
epochs) unless CS231N_FAST is already set; the kernels inherit this.

They also inherit a short OpenBLAS idle-thread spin, as in the scripts
(tools/setup_env.sh): OpenBLAS reads it when numpy loads, and without it the
update rules' worker thread fights a spinning BLAS thread for a core. The
notebooks themselves leave it alone.
"""
import os

os.environ.setdefault('CS231N_FAST', '1')
os.environ.setdefault('OPENBLAS_THREAD_TIMEOUT', '4')
