#!/usr/bin/env python3
"""Export a PyTorch recurrent module (and inputs) to safetensors for wgpu-rnn.

Library use:
    from export_model import save_model, save_inputs
    save_model(my_lstm, "lstm.safetensors")              # state_dict + metadata
    save_inputs("in.safetensors", x, h0=h0, c0=c0, lengths=lengths)

Command line (SRC is a whole module saved with torch.save(module, SRC)):
    python scripts/export_model.py SRC.pt DST.safetensors [--submodule encoder.rnn] [--no-metadata]

Supported modules: nn.RNN, nn.LSTM, nn.GRU, nn.RNNCell, nn.LSTMCell, nn.GRUCell.
Tensors keep PyTorch's state_dict names and are written as float32.
"""
import argparse
import json

import torch
from torch import nn
from safetensors.torch import save, save_file

_SEQ_MODES = {"RNN_TANH": "RNN", "RNN_RELU": "RNN", "LSTM": "LSTM", "GRU": "GRU"}
_CELLS = (nn.RNNCell, nn.LSTMCell, nn.GRUCell)


def _s(value):
    """Metadata values are strings: booleans as true/false, ints in decimal, floats like 0.0."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)
    return str(value)


def model_metadata(module):
    """Derive the metadata dictionary from a module's attributes."""
    if isinstance(module, nn.RNNBase):
        kind = _SEQ_MODES[module.mode]
        meta = {
            "module": kind,
            "input_size": module.input_size,
            "hidden_size": module.hidden_size,
            "num_layers": module.num_layers,
            "bias": bool(module.bias),
            "batch_first": bool(module.batch_first),
            "bidirectional": bool(module.bidirectional),
            "proj_size": int(getattr(module, "proj_size", 0)),
            "dropout": float(module.dropout),
        }
        if kind == "RNN":
            meta["nonlinearity"] = module.nonlinearity
    elif isinstance(module, _CELLS):
        meta = {
            "module": next(c.__name__ for c in _CELLS if isinstance(module, c)),
            "input_size": module.input_size,
            "hidden_size": module.hidden_size,
            "bias": bool(module.bias),
        }
        if isinstance(module, nn.RNNCell):
            meta["nonlinearity"] = module.nonlinearity
    else:
        raise TypeError(f"unsupported module type {type(module).__name__}")
    return {k: _s(v) for k, v in meta.items()}


def save_model(module, path, with_metadata=True):
    """Write module.state_dict() (float32) and, optionally, its configuration as metadata."""
    tensors = {k: v.detach().to("cpu", torch.float32).contiguous().clone()
               for k, v in module.state_dict().items()}
    if not with_metadata:
        save_file(tensors, str(path))
        return
    # safetensors writes metadata in hash order; rewrite the header with the keys in a fixed
    # order (same length) so that exporting the same module twice gives identical bytes.
    meta = model_metadata(module)
    data = bytearray(save(tensors, metadata=meta))
    n = int.from_bytes(data[:8], "little")
    header = json.loads(data[8:8 + n])
    header["__metadata__"] = meta
    text = json.dumps(header, separators=(",", ":")).encode().ljust(n)
    assert len(text) == n
    data[8:8 + n] = text
    with open(path, "wb") as f:
        f.write(data)


def save_inputs(path, input, h0=None, c0=None, lengths=None):
    """Write an input file: `input`, optional `h0`, `c0` (float32) and `lengths` (int64 or int32)."""
    tensors = {"input": input}
    if h0 is not None:
        tensors["h0"] = h0
    if c0 is not None:
        tensors["c0"] = c0
    out = {k: torch.as_tensor(v).detach().to("cpu", torch.float32).contiguous().clone()
           for k, v in tensors.items()}
    if lengths is not None:
        lengths = torch.as_tensor(lengths)
        if lengths.dtype not in (torch.int32, torch.int64):
            lengths = lengths.to(torch.int64)
        out["lengths"] = lengths.to("cpu").contiguous().clone()
    save_file(out, str(path))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("src", help="module saved with torch.save(module, SRC)")
    ap.add_argument("dst", help="output .safetensors file")
    ap.add_argument("--submodule", help="dotted path of the recurrent submodule, e.g. encoder.rnn")
    ap.add_argument("--no-metadata", action="store_true", help="write tensors only")
    args = ap.parse_args()

    module = torch.load(args.src, map_location="cpu", weights_only=False)
    if args.submodule:
        module = module.get_submodule(args.submodule)
    save_model(module, args.dst, with_metadata=not args.no_metadata)
    print(f"wrote {args.dst}: {module}")


if __name__ == "__main__":
    main()
