#!/usr/bin/python3
"""PyTorch twins of Loom's attention encoder-decoder and its LSTM language model
(docs/MODEL.md), and of the GRU language model a user adds in
examples/gru_language_model.cpp.

Reads and writes Loom checkpoints (safetensors, docs/CHECKPOINTS.md) with no
package beyond torch: the format is parsed here with json + struct and
validated as strictly as Loom's reader. The model uses docs/MODEL.md's parameter
names, so a Loom checkpoint loads with load_state_dict(strict=True) and back.

The C++ code (models/seq2seq.cpp, models/attention.cpp, models/lm/
language_model.cpp, ops/lstm.hpp, ops/loss.hpp) is the reference: every
formula here is written to equal it, and tests/test_torch_parity.cpp,
tests/test_lm_torch_parity.cpp and tests/examples/
test_gru_language_model_torch_parity.cpp check the loss and every gradient
against it.

Commands (run with /usr/bin/python3, which has Debian's python3-torch):
  make   --out F --src-vocab 7 --tgt-vocab 9 [--embed 8 --hidden 16 --layers 1
         --attention dot --seed 0 --init-scale 0.1 --label-smoothing 0]
  batch  --checkpoint F --out B [--batch-size 3 --max-source 6 --max-target 5 --seed 0]
  loss   --checkpoint F --batch B --out G [--double] [--with-outputs] [--label-smoothing X]
  resave --checkpoint F --out G
  info   --checkpoint F
  lm-make --out F --vocab 9 [--embed 8 --hidden 8 --layers 1 --tie-weights no
          --unit char --seed 0 --init-scale 0.1]   (a language model, docs/MODEL.md)
  lm-loss --checkpoint F --batch B --out G [--double] [--with-outputs]
  gru-make --out F --vocab 9 [--embed 8 --hidden 8 --unit char --seed 0 --init-scale 0.1]
  gru-loss --checkpoint F --batch B --out G [--double]   (examples/gru_language_model.cpp)
  many   --commands FILE   (one command line per line, all in this process:
                            torch is imported once)
`loss` writes "loss" (0-d), "grad.<param>" for every parameter and, with
--with-outputs, "logits" [B,T,Vt] and "attention" [B,T,S]. `lm-loss` does the
same for a language model on a batch of "input", "target" (B,T) and "lengths" (B);
`gru-loss` for the GRU model on "input" and "target".
"""
import argparse
import json
import math
import os
import shlex
import struct
import sys
import tempfile

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

FORMAT_VERSION = "1"
MAX_HEADER_BYTES = 100 << 20
DTYPES = {"F32": (torch.float32, 4), "F64": (torch.float64, 8), "I32": (torch.int32, 4), "I64": (torch.int64, 8)}
DTYPE_NAMES = {torch.float32: "F32", torch.float64: "F64", torch.int32: "I32", torch.int64: "I64"}
RESERVED_TOKENS = ["<pad>", "<unk>", "<bos>", "<eos>"]
PAD = 0
ATTENTION_KINDS = ["none", "dot", "scaled-dot", "cosine", "general", "additive"]
# Cosine attention's |x| = sqrt(sum x^2 + eps), per vector (models/attention.cpp):
# padded encoder outputs are zero, and sqrt at 0 has an infinite derivative.
COSINE_EPS = 1e-8


class SafetensorsError(ValueError):
    pass


# ---- safetensors ----

def _fail(path, what):
    raise SafetensorsError(f"checkpoint file '{path}': {what}")


def _no_duplicate_keys(path):
    def hook(pairs):
        seen = set()
        for key, _ in pairs:
            if key in seen:
                _fail(path, f"the header names '{key}' twice")
            seen.add(key)
        return dict(pairs)
    return hook


def _is_uint(v):
    return isinstance(v, int) and not isinstance(v, bool) and v >= 0


def _parse_entry(path, name, entry, data_bytes):
    if not isinstance(entry, dict):
        _fail(path, f"the entry of tensor '{name}' is not a JSON object")
    if set(entry) != {"dtype", "shape", "data_offsets"}:
        _fail(path, f"tensor '{name}' has fields {sorted(entry)}, expected dtype, shape, data_offsets")
    dtype, shape, offsets = entry["dtype"], entry["shape"], entry["data_offsets"]
    if dtype not in DTYPES:
        _fail(path, f"tensor '{name}' has the unsupported dtype {dtype!r}")
    if not isinstance(shape, list) or not all(_is_uint(d) for d in shape):
        _fail(path, f"tensor '{name}' has an invalid shape {shape!r}")
    if not isinstance(offsets, list) or len(offsets) != 2 or not all(_is_uint(o) for o in offsets):
        _fail(path, f"tensor '{name}' has invalid data_offsets {offsets!r}")
    begin, end = offsets
    if begin > end or end > data_bytes:
        _fail(path, f"tensor '{name}' has data_offsets {offsets} outside the {data_bytes}-byte data section")
    need = math.prod(shape) * DTYPES[dtype][1]
    if end - begin != need:
        _fail(path, f"tensor '{name}' of dtype {dtype} and shape {shape} needs {need} bytes, "
                    f"its data_offsets {offsets} hold {end - begin}")
    return (begin, end, name, dtype, shape)


