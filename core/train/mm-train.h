/* mmdigits — the training loop (train.c).
 *
 * The optimiser and schedule it runs are in mm-adam.h, evaluation and
 * calibration in mm-metrics.h; both are included here, so that code that
 * found them in this header before they had their own still compiles. */
#pragma once

#include <glib.h>

#include "mm-adam.h"
#include "mm-augment.h"
#include "mm-dataset.h"
#include "mm-metrics.h"
#include "mm-mfcc.h"
#include "mm-net.h"

G_BEGIN_DECLS

/* ---- Training loop ---- */
/* The ramp of noise_smoothing (below): none at and above CLEAN dB SNR,
 * all of it at and below FULL dB. */
#define MM_NOISE_SMOOTH_CLEAN_DB 20.0f
#define MM_NOISE_SMOOTH_FULL_DB  (-5.0f)
/* The largest mixup α (MmTrainConfig.mixup): Beta(α, α) is already close to
 * m = 1/2 for every sample there. */
#define MM_TRAIN_MIXUP_MAX 10.0f
/* The largest decay of the weights' moving average (MmTrainConfig.ema): its
 * memory, 1 / (1 − decay) steps, is then longer than any run here. */
#define MM_TRAIN_EMA_MAX 0.99999f
/* The label smoothing @noise_smoothing gives a sample at @snr_db (+∞: a
 * sample without noise gets 0). */
float mm_train_noise_smoothing (float noise_smoothing, float snr_db);

/* Which runs an option can apply to, decided here once for mm_train and
 * every front end (the CLI refuses early with its own message).
 * Noise smoothing: an audio-only network with an additive noise kind of
 * @augment (may be NULL) on; a hybrid still sees the image of a drowned
 * word, so its pair is not uncertain and must not be taught so. */
gboolean mm_train_noise_smoothing_applies (MmArch arch, const MmAugment *augment);
/* Modality dropout: a hybrid, the only network with a branch to drop. */
gboolean mm_train_modality_dropout_applies (MmArch arch);

typedef struct {
  int epoch, n_epochs;        /* 1-based */
  int batch_index, n_batches; /* 1-based within the epoch */
  float loss, accuracy;       /* running means over the epoch so far */
  float lr;
  double samples_per_s;
  gboolean end_of_epoch;      /* then: */
  float val_accuracy;         /* validation accuracy after this epoch */
  float val_loss;             /* mean validation cross-entropy */
  gboolean improved;          /* the kept weights' best so far (see mm_train) */
  gboolean ema;               /* with MmTrainConfig.ema: the moving average's */
  float ema_val_accuracy, ema_val_loss; /* validation, which chooses the kept epoch */
} MmTrainProgress;

typedef gboolean (*MmTrainProgressFunc) (const MmTrainProgress *p, gpointer user_data); /* FALSE stops */

