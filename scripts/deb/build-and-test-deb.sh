#!/bin/bash
# Builds the Debian package (cpack -G DEB), checks its Depends, installs it on this
# machine with dpkg, runs /usr/bin/cvtool from it, then removes it again.
# Usage: scripts/deb/build-and-test-deb.sh [BUILD_DIR]   (needs root or sudo for dpkg)
# Models: the package carries whatever scripts/fetch-models.sh has put in models/.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)
build=${1:-$src/build}
SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo

cmake --build "$build" -j2 --target cvtool_cli
cmake --build "$build" --target man 2>/dev/null || echo "deb: no help2man: packaging without the man page" >&2
(cd "$build" && rm -f cvtool_*.deb && cpack -G DEB > cpack.log)
deb=$(ls "$build"/cvtool_*.deb)
echo "deb: $deb ($(du -h "$deb" | cut -f1))"

depends=$(dpkg-deb -f "$deb" Depends)
echo "Depends: $depends"
for need in libtorch libopencv-core libopencv-imgcodecs libopencv-videoio libopenblas0 libstdc++6; do
  grep -q "$need" <<<"$depends" || { echo "deb: FAIL: Depends lacks $need" >&2; exit 1; }
done
# The listing is read whole first: `grep -q` on a pipe would stop dpkg-deb with SIGPIPE.
contents=$(dpkg-deb -c "$deb")
for f in ./usr/bin/cvtool ./usr/share/cvtool/configs/detect-centernet.json ./usr/include/cvtool/detect/detector.hpp \
         ./usr/share/bash-completion/completions/cvtool; do
  grep -q " $f$" <<<"$contents" || { echo "deb: FAIL: $f not in the package" >&2; exit 1; }
done

# dpkg waits for other apt/dpkg runs on this machine.
$SUDO dpkg -i "$deb" 2>&1 || { $SUDO apt-get install -f -y; }
trap '$SUDO dpkg -r cvtool >/dev/null 2>&1 || true' EXIT
[ "$(command -v cvtool)" = /usr/bin/cvtool ] || [ -x /usr/bin/cvtool ]
/usr/bin/cvtool --version
/usr/bin/cvtool detect /usr/share/doc/opencv-doc/examples/data/messi5.jpg
[ ! -f "$build/man/cvtool.1" ] || man -w cvtool
$SUDO dpkg -r cvtool
trap - EXIT
[ ! -e /usr/bin/cvtool ] || { echo "deb: FAIL: /usr/bin/cvtool left behind after dpkg -r" >&2; exit 1; }
echo "deb: OK (installed, ran, removed)"
