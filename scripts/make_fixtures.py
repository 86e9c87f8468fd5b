#!/usr/bin/env python3
"""Generate the PyTorch reference fixtures in tests/fixtures/ (run by hand, never by tests).

    .venv-torch/bin/python scripts/make_fixtures.py

For every case NAME it writes
    NAME.model.safetensors     state_dict (f32) + metadata (none for *_nometa cases)
    NAME.input.safetensors     input, optional h0 / c0 (f32), optional lengths (int64; int32 once)
    NAME.expected.safetensors  output, h_n, c_n (LSTM / LSTMCell only) as float64
and tests/fixtures/README.md. Expected values come from a float64 deep copy of the module run on the
float32 inputs widened to float64. Each case seeds torch with crc32(NAME), so output does not depend
on case order.
"""
import copy
import os
import sys
import warnings
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Optional

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence
from safetensors.torch import save_file

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from export_model import save_inputs, save_model  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "tests" / "fixtures"
CELLS = (nn.RNNCell, nn.LSTMCell, nn.GRUCell)


@dataclass
class Case:
    name: str
    make: Callable[[], nn.Module]
    x_shape: tuple
    state: bool = False          # pass h0 (and c0 for LSTM / LSTMCell)
    lengths: Optional[list] = None
    lengths_dtype: torch.dtype = torch.int64
    x_scale: float = 1.0
    h_scale: float = 1.0         # scales h0 and c0
    nan_at: Optional[tuple] = None
    meta: bool = True
    notes: str = ""


