//! Fuzzes model-file loading: any bytes must give a model or a typed error, never a panic; a model
//! that loads must run a small forward.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wgpu_rnn::{ForwardInput, Model, Tensor};

fuzz_target!(|bytes: &[u8]| {
    let Ok(model) = Model::from_safetensors_bytes(bytes, "fuzz") else {
        return;
    };
    let config = model.config();
    let shape = if config.kind.is_cell() {
        vec![2, config.input_size]
    } else if config.batch_first {
        vec![2, 3, config.input_size]
    } else {
        vec![3, 2, config.input_size]
    };
    let n: usize = shape.iter().product();
    let x = Tensor::new(shape, (0..n).map(|i| (i % 7) as f32 - 3.0).collect()).unwrap();
    let out = model.forward_reference(&ForwardInput::new(&x)).expect("a loaded model runs");
    assert_eq!(out.h_n.shape().last(), Some(&config.output_hidden()));
});
