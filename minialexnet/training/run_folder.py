"""The run's folder: which one a run writes to, and its claim on it for the whole run.

A new run never writes into a folder that already holds a run (any of ``RUN_FILES``) unless
``--overwrite`` is given; given ``--out`` such a folder is refused, naming the two ways out.
Without ``--out`` the run picks a fresh folder, ``runs/<config>-<data>``, else ``-2``, ``-3``,
..., and says which: the default never fails and never destroys. A resumed run continues in
its checkpoint's folder unless ``--out`` says otherwise, and never rewinds a folder whose
``last.npz`` is further on. The folder is claimed at start-up (``files.FolderClaim``), so of
two runs started together the second goes to the next ``-N`` folder, or with ``--out`` is
refused; temporary files a killed save left there are removed, and a run that fails at
start-up leaves no empty folder.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from minialexnet.training.checkpoint import Checkpoint
from minialexnet.training.cli import UsageError
from minialexnet.training.files import FolderClaim, FolderTakenError, exit_code_for_write, remove_stale_temporaries
from minialexnet.training.resume import further_on, position

RUN_FILES = ("last.npz", "best.npz", "metrics.csv")
OUTPUT_FILES = (*RUN_FILES, "curves.png", "filters.png")


def holds_run(folder: Path) -> list[str]:
    """The run files (last.npz, best.npz, metrics.csv) already in ``folder``."""
    return [name for name in RUN_FILES if (folder / name).is_file()]


def claim_out(args: argparse.Namespace, resumed: Checkpoint | None, writes: bool) -> tuple[Path, FolderClaim | None]:
    """The output folder, claimed for this run (``writes``: rank 0; the other ranks claim nothing).

    Never another run's folder unless --overwrite, never one a live run holds, never a resume that would rewind a
    folder whose last.npz is further on (see the module docstring).
    """
    resumed_from = resumed.path if resumed is not None else None
    if args.out is not None and not args.out.strip():
        raise UsageError("--out is empty; name the folder for the run's files (e.g. --out runs/first)")
    if args.out is not None and Path(args.out).exists() and not Path(args.out).is_dir():
        raise UsageError(f"--out {args.out} is a file, not a folder; name a folder for the run's files")
    if args.out is not None or resumed_from is not None:
        out = Path(args.out) if args.out is not None else resumed_from.parent
        continuing = resumed_from is not None and out.resolve() == resumed_from.resolve().parent
        claim = prepare_out(out, replace=bool(args.overwrite) and not continuing) if writes else None
        existing = holds_run(out)  # checked under the claim: no other run can start writing there now
        ahead = further_on(out, resumed) if continuing and not args.overwrite else None
        if (existing and not args.overwrite and not continuing) or ahead is not None:
            if claim is not None:
                claim.release()
            if ahead is not None:
                epochs, steps = position(ahead)
                where = f"epoch {epochs}" + (f", batch {steps} of epoch {epochs + 1}" if steps else "")
                raise UsageError(
                    f"{ahead.path} is further on ({where}) than {resumed_from} (epoch {position(resumed)[0]}): resuming here would "
                    f"overwrite it and its metrics; branch into a new folder with --out NEW, continue with --resume {ahead.path}, "
                    "or pass --overwrite to rewind this folder"
                )
            raise UsageError(
                f"{out} already holds a run ({', '.join(existing)}); pass --overwrite to replace it, "
                f"or --resume {out / 'last.npz'} to continue it"
            )
        return out, claim
    base = Path("runs") / f"{args.config}-{Path(args.data).name}"
    out, number = base, 2
    while True:
        try:
            claim = prepare_out(out, replace=False) if writes else None
        except FolderTakenError:  # a run started at the same time holds it
            claim = None
        else:
            if not holds_run(out):
                break
            if claim is not None:
                claim.release()
        out, number = base.with_name(f"{base.name}-{number}"), number + 1
    if out != base:
        print(f"{base} holds another run: writing this one to {out} (--out chooses the folder)", file=sys.stderr)
    return out, claim


def prepare_out(out: Path, replace: bool) -> FolderClaim:
    """Claim ``out`` (creating it; the claim, written whole there, proves the folder writable) and remove temporary
    files left by a killed run; with ``replace`` remove the previous run's files. Raises FolderTakenError when a live
    run holds it."""
    claim = FolderClaim(out)
    try:
        claim.acquire()
        if claim.replaced:
            print(f"{out}: the run that held it ({claim.replaced}) is gone; this run takes the folder over", file=sys.stderr)
        for name in OUTPUT_FILES:
            if (out / name).is_dir():
                raise UsageError(f"{out / name} is a folder, so the run could not save it there; remove it or choose another --out")
        stale = remove_stale_temporaries(out, OUTPUT_FILES)
        if stale:
            print(f"{out}: removed {len(stale)} temporary file(s) left by an interrupted save ({stale[0].name}, ...)", file=sys.stderr)
        if replace:
            for name in OUTPUT_FILES:
                (out / name).unlink(missing_ok=True)
    except OSError as error:
        claim.release()
        if exit_code_for_write(error, started=False) == 3:  # the storage failed: a full disk, a quota (exit 3)
            raise OSError(error.errno, error.strerror, error.filename or str(out)) from None
        raise UsageError(
            f"--out {out}: cannot write there ({error.strerror or error}); choose a folder you can write to with --out"
        ) from None
    except BaseException:
        claim.release()
        raise
    return claim