def case_list():
    C = []

    def add(*a, **k):
        C.append(Case(*a, **k))

    # notebook (seed-notebook.txt)
    add("rnncell_notebook", lambda: nn.RNNCell(5, 7), (1, 5), state=True, notes="notebook RNNCell")
    add("rnn_notebook", lambda: nn.RNN(5, 7), (3, 2, 5), state=True, notes="notebook RNN")
    add("lstmcell_notebook", lambda: nn.LSTMCell(5, 7), (1, 5), state=True, notes="notebook LSTMCell")
    add("lstm_notebook", lambda: nn.LSTM(5, 7), (3, 2, 5), state=True, notes="notebook LSTM")

    # cells
    for kind, cls in (("rnncell", nn.RNNCell), ("lstmcell", nn.LSTMCell), ("grucell", nn.GRUCell)):
        add(f"{kind}_batched", lambda cls=cls: cls(6, 9), (4, 6), state=True)
        add(f"{kind}_nostate", lambda cls=cls: cls(6, 9), (4, 6), notes="no state: zeros")
        add(f"{kind}_unbatched", lambda cls=cls: cls(6, 9), (6,), state=True, notes="1-D input and state")
        add(f"{kind}_nobias", lambda cls=cls: cls(6, 9, bias=False), (3, 6), state=True, notes="bias=False")
    add("rnncell_relu", lambda: nn.RNNCell(6, 9, nonlinearity="relu"), (3, 6), state=True, notes="relu")
    add("rnncell_relu_unbatched", lambda: nn.RNNCell(6, 9, nonlinearity="relu"), (6,), notes="relu, 1-D, no state")
    add("grucell_tiny", lambda: nn.GRUCell(1, 1), (2, 1), state=True, notes="I=1, H=1")

    # RNN
    add("rnn_tanh_l1", lambda: nn.RNN(6, 10), (7, 3, 6), state=True)
    add("rnn_relu_l1", lambda: nn.RNN(6, 10, nonlinearity="relu"), (7, 3, 6), state=True)
    add("rnn_tanh_l2", lambda: nn.RNN(6, 10, num_layers=2), (7, 3, 6), state=True)
    add("rnn_relu_l2", lambda: nn.RNN(6, 10, num_layers=2, nonlinearity="relu"), (7, 3, 6), state=True)
    add("rnn_tanh_l3", lambda: nn.RNN(6, 10, num_layers=3), (7, 3, 6), state=True)
    add("rnn_relu_l3", lambda: nn.RNN(6, 10, num_layers=3, nonlinearity="relu"), (7, 3, 6), state=True)
    add("rnn_bidir", lambda: nn.RNN(6, 10, bidirectional=True), (7, 3, 6), state=True)
    add("rnn_relu_bidir_l2", lambda: nn.RNN(6, 10, num_layers=2, bidirectional=True, nonlinearity="relu"),
        (7, 3, 6), state=True)
    add("rnn_batch_first", lambda: nn.RNN(6, 10, batch_first=True), (3, 7, 6), state=True, notes="batch_first")
    add("rnn_bidir_l2_batch_first", lambda: nn.RNN(6, 10, num_layers=2, bidirectional=True, batch_first=True),
        (3, 7, 6), state=True, notes="batch_first")
    add("rnn_nobias", lambda: nn.RNN(6, 10, num_layers=2, bias=False), (7, 3, 6), state=True, notes="bias=False")
    add("rnn_nostate", lambda: nn.RNN(6, 10, num_layers=2), (7, 3, 6), notes="no h0")
    add("rnn_unbatched", lambda: nn.RNN(6, 10, num_layers=2, bidirectional=True), (7, 6), state=True,
        notes="unbatched (T,I), h0 (D*L,H)")
    add("rnn_unbatched_nostate", lambda: nn.RNN(6, 10, nonlinearity="relu"), (7, 6), notes="unbatched, no h0")
    add("rnn_unbatched_batch_first", lambda: nn.RNN(6, 10, batch_first=True), (7, 6), state=True,
        notes="unbatched: batch_first is ignored, input is (T,I)")
    add("rnn_tiny", lambda: nn.RNN(1, 1), (4, 1, 1), state=True, notes="I=1, H=1")
    add("rnn_mid", lambda: nn.RNN(37, 29, num_layers=2, bidirectional=True), (13, 5, 37), state=True)

    # LSTM
    add("lstm_l1", lambda: nn.LSTM(6, 10), (7, 3, 6), state=True)
    add("lstm_l2_dropout", lambda: nn.LSTM(6, 10, num_layers=2, dropout=0.3), (7, 3, 6), state=True,
        notes="dropout=0.3 in metadata; eval() so no effect")
    add("lstm_l3", lambda: nn.LSTM(6, 10, num_layers=3), (7, 3, 6), state=True)
    add("lstm_bidir", lambda: nn.LSTM(6, 10, bidirectional=True), (7, 3, 6), state=True)
    add("lstm_bidir_l2", lambda: nn.LSTM(6, 10, num_layers=2, bidirectional=True), (7, 3, 6), state=True)
    add("lstm_batch_first", lambda: nn.LSTM(6, 10, batch_first=True), (3, 7, 6), state=True, notes="batch_first")
    add("lstm_nobias", lambda: nn.LSTM(6, 10, num_layers=2, bias=False), (7, 3, 6), state=True, notes="bias=False")
    add("lstm_nostate", lambda: nn.LSTM(6, 10, num_layers=2, bidirectional=True), (7, 3, 6), notes="no h0/c0")
    add("lstm_proj", lambda: nn.LSTM(6, 11, proj_size=5), (7, 3, 6), state=True,
        notes="proj: h (..,5), c (..,11)")
    add("lstm_proj_l2_bidir_bf",
        lambda: nn.LSTM(6, 11, num_layers=2, bidirectional=True, batch_first=True, proj_size=5),
        (3, 7, 6), state=True, notes="proj + 2 layers + bidir + batch_first")
    add("lstm_proj_nostate", lambda: nn.LSTM(6, 11, num_layers=2, proj_size=5), (7, 3, 6), notes="proj, no state")
    add("lstm_unbatched", lambda: nn.LSTM(6, 10, num_layers=2, bidirectional=True), (7, 6), state=True,
        notes="unbatched (T,I)")
    add("lstm_unbatched_nostate", lambda: nn.LSTM(6, 10), (7, 6), notes="unbatched, no state")
    add("lstm_proj_unbatched", lambda: nn.LSTM(6, 11, proj_size=5), (7, 6), state=True, notes="unbatched, proj")
    add("lstm_tiny", lambda: nn.LSTM(1, 1), (4, 1, 1), state=True, notes="I=1, H=1")
    add("lstm_mid", lambda: nn.LSTM(37, 29, num_layers=2, bidirectional=True), (13, 5, 37), state=True)

    # GRU
    add("gru_l1", lambda: nn.GRU(6, 10), (7, 3, 6), state=True)
    add("gru_l2", lambda: nn.GRU(6, 10, num_layers=2), (7, 3, 6), state=True)
    add("gru_l3", lambda: nn.GRU(6, 10, num_layers=3), (7, 3, 6), state=True)
    add("gru_bidir", lambda: nn.GRU(6, 10, bidirectional=True), (7, 3, 6), state=True)
    add("gru_bidir_l3", lambda: nn.GRU(6, 10, num_layers=3, bidirectional=True), (7, 3, 6), state=True)
    add("gru_batch_first", lambda: nn.GRU(6, 10, batch_first=True), (3, 7, 6), state=True, notes="batch_first")
    add("gru_nobias", lambda: nn.GRU(6, 10, num_layers=2, bias=False), (7, 3, 6), state=True, notes="bias=False")
    add("gru_nostate", lambda: nn.GRU(6, 10, num_layers=2, bidirectional=True), (7, 3, 6), notes="no h0")
    add("gru_unbatched", lambda: nn.GRU(6, 10, num_layers=2, bidirectional=True), (7, 6), state=True,
        notes="unbatched (T,I)")
    add("gru_unbatched_nostate", lambda: nn.GRU(6, 10), (7, 6), notes="unbatched, no h0")
    add("gru_tiny", lambda: nn.GRU(1, 1), (4, 1, 1), state=True, notes="I=1, H=1")
    add("gru_mid", lambda: nn.GRU(37, 29, num_layers=2, bidirectional=True), (13, 5, 37), state=True)

    # variable lengths (pack_padded_sequence, enforce_sorted=False); padding in the input is random, not 0
    L = [5, 2, 7, 1]
    for kind, cls in (("rnn", nn.RNN), ("lstm", nn.LSTM), ("gru", nn.GRU)):
        add(f"{kind}_lengths", lambda cls=cls: cls(5, 8), (7, 4, 5), state=True, lengths=L,
            notes="lengths [5,2,7,1]")
        add(f"{kind}_lengths_bidir", lambda cls=cls: cls(5, 8, num_layers=2, bidirectional=True), (7, 4, 5),
            lengths=L, notes="lengths [5,2,7,1], no state")
    add("gru_lengths_short", lambda: nn.GRU(5, 8, num_layers=2, bidirectional=True), (9, 3, 5), state=True,
        lengths=[4, 6, 3], notes="T=9, max(lengths)=6: output has 6 steps")
    add("lstm_lengths_short_bf", lambda: nn.LSTM(5, 8, batch_first=True), (3, 9, 5),
        lengths=[4, 6, 3], notes="batch_first, T=9, max(lengths)=6: output (3,6,8)")
    add("rnn_lengths_batch_first", lambda: nn.RNN(5, 8, bidirectional=True, batch_first=True), (4, 7, 5),
        state=True, lengths=L, notes="batch_first + lengths")
    add("lstm_proj_bidir_lengths", lambda: nn.LSTM(5, 11, proj_size=5, bidirectional=True), (7, 4, 5),
        state=True, lengths=L, notes="proj + bidir + lengths")
    add("gru_lengths_int32", lambda: nn.GRU(5, 8), (7, 4, 5), state=True, lengths=L,
        lengths_dtype=torch.int32, notes="lengths stored as int32")

    # long sequences
    add("lstm_long", lambda: nn.LSTM(3, 6), (1200, 2, 3), state=True, notes="T=1200")
    add("gru_long", lambda: nn.GRU(3, 6), (1200, 2, 3), state=True, notes="T=1200")

    # large magnitudes
    big = dict(state=True, x_scale=1000.0, h_scale=100.0, notes="x*1000, h0 (c0) *100")
    add("rnn_tanh_large", lambda: nn.RNN(4, 8), (5, 3, 4), **big)
    add("rnn_relu_large", lambda: nn.RNN(4, 8, nonlinearity="relu"), (5, 3, 4), **big)
    add("lstm_large", lambda: nn.LSTM(4, 8), (5, 3, 4), **big)
    add("gru_large", lambda: nn.GRU(4, 8), (5, 3, 4), **big)

    # NaN in x[3, 1, 2]: batch row 1 becomes NaN from t=3 (and, reverse direction, up to t=3)
    add("lstm_nan", lambda: nn.LSTM(4, 8, num_layers=2), (7, 3, 4), state=True, nan_at=(3, 1, 2),
        notes="input[3,1,2]=NaN")
    add("gru_nan", lambda: nn.GRU(4, 8, bidirectional=True), (7, 3, 4), state=True, nan_at=(3, 1, 2),
        notes="input[3,1,2]=NaN, bidir")

    # no metadata: plain save_file(state_dict)
    nm = "no metadata (config inferred from tensors)"
    add("rnn_nometa", lambda: nn.RNN(4, 6, num_layers=2, bidirectional=True), (5, 2, 4), state=True,
        meta=False, notes=nm)
    add("lstm_nometa", lambda: nn.LSTM(4, 6, num_layers=2), (5, 2, 4), state=True, meta=False, notes=nm)
    add("lstm_proj_nometa", lambda: nn.LSTM(4, 9, proj_size=3, bidirectional=True), (5, 2, 4), state=True,
        meta=False, notes=nm + ", proj")
    add("gru_nometa", lambda: nn.GRU(4, 6, bidirectional=True, bias=False), (5, 2, 4), state=True,
        meta=False, notes=nm + ", bias=False")
    add("lstmcell_nometa", lambda: nn.LSTMCell(4, 6), (2, 4), state=True, meta=False, notes=nm)
    return C


