"""Writing output files so that nothing is ever half-written.

Every file minialexnet writes for a run (checkpoints, ``metrics.csv``, the plots) goes
through ``write_atomically``: the bytes go to a temporary file in the target's folder,
which is then renamed over the target (``os.replace``, atomic on POSIX and Windows). A
crash, a full disk or Ctrl-C in the middle leaves the previous file as it was.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def write_atomically(path: str | Path, write: Callable[[BinaryIO], None]) -> Path:
    """Call ``write(file)`` on a temporary file beside ``path``, then rename it to ``path``.

    The file gets the mode a plain ``open(path, "w")`` would give it (0o666 minus the
    umask, so usually 0644); ``mkstemp`` alone would leave it 0600.
    """
    path = Path(path)
    handle, temporary = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as file:
            write(file)
        os.chmod(temporary, 0o666 & ~_umask())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return path
