#!/usr/bin/env python3
"""Check `wgpu-rnn run` against PyTorch on freshly drawn models and inputs (not the fixtures).

Each case draws a module kind and constructor options at random, builds it in PyTorch, saves it
(with metadata, without metadata, or in float16/bfloat16/float64), draws inputs (batched or not,
with or without state, with lengths), runs the CLI, and compares with PyTorch in float64 on the
same weights. Needs torch (the .venv-torch venv) and a built binary (cargo build --release).

    .venv-torch/bin/python scripts/check_against_pytorch.py --cases 50 --device cpu
"""
import argparse
import os
import random
import subprocess
import sys
import tempfile

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence
from safetensors.torch import save_file, load_file

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from export_model import save_model, save_inputs  # noqa: E402

KINDS = ["RNN", "LSTM", "GRU", "RNNCell", "LSTMCell", "GRUCell"]


def draw_module(rng):
    kind = rng.choice(KINDS)
    i, h = rng.randint(1, 40), rng.randint(1, 40)
    bias = rng.random() < 0.8
    if kind.endswith("Cell"):
        kw = {"bias": bias}
        if kind == "RNNCell":
            kw["nonlinearity"] = rng.choice(["tanh", "relu"])
        return getattr(nn, kind)(i, h, **kw)
    kw = dict(num_layers=rng.randint(1, 3), bias=bias, batch_first=rng.random() < 0.3,
              bidirectional=rng.random() < 0.5)
    if kind == "RNN":
        kw["nonlinearity"] = rng.choice(["tanh", "relu"])
    if kind == "LSTM" and h > 1 and rng.random() < 0.4:
        kw["proj_size"] = rng.randint(1, h - 1)
    return getattr(nn, kind)(i, h, **kw)


def reference(module, x, h0, c0, lengths):
    m = module.double().eval()
    with torch.no_grad():
        x = x.double()
        state = None
        if isinstance(m, (nn.LSTM, nn.LSTMCell)):
            if h0 is not None or c0 is not None:
                state = (h0.double(), c0.double())
        elif h0 is not None:
            state = h0.double()
        if isinstance(m, nn.RNNCellBase):
            r = m(x, state)
            return {"output": r[0], "h_n": r[0], "c_n": r[1]} if isinstance(r, tuple) else {"output": r, "h_n": r}
        if lengths is not None:
            packed = pack_padded_sequence(x, lengths, batch_first=m.batch_first, enforce_sorted=False)
            out, hn = m(packed, state)
            out, _ = pad_packed_sequence(out, batch_first=m.batch_first)
        else:
            out, hn = m(x, state)
        if isinstance(hn, tuple):
            return {"output": out, "h_n": hn[0], "c_n": hn[1]}
        return {"output": out, "h_n": hn}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cases", type=int, default=50)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--seed", type=int, default=None)
    ap.add_argument("--binary", default="target/release/wgpu-rnn")
    ap.add_argument("--tolerance", type=float, default=None, help="default 1e-6 (cpu), 1e-5 (gpu)")
    args = ap.parse_args()
    seed = args.seed if args.seed is not None else random.randrange(1 << 30)
    tol = args.tolerance or (1e-6 if args.device == "cpu" else 1e-5)
    rng = random.Random(seed)
    torch.manual_seed(seed)
    print(f"seed {seed}, device {args.device}, tolerance {tol:g}")
    worst_all, failures = 0.0, 0
    with tempfile.TemporaryDirectory() as tmp:
        for case in range(args.cases):
            module = draw_module(rng)
            cell = isinstance(module, nn.RNNCellBase)
            # Weights as a user might ship them: f32 with or without metadata, or another dtype.
            fmt = rng.choice(["meta", "meta", "nometa", "float16", "bfloat16", "float64"])
            if isinstance(module, nn.RNN) and module.nonlinearity == "relu" or cell and getattr(module, "nonlinearity", "tanh") == "relu":
                fmt = "meta"  # relu cannot be inferred from tensors
            if not cell and module.batch_first and fmt not in ("meta",):
                fmt = "meta"  # nor can batch_first
            model_path = os.path.join(tmp, f"m{case}.safetensors")
            if fmt == "meta":
                save_model(module, model_path)
            elif fmt == "nometa":
                save_model(module, model_path, with_metadata=False)
            else:
                dt = getattr(torch, fmt)
                with torch.no_grad():
                    for p in module.parameters():  # the reference sees the same rounded weights
                        p.copy_(p.to(dt).float())
                save_file({k: v.to(dt).contiguous() for k, v in module.state_dict().items()}, model_path)
            i, h = module.input_size, module.hidden_size
            batched = rng.random() < 0.8
            n = rng.randint(1, 6)
            lengths = None
            if cell:
                x = torch.randn((n, i) if batched else (i,))
                sshape = (n, h) if batched else (h,)
                hshape = sshape
            else:
                t = rng.randint(1, 30)
                d = 2 if module.bidirectional else 1
                x = torch.randn(((n, t, i) if module.batch_first else (t, n, i)) if batched else (t, i))
                hout = module.proj_size if getattr(module, "proj_size", 0) else h
                hshape = (d * module.num_layers, n, hout) if batched else (d * module.num_layers, hout)
                sshape = (d * module.num_layers, n, h) if batched else (d * module.num_layers, h)
                if batched and rng.random() < 0.4:
                    lengths = torch.tensor([rng.randint(1, t) for _ in range(n)])
            with_state = rng.random() < 0.6
            lstm = isinstance(module, (nn.LSTM, nn.LSTMCell))
            h0 = torch.randn(hshape) if with_state else None
            c0 = torch.randn(sshape) if with_state and lstm else None
            in_path = os.path.join(tmp, f"i{case}.safetensors")
            out_path = os.path.join(tmp, f"o{case}.safetensors")
            save_inputs(in_path, x, h0, c0, lengths)
            run = subprocess.run([args.binary, "run", "--model", model_path, "--input", in_path,
                                  "--output", out_path, "--device", args.device],
                                 capture_output=True, text=True)
            desc = f"{module} [{fmt}] x{tuple(x.shape)}{' state' if with_state else ''}{' lengths' if lengths is not None else ''}"
            if run.returncode != 0:
                print(f"FAIL {case}: {desc}: {run.stderr.strip()}")
                failures += 1
                continue
            got = load_file(out_path)
            want = reference(module, x, h0, c0, lengths)
            worst = 0.0
            for name, w in want.items():
                g = got[name].double()
                if g.shape != w.shape:
                    worst = float("inf")
                    print(f"  {name}: shape {tuple(g.shape)} vs {tuple(w.shape)}")
                    continue
                worst = max(worst, ((g - w).abs() / w.abs().clamp(min=1)).max().item())
            worst_all = max(worst_all, worst)
            ok = worst <= tol
            failures += not ok
            print(f"{'ok  ' if ok else 'FAIL'} {case}: {desc}: max rel err {worst:.2e}")
    print(f"{args.cases - failures} passed, {failures} failed; worst error {worst_all:.2e} (tolerance {tol:g})")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
