"""Exercise: im2col and its adjoint col2im (Section 3.5: how a convolution becomes one matrix product).

Notation as in conv_naive.py: x (N, C, H, W), kernel KH x KW, stride (SH, SW), padding (PH, PW),
OH = (H + 2 PH - KH) // SH + 1, OW = (W + 2 PW - KW) // SW + 1; x_padded is x with PH zeros
above and below, PW left and right. stride and padding are each an int (the same for height
and width) or an (h, w) pair, as in the library's im2col: ``_pair`` below turns either into a pair.

    col   (C * KH * KW, N * OH * OW)
    col[(c, i, j), (n, oh, ow)] = x_padded[n, c, SH oh + i, SW ow + j]

Rows are numbered in (c, i, j) order, i.e. row = (c * KH + i) * KW + j, the order of
W.reshape(F, -1); columns in (n, oh, ow) order, column = (n * OH + oh) * OW + ow.
Then a convolution is  W.reshape(F, C * KH * KW) @ col  (plus b), reshaped to (F, N, OH, OW).

col2im(col, x_shape, ...) is the ADJOINT of im2col, not its inverse: it adds every entry
of col back onto the pixel it was copied from, so <im2col(x), y> = <x, col2im(y)> for all
x, y (a pixel covered by several windows receives the sum). Padding positions are dropped.
That is exactly what the backward pass of a convolution needs: dx = col2im(dcol).

The code must run on NumPy and on CuPy: write it with ``xp`` (given below, ``xp =
get_array_module(x)`` from minialexnet.backend: numpy for NumPy arrays, cupy for CuPy ones)
wherever NumPy code would write ``np``. The check runs it once more on the strict device
(CuPy's rules, no GPU needed); NumPy-only code fails there, the hint naming the call that
would fail on CuPy (file and line).

Check it:  ``exercises.check("im2col")``
"""

import numpy as np

from minialexnet.backend import get_array_module


def _pair(value):
    """2 -> (2, 2); (1, 2) -> (1, 2)."""
    return (value, value) if np.isscalar(value) else tuple(value)


def im2col(x, KH, KW, stride=1, padding=0):
    """x (N, C, H, W) -> col (C * KH * KW, N * OH * OW)."""
    xp = get_array_module(x)  # numpy or cupy, as x is: write xp.<function> where NumPy code writes np.
    # ---- your code ----
    raise NotImplementedError("write im2col")
    # ---- end of your code ----


def col2im(col, x_shape, KH, KW, stride=1, padding=0):
    """col (C * KH * KW, N * OH * OW), x_shape (N, C, H, W) -> dx (N, C, H, W), the adjoint of im2col."""
    xp = get_array_module(col)  # numpy or cupy, as col is: write xp.<function> where NumPy code writes np.
    # ---- your code ----
    raise NotImplementedError("write col2im")
    # ---- end of your code ----
