"""Every lesson notebook runs top to bottom twice, as a student would meet it.

Untouched: the exercise files are the skeletons of ``lessons/exercises/``, every check cell
says "not written yet", and the notebook still completes (cells that need the student's code
say what to write first). With the reference solutions (``MINIALEXNET_EXERCISES`` pointing
at ``lessons/solutions/``, which the kernel inherits from this process): every check passes.
"""

import re
import time
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")

LESSONS = Path(__file__).resolve().parents[1] / "lessons"
NOTEBOOKS = sorted(LESSONS.glob("*.ipynb"))
EXERCISE_DIRS = {"untouched": LESSONS / "exercises", "solutions": LESSONS / "solutions"}
# a check cell's or sanity check's failure line: "relu: FAIL - ...", "sanity check 2: FAIL - ..."
# (gradient-check tables may show FAIL on purpose: lesson 3's deliberately broken layers)
FAILED_CHECK = re.compile(r"^[\w ]+: FAIL", re.MULTILINE)


def has_exercises(path: Path) -> bool:
    notebook = nbformat.read(path, as_version=4)
    return any("from minialexnet.exercises import" in cell.source for cell in notebook.cells if cell.cell_type == "code")


# every lesson twice, as a student finds it and with the reference solutions (a lesson without
# exercises must then also run: its code may import an exercise's module)
RUNS = [(path, exercises) for path in NOTEBOOKS for exercises in ("untouched", "solutions")]


def run_notebook(path: Path) -> tuple[str, list[dict]]:
    """Execute the notebook in a fresh kernel; returns its text output and its error outputs."""
    notebook = nbformat.read(path, as_version=4)
    client = nbclient.NotebookClient(notebook, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(LESSONS)}})
    client.execute()
    outputs = [output for cell in notebook.cells for output in cell.get("outputs", [])]
    text = "".join(output.get("text", "") for output in outputs if output.get("output_type") == "stream")
    text += "".join(output.get("data", {}).get("text/plain", "") for output in outputs if "data" in output)
    return text, [output for output in outputs if output.get("output_type") == "error"]


def test_lessons_are_numbered_in_order():
    numbers = [int(path.name.split("_")[0]) for path in NOTEBOOKS]
    assert numbers == list(range(1, len(NOTEBOOKS) + 1)), [path.name for path in NOTEBOOKS]
    assert len(NOTEBOOKS) >= 11


def test_every_exercise_has_a_check_cell_in_a_lesson():
    sources = "".join(cell.source for path in NOTEBOOKS for cell in nbformat.read(path, as_version=4).cells)
    checked = set(re.findall(r'check\("(\w+)"\)', sources))
    exercises = {path.stem for path in EXERCISE_DIRS["solutions"].glob("*.py")}
    assert len(exercises) >= 12 and exercises <= checked, sorted(exercises - checked)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[path.stem for path in NOTEBOOKS])
def test_notebook_is_committed_without_outputs(path):
    notebook = nbformat.read(path, as_version=4)
    code_cells = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert all(cell.get("outputs", []) == [] and cell.get("execution_count") is None for cell in code_cells), (
        "commit notebooks without outputs"
    )


@pytest.mark.slow
@pytest.mark.parametrize(("path", "exercises"), RUNS, ids=[f"{path.stem}-{exercises}" for path, exercises in RUNS])
def test_notebook_runs_top_to_bottom(path, exercises, monkeypatch):
    monkeypatch.setenv("MINIALEXNET_EXERCISES", str(EXERCISE_DIRS[exercises]))
    started = time.perf_counter()
    text, errors = run_notebook(path)
    print(f"{path.name} ({exercises}): {time.perf_counter() - started:.0f} s")
    assert not errors, [f"{error['ename']}: {error['evalue']}" for error in errors]
    if exercises == "solutions":
        assert "not written" not in text and not FAILED_CHECK.search(text), text
    if has_exercises(path):
        expected = "not written yet" if exercises == "untouched" else ": pass"
        assert expected in text, text


def test_every_lesson_has_a_check_cell():
    unchecked = [
        path.name
        for path in NOTEBOOKS
        if not re.search(r'check\("\w+"\)', "".join(cell.source for cell in nbformat.read(path, as_version=4).cells))
    ]
    assert not unchecked, unchecked
