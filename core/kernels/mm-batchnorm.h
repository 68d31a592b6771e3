/* mmdigits — batch norm, alone and fused with ReLU and 2×2 max-pool (batchnorm.c).
 *
 * The kernels' conventions (caller-owned buffers, parameters as views into
 * an MmNet's flat blocks, backward overwrites gradients, reentrant, split
 * over the worker pools by size only) are written once in mm-layers.h.
 */
#pragma once

#include <glib.h>
#include <stdint.h>

G_BEGIN_DECLS

/* ---- BatchNorm (1-d and 2-d) ---- */
/* One code for BatchNorm1d ([batch][c], spatial = 1) and BatchNorm2d
 * ([batch][c][spatial], spatial = h·w). Training uses the batch statistics
 * (biased variance) and updates the running ones with @momentum and the
 * unbiased variance, as PyTorch; evaluation uses the running statistics. */
typedef struct {
  int c;
  float momentum;          /* 0.1 */
  float eps;               /* 1e-5 */
  float *gamma, *beta;     /* [c], parameters ("weight", "bias") */
  float *dgamma, *dbeta;   /* [c] */
  float *running_mean, *running_var;  /* [c], views into the net's buffer block */
  float *save_mean, *save_invstd;     /* [c], scratch written by a training forward, read by backward */
} MmBatchNorm;

void mm_batchnorm_forward  (MmBatchNorm *l, int batch, int spatial,
                            const float *x, float *y, gboolean training);
/* Backward of a training-mode forward (batch statistics). x is the forward input. */
void mm_batchnorm_backward (const MmBatchNorm *l, int batch, int spatial,
                            const float *x, const float *dy, float *dx);

/* Batch norm followed by ReLU in one pass: y = max(0, bn(x)). The fused
 * backward takes the fused forward's output y (dy is zero where y ≤ 0) and
 * equals mm_relu_backward then mm_batchnorm_backward. */
void mm_batchnorm_relu_forward  (MmBatchNorm *l, int batch, int spatial,
                                 const float *x, float *y, gboolean training);
void mm_batchnorm_relu_backward (const MmBatchNorm *l, int batch, int spatial,
                                 const float *x, const float *y,
                                 const float *dy, float *dx);

/* mm_batchnorm_relu_forward (spatial = h·w) then mm_maxpool2_forward of its
 * output in one pass, with the same results. @y, the full-size ReLU output,
 * may be NULL: nothing needs it (the fused backward can recompute its mask),
 * and not writing it saves a pass over the largest activation. */
void mm_batchnorm_relu_maxpool2_forward (MmBatchNorm *l, int batch, int h, int w,
                                         const float *x, float *y, float *pooled,
                                         int32_t *argmax, gboolean training);
/* Evaluation only (running statistics): the @pooled output of
 * mm_batchnorm_relu_maxpool2_forward (…, training = FALSE), bit for bit for
 * finite @x, without y and argmax (see batchnorm.c for why it may pool the
 * raw values first). @x [batch][c][h][w] → @pooled [batch][c][h/2][w/2]. */
void mm_batchnorm_relu_maxpool2_infer (const MmBatchNorm *l, int batch, int h, int w,
                                       const float *x, float *pooled);
/* Its backward: mm_maxpool2_backward of @dpooled then
 * mm_batchnorm_relu_backward, with the same results, without writing the
 * pool's (mostly zero) input gradient. With @y NULL the ReLU's mask is
 * recomputed from @x and the statistics the training forward saved (the
 * same floats, so the same mask and results); γ and β must not have
 * changed since that forward. */
void mm_batchnorm_relu_maxpool2_backward (const MmBatchNorm *l, int batch, int h,
                                          int w, const float *x, const float *y,
                                          const float *dpooled,
                                          const int32_t *argmax, float *dx);

G_END_DECLS
