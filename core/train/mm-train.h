/* mmdigits — optimiser, learning-rate schedule, training loop, evaluation. */
#pragma once

#include <glib.h>

#include "mm-augment.h"
#include "mm-dataset.h"
#include "mm-mfcc.h"
#include "mm-net.h"

G_BEGIN_DECLS

/* ---- Adam with PyTorch's L2 weight decay (added to the gradient) ---- */
typedef struct {
  size_t n;
  float lr, beta1, beta2, eps, weight_decay;
  int t;
  float *m, *v;     /* owned */
} MmAdam;

MmAdam  *mm_adam_new  (size_t n, float lr, float weight_decay);  /* β 0.9/0.999, eps 1e-8 */
void     mm_adam_free (MmAdam *a);
void     mm_adam_step (MmAdam *a, float *params, const float *grads);

/* ---- ReduceLROnPlateau, mode max, relative threshold 1e-4 (PyTorch defaults) ---- */
typedef struct {
  float factor;     /* 0.1 */
  int patience;     /* 5 */
  float threshold;  /* 1e-4 */
  float best;
  int bad_epochs;
} MmPlateau;

void     mm_plateau_init (MmPlateau *p, float factor, int patience);
/* Feeds one epoch's metric; multiplies *lr by factor when it has not improved
 * for more than @patience epochs. Returns TRUE when it reduced. */
gboolean mm_plateau_step (MmPlateau *p, float metric, float *lr);

/* ---- Training loop ---- */
typedef struct {
  int epoch, n_epochs;        /* 1-based */
  int batch_index, n_batches; /* 1-based within the epoch */
  float loss, accuracy;       /* running means over the epoch so far */
  float lr;
  double samples_per_s;
  gboolean end_of_epoch;      /* then: */
  float val_accuracy;         /* validation accuracy after this epoch */
  float val_loss;             /* mean validation cross-entropy */
  gboolean improved;          /* best so far (see mm_train) */
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
  int best_epoch;
  float best_val_accuracy;
  float best_val_loss;
  double seconds;             /* training time, with that of the runs resumed from */
  double samples_per_s;       /* of this run */
  gboolean stopped_early;
  int resumed_after;          /* epochs the checkpoint had done (0: a fresh run) */
} MmTrainResult;

/* The study's settings for @arch (lr, epochs, batch) and the shared ones. */
void     mm_train_config_init (MmTrainConfig *cfg, MmArch arch);
/* Trains @net on @train (normalised), choosing the epoch by accuracy on @val,
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

/* ---- Evaluation ---- */
typedef struct {
  int n;
  int confusion[MM_N_CLASSES][MM_N_CLASSES];  /* [truth][predicted] */
} MmConfusion;

void   mm_confusion_init     (MmConfusion *c);
void   mm_confusion_add      (MmConfusion *c, int truth, int predicted);
double mm_confusion_accuracy (const MmConfusion *c);
double mm_confusion_macro_f1 (const MmConfusion *c);

/* Evaluation-mode predictions for every sample of @ds: @pred [n] (may be
 * NULL), @probs [n][10] (may be NULL: the softmax of the logits divided by
 * the net's temperature), @conf (may be NULL). Fails (MM_ERROR_INVALID)
 * at the first sample whose input holds inf or NaN, or whose logits are
 * not finite for a finite input (the network's weights): an arg-max of
 * NaNs is no prediction. @pred, @probs and @conf are then incomplete. */
gboolean mm_net_predict (MmNet *net, const MmDataset *ds, int batch,
                         int *pred, float *probs, MmConfusion *conf, GError **error);
/* Evaluation-mode raw logits [n][10] of every sample of @ds (no temperature). */
void   mm_net_logits  (MmNet *net, const MmDataset *ds, int batch, float *logits);

/* ---- Calibration ---- */
/* Expected calibration error of @n predictions: the top probability of each
 * row of @probs [n][10] as its confidence, @bins equal-width bins over
 * (0, 1], Σ_b (n_b / n)·|accuracy_b − mean confidence_b| (Guo et al. 2017;
 * 15 bins is the usual choice). 0 for n = 0. */
double mm_calibration_ece (const float *probs, const int *labels, int n, int bins);
/* The bins every ECE of the project uses (eval, figures). */
#define MM_ECE_BINS 15
/* Reliability of the top-class confidence (Guo et al. 2017): @n_bins
 * equal-width bins, bin b holding confidences in (b/n_bins, (b+1)/n_bins]
 * (bin 0 also takes 0); @bins [n_bins] receive each bin's sample count
 * and mean confidence and accuracy (0 when empty). Returns the expected
 * calibration error Σ_b count_b / n · |accuracy_b − confidence_b|.
 * @probs [n][10]; the prediction is the arg-max, the first on ties. */
typedef struct {
  int count;
  double confidence, accuracy;
} MmCalibrationBin;

double mm_calibration (const float *probs, const int *labels, int n, int n_bins,
                       MmCalibrationBin *bins);

/* The temperature T > 0 that minimises the mean cross-entropy of
 * softmax(@logits / T) against @labels (@n rows of 10): temperature scaling
 * (Guo et al. 2017). Fit it on a validation set, never on the set reported.
 * The search is a golden-section search over ln T in [ln 0.05, ln 20] (the
 * loss is unimodal in T), to 1e-4 relative. */
float  mm_fit_temperature (const float *logits, const int *labels, int n);

G_END_DECLS
