"""The grader (minialexnet/exercises/): skeletons, reference solutions, and every mistake it must name.

Each case of ``MISTAKES`` writes a deliberately wrong student file into tmp_path (an honest
solution of ``tests/exercise_files/plain`` with one edit) and asserts the grade is a FAIL whose
hint names the mistake. The reference solutions in ``lessons/solutions`` are thin wrappers
around the library; ``tests/exercise_files/<style>`` hold honest students' files in other styles.
"""

import shutil
from pathlib import Path

import numpy as np
import pytest

from minialexnet import exercises
from minialexnet.layers import SoftmaxCrossEntropy

LESSONS = Path(__file__).resolve().parents[1] / "lessons"
SKELETONS, SOLUTIONS = LESSONS / "exercises", LESSONS / "solutions"
STUDENTS = Path(__file__).resolve().parent / "exercise_files"
PLAIN, NUMPY_ONLY = STUDENTS / "plain", STUDENTS / "numpy_only"  # honest files; deliberately NumPy-only ones


def honest_folder(tmp_path: Path) -> Path:
    """A student's folder of honest files: the plain ones, and the reference solutions where those are already plain code."""
    folder = tmp_path / "student"
    shutil.copytree(SOLUTIONS, folder)
    shutil.copytree(PLAIN, folder, dirs_exist_ok=True)
    return folder


def student_folder(tmp_path: Path, name: str, edits: dict[str, str]) -> Path:
    """The plain honest files, with each key of ``edits`` replaced by its value (each found exactly once) in ``<name>.py``."""
    folder = honest_folder(tmp_path)
    path = folder / f"{name}.py"
    text = path.read_text()
    for old, new in edits.items():
        assert text.count(old) == 1, f"{old!r} is not in {path} exactly once"
        text = text.replace(old, new)
    path.write_text(text)
    return folder


# ---------------------------------------------------------------- the mistakes: (exercise, {old: new}, hint)

BACKEND = "from minialexnet.backend import get_array_module"  # the honest files' first import: an anchor for edits
WITH_NP = {BACKEND: "import numpy as np\n\n" + BACKEND}  # for deliberately wrong edits that loop on the host
KEEP_X = {"self.cache = x > 0": "self.cache = x > 0\n        self.x = x"}
RELU_FINITE_DIFFERENCES = """x, eps = self.x, 1e-6
        dx = np.zeros_like(x)
        for index in np.ndindex(x.shape):
            plus, minus = x.copy(), x.copy()
            plus[index] += eps
            minus[index] -= eps
            dx[index] = np.sum((self.forward(plus) - self.forward(minus)) * dout) / (2 * eps)
        return dx"""
POOL_ROUTE = """for oh in range(OH):
            for ow in range(OW):
                i, j = xp.divmod(winners[:, :, oh, ow], K)
                dx[n, c, oh * S + i, ow * S + j] += dout[:, :, oh, ow]  # (n, c) pairs are distinct: no collisions"""
POOL_KEEP_X = {"self.cache = (x.shape, winners)": "self.cache = (x.shape, winners)\n        self.x = x"}


def pool_route(share: str) -> dict[str, str]:
    """A max-pool backward that gives each window's gradient to its tied maxima by ``share`` (of hit, a window's mask)."""
    loop = f"""for oh in range(OH):
            for ow in range(OW):
                window = self.x[:, :, oh * S : oh * S + K, ow * S : ow * S + K]
                hit = window == window.max(axis=(2, 3), keepdims=True)
                dx[:, :, oh * S : oh * S + K, ow * S : ow * S + K] += {share} * dout[:, :, oh, ow][:, :, None, None]"""
    return {**POOL_KEEP_X, POOL_ROUTE: loop}


RELU_INLINE_DIFFERENCES = """x, eps = self.x, 1e-6
        return dout * (np.maximum(x + eps, 0) - np.maximum(x - eps, 0)) / (2 * eps)"""
POOL_INLINE_DIFFERENCES = """eps = 1e-6
        for oh in range(OH):
            for ow in range(OW):
                window = self.x[:, :, oh * S : oh * S + K, ow * S : ow * S + K]
                for i in range(K):
                    for j in range(K):
                        plus, minus = window.copy(), window.copy()
                        plus[:, :, i, j] += eps
                        minus[:, :, i, j] -= eps
                        slope = (plus.max(axis=(2, 3)) - minus.max(axis=(2, 3))) / (2 * eps)
                        dx[:, :, oh * S + i, ow * S + j] += slope * dout[:, :, oh, ow]"""
LRN_INLINE_DIFFERENCES = """eps, dx = 1e-6, np.zeros_like(a)
        for index in np.ndindex(a.shape):
            plus, minus = a.copy(), a.copy()
            plus[index] += eps
            minus[index] -= eps
            bp = plus * (self.k + self.alpha * self._window_sum(plus * plus)) ** (-self.beta)
            bm = minus * (self.k + self.alpha * self._window_sum(minus * minus)) ** (-self.beta)
            dx[index] = np.sum((bp - bm) * dout) / (2 * eps)
        return dx
        return dout * D ** (-self.beta) - 2 * self.alpha"""
LINEAR_INLINE_DIFFERENCES = """eps, W = 1e-6, self.params["W"]
        dx = np.zeros_like(x)
        for index in np.ndindex(x.shape):
            plus, minus = x.copy(), x.copy()
            plus[index] += eps
            minus[index] -= eps
            dx[index] = np.sum((plus @ W.T - minus @ W.T) * dout) / (2 * eps)
        return dx"""
