#!/usr/bin/env bash
# Installs what cvtool needs from Debian's archive, builds Release into build/ and
# fetches + converts the model zoo. Idempotent: a second run on a built tree only
# re-checks and rebuilds what changed.
#   scripts/setup.sh [--no-models] [--sanitize]
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD_DIR="${CVTOOL_BUILD_DIR:-$ROOT/build}"
FETCH_MODELS=1
CMAKE_EXTRA=()
for arg in "$@"; do
  case "$arg" in
    --no-models) FETCH_MODELS=0 ;;
    --sanitize) CMAKE_EXTRA+=(-DCVTOOL_SANITIZE=ON) ;;
    *) echo "setup.sh: unknown option $arg" >&2; exit 2 ;;
  esac
done

# Build tools, the pinned C++ stack, OpenBLAS (Debian's LibTorch otherwise runs on the
# slow reference BLAS), Python for the model converters, and the sample data.
PACKAGES=(
  build-essential cmake pkg-config git ca-certificates
  libtorch-dev libopencv-dev libopencv-contrib-dev libcli11-dev libspdlog-dev nlohmann-json3-dev catch2
  libopenblas0-openmp
  python3 python3-torch python3-torchvision python3-onnx python3-flatbuffers python3-numpy python3-opencv
  opencv-doc python3-skimage
  libgloo-dev
  libfaiss-dev
)
missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
command -v npm >/dev/null 2>&1 || missing+=(npm)
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}" >&2
  SUDO=""
  if [ "$(id -u)" != 0 ]; then
    command -v sudo >/dev/null || { echo "setup: need root (or sudo) to install: ${missing[*]}" >&2; exit 1; }
    SUDO=sudo
  fi
  $SUDO apt-get update -q
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

# The OpenMP OpenBLAS must be the libblas.so.3 that LibTorch loads.
blas_link="$(readlink -f /usr/lib/x86_64-linux-gnu/libblas.so.3 2>/dev/null || true)"
case "$blas_link" in
  *openblas*) ;;
  *) echo "setup: warning: libblas.so.3 is $blas_link, not OpenBLAS (see update-alternatives --config libblas.so.3-x86_64-linux-gnu)" >&2 ;;
esac

cmake -S "$ROOT" -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=Release "${CMAKE_EXTRA[@]}" >/dev/null
cmake --build "$BUILD_DIR" -j"$(nproc)"

if ((FETCH_MODELS)); then
  "$ROOT/scripts/fetch-models.sh"
  # The digits classifier behind classify/explain/quantize/robustness's default configs is
  # trained here from opencv-doc's digits.png (no pretrained source exists), once.
  [ -f "$ROOT/models/digits-cnn.pt" ] || "$ROOT/scripts/train/digits_model.sh" "$BUILD_DIR" >&2
fi
echo "setup: cvtool is at $BUILD_DIR/cvtool" >&2
