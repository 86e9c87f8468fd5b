//! Asynchronous readback for frame loops: [`GpuReadback`] owns one staging buffer (allocated
//! once); [`GpuReadback::encode`] records a copy of a [`GpuTensor`] into it in the application's
//! command encoder and returns a [`GpuRead`], a future that resolves to the tensor once the
//! application has submitted that encoder and the GPU has finished it.
//!
//! Nothing here blocks or submits. The mapping is requested with
//! `CommandEncoder::map_buffer_on_submit`, and its callback fires during a later `device.poll`
//! ([`GpuContext::poll`], once per frame) or `queue.submit`; the callback sends on a
//! `futures-intrusive` oneshot channel that the future awaits. A frame loop calls
//! [`GpuRead::try_take`] each frame; async code awaits the [`GpuRead`]; scripts call
//! [`GpuRead::wait`].

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use crate::error::{Error, Result};
use crate::gpu::context::GpuContext;
use crate::gpu::tensor::GpuTensor;
use crate::tensor::Tensor;

/// Where a staging buffer is in its cycle.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Slot {
    /// Free for the next [`GpuReadback::encode`].
    Idle,
    /// Copy recorded, mapping requested for when the encoder is submitted.
    InFlight {
        /// The [`GpuRead`] was dropped: nobody will consume the data.
        abandoned: bool,
    },
    /// Mapped, data waiting for its [`GpuRead`].
    Mapped {
        /// The [`GpuRead`] was dropped: unmap on the next encode.
        abandoned: bool,
    },
}

/// A reusable readback slot: one `MAP_READ` staging buffer for tensors of up to `capacity`
/// elements. One read at a time per slot; a frame loop that keeps several reads in flight keeps
/// several slots (a ring of 2 or 3 covers the usual latency of one or two frames).
#[derive(Debug)]
pub struct GpuReadback {
    context: Arc<GpuContext>,
    staging: wgpu::Buffer,
    capacity: usize,
    slot: Arc<Mutex<Slot>>,
}

impl GpuReadback {
    /// A slot for tensors of up to `capacity` elements (one buffer, counted in
    /// [`GpuContext::buffer_count`]).
    pub fn new(context: &Arc<GpuContext>, capacity: usize) -> Result<Self> {
        let bytes = (capacity.max(1) as u64).saturating_mul(4);
        let staging = context.create_checked_buffer(
            &format!("a readback of {capacity} elements"),
            "wgpu-rnn.readback",
            bytes,
            wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
        )?;
        Ok(Self {
            context: Arc::clone(context),
            staging,
            capacity,
            slot: Arc::new(Mutex::new(Slot::Idle)),
        })
    }

    /// Elements it can read at once.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Whether [`GpuReadback::encode`] would accept a new read now.
    pub fn is_idle(&self) -> bool {
        matches!(
            *lock(&self.slot),
            Slot::Idle | Slot::Mapped { abandoned: true }
        )
    }

    /// Records a copy of `src` (whose buffer needs `COPY_SRC`) into the staging buffer and asks
    /// for it to be mapped when `encoder` is submitted. Returns the future of its contents: it
    /// resolves after the application submits `encoder` and polls the device
    /// ([`GpuContext::poll`]) once the GPU is done. [`Error::ReadbackBusy`] while an earlier read
    /// of this slot is still pending.
    pub fn encode(&self, encoder: &mut wgpu::CommandEncoder, src: &GpuTensor) -> Result<GpuRead> {
        src.require("readback source", wgpu::BufferUsages::COPY_SRC, None)?;
        if src.numel() > self.capacity {
            return Err(Error::ShapeMismatch {
                name: "readback source".into(),
                actual: src.shape().to_vec(),
                expected: format!("this GpuReadback holds at most {} elements", self.capacity),
            });
        }
        self.context.check_alive()?;
        {
            let mut slot = lock(&self.slot);
            match *slot {
                Slot::Idle => {}
                Slot::Mapped { abandoned: true } => self.staging.unmap(),
                Slot::InFlight { .. } | Slot::Mapped { abandoned: false } => {
                    return Err(Error::ReadbackBusy);
                }
            }
            *slot = Slot::InFlight { abandoned: false };
        }
        let len = src.byte_len().max(4);
        if src.byte_len() > 0 {
            encoder.copy_buffer_to_buffer(src.buffer(), src.offset(), &self.staging, 0, len);
        }
        let (sender, receiver) = futures_intrusive::channel::shared::oneshot_channel();
        let notifier = Notifier {
            sender,
            slot: Arc::clone(&self.slot),
            fired: false,
        };
        encoder.map_buffer_on_submit(&self.staging, wgpu::MapMode::Read, ..len, move |r| {
            notifier.fire(r)
        });
        let receive: Pin<Box<dyn Future<Output = Option<MapResult>> + Send>> =
            Box::pin(async move { receiver.receive().await });
        Ok(GpuRead {
            context: Arc::clone(&self.context),
            staging: self.staging.clone(),
            slot: Arc::clone(&self.slot),
            shape: src.shape().to_vec(),
            receive: Mutex::new(receive),
            done: false,
        })
    }
}

type MapResult = std::result::Result<(), wgpu::BufferAsyncError>;

