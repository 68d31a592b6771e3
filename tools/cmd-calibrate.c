/* mmdigits calibrate — fit a trained model's calibration temperature anew on
 * named validation sets and write it as a new model file.
 *
 * `train` fits the temperature on its own validation split, whose voices the
 * network trained on; it cannot know how over-confident the network is on
 * voices it never heard. This command fits it (mm_recipe_fit_temperature:
 * the one fit, cross-entropy over the union of the sets) on the sets of one
 * or more --protocol, each the protocol's validation split or, for
 * "voices-cal" and "writers-val", the validation images paired with unheard
 * voices / changed; a protocol that scores a test set is refused. Weights,
 * norm and front end are copied unchanged but for the test-time views
 * --views gives (the fit is then of the logits the model decides on with
 * them); the provenance records the sets and both temperatures.
 *
 * --protocol new-speaker with one --fold model per speaker-disjoint fold
 * (each trained with --protocol new-speaker:K, of the model's arch and front
 * end) fits it instead on out-of-fold predictions (mm_recipe_cross_calibrate):
 * each fold model scores its own fold's unheard speakers, as `eval -p
 * new-speaker` does, and the logits are pooled. A small calibration set of
 * a few voices (voices-cal) says little about voices in general; every
 * speaker of the folds, unheard by the model that scores it, says more.
 * The temperature so found is the recipe's, applied to the model trained
 * on all of them. */
#include "mm-config.h"

#include <json-glib/json-glib.h>
#include <stdio.h>
#include <string.h>

#include "mm-cli.h"
#include "mm-error.h"
#include "mm-file.h"
#include "mm-json.h"
#include "mm-metrics.h"
#include "mm-modelfile.h"
#include "mm-recipe.h"
#include "degrade.h"

/* One set the temperature is fitted on, with its scores at the old and the
 * new temperature. */
typedef struct {
  const char *protocol;
  const char *what;        /* which set of the protocol (static) */
  MmDataset *ds;           /* normalised with the model's norm; owned */
  double ece_before, ece_after, accuracy;
} CalSet;

/* The set of @protocol that calibrates: its validation split, or for an
 * on_validation protocol its held-out set (the validation images changed or
 * paired with unheard voices). Owned by the caller, not normalised. */
static MmDataset *
load_set (const MmModel *model, const char *protocol, const char *data_dir, gboolean waves,
    const char **what, GError **error)
{
  MmSplits splits = { 0 };
  MmDataset *ds;

  if (!mm_protocol_load (model->arch, protocol, &model->frontend, data_dir, NULL, TRUE, waves,
          &splits, error))
    return NULL;
  if (splits.on_validation) {
    *what = splits.validation_voices
        ? "the validation split's images with the calibration part of the unheard voices"
        : "the validation split changed as new writers'";
    ds = g_steal_pointer (&splits.heldout);
  } else {
    *what = "the validation split";
    ds = g_steal_pointer (&splits.val);
  }
  mm_splits_clear (&splits);
  return ds;
}

/* One fold model's out-of-fold predictions. */
typedef struct {
  char *path;
  char *sha256;
  MmModelSet *set;          /* the file, open */
  const MmModel *model;     /* owned by set */
  int fold;                 /* K of its new-speaker:K */
  float t;                  /* its own temperature (fitted on its validation split) */
  float *logits;            /* [n][10], raw, on its fold's held-out speakers (with views:
                             * the mean of each sample's block's and its views') */
  int *labels, n;
  double accuracy, ece_own; /* on them, at its own temperature (eval -p new-speaker's) */
} CvFold;

static void
cv_fold_clear (CvFold *f)
{
  g_free (f->path);
  g_free (f->sha256);
  mm_model_set_free (f->set);
  g_free (f->logits);
  g_free (f->labels);
  memset (f, 0, sizeof *f);
}

