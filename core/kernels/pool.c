/* MaxPool2d 2×2, stride 2, floor mode, with the argmax kept for backward. */
#include <string.h>

#include "mm-parallel.h"
#include "mm-pool.h"

/* PyTorch's rule for a window scanned in row-major order: a value wins when
 * greater than the best so far or NaN, so the first of equal maxima stays
 * and NaN propagates. Exact, branchy; used only for windows holding a NaN
 * or an infinity. */
static int
window_argmax_slow (const float v[4])
{
  int best = 0;
  for (int k = 1; k < 4; k++)
    if (v[k] > v[best] || v[k] != v[k])
      best = k;
  return best;
}

/* The fast path without branches: on real activations the winner of a
 * window is random, and a branch per comparison mispredicts half the time
 * (this made the pooling slower than the convolution before it). */
static inline int
window_argmax (const float v[4])
{
  float m01 = v[1] > v[0] ? v[1] : v[0];
  float m23 = v[3] > v[2] ? v[3] : v[2];
  float m = m23 > m01 ? m23 : m01;
  int n0 = v[0] != m, n1 = v[1] != m, n2 = v[2] != m;

  /* one add sees any NaN (and an inf − inf): take the exact path */
  if (G_UNLIKELY ((v[0] + v[1] + v[2] + v[3]) != (v[0] + v[1] + v[2] + v[3])))
    return window_argmax_slow (v);
  /* index of the first value equal to the maximum */
  return n0 * (1 + n1 * (1 + n2));
}

/* Planes go to tasks in contiguous ranges; fewer values than this per task
 * are not worth a wake-up. */
#define POOL_MIN_TASK_VALUES 65536.0
#define POOL_MAX_TASKS 16

typedef struct {
  int h, w, n_tasks;
  size_t planes;
  const float *x, *dy;
  float *y, *dx;
  const int32_t *carg;
  int32_t *arg;
} PoolJob;

static int
pool_tasks (size_t planes, int h, int w)
{
  return (int) MIN (planes, (size_t) mm_parallel_tasks ((double) planes * h * w,
          POOL_MIN_TASK_VALUES, POOL_MAX_TASKS));
}

static void
forward_task (gpointer data, int task)
{
  const PoolJob *j = data;
  int h = j->h, w = j->w, oh = h / 2, ow = w / 2;
  size_t p0 = j->planes * task / j->n_tasks, p1 = j->planes * (task + 1) / j->n_tasks;

  for (size_t pl = p0; pl < p1; pl++) {
    const float *in = j->x + pl * h * w;
    float *out = j->y + pl * oh * ow;
    int32_t *arg = j->arg + pl * oh * ow;

    for (int oy = 0; oy < oh; oy++) {
      const float *r0 = in + 2 * oy * w, *r1 = r0 + w;
      for (int ox = 0; ox < ow; ox++) {
        float v[4] = { r0[2 * ox], r0[2 * ox + 1], r1[2 * ox], r1[2 * ox + 1] };
        int k = window_argmax (v);
        /* window index k -> flat index in the plane */
        int32_t idx = 2 * oy * w + 2 * ox + (k & 1) + (k >> 1) * w;
        out[oy * ow + ox] = v[k];
        arg[oy * ow + ox] = idx;
      }
    }
  }
}

void
mm_maxpool2_forward (int batch, int c, int h, int w,
                     const float *x, float *y, int32_t *argmax)
{
  size_t planes = (size_t) batch * c;
  PoolJob j = { h, w, pool_tasks (planes, h, w), planes, x, NULL, y, NULL,
    NULL, argmax };

  mm_parallel_for (j.n_tasks, forward_task, &j);
}

static void
backward_task (gpointer data, int task)
{
  const PoolJob *j = data;
  int n = (j->h / 2) * (j->w / 2);
  size_t hw = (size_t) j->h * j->w;
  size_t p0 = j->planes * task / j->n_tasks, p1 = j->planes * (task + 1) / j->n_tasks;

  memset (j->dx + p0 * hw, 0, (p1 - p0) * hw * sizeof (float));
  for (size_t pl = p0; pl < p1; pl++) {
    float *d = j->dx + pl * hw;
    const float *g = j->dy + pl * n;
    const int32_t *arg = j->carg + pl * n;
    /* windows do not overlap: each input gets at most one gradient */
    for (int i = 0; i < n; i++)
      d[arg[i]] = g[i];
  }
}

void
mm_maxpool2_backward (int batch, int c, int h, int w,
                      const float *dy, const int32_t *argmax, float *dx)
{
  size_t planes = (size_t) batch * c;
  PoolJob j = { h, w, pool_tasks (planes, h, w), planes, NULL, dy, NULL, dx,
    argmax, NULL };

  mm_parallel_for (j.n_tasks, backward_task, &j);
}