def is_lstm(m):
    return isinstance(m, (nn.LSTM, nn.LSTMCell))


def state_shapes(m, x):
    """Shapes of (h0, c0) for module m and input x."""
    if isinstance(m, CELLS):
        lead = () if x.dim() == 1 else (x.shape[0],)
        return lead + (m.hidden_size,), lead + (m.hidden_size,)
    dl = m.num_layers * (2 if m.bidirectional else 1)
    if x.dim() == 2:
        lead = (dl,)
    else:
        lead = (dl, x.shape[0] if m.batch_first else x.shape[1])
    h_out = m.proj_size if getattr(m, "proj_size", 0) > 0 else m.hidden_size
    return lead + (h_out,), lead + (m.hidden_size,)


def run(m, x, h0, c0, lengths):
    """Returns (output, h_n, c_n or None)."""
    state = None
    if h0 is not None:
        state = (h0, c0) if is_lstm(m) else h0
    if isinstance(m, CELLS):
        r = m(x, state)
        h, c = r if is_lstm(m) else (r, None)
        return h, h, c
    if lengths is not None:
        packed = pack_padded_sequence(x, lengths.to(torch.int64), batch_first=m.batch_first, enforce_sorted=False)
        out, hs = m(packed, state)
        out, _ = pad_packed_sequence(out, batch_first=m.batch_first)
    else:
        out, hs = m(x, state)
    h, c = hs if is_lstm(m) else (hs, None)
    return out, h, c


