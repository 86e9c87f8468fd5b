#!/usr/bin/env python3
"""Export a PyTorch recurrent module (and inputs) to safetensors for wgpu-rnn.

Command line, from any directory (SRC: a .pt file torch.save wrote: a whole module, a
state_dict, or a training checkpoint dict holding one under "state_dict", "model_state_dict" or
"model"):

    python path/to/wgpu-rnn/scripts/export_model.py SRC.pt DST.safetensors [--prefix rnn.]
        [--nonlinearity relu] [--batch-first] [--no-metadata]

--prefix selects the recurrent module inside a larger model: its attribute path with a dot
(`rnn.`, `encoder.rnn.`), as the state_dict keys carry it (`rnn.weight_ih_l0`). From a whole module
the metadata comes from the module itself; from a state_dict the tensors give everything but
nonlinearity and batch_first, so pass those when they differ from PyTorch's defaults (tanh,
batch_first=False) -- or they are left out, and wgpu-rnn says it assumed the defaults.

Library use (put this directory on sys.path, or copy this one file next to your code):

    from export_model import save_model, save_inputs
    save_model(my_lstm, "lstm.safetensors")                       # a module: state_dict + metadata
    save_model(net, "lstm.safetensors", prefix="rnn.")            # the submodule net.rnn
    save_model(torch.load("ckpt.pt"), "lstm.safetensors", prefix="rnn.", batch_first=True)
    save_inputs("in.safetensors", x, h0=h0, c0=c0, lengths=lengths)

Supported modules: nn.RNN, nn.LSTM, nn.GRU, nn.RNNCell, nn.LSTMCell, nn.GRUCell.
Tensors keep PyTorch's state_dict names (without the prefix) and are written as float32.
"""
import argparse
import json
from collections.abc import Mapping

import torch
from torch import nn
from safetensors.torch import save, save_file

_SEQ_MODES = {"RNN_TANH": "RNN", "RNN_RELU": "RNN", "LSTM": "LSTM", "GRU": "GRU"}
_CELLS = (nn.RNNCell, nn.LSTMCell, nn.GRUCell)
_GATES = {1: "RNN", 4: "LSTM", 3: "GRU"}
# Where training loops usually keep the model's state_dict inside a checkpoint dict.
_CHECKPOINT_KEYS = ("state_dict", "model_state_dict", "model", "net", "module")


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
        raise TypeError(
            f"unsupported module type {type(module).__name__}: give the recurrent submodule's "
            "prefix (e.g. prefix='rnn.')"
        )
    return {k: _s(v) for k, v in meta.items()}


