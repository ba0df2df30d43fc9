"""Grading benchmarks, run by hand: `python bench/grading.py [--batch N] [--repeat K]`.

Measures, side by side in one run on this machine:
1. sandboxed `dlgrade grade` of the reference vs the same suite in-process (target ratio <= 1.3);
2. a batch of N copies of the reference graded with --jobs 2 vs one at a time (target speed-up >= 1.7);
3. `dlgrade check activations` wall time (target under 1 s), and whether torch was imported.
Every figure is a wall-clock median over --repeat runs, interleaved so load affects both sides alike.
"""

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DLGRADE = [sys.executable, "-m", "grader"]


def timed(command, **options) -> float:
    started = time.perf_counter()
    completed = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, **options)
    elapsed = time.perf_counter() - started
    if completed.returncode != 0:
        raise SystemExit(f"failed: {' '.join(map(str, command))}\n{completed.stderr[-2000:]}")
    return elapsed


def median_of(commands: dict, repeat: int) -> dict:
    samples = {name: [] for name in commands}
    for _ in range(repeat):
        for name, command in commands.items():
            samples[name].append(timed(command))
    return {name: statistics.median(values) for name, values in samples.items()}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=20, help="submissions in the batch benchmark")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--skip-batch", action="store_true")
    arguments = parser.parse_args()
    solutions = ROOT / "solutions"

    print("1. one submission, the whole public suite: sandboxed vs in-process")
    single = median_of(
        {
            "sandboxed": DLGRADE + ["grade", solutions, "--format", "json", "--no-hidden"],
            "in-process": DLGRADE + ["grade", solutions, "--format", "json", "--no-hidden", "--in-process"],
        },
        arguments.repeat,
    )
    print(
        f"   sandboxed {single['sandboxed']:.2f} s, in-process {single['in-process']:.2f} s, "
        f"ratio {single['sandboxed'] / single['in-process']:.2f} (target <= 1.3)"
    )

    print("3. dlgrade check activations")
    check = median_of(
        {"check": DLGRADE + ["check", "activations", "--submission", solutions]}, max(5, arguments.repeat)
    )
    imports = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "grader", "check", "activations", "--submission", solutions],
        cwd=ROOT,
        capture_output=True,
        text=True,
    ).stderr
    torch_imported = any(line.rsplit("|", 1)[-1].strip().split(".")[0] == "torch" for line in imports.splitlines())
    print(f"   {check['check']:.2f} s (target < 1 s); torch imported by the grader: {torch_imported}")

    if arguments.skip_batch:
        return
    print(f"2. a batch of {arguments.batch} submissions: --jobs 2 vs --jobs 1")
    with tempfile.TemporaryDirectory() as temporary:
        submissions = []
        for index in range(arguments.batch):
            target = Path(temporary) / f"student{index:02d}"
            shutil.copytree(solutions, target)
            submissions.append(target)
        times = {}
        for jobs in (1, 2):
            out = Path(temporary) / f"out{jobs}"
            times[jobs] = timed(
                DLGRADE + ["grade", *submissions, "--out", out, "--jobs", str(jobs), "--quiet", "--no-hidden"]
            )
        print(
            f"   --jobs 1 {times[1]:.1f} s, --jobs 2 {times[2]:.1f} s, speed-up {times[1] / times[2]:.2f} "
            "(target >= 1.7)"
        )


if __name__ == "__main__":
    main()
