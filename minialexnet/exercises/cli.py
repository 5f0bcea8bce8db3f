"""``python -m minialexnet.exercises check [NAME ...]``: the grader's command line."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from minialexnet.exercises.files import ENVIRONMENT, exercise_dir, solutions_dir
from minialexnet.exercises.grading import GRADERS, NAMES, check


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m minialexnet.exercises", description="Grade the course's exercises.")
    sub = parser.add_subparsers(dest="command", required=True)
    command = sub.add_parser("check", help="grade exercises (all, or the ones named)")
    command.add_argument("names", nargs="*", metavar="NAME", help=f"any of: {', '.join(NAMES)}")
    command.add_argument("--dir", default=None, help=f"folder of the exercise files (default: ${ENVIRONMENT} or lessons/exercises)")
    command.add_argument("--solutions", action="store_true", help="grade the reference solutions in lessons/solutions")
    args = parser.parse_args(argv)
    folder = solutions_dir() if args.solutions else Path(args.dir) if args.dir else exercise_dir()
    unknown = [name for name in args.names if name not in GRADERS]
    if unknown:
        print(f"error: unknown exercise {', '.join(unknown)}; choose from {', '.join(NAMES)}", file=sys.stderr)
        return 2
    grades = [check(name, folder) for name in args.names or NAMES]
    counts = {status: sum(g.status == status for g in grades) for status in ("pass", "fail", "not written")}
    print(f"{counts['pass']} passed, {counts['fail']} failed, {counts['not written']} not written yet ({folder})")
    return 0 if counts["pass"] == len(grades) else 1
