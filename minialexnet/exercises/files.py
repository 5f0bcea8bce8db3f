"""Where the student's files are, and importing them afresh."""

from __future__ import annotations

import importlib.util
import os
import sys
import traceback
from pathlib import Path
from types import ModuleType

ENVIRONMENT = "MINIALEXNET_EXERCISES"


def repository_folder(name: str) -> Path:
    """``lessons/<name>`` of the repository: beside the package, else above the current directory."""
    beside_package = Path(__file__).resolve().parents[2] / "lessons" / name
    if beside_package.is_dir():
        return beside_package
    for folder in (Path.cwd(), *Path.cwd().parents):
        for candidate in (folder / "lessons" / name, folder / name if folder.name == "lessons" else None):
            if candidate is not None and candidate.is_dir():
                return candidate
    return beside_package


def exercise_dir() -> Path:
    """The folder of the student's files: ``$MINIALEXNET_EXERCISES`` if set, else ``lessons/exercises``."""
    chosen = os.environ.get(ENVIRONMENT)
    return Path(chosen).expanduser().resolve() if chosen else repository_folder("exercises")


def solutions_dir() -> Path:
    """The reference solutions, ``lessons/solutions``."""
    return repository_folder("solutions")


loading_from: list[Path] = []  # the folder of the file being imported, so its own load() calls read the same folder
loaded: list[ModuleType] = []  # every student module imported during the current check


def load(name: str, directory: str | Path | None = None) -> ModuleType:
    """Import ``<directory>/<name>.py`` afresh (default: ``exercise_dir()``, or the folder of the file loading it).

    A file that imports another exercise (conv.py uses ``load("im2col")``) gets it from its own folder.
    """
    folder = Path(directory) if directory is not None else (loading_from[-1] if loading_from else exercise_dir())
    path = folder / f"{name}.py"
    if not path.is_file():
        raise FileNotFoundError(f"{path} does not exist: set ${ENVIRONMENT} or pass --dir with the folder of the exercises")
    module_name = f"minialexnet_exercise_{name}"
    spec = importlib.util.spec_from_file_location(module_name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    loading_from.append(folder)
    try:
        spec.loader.exec_module(module)
    finally:
        loading_from.pop()
    loaded.append(module)
    return module


def where(error: BaseException) -> str:
    """ " (relu.py, line 12)": the last line of the student's files in the traceback."""
    folders = {Path(m.__file__).resolve().parent for m in loaded if getattr(m, "__file__", None)}
    frames = [f for f in traceback.extract_tb(error.__traceback__) if Path(f.filename).resolve().parent in folders]
    return f" ({Path(frames[-1].filename).name}, line {frames[-1].lineno})" if frames else ""
