#!/usr/bin/env python3
"""The character-level language model trained by Loom and by PyTorch for the
same wall time, then scored by the same command.

1. `loom train --model lm --unit char` on data/kjv for --minutes M on
   --threads T (`--max-minutes M`), writing every batch it trains on
   (`--log-batches`).
2. The PyTorch twin (tests/python/loom_torch.py, LoomLanguageModel: same
   parameters and names; dropout after the embedding and after every LSTM
   layer, as Loom) trained on exactly Loom's batches in Loom's order for M
   minutes of wall time: torch.set_num_threads(T), every parameter uniform in
   [-0.1, 0.1], Adam (0.9, 0.999, 1e-8) at the same constant rate, global-norm
   clipping to the same limit. Its weights are saved as a Loom checkpoint
   through the twin's writer, with Loom's vocabulary.
3. `loom eval --checkpoint ... --data data/kjv/valid.txt` on both, so the
   validation loss, perplexity and bpc are computed by the same code.
4. A table: steps, tokens/s, validation loss, perplexity, bpc, peak resident
   memory of each training process, and the ratios; `uptime` before and after
   each run (the machine may be shared).

The batch log is turned into a compact binary file before PyTorch starts, and
the PyTorch process reads one batch from it per step, so that neither JSON
parsing nor a table of every batch counts in its time or its memory. Should
PyTorch finish Loom's batches before its M minutes are up, it starts over at
the first one and the table says so.

PyTorch is set up at its best, as bench/compare_pytorch.py does: OpenBLAS's
kernels chosen for the CPU (OPENBLAS_CORETYPE; an environment that forces
older kernels should be unset for this command: `env -u OPENBLAS_CORETYPE -u
OPENBLAS_L2_SIZE`), threads set explicitly, and the LSTM run over the padded
batch without packing when that is faster (--torch-pack auto: timed on the
first batches; both give the same losses and gradients, because no state
leaves the last real position and padded targets add nothing to the loss),
and its OpenMP threads waiting passively as Loom's do (--torch-wait-policy).

  /usr/bin/python3 bench/compare_lm_training.py --minutes 1                # smoke run
  env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE /usr/bin/python3 bench/compare_lm_training.py --minutes 5 --threads 2
"""
import argparse
import json
import os
import re
import struct
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(HERE)
sys.path.insert(0, HERE)
import compare_pytorch as cp  # noqa: E402  (CPU flags, OpenBLAS kernels, BLAS report, measured runs)


def uptime():
    return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()


def load_average():
    with open("/proc/loadavg") as f:
        return f.read().split()[0]


def run_measured(cmd, env):
    """Runs cmd with stderr passed through to ours (progress); returns
    (stdout + stderr text, peak resident MB, seconds)."""
    start = time.perf_counter()
    p = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    text = []
    for line in p.stdout:
        text.append(line)
        sys.stderr.write("  | " + line)
    _, status, usage = os.wait4(p.pid, 0)
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        sys.exit(f"{' '.join(cmd)} failed ({code})")
    return "".join(text), usage.ru_maxrss / 1024.0, time.perf_counter() - start


# ---- the batch log as a binary file -------------------------------------------------------------

def convert_batch_log(jsonl, binary):
    """Writes each batch as a header (B, T) of two int32 and then input,
    target (B*T) and lengths (B) as int32. Returns (model config, batches,
    tokens)."""
    import array
    batches = tokens = 0
    with open(jsonl) as f, open(binary, "wb") as out:
        head = json.loads(f.readline())
        for line in f:
            row = json.loads(line)
            rows, cols = len(row["input"]), len(row["input"][0])
            out.write(struct.pack("<ii", rows, cols))
            for key in ("input", "target"):
                out.write(array.array("i", [v for r in row[key] for v in r]).tobytes())
            out.write(array.array("i", row["lengths"]).tobytes())
            batches += 1
            tokens += row["tokens"]
    return head, batches, tokens


# ---- the PyTorch side, in a child process --------------------------------------------------------