/* The record's fit and sets for validation sets (their union). */
static void
add_sets (JsonBuilder *b, const CalSet *sets, int n_sets)
{
  mm_json_add_string (b, "fit", "cross-entropy over the union of the sets");
  mm_json_begin_array (b, "sets");
  for (int i = 0; i < n_sets; i++) {
    json_builder_begin_object (b);
    mm_json_add_string (b, "protocol", sets[i].protocol);
    mm_json_add_string (b, "set", sets[i].what);
    mm_json_add_int (b, "samples", sets[i].ds->n);
    mm_json_add_double (b, "accuracy", sets[i].accuracy);
    mm_json_add_double (b, "ece_before", sets[i].ece_before);
    mm_json_add_double (b, "ece_after", sets[i].ece_after);
    json_builder_end_object (b);
  }
  json_builder_end_array (b);
}

/* The record's fit, sets and folds for a cross-validated calibration. */
static void
add_cross_validation (JsonBuilder *b, const CvFold *folds, int n_folds,
    const MmCrossCalibration *cc, double cv_ece_before)
{
  int n = 0;

  for (int i = 0; i < n_folds; i++)
    n += folds[i].n;
  mm_json_add_string (b, "fit", "cross-entropy over the pooled out-of-fold predictions of "
      "the fold models (cross-validated: each fold model on its own fold's unheard speakers)");
  /* "sets" as for a validation set: the pool, at the model's old and new T */
  mm_json_begin_array (b, "sets");
  json_builder_begin_object (b);
  mm_json_add_string (b, "protocol", "new-speaker");
  mm_json_add_string (b, "set", "the fold models' out-of-fold predictions, pooled");
  mm_json_add_int (b, "samples", n);
  mm_json_add_double (b, "accuracy", cc->accuracy);
  mm_json_add_double (b, "ece_before", cv_ece_before);
  mm_json_add_double (b, "ece_after", cc->ece);
  json_builder_end_object (b);
  json_builder_end_array (b);
  /* the honest figure: each fold scored at a temperature fitted without it */
  mm_json_add_double (b, "ece_left_out_pooled", cc->ece_left_out_pooled);
  mm_json_begin_array (b, "folds");
  for (int i = 0; i < n_folds; i++) {
    g_autofree char *name = g_path_get_basename (folds[i].path);

    json_builder_begin_object (b);
    mm_json_add_int (b, "fold", folds[i].fold);
    mm_json_add_string (b, "model", name);
    mm_json_add_string (b, "sha256", folds[i].sha256);
    mm_json_add_int (b, "samples", folds[i].n);
    mm_json_add_double (b, "accuracy", folds[i].accuracy);
    mm_json_add_double (b, "temperature", folds[i].t);
    mm_json_add_double (b, "ece", folds[i].ece_own);
    mm_json_add_double (b, "temperature_left_out", cc->t_left_out[i]);
    mm_json_add_double (b, "ece_left_out", cc->ece_left_out[i]);
    json_builder_end_object (b);
  }
  json_builder_end_array (b);
}

/* The record of this calibration: what was fitted on, the temperatures and
 * the sets' ECE before and after. A JSON object, newly allocated. */
static char *
record_json (const char *command, const char *in_path, const char *in_sha256, float t_before,
    float t_after, const CalSet *sets, int n_sets, const CvFold *folds, int n_folds,
    const MmCrossCalibration *cc, double cv_ece_before, const char *views)
{
  JsonBuilder *b = json_builder_new ();
  g_autofree char *date = mm_model_date ();
  g_autofree char *base = g_path_get_basename (in_path);
  char *out;

  json_builder_begin_object (b);
  mm_json_add_string (b, "date", date);
  mm_json_add_string (b, "tool", "mmdigits " VERSION);
  mm_json_add_string (b, "command", command);
  mm_json_add_string (b, "from_model", base);
  mm_json_add_string (b, "from_sha256", in_sha256);
  mm_json_add_double (b, "temperature_before", t_before);
  mm_json_add_double (b, "temperature_after", t_after);
  if (views)
    mm_json_add_string (b, "views", views);
  if (folds)
    add_cross_validation (b, folds, n_folds, cc, cv_ece_before);
  else
    add_sets (b, sets, n_sets);
  json_builder_end_object (b);
  out = mm_json_builder_to_text (b);
  g_object_unref (b);
  return out;
}