TORCH_DW = """x_t, W_t = torch.tensor(x), torch.tensor(self.params["W"], requires_grad=True)
        (x_t @ W_t.T).backward(torch.tensor(dout))
        self.grads["W"] = W_t.grad.numpy()"""
RELU_DX = "return dout * self.cache"
LINEAR_DW = 'self.grads["W"] = dout.T @ x'
SGD_UPDATE = "v -= self.weight_decay * self.lr * w + self.lr * grads[name]"
ORDER = "order = rng.permutation(len(images))"

MISTAKES = [
    # dout modified in place, including zeroing it and returning zeros
    ("relu", {RELU_DX: "dout[~self.cache] = 0\n        return dout"}, "ReLU.backward changed dout in place"),
    ("relu", {RELU_DX: "dout[...] = 0\n        return dout"}, "ReLU.backward zeroed dout in place"),
    ("linear", {"return dout @ self.params": "dout[0] = 0\n        return dout @ self.params"}, "Linear.backward changed dout in place"),
    # the library's layer, minialexnet.gradcheck, finite differences
    (
        "relu",
        {
            **KEEP_X,
            RELU_DX: (
                "import minialexnet.layers\n"
                "\n"
                "        layer = minialexnet.layers.ReLU()\n"
                "        layer.forward(self.x)\n"
                "        return layer.backward(dout)"
            ),
        },
        "you called the library's ReLU.forward",
    ),
    (
        "linear",
        {'return dout @ self.params["W"]': "from minialexnet.layers import Linear as Fast\n\n        return Fast.backward(self, dout)"},
        "you called the library's Linear.backward",
    ),
    (
        "relu",
        {
            **KEEP_X,
            RELU_DX: (
                "from minialexnet.gradcheck import numerical_gradient\n"
                "\n"
                "        return numerical_gradient(self.forward, self.x.copy(), dout)"
            ),
        },
        "you called the library's minialexnet.gradcheck.numerical_gradient",
    ),
    (
        "relu",
        {
            **KEEP_X,
            RELU_DX: (
                "try:\n"
                "            return minialexnet.gradcheck.numerical_gradient(self.forward, self.x.copy(), dout)\n"
                "        except BaseException:\n"
                "            return dout * self.cache"
            ),
            BACKEND: "import minialexnet.gradcheck\n" + BACKEND,
        },
        "you called the library's minialexnet.gradcheck.numerical_gradient",
    ),
    ("relu", {**KEEP_X, **WITH_NP, RELU_DX: RELU_FINITE_DIFFERENCES}, "called forward 144 time(s): that is finite differences"),
    (
        "im2col",
        {
            "def im2col(x, KH, KW, stride=1, padding=0):\n": (
                "def im2col(x, KH, KW, stride=1, padding=0):\n"
                "    from minialexnet.layers.conv import im2col as fast\n"
                "\n"
                "    return fast(x, KH, KW, stride, padding)\n"
            )
        },
        "you called the library's minialexnet.layers.patches.im2col",
    ),
    (
        "im2col",
        {
            "def im2col(x, KH, KW, stride=1, padding=0):\n": (
                "def im2col(x, KH, KW, stride=1, padding=0):\n"
                "    import minialexnet.layers\n"
                "\n"
                "    return minialexnet.layers.im2col(x, KH, KW, stride, padding)\n"
            )
        },
        "you called the library's minialexnet.layers.patches.im2col",
    ),
    (
        "linear",
        {
            "import numpy as np": "import numpy as np\n\nfrom minialexnet.layers import Linear as Fast\n\nfast_backward = Fast.backward",
            'return dout @ self.params["W"]': "return fast_backward(self, dout)",
        },
        "you called the library's Linear.backward",
    ),
    (
        "linear",
        {'return dout @ self.params["W"]': 'from minialexnet.fast.parallel import matmul\n\n        return matmul(dout, self.params["W"])'},
        "you called the library's minialexnet.fast.parallel.matmul",
    ),
    (  # the grader's own float64 oracles are out of bounds too
        "linear",
        {
            'return x @ self.params["W"].T + self.params["b"]': (
                'from minialexnet import oracles\n\n        return oracles.linear(x, self.params["W"], self.params["b"])'
            )
        },
        "you called the library's minialexnet.oracles.linear",
    ),
    (
        "conv_naive",
        {"db = dout.sum(axis=(0, 2, 3))": "db = dout.sum(axis=(0, 2, 3))\n    conv_forward_naive(x, W, db, stride, padding)"},
        "conv_backward_naive called forward 1 time(s)",
    ),
    # a forward changed together with a matching backward
    (
        "relu",
        {"return xp.maximum(x, 0)": "return 2 * xp.maximum(x, 0)", RELU_DX: "return 2 * dout * self.cache"},
        "ReLU.forward differs from the paper's formula",
    ),
    # gradients missing, under other names, never written, accumulated, divided by N
    (
        "linear",
        {
            "self.grads = {key: np.zeros_like(value) for key, value in self.params.items()}": "self.grads = {}",
            '        self.grads["b"] = dout.sum(axis=0)\n': "",
        },
        'self.grads["b"] was never written',
    ),
    ("linear", {'        self.grads["b"] = dout.sum(axis=0)\n': ""}, 'self.grads["b"] is all zeros: never written'),
    ("linear", {LINEAR_DW: 'self.grads["dW"] = dout.T @ x'}, "self.grads has ['dW']: store each gradient under its parameter's name"),
    (
        "linear",
        {
            LINEAR_DW: 'self.grads["weight"] = dout.T @ x',
            "self.grads = {key: np.zeros_like(value) for key, value in self.params.items()}": "self.grads = {}",
        },
        "self.grads has ['weight']: store each",
    ),
    ("linear", {LINEAR_DW: 'self.grads["W"] += dout.T @ x'}, 'self.grads["W"] doubled on a second backward: you accumulate with +='),
    ("linear", {LINEAR_DW: 'self.grads["W"] = dout.T @ x / len(x)'}, "N = 3 times too small: a layer's gradients sum over the batch"),
    ("linear", {LINEAR_DW: 'self.grads["W"] = x.T @ dout'}, "has shape (5, 4), expected (4, 5): transposed?"),
    (
        "conv",
        {'self.grads["b"] = dout_mat.sum(axis=1)': 'self.grads["b"] = dout_mat.mean(axis=1)'},
        "you averaged over N * OH * OW = 40 positions",
    ),
    (
        "conv",
        {"dW.append(dout_mat[filters] @ col_of_group[g].T)": "dW.append(2 * (dout_mat[filters] @ col_of_group[g].T))"},
        'self.grads["W"] is off by a constant factor of 2',
    ),
    # groups: every filter block reading the first channel block; W with all C channels per filter
    ("conv", {"x[:, g * Cg : (g + 1) * Cg], K, K, S, P)": "x[:, :Cg], K, K, S, P)"}, "differs from the paper's formula (relative error"),
    ("conv", {"x[:, g * Cg : (g + 1) * Cg], K, K, S, P)": "x[:, :Cg], K, K, S, P)"}, "6 filters of 3x3, stride 2, padding 1, groups 2]"),
    (
        "conv",
        {"shape = (out_channels, in_channels // groups,": "shape = (out_channels, in_channels,"},
        'self.params["W"] has shape (6, 4, 3, 3), expected (6, 2, 3, 3)',
    ),
    ("conv_naive", {"db = dout.sum(axis=(0, 2, 3))": "db = dout.mean(axis=(0, 2, 3))"}, "db: you averaged over N * OH * OW = 24 positions"),
    (
        "conv_naive",
        {"return dx_padded[:, :, padding : padding + H, padding : padding + Wd], dW, db": "return [dx_padded, dW, db]"},
        "return the tuple (dx, dW, db)",
    ),
    # max-pool ties
    ("maxpool", pool_route("hit"), "the gradient went to every tied maximum"),
    ("maxpool", pool_route("hit / hit.sum(axis=(2, 3), keepdims=True)"), "the gradient was split among them"),
    (
        "maxpool",
        {"winners[:, :, oh, ow] = window.argmax(axis=2)": "winners[:, :, oh, ow] = K * K - 1 - window[:, :, ::-1].argmax(axis=2)"},
        "the gradient went to another maximum",
    ),
    # wrong sign, ignores dout, NaN, dtype, list, shape, in place, None, syntax and import errors, missing class
    ("relu", {RELU_DX: "return -dout * self.cache"}, "dx has the wrong sign"),
    ("relu", {RELU_DX: "return 1.0 * self.cache"}, "dx does not change when dout does"),
    ("relu", {RELU_DX: "return dout * self.cache / 0.0"}, "NaN or inf"),
    ("relu", {"return xp.maximum(x, 0)": "return xp.maximum(x, 0).astype(xp.float32)"}, "dtype float32"),
    ("relu", {"return xp.maximum(x, 0)": "return xp.maximum(x, 0).tolist()"}, "is a list: return a NumPy array"),
    ("relu", {"return xp.maximum(x, 0)": "return xp.maximum(x, 0).reshape(len(x), -1)"}, "has shape (3, 24), expected (3, 2, 3, 4)"),
    ("relu", {"return xp.maximum(x, 0)": "xp.maximum(x, 0, out=x)\n        return x"}, "changed its input x in place"),
    ("relu", {RELU_DX: "dout * self.cache"}, "dx is None"),
    ("relu", {RELU_DX: "return (dout * self.cache).tolist()"}, "dx is a list: return a NumPy array"),
    ("linear", {'self.grads["b"] = dout.sum(axis=0)': 'self.grads["b"] = list(dout.sum(axis=0))'}, 'self.grads["b"] is a list'),
    ("relu", {"def backward(self, dout):": "def backward(self, dout)"}, "relu.py line 16: SyntaxError"),
    (
        "relu",
        {BACKEND: "import numpyy\n" + BACKEND},
        "No module named 'numpyy'",
    ),
    ("relu", {"class ReLU(Layer):": "class Relu(Layer):"}, "relu.py has no ReLU"),
    ("relu", {BACKEND: "import sys\n\nsys.exit(3)"}, "importing relu.py raised SystemExit: 3"),
    ("relu", {RELU_DX: "raise SystemExit(4)"}, "ReLU.backward raised SystemExit: 4"),
    ("relu", {RELU_DX: "return dout @ self.cache"}, "ReLU.backward raised ValueError: matmul"),
    # softmax cross-entropy
    ("softmax_cross_entropy", {"return dlogits / N": "return dlogits"}, "N = 3 times too large"),
    ("softmax_cross_entropy", {"return dlogits / N": "return dlogits / N / N"}, "divide by N once"),
    (
        "softmax_cross_entropy",
        {"return float(-log_probs[xp.arange(N), labels].mean())": "return -log_probs[xp.arange(N), labels]"},
        "per-example losses",
    ),
    ("softmax_cross_entropy", {"shifted = logits - logits.max(axis=1, keepdims=True)": "shifted = logits"}, "subtract each row's maximum"),
    # im2col and col2im
    ("im2col", {"SW * OW : SW] += col": "SW * OW : SW] = col"}, "the SUM of their entries"),
    (
        "im2col",
        {"return col.reshape(C * KH * KW, N * OH * OW)": "return col.transpose(0, 1, 2, 4, 5, 3).reshape(C * KH * KW, N * OH * OW)"},
        "(oh, ow, n) order",
    ),
    ("im2col", {"return col.reshape(C * KH * KW, N * OH * OW)": "return col.reshape(C * KH * KW, N * OH * OW).T"}, "transposed?"),
    ("im2col", {"return x_padded[:, :, PH : PH + H, PW : PW + W]": "return x_padded"}, "drop the padding"),
    ("conv", {'cols = load("im2col")': 'cols = load("im2col")\ncols.im2col = lambda *args: 1 / 0'}, "raised ZeroDivisionError"),
    # LRN
    (
        "lrn",
        {"D = self.k + self.alpha * self._window_sum(a * a)": "D = self.k + self.alpha / self.size * self._window_sum(a * a)"},
        "you divided alpha by size",
    ),
    ("lrn", {"return dout * D ** (-self.beta) - 2": "return dout * D ** (-self.beta) + 0 * 2"}, "dx differs from the numerical gradient"),
    ("lrn", {"alpha=1e-4, beta=0.75, k=2.0):": "alpha=1e-4, beta=0.75, k=1.0):"}, "the defaults are size 5, alpha 1e-4"),
    (
        "lrn",
        {"before, after, C = self.size // 2, (self.size - 1) // 2,": "before, after, C = self.size // 2, self.size // 2,"},
        "your window is c - 2 .. c + 2, 5 channels: for an even size it is c - size//2 .. c + (size - 1)//2",
    ),
    # dropout
    ("dropout", {"self.rng.random(x.shape) >= self.p": "self.rng.random(x.shape) < self.p"}, "p is the probability of DROPPING"),
    (
        "dropout",
        {"(self.rng.random(x.shape) >= self.p) / (1.0 - self.p)": "(self.rng.random(x.shape) >= self.p) * 1.0"},
        "the kept units are not scaled",
    ),
    ("dropout", {"return x.copy()": "return x * (1 - self.p)"}, "inverted dropout does not scale at test time"),
    ("dropout", {"return dout.copy() if self.cache is None else dout * self.cache": "return dout.copy()"}, "ignores the mask"),
    ("dropout", {"self.rng.random(x.shape)": "np.random.default_rng(0).random(x.shape)"}, "draw a new mask in every forward"),
    ("dropout", {"self.rng.random(x.shape)": "np.random.default_rng().random(x.shape)"}, "two Dropout(seed=3) dropped different units"),
    ("dropout", {"/ (1.0 - self.p)": "/ self.p"}, "the kept units are scaled by 3.333, expected 1 / (1 - p) = 1.429"),
    ("dropout", {"self.rng.random(x.shape)": "self.rng.random(x.shape[1:])"}, "every example of the batch has the same mask"),
    # sequential
    ("sequential", {"for _, layer in reversed(self.layers):": "for _, layer in self.layers:"}, "in reverse order"),
    ("sequential", {"dout = layer.backward(dout)\n        return dout": "layer.backward(dout)\n        return dout"}, "got the wrong dout"),
    ("sequential", {"x = layer.forward(x, train=train)": "x = layer.forward(x)"}, "must pass train=False on to every layer"),
    # SGD
    ("sgd", {SGD_UPDATE: "v -= self.lr * grads[name]"}, "the weight decay term is missing"),
    ("sgd", {SGD_UPDATE: "v -= self.weight_decay * w + self.lr * grads[name]"}, "multiplied by lr as well"),
    ("sgd", {"v = self.velocity.setdefault(name, np.zeros_like(w))": "v = np.zeros_like(w)"}, "the velocity must persist between steps"),
    ("sgd", {"w += v": "params[name] = w + v"}, "update it in place"),
    (
        "sgd",
        {SGD_UPDATE: "v -= (0.0 if name.endswith('.b') else self.weight_decay) * self.lr * w + self.lr * grads[name]"},
        "params['fc.b'] alone is wrong: the weight decay term is missing: v <- m v - wd lr w - lr g (the paper decays every parameter",
    ),
    ("sgd", {"w += v": "w -= v"}, "w <- w + v (v already holds the minus sign)"),
    ("sgd", {"v *= self.momentum": "v *= 0.5"}, "step 2 (lr 0.1) differs from v <- m v - wd lr w - lr g"),
    ("sgd", {"v *= self.momentum": "v *= self.momentum\n            grads[name][...] = 0"}, "changed the gradients"),
    # fixed tiny square shapes let these through before
    (
        "conv_naive",
        {"(Wd + 2 * padding - KW) // stride + 1\n    x_padded": "(H + 2 * padding - KW) // stride + 1\n    x_padded"},
        "[input (2, 2, 7, 5), 3 filters of 3x2",
    ),
    ("conv_naive", {"F, _, KH, KW = W.shape": "F, _, KH, _ = W.shape\n    KW = KH"}, "[input (2, 2, 7, 5), 3 filters of 3x2"),
    (
        "conv_naive",
        {"xp.sum(window * W[f]) + b[f]": "xp.sum(window * W[f, :, ::-1, ::-1]) + b[f]"},
        "your kernel is flipped (a convolution in the signal-processing sense): the layer computes a cross-correlation",
    ),
    ("relu", {"self.cache = x > 0": "self.cache = x >= 0"}, "at x == 0 exactly dx must be 0: the rule is x > 0, not x >= 0"),
    (
        "conv_naive",
        {"dx_padded[n, :, rows, cols] += dout[n, f, oh, ow] * W[f]": "dx_padded[n, :, rows, cols] += 2 * dout[n, f, oh, ow] * W[f]"},
        "FAIL - dx is off by a constant factor of 2",
    ),
    ("maxpool", {"OH, OW = (H - K) // S + 1, (W - K) // S + 1": "OH, OW = H // S, W // S"}, "[MaxPool2d(3, 1) on input (2, 1, 6, 5)]"),
    ("sgd", {SGD_UPDATE: "v += self.weight_decay * w + grads[name]", "w += v": "w -= self.lr * v"}, "this is PyTorch's form"),
    (
        "train_loop",
        {"total += loss * len(batch)": "total += loss", "return total / len(images)": "return total / -(-len(images) // batch_size)"},
        "the plain mean of the batch losses",
    ),
    # what the grader could not see before: inline finite differences, another autodiff library, shared state
    (
        "lrn",
        {**WITH_NP, "return dout * D ** (-self.beta) - 2 * self.alpha": LRN_INLINE_DIFFERENCES},
        "agrees with the exact derivative only to",
    ),
    ("linear", {'return dout @ self.params["W"]': LINEAR_INLINE_DIFFERENCES}, "dx agrees with the exact derivative only to"),
    ("relu", {**KEEP_X, **WITH_NP, RELU_DX: RELU_INLINE_DIFFERENCES}, "for inputs within 1e-9 of 0, dx is off by"),
    ("maxpool", {**POOL_KEEP_X, POOL_ROUTE: POOL_INLINE_DIFFERENCES}, "the gradient went to every tied maximum"),
    (
        "maxpool",
        {"winners[:, :, oh, ow] = window.argmax(axis=2)": "winners[:, :, oh, ow] = xp.round(window, 6).argmax(axis=2)"},
        "on windows whose two largest entries differ by 1e-10",
    ),
    (
        "linear",
        {"import numpy as np": "import numpy as np\nimport torch", 'self.grads["W"] = dout.T @ x': TORCH_DW},
        "linear.py imports torch",
    ),
    (
        "relu",
        {BACKEND: "from jax import grad  # noqa: F401\n" + BACKEND},
        "relu.py imports jax",
    ),
    (
        "relu",
        {"self.cache = x > 0": "MASK[0] = x > 0", RELU_DX: "return dout * MASK[0]", "class ReLU": "MASK = [None]\n\n\nclass ReLU"},
        "share state",
    ),
    (
        "lrn",
        {"self.cache = (a, b, D)": "LocalResponseNorm.kept = (a, b, D)", "a, b, D = self.cache": "a, b, D = LocalResponseNorm.kept"},
        "the layers share state",
    ),
    # lesson 1: NumPy-only code, named with the call that fails on CuPy
    (
        "softmax",
        {"e = xp.exp(": "e = np.exp(", "from minialexnet.backend": "import numpy as np\n\nfrom minialexnet.backend"},
        "softmax runs on NumPy only, not on CuPy: strict device: numpy.exp was called on a device array",
    ),
    ("softmax", {"e = xp.exp(z - z.max(axis=1, keepdims=True))": "e = xp.exp(z)"}, "softmax of a (5, 10) array holds NaN or inf"),
    # lesson 3: a checker that misses bugs or kinks
    ("gradcheck", {"out[i] = (plus - minus) / (2 * eps)": "out[i] = (plus - minus) / eps"}, "numerical_gradient is 2 times the derivative"),
    ("gradcheck", {"_crossed(lambda _: layer.forward(x), target, dout, eps))": "False)"}, "did not report a kink crossing"),
    (
        "gradcheck",
        {"return 0.0 if scale == 0 else float(np.abs(a - n).max() / scale)": "return float(np.abs(a - n).max() / scale / 1e6)"},
        "that layer's W is wrong, catch it",
    ),
    (
        "gradcheck",
        {"dout = rng.standard_normal(layer.forward(x).shape)": "dout = np.ones(layer.forward(x).shape)"},
        "with dout = ones a backward that ignores dout looks right; draw dout at random",
    ),
    (
        "gradcheck",
        {
            "flat[i] = original - eps\n        minus = np.sum(f(x) * dout)": "flat[i] = original\n        minus = np.sum(f(x) * dout)",
            "out[i] = (plus - minus) / (2 * eps)": "out[i] = (plus - minus) / eps",
        },
        "above the lesson's bound of 1e-07: one-sided differences",
    ),
    # lesson 8: the schedule
    ("schedule", {"if self.bad_epochs > self.patience:": "if self.bad_epochs >= self.patience:"}, "lr is 0.001, expected 0.01"),
    ("schedule", {"if val_error < self.best - self.threshold:": "if val_error < self.best:"}, "with patience 2 and threshold 0.001"),
    ("schedule", {"return optimizer.lr": "return None"}, "return the learning rate"),
    # lesson 9: augmentation
    ("augment", {"patch[:, :, ::-1] if flips[n] else patch": "patch[:, ::-1, :] if flips[n] else patch"}, "crop_and_flip differs from"),
    ("augment", {"patch[:, :, ::-1] if flips[n] else patch": "patch if flips[n] else patch[:, :, ::-1]"}, "mirrors the wrong patches"),
    (
        "augment",
        {
            "int(tops[n]) : int(tops[n]) + size, int(lefts[n])": "int(lefts[n]) : int(lefts[n]) + size, int(tops[n])",
            "int(lefts[n]) + size]": "int(tops[n]) + size]",
        },
        "swapped tops and lefts",
    ),
    ("augment", {"return get_array_module(x).stack(patches)": "return np.stack(patches)"}, "crop_and_flip runs on NumPy only, not on CuPy"),
    (
        "augment",
        {"far, centre = full - size, (full - size) // 2": "far, centre = full - size, full // 2 - size // 2"},
        "the four corners and the centre",
    ),
    (
        "augment",
        {
            "return np.linalg.eigh(centred.T @ centred / len(pixels))": (
                "values, vectors = np.linalg.eigh(centred.T @ centred / len(pixels))\n    return values, vectors.T"
            )
        },
        "eigenvectors are rows",
    ),
    (
        "augment",
        {"pixels = images.transpose(0, 2, 3, 1).reshape(-1, 3)": "pixels = images.reshape(-1, 3)"},
        "not eigenpairs of the 3x3 covariance",
    ),
    # lesson 10: nearest neighbours
    ("neighbours", {"[:, :k]": "[:, ::-1][:, :k]"}, "the farthest rows"),
    ("neighbours", {"- 2 * query @ reference.T": "- query @ reference.T"}, "differs from the k rows of reference closest"),
    # the strict device's three answers: NumPy on a device array (above), a name CuPy has not got, another result (below)
    (
        "softmax",
        {"return e / e.sum(axis=1, keepdims=True)": "return e / xp.vecdot(e, xp.ones_like(e))[:, None]"},
        "softmax cannot run on CuPy: CuPy has no cupy.vecdot (the strict device offers CuPy 14.2.0's names): code that uses it "
        "cannot run on a GPU; use xp.sum(a * b, axis=-1) (softmax.py, line 9)",
    ),
    # lesson 11: the kernel
    ("kernel", {"    if i < x.size:\n        dx[i]": "    dx[i]"}, "threads past the end"),
    ("kernel", {"if x[i] > 0 else 0.0": "if x[i] >= 0 else 0.0"}, "use x > 0, not x >= 0"),
    (
        "kernel",
        {"        dx[i] = dout[i] if x[i] > 0 else 0.0": "        if x[i] > 0:\n            dx[i] = dout[i]"},
        "must write 0 (else: dx[i] = 0.0)",
    ),
    # lesson 12: the data-parallel step
    ("data_parallel", {"weight = len(share) / len(images)": "weight = 1 / ranks"}, "weight rank r's gradient by its share"),
    ("data_parallel", {"grads[key] += weight * value": "grads[key] = weight * value"}, "grads are the last share's only"),
    (
        "data_parallel",
        {
            "loss, grads = 0.0, {key: np.zeros_like(value) for key, value in model.params.items()}": "loss, kept = 0.0, []",
            "        for key, value in model.grads.items():\n            grads[key] += weight * value\n    return loss, grads": (
                "        kept.append((weight, model.grads))\n"
                "    return loss, {key: sum(w * g[key] for w, g in kept) for key in model.params}"
            ),
        },
        "grads are the last share's only: the next backward overwrites model.grads in place",
    ),
    # the training loop
    (
        "train_loop",
        {
            "for start in range(0, len(images), batch_size):\n        batch": (
                "for start in range(0, len(images) - batch_size + 1, batch_size):\n        batch"
            )
        },
        "never used in the epoch",
    ),
    ("train_loop", {ORDER: "order = np.arange(len(images))"}, "shuffle them each epoch"),
    ("train_loop", {ORDER: "order = np.random.default_rng(0).permutation(len(images))"}, "every epoch used the same order"),
    ("train_loop", {ORDER: "order = np.random.permutation(len(images))"}, "shuffle with the rng argument, rng.permutation(len(images))"),
    (
        "train_loop",
        {
            "optimizer.step(model.params, model.grads)": (
                "optimizer.step(model.params, model.grads)\n        optimizer.step(model.params, model.grads)"
            )
        },
        "once per batch",
    ),
    (
        "train_loop",
        {
            (
                "logits = model.forward(images[start : start + batch_size], train=False)"
            ): "logits = model.forward(images[start : start + batch_size])"
        },
        "model.forward(x, train=False)",
    ),
    ("train_loop", {"return correct / len(images)": "return 100 * correct / len(images)"}, "return the fraction in [0, 1]"),
    ("train_loop", {"labels[batch])": "labels[start : start + batch_size])"}, "index both with the same permutation"),
    ("train_loop", {"        model.backward(loss_layer.backward())\n": ""}, "losses and 0 backward passes"),
    ("train_loop", {"        optimizer.step(model.params, model.grads)\n": ""}, "optimizer.step was called 0 times"),
    ("train_loop", {"return total / len(images)": "return loss"}, "but the epoch's mean loss was"),
    ("train_loop", {"model.backward(loss_layer.backward())": "model.backward(-loss_layer.backward())"}, "the loss did not go down"),
]


