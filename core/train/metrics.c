/* Confusion matrix, accuracy, macro F1, batched prediction. */
#include "mm-metrics.h"

#include <math.h>
#include <string.h>

#include "mm-activation.h"
#include "mm-error.h"

void
mm_confusion_init (MmConfusion *c)
{
  memset (c, 0, sizeof *c);
}

void
mm_confusion_add (MmConfusion *c, int truth, int predicted)
{
  g_return_if_fail (truth >= 0 && truth < MM_N_CLASSES);
  g_return_if_fail (predicted >= 0 && predicted < MM_N_CLASSES);
  c->confusion[truth][predicted]++;
  c->n++;
}

double
mm_confusion_accuracy (const MmConfusion *c)
{
  int right = 0;
  for (int k = 0; k < MM_N_CLASSES; k++)
    right += c->confusion[k][k];
  return c->n ? (double) right / c->n : 0.0;
}

/* Mean over classes of F1 = 2·TP / (2·TP + FP + FN). A class with neither
 * samples nor predictions is left out of the mean, as sklearn does with the
 * labels present; one with samples but no hit counts as 0. */
double
mm_confusion_macro_f1 (const MmConfusion *c)
{
  double sum = 0;
  int classes = 0;

  for (int k = 0; k < MM_N_CLASSES; k++) {
    int tp = c->confusion[k][k], fn = 0, fp = 0;
    for (int j = 0; j < MM_N_CLASSES; j++) {
      if (j == k)
        continue;
      fn += c->confusion[k][j];
      fp += c->confusion[j][k];
    }
    if (tp + fn + fp == 0)
      continue;
    classes++;
    sum += tp ? 2.0 * tp / (2.0 * tp + fp + fn) : 0.0;
  }
  return classes ? sum / classes : 0.0;
}

/* Logits of samples [start, start + b) of @ds into @logits. */
static void
forward_slice (MmNet *net, const MmDataset *ds, int start, int b, float *logits)
{
  const float *img = ds->image ? ds->image + (size_t) start * MM_IMAGE_PIXELS : NULL;
  const float *aud = ds->audio ? ds->audio + (size_t) start * MM_AUDIO_VALUES : NULL;

  mm_net_forward (net, b, mm_arch_uses_image (mm_net_arch (net)) ? img : NULL,
      mm_arch_uses_audio (mm_net_arch (net)) ? aud : NULL, logits);
}

/* The logits of samples [start, start + b) of @sets[0] and of their views
 * in @sets[1…] into @out [b][10]: one set's, or the mean of the sets'
 * (@scratch: b·10 floats per set beyond the first). */
static void
forward_views (MmNet *net, MmDataset *const *sets, int n_sets, int start, int b, float *out,
    float *scratch)
{
  const float *rows[MM_MAX_VIEW_SETS];

  forward_slice (net, sets[0], start, b, out);
  if (n_sets == 1)
    return;
  for (int v = 1; v < n_sets; v++)
    forward_slice (net, sets[v], start, b, scratch + (size_t) (v - 1) * b * MM_N_CLASSES);
  for (int i = 0; i < b; i++) {
    float mean[MM_N_CLASSES];
    rows[0] = out + (size_t) i * MM_N_CLASSES;
    for (int v = 1; v < n_sets; v++)
      rows[v] = scratch + ((size_t) (v - 1) * b + i) * MM_N_CLASSES;
    mm_rows_mean (n_sets, MM_N_CLASSES, rows, mean);
    memcpy (out + (size_t) i * MM_N_CLASSES, mean, sizeof mean);
  }
}

void
mm_net_logits (MmNet *net, const MmDataset *ds, int batch, float *logits)
{
  MmDataset *sets[1] = { (MmDataset *) ds };

  mm_net_logits_views (net, sets, 1, batch, logits);
}

void
mm_net_logits_views (MmNet *net, MmDataset *const *sets, int n_sets, int batch, float *logits)
{
  float *scratch = n_sets > 1 ? g_new (float, (size_t) (n_sets - 1) * batch * MM_N_CLASSES)
      : NULL;

  g_return_if_fail (n_sets >= 1 && n_sets <= MM_MAX_VIEW_SETS);
  mm_net_set_training (net, FALSE);
  for (int start = 0; start < sets[0]->n; start += batch)
    forward_views (net, sets, n_sets, start, MIN (batch, sets[0]->n - start),
        logits + (size_t) start * MM_N_CLASSES, scratch);
  g_free (scratch);
}

/* Fails at the first sample of @ds in [start, start + b) whose input the
 * net uses holds inf or NaN: ReLU and max-pool would turn a NaN into an
 * ordinary value and a confident digit. */
