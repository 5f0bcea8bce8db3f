"""``python -m minialexnet.exercises status``: the student's progress, lesson by lesson, and what to do next.

Each exercise is graded by ``check`` (the same grading, seed and hints) and shown as passed,
failed (with the first line of its hint) or not written yet; the last line names the first
exercise, in the course's order, that does not pass yet.

Grading all nineteen takes a minute or two (the kernel's simulator alone up to two), so the
verdicts are remembered in ``.grades.json`` in the exercise folder, each under a fingerprint:
a SHA-256 of the exercise's file (and of the files it loads: conv.py uses im2col.py) together
with the grader's version, a SHA-256 of every ``.py`` and ``.json`` file of the installed
``minialexnet`` package with the versions of Python, NumPy and numba. A verdict is used only
while its fingerprint is unchanged: any edit to the file, or to the grader, grades it again.
Time-outs depend on the machine's load and are never remembered. ``--fresh`` ignores the file;
deleting it does the same. A folder that cannot be written is graded without remembering.
"""

from __future__ import annotations

import hashlib
import json
import math
import sys
from collections.abc import Iterator
from functools import cache
from importlib import metadata
from pathlib import Path

import numpy as np

import minialexnet
from minialexnet.exercises.files import solutions_dir
from minialexnet.exercises.grading import DEPENDS_ON, LESSONS, TIME_LIMIT, Grade, check
from minialexnet.training.files import write_atomically

CACHE_FILE = ".grades.json"
CACHE_FORMAT = 1


@cache
def grader_version() -> str:
    """A SHA-256 of the package's source and data files and of the versions of what grading runs on."""
    digest = hashlib.sha256()
    package = Path(minialexnet.__file__).resolve().parent
    for path in sorted(p for p in package.rglob("*") if p.suffix in (".py", ".json") and "__pycache__" not in p.parts):
        digest.update(path.relative_to(package).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    versions = [sys.version, np.__version__]
    for distribution in ("numba", "numba-cuda"):
        try:
            versions.append(f"{distribution} {metadata.version(distribution)}")
        except metadata.PackageNotFoundError:
            versions.append(f"{distribution} absent")
    digest.update("\n".join(versions).encode())
    return digest.hexdigest()


def fingerprint(name: str, folder: Path) -> str | None:
    """What ``name``'s verdict depends on, hashed: its file, the files it loads, the grader; None when the file is missing."""
    digest = hashlib.sha256(f"{grader_version()}\n{name}\nsolutions: {folder.resolve() == solutions_dir().resolve()}\n".encode())
    if not (folder / f"{name}.py").is_file():
        return None
    for file_name in [name] + ([DEPENDS_ON[name]] if name in DEPENDS_ON else []):
        path = folder / f"{file_name}.py"
        digest.update(file_name.encode() + b"\0" + (path.read_bytes() if path.is_file() else b"(missing)") + b"\0")
    return digest.hexdigest()


class Verdicts:
    """The remembered verdicts of one folder: ``CACHE_FILE`` there, {name: {"fingerprint", "status", "hint", "error"}}."""

    def __init__(self, folder: Path, use: bool = True) -> None:
        self.path = folder / CACHE_FILE
        self.entries: dict[str, dict[str, object]] = {}
        if use:
            try:
                data = json.loads(self.path.read_text(encoding="utf-8"))
                if data.get("format") == CACHE_FORMAT and isinstance(data.get("verdicts"), dict):
                    self.entries = data["verdicts"]
            except (OSError, ValueError, AttributeError):
                pass  # none yet, or unreadable: grade afresh

    def get(self, name: str, key: str) -> Grade | None:
        entry = self.entries.get(name)
        if not isinstance(entry, dict) or entry.get("fingerprint") != key or entry.get("status") not in ("pass", "fail", "not written"):
            return None
        error = entry.get("error")
        try:
            return Grade(name, str(entry["status"]), str(entry.get("hint", "")), error=float("nan") if error is None else float(error))
        except (TypeError, ValueError):
            return None

    def put(self, key: str, grade: Grade) -> None:
        error = None if math.isnan(grade.error) else grade.error
        self.entries[grade.name] = {"fingerprint": key, "status": grade.status, "hint": grade.hint, "error": error}
        text = json.dumps({"format": CACHE_FORMAT, "verdicts": self.entries}, indent=1, sort_keys=True) + "\n"
        try:
            write_atomically(self.path, lambda file: file.write(text.encode("utf-8")))
        except OSError:
            pass  # a folder that cannot be written: nothing is remembered


def grades(folder: Path, *, fresh: bool = False, time_limit: float | None = TIME_LIMIT) -> Iterator[Grade]:
    """Every exercise's Grade, in the course's order: remembered where the fingerprint matches, else from ``check``."""
    verdicts = Verdicts(folder, use=not fresh)
    for lesson in LESSONS:
        for name in lesson.exercises:
            key = fingerprint(name, folder)
            if key is None:
                yield Grade(name, "not written", f"there is no {name}.py in this folder")
                continue
            grade = verdicts.get(name, key)
            if grade is None:
                grade = check(name, folder, time_limit=time_limit, quiet=True)
                if grade.lasting:
                    verdicts.put(key, grade)
            yield grade


def verdict_line(grade: Grade, width: int) -> str:
    """``  relu                   failed: <the hint's first line>``."""
    first_line = grade.hint.splitlines()[0] if grade.hint else ""
    if grade.passed:
        verdict = "passed"
    elif grade.status == "not written":
        verdict = "not written yet" + (f" ({first_line})" if first_line else "")
    else:
        verdict = f"failed: {first_line}"
    return f"  {grade.name:<{width}}  {verdict}"


def next_step(grade: Grade | None) -> str:
    """What to do next: the first exercise, in the course's order, that does not pass."""
    if grade is None:
        return "Next: nothing; every exercise passes. Lessons 8 and 10 train your own network from your pieces."
    lesson = next(lesson for lesson in LESSONS if grade.name in lesson.exercises)
    verb = "fix" if grade.status == "fail" else "write"
    return (
        f"Next: {verb} {grade.name}.py (lesson {lesson.number}, lessons/{lesson.notebook}); "
        f"check it there or with: python -m minialexnet.exercises check {grade.name}"
    )


def report(folder: Path, *, fresh: bool = False, time_limit: float | None = TIME_LIMIT) -> int:
    """Print the progress of the exercises in ``folder``, lesson by lesson, as they are graded; returns the exit code."""
    if not any((folder / f"{name}.py").is_file() for lesson in LESSONS for name in lesson.exercises):
        print(f"error: {folder} holds no exercise files; pass --dir with the folder of the exercises", file=sys.stderr)
        return 2
    print(f"Your exercises in {folder} (verdicts on unchanged files are remembered in {CACHE_FILE} there)\n")
    width = max(len(name) for lesson in LESSONS for name in lesson.exercises)
    results = grades(folder, fresh=fresh, time_limit=time_limit)
    seen: list[Grade] = []
    for lesson in LESSONS:
        print(f"Lesson {lesson.number}: {lesson.title}")
        for _ in lesson.exercises:
            seen.append(next(results))
            print(verdict_line(seen[-1], width), flush=True)
    counts = {status: sum(g.status == status for g in seen) for status in ("pass", "fail", "not written")}
    print(f"\n{counts['pass']} of {len(seen)} passed, {counts['fail']} failed, {counts['not written']} not written yet.")
    print(next_step(next((g for g in seen if not g.passed), None)))
    return 0
