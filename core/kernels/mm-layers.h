/* mmdigits — layer kernels: forward and backward side by side.
 *
 * Every kernel works on caller-owned float32 buffers; nothing here allocates
 * except where a function says so. Layouts are PyTorch's: activations NCHW
 * (batch, channels, rows, columns) for 2-d layers and [batch][features] for
 * 1-d ones, so a state dict maps one to one onto our parameters.
 *
 * Parameters and their gradients are *views*: pointers into the flat
 * parameter / gradient blocks owned by an MmNet (KANN's layout), so that the
 * optimiser and the model writer walk two flat vectors. A layer struct owns
 * nothing.
 *
 * Gradient convention: a backward function OVERWRITES the gradients of its
 * own parameters (dw, db, ...) with d(loss)/d(param) for this batch, and
 * writes d(loss)/d(input) into @dx when @dx is not NULL. Kernels never
 * accumulate across calls, so no zeroing pass is needed between steps.
 *
 * Thread-safety: kernels are reentrant. Large kernels split their work
 * into tasks over worker pools (see mm_set_threads); the split depends only
 * on the sizes and partial sums are added in a fixed order, so results are
 * the same for any thread count and run to run. While a pool runs a job,
 * OpenBLAS runs one thread (the kernels split the products themselves);
 * the application's OpenBLAS setting is restored after every job.
 */
#pragma once

#include <glib.h>
#include <stddef.h>
#include <stdint.h>

#include "mm-rng.h"

G_BEGIN_DECLS

/* ---- Threads ---- */
/* Threads the kernels may use, the caller included: @n ≤ 0 restores the
 * default, which is the environment variable MMDIGITS_THREADS if it is
 * valid (mm_threads_env), else the number of cores. Process-wide and thread-safe; takes effect at the
 * next kernel call. A kernel called while another thread's kernel owns a
 * pool gets a pool of its own, so several networks in several threads each
 * run in parallel; the workers stop when the last MmNet is freed. */
void mm_set_threads (int n);
int  mm_get_threads (void);
/* The most threads the pool runs (a larger @n is clamped to it). */
#define MM_MAX_THREADS 64
/* The one reading of MMDIGITS_THREADS. TRUE with *@n = 0 when it is unset
 * or empty, TRUE with *@n its value when it is a whole number from 1 to
 * MM_MAX_THREADS; otherwise ("abc", "0", "-3", "99999", " 2") FALSE with
 * MM_ERROR_INVALID and a message naming the value, and the default ignores
 * it (the number of cores). The core never prints: the CLI refuses such a
 * value (exit 2) and the elements that run networks post a warning. */
gboolean mm_threads_env (int *n, GError **error);

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

/* ---- MaxPool2d 2×2, stride 2, floor: out = (h/2, w/2); odd rows/cols dropped ---- */
/* @argmax [batch][c][h/2][w/2] receives the flat input index (within one
 * channel plane) of each maximum, for backward. */
void mm_maxpool2_forward  (int batch, int c, int h, int w,
                           const float *x, float *y, int32_t *argmax);
/* dx [batch][c][h][w] is fully written (zeros where nothing was picked). */
void mm_maxpool2_backward (int batch, int c, int h, int w,
                           const float *dy, const int32_t *argmax, float *dx);

/* ---- Inverted dropout ---- */
/* Training only (in evaluation the caller skips it: y = x). mask[i] is 0 or
 * 1/(1-p); y = x · mask. In-place (x == y) is allowed. p in [0, 1). */
void mm_dropout_forward  (float p, size_t n, const float *x, float *y,
                          float *mask, MmRng *rng);
/* dx = dy · mask; in-place allowed. */
void mm_dropout_backward (size_t n, const float *dy, const float *mask, float *dx);

/* ---- Linear: y = x·Wᵀ + b ---- */
typedef struct {
  int in, out;
  float *w, *b;    /* [out][in], [out] */
  float *dw, *db;
} MmLinear;

void mm_linear_forward  (const MmLinear *l, int batch, const float *x, float *y);
void mm_linear_backward (const MmLinear *l, int batch, const float *x,
                         const float *dy, float *dx);

/* ---- ReLU ---- */
/* In-place allowed. Backward uses the forward OUTPUT y (y > 0 ⇔ x > 0). */
void mm_relu_forward  (size_t n, const float *x, float *y);
void mm_relu_backward (size_t n, const float *y, const float *dy, float *dx);

/* ---- Softmax cross-entropy (mean over the batch) ---- */
/* Writes probabilities into @probs [batch][classes] (may be NULL) and, when
 * @dlogits is non-NULL, d(mean loss)/d(logits) = (p − onehot) / batch.
 * Returns the mean loss. Numerically stable (max subtracted). */
float mm_softmax_xent (int batch, int classes, const float *logits,
                       const int *labels, float *probs, float *dlogits);
/* Row-wise softmax only (inference). In-place allowed. */
void  mm_softmax      (int batch, int classes, const float *logits, float *probs);
/* Calibrated probabilities: softmax(@logits / @t) row-wise, @t > 0 (a
 * model's temperature; 1 is mm_softmax). In-place allowed. */
void  mm_softmax_temperature (int batch, int classes, const float *logits, float t,
                              float *probs);
/* The index of the largest of @x [n] (the first on ties). */
int   mm_argmax       (int n, const float *x);
/* Whether every one of @x [n] is finite (no inf, no NaN). */
gboolean mm_all_finite (const float *x, size_t n);

/* ---- LSTM: stacked layers, batch first, gates i, f, g, o (PyTorch) ---- */
typedef struct {
  int in, hidden;
  float *w_ih, *w_hh;    /* [4H][in], [4H][H] */
  float *b_ih, *b_hh;    /* [4H] */
  float *dw_ih, *dw_hh, *db_ih, *db_hh;
} MmLstmLayer;

#define MM_LSTM_MAX_LAYERS 4

typedef struct {
  int n_layers;
  MmLstmLayer layer[MM_LSTM_MAX_LAYERS];
} MmLstm;

/* Floats of cache that a forward keeps for backward (gates, cell states,
 * hidden states of every layer and step) plus backward scratch. */
size_t mm_lstm_workspace_size (const MmLstm *l, int batch, int steps);
/* x [batch][steps][in] -> h [batch][steps][hidden] of the last layer.
 * Initial hidden and cell states are zero. */
void   mm_lstm_forward  (const MmLstm *l, int batch, int steps,
                         const float *x, float *h, float *ws);
/* The same for a caller that already runs it in a task of its own, beside
 * other work (HybridNet_CNN_LSTM's encoders at batch 1): never the
 * one-sample wavefront, which only pays on cores of its own. At batch 1
 * each layer's input projection is then one GEMM instead of one product
 * per step, so the floats may differ from mm_lstm_forward's in the last
 * bits; at batch > 1 they are the same. */
void   mm_lstm_forward_in_turn (const MmLstm *l, int batch, int steps,
                                const float *x, float *h, float *ws);
/* Full back-propagation through time. dh [batch][steps][hidden] is the
 * gradient w.r.t. every output step (zeros where unused); dx may be NULL. */
void   mm_lstm_backward (const MmLstm *l, int batch, int steps,
                         const float *x, const float *dh, float *dx, float *ws);

G_END_DECLS
