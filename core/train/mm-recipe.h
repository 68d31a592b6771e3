/* mmdigits — the training recipe around mm_train(): what `mmdigits train`
 * and the mmtrain element both do before and after the training loop, so
 * that the two cannot drift apart.
 *
 * Each caller keeps its own inputs: the CLI loads a protocol's data sets
 * (tools/datasets/protocol.c, split 14:3:3 by mm_split_14_3_3 with MM_SPLIT_SEED),
 * the element collects labelled samples from a stream and splits them here
 * (mm_recipe_split). From there on the steps are the same:
 *   1. mm_recipe_norm: a new network's input norm from its training audio;
 *   2. mm_dataset_normalize on every set, then mm_train;
 *   3. mm_recipe_calibrate (optional): temperature on the validation set;
 *   4. mm_recipe_provenance_json: one provenance object, one field set;
 *   5. mm_recipe_save: the model with its front end and provenance.
 */
#pragma once

#include <glib.h>

#include "mm-dataset.h"
#include "mm-mfcc.h"
#include "mm-net.h"
#include "mm-train.h"

G_BEGIN_DECLS

/* The seeded train/validation split of a set of labelled samples (mmtrain):
 * after a shuffle seeded by @seed, the first round(n · @fraction) samples
 * validate and the rest train. When either side would hold fewer than 2
 * samples there is no split: *@train and *@val both get all of @all, and
 * FALSE is returned (the caller says so). The same @all, @fraction and
 * @seed give the same split everywhere. *@train and *@val are new sets,
 * owned by the caller. */
gboolean mm_recipe_split (const MmDataset *all, double fraction, guint64 seed,
                          MmDataset **train, MmDataset **val);

/* A new network's input norm: the study's image norm (as mm_net_new sets
 * it) and, when @net hears audio, the per-coefficient mean and standard
 * deviation of the raw MFCC blocks of @from (the samples it learns from),
 * so that the model file carries them to eval and to the elements. A
 * fine-tuned network keeps its model's norm: do not call this for it. */
void     mm_recipe_norm (MmNet *net, const MmDataset *from);

/* Temperature scaling on @val (a validation set, never a test set, already
 * normalised): fits T (mm_fit_temperature), sets it on @net and gives it in
 * *@t, with the expected calibration error (MM_ECE_BINS) of @val before and
 * after in *@ece_before and *@ece_after (either may be NULL). Fails, with
 * the net's temperature left at 1, if its outputs are not finite, and with
 * MM_ERROR_UNIDENTIFIABLE when the fit ran to an end of its range
 * (mm_fit_temperature's at_bound: e.g. @val has no error): then *@t holds
 * that end (MM_TEMPERATURE_MIN or MM_TEMPERATURE_MAX) for the caller to
 * record, and the net stays uncalibrated (T = 1). */
gboolean mm_recipe_calibrate (MmNet *net, const MmDataset *val, float *t,
                              double *ece_before, double *ece_after, GError **error);

/* The one temperature fit on raw logits (@n rows of 10, T = 1) against
 * @labels, that mm_recipe_calibrate and mm_recipe_cross_calibrate both
 * use: mm_fit_temperature, and MM_ERROR_UNIDENTIFIABLE (with *@t the end of
 * the range reached) when it ran to an end of its range. */
gboolean mm_recipe_fit_temperature (const float *logits, const int *labels, int n, float *t,
                                    GError **error);

/* One network's raw logits (T = 1) on one set, with the set's labels: in
 * cross-validated calibration, a fold model on its own fold's held-out
 * speakers. Nothing is owned. */
typedef struct {
  const float *logits;          /* [n][10] */
  const int *labels;
  int n;
} MmLogitSet;

/* What mm_recipe_cross_calibrate found. */
typedef struct {
  float t;                      /* fitted on every set pooled: the temperature to ship */
  double ece;                   /* the pooled sets' ECE at t (in-sample: fitted there) */
  double accuracy;              /* the pooled sets' accuracy */
  double ece_model;             /* the pooled sets' ECE at the caller's @t_model */
  int n_sets;
  float *t_left_out;            /* [n_sets]: fitted on every set but the i-th */
  double *ece_left_out;         /* [n_sets]: the i-th set's ECE at t_left_out[i] */
  double ece_left_out_pooled;   /* every set at its own t_left_out, as one set: honest */
} MmCrossCalibration;

/* Cross-validated temperature scaling (as scikit-learn's
 * CalibratedClassifierCV with cross-validated predictions): @sets are the
 * out-of-fold logits of models trained without those samples, so the
 * temperature fitted on them pooled (each sample weighing once) measures
 * how over-confident the recipe is on data it never saw, to be applied to
 * the model trained on everything, whose own temperature is @t_model (the
 * pooled sets' ECE at it is reported beside). Also leave-one-set-out: for each set,
 * the fit on the other sets pooled, scored on it — the honest out-of-fold
 * ECE of the method. Needs @n_sets >= 2; fails with
 * MM_ERROR_UNIDENTIFIABLE when any of the fits runs to its bound
 * (mm_recipe_fit_temperature). Clear *@out with mm_cross_calibration_clear
 * (also after a failure). */
gboolean mm_recipe_cross_calibrate (const MmLogitSet *sets, int n_sets, float t_model,
                                    MmCrossCalibration *out, GError **error);
void     mm_cross_calibration_clear (MmCrossCalibration *cc);

/* What a training run records in its model's `provenance`
 * (docs/model-format.md). Every caller fills the same structure, so both
 * write the same field set; a member left NULL / 0 is left out of the
 * JSON, except init_model, written as null for a new network. Nothing is
 * owned. */
typedef struct {
  const char *tool;             /* "mmdigits", "mmtrain": written with VERSION */
  const char *command;          /* the command line, or NULL */
  const char *data;             /* one line: what the network learned from */
  const char *protocol;         /* the CLI's protocol (with split_seed), or NULL */
  int split_seed;
  const char *init_model;       /* the model fine-tuned, or NULL: a new network */
  int samples;                  /* labelled samples for training and validation */
  MmArch arch;
  const MmTrainConfig *cfg;     /* seed, lr, batch, modality dropout */
  const MmTrainResult *res;     /* epochs, best epoch, validation accuracy, seconds */
  const MmConfusion *test;      /* a test split, or NULL */
  const MmConfusion *heldout;   /* a held-out test, or NULL */
  const char *augment_json;     /* mm_augment_to_json, or NULL */
  const char *synthetic_json;   /* the CLI's synthetic voices (an object), or NULL */
  float temperature;            /* mm_recipe_calibrate's T, or 0: not calibrated */
  float temperature_bound;      /* with temperature 0: the range's end the fit ran to
                                 * (MM_ERROR_UNIDENTIFIABLE), or 0 */
} MmRecipeProvenance;

/* The provenance JSON object of @p (newly allocated). Under
 * $SOURCE_DATE_EPOCH (mm_model_reproducible) it leaves out the wall-clock
 * train_seconds and dates the file by that epoch, so that the same run
 * gives the same file byte for byte. */
char    *mm_recipe_provenance_json (const MmRecipeProvenance *p);

/* Writes @net to @path atomically (mm_model_save) with @provenance_json
 * and, when @net hears audio, the front end @mfcc (NULL: the model records
 * none, as a model fine-tuned from one that had none). */
gboolean mm_recipe_save (const MmNet *net, const MmMfccParams *mfcc,
                         const char *provenance_json, const char *path, GError **error);

G_END_DECLS
