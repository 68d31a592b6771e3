/* mmdigits — 2×2 max-pool (pool.c).
 *
 * The kernels' conventions (caller-owned buffers, parameters as views into
 * an MmNet's flat blocks, backward overwrites gradients, reentrant, split
 * over the worker pools by size only) are written once in mm-layers.h.
 */
#pragma once

#include <glib.h>
#include <stdint.h>

G_BEGIN_DECLS

/* ---- MaxPool2d 2×2, stride 2, floor: out = (h/2, w/2); odd rows/cols dropped ---- */
/* @argmax [batch][c][h/2][w/2] receives the flat input index (within one
 * channel plane) of each maximum, for backward. */
void mm_maxpool2_forward  (int batch, int c, int h, int w,
                           const float *x, float *y, int32_t *argmax);
/* dx [batch][c][h][w] is fully written (zeros where nothing was picked). */
void mm_maxpool2_backward (int batch, int c, int h, int w,
                           const float *dy, const int32_t *argmax, float *dx);

G_END_DECLS
