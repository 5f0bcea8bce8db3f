"""``python -m minialexnet.exercises check [NAME ...] | status``: the grader's command line."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from minialexnet.exercises.files import ENVIRONMENT, exercise_dir, solutions_dir
from minialexnet.exercises.grading import GRADERS, NAMES, check
from minialexnet.exercises.status import CACHE_FILE, report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m minialexnet.exercises", description="Grade the course's exercises.")
    sub = parser.add_subparsers(dest="command", required=True)
    command = sub.add_parser("check", help="grade exercises (all, or the ones named)")
    command.add_argument("names", nargs="*", metavar="NAME", help=f"any of: {', '.join(NAMES)}")
    progress = sub.add_parser(
        "status",
        help="your progress: each exercise passed, failed (with its hint) or not written yet, lesson by lesson, and what to do next",
    )
    progress.add_argument("--fresh", action="store_true", help=f"grade every exercise again, ignoring the verdicts kept in {CACHE_FILE}")
    for each in (command, progress):
        each.add_argument("--dir", default=None, help=f"folder of the exercise files (default: ${ENVIRONMENT} or lessons/exercises)")
        each.add_argument("--solutions", action="store_true", help="grade the reference solutions in lessons/solutions")
    args = parser.parse_args(argv)
    folder = solutions_dir() if args.solutions else Path(args.dir) if args.dir else exercise_dir()
    if args.command == "status":
        return report(folder, fresh=args.fresh)
    unknown = [name for name in args.names if name not in GRADERS]
    if unknown:
        print(f"error: unknown exercise {', '.join(unknown)}; choose from {', '.join(NAMES)}", file=sys.stderr)
        return 2
    grades = [check(name, folder) for name in args.names or NAMES]
    counts = {status: sum(g.status == status for g in grades) for status in ("pass", "fail", "not written")}
    print(f"{counts['pass']} passed, {counts['fail']} failed, {counts['not written']} not written yet ({folder})")
    return 0 if counts["pass"] == len(grades) else 1
