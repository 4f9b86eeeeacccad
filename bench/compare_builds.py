#!/usr/bin/env python3
"""The translator's speed in two Loom builds, interleaved and repeated: the
synthetic training step (`loom bench --config C`) and real training on the
bundled English-Spanish corpus (`loom train --max-steps N`, the trainer's own
"tokens/s" of its training time). For checking that a change to the layers
above the engine (runtime, trainer) leaves the translator's speed as it was.

  /usr/bin/python3 bench/compare_builds.py --before /tmp/base/build/loom --after build/loom --reps 3
"""
import argparse
import re
import statistics
import subprocess
import tempfile


def bench_ms(loom, config, threads, steps):
    out = subprocess.run([loom, "bench", "--config", config, "--threads", str(threads), "--steps", str(steps)],
                         capture_output=True, text=True, check=True).stdout
    return float(re.search(r"median ([0-9.]+)", out).group(1))


def train_tokens_per_s(loom, threads, steps):
    with tempfile.TemporaryDirectory() as out:
        run = subprocess.run([loom, "train", "--out", out, "--max-steps", str(steps), "--threads", str(threads),
                              "--bleu-sentences", "0", "--seed", "1"], capture_output=True, text=True, check=True)
    return float(re.search(r"([0-9.]+) (?:target )?tokens/s\)", run.stderr).group(1))


def summary(values):
    return f"{statistics.median(values):.1f} ({min(values):.1f}-{max(values):.1f})"


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--before", required=True, help="the baseline's loom binary")
    p.add_argument("--after", required=True, help="the change's loom binary")
    p.add_argument("--configs", nargs="+", default=["tiny", "small"])
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--steps", type=int, default=30, help="steps per loom bench")
    p.add_argument("--train-steps", type=int, default=150, help="steps of real training (0: skip)")
    p.add_argument("--reps", type=int, default=3)
    a = p.parse_args()
    rows = {}
    for _ in range(a.reps):
        for side, loom in (("before", a.before), ("after", a.after)):
            for config in a.configs:
                rows.setdefault((f"step {config} (ms)", side), []).append(bench_ms(loom, config, a.threads, a.steps))
            if a.train_steps:
                rows.setdefault(("real training (tokens/s)", side), []).append(
                    train_tokens_per_s(loom, a.threads, a.train_steps))
    print(f"| measure ({a.threads} threads, {a.reps} interleaved reps) | before: median (min-max) | "
          "after: median (min-max) | after/before |")
    print("|---|---|---|---|")
    for task in dict.fromkeys(t for t, _ in rows):
        before, after = rows[(task, "before")], rows[(task, "after")]
        ratio = statistics.median(after) / statistics.median(before)
        print(f"| {task} | {summary(before)} | {summary(after)} | {ratio:.3f} |")


if __name__ == "__main__":
    main()
