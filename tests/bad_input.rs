//! Every bad model file and input file gets the typed error it deserves, never a panic.

mod common;

use wgpu_rnn::{CpuModel, InputFile, Model};

/// Every bad case fails with the same error on the reference and on the fast CPU path.
#[test]
fn every_bad_case_is_a_typed_error() {
    let dir = tempdir("lib");
    let cases = common::bad_files::cases(&dir);
    assert!(cases.len() >= 25);
    for case in &cases {
        let run = |fast: bool| {
            Model::load(&case.model).and_then(|m| {
                let input = InputFile::load(&case.input)?;
                match fast {
                    true => CpuModel::new(&m).forward(&input.as_forward()),
                    false => m.forward_reference(&input.as_forward()),
                }
            })
        };
        let result = run(false);
        assert_eq!(
            run(true).err().map(|e| e.to_string()),
            result.as_ref().err().map(|e| e.to_string()),
            "{}: the fast CPU path differs",
            case.name
        );
        match result {
            Ok(_) => panic!("{}: accepted", case.name),
            Err(e) => {
                assert!((case.expect)(&e), "{}: unexpected error {e:?}", case.name);
                let message = e.to_string();
                assert!(
                    !message.contains('\n'),
                    "{}: multi-line message {message:?}",
                    case.name
                );
            }
        }
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn the_good_files_behind_the_bad_cases_run() {
    let dir = tempdir("good");
    let model = common::bad_files::base_model(&dir);
    let input = dir.join("in.safetensors");
    common::bad_files::write(&input, &common::bad_files::base_inputs(), None);
    let out = Model::load(&model)
        .unwrap()
        .forward_reference(&InputFile::load(&input).unwrap().as_forward())
        .unwrap();
    assert_eq!(out.output.shape(), &[5, 2, 4]);
    // Row 1 has length 3: its steps 3 and 4 are zero, its step 2 is not.
    let row = |t: usize| &out.output.data()[(t * 2 + 1) * 4..][..4];
    assert!(row(3).iter().chain(row(4)).all(|&v| v == 0.0));
    assert!(row(2).iter().any(|&v| v != 0.0));
    std::fs::remove_dir_all(&dir).unwrap();
}

fn tempdir(tag: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("wgpu-rnn-bad-{tag}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The library API refuses lengths of the wrong count, zero or beyond T, and c0 for a GRU.
#[test]
fn forward_arguments_are_checked_against_the_model() {
    use rand::SeedableRng;
    use wgpu_rnn::{Error, ForwardInput, RnnConfig, Tensor};
    let mut rng = rand::rngs::StdRng::seed_from_u64(9);
    let gru = Model::new(RnnConfig::gru(3, 4), &mut rng).unwrap();
    let x = Tensor::new([4, 2, 3], (0..24).map(|v| v as f32 / 10.0).collect()).unwrap();
    let run = |args: ForwardInput<'_>| gru.forward_reference(&args).unwrap_err();
    assert!(matches!(
        run(ForwardInput::new(&x).with_lengths(&[4, 0])),
        Error::BadLength {
            index: 1,
            value: 0,
            min: 1,
            max: 4
        }
    ));
    assert!(matches!(
        run(ForwardInput::new(&x).with_lengths(&[5, 1])),
        Error::BadLength {
            index: 0,
            value: 5,
            min: 1,
            max: 4
        }
    ));
    assert!(matches!(
        run(ForwardInput::new(&x).with_lengths(&[4])),
        Error::ShapeMismatch { .. }
    ));
    let c0 = Tensor::zeros([1, 2, 4]);
    assert!(matches!(
        run(ForwardInput::new(&x).with_c0(&c0)),
        Error::UnexpectedTensor { .. }
    ));
    let empty = Tensor::zeros([0, 2, 3]);
    assert!(matches!(
        run(ForwardInput::new(&empty)),
        Error::ShapeMismatch { .. }
    ));
    let cell = Model::new(RnnConfig::gru_cell(3, 4), &mut rng).unwrap();
    let xc = Tensor::zeros([2, 3]);
    assert!(matches!(
        cell.forward_reference(&ForwardInput::new(&xc).with_lengths(&[1, 1])),
        Err(Error::UnexpectedTensor { .. })
    ));
}

/// A call whose working memory exceeds the host's is refused with the figure, before allocating:
/// a 4 MB input of width 1 through LSTM(1, 4000) would need ~2.5 TB.
#[test]
fn a_forward_larger_than_host_memory_is_refused_up_front() {
    use wgpu_rnn::{Error, ForwardInput, RnnConfig, Tensor};
    // A model with a wide hidden state; weights of zeros are enough here.
    let wide = RnnConfig::lstm(1, 4000);
    let dict = wide
        .parameter_specs()
        .into_iter()
        .map(|(n, s)| (n, Tensor::zeros(s)))
        .collect();
    let model = Model::from_state_dict(wide, dict).unwrap();
    let x = Tensor::zeros([1_000_000, 1, 1]);
    match model.forward_reference(&ForwardInput::new(&x)) {
        Err(Error::TooLarge { bytes, limit, .. }) => {
            assert!(bytes > 100_000_000_000, "{bytes}");
            assert!(limit < bytes);
            let message = model
                .forward_reference(&ForwardInput::new(&x))
                .unwrap_err()
                .to_string();
            assert!(message.contains(&bytes.to_string()), "{message}");
        }
        other => panic!("expected TooLarge, got {other:?}"),
    }
    // The fast CPU path refuses it too, naming itself.
    match CpuModel::new(&model).forward(&ForwardInput::new(&x)) {
        Err(e @ Error::TooLarge { .. }) => assert!(e.to_string().contains("fast CPU"), "{e}"),
        other => panic!("expected TooLarge, got {other:?}"),
    }
    // The same model on a short input runs.
    let short = Tensor::zeros([2, 1, 1]);
    assert!(model.forward_reference(&ForwardInput::new(&short)).is_ok());
    assert!(
        CpuModel::new(&model)
            .forward(&ForwardInput::new(&short))
            .is_ok()
    );
}
