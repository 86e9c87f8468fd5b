//! [`GpuTensor`]: a shape over a range of a `wgpu::Buffer`, the unit of exchange between an
//! application's own GPU work and this library's (see [`GpuModel::encode_forward`] and
//! [`GpuStream`]).
//!
//! The library never binds an application's buffer in its own bind groups: it copies into and out
//! of its own buffers inside the application's command encoder (`copy_buffer_to_buffer`, a few
//! bytes per step). That is why the flags a buffer needs are copy flags, and why any buffer, at
//! any 4-byte-aligned offset, will do.
//!
//! [`GpuModel::encode_forward`]: crate::GpuModel::encode_forward
//! [`GpuStream`]: crate::gpu::GpuStream

use std::sync::Arc;

use crate::error::{Error, Result};
use crate::gpu::context::GpuContext;
use crate::tensor::{Tensor, checked_numel};

/// A dense row-major `f32` tensor living in a GPU buffer: `buffer[offset .. offset + 4·numel]`.
///
/// Build one over an application's buffer with [`GpuTensor::from_buffer`] or
/// [`GpuTensor::from_buffer_at`], or let the library allocate one ([`GpuTensor::zeros`],
/// [`GpuTensor::from_tensor`], with [`GpuTensor::USAGE`]). [`GpuTensor::buffer`] hands the buffer
/// back so the application can bind it in its own passes.
///
/// Usage flags the buffer needs: `COPY_SRC` where the library reads it (inputs, initial states),
/// `COPY_DST` where it writes it (outputs, final states); `STORAGE` only for the application's own
/// shaders. Cloning is cheap (the buffer handle is reference-counted).
#[derive(Clone, Debug)]
pub struct GpuTensor {
    buffer: wgpu::Buffer,
    offset: u64,
    shape: Vec<usize>,
}

impl GpuTensor {
    /// The usage of buffers the library allocates: `STORAGE | COPY_SRC | COPY_DST`, enough to be
    /// bound by the application's shaders and to be any argument or result of the library.
    pub const USAGE: wgpu::BufferUsages = wgpu::BufferUsages::STORAGE
        .union(wgpu::BufferUsages::COPY_SRC)
        .union(wgpu::BufferUsages::COPY_DST);

    /// A tensor of shape `shape` at the start of `buffer`, which must hold at least
    /// `4·product(shape)` bytes.
    pub fn from_buffer(buffer: wgpu::Buffer, shape: impl Into<Vec<usize>>) -> Result<Self> {
        Self::from_buffer_at(buffer, 0, shape)
    }

    /// A tensor of shape `shape` starting `offset` bytes into `buffer` (a multiple of 4, as
    /// `copy_buffer_to_buffer` requires).
    pub fn from_buffer_at(
        buffer: wgpu::Buffer,
        offset: u64,
        shape: impl Into<Vec<usize>>,
    ) -> Result<Self> {
        let shape = shape.into();
        let bytes = checked_numel(&shape)? as u64 * 4;
        let bad = |reason: String| Error::BadBuffer {
            name: format!("tensor of shape {shape:?}"),
            reason,
        };
        if !offset.is_multiple_of(wgpu::COPY_BUFFER_ALIGNMENT) {
            return Err(bad(format!("offset {offset} is not a multiple of 4")));
        }
        if offset
            .checked_add(bytes)
            .is_none_or(|end| end > buffer.size())
        {
            return Err(bad(format!(
                "needs {bytes} bytes from offset {offset} but the buffer holds {} bytes",
                buffer.size()
            )));
        }
        Ok(Self {
            buffer,
            offset,
            shape,
        })
    }

    /// A zero tensor in a new buffer with [`GpuTensor::USAGE`] (counted in
    /// [`GpuContext::buffer_count`]).
    pub fn zeros(context: &GpuContext, label: &str, shape: impl Into<Vec<usize>>) -> Result<Self> {
        let shape = shape.into();
        let bytes = (checked_numel(&shape)? as u64 * 4).max(4);
        let what = format!("the GPU tensor '{label}' of shape {shape:?}");
        let buffer = context.create_checked_buffer(&what, label, bytes, Self::USAGE)?;
        Self::from_buffer(buffer, shape)
    }

