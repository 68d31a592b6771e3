/* mmdigits — internal: 16-lane float vectors for the element-wise kernels.
 *
 * Not installed. GCC / Clang vector extensions, not intrinsics: at the
 * x86-64 baseline a 16-lane operation is four SSE2 instructions, and a
 * function marked MM_VECTOR_CLONES is also compiled for AVX2 and AVX-512
 * and picked at load time by the CPU (target_clones), where it is two or
 * one. Only element-wise IEEE operations in a fixed lane order are used and
 * FMA contraction is off for the whole project (meson.build), so every
 * variant gives the same floats. Why not the auto-vectoriser: at -O2 it
 * leaves masked and reduction loops scalar or branchy.
 *
 * Helpers here are always inlined into their callers: no 64-byte vector
 * crosses a real call, so GCC's note that such a call's ABI depends on
 * AVX-512 (-Wpsabi) does not apply and is silenced for the includer. */
#pragma once

#include <glib.h>
#include <string.h>

#include "mm-config.h"

#pragma GCC diagnostic ignored "-Wpsabi"

#define MM_VW 16
typedef float MmVF __attribute__ ((vector_size (4 * MM_VW)));
typedef gint32 MmVFi __attribute__ ((vector_size (4 * MM_VW)));

#define MM_VF_SET(s) ((MmVF) { 0 } + (s))

/* -Dsimd_clones=false builds the baseline alone: the sanitizer build of
 * scripts/test.sh uses it, so that the tests also run the variant every
 * x86-64 machine can (this one would pick AVX-512). */
#if MM_SIMD_CLONES && defined(__x86_64__) && defined(__GNUC__) && defined(__has_attribute)
#if __has_attribute (target_clones)
#define MM_VECTOR_CLONES __attribute__ ((target_clones ("avx512f", "avx2", "default")))
#endif
#endif
#ifndef MM_VECTOR_CLONES
#define MM_VECTOR_CLONES
#endif

/* GCC vectorises loops at -O2 only when asked (-O3 or this attribute);
 * clang does at -O2 and has no such attribute. */
#if defined(__clang__)
#define MM_VECTORIZE
#else
#define MM_VECTORIZE __attribute__ ((optimize ("tree-vectorize")))
#endif

#define MM_VF_INLINE static inline __attribute__ ((always_inline))

MM_VF_INLINE MmVF
mm_vf_load (const float *p)
{
  MmVF v;
  memcpy (&v, p, sizeof v);
  return v;
}

MM_VF_INLINE void
mm_vf_store (float *p, MmVF v)
{
  memcpy (p, &v, sizeof v);
}

/* @n ≤ MM_VW floats; the lanes beyond @n read as zero and are never stored. */
MM_VF_INLINE MmVF
mm_vf_load_n (const float *p, int n)
{
  MmVF v = MM_VF_SET (0.0f);
  if (n >= MM_VW)
    return mm_vf_load (p);
  for (int k = 0; k < n; k++)
    v[k] = p[k];
  return v;
}

MM_VF_INLINE void
mm_vf_store_n (float *p, MmVF v, int n)
{
  if (n >= MM_VW)
    mm_vf_store (p, v);
  else
    for (int k = 0; k < n; k++)
      p[k] = v[k];
}

MM_VF_INLINE MmVF
mm_vf_select (MmVFi mask, MmVF a, MmVF b)
{
  return (MmVF) ((mask & (MmVFi) a) | (~mask & (MmVFi) b));
}

/* v where it is > 0, else +0 (a NaN gives 0) */
MM_VF_INLINE MmVF
mm_vf_relu (MmVF v)
{
  return (MmVF) ((MmVFi) v & (v > 0.0f));
}

/* the lanes' sum, in lane order */
MM_VF_INLINE float
mm_vf_sum (MmVF v)
{
  float t = 0.0f;
  for (int k = 0; k < MM_VW; k++)
    t += v[k];
  return t;
}

/* ---- 4 lanes: for loops too narrow for 16 (max-pool windows, the MFCC's
 * 8-value blocks) ---- */
typedef float MmV4 __attribute__ ((vector_size (16)));
typedef gint32 MmV4i __attribute__ ((vector_size (16)));
typedef guint32 MmV4u __attribute__ ((vector_size (16)));

static inline MmV4
mm_v4_load (const float *p)
{
  MmV4 v;
  memcpy (&v, p, sizeof v);
  return v;
}

static inline void
mm_v4_store (float *p, MmV4 v)
{
  memcpy (p, &v, sizeof v);
}

static inline MmV4
mm_v4_select (MmV4i mask, MmV4 a, MmV4 b)
{
  return (MmV4) ((mask & (MmV4i) a) | (~mask & (MmV4i) b));
}

/* v where it is > 0, else +0 */
static inline MmV4
mm_v4_relu (MmV4 v)
{
  return (MmV4) ((MmV4i) v & (v > 0.0f));
}
