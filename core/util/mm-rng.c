/* PCG32 (O'Neill, pcg-random.org): XSH-RR output of a 64-bit LCG. */
#include "mm-rng.h"

void
mm_rng_seed (MmRng *rng, guint64 seed, guint64 stream)
{
  rng->state = 0;
  rng->inc = (stream << 1u) | 1u;
  mm_rng_u32 (rng);
  rng->state += seed;
  mm_rng_u32 (rng);
}

guint32
mm_rng_u32 (MmRng *rng)
{
  guint64 old = rng->state;
  guint32 xorshifted, rot;

  rng->state = old * 6364136223846793005ULL + rng->inc;
  xorshifted = (guint32) (((old >> 18u) ^ old) >> 27u);
  rot = (guint32) (old >> 59u);
  return (xorshifted >> rot) | (xorshifted << ((-rot) & 31));
}

float
mm_rng_uniform (MmRng *rng)
{
  /* 24 random bits: every value is exactly representable and < 1 */
  return (float) (mm_rng_u32 (rng) >> 8) * (1.0f / 16777216.0f);
}

guint32
mm_rng_below (MmRng *rng, guint32 n)
{
  /* Lemire's rejection: discard the low values that would bias the modulo */
  guint32 threshold = (-n) % n;
  for (;;) {
    guint32 r = mm_rng_u32 (rng);
    if (r >= threshold)
      return r % n;
  }
}

void
mm_rng_shuffle (MmRng *rng, int *idx, int n)
{
  for (int i = n - 1; i > 0; i--) {
    int j = (int) mm_rng_below (rng, (guint32) i + 1);
    int t = idx[i];
    idx[i] = idx[j];
    idx[j] = t;
  }
}