/* The model's provenance with this calibration: "temperature" and
 * "calibration" say what the file now holds, and the record joins the array
 * "recalibration" (a model calibrated twice keeps both). A model without a
 * provenance object gets one holding only these. Newly allocated. */
static char *
new_provenance (const char *old, const char *record, float t, GError **error)
{
  JsonNode *root = old ? mm_json_parse (old, -1, error) : json_node_new (JSON_NODE_OBJECT);
  JsonNode *rec;
  JsonObject *o;
  JsonArray *list;
  char *out;

  if (!root)
    return NULL;
  if (!old)
    json_node_take_object (root, json_object_new ());
  if (!JSON_NODE_HOLDS_OBJECT (root)) {
    g_set_error (error, MM_ERROR, MM_ERROR_FORMAT, "its provenance is not a JSON object");
    json_node_unref (root);
    return NULL;
  }
  o = json_node_get_object (root);
  rec = mm_json_parse (record, -1, error);
  g_assert (rec);
  json_object_set_double_member (o, "temperature", t);
  json_object_set_string_member (o, "calibration", "temperature fitted by mmdigits calibrate "
      "(cross-entropy; see recalibration)");
  if (json_object_has_member (o, "recalibration")
      && JSON_NODE_HOLDS_ARRAY (json_object_get_member (o, "recalibration")))
    list = json_array_ref (json_object_get_array_member (o, "recalibration"));
  else
    list = json_array_new ();
  json_array_add_element (list, rec);
  json_object_set_array_member (o, "recalibration", list);
  out = mm_json_node_to_text (root, FALSE);
  json_node_unref (root);
  return out;
}

/* --out is checked against the model, the fold models and the data set's
 * files: it must never replace an input. */
static gboolean
check_out (const char *out_path, const char *model_path, char **folds, const char *data_dir,
    GError **error)
{
  char **data = mm_protocol_input_files (data_dir, NULL);
  GPtrArray *inputs = g_ptr_array_new ();
  gboolean ok;

  g_ptr_array_add (inputs, (gpointer) model_path);
  for (char **f = folds; f && *f; f++)
    g_ptr_array_add (inputs, *f);
  for (char **f = data; *f; f++)
    g_ptr_array_add (inputs, *f);
  g_ptr_array_add (inputs, NULL);
  ok = mm_file_check_output ("--out", out_path, (const char *const *) inputs->pdata, error);
  g_ptr_array_unref (inputs);
  g_strfreev (data);
  return ok;
}

/* The protocols given: at least one, each known, none twice, none that
 * scores a test set. A usage error (message on stderr) otherwise. */
static gboolean
check_protocols (char **protocols)
{
  GError *error = NULL;

  for (int i = 0; protocols[i]; i++) {
    for (int j = 0; j < i; j++)
      if (!strcmp (protocols[i], protocols[j])) {
        fprintf (stderr, "mmdigits: --protocol %s given twice\n", protocols[i]);
        return FALSE;
      }
    if (!mm_protocol_can_calibrate (protocols[i], &error)) {
      fprintf (stderr, "mmdigits: %s\n", error->message);
      g_error_free (error);
      return FALSE;
    }
  }
  return TRUE;
}

/* Opens fold model @path into @f: it must be of @model's arch and front
 * end, trained on a fold (its provenance's protocol) that @seen does not
 * hold yet. Reads nothing but the file, so that every fold is checked
 * before any is scored. */
