//! A forward pass described as data: the buffer sizes a call shape needs (checked against the
//! device's limits), the per-step uniform table, and the list of dispatches — built from the
//! configuration and the shape (T, N) alone, so it can be tested, printed and timed without a GPU.
//!
//! Per layer, for each chunk of steps: one `input_projection` dispatch (all steps of the chunk,
//! both directions), then the recurrence, as the tiling's [`PlanKind`] says:
//! - [`PlanKind::PerStep`]: per step one step-kernel dispatch (both directions, all rows),
//!   followed by one `lstm_projection` dispatch when the LSTM has a projection;
//! - [`PlanKind::Sequence`]: one sequence-kernel dispatch looping over all steps of the chunk.
//!
//! A chunk is the whole sequence unless the projection buffer for all T steps would exceed the
//! device's binding limit.

use crate::config::{Family, RnnConfig};
use crate::error::{Error, Result};
use crate::gpu::kernels::{
    self, Kernel, PARAMS_STRIDE, PROJECTION_COLS, PROJECTION_ROWS, Params, PlanKind, STEP_ROWS,
    SequenceTiling, Tiling,
};

/// The device limits a plan must respect.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PlanLimits {
    /// `max_storage_buffer_binding_size`, capped so element indices fit in a `u32`.
    pub max_binding: u64,
    /// `max_buffer_size`.
    pub max_buffer: u64,
    /// `max_compute_workgroups_per_dimension`.
    pub max_workgroups: u32,
}

impl PlanLimits {
    /// The limits of a device.
    pub fn from_limits(limits: &wgpu::Limits) -> Self {
        Self {
            max_binding: limits
                .max_storage_buffer_binding_size
                .min(limits.max_buffer_size)
                .min(u64::from(u32::MAX)),
            max_buffer: limits.max_buffer_size,
            max_workgroups: limits.max_compute_workgroups_per_dimension,
        }
    }
}

/// Which cached bind group a dispatch uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum BindGroupSlot {
    /// `input_projection` of `layer` (its input: x or the previous layer's output).
    InputProjection {
        /// The layer.
        layer: usize,
    },
    /// The step kernel of `layer` reading `h[parity]` and writing `h[1 - parity]`.
    Step {
        /// The layer.
        layer: usize,
        /// Which state buffer holds `h_{s-1}`: the step's parity.
        parity: usize,
    },
    /// `lstm_projection` of `layer` reading `h[parity]` and writing `h[1 - parity]`.
    LstmProjection {
        /// The layer.
        layer: usize,
        /// The step's parity.
        parity: usize,
    },
    /// The sequence kernel of `layer` (state in `h[0]`, read and written).
    Sequence {
        /// The layer.
        layer: usize,
    },
}

impl BindGroupSlot {
    /// Every slot of a model with `layers` layers, in [`BindGroupSlot::index`] order.
    pub fn all(layers: usize, lstm_projection: bool, sequence: bool) -> Vec<BindGroupSlot> {
        let mut slots: Vec<_> = (0..layers)
            .map(|layer| BindGroupSlot::InputProjection { layer })
            .collect();
        for layer in 0..layers {
            for parity in 0..2 {
                slots.push(BindGroupSlot::Step { layer, parity });
            }
        }
        if lstm_projection {
            for layer in 0..layers {
                for parity in 0..2 {
                    slots.push(BindGroupSlot::LstmProjection { layer, parity });
                }
            }
        }
        if sequence {
            slots.extend((0..layers).map(|layer| BindGroupSlot::Sequence { layer }));
        }
        slots
    }

    /// Its position in [`BindGroupSlot::all`] of a model with `layers` layers and, if
    /// `lstm_projection`, `lstm_projection` slots.
    pub fn index(self, layers: usize, lstm_projection: bool) -> usize {
        let projection_slots = if lstm_projection { 2 * layers } else { 0 };
        match self {
            BindGroupSlot::InputProjection { layer } => layer,
            BindGroupSlot::Step { layer, parity } => layers + 2 * layer + parity,
            BindGroupSlot::LstmProjection { layer, parity } => 3 * layers + 2 * layer + parity,
            BindGroupSlot::Sequence { layer } => 3 * layers + projection_slots + layer,
        }
    }
}

