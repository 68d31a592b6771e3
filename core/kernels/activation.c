/* ReLU and softmax (cross-entropy) kernels. */
#include <math.h>

#include "mm-activation.h"

/* In blocks of 8, loading a block before storing it: then in-place use is
 * exact and GCC's SLP vectoriser can work at -O2 without restrict. */
void
mm_relu_forward (size_t n, const float *x, float *y)
{
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    float t[8];
    for (int j = 0; j < 8; j++)
      t[j] = x[i + j];
    for (int j = 0; j < 8; j++)
      y[i + j] = t[j] > 0.0f ? t[j] : 0.0f;
  }
  for (; i < n; i++)
    y[i] = x[i] > 0.0f ? x[i] : 0.0f;
}

void
mm_relu_backward (size_t n, const float *y, const float *dy, float *dx)
{
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    float t[8], d[8];
    for (int j = 0; j < 8; j++) {
      t[j] = y[i + j];
      d[j] = dy[i + j];
    }
    for (int j = 0; j < 8; j++)
      dx[i + j] = t[j] > 0.0f ? d[j] : 0.0f;
  }
  for (; i < n; i++)
    dx[i] = y[i] > 0.0f ? dy[i] : 0.0f;
}

/* p = softmax(z) of one row; returns log Σ exp(z) (max subtracted first so
 * that no exp overflows) */
static double
softmax_row (int classes, const float *z, float *p)
{
  float mx = z[0];
  double s = 0;

  for (int k = 1; k < classes; k++)
    mx = z[k] > mx ? z[k] : mx;
  for (int k = 0; k < classes; k++)
    s += exp ((double) z[k] - mx);
  if (p)
    for (int k = 0; k < classes; k++)
      p[k] = (float) (exp ((double) z[k] - mx) / s);
  return mx + log (s);
}

void
mm_softmax (int batch, int classes, const float *logits, float *probs)
{
  for (int b = 0; b < batch; b++)
    softmax_row (classes, logits + (size_t) b * classes,
        probs + (size_t) b * classes);
}

void
mm_softmax_temperature (int batch, int classes, const float *logits, float t, float *probs)
{
  float inv_t = 1.0f / t;
  size_t n = (size_t) batch * classes;

  if (inv_t != 1.0f) {
    for (size_t i = 0; i < n; i++)
      probs[i] = logits[i] * inv_t;
    logits = probs;
  }
  mm_softmax (batch, classes, logits, probs);
}

int
mm_argmax (int n, const float *x)
{
  int best = 0;

  for (int k = 1; k < n; k++)
    if (x[k] > x[best])
      best = k;
  return best;
}

void
mm_rows_mean (int n_rows, int classes, const float *const *rows, float *mean)
{
  for (int k = 0; k < classes; k++) {
    double sum = 0;
    for (int m = 0; m < n_rows; m++)
      sum += rows[m][k];
    mean[k] = (float) (sum / n_rows);
  }
}

gboolean
mm_all_finite (const float *x, size_t n)
{
  for (size_t i = 0; i < n; i++)
    if (!isfinite (x[i]))
      return FALSE;
  return TRUE;
}

/* A label outside [0, classes) has no loss: the result is NaN (and its
 * gradient row is p, as if no class were the target), so that the caller
 * sees it rather than a crash. */
float
mm_softmax_xent (int batch, int classes, const float *logits,
                 const int *labels, float *probs, float *dlogits)
{
  return mm_softmax_xent_smoothed (batch, classes, logits, labels, NULL, probs, dlogits);
}

/* The smoothing terms are left out entirely at 0 (not multiplied by 0), so
 * that the unsmoothed loss and gradient are the same floats as before the
 * option existed, and an infinite logit does not turn 0 · ∞ into NaN. */
float
mm_softmax_xent_smoothed (int batch, int classes, const float *logits,
                          const int *labels, const float *smoothing, float *probs,
                          float *dlogits)
{
  double loss = 0;

  for (int b = 0; b < batch; b++) {
    float s = smoothing ? smoothing[b] : 0.0f, spread = s / (float) classes;
    const float *z = logits + (size_t) b * classes;
    float *p = probs ? probs + (size_t) b * classes : NULL;
    float *g = dlogits ? dlogits + (size_t) b * classes : NULL;
    int y = labels[b];
    gboolean valid = y >= 0 && y < classes;
    double lse;

    /* the gradient needs the probabilities: compute them into its row */
    lse = softmax_row (classes, z, g ? g : p);
    if (p && g)
      for (int k = 0; k < classes; k++)
        p[k] = g[k];
    if (!valid)
      loss += NAN;
    else if (s == 0.0f)
      loss += lse - z[y];
    else {
      double zsum = 0;
      for (int k = 0; k < classes; k++)
        zsum += z[k];
      loss += lse - (1.0 - s) * z[y] - (double) spread * zsum;
    }
    if (g) {
      if (valid) {
        g[y] -= 1.0f - s;
        if (s != 0.0f)
          for (int k = 0; k < classes; k++)
            g[k] -= spread;
      }
      for (int k = 0; k < classes; k++)
        g[k] /= (float) batch;
    }
  }
  return batch > 0 ? (float) (loss / batch) : 0.0f;
}

/* The smoothed loss of the label, moved towards the mix label's: with the
 * same smoothing the two targets differ only by (1 − s) on the two labels,
 * so the mixed loss adds m·(1 − s)·(z_label − z_mix) and the gradient moves
 * m·(1 − s) / batch from one label to the other. */
float
mm_softmax_xent_mixed (int batch, int classes, const float *logits,
                       const int *labels, const float *smoothing,
                       const int *mix_labels, const float *mix, float *probs,
                       float *dlogits)
{
  double shift = 0;
  float loss = mm_softmax_xent_smoothed (batch, classes, logits, labels, smoothing, probs,
      dlogits);

  if (!mix_labels || !mix || batch <= 0)
    return loss;
  for (int b = 0; b < batch; b++) {
    const float *z = logits + (size_t) b * classes;
    int y = labels[b], y2 = mix_labels[b];
    float w = mix[b] * (1.0f - (smoothing ? smoothing[b] : 0.0f));

    if (mix[b] == 0.0f || y == y2)
      continue;
    if (y < 0 || y >= classes || y2 < 0 || y2 >= classes) {
      shift += NAN;
      continue;
    }
    shift += (double) w * (z[y] - z[y2]);
    if (dlogits) {
      dlogits[(size_t) b * classes + y] += w / (float) batch;
      dlogits[(size_t) b * classes + y2] -= w / (float) batch;
    }
  }
  return (float) (loss + shift / batch);
}
