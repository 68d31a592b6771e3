/* mmdigits calibrate — fit a trained model's calibration temperature anew on
 * named validation sets and write it as a new model file.
 *
 * `train` fits the temperature on its own validation split, whose voices the
 * network trained on; it cannot know how over-confident the network is on
 * voices it never heard. This command fits it (mm_recipe_calibrate: the one
 * fit, cross-entropy over the union of the sets) on the sets of one or more
 * --protocol, each the protocol's validation split or, for "voices-cal" and
 * "writers-val", the validation images paired with unheard voices / changed;
 * a protocol that scores a test set is refused. Weights, norm and front end
 * are copied unchanged; the provenance records the sets and both
 * temperatures. */
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
load_set (const MmModel *model, const char *protocol, const char *data_dir, const char **what,
    GError **error)
{
  MmSplits splits = { 0 };
  MmDataset *ds;

  if (!mm_protocol_load (model->arch, protocol, &model->frontend, data_dir, NULL, TRUE, FALSE,
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

/* ECE (MM_ECE_BINS) and accuracy of @ds at the net's temperature. */
static gboolean
score (MmNet *net, const MmDataset *ds, double *ece, double *accuracy, GError **error)
{
  MmScores sc;

  if (!mm_net_score (net, ds, &sc, error))
    return FALSE;
  *ece = sc.ece;
  *accuracy = mm_confusion_accuracy (&sc.conf);
  mm_scores_clear (&sc);
  return TRUE;
}

/* The record of this calibration: what was fitted on, the temperatures and
 * the sets' ECE before and after. A JSON object, newly allocated. */
static char *
record_json (const char *command, const char *in_path, const char *in_sha256, float t_before,
    float t_after, const CalSet *sets, int n_sets)
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

/* --out is checked against the model and the data set's files: it must
 * never replace an input. */
static gboolean
check_out (const char *out_path, const char *model_path, const char *data_dir, GError **error)
{
  char **data = mm_protocol_input_files (data_dir, NULL);
  GPtrArray *inputs = g_ptr_array_new ();
  gboolean ok;

  g_ptr_array_add (inputs, (gpointer) model_path);
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

/* Loads the sets of @protocols into @sets, normalised with the model's norm
 * (as eval scores them), and scores each at the model's temperature. */
static gboolean
load_sets (const MmModel *model, char **protocols, const char *data_dir, CalSet *sets,
    GError **error)
{
  for (int i = 0; protocols[i]; i++) {
    sets[i].protocol = protocols[i];
    if (!(sets[i].ds = load_set (model, protocols[i], data_dir, &sets[i].what, error))) {
      g_prefix_error (error, "--protocol %s: ", protocols[i]);
      return FALSE;
    }
    mm_dataset_normalize (sets[i].ds, mm_net_norm (model->net));
    if (!score (model->net, sets[i].ds, &sets[i].ece_before, &sets[i].accuracy, error))
      return FALSE;
  }
  return TRUE;
}

/* The union of the @n (at least two) sets, in order: what the temperature
 * is fitted on, so that each set weighs by its samples. Newly allocated.
 * One set is fitted on as it is, without a copy. */
static MmDataset *
union_of (const CalSet *sets, int n)
{
  MmDataset *all = mm_dataset_concat (sets[0].ds, sets[1].ds);

  for (int i = 2; i < n; i++) {
    MmDataset *joined = mm_dataset_concat (all, sets[i].ds);
    mm_dataset_free (all);
    all = joined;
  }
  return all;
}

int
mm_cmd_calibrate (int argc, char **argv)
{
  char *model_path = NULL, *out_path = NULL, *data_opt = NULL, *data_dir = NULL;
  char **protocols = NULL;
  int threads = 0, n_sets = 0;
  gboolean json = FALSE;
  g_autofree char *command = g_strjoinv (" ", argv);
  GOptionEntry entries[] = {
    { "model", 'm', 0, G_OPTION_ARG_FILENAME, &model_path, "Model file to calibrate "
      "(.safetensors; read only)", "FILE" },
    { "protocol", 'p', 0, G_OPTION_ARG_STRING_ARRAY, &protocols, "Fit on this protocol's "
      "validation set (voices-cal: the calibration part of the unheard voices; clean, voices, "
      "...: the validation split; writers-val: the changed validation split); repeat to fit "
      "on their union", "NAME" },
    { "out", 'o', 0, G_OPTION_ARG_FILENAME, &out_path, "New model file to write (never the "
      "input)", "FILE" },
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
  CalSet *sets = NULL;
  MmDataset *all = NULL;            /* the union, when more than one set */
  const MmDataset *fit_on;
  GError *error = NULL;
  g_autofree char *in_bytes = NULL, *in_sha256 = NULL, *record = NULL, *provenance = NULL;
  gsize in_len;
  float t_before, t_after;
  double joint_before, joint_after;
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
  if (!check_protocols (protocols)) {
    rc = MM_EXIT_USAGE;
    goto out;
  }
  if (!(data_dir = mm_cli_data_dir (data_opt)))
    goto out;
  if (!check_out (out_path, model_path, data_dir, &error)) {
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
  t_before = mm_net_temperature (model->net);
  n_sets = g_strv_length (protocols);
  sets = g_new0 (CalSet, n_sets);
  if (!load_sets (model, protocols, data_dir, sets, &error)) {
    rc = mm_cli_fail ("%s: %s", model_path, error->message);
    goto out;
  }
  if (n_sets > 1)
    all = union_of (sets, n_sets);
  fit_on = all ? all : sets[0].ds;
  /* a temperature at the fit's bound is refused, not written: it is the
   * search range's, and would make the model certain of every answer */
  if (!mm_recipe_calibrate (model->net, fit_on, &t_after, &joint_before, &joint_after,
          &error)) {
    if (g_error_matches (error, MM_ERROR, MM_ERROR_UNIDENTIFIABLE))
      rc = mm_cli_fail ("%s: not calibrated, %s not written: %s", model_path, out_path,
          error->message);
    else
      rc = mm_cli_fail ("%s: %s", model_path, error->message);
    goto out;
  }
  for (int i = 0; i < n_sets; i++)
    if (!score (model->net, sets[i].ds, &sets[i].ece_after, &sets[i].accuracy, &error)) {
      rc = mm_cli_fail ("%s: %s", model_path, error->message);
      goto out;
    }
  record = record_json (command, model_path, in_sha256, t_before, t_after, sets, n_sets);
  if (!(provenance = new_provenance (model->meta->provenance_json, record, t_after, &error))) {
    rc = mm_cli_fail ("%s: %s", model_path, error->message);
    goto out;
  }
  {
    /* the front end's text as the file had it, byte for byte */
    MmModelMeta meta = { .mfcc_json = model->meta->mfcc_json, .provenance_json = provenance };
    if (!mm_model_save (model->net, &meta, out_path, &error)) {
      rc = mm_cli_fail ("%s", error->message);
      goto out;
    }
  }
  for (int i = 0; i < n_sets; i++)
    fprintf (stderr, "%s: %s, %d samples, accuracy %.2f%%: ECE %.2f%% → %.2f%%\n",
        sets[i].protocol, sets[i].what, sets[i].ds->n, 100 * sets[i].accuracy,
        100 * sets[i].ece_before, 100 * sets[i].ece_after);
  fprintf (stderr, "temperature %.4g → %.4g (fitted on %d samples; their ECE at T = 1 %.2f%%, "
      "now %.2f%%); wrote %s\n", t_before, t_after, fit_on->n, 100 * joint_before,
      100 * joint_after, out_path);
  if (json)
    printf ("%s\n", record);
  rc = MM_EXIT_OK;
out:
  g_clear_error (&error);
  for (int i = 0; sets && i < n_sets; i++)
    mm_dataset_free (sets[i].ds);
  g_free (sets);
  if (all)
    mm_dataset_free (all);
  mm_model_set_free (set);
  g_free (model_path);
  g_free (out_path);
  g_free (data_opt);
  g_free (data_dir);
  g_strfreev (protocols);
  g_option_context_free (ctx);
  return rc;
}