static gboolean
open_fold (const MmModel *model, const char *path, gboolean *seen, CvFold *f, GError **error)
{
  g_autofree char *protocol = NULL, *bytes = NULL, *what = NULL;
  gsize len;

  f->path = g_strdup (path);
  if (!(f->set = mm_cli_open_model (path, "calibrate", &f->model, error))
      || !g_file_get_contents (path, &bytes, &len, error))
    return FALSE;
  f->sha256 = g_compute_checksum_for_data (G_CHECKSUM_SHA256, (guchar *) bytes, len);
  protocol = mm_cli_recorded_protocol (f->model->meta);
  f->fold = protocol ? mm_protocol_fold (protocol) : 0;
  if (f->model->arch != model->arch) {
    g_set_error (error, MM_ERROR, MM_ERROR_MISMATCH, "%s: a fold model of %s, not of the "
        "model's arch %s", path, mm_arch_name (f->model->arch), mm_arch_name (model->arch));
    return FALSE;
  }
  /* the views are the calibration's: a fold model has its blocks alone */
  if (mm_arch_uses_audio (model->arch)
      && !mm_mfcc_params_equal_blocks (&f->model->frontend, &model->frontend, &what)) {
    g_set_error (error, MM_ERROR, MM_ERROR_MISMATCH, "%s: a fold model with another audio "
        "front end than the model's (%s)", path, what);
    return FALSE;
  }
  if (!f->fold) {
    g_set_error (error, MM_ERROR, MM_ERROR_MISMATCH, "%s: not trained on a new-speaker:K fold "
        "(its provenance's protocol: %s); train one with 'mmdigits train --protocol "
        "new-speaker:K'", path, protocol ? protocol : "none");
    return FALSE;
  }
  if (seen[f->fold]) {
    g_set_error (error, MM_ERROR, MM_ERROR_MISMATCH, "%s: a second fold model for fold %d",
        path, f->fold);
    return FALSE;
  }
  seen[f->fold] = TRUE;
  return TRUE;
}

/* @ds (normalised here with the model's norm, as eval scores it) as the
 * model decides with the test-time views of @fe (NULL or none: its blocks
 * alone; views made from the clips by mm_degrade_views): its accuracy and
 * ECE at the model's temperature into *@accuracy and *@ece
 * (mm_net_score_views, which also refuses non-finite inputs and outputs),
 * and its raw logits [n][10] — with views, the mean of each sample's
 * blocks' (mm_net_logits_views) — newly allocated; NULL with @error. */
static float *
views_logits (const MmModel *model, const MmMfccParams *fe, MmDataset *ds, double *accuracy,
    double *ece, GError **error)
{
  int n_views = fe ? fe->n_views : 0;
  MmDataset *sets[1 + MM_MFCC_MAX_VIEWS] = { ds };
  float *logits = NULL;
  MmScores sc;

  if (n_views > 0 && !mm_degrade_views (ds, fe, sets + 1, error))
    return NULL;
  for (int v = 0; v <= n_views; v++)
    mm_dataset_normalize (sets[v], mm_net_norm (model->net));
  if (mm_net_score_views (model->net, sets, 1 + n_views, &sc, error)) {
    *accuracy = mm_confusion_accuracy (&sc.conf);
    *ece = sc.ece;
    mm_scores_clear (&sc);
    logits = g_new (float, (size_t) MAX (ds->n, 1) * MM_N_CLASSES);
    mm_net_logits_views (model->net, sets, 1 + n_views, 256, logits);
  }
  for (int v = 1; v <= n_views; v++)
    mm_dataset_free (sets[v]);
  return logits;
}

/* Fold @f's out-of-fold predictions: its raw logits on its own fold's
 * held-out speakers (new-speaker:K's held-out set, normalised with its
 * norm, as eval -p new-speaker scores it), and its accuracy and ECE there
 * at its own temperature. */
static gboolean
score_fold (CvFold *f, const MmMfccParams *fe, const char *data_dir, GError **error)
{
  g_autofree char *protocol = g_strdup_printf ("new-speaker:%d", f->fold);
  MmSplits splits = { 0 };
  MmMfccParams views = f->model->frontend;
  gboolean ok = FALSE;

  /* the fold model's front end with the views being calibrated */
  views.n_views = fe ? fe->n_views : 0;
  if (fe)
    memcpy (views.views, fe->views, sizeof views.views);
  if (!mm_protocol_load (f->model->arch, protocol, &f->model->frontend, data_dir, NULL, FALSE,
          views.n_views > 0, &splits, error)
      || !(f->logits = views_logits (f->model, &views, splits.heldout, &f->accuracy,
              &f->ece_own, error)))
    goto out;
  f->t = mm_net_temperature (f->model->net);
  f->n = splits.heldout->n;
  f->labels = g_memdup2 (splits.heldout->labels, sizeof (int) * MAX (f->n, 1));
  ok = TRUE;
out:
  if (!ok)
    g_prefix_error (error, "%s: ", f->path);
  mm_splits_clear (&splits);
  return ok;
}

