/* mmdigits — Conv2d, forward and backward (conv.c).
 *
 * The kernels' conventions (caller-owned buffers, parameters as views into
 * an MmNet's flat blocks, backward overwrites gradients, reentrant, split
 * over the worker pools by size only) are written once in mm-layers.h.
 */
#pragma once

#include <glib.h>
#include <stddef.h>

G_BEGIN_DECLS

/* ---- Conv2d: 3×3 kernel, padding 1, stride 1 (output size = input size) ---- */
typedef struct {
  int cin, cout;
  float *w, *b;    /* [cout][cin][3][3], [cout] */
  float *dw, *db;  /* same shapes */
} MmConv2d;

/* Floats of scratch that forward and backward need for this batch and image
 * size (im2col columns and similar). The caller allocates it once for the
 * largest batch and passes it to both. */
size_t mm_conv2d_workspace_size (const MmConv2d *l, int batch, int h, int w);
/* x [batch][cin][h][w] -> y [batch][cout][h][w] */
void   mm_conv2d_forward  (const MmConv2d *l, int batch, int h, int w,
                           const float *x, float *y, float *ws);
/* dy [batch][cout][h][w] -> dw, db (overwritten), dx [batch][cin][h][w] if non-NULL */
void   mm_conv2d_backward (const MmConv2d *l, int batch, int h, int w,
                           const float *x, const float *dy, float *dx, float *ws);

G_END_DECLS