def read_header(path, blob):
    """Validates the header of a safetensors file held in `blob`; returns
    (entries sorted by offset, metadata, data section start)."""
    if len(blob) < 8:
        _fail(path, f"is {len(blob)} bytes, too short for the 8-byte header length")
    (n,) = struct.unpack("<Q", blob[:8])
    if n > MAX_HEADER_BYTES:
        _fail(path, f"header length {n} is absurd (more than {MAX_HEADER_BYTES} bytes)")
    if n > len(blob) - 8:
        _fail(path, f"header length {n} is larger than the rest of the file ({len(blob) - 8} bytes)")
    try:
        header = json.loads(blob[8:8 + n].decode("utf-8"), object_pairs_hook=_no_duplicate_keys(path))
    except RecursionError:
        _fail(path, "the header nests deeper than any safetensors header")
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        _fail(path, f"the header is not valid JSON: {e}")
    if not isinstance(header, dict):
        _fail(path, "the header is not a JSON object")
    metadata = header.pop("__metadata__", {})
    if not isinstance(metadata, dict) or not all(isinstance(v, str) for v in metadata.values()):
        _fail(path, "__metadata__ is not an object of strings")
    data_bytes = len(blob) - 8 - n
    entries = sorted(_parse_entry(path, k, v, data_bytes) for k, v in header.items())
    expected = 0
    for begin, end, name, _, _ in entries:
        if begin != expected:
            _fail(path, f"tensor '{name}' starts at byte {begin}, expected {expected} (overlap or hole)")
        expected = end
    if expected != data_bytes:
        _fail(path, f"the last {data_bytes - expected} bytes of the data section belong to no tensor")
    return entries, metadata, 8 + n


def read_safetensors(path):
    """Returns ({name: tensor}, {key: str}), tensors in the file's dtypes."""
    with open(path, "rb") as f:
        blob = f.read()
    entries, metadata, start = read_header(path, blob)
    tensors = {}
    for begin, end, name, dtype, shape in entries:
        torch_dtype = DTYPES[dtype][0]
        if begin == end:
            tensors[name] = torch.zeros(shape, dtype=torch_dtype)
        else:
            raw = bytearray(blob[start + begin:start + end])
            tensors[name] = torch.frombuffer(raw, dtype=torch_dtype).reshape(shape).clone()
    return tensors, metadata


def write_safetensors(path, tensors, metadata=None):
    """Writes {name: tensor} sorted by name, header space-padded to 8 bytes,
    atomically (temp file in the same directory, fsync, rename, fsync dir)."""
    header, pieces, offset = {}, [], 0
    for name in sorted(tensors):
        t = tensors[name].detach().cpu().contiguous()
        if t.dtype not in DTYPE_NAMES:
            raise SafetensorsError(f"{path}: tensor '{name}' has unsupported dtype {t.dtype}")
        data = t.numpy().tobytes() if t.numel() else b""
        header[name] = {"dtype": DTYPE_NAMES[t.dtype], "shape": list(t.shape),
                        "data_offsets": [offset, offset + len(data)]}
        pieces.append(data)
        offset += len(data)
    if metadata:
        header["__metadata__"] = {str(k): str(v) for k, v in metadata.items()}
    text = json.dumps(header, separators=(",", ":"), sort_keys=True, ensure_ascii=False).encode("utf-8")
    text += b" " * ((8 - len(text) % 8) % 8)
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=os.path.basename(path) + ".tmp.", dir=directory)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(struct.pack("<Q", len(text)) + text)
            for data in pieces:
                f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    dir_fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


# ---- the model ----

