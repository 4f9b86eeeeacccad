"""Helpers of the check_mpi_* tests: launch `loom train` on 2 ranks of this
machine with Open MPI's mpirun, and read metrics.csv. Not a test itself (the
ctest glob takes check_* only)."""
import csv
import os
import subprocess
import sys

TOY = ["--train", "data/toy.tsv", "--valid", "data/toy.tsv", "--embed", "8", "--hidden", "16",
       "--bleu-sentences", "4", "--threads", "1", "--log-every", "1", "--patience", "0"]


def sanitized(build):
    with open(os.path.join(build, "CMakeCache.txt")) as f:
        return any(line.startswith("LOOM_SANITIZE:") and line.strip().split("=", 1)[1] for line in f)


def loom_or_skip(build):
    # Open MPI's components, loaded and unloaded at run time, keep allocations
    # to the end that LeakSanitizer reports without a module name to suppress
    # them by; MPI jobs of a sanitizer build check everything but leaks (the
    # leaks of Loom's own code are checked by every other test there).
    if sanitized(build):
        os.environ["ASAN_OPTIONS"] = ":".join(filter(None, [os.environ.get("ASAN_OPTIONS"), "detect_leaks=0"]))
    loom = os.path.join(build, "loom")
    help_text = subprocess.run([loom, "train", "--help"], capture_output=True, text=True).stdout
    if "built with MPI" not in help_text:
        print("skipped: this build has no MPI (tools/setup.sh installs libopenmpi-dev)")
        sys.exit(0)
    return loom


def mpirun_prefix(ranks=2):
    # CI machines run as root on 2 cores; Open MPI refuses both unless asked.
    # The single-copy shared-memory path needs ptrace rights that containers
    # often lack; plain copies are as good for these tiny messages.
    args = ["mpirun", "--oversubscribe", "--mca", "btl_vader_single_copy_mechanism", "none", "-np", str(ranks)]
    if os.geteuid() == 0:
        args.insert(1, "--allow-run-as-root")
    return args


def train_losses(out_dir):
    """{step: train_loss} and {step: valid_loss} of a run's metrics.csv."""
    train, valid = {}, {}
    with open(os.path.join(out_dir, "metrics.csv")) as f:
        for row in csv.DictReader(f):
            if row["train_loss"]:
                train[int(row["step"])] = float(row["train_loss"])
            if row["valid_loss"]:
                valid[int(row["step"])] = float(row["valid_loss"])
    return train, valid