def make_case(c):
    torch.manual_seed(zlib.crc32(c.name.encode()))
    m = c.make().eval()
    x = torch.randn(c.x_shape) * c.x_scale
    if c.nan_at is not None:
        x[c.nan_at] = float("nan")
    h0 = c0 = None
    if c.state:
        hs, cs = state_shapes(m, x)
        h0 = torch.randn(hs) * c.h_scale
        if is_lstm(m):
            c0 = torch.randn(cs) * c.h_scale
    lengths = None if c.lengths is None else torch.tensor(c.lengths, dtype=c.lengths_dtype)

    base = OUT / c.name
    if c.meta:
        save_model(m, f"{base}.model.safetensors")
    else:
        save_file({k: v.contiguous().clone() for k, v in m.state_dict().items()}, f"{base}.model.safetensors")
    save_inputs(f"{base}.input.safetensors", x, h0=h0, c0=c0, lengths=lengths)

    d = lambda t: None if t is None else t.double()  # noqa: E731
    m64 = copy.deepcopy(m).double().eval()
    with torch.no_grad():
        out, h, cn = run(m64, d(x), d(h0), d(c0), lengths)
        out32, h32, _ = run(m, x, h0, c0, lengths)
    exp = {"output": out.contiguous().clone(), "h_n": h.contiguous().clone()}
    if cn is not None:
        exp["c_n"] = cn.contiguous().clone()
    save_file(exp, f"{base}.expected.safetensors")

    # sanity: the f32 module agrees with the f64 reference
    err = max(((a.double() - b).abs() / (1 + b.abs())).nan_to_num(0).max().item() for a, b in ((out32, out), (h32, h)))
    assert err < 1e-3, (c.name, err)
    assert torch.equal(out32.isnan(), out.isnan()), c.name
    return m, x, h0, c0, lengths, exp


