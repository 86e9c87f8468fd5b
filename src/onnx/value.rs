//! The values an ONNX graph passes between nodes (f32 and i64 tensors), and their decoding from
//! `TensorProto`s (initializers, `Constant` attributes).

use std::fmt;

use crate::tensor::{Tensor, checked_numel};

use super::proto::TensorProto;
use super::proto::tensor_proto::{DataLocation, DataType};

/// A tensor flowing through an ONNX graph: floats (f32, f16, f64 and bf16 are all read as f32)
/// or integers (int32 and int64, and the other integer types, read as i64).
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    /// A float tensor.
    Float(Tensor),
    /// An integer tensor.
    Int(IntTensor),
}

/// A dense row-major tensor of `i64` (ONNX's shapes, indices, lengths).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IntTensor {
    /// The shape, outermost first (empty for a scalar).
    pub shape: Vec<usize>,
    /// The elements, `shape.iter().product()` of them.
    pub data: Vec<i64>,
}

impl IntTensor {
    /// A tensor, or `None` if `data` does not fill `shape`.
    pub fn new(shape: Vec<usize>, data: Vec<i64>) -> Option<Self> {
        (checked_numel(&shape).ok()? == data.len()).then_some(Self { shape, data })
    }
}

impl Value {
    /// The shape.
    pub fn shape(&self) -> &[usize] {
        match self {
            Value::Float(t) => t.shape(),
            Value::Int(t) => &t.shape,
        }
    }

    /// `float` or `int`, for messages.
    pub fn kind(&self) -> &'static str {
        match self {
            Value::Float(_) => "float",
            Value::Int(_) => "int",
        }
    }

    /// The integers of an int tensor (`None` for a float tensor).
    pub fn ints(&self) -> Option<&[i64]> {
        match self {
            Value::Int(t) => Some(&t.data),
            Value::Float(_) => None,
        }
    }
}

/// `float[2, 3]`.
impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{:?}", self.kind(), self.shape())
    }
}

/// The element types a graph input or output may declare, as ONNX numbers them.
pub(crate) fn is_float_type(data_type: i32) -> bool {
    [
        DataType::Float,
        DataType::Float16,
        DataType::Double,
        DataType::Bfloat16,
    ]
    .iter()
    .any(|&t| t as i32 == data_type)
}

/// The integer element types read as i64.
pub(crate) fn is_int_type(data_type: i32) -> bool {
    [
        DataType::Int64,
        DataType::Int32,
        DataType::Int16,
        DataType::Int8,
        DataType::Uint8,
        DataType::Uint16,
        DataType::Uint32,
        DataType::Bool,
    ]
    .iter()
    .any(|&t| t as i32 == data_type)
}

/// ONNX's name of an element type, e.g. `FLOAT16`.
pub(crate) fn type_name(data_type: i32) -> String {
    DataType::try_from(data_type).map_or_else(
        |_| format!("type {data_type}"),
        |t| t.as_str_name().to_string(),
    )
}

/// Decodes a `TensorProto` (raw little-endian bytes or the typed fields), refusing external
/// data, element types other than floats and integers, and data that does not fill the shape.
pub(crate) fn decode(t: &TensorProto) -> Result<Value, String> {
    if t.data_location == Some(DataLocation::External as i32) || !t.external_data.is_empty() {
        return Err(
            "its data is stored in an external file; save the model with the weights inside it \
             (onnx.save_model(..., save_as_external_data=False))"
                .into(),
        );
    }
    let shape = t
        .dims
        .iter()
        .map(|&d| usize::try_from(d).map_err(|_| format!("it has a negative dimension {d}")))
        .collect::<Result<Vec<usize>, String>>()?;
    let numel = checked_numel(&shape).map_err(|e| e.to_string())?;
    let data_type = t.data_type.unwrap_or(0);
    let raw = t.raw_data.as_deref();
    let value = if is_float_type(data_type) {
        let data = decode_floats(t, data_type, raw)?;
        check_len(data.len(), numel)?;
        Value::Float(Tensor::new(shape, data).map_err(|e| e.to_string())?)
    } else if is_int_type(data_type) {
        let data = decode_ints(t, data_type, raw)?;
        check_len(data.len(), numel)?;
        Value::Int(IntTensor { shape, data })
    } else {
        return Err(format!(
            "its element type {} is not supported (floats and integers are)",
            type_name(data_type)
        ));
    };
    Ok(value)
}

