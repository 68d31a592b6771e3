/* mmdigits words — where the word detector (core/features/mm-words.h) finds words in
 * audio files: the same detector mfccextract runs on a stream and the front
 * end runs on a recording (word_cut "detector").
 *
 * One line per word ("FILE<TAB>start<TAB>end<TAB>peak dBFS<TAB>score dB"),
 * "FILE<TAB>-" for a file without one, or JSON lines with --json; --summary
 * prints only the counts (how many files gave at least one word, words in
 * all). Files are decoded (mm-media: 16 kHz mono) in parallel. */
#include <json-glib/json-glib.h>
#include <math.h>
#include <stdio.h>

#include "mm-cli.h"
#include "mm-json.h"
#include "mm-media.h"
#include "mm-words.h"

typedef struct {
  char **files;
  const MmWordsParams *params;
  double gain;                  /* linear factor applied before detection */
  GArray **spans;               /* [n] result per file, NULL on error */
  double *seconds;              /* [n] duration */
  char **errors;                /* [n] message or NULL */
  gint next;
  int n;
} Job;

static void
worker (gpointer task, gpointer user_data)
{
  Job *j = user_data;
  int i;

  (void) task;
  while ((i = g_atomic_int_add (&j->next, 1)) < j->n) {
    GError *error = NULL;
    float *x = NULL;
    size_t n = 0;

    if (mm_media_decode_audio (j->files[i], &x, &n, &error)) {
      for (size_t k = 0; k < n; k++)
        x[k] *= (float) j->gain;
      j->spans[i] = mm_words_find (j->params, x, n, &error);
      j->seconds[i] = (double) n / MM_MEDIA_SAMPLE_RATE;
    }
    if (error)
      j->errors[i] = g_strdup (error->message);
    g_clear_error (&error);
    g_free (x);
  }
}

static void
print_json (const char *file, const GArray *spans)
{
  JsonBuilder *b = json_builder_new ();

  json_builder_begin_object (b);
  mm_json_add_string (b, "file", file);
  mm_json_begin_array (b, "words");
  for (guint k = 0; k < spans->len; k++) {
    const MmWordSpan *s = &g_array_index (spans, MmWordSpan, k);
    json_builder_begin_object (b);
    mm_json_add_double (b, "start", (double) s->start / MM_MEDIA_SAMPLE_RATE);
    mm_json_add_double (b, "end", (double) s->end / MM_MEDIA_SAMPLE_RATE);
    mm_json_add_double (b, "peak_db", round (s->peak_db * 10) / 10);
    mm_json_add_double (b, "score_db", round (s->snr_db * 10) / 10);
    json_builder_end_object (b);
  }
  json_builder_end_array (b);
  json_builder_end_object (b);
  mm_cli_print_json (b);
}

static void
print_text (const char *file, const GArray *spans)
{
  if (spans->len == 0)
    printf ("%s\t-\n", file);
  for (guint k = 0; k < spans->len; k++) {
    const MmWordSpan *s = &g_array_index (spans, MmWordSpan, k);
    printf ("%s\t%.3f\t%.3f\t%.1f\t%.1f\n", file, (double) s->start / MM_MEDIA_SAMPLE_RATE,
        (double) s->end / MM_MEDIA_SAMPLE_RATE, s->peak_db, s->snr_db);
  }
}

