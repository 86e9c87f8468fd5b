#!/usr/bin/env python3
"""Generate the ONNX fixtures in tests/fixtures/onnx/ (run by hand, never by tests).

    /work/main/.venv-torch/bin/python scripts/make_onnx_fixtures.py

Three sets, each case NAME as NAME.onnx, NAME.input.safetensors (one tensor per graph input, named
as the graph names it) and NAME.expected.safetensors (every graph output by name):

  node/   ONNX's backend node tests for LSTM, GRU and RNN, regenerated from the installed onnx
          package's own case definitions (onnx.backend.test.case.node.collect_testcases; recent
          wheels ship no test data), with W, R, B and P moved into initializers. Expected values
          are the cases' own (onnx's numpy helpers); onnxruntime's agreement is printed.
  ort/    Random cases covering every attribute (directions, layout, activations with alpha/beta,
          clip, peepholes, input_forget, linear_before_reset, sequence_lens with zero-length rows,
          initial states, no bias), odd sizes and saturating random weights, expected from
          onnxruntime's CPU provider. onnxruntime refuses layout=1, so layout-1 cases are computed
          through the layout-0 model and transposes.
  torch/  nn.LSTM, nn.GRU and nn.RNN (1-3 layers, bidirectional, batch_first, with and without
          initial state, static and dynamic axes) exported by torch.onnx.export (the TorchScript
          exporter, dynamo=False), expected from the PyTorch module in float64.
  bad/    NAME.onnx only: models to refuse (an unsupported operator, attribute values outside the
          table, weights fed as graph inputs, a hidden_size the weights contradict, garbage).

Where the specification is silent, the cases follow onnxruntime (1.32): activation_alpha and
activation_beta consumed only by the functions that take them, onnxruntime's defaults otherwise,
rows of length 0 ending with zero states. A random case whose outputs diverge (unbounded
activations on saturating weights: |Y| over 20 or |Y_c| over 100, where onnxruntime's f32
rounding, amplified step after step, is no longer a sharp yardstick) is redrawn with smaller
weights.
"""
import os
import sys
import warnings
import zlib
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import torch
from onnx import TensorProto, helper, numpy_helper
from safetensors.numpy import save_file

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "tests" / "fixtures" / "onnx"
ACTIVATIONS = ["Relu", "Tanh", "Sigmoid", "Affine", "LeakyRelu", "ThresholdedRelu", "ScaledTanh",
               "HardSigmoid", "Elu", "Softsign", "Softplus"]
TAKES = {"Affine": (1, 1), "LeakyRelu": (1, 0), "ThresholdedRelu": (1, 0), "ScaledTanh": (1, 1),
         "HardSigmoid": (1, 1), "Elu": (1, 0)}
GATES = {"LSTM": 4, "GRU": 3, "RNN": 1}
worst = {}


def save(kind, name, model, inputs, expected):
    d = OUT / kind
    d.mkdir(parents=True, exist_ok=True)
    onnx.checker.check_model(model)
    onnx.save(model, d / f"{name}.onnx")
    save_file({k: np.ascontiguousarray(v) for k, v in inputs.items()}, d / f"{name}.input.safetensors")
    save_file({k: np.ascontiguousarray(v) for k, v in expected.items()}, d / f"{name}.expected.safetensors")


def note(kind, name, diff):
    worst[kind] = max(worst.get(kind, 0.0), diff)
    print(f"  {kind}/{name}: onnxruntime vs expected {diff:.2e}")


def ort_run(model, feeds):
    sess = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    names = [o.name for o in sess.get_outputs()]
    return dict(zip(names, sess.run(None, feeds)))


def max_rel(a, b):
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return float(np.max(np.abs(a - b) / np.maximum(1.0, np.abs(b)), initial=0.0))


# ---------------------------------------------------------------------------------------------
# node/: ONNX's backend node tests with the weights as initializers.

WEIGHT_SLOTS = {1, 2, 3, 7}  # W, R, B, P