def state_dict_metadata(sd, nonlinearity=None, batch_first=None):
    """The metadata a bare state_dict determines (the module kind, sizes, layers, directions,
    bias, projection), plus nonlinearity and batch_first when given."""
    cell = "weight_ih" in sd
    suffix = "" if cell else "_l0"
    for name in (f"weight_ih{suffix}", f"weight_hh{suffix}"):
        if name not in sd:
            raise KeyError(f"no tensor '{name}' in the state_dict (keys: {sorted(sd)[:6]}...); "
                           "is a prefix missing?")
    gate_rows, h_out = sd[f"weight_hh{suffix}"].shape
    hidden = sd["weight_hr_l0"].shape[1] if "weight_hr_l0" in sd else h_out
    kind = _GATES.get(gate_rows // hidden) if gate_rows % hidden == 0 else None
    if kind is None:
        raise ValueError(f"weight_hh{suffix} has {gate_rows} rows: not 1, 3 or 4 times {hidden}")
    meta = {
        "module": kind + ("Cell" if cell else ""),
        "input_size": sd[f"weight_ih{suffix}"].shape[1],
        "hidden_size": hidden,
        "bias": f"bias_ih{suffix}" in sd,
    }
    if not cell:
        layers = 0
        while f"weight_ih_l{layers}" in sd:
            layers += 1
        meta.update(num_layers=layers, bidirectional="weight_ih_l0_reverse" in sd,
                    proj_size=sd["weight_hr_l0"].shape[0] if "weight_hr_l0" in sd else 0)
        if batch_first is not None:
            meta["batch_first"] = bool(batch_first)
    if kind == "RNN" and nonlinearity is not None:
        meta["nonlinearity"] = nonlinearity
    return {k: _s(v) for k, v in meta.items()}


def _dotted(prefix):
    return prefix if not prefix or prefix.endswith(".") else prefix + "."


def unwrap_checkpoint(obj):
    """A module or a state_dict from what torch.load returned: the object itself, or the
    state_dict a training checkpoint dict keeps under one of _CHECKPOINT_KEYS."""
    if isinstance(obj, nn.Module):
        return obj
    if isinstance(obj, Mapping):
        if any(isinstance(v, torch.Tensor) for v in obj.values()):
            return obj
        for key in _CHECKPOINT_KEYS:
            if key in obj:
                return unwrap_checkpoint(obj[key])
        raise ValueError(f"a checkpoint dict without tensors or any of {_CHECKPOINT_KEYS}: "
                         f"keys {sorted(obj)[:8]}")
    raise TypeError(f"cannot export a {type(obj).__name__}: give a module or a state_dict")


def select(source, prefix=""):
    """(module or None, state_dict) of the recurrent module under `prefix` in `source`, a module
    or a state_dict. Raises KeyError naming the prefixes present when nothing is under it."""
    prefix = _dotted(prefix)
    source = unwrap_checkpoint(source)
    if isinstance(source, nn.Module):
        module = source.get_submodule(prefix.rstrip(".")) if prefix else source
        return module, module.state_dict()
    sd = {k[len(prefix):]: v for k, v in source.items() if k.startswith(prefix)}
    if not sd:
        heads = sorted({k.rsplit(".", 1)[0] + "." for k in source if "." in k})
        raise KeyError(f"no key starts with '{prefix}'; the prefixes present: {heads}")
    return None, sd


def save_model(source, path, prefix="", with_metadata=True, nonlinearity=None, batch_first=None):
    """Write the recurrent module's state_dict (float32) and, optionally, its configuration as
    metadata. `source` is the module, a larger module holding it under `prefix`, or a state_dict
    (keys under `prefix`). From a state_dict, `nonlinearity` and `batch_first` are recorded only
    when given; from a module they come from the module (and must agree when given)."""
    module, sd = select(source, prefix)
    tensors = {k: v.detach().to("cpu", torch.float32).contiguous().clone() for k, v in sd.items()}
    if not with_metadata:
        save_file(tensors, str(path))
        return module
    if module is not None:
        meta = model_metadata(module)
        for key, given in (("nonlinearity", nonlinearity), ("batch_first", batch_first)):
            if given is not None and key in meta and meta[key] != _s(given):
                raise ValueError(f"{key}={given} given, but the module has {key}={meta[key]}")
    else:
        meta = state_dict_metadata(sd, nonlinearity, batch_first)
    # safetensors writes metadata in hash order; rewrite the header with the keys in a fixed
    # order (same length) so that exporting the same module twice gives identical bytes.
    data = bytearray(save(tensors, metadata=meta))
    n = int.from_bytes(data[:8], "little")
    header = json.loads(data[8:8 + n])
    header["__metadata__"] = meta
    text = json.dumps(header, separators=(",", ":")).encode().ljust(n)
    assert len(text) == n
    data[8:8 + n] = text
    with open(path, "wb") as f:
        f.write(data)
    return module


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


def load_checkpoint(path):
    """torch.load a .pt file: a state_dict loads with weights_only=True (no code runs); a whole
    pickled module needs weights_only=False (load only files you trust)."""
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception:  # noqa: BLE001 - a pickled module is refused by the weights-only loader
        return torch.load(path, map_location="cpu", weights_only=False)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("src", help="a .pt file: torch.save(module), torch.save(state_dict) or a checkpoint dict")
    ap.add_argument("dst", help="output .safetensors file")
    ap.add_argument("--prefix", "--submodule", default="",
                    help="the recurrent module's key prefix, e.g. rnn. or encoder.rnn.")
    ap.add_argument("--nonlinearity", choices=["tanh", "relu"],
                    help="for an RNN from a state_dict (the tensors do not say)")
    ap.add_argument("--batch-first", action="store_true", default=None,
                    help="for a sequence module from a state_dict (the tensors do not say)")
    ap.add_argument("--no-metadata", action="store_true", help="write tensors only")
    args = ap.parse_args(argv)

    source = load_checkpoint(args.src)
    module = save_model(source, args.dst, prefix=args.prefix, with_metadata=not args.no_metadata,
                        nonlinearity=args.nonlinearity, batch_first=args.batch_first)
    what = module if module is not None else "a state_dict"
    print(f"wrote {args.dst}: {what}")


if __name__ == "__main__":
    main()
