"""Exercise (lesson 3): your own gradient checker.

numerical_gradient(f, x, dout, eps): the gradient of L(x) = sum(f(x) * dout) with respect to x
by central differences, one coordinate at a time:

    dL/dx[i] ~ (L(x + eps e_i) - L(x - eps e_i)) / (2 eps)

Perturb x in place (f may read x through a closure, e.g. a layer's parameter) and put each
coordinate back before the next. Return an array shaped like x.

check_layer(layer, x, eps): run layer.forward(x), a random dout, layer.backward(dout); compare
dx and every parameter's gradient (layer.grads[name] against numerical_gradient on
layer.params[name]) by the relative error max |a - n| / max(max |a|, max |n|). Return
``{tensor: (relative error, crossed a kink)}`` for "dx" and each parameter name.

The bound is lesson 3's: a gradient passes below 1e-7. The check holds your checker to it:
on a curved probe function and on correct layers your errors must stay below 1e-7, as central
differences in float64 do (about 1e-9; one-sided ones, off by O(eps), score about 1e-6 and
fail), and planted bugs must score above 1e-3. Draw dout at random (``rng`` below): with
dout = ones a backward that ignores dout looks right, and one of the planted layers does.

A kink: ReLU and max-pool are not differentiable everywhere. When x[i] is within eps of
ReLU's kink, x + eps and x - eps fall on different sides and the central difference is
neither slope. Detect it: the one-sided differences (L(x + eps) - L(x)) / eps and
(L(x) - L(x - eps)) / eps then disagree (by more than, say, 1e-3 of their size); report
the crossing as True for that tensor (its error is then meaningless).

Check it:  ``exercises.check("gradcheck")``
"""

import numpy as np


def numerical_gradient(f, x, dout, eps=1e-6):
    """Central differences of sum(f(x) * dout) with respect to x (changed in place, restored)."""
    # ---- your code ----
    raise NotImplementedError("write numerical_gradient")
    # ---- end of your code ----


def check_layer(layer, x, eps=1e-6):
    """-> {"dx": (relative error, crossed a kink), "<param>": (...), ...}."""
    rng = np.random.default_rng(0)
    # ---- your code ----
    raise NotImplementedError("write check_layer")
    # ---- end of your code ----
