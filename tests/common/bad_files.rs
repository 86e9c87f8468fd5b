//! Bad model and input files, one per way a user can get them wrong, each with the typed error
//! the library must answer with. Shared by the library tests and the CLI tests.

#![allow(
    dead_code,
    reason = "each test binary uses a different part of this shared file"
)]

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use rand::SeedableRng;
use safetensors::Dtype;
use safetensors::tensor::TensorView;
use wgpu_rnn::{Error, Model, RnnConfig};

/// A bad case: the files to run and the error it must produce.
pub struct BadCase {
    pub name: &'static str,
    pub model: PathBuf,
    pub input: PathBuf,
    pub expect: fn(&Error) -> bool,
}

/// A tensor to write: name, dtype, shape, raw little-endian bytes.
pub type Raw = (&'static str, Dtype, Vec<usize>, Vec<u8>);

pub fn f32s(name: &'static str, shape: &[usize], seed: u32) -> Raw {
    let n: usize = shape.iter().product();
    let data: Vec<u8> = (0..n)
        .flat_map(|i| {
            ((((i as u32).wrapping_mul(2654435761) ^ seed) % 1000) as f32 / 500.0 - 1.0)
                .to_le_bytes()
        })
        .collect();
    (name, Dtype::F32, shape.to_vec(), data)
}

pub fn i64s(name: &'static str, values: &[i64]) -> Raw {
    let data = values.iter().flat_map(|v| v.to_le_bytes()).collect();
    (name, Dtype::I64, vec![values.len()], data)
}

/// Writes raw tensors as a safetensors file.
pub fn write(path: &Path, tensors: &[Raw], metadata: Option<HashMap<String, String>>) {
    let views: Vec<(&str, TensorView<'_>)> = tensors
        .iter()
        .map(|(n, d, s, b)| (*n, TensorView::new(*d, s.clone(), b).unwrap()))
        .collect();
    std::fs::write(path, safetensors::serialize(views, metadata).unwrap()).unwrap();
}

/// The valid model every input case runs: LSTM(3, 4, num_layers=2). T=5, N=2.
pub fn base_model(dir: &Path) -> PathBuf {
    let path = dir.join("model.safetensors");
    let mut rng = rand::rngs::StdRng::seed_from_u64(5);
    let model = Model::new(RnnConfig::lstm(3, 4).with_num_layers(2), &mut rng).unwrap();
    model.save(&path).unwrap();
    path
}

/// The valid inputs for [`base_model`].
pub fn base_inputs() -> Vec<Raw> {
    vec![
        f32s("input", &[5, 2, 3], 1),
        f32s("h0", &[2, 2, 4], 2),
        f32s("c0", &[2, 2, 4], 3),
        i64s("lengths", &[5, 3]),
    ]
}

/// `base_inputs` with `name` replaced by `with` (or removed when `with` is None).
fn inputs_with(name: &str, with: Option<Raw>) -> Vec<Raw> {
    let mut v: Vec<Raw> = base_inputs().into_iter().filter(|t| t.0 != name).collect();
    v.extend(with);
    v
}

/// The valid model's tensors with `name` replaced (or removed).
fn model_with(dir: &Path, name: &str, with: Option<Raw>) -> Vec<Raw> {
    let bytes = std::fs::read(base_model(dir)).unwrap();
    let file = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    let mut v: Vec<Raw> = file
        .iter()
        .filter(|(n, _)| *n != name)
        .map(|(n, t)| {
            let n: &'static str = Box::leak(n.to_string().into_boxed_str());
            (n, t.dtype(), t.shape().to_vec(), t.data().to_vec())
        })
        .collect();
    v.extend(with);
    v
}

/// Every bad case, written under `dir`.
pub fn cases(dir: &Path) -> Vec<BadCase> {
    let model = base_model(dir);
    let good_input = dir.join("good.input.safetensors");
    write(&good_input, &base_inputs(), None);
    let mut out = Vec::new();
    let mut add_input = |name: &'static str, tensors: Vec<Raw>, expect: fn(&Error) -> bool| {
        let input = dir.join(format!("{name}.input.safetensors"));
        write(&input, &tensors, None);
        out.push(BadCase {
            name,
            model: model.clone(),
            input,
            expect,
        });
    };
    use Error as E;
    add_input(
        "input_rank_4",
        inputs_with("input", Some(f32s("input", &[5, 2, 3, 1], 1))),
        |e| matches!(e, E::ShapeMismatch { name, .. } if name == "input"),
    );
    add_input(
        "input_rank_1",
        inputs_with("input", Some(f32s("input", &[3], 1))),
        |e| matches!(e, E::ShapeMismatch { name, .. } if name == "input"),
    );
    add_input(
        "input_width",
        inputs_with("input", Some(f32s("input", &[5, 2, 6], 1))),
        |e| matches!(e, E::ShapeMismatch { name, expected, .. } if name == "input" && expected.contains("input_size")),
    );
    add_input(
        "input_missing",
        inputs_with("input", None),
        |e| matches!(e, E::MissingTensor { name, .. } if name == "input"),
    );
    add_input(
        "input_dtype_int",
        inputs_with("input", Some(i64s("input", &[1, 2, 3]))),
        |e| matches!(e, E::BadDtype { name, .. } if name == "input"),
    );
    add_input(
        "h0_without_c0",
        inputs_with("c0", None),
        |e| matches!(e, E::IncompleteState { given, missing, .. } if given == "h0" && missing == "c0"),
    );
    add_input(
        "c0_without_h0",
        inputs_with("h0", None),
        |e| matches!(e, E::IncompleteState { given, missing, .. } if given == "c0" && missing == "h0"),
    );
    add_input(
        "h0_wrong_batch",
        inputs_with("h0", Some(f32s("h0", &[2, 3, 4], 2))),
        |e| matches!(e, E::ShapeMismatch { name, .. } if name == "h0"),
    );
    add_input(
        "h0_wrong_layers",
        inputs_with("h0", Some(f32s("h0", &[1, 2, 4], 2))),
        |e| matches!(e, E::ShapeMismatch { name, .. } if name == "h0"),
    );
    add_input(
        "c0_wrong_width",
        inputs_with("c0", Some(f32s("c0", &[2, 2, 5], 3))),
        |e| matches!(e, E::ShapeMismatch { name, .. } if name == "c0"),
    );
    add_input(
        "h0_rank_2",
        inputs_with("h0", Some(f32s("h0", &[2, 8], 2))),
        |e| matches!(e, E::ShapeMismatch { name, .. } if name == "h0"),
    );
    add_input(
        "lengths_count",
        inputs_with("lengths", Some(i64s("lengths", &[5, 3, 2]))),
        |e| matches!(e, E::ShapeMismatch { name, .. } if name == "lengths"),
    );
    add_input(
        "lengths_zero",
        inputs_with("lengths", Some(i64s("lengths", &[5, 0]))),
        |e| matches!(e, E::NonPositiveLength { index: 1, value: 0 }),
    );
    add_input(
        "lengths_negative",
        inputs_with("lengths", Some(i64s("lengths", &[-2, 3]))),
        |e| {
            matches!(
                e,
                E::NonPositiveLength {
                    index: 0,
                    value: -2
                }
            )
        },
    );
    add_input(
        "lengths_over_t",
        inputs_with("lengths", Some(i64s("lengths", &[5, 6]))),
        |e| {
            matches!(
                e,
                E::BadLength {
                    index: 1,
                    value: 6,
                    min: 1,
                    max: 5
                }
            )
        },
    );
    add_input(
        "lengths_float",
        inputs_with("lengths", Some(f32s("lengths", &[2], 4))),
        |e| matches!(e, E::BadDtype { name, .. } if name == "lengths"),
    );
    add_input(
        "lengths_2d",
        inputs_with(
            "lengths",
            Some((
                "lengths",
                Dtype::I64,
                vec![2, 1],
                [5i64, 3].iter().flat_map(|v| v.to_le_bytes()).collect(),
            )),
        ),
        |e| matches!(e, E::ShapeMismatch { name, .. } if name == "lengths"),
    );
    add_input(
        "unknown_tensor",
        inputs_with("none", Some(f32s("hO", &[2, 2, 4], 2))),
        |e| matches!(e, E::UnexpectedTensor { name, .. } if name == "hO"),
    );

    let mut add_model = |name: &'static str,
                         tensors: Option<Vec<Raw>>,
                         bytes: Option<Vec<u8>>,
                         expect: fn(&Error) -> bool| {
        let path = dir.join(format!("{name}.model.safetensors"));
        match (tensors, bytes) {
            (Some(t), _) => write(&path, &t, None),
            (None, Some(b)) => std::fs::write(&path, b).unwrap(),
            (None, None) => {} // a file that does not exist
        }
        out.push(BadCase {
            name,
            model: path,
            input: good_input.clone(),
            expect,
        });
    };
    add_model(
        "model_missing_tensor",
        Some(model_with(dir, "weight_hh_l1", None)),
        None,
        |e| matches!(e, E::MissingTensor { name, .. } if name == "weight_hh_l1"),
    );
    add_model(
        "model_misshapen_tensor",
        Some(model_with(
            dir,
            "bias_hh_l1",
            Some(f32s("bias_hh_l1", &[15], 9)),
        )),
        None,
        |e| matches!(e, E::ShapeMismatch { name, .. } if name == "bias_hh_l1"),
    );
    add_model(
        "model_bad_gate_rows",
        Some(model_with(
            dir,
            "weight_hh_l0",
            Some(f32s("weight_hh_l0", &[8, 4], 9)),
        )),
        None,
        |e| matches!(e, E::ShapeMismatch { name, .. } if name == "weight_hh_l0"),
    );
    add_model(
        "model_dtype_int",
        Some(model_with(
            dir,
            "weight_ih_l1",
            Some(("weight_ih_l1", Dtype::I32, vec![16, 4], vec![0; 256])),
        )),
        None,
        |e| matches!(e, E::BadDtype { name, .. } if name == "weight_ih_l1"),
    );
    add_model(
        "model_no_weights",
        Some(vec![f32s("something", &[3], 1)]),
        None,
        |e| matches!(e, E::MissingTensor { name, .. } if name == "weight_ih_l0"),
    );
    add_model("model_empty_file", None, Some(Vec::new()), |e| {
        matches!(e, E::BadFile { .. })
    });
    add_model(
        "model_garbage",
        None,
        Some(b"this is not a safetensors file at all, just some text".to_vec()),
        |e| matches!(e, E::BadFile { .. }),
    );
    let valid = std::fs::read(&model).unwrap();
    add_model(
        "model_truncated",
        None,
        Some(valid[..valid.len() - 10].to_vec()),
        |e| matches!(e, E::BadFile { .. }),
    );
    add_model("model_absurd_header", None, Some(absurd_header()), |e| {
        matches!(e, E::BadFile { .. })
    });
    add_model(
        "model_header_len_huge",
        None,
        Some(u64::MAX.to_le_bytes().to_vec()),
        |e| matches!(e, E::BadFile { .. }),
    );
    add_model("model_missing_file", None, None, |e| {
        matches!(e, E::Io { .. })
    });
    let mut contradicting = HashMap::new();
    contradicting.insert("module".to_string(), "GRU".to_string());
    let path = dir.join("model_contradicting_metadata.model.safetensors");
    write(&path, &model_with(dir, "", None), Some(contradicting));
    out.push(BadCase {
        name: "model_contradicting_metadata",
        model: path,
        input: good_input,
        expect: |e| matches!(e, E::BadMetadata { key, .. } if key == "module"),
    });
    out
}

/// A well-formed header that claims a tensor of 2^40 × 2^40 floats over 16 bytes of data.
fn absurd_header() -> Vec<u8> {
    let header = br#"{"weight_ih_l0":{"dtype":"F32","shape":[1099511627776,1099511627776],"data_offsets":[0,16]}}"#;
    let mut bytes = (header.len() as u64).to_le_bytes().to_vec();
    bytes.extend_from_slice(header);
    bytes.extend_from_slice(&[0u8; 16]);
    bytes
}
