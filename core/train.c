/* The training loop: seeded shuffling, Adam, ReduceLROnPlateau on validation
 * accuracy, early stopping that restores the best weights. */
#include "mm-train.h"

#include <math.h>
#include <string.h>

#include "mm-error.h"
#include "mm-rng.h"

void
mm_train_config_init (MmTrainConfig *cfg, MmArch arch)
{
  /* the study's table: lr, epochs, batch per network */
  static const struct { float lr; int epochs, batch; } study[MM_N_ARCH] = {
    [MM_ARCH_IMAGENET_CNN] = { 1e-3f, 10, 32 },
    [MM_ARCH_AUDIONET_CNN] = { 1e-4f, 100, 64 },
    [MM_ARCH_AUDIONET_LSTM] = { 5e-4f, 50, 64 },
    [MM_ARCH_HYBRIDNET_CNN] = { 1e-3f, 20, 32 },
    [MM_ARCH_HYBRIDNET_CNN_LSTM] = { 1e-4f, 30, 64 },
  };
  memset (cfg, 0, sizeof *cfg);
  cfg->lr = study[arch].lr;
  cfg->epochs = study[arch].epochs;
  cfg->batch = study[arch].batch;
  cfg->weight_decay = 1e-5f;
  cfg->plateau_factor = 0.1f;
  cfg->plateau_patience = 5;
  cfg->early_stop_patience = 10;
  cfg->seed = 1;
}

/* Batch buffers gathered from shuffled indices, allocated once per run. */
typedef struct {
  float *image, *audio, *logits;
  int *labels;
} Batch;

static void
gather (const MmDataset *ds, const int *idx, int b, Batch *out)
{
  for (int i = 0; i < b; i++) {
    int j = idx[i];
    out->labels[i] = ds->labels[j];
    if (out->image)
      memcpy (out->image + (size_t) i * MM_IMAGE_PIXELS,
          ds->image + (size_t) j * MM_IMAGE_PIXELS, sizeof (float) * MM_IMAGE_PIXELS);
    if (out->audio)
      memcpy (out->audio + (size_t) i * MM_AUDIO_VALUES,
          ds->audio + (size_t) j * MM_AUDIO_VALUES, sizeof (float) * MM_AUDIO_VALUES);
  }
}

static int
count_correct (const float *logits, const int *labels, int b)
{
  int right = 0;
  for (int i = 0; i < b; i++) {
    const float *l = logits + i * MM_N_CLASSES;
    int best = 0;
    for (int k = 1; k < MM_N_CLASSES; k++)
      if (l[k] > l[best])
        best = k;
    right += best == labels[i];
  }
  return right;
}

/* A tie in validation accuracy is broken by a lower validation loss, by at
 * least this fraction (ReduceLROnPlateau's relative threshold): once the
 * learning rate has decayed to nothing, the loss still creeps down in the
 * last digits, and that must not count as progress. */
#define LOSS_THRESHOLD 1e-4f

static float
mean_nll (const float *probs, const int *labels, int n)
{
  double sum = 0;
  for (int i = 0; i < n; i++)
    sum -= log (MAX (probs[i * MM_N_CLASSES + labels[i]], 1e-30f));
  return (float) (sum / n);
}

static gboolean
check_data (MmNet *net, const MmDataset *ds, const char *what, GError **error)
{
  MmArch arch = mm_net_arch (net);
  if (!ds || ds->n < 2) {
    g_set_error (error, MM_ERROR, MM_ERROR_INVALID, "%s set has fewer than 2 samples", what);
    return FALSE;
  }
  if ((mm_arch_uses_image (arch) && !ds->image) || (mm_arch_uses_audio (arch) && !ds->audio)) {
    g_set_error (error, MM_ERROR, MM_ERROR_MISMATCH,
        "%s set lacks the %s input that %s needs", what,
        mm_arch_uses_image (arch) && !ds->image ? "image" : "audio", mm_arch_name (arch));
    return FALSE;
  }
  return TRUE;
}

