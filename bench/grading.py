"""Grading benchmarks, run by hand: `python bench/grading.py [--batch N] [--repeat K] [--suite]`.

Prints, measured side by side in one run on this machine, the four figures
issue 12 set targets for:
1. the marginal cost of one more submission in a batch of N (`--jobs 1`)
   over a cold single `dlgrade grade` of the same submission (target <= 0.4);
2. sandboxed `dlgrade grade` of the reference over the same suite in-process
   (target <= 1.15);
3. `dlgrade check activations` wall time (target <= 1.0 s, no torch import);
4. with `--suite`: the project's test suite, in minutes (target <= 12).
and where one submission's time goes (start-up, worker boots, checks,
teardown), cold and in a batch's lane. Every figure is a median over
--repeat runs, the compared commands interleaved so load affects both alike.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DLGRADE = [sys.executable, "-m", "grader"]


def timed(command, **options) -> tuple[float, subprocess.CompletedProcess]:
    started = time.perf_counter()
    completed = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, **options)
    elapsed = time.perf_counter() - started
    if completed.returncode not in (0, 1):  # 1: graded, not every point (never for the reference)
        raise SystemExit(f"failed: {' '.join(map(str, command))}\n{completed.stderr[-2000:]}")
    return elapsed, completed


def medians(commands: dict, repeat: int) -> dict:
    samples = {name: [] for name in commands}
    for _ in range(repeat):
        for name, command in commands.items():
            samples[name].append(timed(command)[0])
    return {name: statistics.median(values) for name, values in samples.items()}


def breakdown(result: dict, launched: float, ended: float) -> str:
    """Where one grading's wall time went, from the timings its results.json records."""
    timings = result["extra_data"].get("timings", {})
    if not timings:
        return "no timings recorded"
    boots = timings.get("worker_boots", [])
    phases = {
        "start-up (to pytest configured)": timings["configured"] - launched,
        "collection": timings["collected"] - timings["configured"],
        "checks (every test, worker boots included)": timings["tests_done"] - timings["collected"],
        "teardown and results": ended - timings["tests_done"],
    }
    lines = [f"      {name}: {seconds:.2f} s" for name, seconds in phases.items()]
    lines.append(f"      worker boots (fork to ready): {', '.join(f'{value:.2f} s' for value in boots) or 'none'}")
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=20, help="submissions in the batch (default 20)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--suite", action="store_true", help="also time the project's test suite (long)")
    arguments = parser.parse_args()
    solutions = ROOT / "solutions"
    ratios = {}

    with tempfile.TemporaryDirectory() as temporary:
        temporary = Path(temporary)
        print(f"1. a batch of {arguments.batch} copies of the reference (--jobs 1) vs a cold `dlgrade grade`")
        copies = []
        for index in range(arguments.batch):
            copies.append(temporary / f"student{index:02d}")
            shutil.copytree(solutions, copies[-1])
        cold_samples, batch_samples, one_samples = [], [], []
        for attempt in range(max(1, arguments.repeat - 1)):
            launched = time.time()
            seconds, completed = timed(DLGRADE + ["grade", copies[0], "--format", "json"])
            cold_samples.append(seconds)
            cold_result = json.loads(completed.stdout)
            cold_breakdown = breakdown(cold_result, launched, launched + seconds)
            out = temporary / f"one{attempt}"
            one_samples.append(timed(DLGRADE + ["grade", copies[0], "--out", out, "--quiet"])[0])
            out = temporary / f"batch{attempt}"
            batch_samples.append(timed(DLGRADE + ["grade", *copies, "--out", out, "--quiet"])[0])
        cold, one, batch = (statistics.median(values) for values in (cold_samples, one_samples, batch_samples))
        marginal = (batch - one) / (arguments.batch - 1)
        ratios["marginal / cold"] = (marginal / cold, 0.4)
        print(f"   cold single grade {cold:.2f} s; batch of 1 {one:.2f} s, of {arguments.batch} {batch:.1f} s")
        print(f"   marginal cost of one more submission {marginal:.2f} s: {marginal / cold:.2f}x cold (target <= 0.4)")
        print("   where a cold grading's time goes:")
        print(cold_breakdown)
        lane_results = sorted((temporary / f"batch{attempt}").glob("*/results.json"))
        if lane_results:
            result = json.loads(lane_results[-1].read_text())
            timings = result["extra_data"].get("timings", {})
            print("   where a submission's time goes in a lane (start-up: from the lane's fork):")
            checks = timings.get("tests_done", 0) - timings.get("collected", 0)
            collection = timings.get("collected", 0) - timings.get("configured", 0)
            print(f"      collection: {collection:.2f} s; checks: {checks:.2f} s")
            boots = timings.get("worker_boots", [])
            print(f"      worker boots (fork to ready): {', '.join(f'{value:.2f} s' for value in boots) or 'none'}")

    print("2. the reference, whole suite with hidden tests: sandboxed vs in-process")
    single = medians(
        {
            "sandboxed": DLGRADE + ["grade", solutions, "--format", "json"],
            "in-process": DLGRADE + ["grade", solutions, "--format", "json", "--in-process"],
        },
        arguments.repeat,
    )
    ratios["sandboxed / in-process"] = (single["sandboxed"] / single["in-process"], 1.15)
    print(
        f"   sandboxed {single['sandboxed']:.2f} s, in-process {single['in-process']:.2f} s: "
        f"{single['sandboxed'] / single['in-process']:.2f}x (target <= 1.15)"
    )

    print("3. dlgrade check activations")
    check = medians({"check": DLGRADE + ["check", "activations", "--submission", solutions]}, max(5, arguments.repeat))
    imports = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "grader", "check", "activations", "--submission", solutions],
        cwd=ROOT,
        capture_output=True,
        text=True,
    ).stderr
    torch_imported = any(line.rsplit("|", 1)[-1].strip().split(".")[0] == "torch" for line in imports.splitlines())
    ratios["check activations, s"] = (check["check"], 1.0)
    print(f"   {check['check']:.2f} s (target <= 1.0 s); torch imported by the grader: {torch_imported}")

    if arguments.suite:
        print("4. the project's test suite (python -m pytest -q)")
        started = time.perf_counter()
        completed = subprocess.run([sys.executable, "-m", "pytest", "-q"], cwd=ROOT, capture_output=True, text=True)
        minutes = (time.perf_counter() - started) / 60
        ratios["test suite, min"] = (minutes, 12.0)
        tail = completed.stdout.strip().splitlines()[-1:] or ["no output"]
        print(f"   {minutes:.1f} min (target <= 12): {tail[0]}")

    print()
    print("figure                     measured  target  met")
    for name, (value, target) in ratios.items():
        print(f"{name:<26} {value:>8.2f}  {target:>6.2f}  {'yes' if value <= target else 'NO'}")


if __name__ == "__main__":
    main()
