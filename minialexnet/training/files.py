"""Writing output files so that nothing is ever half-written, and claiming a run's folder.

Every file minialexnet writes for a run (checkpoints, ``metrics.csv``, the plots, an ONNX
export) goes through ``write_atomically``: the bytes go to a temporary file
``<name>.<random>.tmp`` in the target's folder, which is then renamed over the target
(``os.replace``, atomic on POSIX and Windows). A crash, a full disk or Ctrl-C in the middle
leaves the previous file as it was; a process killed outright (SIGKILL) can leave the
temporary file, which ``remove_stale_temporaries`` deletes the next time the folder is used.

A training run holds its folder for its whole life through a claim file,
``.minialexnet-run.lock``. The claim is written whole under a name of its own first, then
hard-linked into place (``os.link`` fails when the name exists, so of two runs started at
the same instant exactly one succeeds): a claim file is either whole or absent, never
half-written, even on a full disk. It holds the owner's pid, host name and start time. A
claim whose process no longer exists on this host is stale (the run was killed), and so is
an empty or unreadable one (only a crash of an older version leaves those): ``FolderClaim``
replaces it and says so. Where the file system has no hard links, the claim is created with
``O_CREAT | O_EXCL`` and written after.

Exit codes for a write that fails (``exit_code_for_write``): the storage itself failing
(no space, a quota, an I/O error: ``WRITE_FAILURES``) is 3 wherever it happens; a folder
that cannot be used (no permission, read-only, not a folder) is 2 when found at start-up,
before anything was trained, and 3 once the run has work on disk to keep.
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
WRITE_FAILURES = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EIO, errno.EFBIG})  # the storage failed: exit code 3


def exit_code_for_write(error: OSError, started: bool) -> int:
    """3 when the storage failed (``WRITE_FAILURES``) or the run had started; 2 for a folder unusable at start-up."""
    return 3 if started or error.errno in WRITE_FAILURES else 2


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
    temporary = None
    try:
        handle, temporary = tempfile.mkstemp(prefix=path.name + ".", suffix=TEMPORARY_SUFFIX, dir=path.parent)
        with os.fdopen(handle, "wb") as file:
            write(file)
        os.chmod(temporary, 0o666 & ~_umask())
        os.replace(temporary, path)
    except OSError as error:  # a full disk, a read-only folder: name the file meant, never the temporary one
        if temporary is not None:
            Path(temporary).unlink(missing_ok=True)
        raise OSError(error.errno, error.strerror or str(error), str(path)) from None
    except BaseException:
        if temporary is not None:
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


BEING_WRITTEN_S = 10.0  # an empty claim this young may be one a run is writing in place (no hard links there)


def _seconds_old(path: Path) -> float:
    try:
        return time.time() - path.stat().st_mtime
    except OSError:
        return float("inf")


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
        """The claim's owner; None for a claim that is empty or unreadable (stale: claims are written whole)."""
        try:
            owner = json.loads(self.path.read_text())
        except (OSError, ValueError):
            return None
        return owner if isinstance(owner, dict) and isinstance(owner.get("pid"), int) else None

    def _link_whole(self, me: dict) -> None:
        """Write the claim whole beside its place, then link it there; FileExistsError when a claim is there."""
        content = json.dumps(me).encode()
        try:
            whole = write_atomically(self.folder / f"{CLAIM_NAME}.{me['pid']}{TEMPORARY_SUFFIX}", lambda file: file.write(content))
        except OSError as error:  # a full disk: nothing is linked, so no claim file is left, whole or empty
            raise OSError(error.errno, error.strerror, str(self.path)) from None
        try:
            os.link(whole, self.path)
        except OSError as error:
            if error.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EXDEV):
                raise
            handle = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)  # no hard links here
            with os.fdopen(handle, "wb") as file:
                file.write(content)
        finally:
            whole.unlink(missing_ok=True)

    def acquire(self) -> FolderClaim:
        """Take the folder, or raise FolderTakenError naming the live run that holds it (OSError if it cannot be written)."""
        if not self.folder.is_dir():
            self.folder.mkdir(parents=True)
            self.created_folder = True
        me = {"pid": os.getpid(), "host": socket.gethostname(), "started": time.strftime("%Y-%m-%d %H:%M:%S")}
        for _ in range(2):
            try:
                self._link_whole(me)
            except FileExistsError:
                owner = self._owner()
                if owner is None and _seconds_old(self.path) < BEING_WRITTEN_S:  # where claims are written in place
                    raise FolderTakenError(
                        f"{self.folder} is being claimed by a run starting now (claim file {self.path}); choose another --out"
                    ) from None
                if owner is not None and (owner.get("host") != me["host"] or _process_alive(owner["pid"])):
                    raise FolderTakenError(
                        f"{self.folder} is in use by process {owner['pid']} on {owner.get('host')}, started {owner.get('started')} "
                        f"(claim file {self.path}); wait for it, choose another --out, or delete {self.path} if that run is gone"
                    ) from None
                self.replaced = f"process {owner['pid']} started {owner.get('started')}" if owner else "an empty claim file"
                self.path.unlink(missing_ok=True)  # stale: its process is dead on this host, or it holds no owner
                continue
            self.held = True
            for left in self.folder.glob(f"{CLAIM_NAME}.*{TEMPORARY_SUFFIX}"):  # by runs killed while claiming
                pid = left.name.removeprefix(f"{CLAIM_NAME}.").removesuffix(TEMPORARY_SUFFIX)
                if pid.isdigit() and not _process_alive(int(pid)):
                    left.unlink(missing_ok=True)
            return self
        raise OSError(errno.EEXIST, f"cannot claim {self.folder}", str(self.path))

    def release(self) -> None:
        """Give the folder back. Never raises: a claim that cannot be removed (a folder made read-only) is stale once
        this process ends, and the error that ended the run is the one to report."""
        if not self.held:
            return
        self.held = False
        try:
            self.path.unlink(missing_ok=True)
            if self.created_folder:
                self.folder.rmdir()  # only when empty
        except OSError:
            pass

    def __enter__(self) -> FolderClaim:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()