/// One dispatch of a forward pass.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Dispatch {
    /// The kernel.
    pub kernel: Kernel,
    /// Its bind group.
    pub bind_group: BindGroupSlot,
    /// Byte offset of its [`Params`] in the per-step table.
    pub dynamic_offset: u32,
    /// Workgroup counts (x, y, z); z is the direction.
    pub workgroups: [u32; 3],
    /// What it computes, e.g. `layer 1 step 7 lstm_step`.
    pub label: String,
}

/// Byte sizes of the buffers a call shape needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BufferSizes {
    /// Input `x` (T, N, I).
    pub x: u64,
    /// Per-row lengths (N) as `u32`.
    pub lengths: u64,
    /// Projection `gx` (D, chunk_cap, N, 4·C4): the only buffer besides the input and output
    /// that grows with T (up to the chunk size).
    pub gx: u64,
    /// Each of the two `h` state buffers (L, D, N, H_out).
    pub h: u64,
    /// The `c` state buffer (L, D, N, H), LSTM only (else 0).
    pub c: u64,
    /// The `lstm_step` → `lstm_projection` scratch (D, N, H), projection only (else 0).
    pub u: u64,
    /// Each layer output buffer (T, N, D·H_out).
    pub output: u64,
    /// How many layer output buffers (1, or 2 to alternate between layers).
    pub output_buffers: usize,
    /// The uniform table, one [`PARAMS_STRIDE`]-byte entry per dispatch offset: `L·T` entries for
    /// the per-step plan, one per layer and chunk for the sequence plan.
    pub table: u64,
    /// The readback buffer: output, h_n and c_n.
    pub staging: u64,
}

/// A forward pass for one configuration and call shape.
#[derive(Clone, Debug)]
pub struct Plan {
    /// How the recurrence runs.
    pub kind: PlanKind,
    /// The sequence kernel's register block `RB` (sequence plan; 0 for the per-step plan).
    pub sequence_rows: u32,
    /// Time steps `T`.
    pub seq_len: usize,
    /// Batch rows `N`.
    pub batch: usize,
    /// Steps per projection chunk.
    pub chunk_cap: usize,
    /// Buffer sizes.
    pub sizes: BufferSizes,
    /// The uniform table: per-step plan entry `layer·T + s`; sequence plan entry
    /// `layer·chunks + chunk`.
    pub table: Vec<Params>,
    /// The dispatches, in order.
    pub dispatches: Vec<Dispatch>,
}

fn too_large(what: String, bytes: u128, limit: u64) -> Error {
    Error::TooLarge {
        what,
        bytes,
        limit: u128::from(limit),
    }
}

/// Bytes of `count` f32/u32 elements, refusing overflow.
fn bytes(what: &str, dims: &[usize]) -> Result<u64> {
    dims.iter()
        .try_fold(4u64, |acc, &d| acc.checked_mul(d as u64))
        .ok_or_else(|| too_large(what.into(), u128::MAX, u64::MAX))
}

