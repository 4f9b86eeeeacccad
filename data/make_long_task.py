#!/usr/bin/env python3
"""Make the long-dependency tasks: copy or reverse a sequence of symbols.

A sequence is 5 to 60 letters a-z, written space-separated so that the word
tokenizer makes one token per symbol ("c a t" -> "t a c" for reverse). Train
and valid lengths are uniform over [min, max]; the test set holds a fixed
number of sequences per length bucket (5-9, 10-14, ..., 55-60) so that
accuracy by length can be tabulated. The three splits share no source.

    python3 data/make_long_task.py --task reverse --seed 1 --out data/reverse
"""
import argparse
import os
import random
import string

SYMBOLS = string.ascii_lowercase


def buckets(min_len, max_len, width):
    """[(lo, hi)] inclusive; the last bucket absorbs a short remainder."""
    edges = list(range(min_len, max_len + 1, width))
    out = [(lo, min(lo + width - 1, max_len)) for lo in edges]
    if len(out) > 1 and out[-1][1] - out[-1][0] + 1 < width:
        last = out.pop()
        out[-1] = (out[-1][0], last[1])
    return out


def make_target(task, seq):
    return list(reversed(seq)) if task == "reverse" else list(seq)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--task", choices=["copy", "reverse"], default="reverse")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--min-len", type=int, default=5)
    ap.add_argument("--max-len", type=int, default=60)
    ap.add_argument("--train", type=int, default=7000)
    ap.add_argument("--valid", type=int, default=500)
    ap.add_argument("--test-per-bucket", type=int, default=50)
    ap.add_argument("--bucket-width", type=int, default=5)
    ap.add_argument("--out", required=True)
    args = ap.parse_args()

    rng = random.Random(args.seed)
    seen = set()

    def fresh(length):
        while True:
            seq = tuple(rng.choice(SYMBOLS) for _ in range(length))
            if seq not in seen:
                seen.add(seq)
                return seq

    # Test first, so that its buckets are fixed whatever the train size.
    test = [fresh(rng.randint(lo, hi)) for lo, hi in buckets(args.min_len, args.max_len, args.bucket_width)
            for _ in range(args.test_per_bucket)]
    valid = [fresh(rng.randint(args.min_len, args.max_len)) for _ in range(args.valid)]
    train = [fresh(rng.randint(args.min_len, args.max_len)) for _ in range(args.train)]

    os.makedirs(args.out, exist_ok=True)
    for name, rows in (("train", train), ("valid", valid), ("test", test)):
        with open(os.path.join(args.out, name + ".tsv"), "w", encoding="utf-8") as f:
            for seq in rows:
                f.write(" ".join(seq) + "\t" + " ".join(make_target(args.task, seq)) + "\n")
        print(f"{name}: {len(rows)} pairs")


if __name__ == "__main__":
    main()
