"""``python -m minialexnet.exercises status`` (minialexnet/exercises/status.py): the student's progress and its memory.

The folder holds passed exercises (honest files of ``tests/exercise_files/plain``), a failed one
(ReLU's gradient at exactly 0), the untouched skeletons (not written yet) and a missing file.
Only cheap exercises are graded for real; the kernel's grader (up to two minutes in numba's
simulator) is replaced by a stub that counts its calls.
"""

import json
import re
import shutil
import time
from pathlib import Path

import nbformat
import pytest

from minialexnet import exercises
from minialexnet.exercises import grading, status
from minialexnet.exercises.harness import TooSlowError

LESSONS = Path(__file__).resolve().parents[1] / "lessons"
PLAIN = Path(__file__).resolve().parent / "exercise_files" / "plain"
RELU_AT_ZERO = ("self.cache = x > 0", "self.cache = x >= 0")


@pytest.fixture
def folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Skeletons; softmax, linear, softmax_cross_entropy and im2col passing; relu failing; no neighbours.py; the kernel stubbed."""
    folder = tmp_path / "exercises"
    shutil.copytree(LESSONS / "exercises", folder)
    for name in ("softmax", "linear", "softmax_cross_entropy", "im2col", "relu"):
        shutil.copy(PLAIN / f"{name}.py", folder)
    relu = folder / "relu.py"
    relu.write_text(relu.read_text().replace(*RELU_AT_ZERO))
    (folder / "neighbours.py").unlink()
    (folder / "kernel.py").write_text("relu_backward = None  # graded by the stub\n")
    monkeypatch.setitem(grading.GRADERS, "kernel", stub_kernel_grader)
    stub_kernel_grader.calls = 0
    return folder


def stub_kernel_grader(module, seed):
    stub_kernel_grader.calls += 1
    return 0.0


def count_checks(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The names ``status`` grades from here on (rather than remembers)."""
    graded: list[str] = []
    check = status.check

    def counted(name, *args, **kwargs):
        graded.append(name)
        return check(name, *args, **kwargs)

    monkeypatch.setattr(status, "check", counted)
    return graded


def run_status(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, float]:
    start = time.perf_counter()
    code = exercises.main(["status", *argv])
    return code, capsys.readouterr().out, time.perf_counter() - start


def verdicts(out: str) -> dict[str, str]:
    """{exercise: its verdict} from the printed lines."""
    rows = [line.split(maxsplit=1) for line in out.splitlines() if line.startswith("  ")]
    return {name: verdict for name, verdict in rows}


def test_status_shows_each_lesson_with_passed_failed_and_missing_exercises_and_what_to_do_next(folder, capsys):
    code, out, _ = run_status(capsys, "--dir", str(folder))
    assert code == 0
    found = verdicts(out)
    assert list(found) == [name for lesson in grading.LESSONS for name in lesson.exercises]
    assert sorted(found) == sorted(exercises.NAMES)
    for name in ("softmax", "linear", "softmax_cross_entropy", "im2col", "kernel"):
        assert found[name] == "passed"
    expected_hint = exercises.check("relu", folder, quiet=True).hint.splitlines()[0]
    assert "x > 0, not x >= 0" in expected_hint
    assert found["relu"] == f"failed: {expected_hint}"
    assert found["neighbours"] == "not written yet (there is no neighbours.py in this folder)"
    assert found["gradcheck"] == "not written yet (write numerical_gradient)"
    assert found["conv"] == "not written yet (write Conv2d.forward)"
    assert "Lesson 3: Gradient checking\n  relu " in out
    assert "5 of 19 passed, 1 failed, 13 not written yet." in out
    assert out.rstrip().splitlines()[-1].startswith("Next: fix relu.py (lesson 3, lessons/03_gradient_checking.ipynb)")
    assert stub_kernel_grader.calls == 1


