#!/usr/bin/env python3
"""Generate the PyTorch optimizer-trajectory fixtures in tests/fixtures/train/ (run by hand, never
by tests).

    .venv-torch/bin/python scripts/make_train_fixtures.py

For every case NAME it writes
    NAME.model.safetensors     the starting state_dict (f32) + metadata
    NAME.batches.safetensors   input_K and target_K (f32) and, for lengths cases, lengths_K (int64)
                               for each step K = 0..19
    NAME.expected.safetensors  loss (20,) and every parameter after step 1 (step1.NAME) and after
                               the last step (NAME), float64; metadata: optimizer (SGD, Adam,
                               AdamW), lr, weight_decay, momentum, dampening, nesterov or beta1,
                               beta2, eps, and clip_grad_norm when the case clips
and train/README.md. Each step is, in float64 on a copy of the f32 start:
    loss = mse_loss(module(input_K)[0], target_K)      (a cell's output is its new h)
    opt.zero_grad(); loss.backward(); [clip_grad_norm_(params, max_norm)]; opt.step()
Lengths cases pack the input (enforce_sorted=False) and pad the output, as the forward fixtures do;
max(lengths) = T in every batch, so output and target have T steps.
"""
import copy
import json
import os
import sys
import warnings
import zlib
from pathlib import Path

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence
from safetensors.torch import save, save_file

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from export_model import save_model  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "tests" / "fixtures" / "train"
STEPS = 20
CELLS = (nn.RNNCell, nn.LSTMCell, nn.GRUCell)

# name, module, input shape, optimizer, clip max_norm, lengths per batch (None: full)
CASES = [
    ("lstm_proj_sgd_momentum", lambda: nn.LSTM(3, 8, num_layers=2, proj_size=4), (6, 4, 3),
     lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9, weight_decay=1e-3), None, False),
    ("gru_bidir_bf_adam_lengths", lambda: nn.GRU(3, 7, bidirectional=True, batch_first=True), (4, 6, 3),
     lambda p: torch.optim.Adam(p, lr=1e-2), None, True),
    ("rnn_relu_l2_adamw", lambda: nn.RNN(4, 6, num_layers=2, nonlinearity="relu"), (5, 3, 4),
     lambda p: torch.optim.AdamW(p, lr=1e-2, weight_decay=0.1), None, False),
    ("lstm_adam_clip", lambda: nn.LSTM(3, 5), (6, 4, 3),
     lambda p: torch.optim.Adam(p, lr=5e-2, betas=(0.8, 0.99), eps=1e-6, weight_decay=1e-2), 0.1, False),
    ("lstmcell_sgd_nesterov", lambda: nn.LSTMCell(3, 5), (4, 3),
     lambda p: torch.optim.SGD(p, lr=0.05, momentum=0.8, nesterov=True), None, False),
    ("gru_sgd_dampening_clip", lambda: nn.GRU(2, 5, bias=False), (7, 2, 2),
     lambda p: torch.optim.SGD(p, lr=0.2, momentum=0.5, dampening=0.3, weight_decay=1e-2), 0.5, False),
    ("rnncell_adam_defaults", lambda: nn.RNNCell(3, 4), (5, 3),
     lambda p: torch.optim.Adam(p), None, False),
]


def save_with_metadata(tensors, path, meta):
    """save_file with the metadata keys in sorted order, so regenerating gives identical bytes."""
    data = bytearray(save(tensors, metadata=meta))
    n = int.from_bytes(data[:8], "little")
    header = json.loads(data[8:8 + n])
    header["__metadata__"] = dict(sorted(meta.items()))
    text = json.dumps(header, separators=(",", ":")).encode().ljust(n)
    assert len(text) == n
    data[8:8 + n] = text
    path.write_bytes(bytes(data))


def forward(m, x, lengths):
    if isinstance(m, CELLS):
        r = m(x)
        return r[0] if isinstance(r, tuple) else r
    if lengths is not None:
        packed = pack_padded_sequence(x, lengths, batch_first=m.batch_first, enforce_sorted=False)
        out, _ = m(packed)
        return pad_packed_sequence(out, batch_first=m.batch_first)[0]
    return m(x)[0]