int
mm_cmd_words (int argc, char **argv)
{
  char **files = NULL;
  gboolean json = FALSE, summary = FALSE;
  double gain_db = 0, on_db = NAN, min_range = NAN, bias = NAN, bg_margin = NAN, mask_db = NAN,
      floor_quiet = NAN, periodic_r = NAN;
  int jobs = 0, mask_gap = -1, min_periodic = -1;
  GOptionEntry entries[] = {
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, "One JSON object per file on stdout", NULL },
    { "summary", 0, 0, G_OPTION_ARG_NONE, &summary, "Print only the counts", NULL },
    { "gain", 0, 0, G_OPTION_ARG_DOUBLE, &gain_db, "Scale the audio by this many dB first (level tests)", "DB" },
    { "on-db", 0, 0, G_OPTION_ARG_DOUBLE, &on_db, "Detector: frame score that makes a frame voiced (dB)", "DB" },
    { "min-range", 0, 0, G_OPTION_ARG_DOUBLE, &min_range, "Detector: level range a word must show (dB)", "DB" },
    { "floor-bias", 0, 0, G_OPTION_ARG_DOUBLE, &bias, "Detector: noise floor above the tracked minimum (dB)", "DB" },
    { "background-margin", 0, 0, G_OPTION_ARG_DOUBLE, &bg_margin, "Detector: how far a word in a sustained background (babble) rises above its median level (dB)", "DB" },
    { "mask-gap", 0, 0, G_OPTION_ARG_INT, &mask_gap, "Detector: a quieter sound this close to a much louder word is not a word (ms, 0 = off)", "MS" },
    { "mask-db", 0, 0, G_OPTION_ARG_DOUBLE, &mask_db, "Detector: how much louder that word must be (dB)", "DB" },
    { "floor-quiet", 0, 0, G_OPTION_ARG_DOUBLE, &floor_quiet, "Detector: only frames less than this far above the quietest of the second before them set the noise floor (dB, 0 = every frame)", "DB" },
    { "min-periodic", 0, 0, G_OPTION_ARG_INT, &min_periodic, "Detector: periodic (pitched) voiced frames a word must hold (ms, 0 = no test)", "MS" },
    { "periodic-r", 0, 0, G_OPTION_ARG_DOUBLE, &periodic_r, "Detector: a frame's normalised correlation at a pitch period (80-400 Hz) that makes it periodic (0-1)", "R" },
    { "jobs", 'j', 0, G_OPTION_ARG_INT, &jobs, "Files decoded at once (default: one per processor)", "N" },
    { G_OPTION_REMAINING, 0, 0, G_OPTION_ARG_FILENAME_ARRAY, &files, NULL, "FILE…" },
    { NULL }
  };
  /* levels in dB: beyond these they are typing errors (nan was taken for
   * "not given" before the ranges) */
  const MmCliRange ranges[] = {
    { "gain", -120, 120, FALSE },
    { "on-db", 0, 60, FALSE },
    { "min-range", 0, 60, FALSE },
    { "floor-bias", 0, 60, FALSE },
    { "background-margin", 0, 60, FALSE },
    { "mask-gap", 0, 10000, FALSE },
    { "mask-db", 0, 60, FALSE },
    { "floor-quiet", 0, 120, FALSE },
    { "min-periodic", 0, 10000, FALSE },
    { "periodic-r", 0, 1, FALSE },
    { "jobs", 0, MM_CLI_MAX_JOBS, FALSE },
    { NULL }
  };
  GOptionContext *ctx = g_option_context_new ("- where the word detector finds words in audio files");
  MmWordsParams params;
  Job job = { 0 };
  GThreadPool *pool;
  GError *error = NULL;
  int rc = MM_EXIT_FAILURE, with_word = 0, words = 0, failed = 0;
  double total_s = 0;

  mm_cli_add_entries (ctx, entries, ranges);
  if (!mm_cli_parse (ctx, &argc, &argv)) {
    rc = MM_EXIT_USAGE;
    goto out;
  }
  if (!files || !files[0]) {
    fprintf (stderr, "mmdigits: words needs at least one FILE (see --help)\n");
    rc = MM_EXIT_USAGE;
    goto out;
  }
  mm_words_params_init (&params);
  params.sample_rate = MM_MEDIA_SAMPLE_RATE;
  if (!isnan (on_db))
    params.on_db = on_db;
  if (!isnan (min_range))
    params.min_range_db = min_range;
  if (!isnan (bias))
    params.floor_bias_db = bias;
  if (!isnan (bg_margin))
    params.bg_on_db = bg_margin;
  if (mask_gap >= 0)
    params.mask_gap_ms = (guint) mask_gap;
  if (!isnan (mask_db))
    params.mask_db = mask_db;
  if (!isnan (floor_quiet))
    params.floor_quiet_db = floor_quiet;
  if (min_periodic >= 0)
    params.min_periodic_ms = (guint) min_periodic;
  if (!isnan (periodic_r))
    params.periodic_r = periodic_r;
  {
    MmWords *probe = mm_words_new (&params, &error);
    if (!probe) {
      fprintf (stderr, "mmdigits: %s\n", error->message);
      rc = MM_EXIT_USAGE;
      goto out;
    }
    mm_words_free (probe);
  }

  job.files = files;
  job.n = (int) g_strv_length (files);
  job.params = &params;
  job.gain = pow (10.0, gain_db / 20.0);
  job.spans = g_new0 (GArray *, job.n);
  job.seconds = g_new0 (double, job.n);
  job.errors = g_new0 (char *, job.n);
  if (jobs == 0)
    jobs = (int) g_get_num_processors ();
  jobs = MAX (1, MIN (jobs, job.n));
  pool = g_thread_pool_new (worker, &job, jobs, TRUE, NULL);
  for (int k = 0; k < jobs; k++)
    g_thread_pool_push (pool, GINT_TO_POINTER (k + 1), NULL);
  g_thread_pool_free (pool, FALSE, TRUE);

  for (int i = 0; i < job.n; i++) {
    if (job.errors[i]) {
      fprintf (stderr, "mmdigits: %s\n", job.errors[i]);
      failed++;
      continue;
    }
    total_s += job.seconds[i];
    with_word += job.spans[i]->len > 0;
    words += (int) job.spans[i]->len;
    if (summary)
      continue;
    if (json)
      print_json (files[i], job.spans[i]);
    else
      print_text (files[i], job.spans[i]);
  }
  if (summary)
    printf ("%d files (%.1f s of audio): %d with a word (%.2f %%), %d words, %d not decoded\n",
        job.n - failed, total_s, with_word, job.n > failed ? 100.0 * with_word / (job.n - failed) : 0.0,
        words, failed);
  rc = failed ? MM_EXIT_FAILURE : MM_EXIT_OK;
  for (int i = 0; i < job.n; i++) {
    if (job.spans[i])
      g_array_free (job.spans[i], TRUE);
    g_free (job.errors[i]);
  }
  g_free (job.spans);
  g_free (job.seconds);
  g_free (job.errors);
out:
  g_clear_error (&error);
  g_strfreev (files);
  g_option_context_free (ctx);
  return rc;
}
