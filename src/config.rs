//! Module configuration with PyTorch's constructor arguments, validated the way PyTorch validates
//! them, and the sizes every path derives from it.

use std::fmt;

use crate::error::{Error, Result};

/// Which `torch.nn` module a model is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ModuleKind {
    /// `nn.RNN`: `h' = act(W_ih x + b_ih + W_hh h + b_hh)`.
    Rnn,
    /// `nn.LSTM`, gates i, f, g, o, optional projection.
    Lstm,
    /// `nn.GRU`, gates r, z, n.
    Gru,
    /// `nn.RNNCell`: one step of `nn.RNN`.
    RnnCell,
    /// `nn.LSTMCell`: one step of `nn.LSTM` (no projection).
    LstmCell,
    /// `nn.GRUCell`: one step of `nn.GRU`.
    GruCell,
}

/// The recurrence a module computes, shared by a sequence module and its cell.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Family {
    /// Elman RNN, one gate row block.
    Rnn,
    /// LSTM, four gate row blocks i, f, g, o.
    Lstm,
    /// GRU, three gate row blocks r, z, n.
    Gru,
}

impl Family {
    /// Gate row blocks stacked in `weight_ih`/`weight_hh`: 1, 4 or 3.
    pub fn gate_count(self) -> usize {
        match self {
            Family::Rnn => 1,
            Family::Lstm => 4,
            Family::Gru => 3,
        }
    }
}

impl ModuleKind {
    /// All six kinds.
    pub const ALL: [ModuleKind; 6] = [
        ModuleKind::Rnn,
        ModuleKind::Lstm,
        ModuleKind::Gru,
        ModuleKind::RnnCell,
        ModuleKind::LstmCell,
        ModuleKind::GruCell,
    ];

    /// PyTorch's class name: `RNN`, `LSTM`, `GRU`, `RNNCell`, `LSTMCell`, `GRUCell`.
    pub fn name(self) -> &'static str {
        match self {
            ModuleKind::Rnn => "RNN",
            ModuleKind::Lstm => "LSTM",
            ModuleKind::Gru => "GRU",
            ModuleKind::RnnCell => "RNNCell",
            ModuleKind::LstmCell => "LSTMCell",
            ModuleKind::GruCell => "GRUCell",
        }
    }

    /// Parses PyTorch's class name (case-insensitive).
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|k| k.name().eq_ignore_ascii_case(name))
    }

    /// True for the single-step cells.
    pub fn is_cell(self) -> bool {
        matches!(
            self,
            ModuleKind::RnnCell | ModuleKind::LstmCell | ModuleKind::GruCell
        )
    }

    /// The recurrence this kind computes.
    pub fn family(self) -> Family {
        match self {
            ModuleKind::Rnn | ModuleKind::RnnCell => Family::Rnn,
            ModuleKind::Lstm | ModuleKind::LstmCell => Family::Lstm,
            ModuleKind::Gru | ModuleKind::GruCell => Family::Gru,
        }
    }

    /// The sequence kind with `cell`'s family, or the cell kind with a sequence kind's family.
    pub fn with_cell(self, cell: bool) -> Self {
        match (self.family(), cell) {
            (Family::Rnn, false) => ModuleKind::Rnn,
            (Family::Lstm, false) => ModuleKind::Lstm,
            (Family::Gru, false) => ModuleKind::Gru,
            (Family::Rnn, true) => ModuleKind::RnnCell,
            (Family::Lstm, true) => ModuleKind::LstmCell,
            (Family::Gru, true) => ModuleKind::GruCell,
        }
    }
}

impl fmt::Display for ModuleKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The activation of `nn.RNN` / `nn.RNNCell`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Nonlinearity {
    /// `tanh` (PyTorch's default).
    #[default]
    Tanh,
    /// `relu`.
    Relu,
}

impl Nonlinearity {
    /// PyTorch's spelling: `tanh` or `relu`.
    pub fn name(self) -> &'static str {
        match self {
            Nonlinearity::Tanh => "tanh",
            Nonlinearity::Relu => "relu",
        }
    }

    /// Parses `tanh` or `relu`.
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "tanh" => Some(Nonlinearity::Tanh),
            "relu" => Some(Nonlinearity::Relu),
            _ => None,
        }
    }
}

