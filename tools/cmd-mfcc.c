/* mmdigits mfcc — the network's audio input for one file: decoded and
 * resampled by GStreamer, fitted to one second, 39×13 raw MFCC. */
#include <json-glib/json-glib.h>
#include <stdio.h>

#include "fsdd.h"
#include "mm-cli.h"
#include "mm-media.h"

static char *
mfcc_json (const char *file, const float *mfcc)
{
  JsonBuilder *b = json_builder_new ();
  JsonGenerator *gen = json_generator_new ();
  JsonNode *root;
  char *text;

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "file");
  json_builder_add_string_value (b, file);
  json_builder_set_member_name (b, "frames");
  json_builder_add_int_value (b, MM_MFCC_FRAMES);
  json_builder_set_member_name (b, "coefficients");
  json_builder_add_int_value (b, MM_MFCC_COEFFS);
  json_builder_set_member_name (b, "mfcc");
  json_builder_begin_array (b);
  for (int t = 0; t < MM_MFCC_FRAMES; t++) {
    json_builder_begin_array (b);
    for (int k = 0; k < MM_MFCC_COEFFS; k++)
      json_builder_add_double_value (b, mfcc[t * MM_MFCC_COEFFS + k]);
    json_builder_end_array (b);
  }
  json_builder_end_array (b);
  json_builder_end_object (b);
  root = json_builder_get_root (b);
  json_generator_set_root (gen, root);
  text = json_generator_to_data (gen, NULL);
  json_node_unref (root);
  g_object_unref (gen);
  g_object_unref (b);
  return text;
}

/* Raw float32 little-endian, time-major, written to a temporary file and
 * renamed: a failure never leaves a partial block behind. */
static gboolean
write_f32 (const char *path, const float *mfcc, GError **error)
{
  guint32 le[MM_AUDIO_VALUES];

  for (int i = 0; i < MM_AUDIO_VALUES; i++) {
    union { float f; guint32 u; } v = { .f = mfcc[i] };
    le[i] = GUINT32_TO_LE (v.u);
  }
  if (!g_file_set_contents_full (path, (const char *) le, sizeof le,
          G_FILE_SET_CONTENTS_CONSISTENT, 0644, error)) {
    g_prefix_error (error, "%s: could not write: ", path);
    return FALSE;
  }
  return TRUE;
}

static gboolean
compute (const char *file, int nfft, float *mfcc, GError **error)
{
  MmMfccParams params;
  MmMfcc *m;
  float *clip = NULL;
  gboolean ok;

  mm_mfcc_params_init (&params);
  params.nfft = nfft;
  if (!(m = mm_mfcc_new (&params, error)))
    return FALSE;
  ok = mm_fsdd_load_clip (file, &clip, error)
      && mm_mfcc_compute (m, clip, MM_MEDIA_SAMPLE_RATE, mfcc, error);
  g_free (clip);
  mm_mfcc_free (m);
  return ok;
}

int
mm_cmd_mfcc (int argc, char **argv)
{
  char *out_path = NULL, **files = NULL;
  int nfft = 1024;
  gboolean json = FALSE;
  GOptionEntry entries[] = {
    { "out", 'o', 0, G_OPTION_ARG_FILENAME, &out_path, "Write the raw 39×13 float32 LE block (time-major)", "FILE.f32" },
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, "Print the block as JSON on stdout", NULL },
    { "nfft", 0, 0, G_OPTION_ARG_INT, &nfft, "FFT size: 1024 (default) or 512 (the study's)", "N" },
    { G_OPTION_REMAINING, 0, 0, G_OPTION_ARG_FILENAME_ARRAY, &files, NULL, "FILE" },
    { NULL }
  };
  GOptionContext *ctx = g_option_context_new ("- the 39×13 MFCC block of an audio file");
  float mfcc[MM_AUDIO_VALUES];
  GError *error = NULL;
  int rc = MM_EXIT_FAILURE;

  g_option_context_add_main_entries (ctx, entries, NULL);
  if (!mm_cli_parse (ctx, &argc, &argv)) {
    rc = MM_EXIT_USAGE;
    goto out;
  }
  if (!files || !files[0] || files[1] || (!out_path && !json)) {
    fprintf (stderr, "mmdigits: mfcc needs one FILE and --out or --json (see --help)\n");
    rc = MM_EXIT_USAGE;
    goto out;
  }
  if (nfft != 1024 && nfft != 512) {
    fprintf (stderr, "mmdigits: --nfft must be 1024 or 512\n");
    rc = MM_EXIT_USAGE;
    goto out;
  }
  if (!compute (files[0], nfft, mfcc, &error)
      || (out_path && !write_f32 (out_path, mfcc, &error))) {
    rc = mm_cli_fail ("%s", error->message);
    goto out;
  }
  if (json) {
    char *text = mfcc_json (files[0], mfcc);
    printf ("%s\n", text);
    g_free (text);
  }
  rc = MM_EXIT_OK;
out:
  g_clear_error (&error);
  g_strfreev (files);
  g_free (out_path);
  g_option_context_free (ctx);
  return rc;
}
