/* mmdigits — a small seeded random number generator (PCG32).
 *
 * Why not GRand: we need many independent, cheap streams (weight init,
 * shuffling, dropout masks) that give the same numbers on every platform for a
 * given seed, so that training is reproducible. PCG32 is 16 bytes of state and
 * a handful of instructions per number.
 *
 * Thread-safety: an MmRng is plain state; use one per thread.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct {
  guint64 state;
  guint64 inc;
} MmRng;

/* Seeds @rng; different @stream values give independent sequences. */
void    mm_rng_seed     (MmRng *rng, guint64 seed, guint64 stream);
guint32 mm_rng_u32      (MmRng *rng);
/* Uniform in [0, 1). */
float   mm_rng_uniform  (MmRng *rng);
/* Uniform integer in [0, n), unbiased. n > 0. */
guint32 mm_rng_below    (MmRng *rng, guint32 n);
/* Fisher–Yates shuffle of @idx[0..n). */
void    mm_rng_shuffle  (MmRng *rng, int *idx, int n);
/* Standard normal (Box–Muller, the cosine branch: two u32 draws). */
double  mm_rng_normal   (MmRng *rng);
/* Beta(@a, @a), symmetric, @a > 0 (else NaN and a critical warning): the
 * ratio of two Gamma(@a) draws (Marsaglia–Tsang), taken in logs so that a
 * small @a, whose draws underflow, still gives a value in [0, 1]. */
double  mm_rng_beta_sym (MmRng *rng, double a);

G_END_DECLS
