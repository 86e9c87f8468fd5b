//! The library in a browser: wasm32 in headless Chromium on WebGPU (SwiftShader), run by `.ci/run`
//! through wasm-bindgen-test:
//!
//! ```sh
//! CHROMEDRIVER=/usr/bin/chromedriver cargo test --release --target wasm32-unknown-unknown --test browser
//! ```
//!
//! (`.cargo/config.toml` makes `wasm-bindgen-test-runner` the runner; `webdriver.json` gives the
//! browser and its flags.) Every PyTorch fixture is embedded in the test binary; natively this file
//! only checks that the embedded list names every fixture in `tests/fixtures/`.

#[path = "common/fixtures.rs"]
mod fixtures;

/// Every forward fixture's name, and on wasm the fixtures' bytes (`NAME.model.safetensors`,
/// `NAME.input.safetensors`, `NAME.expected.safetensors`).
macro_rules! embedded {
    ($($name:literal)*) => {
        /// The names of the embedded fixtures.
        #[cfg(not(target_arch = "wasm32"))]
        const NAMES: &[&str] = &[$($name),*];

        /// The embedded fixtures: (name, model, input, expected) bytes.
        #[cfg(target_arch = "wasm32")]
        const FIXTURES: &[(&str, &[u8], &[u8], &[u8])] = &[$((
            $name,
            include_bytes!(concat!("fixtures/", $name, ".model.safetensors")),
            include_bytes!(concat!("fixtures/", $name, ".input.safetensors")),
            include_bytes!(concat!("fixtures/", $name, ".expected.safetensors")),
        )),*];
    };
}

embedded! {
    "gru_batch_first" "gru_bidir" "gru_bidir_l3" "gru_l1" "gru_l2" "gru_l3" "gru_large"
    "gru_lengths" "gru_lengths_bidir" "gru_lengths_int32" "gru_lengths_short" "gru_long" "gru_mid"
    "gru_nan" "gru_nobias" "gru_nometa" "gru_nostate" "gru_tiny" "gru_unbatched"
    "gru_unbatched_nostate" "grucell_batched" "grucell_nobias" "grucell_nostate" "grucell_tiny"
    "grucell_unbatched" "lstm_batch_first" "lstm_bidir" "lstm_bidir_l2" "lstm_l1" "lstm_l2_dropout"
    "lstm_l3" "lstm_large" "lstm_lengths" "lstm_lengths_bidir" "lstm_lengths_short_bf" "lstm_long"
    "lstm_mid" "lstm_nan" "lstm_nobias" "lstm_nometa" "lstm_nostate" "lstm_notebook" "lstm_proj"
    "lstm_proj_bidir_lengths" "lstm_proj_l2_bidir_bf" "lstm_proj_nometa" "lstm_proj_nostate"
    "lstm_proj_unbatched" "lstm_tiny" "lstm_unbatched" "lstm_unbatched_nostate" "lstmcell_batched"
    "lstmcell_nobias" "lstmcell_nometa" "lstmcell_nostate" "lstmcell_notebook" "lstmcell_unbatched"
    "rnn_batch_first" "rnn_bidir" "rnn_bidir_l2_batch_first" "rnn_lengths"
    "rnn_lengths_batch_first" "rnn_lengths_bidir" "rnn_mid" "rnn_nobias" "rnn_nometa" "rnn_nostate"
    "rnn_notebook" "rnn_relu_bidir_l2" "rnn_relu_l1" "rnn_relu_l2" "rnn_relu_l3" "rnn_relu_large"
    "rnn_tanh_l1" "rnn_tanh_l2" "rnn_tanh_l3" "rnn_tanh_large" "rnn_tiny" "rnn_unbatched"
    "rnn_unbatched_batch_first" "rnn_unbatched_nostate" "rnncell_batched" "rnncell_nobias"
    "rnncell_nostate" "rnncell_notebook" "rnncell_relu" "rnncell_relu_unbatched"
    "rnncell_unbatched"
}

/// A new fixture must be embedded here too, or the browser would silently skip it.
#[cfg(not(target_arch = "wasm32"))]
#[test]
fn the_browser_tests_embed_every_fixture() {
    let on_disk: Vec<String> = fixtures::all().into_iter().map(|f| f.name).collect();
    assert_eq!(
        NAMES, on_disk,
        "add the new fixtures to embedded! in tests/browser.rs"
    );
}

#[cfg(target_arch = "wasm32")]
wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_browser);

/// The fast CPU path in wasm (the demo page's fallback without WebGPU), and model files from bytes.
#[cfg(target_arch = "wasm32")]
#[path = "browser/cpu.rs"]
mod cpu;

/// WebGPU in the browser: an adapter must be there (a browser without one fails, never skips).
#[cfg(target_arch = "wasm32")]
#[path = "browser/gpu.rs"]
mod gpu;