def torch_worker(a):
    import torch
    import torch.nn.functional as F
    sys.path.insert(0, os.path.join(TOP, "tests", "python"))
    import loom_torch as lt

    class TrainedLm(lt.LoomLanguageModel):
        """The twin with Loom's training dropout: after the embedding and after
        every LSTM layer, the last included (nn.LSTM's own dropout covers every
        layer but the last). pack=False runs the LSTM over the padded batch."""

        def __init__(self, vocab, embed, hidden, layers, dropout, pack):
            super().__init__(vocab, embed, hidden, layers, False)
            self.lstm.dropout = dropout if layers > 1 else 0.0
            self.p, self.pack = dropout, pack

        def forward(self, input, lengths):
            T = input.shape[1]
            x = F.dropout(self.embedding(input), self.p, self.training)
            if self.pack:
                packed = lt.pack_padded_sequence(x, lengths.long(), batch_first=True, enforce_sorted=False)
                h, _ = lt.pad_packed_sequence(self.lstm(packed)[0], batch_first=True, total_length=T)
            else:
                h, _ = self.lstm(x)
            h = F.dropout(h, self.p, self.training)
            return F.linear(h, self.out.weight, self.out.bias)

    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    head = json.loads(a.head)
    budget = a.minutes * 60.0
    f = open(a.batches, "rb")

    def next_batch():
        header = f.read(8)
        if not header:
            f.seek(0)
            next_batch.wrapped += 1
            header = f.read(8)
        rows, cols = struct.unpack("<ii", header)
        data = torch.frombuffer(bytearray(f.read(4 * (2 * rows * cols + rows))), dtype=torch.int32)
        return (data[:rows * cols].view(rows, cols).long(), data[rows * cols:2 * rows * cols].view(rows, cols).long(),
                data[2 * rows * cols:])
    next_batch.wrapped = 0

    start = time.perf_counter()
    model = TrainedLm(head["vocab"], head["embed"], head["hidden"], head["layers"], float(head["dropout"]),
                      a.pack == "yes")
    with torch.no_grad():
        for p in model.parameters():
            p.uniform_(-0.1, 0.1)
    model.train()
    adam = torch.optim.Adam(model.parameters(), lr=a.lr, betas=(0.9, 0.999), eps=1e-8)
    steps = tokens = 0
    loss_sum, loss_n, losses = 0.0, 0, []
    while time.perf_counter() - start < budget:
        input, target, lengths = next_batch()
        adam.zero_grad(set_to_none=True)
        loss = model.loss(model(input, lengths), target)
        loss.backward()
        if a.clip > 0:
            torch.nn.utils.clip_grad_norm_(model.parameters(), a.clip)
        adam.step()
        steps += 1
        tokens += int(lengths.sum())
        loss_sum += loss.item()
        loss_n += 1
        if steps % 50 == 0:
            losses.append((steps, loss_sum / loss_n))
            print(f"pytorch step {steps}  loss {loss_sum / loss_n:.3f}  "
                  f"{tokens / (time.perf_counter() - start):.0f} tok/s", file=sys.stderr, flush=True)
            loss_sum, loss_n = 0.0, 0
    seconds = time.perf_counter() - start
    _, metadata = lt.read_safetensors(a.vocab_from)  # Loom's vocabulary, from its checkpoint
    config = lt.lm_config(head["vocab"], head["embed"], head["hidden"], head["layers"], False, "char",
                          float(head["dropout"]), head["seed"])
    lt.save_checkpoint(model, a.save, {"loom.written_by": "bench/compare_lm_training.py", "loom.model": "lm",
                                       "loom.config": json.dumps(config, sort_keys=True),
                                       "loom.vocab": metadata["loom.vocab"],
                                       "loom.format_version": lt.FORMAT_VERSION})
    print(json.dumps({"steps": steps, "tokens": tokens, "seconds": seconds, "tokens_per_s": tokens / seconds,
                      "wrapped": next_batch.wrapped, "pack": a.pack}))


