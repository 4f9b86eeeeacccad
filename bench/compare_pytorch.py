#!/usr/bin/env python3
"""Loom against PyTorch at its strongest, side by side in one run.

For each configuration (docs/PERFORMANCE.md: tiny, small, medium, long) and
thread count, runs one training step (forward, backward, global-norm clipping,
Adam) of Loom (bench_seq2seq) and of the PyTorch twin of the same model
(tests/python/loom_torch.py, the one the parity tests use), interleaved and
repeated, then greedy decoding of a 20-token sentence, then real training:
`loom train` with its default model on the bundled English-Spanish corpus for
a few hundred steps, and the PyTorch twin trained on exactly the batches Loom
trained on (written by `loom train --log-batches`), in target tokens per
second, plan compilation and PyTorch's first steps included. Prints medians, the
spread (min-max), the ratio PyTorch/Loom (> 1: Loom is faster), each side's
peak resident memory, the oneDNN sgemm rate measured in the same run, and
which BLAS and kernels PyTorch really used.

PyTorch is set up at its best: the OpenMP build of OpenBLAS (tools/setup.sh
installs it; the pthreads build fights PyTorch's own pool), OPENBLAS_CORETYPE
chosen for this CPU (OpenBLAS 0.3.21 mis-detects recent Intel CPUs and falls
back to SSE3 kernels), threads set explicitly.

  /usr/bin/python3 bench/compare_pytorch.py                 # all, 3 repetitions
  /usr/bin/python3 bench/compare_pytorch.py --configs small --threads 2 --reps 5
  /usr/bin/python3 bench/compare_pytorch.py --configs --no-decode --real-steps 300   # real training only
"""
import argparse
import json
import os
import statistics
import re
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(HERE)
CONFIGS = {"tiny": (16, 8, 32, 64, 200), "small": (32, 16, 128, 256, 2000),
           "medium": (64, 32, 256, 512, 8000), "long": (32, 100, 128, 256, 2000)}
ORDER = list(CONFIGS)
DECODE_CONFIGS = ["tiny", "small"]


def cpu_flags():
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("flags"):
                return set(line.split(":", 1)[1].split())
    return set()


def cpu_model():
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return "unknown CPU"


def openblas_coretype(flags):
    """The OpenBLAS kernels this CPU should get. An explicit setting wins."""
    if os.environ.get("OPENBLAS_CORETYPE"):
        return os.environ["OPENBLAS_CORETYPE"]
    if "avx512f" in flags and "avx512bw" in flags:
        return "SkylakeX"
    if "avx2" in flags:
        return "Zen" if "AMD" in cpu_model() else "Haswell"
    return "Nehalem"


def run_measured(cmd, env, want_stderr=False):
    """Runs cmd; returns (stdout, peak resident MB of that process), and its
    stderr too when asked."""
    p = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    out = p.stdout.read()
    err = p.stderr.read()
    _, status, usage = os.wait4(p.pid, 0)
    p.returncode = os.waitstatus_to_exitcode(status)
    if p.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed ({p.returncode}):\n{err[-2000:]}")
    peak = usage.ru_maxrss / 1024.0
    return (out, peak, err) if want_stderr else (out, peak)


def loom_env(threads):
    env = dict(os.environ, OMP_NUM_THREADS=str(threads))
    return env


def torch_env(threads, coretype):
    return dict(os.environ, OMP_NUM_THREADS=str(threads), OPENBLAS_NUM_THREADS=str(threads),
                OPENBLAS_CORETYPE=coretype)


def loom_ms(build, benchmark_filter, threads, seconds):
    out, peak = run_measured([os.path.join(build, "bench_seq2seq"), f"--benchmark_filter={benchmark_filter}/real_time$",
                              f"--benchmark_min_time={seconds}", "--benchmark_format=json"], loom_env(threads))
    runs = json.loads(out)["benchmarks"]
    if not runs:
        sys.exit(f"bench_seq2seq has no benchmark matching {benchmark_filter}")
    return runs[0]["real_time"], peak  # UseRealTime, unit ms


