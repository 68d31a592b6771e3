/* mmdigits batch — the demo's pipeline over many media files, several at a
 * time, into one JSON-lines file.
 *
 * Each file gets its own pipeline, run by a GThreadPool worker:
 *
 *   filesrc ! decodebin ─ queue ! videoconvert ! GRAY8 ! digitimage ─┐
 *                       └ queue ! audioconvert ! audioresample ! 16 kHz mono F32 ! mfccextract ─┴ mmclassify ! appsink
 *
 * with the branches of the streams the file has, shaped as pipelines/demo.sh
 * shapes them from the networks the models hold: with a hybrid network one
 * mmclassify fuses both (fallback only if the image and audio networks are
 * there too); without one, one mmclassify per modality whose decisions are
 * merged in time order; a stream no network can classify is discarded. A
 * still image (a video stream with framerate 0/1, as image decoders give)
 * goes through imagefreeze num-buffers=1 and digitimage stable-frames=1.
 *
 * Output is deterministic whatever the scheduling: the main thread writes
 * each file's lines (in decision-time order) in the order of the arguments,
 * into a temporary file beside --out that is renamed at the end, so --out
 * appears complete or not at all. */
#include "mm-config.h"

#include <cblas.h>
#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <gst/gst.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mm-cli.h"
#include "mm-error.h"
#include "mm-layers.h"

typedef struct {
  char *model;
  MmCliNets nets;
  GAsyncQueue *done;            /* Result */
  char **files;                 /* the files to run, in output order */
} Batch;

typedef struct {
  guint index;
  char *error;                  /* NULL on success */
  GPtrArray *lines;             /* char *, owned */
} Result;

/* One file's pipeline; the lock serialises decodebin's pad-added calls. */
typedef struct {
  const Batch *b;
  GstElement *pipeline;
  MmCliLines *lines;
  GMutex lock;
  gboolean saw_video, saw_audio;
  /* the streams kept, linked at no-more-pads (owned refs) */
  GstPad *video, *audio;
  gboolean still;
  gboolean linked_video, linked_audio;
  gboolean built;               /* no-more-pads came: later streams are discarded */
  GPtrArray *added;             /* elements made at no-more-pads, in order (borrowed) */
} FileRun;

#define VIDEO_BRANCH "queue ! videoconvert ! video/x-raw,format=GRAY8 ! digitimage"
#define STILL_BRANCH "queue ! videoconvert ! video/x-raw,format=GRAY8 " \
  "! imagefreeze num-buffers=1 ! digitimage stable-frames=1"
#define AUDIO_BRANCH "queue ! audioconvert ! audioresample " \
  "! audio/x-raw,rate=16000,channels=1,format=F32LE ! mfccextract"

/* Temporary output, removed if a signal ends the process. */
static char tmp_path[4096];

static void
on_signal (int sig)
{
  if (tmp_path[0])
    unlink (tmp_path);
  signal (sig, SIG_DFL);
  raise (sig);
}

/* ---- one file ----------------------------------------------------------- */

static GstElement *
make (const char *factory)
{
  return gst_element_factory_make (factory, NULL);
}

/* A new mmclassify feeding a new appsink whose lines go to @run as @source. */
static GstElement *
add_classifier (FileRun *run, int source, gboolean fallback)
{
  GstElement *mm = make ("mmclassify"), *sink = make ("appsink");

  g_object_set (mm, "model", run->b->model, "fallback", fallback, NULL);
  mm_cli_lines_attach (run->lines, sink, source);
  gst_bin_add_many (GST_BIN (run->pipeline), mm, sink, NULL);
  gst_element_link (mm, sink);
  g_ptr_array_add (run->added, sink);
  g_ptr_array_add (run->added, mm);
  return mm;
}

