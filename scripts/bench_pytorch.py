#!/usr/bin/env python3
"""PyTorch side of `wgpu-rnn bench`: the same flags, the same timing, the same JSON.

    .venv-torch/bin/python scripts/bench_pytorch.py --module lstm --input-size 256 \
        --hidden-size 256 --layers 1 --batch 32 --seq-len 100 --device cpu --json

Times whole forwards from host input to host output (on CUDA: copy in, forward, copy out,
synchronised) under no_grad, after warm-up; with --train, whole training steps instead (forward,
MSE loss against a random target, zero_grad, backward, Adam step, the loss back to the host), as
`wgpu-rnn bench --train` does, GFLOP/s counting a step as three forwards; reports median and min ms and GFLOP/s by the formula
2·T·N·G·H·(I_l + H_out) (+ 2·T·N·P·H for a projection) summed over layers and directions.
CPU threads = cores; on CUDA, TF32 is off so both sides compute in f32.
"""
import argparse
import json
import os
import resource
import statistics
import time

import torch

GATES = {"rnn": 1, "lstm": 4, "gru": 3}


def flops(a):
    h_out = a.proj_size or a.hidden_size
    d = 2 if a.bidirectional else 1
    total = 0.0
    for layer in range(a.layers):
        i = a.input_size if layer == 0 else d * h_out
        proj = 2.0 * a.seq_len * a.batch * h_out * a.hidden_size if a.proj_size else 0.0
        total += d * (2.0 * a.seq_len * a.batch * GATES[a.module] * a.hidden_size * (i + h_out) + proj)
    return total


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--module", choices=["rnn", "lstm", "gru"], required=True)
    ap.add_argument("--input-size", type=int, required=True)
    ap.add_argument("--hidden-size", type=int, required=True)
    ap.add_argument("--layers", type=int, default=1)
    ap.add_argument("--batch", type=int, required=True)
    ap.add_argument("--seq-len", type=int, required=True)
    ap.add_argument("--bidirectional", action="store_true")
    ap.add_argument("--proj-size", type=int, default=0)
    ap.add_argument("--device", choices=["cpu", "gpu", "cuda"], required=True)
    ap.add_argument("--iters", type=int, default=10)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--train", action="store_true")
    a = ap.parse_args()

    cuda = a.device in ("gpu", "cuda")
    dev = torch.device("cuda" if cuda else "cpu")
    if cuda:
        torch.backends.cudnn.allow_tf32 = False
        torch.backends.cuda.matmul.allow_tf32 = False
    else:
        torch.set_num_threads(os.cpu_count())
    torch.manual_seed(0)
    cls = {"rnn": torch.nn.RNN, "lstm": torch.nn.LSTM, "gru": torch.nn.GRU}[a.module]
    kw = {"proj_size": a.proj_size} if a.proj_size else {}
    model = cls(a.input_size, a.hidden_size, num_layers=a.layers, bidirectional=a.bidirectional, **kw)
    model = model.to(dev)
    model.train(a.train)
    x_host = torch.rand(a.seq_len, a.batch, a.input_size) * 2 - 1
    h_out = a.proj_size or a.hidden_size
    target = (torch.rand(a.seq_len, a.batch, (2 if a.bidirectional else 1) * h_out) * 2 - 1).to(dev)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)

    def once():
        x = x_host.to(dev)
        out, _ = model(x)
        out = out.cpu()
        if cuda:
            torch.cuda.synchronize()
        return out

    def train_step():
        x = x_host.to(dev)
        out, _ = model(x)
        loss = torch.nn.functional.mse_loss(out, target)
        opt.zero_grad()
        loss.backward()
        opt.step()
        return loss.item()

    runs = []
    step = train_step if a.train else once
    with torch.set_grad_enabled(a.train):
        for _ in range(a.warmup):
            step()
        for _ in range(max(a.iters, 1)):
            start = time.perf_counter()
            step()
            runs.append((time.perf_counter() - start) * 1e3)
    median = statistics.median(runs)
    work = (3 if a.train else 1) * flops(a)
    result = {
        "impl": "pytorch", "torch": torch.__version__, "module": a.module.upper(),
        "mode": "train" if a.train else "forward",
        "device": "cuda" if cuda else "cpu", "threads": torch.get_num_threads(),
        "input_size": a.input_size, "hidden_size": a.hidden_size, "layers": a.layers,
        "batch": a.batch, "seq_len": a.seq_len, "bidirectional": a.bidirectional,
        "proj_size": a.proj_size, "iters": len(runs), "median_ms": round(median, 4),
        "min_ms": round(min(runs), 4), "gflops": round(work / (median * 1e6), 4),
        "host_peak_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
    }
    if cuda:
        result["gpu"] = torch.cuda.get_device_name()
    if a.json:
        print(json.dumps(result, separators=(",", ":")))
    else:
        print(f"{model} on {result['device']}: T={a.seq_len} N={a.batch}")
        print(f"median {median:.3f} ms, min {min(runs):.3f} ms over {len(runs)} runs after {a.warmup} warm-up")
        print(f"{result['gflops']:.3f} GFLOP/s")


if __name__ == "__main__":
    main()
