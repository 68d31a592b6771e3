/* Confusion matrix, accuracy, macro F1, batched prediction. */
#include "mm-train.h"

#include <string.h>

#include "mm-layers.h"

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

static int
argmax10 (const float *p)
{
  int best = 0;
  for (int k = 1; k < MM_N_CLASSES; k++)
    if (p[k] > p[best])
      best = k;
  return best;
}

void
mm_net_predict (MmNet *net, const MmDataset *ds, int batch, int *pred,
    float *probs, MmConfusion *conf)
{
  float *logits = g_new (float, (size_t) batch * MM_N_CLASSES);

  mm_net_set_training (net, FALSE);
  for (int start = 0; start < ds->n; start += batch) {
    int b = MIN (batch, ds->n - start);
    const float *img = ds->image ? ds->image + (size_t) start * MM_IMAGE_PIXELS : NULL;
    const float *aud = ds->audio ? ds->audio + (size_t) start * MM_AUDIO_VALUES : NULL;

    mm_net_forward (net, b, mm_arch_uses_image (mm_net_arch (net)) ? img : NULL,
        mm_arch_uses_audio (mm_net_arch (net)) ? aud : NULL, logits);
    if (probs)
      mm_softmax (b, MM_N_CLASSES, logits, probs + (size_t) start * MM_N_CLASSES);
    for (int i = 0; i < b; i++) {
      int p = argmax10 (logits + i * MM_N_CLASSES);
      if (pred)
        pred[start + i] = p;
      if (conf)
        mm_confusion_add (conf, ds->labels[start + i], p);
    }
  }
  g_free (logits);
}