def node_tests():
    from onnx.backend.test.case.node import collect_testcases
    np.random.seed(0)
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        every = collect_testcases(None)
    ops = ("LSTM", "GRU", "RNN")
    cases = [c for c in every if len(c.model.graph.node) == 1 and c.model.graph.node[0].op_type in ops]
    for case in cases:
        model = case.model
        (inputs, outputs), = case.data_sets
        node = model.graph.node[0]
        present = [(slot, n) for slot, n in enumerate(node.input) if n]
        values = {n: v for (_, n), v in zip(present, inputs)}
        weights = {n for slot, n in present if slot in WEIGHT_SLOTS}
        graph = model.graph
        kept = [i for i in graph.input if i.name not in weights]
        inits = [numpy_helper.from_array(values[n], n) for n in node.input if n in weights]
        new_graph = helper.make_graph(list(graph.node), graph.name, kept, list(graph.output), inits)
        new = helper.make_model(new_graph, opset_imports=list(model.opset_import),
                                producer_name="wgpu-rnn make_onnx_fixtures")
        new.ir_version = model.ir_version
        feeds = {n: values[n] for n in values if n not in weights}
        expected = dict(zip([o.name for o in graph.output], outputs))
        layout = next((a.i for a in node.attribute if a.name == "layout"), 0)
        if layout == 0:
            got = ort_run(new, feeds)
            note("node", case.name, max(max_rel(got[k], v) for k, v in expected.items()))
        save("node", case.name, new, feeds, expected)


# ---------------------------------------------------------------------------------------------
# ort/: random cases, expected from onnxruntime.

def activation_attrs(op, dirs, rng, k):
    """Per-direction activations cycling through every function in every role, with alpha/beta
    given for some and left to the defaults for others. Case 0 keeps the defaults."""
    roles = {"LSTM": 3, "GRU": 2, "RNN": 1}[op]
    if k == 0:
        return {}
    names, alphas, betas = [], [], []
    for d in range(dirs):
        for r in range(roles):
            names.append(ACTIVATIONS[(k * 5 + d * 7 + r * 3) % len(ACTIVATIONS)])
    give = k % 3 != 1
    attrs = {"activations": names}
    for n in names:
        ta, tb = TAKES.get(n, (0, 0))
        if give and ta:
            alphas.append(float(rng.uniform(0.1, 1.5)))
        if give and tb:
            betas.append(float(rng.uniform(-0.5, 0.5)))
    if alphas:
        attrs["activation_alpha"] = alphas
    if betas:
        attrs["activation_beta"] = betas
    return attrs