def torch_ms(task, config, threads, seconds, coretype):
    out, peak = run_measured([sys.executable, os.path.abspath(__file__), "--worker", task, config,
                              str(threads), str(seconds)], torch_env(threads, coretype))
    return json.loads(out.strip().splitlines()[-1])["ms"], peak


def loom_train_rate(build, threads, steps, batch_log, out_dir):
    """Target tokens/s of `loom train` (default model, bundled corpus) over its
    first `steps` steps, from the summary line it prints; logs the batches."""
    cmd = [os.path.join(build, "loom"), "train", "--threads", str(threads), "--max-steps", str(steps),
           "--bleu-sentences", "0", "--out", out_dir, "--overwrite", "--log-batches", batch_log]
    _, peak, err = run_measured(cmd, loom_env(threads), want_stderr=True)
    match = re.search(r"time: training .*?, ([0-9.]+) (?:target )?tokens/s\)", err)
    if not match:
        sys.exit(f"no throughput in the output of {' '.join(cmd)}:\n{err[-2000:]}")
    return float(match.group(1)), peak


def torch_train_rate(batch_log, threads, coretype):
    out, peak = run_measured([sys.executable, os.path.abspath(__file__), "--worker", "train", batch_log,
                              str(threads), "0"], torch_env(threads, coretype))
    return json.loads(out.strip().splitlines()[-1])["tokens_per_s"], peak


def sgemm_rate(build, threads):
    """Best oneDNN sgemm GFLOP/s over the medium configuration's products."""
    out, _ = run_measured([os.path.join(build, "bench_matmul"), "--benchmark_filter=onednn/medium",
                           "--benchmark_min_time=0.2", "--benchmark_format=json"], loom_env(threads))
    rates = [b["GFLOP/s"] for b in json.loads(out)["benchmarks"] if "GFLOP/s" in b]
    return max(rates) if rates else float("nan")


# ---- the PyTorch side, run in a child process per measurement ----

def train_worker(batch_log, threads):
    """Trains the twin on Loom's logged batches, in order, as `loom train`
    does by default (Adam 2e-3, clipping to 1); prints target tokens/s."""
    import torch
    sys.path.insert(0, os.path.join(TOP, "tests", "python"))
    from loom_torch import LoomSeq2Seq
    torch.set_num_threads(threads)
    torch.manual_seed(1)
    with open(batch_log) as f:
        head, *rows = [json.loads(line) for line in f]
    model = LoomSeq2Seq(head["src_vocab"], head["tgt_vocab"], head["embed"], head["hidden"], head["layers"],
                        head["attention"])
    adam = torch.optim.Adam(model.parameters(), lr=2e-3)
    names = ("source", "source_lengths", "target_input", "target_output")
    batches = [[torch.tensor(r[n]) for n in names] for r in rows]
    tokens = sum(r["target_tokens"] for r in rows)
    start = time.perf_counter()
    for source, source_lengths, target_input, target_output in batches:
        adam.zero_grad(set_to_none=True)
        logits, _ = model(source, source_lengths, target_input, (target_output != 0).sum(1))
        model.loss(logits, target_output).backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        adam.step()
    print(json.dumps({"tokens_per_s": tokens / (time.perf_counter() - start)}))