def pack_trial(a):
    """Seconds per step of the twin on the first logged batches, packed and
    not (each a few warm-up steps, then timed), to pick the faster."""
    import torch
    torch.set_num_threads(a.threads)
    out = {}
    for pack in ("yes", "no"):
        a2 = argparse.Namespace(**vars(a))
        a2.pack, a2.minutes, a2.save = pack, a.trial_seconds / 60.0, a.save + f".{pack}"
        text = subprocess.run([sys.executable, os.path.abspath(__file__), "--torch-worker"] + worker_args(a2),
                              env=os.environ, capture_output=True, text=True, check=True).stdout
        r = json.loads(text.strip().splitlines()[-1])
        out[pack] = r["tokens_per_s"]
        os.remove(a2.save)
    print(json.dumps(out))


def worker_args(a):
    return ["--threads", str(a.threads), "--minutes", repr(a.minutes), "--seed", str(a.seed), "--lr", repr(a.lr),
            "--clip", repr(a.clip), "--head", a.head, "--batches", a.batches, "--vocab-from", a.vocab_from,
            "--save", a.save, "--pack", a.pack, "--trial-seconds", repr(a.trial_seconds)]


# ---- the driver ---------------------------------------------------------------------------------

def loom_eval(a, checkpoint):
    cmd = [os.path.join(a.build, "loom"), "eval", "--checkpoint", checkpoint, "--data", a.valid,
           "--threads", str(a.threads)]
    text = subprocess.run(cmd, capture_output=True, text=True, env=cp.loom_env(a.threads))
    if text.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed:\n{text.stderr[-2000:]}")
    out = text.stdout + text.stderr
    values = {}
    for key in ("loss", "perplexity", "bpc"):
        m = re.search(rf"\b{key}\b[^0-9\n]*([0-9.]+(?:e[-+]?[0-9]+)?)", out)
        values[key] = float(m.group(1)) if m else float("nan")
    return values, " ".join(cmd), out.strip()


