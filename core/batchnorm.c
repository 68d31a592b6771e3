/* BatchNorm1d / BatchNorm2d with PyTorch's semantics.
 *
 * x is [batch][c][spatial]; channel ch owns the batch planes
 * x[b][ch][0..spatial), so every loop walks a channel's planes in turn.
 * x and y (dy and dx) must not overlap: the header does not allow in-place
 * and the kernels below say restrict so that they vectorise.
 * Statistics are accumulated in double: a channel of the ImageNet_CNN has
 * 32·784 values and float sums would lose digits the gradient check sees. */
#include <math.h>
#include <string.h>

#include "mm-layers.h"
#include "mm-parallel.h"

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

/* The kernels below with a ReLU folded in use GCC / Clang vector
 * extensions: written as scalar ternaries, -O2 turned the mask into a
 * branch per value (the fused backward was slower than the two passes it
 * replaced). Blocks of 8 as two 4-lane halves (16-byte vectors: SSE2, the
 * x86-64 baseline), the same partial sums as 8 scalar accumulators. */
typedef float V4 __attribute__ ((vector_size (16)));
typedef gint32 V4i __attribute__ ((vector_size (16)));

static inline V4
v4_load (const float *p)
{
  V4 v;
  memcpy (&v, p, sizeof v);
  return v;
}

/* d where r > 0, else 0 (r == NULL: d) */
static inline V4
v4_masked (const float *d, const float *r)
{
  V4 v = v4_load (d);
  if (r)
    v = (V4) ((V4i) v & (v4_load (r) > 0.0f));
  return v;
}

/* Σ d and Σ d·(p − m) in one pass (backward's two reductions). With @r
 * (the fused ReLU's output) d counts only where r > 0: the ReLU's backward
 * folded in. Always inlined so each caller gets the variant it uses. */
static inline __attribute__ ((always_inline)) void
plane_sum_dot_dev (const float *restrict d, const float *restrict r,
                   const float *restrict p, float m, size_t n,
                   double *sd, double *sdp)
{
  V4 a[2] = { { 0 }, { 0 } }, b[2] = { { 0 }, { 0 } };
  float ta = 0.0f, tb = 0.0f;
  size_t i = 0;
  for (; i + 8 <= n; i += 8)
    for (int h = 0; h < 2; h++) {
      V4 dj = v4_masked (d + i + 4 * h, r ? r + i + 4 * h : NULL);
      a[h] += dj;
      b[h] += dj * (v4_load (p + i + 4 * h) - m);
    }
  for (; i < n; i++) {
    float di = r ? (r[i] > 0.0f ? d[i] : 0.0f) : d[i];
    ta += di;
    tb += di * (p[i] - m);
  }
  for (int j = 0; j < 8; j++) {
    ta += a[j / 4][j % 4];
    tb += b[j / 4][j % 4];
  }
  *sd += ta;
  *sdp += tb;
}

/* q = k·d − a·(p − m) − b, d masked by r > 0 as above */
static inline __attribute__ ((always_inline)) void
plane_axpb (float *restrict q, const float *restrict d,
            const float *restrict r, float k, const float *restrict p,
            float a, float m, float b, size_t n)
{
  size_t i = 0;
  for (; i + 4 <= n; i += 4) {
    V4 v = k * v4_masked (d + i, r ? r + i : NULL) - a * (v4_load (p + i) - m) - b;
    memcpy (q + i, &v, sizeof v);
  }
  for (; i < n; i++) {
    float di = r ? (r[i] > 0.0f ? d[i] : 0.0f) : d[i];
    q[i] = k * di - a * (p[i] - m) - b;
  }
}

