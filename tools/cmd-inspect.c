/* mmdigits inspect — what a model file holds: arch, the role it serves in
 * a model set, tensors, input normalisation and metadata, after the
 * loader's full validation. A directory is opened as a model set
 * (mm-modelset.h): the networks that serve a role, in role order. */
#include <json-glib/json-glib.h>
#include <stdio.h>

#include "mm-cli.h"
#include "mm-modelset.h"

static void
print_text (const char *path, MmNet *net, const MmModelMeta *meta, gboolean tensors)
{
  const MmNorm *norm = mm_net_norm (net);
  MmArch arch = mm_net_arch (net);

  printf ("%s\n  arch        %s\n  role        %s\n  parameters  %zu in %d tensors\n", path,
      mm_arch_name (arch), mm_role_modality (mm_role_of_arch (arch)), mm_net_n_params (net),
      mm_net_n_tensors (net));
  if (mm_arch_uses_image (arch))
    printf ("  image norm  (x − %g) / %g\n", norm->image_mean, norm->image_std);
  if (mm_arch_uses_audio (arch)) {
    printf ("  mfcc mean  ");
    for (int k = 0; k < MM_MFCC_COEFFS; k++)
      printf (" %.3g", norm->mfcc_mean[k]);
    printf ("\n  mfcc std   ");
    for (int k = 0; k < MM_MFCC_COEFFS; k++)
      printf (" %.3g", norm->mfcc_std[k]);
    printf ("\n");
  }
  if (meta->mfcc_json)
    printf ("  mfcc        %s\n", meta->mfcc_json);
  if (meta->provenance_json)
    printf ("  provenance  %s\n", meta->provenance_json);
  if (!tensors)
    return;
  for (int i = 0; i < mm_net_n_tensors (net); i++) {
    const MmTensorInfo *t = mm_net_tensor (net, i);
    GString *shape = g_string_new ("[");
    for (int d = 0; d < t->ndim; d++)
      g_string_append_printf (shape, "%s%d", d ? ", " : "", t->shape[d]);
    g_string_append (shape, "]");
    printf ("  %-32s %-18s %s\n", t->name, shape->str, t->grad ? "" : "(buffer)");
    g_string_free (shape, TRUE);
  }
}

static void
add_raw_json (JsonBuilder *b, const char *name, const char *json)
{
  JsonParser *p = json_parser_new ();
  json_builder_set_member_name (b, name);
  if (json && json_parser_load_from_data (p, json, -1, NULL))
    json_builder_add_value (b, json_node_copy (json_parser_get_root (p)));
  else
    json_builder_add_null_value (b);
  g_object_unref (p);
}

static void
print_json (const char *path, MmNet *net, const MmModelMeta *meta)
{
  JsonBuilder *b = json_builder_new ();
  JsonGenerator *gen = json_generator_new ();
  const MmNorm *norm = mm_net_norm (net);
  JsonNode *root;
  char *text;

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "file");
  json_builder_add_string_value (b, path);
  json_builder_set_member_name (b, "arch");
  json_builder_add_string_value (b, mm_arch_name (mm_net_arch (net)));
  json_builder_set_member_name (b, "role");
  json_builder_add_string_value (b, mm_role_modality (mm_role_of_arch (mm_net_arch (net))));
  json_builder_set_member_name (b, "parameters");
  json_builder_add_int_value (b, (gint64) mm_net_n_params (net));
  json_builder_set_member_name (b, "image_mean");
  json_builder_add_double_value (b, norm->image_mean);
  json_builder_set_member_name (b, "image_std");
  json_builder_add_double_value (b, norm->image_std);
  json_builder_set_member_name (b, "tensors");
  json_builder_begin_object (b);
  for (int i = 0; i < mm_net_n_tensors (net); i++) {
    const MmTensorInfo *t = mm_net_tensor (net, i);
    json_builder_set_member_name (b, t->name);
    json_builder_begin_array (b);
    for (int d = 0; d < t->ndim; d++)
      json_builder_add_int_value (b, t->shape[d]);
    json_builder_end_array (b);
  }
  json_builder_end_object (b);
  add_raw_json (b, "mfcc", meta->mfcc_json);
  add_raw_json (b, "provenance", meta->provenance_json);
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

int
mm_cmd_inspect (int argc, char **argv)
{
  gboolean json = FALSE, tensors = FALSE;
  GOptionEntry entries[] = {
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, "Print one JSON object per file", NULL },
    { "tensors", 0, 0, G_OPTION_ARG_NONE, &tensors, "List every tensor with its shape", NULL },
    { NULL }
  };
  GOptionContext *ctx = g_option_context_new ("MODEL.safetensors|DIR... - describe model files, or the networks of a model directory");
  int rc = MM_EXIT_OK;

  mm_cli_add_entries (ctx, entries, NULL);
  if (!mm_cli_parse (ctx, &argc, &argv)) {
    g_option_context_free (ctx);
    return MM_EXIT_USAGE;
  }
  g_option_context_free (ctx);
  if (argc < 2) {
    fprintf (stderr, "mmdigits: inspect needs at least one model file or directory (see --help)\n");
    return MM_EXIT_USAGE;
  }
  for (int i = 1; i < argc; i++) {
    GError *error = NULL;
    MmModelSet *set = mm_model_set_open (argv[i], &error);

    if (!set) {
      rc = mm_cli_fail ("%s", error->message);
      g_error_free (error);
      continue;
    }
    /* a directory's files that do not load: one line each, exit status 1 */
    for (const char *const *note = mm_model_set_skipped (set); *note; note++)
      rc = mm_cli_fail ("%s", *note);
    for (int r = 0; r < MM_N_ROLES; r++) {
      const MmModel *m = mm_model_set_get (set, (MmRole) r);

      if (!m)
        continue;
      if (json)
        print_json (m->file, m->net, m->meta);
      else
        print_text (m->file, m->net, m->meta, tensors);
    }
    if (!json)
      for (const char *const *note = mm_model_set_unused (set); *note; note++)
        printf ("%s\n", *note);
    mm_model_set_free (set);
  }
  return rc;
}