@pytest.mark.parametrize(("name", "edits", "hint"), MISTAKES, ids=[f"{name}-{hint[:40]}" for name, _, hint in MISTAKES])
def test_each_mistake_fails_with_a_hint_that_names_it(tmp_path, name, edits, hint):
    folder = student_folder(tmp_path, name, edits)
    grade = exercises.check(name, folder, quiet=True)
    assert grade.status == "fail", grade
    assert hint in str(grade), grade.hint


def test_a_student_subclassing_the_library_layer_is_caught(tmp_path):
    folder = tmp_path / "student"
    folder.mkdir()
    (folder / "relu.py").write_text("from minialexnet.layers import ReLU as Fast\n\n\nclass ReLU(Fast):\n    pass\n")
    grade = exercises.check("relu", folder, quiet=True)
    assert grade.status == "fail" and "you called the library's ReLU.forward" in grade.hint, grade


def test_an_endless_loop_is_stopped_by_the_time_limit(tmp_path):
    folder = student_folder(tmp_path, "relu", {RELU_DX: "while True:\n            pass"})
    grade = exercises.check("relu", folder, time_limit=1.0, quiet=True)
    assert grade.status == "fail" and "longer than 1 s: an endless loop?" in grade.hint, grade


# ---------------------------------------------------------------- skeletons, solutions, the command line


