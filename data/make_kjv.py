#!/usr/bin/python3
"""Makes data/kjv/{train,valid,test}.txt, the language model's bundled data
(docs/DATA.md), from the King James Bible of Debian's bible-kjv-text package.

The package ships the text as /usr/lib/bible.data: a 32-byte magic
("EC02Compressed Data File"), big-endian 32-bit fields, then blocks of up to
64 KiB of text, each compressed with Unix compress (LZW). The field at 0x54
is the uncompressed block size; from 0x5c a table of block start offsets,
ended by the file size, runs up to the first block. The first block begins
with compress's 3-byte header (1f 9d 90); later blocks are raw LZW streams
under the same settings, so each is decompressed as that header plus its
bytes (gzip -d reads compress's format). The text is one verse per line,
"Ge1:1 In the beginning God created ...", after one title line.

Output: one verse per line, the reference ("Ge1:1 ") removed, text otherwise
as printed (case and punctuation kept). Split by position in canon order:
of every 20 verses the 19th goes to valid.txt, the 20th to test.txt, the
rest to train.txt (90% / 5% / 5%), so each split samples every book.

Usage: /usr/bin/python3 data/make_kjv.py [--data /usr/lib/bible.data] [--out data/kjv]
(install the text with: apt-get install -y --no-install-recommends bible-kjv-text)
"""
import argparse
import os
import re
import struct
import subprocess
import sys

MAGIC = b"EC02Compressed Data File"
COMPRESS_HEADER = b"\x1f\x9d\x90"  # compress's magic, then block mode with 16-bit codes
BLOCK_SIZE_FIELD = 0x54
OFFSET_TABLE = 0x5C
REFERENCE = re.compile(r"^([1-3]?[A-Z][A-Za-z]*)(\d+):(\d+) (.*)$")
EXPECTED_VERSES = 31102  # the KJV's verse count: a different count is a different file


def decompress_blocks(blob, path):
    if not blob.startswith(MAGIC):
        sys.exit(f"make_kjv: {path} does not start with {MAGIC!r}; not bible-kjv-text's data file")
    block_size = struct.unpack(">I", blob[BLOCK_SIZE_FIELD:BLOCK_SIZE_FIELD + 4])[0]
    offsets, at = [], OFFSET_TABLE
    while True:
        (offset,) = struct.unpack(">I", blob[at:at + 4])
        offsets.append(offset)
        at += 4
        if offset == len(blob):
            break
        if at >= offsets[0]:
            sys.exit(f"make_kjv: {path}: the block table does not end with the file size")
    text = bytearray()
    for begin, end in zip(offsets, offsets[1:]):
        stream = blob[begin:end]
        if not stream.startswith(COMPRESS_HEADER):
            stream = COMPRESS_HEADER + stream
        done = subprocess.run(["gzip", "-dc"], input=stream, capture_output=True, check=False)
        if done.returncode != 0 or len(done.stdout) > block_size:
            sys.exit(f"make_kjv: {path}: block at byte {begin} does not decompress: {done.stderr.decode()}")
        text += done.stdout
    return text.decode("ascii")


def verses(text, path):
    out = []
    for number, line in enumerate(text.split("\n")[1:], 2):  # line 1 is the title
        if not line:
            continue
        match = REFERENCE.match(line)
        if not match:
            sys.exit(f"make_kjv: {path}: text line {number} has no verse reference: {line[:60]!r}")
        out.append(" ".join(match.group(4).split()))
    if len(out) != EXPECTED_VERSES:
        sys.exit(f"make_kjv: {path} holds {len(out)} verses, expected {EXPECTED_VERSES}")
    return out


def split(all_verses):
    parts = {"train": [], "valid": [], "test": []}
    for index, verse in enumerate(all_verses):
        slot = index % 20
        parts["valid" if slot == 18 else "test" if slot == 19 else "train"].append(verse)
    return parts


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", default="/usr/lib/bible.data")
    parser.add_argument("--out", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "kjv"))
    args = parser.parse_args()
    if not os.path.exists(args.data):
        sys.exit(f"make_kjv: no {args.data}; apt-get install -y --no-install-recommends bible-kjv-text")
    with open(args.data, "rb") as f:
        blob = f.read()
    parts = split(verses(decompress_blocks(blob, args.data), args.data))
    os.makedirs(args.out, exist_ok=True)
    for name, lines in parts.items():
        with open(os.path.join(args.out, name + ".txt"), "w", encoding="utf-8", newline="\n") as f:
            f.write("\n".join(lines) + "\n")
        print(f"{os.path.join(args.out, name + '.txt')}: {len(lines)} verses")


if __name__ == "__main__":
    main()
