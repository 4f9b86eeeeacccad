#!/usr/bin/env python3
"""The cost model of a data-parallel step (docs/DISTRIBUTED.md): each of p
machines computes forward + backward on its own batch in t_compute seconds,
then the gradient (M bytes, cut into k buckets) is summed by a ring allreduce:

    t_allreduce = 2 (p-1)/p * M / bandwidth  +  2 (p-1) * k * latency

Per-machine batches stay fixed as p grows (weak scaling), so the efficiency
is t_compute / (t_compute + t_exposed), with t_exposed the allreduce time
backward does not hide: all of it without overlap, the excess over the
backward time (about 2/3 of t_compute) with overlap.

usage: mpi_cost_model.py --small-ms MS --medium-ms MS [--check BYTES_PER_S LATENCY_S]
(the measured step times of one machine). Prints the table for the small and
medium configurations on 10 and 100 Gb/s; --check predicts the allreduce of
2 ranks on a link of that bandwidth and latency.
"""
import argparse

# Gradient bytes and buckets (of 4 MiB or one large parameter), as `loom train` prints them under mpirun.
GRADIENTS = {"small": (9.31e6, 2), "medium": (61.8e6, 5)}
# Usable TCP bandwidth (90 % of the line rate) and one message's latency.
NETWORKS = {"10 Gb/s": (0.9 * 10e9 / 8, 30e-6), "100 Gb/s": (0.9 * 100e9 / 8, 10e-6)}
BACKWARD_SHARE = 2 / 3


def allreduce_s(p, grad_bytes, buckets, bandwidth, latency):
    return 2 * (p - 1) / p * grad_bytes / bandwidth + 2 * (p - 1) * buckets * latency


def efficiency(compute_s, comm_s, overlap):
    exposed = max(0.0, comm_s - BACKWARD_SHARE * compute_s) if overlap else comm_s
    return compute_s / (compute_s + exposed)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--small-ms", type=float, required=True)
    parser.add_argument("--medium-ms", type=float, required=True)
    parser.add_argument("--check", type=float, nargs=2, metavar=("BYTES_PER_S", "LATENCY_S"))
    args = parser.parse_args()
    step_ms = {"small": args.small_ms, "medium": args.medium_ms}
    print("| config | network | machines | allreduce ms | efficiency, no overlap | with overlap |")
    print("|---|---|---|---|---|---|")
    for name, (grad_bytes, buckets) in GRADIENTS.items():
        for net, (bandwidth, latency) in NETWORKS.items():
            for p in (4, 16, 64):
                comm = allreduce_s(p, grad_bytes, buckets, bandwidth, latency)
                compute = step_ms[name] / 1e3
                print(f"| {name} ({step_ms[name]:.0f} ms) | {net} | {p} | {1e3 * comm:.1f} | "
                      f"{100 * efficiency(compute, comm, False):.0f} % | {100 * efficiency(compute, comm, True):.0f} % |")
    if args.check:
        bandwidth, latency = args.check
        for name, (grad_bytes, buckets) in GRADIENTS.items():
            print(f"{name}: 2 ranks at {bandwidth / 1e9:.1f} GB/s, {latency * 1e6:.0f} us: "
                  f"{1e3 * allreduce_s(2, grad_bytes, buckets, bandwidth, latency):.2f} ms per allreduce")


if __name__ == "__main__":
    main()
