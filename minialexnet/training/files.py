"""Writing output files so that nothing is ever half-written, and claiming a run's folder.

Every file minialexnet writes for a run (checkpoints, ``metrics.csv``, the plots, an ONNX
export) goes through ``write_atomically``: the bytes go to a temporary file
``<name>.<random>.tmp`` in the target's folder, which is then renamed over the target
(``os.replace``, atomic on POSIX and Windows). A crash, a full disk or Ctrl-C in the middle
leaves the previous file as it was; a process killed outright (SIGKILL) can leave the
temporary file, which ``remove_stale_temporaries`` deletes the next time the folder is used.

A training run holds its folder for its whole life through a claim file,
``.minialexnet-run.lock``, created with ``O_CREAT | O_EXCL`` (atomic: of two runs started
at the same instant exactly one creates it). It holds the owner's pid, host name and start
time. A claim whose process no longer exists on this host is stale (the run was killed):
``FolderClaim`` replaces it and says so.
"""

from __future__ import annotations

import errno
import json
import os
import socket
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

CLAIM_NAME = ".minialexnet-run.lock"
TEMPORARY_SUFFIX = ".tmp"


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def write_atomically(path: str | Path, write: Callable[[BinaryIO], None]) -> Path:
    """Call ``write(file)`` on a temporary file beside ``path``, then rename it to ``path``.

    The file gets the mode a plain ``open(path, "w")`` would give it (0o666 minus the
    umask, so usually 0644); ``mkstemp`` alone would leave it 0600. An OSError (a full disk)
    is raised with ``filename`` the target ``path``, and the temporary file removed.
    """
    path = Path(path)
    handle, temporary = tempfile.mkstemp(prefix=path.name + ".", suffix=TEMPORARY_SUFFIX, dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as file:
            write(file)
        os.chmod(temporary, 0o666 & ~_umask())
        os.replace(temporary, path)
    except OSError as error:  # a full disk, a lost permission: name the file meant, not the temporary one
        Path(temporary).unlink(missing_ok=True)
        raise OSError(error.errno, error.strerror or str(error), str(path)) from None
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return path


def remove_stale_temporaries(folder: Path, names: tuple[str, ...]) -> list[Path]:
    """Delete the temporary files ``<name>.*.tmp`` of ``names`` that a killed writer left in ``folder``; returns them.

    Call it only while holding the folder's claim: then no live writer owns them.
    """
    stale = [path for name in names for path in folder.glob(f"{name}.*{TEMPORARY_SUFFIX}") if path.is_file()]
    for path in stale:
        path.unlink(missing_ok=True)
    return stale


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # it exists, under another user
        return True
    return True


class FolderTakenError(RuntimeError):
    """Another live process holds the folder's claim; the message names it."""


class FolderClaim:
    """This process's claim on a run folder (``CLAIM_NAME`` inside it), from ``acquire`` to ``release``.

    ``acquire`` creates the folder if needed; ``release`` removes the claim, and the folder
    too when this claim created it and nothing else was written there (a run that failed at
    start-up leaves no empty folder behind).
    """

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)
        self.path = self.folder / CLAIM_NAME
        self.created_folder = False
        self.held = False
        self.replaced: str | None = None  # the stale claim replaced, in words

    def _owner(self) -> dict | None:
        try:
            owner = json.loads(self.path.read_text())
        except (OSError, ValueError):
            return None
        return owner if isinstance(owner, dict) else None

    def acquire(self) -> FolderClaim:
        """Take the folder, or raise FolderTakenError naming the live run that holds it (OSError if it cannot be written)."""
        if not self.folder.is_dir():
            self.folder.mkdir(parents=True)
            self.created_folder = True
        me = {"pid": os.getpid(), "host": socket.gethostname(), "started": time.strftime("%Y-%m-%d %H:%M:%S")}
        for _ in range(2):
            try:
                handle = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            except FileExistsError:
                owner = self._owner()
                if owner is None or owner.get("host") != me["host"] or _process_alive(int(owner.get("pid", 0))):
                    where = f"process {owner.get('pid')} on {owner.get('host')}, started {owner.get('started')}" if owner else "a run"
                    raise FolderTakenError(
                        f"{self.folder} is in use by {where} (claim file {self.path}); wait for it, choose another --out, "
                        f"or delete {self.path} if that run is gone"
                    ) from None
                self.replaced = f"process {owner.get('pid')} started {owner.get('started')}"
                self.path.unlink(missing_ok=True)  # stale: its process is dead on this host
                continue
            with os.fdopen(handle, "w") as file:
                json.dump(me, file)
            self.held = True
            return self
        raise OSError(errno.EEXIST, f"cannot claim {self.folder}", str(self.path))

    def release(self) -> None:
        if not self.held:
            return
        self.held = False
        self.path.unlink(missing_ok=True)
        if self.created_folder:
            try:
                self.folder.rmdir()  # only when empty
            except OSError:
                pass

    def __enter__(self) -> FolderClaim:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()