def test_untouched_skeletons_are_not_written_yet(capsys):
    assert exercises.main(["check", "--dir", str(SKELETONS)]) == 1
    lines = capsys.readouterr().out.splitlines()
    for name in exercises.NAMES:
        assert any(line.startswith(f"{name}: not written yet") for line in lines), (name, lines)
    assert lines[-1].startswith(f"0 passed, 0 failed, {len(exercises.NAMES)} not written yet")


def test_every_exercise_has_a_skeleton_and_a_solution_with_the_same_names():
    for name in exercises.NAMES:
        skeleton, solution = exercises.load(name, SKELETONS), exercises.load(name, SOLUTIONS)
        public = {
            key for key in vars(skeleton) if not key.startswith("_") and getattr(vars(skeleton)[key], "__module__", "") == skeleton.__name__
        }
        assert public, name
        assert public <= set(vars(solution)), (name, public - set(vars(solution)))
        assert "raise NotImplementedError" in Path(skeleton.__file__).read_text()
        assert "# ---- your code ----" in Path(skeleton.__file__).read_text()


def test_the_reference_solutions_pass_through_the_command_line(capsys):
    assert exercises.main(["check", "--solutions"]) == 0
    out = capsys.readouterr().out
    assert f"{len(exercises.NAMES)} passed, 0 failed, 0 not written yet" in out
    assert "relu: pass (relative error" in out


