//! Tests of the configuration: PyTorch's repr, its refusals and parameter shapes, and the
//! semantics beyond PyTorch's.

use super::*;
use crate::activation::{Activation, Activations};

#[test]
fn repr_matches_pytorch() {
    assert_eq!(RnnConfig::rnn_cell(5, 7).to_string(), "RNNCell(5, 7)");
    assert_eq!(
        RnnConfig::lstm(10, 20)
            .with_num_layers(2)
            .with_bidirectional(true)
            .to_string(),
        "LSTM(10, 20, num_layers=2, bidirectional=True)"
    );
    assert_eq!(
        RnnConfig::lstm(3, 8)
            .with_proj_size(4)
            .with_bias(false)
            .with_batch_first(true)
            .with_dropout(0.5)
            .to_string(),
        "LSTM(3, 8, proj_size=4, bias=False, batch_first=True, dropout=0.5)"
    );
    assert_eq!(
        RnnConfig::rnn(3, 4)
            .with_nonlinearity(Nonlinearity::Relu)
            .with_num_layers(2)
            .with_bias(false)
            .with_batch_first(true)
            .with_dropout(0.5)
            .with_bidirectional(true)
            .to_string(),
        "RNN(3, 4, num_layers=2, bias=False, batch_first=True, dropout=0.5, bidirectional=True)"
    );
    assert_eq!(
        RnnConfig::rnn_cell(2, 3)
            .with_nonlinearity(Nonlinearity::Relu)
            .with_bias(false)
            .to_string(),
        "RNNCell(2, 3, bias=False, nonlinearity=relu)"
    );
}

#[test]
fn refuses_what_pytorch_refuses() {
    let refused = [
        RnnConfig::lstm(0, 4),
        RnnConfig::lstm(4, 0),
        RnnConfig::lstm(4, 4).with_num_layers(0),
        RnnConfig::lstm(4, 4).with_proj_size(4),
        RnnConfig::lstm(4, 4).with_proj_size(9),
        RnnConfig::gru(4, 4).with_proj_size(2),
        RnnConfig::rnn(4, 4).with_proj_size(2),
        RnnConfig::lstm(4, 4).with_dropout(1.5),
        RnnConfig::lstm(4, 4).with_dropout(-0.1),
        RnnConfig::gru(4, 4).with_nonlinearity(Nonlinearity::Relu),
        RnnConfig::lstm_cell(4, 4).with_num_layers(2),
        RnnConfig::gru_cell(4, 4).with_bidirectional(true),
    ];
    for config in refused {
        assert!(
            matches!(config.validate(), Err(Error::InvalidConfig(_))),
            "{config:?} was accepted"
        );
    }
    RnnConfig::lstm(4, 5).with_proj_size(4).validate().unwrap();
    RnnConfig::rnn(4, 5)
        .with_nonlinearity(Nonlinearity::Relu)
        .with_dropout(1.0)
        .validate()
        .unwrap();
}

#[test]
fn parameter_shapes_follow_pytorch() {
    let config = RnnConfig::lstm(3, 8)
        .with_proj_size(5)
        .with_num_layers(2)
        .with_bidirectional(true);
    let specs = config.parameter_specs();
    assert_eq!(specs.len(), 2 * 2 * 5);
    assert_eq!(specs[0], ("weight_ih_l0".to_string(), vec![32, 3]));
    assert_eq!(specs[1], ("weight_hh_l0".to_string(), vec![32, 5]));
    assert_eq!(specs[4], ("weight_hr_l0".to_string(), vec![5, 8]));
    assert_eq!(specs[5], ("weight_ih_l0_reverse".to_string(), vec![32, 3]));
    assert_eq!(specs[10], ("weight_ih_l1".to_string(), vec![32, 10]));
}

#[test]
fn beyond_pytorch_defaults_are_pytorch() {
    for kind in ModuleKind::ALL {
        let config = RnnConfig::new(kind, 3, 4);
        assert!(config.is_pytorch());
        assert_eq!(
            config.activations(0),
            Activations::pytorch(kind.family(), Nonlinearity::Tanh)
        );
        assert!(!config.is_reversed(0));
    }
    let relu = RnnConfig::rnn(3, 4).with_nonlinearity(Nonlinearity::Relu);
    assert_eq!(relu.activations(0).candidate, Activation::Relu);
    assert!(RnnConfig::gru(3, 4).with_bidirectional(true).is_reversed(1));
    assert!(RnnConfig::gru(3, 4).with_reverse(true).is_reversed(0));
}

#[test]
fn refuses_inapplicable_semantics() {
    let elu = Activation::Elu { alpha: 0.5 };
    let lstm_acts = Activations {
        gate: Activation::HardSigmoid {
            alpha: 0.2,
            beta: 0.5,
        },
        candidate: elu,
        cell: Activation::Softsign,
    };
    let refused = [
        RnnConfig::gru(3, 4).with_peepholes(true),
        RnnConfig::rnn(3, 4).with_coupled_forget(true),
        RnnConfig::lstm(3, 4).with_reset_after(false),
        RnnConfig::lstm(3, 4)
            .with_reverse(true)
            .with_bidirectional(true),
        RnnConfig::gru_cell(3, 4).with_reverse(true),
        RnnConfig::gru_cell(3, 4).with_lengths(LengthRule::Padded),
        RnnConfig::lstm(3, 4).with_clip(Some(-1.0)),
        RnnConfig::lstm(3, 4).with_clip(Some(f32::NAN)),
        // One entry per direction.
        RnnConfig::lstm(3, 4)
            .with_bidirectional(true)
            .with_activations(vec![lstm_acts]),
        // A GRU has no cell activation.
        RnnConfig::gru(3, 4).with_activations(vec![lstm_acts]),
        RnnConfig::rnn(3, 4)
            .with_nonlinearity(Nonlinearity::Relu)
            .with_activations(vec![Activations::pytorch(Family::Rnn, Nonlinearity::Tanh)]),
        RnnConfig::lstm(3, 4).with_activations(vec![Activations {
            gate: Activation::LeakyRelu { alpha: f32::NAN },
            ..lstm_acts
        }]),
    ];
    for config in refused {
        assert!(
            matches!(config.validate(), Err(Error::InvalidConfig(_))),
            "{config:?} was accepted"
        );
    }
    let accepted = RnnConfig::lstm(3, 4)
        .with_bidirectional(true)
        .with_activations(vec![
            lstm_acts,
            Activations::pytorch(Family::Lstm, Nonlinearity::Tanh),
        ])
        .with_peepholes(true)
        .with_coupled_forget(true)
        .with_clip(Some(0.0))
        .with_lengths(LengthRule::Padded);
    accepted.validate().unwrap();
    assert!(!accepted.is_pytorch());
    assert_eq!(
        accepted.to_string(),
        "LSTM(3, 4, bidirectional=True, peepholes=True, coupled_forget=True, clip=0.0, lengths=padded, \
         activations=[(HardSigmoid(alpha=0.2, beta=0.5), Elu(alpha=0.5), Softsign), (Sigmoid, Tanh, Tanh)])"
    );
    assert_eq!(
        RnnConfig::gru(2, 3)
            .with_reset_after(false)
            .with_reverse(true)
            .to_string(),
        "GRU(2, 3, reverse=True, reset_after=False)"
    );
    let specs = RnnConfig::lstm(3, 4).with_peepholes(true).parameter_specs();
    assert_eq!(specs[4], ("peephole_l0".to_string(), vec![12]));
}
