#!/usr/bin/env python3
"""Tests of export_model.py (run by hand with PyTorch; CI reads the files make_export_fixtures.py
commits instead):

    .venv-torch/bin/python scripts/test_export_model.py [path/to/wgpu-rnn binary]

Every way a newcomer holds a model -- the module, a larger module holding it, its state_dict, a
.pt file of either, a training checkpoint dict, keys under a prefix -- exports to the same tensors
and metadata, from any working directory; with the binary (default target/release/wgpu-rnn) each
export also runs through `wgpu-rnn run` and matches PyTorch to 1e-5.
"""
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import torch
from torch import nn
from safetensors import safe_open

SCRIPTS = Path(__file__).resolve().parent
sys.path.insert(0, str(SCRIPTS))
import export_model  # noqa: E402


class Net(nn.Module):
    def __init__(self, rnn):
        super().__init__()
        self.rnn = rnn
        self.head = nn.Linear(rnn.hidden_size, 1)


def read(path):
    with safe_open(str(path), "pt") as f:
        return f.metadata() or {}, {k: f.get_tensor(k) for k in f.keys()}


def check_same(path, module, expect_meta):
    meta, tensors = read(path)
    sd = module.state_dict()
    assert sorted(tensors) == sorted(sd), (path, sorted(tensors))
    for k, v in sd.items():
        assert torch.equal(tensors[k], v.float()), k
    assert meta == expect_meta, (path, meta, expect_meta)


def run_binary(binary, model_path, module, tmp, extra=()):
    x = torch.randn(2, 5, module.input_size) if module.batch_first else torch.randn(5, 2, module.input_size)
    inp, out = tmp / "in.safetensors", tmp / "out.safetensors"
    export_model.save_inputs(inp, x)
    r = subprocess.run([binary, "run", "--device", "cpu", "--model", model_path, "--input", inp,
                        "--output", out, *extra], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    with torch.no_grad():
        want = module(x)[0]
    got = read(out)[1]["output"]
    err = ((got - want).abs() / want.abs().clamp(min=1)).max().item()
    assert err < 1e-5, err
    return r.stderr


def main():
    binary = sys.argv[1] if len(sys.argv) > 1 else str(SCRIPTS.parent / "target/release/wgpu-rnn")
    have_binary = os.path.exists(binary)
    torch.manual_seed(3)
    rnn = nn.RNN(3, 5, num_layers=2, nonlinearity="relu", batch_first=True).eval()
    net = Net(rnn).eval()
    full = export_model.model_metadata(rnn)
    # A state_dict gives all but nonlinearity/batch_first (and dropout, which inference ignores).
    from_sd = {k: v for k, v in full.items() if k not in ("nonlinearity", "batch_first", "dropout")}
    given = {**from_sd, "nonlinearity": "relu", "batch_first": "true"}
    checked = 0
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        os.chdir(tmp)  # the script must not depend on the working directory
        torch.save(net.state_dict(), tmp / "sd.pt")
        torch.save(net, tmp / "whole.pt")
        torch.save({"epoch": 3, "model_state_dict": net.state_dict(), "optimizer": {}}, tmp / "ckpt.pt")
        cases = [
            ("module", lambda p: export_model.save_model(rnn, p), full),
            ("submodule", lambda p: export_model.save_model(net, p, prefix="rnn."), full),
            ("submodule, no dot", lambda p: export_model.save_model(net, p, prefix="rnn"), full),
            ("state_dict", lambda p: export_model.save_model(net.state_dict(), p, prefix="rnn."), from_sd),
            ("state_dict + settings", lambda p: export_model.save_model(
                net.state_dict(), p, prefix="rnn.", nonlinearity="relu", batch_first=True), given),
            ("sd.pt (CLI)", lambda p: export_model.main(
                ["sd.pt", str(p), "--prefix", "rnn.", "--nonlinearity", "relu", "--batch-first"]), given),
            ("whole.pt (CLI)", lambda p: export_model.main(["whole.pt", str(p), "--prefix", "rnn."]), full),
            ("ckpt.pt (CLI)", lambda p: export_model.main(
                ["ckpt.pt", str(p), "--prefix", "rnn.", "--nonlinearity", "relu", "--batch-first"]), given),
        ]
        for label, export, meta in cases:
            path = tmp / f"{label.split()[0]}.safetensors"
            export(path)
            check_same(path, rnn, meta)
            if have_binary and meta is not from_sd:
                run_binary(binary, path, rnn, tmp)
            checked += 1
        # The script run as a program from another directory.
        r = subprocess.run([sys.executable, str(SCRIPTS / "export_model.py"), "sd.pt", "cli.safetensors",
                            "--prefix", "rnn.", "--nonlinearity", "relu", "--batch-first"],
                           capture_output=True, text=True)
        assert r.returncode == 0, r.stderr
        check_same(tmp / "cli.safetensors", rnn, given)
        # A prefix that matches nothing names those present; a module's own settings win over wrong flags.
        for bad, needle in [
            (lambda: export_model.save_model(net.state_dict(), "x.safetensors", prefix="lstm."), "'rnn.'"),
            (lambda: export_model.save_model(net, "x.safetensors", prefix="rnn.", nonlinearity="tanh"),
             "nonlinearity=relu"),
        ]:
            try:
                bad()
                raise AssertionError("accepted")
            except (KeyError, ValueError) as e:
                assert needle in str(e), e
        if have_binary:
            # Without metadata the binary says what it assumed; with --prefix it reads the raw file.
            from safetensors.torch import save_file
            save_file({k: v.contiguous() for k, v in net.state_dict().items()}, "raw.safetensors")
            r = subprocess.run([binary, "run", "--model", "raw.safetensors", "--input", "in.safetensors",
                                "--output", "o.safetensors"], capture_output=True, text=True)
            assert r.returncode == 1 and "--prefix rnn." in r.stderr, r.stderr
            r = subprocess.run([binary, "run", "--model", "sd.pt", "--input", "in.safetensors",
                                "--output", "o.safetensors"], capture_output=True, text=True)
            assert r.returncode == 1 and "PyTorch checkpoint" in r.stderr, r.stderr
    print(f"{checked} exports checked" + (f", each run through {binary}" if have_binary else " (no binary)"))


if __name__ == "__main__":
    main()