static gboolean
check_inputs (MmNet *net, const MmDataset *ds, int start, int b, GError **error)
{
  MmArch arch = mm_net_arch (net);

  for (int i = start; i < start + b; i++) {
    const char *bad = NULL;

    if (mm_arch_uses_image (arch)
        && !mm_all_finite (ds->image + (size_t) i * MM_IMAGE_PIXELS, MM_IMAGE_PIXELS))
      bad = "image";
    else if (mm_arch_uses_audio (arch)
        && !mm_all_finite (ds->audio + (size_t) i * MM_AUDIO_VALUES, MM_AUDIO_VALUES))
      bad = "audio";
    if (bad) {
      g_set_error (error, MM_ERROR, MM_ERROR_INVALID,
          "sample %d: the %s input holds inf or NaN", i, bad);
      return FALSE;
    }
  }
  return TRUE;
}

/* mm_net_predict over a set and its views (the mean of their logits). */
static gboolean
predict_views (MmNet *net, MmDataset *const *sets, int n_sets, int batch, int *pred,
    float *probs, MmConfusion *conf, GError **error)
{
  const MmDataset *ds = sets[0];
  float *logits = g_new (float, (size_t) batch * MM_N_CLASSES);
  float *scratch = n_sets > 1 ? g_new (float, (size_t) (n_sets - 1) * batch * MM_N_CLASSES)
      : NULL;
  float t = mm_net_temperature (net);

  g_return_val_if_fail (n_sets >= 1 && n_sets <= MM_MAX_VIEW_SETS, FALSE);
  mm_net_set_training (net, FALSE);
  for (int start = 0; start < ds->n; start += batch) {
    int b = MIN (batch, ds->n - start);

    for (int v = 0; v < n_sets; v++)
      if (!check_inputs (net, sets[v], start, b, error)) {
        g_free (logits);
        g_free (scratch);
        return FALSE;
      }
    forward_views (net, sets, n_sets, start, b, logits, scratch);
    for (int i = 0; i < b; i++)
      if (!mm_all_finite (logits + i * MM_N_CLASSES, MM_N_CLASSES)) {
        g_set_error (error, MM_ERROR, MM_ERROR_INVALID,
            "%s gives non-finite outputs (inf or NaN) for sample %d, whose input is "
            "finite: the model's weights are unusable", mm_arch_name (mm_net_arch (net)),
            start + i);
        g_free (logits);
        g_free (scratch);
        return FALSE;
      }
    /* the arg-max below is the same with or without the temperature */
    if (probs)
      mm_softmax_temperature (b, MM_N_CLASSES, logits, t, probs + (size_t) start * MM_N_CLASSES);
    for (int i = 0; i < b; i++) {
      int p = mm_argmax (MM_N_CLASSES, logits + i * MM_N_CLASSES);
      if (pred)
        pred[start + i] = p;
      if (conf)
        mm_confusion_add (conf, ds->labels[start + i], p);
    }
  }
  g_free (logits);
  g_free (scratch);
  return TRUE;
}

gboolean
mm_net_predict (MmNet *net, const MmDataset *ds, int batch, int *pred,
    float *probs, MmConfusion *conf, GError **error)
{
  MmDataset *sets[1] = { (MmDataset *) ds };

  return predict_views (net, sets, 1, batch, pred, probs, conf, error);
}

/* The batch every evaluation runs the net with: its outputs do not depend
 * on it beyond rounding, the memory it takes does. */
#define SCORE_BATCH 256

gboolean
mm_net_score (MmNet *net, const MmDataset *ds, MmScores *sc, GError **error)
{
  MmDataset *sets[1] = { (MmDataset *) ds };

  return mm_net_score_views (net, sets, 1, sc, error);
}

gboolean
mm_net_score_views (MmNet *net, MmDataset *const *sets, int n_sets, MmScores *sc,
    GError **error)
{
  const MmDataset *ds = sets[0];

  memset (sc, 0, sizeof *sc);
  sc->n = ds->n;
  sc->pred = g_new (int, MAX (ds->n, 1));
  sc->probs = g_new (float, (size_t) MAX (ds->n, 1) * MM_N_CLASSES);
  mm_confusion_init (&sc->conf);
  if (!predict_views (net, sets, n_sets, SCORE_BATCH, sc->pred, sc->probs, &sc->conf, error)) {
    mm_scores_clear (sc);
    return FALSE;
  }
  sc->ece = mm_calibration_ece (sc->probs, ds->labels, ds->n, MM_ECE_BINS);
  return TRUE;
}

void
mm_scores_clear (MmScores *sc)
{
  g_clear_pointer (&sc->pred, g_free);
  g_clear_pointer (&sc->probs, g_free);
  memset (sc, 0, sizeof *sc);
}

void
mm_scores_of_probs (float *probs, int n, const int *labels, MmScores *out)
{
  memset (out, 0, sizeof *out);
  out->n = n;
  out->pred = g_new (int, MAX (n, 1));
  out->probs = probs;
  mm_confusion_init (&out->conf);
  for (int i = 0; i < n; i++) {
    out->pred[i] = mm_argmax (MM_N_CLASSES, probs + (size_t) i * MM_N_CLASSES);
    mm_confusion_add (&out->conf, labels[i], out->pred[i]);
  }
  out->ece = mm_calibration_ece (probs, labels, n, MM_ECE_BINS);
}