def main():
    warnings.filterwarnings("ignore", message="LSTM with projections is not supported with oneDNN")
    OUT.mkdir(parents=True, exist_ok=True)
    for p in OUT.glob("*.safetensors"):
        p.unlink()
    rows = []
    for c in case_list():
        m, x, h0, c0, lengths, exp = make_case(c)
        notes = c.notes
        if lengths is not None and "lengths [" not in notes and "max(lengths)" not in notes:
            notes = (notes + "; " if notes else "") + f"lengths {c.lengths}"
        shapes = f"input {tuple(x.shape)}" + "".join(
            f", {k} {tuple(v.shape)}" for k, v in (("h0", h0), ("c0", c0)) if v is not None)
        shapes += f" → output {tuple(exp['output'].shape)}"
        rows.append(f"| `{c.name}` | `{' '.join(repr(m).split())}` | {shapes} | {notes} |")
        print(f"{c.name:28s} {shapes}")
    with open(OUT / "README.md", "w") as f:
        f.write(
            "# Reference fixtures (generated, do not edit)\n\n"
            "Regenerate from the repository root with\n\n"
            "    .venv-torch/bin/python scripts/make_fixtures.py\n\n"
            f"Generated with torch {torch.__version__}. For each case NAME:\n\n"
            "- `NAME.model.safetensors`: the module's `state_dict()` (f32, PyTorch names) with string metadata\n"
            "  (`module`, `input_size`, `hidden_size`, ...) written by `scripts/export_model.py`;\n"
            "  `*_nometa` cases carry no metadata at all.\n"
            "- `NAME.input.safetensors`: `input`, optional `h0`, `c0` (f32), optional `lengths` (int64; int32 in\n"
            "  `gru_lengths_int32`). Inputs are `torch.randn`; padding past a row's length is random, not zero.\n"
            "- `NAME.expected.safetensors`: `output`, `h_n`, `c_n` (LSTM/LSTMCell) as float64, from a float64\n"
            "  copy of the module run on the f32 inputs widened to f64 (eval, no_grad). For cells `output` and\n"
            "  `h_n` are both the new hidden state. `lengths` cases go through `pack_padded_sequence`\n"
            "  (`enforce_sorted=False`) and `pad_packed_sequence`, so `output` has max(lengths) steps and is 0\n"
            "  past each row's length. NaN cases contain NaN in the expected outputs.\n\n"
            "Each case is seeded with `torch.manual_seed(zlib.crc32(NAME))`.\n\n"
            "| name | module | shapes | notes |\n|---|---|---|---|\n"
        )
        f.write("\n".join(rows) + "\n")
    print(f"{len(rows)} cases written to {OUT}")


if __name__ == "__main__":
    main()