gboolean
mm_train (MmNet *net, const MmTrainConfig *cfg, const MmDataset *train,
    const MmDataset *val, MmTrainResult *result, GError **error)
{
  MmArch arch = mm_net_arch (net);
  size_t np = mm_net_n_params (net);
  MmAdam *adam;
  MmPlateau plateau;
  MmRng rng;
  MmNet *best;
  Batch bt = { 0 };
  float *val_probs;
  int *order, n_batches, bad = 0;
  float lr = cfg->lr;
  gboolean stop = FALSE, diverged = FALSE;
  gint64 t_start = g_get_monotonic_time ();
  long samples_seen = 0;

  if (!check_data (net, train, "training", error) || !check_data (net, val, "validation", error))
    return FALSE;
  if (cfg->batch < 2 || cfg->epochs < 1 || !(cfg->lr > 0)) {
    g_set_error (error, MM_ERROR, MM_ERROR_INVALID,
        "training needs batch ≥ 2, epochs ≥ 1 and lr > 0 (got %d, %d, %g)",
        cfg->batch, cfg->epochs, cfg->lr);
    return FALSE;
  }

  memset (result, 0, sizeof *result);
  result->best_val_accuracy = -1;
  result->best_val_loss = INFINITY;
  val_probs = g_new (float, (size_t) val->n * MM_N_CLASSES);
  adam = mm_adam_new (np, lr, cfg->weight_decay);
  mm_plateau_init (&plateau, cfg->plateau_factor, cfg->plateau_patience);
  mm_rng_seed (&rng, cfg->seed, 0x5);
  mm_net_seed_dropout (net, cfg->seed);
  best = mm_net_new (arch, 0);
  mm_net_copy_weights (best, net);

  if (mm_arch_uses_image (arch))
    bt.image = g_new (float, (size_t) cfg->batch * MM_IMAGE_PIXELS);
  if (mm_arch_uses_audio (arch))
    bt.audio = g_new (float, (size_t) cfg->batch * MM_AUDIO_VALUES);
  bt.labels = g_new (int, cfg->batch);
  bt.logits = g_new (float, (size_t) cfg->batch * MM_N_CLASSES);
  order = g_new (int, train->n);
  for (int i = 0; i < train->n; i++)
    order[i] = i;
  n_batches = (train->n + cfg->batch - 1) / cfg->batch;

  for (int epoch = 1; epoch <= cfg->epochs && !stop; epoch++) {
    double loss_sum = 0;
    long right = 0, seen = 0;
    MmConfusion conf;
    MmTrainProgress pr = { .epoch = epoch, .n_epochs = cfg->epochs, .n_batches = n_batches };

    mm_rng_shuffle (&rng, order, train->n);
    mm_net_set_training (net, TRUE);
    for (int bi = 0; bi < n_batches && !stop; bi++) {
      int start = bi * cfg->batch, b = MIN (cfg->batch, train->n - start);
      float loss;

      /* batch norm cannot take a lone sample in training (PyTorch refuses
       * it too): a last batch of one is skipped */
      if (b < 2)
        continue;
      gather (train, order + start, b, &bt);
      mm_net_forward (net, b, bt.image, bt.audio, bt.logits);
      loss = mm_net_backward (net, bt.labels);
      if (!isfinite (loss)) {
        g_set_error (error, MM_ERROR, MM_ERROR_INVALID,
            "training diverged: loss is %g at epoch %d, batch %d (lower --lr?)", loss, epoch, bi + 1);
        stop = diverged = TRUE;
        break;
      }
      adam->lr = lr;
      mm_adam_step (adam, mm_net_params (net), mm_net_grads (net));
      loss_sum += (double) loss * b;
      right += count_correct (bt.logits, bt.labels, b);
      seen += b;
      samples_seen += b;
      if (cfg->progress) {
        double secs = (g_get_monotonic_time () - t_start) / 1e6;
        pr.batch_index = bi + 1;
        pr.loss = (float) (loss_sum / seen);
        pr.accuracy = (float) right / seen;
        pr.lr = lr;
        pr.samples_per_s = secs > 0 ? samples_seen / secs : 0;
        if (!cfg->progress (&pr, cfg->user_data))
          stop = TRUE;
      }
    }
    if (diverged)
      break;

    mm_confusion_init (&conf);
    mm_net_predict (net, val, 256, NULL, val_probs, &conf);
    pr.val_accuracy = (float) mm_confusion_accuracy (&conf);
    pr.val_loss = mean_nll (val_probs, val->labels, val->n);
    pr.end_of_epoch = TRUE;
    pr.improved = pr.val_accuracy > result->best_val_accuracy
        || (pr.val_accuracy == result->best_val_accuracy
            && pr.val_loss < result->best_val_loss * (1.0f - LOSS_THRESHOLD));
    result->epochs_run = epoch;
    if (pr.improved) {
      result->best_val_accuracy = pr.val_accuracy;
      result->best_val_loss = pr.val_loss;
      result->best_epoch = epoch;
      mm_net_copy_weights (best, net);
      bad = 0;
    } else if (cfg->early_stop_patience > 0 && ++bad >= cfg->early_stop_patience) {
      result->stopped_early = TRUE;
      stop = TRUE;
    }
    mm_plateau_step (&plateau, pr.val_accuracy, &lr);
    pr.lr = lr;
    if (cfg->progress && !cfg->progress (&pr, cfg->user_data))
      stop = TRUE;
  }

  mm_net_copy_weights (net, best);
  mm_net_set_training (net, FALSE);
  result->seconds = (g_get_monotonic_time () - t_start) / 1e6;
  result->samples_per_s = result->seconds > 0 ? samples_seen / result->seconds : 0;
  mm_net_free (best);
  mm_adam_free (adam);
  g_free (order);
  g_free (val_probs);
  g_free (bt.image);
  g_free (bt.audio);
  g_free (bt.labels);
  g_free (bt.logits);
  return !diverged;
}
