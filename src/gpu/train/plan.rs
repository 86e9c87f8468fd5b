//! A training forward and backward described as data: the buffers a call shape (T, N) needs
//! (checked against the device's limits), the uniform table, and the dispatch lists, built from
//! the configuration and the shape alone so they can be tested and printed without a GPU.
//!
//! Forward, per layer: one `gemm` for `x·W_ihᵀ + b_ih` over all steps and both directions, then
//! per step one `*_step_train` dispatch (both directions, every row), plus `lstm_projection_train`
//! with a projection. It saves per step what the backward needs (see [`TrainSizes`]).
//!
//! Backward, per layer from the top: per step (T + 1 dispatches, the last one writing ∂L/∂h0 and
//! ∂L/∂c0) one `*_step_backward` (after `lstm_projection_backward` with a projection), then the
//! weight and bias gradients as `gemm`s over all steps at once (both directions per dispatch) and
//! the layer input's gradient as one `gemm` per direction.

use crate::config::{Family, RnnConfig};
use crate::error::{Error, Result};
use crate::gpu::kernels::PARAMS_STRIDE;
use crate::gpu::plan::PlanLimits;
use crate::gpu::train::gemms::{self, Operand, RowWidths};
use crate::gpu::train::kernels::{
    GEMM_TM, GEMM_TN, GEMM_WORKGROUP, Gemm, LossParams, TrainKernel, TrainParams,
};
use crate::gpu::train::layout::ParamLayout;

/// A buffer a training dispatch binds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Buf {
    /// The flat parameters.
    Params,
    /// The flat parameter gradients.
    Grads,
    /// The input (T, N, I).
    Input,
    /// Per-row lengths (N), `u32`.
    Lengths,
    /// h0 (L·D, N, H_out) then c0 (L·D, N, H).
    Init,
    /// h_n then c_n, like [`Buf::Init`].
    Final,
    /// Layer `l`'s output (T, N, D·H_out).
    Output(usize),
    /// Layer `l`'s saved activations (D, T, N, S).
    Saved(usize),
    /// The input projection of the current layer (D, T, N, G·H).
    Gx,
    /// The gate gradients of the current layer (D, T, N, dG width).
    Dg,
    /// ∂L/∂(layer l's output) for `l % 2` (T, N, D·H_out).
    DOut(usize),
    /// ∂L/∂input (T, N, I).
    GradInput,
    /// The carried ∂L/∂h (D, N, H_out) and ∂L/∂c (D, N, H) of the current layer.
    State,
    /// grad_h0, grad_c0, then the incoming grad_h_n, grad_c_n.
    StateGrads,
    /// Ones (max(T·N, 1)): a GEMM operand for bias gradients, and a placeholder binding.
    Ones,
    /// The target of `mse_loss`, like the top layer's output.
    Target,
    /// The loss value `mse_loss` writes (1 f32, padded to 4).
    Loss,
}

/// One dispatch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TrainDispatch {
    /// The kernel.
    pub kernel: TrainKernel,
    /// What its storage bindings bind, in `@binding` order after the uniform.
    pub buffers: Vec<Buf>,
    /// Byte offset of its uniform in the table.
    pub uniform: u32,
    /// For the weight-gradient `gemm`s, the offset of the uniform that adds to the gradients
    /// instead of overwriting them (a backward recorded with `accumulate`).
    pub uniform_accumulate: Option<u32>,
    /// Workgroup counts.
    pub workgroups: [u32; 3],
    /// What it computes, e.g. `layer 1 step 7 lstm_step_backward`.
    pub label: String,
}