static void
discard (FileRun *run, GstPad *pad)
{
  GstElement *sink = make ("fakesink");
  GstPad *sinkpad = gst_element_get_static_pad (sink, "sink");

  g_object_set (sink, "sync", FALSE, NULL);
  gst_bin_add (GST_BIN (run->pipeline), sink);
  gst_pad_link (pad, sinkpad);
  gst_object_unref (sinkpad);
  gst_element_sync_state_with_parent (sink);
}

static gboolean
caps_is_still (const GstStructure *s)
{
  int n = 0, d = 1;

  return gst_structure_get_fraction (s, "framerate", &n, &d) && n == 0;
}

/* decodebin exposes a stream: keep the first video and the first audio
 * stream that a network can classify (mmclassify has one pad of each;
 * without a hybrid network a modality needs its own), discard the rest. */
static void
on_pad_added (GstElement *decodebin, GstPad *pad, gpointer user_data)
{
  FileRun *run = user_data;
  const MmCliNets *nets = &run->b->nets;
  GstCaps *caps = gst_pad_get_current_caps (pad);
  const GstStructure *st;
  gboolean video, audio;

  if (!caps)
    caps = gst_pad_query_caps (pad, NULL);
  st = gst_caps_get_size (caps) ? gst_caps_get_structure (caps, 0) : NULL;
  video = st && g_str_has_prefix (gst_structure_get_name (st), "video/");
  audio = st && g_str_has_prefix (gst_structure_get_name (st), "audio/");

  g_mutex_lock (&run->lock);
  run->saw_video |= video;
  run->saw_audio |= audio;
  if (run->built) {
    discard (run, pad);         /* a chained stream's next group */
  } else if (video && !run->video && (nets->hybrid || nets->image)) {
    run->video = gst_object_ref (pad);
    run->still = caps_is_still (st);
  } else if (audio && !run->audio && (nets->hybrid || nets->audio)) {
    run->audio = gst_object_ref (pad);
  } else {
    discard (run, pad);
  }
  g_mutex_unlock (&run->lock);
  gst_caps_unref (caps);
}

/* Links decodebin's @pad through a new @branch into @mm's @pad_name. */
static void
link_branch (FileRun *run, GstPad *pad, const char *branch_desc, GstElement *mm,
    const char *pad_name)
{
  GstElement *branch = gst_parse_bin_from_description (branch_desc, TRUE, NULL);
  GstPad *in = gst_element_get_static_pad (branch, "sink");
  GstPad *out = gst_element_get_static_pad (branch, "src");
  GstPad *mmpad = gst_element_request_pad_simple (mm, pad_name);

  gst_bin_add (GST_BIN (run->pipeline), branch);
  g_ptr_array_add (run->added, branch);
  gst_pad_link (out, mmpad);
  gst_pad_link (pad, in);
  gst_object_unref (mmpad);
  gst_object_unref (out);
  gst_object_unref (in);
}

/* All streams are known: build the branches. A classifier's pads are all
 * requested before it loads its models (NULL→READY), so that it checks the
 * models against the pads it really has (a hybrid network alone serves a
 * pair of pads, not a lone one). A classifier whose models cannot serve its
 * pads posts an ERROR, which ends the run. */
static void
on_no_more_pads (GstElement *decodebin, gpointer user_data)
{
  FileRun *run = user_data;
  const MmCliNets *nets = &run->b->nets;
  const char *video_desc = run->still ? STILL_BRANCH : VIDEO_BRANCH;
  GstElement *mm;

  g_mutex_lock (&run->lock);
  if (nets->hybrid && (run->video || run->audio)) {
    mm = add_classifier (run, 0, nets->image && nets->audio);
    if (run->video)
      link_branch (run, run->video, video_desc, mm, "image_sink");
    if (run->audio)
      link_branch (run, run->audio, AUDIO_BRANCH, mm, "audio_sink");
  } else {
    if (run->video)
      link_branch (run, run->video, video_desc, add_classifier (run, 0, TRUE), "image_sink");
    if (run->audio)
      link_branch (run, run->audio, AUDIO_BRANCH, add_classifier (run, 1, TRUE), "audio_sink");
  }
  run->built = TRUE;
  run->linked_video = run->video != NULL;
  run->linked_audio = run->audio != NULL;
  /* each element after those downstream of it (the order they were made
   * in), so that nothing pushes into an element not yet started */
  for (guint k = 0; k < run->added->len; k++)
    gst_element_sync_state_with_parent (g_ptr_array_index (run->added, k));
  g_mutex_unlock (&run->lock);
}

