"""Grading lesson 4's im2col and col2im.

im2col against the float64 loops of ``minialexnet/oracles.py`` (the same row order (c, i, j)
and column order (n, oh, ow)), col2im against their adjoint: a pixel in several windows gets
the sum. On NumPy, and im2col once more on the strict device.
"""

from __future__ import annotations

from types import ModuleType

import numpy as np

from minialexnet import oracles
from minialexnet.exercises.harness import FORWARD_TOLERANCE, StudentError, Watch, as_array, attribute
from minialexnet.exercises.on_device import device_note
from minialexnet.gradcheck import relative_error

IM2COL_CASES = (
    ((2, 3, 5, 6), 3, 2, 1, 1),
    ((2, 2, 7, 7), 3, 3, 2, 0),
    ((1, 2, 6, 6), 2, 2, 2, 0),
    ((3, 1, 9, 7), 2, 4, 3, 2),
    ((1, 2, 8, 11), 4, 3, (1, 2), (2, 1)),
)


def grade_im2col(module: ModuleType, seed: int) -> tuple[float, str]:
    """im2col against the grader's loops (same row and column order), col2im against their adjoint."""
    rng = np.random.default_rng(seed)
    watch = Watch(module)
    gather, scatter = attribute(module, "im2col"), attribute(module, "col2im")
    worst = 0.0
    for shape, KH, KW, S, P in IM2COL_CASES:
        N, C, H, W = shape
        x = rng.standard_normal(shape)
        expected = oracles.im2col(x, KH, KW, S, P)
        setting = f"(x of shape {shape}, KH={KH}, KW={KW}, stride={S}, padding={P})"
        given = x.copy()
        col = watch.call("im2col", gather, given, KH, KW, S, P)
        if not np.array_equal(given, x):
            raise StudentError("im2col changed x in place: compute a new array")
        col = as_array(f"im2col's col {setting}", col, expected.shape)
        error = relative_error(col, expected)
        if error > FORWARD_TOLERANCE:
            OH, OW = oracles.out_size(H, W, KH, KW, S, P)
            by_batch_last = expected.reshape(-1, N, OH, OW).transpose(0, 2, 3, 1).reshape(expected.shape)
            by_ijc = expected.reshape(C, KH, KW, -1).transpose(1, 2, 0, 3).reshape(expected.shape)
            if relative_error(col, by_batch_last) < FORWARD_TOLERANCE:
                raise StudentError("im2col's columns are in (oh, ow, n) order: number them (n, oh, ow)")
            if relative_error(col, by_ijc) < FORWARD_TOLERANCE:
                raise StudentError("im2col's rows are in (i, j, c) order: number them (c, i, j), the order of W.reshape(F, -1)")
            raise StudentError(f"im2col differs from the formula {setting} (relative error {error:.1e})")
        y = rng.standard_normal(expected.shape)
        given = y.copy()
        dx = watch.call("col2im", scatter, given, shape, KH, KW, S, P)
        if not np.array_equal(given, y):
            raise StudentError("col2im changed col in place: compute a new array")
        PH, PW = oracles.pair(P)
        if isinstance(dx, np.ndarray) and dx.shape == (N, C, H + 2 * PH, W + 2 * PW) and PH + PW:
            raise StudentError("col2im returned the padded shape: drop the padding at the end")
        dx = as_array(f"col2im's result {setting}", dx, shape)
        reference = oracles.col2im(y, shape, KH, KW, S, P)
        error = relative_error(dx, reference)
        if error > FORWARD_TOLERANCE:
            overlapping = min(oracles.pair(S)) < max(KH, KW)
            raise StudentError(
                "col2im is not the adjoint of im2col: a pixel covered by several windows must receive the SUM of their entries (+=, not =)"
                if overlapping
                else f"col2im differs from the adjoint of im2col {setting} (relative error {error:.1e})"
            )
        worst = max(worst, error, relative_error(float(np.sum(col * y)), float(np.sum(x * dx))))
    shape, KH, KW, S, P = IM2COL_CASES[-1]
    x = rng.standard_normal(shape)
    return worst, device_note(
        lambda cupy: [cupy.asnumpy(gather(cupy.asarray(x), KH, KW, S, P))],
        [oracles.im2col(x, KH, KW, S, P)],
        "im2col",
    )
