//! `wgpu-rnn info`: the adapters wgpu sees.

use wgpu_rnn::Error;
use wgpu_rnn::gpu::adapter::instance_from_env;

/// Prints one line per adapter: name, backend, device type, driver. A `WGPU_BACKEND` naming no
/// backend of this build is refused; with none found, the hint names the cause that applies:
/// `WGPU_BACKEND` restricting the search, or missing drivers.
pub fn print_adapters() -> Result<(), Error> {
    let instance = instance_from_env()?;
    let adapters = pollster::block_on(instance.enumerate_adapters(wgpu::Backends::all()));
    if adapters.is_empty() {
        let reason = match std::env::var("WGPU_BACKEND") {
            Ok(value) => format!(
                "wgpu sees no adapter for WGPU_BACKEND={value}; unset it to look on every backend"
            ),
            Err(_) if cfg!(target_os = "linux") => "wgpu sees no adapter (on Linux without a GPU, install Mesa: mesa-vulkan-drivers for Vulkan, libegl-mesa0 for GL)".into(),
            Err(_) => "wgpu sees no adapter: install or update the GPU's driver".into(),
        };
        return Err(Error::DeviceUnavailable(reason));
    }
    for adapter in adapters {
        let i = adapter.get_info();
        println!(
            "{} | backend {:?} | type {:?} | driver {} {}",
            i.name, i.backend, i.device_type, i.driver, i.driver_info
        );
    }
    Ok(())
}
