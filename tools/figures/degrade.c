/* Input degradations for the robustness curves (see degrade.h). */
#include "degrade.h"

#include <math.h>
#include <string.h>

#include "mm-augment.h"
#include "mm-net.h"
#include "mm-rng.h"

#define SIDE MM_IMAGE_SIZE

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
    MmRng rng;
    mm_rng_seed (&rng, seed, (guint64) i);
    mm_aug_pixel_noise (&rng, images + (size_t) i * MM_IMAGE_PIXELS, (float) sigma);
  }
}
