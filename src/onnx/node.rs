//! One node of an ONNX graph: its operator parsed from `op_type` and attributes (refusing what is
//! outside the supported table), and its evaluation on host values.

use super::attrs::Attrs;
use super::ops;
use super::proto::NodeProto;
use super::proto::tensor_proto::DataType;
use super::recurrent::{self, Recurrent};
use super::value::{Value, is_float_type, is_int_type, type_name};

/// The operators wgpu-rnn evaluates: the recurrent ones and the glue exporters put around them.
#[derive(Clone, Debug)]
pub(crate) enum Op {
    /// `LSTM`, `GRU`, `RNN`.
    Recurrent(Box<Recurrent>),
    /// `Constant`.
    Constant(Value),
    /// `Identity`.
    Identity,
    /// `Cast` to floats (true) or integers.
    Cast(bool),
    /// `Transpose` with `perm`.
    Transpose(Option<Vec<i64>>),
    /// `Reshape` with `allowzero`.
    Reshape(bool),
    /// `Squeeze` with axes as an attribute (opset < 13) or the second input.
    Squeeze(Option<Vec<i64>>),
    /// `Unsqueeze` with axes as an attribute (opset < 13) or the second input.
    Unsqueeze(Option<Vec<i64>>),
    /// `Concat` along `axis`.
    Concat(i64),
    /// `Slice` with `starts`, `ends`, `axes` attributes (opset < 10) or inputs.
    Slice(Option<[Option<Vec<i64>>; 3]>),
    /// `Shape` with `start`, `end`.
    Shape(i64, Option<i64>),
    /// `Gather` along `axis`.
    Gather(i64),
    /// `Expand`.
    Expand,
    /// `ConstantOfShape` with its `value`.
    ConstantOfShape(Value),
}

/// The glue operators, for messages.
pub(crate) const GLUE: &str = "Constant, Identity, Cast, Transpose, Reshape, Squeeze, Unsqueeze, \
     Concat, Slice, Shape, Gather, Expand, ConstantOfShape";

/// A node of the graph, in topological order.
#[derive(Clone, Debug)]
pub(crate) struct Node {
    /// Its position among the graph's nodes.
    pub(crate) index: usize,
    /// Its name (may be empty).
    pub(crate) name: String,
    /// Its `op_type`.
    pub(crate) op_type: String,
    /// Its input names; an empty name is an absent optional input.
    pub(crate) inputs: Vec<String>,
    /// Its output names; an empty name is an unused optional output.
    pub(crate) outputs: Vec<String>,
    /// What it computes.
    pub(crate) op: Op,
}

/// The oldest opset whose recurrent operators (and glue) this reader follows.
pub(crate) const MIN_OPSET: i64 = 7;

/// Parses `proto`'s operator. `constant(i)` is input `i`'s value when it is a constant (the
/// recurrent weights must be); `opset` is the model's default-domain opset version.
pub(crate) fn parse(
    proto: &NodeProto,
    opset: i64,
    constant: &dyn Fn(usize) -> Option<Value>,
) -> Result<Op, String> {
    if !matches!(proto.domain(), "" | "ai.onnx") {
        return Err(format!(
            "operator domain \"{}\" is not supported (only ONNX's default domain)",
            proto.domain()
        ));
    }
    let attrs = Attrs::new(&proto.attribute);
    let op_type = proto.op_type();
    if let Some(family) = recurrent::family(op_type) {
        if opset < MIN_OPSET {
            return Err(format!(
                "opset {opset} is older than {MIN_OPSET}, the first whose {op_type} this reader follows"
            ));
        }
        let present = |k: usize| proto.input.get(k).is_some_and(|n| !n.is_empty());
        let mut weights = vec![None; 8];
        for (k, name) in [
            (recurrent::W, "W"),
            (recurrent::R, "R"),
            (recurrent::B, "B"),
            (recurrent::P, "P"),
        ] {
            if present(k) {
                let v = constant(k).ok_or_else(|| {
                    format!(
                        "input {name} ('{}') must be an initializer or a Constant: wgpu-rnn builds its weights when it loads the model",
                        proto.input[k]
                    )
                })?;
                weights[k] = Some(v);
            }
        }
        let refs: Vec<Option<&Value>> = weights.iter().map(Option::as_ref).collect();
        let node = recurrent::build(family, &attrs, &refs, present(recurrent::SEQUENCE_LENS))?;
        return Ok(Op::Recurrent(Box::new(node)));
    }
    let allowed: &[&str] = match op_type {
        "Constant" => &[
            "value",
            "value_float",
            "value_floats",
            "value_int",
            "value_ints",
        ],
        "Cast" => &["to", "saturate", "round_mode"],
        "Transpose" => &["perm"],
        "Reshape" => &["allowzero"],
        "Squeeze" | "Unsqueeze" => &["axes"],
        "Concat" | "Gather" => &["axis"],
        "Slice" => &["starts", "ends", "axes"],
        "Shape" => &["start", "end"],
        "ConstantOfShape" => &["value"],
        "Identity" | "Expand" => &[],
        _ => {
            return Err(format!(
                "operator {op_type} is not supported; wgpu-rnn runs LSTM, GRU, RNN and the glue operators {GLUE}"
            ));
        }
    };
    if let Some(name) = attrs.names().into_iter().find(|n| !allowed.contains(n)) {
        return Err(format!("attribute {name} is not supported"));
    }
    Ok(match op_type {
        "Constant" => Op::Constant(constant_value(&attrs)?),
        "Identity" => Op::Identity,
        "Cast" => {
            let to = attrs.int("to")?.ok_or("attribute to is required")? as i32;
            if is_float_type(to) {
                Op::Cast(true)
            } else if is_int_type(to) && to != DataType::Bool as i32 {
                Op::Cast(false)
            } else {
                return Err(format!("Cast to {} is not supported", type_name(to)));
            }
        }
        "Transpose" => Op::Transpose(attrs.ints("perm")?),
        "Reshape" => Op::Reshape(attrs.int("allowzero")?.unwrap_or(0) != 0),
        "Squeeze" => Op::Squeeze(attrs.ints("axes")?),
        "Unsqueeze" => Op::Unsqueeze(attrs.ints("axes")?),
        "Concat" => Op::Concat(attrs.int("axis")?.ok_or("attribute axis is required")?),
        "Slice" if opset < 10 => Op::Slice(Some([
            attrs.ints("starts")?,
            attrs.ints("ends")?,
            attrs.ints("axes")?,
        ])),
        "Slice" => Op::Slice(None),
        "Shape" => Op::Shape(attrs.int("start")?.unwrap_or(0), attrs.int("end")?),
        "Gather" => Op::Gather(attrs.int("axis")?.unwrap_or(0)),
        "Expand" => Op::Expand,
        _ => Op::ConstantOfShape(attrs.tensor("value")?.unwrap_or_else(|| {
            Value::Float(crate::tensor::Tensor::new([1], vec![0.0]).expect("one element"))
        })),
    })
}

