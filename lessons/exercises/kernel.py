"""Exercise (lesson 11): ReLU's backward as a CUDA kernel, written in Python with numba.cuda.jit.

    dx[i] = dout[i] if x[i] > 0 else 0      (0 at x == 0 exactly, as in lesson 3's ReLU)

A kernel is the body of ONE thread; the launch below starts `blocks` blocks of `threads`
threads, and thread i = cuda.grid(1) handles element i. There are more threads than elements
(the last block is not full): a thread past the end must do nothing. Every other thread
writes its dx[i], the zeros too: an array from np.empty_like holds whatever was in memory.

The grader runs it in numba's CUDA simulator (NUMBA_ENABLE_CUDASIM=1: every CUDA thread a
Python thread on the CPU, no GPU needed); the same file runs on a real GPU with CuPy arrays.

Check it:  ``exercises.check("kernel")``
"""

import numpy as np
from numba import cuda


@cuda.jit
def relu_backward_kernel(x, dout, dx):
    i = cuda.grid(1)
    # ---- your code ----
    raise NotImplementedError("write relu_backward_kernel")
    # ---- end of your code ----


def relu_backward(x, dout, threads=64):
    """Launches the kernel on flat views: x, dout (any shape) -> dx (the same shape)."""
    dx = np.empty_like(dout)
    blocks = (x.size + threads - 1) // threads
    relu_backward_kernel[blocks, threads](x.reshape(-1), dout.reshape(-1), dx.reshape(-1))
    return dx