    /// A new buffer with [`GpuTensor::USAGE`] holding `tensor` (the data lands with the next
    /// submit on the queue).
    pub fn from_tensor(context: &GpuContext, label: &str, tensor: &Tensor) -> Result<Self> {
        let gpu = Self::zeros(context, label, tensor.shape())?;
        context
            .queue()
            .write_buffer(&gpu.buffer, gpu.offset, bytemuck::cast_slice(tensor.data()));
        Ok(gpu)
    }

    /// The buffer (bind it with [`GpuTensor::binding`] to see just this tensor).
    pub fn buffer(&self) -> &wgpu::Buffer {
        &self.buffer
    }

    /// Byte offset of element 0 in [`GpuTensor::buffer`].
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// The shape, outermost dimension first.
    pub fn shape(&self) -> &[usize] {
        &self.shape
    }

    /// The number of elements.
    pub fn numel(&self) -> usize {
        self.shape.iter().product()
    }

    /// Bytes the elements take, `4·numel`.
    pub fn byte_len(&self) -> u64 {
        self.numel() as u64 * 4
    }

    /// The binding of exactly this tensor's bytes, for the application's own bind groups (a
    /// storage binding's offset must be a multiple of `min_storage_buffer_offset_alignment`).
    pub fn binding(&self) -> wgpu::BindingResource<'_> {
        wgpu::BindingResource::Buffer(wgpu::BufferBinding {
            buffer: &self.buffer,
            offset: self.offset,
            size: wgpu::BufferSize::new(self.byte_len()),
        })
    }

    /// The same bytes under another shape with the same element count.
    pub fn reshape(&self, shape: impl Into<Vec<usize>>) -> Result<Self> {
        let shape = shape.into();
        if checked_numel(&shape)? != self.numel() {
            return Err(Error::ShapeMismatch {
                name: "GPU tensor".into(),
                actual: self.shape.clone(),
                expected: format!("reshaping to {shape:?} needs the same element count"),
            });
        }
        Ok(Self {
            buffer: self.buffer.clone(),
            offset: self.offset,
            shape,
        })
    }

    /// Reads the tensor back, blocking until the GPU has finished the work submitted so far: one
    /// staging buffer and one submit per call, for tests and scripts. In a frame loop use a
    /// [`GpuReadback`](crate::gpu::GpuReadback).
    pub fn read(&self, context: &Arc<GpuContext>) -> Result<Tensor> {
        self.require("tensor to read", wgpu::BufferUsages::COPY_SRC, None)?;
        let what = format!("reading back a GPU tensor of shape {:?}", self.shape);
        let len = self.byte_len().max(4);
        let staging = context.scoped(&what, || {
            context.create_buffer(
                "wgpu-rnn.read",
                len,
                wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
            )
        })?;
        let mut encoder = context.encoder("wgpu-rnn.read");
        if self.byte_len() > 0 {
            encoder.copy_buffer_to_buffer(&self.buffer, self.offset, &staging, 0, self.byte_len());
        }
        let mut data = context.submit_and_read(&what, encoder, &staging, len)?;
        data.truncate(self.numel());
        Tensor::new(self.shape.clone(), data)
    }

    /// Checks the usage flags and, when given, the shape this argument needs.
    pub(crate) fn require(
        &self,
        name: &str,
        usage: wgpu::BufferUsages,
        shape: Option<&[usize]>,
    ) -> Result<()> {
        if let Some(shape) = shape
            && shape != self.shape.as_slice()
        {
            return Err(Error::ShapeMismatch {
                name: name.into(),
                actual: self.shape.clone(),
                expected: format!("{shape:?} is needed"),
            });
        }
        let have = self.buffer.usage();
        if !have.contains(usage) {
            return Err(Error::BadBuffer {
                name: name.into(),
                reason: format!(
                    "its buffer has usage {have:?} but needs {usage:?} (allocate it with at least \
                     {:?}, or GpuTensor::USAGE)",
                    have | usage
                ),
            });
        }
        Ok(())
    }
}
