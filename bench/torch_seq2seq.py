#!/usr/bin/env python3
"""PyTorch side of the translator benchmark (bench/bench_seq2seq.cpp).

The same model and step as Loom's: nn.Embedding, nn.LSTM encoder and decoder,
dot attention with torch.bmm and softmax, an output layer on [d; c],
F.cross_entropy, clip_grad_norm_ and Adam, on the same synthetic full-length
batches. Prints one line per configuration: ms per step and target tokens/s.
Run with Debian's interpreter: /usr/bin/python3 bench/torch_seq2seq.py --threads 2
"""
import argparse
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

CONFIGS = {"tiny": (16, 8, 32, 64, 200), "small": (32, 16, 128, 256, 2000),
           "medium": (64, 32, 256, 512, 8000), "long": (32, 100, 128, 256, 2000)}


class Seq2Seq(nn.Module):
    def __init__(self, V, E, H):
        super().__init__()
        self.src_embedding = nn.Embedding(V, E)
        self.tgt_embedding = nn.Embedding(V, E)
        self.encoder = nn.LSTM(E, H, batch_first=True)
        self.decoder = nn.LSTM(E, H, batch_first=True)
        self.out = nn.Linear(2 * H, V)

    def forward(self, src, tgt_in, tgt_out):
        enc, state = self.encoder(self.src_embedding(src))
        dec, _ = self.decoder(self.tgt_embedding(tgt_in), state)
        weights = torch.softmax(torch.bmm(dec, enc.transpose(1, 2)), dim=-1)
        context = torch.bmm(weights, enc)
        logits = self.out(torch.cat([dec, context], dim=-1))
        return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), tgt_out.reshape(-1), ignore_index=0)


def bench(name, seconds):
    B, S, E, H, V = CONFIGS[name]
    torch.manual_seed(1)
    model = Seq2Seq(V, E, H)
    adam = torch.optim.Adam(model.parameters(), lr=1e-3)
    src, tgt_in, tgt_out = (torch.randint(4, V, (B, S)) for _ in range(3))

    def step():
        adam.zero_grad(set_to_none=True)
        model(src, tgt_in, tgt_out).backward()
        nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        adam.step()

    for _ in range(3):
        step()
    n, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        step()
        n += 1
    ms = (time.perf_counter() - start) / n * 1e3
    print(f"{name:7s} {ms:9.2f} ms/step {B * S / ms * 1e3:10.0f} tok/s")


def main():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--seconds", type=float, default=3.0)
    p.add_argument("configs", nargs="*", default=list(CONFIGS))
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    for name in a.configs:
        bench(name, a.seconds)


if __name__ == "__main__":
    main()
