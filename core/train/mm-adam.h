/* mmdigits — Adam and ReduceLROnPlateau, as PyTorch computes them (adam.c). */
#pragma once

#include <glib.h>
#include <stddef.h>

G_BEGIN_DECLS

/* ---- Adam with PyTorch's L2 weight decay (added to the gradient) ---- */
typedef struct {
  size_t n;
  float lr, beta1, beta2, eps, weight_decay;
  int t;
  float *m, *v;     /* owned */
} MmAdam;

MmAdam  *mm_adam_new  (size_t n, float lr, float weight_decay);  /* β 0.9/0.999, eps 1e-8 */
void     mm_adam_free (MmAdam *a);
void     mm_adam_step (MmAdam *a, float *params, const float *grads);

/* ---- ReduceLROnPlateau, mode max, relative threshold 1e-4 (PyTorch defaults) ---- */
typedef struct {
  float factor;     /* 0.1 */
  int patience;     /* 5 */
  float threshold;  /* 1e-4 */
  float best;
  int bad_epochs;
} MmPlateau;

void     mm_plateau_init (MmPlateau *p, float factor, int patience);
/* Feeds one epoch's metric; multiplies *lr by factor when it has not improved
 * for more than @patience epochs. Returns TRUE when it reduced. */
gboolean mm_plateau_step (MmPlateau *p, float metric, float *lr);

G_END_DECLS
