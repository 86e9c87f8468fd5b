//! Reading and writing safetensors files: parse once, convert element types, write atomically.
//!
//! Everything here treats the file as untrusted: the safetensors parser checks that the header's
//! offsets fit the bytes actually present, so a header claiming absurd sizes is refused before
//! anything proportional to those sizes is allocated.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use safetensors::{Dtype, SafeTensors};

use crate::error::{Error, Result};
use crate::tensor::Tensor;

/// One tensor of a file, not yet converted.
pub(crate) struct RawTensor {
    pub dtype: Dtype,
    pub shape: Vec<usize>,
    pub bytes: Vec<u8>,
}

/// A parsed safetensors file: its tensors by name and its string metadata.
pub(crate) struct TensorFile {
    pub path: PathBuf,
    pub tensors: HashMap<String, RawTensor>,
    pub metadata: HashMap<String, String>,
}

impl TensorFile {
    /// Reads and parses `path`.
    pub fn read(path: &Path) -> Result<Self> {
        let bytes = std::fs::read(path).map_err(|source| Error::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Self::parse(path, &bytes)
    }

    /// Parses the bytes of a file; `path` only names it in errors.
    pub fn parse(path: &Path, bytes: &[u8]) -> Result<Self> {
        let bad = |reason: String| Error::BadFile {
            path: path.to_path_buf(),
            reason,
        };
        if bytes.is_empty() {
            return Err(bad("the file is empty".into()));
        }
        let file = SafeTensors::deserialize(bytes).map_err(|e| {
            if looks_like_pytorch(bytes) {
                Error::PyTorchFile {
                    path: path.to_path_buf(),
                }
            } else {
                bad(e.to_string())
            }
        })?;
        let (_, header) = SafeTensors::read_metadata(bytes).map_err(|e| bad(e.to_string()))?;
        let metadata = header.metadata().clone().unwrap_or_default();
        let tensors = file
            .iter()
            .map(|(name, view)| {
                let raw = RawTensor {
                    dtype: view.dtype(),
                    shape: view.shape().to_vec(),
                    bytes: view.data().to_vec(),
                };
                (name.to_string(), raw)
            })
            .collect();
        Ok(Self {
            path: path.to_path_buf(),
            tensors,
            metadata,
        })
    }

    /// `" in <path>"`, for error contexts.
    pub fn context(&self) -> String {
        format!(" in {}", self.path.display())
    }

    /// Removes tensor `name` and converts it to f32; F32, F64, F16 and BF16 are accepted.
    pub fn take_f32(&mut self, name: &str) -> Result<Option<Tensor>> {
        let Some(raw) = self.tensors.remove(name) else {
            return Ok(None);
        };
        raw.to_f32(name).map(Some)
    }

    /// [`TensorFile::take_f32`] for a tensor that must be present.
    pub fn take_required_f32(&mut self, name: &str) -> Result<Tensor> {
        self.take_f32(name)?.ok_or_else(|| Error::MissingTensor {
            name: name.into(),
            context: self.context(),
        })
    }

    /// Refuses the file if it holds a tensor not taken yet; `expected` lists the accepted names.
    pub fn refuse_remaining(&self, expected: &str) -> Result<()> {
        match self.tensors.keys().min() {
            Some(name) => Err(Error::UnexpectedTensor {
                name: name.clone(),
                context: self.context(),
                expected: expected.into(),
            }),
            None => Ok(()),
        }
    }

    /// Removes tensor `name` and converts it to integers; I64 and I32 are accepted.
    pub fn take_i64(&mut self, name: &str) -> Result<Option<(Vec<usize>, Vec<i64>)>> {
        let Some(raw) = self.tensors.remove(name) else {
            return Ok(None);
        };
        let values = match raw.dtype {
            Dtype::I64 => raw
                .bytes
                .chunks_exact(8)
                .map(|b| i64::from_le_bytes(b.try_into().expect("8 bytes")))
                .collect(),
            Dtype::I32 => raw
                .bytes
                .chunks_exact(4)
                .map(|b| i32::from_le_bytes(b.try_into().expect("4 bytes")) as i64)
                .collect(),
            other => {
                return Err(Error::BadDtype {
                    name: name.into(),
                    dtype: format!("{other:?}"),
                    expected: "it must be I64 or I32".into(),
                });
            }
        };
        Ok(Some((raw.shape, values)))
    }
}

impl RawTensor {
    fn to_f32(&self, name: &str) -> Result<Tensor> {
        fn words<const W: usize>(bytes: &[u8]) -> impl Iterator<Item = [u8; W]> + '_ {
            bytes
                .chunks_exact(W)
                .map(|b| b.try_into().expect("chunk of W bytes"))
        }
        let data: Vec<f32> = match self.dtype {
            Dtype::F32 => words::<4>(&self.bytes).map(f32::from_le_bytes).collect(),
            Dtype::F64 => words::<8>(&self.bytes)
                .map(|w| f64::from_le_bytes(w) as f32)
                .collect(),
            Dtype::F16 => words::<2>(&self.bytes)
                .map(|w| half::f16::from_le_bytes(w).to_f32())
                .collect(),
            Dtype::BF16 => words::<2>(&self.bytes)
                .map(|w| half::bf16::from_le_bytes(w).to_f32())
                .collect(),
            other => {
                return Err(Error::BadDtype {
                    name: name.into(),
                    dtype: format!("{other:?}"),
                    expected: "it must be F32, F64, F16 or BF16".into(),
                });
            }
        };
        Tensor::new(self.shape.clone(), data)
    }
}

