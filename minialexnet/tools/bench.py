"""Benchmarks: ``python -m minialexnet.bench --config paper --batch-size 32 --compare torch``.

Times a full training step (forward, loss, backward, the paper's SGD update) and the
forward pass alone, as the median of ``--steps`` steps after ``--warmup`` steps. With
``--compare torch`` the same network is built in PyTorch (``minialexnet.tools.interop.to_torch``:
same weights, LRN with alpha = size * alpha, same batch) in the same process and timed in
alternating rounds, so both see the same machine load; the table gives the ratio
minialexnet / PyTorch.

Peak memory is measured in a fresh child process per framework (one step, then the
process's peak resident set size on the CPU, or the memory pool's peak on a GPU), so
neither framework's allocations count against the other.

The step's effective GFLOP/s (multiply-add = 2 FLOPs; forward, dW and dX, no dX for conv1)
is printed beside the machine's measured float32 GEMM rate.

Data parallelism (distributed.py): ``mpiexec -n K python -m minialexnet.bench --distributed
--baseline one.json`` times the data-parallel step (each rank's share of ``--batch-size``,
then the flat allreduce, then SGD), the share of it spent in the allreduce, and the scaling
efficiency against a one-process run saved with ``--json one.json``: (T1 x W1) / (TK x WK),
where W is the workers used (threads on the CPU, GPUs on GPUs), so 1.0 means the K ranks
used their cores or GPUs as well as one process did.

``--smoke`` only checks that the benchmark runs (one step, a small GEMM, no memory
children), as the tests do on every device; its figures are not measurements.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from minialexnet.backend import DeviceUnavailableError, get_array_module, synchronize, to_device
from minialexnet.engines import ENGINE_CHOICES, ENGINE_HELP, engine_module, optimizer_class
from minialexnet.fast.parallel import matmul, one_thread_blas_found
from minialexnet.models import CONFIGS, CONV_ALGORITHMS, AlexNet, alexnet
from minialexnet.threads import THREAD_ENV_NAMES, get_num_threads
from minialexnet.training.cli import Parser, non_negative_int, positive_int, select_device
from minialexnet.training.cli import device_name as device_option


def training_flops(model: AlexNet) -> float:
    """FLOPs of one training step per image: 2 x (forward + dW + dX) multiply-adds, no dX for conv1."""
    rows = model.layer_table()
    forward = sum(row["macs"] for row in rows)
    first = rows[0]["macs"] if not getattr(rows[0]["layer"], "need_input_grad", True) else 0
    return 2.0 * (3 * forward - first)


def conv_layers(model: AlexNet) -> str:
    """Which algorithm computes each convolution, e.g. ``conv1 im2col, conv2 winograd F(4x4, 5x5), ...``."""
    return ", ".join(f"{row['name']} {row['algorithm']}" for row in model.layer_table() if row["algorithm"])


def gemm_rate(xp: Any, size: int = 2048, repeats: int = 5) -> float:
    """Measured float32 GEMM GFLOP/s of the products the layers use (``parallel.matmul``) on size x size matrices (best of ``repeats``)."""
    rng = np.random.default_rng(0)
    a = xp.asarray(rng.standard_normal((size, size), dtype=np.float32))
    b = xp.asarray(rng.standard_normal((size, size), dtype=np.float32))
    matmul(a, b)
    synchronize(xp)
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        matmul(a, b)
        synchronize(xp)
        best = min(best, time.perf_counter() - started)
    return 2.0 * size**3 / best / 1e9


class MiniAlexNetRunner:
    """One training step and one forward pass of a minialexnet model on a fixed batch."""

    name = "minialexnet"

    def __init__(
        self, config: str, batch_size: int, device: str, dtype: Any, seed: int = 0, conv_algorithm: str = "auto", engine: str = "auto"
    ) -> None:
        self.model = alexnet(config, seed=seed, engine=engine, conv=conv_algorithm, device=device).astype(dtype).to(device)
        shape = (batch_size, *self.model.input_shape)
        rng = np.random.default_rng(seed)
        # inputs at the scale the config trains on: 0..255 minus the mean, or standardised
        scale = 60.0 if self.model.config.default_scale == "paper" else 1.0
        self.x = to_device((rng.standard_normal(shape) * scale).astype(dtype), device)
        self.y = to_device(rng.integers(0, self.model.config.num_classes, batch_size), device)
        layers = engine_module(engine, device)
        self.loss = layers.SoftmaxCrossEntropy()
        self.optimizer = optimizer_class(engine, device)(0.01, 0.9, 5e-4)
        self.xp = get_array_module(self.x)

    def step(self) -> None:
        logits = self.model.forward(self.x, train=True)
        self.loss.forward(logits, self.y)
        self.model.backward(self.loss.backward())
        self.optimizer.step(self.model.params, self.model.grads)
        synchronize(self.xp)

    def forward(self) -> None:
        self.model.forward(self.x, train=False)
        synchronize(self.xp)

    def per_layer(self, repeats: int = 3) -> list[dict[str, Any]]:
        """Median forward and backward time of each layer inside a training step, and each convolution's algorithm."""
        times: dict[str, dict[str, list[float]]] = {name: {"forward": [], "backward": []} for name, _ in self.model}
        for _ in range(repeats + 1):
            h = self.x
            for name, layer in self.model:
                started = time.perf_counter()
                h = layer.forward(h, train=True)
                synchronize(self.xp)
                times[name]["forward"].append(time.perf_counter() - started)
            self.loss.forward(h, self.y)
            grad = self.loss.backward()
            for name, layer in reversed(list(self.model)):
                started = time.perf_counter()
                grad = layer.backward(grad)
                synchronize(self.xp)
                times[name]["backward"].append(time.perf_counter() - started)
                if grad is None:
                    break
        algorithms = {row["name"]: row["algorithm"] for row in self.model.layer_table()}  # convolutions only
        rows = []
        for name, entry in times.items():
            forward = statistics.median(entry["forward"][1:])
            backward = statistics.median(entry["backward"][1:]) if entry["backward"] else 0.0
            rows.append({"layer": name, "forward_s": forward, "backward_s": backward, "algorithm": algorithms[name]})
        return rows


