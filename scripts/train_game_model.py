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


def batch(gen):
    phases = torch.rand(BATCH, 3, generator=gen) * 2 * math.pi
    t = torch.arange(SEQ_LEN + HORIZON, dtype=torch.float32).expand(BATCH, -1)
    s = signal(t, phases)  # (N, T + HORIZON)
    x = s[:, :SEQ_LEN].T.unsqueeze(-1)  # (T, N, 1)
    y = s[:, HORIZON:].T.unsqueeze(-1)
    return x, y


def main():
    torch.manual_seed(0)
    torch.set_num_threads(os.cpu_count() or 1)
    gen = torch.Generator().manual_seed(1)
    model = Predictor()
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, STEPS)
    start = time.time()
    for step in range(STEPS):
        x, y = batch(gen)
        loss = nn.functional.mse_loss(model(x)[WARMUP:], y[WARMUP:])
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        if step % 100 == 0 or step == STEPS - 1:
            print(f"step {step:4d}  mse {loss.item():.5f}  {time.time() - start:.1f} s")

    with torch.no_grad():
        x, y = batch(gen)
        mse = nn.functional.mse_loss(model(x)[WARMUP:], y[WARMUP:]).item()
        persistence = nn.functional.mse_loss(x[WARMUP:], y[WARMUP:]).item()
    print(f"held-out mse {mse:.5f} (repeating the last sample: {persistence:.5f})")

    out = os.path.join(os.path.dirname(__file__), "..", "examples", "assets")
    os.makedirs(out, exist_ok=True)
    save_model(model.lstm, os.path.join(out, "game_lstm.safetensors"))
    save_file(
        {
            "weight": model.head.weight.detach().contiguous(),
            "bias": model.head.bias.detach().contiguous(),
        },
        os.path.join(out, "game_head.safetensors"),
        metadata={"horizon": str(HORIZON), "signal": repr(SIGNAL)},
    )
    print(f"wrote {out}/game_lstm.safetensors and game_head.safetensors")


if __name__ == "__main__":
    main()