def worker(task, config, threads, seconds):
    if task == "train":
        return train_worker(config, threads)
    import torch
    sys.path.insert(0, os.path.join(TOP, "tests", "python"))
    from loom_torch import LoomSeq2Seq
    torch.set_num_threads(threads)
    torch.manual_seed(1)
    B, S, E, H, V = CONFIGS[config]
    model = LoomSeq2Seq(V, V, E, H)
    if task == "step":
        adam = torch.optim.Adam(model.parameters(), lr=1e-3)
        src, tgt_in, tgt_out = (torch.randint(4, V, (B, S)) for _ in range(3))
        lengths = torch.full((B,), S)

        def once():
            adam.zero_grad(set_to_none=True)
            logits, _ = model(src, lengths, tgt_in, lengths)
            model.loss(logits, tgt_out).backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            adam.step()
    else:
        source = torch.arange(4, 24).unsqueeze(0)

        @torch.no_grad()
        def once():
            enc, state = model.encoder(model.src_embedding(source))
            token = torch.tensor([[2]])
            for _ in range(20):
                dec, state = model.decoder(model.tgt_embedding(token), state)
                weights = torch.softmax(dec @ enc.transpose(1, 2), dim=-1)
                logits = model.out(torch.cat([dec, weights @ enc], dim=-1))
                logits[..., 0] = logits[..., 2] = float("-inf")  # never <pad> or <bos>, as Loom
                token = logits.argmax(-1)
    for _ in range(3):
        once()
    n, start = 0, time.perf_counter()
    while n < 3 or time.perf_counter() - start < seconds:
        once()
        n += 1
    print(json.dumps({"ms": (time.perf_counter() - start) / n * 1e3}))


def blas_report(coretype):
    """Which BLAS library PyTorch loaded and the kernel OpenBLAS chose."""
    code = ("import ctypes, torch\n"
            "torch.ones(64, 64) @ torch.ones(64, 64)\n"
            "libs = sorted({l.split()[-1] for l in open('/proc/self/maps') if 'blas' in l and '.so' in l})\n"
            "core = ''\n"
            "for l in libs:\n"
            "    try:\n"
            "        f = ctypes.CDLL(l).openblas_get_corename; f.restype = ctypes.c_char_p; core = f().decode()\n"
            "    except (OSError, AttributeError):\n"
            "        pass\n"
            "print(torch.__version__, '|', ', '.join(libs), '|', core)\n")
    out = subprocess.run([sys.executable, "-c", code], env=torch_env(1, coretype), capture_output=True,
                         text=True).stdout.strip()
    return out or "(could not ask PyTorch)"


