/* mmdigits mfcc — the network's audio input for one file: decoded and
 * resampled by GStreamer, then the core's front end (mm_frontend_block:
 * DC removal, word cut, centring in one second, MFCC, CMVN) with the
 * defaults, a model's contract (--model) or the options given. */
#include <json-glib/json-glib.h>
#include <stdio.h>

#include "fsdd.h"
#include "mm-cli.h"
#include "mm-file.h"
#include "mm-json.h"
#include "mm-media.h"

/* The block and what made it, one JSON object on stdout. */
static void
print_json (const char *file, const MmMfccParams *p, const MmWordSpan *span, const float *mfcc)
{
  JsonBuilder *b = json_builder_new ();

  json_builder_begin_object (b);
  mm_json_add_string (b, "file", file);
  {
    char *fe = mm_mfcc_params_to_json (p);

    mm_json_add_text (b, "frontend", fe);
    g_free (fe);
  }
  /* the part of the decoded recording that became the word */
  mm_json_add_double (b, "word_start", (double) span->start / MM_MEDIA_SAMPLE_RATE);
  mm_json_add_double (b, "word_end", (double) span->end / MM_MEDIA_SAMPLE_RATE);
  mm_json_add_int (b, "frames", MM_MFCC_FRAMES);
  mm_json_add_int (b, "coefficients", MM_MFCC_COEFFS);
  mm_json_begin_array (b, "mfcc");
  for (int t = 0; t < MM_MFCC_FRAMES; t++) {
    json_builder_begin_array (b);
    for (int k = 0; k < MM_MFCC_COEFFS; k++)
      json_builder_add_double_value (b, mfcc[t * MM_MFCC_COEFFS + k]);
    json_builder_end_array (b);
  }
  json_builder_end_array (b);
  json_builder_end_object (b);
  mm_cli_print_json (b);
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
compute (const char *file, const MmMfccParams *params, float *mfcc, MmWordSpan *span,
    GError **error)
{
  MmMfcc *m = mm_mfcc_new (params, error);
  gboolean ok;

  if (!m)
    return FALSE;
  ok = mm_recording_block (m, file, mfcc, span, error);
  mm_mfcc_free (m);
  return ok;
}

int
mm_cmd_mfcc (int argc, char **argv)
{
  char *out_path = NULL, **files = NULL;
  gboolean json = FALSE, usage;
  MmCliFrontend *fe = mm_cli_frontend_new ();
  MmMfccParams params;
  MmWordSpan span;
  GOptionEntry entries[] = {
    { "out", 'o', 0, G_OPTION_ARG_FILENAME, &out_path, "Write the raw 39×13 float32 LE block (time-major)", "FILE.f32" },
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, "Print the block as JSON on stdout", NULL },
    { G_OPTION_REMAINING, 0, 0, G_OPTION_ARG_FILENAME_ARRAY, &files, NULL, "FILE" },
    { NULL }
  };
  GOptionContext *ctx = g_option_context_new ("- the 39×13 MFCC block of an audio file");
  float mfcc[MM_AUDIO_VALUES];
  GError *error = NULL;
  int rc = MM_EXIT_FAILURE;

  mm_cli_add_entries (ctx, entries, NULL);
  g_option_context_add_group (ctx, mm_cli_frontend_group (fe, TRUE));
  if (!mm_cli_parse (ctx, &argc, &argv)) {
    rc = MM_EXIT_USAGE;
    goto out;
  }
  if (!files || !files[0] || files[1] || (!out_path && !json)) {
    fprintf (stderr, "mmdigits: mfcc needs one FILE and --out or --json (see --help)\n");
    rc = MM_EXIT_USAGE;
    goto out;
  }
  if (!mm_cli_frontend_params (fe, &params, &usage, &error)) {
    fprintf (stderr, "mmdigits: %s\n", error->message);
    rc = usage ? MM_EXIT_USAGE : MM_EXIT_FAILURE;
    goto out;
  }
  /* an --out that cannot be written, or that is an input, fails first */
  if (out_path) {
    const char *inputs[] = { files[0], mm_cli_frontend_model (fe), NULL };

    if (!mm_file_check_output ("--out", out_path, inputs, &error)) {
      rc = mm_cli_fail ("%s", error->message);
      goto out;
    }
  }
  if (!compute (files[0], &params, mfcc, &span, &error)
      || (out_path && !write_f32 (out_path, mfcc, &error))) {
    rc = mm_cli_fail ("%s", error->message);
    goto out;
  }
  if (json)
    print_json (files[0], &params, &span, mfcc);
  rc = MM_EXIT_OK;
out:
  g_clear_error (&error);
  g_strfreev (files);
  g_free (out_path);
  mm_cli_frontend_free (fe);
  g_option_context_free (ctx);
  return rc;
}
