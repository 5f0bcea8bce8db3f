"""A tiny tmpfs for the full-disk and read-only tests: mounted where the machine allows it (root), else the test skips
with why. (As root, chmod cannot make a folder read-only; a read-only mount can.)"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest


@contextmanager
def small_disk(mount: Path, size: str) -> Iterator[Path]:
    """A tmpfs of ``size`` (e.g. "1m") mounted on the new folder ``mount`` for the block; unmounted after it."""
    mount.mkdir()
    command = ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(mount)]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here (needs root): {result.stderr.strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", str(mount)], check=False)


def make_read_only(mount: Path) -> None:
    """Remount ``mount`` (a ``small_disk``) read-only: every later write there fails with EROFS."""
    subprocess.run(["mount", "-o", "remount,ro", str(mount)], check=True, capture_output=True)


def fill(mount: Path) -> Path:
    """Fill ``mount`` to the last byte with one file; returns it (delete it to free the space)."""
    filler = mount / "filler"
    handle = os.open(filler, os.O_CREAT | os.O_WRONLY)
    try:
        for size in (65536, 1):
            try:
                while os.write(handle, b"\0" * size):
                    pass
            except OSError:
                pass
    finally:
        os.close(handle)
    return filler
