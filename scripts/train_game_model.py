#!/usr/bin/env python3
"""Trains the small model that examples/game_loop/main.rs runs: an nn.LSTM(1, 16) whose hidden state
feeds a Linear(16, 1) head, predicting a sum of three sines HORIZON frames ahead from the samples
seen so far (one sample per frame). Generates its own data; trains in well under a minute on
two CPU cores.

Writes
  examples/assets/game_lstm.safetensors  the LSTM (Model::load reads it; metadata included)
  examples/assets/game_head.safetensors  the head: `weight` (1, 16), `bias` (1)

Keep SIGNAL and HORIZON in sync with examples/game_loop/main.rs (the app's WGSL shader and the
constants beside it).

    .venv-torch/bin/python scripts/train_game_model.py
"""

import math
import os
import sys
import time

import torch
from torch import nn
from safetensors.torch import save_file

sys.path.insert(0, os.path.dirname(__file__))
from export_model import save_model  # noqa: E402

# (amplitude, period in frames) of each sine. Keep in sync with examples/game_loop/main.rs.
SIGNAL = [(0.5, 97.0), (0.3, 41.0), (0.2, 17.0)]
# Frames ahead the model predicts. Keep in sync with examples/game_loop/main.rs.
HORIZON = 8
HIDDEN = 16
SEQ_LEN = 256
BATCH = 64
STEPS = 3000
WARMUP = 32  # frames the loss ignores: the model first has to find the phases


def signal(t, phases):
    """Sum of sines at frames t (..., T) with per-sequence phases (..., 3)."""
    x = torch.zeros_like(t)
    for k, (amp, period) in enumerate(SIGNAL):
        x = x + amp * torch.sin(2 * math.pi * t / period + phases[..., k : k + 1])
    return x


class Predictor(nn.Module):
    def __init__(self):
        super().__init__()
        self.lstm = nn.LSTM(1, HIDDEN)
        self.head = nn.Linear(HIDDEN, 1)

    def forward(self, x):  # x (T, N, 1)
        h, _ = self.lstm(x)
        return self.head(h)  # (T, N, 1)


MASK = (1 << 64) - 1
HELD_OUT = 1_000_000


def unit(step, row, sine):
    """A uniform draw in [0, 1) from (step, row, sine): splitmix64 of a key, the top 53 bits.
    Keep in sync with `unit` in examples/train/main.rs."""
    z = ((step * 1_000_003 + row) * 7 + sine + 0x9E3779B97F4A7C15) & MASK
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK
    z ^= z >> 31
    return (z >> 11) / float(1 << 53)


def batch(step):
    phases = torch.tensor(
        [[unit(step, n, k) * 2 * math.pi for k in range(3)] for n in range(BATCH)], dtype=torch.float32
    )
    t = torch.arange(SEQ_LEN + HORIZON, dtype=torch.float32).expand(BATCH, -1)
    s = signal(t, phases)  # (N, T + HORIZON)
    x = s[:, :SEQ_LEN].T.unsqueeze(-1)  # (T, N, 1)
    y = s[:, HORIZON:].T.unsqueeze(-1)
    return x, y


def save(model, out, prefix):
    """Writes the LSTM (with metadata) and the head as PREFIXlstm / PREFIXhead.safetensors."""
    save_model(model.lstm, os.path.join(out, f"{prefix}lstm.safetensors"))
    save_file(
        {
            "weight": model.head.weight.detach().contiguous(),
            "bias": model.head.bias.detach().contiguous(),
        },
        os.path.join(out, f"{prefix}head.safetensors"),
        metadata={"horizon": str(HORIZON), "signal": repr(SIGNAL)},
    )


def main():
    torch.manual_seed(0)
    torch.set_num_threads(os.cpu_count() or 1)
    model = Predictor()
    out = os.path.join(os.path.dirname(__file__), "..", "examples", "assets", "pytorch")
    os.makedirs(out, exist_ok=True)
    save(model, out, "game_init_")
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, STEPS)
    start = time.time()
    epoch = []
    for step in range(STEPS):
        x, y = batch(step)
        loss = nn.functional.mse_loss(model(x)[WARMUP:], y[WARMUP:])
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        epoch.append(loss.item())
        if (step + 1) % 100 == 0 or step == STEPS - 1:
            mean = sum(epoch) / len(epoch)
            print(f"steps {step + 1 - len(epoch):4d}..{step + 1:4d}  mse {mean:.5f}  {time.time() - start:.1f} s",
                  flush=True)
            epoch = []

    with torch.no_grad():
        x, y = batch(HELD_OUT)
        mse = nn.functional.mse_loss(model(x)[WARMUP:], y[WARMUP:]).item()
        persistence = nn.functional.mse_loss(x[WARMUP:], y[WARMUP:]).item()
    print(f"held-out mse {mse:.5f} (repeating the last sample: {persistence:.5f})")

    save(model, out, "game_")
    print(f"wrote {out}/game_lstm.safetensors and game_head.safetensors")


if __name__ == "__main__":
    main()
