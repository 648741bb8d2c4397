#!/usr/bin/env bash
# Installs what is missing (Debian 12 packages) and builds everything into build/.
# Idempotent: when all packages are present it only runs the (incremental) build.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(
  build-essential cmake pkg-config git ccache
  libsimgrid-dev libyaml-cpp-dev nlohmann-json3-dev libcli11-dev libeigen3-dev
  libgtest-dev libgmock-dev
  libcpp-httplib-dev libpcre2-dev libicu-dev haproxy prometheus
  qt6-base-dev qt6-charts-dev qt6-svg-dev libqt6opengl6-dev libgl-dev fonts-dejavu-core
  xvfb xauth
  clang libclang-rt-14-dev  # scripts/fuzz.sh: libFuzzer targets
  wrk  # tests/engine/test_server_abuse.cpp, scripts/soak.sh: the server under load
  slurmctld slurmd slurm-client munge  # tests/study: a single-node Slurm for the cluster executor
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  as_root=()
  [[ $(id -u) -eq 0 ]] || as_root=(sudo)
  "${as_root[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${as_root[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# CUDA is not a Debian package here: the engine's GPU path builds when nvcc is found.
if ! command -v nvcc >/dev/null && [[ -x /usr/local/cuda/bin/nvcc ]]; then export PATH=/usr/local/cuda/bin:$PATH; fi

jobs=$(nproc)
# ccache: a CI runner that keeps ~/.cache/ccache between runs recompiles only what changed (here and in
# the sanitized build of scripts/sanitized-build.sh).
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DCMAKE_CXX_COMPILER_LAUNCHER=ccache >/dev/null
cmake --build build -j"$jobs"
echo "setup: built into build/bin: $(ls build/bin | tr '\n' ' ')"
