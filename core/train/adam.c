/* Adam with L2 weight decay added to the gradient, and ReduceLROnPlateau —
 * both exactly as PyTorch 1.13 computes them (torch.optim.Adam without
 * amsgrad, ReduceLROnPlateau mode "max", threshold_mode "rel"). */
#include "mm-adam.h"

#include <math.h>

#include "mm-parallel.h"
#include "mm-simd.h"

MmAdam *
mm_adam_new (size_t n, float lr, float weight_decay)
{
  MmAdam *a = g_new0 (MmAdam, 1);
  a->n = n;
  a->lr = lr;
  a->beta1 = 0.9f;
  a->beta2 = 0.999f;
  a->eps = 1e-8f;
  a->weight_decay = weight_decay;
  a->m = g_new0 (float, n);
  a->v = g_new0 (float, n);
  return a;
}

void
mm_adam_free (MmAdam *a)
{
  if (!a)
    return;
  g_free (a->m);
  g_free (a->v);
  g_free (a);
}

/* One range of the update. GCC vectorises this loop only at -O3 (the
 * project builds at -O2): the attribute turns the vectoriser on here only.
 * Element-wise with IEEE sqrt and division (no -ffast-math), so the vector
 * code computes exactly what the scalar code did. */
typedef struct {
  MmAdam *a;
  float *params;
  const float *grads;
  float step, bc2_sqrt;
  size_t per_task;
} AdamJob;

#define ADAM_MIN_TASK 65536.0
#define ADAM_MAX_TASKS 8

/* Vectorised (MM_VECTORIZE), for AVX-512 and AVX2 too (MM_VECTOR_CLONES):
 * element-wise IEEE operations only, so every variant gives the same floats. */
MM_VECTOR_CLONES static void MM_VECTORIZE
adam_range (MmAdam *a, float *restrict params, const float *restrict grads,
    float *restrict m_, float *restrict v_, size_t n, float step,
    float bc2_sqrt)
{
  const float b1 = a->beta1, b2 = a->beta2, wd = a->weight_decay, eps = a->eps;

  for (size_t i = 0; i < n; i++) {
    float g = grads[i] + wd * params[i];
    float m = m_[i] = b1 * m_[i] + (1.0f - b1) * g;
    float v = v_[i] = b2 * v_[i] + (1.0f - b2) * g * g;
    params[i] -= step * m / (sqrtf (v) / bc2_sqrt + eps);
  }
}

static void
adam_task (gpointer data, int task)
{
  const AdamJob *j = data;
  size_t i0 = task * j->per_task, n = MIN (j->per_task, j->a->n - i0);

  adam_range (j->a, j->params + i0, j->grads + i0, j->a->m + i0,
      j->a->v + i0, n, j->step, j->bc2_sqrt);
}

void
mm_adam_step (MmAdam *a, float *params, const float *grads)
{
  AdamJob j = { a, params, grads, 0, 0, 0 };
  int n_tasks;
  float bc1;

  a->t++;
  bc1 = 1.0f - powf (a->beta1, (float) a->t);
  j.bc2_sqrt = sqrtf (1.0f - powf (a->beta2, (float) a->t));
  j.step = a->lr / bc1;
  n_tasks = mm_parallel_tasks ((double) a->n, ADAM_MIN_TASK, ADAM_MAX_TASKS);
  /* ranges of whole cache lines */
  j.per_task = ((a->n + n_tasks - 1) / n_tasks + 15) / 16 * 16;
  n_tasks = (int) ((a->n + j.per_task - 1) / MAX (j.per_task, 1));
  mm_parallel_for (n_tasks, adam_task, &j);
}

void
mm_plateau_init (MmPlateau *p, float factor, int patience)
{
  p->factor = factor;
  p->patience = patience;
  p->threshold = 1e-4f;
  p->best = -INFINITY;
  p->bad_epochs = 0;
}

gboolean
mm_plateau_step (MmPlateau *p, float metric, float *lr)
{
  if (metric > p->best * (1.0f + p->threshold) || isinf (p->best)) {
    p->best = metric;
    p->bad_epochs = 0;
    return FALSE;
  }
  if (++p->bad_epochs > p->patience) {
    float new_lr = *lr * p->factor;
    p->bad_epochs = 0;
    /* PyTorch skips updates smaller than eps = 1e-8 */
    if (*lr - new_lr > 1e-8f) {
      *lr = new_lr;
      return TRUE;
    }
  }
  return FALSE;
}
