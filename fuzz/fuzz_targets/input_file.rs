//! Fuzzes input-file loading: any bytes must give inputs or a typed error, never a panic; inputs
//! that load are run through an LSTM and a GRUCell of the matching width, which must either run or
//! refuse with a typed error.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rand::SeedableRng;
use wgpu_rnn::{InputFile, Model, RnnConfig};

fuzz_target!(|bytes: &[u8]| {
    let Ok(input) = InputFile::from_safetensors_bytes(bytes, "fuzz") else {
        return;
    };
    let width = input.input.shape().last().copied().unwrap_or(1).clamp(1, 64);
    let mut rng = rand::rngs::StdRng::seed_from_u64(0);
    for config in [
        RnnConfig::lstm(width, 3).with_num_layers(2).with_bidirectional(true),
        RnnConfig::gru_cell(width, 4),
    ] {
        let model = Model::new(config, &mut rng).unwrap();
        let _ = model.forward_reference(&input.as_forward());
    }
});
