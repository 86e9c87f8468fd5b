#!/usr/bin/env bash
# The benchmark grid on a machine with an NVIDIA GPU: wgpu-rnn on the GPU through Vulkan beside
# PyTorch + cuDNN on the same card (scripts/bench_pytorch.py --device gpu: TF32 off, f32 on both
# sides), printed as the markdown table of BENCHMARKS.md, plus the real-GPU target rows (LSTM 512,
# 4 layers, batch 64 and 1) and each plan forced, to check the runtime plan choice.
#
#   scripts/gpu_bench.sh             # build, check the GPU, run everything (~10 min)
#   scripts/gpu_bench.sh --dry-run   # check the script and print what it would run; no GPU needed
#   scripts/gpu_bench.sh --quick     # key points only
#
# Needs: cargo, an NVIDIA driver, python3 with torch built for CUDA ($PYTHON, else
# .venv-torch/bin/python, else python3). The Vulkan loader (libvulkan1) comes from .gl/*.deb when
# the machine has none: fetch those once on a machine with apt, in the repo root:
#   echo /.gl/ >>.git/info/exclude; mkdir -p .gl /tmp/amd64/partial
#   o='-oAPT::Architecture=amd64 -oAPT::Architectures=amd64 -oDir::State::Lists=/tmp/amd64'
#   apt-get $o update; (cd .gl && apt-get $o download libvulkan1 libegl1 libglvnd0 libopengl0 libgl1 libglx0 libgles2)
# Results go to stdout and to bench-gpu/ (table.md, raw JSON lines).
set -euo pipefail
cd "$(dirname "$0")/.."

DRY=0; QUICK=()
for arg in "$@"; do
  case "$arg" in
    --dry-run) DRY=1 ;;
    --quick) QUICK=(--quick) ;;
    *) echo "unknown argument $arg" >&2; exit 2 ;;
  esac
done
run() { if [ "$DRY" = 1 ]; then echo "+ $*"; else "$@"; fi; }
say() { echo "gpu_bench: $*" >&2; }

# 1. The Vulkan loader and NVIDIA's ICD.
if ! ldconfig -p 2>/dev/null | grep -q 'libvulkan\.so\.1'; then
  if ls .gl/*.deb >/dev/null 2>&1; then
    say "no Vulkan loader installed: unpacking .gl/*.deb"
    if [ "$DRY" = 1 ]; then echo "+ for f in .gl/*.deb; do dpkg -x \$f /; done; ldconfig"
    else for f in .gl/*.deb; do dpkg -x "$f" /; done; ldconfig; fi
  elif [ "$DRY" = 1 ]; then
    say "no Vulkan loader and no .gl/*.deb (see the header of this script); continuing (dry run)"
  else
    say "no Vulkan loader (libvulkan.so.1) and no .gl/*.deb to unpack: see the header of this script"; exit 1
  fi
fi
for icd in /usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json /usr/share/vulkan/icd.d/nvidia_icd.json \
           /etc/vulkan/icd.d/nvidia_icd.json; do
  if [ -z "${VK_DRIVER_FILES:-}" ] && [ -f "$icd" ]; then export VK_DRIVER_FILES="$icd"; fi
done
export WGPU_BACKEND=vulkan

# 2. The GPU and PyTorch with CUDA.
if [ "$DRY" = 0 ]; then
  command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader || say "no nvidia-smi"
fi
PYTHON="${PYTHON:-}"
if [ -z "$PYTHON" ]; then
  if [ -x .venv-torch/bin/python ]; then PYTHON=.venv-torch/bin/python; else PYTHON=python3; fi
fi
export PYTHON
if [ "$DRY" = 0 ]; then
  "$PYTHON" -c 'import torch, sys; ok = torch.cuda.is_available(); print("torch", torch.__version__, "cuda", torch.version.cuda, "cudnn", torch.backends.cudnn.version(), torch.cuda.get_device_name() if ok else "NO CUDA DEVICE"); sys.exit(0 if ok else 1)' \
    || { say "$PYTHON has no CUDA-enabled torch"; exit 1; }
fi

# 3. Build and check that wgpu sees the NVIDIA adapter.
run cargo build --release --bin wgpu-rnn
if [ "$DRY" = 0 ]; then
  ./target/release/wgpu-rnn info
  ./target/release/wgpu-rnn info | grep -qi nvidia || { say "wgpu sees no NVIDIA adapter on Vulkan (VK_DRIVER_FILES=${VK_DRIVER_FILES:-unset})"; exit 1; }
fi

# 4. The grid (plan auto), then the target rows with each plan forced.
mkdir -p bench-gpu
GRID=(python3 scripts/bench_grid.py --torch-device gpu --gflops-guess 200 --cpu-ref-max-gflop 0)
if [ "$DRY" = 1 ]; then
  "${GRID[@]}" "${QUICK[@]}" --gpu-rows --dry-run
  for plan in step sequence; do
    "${GRID[@]}" --modules lstm --hidden 64,256,512 --batches 1,64 --layers 1 --gpu-rows --no-overhead --plan "$plan" --dry-run
  done
  say "dry run done: the script parses, the commands above are what a GPU run executes"
  exit 0
fi
"${GRID[@]}" "${QUICK[@]}" --gpu-rows --json-out bench-gpu/grid.jsonl | tee bench-gpu/table.md
for plan in step sequence; do
  echo; echo "### plan forced: $plan"; echo
  "${GRID[@]}" --modules lstm --hidden 64,256,512 --batches 1,64 --layers 1 --gpu-rows --no-overhead \
    --plan "$plan" --json-out "bench-gpu/plan-$plan.jsonl" | tee "bench-gpu/plan-$plan.md"
done