def ort_case(op, k):
    name = f"{op.lower()}_{k:02d}"
    rng = np.random.default_rng(zlib.crc32(name.encode()))
    direction = ["forward", "reverse", "bidirectional"][k % 3]
    dirs = 2 if direction == "bidirectional" else 1
    layout = (k // 3) % 2
    g = GATES[op]
    I, H = int(rng.integers(1, 8)) | 1, int(rng.integers(2, 9)) | 1
    T, N = int(rng.integers(1, 7)), int(rng.integers(1, 5))
    with_bias = k % 5 != 4
    with_lens = k % 4 in (1, 2)
    with_h0 = k % 2 == 0
    with_c0 = op == "LSTM" and k % 4 in (0, 3)
    with_p = op == "LSTM" and k % 3 != 2
    scale = 1.5
    W = rng.uniform(-scale, scale, (dirs, g * H, I)).astype(np.float32)
    R = rng.uniform(-scale, scale, (dirs, g * H, H)).astype(np.float32)
    B = rng.uniform(-1, 1, (dirs, 2 * g * H)).astype(np.float32)
    P = rng.uniform(-1, 1, (dirs, 3 * H)).astype(np.float32)
    X = rng.normal(0, 1.5, (T, N, I)).astype(np.float32)
    h0 = rng.normal(0, 1, (dirs, N, H)).astype(np.float32)
    c0 = rng.normal(0, 1, (dirs, N, H)).astype(np.float32)
    lens = rng.integers(0, T + 1, N).astype(np.int32)
    if with_lens and N > 1:
        lens[0] = 0
    attrs = {"hidden_size": H, "direction": direction}
    attrs.update(activation_attrs(op, dirs, rng, k))
    if k % 4 == 3:
        attrs["clip"] = float(rng.uniform(0.5, 2.5))
    if op == "LSTM" and k % 5 in (1, 3):
        attrs["input_forget"] = 1
    if op == "GRU":
        attrs["linear_before_reset"] = k % 2
    inits = [numpy_helper.from_array(W, "W"), None]
    slots = ["X", "W", "R", "", "", "", "", ""]
    if with_bias:
        inits.append(numpy_helper.from_array(B, "B"))
        slots[3] = "B"
    if with_p:
        inits.append(numpy_helper.from_array(P, "P"))
        slots[7] = "P"
    feeds = {"X": X}
    graph_inputs = [("X", TensorProto.FLOAT, [T, N, I])]
    if with_lens:
        slots[4] = "sequence_lens"
        feeds["sequence_lens"] = lens
        graph_inputs.append(("sequence_lens", TensorProto.INT32, [N]))
    if with_h0:
        slots[5] = "initial_h"
        feeds["initial_h"] = h0
        graph_inputs.append(("initial_h", TensorProto.FLOAT, [dirs, N, H]))
    if with_c0:
        slots[6] = "initial_c"
        feeds["initial_c"] = c0
        graph_inputs.append(("initial_c", TensorProto.FLOAT, [dirs, N, H]))
    n_slots = 8 if op == "LSTM" else 6
    while n_slots > 1 and slots[n_slots - 1] == "":
        n_slots -= 1
    outs = ["Y", "Y_h"] + (["Y_c"] if op == "LSTM" else [])
    out_shapes = {"Y": [T, dirs, N, H], "Y_h": [dirs, N, H], "Y_c": [dirs, N, H]}

    def model_with(layout_attr, in_shapes, out_shapes):
        node = helper.make_node(op, slots[:n_slots], outs, **attrs, **layout_attr)
        graph = helper.make_graph(
            [node], name,
            [helper.make_tensor_value_info(n, t, in_shapes[n]) for n, t, _ in graph_inputs],
            [helper.make_tensor_value_info(o, TensorProto.FLOAT, out_shapes[o]) for o in outs],
            inits)
        return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 14 if k % 2 else 22)],
                                 producer_name="wgpu-rnn make_onnx_fixtures")

    shapes0 = {n: s for n, _, s in graph_inputs}
    for attempt in range(12):
        shrink = 0.7 ** attempt
        for i, (n, v) in enumerate([("W", W), ("R", R), ("B", B), ("P", P)]):
            if i < 2 or slots[3 if n == "B" else 7] == n:
                t = numpy_helper.from_array(v * shrink, n)
                inits[next(j for j, x in enumerate(inits) if x is None or x.name == n)] = t
        model0 = model_with({}, shapes0, out_shapes)
        got = ort_run(model0, feeds)
        bound = {"Y": 20, "Y_h": 20, "Y_c": 100}
        if all(np.isfinite(v).all() and np.abs(v).max() < bound[k] for k, v in got.items()):
            break
    else:
        raise RuntimeError(f"{name} diverges")
    if layout == 0:
        save("ort", name, model0, feeds, got)
        return
    # layout 1: X [N, T, I], states [N, D, H], Y [N, T, D, H].
    swap = {"X": (1, 0, 2), "initial_h": (1, 0, 2), "initial_c": (1, 0, 2), "sequence_lens": (0,)}
    feeds1 = {n: np.transpose(v, swap[n]) for n, v in feeds.items()}
    shapes1 = {n: list(np.transpose(np.empty(s), swap[n]).shape) for n, s in shapes0.items()}
    out1 = {"Y": [N, T, dirs, H], "Y_h": [N, dirs, H], "Y_c": [N, dirs, H]}
    model1 = model_with({"layout": 1}, shapes1, out1)
    want = {"Y": np.transpose(got["Y"], (2, 0, 1, 3))}
    for o in outs[1:]:
        want[o] = np.transpose(got[o], (1, 0, 2))
    save("ort", name, model1, feeds1, want)


# ---------------------------------------------------------------------------------------------
# torch/: torch.onnx.export of the modules, expected from PyTorch in float64.

