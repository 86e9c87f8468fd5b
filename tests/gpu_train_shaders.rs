//! Every `shaders/train/*.wgsl` kernel parses and validates with naga (no GPU needed), and agrees
//! with the Rust side: its uniform struct, its binding list, and the workgroup constants.

use naga::valid::{Capabilities, ValidationFlags, Validator};
use naga::{AddressSpace, StorageAccess, TypeInner};
use wgpu_rnn::gpu::kernels::Binding;
use wgpu_rnn::gpu::train::kernels::{
    GEMM_FIELDS, Gemm, LOSS_PARAMS_FIELDS, LossParams, OPT_PARAMS_FIELDS, OptParams,
    TRAIN_PARAMS_FIELDS, TrainKernel, TrainParams, TrainPart,
};

fn parse(kernel: TrainKernel) -> naga::Module {
    let source = kernel.source();
    let module = naga::front::wgsl::parse_str(&source)
        .unwrap_or_else(|e| panic!("{}.wgsl: {}", kernel.name(), e.emit_to_string(&source)));
    Validator::new(ValidationFlags::all(), Capabilities::empty())
        .validate(&module)
        .unwrap_or_else(|e| panic!("{}.wgsl does not validate: {e:?}", kernel.name()));
    module
}

#[test]
fn every_training_shader_file_is_a_kernel_or_a_part_and_validates() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("shaders/train");
    let mut files: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter_map(|n| n.strip_suffix(".wgsl").map(str::to_string))
        .collect();
    files.sort();
    let mut names: Vec<String> = TrainKernel::ALL
        .iter()
        .map(|k| k.name().to_string())
        // The prelude is shared with the forward kernels: it lives in shaders/.
        .chain(
            TrainPart::ALL
                .iter()
                .filter(|&&p| p != TrainPart::Prelude)
                .map(|p| p.name().to_string()),
        )
        .collect();
    names.sort();
    assert_eq!(
        files, names,
        "shaders/train/ lists exactly the kernels and parts"
    );
    for kernel in TrainKernel::ALL {
        let on_disk = std::fs::read_to_string(dir.join(format!("{}.wgsl", kernel.name()))).unwrap();
        assert_eq!(
            on_disk,
            kernel.file_source(),
            "{} is embedded from its file",
            kernel.name()
        );
        assert_eq!(kernel.label(), format!("wgpu-rnn.{}", kernel.name()));
        parse(kernel);
    }
}

#[test]
fn uniform_structs_and_bindings_match_the_rust_side() {
    for kernel in TrainKernel::ALL {
        let module = parse(kernel);
        let (name, fields, size): (&str, &[(&str, usize)], usize) = match kernel {
            TrainKernel::Gemm => ("Gemm", &GEMM_FIELDS, size_of::<Gemm>()),
            TrainKernel::MseLoss => ("LossParams", &LOSS_PARAMS_FIELDS, size_of::<LossParams>()),
            TrainKernel::OptimizerPrepare | TrainKernel::SgdStep | TrainKernel::AdamStep => {
                ("OptParams", &OPT_PARAMS_FIELDS, size_of::<OptParams>())
            }
            _ => (
                "TrainParams",
                &TRAIN_PARAMS_FIELDS,
                size_of::<TrainParams>(),
            ),
        };
        let (members, span) = module
            .types
            .iter()
            .find_map(|(_, ty)| match (&ty.name, &ty.inner) {
                (Some(n), TypeInner::Struct { members, span }) if n == name => {
                    Some((members.clone(), *span))
                }
                _ => None,
            })
            .unwrap_or_else(|| panic!("{} has no struct {name}", kernel.name()));
        assert_eq!(span as usize, size, "{} {name} size", kernel.name());
        let wgsl: Vec<(String, usize)> = members
            .iter()
            .map(|m| (m.name.clone().unwrap_or_default(), m.offset as usize))
            .collect();
        let rust: Vec<(String, usize)> = fields.iter().map(|&(n, o)| (n.to_string(), o)).collect();
        assert_eq!(wgsl, rust, "{} {name} fields", kernel.name());
        assert_eq!(kernel.uniform_size() as usize, size);

        let mut found: Vec<(u32, Binding)> = module
            .global_variables
            .iter()
            .filter_map(|(_, var)| {
                let binding = var.binding.as_ref()?;
                assert_eq!(binding.group, 0, "{} uses group 0 only", kernel.name());
                let kind = match var.space {
                    AddressSpace::Uniform => Binding::Params,
                    AddressSpace::Storage { access } if access.contains(StorageAccess::STORE) => {
                        Binding::ReadWrite
                    }
                    AddressSpace::Storage { .. } => Binding::Read,
                    other => panic!("{}: unexpected address space {other:?}", kernel.name()),
                };
                Some((binding.binding, kind))
            })
            .collect();
        found.sort_by_key(|&(b, _)| b);
        let declared: Vec<(u32, Binding)> = kernel
            .bindings()
            .iter()
            .enumerate()
            .map(|(i, &b)| (i as u32, b))
            .collect();
        assert_eq!(found, declared, "{} bindings", kernel.name());
        assert!(
            declared.len() <= 9,
            "{} needs at most 8 storage buffers (WebGPU's default limit)",
            kernel.name()
        );
    }
}