/// Byte sizes of the buffers of a call shape. Per step and batch row the forward keeps, for every
/// layer, its output (D·H_out) and its saved activations (D·S floats: LSTM i, f, g, o, c, h_prev
/// and u with a projection, S = 5H + H_out (+ H); GRU r, z, n, W_hn h + b_hn and h_prev, S = 5H;
/// RNN h_prev and h, S = 2H); the backward adds one layer's gate gradients (D·(G·H (+ P)), GRU
/// 6H).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TrainSizes {
    /// [`Buf::Input`] and [`Buf::GradInput`].
    pub input: u64,
    /// [`Buf::Lengths`].
    pub lengths: u64,
    /// [`Buf::Init`] and [`Buf::Final`].
    pub init: u64,
    /// Each [`Buf::Output`] and [`Buf::DOut`].
    pub output: u64,
    /// Each [`Buf::Saved`].
    pub saved: u64,
    /// [`Buf::Gx`].
    pub gx: u64,
    /// [`Buf::Dg`].
    pub dg: u64,
    /// [`Buf::State`].
    pub state: u64,
    /// [`Buf::StateGrads`].
    pub state_grads: u64,
    /// [`Buf::Ones`].
    pub ones: u64,
    /// The uniform table.
    pub table: u64,
}

impl TrainSizes {
    /// Bytes of every buffer of the call shape together (outputs, saved rows and output
    /// gradients counted once per layer and pair).
    pub fn total(&self, layers: usize) -> u64 {
        let layers = layers as u64;
        2 * self.input
            + self.lengths
            + 2 * self.init
            + (layers + 2) * self.output
            + layers * self.saved
            + self.gx
            + self.dg
            + self.state
            + self.state_grads
            + self.ones
            + self.table
    }
}

/// A training forward and backward of one configuration and call shape.
#[derive(Clone, Debug)]
pub struct TrainPlan {
    /// Time steps `T`.
    pub seq_len: usize,
    /// Batch rows `N`.
    pub batch: usize,
    /// Buffer sizes.
    pub sizes: TrainSizes,
    /// The uniform table, [`PARAMS_STRIDE`] bytes per entry.
    pub table: Vec<u8>,
    /// The training forward.
    pub forward: Vec<TrainDispatch>,
    /// `mse_loss` between the forward and the backward (in [`TrainPlan::train_step`] calls).
    pub loss: TrainDispatch,
    /// The backward.
    pub backward: Vec<TrainDispatch>,
    /// How many dispatches at the end of [`TrainPlan::backward`] compute only ∂L/∂input (layer
    /// 0's input-gradient `gemm`s, one per direction).
    pub input_grad_dispatches: usize,
}

/// Invocations of a `gemm` workgroup along `n` columns: enough to cover them (at most 16), the
/// rest go along the rows.
fn gemm_lanes(n: u32) -> u32 {
    n.div_ceil(GEMM_TN).next_power_of_two().min(16)
}

/// Bytes of `dims` f32 elements, refusing overflow.
fn bytes(dims: &[usize]) -> Option<u64> {
    dims.iter()
        .try_fold(4u64, |acc, &d| acc.checked_mul(d as u64))
}

fn u32_of(v: usize) -> u32 {
    u32::try_from(v).expect("sizes were checked to fit the device")
}

