/* PCG32 (O'Neill, pcg-random.org): XSH-RR output of a 64-bit LCG. */
#include "mm-rng.h"

#include <math.h>

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

/* In (0, 1): a logarithm's argument. */
static double
open_uniform (MmRng *rng)
{
  return (mm_rng_u32 (rng) + 0.5) / 4294967296.0;
}

double
mm_rng_normal (MmRng *rng)
{
  double u1 = open_uniform (rng), u2 = mm_rng_uniform (rng);

  return sqrt (-2.0 * log (u1)) * cos (2.0 * G_PI * u2);
}

/* log of a Gamma(@a, 1) draw. Marsaglia and Tsang (2000) for a >= 1; below
 * 1, Gamma(a) = Gamma(a + 1) · U^(1/a), whose log cannot underflow. */
static double
log_gamma_draw (MmRng *rng, double a)
{
  double d, c;

  if (a < 1.0)
    return log_gamma_draw (rng, a + 1.0) + log (open_uniform (rng)) / a;
  d = a - 1.0 / 3.0;
  c = 1.0 / sqrt (9.0 * d);
  for (;;) {
    double x = mm_rng_normal (rng), v = 1.0 + c * x;

    if (v <= 0)
      continue;
    v = v * v * v;
    if (log (open_uniform (rng)) < 0.5 * x * x + d - d * v + d * log (v))
      return log (d * v);
  }
}

double
mm_rng_beta_sym (MmRng *rng, double a)
{
  double lx, ly;

  g_return_val_if_fail (a > 0, NAN);
  lx = log_gamma_draw (rng, a);
  ly = log_gamma_draw (rng, a);
  /* X / (X + Y) = 1 / (1 + exp (log Y - log X)) */
  return 1.0 / (1.0 + exp (ly - lx));
}