/// A `Constant`'s value from whichever of its attributes is set.
fn constant_value(attrs: &Attrs<'_>) -> Result<Value, String> {
    use super::value::IntTensor;
    use crate::tensor::Tensor;
    if let Some(v) = attrs.tensor("value")? {
        return Ok(v);
    }
    if let Some(f) = attrs.float("value_float")? {
        return Ok(Value::Float(Tensor::new(vec![], vec![f]).expect("scalar")));
    }
    if let Some(f) = attrs.floats("value_floats")? {
        return Ok(Value::Float(Tensor::new(vec![f.len()], f).expect("vector")));
    }
    if let Some(i) = attrs.int("value_int")? {
        return Ok(Value::Int(IntTensor::new(vec![], vec![i]).expect("scalar")));
    }
    if let Some(i) = attrs.ints("value_ints")? {
        return Ok(Value::Int(
            IntTensor::new(vec![i.len()], i).expect("vector"),
        ));
    }
    Err("a Constant needs one of value, value_float(s), value_int(s)".into())
}

/// Evaluates a glue operator on its inputs (`None` for absent optional ones).
pub(crate) fn eval_glue(op: &Op, inputs: &[Option<&Value>]) -> Result<Value, String> {
    let input = |k: usize| -> Result<&Value, String> {
        inputs
            .get(k)
            .copied()
            .flatten()
            .ok_or_else(|| format!("input {k} is required"))
    };
    let opt_ints = |k: usize, what: &str| -> Result<Option<Vec<i64>>, String> {
        match inputs.get(k).copied().flatten() {
            None => Ok(None),
            Some(v) => ops::ints(v, what).map(|i| Some(i.to_vec())),
        }
    };
    match op {
        Op::Recurrent(_) => unreachable!("recurrent nodes run through their model"),
        Op::Constant(v) => Ok(v.clone()),
        Op::Identity => Ok(input(0)?.clone()),
        Op::Cast(to_float) => ops::cast(input(0)?, *to_float),
        Op::Transpose(perm) => ops::transpose(input(0)?, perm.as_deref()),
        Op::Reshape(allowzero) => {
            ops::reshape(input(0)?, ops::ints(input(1)?, "the shape")?, *allowzero)
        }
        Op::Squeeze(axes) => {
            let axes = axes.clone().or(opt_ints(1, "the axes")?);
            ops::squeeze(input(0)?, axes.as_deref())
        }
        Op::Unsqueeze(axes) => {
            let axes = match axes {
                Some(a) => a.clone(),
                None => ops::ints(input(1)?, "the axes")?.to_vec(),
            };
            ops::unsqueeze(input(0)?, &axes)
        }
        Op::Concat(axis) => {
            let all: Vec<&Value> = inputs.iter().copied().flatten().collect();
            ops::concat(&all, *axis)
        }
        Op::Slice(Some([starts, ends, axes])) => {
            let (s, e) = (
                starts.as_deref().ok_or("attribute starts is required")?,
                ends.as_deref().ok_or("attribute ends is required")?,
            );
            ops::slice(input(0)?, s, e, axes.as_deref(), None)
        }
        Op::Slice(None) => {
            let starts = ops::ints(input(1)?, "starts")?;
            let ends = ops::ints(input(2)?, "ends")?;
            let axes = opt_ints(3, "axes")?;
            let steps = opt_ints(4, "steps")?;
            ops::slice(input(0)?, starts, ends, axes.as_deref(), steps.as_deref())
        }
        Op::Shape(start, end) => Ok(ops::shape_of(input(0)?, *start, *end)),
        Op::Gather(axis) => ops::gather(input(0)?, input(1)?, *axis),
        Op::Expand => ops::expand(input(0)?, ops::ints(input(1)?, "the shape")?),
        Op::ConstantOfShape(value) => {
            ops::constant_of_shape(ops::ints(input(0)?, "the shape")?, value)
        }
    }
}