def main():
    if len(sys.argv) > 1 and sys.argv[1] in ("--torch-worker", "--pack-trial"):
        w = argparse.ArgumentParser()
        for name in ("--head", "--batches", "--vocab-from", "--save", "--pack"):
            w.add_argument(name)
        for name, kind in (("--threads", int), ("--seed", int), ("--minutes", float), ("--lr", float),
                           ("--clip", float), ("--trial-seconds", float)):
            w.add_argument(name, type=kind)
        wa = w.parse_args(sys.argv[2:])
        return torch_worker(wa) if sys.argv[1] == "--torch-worker" else pack_trial(wa)

    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--minutes", type=float, default=5.0, help="wall-clock minutes of training for each side")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--build", default=os.path.join(TOP, "build"))
    p.add_argument("--data", default=os.path.join(TOP, "data", "kjv"), help="folder of train.txt and valid.txt")
    p.add_argument("--work", default=os.path.join(TOP, "out", "compare_lm"),
                   help="folder for the checkpoints and the batch log (not for git)")
    p.add_argument("--embed", type=int, default=128)
    p.add_argument("--hidden", type=int, default=512)
    p.add_argument("--layers", type=int, default=1)
    p.add_argument("--dropout", type=float, default=0.1)
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--lr", type=float, default=3e-3)
    p.add_argument("--clip", type=float, default=1.0)
    p.add_argument("--max-length", type=int, default=128)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--torch-pack", choices=["auto", "yes", "no"], default="auto",
                   help="run the twin's LSTM on packed sequences (yes), on the padded batch (no), or the faster")
    p.add_argument("--trial-seconds", type=float, default=20.0, help="seconds per variant of --torch-pack auto")
    p.add_argument("--torch-wait-policy", choices=["passive", "active", "default"], default="passive",
                   help="OMP_WAIT_POLICY for PyTorch (Loom's own OpenMP threads wait passively; on a shared "
                        "machine, spinning threads lose their core to other processes)")
    p.add_argument("--skip-loom", action="store_true", help="reuse the Loom run already in --work")
    a = p.parse_args()
    a.valid = os.path.join(a.data, "valid.txt")
    os.makedirs(a.work, exist_ok=True)
    tag = f"m{a.minutes:g}_t{a.threads}"
    loom_dir = os.path.join(a.work, f"loom_{tag}")
    log = os.path.join(a.work, f"batches_{tag}.jsonl")
    torch_ckpt = os.path.join(a.work, f"torch_{tag}.safetensors")
    loom_ckpt = os.path.join(loom_dir, "last.safetensors")

    flags = cp.cpu_flags()
    coretype = cp.openblas_coretype(flags)
    isa = [f for f in ("avx2", "avx512f", "avx512_bf16", "amx_tile", "amx_bf16") if f in flags]
    print(f"# CPU: {cp.cpu_model()}, {os.cpu_count()} cores, flags: {' '.join(isa) or 'none of avx2/avx512/amx'}")
    print(f"# PyTorch | BLAS libraries | OpenBLAS kernel: {cp.blas_report(coretype)} (OPENBLAS_CORETYPE={coretype})")
    for name in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"):
        if name in os.environ:
            print(f"# warning: {name}={os.environ[name]} is set in the environment and reaches PyTorch")

    loom_cmd = [os.path.join(a.build, "loom"), "train", "--model", "lm", "--unit", "char",
                "--train", os.path.join(a.data, "train.txt"), "--valid", a.valid,
                "--embed", str(a.embed), "--hidden", str(a.hidden), "--layers", str(a.layers),
                "--dropout", repr(a.dropout), "--batch", str(a.batch), "--lr", repr(a.lr), "--clip", repr(a.clip),
                "--max-length", str(a.max_length), "--seed", str(a.seed), "--epochs", "1000", "--patience", "0",
                "--max-minutes", f"{a.minutes:g}", "--threads", str(a.threads),
                "--log-batches", log, "--out", loom_dir, "--overwrite"]
    print("# Loom:  " + " ".join(os.path.relpath(c, TOP) if c.startswith(TOP) else c for c in loom_cmd))
    loads = {}
    if a.skip_loom:
        with open(os.path.join(a.work, f"loom_{tag}.json")) as f:
            loom = json.load(f)
        loads["loom"] = loom["loads"]
    else:
        before = uptime()
        out, loom_mb, _ = run_measured(loom_cmd, cp.loom_env(a.threads))
        loads["loom"] = (before, uptime())
        m = re.search(r"time: training (\S+) for (\d+) steps \(([0-9.]+) epochs, ([0-9.]+) tokens/s\)", out)
        if not m:
            sys.exit("no summary line in loom train's output")
        loom = {"steps": int(m.group(2)), "epochs": float(m.group(3)), "tokens_per_s": float(m.group(4)),
                "train_time": m.group(1), "peak_mb": loom_mb, "loads": loads["loom"]}
        with open(os.path.join(a.work, f"loom_{tag}.json"), "w") as f:
            json.dump(loom, f)

    binary = log[:-len(".jsonl")] + ".bin"
    head, batches, tokens = convert_batch_log(log, binary)
    loom["tokens"] = tokens
    if batches != loom["steps"]:
        print(f"# warning: the batch log holds {batches} batches, Loom reports {loom['steps']} steps")
    wa = argparse.Namespace(threads=a.threads, minutes=a.minutes, seed=a.seed, lr=a.lr, clip=a.clip,
                            head=json.dumps(head), batches=binary, vocab_from=loom_ckpt, save=torch_ckpt,
                            pack=a.torch_pack, trial_seconds=a.trial_seconds)
    env = cp.torch_env(a.threads, coretype)
    env.pop("OPENBLAS_L2_SIZE", None)
    if a.torch_wait_policy != "default":
        env["OMP_WAIT_POLICY"] = a.torch_wait_policy.upper()
    if a.torch_pack == "auto":
        r = subprocess.run([sys.executable, os.path.abspath(__file__), "--pack-trial"] + worker_args(wa), env=env,
                           capture_output=True, text=True, check=True)
        trial = json.loads(r.stdout.strip().splitlines()[-1])
        wa.pack = max(trial, key=trial.get)
        print(f"# PyTorch LSTM packed vs padded, {a.trial_seconds:g} s each: "
              f"{trial['yes']:.0f} vs {trial['no']:.0f} tokens/s -> pack={wa.pack}")
    before = uptime()
    out, torch_mb, _ = run_measured([sys.executable, os.path.abspath(__file__), "--torch-worker"] + worker_args(wa),
                                    env)
    loads["torch"] = (before, uptime())
    torch_r = json.loads(out.strip().splitlines()[-1])
    torch_r["peak_mb"] = torch_mb

    ev_loom, eval_cmd, _ = loom_eval(a, loom_ckpt)
    ev_torch, _, _ = loom_eval(a, torch_ckpt)
    print(f"# eval: {os.path.relpath(eval_cmd.replace(loom_ckpt, 'CHECKPOINT'), TOP)}")
    for side in ("loom", "torch"):
        print(f"# load ({side}): before: {loads[side][0]}")
        print(f"#              after:  {loads[side][1]}")
    if torch_r["wrapped"]:
        print(f"# note: PyTorch finished Loom's {batches} batches and started over {torch_r['wrapped']} time(s)")

    def ratio(x, y):
        return f"{x / y:.2f}" if y else "-"
    print(f"\n{a.minutes:g} minutes on {a.threads} thread(s): E{head['embed']} H{head['hidden']} L{head['layers']}, "
          f"dropout {head['dropout']}, batch {a.batch}, Adam {a.lr:g}, clip {a.clip:g}, max length {a.max_length}, "
          f"V={head['vocab']}; PyTorch LSTM {'packed' if wa.pack == 'yes' else 'on the padded batch'}, "
          f"OMP_WAIT_POLICY={env.get('OMP_WAIT_POLICY', '(unset)')}\n")
    print("| | steps | tokens/s | valid loss | perplexity | bpc | peak RSS MB |")
    print("|---|---|---|---|---|---|---|")
    print(f"| Loom | {loom['steps']} | {loom['tokens_per_s']:.0f} | {ev_loom['loss']:.4f} | {ev_loom['perplexity']:.3f} "
          f"| {ev_loom['bpc']:.3f} | {loom['peak_mb']:.0f} |")
    print(f"| PyTorch | {torch_r['steps']} | {torch_r['tokens_per_s']:.0f} | {ev_torch['loss']:.4f} "
          f"| {ev_torch['perplexity']:.3f} | {ev_torch['bpc']:.3f} | {torch_r['peak_mb']:.0f} |")
    print(f"| Loom/PyTorch | {ratio(loom['steps'], torch_r['steps'])} "
          f"| {ratio(loom['tokens_per_s'], torch_r['tokens_per_s'])} | {ratio(ev_loom['loss'], ev_torch['loss'])} "
          f"| {ratio(ev_loom['perplexity'], ev_torch['perplexity'])} | {ratio(ev_loom['bpc'], ev_torch['bpc'])} "
          f"| {ratio(loom['peak_mb'], torch_r['peak_mb'])} |")
    print(f"\nLoom: {loom['epochs']:.2f} epochs, training time {loom['train_time']} of its {a.minutes:g} min "
          f"(the rest: data set-up, plan compilation outside steps, validation at epoch ends, checkpoints); "
          f"PyTorch: {torch_r['seconds']:.0f} s of training steps. tokens = predicted characters (<eos> included).")
    with open(os.path.join(a.work, f"result_{tag}.json"), "w") as f:
        json.dump({"loom": loom, "torch": torch_r, "eval_loom": ev_loom, "eval_torch": ev_torch, "loads": loads}, f,
                  indent=1)


if __name__ == "__main__":
    main()
