/* mmdigits — fully connected layer (linear.c).
 *
 * The kernels' conventions (caller-owned buffers, parameters as views into
 * an MmNet's flat blocks, backward overwrites gradients, reentrant, split
 * over the worker pools by size only) are written once in mm-layers.h.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* ---- Linear: y = x·Wᵀ + b ---- */
typedef struct {
  int in, out;
  float *w, *b;    /* [out][in], [out] */
  float *dw, *db;
} MmLinear;

void mm_linear_forward  (const MmLinear *l, int batch, const float *x, float *y);
void mm_linear_backward (const MmLinear *l, int batch, const float *x,
                         const float *dy, float *dx);

G_END_DECLS
