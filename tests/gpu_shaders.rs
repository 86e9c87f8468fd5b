//! The WGSL kernels without a GPU: every file in `shaders/` is a kernel or a shared part, every
//! kernel is composed of whole files (its parts, then its own file), and each composed kernel
//! validates with naga, alone and with every set of `override` values the plans use
//! ([`all_variants`]). The Rust side agrees with the WGSL side: `Params` (declared once, in
//! `params.wgsl`), each kernel's binding list, and the `ROWS` tile constants.

use std::collections::BTreeSet;

use naga::valid::{Capabilities, ValidationFlags, Validator};
use naga::{AddressSpace, Expression, Literal, StorageAccess, TypeInner};
use wgpu_rnn::gpu::kernels::{
    Binding, Kernel, PARAMS_FIELDS, PROJECTION_ROWS, Params, Part, SEQUENCE_ROWS, STEP_ROWS,
    all_variants,
};

fn validate(name: &str, source: &str) -> (naga::Module, naga::valid::ModuleInfo) {
    let module = naga::front::wgsl::parse_str(source)
        .unwrap_or_else(|e| panic!("{name}: {}", e.emit_to_string(source)));
    let info = Validator::new(ValidationFlags::all(), Capabilities::empty())
        .validate(&module)
        .unwrap_or_else(|e| panic!("{name} does not validate: {}", e.emit_to_string(source)));
    (module, info)
}

fn parse(kernel: Kernel) -> naga::Module {
    validate(kernel.name(), &kernel.source()).0
}

