/* The training recipe shared by `mmdigits train` and mmtrain (mm-recipe.h). */
#include "mm-config.h"

#include <json-glib/json-glib.h>
#include <math.h>
#include <string.h>

#include "mm-error.h"
#include "mm-json.h"
#include "mm-metrics.h"
#include "mm-mfcc.h"
#include "mm-modelfile.h"
#include "mm-recipe.h"
#include "mm-rng.h"

/* The PCG stream of the split: mmtrain's since its first version, so that
 * a seed splits a stream's samples as it always did. */
#define SPLIT_STREAM 0x5b1

gboolean
mm_recipe_split (const MmDataset *all, double fraction, guint64 seed,
    MmDataset **train, MmDataset **val)
{
  int n = all->n, n_val = (int) lround (n * fraction);
  int *idx = g_new (int, n);
  gboolean split = n_val >= 2 && n - n_val >= 2;
  MmRng rng;

  for (int i = 0; i < n; i++)
    idx[i] = i;
  if (!split) {
    *train = mm_dataset_subset (all, idx, n);
    *val = mm_dataset_subset (all, idx, n);
  } else {
    mm_rng_seed (&rng, seed, SPLIT_STREAM);
    mm_rng_shuffle (&rng, idx, n);
    *val = mm_dataset_subset (all, idx, n_val);
    *train = mm_dataset_subset (all, idx + n_val, n - n_val);
  }
  g_free (idx);
  return split;
}

void
mm_recipe_norm (MmNet *net, const MmDataset *from)
{
  MmNorm *norm = mm_net_norm (net);

  if (mm_arch_uses_audio (mm_net_arch (net)) && from->audio)
    mm_dataset_audio_stats (from, norm->mfcc_mean, norm->mfcc_std);
}

gboolean
mm_recipe_fit_temperature (const float *logits, const int *labels, int n, float *t,
    GError **error)
{
  gboolean at_bound = FALSE;
  double accuracy;

  *t = mm_fit_temperature (logits, labels, n, &at_bound);
  if (!at_bound)
    return TRUE;
  /* a temperature at the range's end is the range's, not the data's:
   * shipped, T = 0.05 would make every answer certain */
  mm_logits_ece (logits, labels, n, 1.0f, &accuracy);
  *t = *t < 1 ? MM_TEMPERATURE_MIN : MM_TEMPERATURE_MAX;
  g_set_error (error, MM_ERROR, MM_ERROR_UNIDENTIFIABLE,
      "the temperature fit ran to the end of its range (T = %g) on %d samples, %.2f%% right: %s",
      *t, n, 100 * accuracy, *t < 1
      ? "no error to fit on (the loss still falls as T goes to 0)"
      : "the loss still falls as T grows");
  return FALSE;
}

gboolean
mm_recipe_calibrate (MmNet *net, const MmDataset *val, float *t,
    double *ece_before, double *ece_after, GError **error)
{
  float *logits = g_new (float, (size_t) MAX (val->n, 1) * MM_N_CLASSES);
  MmScores sc;
  double before = 0, after = 0;
  gboolean ok;

  mm_net_set_temperature (net, 1.0f);
  ok = mm_net_score (net, val, &sc, error);
  if (ok) {
    before = sc.ece;
    mm_scores_clear (&sc);
    mm_net_logits (net, val, 256, logits);
    ok = mm_recipe_fit_temperature (logits, val->labels, val->n, t, error);
    if (ok) {
      mm_net_set_temperature (net, *t);
      ok = mm_net_score (net, val, &sc, error);
      if (!ok)
        mm_net_set_temperature (net, 1.0f);
    }
  }
  if (ok)
    after = sc.ece;
  if (ece_before)
    *ece_before = before;
  if (ece_after)
    *ece_after = after;
  mm_scores_clear (&sc);
  g_free (logits);
  return ok;
}

/* The sets of @sets but @skip (-1: none) as one: logits and labels, newly
 * allocated, in order. */
