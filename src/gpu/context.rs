//! The GPU device a model runs on: instance, adapter and device creation (honouring wgpu's
//! environment variables), error capture, the one `device.poll` call, the one readback helper, and
//! the counters (submissions, buffers created) the tests use to prove the host layer's behaviour.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use crate::error::{Error, Result};

/// A wgpu device and queue that models run on.
///
/// Create one with [`GpuContext::new`] (adapter chosen by `WGPU_BACKEND`, `WGPU_ADAPTER_NAME`,
/// `WGPU_POWER_PREF`), [`GpuContext::with_backends`], or wrap an application's device with
/// [`GpuContext::from_device`]. Share it between models with an `Arc`.
pub struct GpuContext {
    device: wgpu::Device,
    queue: wgpu::Queue,
    info: wgpu::AdapterInfo,
    limits: wgpu::Limits,
    submissions: AtomicU64,
    buffers_created: AtomicU64,
    bind_groups_created: AtomicU64,
    pipelines_created: AtomicU64,
    /// Why the device is unusable: set by the device-lost callback (on a device this context
    /// created) or by a failed wait.
    lost: Arc<Mutex<Option<String>>>,
}

impl std::fmt::Debug for GpuContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GpuContext")
            .field("adapter", &self.info.name)
            .field("backend", &self.info.backend)
            .finish_non_exhaustive()
    }
}

/// Storage buffers the kernels bind at most in one dispatch (see `kernels.rs`).
pub(crate) const NEEDED_STORAGE_BUFFERS: u32 = 7;

impl GpuContext {
    /// A context on the adapter wgpu's environment variables select: `WGPU_BACKEND` (e.g.
    /// `vulkan`, `gl`), `WGPU_ADAPTER_NAME` (substring), `WGPU_POWER_PREF` (`low`/`high`);
    /// any backend when unset. A variable no adapter satisfies is [`Error::BadEnvironment`].
    pub fn new() -> Result<Self> {
        Self::from_adapter(&super::adapter::adapter_from_env(None)?)
    }

    /// A context on the first adapter of `backends` (`WGPU_ADAPTER_NAME` and `WGPU_POWER_PREF`
    /// still apply; `WGPU_BACKEND` does not).
    pub fn with_backends(backends: wgpu::Backends) -> Result<Self> {
        Self::from_adapter(&super::adapter::adapter_from_env(Some(backends))?)
    }

    /// A context on `adapter`, requesting the adapter's limits (so that buffers and dispatch grids
    /// may be as large as the hardware allows).
    pub fn from_adapter(adapter: &wgpu::Adapter) -> Result<Self> {
        let info = adapter.get_info();
        let have = adapter.limits();
        if have.max_storage_buffers_per_shader_stage < NEEDED_STORAGE_BUFFERS {
            return Err(Error::DeviceUnavailable(format!(
                "adapter {} ({:?}) allows {} storage buffers per shader stage; wgpu-rnn needs {}",
                info.name,
                info.backend,
                have.max_storage_buffers_per_shader_stage,
                NEEDED_STORAGE_BUFFERS
            )));
        }
        // The adapter's own limits: always grantable, and the largest buffers and dispatch grids
        // the hardware allows.
        let limits = have;
        // Timestamp queries where the adapter has them (GPU time in `wgpu-rnn bench`).
        let features = adapter.features() & wgpu::Features::TIMESTAMP_QUERY;
        let (device, queue) = pollster::block_on(adapter.request_device(&wgpu::DeviceDescriptor {
            label: Some("wgpu-rnn"),
            required_features: features,
            required_limits: limits,
            experimental_features: wgpu::ExperimentalFeatures::disabled(),
            memory_hints: wgpu::MemoryHints::Performance,
            trace: wgpu::Trace::Off,
        }))
        .map_err(|e| {
            Error::DeviceUnavailable(format!(
                "{} ({:?}) refused a device: {e}",
                info.name, info.backend
            ))
        })?;
        let context = Self::wrap(device, queue, info);
        // This context owns the device, so it installs the device-lost callback. (No uncaptured-
        // error handler: everything this crate does runs inside error scopes.)
        let lost = Arc::clone(&context.lost);
        context
            .device
            .set_device_lost_callback(move |reason, message| {
                let mut slot = lost.lock().unwrap_or_else(|p| p.into_inner());
                *slot = Some(format!("{reason:?}: {message}"));
            });
        Ok(context)
    }

    /// Wraps an application's existing device and queue. Its limits must allow the models' buffers
    /// (checked per model and per call, as [`Error::TooLarge`]).
    ///
    /// The application keeps its own device-lost callback: this context does not replace it. Every operation it performs runs inside error scopes, and a device that
    /// stops answering comes back as [`Error::DeviceLost`].
    pub fn from_device(device: wgpu::Device, queue: wgpu::Queue) -> Self {
        let info = device.adapter_info();
        Self::wrap(device, queue, info)
    }

