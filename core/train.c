/* The training loop: seeded shuffling, optional augmentation and modality
 * dropout, Adam, ReduceLROnPlateau on validation accuracy, early stopping
 * that restores the best weights. */
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

/* Modality dropout (see MmTrainConfig): sample idx[i] of the batch loses
 * one branch with chance p, drawn from (seed, epoch, idx[i]) only. */
static void
drop_modality (const MmTrainConfig *cfg, const float *silence, const MmNorm *norm,
    const int *idx, int b, int epoch, Batch *bt)
{
  for (int i = 0; i < b; i++) {
    MmRng r;
    gboolean audio, noise;
    float *x;
    int n;

    mm_rng_seed (&r, cfg->seed ^ 0x6d6f64616cULL, ((guint64) epoch << 32) | (guint32) idx[i]);
    if (!(mm_rng_uniform (&r) < cfg->modality_dropout))
      continue;
    audio = mm_rng_below (&r, 2);
    noise = mm_rng_below (&r, 2);
    x = audio ? bt->audio + (size_t) i * MM_AUDIO_VALUES : bt->image + (size_t) i * MM_IMAGE_PIXELS;
    n = audio ? MM_AUDIO_VALUES : MM_IMAGE_PIXELS;
    for (int k = 0; k < n; k++) {
      if (noise) {
        /* unit-variance noise in the normalised domain (Box–Muller) */
        double u1 = (mm_rng_u32 (&r) + 0.5) / 4294967296.0, u2 = mm_rng_uniform (&r);
        x[k] = (float) (sqrt (-2.0 * log (u1)) * cos (2.0 * G_PI * u2));
      } else {
        x[k] = audio ? silence[k] : -norm->image_mean / norm->image_std;
      }
    }
  }
}

/* The normalised features of one second of silence, as the front end
 * @params makes them. */
static gboolean
silence_features (const MmMfccParams *params, const MmNorm *norm, float *out, GError **error)
{
  MmMfccParams defaults;
  float *zeros, raw[MM_AUDIO_VALUES];
  MmMfcc *m;
  gboolean ok;

  if (!params) {
    mm_mfcc_params_init (&defaults);
    params = &defaults;
  }
  if (!(m = mm_mfcc_new (params, error)))
    return FALSE;
  zeros = g_new0 (float, params->sample_rate);
  ok = mm_mfcc_n_frames (m, params->sample_rate) == MM_MFCC_FRAMES
      && params->n_coeffs == MM_MFCC_COEFFS
      && mm_mfcc_compute (m, zeros, params->sample_rate, raw, error);
  if (ok)
    mm_net_prepare_audio (norm, raw, out);
  else if (error && !*error)
    g_set_error (error, MM_ERROR, MM_ERROR_INVALID,
        "modality dropout: the front end does not give 39×13 blocks for one second");
  g_free (zeros);
  mm_mfcc_free (m);
  return ok;
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
  MmAugmenter *aug = NULL;
  float silence[MM_AUDIO_VALUES];

  if (!check_data (net, train, "training", error) || !check_data (net, val, "validation", error))
    return FALSE;
  if (cfg->modality_dropout != 0
      && (!(cfg->modality_dropout > 0 && cfg->modality_dropout <= 1)
          || !mm_arch_uses_image (arch) || !mm_arch_uses_audio (arch))) {
    g_set_error (error, MM_ERROR, MM_ERROR_INVALID, "modality dropout (%g) must be in (0, 1] "
        "and needs a hybrid network (%s is not)", cfg->modality_dropout, mm_arch_name (arch));
    return FALSE;
  }
  if (cfg->modality_dropout > 0
      && !silence_features (cfg->mfcc, mm_net_norm (net), silence, error))
    return FALSE;
  if (cfg->batch < 2 || cfg->epochs < 1 || !(cfg->lr > 0)) {
    g_set_error (error, MM_ERROR, MM_ERROR_INVALID,
        "training needs batch ≥ 2, epochs ≥ 1 and lr > 0 (got %d, %d, %g)",
        cfg->batch, cfg->epochs, cfg->lr);
    return FALSE;
  }

  if (cfg->augment && cfg->augment->enabled
      && !(aug = mm_augmenter_new (cfg->augment, arch, cfg->mfcc, mm_net_norm (net), train, error)))
    return FALSE;
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
      if (aug)
        mm_augmenter_apply (aug, order + start, b, cfg->seed, epoch, bt.image, bt.audio);
      if (cfg->modality_dropout > 0)
        drop_modality (cfg, silence, mm_net_norm (net), order + start, b, epoch, &bt);
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
  mm_augmenter_free (aug);
  mm_adam_free (adam);
  g_free (order);
  g_free (val_probs);
  g_free (bt.image);
  g_free (bt.audio);
  g_free (bt.labels);
  g_free (bt.logits);
  return !diverged;
}
