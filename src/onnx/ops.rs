//! The glue operators exporters place around recurrent nodes (Transpose, Reshape, Squeeze,
//! Unsqueeze, Concat, Slice, Shape, Gather, Expand, ConstantOfShape, Cast, Identity), evaluated
//! on host tensors with ONNX's semantics (opset 7 to 22). Each returns a message for the caller to
//! wrap with the node's name.

use crate::tensor::{Tensor, checked_numel};

use super::value::{IntTensor, Value};

/// A result whose error is a sentence about the node's inputs.
pub(crate) type OpResult<T> = std::result::Result<T, String>;

/// A tensor of either element type, taken apart for shape-only operators.
struct Array<T> {
    shape: Vec<usize>,
    data: Vec<T>,
}

/// Applies a shape-only operator to a value of either element type.
fn map_any(
    v: &Value,
    f32_op: impl FnOnce(Array<f32>) -> OpResult<Array<f32>>,
    i64_op: impl FnOnce(Array<i64>) -> OpResult<Array<i64>>,
) -> OpResult<Value> {
    Ok(match v {
        Value::Float(t) => {
            let a = f32_op(Array {
                shape: t.shape().to_vec(),
                data: t.data().to_vec(),
            })?;
            Value::Float(Tensor::new(a.shape, a.data).map_err(|e| e.to_string())?)
        }
        Value::Int(t) => {
            let a = i64_op(Array {
                shape: t.shape.clone(),
                data: t.data.clone(),
            })?;
            Value::Int(IntTensor::new(a.shape, a.data).ok_or("internal: size mismatch")?)
        }
    })
}

/// Row-major strides of `shape`.
fn strides(shape: &[usize]) -> Vec<usize> {
    let mut s = vec![1; shape.len()];
    for i in (0..shape.len().saturating_sub(1)).rev() {
        s[i] = s[i + 1] * shape[i + 1];
    }
    s
}

/// `axis` (negative counts from the end) as an index into `rank` dimensions.
pub(crate) fn normalize_axis(axis: i64, rank: usize) -> OpResult<usize> {
    let r = rank as i64;
    let a = if axis < 0 { axis + r } else { axis };
    if (0..r).contains(&a) {
        Ok(a as usize)
    } else {
        Err(format!("axis {axis} is out of range for rank {rank}"))
    }
}

/// The integers of an int input, or an error naming `what`.
pub(crate) fn ints<'a>(v: &'a Value, what: &str) -> OpResult<&'a [i64]> {
    v.ints()
        .ok_or_else(|| format!("{what} must be an integer tensor, got {v}"))
}

/// Gathers `a` into `out_shape`, element `i` of the result read from `src(multi-index of i)`.
fn gather_by<T: Copy>(
    a: &Array<T>,
    out_shape: Vec<usize>,
    src: impl Fn(&[usize]) -> usize,
) -> OpResult<Array<T>> {
    let numel = checked_numel(&out_shape).map_err(|e| e.to_string())?;
    let mut index = vec![0usize; out_shape.len()];
    let mut data = Vec::with_capacity(numel);
    for _ in 0..numel {
        data.push(a.data[src(&index)]);
        for d in (0..out_shape.len()).rev() {
            index[d] += 1;
            if index[d] < out_shape[d] {
                break;
            }
            index[d] = 0;
        }
    }
    Ok(Array {
        shape: out_shape,
        data,
    })
}

/// `Transpose`: `perm` (default: reversed dimensions).
pub(crate) fn transpose(v: &Value, perm: Option<&[i64]>) -> OpResult<Value> {
    let rank = v.shape().len();
    let perm: Vec<usize> = match perm {
        None => (0..rank).rev().collect(),
        Some(p) => p
            .iter()
            .map(|&a| normalize_axis(a, rank))
            .collect::<OpResult<_>>()?,
    };
    let mut seen = vec![false; rank];
    if perm.len() != rank || perm.iter().any(|&p| std::mem::replace(&mut seen[p], true)) {
        return Err(format!("perm {perm:?} is not a permutation of {rank} axes"));
    }
    fn run<T: Copy>(a: Array<T>, perm: &[usize]) -> OpResult<Array<T>> {
        let st = strides(&a.shape);
        let out: Vec<usize> = perm.iter().map(|&p| a.shape[p]).collect();
        gather_by(&a, out, |idx| {
            idx.iter().zip(perm).map(|(&i, &p)| i * st[p]).sum()
        })
    }
    map_any(v, |a| run(a, &perm), |a| run(a, &perm))
}

