/* mmdigits eval — accuracy, macro F1 and confusion matrix of a model file. */
#include <json-glib/json-glib.h>
#include <stdio.h>

#include "mm-cli.h"
#include "mm-modelfile.h"
#include "mm-train.h"

static void
print_confusion (const char *title, const MmConfusion *c)
{
  printf ("%s: %d samples, accuracy %.2f%%, macro F1 %.4f\n", title, c->n,
      100 * mm_confusion_accuracy (c), mm_confusion_macro_f1 (c));
  printf ("  truth\\pred");
  for (int k = 0; k < MM_N_CLASSES; k++)
    printf (" %5d", k);
  printf ("\n");
  for (int t = 0; t < MM_N_CLASSES; t++) {
    printf ("  %10d", t);
    for (int k = 0; k < MM_N_CLASSES; k++)
      printf (" %5d", c->confusion[t][k]);
    printf ("\n");
  }
}

static void
add_confusion (JsonBuilder *b, const char *name, const MmConfusion *c)
{
  json_builder_set_member_name (b, name);
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "samples");
  json_builder_add_int_value (b, c->n);
  json_builder_set_member_name (b, "accuracy");
  json_builder_add_double_value (b, mm_confusion_accuracy (c));
  json_builder_set_member_name (b, "macro_f1");
  json_builder_add_double_value (b, mm_confusion_macro_f1 (c));
  json_builder_set_member_name (b, "confusion");
  json_builder_begin_array (b);
  for (int t = 0; t < MM_N_CLASSES; t++) {
    json_builder_begin_array (b);
    for (int k = 0; k < MM_N_CLASSES; k++)
      json_builder_add_int_value (b, c->confusion[t][k]);
    json_builder_end_array (b);
  }
  json_builder_end_array (b);
  json_builder_end_object (b);
}

static void
print_json (const char *model, MmArch arch, const char *protocol, const MmConfusion *test,
    const MmConfusion *heldout)
{
  JsonBuilder *b = json_builder_new ();
  JsonGenerator *gen = json_generator_new ();
  JsonNode *root;
  char *text;

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "model");
  json_builder_add_string_value (b, model);
  json_builder_set_member_name (b, "arch");
  json_builder_add_string_value (b, mm_arch_name (arch));
  json_builder_set_member_name (b, "protocol");
  json_builder_add_string_value (b, protocol);
  add_confusion (b, "split_test", test);
  if (heldout)
    add_confusion (b, "heldout_test", heldout);
  json_builder_end_object (b);
  root = json_builder_get_root (b);
  json_generator_set_root (gen, root);
  text = json_generator_to_data (gen, NULL);
  printf ("%s\n", text);
  g_free (text);
  json_node_unref (root);
  g_object_unref (gen);
  g_object_unref (b);
}

/* The protocol recorded in the model's provenance, when it names one:
 * evaluating a new-speaker model on "clean" would count recordings of the
 * voice it trained on as held out. */
static char *
recorded_protocol (const MmModelMeta *meta)
{
  JsonParser *parser;
  JsonNode *root;
  char *name = NULL;

  if (!meta->provenance_json)
    return NULL;
  parser = json_parser_new ();
  if (json_parser_load_from_data (parser, meta->provenance_json, -1, NULL)
      && (root = json_parser_get_root (parser)) && JSON_NODE_HOLDS_OBJECT (root)) {
    const char *p = json_object_get_string_member_with_default (
        json_node_get_object (root), "protocol", NULL);
    if (p && mm_protocol_check (p, NULL))
      name = g_strdup (p);
  }
  g_object_unref (parser);
  return name;
}

/* Predicts a whole set, filling @conf and, when @tsv is non-NULL, one line
 * per sample: the sample indices are the protocol's fixed order, so files
 * from different models line up sample by sample. */
static void
predict_set (MmNet *net, const MmDataset *ds, const char *name, MmConfusion *conf, GString *tsv)
{
  int *pred = g_new (int, ds->n);
  float *probs = g_new (float, (size_t) ds->n * MM_N_CLASSES);

  mm_confusion_init (conf);
  mm_net_predict (net, ds, 256, pred, probs, conf);
  for (int i = 0; tsv && i < ds->n; i++)
    g_string_append_printf (tsv, "%s\t%d\t%d\t%d\t%.6f\n", name, i, ds->labels[i], pred[i],
        probs[(size_t) i * MM_N_CLASSES + pred[i]]);
  g_free (pred);
  g_free (probs);
}

