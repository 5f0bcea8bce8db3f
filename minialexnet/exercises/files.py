"""Where the student's files are, and importing them afresh."""

from __future__ import annotations

import os
import sys
import traceback
from pathlib import Path
from types import ModuleType

ENVIRONMENT = "MINIALEXNET_EXERCISES"


def repository_folder(name: str) -> Path:
    """``lessons/<name>`` of the repository: beside the package (an editable install), else above the current directory."""
    candidates = [Path(__file__).resolve().parents[2], Path.cwd(), *Path.cwd().parents]
    found = [folder / "lessons" / name for folder in candidates if (folder / "lessons" / name).is_dir()]
    return found[0] if found else candidates[0] / "lessons" / name


def exercise_dir() -> Path:
    """The folder of the student's files: ``$MINIALEXNET_EXERCISES`` if set, else ``lessons/exercises``."""
    chosen = os.environ.get(ENVIRONMENT)
    return Path(chosen).expanduser().resolve() if chosen else repository_folder("exercises")


def solutions_dir() -> Path:
    """The reference solutions, ``lessons/solutions``."""
    return repository_folder("solutions")


loading_from: list[Path] = []  # the folder of the file being imported, so its own load() calls read the same folder
loaded: dict[str, ModuleType] = {}  # the student modules imported last, by name (the grader's view of them)


def load(name: str, directory: str | Path | None = None) -> ModuleType:
    """Import ``<directory>/<name>.py`` afresh (default: ``exercise_dir()``, or the folder of the file loading it).

    The source is compiled anew every call (no bytecode cache that an edit within the same
    second could leave stale). A file that imports another exercise (conv.py uses
    ``load("im2col")``) gets it from its own folder.
    """
    folder = Path(directory) if directory is not None else (loading_from[-1] if loading_from else exercise_dir())
    path = folder / f"{name}.py"
    if not path.is_file():
        raise FileNotFoundError(f"{path} does not exist: set ${ENVIRONMENT} or pass --dir with the folder of the exercises")
    module = ModuleType(f"minialexnet_exercise_{name}")
    module.__file__ = str(path)
    sys.modules[module.__name__] = module  # classes and dataclasses look their module up here
    code = compile(path.read_text(encoding="utf-8"), str(path), "exec")
    loading_from.append(folder)
    try:
        exec(code, module.__dict__)
    finally:
        loading_from.pop()
    loaded[name] = module
    return module


def where(error: BaseException) -> str:
    """ " (relu.py, line 12)": the last line of the student's files in the traceback."""
    folders = {Path(m.__file__).resolve().parent for m in loaded.values()}
    frames = [f for f in traceback.extract_tb(error.__traceback__) if Path(f.filename).resolve().parent in folders]
    return f" ({Path(frames[-1].filename).name}, line {frames[-1].lineno})" if frames else ""
