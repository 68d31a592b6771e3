/* Inverted dropout: kept units are scaled by 1/(1 − p) in training so that
 * evaluation is the identity (the caller skips the layer there). */
#include "mm-dropout.h"

void
mm_dropout_forward (float p, size_t n, const float *x, float *y,
                    float *mask, MmRng *rng)
{
  float keep = p > 0.0f ? 1.0f / (1.0f - p) : 1.0f;

  for (size_t i = 0; i < n; i++) {
    /* keep with probability 1 − p: u ∈ [0, 1) is ≥ p that often */
    mask[i] = mm_rng_uniform (rng) >= p ? keep : 0.0f;
    y[i] = x[i] * mask[i];
  }
}

void
mm_dropout_backward (size_t n, const float *dy, const float *mask, float *dx)
{
  size_t i = 0;
  /* blocks of 8, loaded before stored: exact in place, vectorised at -O2 */
  for (; i + 8 <= n; i += 8) {
    float d[8], m[8];
    for (int j = 0; j < 8; j++) {
      d[j] = dy[i + j];
      m[j] = mask[i + j];
    }
    for (int j = 0; j < 8; j++)
      dx[i + j] = d[j] * m[j];
  }
  for (; i < n; i++)
    dx[i] = dy[i] * mask[i];
}