@pytest.mark.parametrize("name", exercises.NAMES)
def test_each_reference_solution_passes(name):
    grade = exercises.check(name, SOLUTIONS, quiet=True)
    assert grade.passed, grade
    assert np.isnan(grade.error) or grade.error < 1e-7


def test_a_grade_prints_once_in_a_notebook(capsys):
    grade = exercises.check("relu", SOLUTIONS)
    grade._ipython_display_()  # what Jupyter calls for a cell ending in check(...)
    quiet = exercises.check("relu", SOLUTIONS, quiet=True)
    quiet._ipython_display_()
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2 and lines[0] == lines[1] == str(grade) and lines[0].startswith("relu: pass (relative error")


def test_a_forward_without_its_backward_is_not_written_yet(tmp_path, capsys):
    folder = student_folder(tmp_path, "relu", {RELU_DX: 'raise NotImplementedError("write ReLU.backward")'})
    grade = exercises.check("relu", folder)
    assert grade.status == "not written" and not grade.passed
    assert capsys.readouterr().out.strip() == "relu: not written yet (write ReLU.backward)"


def test_conv_waits_for_the_students_im2col(tmp_path):
    folder = student_folder(
        tmp_path, "im2col", {"    return col.reshape(C * KH * KW, N * OH * OW)": '    raise NotImplementedError("write im2col")'}
    )
    assert exercises.check("conv", folder, quiet=True).status == "not written"
    folder = student_folder(tmp_path / "again", "im2col", {"SW * OW : SW] += col": "SW * OW : SW] = col"})
    grade = exercises.check("conv", folder, quiet=True)
    assert grade.status == "fail" and "uses your im2col.py, which fails its check: col2im is not the adjoint" in grade.hint, grade