    fn wrap(device: wgpu::Device, queue: wgpu::Queue, info: wgpu::AdapterInfo) -> Self {
        let lost = Arc::new(Mutex::new(None));
        let limits = device.limits();
        Self {
            device,
            queue,
            info,
            limits,
            submissions: AtomicU64::new(0),
            buffers_created: AtomicU64::new(0),
            bind_groups_created: AtomicU64::new(0),
            pipelines_created: AtomicU64::new(0),
            lost,
        }
    }

    /// The device.
    pub fn device(&self) -> &wgpu::Device {
        &self.device
    }

    /// The queue.
    pub fn queue(&self) -> &wgpu::Queue {
        &self.queue
    }

    /// The adapter's name, backend, device type and driver.
    pub fn adapter_info(&self) -> &wgpu::AdapterInfo {
        &self.info
    }

    /// The device's limits.
    pub fn limits(&self) -> &wgpu::Limits {
        &self.limits
    }

    /// Whether the device can time passes with timestamp queries (`TIMESTAMP_QUERY`).
    pub fn has_timestamps(&self) -> bool {
        self.device
            .features()
            .contains(wgpu::Features::TIMESTAMP_QUERY)
    }

    /// Command buffers submitted through this context so far (one per forward).
    pub fn submission_count(&self) -> u64 {
        self.submissions.load(Ordering::Relaxed)
    }

    /// Buffers created through this context so far (weights at model creation, then one set per
    /// new call shape).
    pub fn buffer_count(&self) -> u64 {
        self.buffers_created.load(Ordering::Relaxed)
    }

    /// Bind groups created through this context so far (per model call shape, stream and step
    /// count; never per call once warm).
    pub fn bind_group_count(&self) -> u64 {
        self.bind_groups_created.load(Ordering::Relaxed)
    }

    /// Compute pipelines created through this context so far (per model, at [`GpuModel::new`]).
    ///
    /// [`GpuModel::new`]: crate::GpuModel::new
    pub fn pipeline_count(&self) -> u64 {
        self.pipelines_created.load(Ordering::Relaxed)
    }

    /// Counts `n` pipelines just built on this context's device.
    pub(crate) fn count_pipelines(&self, n: u64) {
        self.pipelines_created.fetch_add(n, Ordering::Relaxed);
    }

    /// Creates a bind group (counted in [`GpuContext::bind_group_count`]).
    pub(crate) fn create_bind_group(
        &self,
        desc: &wgpu::BindGroupDescriptor<'_>,
    ) -> wgpu::BindGroup {
        self.bind_groups_created.fetch_add(1, Ordering::Relaxed);
        self.device.create_bind_group(desc)
    }

    /// Polls the device without blocking: fires the callbacks of finished work, such as the
    /// readbacks of [`GpuReadback`](crate::gpu::GpuReadback). An application that runs a frame
    /// loop calls this (or `device.poll(wgpu::PollType::Poll)` itself) once per frame.
    pub fn poll(&self) -> Result<()> {
        self.poll_mode(wgpu::PollType::Poll)
    }

    /// Blocks until all work submitted to the queue so far has finished (at most `timeout`).
    pub(crate) fn wait_idle(&self, timeout: std::time::Duration) -> Result<()> {
        self.poll_mode(wgpu::PollType::Wait {
            submission_index: None,
            timeout: Some(timeout),
        })
    }

    /// Fails with [`Error::DeviceLost`] once the device is gone.
    pub(crate) fn check_alive(&self) -> Result<()> {
        let slot = self.lost.lock().unwrap_or_else(|p| p.into_inner());
        match &*slot {
            Some(message) => Err(Error::DeviceLost(message.clone())),
            None => Ok(()),
        }
    }

    /// Runs `f` inside validation and out-of-memory error scopes; any error they catch (or a lost
    /// device) comes back as an [`Error`] naming `context`.
    pub(crate) fn scoped<T>(&self, context: &str, f: impl FnOnce() -> T) -> Result<T> {
        self.check_alive()?;
        let internal = self.device.push_error_scope(wgpu::ErrorFilter::Internal);
        let oom = self.device.push_error_scope(wgpu::ErrorFilter::OutOfMemory);
        let validation = self.device.push_error_scope(wgpu::ErrorFilter::Validation);
        let value = f();
        let validation = pollster::block_on(validation.pop());
        let oom = pollster::block_on(oom.pop());
        let internal = pollster::block_on(internal.pop());
        self.check_alive()?;
        if let Some(e) = oom {
            return Err(Error::GpuOutOfMemory {
                context: context.into(),
                message: e.to_string(),
            });
        }
        if let Some(e) = validation.or(internal) {
            return Err(Error::Gpu {
                context: context.into(),
                message: e.to_string(),
            });
        }
        Ok(value)
    }