impl TrainPlan {
    /// Plans a training forward and backward of `config` over `seq_len` steps and `batch` rows.
    pub fn new(
        config: &RnnConfig,
        layout: &ParamLayout,
        seq_len: usize,
        batch: usize,
        limits: &PlanLimits,
    ) -> Result<Self> {
        let (t_len, n) = (seq_len, batch);
        let (layers, dirs) = (config.num_layers, config.num_directions());
        let (h, h_out) = (config.hidden_size, config.output_hidden());
        let gates = config.gate_count() * h;
        let lstm = config.family() == Family::Lstm;
        let proj = config.proj_size > 0;
        let widths = RowWidths::new(config);
        let width = dirs * h_out;
        let groups = layers * dirs;
        let cell = if lstm { h } else { 0 };
        let too_large = |what: &str, b: Option<u64>, limit: u64| Error::TooLarge {
            what: format!("{what} of training {config} with T={t_len}, N={n}"),
            bytes: b.map_or(u128::MAX, u128::from),
            limit: u128::from(limit),
        };
        let binding = |what: &str, dims: &[usize]| -> Result<u64> {
            match bytes(dims) {
                Some(b) if b <= limits.max_binding => Ok(b.max(4)),
                b => Err(too_large(what, b, limits.max_binding)),
            }
        };
        let rows = t_len * n;
        let mut sizes = TrainSizes {
            input: binding("the input", &[rows, config.input_size])?,
            lengths: binding("the lengths", &[n])?,
            init: binding("the states", &[groups, n, h_out + cell])?,
            output: binding("a layer output", &[rows, width])?,
            saved: binding("the saved activations", &[dirs, rows, widths.saved])?,
            gx: binding("the input projection", &[dirs, rows, gates])?,
            dg: binding("the gate gradients", &[dirs, rows, widths.dg])?,
            state: binding("the carried gradients", &[dirs, n, h_out + cell])?,
            state_grads: binding("the state gradients", &[2, groups, n, h_out + cell])?,
            ones: binding("the ones", &[rows.max(1)])?,
            table: 0,
        };
        let max_wg = u64::from(limits.max_workgroups);
        if n as u64 > max_wg {
            return Err(too_large(
                "the batch (workgroups per dimension)",
                Some(n as u64),
                max_wg,
            ));
        }

        let mut plan = TrainPlan {
            seq_len,
            batch,
            sizes,
            table: Vec::new(),
            forward: Vec::new(),
            loss: TrainDispatch {
                kernel: TrainKernel::MseLoss,
                buffers: vec![
                    Buf::Output(layers - 1),
                    Buf::Target,
                    Buf::DOut((layers - 1) % 2),
                    Buf::Loss,
                ],
                uniform: 0,
                uniform_accumulate: None,
                workgroups: [1, 1, 1],
                label: "mse_loss".into(),
            },
            backward: Vec::new(),
            input_grad_dispatches: dirs,
        };
        let total = u32_of(rows * width);
        plan.loss.uniform = plan.push_entry(bytemuck::bytes_of(&LossParams {
            count: total,
            total,
        }));
        let step_wg = TrainKernel::STEP_WORKGROUP;
        let grid = |units: usize| [u32_of(units * n).div_ceil(step_wg), 1, u32_of(dirs)];
        let params = |layer: usize, step: usize| {
            let g = layout.group(layer);
            TrainParams {
                batch: u32_of(n),
                steps: u32_of(t_len),
                in_width: u32_of(config.layer_input_size(layer)),
                hidden: u32_of(h),
                h_out: u32_of(h_out),
                step: u32_of(step),
                out_width: u32_of(width),
                dirs: u32_of(dirs),
                group_stride: u32_of(g.group_stride),
                w_ih: u32_of(g.w_ih),
                w_hh: u32_of(g.w_hh),
                b_ih: u32_of(g.b_ih),
                b_hh: u32_of(g.b_hh),
                w_hr: u32_of(g.w_hr),
                state_base: u32_of(layer * dirs * n * h_out),
                cell_base: u32_of(layer * dirs * n * h),
                cells_at: u32_of(groups * n * h_out),
                has_bias: u32::from(config.bias),
                final_at: u32_of(groups * n * (h_out + cell)),
            }
        };
        let step_train = TrainKernel::step_train(config.family());
        let step_backward = TrainKernel::step_backward(config.family());
        let layer_input = |layer: usize| {
            if layer == 0 {
                Buf::Input
            } else {
                Buf::Output(layer - 1)
            }
        };
        for layer in 0..layers {
            let g = layout.group(layer);
            let gemm = gemms::input_projection(config, g, layer, rows);
            let bufs = vec![layer_input(layer), Buf::Params, Buf::Params, Buf::Gx];
            let label = format!("layer {layer} input projection gemm");
            plan.push_gemm(true, gemm, dirs, bufs, label);
            for s in 0..t_len {
                let at = plan.push_entry(bytemuck::bytes_of(&params(layer, s)));
                plan.forward.push(TrainDispatch {
                    kernel: step_train,
                    buffers: vec![
                        Buf::Params,
                        Buf::Gx,
                        Buf::Lengths,
                        Buf::Init,
                        Buf::Output(layer),
                        Buf::Saved(layer),
                        Buf::Final,
                    ],
                    uniform: at,
                    uniform_accumulate: None,
                    workgroups: grid(h),
                    label: format!("layer {layer} step {s} {}", step_train.name()),
                });
                if proj {
                    plan.forward.push(TrainDispatch {
                        kernel: TrainKernel::LstmProjectionTrain,
                        buffers: vec![
                            Buf::Params,
                            Buf::Lengths,
                            Buf::Saved(layer),
                            Buf::Output(layer),
                            Buf::Final,
                        ],
                        uniform: at,
                        uniform_accumulate: None,
                        workgroups: grid(h_out),
                        label: format!("layer {layer} step {s} lstm_projection_train"),
                    });
                }
            }
        }

        for layer in (0..layers).rev() {
            let g = layout.group(layer);
            let d_out = Buf::DOut(layer % 2);
            for step in (0..=t_len).rev() {
                let at = plan.push_entry(bytemuck::bytes_of(&params(layer, step)));
                if proj {
                    plan.backward.push(TrainDispatch {
                        kernel: TrainKernel::LstmProjectionBackward,
                        buffers: vec![
                            Buf::Params,
                            Buf::Lengths,
                            d_out,
                            Buf::Dg,
                            Buf::State,
                            Buf::StateGrads,
                        ],
                        uniform: at,
                        uniform_accumulate: None,
                        workgroups: grid(h_out),
                        label: format!("layer {layer} step {step} lstm_projection_backward"),
                    });
                }
                plan.backward.push(TrainDispatch {
                    kernel: step_backward,
                    buffers: vec![
                        Buf::Params,
                        Buf::Lengths,
                        Buf::Saved(layer),
                        Buf::Init,
                        d_out,
                        Buf::Dg,
                        Buf::State,
                        Buf::StateGrads,
                    ],
                    uniform: at,
                    uniform_accumulate: None,
                    workgroups: grid(h),
                    label: format!("layer {layer} step {step} {}", step_backward.name()),
                });
            }
            // ∂W = Σ over all (t, n) rows of dGᵀ·operand, both directions per dispatch.
            let adding = gemms::weight_grads(config, g, layer, rows, true);
            for ((gemm, operand, name), (add, _, _)) in
                gemms::weight_grads(config, g, layer, rows, false)
                    .into_iter()
                    .zip(adding)
            {
                let operand = match operand {
                    Operand::LayerInput => layer_input(layer),
                    Operand::Saved => Buf::Saved(layer),
                    Operand::Ones => Buf::Ones,
                };
                let bufs = vec![Buf::Dg, operand, Buf::Ones, Buf::Grads];
                let label = format!("layer {layer} grad {name} gemm");
                plan.push_gemm(false, gemm, dirs, bufs, label);
                let adds = plan.push_entry(bytemuck::bytes_of(&Gemm {
                    lanes_x: gemm_lanes(add.n),
                    ..add
                }));
                let last = plan.backward.last_mut().expect("just pushed");
                last.uniform_accumulate = Some(adds);
            }
            let target = if layer == 0 {
                Buf::GradInput
            } else {
                Buf::DOut((layer - 1) % 2)
            };
            for d in 0..dirs {
                let gemm = gemms::input_grad(config, g, layer, rows, d);
                let bufs = vec![Buf::Dg, Buf::Params, Buf::Ones, target];
                let label = format!("layer {layer} direction {d} input gradient gemm");
                plan.push_gemm(false, gemm, 1, bufs, label);
            }
        }
        let table = plan.table.len() as u64;
        if table > limits.max_buffer || table > u64::from(u32::MAX) {
            return Err(too_large(
                "the uniform table",
                Some(table),
                limits.max_buffer,
            ));
        }
        sizes.table = table;
        plan.sizes = sizes;
        Ok(plan)
    }