static int
pool_sets (const MmLogitSet *sets, int n_sets, int skip, float **logits, int **labels)
{
  int n = 0, at = 0;

  for (int i = 0; i < n_sets; i++)
    if (i != skip)
      n += sets[i].n;
  *logits = g_new (float, (size_t) MAX (n, 1) * MM_N_CLASSES);
  *labels = g_new (int, MAX (n, 1));
  for (int i = 0; i < n_sets; i++) {
    if (i == skip)
      continue;
    memcpy (*logits + (size_t) at * MM_N_CLASSES, sets[i].logits,
        (size_t) sets[i].n * MM_N_CLASSES * sizeof (float));
    memcpy (*labels + at, sets[i].labels, (size_t) sets[i].n * sizeof (int));
    at += sets[i].n;
  }
  return n;
}

gboolean
mm_recipe_cross_calibrate (const MmLogitSet *sets, int n_sets, float t_model,
    MmCrossCalibration *out, GError **error)
{
  float *logits = NULL, *scaled = NULL;
  int *labels = NULL, n, at = 0;
  gboolean ok = FALSE;

  memset (out, 0, sizeof *out);
  if (n_sets < 2) {
    g_set_error (error, MM_ERROR, MM_ERROR_INVALID,
        "cross-validated calibration needs at least two folds, not %d", n_sets);
    return FALSE;
  }
  out->n_sets = n_sets;
  out->t_left_out = g_new0 (float, n_sets);
  out->ece_left_out = g_new0 (double, n_sets);
  n = pool_sets (sets, n_sets, -1, &logits, &labels);
  if (!mm_recipe_fit_temperature (logits, labels, n, &out->t, error)) {
    g_prefix_error (error, "the folds pooled: ");
    goto out;
  }
  out->ece = mm_logits_ece (logits, labels, n, out->t, &out->accuracy);
  out->ece_model = mm_logits_ece (logits, labels, n, t_model, NULL);
  /* every set's logits divided by its own left-out temperature, pooled:
   * one ECE over all samples, each scored by a fit that never saw it */
  scaled = g_new (float, (size_t) MAX (n, 1) * MM_N_CLASSES);
  for (int i = 0; i < n_sets; i++) {
    float *rest_logits;
    int *rest_labels, rest = pool_sets (sets, n_sets, i, &rest_logits, &rest_labels);
    gboolean fitted = mm_recipe_fit_temperature (rest_logits, rest_labels, rest,
        &out->t_left_out[i], error);

    g_free (rest_logits);
    g_free (rest_labels);
    if (!fitted) {
      g_prefix_error (error, "every fold but fold %d: ", i + 1);
      goto out;
    }
    out->ece_left_out[i] = mm_logits_ece (sets[i].logits, sets[i].labels, sets[i].n,
        out->t_left_out[i], NULL);
    for (size_t k = 0; k < (size_t) sets[i].n * MM_N_CLASSES; k++)
      scaled[(size_t) at * MM_N_CLASSES + k] = sets[i].logits[k] / out->t_left_out[i];
    at += sets[i].n;
  }
  out->ece_left_out_pooled = mm_logits_ece (scaled, labels, n, 1.0f, NULL);
  ok = TRUE;
out:
  g_free (logits);
  g_free (labels);
  g_free (scaled);
  return ok;
}

void
mm_cross_calibration_clear (MmCrossCalibration *cc)
{
  g_clear_pointer (&cc->t_left_out, g_free);
  g_clear_pointer (&cc->ece_left_out, g_free);
  memset (cc, 0, sizeof *cc);
}

/* What the run learned from and how the data was split. */
static void
add_data (JsonBuilder *b, const MmRecipeProvenance *p)
{
  mm_json_add_string (b, "data", p->data);
  if (p->protocol) {
    mm_json_add_string (b, "protocol", p->protocol);
    mm_json_add_int (b, "split_seed", p->split_seed);
  }
  json_builder_set_member_name (b, "init_model");
  if (p->init_model)
    json_builder_add_string_value (b, p->init_model);
  else
    json_builder_add_null_value (b);
  mm_json_add_int (b, "samples", p->samples);
}