/* Why a file gave nothing to classify. */
static char *
nothing_linked (const FileRun *run)
{
  if (!run->saw_video && !run->saw_audio)
    return g_strdup ("no video or audio stream");
  return g_strdup_printf ("no network in %s for its %s (add %s)", run->b->model,
      run->saw_video ? (run->saw_audio ? "video and audio" : "video") : "audio",
      run->saw_video ? (run->saw_audio ? "ImageNet_CNN or AudioNet_CNN" : "ImageNet_CNN")
      : "AudioNet_CNN or AudioNet_LSTM");
}

/* The classifier's errors (models) are its own; any other element's is the
 * file's. @path: the path of the element that posted it. */
static char *
run_error (const char *path, const GError *err)
{
  if (path && strstr (path, "/GstMmClassify:"))
    return g_strdup (err->message);
  return g_strdup_printf ("could not decode: %s", err->message);
}

static Result *
run_file (const Batch *b, guint index)
{
  const char *path = b->files[index];
  Result *r = g_new0 (Result, 1);
  FileRun run = { .b = b };
  GstElement *src, *dec;
  char *err_path = NULL;
  GError *err = NULL;

  r->index = index;
  r->lines = g_ptr_array_new_with_free_func (g_free);
  if (!g_file_test (path, G_FILE_TEST_IS_REGULAR)) {
    r->error = g_strdup ("no such file");
    return r;
  }
  g_mutex_init (&run.lock);
  run.lines = mm_cli_lines_new ();
  run.added = g_ptr_array_new ();
  run.pipeline = gst_pipeline_new (NULL);
  src = make ("filesrc");
  dec = make ("decodebin");
  g_object_set (src, "location", path, NULL);
  gst_bin_add_many (GST_BIN (run.pipeline), src, dec, NULL);
  gst_element_link (src, dec);
  g_signal_connect (dec, "pad-added", G_CALLBACK (on_pad_added), &run);
  g_signal_connect (dec, "no-more-pads", G_CALLBACK (on_no_more_pads), &run);

  if (!mm_cli_pipeline_run (run.pipeline, &err_path, &err)) {
    r->error = run_error (err_path, err);
    g_error_free (err);
    g_free (err_path);
  } else if (!run.linked_video && !run.linked_audio) {
    r->error = nothing_linked (&run);
  } else {
    GPtrArray *sorted = mm_cli_lines_sorted (run.lines);

    for (guint i = 0; i < sorted->len; i++)
      g_ptr_array_add (r->lines, g_strdup (g_ptr_array_index (sorted, i)));
  }
  gst_object_unref (run.pipeline);
  g_clear_object (&run.video);
  g_clear_object (&run.audio);
  g_ptr_array_unref (run.added);
  mm_cli_lines_free (run.lines);
  g_mutex_clear (&run.lock);
  return r;
}

static void
worker (gpointer data, gpointer user_data)
{
  Batch *b = user_data;

  g_async_queue_push (b->done, run_file (b, GPOINTER_TO_UINT (data) - 1));
}

static void
result_free (Result *r)
{
  g_free (r->error);
  g_ptr_array_unref (r->lines);
  g_free (r);
}

/* ---- output ------------------------------------------------------------- */

/* Opens a temporary file beside @out (same file system, so the final rename
 * is atomic), with the mode a new file would get. */
