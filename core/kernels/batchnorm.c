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

#include "mm-batchnorm.h"
#include "mm-parallel.h"
#include "mm-pool.h"
#include "mm-simd.h"

/* Per-plane kernels on 16-lane vectors (mm-simd.h) with float partial
 * sums per lane; a plane has at most h·w values, the sums over planes are
 * double. The ReLU's mask is a vector AND: written as scalar ternaries,
 * -O2 made it a branch per value (the fused backward was then slower than
 * the two passes it replaced). The functions that use these are compiled
 * for AVX-512 and AVX2 too (MM_VECTOR_CLONES). */
MM_VF_INLINE double
plane_sum (const float *restrict p, size_t n)
{
  MmVF acc = MM_VF_SET (0.0f);
  float t = 0.0f;
  size_t i = 0;
  for (; i + MM_VW <= n; i += MM_VW)
    acc += mm_vf_load (p + i);
  for (; i < n; i++)
    t += p[i];
  return t + mm_vf_sum (acc);
}

/* Σ (p − m)² */
MM_VF_INLINE double
plane_sq_dev (const float *restrict p, float m, size_t n)
{
  MmVF acc = MM_VF_SET (0.0f);
  float t = 0.0f;
  size_t i = 0;
  for (; i + MM_VW <= n; i += MM_VW) {
    MmVF d = mm_vf_load (p + i) - m;
    acc += d * d;
  }
  for (; i < n; i++)
    t += (p[i] - m) * (p[i] - m);
  return t + mm_vf_sum (acc);
}

/* Which values of dy a fused ReLU lets through: all (no ReLU), those where
 * its output r > 0 (r given), or those where x·scale + shift > 0 (the ReLU
 * output recomputed from the batch norm's input: the same test on the same
 * float, so the same mask, without storing or reading r). */
typedef enum { MASK_NONE, MASK_R, MASK_X } MaskMode;

typedef struct {
  MaskMode mode;
  const float *r;             /* MASK_R: the plane of r */
  float scale, shift;         /* MASK_X */
} Mask;

/* d[i..i+16) masked; @pv is x[i..i+16) */
MM_VF_INLINE MmVF
vf_masked (const float *d, const Mask *mk, size_t i, MmVF pv)
{
  MmVF v = mm_vf_load (d + i);
  if (mk->mode == MASK_R)
    v = (MmVF) ((MmVFi) v & (mm_vf_load (mk->r + i) > 0.0f));
  else if (mk->mode == MASK_X)
    v = (MmVF) ((MmVFi) v & (pv * mk->scale + mk->shift > 0.0f));
  return v;
}

static inline __attribute__ ((always_inline)) float
masked (const float *d, const Mask *mk, size_t i, float p)
{
  if (mk->mode == MASK_R)
    return mk->r[i] > 0.0f ? d[i] : 0.0f;
  if (mk->mode == MASK_X)
    return p * mk->scale + mk->shift > 0.0f ? d[i] : 0.0f;
  return d[i];
}

/* Σ d and Σ d·(p − m) in one pass (backward's two reductions), d masked
 * by @mk: the ReLU's backward folded in. Always inlined so each caller
 * gets the variant it uses. */
MM_VF_INLINE void
plane_sum_dot_dev (const float *restrict d, const Mask *mk,
                   const float *restrict p, float m, size_t n,
                   double *sd, double *sdp)
{
  MmVF a = MM_VF_SET (0.0f), b = MM_VF_SET (0.0f);
  float ta = 0.0f, tb = 0.0f;
  size_t i = 0;
  for (; i + MM_VW <= n; i += MM_VW) {
    MmVF pv = mm_vf_load (p + i), di = vf_masked (d, mk, i, pv);
    a += di;
    b += di * (pv - m);
  }
  for (; i < n; i++) {
    float di = masked (d, mk, i, p[i]);
    ta += di;
    tb += di * (p[i] - m);
  }
  *sd += ta + mm_vf_sum (a);
  *sdp += tb + mm_vf_sum (b);
}

/* q = k·d − a·(p − m) − b, d masked by @mk as above */
MM_VF_INLINE void
plane_axpb (float *restrict q, const float *restrict d, const Mask *mk,
            float k, const float *restrict p, float a, float m, float b, size_t n)
{
  size_t i = 0;
  for (; i + MM_VW <= n; i += MM_VW) {
    MmVF pv = mm_vf_load (p + i);
    mm_vf_store (q + i, k * vf_masked (d, mk, i, pv) - a * (pv - m) - b);
  }
  for (; i < n; i++)
    q[i] = k * masked (d, mk, i, p[i]) - a * (p[i] - m) - b;
}