fn lock(slot: &Mutex<Slot>) -> std::sync::MutexGuard<'_, Slot> {
    slot.lock().unwrap_or_else(|p| p.into_inner())
}

/// Lives in the map callback: records the slot's new state and sends the result. Dropped unfired
/// (the encoder was dropped without being submitted), it frees the slot, and the channel closes.
struct Notifier {
    sender: futures_intrusive::channel::shared::OneshotSender<MapResult>,
    slot: Arc<Mutex<Slot>>,
    fired: bool,
}

impl Notifier {
    fn fire(mut self, result: MapResult) {
        self.fired = true;
        {
            let mut slot = lock(&self.slot);
            let abandoned = matches!(*slot, Slot::InFlight { abandoned: true });
            *slot = if result.is_ok() {
                Slot::Mapped { abandoned }
            } else {
                Slot::Idle
            };
        }
        // The receiver may be gone (the read was dropped): nothing to tell then.
        let _ = self.sender.send(result);
    }
}

impl Drop for Notifier {
    fn drop(&mut self) {
        if !self.fired {
            *lock(&self.slot) = Slot::Idle;
        }
    }
}

/// A pending read of a [`GpuReadback`]: a future of the tensor (`Result<Tensor>`).
///
/// It completes only after the encoder it was recorded into has been submitted and the device
/// polled past that work. Dropping it early is fine: the slot frees itself.
pub struct GpuRead {
    context: Arc<GpuContext>,
    staging: wgpu::Buffer,
    slot: Arc<Mutex<Slot>>,
    shape: Vec<usize>,
    /// The channel's receive future (in a mutex only to make `GpuRead` `Sync`).
    receive: Mutex<Pin<Box<dyn Future<Output = Option<MapResult>> + Send>>>,
    done: bool,
}

impl std::fmt::Debug for GpuRead {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GpuRead")
            .field("shape", &self.shape)
            .field("done", &self.done)
            .finish_non_exhaustive()
    }
}

impl GpuRead {
    /// The tensor if the data has arrived, without blocking (`None`: not yet; poll the device
    /// and try again next frame). After it returned `Some`, later calls return an error.
    pub fn try_take(&mut self) -> Option<Result<Tensor>> {
        let mut cx = Context::from_waker(std::task::Waker::noop());
        match Pin::new(self).poll(&mut cx) {
            Poll::Ready(r) => Some(r),
            Poll::Pending => None,
        }
    }

    /// Blocks until the data arrives (polling the device), for scripts and tests. Fails after
    /// `60 s`, or at once when the encoder was dropped unsubmitted.
    pub fn wait(mut self) -> Result<Tensor> {
        let started = Instant::now();
        loop {
            if let Some(r) = self.try_take() {
                return r;
            }
            self.context.wait_idle(Duration::from_secs(1))?;
            if let Some(r) = self.try_take() {
                return r;
            }
            if started.elapsed() > Duration::from_secs(60) {
                return Err(Error::Gpu {
                    context: "waiting for a readback".into(),
                    message: "no data within 60 s: was the encoder holding it submitted?".into(),
                });
            }
            // Another thread's poll may be running the callback right now.
            std::thread::sleep(Duration::from_micros(200));
        }
    }

    fn finish(&mut self, result: Option<MapResult>) -> Result<Tensor> {
        self.done = true;
        let failed = |message: String| Error::Gpu {
            context: "an asynchronous readback".into(),
            message,
        };
        match result {
            None => {
                self.context.check_alive()?;
                Err(failed(
                    "the command encoder holding this read was dropped without being submitted"
                        .into(),
                ))
            }
            Some(Err(e)) => {
                self.context.check_alive()?;
                Err(failed(e.to_string()))
            }
            Some(Ok(())) => {
                let numel: usize = self.shape.iter().product();
                let bytes = (numel as u64 * 4).max(4);
                let data = self
                    .staging
                    .get_mapped_range(..bytes)
                    .map(|view| bytemuck::pod_collect_to_vec::<u8, f32>(&view))
                    .map_err(|e| failed(e.to_string()));
                self.staging.unmap();
                *lock(&self.slot) = Slot::Idle;
                let mut data = data?;
                data.truncate(numel);
                Tensor::new(self.shape.clone(), data)
            }
        }
    }
}

impl Future for GpuRead {
    type Output = Result<Tensor>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<Tensor>> {
        let this = self.get_mut();
        if this.done {
            return Poll::Ready(Err(Error::Gpu {
                context: "an asynchronous readback".into(),
                message: "polled again after it completed".into(),
            }));
        }
        let polled = this
            .receive
            .get_mut()
            .unwrap_or_else(|p| p.into_inner())
            .as_mut()
            .poll(cx);
        match polled {
            Poll::Pending => Poll::Pending,
            Poll::Ready(result) => Poll::Ready(this.finish(result)),
        }
    }
}

impl Drop for GpuRead {
    fn drop(&mut self) {
        if self.done {
            return;
        }
        let mut slot = lock(&self.slot);
        match *slot {
            Slot::InFlight { .. } => *slot = Slot::InFlight { abandoned: true },
            Slot::Mapped { .. } => {
                self.staging.unmap();
                *slot = Slot::Idle;
            }
            Slot::Idle => {}
        }
    }
}