impl Plan {
    /// Plans a forward of `config` over `seq_len` steps and `batch` rows, or says which tensor is
    /// too large for `limits`.
    pub fn new(
        config: &RnnConfig,
        tiling: &Tiling,
        seq_len: usize,
        batch: usize,
        limits: &PlanLimits,
    ) -> Result<Self> {
        let (t_len, n) = (seq_len, batch);
        let (layers, dirs) = (config.num_layers, config.num_directions());
        let (hidden, h_out) = (config.hidden_size, config.output_hidden());
        let cols4 = kernels::gx_cols4(config);
        let lstm = config.family() == Family::Lstm;
        let proj = config.proj_size > 0;
        let width = dirs * h_out;

        let binding = |what: &str, b: u64| -> Result<u64> {
            if b > limits.max_binding {
                Err(too_large(
                    format!("{what} of {config} with T={t_len}, N={n}"),
                    u128::from(b),
                    limits.max_binding,
                ))
            } else {
                Ok(b)
            }
        };
        let x = binding("the input", bytes("input", &[t_len, n, config.input_size])?)?;
        let output = binding("the layer output", bytes("output", &[t_len, n, width])?)?;
        let h = binding("the hidden states", bytes("h", &[layers, dirs, n, h_out])?)?;
        let c = if lstm {
            binding("the cell states", bytes("c", &[layers, dirs, n, hidden])?)?
        } else {
            0
        };
        let u = if proj {
            binding("the projection scratch", bytes("u", &[dirs, n, hidden])?)?
        } else {
            0
        };
        let lengths = binding("the lengths", bytes("lengths", &[n])?)?;

        // Steps per chunk: as many as the binding limit and the dispatch grid allow.
        let step_bytes = bytes("gx", &[dirs, n, cols4, 4])?;
        let by_binding = limits.max_binding / step_bytes;
        let rows_per_wg_y = u64::from(PROJECTION_ROWS) * u64::from(tiling.projection.1);
        let by_grid = (u64::from(limits.max_workgroups) * rows_per_wg_y) / n as u64;
        let chunk_cap = by_binding.min(by_grid).min(t_len as u64) as usize;
        if chunk_cap == 0 {
            return Err(too_large(
                format!("one step of the input projection of {config} with N={n}"),
                u128::from(step_bytes),
                limits.max_binding,
            ));
        }
        let gx = step_bytes * chunk_cap as u64;

        let kind = match tiling.sequence {
            Some(seq)
                if (n as u64).div_ceil(u64::from(seq.slice(n, dirs))) * dirs as u64
                    >= u64::from(seq.min_workgroups) =>
            {
                PlanKind::Sequence
            }
            _ => PlanKind::PerStep,
        };
        let chunks = t_len.div_ceil(chunk_cap);
        let entries = match kind {
            PlanKind::PerStep => (layers as u64) * (t_len as u64),
            PlanKind::Sequence => (layers as u64) * (chunks as u64),
        };
        let table_bytes = entries
            .checked_mul(PARAMS_STRIDE)
            .filter(|&b| b <= limits.max_buffer && b <= u64::from(u32::MAX))
            .ok_or_else(|| {
                too_large(
                    format!("the per-step table of {config} with T={t_len}"),
                    u128::from(entries) * u128::from(PARAMS_STRIDE),
                    limits.max_buffer.min(u64::from(u32::MAX)),
                )
            })?;
        let staging = output + h + c;
        if staging > limits.max_buffer {
            return Err(too_large(
                format!("the results of {config} with T={t_len}, N={n}"),
                u128::from(staging),
                limits.max_buffer,
            ));
        }
        let step_grid = |units: usize, wg: u32| -> Result<[u32; 3]> {
            let x = (units as u64).div_ceil(u64::from(wg));
            let y = (n as u64).div_ceil(u64::from(STEP_ROWS));
            if x.max(y) > u64::from(limits.max_workgroups) {
                return Err(too_large(
                    format!(
                        "the step dispatch grid of {config} with N={n} (workgroups per dimension)"
                    ),
                    u128::from(x.max(y)),
                    u64::from(limits.max_workgroups),
                ));
            }
            Ok([x as u32, y as u32, dirs as u32])
        };
        let step_wg = step_grid(hidden, tiling.step)?;
        let lstm_proj_wg = step_grid(h_out, tiling.lstm_projection)?;
        let mut sequence_rows = 0;
        let sequence_wg = match tiling.sequence {
            Some(seq) => {
                let slice = seq.slice(n, dirs);
                let groups = (n as u64).div_ceil(u64::from(slice));
                // The kernel's own slice, ceil(N / groups), is at most `slice`.
                sequence_rows = SequenceTiling::block_rows(slice);
                if groups > u64::from(limits.max_workgroups) {
                    return Err(too_large(
                        format!(
                            "the sequence dispatch grid of {config} with N={n} (workgroups per dimension)"
                        ),
                        u128::from(groups),
                        u64::from(limits.max_workgroups),
                    ));
                }
                [groups as u32, 1, dirs as u32]
            }
            None => [0; 3],
        };
        let proj_x =
            (cols4 as u64).div_ceil(u64::from(tiling.projection.0) * u64::from(PROJECTION_COLS));
        if proj_x > u64::from(limits.max_workgroups) {
            return Err(too_large(
                format!("the input projection grid of {config} (workgroups per dimension)"),
                u128::from(proj_x),
                u64::from(limits.max_workgroups),
            ));
        }

        let step_kernel = Kernel::step(config.family());
        let sequence_kernel = Kernel::sequence(config.family());
        let mut table = Vec::with_capacity(entries as usize);
        let mut dispatches = Vec::new();
        for layer in 0..layers {
            for s in 0..t_len {
                let chunk_start = s - s % chunk_cap;
                let chunk_steps = chunk_cap.min(t_len - chunk_start);
                if kind == PlanKind::Sequence && s != chunk_start {
                    continue;
                }
                let offset = (table.len() as u64 * PARAMS_STRIDE) as u32;
                table.push(Params {
                    batch: n as u32,
                    in_width: config.layer_input_size(layer) as u32,
                    hidden: hidden as u32,
                    h_out: h_out as u32,
                    step: s as u32,
                    chunk_start: chunk_start as u32,
                    chunk_steps: chunk_steps as u32,
                    chunk_cap: chunk_cap as u32,
                    gx_cols4: cols4 as u32,
                    out_width: width as u32,
                    state_base: (layer * dirs * n * h_out) as u32,
                    cell_base: if lstm {
                        (layer * dirs * n * hidden) as u32
                    } else {
                        0
                    },
                });
                if s == chunk_start {
                    let rows = (chunk_steps * n) as u64;
                    let y = rows.div_ceil(rows_per_wg_y) as u32;
                    dispatches.push(Dispatch {
                        kernel: Kernel::InputProjection,
                        bind_group: BindGroupSlot::InputProjection { layer },
                        dynamic_offset: offset,
                        workgroups: [proj_x as u32, y, dirs as u32],
                        label: format!("layer {layer} steps {s}.. input_projection"),
                    });
                }
                if kind == PlanKind::Sequence {
                    dispatches.push(Dispatch {
                        kernel: sequence_kernel,
                        bind_group: BindGroupSlot::Sequence { layer },
                        dynamic_offset: offset,
                        workgroups: sequence_wg,
                        label: format!(
                            "layer {layer} steps {s}..{} {}",
                            s + chunk_steps,
                            sequence_kernel.name()
                        ),
                    });
                    continue;
                }
                let parity = s % 2;
                dispatches.push(Dispatch {
                    kernel: step_kernel,
                    bind_group: BindGroupSlot::Step { layer, parity },
                    dynamic_offset: offset,
                    workgroups: step_wg,
                    label: format!("layer {layer} step {s} {}", step_kernel.name()),
                });
                if proj {
                    dispatches.push(Dispatch {
                        kernel: Kernel::LstmProjection,
                        bind_group: BindGroupSlot::LstmProjection { layer, parity },
                        dynamic_offset: offset,
                        workgroups: lstm_proj_wg,
                        label: format!("layer {layer} step {s} lstm_projection"),
                    });
                }
            }
        }
        debug_assert_eq!(table.len() as u64, entries);
        Ok(Self {
            kind,
            sequence_rows: if kind == PlanKind::Sequence {
                sequence_rows
            } else {
                0
            },
            seq_len: t_len,
            batch: n,
            chunk_cap,
            sizes: BufferSizes {
                x,
                lengths,
                gx,
                h,
                c,
                u,
                output,
                output_buffers: layers.min(2),
                table: table_bytes,
                staging,
            },
            table,
            dispatches,
        })
    }