int
mm_cmd_eval (int argc, char **argv)
{
  char *model_path = NULL, *data_opt = NULL, *data_dir = NULL, *protocol = NULL;
  char *pred_path = NULL;
  int threads = 0;
  gboolean json = FALSE;
  GOptionEntry entries[] = {
    { "model", 'm', 0, G_OPTION_ARG_FILENAME, &model_path, "Model file (.safetensors)", "FILE" },
    { "data", 'd', 0, G_OPTION_ARG_FILENAME, &data_opt, "Data directory (default $MMDIGITS_DATA or ../shared/data)", "DIR" },
    { "protocol", 'p', 0, G_OPTION_ARG_STRING, &protocol, "paper, clean or new-speaker:NAME (default: the model's, else clean)", "NAME" },
    { "threads", 't', 0, G_OPTION_ARG_INT, &threads, "Worker threads (default: $MMDIGITS_THREADS or all cores)", "N" },
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, "Print JSON instead of tables", NULL },
    { "predictions", 0, 0, G_OPTION_ARG_FILENAME, &pred_path,
      "Write every sample's prediction to FILE.tsv (set, index, label, predicted, confidence)", "FILE" },
    { NULL }
  };
  GOptionContext *ctx = g_option_context_new ("- evaluate a model");
  MmSplits splits = { 0 };
  MmModelMeta meta = { 0 };
  MmMfccParams mfcc;
  MmConfusion test, heldout;
  GString *pred_tsv = NULL;
  GError *error = NULL;
  MmNet *net = NULL;
  int rc = MM_EXIT_FAILURE;

  g_option_context_add_main_entries (ctx, entries, NULL);
  if (!mm_cli_parse (ctx, &argc, &argv)) {
    rc = MM_EXIT_USAGE;
    goto out;
  }
  if (!model_path) {
    fprintf (stderr, "mmdigits: eval needs --model (see --help)\n");
    rc = MM_EXIT_USAGE;
    goto out;
  }
  if (protocol && !mm_protocol_check (protocol, &error)) {
    fprintf (stderr, "mmdigits: %s\n", error->message);
    rc = MM_EXIT_USAGE;
    goto out;
  }
  mm_cli_set_threads (threads);
  if (!(net = mm_model_load (model_path, &meta, &error))) {
    rc = mm_cli_fail ("%s", error->message);
    goto out;
  }
  if (!protocol && !(protocol = recorded_protocol (&meta)))
    protocol = g_strdup (MM_DEFAULT_PROTOCOL);
  /* the features are made as the model was trained on them */
  mm_mfcc_params_init (&mfcc);
  if (meta.mfcc_json && !mm_mfcc_params_from_json (meta.mfcc_json, &mfcc, &error)) {
    rc = mm_cli_fail ("%s: %s", model_path, error->message);
    goto out;
  }
  if (!(data_dir = mm_cli_data_dir (data_opt)))
    goto out;
  if (!mm_protocol_load (mm_net_arch (net), protocol, &mfcc, data_dir, FALSE, &splits, &error)) {
    rc = mm_cli_fail ("%s", error->message);
    goto out;
  }
  /* the model's stored norm (training-set statistics), never recomputed */
  mm_dataset_normalize (splits.test, mm_net_norm (net));
  mm_confusion_init (&heldout);
  if (pred_path)
    pred_tsv = g_string_new ("set\tindex\tlabel\tpredicted\tconfidence\n");
  predict_set (net, splits.test, "split_test", &test, pred_tsv);
  if (splits.heldout) {
    mm_dataset_normalize (splits.heldout, mm_net_norm (net));
    predict_set (net, splits.heldout, "heldout_test", &heldout, pred_tsv);
  }
  /* g_file_set_contents writes a temporary and renames it */
  if (pred_tsv && !g_file_set_contents (pred_path, pred_tsv->str, (gssize) pred_tsv->len, &error)) {
    rc = mm_cli_fail ("%s", error->message);
    goto out;
  }
  if (json) {
    print_json (model_path, mm_net_arch (net), protocol, &test,
        splits.heldout ? &heldout : NULL);
  } else {
    printf ("%s (%s, protocol %s)\n", model_path, mm_arch_name (mm_net_arch (net)), protocol);
    print_confusion ("split test (9,000 of the 60,000 training samples, never trained on)", &test);
    if (splits.heldout)
      print_confusion ("held-out test", &heldout);
    else
      printf ("held-out test: none in protocol %s\n", protocol);
  }
  rc = MM_EXIT_OK;
out:
  g_clear_error (&error);
  mm_splits_clear (&splits);
  mm_model_meta_clear (&meta);
  mm_net_free (net);
  g_free (data_dir);
  g_free (model_path);
  g_free (data_opt);
  g_free (protocol);
  g_free (pred_path);
  if (pred_tsv)
    g_string_free (pred_tsv, TRUE);
  g_option_context_free (ctx);
  return rc;
}
