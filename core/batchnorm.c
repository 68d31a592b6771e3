/* BatchNorm1d / BatchNorm2d with PyTorch's semantics.
 *
 * x is [batch][c][spatial]; channel ch owns the batch planes
 * x[b][ch][0..spatial), so every loop walks a channel's planes in turn.
 * x and y (dy and dx) must not overlap: the header does not allow in-place
 * and the kernels below say restrict so that they vectorise.
 * Statistics are accumulated in double: a channel of the ImageNet_CNN has
 * 32·784 values and float sums would lose digits the gradient check sees. */
#include <math.h>

#include "mm-layers.h"

/* Per-plane kernels in blocks of 8 with float partial sums, so that GCC
 * vectorises them at -O2 (SLP); a plane has at most h·w values, the sums
 * over planes are double. */
static double
plane_sum (const float *restrict p, size_t n)
{
  float acc[8] = { 0 }, t = 0.0f;
  size_t i = 0;
  for (; i + 8 <= n; i += 8)
    for (int j = 0; j < 8; j++)
      acc[j] += p[i + j];
  for (; i < n; i++)
    t += p[i];
  for (int j = 0; j < 8; j++)
    t += acc[j];
  return t;
}

/* Σ d·(p − m); with d == p it is the sum of squared deviations */
static double
plane_dot_dev (const float *restrict d, const float *restrict p, float m,
               size_t n)
{
  float acc[8] = { 0 }, t = 0.0f;
  size_t i = 0;
  for (; i + 8 <= n; i += 8)
    for (int j = 0; j < 8; j++)
      acc[j] += d[i + j] * (p[i + j] - m);
  for (; i < n; i++)
    t += d[i] * (p[i] - m);
  for (int j = 0; j < 8; j++)
    t += acc[j];
  return t;
}

/* Σ d and Σ d·(p − m) in one pass (backward's two reductions) */
static void
plane_sum_dot_dev (const float *restrict d, const float *restrict p, float m,
                   size_t n, double *sd, double *sdp)
{
  float a[8] = { 0 }, b[8] = { 0 }, ta = 0.0f, tb = 0.0f;
  size_t i = 0;
  for (; i + 8 <= n; i += 8)
    for (int j = 0; j < 8; j++) {
      a[j] += d[i + j];
      b[j] += d[i + j] * (p[i + j] - m);
    }
  for (; i < n; i++) {
    ta += d[i];
    tb += d[i] * (p[i] - m);
  }
  for (int j = 0; j < 8; j++) {
    ta += a[j];
    tb += b[j];
  }
  *sd += ta;
  *sdp += tb;
}

/* q = k·d − a·(p − m) − b */
static void
plane_axpb (float *restrict q, const float *restrict d, float k,
            const float *restrict p, float a, float m, float b, size_t n)
{
  size_t i = 0;
  for (; i + 8 <= n; i += 8)
    for (int j = 0; j < 8; j++)
      q[i + j] = k * d[i + j] - a * (p[i + j] - m) - b;
  for (; i < n; i++)
    q[i] = k * d[i] - a * (p[i] - m) - b;
}

static void
plane_affine (float *restrict q, const float *restrict p, float scale,
              float shift, size_t n)
{
  size_t i = 0;
  for (; i + 8 <= n; i += 8)
    for (int j = 0; j < 8; j++)
      q[i + j] = p[i + j] * scale + shift;
  for (; i < n; i++)
    q[i] = p[i] * scale + shift;
}

/* mean and biased variance of one channel (two passes: exact for offsets) */
static void
channel_stats (int batch, int c, int spatial, int ch, const float *x,
               double *mean, double *var)
{
  size_t plane = (size_t) spatial, stride = (size_t) c * spatial;
  double n = (double) batch * spatial, s = 0, ss = 0;

  for (int b = 0; b < batch; b++)
    s += plane_sum (x + b * stride + ch * plane, plane);
  *mean = s / n;
  for (int b = 0; b < batch; b++) {
    const float *p = x + b * stride + ch * plane;
    ss += plane_dot_dev (p, p, (float) *mean, plane);
  }
  *var = ss / n;
}

/* y = x · scale + shift over one channel's planes */
static void
channel_affine (int batch, int c, int spatial, int ch, const float *x,
                float *y, float scale, float shift)
{
  size_t plane = (size_t) spatial, stride = (size_t) c * spatial;

  for (int b = 0; b < batch; b++)
    plane_affine (y + b * stride + ch * plane, x + b * stride + ch * plane,
        scale, shift, plane);
}

void
mm_batchnorm_forward (MmBatchNorm *l, int batch, int spatial,
                      const float *x, float *y, gboolean training)
{
  double n = (double) batch * spatial;

  for (int ch = 0; ch < l->c; ch++) {
    float mean, invstd;

    if (training && n > 0) {
      double m, var;
      channel_stats (batch, l->c, spatial, ch, x, &m, &var);
      mean = (float) m;
      invstd = (float) (1.0 / sqrt (var + l->eps));
      l->save_mean[ch] = mean;
      l->save_invstd[ch] = invstd;
      /* PyTorch updates running_var with the unbiased variance; with one
       * value per channel it is undefined (PyTorch refuses), keep the
       * biased one rather than write inf */
      l->running_mean[ch] = (1.0f - l->momentum) * l->running_mean[ch]
          + l->momentum * mean;
      l->running_var[ch] = (1.0f - l->momentum) * l->running_var[ch]
          + l->momentum * (float) (n > 1 ? var * n / (n - 1) : var);
    } else {
      mean = l->running_mean[ch];
      invstd = 1.0f / sqrtf (l->running_var[ch] + l->eps);
    }
    channel_affine (batch, l->c, spatial, ch, x, y, l->gamma[ch] * invstd,
        l->beta[ch] - mean * invstd * l->gamma[ch]);
  }
}

/* With x̂ = (x − μ)·σ⁻¹ and y = γ·x̂ + β over the n values of a channel:
 *   dβ = Σ dy,  dγ = Σ dy·x̂,
 *   dx = γ·σ⁻¹ / n · (n·dy − dβ − x̂·dγ). */
void
mm_batchnorm_backward (const MmBatchNorm *l, int batch, int spatial,
                       const float *x, const float *dy, float *dx)
{
  size_t plane = (size_t) spatial, stride = (size_t) l->c * spatial;
  double n = (double) batch * spatial;

  for (int ch = 0; ch < l->c; ch++) {
    float mean = l->save_mean[ch], invstd = l->save_invstd[ch];
    double sdy = 0, sdyx = 0;
    float k, a, b;

    for (int bi = 0; bi < batch; bi++) {
      const float *p = x + bi * stride + ch * plane;
      const float *d = dy + bi * stride + ch * plane;
      plane_sum_dot_dev (d, p, mean, plane, &sdy, &sdyx);
    }
    l->dbeta[ch] = (float) sdy;
    l->dgamma[ch] = (float) (sdyx * invstd);
    if (!dx || n <= 0)
      continue;
    /* dx = k·dy − a·(x − μ) − b, folded per channel */
    k = l->gamma[ch] * invstd;
    a = (float) (k * sdyx * invstd * invstd / n);
    b = (float) (k * sdy / n);
    for (int bi = 0; bi < batch; bi++) {
      size_t o = bi * stride + ch * plane;
      plane_axpb (dx + o, dy + o, k, x + o, a, mean, b, plane);
    }
  }
}
