#!/usr/bin/env python3
"""The benchmark grid of BENCHMARKS.md: `wgpu-rnn bench` beside PyTorch, side by side in one run.

    python3 scripts/bench_grid.py                      # full grid, GPU path on $WGPU_BACKEND
    python3 scripts/bench_grid.py --quick              # LSTM 256 key points only
    python3 scripts/bench_grid.py --dry-run            # print the commands, run nothing
    python3 scripts/bench_grid.py --ours-device cpu    # the fast CPU path beside PyTorch on the CPU

Each row runs our binary (`--device gpu`, or `cpu` with `--ours-device cpu`; `reference` for the f64
reference column) and `scripts/bench_pytorch.py` with the same flags, one after the other
(`--rounds R` alternates them R times and keeps the median of each side's medians, so a load
from other processes hits both alike), and prints a markdown table:
times are medians of whole forwards (host input to host output) after warm-up; the ratio is
PyTorch time / ours (higher is better for us). Iterations shrink for slow points so the full grid
stays in minutes. The f64 CPU reference runs where one forward takes under ~1 s (it exists to
show the GPU path beats it).

Grid (the issue's): LSTM, GRU, RNN; hidden 64, 256, 512 (input size = hidden); batch 1, 8, 32,
64; T 100; layers 1 and 2; one bidirectional row; plus per-step overhead (hidden 8, batch 1,
T 1000) for both plans; LSTM rows with proj_size = H/2 (H 64 and 256, batch 1 and 32).
`--gpu-rows` adds the real-GPU targets (LSTM 512, 4 layers, batch 64
and 1).
"""
import argparse
import json
import os
import shlex
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
GATES = {"rnn": 1, "lstm": 4, "gru": 3}


def flops(module, i, h, layers, n, t, bidir, proj=0):
    """`2·T·N·G·H·(I_l + H_out)` (+ `2·T·N·P·H` for a projection) over layers and directions,
    as `wgpu-rnn bench` counts."""
    d = 2 if bidir else 1
    h_out = proj or h
    total = 0.0
    for layer in range(layers):
        k = i if layer == 0 else d * h_out
        total += d * (2.0 * t * n * GATES[module] * h * (k + h_out) + 2.0 * t * n * proj * h)
    return total


def iters_for(seconds):
    """(warmup, iters) for a point whose forward takes about `seconds`."""
    if seconds < 0.05:
        return 3, 15
    if seconds < 0.3:
        return 2, 7
    if seconds < 2.0:
        return 1, 3
    return 1, 2


def run_json(cmd, env=None, dry=False):
    if dry:
        prefix = " ".join(f"{k}={v}" for k, v in (env or {}).items())
        print((prefix + " " if prefix else "") + " ".join(shlex.quote(c) for c in cmd))
        return None
    full_env = dict(os.environ)
    full_env.update(env or {})
    out = subprocess.run(cmd, capture_output=True, text=True, env=full_env)
    if out.returncode != 0:
        sys.stderr.write(f"FAILED: {' '.join(cmd)}\n{out.stderr}\n")
        return None
    for line in reversed(out.stdout.strip().splitlines()):
        if line.startswith("{"):
            return json.loads(line)
    return None