void
mm_scores_mean (const MmScores *parts, int n_parts, const int *labels, MmScores *out)
{
  int n = parts[0].n;
  const float **rows;
  float *probs;

  memset (out, 0, sizeof *out);
  for (int m = 1; m < n_parts; m++)
    g_return_if_fail (parts[m].n == n);
  rows = g_new (const float *, n_parts);
  probs = g_new (float, (size_t) MAX (n, 1) * MM_N_CLASSES);
  for (int i = 0; i < n; i++) {
    for (int m = 0; m < n_parts; m++)
      rows[m] = parts[m].probs + (size_t) i * MM_N_CLASSES;
    mm_rows_mean (n_parts, MM_N_CLASSES, rows, probs + (size_t) i * MM_N_CLASSES);
  }
  g_free (rows);
  mm_scores_of_probs (probs, n, labels, out);
}

double
mm_calibration (const float *probs, const int *labels, int n, int n_bins,
    MmCalibrationBin *bins)
{
  double ece = 0;

  memset (bins, 0, sizeof (MmCalibrationBin) * n_bins);
  for (int i = 0; i < n; i++) {
    const float *p = probs + (size_t) i * MM_N_CLASSES;
    int k = mm_argmax (MM_N_CLASSES, p), b = (int) ceil (p[k] * n_bins) - 1;
    b = CLAMP (b, 0, n_bins - 1);
    bins[b].count++;
    bins[b].confidence += p[k];
    bins[b].accuracy += k == labels[i];
  }
  for (int b = 0; b < n_bins; b++)
    if (bins[b].count) {
      bins[b].confidence /= bins[b].count;
      bins[b].accuracy /= bins[b].count;
      ece += (double) bins[b].count / n * fabs (bins[b].accuracy - bins[b].confidence);
    }
  return ece;
}

double
mm_calibration_ece (const float *probs, const int *labels, int n, int bins)
{
  MmCalibrationBin *b = g_new (MmCalibrationBin, MAX (bins, 1));
  double ece = mm_calibration (probs, labels, n, bins, b);

  g_free (b);
  return ece;
}

double
mm_logits_ece (const float *logits, const int *labels, int n, float t, double *accuracy)
{
  float *probs = g_new (float, (size_t) MAX (n, 1) * MM_N_CLASSES);
  double ece;
  int right = 0;

  mm_softmax_temperature (n, MM_N_CLASSES, logits, t, probs);
  ece = mm_calibration_ece (probs, labels, n, MM_ECE_BINS);
  for (int i = 0; i < n; i++)
    right += mm_argmax (MM_N_CLASSES, logits + (size_t) i * MM_N_CLASSES) == labels[i];
  if (accuracy)
    *accuracy = n ? (double) right / n : 0.0;
  g_free (probs);
  return ece;
}

/* Mean cross-entropy of softmax(logits / t), in double. A sample whose
 * label holds the largest logit costs log1p(the other classes' terms), not
 * log(1 + them): small T makes those terms tiny, and 1 + tiny rounds to 1,
 * which would make the loss flat where it is still falling. */
static double
nll_at (const float *logits, const int *labels, int n, double t)
{
  double sum = 0;

  for (int i = 0; i < n; i++) {
    const float *z = logits + (size_t) i * MM_N_CLASSES;
    int label = labels[i];
    double max = z[0], others = 0;
    for (int k = 1; k < MM_N_CLASSES; k++)
      max = MAX (max, z[k]);
    for (int k = 0; k < MM_N_CLASSES; k++)
      if (k != label)
        others += exp ((z[k] - max) / t);
    if (z[label] == max)
      sum += log1p (others);
    else
      sum += log (others + exp ((z[label] - max) / t)) - (z[label] - max) / t;
  }
  return n ? sum / n : 0.0;
}

float
mm_fit_temperature (const float *logits, const int *labels, int n, gboolean *at_bound)
{
  const double phi = (sqrt (5.0) - 1) / 2;
  const double lo = log (MM_TEMPERATURE_MIN), hi = log (MM_TEMPERATURE_MAX);
  double a = lo, b = hi;
  double c = b - phi * (b - a), d = a + phi * (b - a);
  double fc = nll_at (logits, labels, n, exp (c)), fd = nll_at (logits, labels, n, exp (d));

  /* a tie goes to the smaller T: where every sample is right the computed
   * loss can only stay or fall as T shrinks (IEEE rounding is monotone), so
   * such a set always reaches the lower end, however large its margins */
  while (b - a > 1e-4) {
    if (fc <= fd) {
      b = d;
      d = c;
      fd = fc;
      c = b - phi * (b - a);
      fc = nll_at (logits, labels, n, exp (c));
    } else {
      a = c;
      c = d;
      fc = fd;
      d = a + phi * (b - a);
      fd = nll_at (logits, labels, n, exp (d));
    }
  }
  /* the ends only move inwards by assignment from probes strictly inside,
   * so an end still equal to the range's was never moved */
  if (at_bound)
    *at_bound = a == lo || b == hi;
  return (float) exp ((a + b) / 2);
}
