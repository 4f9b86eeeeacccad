#!/usr/bin/python3
"""Self-tests of tests/python/loom_torch.py: the safetensors reader/writer
(round trips, determinism, hostile files) and the PyTorch model against
docs/MODEL.md written out by hand (LSTM gate order, padding, attention, loss).
Run: /usr/bin/python3 -m unittest tests/python/test_safetensors_interop.py
(the C++ side reads files this script writes in tests/test_checkpoint.cpp)."""
import json
import os
import struct
import subprocess
import sys
import tempfile
import unittest

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import loom_torch as lt  # noqa: E402

SCRIPT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "loom_torch.py")


def read_bytes(path):
    with open(path, "rb") as f:
        return f.read()


def run_script(*args):
    """The script's command line, in this process (torch loads once)."""
    lt.main([str(a) for a in args])


def raw_file(header, data=b"", pad=True):
    text = json.dumps(header).encode()
    if pad:
        text += b" " * ((8 - len(text) % 8) % 8)
    return struct.pack("<Q", len(text)) + text + data


class SafetensorsTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.TemporaryDirectory()
        self.path = os.path.join(self.dir.name, "t.safetensors")

    def tearDown(self):
        self.dir.cleanup()

    def test_round_trip_is_bitwise_for_every_dtype(self):
        g = torch.Generator().manual_seed(1)
        tensors = {"a": torch.randn(3, 4, generator=g), "b": torch.randn(5, dtype=torch.float64, generator=g),
                   "c": torch.tensor([[1, -2], [2**31 - 1, -2**31]], dtype=torch.int32),
                   "d": torch.tensor([2**40, -7], dtype=torch.int64), "scalar": torch.tensor(1.5),
                   "empty": torch.zeros(0, 3), "nan": torch.tensor([float("nan"), float("-inf"), -0.0])}
        lt.write_safetensors(self.path, tensors, {"k": "v", "ü": "ñ"})
        back, meta = lt.read_safetensors(self.path)
        self.assertEqual(meta, {"k": "v", "ü": "ñ"})
        self.assertEqual(set(back), set(tensors))
        for name, t in tensors.items():
            self.assertEqual(back[name].dtype, t.dtype, name)
            self.assertEqual(back[name].shape, t.shape, name)
            self.assertEqual(back[name].numpy().tobytes(), t.numpy().tobytes(), name)

    def test_bytes_do_not_depend_on_insertion_order_and_header_is_aligned(self):
        a, b = torch.arange(6.0).reshape(2, 3), torch.arange(3, dtype=torch.int32)
        lt.write_safetensors(self.path, {"x": a, "y": b}, {"m": "1"})
        first = read_bytes(self.path)
        lt.write_safetensors(self.path, {"y": b, "x": a}, {"m": "1"})
        self.assertEqual(first, read_bytes(self.path))
        (n,) = struct.unpack("<Q", first[:8])
        self.assertEqual((8 + n) % 8, 0)
        self.assertEqual(os.listdir(self.dir.name), ["t.safetensors"])  # no temp file left

    def test_hostile_files_raise_errors_naming_the_problem(self):
        f32 = {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}
        cases = {
            "too short": b"\x01\x00",
            "larger than the rest": struct.pack("<Q", 1000) + b"{}",
            "absurd": struct.pack("<Q", 1 << 40) + b"{}",
            "not valid JSON": raw_file({}, pad=False)[:8] + b"{x" + b" " * 0,
            "twice": struct.pack("<Q", 40) + b'{"a":{},"a":{}}' + b" " * 25,
            "unsupported dtype": raw_file({"a": dict(f32, dtype="Q7")}, b"\0" * 8),
            "needs 8 bytes": raw_file({"a": dict(f32, data_offsets=[0, 4])}, b"\0" * 4),
            "outside": raw_file({"a": dict(f32, data_offsets=[8, 16])}, b"\0" * 8),
            "overlap or hole": raw_file({"a": f32, "b": f32}, b"\0" * 16),
            "belong to no tensor": raw_file({"a": f32}, b"\0" * 12),
            "fields": raw_file({"a": dict(f32, extra=1)}, b"\0" * 8),
            "object of strings": raw_file({"__metadata__": {"k": 1}}),
            "nests deeper": struct.pack("<Q", 200008) + b"[" * 100004 + b"]" * 100004,
        }
        for expected, blob in cases.items():
            with self.subTest(expected):
                with open(self.path, "wb") as f:
                    f.write(blob)
                with self.assertRaises(lt.SafetensorsError) as ctx:
                    lt.read_safetensors(self.path)
                self.assertIn(self.path, str(ctx.exception))
                self.assertIn(expected, str(ctx.exception))

    def test_random_corruption_never_raises_anything_but_safetensors_errors(self):
        lt.write_safetensors(self.path, {"w": torch.arange(12.0).reshape(3, 4), "b": torch.ones(3)}, {"m": "x"})
        good = read_bytes(self.path)
        g = torch.Generator().manual_seed(7)
        for trial in range(300):
            blob = bytearray(good)
            if trial % 3 == 0:
                blob = blob[:int(torch.randint(0, len(blob), (1,), generator=g))]
            else:
                for _ in range(int(torch.randint(1, 4, (1,), generator=g))):
                    i = int(torch.randint(0, len(blob), (1,), generator=g))
                    blob[i] = int(torch.randint(0, 256, (1,), generator=g))
            with open(self.path, "wb") as f:
                f.write(blob)
            try:
                lt.read_safetensors(self.path)
            except lt.SafetensorsError:
                pass


class ModelTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.TemporaryDirectory()
        self.ckpt = os.path.join(self.dir.name, "m.safetensors")

    def tearDown(self):
        self.dir.cleanup()

    def make(self, attention="dot", layers=1, extra=()):
        run_script("make", "--out", self.ckpt, "--src-vocab", 11, "--tgt-vocab", 9, "--embed", 5, "--hidden", 6,
                   "--layers", layers, "--attention", attention, *extra)
        return lt.load_checkpoint(self.ckpt)

    def test_checkpoint_names_match_model_md_and_load_strictly(self):
        model, vocabs, config = self.make("dot", layers=2)
        names = set(model.state_dict())
        expected = {"src_embedding.weight", "tgt_embedding.weight", "out.weight", "out.bias"}
        for side in ("encoder", "decoder"):
            for k in range(2):
                expected |= {f"{side}.{p}_l{k}" for p in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")}
        self.assertEqual(names, expected)
        self.assertEqual(tuple(model.out.weight.shape), (9, 12))
        self.assertEqual(vocabs["source"][:4], lt.RESERVED_TOKENS)
        self.assertEqual(len(vocabs["target"]), 9)
        self.assertEqual(config["attention"], "dot")
        # Every key io/model_io.cpp's load_model needs, as strings.
        self.assertEqual(config, {"src_vocab": "11", "tgt_vocab": "9", "embed": "5", "hidden": "6", "layers": "2",
                                  "attention": "dot", "dropout": "0.0", "label_smoothing": "0.0", "seed": "0"})

    def test_attention_parameters_have_loom_names_and_shapes(self):
        shapes = {kind: {k: tuple(v.shape) for k, v in self.make(kind)[0].state_dict().items()
                         if k.startswith("attention.")} for kind in lt.ATTENTION_KINDS}
        self.assertEqual(shapes["general"], {"attention.weight": (6, 6)})
        self.assertEqual(shapes["additive"], {"attention.w_query": (6, 6), "attention.w_key": (6, 6),
                                              "attention.v": (6,)})
        for kind in ("none", "dot", "scaled-dot", "cosine"):
            self.assertEqual(shapes[kind], {}, kind)

    def test_many_runs_every_line_and_names_a_failing_one(self):
        commands = os.path.join(self.dir.name, "commands.txt")
        other = os.path.join(self.dir.name, "other.safetensors")
        with open(commands, "w") as f:
            f.write(f"make --out {self.ckpt} --src-vocab 6 --tgt-vocab 7\n\n# a comment\n"
                    f"make --out {other} --src-vocab 8 --tgt-vocab 7 --attention general\n")
        run_script("many", "--commands", commands)
        self.assertEqual(lt.load_checkpoint(other)[0].attention_kind, "general")
        with open(commands, "a") as f:
            f.write("info --checkpoint /nonexistent/x\n")
        with self.assertRaises(SystemExit) as ctx:
            run_script("many", "--commands", commands)
        self.assertIn(":5", str(ctx.exception.code))

    def test_resave_reproduces_the_file_byte_for_byte(self):
        for attention in lt.ATTENTION_KINDS:
            with self.subTest(attention):
                self.make(attention)
                copy = os.path.join(self.dir.name, "copy.safetensors")
                run_script("resave", "--checkpoint", self.ckpt, "--out", copy)
                self.assertEqual(read_bytes(self.ckpt), read_bytes(copy))

    def test_strict_load_names_a_missing_parameter(self):
        model, vocabs, config = self.make("general")
        tensors, meta = lt.read_safetensors(self.ckpt)
        del tensors["decoder.bias_hh_l0"]
        lt.write_safetensors(self.ckpt, tensors, meta)
        with self.assertRaisesRegex(RuntimeError, "decoder.bias_hh_l0"):
            lt.load_checkpoint(self.ckpt)

    def test_lstm_matches_model_md_cell_and_padding_does_not_advance_state(self):
        model, _, _ = self.make("dot")
        model.double()
        batch = lt.random_batch(11, 9, 4, 6, 5, seed=3)
        src, lengths = batch["source"], batch["source_lengths"]
        emb = model.src_embedding(src.long())
        p = dict(model.encoder.named_parameters())
        H = 6
        for b in range(4):
            h = torch.zeros(H, dtype=torch.float64)
            c = torch.zeros(H, dtype=torch.float64)
            for s in range(int(lengths[b])):
                gates = p["weight_ih_l0"] @ emb[b, s] + p["bias_ih_l0"] + p["weight_hh_l0"] @ h + p["bias_hh_l0"]
                i, f, g, o = gates.split(H)
                c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
                h = torch.sigmoid(o) * torch.tanh(c)
            packed = torch.nn.utils.rnn.pack_padded_sequence(emb, lengths.long(), batch_first=True,
                                                             enforce_sorted=False)
            _, (hn, cn) = model.encoder(packed)
            torch.testing.assert_close(hn[0, b], h)
            torch.testing.assert_close(cn[0, b], c)

    def test_extra_padding_changes_nothing(self):
        for attention in lt.ATTENTION_KINDS:
            with self.subTest(attention):
                model, _, _ = self.make(attention)
                model.double()
                batch = lt.random_batch(11, 9, 3, 5, 4, seed=1)
                logits, _ = model(batch["source"], batch["source_lengths"], batch["target_input"])
                loss = model.loss(logits, batch["target_output"])
                pad = lambda t: torch.cat([t, torch.zeros(t.shape[0], 3, dtype=t.dtype)], dim=1)  # noqa: E731
                logits2, w2 = model(pad(batch["source"]), batch["source_lengths"], pad(batch["target_input"]))
                loss2 = model.loss(logits2, pad(batch["target_output"]))
                torch.testing.assert_close(loss, loss2)
                if w2 is not None:
                    self.assertTrue(torch.all(w2[:, :, 5:] == 0))
                    torch.testing.assert_close(w2.sum(-1), torch.ones_like(w2.sum(-1)))

    def test_attention_scores_match_their_formulas(self):
        torch.manual_seed(0)
        d, e = torch.randn(2, 3, 4, dtype=torch.float64), torch.randn(2, 5, 4, dtype=torch.float64)
        for kind in ("dot", "scaled-dot", "cosine", "general", "additive"):
            att = lt.Attention(kind, 4).double()
            for param in att.parameters():
                torch.nn.init.uniform_(param, -1, 1)
            s = att.scores(d, e)
            for b, t, j in [(0, 0, 0), (1, 2, 4), (1, 1, 3)]:
                x, y = d[b, t], e[b, j]
                ref = {"dot": lambda: x @ y, "scaled-dot": lambda: x @ y / 2.0,
                       "cosine": lambda: x @ y / (x @ x + 1e-8).sqrt() / (y @ y + 1e-8).sqrt(),
                       "general": lambda: x @ att.weight @ y,
                       "additive": lambda: att.v @ torch.tanh(att.w_query @ x + att.w_key @ y)}[kind]()
                torch.testing.assert_close(s[b, t, j], ref, msg=kind)

    def test_loss_command_writes_loss_and_every_gradient(self):
        self.make("additive", extra=["--label-smoothing", "0.1"])
        batch = os.path.join(self.dir.name, "batch.safetensors")
        grads = os.path.join(self.dir.name, "grads.safetensors")
        run_script("batch", "--checkpoint", self.ckpt, "--out", batch)
        # One real command line, as tests/test_checkpoint.cpp runs it.
        done = subprocess.run([sys.executable, SCRIPT, "loss", "--checkpoint", self.ckpt, "--batch", batch,
                               "--out", grads, "--double", "--with-outputs"],
                              check=True, capture_output=True, text=True)
        self.assertTrue(done.stdout.startswith("loss "))
        out, _ = lt.read_safetensors(grads)
        model, _, _ = lt.load_checkpoint(self.ckpt)
        for name, p in model.named_parameters():
            self.assertEqual(out["grad." + name].shape, p.shape)
        self.assertEqual(out["loss"].shape, torch.Size([]))
        # Hand-written loss from the logits: PyTorch's label smoothing over non-pad tokens.
        b, _ = lt.read_safetensors(batch)
        logp = torch.log_softmax(out["logits"], -1).reshape(-1, 9)
        y = b["target_output"].reshape(-1).long()
        keep = y != 0
        nll = -logp[keep].gather(1, y[keep].unsqueeze(1)).squeeze(1)
        smooth = -logp[keep].mean(1)
        ref = (0.9 * nll + 0.1 * smooth).mean()
        torch.testing.assert_close(out["loss"], ref)
        self.assertEqual(float(out["grad.src_embedding.weight"][0].abs().sum()), 0.0)  # <pad> row unused


if __name__ == "__main__":
    unittest.main()
