//! A small, deterministic cousin of the fuzz targets in `fuzz/` that runs in CI: every fixture's
//! model and input file, mutated (bytes flipped, header digits changed, truncated, extended), must
//! load or be refused with a typed error; never a panic. What loads must run.

mod common;

use rand::{Rng, SeedableRng};
use wgpu_rnn::{ForwardInput, InputFile, Model, RnnConfig, Tensor};

fn mutate(rng: &mut impl Rng, bytes: &[u8]) -> Vec<u8> {
    let mut b = bytes.to_vec();
    match rng.random_range(0..5) {
        0 => {
            for _ in 0..rng.random_range(1..4) {
                let i = rng.random_range(0..b.len());
                b[i] ^= 1 << rng.random_range(0..8);
            }
        }
        1 => {
            // Change a digit inside the JSON header: shapes and offsets.
            let header_end =
                (8 + u64::from_le_bytes(b[..8].try_into().unwrap()) as usize).min(b.len());
            let digits: Vec<usize> = (8..header_end).filter(|&i| b[i].is_ascii_digit()).collect();
            if let Some(&i) = digits.get(rng.random_range(0..digits.len().max(1))) {
                b[i] = b'0' + rng.random_range(0..10);
            }
        }
        2 => b.truncate(rng.random_range(0..b.len())),
        3 => b.extend((0..rng.random_range(1..64)).map(|_| rng.random::<u8>())),
        _ => {
            // The header length itself.
            let i = rng.random_range(0..8);
            b[i] = rng.random();
        }
    }
    b
}

#[test]
fn mutated_files_load_or_are_refused_never_panic() {
    let mut rng = rand::rngs::StdRng::seed_from_u64(31);
    let (mut models_loaded, mut inputs_loaded, mut refused) = (0, 0, 0);
    for case in common::fixtures::all() {
        let model_bytes = std::fs::read(&case.model).unwrap();
        let input_bytes = std::fs::read(&case.input).unwrap();
        for _ in 0..40 {
            match Model::from_safetensors_bytes(&mutate(&mut rng, &model_bytes), &case.name) {
                Ok(model) => {
                    models_loaded += 1;
                    let c = model.config();
                    let shape = match (c.kind.is_cell(), c.batch_first) {
                        (true, _) => vec![2, c.input_size],
                        (false, true) => vec![2, 3, c.input_size],
                        (false, false) => vec![3, 2, c.input_size],
                    };
                    let x = Tensor::zeros(shape);
                    model.forward_reference(&ForwardInput::new(&x)).unwrap();
                }
                Err(e) => {
                    refused += 1;
                    assert!(!e.to_string().contains('\n'));
                }
            }
            match InputFile::from_safetensors_bytes(&mutate(&mut rng, &input_bytes), &case.name) {
                Ok(input) => {
                    inputs_loaded += 1;
                    let width = input
                        .input
                        .shape()
                        .last()
                        .copied()
                        .unwrap_or(1)
                        .clamp(1, 64);
                    let model = Model::new(RnnConfig::lstm(width, 3), &mut rng).unwrap();
                    let _ = model.forward_reference(&input.as_forward());
                }
                Err(_) => refused += 1,
            }
        }
    }
    eprintln!(
        "{models_loaded} mutated models and {inputs_loaded} inputs loaded, {refused} refused"
    );
    assert!(refused > 1000 && models_loaded > 100 && inputs_loaded > 100);
}
