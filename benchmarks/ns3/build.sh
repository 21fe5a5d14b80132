#!/usr/bin/env bash
# Compile the ns-3 scenario program against the PyPI `ns3` wheel (headers and shared libraries inside the
# installed package) with the system g++. Usage: benchmarks/ns3/build.sh [OUTPUT_DIR]  (default: build/ here).
# libns3-config-store (pulled in by lte) references GTK symbols the wheel does not ship; they are only bound
# lazily when its GUI is used, so the link allows undefined symbols in shared libraries.
# Needs: pip install ns3==3.44.post0 (a benchmark-only dependency) and g++ with C++20.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
out="${1:-$here/build}"
python="${PYTHON:-python}"
read -r prefix version < <("$python" - <<'PY'
import importlib.metadata as md
try:
    dist = md.distribution("ns3")
except md.PackageNotFoundError:
    raise SystemExit("ns-3 is not installed: run `pip install ns3==3.44.post0` (about 75 s, 520 MB)")
print(dist.locate_file("ns3"), dist.version)
PY
)
inc="$prefix/include"
lib="$prefix/lib64"
[ -f "$inc/ns3/core-module.h" ] || { echo "no ns-3 headers under $inc" >&2; exit 1; }
libver="$(ls "$lib" | sed -n 's/^libns3\.\([0-9.]*\)-core\.so$/\1/p' | head -1)"
mods="core network internet mobility wifi lte point-to-point applications propagation spectrum antenna
      traffic-control stats"
libs=()
for m in $mods; do libs+=("-lns3.$libver-$m"); done
mkdir -p "$out"
set -x
# the wheel's own compile definitions (lib64/cmake/ns3/ns3Targets.cmake): a release build with logging and
# asserts compiled in; headers must see the same macros as the libraries
defs=(-D__LINUX__ -DNS3_BUILD_PROFILE_RELEASE -DNS3_LOG_ENABLE -DNS3_ASSERT_ENABLE -DHAVE_SQLITE3 -DHAVE_LIBXML2
      -DHAVE_GSL)
g++ -std=c++20 -O2 "${defs[@]}" -DNS3_WHEEL_VERSION="\"$version\"" -I"$inc" \
    "$here/netgym_ns3_scenario.cc" -o "$out/netgym_ns3_scenario" \
    -L"$lib" -Wl,-rpath,"$lib" -Wl,--allow-shlib-undefined "${libs[@]}" -lpthread
