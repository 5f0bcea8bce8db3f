"""``python benchmarks/gpu/verify.py``: everything a lent GPU must show, in one command, results written as it goes.

In order (docs/gpu.md says what each measures):

1. the GPU-marked tests on real CuPy;
2. ``gradcheck --device gpu``;
3. ``bench --device gpu --compare torch``: paper AlexNet, batch 128, float32 and TF32 (both
   frameworks), ``--per-layer``, the reference and cuda engines, each a process of its own;
4. the cuda engine's block-size sweep (``MINIALEXNET_CUDA_BLOCK``), inside the same run;
5. a short training run on the GPU whose checkpoint evaluates the same on the CPU;
6. 10 epochs of the paper recipe on Fashion-MNIST (``--config fashion --init paper``) and its
   PyTorch twin (benchmarks/torch_fashion_recipe.py).

``--bench-only``: steps 3 and 4 (3 minutes or less on an H200). ``--dry-run``: the same steps
on this CPU with tiny sizes, the ``--device gpu`` ones on the strict device with numba's
simulator (benchmarks/gpu/on_strict_device.py): a typo fails here, not in the first GPU minute.

Results go under ``--out`` (default ``$OUT``): ``verify.log`` (every command and its output,
appended as it runs), ``verify.json`` (one entry a step, rewritten after each: a run cut short
still reports) and the tools' own JSON files. A step starts only while the time budget
(``--budget``, seconds) leaves room for its estimate; the others are recorded as skipped.
Fashion-MNIST comes from ``MINIALEXNET_DATA``, by default the git-ignored ``.gpu-data/`` of the
checkout: copy the four ``*-ubyte.gz`` files there before the GPU is lent (the GPU has no internet).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
STRICT = str(ROOT / "benchmarks" / "gpu" / "on_strict_device.py")
RECIPE = str(ROOT / "benchmarks" / "torch_fashion_recipe.py")
TF32 = {
    "CUPY_TF32": "1",
    "TORCH_ALLOW_TF32_CUBLAS_OVERRIDE": "1",
}  # cuBLAS TF32 in CuPy and PyTorch (cuDNN's convolutions use it by default)
FP32 = {"CUPY_TF32": "0"}
ONE_PROCESS = ["-q", "-x", "-o", "addopts=-ra"]  # pytest without pyproject's addopts (-n auto: pytest-xdist)
TINY_TRAINING = ["--epochs", "1", "--limit", "10", "--batch-size", "5"]  # the dry run's training: two steps (the simulator is slow)


@dataclass
class Step:
    """One command of the check: ``full`` on the GPU, ``dry`` its tiny CPU twin; ``module`` commands run as ``python -m``.

    ``estimate_s``: seconds on an H200 (what the budget reserves). A ``--device gpu`` command runs on the strict
    device in the dry run.
    """

    name: str
    full: list[str]
    dry: list[str]
    estimate_s: float
    env: dict[str, str] = field(default_factory=dict)
    engine: str | None = None
    module: str | None = None
    script: str | None = None
    bench: bool = False
    compare_output_with: str | None = None  # the name of an earlier step whose last three lines must equal this one's
    in_dry_run: bool = True  # False: the dry run leaves it out (a repeat of a step it ran, slow in the simulator)


def _engine_flag(engine: str | None) -> list[str]:
    return ["--engine", engine] if engine is not None else []


def _bench(name: str, engine: str, env: dict[str, str], per_layer: bool = True) -> Step:
    full = ["--device", "gpu", "--config", "paper", "--batch-size", "128", "--steps", "10", "--warmup", "3", "--rounds", "2"]
    # --smoke: one step and a small GEMM; the GPU's 8192^3 rate measurement alone took minutes on the strict device
    dry = ["--device", "gpu", "--config", "mini", "--batch-size", "2", "--smoke"]
    extra = ["--per-layer", "--compare", "torch"] if per_layer else ["--no-memory"]
    return Step(
        name,
        full + extra + ["--json", "{out}/" + name + ".json"],
        dry + (["--per-layer"] if per_layer else []) + ["--json", "{out}/" + name + ".json"],
        35 if per_layer else 10,
        env=env,
        engine=engine,
        module="minialexnet.bench",
        bench=True,
    )


def steps() -> list[Step]:
    """The table of the check, in the order it runs."""
    table = [
        # in one process (addopts' -n: the GPU is one device; and a GPU machine may lack pytest-xdist)
        Step("gpu-tests", [*ONE_PROCESS, "-m", "gpu", "tests"], [*ONE_PROCESS, "-m", "gpu", "tests/test_relu.py"], 90, module="pytest"),
        Step("gradcheck", ["--device", "gpu"], ["--device", "gpu"], 30, module="minialexnet.gradcheck"),
    ]
    for engine in ("reference", "cuda"):
        tf32 = _bench(f"bench-{engine}-tf32", engine, TF32)
        tf32.in_dry_run = False  # the strict device computes in float32 either way: a repeat of the fp32 step
        table += [_bench(f"bench-{engine}-fp32", engine, FP32), tf32]
    for block in (128, 256, 512):
        sweep = _bench(f"sweep-cuda-block{block}", "cuda", {**FP32, "MINIALEXNET_CUDA_BLOCK": str(block)}, per_layer=False)
        sweep.in_dry_run = block == 128
        table.append(sweep)
    train = ["--device", "gpu", "--config", "mini", "--data", "sample", "--out", "{out}/short", "--overwrite"]
    dry_train = [*train, *TINY_TRAINING]
    table.append(Step("train-short", [*train, "--epochs", "2"], dry_train, 30, engine="cuda", module="minialexnet.train"))
    evaluate = ["--checkpoint", "{out}/short/last.npz", "--data", "sample"]
    table.append(Step("evaluate-gpu", [*evaluate, "--device", "gpu"], [*evaluate, "--device", "gpu"], 10, module="minialexnet.evaluate"))
    table.append(
        Step(
            "evaluate-cpu",
            [*evaluate, "--device", "cpu"],
            [*evaluate, "--device", "cpu"],
            10,
            module="minialexnet.evaluate",
            compare_output_with="evaluate-gpu",
        )
    )
    recipe = ["--lr", "0.01", "--momentum", "0.9", "--weight-decay", "5e-4", "--init", "paper"]
    fashion = ["--device", "gpu", "--config", "fashion", "--data", "fashion-mnist", "--epochs", "10", "--batch-size", "128", *recipe]
    tiny = ["--device", "gpu", "--config", "mini", "--data", "sample", *TINY_TRAINING, *recipe]
    for engine in ("cuda",):
        out = ["--out", "{out}/fashion-" + engine, "--overwrite"]
        # the dry run leaves it out: its tiny twin would repeat train-short, the slowest step in the simulator
        table.append(Step(f"fashion-{engine}", fashion + out, tiny + out, 200, engine=engine, module="minialexnet.train", in_dry_run=False))
    torch_fashion = [*fashion, "--json", "{out}/fashion-torch.json"]
    torch_tiny = [*tiny, "--json", "{out}/fashion-torch.json"]
    torch_tiny[torch_tiny.index("gpu")] = "cpu"  # PyTorch's CPU build in the dry run
    table.append(Step("fashion-torch", torch_fashion, torch_tiny, 90, script=RECIPE))
    return table


def command(step: Step, dry: bool, out: Path) -> list[str]:
    """The argv of ``step``."""
    args = [a.replace("{out}", str(out)) for a in (step.dry if dry else step.full)] + _engine_flag(step.engine)
    if step.script is not None:
        return [sys.executable, step.script, *args]
    on_gpu = "gpu" in args and args[args.index("gpu") - 1] == "--device"
    if dry and on_gpu:
        return [sys.executable, STRICT, step.module, *args]
    return [sys.executable, "-m", step.module, *args]


class Report:
    """verify.json (rewritten after every step) and verify.log (appended as output arrives)."""

    def __init__(self, out: Path, mode: str) -> None:
        out.mkdir(parents=True, exist_ok=True)
        self.json, self.log = out / "verify.json", out / "verify.log"
        self.results: dict = {"mode": mode, "started": time.strftime("%Y-%m-%d %H:%M:%S %Z"), "steps": []}
        self.log.write_text(f"verify ({mode}) {self.results['started']}\n")
        self.write()

    def write(self) -> None:
        self.json.write_text(json.dumps(self.results, indent=1) + "\n")

    def add(self, entry: dict) -> None:
        self.results["steps"].append(entry)
        self.write()


def run_step(step: Step, argv: list[str], env: dict[str, str], report: Report, timeout: float) -> dict:
    """Run one command, its output going straight into the log; returns its entry for verify.json."""
    start = time.perf_counter()
    with report.log.open("a") as log:
        log.write(f"\n=== {step.name}: {' '.join(argv)}\n")
        log.flush()
        first = log.tell()
        try:
            returncode = subprocess.run(
                argv, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=ROOT, timeout=timeout, check=False
            ).returncode
            status = "ok" if returncode == 0 else "failed"
        except subprocess.TimeoutExpired:
            returncode, status = None, "timed out"
    with report.log.open() as log:
        log.seek(first)
        lines = log.read().splitlines()
    return {"name": step.name, "status": status, "returncode": returncode, "wall_s": round(time.perf_counter() - start, 1),
            "command": argv, "tail": lines[-15:]}  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python benchmarks/gpu/verify.py", description=__doc__.split("\n\n")[0])
    parser.add_argument("--dry-run", action="store_true", help="the same steps on this CPU: strict device, numba's simulator, tiny sizes")
    parser.add_argument("--bench-only", action="store_true", help="only the benchmarks and the block-size sweep")
    parser.add_argument("--out", default=os.environ.get("OUT"), help="results folder (default: $OUT)")
    parser.add_argument("--budget", type=float, default=None, help="seconds for the whole run (default: 540; 180 with --bench-only)")
    parser.add_argument("--only", default=None, help="comma-separated step names (default: all)")
    args = parser.parse_args(argv)
    if args.out is None:
        parser.error("no results folder: pass --out DIR or set OUT")
    out = Path(args.out).resolve()
    budget = args.budget if args.budget is not None else 180.0 if args.bench_only else 540.0
    table = [s for s in steps() if (s.bench or not args.bench_only) and (args.only is None or s.name in args.only.split(","))]
    table = [s for s in table if s.in_dry_run or not args.dry_run]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    env.setdefault("MINIALEXNET_DATA", str(ROOT / ".gpu-data"))
    if args.dry_run:
        env["NUMBA_ENABLE_CUDASIM"] = "1"
    elif any("fashion-mnist" in s.full for s in table) and not Path(env["MINIALEXNET_DATA"]).is_dir():
        print(f"verify: no Fashion-MNIST in {env['MINIALEXNET_DATA']}; copy its four *-ubyte.gz files there or set MINIALEXNET_DATA")
        return 2
    report = Report(out, "dry run" if args.dry_run else "bench only" if args.bench_only else "full")
    start, outputs, failures = time.perf_counter(), {}, 0
    for step in table:
        argv_step = command(step, args.dry_run, out)
        left = budget - (time.perf_counter() - start)
        if not args.dry_run and left < step.estimate_s:
            entry = {
                "name": step.name,
                "status": "skipped",
                "why": f"{left:.0f} s left of the budget, the step needs about {step.estimate_s:.0f}",
            }
        else:
            entry = run_step(step, argv_step, {**env, **step.env}, report, timeout=left if not args.dry_run else 600)
            outputs[step.name] = entry["tail"][-3:]  # evaluate's summary: top-1 error, top-5 error, loss
            if step.compare_output_with is not None and entry["status"] == "ok":
                same = outputs.get(step.compare_output_with) == outputs[step.name]
                entry["same_as_" + step.compare_output_with] = same
                if not same:
                    entry["status"] = "differs"
        failures += entry["status"] not in ("ok", "skipped")
        print(f"verify: {step.name}: {entry['status']}" + (f" ({entry['wall_s']} s)" if "wall_s" in entry else ""), flush=True)
        report.add(entry)
    report.results["wall_s"] = round(time.perf_counter() - start, 1)
    report.write()
    print(f"verify: {len(table) - failures} of {len(table)} steps ok or skipped; results in {out}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