class Attention(nn.Module):
    """scores (B,T,S) from decoder outputs d (B,T,H) and encoder outputs e (B,S,H);
    masked softmax over S. Formulas and parameter names are models/attention.cpp's:
      dot         d·e                    scaled-dot  d·e / sqrt(H)
      cosine      d·e / (|d| |e|), |x| = sqrt(Σx² + 1e-8) per vector
      general     (d W)·e                attention.weight [H,H]
      additive    v·tanh(W_q d + W_k e)  attention.w_query, attention.w_key [H,H], attention.v [H]"""

    def __init__(self, kind, hidden):
        super().__init__()
        if kind not in ATTENTION_KINDS or kind == "none":
            raise ValueError(f"unknown attention {kind!r}; known: {', '.join(ATTENTION_KINDS)}")
        self.kind, self.hidden = kind, hidden
        if kind == "general":
            self.weight = nn.Parameter(torch.empty(hidden, hidden))
        if kind == "additive":
            self.w_query = nn.Parameter(torch.empty(hidden, hidden))
            self.w_key = nn.Parameter(torch.empty(hidden, hidden))
            self.v = nn.Parameter(torch.empty(hidden))

    def scores(self, d, e):
        if self.kind in ("dot", "scaled-dot", "cosine"):
            s = d @ e.transpose(1, 2)
            if self.kind == "scaled-dot":
                s = s * (1.0 / math.sqrt(self.hidden))
            if self.kind == "cosine":
                d_norm = torch.sqrt((d * d).sum(-1, keepdim=True) + COSINE_EPS)  # (B,T,1)
                e_norm = torch.sqrt((e * e).sum(-1, keepdim=True) + COSINE_EPS)  # (B,S,1)
                s = s / d_norm / e_norm.transpose(1, 2)
            return s
        if self.kind == "general":
            return (d @ self.weight) @ e.transpose(1, 2)
        q = d @ self.w_query.t()  # (B,T,H)
        k = e @ self.w_key.t()    # (B,S,H)
        return torch.tanh(q.unsqueeze(2) + k.unsqueeze(1)) @ self.v  # (B,T,S)

    def forward(self, d, e, mask):
        s = self.scores(d, e).masked_fill(~mask.unsqueeze(1), float("-inf"))
        return torch.softmax(s, dim=-1)


class LoomSeq2Seq(nn.Module):
    def __init__(self, src_vocab, tgt_vocab, embed, hidden, layers=1, attention="dot", label_smoothing=0.0):
        super().__init__()
        self.attention_kind, self.label_smoothing = attention, label_smoothing
        self.src_embedding = nn.Embedding(src_vocab, embed)
        self.tgt_embedding = nn.Embedding(tgt_vocab, embed)
        self.encoder = nn.LSTM(embed, hidden, layers, batch_first=True)
        self.decoder = nn.LSTM(embed, hidden, layers, batch_first=True)
        self.attention = None if attention == "none" else Attention(attention, hidden)
        self.out = nn.Linear(hidden if attention == "none" else 2 * hidden, tgt_vocab)

    def forward(self, source, source_lengths, target_input, target_lengths=None):
        """source (B,S), target_input (B,T): ids padded with 0; returns logits
        (B,T,Vt) and attention weights (B,T,S) or None. Loom's decoder lengths
        are the non-pad counts of target_output (pass them); by default those
        of target_input, which are equal for <bos> y.. / y.. <eos> rows."""
        S, T = source.shape[1], target_input.shape[1]
        source_lengths = source_lengths.long().cpu()
        if target_lengths is None:
            target_lengths = (target_input != PAD).sum(1)
        target_lengths = target_lengths.long().cpu()
        if bool((source_lengths == S).all()) and bool((target_lengths == T).all()):
            # No padding (the benchmarks' batches): packing would change nothing but the time.
            enc, state = self.encoder(self.src_embedding(source.long()))
            dec, _ = self.decoder(self.tgt_embedding(target_input.long()), state)
        else:
            packed = pack_padded_sequence(self.src_embedding(source.long()), source_lengths, batch_first=True,
                                          enforce_sorted=False)
            enc_packed, state = self.encoder(packed)  # state: after each sequence's last real token
            enc, _ = pad_packed_sequence(enc_packed, batch_first=True, total_length=S)
            packed = pack_padded_sequence(self.tgt_embedding(target_input.long()), target_lengths, batch_first=True,
                                          enforce_sorted=False)
            dec_packed, _ = self.decoder(packed, state)
            dec, _ = pad_packed_sequence(dec_packed, batch_first=True, total_length=T)
        if self.attention is None:
            return self.out(dec), None
        mask = torch.arange(S).unsqueeze(0) < source_lengths.unsqueeze(1)  # (B,S)
        weights = self.attention(dec, enc, mask)
        context = weights @ enc
        return self.out(torch.cat([dec, context], dim=-1)), weights

    def loss(self, logits, target_output, label_smoothing=None):
        """Mean cross-entropy over non-pad target tokens (PyTorch's label smoothing)."""
        ls = self.label_smoothing if label_smoothing is None else label_smoothing
        return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), target_output.reshape(-1).long(),
                               ignore_index=PAD, label_smoothing=ls)