static FILE *
open_tmp (const char *out, GError **error)
{
  char *dir = g_path_get_dirname (out), *base = g_path_get_basename (out);
  char *tmpl = g_strdup_printf ("%s/.%s.XXXXXX", dir, base);
  mode_t mask = umask (0);
  int fd;
  FILE *f = NULL;

  umask (mask);
  fd = g_mkstemp_full (tmpl, O_WRONLY, 0666 & ~mask);
  if (fd < 0) {
    g_set_error (error, MM_ERROR, MM_ERROR_IO, "%s: cannot write in %s: %s",
        out, dir, g_strerror (errno));
  } else if (!(f = fdopen (fd, "w"))) {
    g_set_error (error, MM_ERROR, MM_ERROR_IO, "%s: %s", out,
        g_strerror (errno));
    close (fd);
    g_unlink (tmpl);
  } else {
    fchmod (fd, 0666 & ~mask);
    g_strlcpy (tmp_path, tmpl, sizeof tmp_path);
  }
  g_free (tmpl);
  g_free (dir);
  g_free (base);
  return f;
}

static void
write_result (FILE *f, const char *file, const Result *r)
{
  GString *s = g_string_new (NULL);

  if (r->error) {
    g_string_append (s, "{\"file\":");
    mm_cli_json_string (s, file);
    g_string_append (s, ",\"error\":");
    mm_cli_json_string (s, r->error);
    g_string_append (s, "}\n");
  }
  for (guint i = 0; i < r->lines->len; i++) {
    const char *line = g_ptr_array_index (r->lines, i);

    g_string_append (s, "{\"file\":");
    mm_cli_json_string (s, file);
    if (line[0] == '{' && line[1] != '}')
      g_string_append_c (s, ',');
    g_string_append (s, line + 1);
    g_string_append_c (s, '\n');
  }
  fwrite (s->str, 1, s->len, f);
  g_string_free (s, TRUE);
}

static gboolean
finish_output (FILE *f, const char *out)
{
  gboolean ok = fflush (f) == 0 && !ferror (f) && fsync (fileno (f)) == 0;
  int saved = errno;

  ok = (fclose (f) == 0) && ok;
  if (ok && g_rename (tmp_path, out) == 0) {
    tmp_path[0] = '\0';
    return TRUE;
  }
  if (ok)
    saved = errno;
  mm_cli_fail ("%s: could not write: %s", out, g_strerror (saved));
  g_unlink (tmp_path);
  tmp_path[0] = '\0';
  return FALSE;
}

/* ---- the command -------------------------------------------------------- */

/* "i/n" with 1 ≤ i ≤ n. */
static gboolean
parse_shard (const char *s, guint *i, guint *n)
{
  char *end;
  guint64 a, b;

  a = g_ascii_strtoull (s, &end, 10);
  if (end == s || *end != '/')
    return FALSE;
  s = end + 1;
  b = g_ascii_strtoull (s, &end, 10);
  if (end == s || *end || b < 1 || a < 1 || a > b || b > G_MAXUINT)
    return FALSE;
  *i = (guint) a;
  *n = (guint) b;
  return TRUE;
}

static gint
compare_strings (gconstpointer a, gconstpointer b)
{
  return strcmp (*(char *const *) a, *(char *const *) b);
}

/* The files of shard @i of @n: index in the sorted list ≡ i − 1 (mod n),
 * kept in argument order. */
static char **
shard_files (char **args, guint n_args, guint i, guint n)
{
  GPtrArray *sorted = g_ptr_array_new (), *keep = g_ptr_array_new ();
  GHashTable *mine = g_hash_table_new (g_str_hash, g_str_equal);

  for (guint k = 0; k < n_args; k++)
    g_ptr_array_add (sorted, args[k]);
  g_ptr_array_sort (sorted, compare_strings);
  for (guint k = 0; k < sorted->len; k++)
    if (k % n == i - 1)
      g_hash_table_add (mine, g_ptr_array_index (sorted, k));
  for (guint k = 0; k < n_args; k++)
    if (g_hash_table_contains (mine, args[k]))
      g_ptr_array_add (keep, g_strdup (args[k]));
  g_ptr_array_add (keep, NULL);
  g_hash_table_unref (mine);
  g_ptr_array_unref (sorted);
  return (char **) g_ptr_array_free (keep, FALSE);
}