def test_a_second_status_remembers_every_verdict_and_a_changed_file_is_graded_again(folder, capsys, monkeypatch):
    _, first, first_time = run_status(capsys, "--dir", str(folder))
    assert (folder / status.CACHE_FILE).is_file()
    graded = count_checks(monkeypatch)
    _, second, second_time = run_status(capsys, "--dir", str(folder))
    assert second == first
    assert graded == []  # nothing graded again: every verdict remembered
    assert stub_kernel_grader.calls == 1
    assert second_time < 2.0, f"the second status took {second_time:.1f} s (the first {first_time:.1f} s)"

    relu = folder / "relu.py"
    relu.write_text(relu.read_text().replace(*reversed(RELU_AT_ZERO)))  # fixed
    _, third, _ = run_status(capsys, "--dir", str(folder))
    assert graded == ["relu"]
    assert verdicts(third)["relu"] == "passed"
    assert "6 of 19 passed, 0 failed, 13 not written yet." in third
    assert third.rstrip().splitlines()[-1].startswith("Next: write gradcheck.py (lesson 3")


def test_a_verdict_follows_the_files_an_exercise_loads_and_the_graders_version(folder, capsys, monkeypatch):
    conv = status.fingerprint("conv", folder)
    (folder / "im2col.py").write_text((folder / "im2col.py").read_text() + "\n# an edit\n")  # conv.py loads im2col.py
    assert status.fingerprint("conv", folder) != conv
    assert status.fingerprint("neighbours", folder) is None
    run_status(capsys, "--dir", str(folder))
    graded = count_checks(monkeypatch)
    monkeypatch.setattr(status, "grader_version", lambda: "another version of the grader")
    run_status(capsys, "--dir", str(folder))
    assert sorted(graded) == sorted(set(exercises.NAMES) - {"neighbours"})


def test_fresh_grades_again_and_a_damaged_memory_is_ignored(folder, capsys, monkeypatch):
    _, first, _ = run_status(capsys, "--dir", str(folder))
    graded = count_checks(monkeypatch)
    _, again, _ = run_status(capsys, "--dir", str(folder), "--fresh")
    assert again == first and len(graded) == len(exercises.NAMES) - 1
    (folder / status.CACHE_FILE).write_text("{not json")
    graded.clear()
    _, damaged, _ = run_status(capsys, "--dir", str(folder))
    assert damaged == first and len(graded) == len(exercises.NAMES) - 1
    assert json.loads((folder / status.CACHE_FILE).read_text())["format"] == status.CACHE_FORMAT


def test_a_time_out_is_not_remembered(folder, capsys, monkeypatch):
    def too_slow(module, seed):
        stub_kernel_grader.calls += 1
        raise TooSlowError("the kernel ran longer than 120 s in the simulator: an endless loop?")

    monkeypatch.setitem(grading.GRADERS, "kernel", too_slow)
    for _ in range(2):
        _, out, _ = run_status(capsys, "--dir", str(folder))
        assert verdicts(out)["kernel"] == "failed: the kernel ran longer than 120 s in the simulator: an endless loop?"
    assert stub_kernel_grader.calls == 2
    assert "kernel" not in json.loads((folder / status.CACHE_FILE).read_text())["verdicts"]


def test_a_folder_without_exercises_is_one_error_line(tmp_path, capsys):
    assert exercises.main(["status", "--dir", str(tmp_path)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.strip() == f"error: {tmp_path} holds no exercise files; pass --dir with the folder of the exercises"


def test_the_lessons_table_names_each_exercise_once_where_its_notebook_first_checks_it():
    listed = [name for lesson in grading.LESSONS for name in lesson.exercises]
    assert sorted(listed) == sorted(grading.NAMES)
    first_checked: dict[str, int] = {}
    for lesson in grading.LESSONS:
        notebook = nbformat.read(LESSONS / lesson.notebook, as_version=4)
        assert notebook.cells[0].source.startswith(f"# Lesson {lesson.number} ")
        assert "python -m minialexnet.exercises status" in notebook.cells[0].source
        for cell in notebook.cells:
            for name in re.findall(r'check\("(\w+)"', cell.source):
                first_checked.setdefault(name, lesson.number)
    assert first_checked == {name: lesson.number for lesson in grading.LESSONS for name in lesson.exercises}