    /// Creates a buffer (counted in [`GpuContext::buffer_count`]).
    pub(crate) fn create_buffer(
        &self,
        label: &str,
        size: u64,
        usage: wgpu::BufferUsages,
    ) -> wgpu::Buffer {
        self.buffers_created.fetch_add(1, Ordering::Relaxed);
        self.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some(label),
            size,
            usage,
            mapped_at_creation: false,
        })
    }

    /// Creates a standalone buffer of `bytes` after checking them against `max_buffer_size`
    /// ([`Error::TooLarge`] naming `what`), inside an error scope (counted in
    /// [`GpuContext::buffer_count`]). For buffers a [`Plan`](crate::gpu::plan::Plan) has not sized.
    pub(crate) fn create_checked_buffer(
        &self,
        what: &str,
        label: &str,
        bytes: u64,
        usage: wgpu::BufferUsages,
    ) -> Result<wgpu::Buffer> {
        let limit = self.limits.max_buffer_size;
        if bytes > limit {
            return Err(Error::TooLarge {
                what: what.to_string(),
                bytes: u128::from(bytes),
                limit: u128::from(limit),
            });
        }
        self.scoped(&format!("allocating {what}"), || {
            self.create_buffer(label, bytes, usage)
        })
    }

    /// Creates a buffer holding `data` (counted in [`GpuContext::buffer_count`]); the data lands
    /// with the next submit. (Not `create_buffer_init`: its mapping panics on a lost device.)
    pub(crate) fn create_buffer_with(
        &self,
        label: &str,
        data: &[u8],
        usage: wgpu::BufferUsages,
    ) -> wgpu::Buffer {
        let buffer = self.create_buffer(
            label,
            data.len() as u64,
            usage | wgpu::BufferUsages::COPY_DST,
        );
        self.queue.write_buffer(&buffer, 0, data);
        buffer
    }

    /// Submits `encoder` (counted in [`GpuContext::submission_count`]) without waiting.
    pub(crate) fn submit(&self, context: &str, encoder: wgpu::CommandEncoder) -> Result<()> {
        self.scoped(context, || {
            self.queue.submit([encoder.finish()]);
            self.submissions.fetch_add(1, Ordering::Relaxed);
        })
    }

    /// A command encoder labelled `label`.
    pub(crate) fn encoder(&self, label: &str) -> wgpu::CommandEncoder {
        self.device
            .create_command_encoder(&wgpu::CommandEncoderDescriptor { label: Some(label) })
    }

    /// Submits `encoder` (counted in [`GpuContext::submission_count`]), waits for it, and reads
    /// `staging` (a `MAP_READ` buffer the encoder copied results into) back as `f32`s.
    ///
    /// The one readback path: submit, map, poll, cast, unmap.
    pub(crate) fn submit_and_read(
        &self,
        context: &str,
        encoder: wgpu::CommandEncoder,
        staging: &wgpu::Buffer,
        len: u64,
    ) -> Result<Vec<f32>> {
        let (sender, receiver) = std::sync::mpsc::channel();
        let index = self.scoped(context, || {
            let index = self.queue.submit([encoder.finish()]);
            self.submissions.fetch_add(1, Ordering::Relaxed);
            staging
                .slice(..len)
                .map_async(wgpu::MapMode::Read, move |r| drop(sender.send(r)));
            index
        })?;
        self.poll_mode(wgpu::PollType::Wait {
            submission_index: Some(index),
            timeout: None,
        })?;
        // The map callback runs on whichever thread's poll completed the mapping: when another
        // thread polled this device meanwhile, it may fire just after our wait returns.
        let failed = |message: String| Error::Gpu {
            context: format!("reading back the results of {context}"),
            message,
        };
        let started = std::time::Instant::now();
        loop {
            match receiver.recv_timeout(std::time::Duration::from_millis(1)) {
                Ok(Ok(())) => break,
                Ok(Err(e)) => return Err(failed(e.to_string())),
                Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => {
                    self.check_alive()?;
                    return Err(failed("the mapping was dropped before it completed".into()));
                }
                Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {
                    self.check_alive()?;
                    if started.elapsed() > std::time::Duration::from_secs(60) {
                        return Err(failed("the mapping did not complete within 60 s".into()));
                    }
                    self.poll_mode(wgpu::PollType::Poll)?;
                }
            }
        }
        let data = staging
            .slice(..len)
            .get_mapped_range()
            .map(|view| bytemuck::pod_collect_to_vec::<u8, f32>(&view))
            .map_err(|e| failed(e.to_string()));
        staging.unmap();
        data
    }

    /// Polls the device (`Wait` blocks until a submission has finished). The only `device.poll`
    /// call of the crate.
    fn poll_mode(&self, mode: wgpu::PollType) -> Result<()> {
        self.device.poll(mode).map(drop).map_err(|e| {
            self.check_alive().err().unwrap_or_else(|| {
                // A device that cannot be waited on is as good as lost: later calls fail fast.
                let message = format!("waiting for the GPU failed: {e}");
                let mut slot = self.lost.lock().unwrap_or_else(|p| p.into_inner());
                slot.get_or_insert_with(|| message.clone());
                Error::DeviceLost(message)
            })
        })
    }
}