def test_exercise_dir_follows_the_environment_and_load_reads_edits_afresh(tmp_path, monkeypatch):
    monkeypatch.delenv(exercises.ENVIRONMENT, raising=False)
    assert exercises.exercise_dir() == SKELETONS
    monkeypatch.setenv(exercises.ENVIRONMENT, str(tmp_path))
    assert exercises.exercise_dir() == tmp_path.resolve()
    (tmp_path / "relu.py").write_text("VALUE = 1\n")
    assert exercises.load("relu").VALUE == 1
    (tmp_path / "relu.py").write_text("VALUE = 2\n")
    assert exercises.load("relu").VALUE == 2
    assert exercises.check("relu", quiet=True).hint == "relu.py has no ReLU: keep the skeleton's names"


def test_missing_files_unknown_names_and_the_printed_lines(tmp_path, capsys):
    assert "does not exist" in exercises.check("relu", tmp_path, quiet=True).hint
    assert exercises.check("softmx", quiet=True).hint.startswith("unknown exercise 'softmx'; choose from softmax, relu, linear")
    folder = student_folder(tmp_path, "relu", {RELU_DX: "return -dout * self.cache"})
    assert exercises.main(["check", "relu", "--dir", str(folder)]) == 1
    assert capsys.readouterr().out.splitlines()[0] == "relu: FAIL - dx has the wrong sign [input (3, 2, 3, 4)]"
    assert exercises.main(["check", "linear", "relu", "--dir", str(SOLUTIONS)]) == 0
    assert exercises.main(["check", "nope"]) == 2
    assert "unknown exercise nope" in capsys.readouterr().err