/// `Reshape` to `target` (0 copies the input's dimension unless `allowzero`; one -1 is inferred).
pub(crate) fn reshape(v: &Value, target: &[i64], allowzero: bool) -> OpResult<Value> {
    let shape = v.shape();
    let numel: usize = shape.iter().product();
    let mut out = Vec::with_capacity(target.len());
    let mut infer = None;
    for (i, &d) in target.iter().enumerate() {
        match d {
            -1 if infer.is_none() => {
                infer = Some(i);
                out.push(1);
            }
            0 if !allowzero => {
                out.push(*shape.get(i).ok_or_else(|| {
                    format!("shape {target:?} copies dimension {i} the input lacks")
                })?)
            }
            d if d >= 0 => out.push(d as usize),
            _ => return Err(format!("shape {target:?} is not a valid target")),
        }
    }
    if let Some(i) = infer {
        let known: usize = out.iter().product();
        if known == 0 || !numel.is_multiple_of(known) {
            return Err(format!("cannot reshape {shape:?} to {target:?}"));
        }
        out[i] = numel / known;
    }
    if checked_numel(&out).map_err(|e| e.to_string())? != numel {
        return Err(format!("cannot reshape {shape:?} to {target:?}"));
    }
    with_shape(v, out)
}

/// The same elements under `shape` (same count).
fn with_shape(v: &Value, shape: Vec<usize>) -> OpResult<Value> {
    let bad = || format!("cannot give {v} the shape {shape:?}");
    Ok(match v {
        Value::Float(t) => {
            Value::Float(Tensor::new(shape.clone(), t.data().to_vec()).map_err(|_| bad())?)
        }
        Value::Int(t) => Value::Int(IntTensor::new(shape.clone(), t.data.clone()).ok_or_else(bad)?),
    })
}

/// `Squeeze`: removes `axes` (each of size 1), or every dimension of size 1.
pub(crate) fn squeeze(v: &Value, axes: Option<&[i64]>) -> OpResult<Value> {
    let shape = v.shape();
    let drop: Vec<usize> = match axes {
        None => (0..shape.len()).filter(|&d| shape[d] == 1).collect(),
        Some(axes) => {
            let axes = axes
                .iter()
                .map(|&a| normalize_axis(a, shape.len()))
                .collect::<OpResult<Vec<_>>>()?;
            if let Some(&a) = axes.iter().find(|&&a| shape[a] != 1) {
                return Err(format!("cannot squeeze axis {a} of {v}: its size is not 1"));
            }
            axes
        }
    };
    let out = (0..shape.len())
        .filter(|d| !drop.contains(d))
        .map(|d| shape[d])
        .collect();
    with_shape(v, out)
}

/// `Unsqueeze`: inserts dimensions of size 1 at `axes` (positions in the output).
pub(crate) fn unsqueeze(v: &Value, axes: &[i64]) -> OpResult<Value> {
    let rank = v.shape().len() + axes.len();
    let mut axes = axes
        .iter()
        .map(|&a| normalize_axis(a, rank))
        .collect::<OpResult<Vec<_>>>()?;
    axes.sort_unstable();
    if axes.windows(2).any(|w| w[0] == w[1]) {
        return Err(format!("axes {axes:?} repeat"));
    }
    let mut rest = v.shape().iter();
    let out = (0..rank)
        .map(|d| {
            if axes.contains(&d) {
                1
            } else {
                *rest.next().expect("rank counts the input's dimensions")
            }
        })
        .collect();
    with_shape(v, out)
}