# ---- checkpoints ----

def _config_value(config, key, default, kind):
    value = config.get(key, default)
    return kind(value) if value is not None else None


def model_from_tensors(tensors, config):
    """Builds the model whose parameters have these names and shapes; the
    attention kind is loom.config's (else guessed from the tensors)."""
    layers = sum(1 for k in tensors if k.startswith("encoder.weight_ih_l"))
    vs, embed = tensors["src_embedding.weight"].shape
    vt = tensors["tgt_embedding.weight"].shape[0]
    hidden = tensors["encoder.weight_hh_l0"].shape[1]
    if "attention" in config:
        attention = str(config["attention"]).replace("_", "-")
    elif tensors["out.weight"].shape[1] == hidden:
        attention = "none"
    elif "attention.weight" in tensors:
        attention = "general"
    elif "attention.v" in tensors:
        attention = "additive"
    else:
        attention = "dot"
    ls = _config_value(config, "label_smoothing", 0.0, float)
    return LoomSeq2Seq(vs, vt, embed, hidden, layers, attention, ls)


def load_checkpoint(path):
    """Returns (model, {"source": tokens, "target": tokens}, config dict)."""
    tensors, metadata = read_safetensors(path)
    if metadata.get("loom.format_version") != FORMAT_VERSION:
        _fail(path, f"loom.format_version is {metadata.get('loom.format_version')!r}, expected {FORMAT_VERSION!r}")
    config = json.loads(metadata.get("loom.config", "{}"))
    vocabs = {"source": json.loads(metadata["loom.source_vocab"]),
              "target": json.loads(metadata["loom.target_vocab"])}
    try:
        model = model_from_tensors(tensors, config)
    except KeyError as e:
        _fail(path, f"lacks the parameter {e}")
    except ValueError as e:  # an attention kind this twin does not know
        _fail(path, str(e))
    dtype = tensors["out.weight"].dtype
    model.to(dtype)
    model.load_state_dict(tensors, strict=True)
    return model, vocabs, config


def checkpoint_metadata(vocabs, config, extra=None):
    metadata = dict(extra or {})
    metadata.update({"loom.config": json.dumps(config, sort_keys=True),
                     "loom.source_vocab": json.dumps(vocabs["source"], ensure_ascii=False),
                     "loom.target_vocab": json.dumps(vocabs["target"], ensure_ascii=False),
                     "loom.format_version": FORMAT_VERSION})
    return metadata


def save_checkpoint(model, path, metadata):
    """Writes the model's state_dict (docs/MODEL.md names) with Loom metadata."""
    tensors = {k: v.detach().to(torch.float32) for k, v in model.state_dict().items()}
    write_safetensors(path, tensors, metadata)


def loom_config(src_vocab, tgt_vocab, embed, hidden, layers, attention, dropout=0.0, label_smoothing=0.0, seed=1):
    """loom.config as io/model_io.cpp writes it: every Seq2SeqConfig key,
    values as strings (numbers in round-trip form), so load_model accepts it."""
    def num(x):
        return repr(float(x))
    return {"src_vocab": str(src_vocab), "tgt_vocab": str(tgt_vocab), "embed": str(embed), "hidden": str(hidden),
            "layers": str(layers), "attention": attention, "dropout": num(dropout),
            "label_smoothing": num(label_smoothing), "seed": str(seed)}


def synthetic_vocab(size, prefix):
    return RESERVED_TOKENS + [f"{prefix}{i}" for i in range(len(RESERVED_TOKENS), size)]


# ---- the language model (docs/MODEL.md, The language model) ----

class OutputLayer(nn.Module):
    """out.bias [V] and, untied, out.weight [V,H]; a tied model has no
    out.weight: its output layer reads the embedding table (E == H)."""

    def __init__(self, vocab, hidden, tied):
        super().__init__()
        self.bias = nn.Parameter(torch.empty(vocab))
        if tied:
            self.register_parameter("weight", None)
        else:
            self.weight = nn.Parameter(torch.empty(vocab, hidden))