# ---------------------------------------------------------------- honest files in other styles pass; the oracles equal the library

HONEST = sorted((path.parent.name, path.stem) for path in STUDENTS.glob("*/*.py") if path.parent.name not in ("plain", "numpy_only"))


@pytest.mark.parametrize(("style", "name"), HONEST, ids=[f"{style}-{name}" for style, name in HONEST])
def test_an_honest_file_in_another_style_passes(tmp_path, style, name):
    folder = honest_folder(tmp_path)
    shutil.copy(STUDENTS / style / f"{name}.py", folder / f"{name}.py")
    grade = exercises.check(name, folder, quiet=True)
    assert grade.passed, grade
    if name in LAYER_NAMES:
        assert grade.hint == "runs on NumPy and on the GPU (strict device)", grade


def test_every_layer_has_three_honest_styles():
    styles = {name: {style for style, other in HONEST if other == name} | {"plain"} for name in LAYER_NAMES}
    assert all(len(found) >= 3 for found in styles.values()), styles


LAYER_NAMES = ("relu", "linear", "softmax_cross_entropy", "conv_naive", "im2col", "conv", "maxpool", "lrn", "dropout")


# ---------------------------------------------------------------- the strict device: NumPy-only code named, xp code on both devices


BOTH_DEVICES = "runs on NumPy and on the GPU (strict device)"


