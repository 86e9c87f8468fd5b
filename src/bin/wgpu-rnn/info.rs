//! `wgpu-rnn info`: the adapters wgpu sees.

use wgpu_rnn::Error;

/// Prints one line per adapter: name, backend, device type, driver.
pub fn print_adapters() -> Result<(), Error> {
    let instance =
        wgpu::Instance::new(wgpu::InstanceDescriptor::new_without_display_handle_from_env());
    let adapters = pollster::block_on(instance.enumerate_adapters(wgpu::Backends::all()));
    if adapters.is_empty() {
        return Err(Error::DeviceUnavailable(
            "wgpu sees no adapter (on Linux without a GPU, install Mesa: mesa-vulkan-drivers for Vulkan, libegl-mesa0 for GL)".into(),
        ));
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