class LoomLanguageModel(nn.Module):
    """Twin of models/lm/language_model.cpp: embedding -> L-layer LSTM from
    zero states over each row's real positions -> linear over the vocabulary;
    the loss is the mean cross-entropy over non-pad targets. Dropout is a
    training option that the parity checks leave at 0."""

    def __init__(self, vocab, embed, hidden, layers=1, tie_weights=False):
        super().__init__()
        if tie_weights and embed != hidden:
            raise ValueError(f"tied weights need embed == hidden, got {embed} and {hidden}")
        self.embedding = nn.Embedding(vocab, embed)
        self.lstm = nn.LSTM(embed, hidden, layers, batch_first=True)
        self.out = OutputLayer(vocab, hidden, tie_weights)

    def forward(self, input, lengths):
        """input (B,T) ids padded with 0, lengths (B) >= 1; returns logits (B,T,V)."""
        T = input.shape[1]
        packed = pack_padded_sequence(self.embedding(input.long()), lengths.long().cpu(), batch_first=True,
                                      enforce_sorted=False)
        outputs, _ = self.lstm(packed)
        h, _ = pad_packed_sequence(outputs, batch_first=True, total_length=T)  # zero at padding
        weight = self.embedding.weight if self.out.weight is None else self.out.weight
        return F.linear(h, weight, self.out.bias)

    def loss(self, logits, target):
        return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), target.reshape(-1).long(), ignore_index=PAD)


def lm_config(vocab, embed, hidden, layers, tie_weights, unit="char", dropout=0.0, seed=1):
    """loom.config as models/lm/config.cpp writes it (every key, values as strings)."""
    return {"vocab": str(vocab), "embed": str(embed), "hidden": str(hidden), "layers": str(layers),
            "dropout": repr(float(dropout)), "tie_weights": "yes" if tie_weights else "no", "unit": unit,
            "seed": str(seed)}


def load_lm_checkpoint(path):
    """Returns (model, vocabulary tokens, config dict) of a Loom language model checkpoint."""
    tensors, metadata = read_safetensors(path)
    if metadata.get("loom.format_version") != FORMAT_VERSION:
        _fail(path, f"loom.format_version is {metadata.get('loom.format_version')!r}, expected {FORMAT_VERSION!r}")
    if metadata.get("loom.model") != "lm":
        _fail(path, f"holds a {metadata.get('loom.model')!r} model, not a language model ('lm')")
    config = json.loads(metadata.get("loom.config", "{}"))
    vocab = json.loads(metadata["loom.vocab"])
    try:
        v, embed = tensors["embedding.weight"].shape
        hidden = tensors["lstm.weight_hh_l0"].shape[1]
    except KeyError as e:
        _fail(path, f"lacks the parameter {e}")
    layers = sum(1 for k in tensors if k.startswith("lstm.weight_hh_l"))
    model = LoomLanguageModel(v, embed, hidden, layers, "out.weight" not in tensors)
    model.to(tensors["embedding.weight"].dtype)
    model.load_state_dict(tensors, strict=True)
    return model, vocab, config


def cmd_lm_make(args):
    if args.vocab < 5:
        sys.exit("lm-make: --vocab needs at least 5 (4 reserved tokens + 1)")
    torch.manual_seed(args.seed)
    tied = args.tie_weights == "yes"
    model = LoomLanguageModel(args.vocab, args.embed, args.hidden, args.layers, tied)
    with torch.no_grad():
        for p in model.parameters():
            p.uniform_(-args.init_scale, args.init_scale)
    config = lm_config(args.vocab, args.embed, args.hidden, args.layers, tied, args.unit, seed=args.seed)
    metadata = {"loom.written_by": "loom_torch.py", "loom.model": "lm", "loom.config": json.dumps(config, sort_keys=True),
                "loom.vocab": json.dumps(synthetic_vocab(args.vocab, "w"), ensure_ascii=False),
                "loom.format_version": FORMAT_VERSION}
    save_checkpoint(model, args.out, metadata)


def cmd_lm_loss(args):
    model, _, _ = load_lm_checkpoint(args.checkpoint)
    batch, _ = read_safetensors(args.batch)
    for key in ("input", "target", "lengths"):
        if key not in batch:
            _fail(args.batch, f"lacks the batch tensor '{key}'")
    if args.double:
        model.double()
    logits = model(batch["input"], batch["lengths"])
    loss = model.loss(logits, batch["target"])
    loss.backward()
    out = {"loss": loss.detach()}
    for name, p in model.named_parameters():
        out["grad." + name] = p.grad if p.grad is not None else torch.zeros_like(p)
    if args.with_outputs:
        out["logits"] = logits.detach()
    write_safetensors(args.out, out, {"loom.loss_dtype": "F64" if args.double else "F32"})
    print(f"loss {loss.item():.9g}")