class TorchRunner:
    """The same network, weights and batch in PyTorch (CPU, or CUDA for --device gpu)."""

    name = "pytorch"

    def __init__(self, source: MiniAlexNetRunner, device: str) -> None:
        import torch
        from torch import nn

        from minialexnet.tools.interop import to_torch

        self.torch = torch
        self.device = "cuda" if device.startswith("gpu") else "cpu"
        self.model = to_torch(source.model, self.device)
        self.x = torch.from_numpy(np.asarray(_host(source.x))).to(self.device)
        self.y = torch.from_numpy(np.asarray(_host(source.y))).to(self.device)
        self.loss = nn.CrossEntropyLoss()
        self.optimizer = torch.optim.SGD(self.model.parameters(), lr=0.01, momentum=0.9, weight_decay=5e-4)

    def _sync(self) -> None:
        if self.device == "cuda":
            self.torch.cuda.synchronize()

    def step(self) -> None:
        self.model.train()
        self.optimizer.zero_grad(set_to_none=True)
        self.loss(self.model(self.x), self.y).backward()
        self.optimizer.step()
        self._sync()

    def forward(self) -> None:
        self.model.eval()
        with self.torch.no_grad():
            self.model(self.x)
        self._sync()


def _host(array: Any) -> np.ndarray:
    from minialexnet.backend import asnumpy

    return asnumpy(array)


def _time(function: Callable[[], None], steps: int) -> list[float]:
    times = []
    for _ in range(steps):
        started = time.perf_counter()
        function()
        times.append(time.perf_counter() - started)
    return times


