"""Exercise: im2col and its adjoint col2im (Section 3.5: how a convolution becomes one matrix product).

Notation as in conv_naive.py: x (N, C, H, W), kernel KH x KW, stride S, padding P,
OH = (H + 2P - KH) // S + 1, OW likewise; xp is x padded with P zeros on each side.

    col   (C * KH * KW, N * OH * OW)
    col[(c, i, j), (n, oh, ow)] = xp[n, c, S oh + i, S ow + j]

Rows are numbered in (c, i, j) order, i.e. row = (c * KH + i) * KW + j, the order of
W.reshape(F, -1); columns in (n, oh, ow) order, column = (n * OH + oh) * OW + ow.
Then a convolution is  W.reshape(F, C * KH * KW) @ col  (plus b), reshaped to (F, N, OH, OW).

col2im(col, x_shape, ...) is the ADJOINT of im2col, not its inverse: it adds every entry
of col back onto the pixel it was copied from, so <im2col(x), y> = <x, col2im(y)> for all
x, y (a pixel covered by several windows receives the sum). Padding positions are dropped.
That is exactly what the backward pass of a convolution needs: dx = col2im(dcol).

Check it:  ``exercises.check("im2col")``
"""

import numpy as np


def im2col(x, KH, KW, stride, padding):
    """x (N, C, H, W) -> col (C * KH * KW, N * OH * OW)."""
    # ---- your code ----
    raise NotImplementedError("write im2col")
    # ---- end of your code ----


def col2im(col, x_shape, KH, KW, stride, padding):
    """col (C * KH * KW, N * OH * OW), x_shape (N, C, H, W) -> dx (N, C, H, W), the adjoint of im2col."""
    # ---- your code ----
    raise NotImplementedError("write col2im")
    # ---- end of your code ----
