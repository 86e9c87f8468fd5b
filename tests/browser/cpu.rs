//! The fast CPU path compiled to wasm32 (SIMD128, one thread) against every PyTorch fixture, and
//! bad model files read from bytes (as a page `fetch`es them): each a typed error, never a hang.

use wasm_bindgen_test::{console_log, wasm_bindgen_test};
use wgpu_rnn::{CpuModel, Error, InputFile, Model};

use super::{FIXTURES, fixtures};

const TOLERANCE: f64 = 1e-5;

#[wasm_bindgen_test]
fn cpu_matches_every_pytorch_fixture() {
    let mut failures = Vec::new();
    let mut worst = 0f64;
    for &(name, model, input, expected) in FIXTURES {
        let model = Model::from_safetensors_bytes(model, name).unwrap();
        let input = InputFile::from_safetensors_bytes(input, name).unwrap();
        let out = match CpuModel::new(&model).forward(&input.as_forward()) {
            Ok(out) => out,
            Err(e) => {
                failures.push(format!("{name}: {e}"));
                continue;
            }
        };
        let expected = fixtures::expected_from_bytes(expected, name);
        if out.c_n.is_some() != expected.iter().any(|(n, _)| n == "c_n") {
            failures.push(format!("{name}: c_n presence"));
            continue;
        }
        for (tensor, want) in &expected {
            let got = fixtures::result_tensor(&out, tensor);
            match fixtures::max_rel_err(got.shape(), got.data(), want) {
                Ok(err) if err <= TOLERANCE => worst = worst.max(err),
                Ok(err) => failures.push(format!("{name} {tensor}: error {err:e}")),
                Err(e) => failures.push(format!("{name} {tensor}: {e}")),
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
    console_log!(
        "wasm CPU path: {} PyTorch fixtures match within {TOLERANCE:e} (worst {worst:.2e})",
        FIXTURES.len()
    );
}

/// A bad model file: what is wrong, its bytes, and the error it must give.
pub(crate) type BadModel = (&'static str, Vec<u8>, fn(&Error) -> bool);

/// Bad model files, as a page could fetch them: the bytes of a good one cut, corrupted or of the
/// wrong kind. Each is refused with the error a native load gives.
pub(crate) fn bad_model_files() -> Vec<BadModel> {
    let good = FIXTURES.iter().find(|f| f.0 == "lstm_notebook").unwrap().1;
    let header_len = u64::from_le_bytes(good[..8].try_into().unwrap()) as usize;
    let mut huge_header = good.to_vec();
    huge_header[..8].copy_from_slice(&u64::MAX.to_le_bytes());
    let mut bad_json = good.to_vec();
    bad_json[8] = b'[';
    let mut renamed = good.to_vec();
    let at = 8 + find(&renamed[8..8 + header_len], b"weight_hh_l0").unwrap();
    renamed[at..at + 12].copy_from_slice(b"weight_xx_l0");
    let is_file = |e: &Error| matches!(e, Error::BadFile { .. });
    vec![
        ("empty", Vec::new(), is_file),
        (
            "cut in the header",
            good[..8 + header_len / 2].to_vec(),
            is_file,
        ),
        ("cut in the data", good[..good.len() - 5].to_vec(), is_file),
        ("header length 2^64 - 1", huge_header, is_file),
        ("header not a JSON object", bad_json, is_file),
        ("a tensor renamed", renamed, |e| {
            matches!(
                e,
                Error::MissingTensor { .. }
                    | Error::UnexpectedTensor { .. }
                    | Error::BadFile { .. }
            )
        }),
        (
            "a PyTorch zip",
            b"PK\x03\x04archive/data.pkl".to_vec(),
            |e| matches!(e, Error::PyTorchFile { .. }),
        ),
    ]
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

#[wasm_bindgen_test]
fn bad_model_bytes_are_errors() {
    for (what, bytes, expected) in bad_model_files() {
        match Model::from_safetensors_bytes(&bytes, what) {
            Ok(_) => panic!("{what}: loaded"),
            Err(e) => assert!(expected(&e), "{what}: unexpected error {e:?}"),
        }
    }
}
