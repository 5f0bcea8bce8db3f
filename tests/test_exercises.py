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
from minialexnet.layers import Conv2d, Dropout, Linear, LocalResponseNorm, MaxPool2d, ReLU, Sequential, SoftmaxCrossEntropy, col2im, im2col
from minialexnet.optim import SGD

LESSONS = Path(__file__).resolve().parents[1] / "lessons"
SKELETONS, SOLUTIONS = LESSONS / "exercises", LESSONS / "solutions"
STUDENTS = Path(__file__).resolve().parent / "exercise_files"
PLAIN = STUDENTS / "plain"


def student_folder(tmp_path: Path, name: str, edits: dict[str, str]) -> Path:
    """The plain honest files, with each key of ``edits`` replaced by its value (each found exactly once) in ``<name>.py``."""
    folder = tmp_path / "student"
    shutil.copytree(PLAIN, folder)
    path = folder / f"{name}.py"
    text = path.read_text()
    for old, new in edits.items():
        assert text.count(old) == 1, f"{old!r} is not in {path} exactly once"
        text = text.replace(old, new)
    path.write_text(text)
    return folder


# ---------------------------------------------------------------- the mistakes: (exercise, {old: new}, hint)

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
                i, j = np.divmod(winners[:, :, oh, ow], K)
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
            "import numpy as np": "import numpy as np\n\nimport minialexnet.gradcheck",
        },
        "you called the library's minialexnet.gradcheck.numerical_gradient",
    ),
    ("relu", {**KEEP_X, RELU_DX: RELU_FINITE_DIFFERENCES}, "called forward 144 time(s): that is finite differences"),
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
        "you called the library's minialexnet.layers.conv.im2col",
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
        "you called the library's minialexnet.layers.conv.im2col",
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
        "conv_naive",
        {"db = dout.sum(axis=(0, 2, 3))": "db = dout.sum(axis=(0, 2, 3))\n    conv_forward_naive(x, W, db, stride, padding)"},
        "conv_backward_naive called forward 1 time(s)",
    ),
    # a forward changed together with a matching backward
    (
        "relu",
        {"return np.maximum(x, 0)": "return 2 * np.maximum(x, 0)", RELU_DX: "return 2 * dout * self.cache"},
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
        {'self.grads["W"] = (dout_mat @ col.T)': 'self.grads["W"] = 2 * (dout_mat @ col.T)'},
        'self.grads["W"] is off by a constant factor of 2',
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
    ("relu", {"return np.maximum(x, 0)": "return np.maximum(x, 0).astype(np.float32)"}, "dtype float32"),
    ("relu", {"return np.maximum(x, 0)": "return np.maximum(x, 0).tolist()"}, "is a list: return a NumPy array"),
    ("relu", {"return np.maximum(x, 0)": "return np.maximum(x, 0).reshape(len(x), -1)"}, "has shape (3, 24), expected (3, 2, 3, 4)"),
    ("relu", {"return np.maximum(x, 0)": "np.maximum(x, 0, out=x)\n        return x"}, "changed its input x in place"),
    ("relu", {RELU_DX: "dout * self.cache"}, "dx is None"),
    ("relu", {RELU_DX: "return (dout * self.cache).tolist()"}, "dx is a list: return a NumPy array"),
    ("linear", {'self.grads["b"] = dout.sum(axis=0)': 'self.grads["b"] = list(dout.sum(axis=0))'}, 'self.grads["b"] is a list'),
    ("relu", {"def backward(self, dout):": "def backward(self, dout)"}, "relu.py line 16: SyntaxError"),
    ("relu", {"import numpy as np": "import numpy as np\nimport numpyy"}, "No module named 'numpyy'"),
    ("relu", {"class ReLU(Layer):": "class Relu(Layer):"}, "relu.py has no ReLU"),
    ("relu", {"import numpy as np": "import sys\n\nimport numpy as np\n\nsys.exit(3)"}, "importing relu.py raised SystemExit: 3"),
    ("relu", {RELU_DX: "raise SystemExit(4)"}, "ReLU.backward raised SystemExit: 4"),
    ("relu", {RELU_DX: "return dout @ self.cache"}, "ReLU.backward raised ValueError: matmul"),
    # softmax cross-entropy
    ("softmax_cross_entropy", {"return dlogits / N": "return dlogits"}, "N = 3 times too large"),
    ("softmax_cross_entropy", {"return dlogits / N": "return dlogits / N / N"}, "divide by N once"),
    (
        "softmax_cross_entropy",
        {"return float(-log_probs[np.arange(N), labels].mean())": "return -log_probs[np.arange(N), labels]"},
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
    # sequential
    ("sequential", {"for _, layer in reversed(self.layers):": "for _, layer in self.layers:"}, "in reverse order"),
    ("sequential", {"dout = layer.backward(dout)\n        return dout": "layer.backward(dout)\n        return dout"}, "got the wrong dout"),
    ("sequential", {"x = layer.forward(x, train=train)": "x = layer.forward(x)"}, "must pass train=False on to every layer"),
    # SGD
    ("sgd", {SGD_UPDATE: "v -= self.lr * grads[name]"}, "the weight decay term is missing"),
    ("sgd", {SGD_UPDATE: "v -= self.weight_decay * w + self.lr * grads[name]"}, "multiplied by lr as well"),
    ("sgd", {"v = self.velocity.setdefault(name, np.zeros_like(w))": "v = np.zeros_like(w)"}, "the velocity must persist between steps"),
    ("sgd", {"w += v": "params[name] = w + v"}, "update it in place"),
    ("sgd", {"w += v": "w -= v"}, "w <- w + v (v already holds the minus sign)"),
    ("sgd", {"v *= self.momentum": "v *= 0.5"}, "step 2 differs from v <- m v - wd lr w - lr g"),
    ("sgd", {"v *= self.momentum": "v *= self.momentum\n            grads[name][...] = 0"}, "changed the gradients"),
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
    assert hint in grade.hint, grade.hint


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
    assert exercises.check("softmax", quiet=True).hint.startswith("unknown exercise 'softmax'; choose from relu, linear")
    folder = student_folder(tmp_path, "relu", {RELU_DX: "return -dout * self.cache"})
    assert exercises.main(["check", "relu", "--dir", str(folder)]) == 1
    assert capsys.readouterr().out.splitlines()[0] == "relu: FAIL - dx has the wrong sign"
    assert exercises.main(["check", "linear", "relu", "--dir", str(SOLUTIONS)]) == 0
    assert exercises.main(["check", "nope"]) == 2
    assert "unknown exercise nope" in capsys.readouterr().err


# ---------------------------------------------------------------- the plain twins equal the library's fast layers (float64)


def equal(a, b):
    np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)


def same_layer(plain, fast, x, rng):
    for key, value in fast.params.items():
        fast.params[key] = rng.standard_normal(value.shape)
        plain.params[key] = fast.params[key].copy()
    equal(plain.forward(x.copy(), train=True), fast.forward(x, train=True))
    dout = rng.standard_normal(fast.output_shape(x.shape))
    equal(plain.backward(dout.copy()), fast.backward(dout))
    for key in fast.params:
        equal(plain.grads[key], fast.grads[key])


def test_plain_layers_equal_the_library_layers(rng):
    solution = {name: exercises.load(name, SOLUTIONS) for name in ("relu", "linear", "conv", "maxpool", "lrn")}
    same_layer(solution["relu"].ReLU(), ReLU(), rng.standard_normal((4, 3, 5, 6)), rng)
    same_layer(solution["linear"].Linear(7, 5), Linear(7, 5, dtype=np.float64), rng.standard_normal((4, 7)), rng)
    same_layer(
        solution["conv"].Conv2d(3, 4, 5, stride=2, padding=2),
        Conv2d(3, 4, 5, 2, 2, dtype=np.float64),
        rng.standard_normal((2, 3, 11, 9)),
        rng,
    )
    same_layer(solution["maxpool"].MaxPool2d(3, 2), MaxPool2d(3, 2), rng.integers(0, 4, (2, 3, 9, 11)).astype(np.float64), rng)  # ties too
    same_layer(solution["lrn"].LocalResponseNorm(), LocalResponseNorm(), rng.standard_normal((2, 8, 3, 4)) * 30, rng)


def test_plain_convolutions_and_im2col_equal_the_library(rng):
    naive, cols = exercises.load("conv_naive", SOLUTIONS), exercises.load("im2col", SOLUTIONS)
    x, W, b = rng.standard_normal((2, 3, 8, 7)), rng.standard_normal((4, 3, 3, 3)), rng.standard_normal(4)
    fast = Conv2d(3, 4, 3, stride=2, padding=1, dtype=np.float64)
    fast.params = {"W": W, "b": b}
    out = fast.forward(x)
    equal(naive.conv_forward_naive(x, W, b, 2, 1), out)
    dout = rng.standard_normal(out.shape)
    dx, dW, db = naive.conv_backward_naive(dout, x, W, 2, 1)
    equal(dx, fast.backward(dout))
    equal(dW, fast.grads["W"])
    equal(db, fast.grads["b"])
    col = cols.im2col(x, 3, 2, 2, 1)
    equal(col, im2col(x, 3, 2, 2, 1))
    equal(cols.col2im(col, x.shape, 3, 2, 2, 1), col2im(col, x.shape, 3, 2, 2, 1))


def test_plain_loss_sequential_sgd_and_dropout_equal_the_library(rng):
    loss = exercises.load("softmax_cross_entropy", SOLUTIONS).SoftmaxCrossEntropy()
    logits, labels = rng.standard_normal((5, 4)) * 50, rng.integers(0, 4, 5)
    fast = SoftmaxCrossEntropy()
    assert abs(loss.forward(logits, labels) - fast.forward(logits, labels)) < 1e-12
    equal(loss.backward(), fast.backward())
    plain = exercises.load("sequential", SOLUTIONS).Sequential(("fc", Linear(4, 3, rng=rng, dtype=np.float64)), ("relu", ReLU()))
    library = Sequential(("fc", Linear(4, 3, dtype=np.float64)), ("relu", ReLU()))
    library["fc"].params = {key: value.copy() for key, value in plain.params.items() for key in [key.split(".")[1]]}
    x, dout = rng.standard_normal((6, 4)), rng.standard_normal((6, 3))
    equal(plain.forward(x), library.forward(x))
    equal(plain.backward(dout), library.backward(dout))
    assert sorted(plain.grads) == sorted(library.grads) == ["fc.W", "fc.b"]
    for key in library.grads:
        equal(plain.grads[key], library.grads[key])
    params = {"w": rng.standard_normal((3, 4))}
    plain_params, fast_params = {"w": params["w"].copy()}, {"w": params["w"].copy()}
    plain_sgd, fast_sgd = (
        exercises.load("sgd", SOLUTIONS).SGD(lr=0.1, momentum=0.8, weight_decay=0.05),
        SGD(lr=0.1, momentum=0.8, weight_decay=0.05),
    )
    for _ in range(3):
        grads = {"w": rng.standard_normal((3, 4))}
        plain_sgd.step(plain_params, grads)
        fast_sgd.step(fast_params, grads)
        equal(plain_params["w"], fast_params["w"])
    dropout, x = exercises.load("dropout", SOLUTIONS).Dropout(0.5, seed=0), rng.standard_normal((200, 50))
    equal(dropout.forward(x, train=False), Dropout(0.5).forward(x, train=False))
    kept = dropout.forward(x, train=True) != 0
    assert abs(kept.mean() - 0.5) < 0.02  # the masks come from different draws: compare their statistics and scale
    equal(dropout.forward(x, train=True)[kept & (dropout.cache != 0)] * 0.5, x[kept & (dropout.cache != 0)])
