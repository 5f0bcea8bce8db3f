"""Speed on a shared machine: how much minialexnet and PyTorch slow down beside another program.

``python benchmarks/contention.py [--competitors busy torch minialexnet] [--train]``

A student's laptop always runs something else. For each competitor this starts it in a
separate process (bounded in time: it exits by itself after ``--seconds``), lets it warm up,
then times the ``mini`` training step at batch 128 of minialexnet and of PyTorch (same
network, weights and batch, alternating rounds in one process, as ``minialexnet.bench``
does), and prints each framework's slowdown against the same measurement with nothing
beside it. The competitors:

- ``busy``: a plain Python busy loop (one core);
- ``torch``: a PyTorch training loop with its default threads (its OpenMP threads spin
  while they wait for work, so they hold the cores even between its own operations);
- ``minialexnet``: another minialexnet training loop (mini, batch 128).

Target (issue 12): under each competitor minialexnet slows by at most about as much as
PyTorch does. ``--train`` also times the default training run (``python -m
minialexnet.train``) alone and beside the PyTorch loop: it must stay within 3x.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

COMPETITORS = ("busy", "torch", "minialexnet")


def competitor_loop(kind: str, seconds: float) -> None:
    """Run the competitor ``kind`` until ``seconds`` have passed (in the child process)."""
    deadline = time.monotonic() + seconds
    if kind == "busy":
        while time.monotonic() < deadline:
            pass
        return
    if kind == "torch":
        import torch
        from torch import nn

        model = nn.Sequential(
            nn.Conv2d(1, 32, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(32, 64, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
            nn.Flatten(), nn.Linear(64 * 7 * 7, 256), nn.ReLU(), nn.Linear(256, 10),
        )  # fmt: skip
        optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
        x, y = torch.randn(128, 1, 28, 28), torch.randint(0, 10, (128,))
        while time.monotonic() < deadline:
            optimizer.zero_grad()
            nn.functional.cross_entropy(model(x), y).backward()
            optimizer.step()
        return
    if kind == "minialexnet":
        from minialexnet.tools.bench import MiniAlexNetRunner

        runner = MiniAlexNetRunner("mini", 128, "cpu", "float32")
        while time.monotonic() < deadline:
            runner.step()
        return
    raise ValueError(f"unknown competitor {kind!r}; choose one of {', '.join(COMPETITORS)}")


class Competitor:
    """A competitor in a child process for the duration of a ``with`` block (and never longer than ``seconds``)."""

    def __init__(self, kind: str | None, seconds: float, warmup: float = 3.0) -> None:
        self.kind, self.seconds, self.warmup = kind, seconds, warmup
        self.process: subprocess.Popen | None = None

    def __enter__(self) -> Competitor:
        if self.kind is not None:
            command = [sys.executable, __file__, "--competitor-child", self.kind, "--seconds", str(self.seconds)]
            self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL)
            time.sleep(self.warmup)
            if self.process.poll() is not None:
                raise RuntimeError(f"the {self.kind} competitor exited early with code {self.process.returncode}")
        return self

    def __exit__(self, *exc: Any) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait()


def time_steps(steps: int, rounds: int) -> dict[str, float]:
    """Median mini b128 training-step times (seconds) of minialexnet and PyTorch, alternating."""
    from minialexnet.tools.bench import MiniAlexNetRunner, TorchRunner, time_runners

    ours = MiniAlexNetRunner("mini", 128, "cpu", "float32")
    result = time_runners([ours, TorchRunner(ours, "cpu")], steps, warmup=2, rounds=rounds)
    return {name: entry["step_s"] for name, entry in result.items()}


def time_training_run() -> float:
    """Wall time of the default ``python -m minialexnet.train`` (in a temporary output folder)."""
    with tempfile.TemporaryDirectory() as out:
        started = time.perf_counter()
        subprocess.run([sys.executable, "-m", "minialexnet.train", "--out", str(Path(out) / "run")], check=True, stdout=subprocess.DEVNULL)
        return time.perf_counter() - started


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--competitors", nargs="+", choices=COMPETITORS, default=list(COMPETITORS))
    parser.add_argument("--steps", type=int, default=10, help="timed steps per framework and competitor")
    parser.add_argument("--rounds", type=int, default=5, help="alternations between the frameworks")
    parser.add_argument("--train", action="store_true", help="also time the default training run alone and beside the PyTorch loop")
    parser.add_argument("--json", default=None, metavar="FILE", help="also write the results as JSON")
    parser.add_argument("--competitor-child", choices=COMPETITORS, help=argparse.SUPPRESS)
    parser.add_argument("--seconds", type=float, default=600.0, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.competitor_child:
        competitor_loop(args.competitor_child, args.seconds)
        return 0
    bound = 120 + 30 * args.steps  # a competitor never outlives its measurement by much, even if this process dies
    rows: dict[str, dict[str, float]] = {}
    for kind in [None, *args.competitors]:
        with Competitor(kind, bound):
            rows[kind or "nothing"] = time_steps(args.steps, args.rounds)
        times = ", ".join(f"{name} {1000 * t:.1f} ms" for name, t in rows[kind or "nothing"].items())
        print(f"beside {kind or 'nothing'}: {times}", flush=True)
    idle = rows["nothing"]
    print(f"\nmini, batch 128, training step; {os.cpu_count()} cores; slowdown = time / time beside nothing")
    print(f"{'beside it':<14} {'minialexnet':>12} {'slowdown':>9} {'PyTorch':>12} {'slowdown':>9} {'ratio':>7}  target")
    worst = 0.0
    for kind, times in rows.items():
        ours, theirs = times["minialexnet"], times["pytorch"]
        slow_ours, slow_theirs = ours / idle["minialexnet"], theirs / idle["pytorch"]
        relative = slow_ours / slow_theirs
        worst = max(worst, relative) if kind != "nothing" else worst
        verdict = "" if kind == "nothing" else ("met" if relative <= 1.25 else "NOT met")
        print(
            f"{kind:<14} {1000 * ours:>9.1f} ms {slow_ours:>8.2f}x {1000 * theirs:>9.1f} ms {slow_theirs:>8.2f}x "
            f"{ours / theirs:>6.2f}x  {verdict}"
        )
    result: dict[str, Any] = {"steps": rows, "worst_relative_slowdown": worst}
    if args.train:
        alone = time_training_run()
        with Competitor("torch", 3600):
            beside = time_training_run()
        result["train_run_s"] = {"nothing": alone, "torch": beside}
        verdict = "met" if beside <= 3 * alone else "NOT met"
        ratio = beside / alone
        print(f"\ndefault training run: {alone:.0f} s alone, {beside:.0f} s beside the PyTorch loop ({ratio:.2f}x, target 3x: {verdict})")
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
