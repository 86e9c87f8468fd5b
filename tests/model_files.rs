//! Model files: round trips, inference of the configuration from tensors alone, and every
//! accepted element type.

mod common;

use std::collections::HashMap;

use common::bad_files::{Raw, write};
use rand::{Rng, SeedableRng};
use safetensors::Dtype;
use wgpu_rnn::{Model, ModuleKind, Nonlinearity, RnnConfig};

fn random_config(rng: &mut impl Rng) -> RnnConfig {
    let kind = ModuleKind::ALL[rng.random_range(0..6)];
    let mut c = RnnConfig::new(kind, rng.random_range(1..20), rng.random_range(2..20));
    c.bias = rng.random_bool(0.7);
    if !kind.is_cell() {
        c.num_layers = rng.random_range(1..4);
        c.bidirectional = rng.random_bool(0.5);
        c.batch_first = rng.random_bool(0.5);
        c.dropout = if rng.random_bool(0.3) { 0.25 } else { 0.0 };
    }
    if kind == ModuleKind::Lstm && rng.random_bool(0.5) {
        c.proj_size = rng.random_range(1..c.hidden_size);
    }
    if kind.family() == wgpu_rnn::Family::Rnn && rng.random_bool(0.5) {
        c.nonlinearity = Nonlinearity::Relu;
    }
    c
}

/// The model's tensors converted to `dtype` by `convert`, with no metadata.
fn tensors_as(model: &Model, dtype: Dtype, convert: fn(f32) -> Vec<u8>) -> Vec<Raw> {
    model
        .state_dict()
        .into_iter()
        .map(|(name, t)| {
            let name: &'static str = Box::leak(name.into_boxed_str());
            let bytes = t.data().iter().flat_map(|&v| convert(v)).collect();
            (name, dtype, t.shape().to_vec(), bytes)
        })
        .collect()
}

#[test]
fn save_then_load_round_trips_random_configurations() {
    let seed: u64 = rand::random();
    eprintln!("seed {seed}");
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let dir = std::env::temp_dir().join(format!("wgpu-rnn-files-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for case in 0..60 {
        let config = random_config(&mut rng);
        let model = Model::new(config.clone(), &mut rng).unwrap();
        let path = dir.join(format!("{case}.safetensors"));
        model.save(&path).unwrap();
        assert_eq!(Model::load(&path).unwrap(), model, "{config:?}");

        // Without metadata: everything but nonlinearity, batch_first and dropout is inferred.
        write(
            &path,
            &tensors_as(&model, Dtype::F32, |v| v.to_le_bytes().to_vec()),
            None,
        );
        let inferred = Model::load(&path).unwrap();
        let mut expected = config.clone();
        expected.nonlinearity = Nonlinearity::Tanh;
        expected.batch_first = false;
        expected.dropout = 0.0;
        assert_eq!(inferred.config(), &expected, "seed {seed} case {case}");
        assert_eq!(inferred.state_dict(), model.state_dict());

        // F64, F16 and BF16 load as their values converted to f32.
        let as_f64 = tensors_as(&model, Dtype::F64, |v| (v as f64).to_le_bytes().to_vec());
        write(&path, &as_f64, None);
        assert_eq!(Model::load(&path).unwrap().state_dict(), model.state_dict());
        for (dtype, convert, to_f32) in [
            (
                Dtype::F16,
                (|v| half::f16::from_f32(v).to_le_bytes().to_vec()) as fn(f32) -> Vec<u8>,
                (|v| half::f16::from_f32(v).to_f32()) as fn(f32) -> f32,
            ),
            (
                Dtype::BF16,
                |v| half::bf16::from_f32(v).to_le_bytes().to_vec(),
                |v| half::bf16::from_f32(v).to_f32(),
            ),
        ] {
            write(&path, &tensors_as(&model, dtype, convert), None);
            let loaded = Model::load(&path).unwrap();
            for ((n, got), (_, want)) in loaded.state_dict().iter().zip(model.state_dict()) {
                let rounded: Vec<f32> = want.data().iter().map(|&v| to_f32(v)).collect();
                assert_eq!(got.data(), rounded.as_slice(), "{n} as {dtype:?}");
                assert_ne!(
                    got.data(),
                    want.data(),
                    "{n}: {dtype:?} rounding should show"
                );
            }
        }
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn metadata_supplies_what_tensors_cannot_tell() {
    let mut rng = rand::rngs::StdRng::seed_from_u64(4);
    let config = RnnConfig::rnn(3, 5)
        .with_nonlinearity(Nonlinearity::Relu)
        .with_batch_first(true)
        .with_num_layers(2)
        .with_dropout(0.5);
    let model = Model::new(config.clone(), &mut rng).unwrap();
    let dir = std::env::temp_dir().join(format!("wgpu-rnn-meta-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("m.safetensors");
    let tensors = tensors_as(&model, Dtype::F32, |v| v.to_le_bytes().to_vec());
    let meta: HashMap<String, String> = [
        ("nonlinearity", "relu"),
        ("batch_first", "true"),
        ("dropout", "0.5"),
        ("format", "pt"), // unknown keys (as other tools write) are ignored
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    write(&path, &tensors, Some(meta));
    assert_eq!(Model::load(&path).unwrap().config(), &config);

    for (key, value) in [
        ("hidden_size", "6"),
        ("num_layers", "3"),
        ("bidirectional", "true"),
        ("bias", "false"),
        ("nonlinearity", "sigmoid"),
        ("dropout", "2"),
        ("input_size", "three"),
        ("module", "Transformer"),
    ] {
        let meta = HashMap::from([(key.to_string(), value.to_string())]);
        write(&path, &tensors, Some(meta));
        match Model::load(&path) {
            Err(wgpu_rnn::Error::BadMetadata { key: k, .. }) => assert_eq!(k, key),
            other => panic!("{key}={value}: {other:?}"),
        }
    }
    std::fs::remove_dir_all(&dir).unwrap();
}