/* The settings and the course of the training loop, and what was measured. */
static void
add_training (JsonBuilder *b, const MmRecipeProvenance *p)
{
  mm_json_add_int (b, "seed", (gint64) p->cfg->seed);
  mm_json_add_int (b, "epochs", p->res->epochs_run);
  mm_json_add_int (b, "best_epoch", p->res->best_epoch);
  mm_json_add_double (b, "lr", p->cfg->lr);
  mm_json_add_int (b, "batch", p->cfg->batch);
  mm_json_add_double (b, "val_accuracy", p->res->best_val_accuracy);
  if (p->test)
    mm_json_add_double (b, "test_accuracy", mm_confusion_accuracy (p->test));
  if (p->heldout) {
    mm_json_add_double (b, "heldout_accuracy", mm_confusion_accuracy (p->heldout));
    mm_json_add_double (b, "heldout_macro_f1", mm_confusion_macro_f1 (p->heldout));
  }
  if (p->augment_json)
    mm_json_add_text (b, "augment", p->augment_json);
  if (p->synthetic_json)
    mm_json_add_text (b, "synthetic", p->synthetic_json);
  /* options given as decimals (0.3) are stored as those decimals, not as
   * the float's 17 digits (0.30000001192092896) */
  if (p->cfg->modality_dropout > 0)
    mm_json_add_double (b, "modality_dropout", mm_float_decimal (p->cfg->modality_dropout));
  if (p->cfg->label_smoothing > 0)
    mm_json_add_double (b, "label_smoothing", mm_float_decimal (p->cfg->label_smoothing));
  if (p->cfg->noise_smoothing > 0)
    mm_json_add_double (b, "noise_smoothing", mm_float_decimal (p->cfg->noise_smoothing));
  if (p->cfg->mixup > 0)
    mm_json_add_double (b, "mixup", mm_float_decimal (p->cfg->mixup));
  if (p->cfg->ema > 0)
    mm_json_add_double (b, "ema", mm_float_decimal (p->cfg->ema));
  if (p->temperature > 0) {
    mm_json_add_double (b, "temperature", p->temperature);
    mm_json_add_string (b, "calibration", "temperature fitted on the validation split (cross-entropy)");
  } else if (p->temperature_bound > 0) {
    /* no "temperature": readers take T = 1, as for any uncalibrated file */
    mm_json_add_double (b, "temperature_at_bound", mm_float_decimal (p->temperature_bound));
    mm_json_add_string (b, "calibration", "none: the temperature fit on the validation split "
        "was not identifiable (it ran to the end of its range, temperature_at_bound); T = 1");
  }
  /* wall-clock time would make reproducible files differ */
  if (!mm_model_reproducible ())
    mm_json_add_double (b, "train_seconds", round (p->res->seconds));
}

char *
mm_recipe_provenance_json (const MmRecipeProvenance *p)
{
  JsonBuilder *b = json_builder_new ();
  g_autofree char *date = mm_model_date ();
  g_autofree char *tool = g_strdup_printf ("%s " VERSION, p->tool);
  char *out;

  json_builder_begin_object (b);
  add_data (b, p);
  add_training (b, p);
  mm_json_add_string (b, "date", date);
  mm_json_add_string (b, "tool", tool);
  if (p->command)
    mm_json_add_string (b, "command", p->command);
  mm_json_add_string (b, "arch", mm_arch_name (p->arch));
  json_builder_end_object (b);

  out = mm_json_builder_to_text (b);
  g_object_unref (b);
  return out;
}

gboolean
mm_recipe_save (const MmNet *net, const MmMfccParams *mfcc, const char *provenance_json,
    const char *path, GError **error)
{
  MmModelMeta meta = { 0 };
  gboolean ok;

  if (mfcc && mm_arch_uses_audio (mm_net_arch (net)))
    meta.mfcc_json = mm_mfcc_params_to_json (mfcc);
  meta.provenance_json = (char *) provenance_json;
  ok = mm_model_save (net, &meta, path, error);
  g_free (meta.mfcc_json);
  return ok;
}