static void
progress (gboolean tty, guint done, guint total, const char *file, const Result *r,
    double seconds)
{
  if (tty)
    fprintf (stderr, "\r\033[Kbatch: %u/%u files, %.1f files/s", done, total,
        seconds > 0 ? done / seconds : 0.0);
  else if (r->error)
    fprintf (stderr, "batch: %u/%u %s: failed\n", done, total, file);
  else
    fprintf (stderr, "batch: %u/%u %s: %u decision%s\n", done, total, file, r->lines->len,
        r->lines->len == 1 ? "" : "s");
}

/* Runs the files, writing results in order as they become ready. Returns the
 * number of failed files. */
static guint
run_all (Batch *b, guint n, int jobs, FILE *f, guint *n_lines)
{
  gboolean tty = isatty (2);
  GThreadPool *pool = g_thread_pool_new (worker, b, jobs, TRUE, NULL);
  Result **ready = g_new0 (Result *, n);
  GTimer *timer = g_timer_new ();
  guint next = 0, failed = 0;

  for (guint k = 0; k < n; k++)
    g_thread_pool_push (pool, GUINT_TO_POINTER (k + 1), NULL);
  for (guint done = 1; done <= n; done++) {
    Result *r = g_async_queue_pop (b->done);
    const char *file = b->files[r->index];

    if (r->error) {
      if (tty)
        fprintf (stderr, "\r\033[K");
      mm_cli_fail ("%s: %s", file, r->error);
      failed++;
    }
    progress (tty, done, n, file, r, g_timer_elapsed (timer, NULL));
    ready[r->index] = r;
    for (; next < n && ready[next]; next++) {
      write_result (f, b->files[next], ready[next]);
      *n_lines += ready[next]->lines->len;
      result_free (ready[next]);
      ready[next] = NULL;
    }
  }
  if (tty)
    fprintf (stderr, "\n");
  g_thread_pool_free (pool, FALSE, TRUE);
  g_timer_destroy (timer);
  g_free (ready);
  return failed;
}

/* With several pipelines at once, each network runs on one core: the
 * parallelism is across files. The plugin holds its own copy of the core,
 * whose pool reads MMDIGITS_THREADS, so it is told through the environment
 * (before any thread starts); OpenBLAS is one shared library. */
static void
one_thread_per_job (void)
{
  mm_set_threads (1);
  g_setenv ("MMDIGITS_THREADS", "1", FALSE);
  openblas_set_num_threads (1);
}

