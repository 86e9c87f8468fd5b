//! WebGPU in the browser.

use wasm_bindgen_test::{console_log, wasm_bindgen_test};

#[wasm_bindgen_test]
async fn the_browser_has_a_webgpu_adapter() {
    let instance = wgpu::Instance::new(wgpu::InstanceDescriptor {
        backends: wgpu::Backends::BROWSER_WEBGPU,
        ..wgpu::InstanceDescriptor::new_without_display_handle()
    });
    let adapter = instance
        .request_adapter(&wgpu::RequestAdapterOptions::default())
        .await
        .expect("no WebGPU adapter in this browser (Chromium needs --enable-unsafe-webgpu)");
    console_log!("WebGPU adapter: {:?}", adapter.get_info());
}
