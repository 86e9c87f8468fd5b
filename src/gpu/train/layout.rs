//! The flat parameter layout of a trained model on the GPU: every `state_dict` tensor in PyTorch's
//! order and shape, each starting at a multiple of [`PARAM_ALIGN`] elements, in one buffer; the
//! gradients and the optimizer state use the same layout, so one dispatch updates everything.

use std::collections::HashMap;

use crate::config::RnnConfig;
use crate::error::Result;
use crate::model::Model;
use crate::tensor::Tensor;

/// Elements each tensor's offset is a multiple of (256 bytes, WebGPU's largest storage-offset
/// alignment, so any one tensor can also be bound alone).
pub const PARAM_ALIGN: usize = 64;

/// One tensor of the flat layout.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParamEntry {
    /// Its `state_dict` name.
    pub name: String,
    /// Its shape.
    pub shape: Vec<usize>,
    /// Its first element in the flat buffer.
    pub offset: usize,
}

impl ParamEntry {
    /// Its element count.
    pub fn numel(&self) -> usize {
        self.shape.iter().product()
    }
}

/// Where one (layer, direction 0) group's tensors sit; direction 1's are `group_stride` later.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct GroupOffsets {
    /// `weight_ih`.
    pub w_ih: usize,
    /// `weight_hh`.
    pub w_hh: usize,
    /// `bias_ih` (0 without biases).
    pub b_ih: usize,
    /// `bias_hh` (0 without biases).
    pub b_hh: usize,
    /// `weight_hr` (0 without a projection).
    pub w_hr: usize,
    /// Elements from direction 0's tensors to direction 1's (0 for one direction).
    pub group_stride: usize,
}

/// The flat layout of a configuration's parameters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParamLayout {
    /// The model's tensors, then any extra ones.
    entries: Vec<ParamEntry>,
    /// How many of `entries` are the model's.
    model_entries: usize,
    len: usize,
    groups: Vec<GroupOffsets>,
}

impl ParamLayout {
    /// The layout of `config`'s `state_dict`.
    pub fn new(config: &RnnConfig) -> Self {
        let mut len = 0;
        let entries: Vec<ParamEntry> = config
            .parameter_specs()
            .into_iter()
            .map(|(name, shape)| {
                let offset = len;
                len += shape.iter().product::<usize>().div_ceil(PARAM_ALIGN) * PARAM_ALIGN;
                ParamEntry {
                    name,
                    shape,
                    offset,
                }
            })
            .collect();
        let per_group = entries.len() / config.num_groups();
        let dirs = config.num_directions();
        let groups = (0..config.num_layers)
            .map(|layer| {
                let group = &entries[layer * dirs * per_group..][..per_group];
                let at = |prefix: &str| {
                    group
                        .iter()
                        .find(|e| e.name.starts_with(prefix))
                        .map_or(0, |e| e.offset)
                };
                GroupOffsets {
                    w_ih: at("weight_ih"),
                    w_hh: at("weight_hh"),
                    b_ih: at("bias_ih"),
                    b_hh: at("bias_hh"),
                    w_hr: at("weight_hr"),
                    group_stride: if dirs == 2 {
                        entries[(layer * dirs + 1) * per_group].offset - group[0].offset
                    } else {
                        0
                    },
                }
            })
            .collect();
        Self {
            model_entries: entries.len(),
            entries,
            len,
            groups,
        }
    }

    /// This layout with `extras` (name, shape) appended after the model's tensors: parameters an
    /// application trains beside the model (a head, an embedding) with the same optimizer.
    pub fn with_extras(mut self, extras: &[(String, Vec<usize>)]) -> Self {
        for (name, shape) in extras {
            let offset = self.len;
            self.len += shape.iter().product::<usize>().div_ceil(PARAM_ALIGN) * PARAM_ALIGN;
            self.entries.push(ParamEntry {
                name: name.clone(),
                shape: shape.clone(),
                offset,
            });
        }
        self
    }

    /// The extra tensors (see [`ParamLayout::with_extras`]).
    pub fn extras(&self) -> &[ParamEntry] {
        &self.entries[self.model_entries..]
    }

    /// The entry named `name`, the model's or an extra.
    pub fn entry(&self, name: &str) -> Option<&ParamEntry> {
        self.entries.iter().find(|e| e.name == name)
    }

    /// The model's tensors in `state_dict` order.
    pub fn entries(&self) -> &[ParamEntry] {
        &self.entries[..self.model_entries]
    }

    /// Elements of the flat buffer (padding included).
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the layout holds nothing (never, for a valid configuration).
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The offsets of `layer`'s tensors.
    pub fn group(&self, layer: usize) -> GroupOffsets {
        self.groups[layer]
    }

    /// `model`'s parameters and then `extras` (in [`ParamLayout::extras`] order) laid out flat
    /// (padding zero).
    pub fn pack(&self, model: &Model, extras: &[&Tensor]) -> Vec<f32> {
        let mut flat = vec![0.0; self.len];
        let tensors = model
            .state_dict()
            .into_iter()
            .map(|(_, t)| t)
            .chain(extras.iter().copied());
        for (entry, t) in self.entries.iter().zip(tensors) {
            flat[entry.offset..][..entry.numel()].copy_from_slice(t.data());
        }
        flat
    }

    /// The tensors of a flat buffer, by name: the model's in `state_dict` order, then the extras.
    pub fn unpack(&self, flat: &[f32]) -> Vec<(String, Tensor)> {
        self.entries
            .iter()
            .map(|e| {
                let data = flat[e.offset..][..e.numel()].to_vec();
                let tensor = Tensor::new(e.shape.clone(), data).expect("entry shape matches");
                (e.name.clone(), tensor)
            })
            .collect()
    }

    /// A model of `config` from a flat parameter buffer.
    pub fn to_model(&self, config: &RnnConfig, flat: &[f32]) -> Result<Model> {
        let dict: HashMap<String, Tensor> = self
            .unpack(flat)
            .into_iter()
            .take(self.model_entries)
            .collect();
        Model::from_state_dict(config.clone(), dict)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn aligned_offsets_group_strides_and_a_round_trip() {
        let config = RnnConfig::lstm(3, 5)
            .with_num_layers(2)
            .with_bidirectional(true)
            .with_proj_size(2);
        let model = Model::new(config.clone(), &mut rand::rngs::StdRng::seed_from_u64(2)).unwrap();
        let layout = ParamLayout::new(&config);
        assert!(layout.entries().iter().all(|e| e.offset % PARAM_ALIGN == 0));
        assert_eq!(layout.entries().len(), 20);
        let g1 = layout.group(1);
        let name_at = |off: usize| {
            &layout
                .entries()
                .iter()
                .find(|e| e.offset == off)
                .unwrap()
                .name
        };
        assert_eq!(name_at(g1.w_hh), "weight_hh_l1");
        assert_eq!(name_at(g1.w_hr + g1.group_stride), "weight_hr_l1_reverse");
        assert_eq!(name_at(g1.b_ih + g1.group_stride), "bias_ih_l1_reverse");
        let flat = layout.pack(&model, &[]);
        assert_eq!(layout.to_model(&config, &flat).unwrap(), model);
        let no_bias = RnnConfig::gru(2, 3).with_bias(false);
        assert_eq!(ParamLayout::new(&no_bias).group(0).group_stride, 0);
    }
}