/* A temperature fit of @model_path that failed with @error: one line, the
 * exit status; a fit at its bound (MM_ERROR_UNIDENTIFIABLE) says that
 * nothing was written. */
static int
fit_failed (const char *model_path, const char *out_path, const GError *error)
{
  if (g_error_matches (error, MM_ERROR, MM_ERROR_UNIDENTIFIABLE))
    return mm_cli_fail ("%s: not calibrated, %s not written: %s", model_path, out_path,
        error->message);
  return mm_cli_fail ("%s: %s", model_path, error->message);
}

/* Writes @model (read from @model_path) with temperature @t and the
 * calibration @record to @out_path (temporary and rename: mm_model_save). */
static gboolean
save_calibrated (const MmModel *model, const char *model_path, const char *record, float t,
    const char *mfcc_json, const char *out_path, GError **error)
{
  g_autofree char *provenance = new_provenance (model->meta->provenance_json, record, t, error);
  /* the front end's text as the file had it, byte for byte, unless its
   * views changed */
  MmModelMeta meta = { .mfcc_json = mfcc_json ? (char *) mfcc_json : model->meta->mfcc_json,
    .provenance_json = provenance };

  if (!provenance) {
    g_prefix_error (error, "%s: ", model_path);
    return FALSE;
  }
  mm_net_set_temperature (model->net, t);
  return mm_model_save (model->net, &meta, out_path, error);
}

/* --protocol new-speaker: the temperature fitted on the fold models'
 * pooled out-of-fold predictions (mm_recipe_cross_calibrate), with the
 * leave-one-fold-out ECE beside it. Returns the exit status. */
static int
calibrate_on_folds (const MmModel *model, const char *model_path, const char *in_sha256,
    char **fold_paths, const MmMfccParams *fe, const char *data_dir, const char *out_path,
    const char *command, gboolean json)
{
  int n_folds = g_strv_length (fold_paths), total = 0, rc = MM_EXIT_FAILURE;
  gboolean seen[MM_PROTOCOL_FOLDS + 1] = { FALSE };
  CvFold *folds = g_new0 (CvFold, n_folds);
  MmLogitSet *sets = g_new0 (MmLogitSet, n_folds);
  MmCrossCalibration cc = { 0 };
  float t_before = mm_net_temperature (model->net);
  g_autofree char *record = NULL, *fe_json = NULL, *views = NULL;
  GError *error = NULL;

  if (fe && fe->n_views > 0)
    views = mm_mfcc_views_to_string (fe);
  if (fe && !mm_mfcc_params_equal (fe, &model->frontend, NULL))
    fe_json = mm_mfcc_params_to_json (fe);
  for (int i = 0; i < n_folds; i++)
    if (!open_fold (model, fold_paths[i], seen, &folds[i], &error)) {
      rc = mm_cli_fail ("%s", error->message);
      goto out;
    }
  for (int i = 0; i < n_folds; i++) {
    if (!score_fold (&folds[i], fe, data_dir, &error)) {
      rc = mm_cli_fail ("%s", error->message);
      goto out;
    }
    sets[i] = (MmLogitSet) { folds[i].logits, folds[i].labels, folds[i].n };
    total += folds[i].n;
  }
  if (!mm_recipe_cross_calibrate (sets, n_folds, t_before, &cc, &error)) {
    rc = fit_failed (model_path, out_path, error);
    goto out;
  }
  record = record_json (command, model_path, in_sha256, t_before, cc.t, NULL, 0, folds, n_folds,
      &cc, cc.ece_model, views);
  if (!save_calibrated (model, model_path, record, cc.t, fe_json, out_path, &error)) {
    rc = mm_cli_fail ("%s", error->message);
    goto out;
  }
  for (int i = 0; i < n_folds; i++)
    fprintf (stderr, "fold %d (%s): %d samples, accuracy %.2f%%: ECE %.2f%% at its own T %.3f, "
        "%.2f%% at T %.3f fitted on the other folds\n", folds[i].fold, folds[i].path, folds[i].n,
        100 * folds[i].accuracy, 100 * folds[i].ece_own, folds[i].t, 100 * cc.ece_left_out[i],
        cc.t_left_out[i]);
  fprintf (stderr, "out of fold, %d samples: ECE %.2f%% with each fold left out of its fit; "
      "pooled fit %.2f%% (at the model's T %.3f: %.2f%%)\n", total,
      100 * cc.ece_left_out_pooled, 100 * cc.ece, t_before, 100 * cc.ece_model);
  fprintf (stderr, "temperature %.4g → %.4g (cross-validated over %d folds); wrote %s\n",
      t_before, cc.t, n_folds, out_path);
  if (json)
    printf ("%s\n", record);
  rc = MM_EXIT_OK;
out:
  g_clear_error (&error);
  for (int i = 0; i < n_folds; i++)
    cv_fold_clear (&folds[i]);
  g_free (folds);
  g_free (sets);
  mm_cross_calibration_clear (&cc);
  return rc;
}