# ---- a user's GRU language model (examples/gru_language_model.cpp, "gru-lm") ----

class LoomGruLanguageModel(nn.Module):
    """Twin of examples/gru_language_model.cpp: embedding -> one nn.GRU layer
    (gates in rows [r; z; n]) from a zero state -> linear over the vocabulary;
    the loss is the mean cross-entropy over non-pad targets. It runs over every
    position, padding included, as Loom's does: a padded step only feeds <pad>
    targets, which the loss ignores, and never reaches an earlier step."""

    def __init__(self, vocab, embed, hidden):
        super().__init__()
        self.embedding = nn.Embedding(vocab, embed)
        self.gru = nn.GRU(embed, hidden, 1, batch_first=True)
        self.out = nn.Linear(hidden, vocab)

    def forward(self, input):
        """input (B,T) ids padded with 0; returns logits (B,T,V)."""
        h, _ = self.gru(self.embedding(input.long()))
        return self.out(h)

    def loss(self, logits, target):
        return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), target.reshape(-1).long(), ignore_index=PAD)


def gru_config(vocab, embed, hidden, unit="char", dropout=0.0, seed=1):
    """loom.config as GruLanguageModel::config() writes it (every key, values as strings)."""
    return {"vocab": str(vocab), "embed": str(embed), "hidden": str(hidden), "dropout": repr(float(dropout)),
            "unit": unit, "seed": str(seed)}


def load_gru_checkpoint(path):
    """Returns the model of a Loom gru-lm checkpoint."""
    tensors, metadata = read_safetensors(path)
    if metadata.get("loom.format_version") != FORMAT_VERSION:
        _fail(path, f"loom.format_version is {metadata.get('loom.format_version')!r}, expected {FORMAT_VERSION!r}")
    if metadata.get("loom.model") != "gru-lm":
        _fail(path, f"holds a {metadata.get('loom.model')!r} model, not a GRU language model ('gru-lm')")
    try:
        v, embed = tensors["embedding.weight"].shape
        hidden = tensors["gru.weight_hh_l0"].shape[1]
    except KeyError as e:
        _fail(path, f"lacks the parameter {e}")
    model = LoomGruLanguageModel(v, embed, hidden)
    model.to(tensors["embedding.weight"].dtype)
    model.load_state_dict(tensors, strict=True)
    return model


def cmd_gru_make(args):
    if args.vocab < 5:
        sys.exit("gru-make: --vocab needs at least 5 (4 reserved tokens + 1)")
    torch.manual_seed(args.seed)
    model = LoomGruLanguageModel(args.vocab, args.embed, args.hidden)
    with torch.no_grad():
        for p in model.parameters():
            p.uniform_(-args.init_scale, args.init_scale)
    config = gru_config(args.vocab, args.embed, args.hidden, args.unit, seed=args.seed)
    metadata = {"loom.written_by": "loom_torch.py", "loom.model": "gru-lm",
                "loom.config": json.dumps(config, sort_keys=True),
                "loom.vocab": json.dumps(synthetic_vocab(args.vocab, "w"), ensure_ascii=False),
                "loom.format_version": FORMAT_VERSION}
    save_checkpoint(model, args.out, metadata)


def cmd_gru_loss(args):
    model = load_gru_checkpoint(args.checkpoint)
    batch, _ = read_safetensors(args.batch)
    for key in ("input", "target"):
        if key not in batch:
            _fail(args.batch, f"lacks the batch tensor '{key}'")
    if args.double:
        model.double()
    loss = model.loss(model(batch["input"]), batch["target"])
    loss.backward()
    out = {"loss": loss.detach()}
    for name, p in model.named_parameters():
        out["grad." + name] = p.grad if p.grad is not None else torch.zeros_like(p)
    write_safetensors(args.out, out, {"loom.loss_dtype": "F64" if args.double else "F32"})
    print(f"loss {loss.item():.9g}")


# ---- commands ----

