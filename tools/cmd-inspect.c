/* mmdigits inspect — what a model file holds: arch, the role it serves in
 * a model set, tensors, input normalisation and metadata, after the
 * loader's full validation. A directory is opened as a model set
 * (mm-modelset.h): the networks that serve a role, in role order. */
#include <json-glib/json-glib.h>
#include <stdio.h>

#include "mm-cli.h"
#include "mm-json.h"
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

/* Member @name holding @json as JSON, or null when there is none or it does
 * not parse. */
static void
add_raw_json (JsonBuilder *b, const char *name, const char *json)
{
  if (mm_json_add_text (b, name, json))
    return;
  json_builder_set_member_name (b, name);
  json_builder_add_null_value (b);
}

/* @partner: the audio network averaged with this one in its set, or NULL;
 * @below: for its hybrid, the set's pair rule (0: none). */
static void
print_json (const char *path, MmNet *net, const MmModelMeta *meta, const MmModel *partner,
    double below)
{
  JsonBuilder *b = json_builder_new ();
  const MmNorm *norm = mm_net_norm (net);

  json_builder_begin_object (b);
  mm_json_add_string (b, "file", path);
  mm_json_add_string (b, "arch", mm_arch_name (mm_net_arch (net)));
  mm_json_add_string (b, "role", mm_role_modality (mm_role_of_arch (mm_net_arch (net))));
  if (partner) {
    mm_json_begin_object (b, "averaged_with");
    mm_json_add_string (b, "file", partner->file);
    mm_json_add_string (b, "arch", mm_arch_name (partner->arch));
    json_builder_end_object (b);
  }
  if (below > 0)
    mm_json_add_double (b, "image_decides_below", below);
  mm_json_add_int (b, "parameters", (gint64) mm_net_n_params (net));
  mm_json_add_double (b, "image_mean", norm->image_mean);
  mm_json_add_double (b, "image_std", norm->image_std);
  mm_json_begin_object (b, "tensors");
  for (int i = 0; i < mm_net_n_tensors (net); i++) {
    const MmTensorInfo *t = mm_net_tensor (net, i);
    mm_json_begin_array (b, t->name);
    for (int d = 0; d < t->ndim; d++)
      json_builder_add_int_value (b, t->shape[d]);
    json_builder_end_array (b);
  }
  json_builder_end_object (b);
  add_raw_json (b, "mfcc", meta->mfcc_json);
  add_raw_json (b, "provenance", meta->provenance_json);
  json_builder_end_object (b);
  mm_cli_print_json (b);
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
    const MmModel *partner;

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
        print_json (m->file, m->net, m->meta, mm_model_set_partner (set, (MmRole) r),
            r == MM_ROLE_HYBRID ? mm_model_set_image_decides_below (set) : 0);
      else
        print_text (m->file, m->net, m->meta, tensors);
    }
    /* the partner is in its holder's JSON object ("averaged_with") */
    partner = mm_model_set_partner (set, MM_ROLE_AUDIO);
    if (partner && !json) {
      const MmModel *a = mm_model_set_get (set, MM_ROLE_AUDIO);

      print_text (partner->file, partner->net, partner->meta, tensors);
      printf ("model file %s (%s) averaged with %s (%s) for MFCC blocks alone\n",
          partner->file, mm_arch_name (partner->arch), a->file, mm_arch_name (a->arch));
    }
    if (!json && mm_model_set_image_decides_below (set) > 0)
      printf ("pairs %s is less than %g sure of are decided by %s alone\n",
          mm_model_set_get (set, MM_ROLE_HYBRID)->file, mm_model_set_image_decides_below (set),
          mm_model_set_get (set, MM_ROLE_IMAGE)->file);
    if (!json)
      for (const char *const *note = mm_model_set_unused (set); *note; note++)
        printf ("%s\n", *note);
    mm_model_set_free (set);
  }
  return rc;
}