fn check_len(have: usize, want: usize) -> Result<(), String> {
    if have == want {
        Ok(())
    } else {
        Err(format!(
            "it holds {have} elements but its shape needs {want}"
        ))
    }
}

fn words<const W: usize>(bytes: &[u8]) -> Result<impl Iterator<Item = [u8; W]> + '_, String> {
    if !bytes.len().is_multiple_of(W) {
        return Err(format!(
            "its raw data has {} bytes, not a multiple of {W}",
            bytes.len()
        ));
    }
    Ok(bytes
        .chunks_exact(W)
        .map(|b| b.try_into().expect("chunk of W bytes")))
}

fn decode_floats(t: &TensorProto, data_type: i32, raw: Option<&[u8]>) -> Result<Vec<f32>, String> {
    let half = |bits: u16| half::f16::from_bits(bits).to_f32();
    let bf16 = |bits: u16| half::bf16::from_bits(bits).to_f32();
    let from_bits: fn(u16) -> f32 = if data_type == DataType::Float16 as i32 {
        half
    } else {
        bf16
    };
    Ok(match (DataType::try_from(data_type), raw) {
        (Ok(DataType::Float), Some(raw)) => words::<4>(raw)?.map(f32::from_le_bytes).collect(),
        (Ok(DataType::Float), None) => t.float_data.clone(),
        (Ok(DataType::Double), Some(raw)) => words::<8>(raw)?
            .map(|w| f64::from_le_bytes(w) as f32)
            .collect(),
        (Ok(DataType::Double), None) => t.double_data.iter().map(|&v| v as f32).collect(),
        (_, Some(raw)) => words::<2>(raw)?
            .map(|w| from_bits(u16::from_le_bytes(w)))
            .collect(),
        // f16 and bf16 values sit in int32_data as their bit patterns.
        (_, None) => t.int32_data.iter().map(|&v| from_bits(v as u16)).collect(),
    })
}

fn decode_ints(t: &TensorProto, data_type: i32, raw: Option<&[u8]>) -> Result<Vec<i64>, String> {
    let Ok(dt) = DataType::try_from(data_type) else {
        return Err(format!("unknown element type {data_type}"));
    };
    let Some(raw) = raw else {
        return Ok(match dt {
            DataType::Int64 => t.int64_data.clone(),
            DataType::Uint32 => t.uint64_data.iter().map(|&v| v as i64).collect(),
            _ => t.int32_data.iter().map(|&v| i64::from(v)).collect(),
        });
    };
    Ok(match dt {
        DataType::Int64 => words::<8>(raw)?.map(i64::from_le_bytes).collect(),
        DataType::Int32 => words::<4>(raw)?
            .map(|w| i64::from(i32::from_le_bytes(w)))
            .collect(),
        DataType::Uint32 => words::<4>(raw)?
            .map(|w| i64::from(u32::from_le_bytes(w)))
            .collect(),
        DataType::Int16 => words::<2>(raw)?
            .map(|w| i64::from(i16::from_le_bytes(w)))
            .collect(),
        DataType::Uint16 => words::<2>(raw)?
            .map(|w| i64::from(u16::from_le_bytes(w)))
            .collect(),
        DataType::Int8 => raw.iter().map(|&b| i64::from(b as i8)).collect(),
        _ => raw.iter().map(|&b| i64::from(b)).collect(),
    })
}
