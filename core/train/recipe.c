/* The training recipe shared by `mmdigits train` and mmtrain (mm-recipe.h). */
#include "mm-config.h"

#include <json-glib/json-glib.h>
#include <math.h>

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
mm_recipe_calibrate (MmNet *net, const MmDataset *val, float *t,
    double *ece_before, double *ece_after, GError **error)
{
  float *logits = g_new (float, (size_t) MAX (val->n, 1) * MM_N_CLASSES);
  MmScores sc;
  double before = 0, after = 0, accuracy = 0;
  gboolean ok, at_bound = FALSE;

  mm_net_set_temperature (net, 1.0f);
  ok = mm_net_score (net, val, &sc, error);
  if (ok) {
    before = sc.ece;
    accuracy = mm_confusion_accuracy (&sc.conf);
    mm_scores_clear (&sc);
    mm_net_logits (net, val, 256, logits);
    *t = mm_fit_temperature (logits, val->labels, val->n, &at_bound);
    /* a temperature at the range's end is the range's, not the data's:
     * shipped, T = 0.05 would make every answer certain */
    if (at_bound) {
      gboolean low = *t < 1;

      *t = low ? MM_TEMPERATURE_MIN : MM_TEMPERATURE_MAX;
      g_set_error (error, MM_ERROR, MM_ERROR_UNIDENTIFIABLE,
          "the temperature fit ran to the end of its range (T = %g) on %d samples, %.2f%% "
          "right: %s", *t, val->n, 100 * accuracy, low
          ? "no error to fit on (the loss still falls as T goes to 0)"
          : "the loss still falls as T grows");
      ok = FALSE;
    } else {
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
