#!/usr/bin/env bash
# Installs the Debian packages mmdigits needs to build, test and run.
# Sourced by scripts/test.sh and scripts/demo.sh. As root it runs apt-get;
# as another user it prints the exact apt-get line and stops.
MM_PACKAGES=(
  gcc meson ninja-build pkg-config
  libglib2.0-dev libjson-glib-dev libopenblas-dev liblapacke-dev libfftw3-dev libsndfile1-dev check
  libcairo2-dev                        # mmdigits figures (PNG and SVG)
  libgstreamer1.0-dev libgstreamer-plugins-base1.0-dev
  gstreamer1.0-tools gstreamer1.0-plugins-base gstreamer1.0-plugins-good
  espeak-ng
  flite                                # scripts/make-voices.sh (synthetic training voices)
  python3-gi gir1.2-gstreamer-1.0      # pipelines/finetune.py
)
# parity with PyTorch (tests) and the benchmark's reference run; clang and
# its runtime (libclang-rt-14-dev holds libFuzzer) for tests/fuzz; scikit-learn
# checks t-SNE / k-means (tests/embed_sklearn.py, bench/bench_tsne.py); locales
# holds the de_DE source tests/cli.sh compiles with localedef (C numbers under de_DE)
MM_TEST_PACKAGES=(locales python3 python3-numpy python3-scipy python3-torch python3-sklearn valgrind clang libclang-rt-14-dev)
# the 'slurm' suite: mmdigits batch as an array job on a one-node cluster
MM_SLURM_PACKAGES=(slurmctld slurmd slurm-client munge)

mm_install_deps () {
  local missing=() p
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ "$(id -u)" -ne 0 ]; then
    echo "mmdigits needs these Debian packages; install them as root with:" >&2
    echo "  apt-get update && apt-get install -y --no-install-recommends ${missing[*]}" >&2
    exit 1
  fi
  echo "installing: ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q >/dev/null || { echo "apt-get update failed" >&2; exit 1; }
  apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null \
    || { echo "apt-get install failed: ${missing[*]}" >&2; exit 1; }
}