/// `Concat` along `axis`; every input has the same element type, rank and other dimensions.
pub(crate) fn concat(values: &[&Value], axis: i64) -> OpResult<Value> {
    let first = values.first().ok_or("Concat needs at least one input")?;
    let rank = first.shape().len();
    let axis = normalize_axis(axis, rank)?;
    for v in values {
        let same_rest = v.shape().len() == rank
            && (0..rank).all(|d| d == axis || v.shape()[d] == first.shape()[d]);
        if !same_rest || v.kind() != first.kind() {
            return Err(format!(
                "cannot concatenate {v} with {first} along axis {axis}"
            ));
        }
    }
    let outer: usize = first.shape()[..axis].iter().product();
    let mut shape = first.shape().to_vec();
    shape[axis] = values.iter().map(|v| v.shape()[axis]).sum();
    fn join<T: Copy>(parts: &[(&[T], usize)], outer: usize) -> Vec<T> {
        let mut out = Vec::new();
        for o in 0..outer {
            for &(data, chunk) in parts {
                out.extend_from_slice(&data[o * chunk..(o + 1) * chunk]);
            }
        }
        out
    }
    let inner = |v: &Value| v.shape()[axis..].iter().product::<usize>();
    let result = match first {
        Value::Float(_) => {
            let parts: Vec<(&[f32], usize)> = values
                .iter()
                .map(|v| match v {
                    Value::Float(t) => (t.data(), inner(v)),
                    Value::Int(_) => unreachable!("kinds checked above"),
                })
                .collect();
            Value::Float(Tensor::new(shape, join(&parts, outer)).map_err(|e| e.to_string())?)
        }
        Value::Int(_) => {
            let parts: Vec<(&[i64], usize)> = values
                .iter()
                .map(|v| match v {
                    Value::Int(t) => (t.data.as_slice(), inner(v)),
                    Value::Float(_) => unreachable!("kinds checked above"),
                })
                .collect();
            Value::Int(IntTensor::new(shape, join(&parts, outer)).ok_or("internal: size")?)
        }
    };
    Ok(result)
}

/// `Slice` with `starts`, `ends`, `axes` (default all, in order) and `steps` (default 1), clamped
/// as ONNX specifies.
pub(crate) fn slice(
    v: &Value,
    starts: &[i64],
    ends: &[i64],
    axes: Option<&[i64]>,
    steps: Option<&[i64]>,
) -> OpResult<Value> {
    let shape = v.shape().to_vec();
    let rank = shape.len();
    let n = starts.len();
    let default_axes: Vec<i64> = (0..n as i64).collect();
    let axes = axes.unwrap_or(&default_axes);
    let ones = vec![1; n];
    let steps = steps.unwrap_or(&ones);
    if ends.len() != n || axes.len() != n || steps.len() != n {
        return Err("starts, ends, axes and steps must have the same length".into());
    }
    // Per output dimension: (first index, step, count).
    let mut plan: Vec<(i64, i64, usize)> = shape.iter().map(|&d| (0, 1, d)).collect();
    for k in 0..n {
        let axis = normalize_axis(axes[k], rank)?;
        let dim = shape[axis] as i64;
        let step = steps[k];
        if step == 0 {
            return Err("a step of 0".into());
        }
        let fix = |x: i64| if x < 0 { x.saturating_add(dim) } else { x };
        let (start, end) = (fix(starts[k]), fix(ends[k]));
        let (start, end, count) = if step > 0 {
            let (s, e) = (start.clamp(0, dim), end.clamp(0, dim));
            (s, e, if e > s { (e - s + step - 1) / step } else { 0 })
        } else {
            let (s, e) = (start.clamp(0, dim - 1), end.clamp(-1, dim - 1));
            (
                s,
                e,
                if s > e {
                    (s - e + (-step) - 1) / (-step)
                } else {
                    0
                },
            )
        };
        let _ = end;
        plan[axis] = (start, step, count as usize);
    }
    let out_shape: Vec<usize> = plan.iter().map(|p| p.2).collect();
    let st = strides(&shape);
    let src = |idx: &[usize]| {
        idx.iter()
            .zip(&plan)
            .zip(&st)
            .map(|((&i, &(first, step, _)), &s)| (first + i as i64 * step) as usize * s)
            .sum()
    };
    map_any(
        v,
        |a| gather_by(&a, out_shape.clone(), src),
        |a| gather_by(&a, out_shape.clone(), src),
    )
}

/// `Shape`: the input's dimensions `start..end` (negative counts from the end, clamped).
pub(crate) fn shape_of(v: &Value, start: i64, end: Option<i64>) -> Value {
    let rank = v.shape().len() as i64;
    let fix = |x: i64| (if x < 0 { x + rank } else { x }).clamp(0, rank) as usize;
    let (s, e) = (fix(start), fix(end.unwrap_or(rank)));
    let dims: Vec<i64> = v.shape()[s..e.max(s)].iter().map(|&d| d as i64).collect();
    Value::Int(IntTensor {
        shape: vec![dims.len()],
        data: dims,
    })
}