/* The temperature fitted on the union of the sets of @protocols (each the
 * protocol's validation set, each sample weighing once; the cross-entropy
 * fit mm_recipe_fit_temperature, as train's), of the logits the model
 * decides on with the front end @fe it is written with (NULL: an image
 * network; with test-time views, the mean of each sample's block's and its
 * views': views_logits). Returns the exit status. */
static int
calibrate_on_sets (const MmModel *model, const char *model_path, const char *in_sha256,
    char **protocols, const MmMfccParams *fe, const char *data_dir, const char *out_path,
    const char *command, gboolean json)
{
  int n_sets = g_strv_length (protocols), n_views = fe ? fe->n_views : 0;
  int total = 0, at = 0, rc = MM_EXIT_FAILURE;
  CalSet *sets = g_new0 (CalSet, n_sets);
  float **logits = g_new0 (float *, n_sets), *pooled = NULL;
  float t_before = mm_net_temperature (model->net), t_after = 0;
  double joint_before, joint_after;
  int *labels = NULL;
  g_autofree char *record = NULL, *views = NULL, *fe_json = NULL, *how = NULL;
  GError *error = NULL;

  if (n_views > 0)
    views = mm_mfcc_views_to_string (fe);
  /* the front end's text as the file had it, byte for byte, unless its
   * views change */
  if (fe && !mm_mfcc_params_equal (fe, &model->frontend, NULL))
    fe_json = mm_mfcc_params_to_json (fe);
  for (int i = 0; i < n_sets; i++) {
    sets[i].protocol = protocols[i];
    if (!(sets[i].ds = load_set (model, protocols[i], data_dir, n_views > 0, &sets[i].what,
                &error))) {
      rc = mm_cli_fail ("%s: --protocol %s: %s", model_path, protocols[i], error->message);
      goto out;
    }
    if (!(logits[i] = views_logits (model, fe, sets[i].ds, &sets[i].accuracy,
                &sets[i].ece_before, &error))) {
      rc = mm_cli_fail ("%s: %s", model_path, error->message);
      goto out;
    }
    total += sets[i].ds->n;
  }
  pooled = g_new (float, (size_t) MAX (total, 1) * MM_N_CLASSES);
  labels = g_new (int, MAX (total, 1));
  for (int i = 0; i < n_sets; at += sets[i].ds->n, i++) {
    memcpy (pooled + (size_t) at * MM_N_CLASSES, logits[i],
        sizeof (float) * MM_N_CLASSES * sets[i].ds->n);
    memcpy (labels + at, sets[i].ds->labels, sizeof (int) * sets[i].ds->n);
  }
  /* a temperature at the fit's bound is refused, not written: it is the
   * search range's, and would make the model certain of every answer */
  if (!mm_recipe_fit_temperature (pooled, labels, total, &t_after, &error)) {
    rc = fit_failed (model_path, out_path, error);
    goto out;
  }
  joint_before = mm_logits_ece (pooled, labels, total, 1.0f, NULL);
  joint_after = mm_logits_ece (pooled, labels, total, t_after, NULL);
  for (int i = 0; i < n_sets; i++)
    sets[i].ece_after = mm_logits_ece (logits[i], sets[i].ds->labels, sets[i].ds->n, t_after,
        &sets[i].accuracy);
  record = record_json (command, model_path, in_sha256, t_before, t_after, sets, n_sets, NULL, 0,
      NULL, 0, views);
  if (!save_calibrated (model, model_path, record, t_after, fe_json, out_path, &error)) {
    rc = mm_cli_fail ("%s", error->message);
    goto out;
  }
  how = views ? g_strdup_printf (" with views %s", views) : g_strdup ("");
  for (int i = 0; i < n_sets; i++)
    fprintf (stderr, "%s: %s, %d samples%s, accuracy %.2f%%: ECE %.2f%% → %.2f%%\n",
        sets[i].protocol, sets[i].what, sets[i].ds->n, how, 100 * sets[i].accuracy,
        100 * sets[i].ece_before, 100 * sets[i].ece_after);
  fprintf (stderr, "temperature %.4g → %.4g (fitted on %d samples%s; their ECE at T = 1 %.2f%%, "
      "now %.2f%%); wrote %s\n", t_before, t_after, total,
      views ? ", each the mean logits of its block and its views'" : "", 100 * joint_before,
      100 * joint_after, out_path);
  if (json)
    printf ("%s\n", record);
  rc = MM_EXIT_OK;
out:
  g_clear_error (&error);
  for (int i = 0; i < n_sets; i++) {
    mm_dataset_free (sets[i].ds);
    g_free (logits[i]);
  }
  g_free (sets);
  g_free (logits);
  g_free (pooled);
  g_free (labels);
  return rc;
}

