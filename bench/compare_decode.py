#!/usr/bin/env python3
"""Greedy decoding (BM_GreedyDecode20: 20 source tokens, 20 output tokens)
of two Loom builds and of PyTorch, interleaved and repeated, for the
before/after tables of docs/PERFORMANCE.md. Reuses compare_pytorch.py's
measurements (same PyTorch worker, same thread settings).

  /usr/bin/python3 bench/compare_decode.py --before /tmp/base/build --after build --reps 3
"""
import argparse
import os
import statistics
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import compare_pytorch as cp  # noqa: E402


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--before", required=True, help="build folder of the baseline (bench_seq2seq)")
    p.add_argument("--after", required=True, help="build folder of the change")
    p.add_argument("--configs", nargs="+", default=cp.DECODE_CONFIGS, choices=cp.DECODE_CONFIGS)
    p.add_argument("--threads", nargs="+", type=int, default=[1, 2])
    p.add_argument("--reps", type=int, default=3)
    p.add_argument("--seconds", type=float, default=2.0)
    a = p.parse_args()
    coretype = cp.openblas_coretype(cp.cpu_flags())
    jobs = [(c, t) for c in a.configs for t in a.threads]
    sides = {"before": lambda c, t: cp.loom_ms(a.before, f"BM_GreedyDecode20/{cp.DECODE_CONFIGS.index(c)}", t,
                                               a.seconds)[0],
             "after": lambda c, t: cp.loom_ms(a.after, f"BM_GreedyDecode20/{cp.DECODE_CONFIGS.index(c)}", t,
                                              a.seconds)[0],
             "torch": lambda c, t: cp.torch_ms("decode", c, t, a.seconds, coretype)[0]}
    results = {j: {s: [] for s in sides} for j in jobs}
    for rep in range(a.reps):
        for job in jobs:
            order = list(sides) if rep % 2 == 0 else list(sides)[::-1]  # alternate who goes first
            for side in order:
                results[job][side].append(sides[side](*job))
            r = results[job]
            print(f"# rep {rep + 1} {job[0]} {job[1]}t: " + ", ".join(f"{s} {r[s][-1]:.2f} ms" for s in sides),
                  file=sys.stderr)
    print("| config | threads | before ms | after ms | PyTorch ms | after/before speed-up | PyTorch/after |")
    print("|---|---|---|---|---|---|---|")
    for (config, threads), r in results.items():
        med = {s: statistics.median(v) for s, v in r.items()}
        print(f"| {config} | {threads} | {cp.spread(r['before'])} | {cp.spread(r['after'])} | {cp.spread(r['torch'])} "
              f"| {med['before'] / med['after']:.2f}x | {med['torch'] / med['after']:.2f}x |")
    print(f"\n{a.reps} interleaved repetitions of {a.seconds:g} s each; medians (min-max); ratios of medians.")


if __name__ == "__main__":
    main()