/// `Gather` along `axis` with integer `indices` of any shape (negative indices count from the
/// end).
pub(crate) fn gather(v: &Value, indices: &Value, axis: i64) -> OpResult<Value> {
    let shape = v.shape().to_vec();
    let axis = normalize_axis(axis, shape.len())?;
    let dim = shape[axis] as i64;
    let idx: Vec<usize> = ints(indices, "Gather's indices")?
        .iter()
        .map(|&i| {
            let j = if i < 0 { i + dim } else { i };
            if (0..dim).contains(&j) {
                Ok(j as usize)
            } else {
                Err(format!("index {i} is out of range for axis {axis} of {v}"))
            }
        })
        .collect::<OpResult<_>>()?;
    let ir = indices.shape().len();
    let mut out_shape = shape[..axis].to_vec();
    out_shape.extend_from_slice(indices.shape());
    out_shape.extend_from_slice(&shape[axis + 1..]);
    let st = strides(&shape);
    let ist = strides(indices.shape());
    let src = |o: &[usize]| {
        let pre: usize = (0..axis).map(|d| o[d] * st[d]).sum();
        let k: usize = (0..ir).map(|d| o[axis + d] * ist[d]).sum();
        let post: usize = (axis + 1..shape.len()).map(|d| o[d + ir - 1] * st[d]).sum();
        pre + idx[k] * st[axis] + post
    };
    map_any(
        v,
        |a| gather_by(&a, out_shape.clone(), src),
        |a| gather_by(&a, out_shape.clone(), src),
    )
}

/// `Expand`: broadcasts `v` and `target` (numpy rules) and repeats `v` over the result.
pub(crate) fn expand(v: &Value, target: &[i64]) -> OpResult<Value> {
    let shape = v.shape().to_vec();
    let rank = shape.len().max(target.len());
    let pad = |s: Vec<i64>| {
        let mut p = vec![1; rank - s.len()];
        p.extend(s);
        p
    };
    let a = pad(shape.iter().map(|&d| d as i64).collect());
    let b = pad(target.to_vec());
    let mut out = Vec::with_capacity(rank);
    for (&x, &y) in a.iter().zip(&b) {
        let d = match (x, y) {
            (x, y) if x == y => x,
            (1, y) => y,
            (x, 1) => x,
            _ => {
                return Err(format!("cannot broadcast {shape:?} to {target:?}"));
            }
        };
        if d < 0 {
            return Err(format!("cannot expand to {target:?}"));
        }
        out.push(d as usize);
    }
    let st = strides(&shape);
    let offset = rank - shape.len();
    let src = |o: &[usize]| {
        (0..shape.len())
            .map(|d| {
                if shape[d] == 1 {
                    0
                } else {
                    o[d + offset] * st[d]
                }
            })
            .sum()
    };
    map_any(
        v,
        |a| gather_by(&a, out.clone(), src),
        |a| gather_by(&a, out.clone(), src),
    )
}

/// `ConstantOfShape`: `value` (a one-element tensor) repeated over `shape`.
pub(crate) fn constant_of_shape(shape: &[i64], value: &Value) -> OpResult<Value> {
    let dims = shape
        .iter()
        .map(|&d| {
            usize::try_from(d).map_err(|_| format!("shape {shape:?} has a negative dimension"))
        })
        .collect::<OpResult<Vec<usize>>>()?;
    let numel = checked_numel(&dims).map_err(|e| e.to_string())?;
    Ok(match value {
        Value::Float(t) if t.data().len() == 1 => {
            Value::Float(Tensor::new(dims, vec![t.data()[0]; numel]).map_err(|e| e.to_string())?)
        }
        Value::Int(t) if t.data.len() == 1 => Value::Int(IntTensor {
            shape: dims,
            data: vec![t.data[0]; numel],
        }),
        other => return Err(format!("its value must hold one element, got {other}")),
    })
}

