"""Exercise: convolution with plain loops, forward and backward (Section 3.5).

Notation: N batch, C input channels, F filters, H, W input size, KH, KW kernel size,
S stride, P zero padding on each side, OH = (H + 2P - KH) // S + 1, OW likewise.

    x    (N, C, H, W)        x_padded = x with P zeros added on each side of H and W
    W    (F, C, KH, KW)      KH and KW may differ, and so may H and W
    b    (F,)
    out  (N, F, OH, OW)      out[n, f, oh, ow] = b[f] + sum_{c, i, j} W[f, c, i, j] x_padded[n, c, S oh + i, S ow + j]

(a cross-correlation, as in every framework). Write it with loops over n, f, oh, ow (the
sum over c, i, j may be one NumPy product of a window and a filter). np.pad pads.

Backward: every term of that sum links one W[f, c, i, j] and one x_padded[n, c, S oh + i, S ow + j]
through out[n, f, oh, ow]. Loop over the same positions and, for each, ADD dout[n, f, oh, ow]
times the other factor into the gradient of each factor (windows overlap: a pixel gets
contributions from several positions). db[f] collects dout[n, f, oh, ow] over all N * OH * OW
positions, summed. Finally drop the padding from dx_padded to get dx.

The code must run on NumPy and on CuPy: write it with ``xp`` (given below, ``xp =
get_array_module(x)`` from minialexnet.backend: numpy for NumPy arrays, cupy for CuPy ones)
wherever NumPy code would write ``np``. The check runs it once more on the strict device
(CuPy's rules, no GPU needed); NumPy-only code fails there, the hint naming the call that
would fail on CuPy (file and line).

Check it:  ``exercises.check("conv_naive")``
"""

from minialexnet.backend import get_array_module


def conv_forward_naive(x, W, b, stride, padding):
    """x (N, C, H, W), W (F, C, KH, KW), b (F,) -> out (N, F, OH, OW)."""
    xp = get_array_module(x)  # numpy or cupy, as x is: write xp.<function> where NumPy code writes np.
    # ---- your code ----
    raise NotImplementedError("write conv_forward_naive")
    # ---- end of your code ----


def conv_backward_naive(dout, x, W, stride, padding):
    """dout (N, F, OH, OW), x, W as in forward -> (dx (N, C, H, W), dW (F, C, KH, KW), db (F,))."""
    xp = get_array_module(dout)  # numpy or cupy, as dout is: write xp.<function> where NumPy code writes np.
    # ---- your code ----
    raise NotImplementedError("write conv_backward_naive")
    # ---- end of your code ----