def cmd_make(args):
    if args.src_vocab < 5 or args.tgt_vocab < 5:
        sys.exit("make: --src-vocab and --tgt-vocab need at least 5 (4 reserved tokens + 1)")
    torch.manual_seed(args.seed)
    model = LoomSeq2Seq(args.src_vocab, args.tgt_vocab, args.embed, args.hidden, args.layers, args.attention,
                        args.label_smoothing)
    with torch.no_grad():
        for p in model.parameters():
            p.uniform_(-args.init_scale, args.init_scale)
    config = loom_config(args.src_vocab, args.tgt_vocab, args.embed, args.hidden, args.layers, args.attention,
                         label_smoothing=args.label_smoothing, seed=args.seed)
    vocabs = {"source": synthetic_vocab(args.src_vocab, "s"), "target": synthetic_vocab(args.tgt_vocab, "t")}
    save_checkpoint(model, args.out, checkpoint_metadata(vocabs, config, {"loom.written_by": "loom_torch.py"}))


def random_batch(vs, vt, batch_size, max_source, max_target, seed):
    """Padded i32 batch: sources end with <eos>, targets are <bos> y.. / y.. <eos>."""
    g = torch.Generator().manual_seed(seed)
    src_len = torch.randint(1, max_source + 1, (batch_size,), generator=g)
    src_len[0] = max_source  # one full row, so no column is all padding
    tgt_len = torch.randint(1, max_target + 1, (batch_size,), generator=g)
    source = torch.zeros(batch_size, max_source, dtype=torch.int32)
    target_input = torch.zeros(batch_size, max_target, dtype=torch.int32)
    target_output = torch.zeros(batch_size, max_target, dtype=torch.int32)
    for b in range(batch_size):
        n, m = int(src_len[b]), int(tgt_len[b])
        source[b, :n - 1] = torch.randint(4, vs, (n - 1,), generator=g, dtype=torch.int32)
        source[b, n - 1] = 3
        words = torch.randint(4, vt, (m - 1,), generator=g, dtype=torch.int32)
        target_input[b, 0] = 2
        target_input[b, 1:m] = words
        target_output[b, :m - 1] = words
        target_output[b, m - 1] = 3
    return {"source": source, "source_lengths": src_len.to(torch.int32),
            "target_input": target_input, "target_output": target_output}


def cmd_batch(args):
    model, _, _ = load_checkpoint(args.checkpoint)
    batch = random_batch(model.src_embedding.num_embeddings, model.tgt_embedding.num_embeddings, args.batch_size,
                         args.max_source, args.max_target, args.seed)
    write_safetensors(args.out, batch)


def cmd_loss(args):
    model, _, _ = load_checkpoint(args.checkpoint)
    batch, _ = read_safetensors(args.batch)
    for key in ("source", "source_lengths", "target_input", "target_output"):
        if key not in batch:
            _fail(args.batch, f"lacks the batch tensor '{key}'")
    if args.double:
        model.double()
    target_lengths = (batch["target_output"] != PAD).sum(1)  # Loom's decoder lengths
    logits, weights = model(batch["source"], batch["source_lengths"], batch["target_input"], target_lengths)
    loss = model.loss(logits, batch["target_output"], args.label_smoothing)
    loss.backward()
    out = {"loss": loss.detach()}
    for name, p in model.named_parameters():
        out["grad." + name] = p.grad if p.grad is not None else torch.zeros_like(p)
    if args.with_outputs:
        out["logits"] = logits.detach()
        if weights is not None:
            out["attention"] = weights.detach()
    write_safetensors(args.out, out, {"loom.loss_dtype": "F64" if args.double else "F32"})
    print(f"loss {loss.item():.9g}")


def cmd_resave(args):
    model, vocabs, config = load_checkpoint(args.checkpoint)
    _, metadata = read_safetensors(args.checkpoint)
    save_checkpoint(model, args.out, metadata)


def cmd_info(args):
    model, vocabs, config = load_checkpoint(args.checkpoint)
    shapes = {k: list(v.shape) for k, v in model.state_dict().items()}
    print(json.dumps({"config": config, "attention": model.attention_kind, "source_vocab": len(vocabs["source"]),
                      "target_vocab": len(vocabs["target"]), "parameters": shapes}, indent=1))