    /// Which of the two `h` buffers holds the final states: the parity of T for the per-step
    /// plan (steps alternate them), the first for the sequence plan (it updates `h[0]` in place).
    pub fn final_state_buffer(&self) -> usize {
        match self.kind {
            PlanKind::PerStep => self.seq_len % 2,
            PlanKind::Sequence => 0,
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

    fn plan(config: &RnnConfig, t: usize, n: usize, limits: &PlanLimits) -> Result<Plan> {
        Plan::new(config, &Tiling::for_config(config), t, n, limits)
    }

    fn count(plan: &Plan, kernel: Kernel) -> usize {
        plan.dispatches
            .iter()
            .filter(|d| d.kernel == kernel)
            .count()
    }

    #[test]
    fn one_projection_per_layer_and_one_step_dispatch_per_step() {
        let config = RnnConfig::lstm(5, 7)
            .with_num_layers(3)
            .with_bidirectional(true);
        let p = plan(&config, 11, 4, &ROOMY).unwrap();
        assert_eq!(p.chunk_cap, 11);
        assert_eq!(count(&p, Kernel::InputProjection), 3);
        assert_eq!(count(&p, Kernel::LstmStep), 3 * 11);
        assert_eq!(count(&p, Kernel::LstmProjection), 0);
        assert_eq!(p.dispatches.len(), 3 + 3 * 11);
        assert_eq!(p.table.len(), 3 * 11);
        // Both directions in every dispatch; offsets on the 256-byte stride.
        assert!(p.dispatches.iter().all(|d| d.workgroups[2] == 2));
        assert!(
            p.dispatches
                .iter()
                .all(|d| u64::from(d.dynamic_offset) % PARAMS_STRIDE == 0)
        );
        // Layer 1 step 0 reads the table entry 1·T + 0, with layer 1's sizes.
        let first_l1 = &p.dispatches[1 + 11];
        assert_eq!(first_l1.kernel, Kernel::InputProjection);
        assert_eq!(first_l1.dynamic_offset, 11 * 256);
        assert_eq!(p.table[11].in_width, 14);
        assert_eq!(p.table[11].state_base, 2 * 4 * 7);
        // Steps alternate the state buffers.
        assert_eq!(
            p.dispatches[1].bind_group,
            BindGroupSlot::Step {
                layer: 0,
                parity: 0
            }
        );
        assert_eq!(
            p.dispatches[2].bind_group,
            BindGroupSlot::Step {
                layer: 0,
                parity: 1
            }
        );
        assert_eq!(p.final_state_buffer(), 1);
        assert_eq!(p.sizes.output_buffers, 2);
    }

    #[test]
    fn projection_adds_one_dispatch_per_step_and_cells_take_one_step() {
        let config = RnnConfig::lstm(3, 8).with_proj_size(2).with_num_layers(2);
        let p = plan(&config, 5, 3, &ROOMY).unwrap();
        assert_eq!(count(&p, Kernel::LstmProjection), 2 * 5);
        assert_eq!(p.dispatches.len(), 2 + 2 * 5 * 2);
        assert_eq!(p.sizes.u, 4 * 3 * 8);
        assert_eq!(p.table[0].h_out, 2);

        let cell = RnnConfig::gru_cell(4, 6);
        let p = plan(&cell, 1, 9, &ROOMY).unwrap();
        let kernels: Vec<_> = p.dispatches.iter().map(|d| d.kernel).collect();
        assert_eq!(kernels, [Kernel::InputProjection, Kernel::GruStep]);
        assert_eq!(p.dispatches[1].workgroups, [1, 3, 1]);
    }

    #[test]
    fn chunks_the_projection_when_it_exceeds_the_binding_limit() {
        let config = RnnConfig::lstm(4, 8).with_bidirectional(true);
        // The output (T, N, D·H) of T=10, N=3 takes 1920 bytes; one step of gx (D, N, 4H) 768.
        let limits = PlanLimits {
            max_binding: 1920,
            ..ROOMY
        };
        let p = plan(&config, 10, 3, &limits).unwrap();
        assert_eq!(p.chunk_cap, 2);
        assert_eq!(count(&p, Kernel::InputProjection), 5);
        assert_eq!(count(&p, Kernel::LstmStep), 10);
        assert!(p.sizes.gx <= limits.max_binding);
        let entry = p.table[7];
        assert_eq!((entry.chunk_start, entry.chunk_steps), (6, 2));
        let p = plan(&config, 9, 3, &limits).unwrap();
        let last = p.table.last().unwrap();
        assert_eq!((last.chunk_start, last.chunk_steps), (8, 1));
    }

    fn sequence_tiling(config: &RnnConfig, parallel: Option<u32>) -> Tiling {
        Tiling {
            sequence: Some(crate::gpu::kernels::SequenceTiling {
                wg: 32,
                slice_max: 16,
                parallel,
                min_workgroups: 1,
                cache_weights: false,
            }),
            ..Tiling::for_config(config)
        }
    }

    #[test]
    fn the_sequence_plan_is_one_projection_and_one_sequence_dispatch_per_layer_and_chunk() {
        let config = RnnConfig::gru(5, 7)
            .with_num_layers(3)
            .with_bidirectional(true);
        let tiling = sequence_tiling(&config, Some(2));
        let p = Plan::new(&config, &tiling, 11, 37, &ROOMY).unwrap();
        assert_eq!(p.kind, PlanKind::Sequence);
        assert_eq!(count(&p, Kernel::InputProjection), 3);
        assert_eq!(count(&p, Kernel::GruSequence), 3);
        assert_eq!(p.dispatches.len(), 6);
        assert_eq!(p.table.len(), 3, "one table entry per layer and chunk");
        assert_eq!(p.sizes.table, 3 * PARAMS_STRIDE);
        assert_eq!(p.final_state_buffer(), 0);
        // Two workgroups in flight over two directions: one slice per direction, capped at
        // slice_max = 16 rows, so 37 rows take 3 workgroups per direction, register blocks of 8.
        let seq = &p.dispatches[1];
        assert_eq!(seq.workgroups, [3, 1, 2]);
        assert_eq!(seq.bind_group, BindGroupSlot::Sequence { layer: 0 });
        assert_eq!(p.sequence_rows, 8);
        assert_eq!((p.table[1].chunk_start, p.table[1].chunk_steps), (0, 11));
        assert_eq!(p.dispatches[2].dynamic_offset, 256);

        // GPU-style tiling: one workgroup per SEQUENCE_ROWS rows; a single row gets RB = 1.
        let p = Plan::new(&config, &sequence_tiling(&config, None), 11, 37, &ROOMY).unwrap();
        assert_eq!(p.dispatches[1].workgroups, [5, 1, 2]);
        let p = Plan::new(&config, &sequence_tiling(&config, None), 11, 1, &ROOMY).unwrap();
        assert_eq!(
            (p.dispatches[1].workgroups, p.sequence_rows),
            ([1, 1, 2], 1)
        );

        // A projection runs inside the sequence kernel: still one dispatch per layer, and its
        // bind group comes after the lstm_projection slots of the per-step plan.
        let proj = RnnConfig::lstm(3, 8).with_proj_size(2).with_num_layers(2);
        let p = Plan::new(&proj, &sequence_tiling(&proj, Some(2)), 5, 3, &ROOMY).unwrap();
        assert_eq!(p.kind, PlanKind::Sequence);
        assert_eq!(count(&p, Kernel::LstmSequence), 2);
        assert_eq!(count(&p, Kernel::LstmProjection), 0);
        let slots = BindGroupSlot::all(2, true, true);
        for (i, slot) in slots.iter().enumerate() {
            assert_eq!(slot.index(2, true), i, "{slot:?}");
        }
        for (i, slot) in BindGroupSlot::all(2, false, true).iter().enumerate() {
            assert_eq!(slot.index(2, false), i, "{slot:?}");
        }
    }

    #[test]
    fn calls_too_small_to_fill_the_cores_run_per_step_when_asked() {
        let config = RnnConfig::lstm(5, 300);
        let mut tiling = sequence_tiling(&config, Some(2));
        tiling.sequence.as_mut().unwrap().min_workgroups = 2;
        let kind = |n, cfg: &RnnConfig| Plan::new(cfg, &tiling, 4, n, &ROOMY).unwrap().kind;
        assert_eq!(kind(1, &config), PlanKind::PerStep);
        assert_eq!(kind(2, &config), PlanKind::Sequence);
        assert_eq!(
            kind(1, &config.clone().with_bidirectional(true)),
            PlanKind::Sequence
        );
    }

    #[test]
    fn the_sequence_plan_runs_one_dispatch_per_projection_chunk() {
        let config = RnnConfig::lstm(4, 8).with_bidirectional(true);
        let limits = PlanLimits {
            max_binding: 1920,
            ..ROOMY
        };
        let p = Plan::new(&config, &sequence_tiling(&config, Some(2)), 9, 3, &limits).unwrap();
        assert_eq!(p.chunk_cap, 2);
        assert_eq!(count(&p, Kernel::InputProjection), 5);
        assert_eq!(count(&p, Kernel::LstmSequence), 5);
        let last = p.table.last().unwrap();
        assert_eq!((last.chunk_start, last.chunk_steps), (8, 1));
    }

    #[test]
    fn refuses_what_cannot_fit() {
        let config = RnnConfig::gru(4, 8);
        let tiny = PlanLimits {
            max_binding: 64,
            ..ROOMY
        };
        assert!(matches!(
            plan(&config, 100, 2, &tiny),
            Err(Error::TooLarge { .. })
        ));
    }
}
