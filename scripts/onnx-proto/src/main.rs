//! Writes `src/onnx/proto.rs`: ONNX's protobuf messages (`proto/onnx.proto`, copied from the
//! `onnx` Python package) as prost structs. Run from anywhere; paths are relative to this crate.

use std::path::Path;

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let proto_dir = root.join("proto");
    let files = protox::compile(["onnx.proto"], [&proto_dir]).expect("proto/onnx.proto compiles");
    let out = tempdir(&root);
    prost_build::Config::new()
        .out_dir(&out)
        .compile_fds(files)
        .expect("prost-build writes the messages");
    let generated = std::fs::read_to_string(out.join("onnx.rs")).expect("prost-build wrote onnx.rs");
    let target = root.join("src/onnx/proto.rs");
    std::fs::write(&target, generated).expect("src/onnx/proto.rs is writable");
    std::fs::remove_dir_all(&out).ok();
    println!("wrote {}", target.display());
}

fn tempdir(root: &Path) -> std::path::PathBuf {
    let dir = root.join("target/onnx-proto-gen");
    std::fs::create_dir_all(&dir).expect("target/ is writable");
    dir
}
