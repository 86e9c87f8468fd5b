//! The seed notebook's cells in Rust: RNNCell, RNN, LSTMCell and LSTM with PyTorch's shapes.
//!
//! Run with `cargo run --release --example notebook`.

use wgpu_rnn::rand::{self, SeedableRng};
use wgpu_rnn::{ForwardInput, Model, RnnConfig, Tensor};

/// `torch.rand(shape)`: uniform in [0, 1).
fn rand(rng: &mut impl rand::Rng, shape: &[usize]) -> Tensor {
    let n = shape.iter().product();
    Tensor::new(shape, (0..n).map(|_| rng.random::<f32>()).collect()).expect("numel matches")
}

/// `torch.randn(shape)`: standard normal (Box-Muller).
fn randn(rng: &mut impl rand::Rng, shape: &[usize]) -> Tensor {
    let n = shape.iter().product();
    let normal = |rng: &mut dyn rand::RngCore| {
        let (u, v): (f64, f64) = (rand::Rng::random(rng), rand::Rng::random(rng));
        ((-2.0 * (1.0 - u).ln()).sqrt() * (std::f64::consts::TAU * v).cos()) as f32
    };
    Tensor::new(shape, (0..n).map(|_| normal(rng)).collect()).expect("numel matches")
}

/// Prints a matrix like PyTorch's `print(tensor)`, 4 decimals.
fn print_tensor(name: &str, t: &Tensor) {
    let cols = *t.shape().last().unwrap_or(&1);
    println!("{name} {:?}:", t.shape());
    for row in t.data().chunks(cols) {
        let cells: Vec<String> = row.iter().map(|v| format!("{v:7.4}")).collect();
        println!("  [{}]", cells.join(", "));
    }
}

fn main() -> std::process::ExitCode {
    match run() {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn run() -> Result<(), wgpu_rnn::Error> {
    let mut rng = rand::rngs::StdRng::seed_from_u64(2021);

    // In [2]-[4]: rnn_cell = nn.RNNCell(input_size=5, hidden_size=7); its weights.
    let rnn_cell = Model::new(RnnConfig::rnn_cell(5, 7), &mut rng)?;
    println!("{rnn_cell}");
    for (name, tensor) in rnn_cell.state_dict() {
        print_tensor(&name, tensor);
    }

    // In [6]: rnn_cell(torch.rand(1, 5), torch.randn(1, 7)).
    let input = rand(&mut rng, &[1, 5]);
    let hidden = randn(&mut rng, &[1, 7]);
    let out = rnn_cell.forward_reference(&ForwardInput::new(&input).with_h0(&hidden))?;
    print_tensor("rnn_cell(Input, Hidden)", &out.output);

    // In [7]-[10]: nn.RNN(5, 7) on a (3, 2, 5) input with a (1, 2, 7) h0.
    let rnn = Model::new(RnnConfig::rnn(5, 7), &mut rng)?;
    println!("{rnn}");
    let input = rand(&mut rng, &[3, 2, 5]);
    let hidden_0 = randn(&mut rng, &[1, 2, 7]);
    let out = rnn.forward_reference(&ForwardInput::new(&input).with_h0(&hidden_0))?;
    println!("Output.size() = {:?}", out.output.shape());
    println!("Hidden_1.size() = {:?}", out.h_n.shape());

    // In [11]-[13]: nn.LSTMCell(5, 7) on (1, 5) with (h0, c0) of (1, 7).
    let lstm_cell = Model::new(RnnConfig::lstm_cell(5, 7), &mut rng)?;
    println!("{lstm_cell}");
    let input = rand(&mut rng, &[1, 5]);
    let (h0, c0) = (randn(&mut rng, &[1, 7]), randn(&mut rng, &[1, 7]));
    let out = lstm_cell.forward_reference(&ForwardInput::new(&input).with_h0(&h0).with_c0(&c0))?;
    print_tensor("lstm_cell(Input, (H_0, C_0)) h", &out.h_n);
    print_tensor(
        "lstm_cell(Input, (H_0, C_0)) c",
        out.c_n.as_ref().expect("LSTMCell has c"),
    );

    // In [14]-[17]: nn.LSTM(5, 7) on (3, 2, 5) with h0, c0 of (1, 2, 7).
    let lstm = Model::new(RnnConfig::lstm(5, 7), &mut rng)?;
    println!("{lstm}");
    let input = rand(&mut rng, &[3, 2, 5]);
    let (h0, c0) = (randn(&mut rng, &[1, 2, 7]), randn(&mut rng, &[1, 2, 7]));
    let out = lstm.forward_reference(&ForwardInput::new(&input).with_h0(&h0).with_c0(&c0))?;
    println!("Output.size() = {:?}", out.output.shape());
    println!("H_1.size() = {:?}", out.h_n.shape());
    println!(
        "C_1.size() = {:?}",
        out.c_n.as_ref().expect("LSTM has c_n").shape()
    );
    Ok(())
}
