//! Every `shaders/*.wgsl` parses and validates with naga (no GPU needed), and agrees with the Rust
//! side: the `Params` struct, each kernel's binding list, and the `ROWS` tile constants.

use naga::valid::{Capabilities, ValidationFlags, Validator};
use naga::{AddressSpace, Expression, Literal, StorageAccess, TypeInner};
use wgpu_rnn::gpu::kernels::{
    Binding, Kernel, PARAMS_FIELDS, PROJECTION_ROWS, Params, SEQUENCE_ROWS, STEP_ROWS,
};

fn parse(kernel: Kernel) -> naga::Module {
    let module = naga::front::wgsl::parse_str(kernel.source()).unwrap_or_else(|e| {
        panic!(
            "{}.wgsl: {}",
            kernel.name(),
            e.emit_to_string(kernel.source())
        )
    });
    Validator::new(ValidationFlags::all(), Capabilities::empty())
        .validate(&module)
        .unwrap_or_else(|e| panic!("{}.wgsl does not validate: {e:?}", kernel.name()));
    module
}

#[test]
fn every_shader_file_is_a_kernel_and_validates() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("shaders");
    let mut files: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter_map(|n| n.strip_suffix(".wgsl").map(str::to_string))
        .collect();
    files.sort();
    let mut names: Vec<String> = Kernel::ALL.iter().map(|k| k.name().to_string()).collect();
    names.sort();
    assert_eq!(
        files, names,
        "shaders/ and Kernel::ALL must list the same kernels"
    );
    for kernel in Kernel::ALL {
        let on_disk = std::fs::read_to_string(dir.join(format!("{}.wgsl", kernel.name()))).unwrap();
        assert_eq!(
            on_disk,
            kernel.source(),
            "{} is embedded from its file",
            kernel.name()
        );
        assert_eq!(kernel.label(), format!("wgpu-rnn.{}", kernel.name()));
        parse(kernel);
    }
}

#[test]
fn params_struct_matches_the_rust_twin() {
    for kernel in Kernel::ALL {
        let module = parse(kernel);
        let (members, span) = module
            .types
            .iter()
            .find_map(|(_, ty)| match (&ty.name, &ty.inner) {
                (Some(name), TypeInner::Struct { members, span }) if name == "Params" => {
                    Some((members.clone(), *span))
                }
                _ => None,
            })
            .unwrap_or_else(|| panic!("{} has no struct Params", kernel.name()));
        assert_eq!(
            span as usize,
            size_of::<Params>(),
            "{} Params size",
            kernel.name()
        );
        let wgsl: Vec<(String, usize)> = members
            .iter()
            .map(|m| (m.name.clone().unwrap_or_default(), m.offset as usize))
            .collect();
        let rust: Vec<(String, usize)> = PARAMS_FIELDS
            .iter()
            .map(|&(n, o)| (n.to_string(), o))
            .collect();
        assert_eq!(wgsl, rust, "{} Params fields", kernel.name());
    }
}

#[test]
fn bindings_match_the_declared_lists() {
    for kernel in Kernel::ALL {
        let module = parse(kernel);
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
    }
}

#[test]
fn tile_constants_match() {
    for kernel in Kernel::ALL {
        let module = parse(kernel);
        let rows = module
            .constants
            .iter()
            .find(|(_, c)| c.name.as_deref() == Some("ROWS"))
            .map(|(_, c)| match module.global_expressions[c.init] {
                Expression::Literal(Literal::U32(v)) => v,
                ref other => panic!("{}: ROWS is {other:?}", kernel.name()),
            })
            .unwrap_or_else(|| panic!("{} has no const ROWS", kernel.name()));
        let want = match kernel {
            Kernel::InputProjection => PROJECTION_ROWS,
            Kernel::RnnSequence | Kernel::LstmSequence | Kernel::GruSequence => SEQUENCE_ROWS,
            _ => STEP_ROWS,
        };
        assert_eq!(rows, want, "{} ROWS", kernel.name());
    }
}