/* --protocol new-speaker and --fold go together: new-speaker alone (the
 * folds' predictions are not a validation set to join to others), and one
 * fold model per fold, every fold, so that every speaker of the folds is
 * scored once by a model that never heard it. A usage error (message on
 * stderr) otherwise. */
static gboolean
check_folds (char **protocols, char **folds, gboolean *cv)
{
  int n = folds ? g_strv_length (folds) : 0;

  *cv = FALSE;
  for (int i = 0; protocols[i]; i++)
    if (!strcmp (protocols[i], "new-speaker"))
      *cv = TRUE;
  if (*cv && protocols[1]) {
    fprintf (stderr, "mmdigits: --protocol new-speaker fits on the fold models' predictions "
        "alone: give no other --protocol\n");
    return FALSE;
  }
  if (!*cv && n) {
    fprintf (stderr, "mmdigits: --fold is for --protocol new-speaker\n");
    return FALSE;
  }
  if (*cv && n != MM_PROTOCOL_FOLDS) {
    fprintf (stderr, "mmdigits: --protocol new-speaker needs one --fold model per fold, "
        "%d (trained with --protocol new-speaker:1 … :%d), not %d\n", MM_PROTOCOL_FOLDS,
        MM_PROTOCOL_FOLDS, n);
    return FALSE;
  }
  return TRUE;
}