def time_runners(runners: list[Any], steps: int, warmup: int, rounds: int) -> dict[str, dict[str, float]]:
    """Median step and forward times, alternating the runners in ``rounds`` rounds."""
    for runner in runners:
        for _ in range(warmup):
            runner.step()
            runner.forward()
    samples: dict[str, dict[str, list[float]]] = {r.name: {"step": [], "forward": []} for r in runners}
    per_round = max(1, steps // rounds)
    for _ in range(rounds):
        for runner in runners:
            samples[runner.name]["step"] += _time(runner.step, per_round)
            samples[runner.name]["forward"] += _time(runner.forward, per_round)
    return {
        name: {"step_s": statistics.median(s["step"]), "forward_s": statistics.median(s["forward"]), "steps": len(s["step"])}
        for name, s in samples.items()
    }


def peak_memory(
    framework: str, config: str, batch_size: int, device: str, dtype: str, conv_algorithm: str = "auto", engine: str = "auto"
) -> float | None:
    """Peak memory (bytes) of one training step, measured in a fresh child process."""
    command = [sys.executable, "-m", "minialexnet.bench", "--memory-child", framework, "--config", config, "--batch-size", str(batch_size)]
    command += ["--device", device, "--dtype", dtype, "--conv", conv_algorithm, "--engine", engine]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        return None
    return float(result.stdout.strip().splitlines()[-1])


def _memory_child(framework: str, config: str, batch_size: int, device: str, dtype: Any, conv_algorithm: str, engine: str) -> float:
    runner: Any = MiniAlexNetRunner(config, batch_size, device, dtype, conv_algorithm=conv_algorithm, engine=engine)
    if framework == "pytorch":
        runner = TorchRunner(runner, device)
    if device.startswith("gpu"):
        if framework == "pytorch":
            runner.torch.cuda.reset_peak_memory_stats()
            runner.step()
            return float(runner.torch.cuda.max_memory_allocated())
        import cupy

        pool = cupy.get_default_memory_pool()
        runner.step()
        return float(pool.total_bytes())
    runner.step()
    return float(_peak_rss())


def _peak_rss() -> int:
    """This process's peak resident set size in bytes.

    VmHWM belongs to the process's own address space, which exec starts afresh; ru_maxrss
    would also count the parent's peak from before the fork.
    """
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def format_table(result: dict[str, Any]) -> str:
    lines = [
        f"config {result['config']}, batch {result['batch_size']}, {result['device']} ({result['device_name']}), {result['dtype']}, "
        f"threads: {result['threads']}",
        f"float32 GEMM ({result['gemm_size']}^3, xp.matmul): {result['gemm_gflops']:.1f} GFLOP/s; "
        f"convolutions: {result.get('conv_layers', '-')}",
        "",
        f"{'':<22}{'minialexnet':>14}{'pytorch':>14}{'ratio':>10}",
    ]
    ours, theirs = result["minialexnet"], result.get("pytorch")

    def row(label: str, mine: float | None, other: float | None, unit: str, scale: float) -> str:
        mine_text = f"{mine * scale:.1f} {unit}" if mine is not None else "-"
        other_text = f"{other * scale:.1f} {unit}" if other is not None else "-"
        ratio = f"{mine / other:.2f}x" if mine is not None and other else "-"
        return f"{label:<22}{mine_text:>14}{other_text:>14}{ratio:>10}"

    lines.append(row("training step", ours["step_s"], theirs and theirs["step_s"], "ms", 1e3))
    lines.append(row("forward only", ours["forward_s"], theirs and theirs["forward_s"], "ms", 1e3))
    lines.append(row("peak memory", ours.get("peak_bytes"), theirs and theirs.get("peak_bytes"), "MiB", 1 / 2**20))
    flops = result["train_flops_per_image"] * result["batch_size"]
    lines.append("")
    lines.append(
        f"step: {flops / 1e9:.2f} GFLOP -> minialexnet {flops / ours['step_s'] / 1e9:.1f} GFLOP/s "
        f"({100 * flops / ours['step_s'] / 1e9 / result['gemm_gflops']:.0f}% of the GEMM rate)"
        + (f", pytorch {flops / theirs['step_s'] / 1e9:.1f} GFLOP/s" if theirs else "")
    )
    if "winograd" in result.get("conv_layers", ""):
        lines.append("(effective rate: FLOPs of direct convolution; the Winograd layers multiply less, see fast/winograd.py)")
    if result.get("per_layer"):
        total = sum(r["forward_s"] + r["backward_s"] for r in result["per_layer"])
        lines += ["", f"{'layer':<10}{'forward':>12}{'backward':>12}{'share':>9}  algorithm"]
        for r in result["per_layer"]:
            share = (r["forward_s"] + r["backward_s"]) / total
            line = f"{r['layer']:<10}{r['forward_s'] * 1e3:>9.1f} ms{r['backward_s'] * 1e3:>9.1f} ms{share:>8.1%}  {r['algorithm']}"
            lines.append(line.rstrip())
    return "\n".join(lines)


def workers(device: str) -> int:
    """What one process computes with: its threads on the CPU, one GPU on a GPU."""
    return 1 if device.startswith("gpu") else get_num_threads()


def bench_distributed(args: argparse.Namespace) -> int:
    """The data-parallel step over the MPI job's ranks: step time, allreduce share, scaling efficiency (module docstring)."""
    from minialexnet.multi.distributed import DataParallel, DistributedError, setup, share

    try:
        comm, device = setup(args.device)
    except DistributedError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    part = share(args.batch_size, comm.rank, comm.size)
    runner = MiniAlexNetRunner(
        args.config, part.stop - part.start, device, np.dtype(args.dtype), conv_algorithm=args.conv, engine=args.engine
    )
    parallel = DataParallel(comm, runner.model)
    steps, allreduces = [], []
    for index in range(args.warmup + args.steps):
        comm.barrier()  # every rank starts the step together, so the allreduce times only the communication and the wait
        started = time.perf_counter()
        runner.loss.forward(runner.model.forward(runner.x, train=True), runner.y)
        runner.model.backward(runner.loss.backward())
        synchronize(runner.xp)
        reduce_started = time.perf_counter()
        parallel.allreduce_gradients(part.stop - part.start, args.batch_size)
        synchronize(runner.xp)
        reduce_time = time.perf_counter() - reduce_started
        runner.optimizer.step(runner.model.params, runner.model.grads)
        synchronize(runner.xp)
        if index >= args.warmup:
            steps.append(time.perf_counter() - started)
            allreduces.append(reduce_time)
    step_s = statistics.median(max(t) for t in zip(*comm.comm.allgather(steps), strict=True))  # each step lasts as long as its slowest rank
    allreduce_s = statistics.median(allreduces)
    result: dict[str, Any] = {
        "config": args.config,
        "batch_size": args.batch_size,
        "ranks": comm.size,
        "device": args.device,
        "threads": thread_settings(),
        "workers": comm.size * workers(device),
        "step_s": step_s,
        "allreduce_s": allreduce_s,
        "allreduce_bytes": int(parallel.flat.nbytes),
    }
    lines = [
        f"data parallel: config {args.config}, global batch {args.batch_size} over {comm.size} ranks, {args.device}, {args.dtype}; "
        f"threads: {result['threads']}",
        f"step (slowest rank, median of {args.steps}): {step_s * 1e3:.1f} ms; allreduce of {result['allreduce_bytes'] / 2**20:.1f} MiB "
        f"(rank 0): {allreduce_s * 1e3:.1f} ms = {allreduce_s / step_s:.0%} of the step",
    ]
    if args.baseline:
        with open(args.baseline) as file:
            baseline = json.load(file)
        one = baseline["minialexnet"]["step_s"]
        result["baseline_step_s"] = one
        result["efficiency"] = one * baseline["workers"] / (step_s * result["workers"])
        lines.append(
            f"one process ({baseline['workers']} workers, {args.baseline}): {one * 1e3:.1f} ms -> speedup {one / step_s:.2f}x, "
            f"scaling efficiency {result['efficiency']:.2f} ({comm.size} ranks, {result['workers']} workers)"
        )
    if comm.rank == 0:
        print("\n".join(lines))
        if args.json:
            with open(args.json, "w") as file:
                json.dump(result, file, indent=2)
    return 0


def thread_settings() -> str:
    names = (*THREAD_ENV_NAMES, "MKL_NUM_THREADS")
    settings = ", ".join(f"{name}={os.environ[name]}" for name in names if name in os.environ) or "no thread variables set"
    blas = "OpenBLAS one thread per piece" if one_thread_blas_found() else "the BLAS's own threads (not OpenBLAS: threadpoolctl found none)"
    return f"{settings}; minialexnet threads {get_num_threads()}; products: {blas}"


def main(argv: list[str] | None = None) -> int:
    parser = Parser(
        prog="python -m minialexnet.bench",
        description="Time a training step (forward, loss, backward, SGD) and the forward pass; with --compare torch, PyTorch's "
        "on the same network in alternating rounds, and the ratio.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--config", default="mini", choices=sorted(CONFIGS), help="the network to time (see minialexnet.models)")
    parser.add_argument("--batch-size", type=positive_int, default=128, help="images a step")
    parser.add_argument("--device", type=device_option, default="cpu", help="cpu, gpu or gpu:N")
    parser.add_argument("--dtype", default="float32", choices=("float32", "float64"), help="the parameters' and activations' type")
    parser.add_argument("--steps", type=positive_int, default=10, help="timed steps per framework")
    parser.add_argument("--warmup", type=non_negative_int, default=2, help="untimed steps first")
    parser.add_argument("--rounds", type=positive_int, default=5, help="alternations between the frameworks")
    parser.add_argument("--engine", default="auto", choices=ENGINE_CHOICES, help=ENGINE_HELP)
    parser.add_argument(
        "--conv", default="auto", choices=CONV_ALGORITHMS, help="the fast engine's convolution algorithm (auto: its choice)"
    )
    parser.add_argument("--per-layer", action="store_true", help="time each layer's forward and backward")
    parser.add_argument("--compare", choices=("torch",), default=None, help="also time PyTorch on the same network")
    parser.add_argument("--no-memory", action="store_true", help="skip the peak-memory child processes")
    parser.add_argument("--json", default=None, metavar="FILE", help="also write the results as JSON")
    parser.add_argument("--distributed", action="store_true", help="time data-parallel steps over the ranks of an MPI job (mpiexec)")
    parser.add_argument("--baseline", default=None, metavar="FILE", help="with --distributed: a one-process --json result to compare with")
    parser.add_argument(
        "--smoke", action="store_true", help="only check that it runs: 1 step, no warm-up or memory, a small GEMM (the times mean nothing)"
    )
    parser.add_argument("--memory-child", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.smoke:
        args.steps, args.warmup, args.rounds, args.no_memory = 1, 0, 1, True
    dtype = np.dtype(args.dtype)
    try:
        select_device(args.device, args.engine)
    except (DeviceUnavailableError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    if args.distributed:
        return bench_distributed(args)
    if args.memory_child:
        print(_memory_child(args.memory_child, args.config, args.batch_size, args.device, dtype, args.conv, args.engine))
        return 0
    ours = MiniAlexNetRunner(args.config, args.batch_size, args.device, dtype, conv_algorithm=args.conv, engine=args.engine)
    runners: list[Any] = [ours]
    if args.compare == "torch":
        try:
            runners.append(TorchRunner(ours, args.device))
        except ImportError:
            print("PyTorch is not installed: timing minialexnet alone (pip install torch==2.13.0 to compare)", file=sys.stderr)
    xp = ours.xp
    device_name = "CPU" if xp is np else xp.cuda.runtime.getDeviceProperties(xp.cuda.Device().id)["name"].decode()
    gemm_size = 256 if args.smoke else 2048 if xp is np else 8192
    result: dict[str, Any] = {
        "config": args.config,
        "batch_size": args.batch_size,
        "device": args.device,
        "device_name": device_name,
        "dtype": args.dtype,
        "threads": thread_settings(),
        "gemm_size": gemm_size,
        "gemm_gflops": gemm_rate(xp, gemm_size),
        "train_flops_per_image": training_flops(ours.model),
        "conv_layers": conv_layers(ours.model),
        "workers": workers(args.device),
    }
    result.update(time_runners(runners, args.steps, args.warmup, args.rounds))
    if not args.no_memory:
        for runner in runners:
            result[runner.name]["peak_bytes"] = peak_memory(
                runner.name, args.config, args.batch_size, args.device, args.dtype, args.conv, args.engine
            )
    if args.per_layer:
        result["per_layer"] = ours.per_layer()
    print(format_table(result))
    if args.smoke:
        print("(smoke run: a single step without warm-up; the figures above are not measurements)")
    if args.json:
        with open(args.json, "w") as file:
            json.dump(result, file, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
