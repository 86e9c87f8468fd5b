#!/usr/bin/env python3
"""Generate the PyTorch gradient fixtures in tests/fixtures/grad/ (run by hand, never by tests).

    .venv-torch/bin/python scripts/make_grad_fixtures.py

For every case NAME of scripts/make_fixtures.py except the NaN cases it reads the committed
tests/fixtures/NAME.model.safetensors and NAME.input.safetensors (the f32 weights and inputs) and
writes
    grad/NAME.grad.safetensors      grad_output (random, also past each row's length, where it must
                                    be ignored), grad_h_n, grad_c_n (LSTM / LSTMCell) as f32;
                                    `*_nostate` cases hold grad_output only
    grad/NAME.expected.safetensors  output, h_n, c_n as `run` writes them, grad_input, grad_h0,
                                    grad_c0 (LSTM / LSTMCell) and grad_<name> for every
                                    state_dict parameter, float64
and grad/README.md. The expectations are torch.autograd.grad of
    L = sum(output * grad_output) + sum(h_n * grad_h_n) + sum(c_n * grad_c_n)
through a float64 copy of the module on the f32 inputs widened to float64; an absent h0 / c0 is a
zero tensor that requires grad (PyTorch's default state), so grad_h0 is always written. A cell's
output and h_n are the same tensor, so both gradients reach it. Gradient tensors are seeded with
crc32("grad:" + NAME).
"""
import copy
import os
import sys
import warnings
import zlib
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_fixtures import CELLS, case_list, is_lstm, run, state_shapes  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures"
OUT = FIXTURES / "grad"


def make_case(c):
    m = c.make().eval()
    m.load_state_dict(load_file(FIXTURES / f"{c.name}.model.safetensors"))
    inputs = load_file(FIXTURES / f"{c.name}.input.safetensors")
    x = inputs["input"]
    lengths = inputs.get("lengths")

    m64 = copy.deepcopy(m).double()
    hs, cs = state_shapes(m, x)
    x64 = x.double().requires_grad_()
    h0 = (inputs["h0"].double() if "h0" in inputs else torch.zeros(hs, dtype=torch.float64)).requires_grad_()
    c0 = None
    if is_lstm(m):
        c0 = (inputs["c0"].double() if "c0" in inputs else torch.zeros(cs, dtype=torch.float64)).requires_grad_()
    out, h, cn = run(m64, x64, h0, c0, lengths)

    torch.manual_seed(zlib.crc32(f"grad:{c.name}".encode()))
    grads = {"grad_output": torch.randn(out.shape)}
    if not c.name.endswith("_nostate"):
        grads["grad_h_n"] = torch.randn(h.shape)
        if cn is not None:
            grads["grad_c_n"] = torch.randn(cn.shape)
    loss = (out * grads["grad_output"].double()).sum()
    if "grad_h_n" in grads:
        loss = loss + (h * grads["grad_h_n"].double()).sum()
    if "grad_c_n" in grads:
        loss = loss + (cn * grads["grad_c_n"].double()).sum()

    names = [n for n, _ in m64.named_parameters()]
    wrt = [x64, h0] + ([c0] if c0 is not None else []) + [p for _, p in m64.named_parameters()]
    got = torch.autograd.grad(loss, wrt)
    exp = {"output": out, "h_n": h, "grad_input": got[0], "grad_h0": got[1]}
    if cn is not None:
        exp["c_n"] = cn
        exp["grad_c0"] = got[2]
    for name, g in zip(names, got[-len(names):]):
        exp[f"grad_{name}"] = g
    exp = {k: v.detach().contiguous().clone() for k, v in exp.items()}

    # sanity: the forward agrees with the committed forward expectation
    fwd = load_file(FIXTURES / f"{c.name}.expected.safetensors")
    for k, v in fwd.items():
        assert torch.allclose(v, exp[k], atol=1e-12, rtol=0), (c.name, k)
    if lengths is not None:
        for n, length in enumerate(lengths.tolist()):
            pad = exp["grad_input"][n, length:] if m.batch_first else exp["grad_input"][length:, n]
            assert (pad == 0).all(), (c.name, "padding got a gradient")

    save_file({k: v.contiguous() for k, v in grads.items()}, str(OUT / f"{c.name}.grad.safetensors"))
    save_file(exp, str(OUT / f"{c.name}.expected.safetensors"))
    return m, grads


def main():
    warnings.filterwarnings("ignore", message="LSTM with projections is not supported with oneDNN")
    OUT.mkdir(parents=True, exist_ok=True)
    for p in OUT.glob("*.safetensors"):
        p.unlink()
    rows = []
    for c in case_list():
        if c.nan_at is not None:
            continue
        m, grads = make_case(c)
        given = ", ".join(f"{k} {tuple(v.shape)}" for k, v in grads.items())
        rows.append(f"| `{c.name}` | `{' '.join(repr(m).split())}` | {given} |")
        print(f"{c.name:28s} {given}")
    with open(OUT / "README.md", "w") as f:
        f.write(
            "# Gradient fixtures (generated, do not edit)\n\n"
            "Regenerate from the repository root with\n\n"
            "    .venv-torch/bin/python scripts/make_grad_fixtures.py\n\n"
            f"Generated with torch {torch.__version__}; see the script's docstring. For each case NAME\n"
            "the model and input are `../NAME.model.safetensors` and `../NAME.input.safetensors`;\n"
            "`NAME.grad.safetensors` holds the output gradients (f32) and `NAME.expected.safetensors`\n"
            "the float64 results of `torch.autograd.grad` (output, h_n, c_n, grad_input, grad_h0,\n"
            "grad_c0, grad_<parameter>). The NaN cases have no gradient fixture.\n\n"
            "| name | module | output gradients given |\n|---|---|---|\n"
        )
        f.write("\n".join(rows) + "\n")
    print(f"{len(rows)} cases written to {OUT}")


if __name__ == "__main__":
    main()
