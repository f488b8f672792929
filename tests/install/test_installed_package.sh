#!/bin/bash
# Installs cvtool into a fresh prefix under the build dir, then uses only that
# install: the CLI from <prefix>/bin, the example program built with
# find_package(cvtool), and the same program built with pkg-config.
# Usage: test_installed_package.sh SOURCE_DIR BUILD_DIR
set -euo pipefail
src=$1 build=$2
work=$build/install-test
prefix=$work/prefix
image=/usr/share/doc/opencv-doc/examples/data/messi5.jpg
rm -rf "$work" && mkdir -p "$work"

cmake --install "$build" --prefix "$prefix" > "$work/install.log"
for f in bin/cvtool include/cvtool/detect/detector.hpp share/cvtool/configs/detect-centernet.json \
         share/cvtool/configs/schema/detect.schema.json share/cvtool/models/centernet.pt \
         share/cvtool/models/coco80.txt share/bash-completion/completions/cvtool \
         share/zsh/vendor-completions/_cvtool; do
  [ -e "$prefix/$f" ] || { echo "FAIL: $f not installed" >&2; exit 1; }
done
libdir=$(cd "$prefix" && dirname "$(ls lib*/libcvtool.so lib*/*/libcvtool.so 2>/dev/null | head -1)")
[ -f "$prefix/$libdir/cmake/cvtool/cvtoolConfig.cmake" ] || { echo "FAIL: no cvtoolConfig.cmake" >&2; exit 1; }
[ -f "$prefix/$libdir/pkgconfig/cvtool.pc" ] || { echo "FAIL: no cvtool.pc" >&2; exit 1; }

# The installed CLI finds its library (RPATH) and its configs and models (share/cvtool).
env -u CVTOOL_CONFIG_DIR "$prefix/bin/cvtool" detect "$image" > "$work/cli.txt"
grep -q "person" "$work/cli.txt" || { echo "FAIL: installed cvtool detect: $(cat "$work/cli.txt")" >&2; exit 1; }

# find_package(cvtool) from the example in docs/.
cmake -S "$src/docs/examples/detect_minimal" -B "$work/example" -DCMAKE_PREFIX_PATH="$prefix" \
      -DCMAKE_BUILD_TYPE=Release > "$work/example-configure.log"
cmake --build "$work/example" > "$work/example-build.log"
"$work/example/detect_minimal" "$prefix/share/cvtool/configs/detect-centernet.json" "$image" > "$work/example.txt"
cat "$work/example.txt"
# The same detections as the installed CLI prints for messi5.jpg.
cli=$(sed -e 's/^[^:]*: [0-9]* objects\? //' -e 's/, /\n/g' "$work/cli.txt" | sed 's/^ //')
[ "$cli" = "$(cat "$work/example.txt")" ] || { echo "FAIL: example and CLI disagree:"; echo "$cli"; exit 1; } >&2
grep -q "^person " "$work/example.txt"

# pkg-config: the same program with g++ alone.
export PKG_CONFIG_PATH=$prefix/$libdir/pkgconfig
[ "$(pkg-config --modversion cvtool)" = "$(sed -n 's/^cvtool \([0-9.]*\)$/\1/p' <("$prefix/bin/cvtool" --version))" ]
g++ -o "$work/detect_minimal_pc" "$src/docs/examples/detect_minimal/main.cpp" \
    $(pkg-config --cflags --libs cvtool) -Wl,-rpath,"$prefix/$libdir"
"$work/detect_minimal_pc" "$prefix/share/cvtool/configs/detect-centernet.json" "$image" | cmp - "$work/example.txt"
echo "installed package OK: CLI, find_package(cvtool) and pkg-config agree on $(wc -l < "$work/example.txt") detections"
