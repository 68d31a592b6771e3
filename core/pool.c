/* MaxPool2d 2×2, stride 2, floor mode, with the argmax kept for backward. */
#include <math.h>
#include <string.h>

#include "mm-layers.h"

void
mm_maxpool2_forward (int batch, int c, int h, int w,
                     const float *x, float *y, int32_t *argmax)
{
  int oh = h / 2, ow = w / 2;
  size_t planes = (size_t) batch * c;

  for (size_t pl = 0; pl < planes; pl++) {
    const float *in = x + pl * h * w;
    float *out = y + pl * oh * ow;
    int32_t *arg = argmax + pl * oh * ow;

    for (int oy = 0; oy < oh; oy++)
      for (int ox = 0; ox < ow; ox++) {
        int32_t best = 2 * oy * w + 2 * ox;
        int32_t cand[3] = { best + 1, best + w, best + w + 1 };
        float v = in[best];
        /* first maximum in row-major order wins and NaN propagates, as in
         * PyTorch */
        for (int k = 0; k < 3; k++)
          if (in[cand[k]] > v || isnan (in[cand[k]])) {
            if (isnan (v))
              break;
            best = cand[k];
            v = in[best];
          }
        out[oy * ow + ox] = v;
        arg[oy * ow + ox] = best;
      }
  }
}

void
mm_maxpool2_backward (int batch, int c, int h, int w,
                      const float *dy, const int32_t *argmax, float *dx)
{
  int n = (h / 2) * (w / 2);
  size_t planes = (size_t) batch * c;

  memset (dx, 0, planes * h * w * sizeof (float));
  for (size_t pl = 0; pl < planes; pl++) {
    float *d = dx + pl * h * w;
    const float *g = dy + pl * n;
    const int32_t *arg = argmax + pl * n;
    /* windows do not overlap: each input gets at most one gradient */
    for (int i = 0; i < n; i++)
      d[arg[i]] = g[i];
  }
}