int
mm_cmd_calibrate (int argc, char **argv)
{
  char *model_path = NULL, *out_path = NULL, *data_opt = NULL, *data_dir = NULL;
  char **protocols = NULL, **folds = NULL, *views = NULL;
  int threads = 0;
  gboolean json = FALSE, cv = FALSE;
  g_autofree char *command = g_strjoinv (" ", argv);
  GOptionEntry entries[] = {
    { "model", 'm', 0, G_OPTION_ARG_FILENAME, &model_path, "Model file to calibrate "
      "(.safetensors; read only)", "FILE" },
    { "protocol", 'p', 0, G_OPTION_ARG_STRING_ARRAY, &protocols, "Fit on this protocol's "
      "validation set (voices-cal: the calibration part of the unheard voices; clean, voices, "
      "...: the validation split; writers-val: the changed validation split); repeat to fit "
      "on their union; new-speaker: the --fold models' out-of-fold predictions", "NAME" },
    { "fold", 0, 0, G_OPTION_ARG_FILENAME_ARRAY, &folds, "With --protocol new-speaker: a model "
      "of the same recipe trained with --protocol new-speaker:K (the model's arch and front "
      "end); once per fold", "FILE" },
    { "out", 'o', 0, G_OPTION_ARG_FILENAME, &out_path, "New model file to write (never the "
      "input)", "FILE" },
    { "views", 0, 0, G_OPTION_ARG_STRING, &views, "Test-time views the written model decides "
      "with (its front end's; e.g. speed:0.9,speed:1.1; none: the block alone), the temperature "
      "fitted on the mean over each sample's block and its views' (default: the model's own "
      "views)", "VIEWS" },
    MM_CLI_DATA_ENTRY (data_opt),
    MM_CLI_THREADS_ENTRY (threads),
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, "Print the calibration's record (as in the "
      "provenance) on stdout", NULL },
    { NULL }
  };
  const MmCliRange ranges[] = { MM_CLI_THREADS_RANGE, { NULL } };
  GOptionContext *ctx = g_option_context_new ("- fit a model's temperature on validation sets");
  const MmModel *model = NULL;
  MmModelSet *set = NULL;
  MmMfccParams fe;
  GError *error = NULL;
  g_autofree char *in_bytes = NULL, *in_sha256 = NULL;
  gsize in_len;
  int rc = MM_EXIT_FAILURE;

  mm_cli_add_entries (ctx, entries, ranges);
  if (!mm_cli_parse (ctx, &argc, &argv)) {
    rc = MM_EXIT_USAGE;
    goto out;
  }
  if (!model_path || !out_path || !protocols || !protocols[0]) {
    fprintf (stderr, "mmdigits: calibrate needs --model, --protocol and --out (see --help)\n");
    rc = MM_EXIT_USAGE;
    goto out;
  }
  if (!check_folds (protocols, folds, &cv) || (!cv && !check_protocols (protocols))) {
    rc = MM_EXIT_USAGE;
    goto out;
  }
  mm_mfcc_params_init (&fe);
  if (views && !mm_mfcc_views_from_string (views, &fe, &error)) {
    fprintf (stderr, "mmdigits: --views: %s\n", error->message);
    rc = MM_EXIT_USAGE;
    goto out;
  }
  if (!(data_dir = mm_cli_data_dir (data_opt)))
    goto out;
  if (!check_out (out_path, model_path, folds, data_dir, &error)) {
    rc = mm_cli_fail ("%s", error->message);
    goto out;
  }
  mm_cli_set_threads (threads);
  /* the digest of the very bytes the model is loaded from, read once the
   * loader has taken the file (a regular file of a network's size: read
   * first, /dev/zero ran the machine out of memory and a FIFO blocked) */
  if (!(set = mm_cli_open_model (model_path, "calibrate", &model, &error))
      || !g_file_get_contents (model_path, &in_bytes, &in_len, &error)) {
    rc = mm_cli_fail ("%s", error->message);
    goto out;
  }
  in_sha256 = g_compute_checksum_for_data (G_CHECKSUM_SHA256, (guchar *) in_bytes, in_len);
  g_clear_pointer (&in_bytes, g_free);
  if (views && !mm_arch_uses_audio (model->arch)) {
    rc = mm_cli_fail ("%s: --views: %s hears no audio", model_path, mm_arch_name (model->arch));
    goto out;
  }
  if (mm_arch_uses_audio (model->arch)) {
    fe = model->frontend;
    if (views)
      mm_mfcc_views_from_string (views, &fe, NULL);   /* checked above */
  }
  rc = cv ? calibrate_on_folds (model, model_path, in_sha256, folds,
      mm_arch_uses_audio (model->arch) ? &fe : NULL, data_dir, out_path, command, json)
      : calibrate_on_sets (model, model_path, in_sha256, protocols,
      mm_arch_uses_audio (model->arch) ? &fe : NULL, data_dir, out_path, command, json);
out:
  g_clear_error (&error);
  mm_model_set_free (set);
  g_free (model_path);
  g_free (out_path);
  g_free (data_opt);
  g_free (data_dir);
  g_strfreev (protocols);
  g_strfreev (folds);
  g_free (views);
  g_option_context_free (ctx);
  return rc;
}