def spread(xs, digits=2):
    return f"{statistics.median(xs):.{digits}f} ({min(xs):.{digits}f}-{max(xs):.{digits}f})"


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "--worker":
        worker(sys.argv[2], sys.argv[3], int(sys.argv[4]), float(sys.argv[5]))
        return
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--build", default=os.path.join(TOP, "build"), help="Loom's build folder (bench_seq2seq)")
    p.add_argument("--configs", nargs="*", default=ORDER, choices=ORDER, help="synthetic steps (none: skip)")
    p.add_argument("--threads", nargs="+", type=int, default=[1, 2])
    p.add_argument("--reps", type=int, default=3, help="interleaved repetitions of every measurement")
    p.add_argument("--seconds", type=float, default=2.0, help="timed seconds per measurement")
    p.add_argument("--no-decode", action="store_true", help="skip greedy decoding")
    p.add_argument("--real-steps", type=int, default=200,
                   help="steps of real training on the bundled corpus per measurement (0: skip)")
    a = p.parse_args()

    flags = cpu_flags()
    coretype = openblas_coretype(flags)
    isa = "AMX" if "amx_bf16" in flags else "AVX-512" if "avx512f" in flags else "AVX2" if "avx2" in flags else "SSE"
    print(f"# CPU: {cpu_model()} ({isa}), {os.cpu_count()} cores")
    print(f"# PyTorch | BLAS libraries | OpenBLAS kernel: {blas_report(coretype)} (OPENBLAS_CORETYPE={coretype})")
    for t in a.threads:
        print(f"# oneDNN sgemm, {t} thread(s): {sgemm_rate(a.build, t):.0f} GFLOP/s (best of the medium products)")

    jobs = [("step", c, t) for c in a.configs for t in a.threads]
    if not a.no_decode:
        jobs += [("decode", c, t) for c in DECODE_CONFIGS if c in a.configs for t in a.threads]
    results = {j: {"loom": [], "torch": [], "loom_mb": 0.0, "torch_mb": 0.0} for j in jobs}
    for rep in range(a.reps):
        for job in jobs:
            task, config, threads = job
            bench = f"BM_TrainStep/{ORDER.index(config)}" if task == "step" else \
                f"BM_GreedyDecode20/{DECODE_CONFIGS.index(config)}"
            sides = [("loom", lambda: loom_ms(a.build, bench, threads, a.seconds)),
                     ("torch", lambda: torch_ms(task, config, threads, a.seconds, coretype))]
            for side, measure in (sides if rep % 2 == 0 else sides[::-1]):  # alternate who goes first
                ms, mb = measure()
                results[job][side].append(ms)
                results[job][side + "_mb"] = max(results[job][side + "_mb"], mb)
            print(f"# rep {rep + 1}/{a.reps} {task} {config} {threads}t: Loom {results[job]['loom'][-1]:.2f} ms, "
                  f"PyTorch {results[job]['torch'][-1]:.2f} ms", file=sys.stderr)

    print(f"\n| task | config | threads | Loom ms median (min-max) | PyTorch ms median (min-max) "
          f"| PyTorch/Loom | Loom peak MB | PyTorch peak MB |")
    print("|---|---|---|---|---|---|---|---|")
    for (task, config, threads), r in results.items():
        ratio = statistics.median(r["torch"]) / statistics.median(r["loom"])
        print(f"| {task} | {config} | {threads} | {spread(r['loom'])} | {spread(r['torch'])} | {ratio:.2f}x "
              f"| {r['loom_mb']:.0f} | {r['torch_mb']:.0f} |")
    print(f"\n{a.reps} interleaved repetitions of {a.seconds:g} s each; ratio of medians.")
    if a.real_steps > 0:
        compare_real_training(a, coretype)


def compare_real_training(a, coretype):
    work = tempfile.mkdtemp(prefix="loom-compare-")
    batch_log = os.path.join(work, "batches.jsonl")
    loom_train_rate(a.build, a.threads[-1], a.real_steps, batch_log, os.path.join(work, "warm"))  # the batches
    results = {t: {"loom": [], "torch": [], "loom_mb": 0.0, "torch_mb": 0.0} for t in a.threads}
    for rep in range(a.reps):
        for threads in a.threads:
            sides = [("loom", lambda: loom_train_rate(a.build, threads, a.real_steps,
                                                      os.path.join(work, "again.jsonl"), os.path.join(work, "run"))),
                     ("torch", lambda: torch_train_rate(batch_log, threads, coretype))]
            for side, measure in (sides if rep % 2 == 0 else sides[::-1]):
                rate, mb = measure()
                results[threads][side].append(rate)
                results[threads][side + "_mb"] = max(results[threads][side + "_mb"], mb)
            print(f"# rep {rep + 1}/{a.reps} real training {threads}t: Loom {results[threads]['loom'][-1]:.0f}, "
                  f"PyTorch {results[threads]['torch'][-1]:.0f} target tokens/s", file=sys.stderr)
    print(f"\nReal training: `loom train` defaults (E128, H256, batch 32, Adam), bundled English-Spanish corpus, "
          f"the first {a.real_steps} batches, the same batches for both.\n")
    print("| threads | Loom tokens/s median (min-max) | PyTorch tokens/s median (min-max) | Loom/PyTorch "
          "| Loom peak MB | PyTorch peak MB |")
    print("|---|---|---|---|---|---|")
    for threads, r in results.items():
        ratio = statistics.median(r["loom"]) / statistics.median(r["torch"])
        print(f"| {threads} | {spread(r['loom'], 0)} | {spread(r['torch'], 0)} | {ratio:.2f}x "
              f"| {r['loom_mb']:.0f} | {r['torch_mb']:.0f} |")


if __name__ == "__main__":
    main()