/// A module's constructor arguments, named and defaulted as in PyTorch.
///
/// Build one with [`RnnConfig::new`] (or a shorthand such as [`RnnConfig::lstm`]) and the `with_*`
/// methods; [`RnnConfig::validate`] refuses what PyTorch's constructor refuses.
#[derive(Clone, Debug, PartialEq)]
pub struct RnnConfig {
    /// Which module.
    pub kind: ModuleKind,
    /// Features per input step, `I`.
    pub input_size: usize,
    /// Features of the hidden (and cell) state, `H`.
    pub hidden_size: usize,
    /// Stacked layers `L` (1 for cells).
    pub num_layers: usize,
    /// Activation of RNN/RNNCell; must stay `Tanh` for the other kinds.
    pub nonlinearity: Nonlinearity,
    /// Whether `bias_ih`/`bias_hh` exist.
    pub bias: bool,
    /// Sequence input/output as (N, T, ·) instead of (T, N, ·). States are unaffected.
    pub batch_first: bool,
    /// Dropout between layers in training. Accepted and stored; inference ignores it, as PyTorch's
    /// `eval()` does.
    pub dropout: f64,
    /// Two directions `D = 2` per layer.
    pub bidirectional: bool,
    /// LSTM projection size `P` (0 = none). Then `H_out = P`.
    pub proj_size: usize,
}

impl RnnConfig {
    /// A configuration with PyTorch's defaults for `kind`.
    pub fn new(kind: ModuleKind, input_size: usize, hidden_size: usize) -> Self {
        Self {
            kind,
            input_size,
            hidden_size,
            num_layers: 1,
            nonlinearity: Nonlinearity::Tanh,
            bias: true,
            batch_first: false,
            dropout: 0.0,
            bidirectional: false,
            proj_size: 0,
        }
    }

    /// `nn.RNN(input_size, hidden_size)`.
    pub fn rnn(input_size: usize, hidden_size: usize) -> Self {
        Self::new(ModuleKind::Rnn, input_size, hidden_size)
    }
    /// `nn.LSTM(input_size, hidden_size)`.
    pub fn lstm(input_size: usize, hidden_size: usize) -> Self {
        Self::new(ModuleKind::Lstm, input_size, hidden_size)
    }
    /// `nn.GRU(input_size, hidden_size)`.
    pub fn gru(input_size: usize, hidden_size: usize) -> Self {
        Self::new(ModuleKind::Gru, input_size, hidden_size)
    }
    /// `nn.RNNCell(input_size, hidden_size)`.
    pub fn rnn_cell(input_size: usize, hidden_size: usize) -> Self {
        Self::new(ModuleKind::RnnCell, input_size, hidden_size)
    }
    /// `nn.LSTMCell(input_size, hidden_size)`.
    pub fn lstm_cell(input_size: usize, hidden_size: usize) -> Self {
        Self::new(ModuleKind::LstmCell, input_size, hidden_size)
    }
    /// `nn.GRUCell(input_size, hidden_size)`.
    pub fn gru_cell(input_size: usize, hidden_size: usize) -> Self {
        Self::new(ModuleKind::GruCell, input_size, hidden_size)
    }

    /// Sets `num_layers`.
    pub fn with_num_layers(mut self, num_layers: usize) -> Self {
        self.num_layers = num_layers;
        self
    }
    /// Sets `nonlinearity`.
    pub fn with_nonlinearity(mut self, nonlinearity: Nonlinearity) -> Self {
        self.nonlinearity = nonlinearity;
        self
    }
    /// Sets `bias`.
    pub fn with_bias(mut self, bias: bool) -> Self {
        self.bias = bias;
        self
    }
    /// Sets `batch_first`.
    pub fn with_batch_first(mut self, batch_first: bool) -> Self {
        self.batch_first = batch_first;
        self
    }
    /// Sets `dropout` (a no-op in inference).
    pub fn with_dropout(mut self, dropout: f64) -> Self {
        self.dropout = dropout;
        self
    }
    /// Sets `bidirectional`.
    pub fn with_bidirectional(mut self, bidirectional: bool) -> Self {
        self.bidirectional = bidirectional;
        self
    }
    /// Sets `proj_size` (LSTM only).
    pub fn with_proj_size(mut self, proj_size: usize) -> Self {
        self.proj_size = proj_size;
        self
    }

    /// Refuses what PyTorch's constructor refuses, plus zero sizes.
    pub fn validate(&self) -> Result<()> {
        let bad = |msg: String| Err(Error::InvalidConfig(msg));
        if self.input_size == 0 {
            return bad("input_size must be greater than zero".into());
        }
        if self.hidden_size == 0 {
            return bad("hidden_size must be greater than zero".into());
        }
        if self.num_layers == 0 {
            return bad("num_layers must be greater than zero".into());
        }
        if !(0.0..=1.0).contains(&self.dropout) {
            return bad(format!(
                "dropout should be a number in range [0, 1] representing the probability of an element being zeroed, got {}",
                self.dropout
            ));
        }
        if self.nonlinearity == Nonlinearity::Relu && self.kind.family() != Family::Rnn {
            return bad(format!(
                "nonlinearity=relu applies to RNN and RNNCell only, not {}",
                self.kind
            ));
        }
        if self.proj_size > 0 {
            if self.kind != ModuleKind::Lstm {
                return bad(format!(
                    "proj_size is supported only by LSTM, not {}",
                    self.kind
                ));
            }
            if self.proj_size >= self.hidden_size {
                return bad(format!(
                    "proj_size ({}) has to be smaller than hidden_size ({})",
                    self.proj_size, self.hidden_size
                ));
            }
        }
        if self.kind.is_cell() {
            if self.num_layers != 1 {
                return bad(format!(
                    "{} has no num_layers (got {})",
                    self.kind, self.num_layers
                ));
            }
            if self.bidirectional {
                return bad(format!("{} cannot be bidirectional", self.kind));
            }
            if self.batch_first {
                return bad(format!("{} has no batch_first", self.kind));
            }
            if self.dropout != 0.0 {
                return bad(format!("{} has no dropout", self.kind));
            }
        }
        Ok(())
    }

