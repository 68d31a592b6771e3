/* mmdigits — inverted dropout (dropout.c).
 *
 * The kernels' conventions (caller-owned buffers, parameters as views into
 * an MmNet's flat blocks, backward overwrites gradients, reentrant, split
 * over the worker pools by size only) are written once in mm-layers.h.
 */
#pragma once

#include <glib.h>
#include <stddef.h>

#include "mm-rng.h"

G_BEGIN_DECLS

/* ---- Inverted dropout ---- */
/* Training only (in evaluation the caller skips it: y = x). mask[i] is 0 or
 * 1/(1-p); y = x · mask. In-place (x == y) is allowed. p in [0, 1). */
void mm_dropout_forward  (float p, size_t n, const float *x, float *y,
                          float *mask, MmRng *rng);
/* dx = dy · mask; in-place allowed. */
void mm_dropout_backward (size_t n, const float *dy, const float *mask, float *dx);

G_END_DECLS