int
mm_cmd_batch (int argc, char **argv)
{
  char *out = NULL, *model = NULL, *shard = NULL, **args = NULL;
  int jobs = 0;
  GOptionEntry entries[] = {
    { "out", 'o', 0, G_OPTION_ARG_FILENAME, &out,
      "the JSON-lines file to write (atomically, at the end)", "FILE" },
    { "model", 'm', 0, G_OPTION_ARG_FILENAME, &model,
      "model directory or file (default: the installed models, else the source tree's models/)",
      "DIR" },
    { "jobs", 'j', 0, G_OPTION_ARG_INT, &jobs, "files classified at once (default, or 0: the number of cores)", "N" },
    { "shard", 0, 0, G_OPTION_ARG_STRING, &shard,
      "only the files whose index in the sorted list is I-1 modulo N (1 <= I <= N)", "I/N" },
    { G_OPTION_REMAINING, 0, 0, G_OPTION_ARG_FILENAME_ARRAY, &args, NULL, "FILE..." },
    { NULL }
  };
  GOptionContext *ctx = g_option_context_new ("- classify media files into a JSON-lines file");
  Batch b = { 0 };
  guint shard_i = 1, shard_n = 1, n = 0, failed, n_lines = 0;
  GError *err = NULL;
  FILE *f = NULL;
  GTimer *timer;
  int rc = MM_EXIT_FAILURE;

  g_option_context_add_main_entries (ctx, entries, NULL);
  g_option_context_set_description (ctx,
      "Each file runs through decodebin into digitimage (video) and mfccextract\n"
      "(audio) and mmclassify, as pipelines/demo.sh. One line per decision: the\n"
      "element's JSON object with \"file\" first; a file that fails gives\n"
      "{\"file\":...,\"error\":...} and a line on stderr, and the exit status is 1.\n"
      "Lines are grouped by file in argument order, whatever --jobs.\n"
      "--shard I/N splits an archive over N machines or array-job tasks: sort\n"
      "order decides, so every task may be given the same list, e.g.\n"
      "  Slurm (--array=1-N): --shard $SLURM_ARRAY_TASK_ID/N\n"
      "  Kubernetes: --shard $((JOB_COMPLETION_INDEX+1))/N\n"
      "  GNU parallel: parallel mmdigits batch --jobs 1 --shard {}/4 --out part{}.jsonl FILES ::: 1 2 3 4");
  if (!mm_cli_parse (ctx, &argc, &argv)) {
    rc = MM_EXIT_USAGE;
    goto out;
  }
  if (!out || !args || !args[0] || jobs < 0 || (shard && !parse_shard (shard, &shard_i, &shard_n))) {
    fprintf (stderr, "mmdigits: batch needs FILE... and --out FILE; --jobs N >= 1; "
        "--shard I/N with 1 <= I <= N (see --help)\n");
    rc = MM_EXIT_USAGE;
    goto out;
  }
  b.files = shard_files (args, g_strv_length (args), shard_i, shard_n);
  n = g_strv_length (b.files);
  if (jobs == 0)
    jobs = (int) g_get_num_processors ();
  jobs = MIN (jobs, (int) MAX (n, 1));
  if (jobs > 1)
    one_thread_per_job ();

  /* fail on an unwritable --out before any work, and never leave a part */
  if (!(f = open_tmp (out, &err))) {
    rc = mm_cli_fail ("%s", err ? err->message : out);
    goto out;
  }
  signal (SIGINT, on_signal);
  signal (SIGTERM, on_signal);
  b.model = mm_cli_model_path (model);
  if (!mm_cli_gst_ready (&err) || !mm_cli_model_nets (b.model, &b.nets, &err)) {
    rc = mm_cli_fail ("%s", err->message);
    fclose (f);
    g_unlink (tmp_path);
    tmp_path[0] = '\0';
    goto out;
  }
  b.done = g_async_queue_new ();
  timer = g_timer_new ();
  failed = run_all (&b, n, jobs, f, &n_lines);
  if (!finish_output (f, out)) {
    rc = MM_EXIT_FAILURE;
  } else {
    double s = g_timer_elapsed (timer, NULL);

    fprintf (stderr, "batch: %u file%s (%u failed), %u decisions in %.2f s (%.2f files/s, "
        "%d job%s); wrote %s\n", n, n == 1 ? "" : "s", failed, n_lines, s, s > 0 ? n / s : 0.0,
        jobs, jobs == 1 ? "" : "s", out);
    rc = failed ? MM_EXIT_FAILURE : MM_EXIT_OK;
  }
  g_timer_destroy (timer);
  g_async_queue_unref (b.done);
out:
  g_strfreev (b.files);
  g_free (b.model);
  g_strfreev (args);
  g_free (out);
  g_free (model);
  g_free (shard);
  g_option_context_free (ctx);
  return rc;
}
