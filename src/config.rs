//! Module configuration with PyTorch's constructor arguments, validated the way PyTorch validates
//! them, and the sizes every path derives from it.
//!
//! Beyond PyTorch, the configuration also carries the semantics ONNX's `LSTM`, `GRU` and `RNN`
//! operators add (see "Semantics beyond PyTorch" on [`RnnConfig`]); their defaults are PyTorch's,
//! so a PyTorch module's configuration computes exactly what it always did.

use std::fmt;

use crate::activation::{Activation, Activations};
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

/// How per-row sequence lengths are read and what the output of a call with lengths holds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum LengthRule {
    /// PyTorch's `pack_padded_sequence(.., enforce_sorted=False)` then `pad_packed_sequence`:
    /// every length in 1..=T; the output has max(lengths) steps, 0 past a row's length; `h_n`
    /// (`c_n`) is a row's state after its last valid step; the reverse direction of a row starts
    /// at its last valid step.
    #[default]
    Packed,
    /// ONNX's `sequence_lens`, as onnxruntime computes it: the same, except that the output always
    /// has T steps and a length may be 0, giving that row an output of 0 and `h_n` (`c_n`) of 0
    /// (not its initial state).
    Padded,
}

/// A module's constructor arguments, named and defaulted as in PyTorch.
///
/// Build one with [`RnnConfig::new`] (or a shorthand such as [`RnnConfig::lstm`]) and the `with_*`
/// methods; [`RnnConfig::validate`] refuses what PyTorch's constructor refuses.
///
/// # Semantics beyond PyTorch
/// The fields after `proj_size` express what ONNX's operators can and PyTorch's modules cannot.
/// Their defaults ([`RnnConfig::new`]) are PyTorch's; each `with_*` documents its equation:
/// - `activations`: per-direction activation functions ([`Activations`]);
/// - `clip`: gate pre-activations clamped to `[-clip, clip]`;
/// - `peepholes` (LSTM): `i`, `f` see `c_{t-1}`, `o` sees `c_t` through per-unit weights;
/// - `coupled_forget` (LSTM): `f = 1 − i`;
/// - `reset_after` (GRU): where the reset gate applies (PyTorch: after `W_hn h + b_hn`);
/// - `reverse`: the single direction runs from the last step to the first;
/// - `lengths`: [`LengthRule::Packed`] (PyTorch) or [`LengthRule::Padded`] (ONNX).
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
    /// Per-direction activations (one entry per direction), or empty for PyTorch's
    /// ([`Activations::pytorch`] of `nonlinearity`). Read them through [`RnnConfig::activations`].
    pub activations: Vec<Activations>,
    /// Every gate pre-activation (after biases and peepholes) clamped to `[-clip, clip]`; `None`
    /// (PyTorch) for no clamp.
    pub clip: Option<f32>,
    /// LSTM peephole weights `peephole_l{k}` (3H, units of i, f, o): `i` and `f` add
    /// `p_i ⊙ c_{t-1}`, `p_f ⊙ c_{t-1}`, `o` adds `p_o ⊙ c_t`. PyTorch: false.
    pub peepholes: bool,
    /// LSTM with coupled input and forget gates: `f = 1 − i` (its weights are still present and
    /// unused, as in ONNX's `input_forget`). PyTorch: false.
    pub coupled_forget: bool,
    /// GRU: `n = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn))` when true (PyTorch, cuDNN, Keras
    /// `reset_after=True`, ONNX `linear_before_reset=1`); `n = tanh(W_in x + b_in + W_hn (r ⊙ h)
    /// + b_hn)` when false (ONNX's default). Always true for the other families.
    pub reset_after: bool,
    /// The single direction runs backwards (from the last valid step to the first), as ONNX's
    /// `direction="reverse"`; only without `bidirectional`. PyTorch: false.
    pub reverse: bool,
    /// How per-row lengths are read ([`LengthRule::Packed`] in PyTorch).
    pub lengths: LengthRule,
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
            activations: Vec::new(),
            clip: None,
            peepholes: false,
            coupled_forget: false,
            reset_after: true,
            reverse: false,
            lengths: LengthRule::Packed,
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
    /// Sets the activations, one entry per direction (empty: PyTorch's).
    pub fn with_activations(mut self, activations: Vec<Activations>) -> Self {
        self.activations = activations;
        self
    }
    /// Sets `clip`: gate pre-activations clamped to `[-clip, clip]`.
    pub fn with_clip(mut self, clip: Option<f32>) -> Self {
        self.clip = clip;
        self
    }
    /// Sets `peepholes` (LSTM only).
    pub fn with_peepholes(mut self, peepholes: bool) -> Self {
        self.peepholes = peepholes;
        self
    }
    /// Sets `coupled_forget` (LSTM only): `f = 1 − i`.
    pub fn with_coupled_forget(mut self, coupled_forget: bool) -> Self {
        self.coupled_forget = coupled_forget;
        self
    }
    /// Sets `reset_after` (GRU only; see the field).
    pub fn with_reset_after(mut self, reset_after: bool) -> Self {
        self.reset_after = reset_after;
        self
    }
    /// Sets `reverse`: the single direction runs backwards.
    pub fn with_reverse(mut self, reverse: bool) -> Self {
        self.reverse = reverse;
        self
    }
    /// Sets the length rule.
    pub fn with_lengths(mut self, lengths: LengthRule) -> Self {
        self.lengths = lengths;
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
        self.validate_beyond_pytorch()?;
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

    /// Refuses contradictory or inapplicable semantics beyond PyTorch's.
    fn validate_beyond_pytorch(&self) -> Result<()> {
        let bad = |msg: String| Err(Error::InvalidConfig(msg));
        let family = self.family();
        if !self.activations.is_empty() {
            if self.activations.len() != self.num_directions() {
                return bad(format!(
                    "{} activation entries given; {self} has {} direction(s), one entry each",
                    self.activations.len(),
                    self.num_directions()
                ));
            }
            if self.nonlinearity != Nonlinearity::Tanh {
                return bad("give nonlinearity=relu or activations, not both".into());
            }
            let unused = Activations::pytorch(family, Nonlinearity::Tanh);
            for acts in &self.activations {
                let all = [acts.gate, acts.candidate, acts.cell];
                if let Some(a) = all.iter().find(|a| !a.is_finite()) {
                    return bad(format!("activation {a} has a parameter that is not finite"));
                }
                let same_unused = match family {
                    Family::Lstm => true,
                    Family::Gru => acts.cell == unused.cell,
                    Family::Rnn => acts.gate == unused.gate && acts.cell == unused.cell,
                };
                if !same_unused {
                    return bad(format!(
                        "{} uses the activations {:?} only; leave the other roles at their defaults",
                        self.kind,
                        acts.used(family)
                            .iter()
                            .map(|a| a.name())
                            .collect::<Vec<_>>()
                    ));
                }
            }
        }
        if let Some(clip) = self.clip
            && (clip.is_nan() || clip < 0.0)
        {
            return bad(format!("clip must be at least 0, got {clip}"));
        }
        if (self.peepholes || self.coupled_forget) && family != Family::Lstm {
            return bad(format!(
                "peepholes and coupled_forget apply to LSTM and LSTMCell only, not {}",
                self.kind
            ));
        }
        if !self.reset_after && family != Family::Gru {
            return bad(format!(
                "reset_after=False applies to GRU and GRUCell only, not {}",
                self.kind
            ));
        }
        if self.reverse && (self.bidirectional || self.kind.is_cell()) {
            return bad(format!(
                "reverse applies to a single-direction sequence module, not {self}"
            ));
        }
        if self.lengths == LengthRule::Padded && self.kind.is_cell() {
            return bad(format!("{} takes no lengths", self.kind));
        }
        Ok(())
    }

    /// True when every semantic beyond PyTorch's is at PyTorch's value: what a PyTorch module
    /// (and a safetensors model file) can express.
    pub fn is_pytorch(&self) -> bool {
        self.activations.is_empty()
            && self.clip.is_none()
            && !self.peepholes
            && !self.coupled_forget
            && self.reset_after
            && !self.reverse
            && self.lengths == LengthRule::Packed
    }

    /// The activations of `direction` (0 forward, 1 reverse): the configured ones or PyTorch's.
    pub fn activations(&self, direction: usize) -> Activations {
        self.activations
            .get(direction)
            .copied()
            .unwrap_or_else(|| Activations::pytorch(self.family(), self.nonlinearity))
    }

    /// Whether `direction` runs from the last step to the first: direction 1 of a bidirectional
    /// module, or the only direction of a `reverse` one.
    pub fn is_reversed(&self, direction: usize) -> bool {
        direction == 1 || self.reverse
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
            if self.peepholes {
                specs.push(("peephole".into(), vec![3 * self.hidden_size]));
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
                if self.peepholes {
                    specs.push((
                        format!("peephole_l{layer}{sfx}"),
                        vec![3 * self.hidden_size],
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
            self.fmt_beyond_pytorch(f)?;
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
        self.fmt_beyond_pytorch(f)?;
        write!(f, ")")
    }
}

impl RnnConfig {
    /// The semantics beyond PyTorch's that differ from its defaults, as `, name=value` pairs.
    fn fmt_beyond_pytorch(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.reverse {
            write!(f, ", reverse=True")?;
        }
        if !self.reset_after {
            write!(f, ", reset_after=False")?;
        }
        if self.peepholes {
            write!(f, ", peepholes=True")?;
        }
        if self.coupled_forget {
            write!(f, ", coupled_forget=True")?;
        }
        if let Some(clip) = self.clip {
            write!(f, ", clip={clip:?}")?;
        }
        if self.lengths == LengthRule::Padded {
            write!(f, ", lengths=padded")?;
        }
        if !self.activations.is_empty() {
            let dirs: Vec<String> = self
                .activations
                .iter()
                .map(|a| {
                    let used: Vec<String> = a
                        .used(self.family())
                        .iter()
                        .map(Activation::to_string)
                        .collect();
                    format!("({})", used.join(", "))
                })
                .collect();
            write!(f, ", activations=[{}]", dirs.join(", "))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