fn shader_file(name: &str) -> String {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("shaders")
        .join(format!("{name}.wgsl"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn every_shader_file_is_a_kernel_or_a_part_and_every_part_is_used() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("shaders");
    let files: BTreeSet<String> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter_map(|n| n.strip_suffix(".wgsl").map(str::to_string))
        .collect();
    let kernels = Kernel::ALL.iter().map(|k| k.name().to_string());
    let parts = Part::ALL.iter().map(|p| p.name().to_string());
    let declared: BTreeSet<String> = kernels.chain(parts).collect();
    assert_eq!(
        files, declared,
        "shaders/ holds exactly the files of Kernel::ALL and Part::ALL"
    );
    for part in Part::ALL {
        assert!(
            Kernel::ALL.iter().any(|k| k.parts().contains(&part)),
            "{} is composed into no kernel",
            part.name()
        );
    }
    for kernel in Kernel::ALL {
        assert_eq!(kernel.label(), format!("wgpu-rnn.{}", kernel.name()));
    }
}

/// What wgpu compiles is the kernel's parts and its own file, whole and in order, as they are on
/// disk: no text is substituted inside a file. Every kernel starts with the weight type, the
/// prelude and `Params`, so a kernel file that repeated a shared declaration would not validate
/// (naga refuses a name declared twice).
#[test]
fn each_kernel_is_its_parts_then_its_own_file() {
    for kernel in Kernel::ALL {
        let parts = kernel.parts();
        assert_eq!(
            parts[..3],
            [Part::WeightsF32, Part::Prelude, Part::Params],
            "{} starts with the weight type, the prelude and Params",
            kernel.name()
        );
        let mut want = String::new();
        for name in parts.iter().map(|p| p.name()).chain([kernel.name()]) {
            let text = shader_file(name);
            assert!(text.ends_with('\n'), "{name}.wgsl ends with a newline");
            want.push_str(&text);
        }
        assert_eq!(kernel.source(), want, "{}", kernel.name());
        assert_eq!(kernel.file_source(), shader_file(kernel.name()));
        parse(kernel);
    }
}

/// `Params` is declared once, in `params.wgsl`, and matches the Rust struct.
#[test]
fn params_struct_matches_the_rust_twin() {
    let prelude: String = [Part::WeightsF32, Part::Prelude, Part::Params]
        .iter()
        .map(|p| p.source())
        .collect();
    let (module, _) = validate("params", &prelude);
    let (members, span) = module
        .types
        .iter()
        .find_map(|(_, ty)| match (&ty.name, &ty.inner) {
            (Some(name), TypeInner::Struct { members, span }) if name == "Params" => {
                Some((members.clone(), *span))
            }
            _ => None,
        })
        .expect("params.wgsl declares struct Params");
    assert_eq!(span as usize, size_of::<Params>(), "Params size");
    let wgsl: Vec<(String, usize)> = members
        .iter()
        .map(|m| (m.name.clone().unwrap_or_default(), m.offset as usize))
        .collect();
    let rust: Vec<(String, usize)> = PARAMS_FIELDS
        .iter()
        .map(|&(n, o)| (n.to_string(), o))
        .collect();
    assert_eq!(wgsl, rust, "Params fields");
    for name in Kernel::ALL.iter().map(|k| k.name()) {
        assert!(
            !shader_file(name).contains("struct Params"),
            "{name}.wgsl declares its own Params"
        );
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
            Kernel::RnnStep | Kernel::LstmStep | Kernel::GruStep | Kernel::LstmProjection => {
                STEP_ROWS
            }
            Kernel::RnnSequence | Kernel::LstmSequence | Kernel::GruSequence => SEQUENCE_ROWS,
        };
        assert_eq!(rows, want, "{} ROWS", kernel.name());
    }
}

/// Every pipeline the plans build, over the catalogue of models and adapters of [`all_variants`]:
/// its constants name exactly the kernel's overrides (none left to a WGSL default), and naga
/// validates the kernel with those values substituted (array sizes from `HBUF`, workgroup sizes,
/// the code paths each flag selects). Every kernel is covered, every flag both ways, every
/// register block.
#[test]
fn every_variant_the_plans_use_validates_with_its_overrides() {
    let variants = all_variants();
    let mut seen = BTreeSet::new();
    for variant in &variants {
        let kernel = variant.kernel;
        let (module, info) = validate(kernel.name(), &kernel.source());
        let overrides: BTreeSet<&str> = module
            .overrides
            .iter()
            .filter_map(|(_, o)| o.name.as_deref())
            .collect();
        let given: BTreeSet<&str> = variant.constants.iter().map(|&(n, _)| n).collect();
        assert_eq!(given, overrides, "{variant:?}: constants vs overrides");
        let mut constants = naga::back::PipelineConstants::default();
        for &(name, value) in &variant.constants {
            constants.insert(name.to_string(), value);
            seen.insert((kernel.name(), name, value.to_bits()));
        }
        naga::back::pipeline_constants::process_overrides(
            &module,
            &info,
            Some((naga::ShaderStage::Compute, "main")),
            &constants,
        )
        .unwrap_or_else(|e| panic!("{variant:?}: {e}"));
    }
    for kernel in Kernel::ALL {
        assert!(
            variants.iter().any(|v| v.kernel == kernel),
            "{} is in no variant",
            kernel.name()
        );
    }
    let has = |kernel: Kernel, name: &str, value: f64| {
        seen.contains(&(kernel.name(), name, value.to_bits()))
    };
    for flag in [0.0, 1.0] {
        assert!(has(Kernel::RnnStep, "RELU", flag));
        assert!(has(Kernel::RnnSequence, "RELU", flag));
        assert!(has(Kernel::LstmStep, "PROJ", flag));
        assert!(has(Kernel::LstmSequence, "PROJ", flag));
        for kernel in [
            Kernel::RnnSequence,
            Kernel::LstmSequence,
            Kernel::GruSequence,
        ] {
            assert!(
                has(kernel, "CACHE_W", flag),
                "{} CACHE_W {flag}",
                kernel.name()
            );
            for rb in [1, 2, 4, SEQUENCE_ROWS] {
                assert!(
                    has(kernel, "RB", f64::from(rb)),
                    "{} RB {rb}",
                    kernel.name()
                );
            }
        }
    }
}
