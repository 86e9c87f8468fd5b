#!/usr/bin/env python3
"""Generate tests/fixtures/export/: a whole model's checkpoint, as a newcomer has one, and what
scripts/export_model.py makes of it (run by hand, never by tests; the Rust tests read the files).

    .venv-torch/bin/python scripts/make_export_fixtures.py

The model is `Net`: `self.rnn = nn.LSTM(4, 6, num_layers=2, batch_first=True)` and
`self.head = nn.Linear(6, 1)`, so its state_dict keys are `rnn.weight_ih_l0`, ..., `head.weight`.
It writes
    net.pt                     torch.save(net.state_dict())                 (zip format)
    net_legacy.pt              the same with the legacy pickle format
    net.safetensors            save_file(net.state_dict()): every key prefixed, no metadata
    net_rnn.model.safetensors  export_model.py net.pt --prefix rnn. --batch-first
    net.input.safetensors      input (N, T, I) batch-first, h0, c0
    net.expected.safetensors   output, h_n, c_n of net.rnn in float64
"""
import copy
import os
import sys
from pathlib import Path

import torch
from torch import nn
from safetensors.torch import save_file

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import export_model  # noqa: E402

OUT = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "export"


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.rnn = nn.LSTM(4, 6, num_layers=2, batch_first=True)
        self.head = nn.Linear(6, 1)

    def forward(self, x, state=None):
        out, state = self.rnn(x, state)
        return self.head(out), state


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(11)
    net = Net().eval()
    sd = net.state_dict()
    torch.save(sd, OUT / "net.pt")
    torch.save(sd, OUT / "net_legacy.pt", _use_new_zipfile_serialization=False)
    save_file({k: v.contiguous() for k, v in sd.items()}, str(OUT / "net.safetensors"))
    export_model.main([str(OUT / "net.pt"), str(OUT / "net_rnn.model.safetensors"),
                       "--prefix", "rnn.", "--batch-first"])

    x = torch.randn(3, 5, 4)  # (N, T, I): batch_first
    h0, c0 = torch.randn(2, 3, 6), torch.randn(2, 3, 6)
    export_model.save_inputs(OUT / "net.input.safetensors", x, h0=h0, c0=c0)
    rnn64 = copy.deepcopy(net.rnn).double()
    with torch.no_grad():
        out, (h, c) = rnn64(x.double(), (h0.double(), c0.double()))
    save_file({"output": out.contiguous(), "h_n": h.contiguous(), "c_n": c.contiguous()},
              str(OUT / "net.expected.safetensors"))
    print(f"wrote {sorted(p.name for p in OUT.iterdir())}")


if __name__ == "__main__":
    main()