/* σ⁻¹ from the running variance (evaluation); the training forward's
 * kernel and the inference kernel both take it from here */
static inline float
running_invstd (const MmBatchNorm *l, int ch)
{
  return 1.0f / sqrtf (l->running_var[ch] + l->eps);
}

/* The batch norm as y = x·scale + shift; forward and backward compute it
 * by this one expression, so that backward's MASK_X sees forward's floats. */
static inline void
bn_affine (const MmBatchNorm *l, int ch, float mean, float invstd, float *scale,
           float *shift)
{
  *scale = l->gamma[ch] * invstd;
  *shift = l->beta[ch] - mean * invstd * l->gamma[ch];
}

/* y = x·scale + shift (then the ReLU) */
static inline __attribute__ ((always_inline)) void
plane_affine (float *restrict q, const float *restrict p, float scale,
              float shift, gboolean relu, size_t n)
{
  size_t i = 0;
  for (; i + MM_VW <= n; i += MM_VW) {
    MmVF v = mm_vf_load (p + i) * scale + shift;
    mm_vf_store (q + i, relu ? mm_vf_relu (v) : v);
  }
  for (; i < n; i++) {
    float v = p[i] * scale + shift;
    q[i] = relu ? (v > 0.0f ? v : 0.0f) : v;
  }
}

/* mean and biased variance of one channel (two passes: exact for offsets) */
static inline __attribute__ ((always_inline)) void
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
    ss += plane_sq_dev (p, (float) *mean, plane);
  }
  *var = ss / n;
}

/* Channels go to tasks in contiguous groups; below this many values per
 * task the wake-up would cost more than the pass. */
#define BN_MIN_TASK_VALUES 32768.0
#define BN_MAX_TASKS 16
/* planes up to this size use a scratch plane on the stack */
#define BN_STACK_PLANE 4096
/* the inference kernel: about 0.2 ns per input value, so a task of this
 * many values lasts ~2 µs, twice what handing it to a polling worker costs */
#define BN_INFER_MIN_TASK_VALUES 8192.0

typedef struct {
  MmBatchNorm *l;
  int batch, spatial, n_tasks;
  const float *x, *r, *dy;
  float *y, *dx;
  gboolean training, relu;
  int h, w;                   /* the fused max-pool's plane, when pooled */
  float *pooled;
  gint32 *argmax;
  const float *dpool;         /* the fused max-pool's backward, when set */
  const gint32 *cargmax;
} BnJob;

/* A task's scratch plane, when @needed: @stack (BN_STACK_PLANE floats)
 * when the plane fits, else a heap block the task frees (≠ @stack). */
static float *
scratch_plane (const BnJob *j, gboolean needed, float *stack)
{
  return needed && j->spatial > BN_STACK_PLANE ? g_new (float, j->spatial) : stack;
}

static int
bn_tasks (const MmBatchNorm *l, int batch, int spatial)
{
  return MIN (l->c, mm_parallel_tasks ((double) batch * spatial * l->c,
          BN_MIN_TASK_VALUES, BN_MAX_TASKS));
}

/* lanes 0, 2, 4, 6: the first value of each 2×2 window across a row pair */
static const MmV4i even_lanes = { 0, 2, 4, 6 };

/* The pools work four windows at a time on 4-lane vectors: the planes are
 * 14 or 19 windows wide, too narrow for 16. v[0..3] receive the four values
 * of windows ox … ox+3 of the row pair (r0, r1), in row-major order. */
static inline __attribute__ ((always_inline)) void
window_values (const float *r0, const float *r1, int ox, MmV4 v[4])
{
  MmV4 a0 = mm_v4_load (r0 + 2 * ox), a1 = mm_v4_load (r0 + 2 * ox + 4);
  MmV4 b0 = mm_v4_load (r1 + 2 * ox), b1 = mm_v4_load (r1 + 2 * ox + 4);

  /* __builtin_shufflevector (GCC ≥ 12 and clang), as mfcc.c: the even and
   * the odd lanes of the pair */
  v[0] = __builtin_shufflevector (a0, a1, 0, 2, 4, 6);
  v[1] = __builtin_shufflevector (a0, a1, 1, 3, 5, 7);
  v[2] = __builtin_shufflevector (b0, b1, 0, 2, 4, 6);
  v[3] = __builtin_shufflevector (b0, b1, 1, 3, 5, 7);
}