/// Whether `bytes` start like a `torch.save` file: a zip archive holding `data.pkl` (PyTorch
/// 1.6 and later), or a pickle (protocol 2 to 5, the legacy format).
fn looks_like_pytorch(bytes: &[u8]) -> bool {
    let zip = bytes.starts_with(b"PK\x03\x04")
        && bytes[..bytes.len().min(4096)]
            .windows(8)
            .any(|w| w == b"data.pkl");
    let pickle = bytes.len() > 2 && bytes[0] == 0x80 && (2..=5).contains(&bytes[1]);
    zip || pickle
}

/// Writes `tensors` as f32 with `metadata` to `path` atomically: the bytes go to a temporary file
/// beside it, which is renamed over `path` only once complete. Either the old file or the whole new
/// one is there, never a part.
pub(crate) fn write_atomic(
    path: &Path,
    tensors: &[(&str, &Tensor)],
    metadata: Option<HashMap<String, String>>,
) -> Result<()> {
    let views = tensors
        .iter()
        .map(|&(name, t)| {
            let bytes: &[u8] = bytemuck::cast_slice(t.data());
            let view = safetensors::tensor::TensorView::new(Dtype::F32, t.shape().to_vec(), bytes)
                .expect("a Tensor's data always matches its shape");
            (name, view)
        })
        .collect::<Vec<_>>();
    let bytes = safetensors::serialize(views, metadata).map_err(|e| Error::BadFile {
        path: path.to_path_buf(),
        reason: format!("cannot serialize: {e:?}"),
    })?;
    let io = |source| Error::Io {
        path: path.to_path_buf(),
        source,
    };
    let tmp = temp_path(path)?;
    if let Err(e) = std::fs::write(&tmp, &bytes).and_then(|()| std::fs::rename(&tmp, path)) {
        let _ = std::fs::remove_file(&tmp);
        return Err(io(e));
    }
    Ok(())
}

/// The temporary file `write_atomic` writes beside `path` before renaming it.
fn temp_path(path: &Path) -> Result<PathBuf> {
    let file_name = path.file_name().ok_or_else(|| Error::CannotWrite {
        path: path.to_path_buf(),
        reason: "the path names no file".into(),
    })?;
    let mut tmp_name = std::ffi::OsString::from(".");
    tmp_name.push(file_name);
    tmp_name.push(format!(".tmp-{}", std::process::id()));
    Ok(path.with_file_name(tmp_name))
}

/// Checks, without touching `path`, that [`write_atomic`] can write it: `path` is no directory,
/// its directory exists, and a file can be created there (the temporary file is created and
/// removed again). For commands that must refuse a bad output path before any computation.
pub(crate) fn check_writable(path: &Path) -> Result<()> {
    let bad = |reason: String| Error::CannotWrite {
        path: path.to_path_buf(),
        reason,
    };
    if path.is_dir() {
        return Err(bad("it is a directory; give a file name".into()));
    }
    let tmp = temp_path(path)?;
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    match std::fs::metadata(dir) {
        Ok(meta) if meta.is_dir() => {}
        Ok(_) => return Err(bad(format!("{} is not a directory", dir.display()))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(bad(format!(
                "its directory {} does not exist",
                dir.display()
            )));
        }
        Err(e) => return Err(bad(format!("its directory {}: {e}", dir.display()))),
    }
    match std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&tmp)
    {
        Ok(_) => drop(std::fs::remove_file(&tmp)),
        // Left by an earlier process with this id: write_atomic overwrites it.
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
        Err(e) => {
            return Err(bad(format!(
                "cannot create a file in {}: {e}",
                dir.display()
            )));
        }
    }
    Ok(())
}
