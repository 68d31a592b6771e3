/* mmdigits — ReLU, softmax, cross-entropy, arg-max (activation.c).
 *
 * The kernels' conventions (caller-owned buffers, parameters as views into
 * an MmNet's flat blocks, backward overwrites gradients, reentrant, split
 * over the worker pools by size only) are written once in mm-layers.h.
 */
#pragma once

#include <glib.h>
#include <stddef.h>

G_BEGIN_DECLS

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
/* The same against smoothed targets (Szegedy et al. 2016, "label
 * smoothing"), each sample b its own s = @smoothing[b] in [0, 1): the
 * target puts 1 − s on the label and spreads s evenly over all @classes,
 * so the sample's loss is lse − (1 − s)·z_label − (s / classes)·Σ z and its
 * gradient (p − target) / batch. A sample with s = 0 (or @smoothing NULL:
 * every sample) is mm_softmax_xent's, to the bit. */
float mm_softmax_xent_smoothed (int batch, int classes, const float *logits,
                                const int *labels, const float *smoothing, float *probs,
                                float *dlogits);
/* The same against mixed targets (Zhang et al. 2018, "mixup"): sample b's
 * target is (1 − m)·t(@labels[b]) + m·t(@mix_labels[b]), m = @mix[b] in
 * [0, 1], t(y) the target mm_softmax_xent_smoothed gives label y; the loss,
 * linear in the target, is (1 − m)·loss(label) + m·loss(mix label) and the
 * gradient (p − target) / batch. @mix_labels and @mix NULL: no mixing. */
float mm_softmax_xent_mixed (int batch, int classes, const float *logits,
                             const int *labels, const float *smoothing,
                             const int *mix_labels, const float *mix, float *probs,
                             float *dlogits);
/* Row-wise softmax only (inference). In-place allowed. */
void  mm_softmax      (int batch, int classes, const float *logits, float *probs);
/* Calibrated probabilities: softmax(@logits / @t) row-wise, @t > 0 (a
 * model's temperature; 1 is mm_softmax). In-place allowed. */
void  mm_softmax_temperature (int batch, int classes, const float *logits, float t,
                              float *probs);
/* The index of the largest of @x [n] (the first on ties). */
int   mm_argmax       (int n, const float *x);
/* The mean of @n_rows rows @rows[m] [classes] into @mean [classes], summed
 * in row order in double: how several networks' calibrated probabilities
 * make one (eval --ensemble, a model set's two audio networks), and how a
 * word's test-time views' raw logits make one (mm-mfcc.h, "views"). */
void  mm_rows_mean    (int n_rows, int classes, const float *const *rows, float *mean);
/* Whether every one of @x [n] is finite (no inf, no NaN). */
gboolean mm_all_finite (const float *x, size_t n);

G_END_DECLS
