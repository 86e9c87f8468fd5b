#!/usr/bin/env python3
"""The training rows of BENCHMARKS.md: `wgpu-rnn bench --train` (forward, MSE loss, backward, Adam
step, one submit, the loss back) beside PyTorch's training step (`scripts/bench_pytorch.py
--train`: forward, mse_loss, zero_grad, backward, Adam step, loss.item()), side by side in one run.

    python3 scripts/bench_train.py                 # the rows below, ours on $WGPU_BACKEND
    python3 scripts/bench_train.py --dry-run       # print the commands

Each row alternates ours and PyTorch `--rounds` times and keeps the median of each side's
medians (a load from other processes hits both alike). GFLOP/s count a step as three forwards
(`2·T·N·G·H·(I + H)` each).
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_grid import ROOT, median_record, point_args, run_json  # noqa: E402

# (module, hidden = input size, layers, batch, T): the game loop's model, then the grid's points.
ROWS = [
    ("lstm", 16, 1, 64, 256),
    ("lstm", 64, 1, 32, 100),
    ("gru", 64, 1, 32, 100),
    ("rnn", 64, 1, 32, 100),
    ("lstm", 256, 1, 1, 100),
    ("lstm", 256, 1, 32, 100),
]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--binary", default=os.path.join(ROOT, "target", "release", "wgpu-rnn"))
    venv = os.path.join(ROOT, ".venv-torch", "bin", "python")
    ap.add_argument("--python", default=os.environ.get("PYTHON") or (venv if os.path.exists(venv) else "python3"))
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--iters", type=int, default=5)
    ap.add_argument("--dry-run", action="store_true")
    a = ap.parse_args()
    bench_py = os.path.join(ROOT, "scripts", "bench_pytorch.py")
    print("| module | hidden | batch | T | ours ms | PyTorch ms | PyTorch/ours | ours GFLOP/s | PyTorch GFLOP/s |")
    print("|---|---|---|---|---|---|---|---|---|")
    for module, h, layers, n, t in ROWS:
        flags = point_args(module, h, layers, n, t, False) + ["--iters", str(a.iters), "--warmup", "2",
                                                               "--train", "--json"]
        ours_runs, torch_runs = [], []
        for _ in range(a.rounds):
            ours_runs.append(run_json([a.binary, "bench", "--device", "gpu"] + flags, dry=a.dry_run))
            torch_runs.append(run_json([a.python, bench_py, "--device", "cpu"] + flags, dry=a.dry_run))
        if a.dry_run:
            continue
        ours, torch = median_record(ours_runs), median_record(torch_runs)
        om = ours["median_ms"] if ours else None
        tm = torch["median_ms"] if torch else None
        cells = [module.upper(), h, n, t, om or "failed", tm or "failed",
                 f"{tm / om:.2f}" if om and tm else "–",
                 f"{ours['gflops']:.2f}" if ours else "–", f"{torch['gflops']:.2f}" if torch else "–"]
        print("| " + " | ".join(str(c) for c in cells) + " |", flush=True)


if __name__ == "__main__":
    main()