static inline __attribute__ ((always_inline)) void
plane_affine (float *restrict q, const float *restrict p, float scale,
              float shift, gboolean relu, size_t n)
{
  size_t i = 0;
  for (; i + 4 <= n; i += 4) {
    V4 v = v4_load (p + i) * scale + shift;
    if (relu)
      v = (V4) ((V4i) v & (v > 0.0f));
    memcpy (q + i, &v, sizeof v);
  }
  for (; i < n; i++) {
    float v = p[i] * scale + shift;
    q[i] = relu ? (v > 0.0f ? v : 0.0f) : v;
  }
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

/* Channels go to tasks in contiguous groups; below this many values per
 * task the wake-up would cost more than the pass. */
#define BN_MIN_TASK_VALUES 32768.0
#define BN_MAX_TASKS 16

typedef struct {
  MmBatchNorm *l;
  int batch, spatial, n_tasks;
  const float *x, *r, *dy;
  float *y, *dx;
  gboolean training, relu;
} BnJob;

static int
bn_tasks (const MmBatchNorm *l, int batch, int spatial)
{
  return MIN (l->c, mm_parallel_tasks ((double) batch * spatial * l->c,
          BN_MIN_TASK_VALUES, BN_MAX_TASKS));
}

static void
forward_channel (const BnJob *j, int ch)
{
  MmBatchNorm *l = j->l;
  size_t plane = (size_t) j->spatial, stride = (size_t) l->c * j->spatial;
  double n = (double) j->batch * j->spatial;
  float mean, invstd, scale, shift;

  if (j->training && n > 0) {
    double m, var;
    channel_stats (j->batch, l->c, j->spatial, ch, j->x, &m, &var);
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
  scale = l->gamma[ch] * invstd;
  shift = l->beta[ch] - mean * invstd * l->gamma[ch];
  for (int b = 0; b < j->batch; b++) {
    const float *p = j->x + b * stride + ch * plane;
    float *q = j->y + b * stride + ch * plane;
    if (j->relu)
      plane_affine (q, p, scale, shift, TRUE, plane);
    else
      plane_affine (q, p, scale, shift, FALSE, plane);
  }
}

static void
forward_task (gpointer data, int task)
{
  const BnJob *j = data;
  int c = j->l->c;

  for (int ch = task * c / j->n_tasks; ch < (task + 1) * c / j->n_tasks; ch++)
    forward_channel (j, ch);
}

static void
forward (MmBatchNorm *l, int batch, int spatial, const float *x, float *y,
    gboolean training, gboolean relu)
{
  BnJob j = { l, batch, spatial, bn_tasks (l, batch, spatial), x, NULL, NULL,
    y, NULL, training, relu };

  mm_parallel_for (j.n_tasks, forward_task, &j);
}

void
mm_batchnorm_forward (MmBatchNorm *l, int batch, int spatial,
                      const float *x, float *y, gboolean training)
{
  forward (l, batch, spatial, x, y, training, FALSE);
}

void
mm_batchnorm_relu_forward (MmBatchNorm *l, int batch, int spatial,
                           const float *x, float *y, gboolean training)
{
  forward (l, batch, spatial, x, y, training, TRUE);
}

/* With x̂ = (x − μ)·σ⁻¹ and y = γ·x̂ + β over the n values of a channel:
 *   dβ = Σ dy,  dγ = Σ dy·x̂,
 *   dx = γ·σ⁻¹ / n · (n·dy − dβ − x̂·dγ).
 * @r, when not NULL, is the fused ReLU's output: dy counts where r > 0. */
static inline __attribute__ ((always_inline)) void
backward_channel (const BnJob *j, int ch, const float *r)
{
  const MmBatchNorm *l = j->l;
  size_t plane = (size_t) j->spatial, stride = (size_t) l->c * j->spatial;
  double n = (double) j->batch * j->spatial;
  float mean = l->save_mean[ch], invstd = l->save_invstd[ch];
  double sdy = 0, sdyx = 0;
  float k, a, b;

  for (int bi = 0; bi < j->batch; bi++) {
    size_t o = bi * stride + ch * plane;
    plane_sum_dot_dev (j->dy + o, r ? r + o : NULL, j->x + o, mean, plane,
        &sdy, &sdyx);
  }
  l->dbeta[ch] = (float) sdy;
  l->dgamma[ch] = (float) (sdyx * invstd);
  if (!j->dx || n <= 0)
    return;
  /* dx = k·dy − a·(x − μ) − b, folded per channel */
  k = l->gamma[ch] * invstd;
  a = (float) (k * sdyx * invstd * invstd / n);
  b = (float) (k * sdy / n);
  for (int bi = 0; bi < j->batch; bi++) {
    size_t o = bi * stride + ch * plane;
    plane_axpb (j->dx + o, j->dy + o, r ? r + o : NULL, k, j->x + o, a,
        mean, b, plane);
  }
}

static void
backward_task (gpointer data, int task)
{
  const BnJob *j = data;
  int c = j->l->c;

  for (int ch = task * c / j->n_tasks; ch < (task + 1) * c / j->n_tasks; ch++)
    if (j->r)
      backward_channel (j, ch, j->r);
    else
      backward_channel (j, ch, NULL);
}

void
mm_batchnorm_backward (const MmBatchNorm *l, int batch, int spatial,
                       const float *x, const float *dy, float *dx)
{
  BnJob j = { (MmBatchNorm *) l, batch, spatial, bn_tasks (l, batch, spatial),
    x, NULL, dy, NULL, dx, TRUE, FALSE };

  mm_parallel_for (j.n_tasks, backward_task, &j);
}

void
mm_batchnorm_relu_backward (const MmBatchNorm *l, int batch, int spatial,
                            const float *x, const float *y,
                            const float *dy, float *dx)
{
  BnJob j = { (MmBatchNorm *) l, batch, spatial, bn_tasks (l, batch, spatial),
    x, y, dy, NULL, dx, TRUE, TRUE };

  mm_parallel_for (j.n_tasks, backward_task, &j);
}