/// `Cast` to floats (`to_float`) or integers (truncating toward zero, as C casts).
pub(crate) fn cast(v: &Value, to_float: bool) -> OpResult<Value> {
    Ok(match (v, to_float) {
        (Value::Float(_), true) | (Value::Int(_), false) => v.clone(),
        (Value::Int(t), true) => Value::Float(
            Tensor::new(t.shape.clone(), t.data.iter().map(|&x| x as f32).collect())
                .map_err(|e| e.to_string())?,
        ),
        (Value::Float(t), false) => {
            if let Some(x) = t.data().iter().find(|x| !x.is_finite()) {
                return Err(format!("cannot cast {x} to an integer"));
            }
            Value::Int(IntTensor {
                shape: t.shape().to_vec(),
                data: t.data().iter().map(|&x| x as i64).collect(),
            })
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(shape: &[usize], data: &[f32]) -> Value {
        Value::Float(Tensor::new(shape, data.to_vec()).unwrap())
    }
    fn i(shape: &[usize], data: &[i64]) -> Value {
        Value::Int(IntTensor::new(shape.to_vec(), data.to_vec()).unwrap())
    }
    fn range(shape: &[usize]) -> Value {
        let n: usize = shape.iter().product();
        f(shape, &(0..n).map(|v| v as f32).collect::<Vec<_>>())
    }

    #[test]
    fn transpose_and_reshape_follow_numpy() {
        let x = range(&[2, 3, 4]);
        let t = transpose(&x, Some(&[1, 0, 2])).unwrap();
        assert_eq!(t.shape(), &[3, 2, 4]);
        let Value::Float(t) = t else { panic!() };
        // t[1, 0, 2] = x[0, 1, 2] = 6.
        assert_eq!(t.data()[2 * 4 + 2], 6.0);
        let r = reshape(&x, &[0, -1], false).unwrap();
        assert_eq!(r.shape(), &[2, 12]);
        assert!(reshape(&x, &[5, -1], false).is_err());
        assert_eq!(transpose(&x, None).unwrap().shape(), &[4, 3, 2]);
    }

    #[test]
    fn squeeze_unsqueeze_concat() {
        let x = range(&[1, 3, 1]);
        assert_eq!(squeeze(&x, None).unwrap().shape(), &[3]);
        assert_eq!(squeeze(&x, Some(&[-1])).unwrap().shape(), &[1, 3]);
        assert!(squeeze(&x, Some(&[1])).is_err());
        assert_eq!(unsqueeze(&x, &[0, 4]).unwrap().shape(), &[1, 1, 3, 1, 1]);
        let a = range(&[2, 1]);
        let b = f(&[2, 2], &[10.0, 11.0, 12.0, 13.0]);
        let c = concat(&[&a, &b], 1).unwrap();
        assert_eq!(c, f(&[2, 3], &[0.0, 10.0, 11.0, 1.0, 12.0, 13.0]));
        assert!(concat(&[&a, &i(&[2, 1], &[1, 2])], 1).is_err());
    }

    #[test]
    fn slice_clamps_and_steps_backwards() {
        let x = range(&[5]);
        let s = slice(&x, &[1], &[i64::MAX], None, None).unwrap();
        assert_eq!(s, f(&[4], &[1.0, 2.0, 3.0, 4.0]));
        let s = slice(&x, &[-1], &[i64::MIN], Some(&[0]), Some(&[-2])).unwrap();
        assert_eq!(s, f(&[3], &[4.0, 2.0, 0.0]));
        let m = range(&[4, 3]);
        let s = slice(&m, &[1], &[3], Some(&[0]), None).unwrap();
        assert_eq!(s, f(&[2, 3], &[3.0, 4.0, 5.0, 6.0, 7.0, 8.0]));
    }

    #[test]
    fn shape_gather_expand_constant_of_shape() {
        let x = range(&[2, 3, 4]);
        assert_eq!(shape_of(&x, 0, None), i(&[3], &[2, 3, 4]));
        assert_eq!(shape_of(&x, -2, None), i(&[2], &[3, 4]));
        let g = gather(&shape_of(&x, 0, None), &i(&[], &[1]), 0).unwrap();
        assert_eq!(g, i(&[], &[3]));
        let m = range(&[3, 2]);
        let g = gather(&m, &i(&[2], &[2, -3]), 0).unwrap();
        assert_eq!(g, f(&[2, 2], &[4.0, 5.0, 0.0, 1.0]));
        let e = expand(&f(&[2, 1], &[1.0, 2.0]), &[2, 2, 3]).unwrap();
        assert_eq!(e.shape(), &[2, 2, 3]);
        let Value::Float(e) = e else { panic!() };
        assert_eq!(&e.data()[..6], &[1.0, 1.0, 1.0, 2.0, 2.0, 2.0]);
        let z = constant_of_shape(&[2, 2], &f(&[1], &[0.5])).unwrap();
        assert_eq!(z, f(&[2, 2], &[0.5; 4]));
        assert_eq!(
            cast(&f(&[2], &[-1.7, 2.9]), false).unwrap(),
            i(&[2], &[-1, 2])
        );
    }
}