    /// Appends a uniform entry; returns its byte offset.
    fn push_entry(&mut self, bytes: &[u8]) -> u32 {
        let at = self.table.len();
        self.table.extend_from_slice(bytes);
        self.table.resize(at + PARAMS_STRIDE as usize, 0);
        u32_of(at)
    }

    /// Appends a `gemm` dispatch over `z` batch entries to the forward or the backward.
    fn push_gemm(
        &mut self,
        forward: bool,
        mut gemm: Gemm,
        z: usize,
        buffers: Vec<Buf>,
        label: String,
    ) {
        // Enough invocations along the columns to cover them (at most 16), the rest along rows.
        gemm.lanes_x = gemm_lanes(gemm.n);
        let uniform = self.push_entry(bytemuck::bytes_of(&gemm));
        let (wg_x, wg_y) = (gemm.lanes_x, GEMM_WORKGROUP / gemm.lanes_x);
        let dispatch = TrainDispatch {
            kernel: TrainKernel::Gemm,
            buffers,
            uniform,
            uniform_accumulate: None,
            workgroups: [
                gemm.n.div_ceil(wg_x * GEMM_TN),
                gemm.m.div_ceil(wg_y * GEMM_TM),
                u32_of(z),
            ],
            label,
        };
        if forward {
            self.forward.push(dispatch);
        } else {
            self.backward.push(dispatch);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ROOMY: PlanLimits = PlanLimits {
        max_binding: 1 << 30,
        max_buffer: 1 << 30,
        max_workgroups: 65535,
    };

    fn count(list: &[TrainDispatch], kernel: TrainKernel) -> usize {
        list.iter().filter(|d| d.kernel == kernel).count()
    }

    #[test]
    fn per_step_dispatches_and_gemms_over_all_steps() {
        let config = RnnConfig::lstm(3, 8)
            .with_num_layers(2)
            .with_bidirectional(true)
            .with_proj_size(4);
        let layout = ParamLayout::new(&config);
        let p = TrainPlan::new(&config, &layout, 7, 5, &ROOMY).unwrap();
        assert_eq!(
            count(&p.forward, TrainKernel::Gemm),
            2,
            "one projection per layer"
        );
        assert_eq!(count(&p.forward, TrainKernel::LstmStepTrain), 2 * 7);
        assert_eq!(count(&p.forward, TrainKernel::LstmProjectionTrain), 2 * 7);
        assert_eq!(
            count(&p.backward, TrainKernel::LstmStepBackward),
            2 * 8,
            "T + 1 per layer"
        );
        assert_eq!(
            count(&p.backward, TrainKernel::LstmProjectionBackward),
            2 * 8
        );
        // weight_ih, weight_hh, two biases, weight_hr, and the input gradient per direction.
        assert_eq!(count(&p.backward, TrainKernel::Gemm), 2 * (5 + 2));
        assert!(
            p.forward
                .iter()
                .chain(&p.backward)
                .all(|d| d.uniform % 256 == 0)
        );
        let mut steps = p
            .forward
            .iter()
            .filter(|d| d.kernel == TrainKernel::LstmStepTrain);
        assert!(
            steps.all(|d| d.workgroups == [1, 1, 2]),
            "8 units × 5 rows fit one workgroup"
        );
        // Layer 0's input gradient goes to grad_input; layer 1's to layer 0's output gradient.
        let targets: Vec<Buf> = p
            .backward
            .iter()
            .filter(|d| d.label.contains("input gradient"))
            .map(|d| d.buffers[3])
            .collect();
        assert_eq!(
            targets,
            [Buf::DOut(0), Buf::DOut(0), Buf::GradInput, Buf::GradInput]
        );
        assert_eq!(
            p.loss.buffers[2],
            Buf::DOut(1),
            "the top layer's output gradient"
        );
    }

    #[test]
    fn refuses_what_cannot_fit() {
        let config = RnnConfig::gru(4, 8);
        let layout = ParamLayout::new(&config);
        let tiny = PlanLimits {
            max_binding: 1024,
            ..ROOMY
        };
        let err = TrainPlan::new(&config, &layout, 100, 2, &tiny).unwrap_err();
        assert!(matches!(err, Error::TooLarge { .. }), "{err}");
    }
}
