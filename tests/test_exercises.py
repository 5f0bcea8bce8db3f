import re
import shutil
from pathlib import Path

import pytest

from minialexnet import exercises

SKELETONS = Path(__file__).resolve().parents[1] / "lessons" / "exercises"

CORRECT = {
    "relu": "return dout * (x > 0)",
    "linear": 'self.grads["W"] = dout.T @ x\n        self.grads["b"] = dout.sum(axis=0)\n        return dout @ W',
    "softmax_cross_entropy": "d = probs.copy()\n        d[np.arange(N), labels] -= 1\n        return dout * d / N",
    "maxpool": (
        "N, C, OH, OW = dout.shape\n"
        "        for i in range(OH):\n"
        "            for j in range(OW):\n"
        "                window = x[:, :, i * s : i * s + k, j * s : j * s + k].reshape(N, C, k * k)\n"
        "                r, c = np.unravel_index(window.argmax(axis=2), (k, k))\n"
        "                n_idx, c_idx = np.meshgrid(np.arange(N), np.arange(C), indexing='ij')\n"
        "                np.add.at(dx, (n_idx, c_idx, i * s + r, j * s + c), dout[:, :, i, j])\n"
        "        return dx"
    ),
    "lrn": "t = dout * b / D\n        return dout * D ** (-self.beta) - 2 * self.alpha * self.beta * a * self.window_sum(t)",
    "conv": (
        'self.grads["b"] = dout_mat.sum(axis=1)\n'
        '        self.grads["W"] = (dout_mat @ col.T).reshape(self.params["W"].shape)\n'
        '        dcol = self.params["W"].reshape(F, -1).T @ dout_mat\n'
        "        return col2im(dcol, x_shape, K, K, S, S, P, P)"
    ),
}

MISTAKES = {
    "relu": ("return 1.0 * (x > 0)", "does not change when dout does"),
    "linear": ('self.grads["W"] = x.T @ dout\n        self.grads["b"] = dout.sum(axis=0)\n        return dout @ W', "transposed?"),
    "softmax_cross_entropy": ("d = probs.copy()\n        d[np.arange(N), labels] -= 1\n        return dout * d", "divide by N"),
    "lrn": ("return dout * D ** (-self.beta)", "differs from the numerical gradient"),
    "conv": (CORRECT["conv"].replace("dout_mat @ col.T", "2 * dout_mat @ col.T"), "off by a constant factor of 2"),
}


def write_exercises(directory: Path, bodies: dict[str, str]) -> Path:
    shutil.copytree(SKELETONS, directory)
    for name, body in bodies.items():
        path = directory / exercises.EXERCISES[name].file
        text, count = re.subn(r'raise NotImplementedError\("write [A-Za-z0-9]+\.backward"\)', body.replace("\\", "\\\\"), path.read_text())
        assert count == 1, name
        path.write_text(text)
    return directory


def test_untouched_skeletons_fail_with_the_not_written_hint(capsys):
    assert exercises.main(["check", "--dir", str(SKELETONS)]) == 1
    out = capsys.readouterr().out
    assert out.count("FAIL") == len(exercises.EXERCISES) and out.count("not written yet") == len(exercises.EXERCISES)


def test_correct_solutions_written_into_the_skeletons_pass(tmp_path, capsys):
    directory = write_exercises(tmp_path / "ex", CORRECT)
    assert exercises.main(["check", "--dir", str(directory)]) == 0
    assert "6 passed, 0 failed" in capsys.readouterr().out


def test_library_reference_solutions_pass(capsys):
    assert exercises.main(["check", "--solutions"]) == 0


@pytest.mark.parametrize("name", sorted(MISTAKES))
def test_typical_mistakes_fail_with_the_matching_hint(name, tmp_path):
    body, hint = MISTAKES[name]
    directory = write_exercises(tmp_path / "ex", {name: body})
    (result,) = exercises.grade([name], directory)
    assert not result.passed
    assert hint in result.hint, result.hint


def test_one_exercise_by_name_and_unknown_names(tmp_path, capsys):
    directory = write_exercises(tmp_path / "ex", {"relu": CORRECT["relu"]})
    assert exercises.main(["check", "relu", "--dir", str(directory)]) == 0
    assert exercises.main(["check", "softmax", "--dir", str(directory)]) == 2


def test_missing_folder_is_explained(tmp_path):
    (result,) = exercises.grade(["relu"], tmp_path / "nowhere")
    assert not result.passed and "does not exist" in result.hint