def torch_case(name, make, batch_first, state, dynamic, run_shape):
    torch.manual_seed(zlib.crc32(name.encode()))
    m = make()
    with torch.no_grad():
        for p in m.parameters():
            p.uniform_(-1.0, 1.0)  # saturating: gate order and activations matter
    m.eval()
    lstm = isinstance(m, torch.nn.LSTM)
    D = 2 if m.bidirectional else 1
    L, H = m.num_layers, m.hidden_size

    def args_for(t, n):
        x = torch.randn(*(n, t, m.input_size) if batch_first else (t, n, m.input_size)) * 1.5
        h0 = torch.randn(D * L, n, H)
        c0 = torch.randn(D * L, n, H)
        return x, h0, c0

    x, h0, c0 = args_for(4, 2)
    names = ["input"] + (["h0", "c0"] if lstm else ["h0"]) * state
    if not state:
        names = ["input"]
    export_args = (x, (h0, c0)) if (state and lstm) else ((x, h0) if state else (x,))
    outs = ["output", "h_n"] + (["c_n"] if lstm else [])
    dyn = None
    if dynamic:
        axes = {0: "batch", 1: "steps"} if batch_first else {0: "steps", 1: "batch"}
        dyn = {"input": axes}
        for s in names[1:]:
            dyn[s] = {1: "batch"}
    path = OUT / "torch" / f"{name}.onnx"
    path.parent.mkdir(parents=True, exist_ok=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(m, export_args, str(path), input_names=names, output_names=outs,
                          dynamo=False, dynamic_axes=dyn)
    model = onnx.load(str(path))
    t, n = run_shape
    x, h0, c0 = args_for(t, n)
    feeds = {"input": x.numpy()}
    if state:
        feeds["h0"] = h0.numpy()
        if lstm:
            feeds["c0"] = c0.numpy()
    m64 = m.double()
    with torch.no_grad():
        if state:
            res = m64(x.double(), (h0.double(), c0.double()) if lstm else h0.double())
        else:
            res = m64(x.double())
    out, hidden = res
    expected = {"output": out.numpy(), "h_n": (hidden[0] if lstm else hidden).numpy()}
    if lstm:
        expected["c_n"] = hidden[1].numpy()
    got = ort_run(model, feeds)
    note("torch", name, max(max_rel(got[k], v) for k, v in expected.items()))
    save("torch", name, model, feeds, expected)


def torch_cases():
    mods = {"lstm": torch.nn.LSTM, "gru": torch.nn.GRU, "rnn": torch.nn.RNN}
    k = 0
    for kind, cls in mods.items():
        for layers in (1, 2, 3):
            for bi in (False, True):
                for bf in (False, True):
                    k += 1
                    state = (k % 2 == 0)
                    dynamic = (k % 3 == 0)
                    extra = {"nonlinearity": "relu"} if kind == "rnn" and k % 4 == 1 else {}
                    bias = k % 5 != 0
                    name = f"{kind}_l{layers}{'_bi' if bi else ''}{'_bf' if bf else ''}{'_state' if state else ''}{'_dyn' if dynamic else ''}"
                    make = (lambda cls=cls, layers=layers, bi=bi, bf=bf, extra=extra, bias=bias:
                            cls(3, 5, num_layers=layers, bidirectional=bi, batch_first=bf, bias=bias, **extra))
                    run_shape = (6, 3) if dynamic else (4, 2)
                    torch_case(name, make, bf, state, dynamic, run_shape)


# ---------------------------------------------------------------------------------------------
# bad/: models wgpu-rnn must refuse with a typed error naming the operator, node and position.

def bad_models():
    d = OUT / "bad"
    d.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(7)
    W = numpy_helper.from_array(rng.uniform(-1, 1, (1, 12, 3)).astype(np.float32), "W")
    R = numpy_helper.from_array(rng.uniform(-1, 1, (1, 12, 3)).astype(np.float32), "R")
    x = helper.make_tensor_value_info("X", TensorProto.FLOAT, [4, 2, 3])
    y = helper.make_tensor_value_info("Y", TensorProto.FLOAT, None)

    def model(nodes, inputs=(x,), outputs=(y,), inits=(W, R)):
        g = helper.make_graph(nodes, "bad", list(inputs), list(outputs), list(inits))
        return helper.make_model(g, opset_imports=[helper.make_opsetid("", 14)])

    lstm = lambda **a: helper.make_node("LSTM", ["X", "W", "R"], ["Y"], name="lstm", hidden_size=3, **a)
    cases = {
        # An operator outside the table, after a supported node.
        "softmax": model([lstm(), helper.make_node("Softmax", ["Y"], ["Z"], name="head")],
                         outputs=[helper.make_tensor_value_info("Z", TensorProto.FLOAT, None)]),
        "direction": model([lstm(direction="sideways")]),
        "layout": model([lstm(layout=2)]),
        "clip": model([lstm(clip=-1.0)]),
        "activation": model([lstm(activations=["Sigmoid", "Swish", "Tanh"])]),
        "activation_count": model([lstm(activations=["Sigmoid", "Tanh"])]),
        "unknown_attribute": model([lstm(output_sequence=1)]),
        # W fed as a graph input instead of an initializer.
        "weights_input": model([lstm()], inputs=[x, helper.make_tensor_value_info("W", TensorProto.FLOAT, [1, 12, 3])],
                               inits=[R]),
        "hidden_size": model([helper.make_node("LSTM", ["X", "W", "R"], ["Y"], name="lstm", hidden_size=4)]),
    }
    for name, m in cases.items():
        onnx.save(m, d / f"{name}.onnx")
    (d / "garbage.onnx").write_bytes(b"\x12\xff\xff\xff\xffnot a model")


def main():
    for kind in ["node", "ort", "torch", "bad"]:
        d = OUT / kind
        if d.exists():
            for f in d.iterdir():
                f.unlink()
    print("node tests:")
    node_tests()
    print("onnxruntime cases:")
    for op in ["LSTM", "GRU", "RNN"]:
        for k in range(24):
            ort_case(op, k)
    print("torch exports:")
    torch_cases()
    bad_models()
    for kind, w in worst.items():
        print(f"worst onnxruntime difference, {kind}: {w:.2e}")


if __name__ == "__main__":
    main()
