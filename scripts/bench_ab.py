#!/usr/bin/env python3
"""Two builds of wgpu-rnn side by side on the key points of BENCHMARKS.md, alternated.

For a change that must not move the numbers (a refactoring), on a machine shared with other work:
each round runs every point once with the old binary and once with the new one, alternating which
goes first. The table gives, per point and binary, the median over the rounds of each run's
median time, and the least of each run's fastest forward: on a machine others load, a CPU-bound
forward is never faster than its cost, so the minimum is the steadier estimate of it and the
ratio of minima the one to read.

    cp target/release/wgpu-rnn /tmp/wgpu-rnn-old   # at the commit before the change
    cargo build --release
    python3 scripts/bench_ab.py --old /tmp/wgpu-rnn-old --new target/release/wgpu-rnn --rounds 5
    WGPU_BACKEND=gl python3 scripts/bench_ab.py ...   # the same on llvmpipe

Needs no PyTorch: only the two binaries' `bench --json` output.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys

# (label, plan forced or None, bench flags): the key points of BENCHMARKS.md's summary, plus the
# per-step kernels forced (the automatic plan runs the sequence kernels for most of them on CPU
# adapters).
POINTS = [
    ("LSTM 256 batch 1", None, "lstm 256 1 1 100"),
    ("LSTM 256 batch 32", None, "lstm 256 1 32 100"),
    ("LSTM 8 batch 1 T=1000 (per-step overhead)", None, "lstm 8 1 1 1000"),
    ("LSTM 64 batch 1", None, "lstm 64 1 1 100"),
    ("LSTM 64 batch 32", None, "lstm 64 1 32 100"),
    ("GRU 64 batch 8", None, "gru 64 1 8 100"),
    ("RNN 64 batch 1", None, "rnn 64 1 1 100"),
    ("RNN 256 batch 1", None, "rnn 256 1 1 100"),
    ("RNN 256 batch 32", None, "rnn 256 1 32 100"),
    ("LSTM 64 proj 32 batch 1", None, "lstm 64 1 1 100 32"),
    ("LSTM 256 proj 128 batch 32", None, "lstm 256 1 32 100 128"),
    ("GRU 256 batch 1", None, "gru 256 1 1 100"),
    ("per-step plan: LSTM 64 batch 32", "step", "lstm 64 1 32 100"),
    ("per-step plan: RNN 128 2 layers bidir batch 8", "step", "rnn 128 2 8 100 0 bidir"),
    ("per-step plan: LSTM 64 proj 32 batch 4", "step", "lstm 64 1 4 100 32"),
]


def flags(spec):
    words = spec.split()
    module, hidden, layers, batch, seq = words[:5]
    proj = words[5] if len(words) > 5 else "0"
    out = [
        "--module", module, "--input-size", hidden, "--hidden-size", hidden,
        "--layers", layers, "--batch", batch, "--seq-len", seq, "--proj-size", proj,
    ]
    if "bidir" in words:
        out.append("--bidirectional")
    return out


def run(binary, plan, spec, iters):
    env = dict(os.environ)
    if plan:
        env["WGPU_RNN_PLAN"] = plan
    cmd = [binary, "bench", *flags(spec), "--device", "gpu", "--json",
           "--iters", str(iters), "--warmup", "2"]
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--old", required=True)
    ap.add_argument("--new", required=True)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--iters", type=int, default=7)
    ap.add_argument("--only", help="run the points whose label contains this")
    a = ap.parse_args()
    points = [p for p in POINTS if not a.only or a.only in p[0]]
    times = {(label, which): [] for label, _, _ in points for which in ("old", "new")}
    mins = {(label, which): [] for label, _, _ in points for which in ("old", "new")}
    plans = {}
    for r in range(a.rounds):
        for label, plan, spec in points:
            order = [("old", a.old), ("new", a.new)]
            if r % 2:
                order.reverse()
            for which, binary in order:
                j = run(binary, plan, spec, a.iters)
                times[(label, which)].append(j["median_ms"])
                mins[(label, which)].append(j["min_ms"])
                plans[(label, which)] = j.get("plan")
        print(f"round {r + 1}/{a.rounds} done", file=sys.stderr)
    backend = os.environ.get("WGPU_BACKEND", "default")
    print(f"backend {backend}, {a.rounds} rounds of {a.iters} timed forwards per binary and point")
    print()
    print("| point | plan | old median ms | new median ms | old min ms | new min ms | new / old (min) |")
    print("|---|---|---|---|---|---|---|")
    for label, _, _ in points:
        old, new = times[(label, "old")], times[(label, "new")]
        mo, mn = statistics.median(old), statistics.median(new)
        plan = plans[(label, "new")]
        if plans[(label, "old")] != plan:
            plan = f"{plans[(label, 'old')]} -> {plan}"
        lo, ln = min(mins[(label, "old")]), min(mins[(label, "new")])
        print(f"| {label} | {plan} | {mo:.3f} | {mn:.3f} | {lo:.3f} | {ln:.3f} | {ln / lo:.3f} |")


if __name__ == "__main__":
    main()