def median_record(runs):
    """The run whose median_ms is the median of the runs' (the lower middle for an even count),
    with every run's median kept in `round_medians_ms`; None if any run failed."""
    if not runs or any(r is None for r in runs):
        return None
    ordered = sorted(runs, key=lambda r: r["median_ms"])
    chosen = dict(ordered[(len(ordered) - 1) // 2])
    chosen["round_medians_ms"] = [r["median_ms"] for r in runs]
    return chosen


def point_args(module, h, layers, n, t, bidir, proj=0):
    args = ["--module", module, "--input-size", str(h), "--hidden-size", str(h),
            "--layers", str(layers), "--batch", str(n), "--seq-len", str(t)]
    if bidir:
        args.append("--bidirectional")
    if proj:
        args += ["--proj-size", str(proj)]
    return args


def print_cpu_table(rows, rounds):
    """The fast CPU path's table: times, ratio, both sides' GFLOP/s and ours as a share of the
    host's GEMM peak (measured by each of our runs; the median is printed)."""
    peaks = sorted(r["gemm_peak_gflops"] for _, r, _, _ in rows if r and r.get("gemm_peak_gflops"))
    peak = peaks[len(peaks) // 2] if peaks else None
    print(f"Host f32 GEMM peak (gemm crate, 1024x1024x1024, all threads): "
          f"{peak if peak else '?'} GFLOP/s, median over rows (range {peaks[0] if peaks else '?'}"
          f"-{peaks[-1] if peaks else '?'}). {rounds} alternating rounds per row.")
    print()
    print("| module | hidden | layers | batch | ours ms | PyTorch ms | PyTorch/ours | ours GFLOP/s | PyTorch GFLOP/s | ours % of GEMM peak | CPU ref ms |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for (module, h, layers, n, t, bidir, proj), ours, torch, cpu in rows:
        name = module.upper() + (" bidir" if bidir else "") + (f" proj {proj}" if proj else "")
        om = ours["median_ms"] if ours else None
        tm = torch["median_ms"] if torch else None
        cells = [name, h, layers, n, om if om is not None else "failed",
                 tm if tm is not None else "failed", f"{tm / om:.2f}" if om and tm else "–",
                 f"{ours['gflops']:.1f}" if ours else "–", f"{torch['gflops']:.1f}" if torch else "–",
                 f"{100 * ours['gflops'] / peak:.0f}%" if ours and peak else "–",
                 cpu["median_ms"] if cpu else "–"]
        print("| " + " | ".join(str(c) for c in cells) + " |")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--binary", default=os.path.join(ROOT, "target", "release", "wgpu-rnn"))
    venv = os.path.join(ROOT, ".venv-torch", "bin", "python")
    ap.add_argument("--python", default=os.environ.get("PYTHON") or (venv if os.path.exists(venv) else "python3"),
                    help="Python with torch (default $PYTHON, else .venv-torch/bin/python, else python3)")
    ap.add_argument("--torch-device", default="cpu", choices=["cpu", "gpu"],
                    help="PyTorch device (gpu = CUDA/cuDNN)")
    ap.add_argument("--modules", default="lstm,gru,rnn")
    ap.add_argument("--hidden", default="64,256,512")
    ap.add_argument("--batches", default="1,8,32,64")
    ap.add_argument("--layers", default="1,2")
    ap.add_argument("--seq-len", type=int, default=100)
    ap.add_argument("--quick", action="store_true", help="LSTM 256, 1 layer, batch 1 and 32 only")
    ap.add_argument("--gpu-rows", action="store_true",
                    help="add the real-GPU target rows (LSTM 512, 4 layers, batch 1 and 64)")
    ap.add_argument("--cpu-ref-max-gflop", type=float, default=2.5,
                    help="run the f64 CPU reference where a forward is at most this many GFLOP")
    ap.add_argument("--gflops-guess", type=float, default=None,
                    help="our expected GFLOP/s, to size iterations (default 8 on the GPU, 60 on the CPU)")
    ap.add_argument("--no-overhead", action="store_true", help="skip the per-step overhead rows")
    ap.add_argument("--plan", default="auto", choices=["auto", "step", "sequence"],
                    help="our plan (sets WGPU_RNN_PLAN for our runs)")
    ap.add_argument("--extra-only", action="store_true",
                    help="only the rows beyond the module grid: bidirectional and proj_size")
    ap.add_argument("--ours-device", default="gpu", choices=["gpu", "cpu"],
                    help="our device: the GPU path, or the fast CPU path (with the host's GEMM peak)")
    ap.add_argument("--rounds", type=int, default=None,
                    help="alternate ours and PyTorch this many times per row, median of medians "
                         "(default 1 on the GPU, 3 on the CPU)")
    ap.add_argument("--json-out", help="also write every measurement here (one JSON per line)")
    ap.add_argument("--dry-run", action="store_true", help="print the commands only")
    a = ap.parse_args()

    if not a.dry_run:
        if not os.path.exists(a.binary):
            sys.exit(f"missing {a.binary} (build with `cargo build --release`, or pass --binary)")
    torch_script = os.path.join(ROOT, "scripts", "bench_pytorch.py")

    # (module, hidden, layers, batch, T, bidirectional, proj_size)
    points = []
    if a.quick:
        points = [("lstm", 256, 1, n, a.seq_len, False, 0) for n in (1, 32)]
    else:
        if not a.extra_only:
            for module in a.modules.split(","):
                for h in map(int, a.hidden.split(",")):
                    for layers in map(int, a.layers.split(",")):
                        for n in map(int, a.batches.split(",")):
                            points.append((module, h, layers, n, a.seq_len, False, 0))
        points.append(("lstm", 256, 1, 32, a.seq_len, True, 0))
        points += [("lstm", h, 1, n, a.seq_len, False, h // 2) for h in (64, 256) for n in (1, 32)]
    if a.gpu_rows:
        points += [("lstm", 512, 4, 64, a.seq_len, False, 0), ("lstm", 512, 4, 1, a.seq_len, False, 0)]

    rounds = a.rounds or (3 if a.ours_device == "cpu" else 1)
    if a.gflops_guess is None:
        a.gflops_guess = 60.0 if a.ours_device == "cpu" else 8.0
    records = []
    started = time.time()
    rows = []
    for (module, h, layers, n, t, bidir, proj) in points:
        f = flops(module, h, h, layers, n, t, bidir, proj)
        # Small batches run well below the large-batch rate (one workgroup per direction).
        warmup, iters = iters_for(f / (a.gflops_guess * 1e9 * min(1.0, n / 16)))
        common = point_args(module, h, layers, n, t, bidir, proj)
        timing = ["--iters", str(iters), "--warmup", str(warmup), "--json"]
        ours_runs, torch_runs = [], []
        for _ in range(rounds):
            ours_runs.append(run_json([a.binary, "bench", *common, "--device", a.ours_device, *timing],
                                      env={"WGPU_RNN_PLAN": a.plan}, dry=a.dry_run))
            torch_runs.append(run_json([a.python, torch_script, *common, "--device", a.torch_device,
                                        *timing], dry=a.dry_run))
        ours, torch = median_record(ours_runs), median_record(torch_runs)
        cpu = None
        if f <= a.cpu_ref_max_gflop * 1e9:
            cpu = run_json([a.binary, "bench", *common, "--device", "reference", "--iters", "1",
                            "--warmup", "0", "--json"], dry=a.dry_run)
        if a.dry_run:
            continue
        records += [r for r in (ours, torch, cpu) if r]
        rows.append(((module, h, layers, n, t, bidir, proj), ours, torch, cpu))
        sys.stderr.write(f"[{time.time() - started:6.0f}s] {module} H={h} L={layers} N={n}"
                         f"{' bidir' if bidir else ''}{f' proj {proj}' if proj else ''}: ours {ours and ours['median_ms']} ms, "
                         f"torch {torch and torch['median_ms']} ms\n")

    overhead = []
    if not a.no_overhead and a.ours_device == "gpu":
        common = point_args("lstm", 8, 1, 1, 1000, False)
        timing = ["--iters", "5", "--warmup", "1", "--json"]
        for plan in ("auto", "step"):
            env = {"WGPU_RNN_PLAN": plan}
            ours = run_json([a.binary, "bench", *common, "--device", "gpu", *timing], env=env,
                            dry=a.dry_run)
            overhead.append((plan, ours))
        torch = run_json([a.python, torch_script, *common, "--device", a.torch_device, *timing],
                         dry=a.dry_run)
        overhead.append(("pytorch", torch))
    if a.dry_run:
        return

    adapter = next((r.get("adapter") for _, r, _, _ in rows if r), None) or "?"
    torch_info = next((r for _, _, r, _ in rows if r), {}) or {}
    print(f"Ours: wgpu-rnn on `{adapter}` (plan {a.plan}). PyTorch {torch_info.get('torch', '?')} on "
          f"{torch_info.get('device', '?')}"
          + (f" ({torch_info.get('gpu')})" if torch_info.get("gpu") else
             f", {torch_info.get('threads', '?')} threads") + f". T={a.seq_len}, input = hidden.")
    print()
    if a.ours_device == "cpu":
        print_cpu_table(rows, rounds)
        rows = []
    else:
        print("| module | hidden | layers | batch | ours ms | PyTorch ms | PyTorch/ours | ours GFLOP/s | ours plan | ours GPU time ms | ours GPU MiB | CPU ref ms |")
        print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for (module, h, layers, n, t, bidir, proj), ours, torch, cpu in rows:
        name = module.upper() + (" bidir" if bidir else "") + (f" proj {proj}" if proj else "")
        om = ours["median_ms"] if ours else None
        tm = torch["median_ms"] if torch else None
        ratio = f"{tm / om:.3f}" if om and tm else "–"
        cells = [name, h, layers, n, om if om is not None else "failed",
                 tm if tm is not None else "failed", ratio,
                 ours["gflops"] if ours else "–",
                 ours.get("plan") or "–" if ours else "–",
                 ours.get("gpu_time_ms") if ours and ours.get("gpu_time_ms") is not None else "–",
                 f"{ours['gpu_buffer_bytes'] / 2**20:.2f}" if ours and "gpu_buffer_bytes" in ours else "–",
                 cpu["median_ms"] if cpu else "–"]
        print("| " + " | ".join(str(c) for c in cells) + " |")
    if overhead:
        print()
        print("Per-step overhead (LSTM hidden 8, input 8, batch 1, T 1000):")
        print()
        print("| | ms per forward | µs per step |")
        print("|---|---|---|")
        for name, r in overhead:
            label = {"auto": "ours, plan auto", "step": "ours, per-step plan (WGPU_RNN_PLAN=step)",
                     "pytorch": "PyTorch"}[name]
            if r:
                print(f"| {label} ({r.get('plan', r.get('device', ''))}) | {r['median_ms']} | "
                      f"{r['median_ms'] * 1000 / 1000:.1f} |")
            else:
                print(f"| {label} | failed | |")
    if a.json_out:
        with open(a.json_out, "w") as fh:
            for r in records + [r for _, r in overhead if r]:
                fh.write(json.dumps(r) + "\n")
    sys.stderr.write(f"grid done in {time.time() - started:.0f}s\n")


if __name__ == "__main__":
    main()