/* Max-pool 2×2 of one plane of the fused ReLU's output (no NaN there: the
 * ReLU mask maps NaN to 0), bit-identical to mm_maxpool2_forward: the same
 * comparisons as its fast path, which is exact without NaN, four windows at
 * a time. Always inlined, like every kernel below the MM_VECTOR_CLONES task
 * functions: called out of line, this baseline (SSE) code ran from the
 * AVX-512 clone at half speed (the fused forward took 2× as long). */
static inline __attribute__ ((always_inline)) void
pool_plane (const float *restrict in, int h, int w, float *restrict out,
            gint32 *restrict arg)
{
  int oh = h / 2, ow = w / 2;

  for (int oy = 0; oy < oh; oy++) {
    const float *r0 = in + 2 * oy * w, *r1 = r0 + w;
    float *o = out + oy * ow;
    gint32 *a = arg + oy * ow;
    int ox = 0;

    for (; ox < ow && ow >= 4; ox += 4) {
      MmV4 v[4];
      /* the last block may overlap the one before: same values rewritten */
      if (ox + 4 > ow)
        ox = ow - 4;
      window_values (r0, r1, ox, v);
      MmV4 m01 = mm_v4_select (v[1] > v[0], v[1], v[0]);
      MmV4 m23 = mm_v4_select (v[3] > v[2], v[3], v[2]);
      MmV4 m = mm_v4_select (m23 > m01, m23, m01);
      MmV4i n0 = v[0] != m, n1 = v[1] != m, n2 = v[2] != m;
      /* first value equal to the maximum: k = n0·(1 + n1·(1 + n2)) */
      MmV4i k = (n0 & 1) + (n0 & n1 & 1) + (n0 & n1 & n2 & 1);
      MmV4i idx = 2 * oy * w + 2 * ox + even_lanes + (k & 1) + (-(k >> 1) & w);

      mm_v4_store (o + ox, m);
      memcpy (a + ox, &idx, sizeof idx);
    }
    for (; ox < ow; ox++) {
      float v[4] = { r0[2 * ox], r0[2 * ox + 1], r1[2 * ox], r1[2 * ox + 1] };
      float m01 = v[1] > v[0] ? v[1] : v[0], m23 = v[3] > v[2] ? v[3] : v[2];
      float m = m23 > m01 ? m23 : m01;
      int n0 = v[0] != m, n1 = v[1] != m, n2 = v[2] != m;
      int k = n0 * (1 + n1 * (1 + n2));
      o[ox] = m;
      a[ox] = 2 * oy * w + 2 * ox + (k & 1) + (k >> 1) * w;
    }
  }
}

static inline __attribute__ ((always_inline)) void
forward_channel (const BnJob *j, int ch, float *scratch)
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
    invstd = running_invstd (l, ch);
  }
  bn_affine (l, ch, mean, invstd, &scale, &shift);
  for (int b = 0; b < j->batch; b++) {
    const float *p = j->x + b * stride + ch * plane;
    /* without y (only with the pool), the plane lives in L1 scratch */
    float *q = j->y ? j->y + b * stride + ch * plane : scratch;
    if (j->relu)
      plane_affine (q, p, scale, shift, TRUE, plane);
    else
      plane_affine (q, p, scale, shift, FALSE, plane);
    /* pool the plane while it is in L1 */
    if (j->pooled) {
      size_t po = ((size_t) b * l->c + ch) * (j->h / 2) * (j->w / 2);
      pool_plane (q, j->h, j->w, j->pooled + po, j->argmax + po);
    }
  }
}

MM_VECTOR_CLONES static void
forward_task (gpointer data, int task)
{
  const BnJob *j = data;
  int c = j->l->c;
  float stack[BN_STACK_PLANE];
  float *scratch = scratch_plane (j, !j->y, stack);

  for (int ch = task * c / j->n_tasks; ch < (task + 1) * c / j->n_tasks; ch++)
    forward_channel (j, ch, scratch);
  if (scratch != stack)
    g_free (scratch);
}

