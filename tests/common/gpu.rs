//! The GPU test harness: one context per backend among Vulkan and GL that has an adapter (only
//! `WGPU_BACKEND`'s when it is set). With `CI` set a missing adapter fails the test; elsewhere a
//! machine without one skips the GPU tests with a loud line on stderr.
//!
//! Included with `#[path = "common/gpu.rs"] mod gpu;` by the `tests/gpu_*.rs` binaries.

#![allow(
    dead_code,
    reason = "each test binary uses a different part of this shared file"
)]

use std::sync::{Arc, OnceLock};

use wgpu_rnn::GpuContext;

/// A backend under test.
pub struct Backend {
    /// "Vulkan", "Gl", ...
    pub name: String,
    /// Its context, shared by the tests of one binary.
    pub context: Arc<GpuContext>,
}

fn wanted() -> Vec<wgpu::Backends> {
    match wgpu::Backends::from_env() {
        Some(env) => vec![env],
        None => vec![wgpu::Backends::VULKAN, wgpu::Backends::GL],
    }
}

/// Fresh contexts, one per backend under test (for tests that count submissions or buffers).
pub fn fresh_backends() -> Vec<Backend> {
    let ci = std::env::var_os("CI").is_some();
    let mut found = Vec::new();
    let mut missing = Vec::new();
    for backends in wanted() {
        match GpuContext::with_backends(backends) {
            Ok(context) => found.push(Backend {
                name: format!("{:?}", context.adapter_info().backend),
                context: Arc::new(context),
            }),
            Err(e) => missing.push(format!("{backends:?}: {e}")),
        }
    }
    if ci && !missing.is_empty() {
        panic!(
            "CI is set but these GPU backends have no usable adapter (install Mesa's lavapipe \
             and llvmpipe): {}",
            missing.join("; ")
        );
    }
    if found.is_empty() {
        say(&format!(
            "\n\n*** SKIPPED: no GPU adapter ({}): the GPU tests did not run ***\n",
            missing.join("; ")
        ));
    } else if !missing.is_empty() {
        say(&format!("note: GPU tests skip {}", missing.join("; ")));
    }
    found
}

/// Writes a line to the process's stderr, past the test harness's output capture, so CI logs show
/// which backends ran (and loudly when none did).
pub fn say(line: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr(), "{line}");
}

/// The contexts shared by the tests of this binary, one per backend under test.
pub fn backends() -> &'static [Backend] {
    static SHARED: OnceLock<Vec<Backend>> = OnceLock::new();
    SHARED.get_or_init(fresh_backends)
}

/// The seed of a randomized test: `WGPU_RNN_SEED` to replay one, else drawn from the clock so each
/// run draws fresh cases.
pub fn seed() -> u64 {
    std::env::var("WGPU_RNN_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos() as u64)
        })
}

/// The backends under test as `WGPU_BACKEND` values, for tests that run the binary.
pub fn env_names() -> Vec<&'static str> {
    backends()
        .iter()
        .map(|b| match b.context.adapter_info().backend {
            wgpu::Backend::Vulkan => "vulkan",
            wgpu::Backend::Gl => "gl",
            wgpu::Backend::Metal => "metal",
            wgpu::Backend::Dx12 => "dx12",
            other => panic!("unexpected backend {other:?}"),
        })
        .collect()
}
