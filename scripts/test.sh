#!/usr/bin/env bash
# Builds mmdigits and runs every test: the normal build (its numeric suites
# once more on each OpenBLAS kernel the CPU can run; the CLI compiled once
# more without GStreamer), then the same suite
# under AddressSanitizer + UndefinedBehaviorSanitizer, then each libFuzzer
# harness of tests/fuzz for a bounded time (clang, ASan + UBSan).
#   bash scripts/test.sh            # all three
#   MM_SKIP_ASAN=1 bash scripts/test.sh
#   MM_FUZZ_SECONDS=300 bash scripts/test.sh   # per harness (default 60; 0: no fuzzing)
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/deps.sh
mm_install_deps "${MM_PACKAGES[@]}" "${MM_TEST_PACKAGES[@]}" "${MM_SLURM_PACKAGES[@]}"

jobs=$(nproc)
if [ ! -f build/build.ninja ]; then
  meson setup build --buildtype=debugoptimized
fi
meson compile -C build
meson test -C build --print-errorlogs --num-processes "$jobs"

# The CLI without GStreamer (-Dplugin=disabled): compiled once, so that it
# does not rot; it must link no GStreamer library and must refuse the
# commands that need one with a message saying so.
if [ ! -f build-nogst/build.ninja ]; then
  meson setup build-nogst --buildtype=debugoptimized -Dplugin=disabled -Dtests=false
fi
meson compile -C build-nogst
# grep reads readelf's output whole (-q could end it by SIGPIPE: false under pipefail)
if readelf -d build-nogst/tools/mmdigits | grep 'NEEDED.*libgst' > /dev/null; then
  echo "test.sh: the -Dplugin=disabled CLI links GStreamer:" \
    "$(readelf -d build-nogst/tools/mmdigits | grep -o 'libgst[^]]*' | tr '\n' ' ')" >&2
  exit 1
fi
build-nogst/tools/mmdigits models > /dev/null
if build-nogst/tools/mmdigits predict --image x.png 2> build-nogst/predict.err \
    || ! grep -q 'built without GStreamer' build-nogst/predict.err; then
  echo "test.sh: the -Dplugin=disabled CLI did not refuse predict: $(cat build-nogst/predict.err)" >&2
  exit 1
fi
echo "the CLI builds without GStreamer and refuses predict there"

# The numeric suites again on every OpenBLAS kernel this CPU can execute:
# other machines pick other kernels, which block and round GEMMs differently,
# so a test that only holds for this CPU's kernel fails here too.
for core in $(bash scripts/openblas-coretypes.sh); do
  # OpenBLAS names its kernel when it loads (test_layers links it; no case runs)
  got=$(CK_RUN_SUITE=none OPENBLAS_VERBOSE=2 OPENBLAS_CORETYPE=$core build/tests/test_layers 2>&1 \
        | grep -o 'Core: [A-Za-z0-9]*' | head -1 || true)
  if [ "$got" != "Core: $core" ]; then
    echo "test.sh: OPENBLAS_CORETYPE=$core was not honoured (${got:-no core reported})" >&2
    exit 1
  fi
  echo "== core and parity suites on OpenBLAS's $core kernels"
  OPENBLAS_CORETYPE=$core meson test -C build --print-errorlogs --num-processes "$jobs" \
    --suite core --suite parity
done

if [ -z "${MM_SKIP_ASAN:-}" ]; then
  if [ ! -f build-asan/build.ninja ]; then
    meson setup build-asan --buildtype=debugoptimized -Db_sanitize=address,undefined -Db_lundef=false \
      -Dsimd_clones=false
  fi
  meson compile -C build-asan
  # OpenBLAS and GLib hold memory for the life of the process by design;
  # leaks are checked with valgrind by the 'leaks' suite of the plain build.
  # Left out here: parity runs the uninstrumented python3 and integration
  # runs gst-launch-1.0, and an instrumented plugin cannot load into either
  # (nor into gst-inspect-1.0, which install runs);
  # slurm runs the same batch code as cli, through a cluster that takes a while;
  # leaks is valgrind's (it cannot run under ASan); slow is the real-data
  # training smoke test, which the plain build has already run.
  ASAN_OPTIONS=detect_leaks=0:abort_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
    meson test -C build-asan --print-errorlogs --num-processes "$jobs" --timeout-multiplier 3 --no-suite parity --no-suite integration --no-suite slow --no-suite leaks --no-suite install --no-suite slurm
  # The plain build's element-wise kernels take this CPU's widest variant,
  # the sanitizer build's the x86-64 baseline: both must train and infer to
  # the same floats (core/kernels/mm-simd.h).
  if ! diff <(MMDIGITS_THREADS=2 build/tests/simd_digest | grep -v '^#') \
            <(MMDIGITS_THREADS=2 ASAN_OPTIONS=detect_leaks=0 build-asan/tests/simd_digest | grep -v '^#'); then
    echo "test.sh: the vector-kernel variants computed different floats ($(build/tests/simd_digest | head -1))" >&2
    exit 1
  fi
  echo "vector-kernel variants agree ($(build/tests/simd_digest | head -1 | sed 's/^# //') vs baseline)"
fi

# Fuzzing (docs/reliability.md, "Fuzzing"): MM_FUZZ_SECONDS per harness, two
# at a time; the working corpus stays in build-fuzz/fuzz-corpus between runs.
fuzz_seconds=${MM_FUZZ_SECONDS:-60}
if [ "$fuzz_seconds" != 0 ]; then
  if [ ! -f build-fuzz/build.ninja ]; then
    CC=clang meson setup build-fuzz --buildtype=debugoptimized -Dfuzz=true -Dtests=false \
      -Dplugin=disabled -Db_sanitize=address,undefined -Db_lundef=false -Dsimd_clones=false
  fi
  meson compile -C build-fuzz
  MM_MAKE_CORPUS=build/tests/fuzz/make_corpus bash scripts/fuzz.sh build-fuzz "$fuzz_seconds"
fi