    /// The recurrence computed.
    pub fn family(&self) -> Family {
        self.kind.family()
    }

    /// Gate row blocks `G`: 1 (RNN), 4 (LSTM), 3 (GRU).
    pub fn gate_count(&self) -> usize {
        self.family().gate_count()
    }

    /// Directions `D`: 2 if bidirectional, else 1.
    pub fn num_directions(&self) -> usize {
        if self.bidirectional { 2 } else { 1 }
    }

    /// Width of `h` and of each direction's output, `H_out`: `proj_size` if set, else `hidden_size`.
    pub fn output_hidden(&self) -> usize {
        if self.proj_size > 0 {
            self.proj_size
        } else {
            self.hidden_size
        }
    }

    /// Input width of layer `layer`: `input_size` for layer 0, `D·H_out` after.
    pub fn layer_input_size(&self, layer: usize) -> usize {
        if layer == 0 {
            self.input_size
        } else {
            self.num_directions() * self.output_hidden()
        }
    }

    /// Number of (layer, direction) parameter groups, `L·D`, indexed `layer*D + direction`.
    pub fn num_groups(&self) -> usize {
        self.num_layers * self.num_directions()
    }

    /// The parameters in PyTorch's `state_dict` order: names and shapes.
    pub fn parameter_specs(&self) -> Vec<(String, Vec<usize>)> {
        let g = self.gate_count() * self.hidden_size;
        let mut specs = Vec::new();
        if self.kind.is_cell() {
            specs.push(("weight_ih".into(), vec![g, self.input_size]));
            specs.push(("weight_hh".into(), vec![g, self.hidden_size]));
            if self.bias {
                specs.push(("bias_ih".into(), vec![g]));
                specs.push(("bias_hh".into(), vec![g]));
            }
            return specs;
        }
        for layer in 0..self.num_layers {
            for dir in 0..self.num_directions() {
                let sfx = if dir == 1 { "_reverse" } else { "" };
                specs.push((
                    format!("weight_ih_l{layer}{sfx}"),
                    vec![g, self.layer_input_size(layer)],
                ));
                specs.push((
                    format!("weight_hh_l{layer}{sfx}"),
                    vec![g, self.output_hidden()],
                ));
                if self.bias {
                    specs.push((format!("bias_ih_l{layer}{sfx}"), vec![g]));
                    specs.push((format!("bias_hh_l{layer}{sfx}"), vec![g]));
                }
                if self.proj_size > 0 {
                    specs.push((
                        format!("weight_hr_l{layer}{sfx}"),
                        vec![self.proj_size, self.hidden_size],
                    ));
                }
            }
        }
        specs
    }
}

/// PyTorch's `repr`, e.g. `RNNCell(5, 7)` or `LSTM(10, 20, num_layers=2, bidirectional=True)`.
impl fmt::Display for RnnConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let py_bool = |b: bool| if b { "True" } else { "False" };
        write!(f, "{}({}, {}", self.kind, self.input_size, self.hidden_size)?;
        if self.kind.is_cell() {
            if !self.bias {
                write!(f, ", bias=False")?;
            }
            if self.nonlinearity != Nonlinearity::Tanh {
                write!(f, ", nonlinearity={}", self.nonlinearity.name())?;
            }
            return write!(f, ")");
        }
        if self.proj_size != 0 {
            write!(f, ", proj_size={}", self.proj_size)?;
        }
        if self.num_layers != 1 {
            write!(f, ", num_layers={}", self.num_layers)?;
        }
        // PyTorch's RNN repr leaves the nonlinearity out; so do we.
        if !self.bias {
            write!(f, ", bias={}", py_bool(self.bias))?;
        }
        if self.batch_first {
            write!(f, ", batch_first={}", py_bool(self.batch_first))?;
        }
        if self.dropout != 0.0 {
            write!(f, ", dropout={:?}", self.dropout)?;
        }
        if self.bidirectional {
            write!(f, ", bidirectional={}", py_bool(self.bidirectional))?;
        }
        write!(f, ")")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
