/* mmdigits — evaluation: confusion matrix, accuracy, macro F1, batched
 * prediction, calibration and temperature scaling (metrics.c). */
#pragma once

#include <glib.h>

#include "mm-dataset.h"
#include "mm-mfcc.h"
#include "mm-net.h"

G_BEGIN_DECLS

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

/* Test-time views (mm-mfcc.h "views"): @sets[0] holds the samples' own
 * blocks, @sets[1 … n_sets − 1] the same samples' views' blocks (same
 * order and labels, each normalised with the net's norm). A sample's logits
 * are the mean of its @n_sets rows (mm_rows_mean), as mm_model_set_classify
 * decides a word with views; one set is mm_net_logits / mm_net_score. */
#define MM_MAX_VIEW_SETS (1 + MM_MFCC_MAX_VIEWS)
void   mm_net_logits_views (MmNet *net, MmDataset *const *sets, int n_sets, int batch,
                            float *logits);

/* ---- Scoring a set ---- */
/* What a network (or a mean of networks) says on a whole set: every
 * sample's decision and calibrated probabilities, their confusion matrix
 * and expected calibration error. The arrays are owned by the struct:
 * mm_scores_clear frees them (and may be called on a zeroed struct). */
typedef struct {
  int n;
  int *pred;         /* [n] the arg-max */
  float *probs;      /* [n][10] the calibrated probabilities */
  MmConfusion conf;  /* truth against @pred */
  double ece;        /* mm_calibration_ece over MM_ECE_BINS */
} MmScores;

/* The one pass every evaluation makes (eval, calibrate, the recipe's
 * calibration): mm_net_predict over @ds at the net's temperature (@ds
 * already normalised with the net's norm), then the ECE. Fills @sc, which
 * need not be initialised and is left empty on failure (mm_net_predict's
 * errors). */
gboolean mm_net_score    (MmNet *net, const MmDataset *ds, MmScores *sc, GError **error);
/* mm_net_score of the mean logits of a set and its views (mm_net_logits_views). */
gboolean mm_net_score_views (MmNet *net, MmDataset *const *sets, int n_sets, MmScores *sc,
                             GError **error);
void     mm_scores_clear (MmScores *sc);
/* The scores of @n calibrated probability rows @probs [n][10] against
 * @labels [n]: each row's arg-max, their confusion and ECE. @out (need not
 * be initialised) takes @probs (g_new'd; freed by mm_scores_clear). */
void     mm_scores_of_probs (float *probs, int n, const int *labels, MmScores *out);
/* The mean of @n_parts scores of one set (each over the same samples, in
 * the order of @labels [n]): the probabilities averaged sample by sample
 * (mm_rows_mean), the arg-max of the mean, its confusion and ECE. Fills
 * @out, which need not be initialised. */
void     mm_scores_mean  (const MmScores *parts, int n_parts, const int *labels, MmScores *out);

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

/* The expected calibration error (MM_ECE_BINS) of softmax(@logits / @t)
 * against @labels (@n rows of 10 raw logits), and in *@accuracy (may be
 * NULL) the arg-max's accuracy. */
double mm_logits_ece (const float *logits, const int *labels, int n, float t, double *accuracy);

/* The range the temperature is searched in. */
#define MM_TEMPERATURE_MIN 0.05
#define MM_TEMPERATURE_MAX 20.0

/* The temperature T > 0 that minimises the mean cross-entropy of
 * softmax(@logits / T) against @labels (@n rows of 10): temperature scaling
 * (Guo et al. 2017). Fit it on a validation set, never on the set reported.
 * The search is a golden-section search over ln T in [ln MM_TEMPERATURE_MIN,
 * ln MM_TEMPERATURE_MAX] (the loss is unimodal in T), to 1e-4 relative.
 *
 * "At its bound": *@at_bound (may be NULL) is set TRUE when the search's
 * bracket never moved off ln MM_TEMPERATURE_MIN or ln MM_TEMPERATURE_MAX,
 * i.e. every probe found the loss lower (or, towards the lower end, not
 * higher) towards that end, so the returned T lies within the search's
 * tolerance (1e-4 in ln T) of the end and the minimum is there or beyond
 * it. Then the data does not determine T and the T returned is the range's,
 * not a fit. A set whose arg-max is right on every sample is always at the
 * lower bound (its loss falls as T → 0, whatever the margins; ties go to
 * the smaller T); one wrong on every sample with a margin at the upper. */
float  mm_fit_temperature (const float *logits, const int *labels, int n, gboolean *at_bound);

G_END_DECLS