def make_case(name, make, x_shape, make_opt, clip, with_lengths):
    torch.manual_seed(zlib.crc32(name.encode()))
    m = make()
    save_model(m, OUT / f"{name}.model.safetensors")
    m64 = copy.deepcopy(m).double()
    opt = make_opt(m64.parameters())
    batch_first = getattr(m, "batch_first", False)
    batches, losses, step1 = {}, [], {}
    for k in range(STEPS):
        x = torch.randn(x_shape)
        lengths = None
        if with_lengths:
            n = x_shape[0] if batch_first else x_shape[1]
            t = x_shape[1] if batch_first else x_shape[0]
            lengths = torch.randint(1, t + 1, (n,))
            lengths[k % n] = t
            batches[f"lengths_{k}"] = lengths
        with torch.no_grad():
            target_shape = forward(m64, x.double(), lengths).shape
        target = torch.randn(target_shape)
        batches[f"input_{k}"] = x
        batches[f"target_{k}"] = target
        loss = nn.functional.mse_loss(forward(m64, x.double(), lengths), target.double())
        opt.zero_grad()
        loss.backward()
        if clip is not None:
            nn.utils.clip_grad_norm_(m64.parameters(), clip)
        opt.step()
        losses.append(loss.item())
        if k == 0:
            step1 = {f"step1.{n}": p.detach().clone() for n, p in m64.named_parameters()}
    save_file({k: v.contiguous() for k, v in batches.items()}, str(OUT / f"{name}.batches.safetensors"))
    exp = {"loss": torch.tensor(losses, dtype=torch.float64), **step1}
    exp.update({n: p.detach().clone() for n, p in m64.named_parameters()})
    group = opt.param_groups[0]
    meta = {"optimizer": type(opt).__name__, "lr": repr(float(group["lr"])),
            "weight_decay": repr(float(group["weight_decay"]))}
    if isinstance(opt, torch.optim.SGD):
        meta.update(momentum=repr(float(group["momentum"])), dampening=repr(float(group["dampening"])),
                    nesterov=str(group["nesterov"]).lower())
    else:
        meta.update(beta1=repr(float(group["betas"][0])), beta2=repr(float(group["betas"][1])),
                    eps=repr(float(group["eps"])))
    if clip is not None:
        meta["clip_grad_norm"] = repr(float(clip))
    save_with_metadata({k: v.contiguous() for k, v in exp.items()}, OUT / f"{name}.expected.safetensors", meta)
    return m, opt, losses


def main():
    warnings.filterwarnings("ignore", message="LSTM with projections is not supported with oneDNN")
    OUT.mkdir(parents=True, exist_ok=True)
    for p in OUT.glob("*.safetensors"):
        p.unlink()
    rows = []
    for name, make, x_shape, make_opt, clip, with_lengths in CASES:
        m, opt, losses = make_case(name, make, x_shape, make_opt, clip, with_lengths)
        group = {k: v for k, v in opt.param_groups[0].items()
                 if k in ("lr", "momentum", "dampening", "weight_decay", "nesterov", "betas", "eps",
                          "decoupled_weight_decay")}
        desc = f"{type(opt).__name__}({', '.join(f'{k}={v}' for k, v in group.items())})"
        extra = (f", clip_grad_norm_ {clip}" if clip is not None else "") + (", lengths" if with_lengths else "")
        rows.append(f"| `{name}` | `{' '.join(repr(m).split())}` | input {x_shape} | `{desc}`{extra} | "
                    f"{losses[0]:.4f} → {losses[-1]:.4f} |")
        print(f"{name:28s} loss {losses[0]:.4f} -> {losses[-1]:.4f}")
    with open(OUT / "README.md", "w") as f:
        f.write(
            "# Optimizer trajectory fixtures (generated, do not edit)\n\n"
            "Regenerate from the repository root with\n\n"
            "    .venv-torch/bin/python scripts/make_train_fixtures.py\n\n"
            f"Generated with torch {torch.__version__}; see the script's docstring. Each case trains\n"
            f"{STEPS} steps of MSE loss in float64 from the f32 start on its own batches.\n\n"
            "| name | module | batch | optimizer | loss first → last |\n|---|---|---|---|---|\n"
        )
        f.write("\n".join(rows) + "\n")


if __name__ == "__main__":
    main()
