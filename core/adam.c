/* Adam with L2 weight decay added to the gradient, and ReduceLROnPlateau —
 * both exactly as PyTorch 1.13 computes them (torch.optim.Adam without
 * amsgrad, ReduceLROnPlateau mode "max", threshold_mode "rel"). */
#include "mm-train.h"

#include <math.h>

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

void
mm_adam_step (MmAdam *a, float *params, const float *grads)
{
  const float b1 = a->beta1, b2 = a->beta2, wd = a->weight_decay, eps = a->eps;
  float bc1, bc2_sqrt, step;

  a->t++;
  bc1 = 1.0f - powf (b1, (float) a->t);
  bc2_sqrt = sqrtf (1.0f - powf (b2, (float) a->t));
  step = a->lr / bc1;
  for (size_t i = 0; i < a->n; i++) {
    float g = grads[i] + wd * params[i];
    float m = a->m[i] = b1 * a->m[i] + (1.0f - b1) * g;
    float v = a->v[i] = b2 * a->v[i] + (1.0f - b2) * g * g;
    params[i] -= step * m / (sqrtf (v) / bc2_sqrt + eps);
  }
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
