//! Choosing an adapter from wgpu's environment variables — `WGPU_BACKEND`, `WGPU_ADAPTER_NAME`,
//! `WGPU_POWER_PREF` — as wgpu's `initialize_adapter_from_env_or_default` does, but with a typed
//! error naming the variable where wgpu would panic (a name no adapter has) or silently ignore it
//! (an unknown backend name, a backend this build of wgpu lacks, an unknown power preference).

use crate::error::{Error, Result};

/// wgpu's backend names (`Backends::from_comma_list`), each with the set it selects.
const BACKEND_NAMES: [(&str, wgpu::Backends); 10] = [
    ("vulkan", wgpu::Backends::VULKAN),
    ("vk", wgpu::Backends::VULKAN),
    ("gl", wgpu::Backends::GL),
    ("gles", wgpu::Backends::GL),
    ("opengl", wgpu::Backends::GL),
    ("metal", wgpu::Backends::METAL),
    ("mtl", wgpu::Backends::METAL),
    ("dx12", wgpu::Backends::DX12),
    ("d3d12", wgpu::Backends::DX12),
    ("webgpu", wgpu::Backends::BROWSER_WEBGPU),
];

/// A wgpu instance on the backends `WGPU_BACKEND` names (all when unset), after checking the
/// variable: an unknown name, or names only of backends this build lacks (`dx12` on Linux), is
/// [`Error::BadEnvironment`]. `WGPU_POWER_PREF` must be `low`, `high` or `none` when set.
pub fn instance_from_env() -> Result<wgpu::Instance> {
    backends_from_env()?;
    power_preference_from_env()?;
    Ok(wgpu::Instance::new(
        wgpu::InstanceDescriptor::new_without_display_handle_from_env(),
    ))
}

/// The adapter wgpu's environment variables select, on `backends` when given (then
/// `WGPU_BACKEND` is not read), else on those `WGPU_BACKEND` names: the first whose name contains
/// `WGPU_ADAPTER_NAME` (case-insensitive) when that is set, else wgpu's default for
/// `WGPU_POWER_PREF`. Every way this can fail is an error, never a panic: a name no adapter has
/// is [`Error::BadEnvironment`] listing the adapters there are; no adapter at all is
/// [`Error::DeviceUnavailable`].
pub fn adapter_from_env(backends: Option<wgpu::Backends>) -> Result<wgpu::Adapter> {
    let mut desc = wgpu::InstanceDescriptor::new_without_display_handle_from_env();
    match backends {
        Some(backends) => desc.backends = backends,
        None => drop(backends_from_env()?),
    }
    let power_preference = power_preference_from_env()?;
    let instance = wgpu::Instance::new(desc);
    let on = match backends {
        Some(b) => format!(" for {}", backend_list(b)),
        None => std::env::var("WGPU_BACKEND")
            .map(|v| format!(" for WGPU_BACKEND={v} (unset it to try every backend)"))
            .unwrap_or_default(),
    };
    if let Ok(name) = std::env::var("WGPU_ADAPTER_NAME") {
        let adapters = pollster::block_on(instance.enumerate_adapters(wgpu::Backends::all()));
        let wanted = name.to_lowercase();
        let names: Vec<String> = adapters
            .iter()
            .map(|a| {
                let info = a.get_info();
                format!("'{}' ({:?})", info.name, info.backend)
            })
            .collect();
        return adapters
            .into_iter()
            .find(|a| a.get_info().name.to_lowercase().contains(&wanted))
            .ok_or_else(|| Error::BadEnvironment {
                variable: "WGPU_ADAPTER_NAME".into(),
                value: name,
                reason: if names.is_empty() {
                    format!("no adapter{on} to match it; unset it")
                } else {
                    format!(
                        "matches none of the adapters{on}: {}; unset it or give part of one of those names",
                        names.join(", ")
                    )
                },
            });
    }
    pollster::block_on(instance.request_adapter(&wgpu::RequestAdapterOptions {
        power_preference,
        ..Default::default()
    }))
    .map_err(|e| Error::DeviceUnavailable(format!("no GPU adapter{on}: {e}")))
}

/// The backends `WGPU_BACKEND` names (`None` when unset), refusing names wgpu does not know and a
/// list whose backends this build of wgpu all lacks.
fn backends_from_env() -> Result<Option<wgpu::Backends>> {
    let Ok(value) = std::env::var("WGPU_BACKEND") else {
        return Ok(None);
    };
    let bad = |reason: String| Error::BadEnvironment {
        variable: "WGPU_BACKEND".into(),
        value: value.clone(),
        reason,
    };
    let mut backends = wgpu::Backends::empty();
    for name in value.to_lowercase().split(',').map(str::trim) {
        match BACKEND_NAMES.iter().find(|(n, _)| *n == name) {
            Some(&(_, b)) => backends |= b,
            None => {
                return Err(bad(format!(
                    "unknown backend name '{name}'; wgpu knows {} (this build has {}); fix or unset it",
                    backend_list(wgpu::Backends::all()),
                    backend_list(built_backends())
                )));
            }
        }
    }
    if (backends & built_backends()).is_empty() {
        return Err(bad(format!(
            "this build of wgpu on {} has no {} backend, only {}; set one of those or unset it",
            std::env::consts::OS,
            backend_list(backends),
            backend_list(built_backends())
        )));
    }
    Ok(Some(backends))
}

/// `WGPU_POWER_PREF` (`low`, `high`, `none`), wgpu's default when unset.
fn power_preference_from_env() -> Result<wgpu::PowerPreference> {
    match std::env::var("WGPU_POWER_PREF") {
        Err(_) => Ok(wgpu::PowerPreference::default()),
        Ok(value) => wgpu::PowerPreference::from_env().ok_or(Error::BadEnvironment {
            variable: "WGPU_POWER_PREF".into(),
            value,
            reason: "expected low, high or none; fix or unset it".into(),
        }),
    }
}

/// The GPU backends compiled into this build of wgpu.
fn built_backends() -> wgpu::Backends {
    wgpu::Instance::enabled_backend_features()
        & (wgpu::Backends::VULKAN
            | wgpu::Backends::GL
            | wgpu::Backends::METAL
            | wgpu::Backends::DX12
            | wgpu::Backends::BROWSER_WEBGPU)
}

/// "vulkan, gl": the first name of each backend in `backends`.
fn backend_list(backends: wgpu::Backends) -> String {
    let mut names = Vec::new();
    let mut seen = wgpu::Backends::empty();
    for (name, b) in BACKEND_NAMES {
        if backends.contains(b) && !seen.contains(b) {
            names.push(name);
            seen |= b;
        }
    }
    if names.is_empty() {
        "none".into()
    } else {
        names.join(", ")
    }
}