typedef struct {
  int epochs;
  int batch;
  float lr;
  float weight_decay;         /* 1e-5 */
  float plateau_factor;       /* 0.1 */
  int plateau_patience;       /* 5 */
  int early_stop_patience;    /* 10; 0 = off */
  guint64 seed;               /* shuffling, dropout and augmentation */
  /* Augmentation (mm-augment.h): NULL or no kind enabled = none, and the
   * training is then exactly what it is without this field. */
  const MmAugment *augment;
  const MmMfccParams *mfcc;   /* the front end for waveform augmentation; NULL = defaults */
  /* Hybrids: the chance that a training sample has one branch (image or
   * audio, at random) made uninformative — blank (black image / the features
   * of silence) or Gaussian noise, half the time each — so that the fused
   * decision learns not to follow one branch blindly. 0 = off. */
  float modality_dropout;
  /* Targets of 1 − s on the label and s spread over the ten classes
   * (mm_softmax_xent_smoothed), so that the network is not pushed towards
   * certainty on voices it has learned by heart. [0, 1); 0 = off. The
   * validation loss stays the plain cross-entropy. */
  float label_smoothing;
  /* A sample mixed with additive noise by the augmentation at effective SNR
   * s dB is trained against targets smoothed by
   * noise_smoothing · clamp((MM_NOISE_SMOOTH_CLEAN_DB − s) / (CLEAN − FULL), 0, 1)
   * (or label_smoothing, if larger): a word drowned in noise is not
   * certain, and a network that learns so can say it. Needs an additive
   * noise kind on. [0, 1); 0 = off. */
  float noise_smoothing;
  /* Mixup (Zhang et al. 2018): each training sample's inputs become
   * (1 − m)·its own + m·those of another sample of its batch, and its
   * target moves by m towards the other's label (each with the first
   * sample's smoothing); m ~ Beta(mixup, mixup), the partner and m drawn
   * from (seed, epoch, sample) only. Every arch; a hybrid mixes both
   * inputs alike. Applied after the augmentation, before the modality
   * dropout. 0 = off; else (0, MM_TRAIN_MIXUP_MAX]. */
  float mixup;
  /* An exponential moving average of the weights (parameters and batch-norm
   * statistics), updated after every optimiser step t (1-based over the
   * run): avg = d·avg + (1 − d)·live with d = min(ema, (1 + t) / (10 + t)),
   * the short memory of the first steps forgetting the random start. The
   * live weights train exactly as without it: their validation drives the
   * learning-rate schedule and early stopping. The averaged weights are
   * validated after every epoch too, and are what the run keeps: the epoch
   * whose average validates best (same criterion as without it). 0 = off;
   * else (0, MM_TRAIN_EMA_MAX]. */
  float ema;
  MmTrainProgressFunc progress;
  gpointer user_data;
  /* Checkpoints: with @checkpoint set, the whole state of the run is
   * written there atomically after every completed epoch (see
   * docs/model-format.md); with @resume too, the run continues from it and
   * ends with exactly the weights the uninterrupted run would have. */
  const char *checkpoint;     /* file, or NULL */
  gboolean resume;
  /* The caller's settings that also decide the result (data options and
   * the like; any text, e.g. JSON), kept in the checkpoint: a resume with
   * other settings is refused. May be NULL. */
  const char *settings;
} MmTrainConfig;

typedef struct {
  int epochs_run;
  int best_epoch;             /* of the kept weights (the moving average's, with ema) */
  float best_val_accuracy;
  float best_val_loss;
  double seconds;             /* training time, with that of the runs resumed from */
  double samples_per_s;       /* of this run */
  gboolean stopped_early;
  int resumed_after;          /* epochs the checkpoint had done (0: a fresh run) */
} MmTrainResult;

/* The study's settings for @arch (lr, epochs, batch) and the shared ones. */
void     mm_train_config_init (MmTrainConfig *cfg, MmArch arch);
/* Trains @net on @train (normalised), choosing the epoch by accuracy on @val
 * (with @cfg->ema, of the weights' moving average, see above),
 * ties broken by a validation loss lower by at least 0.01 % (with recordings shared between
 * training and validation, validation accuracy reaches 100 % within a few
 * epochs and would stop telling epochs apart); early stopping counts epochs
 * without such an improvement. Ends with the best weights restored and the
 * net in evaluation mode.
 *
 * Deterministic for a seed and thread count: the same inputs give the same
 * weights bit for bit, also across a checkpoint and resume. Returns FALSE
 * with MM_ERROR_CANCELLED when @cfg->progress returned FALSE: the run did
 * not finish and its weights are not a trained model. With @cfg->resume,
 * @net must be the net the interrupted run started with (same arch; its
 * weights are replaced) and @train and @val the same data, else the resume
 * is refused (MM_ERROR_MISMATCH). */
gboolean mm_train (MmNet *net, const MmTrainConfig *cfg, const MmDataset *train,
                   const MmDataset *val, MmTrainResult *result, GError **error);

/* Whether @path (named @what in messages, e.g. "--checkpoint") can take
 * the checkpoints of a run whose model goes to @out, checked before any
 * work by `mmdigits train` and mmtrain alike: not @out itself, also through
 * a link (MM_ERROR_MISMATCH); with @resume a regular file to resume from,
 * without it no file at all, so that another run's checkpoint is never
 * overwritten (MM_ERROR_IO); and a path any output may take
 * (mm_file_check_output against @inputs, NULL-terminated, may be NULL). */
gboolean mm_train_check_checkpoint (const char *what, const char *path, gboolean resume,
                                    const char *out, const char *const *inputs,
                                    GError **error);

G_END_DECLS
