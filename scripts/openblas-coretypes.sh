#!/usr/bin/env bash
# Prints the OpenBLAS kernels (OPENBLAS_CORETYPE names) this CPU can execute,
# widest first, one per line. OpenBLAS does not check a forced core type
# against the CPU (an unsupported one dies of SIGILL), so the list comes from
# the instruction sets /proc/cpuinfo reports. Used by scripts/test.sh to run
# the numeric suites on the kernels other machines would pick.
set -euo pipefail
flags=" $(grep -m1 '^flags' /proc/cpuinfo | cut -d: -f2) "
has () { for f in "$@"; do [[ $flags == *" $f "* ]] || return 1; done; }

if has avx512f avx512cd avx512bw avx512dq avx512vl; then echo SkylakeX; fi
if has avx2 fma; then echo Haswell; echo Zen; fi
if has avx; then echo Sandybridge; fi
if has sse4_2 ssse3; then echo Nehalem; fi
if has pni; then echo Prescott; fi