def cmd_many(args):
    """Runs each line of the file as a command line, stopping at the first failure."""
    with open(args.commands, encoding="utf-8") as f:
        lines = [line.strip() for line in f]
    for number, line in enumerate(lines, 1):
        if not line or line.startswith("#"):
            continue
        try:
            main(shlex.split(line))
        except SystemExit as e:
            if e.code not in (None, 0):
                sys.exit(f"loom_torch.py many: {args.commands}:{number} ({line}) failed: {e.code}")
        except Exception as e:  # noqa: BLE001 -- name the failing line, whatever went wrong
            sys.exit(f"loom_torch.py many: {args.commands}:{number} ({line}) failed: {type(e).__name__}: {e}")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    make = sub.add_parser("make", help="write a randomly initialised checkpoint")
    make.add_argument("--out", required=True)
    make.add_argument("--src-vocab", type=int, required=True)
    make.add_argument("--tgt-vocab", type=int, required=True)
    make.add_argument("--embed", type=int, default=8)
    make.add_argument("--hidden", type=int, default=16)
    make.add_argument("--layers", type=int, default=1)
    make.add_argument("--attention", choices=ATTENTION_KINDS, default="dot")
    make.add_argument("--label-smoothing", type=float, default=0.0)
    make.add_argument("--seed", type=int, default=0)
    make.add_argument("--init-scale", type=float, default=0.1)
    batch = sub.add_parser("batch", help="write a random padded i32 batch for a checkpoint")
    batch.add_argument("--checkpoint", required=True)
    batch.add_argument("--out", required=True)
    batch.add_argument("--batch-size", type=int, default=3)
    batch.add_argument("--max-source", type=int, default=6)
    batch.add_argument("--max-target", type=int, default=5)
    batch.add_argument("--seed", type=int, default=0)
    loss = sub.add_parser("loss", help="loss and every parameter's gradient for a batch")
    loss.add_argument("--checkpoint", required=True)
    loss.add_argument("--batch", required=True)
    loss.add_argument("--out", required=True)
    loss.add_argument("--double", action="store_true", help="compute in float64")
    loss.add_argument("--with-outputs", action="store_true", help="also write logits and attention")
    loss.add_argument("--label-smoothing", type=float, default=None, help="override the checkpoint's config")
    resave = sub.add_parser("resave", help="load a checkpoint into PyTorch and write it back")
    resave.add_argument("--checkpoint", required=True)
    resave.add_argument("--out", required=True)
    info = sub.add_parser("info", help="print a checkpoint's config and parameter shapes")
    info.add_argument("--checkpoint", required=True)
    lm_make = sub.add_parser("lm-make", help="write a randomly initialised language model checkpoint")
    lm_make.add_argument("--out", required=True)
    lm_make.add_argument("--vocab", type=int, required=True)
    lm_make.add_argument("--embed", type=int, default=8)
    lm_make.add_argument("--hidden", type=int, default=8)
    lm_make.add_argument("--layers", type=int, default=1)
    lm_make.add_argument("--tie-weights", choices=["yes", "no"], default="no")
    lm_make.add_argument("--unit", choices=["word", "char"], default="char")
    lm_make.add_argument("--seed", type=int, default=0)
    lm_make.add_argument("--init-scale", type=float, default=0.1)
    lm_loss = sub.add_parser("lm-loss", help="a language model's loss and every gradient for a batch")
    lm_loss.add_argument("--checkpoint", required=True)
    lm_loss.add_argument("--batch", required=True)
    lm_loss.add_argument("--out", required=True)
    lm_loss.add_argument("--double", action="store_true", help="compute in float64")
    lm_loss.add_argument("--with-outputs", action="store_true", help="also write the logits")
    gru_make = sub.add_parser("gru-make", help="write a randomly initialised gru-lm checkpoint (examples/)")
    gru_make.add_argument("--out", required=True)
    gru_make.add_argument("--vocab", type=int, required=True)
    gru_make.add_argument("--embed", type=int, default=8)
    gru_make.add_argument("--hidden", type=int, default=8)
    gru_make.add_argument("--unit", choices=["word", "char"], default="char")
    gru_make.add_argument("--seed", type=int, default=0)
    gru_make.add_argument("--init-scale", type=float, default=0.1)
    gru_loss = sub.add_parser("gru-loss", help="a gru-lm model's loss and every gradient for a batch")
    gru_loss.add_argument("--checkpoint", required=True)
    gru_loss.add_argument("--batch", required=True)
    gru_loss.add_argument("--out", required=True)
    gru_loss.add_argument("--double", action="store_true", help="compute in float64")
    many = sub.add_parser("many", help="run the command lines of a file, importing torch once")
    many.add_argument("--commands", required=True)
    args = parser.parse_args(argv)
    try:
        {"make": cmd_make, "batch": cmd_batch, "loss": cmd_loss, "resave": cmd_resave, "info": cmd_info,
         "many": cmd_many, "lm-make": cmd_lm_make, "lm-loss": cmd_lm_loss, "gru-make": cmd_gru_make,
         "gru-loss": cmd_gru_loss}[
            args.command](args)
    except (SafetensorsError, OSError) as e:
        sys.exit(f"loom_torch.py {args.command}: {e}")


if __name__ == "__main__":
    main()