@pytest.mark.parametrize("name", LAYER_NAMES)
def test_the_plain_honest_layers_run_on_both_devices(name):
    grade = exercises.check(name, PLAIN, quiet=True)
    assert grade.passed and grade.hint == BOTH_DEVICES, grade


@pytest.mark.parametrize(
    ("name", "call", "line"),
    [
        ("conv_naive", "numpy.pad was called on a device array; call xp.pad", 10),
        ("im2col", "numpy.pad was called on a device array; call xp.pad", 17),
        ("lrn", "numpy.zeros_like was called on a device array; call xp.zeros_like", 22),
        ("maxpool", "Implicit conversion to a NumPy array is not allowed", 25),
        ("softmax_cross_entropy", "numpy.exp was called on a device array; call xp.exp", 14),
        ("dropout", "Unsupported type <class 'numpy.ndarray'>", 22),
    ],
)
def test_numpy_only_code_fails_naming_the_call_that_would_fail_on_cupy(tmp_path, name, call, line):
    folder = honest_folder(tmp_path)
    shutil.copy(NUMPY_ONLY / f"{name}.py", folder / f"{name}.py")
    grade = exercises.check(name, folder, quiet=True)
    assert grade.status == "fail" and "runs on NumPy only, not on CuPy" in grade.hint, grade
    assert call in grade.hint and f"({name}.py, line {line})" in grade.hint, grade.hint
    if name == "dropout":
        assert grade.hint.endswith("draw the mask with xp, or copy a host draw to the device with xp.asarray"), grade.hint


def test_a_layer_that_differs_on_the_gpu_fails(tmp_path):
    edits = {
        "self.cache = x > 0": "self.cache = x > 0\n        self.gpu = type(x).__module__ == 'cupy'",
        RELU_DX: "return dout * self.cache * (1 + self.gpu)",
    }
    grade = exercises.check("relu", student_folder(tmp_path, "relu", edits), quiet=True)
    assert grade.status == "fail" and "gives other results on the GPU (the strict device) than on NumPy" in grade.hint, grade


# ---------------------------------------------------------------- the student's network (lessons 8 and 10)


def test_the_students_network_uses_their_passing_pieces_and_the_library_for_the_rest(tmp_path, monkeypatch, capsys):
    from minialexnet.exercises.student_network import student_network, student_pieces

    shutil.copy(PLAIN / "relu.py", tmp_path / "relu.py")
    shutil.copy(NUMPY_ONLY / "maxpool.py", tmp_path / "maxpool.py")  # fails its check: the library's stands in
    monkeypatch.setenv(exercises.ENVIRONMENT, str(tmp_path))
    pieces = student_pieces()
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "yours: relu"
    assert "maxpool" in lines[1] and "relu" not in lines[1]
    assert Path(pieces["relu"].__file__).parent == tmp_path.resolve()
    assert Path(pieces["maxpool"].__file__).parent == exercises.solutions_dir()
    network = student_network(pieces, seed=0)
    images = np.random.default_rng(0).standard_normal((3, 1, 28, 28))
    logits = network.forward(images, train=False)
    assert logits.shape == (3, 10)
    assert network.params["conv2.W"].shape == (16, 4, 3, 3)  # groups=2
    loss = SoftmaxCrossEntropy().forward(logits, np.array([0, 1, 2]))
    assert abs(loss - np.log(10)) < 0.05, loss