static void
forward (MmBatchNorm *l, int batch, int spatial, const float *x, float *y,
    gboolean training, gboolean relu)
{
  BnJob j = { l, batch, spatial, bn_tasks (l, batch, spatial), x, NULL, NULL,
    y, NULL, training, relu, 0, 0, NULL, NULL, NULL, NULL };

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

void
mm_batchnorm_relu_maxpool2_forward (MmBatchNorm *l, int batch, int h, int w,
                                    const float *x, float *y, float *pooled,
                                    int32_t *argmax, gboolean training)
{
  BnJob j = { l, batch, h * w, bn_tasks (l, batch, h * w), x, NULL, NULL,
    y, NULL, training, TRUE, h, w, pooled, argmax, NULL, NULL };

  mm_parallel_for (j.n_tasks, forward_task, &j);
}

/* ---- evaluation only: batch norm + ReLU + max-pool without y or argmax ----
 *
 * With the running statistics the batch norm is v ↦ v·scale + shift, which
 * is monotone in v (non-decreasing for scale ≥ 0, non-increasing below: a
 * correctly rounded product and sum preserve order), and so is the ReLU. So
 * the maximum over a window of relu(v·scale + shift) is relu(m·scale +
 * shift) with m the window's maximum (scale ≥ 0) or minimum (scale < 0) of
 * the raw values: the same float, bit for bit, for finite input, at a
 * quarter of the arithmetic and without writing the full-size y and argmax
 * that only backward needs. (A NaN in a window may pick another value than
 * the training path does; both give a finite result.) */
static inline __attribute__ ((always_inline)) void
infer_plane (const float *restrict in, int h, int w, float scale, float shift,
             gboolean neg, float *restrict out)
{
  int oh = h / 2, ow = w / 2;

  for (int oy = 0; oy < oh; oy++) {
    const float *r0 = in + 2 * oy * w, *r1 = r0 + w;
    float *o = out + oy * ow;
    int ox = 0;

    for (; ox < ow && ow >= 4; ox += 4) {
      MmV4 v[4];
      if (ox + 4 > ow)    /* overlap the previous block: same values */
        ox = ow - 4;
      window_values (r0, r1, ox, v);
      MmV4 m01 = mm_v4_select (neg ? v[1] < v[0] : v[1] > v[0], v[1], v[0]);
      MmV4 m23 = mm_v4_select (neg ? v[3] < v[2] : v[3] > v[2], v[3], v[2]);
      MmV4 m = mm_v4_select (neg ? m23 < m01 : m23 > m01, m23, m01) * scale + shift;

      mm_v4_store (o + ox, mm_v4_relu (m));
    }
    for (; ox < ow; ox++) {
      float v[4] = { r0[2 * ox], r0[2 * ox + 1], r1[2 * ox], r1[2 * ox + 1] }, m = v[0];
      for (int k = 1; k < 4; k++)
        m = (neg ? v[k] < m : v[k] > m) ? v[k] : m;
      m = m * scale + shift;
      o[ox] = m > 0.0f ? m : 0.0f;
    }
  }
}

MM_VECTOR_CLONES static void
infer_task (gpointer data, int task)
{
  const BnJob *j = data;
  const MmBatchNorm *l = j->l;
  size_t plane = (size_t) j->spatial, pooled_plane = (size_t) (j->h / 2) * (j->w / 2);
  int c = l->c;

  for (int ch = task * c / j->n_tasks; ch < (task + 1) * c / j->n_tasks; ch++) {
    /* the same floats as forward_channel's evaluation branch */
    float scale, shift;

    bn_affine (l, ch, l->running_mean[ch], running_invstd (l, ch), &scale, &shift);

    for (int b = 0; b < j->batch; b++) {
      const float *p = j->x + ((size_t) b * c + ch) * plane;
      float *q = j->pooled + ((size_t) b * c + ch) * pooled_plane;
      if (scale < 0.0f)
        infer_plane (p, j->h, j->w, scale, shift, TRUE, q);
      else
        infer_plane (p, j->h, j->w, scale, shift, FALSE, q);
    }
  }
}

void
mm_batchnorm_relu_maxpool2_infer (const MmBatchNorm *l, int batch, int h, int w,
                                  const float *x, float *pooled)
{
  int n_tasks = MIN (l->c, mm_parallel_tasks ((double) batch * l->c * h * w,
          BN_INFER_MIN_TASK_VALUES, BN_MAX_TASKS));
  BnJob j = { (MmBatchNorm *) l, batch, h * w, n_tasks, x, NULL,
    NULL, NULL, NULL, FALSE, TRUE, h, w, pooled, NULL, NULL, NULL };

  mm_parallel_for (j.n_tasks, infer_task, &j);
}

/* With x̂ = (x − μ)·σ⁻¹ and y = γ·x̂ + β over the n values of a channel:
 *   dβ = Σ dy,  dγ = Σ dy·x̂,
 *   dx = γ·σ⁻¹ / n · (n·dy − dβ − x̂·dγ).
 * @r, when not NULL, is the fused ReLU's output: dy counts where r > 0. */
/* The dy plane of (bi, ch): from j->dy, or, with the fused max-pool, the
 * pool's backward of that plane built in @scratch (hot in L1, where the
 * unfused pool writes the whole, mostly zero, dy to memory first). */
static inline const float *
plane_dy (const BnJob *j, int bi, int ch, float *scratch)
{
  size_t n = (size_t) (j->h / 2) * (j->w / 2), pl = (size_t) bi * j->l->c + ch;
  const float *g;
  const gint32 *arg;

  if (!j->dpool)
    return j->dy + pl * j->spatial;
  g = j->dpool + pl * n;
  arg = j->cargmax + pl * n;
  memset (scratch, 0, (size_t) j->spatial * sizeof (float));
  /* windows do not overlap: each value gets at most one gradient */
  for (size_t i = 0; i < n; i++)
    scratch[arg[i]] = g[i];
  return scratch;
}

static inline __attribute__ ((always_inline)) void
backward_channel (const BnJob *j, int ch, MaskMode mode, float *scratch)
{
  const MmBatchNorm *l = j->l;
  size_t plane = (size_t) j->spatial, stride = (size_t) l->c * j->spatial;
  double n = (double) j->batch * j->spatial;
  float mean = l->save_mean[ch], invstd = l->save_invstd[ch];
  double sdy = 0, sdyx = 0;
  float k, a, b;
  Mask mk = { mode, NULL, 0.0f, 0.0f };

  bn_affine (l, ch, mean, invstd, &mk.scale, &mk.shift);
  for (int bi = 0; bi < j->batch; bi++) {
    size_t o = bi * stride + ch * plane;
    mk.r = j->r ? j->r + o : NULL;
    plane_sum_dot_dev (plane_dy (j, bi, ch, scratch), &mk, j->x + o, mean, plane,
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
    mk.r = j->r ? j->r + o : NULL;
    plane_axpb (j->dx + o, plane_dy (j, bi, ch, scratch), &mk, k, j->x + o, a, mean,
        b, plane);
  }
}

MM_VECTOR_CLONES static void
backward_task (gpointer data, int task)
{
  const BnJob *j = data;
  int c = j->l->c;
  float stack[BN_STACK_PLANE];
  float *scratch = scratch_plane (j, j->dpool != NULL, stack);

  /* one call per mode, so that each inlined copy tests its mask only */
  for (int ch = task * c / j->n_tasks; ch < (task + 1) * c / j->n_tasks; ch++)
    if (!j->relu)
      backward_channel (j, ch, MASK_NONE, scratch);
    else if (j->r)
      backward_channel (j, ch, MASK_R, scratch);
    else
      backward_channel (j, ch, MASK_X, scratch);
  if (scratch != stack)
    g_free (scratch);
}

void
mm_batchnorm_backward (const MmBatchNorm *l, int batch, int spatial,
                       const float *x, const float *dy, float *dx)
{
  BnJob j = { (MmBatchNorm *) l, batch, spatial, bn_tasks (l, batch, spatial),
    x, NULL, dy, NULL, dx, TRUE, FALSE, 0, 0, NULL, NULL, NULL, NULL };

  mm_parallel_for (j.n_tasks, backward_task, &j);
}

void
mm_batchnorm_relu_backward (const MmBatchNorm *l, int batch, int spatial,
                            const float *x, const float *y,
                            const float *dy, float *dx)
{
  BnJob j = { (MmBatchNorm *) l, batch, spatial, bn_tasks (l, batch, spatial),
    x, y, dy, NULL, dx, TRUE, TRUE, 0, 0, NULL, NULL, NULL, NULL };

  mm_parallel_for (j.n_tasks, backward_task, &j);
}

void
mm_batchnorm_relu_maxpool2_backward (const MmBatchNorm *l, int batch, int h,
                                     int w, const float *x, const float *y,
                                     const float *dpooled,
                                     const int32_t *argmax, float *dx)
{
  BnJob j = { (MmBatchNorm *) l, batch, h * w, bn_tasks (l, batch, h * w),
    x, y, NULL, NULL, dx, TRUE, TRUE, h, w, NULL, NULL, dpooled, argmax };

  mm_parallel_for (j.n_tasks, backward_task, &j);
}
