/* Input degradations for the robustness curves (see degrade.h). */
#include "degrade.h"

#include <math.h>
#include <string.h>

#include "mm-net.h"
#include "mm-rng.h"

#define SIDE MM_IMAGE_SIZE

static double
gauss (MmRng *rng)
{
  /* Box–Muller; u1 in (0, 1] so the log is finite */
  double u1 = (mm_rng_u32 (rng) + 1.0) / 4294967296.0, u2 = mm_rng_uniform (rng);
  return sqrt (-2 * log (u1)) * cos (2 * G_PI * u2);
}

void
mm_degrade_occlude (float *images, int n, double fraction, guint64 seed)
{
  int side = (int) lround (SIDE * sqrt (CLAMP (fraction, 0, 1)));

  if (side <= 0)
    return;
  for (int i = 0; i < n; i++) {
    float *img = images + (size_t) i * MM_IMAGE_PIXELS;
    int r0 = SIDE, r1 = -1, c0 = SIDE, c1 = -1, cr, cc, top, left;
    MmRng rng;

    for (int r = 0; r < SIDE; r++)
      for (int c = 0; c < SIDE; c++)
        if (img[r * SIDE + c] > 0.1f) {
          r0 = MIN (r0, r);
          r1 = MAX (r1, r);
          c0 = MIN (c0, c);
          c1 = MAX (c1, c);
        }
    if (r1 < 0) {
      r0 = c0 = 0;
      r1 = c1 = SIDE - 1;
    }
    mm_rng_seed (&rng, seed, (guint64) i);
    cr = r0 + (int) mm_rng_below (&rng, r1 - r0 + 1);
    cc = c0 + (int) mm_rng_below (&rng, c1 - c0 + 1);
    top = CLAMP (cr - side / 2, 0, SIDE - side);
    left = CLAMP (cc - side / 2, 0, SIDE - side);
    for (int r = top; r < top + side; r++)
      memset (img + r * SIDE + left, 0, sizeof (float) * side);
  }
}

void
mm_degrade_noise (float *images, int n, double sigma, guint64 seed)
{
  if (sigma <= 0)
    return;
  for (int i = 0; i < n; i++) {
    float *img = images + (size_t) i * MM_IMAGE_PIXELS;
    MmRng rng;
    mm_rng_seed (&rng, seed, (guint64) i);
    for (int k = 0; k < MM_IMAGE_PIXELS; k++)
      img[k] = CLAMP (img[k] + (float) (sigma * gauss (&rng)), 0.0f, 1.0f);
  }
}

void
mm_degrade_blur (float *images, int n, double sigma)
{
  int radius = (int) ceil (3 * sigma);
  double kernel[2 * 3 * SIDE + 1], sum = 0;
  float tmp[MM_IMAGE_PIXELS];

  if (sigma <= 0)
    return;
  radius = MIN (radius, 3 * SIDE);
  for (int k = -radius; k <= radius; k++)
    sum += kernel[k + radius] = exp (-k * k / (2 * sigma * sigma));
  for (int k = 0; k <= 2 * radius; k++)
    kernel[k] /= sum;
  for (int i = 0; i < n; i++) {
    float *img = images + (size_t) i * MM_IMAGE_PIXELS;
    for (int r = 0; r < SIDE; r++)
      for (int c = 0; c < SIDE; c++) {
        double v = 0;
        for (int k = -radius; k <= radius; k++)
          if (c + k >= 0 && c + k < SIDE)
            v += kernel[k + radius] * img[r * SIDE + c + k];
        tmp[r * SIDE + c] = (float) v;
      }
    for (int r = 0; r < SIDE; r++)
      for (int c = 0; c < SIDE; c++) {
        double v = 0;
        for (int k = -radius; k <= radius; k++)
          if (r + k >= 0 && r + k < SIDE)
            v += kernel[k + radius] * tmp[(r + k) * SIDE + c];
        img[r * SIDE + c] = (float) v;
      }
  }
}

double
mm_degrade_power (const float *x, size_t len)
{
  double s = 0;
  for (size_t i = 0; i < len; i++)
    s += (double) x[i] * x[i];
  return len ? s / len : 0;
}

void
mm_degrade_white (float *out, size_t len, guint64 seed, guint64 stream)
{
  MmRng rng;
  mm_rng_seed (&rng, seed, stream);
  for (size_t i = 0; i < len; i++)
    out[i] = (float) gauss (&rng);
}

void
mm_degrade_mix (const float *clip, const float *noise, size_t len, double speech_power,
    double snr_db, float *out)
{
  double np = mm_degrade_power (noise, len);
  double gain = np > 0 ? sqrt (speech_power / pow (10, snr_db / 10) / np) : 0;

  for (size_t i = 0; i < len; i++)
    out[i] = (float) (clip[i] + gain * noise[i]);
}
