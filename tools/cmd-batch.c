/* mmdigits batch — the demo's pipeline over many media files, several at a
 * time, into one JSON-lines file; and --merge, which joins the parts of a
 * sharded run (an array job) into the file one machine would have written.
 *
 * Each of --jobs worker threads keeps its own classifier pipelines and
 * models for its whole share of the files (batch-worker.h says how and
 * why) and takes the next file from a shared counter. The main thread
 * writes each file's lines, in the order of the file list, to OUT.part
 * once the files before it are done — collected every few milliseconds,
 * whole files in one write(), so the part holds whole files and never a
 * torn line short of a crash mid-write, which --resume repairs — and
 * renames it to OUT at the end: OUT appears complete or not at all, and an
 * interrupted run leaves OUT.part for --resume.
 *
 * Every file gets at least one line: its decisions, or {"file":…,"error":…}
 * if it failed, or {"file":…,"decisions":0} if it had no digit and no word.
 * That is what lets --resume and --merge tell a finished file from a
 * missing one. */
#include "mm-config.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "batch-worker.h"
#include "mm-cli.h"
#include "mm-error.h"
#include "mm-file.h"
#include "mm-parallel.h"
#include "mm-threads.h"
#include "mm-modelset.h"

typedef struct {
  const char *model;
  MmCliNets nets;
  MmModelSet *checked;          /* the set opened to check it: the first worker takes it */
  MmBatchDecode decode;
  char **files;                 /* the files to run, in output order (borrowed) */
  guint n;
  gint next;                    /* the next file to take (atomic) */
  GAsyncQueue *done;            /* Result */
} Batch;

typedef struct {
  guint index;
  char *error;                  /* NULL on success */
  GPtrArray *lines;             /* char *, owned */
} Result;

/* ---- workers ------------------------------------------------------------ */

static gpointer
worker (gpointer data)
{
  Batch *b = data;
  MmBatchWorker *w = mm_batch_worker_new (b->model, g_atomic_pointer_exchange (&b->checked, NULL),
      &b->nets, b->decode);
  gint i;

  while ((i = g_atomic_int_add (&b->next, 1)) < (gint) b->n) {
    Result *r = g_new0 (Result, 1);

    r->index = (guint) i;
    r->lines = g_ptr_array_new_with_free_func (g_free);
    r->error = mm_batch_worker_run (w, b->files[i], r->lines);
    g_async_queue_push (b->done, r);
  }
  mm_batch_worker_free (w);
  return NULL;
}

static void
result_free (Result *r)
{
  g_free (r->error);
  g_ptr_array_unref (r->lines);
  g_free (r);
}

/* ---- output ------------------------------------------------------------- */

/* Appends a file's lines to @s. */
static void
append_result (GString *s, const char *file, const Result *r)
{
  if (r->error || r->lines->len == 0) {
    g_string_append (s, "{\"file\":");
    mm_cli_json_string (s, file);
    if (r->error) {
      g_string_append (s, ",\"error\":");
      mm_cli_json_string (s, r->error);
    } else {
      g_string_append (s, ",\"decisions\":0");
    }
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
}

/* Appends @len bytes in one write() (retried only for what a short write
 * left), so that another reader or a resumed run sees whole files. */
static gboolean
write_all (int fd, const char *data, gsize len)
{
  while (len > 0) {
    gssize k = write (fd, data, len);

    if (k < 0 && errno == EINTR)
      continue;
    if (k <= 0)
      return FALSE;
    data += k;
    len -= (gsize) k;
  }
  return TRUE;
}

static char *
part_path (const char *out)
{
  return g_strconcat (out, ".part", NULL);
}

/* ---- resuming ----------------------------------------------------------- */

/* The "file" of a JSON line, or NULL. */
static char *
line_file (JsonParser *parser, const char *line, gsize len)
{
  JsonNode *root;
  JsonObject *o;

  if (!json_parser_load_from_data (parser, line, (gssize) len, NULL)
      || !(root = json_parser_get_root (parser)) || !JSON_NODE_HOLDS_OBJECT (root))
    return NULL;
  o = json_node_get_object (root);
  if (!json_object_has_member (o, "file"))
    return NULL;
  return g_strdup (json_object_get_string_member_with_default (o, "file", NULL));
}

/* Reads a partial output: keeps its whole lines except, unless @complete
 * (a finished OUT), those of the last file in it (the one a crash may have
 * cut short; its name in *@dropped, else NULL), records the files kept in
 * @done, and returns the length to keep. Fails on a line that is not one
 * of ours. */
static gboolean
read_partial (const char *path, const char *text, gsize len, gboolean complete,
    GHashTable *done, gsize *keep, char **dropped, GError **error)
{
  JsonParser *parser = json_parser_new ();
  gsize pos = 0, last_start = 0;
  char *last = NULL;
  guint line_no = 0;
  gboolean ok = TRUE;

  while (pos < len) {
    const char *nl = memchr (text + pos, '\n', len - pos);
    gsize end;
    char *file;

    if (!nl)
      break;                    /* a torn last line: dropped */
    end = (gsize) (nl - text);
    line_no++;
    if (!(file = line_file (parser, text + pos, end - pos))) {
      g_set_error (error, MM_ERROR, MM_ERROR_FORMAT,
          "%s:%u: not a line of mmdigits batch: not resuming", path, line_no);
      ok = FALSE;
      break;
    }
    if (!last || strcmp (file, last) != 0) {
      if (last)
        g_hash_table_add (done, last);
      last = file;
      last_start = pos;
    } else {
      g_free (file);
    }
    pos = end + 1;
  }
  if (complete && last && pos == len) {
    g_hash_table_add (done, g_steal_pointer (&last));
    last_start = len;
  }
  *keep = last_start;
  *dropped = last;
  g_object_unref (parser);
  return ok;
}

/* Opens OUT.part for appending: fresh, or with --resume continued from
 * OUT.part (else from a finished OUT); @done receives the files already
 * there. Fails if the partial output names a file not in @files. */
static int
open_part (const char *out, const char *part, gboolean resume, char **files, guint n,
    GHashTable *done, GError **error)
{
  char *text = NULL;
  gsize len = 0, keep = 0;
  gboolean complete = FALSE;
  int fd;

  if (resume && !g_file_test (part, G_FILE_TEST_EXISTS) && g_file_test (out, G_FILE_TEST_EXISTS)) {
    /* a finished OUT was renamed whole: its last file is complete too */
    if (g_rename (out, part) != 0) {
      g_set_error (error, MM_ERROR, MM_ERROR_IO, "%s: %s", out, g_strerror (errno));
      return -1;
    }
    complete = TRUE;
  }
  if (resume && g_file_get_contents (part, &text, &len, NULL)) {
    GHashTable *listed = g_hash_table_new (g_str_hash, g_str_equal);
    GHashTableIter it;
    gpointer f;
    char *dropped = NULL;
    gboolean ok;

    if (!read_partial (part, text, len, complete, done, &keep, &dropped, error)) {
      g_free (dropped);
      g_free (text);
      g_hash_table_unref (listed);
      return -1;
    }
    for (guint i = 0; i < n; i++)
      g_hash_table_add (listed, files[i]);
    /* the last file, whose lines are cut off to be run again, too: another
     * run's part of one file was emptied without a word */
    ok = !dropped || g_hash_table_contains (listed, dropped);
    f = dropped;
    g_hash_table_iter_init (&it, done);
    while (ok && g_hash_table_iter_next (&it, &f, NULL))
      ok = g_hash_table_contains (listed, f);
    if (!ok)
      g_set_error (error, MM_ERROR, MM_ERROR_INVALID,
          "%s has lines for %s, which is not among the files to run: not resuming "
          "(give the same files and --shard as the interrupted run)", part, (char *) f);
    g_free (dropped);
    g_hash_table_unref (listed);
    if (!ok) {
      g_free (text);
      return -1;
    }
  }
  g_free (text);
  fd = g_open (part, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0666);
  if (fd < 0 || ftruncate (fd, (off_t) keep) != 0) {
    g_set_error (error, MM_ERROR, MM_ERROR_IO, "%s: cannot write: %s", part,
        g_strerror (errno));
    if (fd >= 0)
      close (fd);
    return -1;
  }
  return fd;
}

static gboolean
finish_part (int fd, const char *part, const char *out)
{
  int saved;

  if (fsync (fd) == 0 && close (fd) == 0 && g_rename (part, out) == 0)
    return TRUE;
  saved = errno;
  mm_cli_fail ("%s: could not write: %s", out, g_strerror (saved));
  return FALSE;
}

/* ---- the file list ------------------------------------------------------ */

/* --out, and OUT.part beside it, must not be any file the run reads: the
 * media files (all of them, not only this shard's), the --merge parts, the
 * --files-from list, the model set's files (@model: the --model option,
 * NULL for the default models; none with @parts: --merge loads no model). */
static gboolean
check_out (const char *out, GPtrArray *files, char **parts, const char *from,
    const char *model, GError **error)
{
  GStrvBuilder *b = g_strv_builder_new ();
  char *model_path = mm_cli_model_path (model);
  char **models = parts ? g_new0 (char *, 1) : mm_cli_model_files (model_path), **inputs;
  char *part;
  gboolean ok;

  for (guint k = 0; k < files->len; k++)
    g_strv_builder_add (b, g_ptr_array_index (files, k));
  if (parts)
    g_strv_builder_addv (b, (const char **) parts);
  if (from)
    g_strv_builder_add (b, from);
  g_strv_builder_addv (b, (const char **) models);
  inputs = g_strv_builder_end (b);
  part = part_path (out);
  /* a run writes OUT.part first (renamed over OUT at the end; --merge
   * writes no part): an input named so was replaced, a FIFO blocked the run */
  ok = mm_file_check_output ("--out", out, (const char *const *) inputs, error)
      && (parts || mm_file_check_output ("--out's working file", part,
              (const char *const *) inputs, error));
  g_free (part);
  g_strfreev (inputs);
  g_strfreev (models);
  g_free (model_path);
  g_strv_builder_unref (b);
  return ok;
}

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

/* What is wrong with the command line, one problem named precisely (NULL:
 * nothing); the shard into *@i / *@n. */
static char *
usage_problem (const char *out, const char *shard, const char *decode, gboolean merge,
    gboolean resume, char **args, const char *from, guint *i, guint *n)
{
  gboolean files = args && args[0];

  if (!out)
    return g_strdup ("batch needs --out OUT");
  if (shard && !parse_shard (shard, i, n))
    return g_strdup_printf ("--shard must be I/N with 1 <= I <= N, not '%s'", shard);
  if (decode && strcmp (decode, "auto") && strcmp (decode, "gstreamer"))
    return g_strdup_printf ("--decode must be auto or gstreamer, not '%s'", decode);
  if (merge && (shard || resume))
    return g_strdup ("--merge goes without --shard and --resume");
  if (merge && !files)
    return g_strdup ("--merge needs the parts PART... to join");
  if (!merge && !files && !from)
    return g_strdup ("batch needs FILE... or --files-from LIST");
  return NULL;
}

static gint
compare_strings (gconstpointer a, gconstpointer b)
{
  return strcmp (*(char *const *) a, *(char *const *) b);
}

/* The files of shard @i of @n: index in the sorted list ≡ i − 1 (mod n),
 * kept in list order. Borrowed strings. */
static GPtrArray *
shard_files (GPtrArray *all, guint i, guint n)
{
  GPtrArray *sorted = g_ptr_array_sized_new (all->len), *keep = g_ptr_array_new ();
  GHashTable *mine = g_hash_table_new (g_str_hash, g_str_equal);

  for (guint k = 0; k < all->len; k++)
    g_ptr_array_add (sorted, g_ptr_array_index (all, k));
  g_ptr_array_sort (sorted, compare_strings);
  for (guint k = 0; k < sorted->len; k++)
    if (k % n == i - 1)
      g_hash_table_add (mine, g_ptr_array_index (sorted, k));
  for (guint k = 0; k < all->len; k++)
    if (g_hash_table_contains (mine, g_ptr_array_index (all, k)))
      g_ptr_array_add (keep, g_ptr_array_index (all, k));
  g_hash_table_unref (mine);
  g_ptr_array_unref (sorted);
  return keep;
}

/* The arguments, then the lines of --files-from ("-": standard input; empty
 * lines skipped). Owned strings. */
static GPtrArray *
file_list (char **args, const char *from, GError **error)
{
  GPtrArray *all = g_ptr_array_new_with_free_func (g_free);

  for (guint k = 0; args && args[k]; k++)
    g_ptr_array_add (all, g_strdup (args[k]));
  if (from) {
    GIOChannel *ch = !strcmp (from, "-") ? g_io_channel_unix_new (0)
        : mm_file_check_readable (from, error) ? g_io_channel_new_file (from, "r", error) : NULL;
    char *line;
    gsize term;

    if (!ch) {
      g_prefix_error (error, "--files-from: ");
      g_ptr_array_unref (all);
      return NULL;
    }
    g_io_channel_set_encoding (ch, NULL, NULL);
    while (g_io_channel_read_line (ch, &line, NULL, &term, NULL) == G_IO_STATUS_NORMAL) {
      line[term] = '\0';
      if (*line)
        g_ptr_array_add (all, line);
      else
        g_free (line);
    }
    g_io_channel_unref (ch);
  }
  return all;
}

/* ---- progress ----------------------------------------------------------- */

typedef struct {
  gboolean on, tty;
  guint total, skipped;         /* skipped: done by an earlier run (--resume) */
  GTimer *timer;
  double last;                  /* when the line was last drawn */
} Progress;

static void
format_eta (char *buf, gsize size, double s)
{
  guint64 t = (guint64) (s + 0.5);

  if (t >= 3600)
    g_snprintf (buf, size, "%" G_GUINT64_FORMAT ":%02u:%02u", t / 3600,
        (guint) (t / 60 % 60), (guint) (t % 60));
  else
    g_snprintf (buf, size, "%u:%02u", (guint) (t / 60), (guint) (t % 60));
}

/* Draws the line at most 10 times a second on a terminal, every 10 s
 * otherwise; @force: the last one. */
static void
progress_show (Progress *p, guint done, guint failed, gboolean force)
{
  double now = g_timer_elapsed (p->timer, NULL), rate = now > 0 ? done / now : 0;
  char eta[32];

  if (!p->on || (!force && now - p->last < (p->tty ? 0.1 : 10.0)))
    return;
  p->last = now;
  format_eta (eta, sizeof eta, rate > 0 ? (p->total - p->skipped - done) / rate : 0);
  fprintf (stderr, "%sbatch: %u/%u files", p->tty ? "\r\033[K" : "", done + p->skipped,
      p->total);
  if (failed)
    fprintf (stderr, " (%u failed)", failed);
  fprintf (stderr, ", %.1f files/s, ETA %s%s", rate, rate > 0 ? eta : "?",
      p->tty && !force ? "" : "\n");
}

static void
progress_clear (const Progress *p)
{
  if (p->on && p->tty)
    fprintf (stderr, "\r\033[K");
}

/* ---- running ------------------------------------------------------------ */

/* CPU seconds (user + system) of the whole process so far. */
static double
cpu_seconds (void)
{
  struct rusage u;

  getrusage (RUSAGE_SELF, &u);
  return u.ru_utime.tv_sec + u.ru_stime.tv_sec + (u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

/* How long the writer sleeps after taking results before it looks for
 * more: a worker finishing a file wakes the writer only if it is waiting,
 * so files that finish faster than this cost one wake-up (and one write)
 * per interval instead of one per file, which would also keep a second
 * core busy for little work. A slow file still wakes it at once. */
#define COLLECT_US (20 * 1000)

/* Runs the files, writing results in order as they become ready. Returns the
 * number of failed files; *write_failed if OUT.part could not be written. */
static guint
run_all (Batch *b, int jobs, int fd, const char *part, Progress *p, guint *n_lines,
    gboolean *write_failed)
{
  GThread **threads = g_new (GThread *, jobs);
  Result **ready = g_new0 (Result *, MAX (b->n, 1));
  GString *out = g_string_new (NULL);
  guint next = 0, failed = 0, done = 0;

  for (int t = 0; t < jobs; t++)
    threads[t] = g_thread_new ("batch", worker, b);
  while (done < b->n) {
    /* wait for one result, then take all that are there */
    Result *r = g_async_queue_pop (b->done);

    do {
      if (r->error) {
        progress_clear (p);
        mm_cli_fail ("%s: %s", b->files[r->index], r->error);
        failed++;
      }
      ready[r->index] = r;
      done++;
    } while ((r = g_async_queue_try_pop (b->done)));
    /* the files now complete from the start of the list, in one write:
     * the part holds whole files */
    g_string_truncate (out, 0);
    for (; next < b->n && ready[next]; next++) {
      append_result (out, b->files[next], ready[next]);
      *n_lines += ready[next]->lines->len;
      result_free (ready[next]);
      ready[next] = NULL;
    }
    if (out->len && !*write_failed && !write_all (fd, out->str, out->len)) {
      progress_clear (p);
      mm_cli_fail ("%s: could not write: %s", part, g_strerror (errno));
      *write_failed = TRUE;
    }
    progress_show (p, done, failed, done == b->n);
    if (done < b->n)
      g_usleep (COLLECT_US);
  }
  for (int t = 0; t < jobs; t++)
    g_thread_join (threads[t]);
  g_string_free (out, TRUE);
  g_free (threads);
  g_free (ready);
  return failed;
}

/* Each network runs on one core, whatever --jobs: the parallelism is across
 * files. One file is one batch-1 forward pass, too small to split — the
 * core's pool workers would mostly wait (they poll before sleeping) and
 * cost more CPU than they save. The plugin's networks read MMDIGITS_THREADS
 * (set before any thread starts, unless the user set it); OpenBLAS is the
 * host's to set, and batch is the host. */
static void
one_thread_per_network (void)
{
  mm_set_threads (1);
  g_setenv ("MMDIGITS_THREADS", "1", FALSE);
  /* and OpenBLAS's idle threads, which spin for a while after it loads,
   * stopped: they would charge the run a tenth of a second of CPU */
  mm_blas_one_thread ();
}

/* The files not yet done, in list order. */
static char **
files_to_run (GPtrArray *mine, GHashTable *done)
{
  GPtrArray *todo = g_ptr_array_new ();

  for (guint k = 0; k < mine->len; k++)
    if (!g_hash_table_contains (done, g_ptr_array_index (mine, k)))
      g_ptr_array_add (todo, g_ptr_array_index (mine, k));
  g_ptr_array_add (todo, NULL);
  return (char **) g_ptr_array_free (todo, FALSE);
}

static int
run_batch (GPtrArray *mine, const char *out, const char *model_opt, int jobs,
    gboolean resume, gboolean show_progress, MmBatchDecode decode)
{
  GHashTable *done = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  char *part = part_path (out);
  Batch b = { .decode = decode };
  Progress p = { .total = mine->len };
  GError *err = NULL;
  guint failed, n_lines = 0;
  gboolean write_failed = FALSE;
  double cpu0;
  int fd, rc = MM_EXIT_FAILURE;

  /* fail on an unwritable --out before any work */
  if ((fd = open_part (out, part, resume, (char **) mine->pdata, mine->len, done, &err)) < 0) {
    rc = mm_cli_fail ("%s", err->message);
    goto out;
  }
  b.model = mm_cli_model_path (model_opt);
  /* the model set, opened here to refuse a bad one before any work; the
   * first worker keeps it for its WAV files, every other opens its own (a
   * set classifies one input at a time) */
  if (!mm_cli_gst_ready (&err) || !(b.checked = mm_model_set_open (b.model, &err))) {
    rc = mm_cli_fail ("%s", err->message);
    close (fd);
    goto out;
  }
  mm_cli_model_nets (b.checked, &b.nets);
  b.files = files_to_run (mine, done);
  b.n = g_strv_length (b.files);
  if (jobs == 0)
    jobs = (int) g_get_num_processors ();
  jobs = MIN (jobs, (int) MAX (b.n, 1));
  one_thread_per_network ();
  b.done = g_async_queue_new ();
  p.tty = isatty (2);
  p.on = show_progress || p.tty;
  p.skipped = mine->len - b.n;
  p.timer = g_timer_new ();
  cpu0 = cpu_seconds ();
  if (resume)
    fprintf (stderr, "batch: %u of %u files already in %s, %u to run\n", p.skipped,
        mine->len, part, b.n);
  failed = run_all (&b, jobs, fd, part, &p, &n_lines, &write_failed);
  if (write_failed) {
    close (fd);
    rc = mm_cli_fail ("%s kept: run again with --resume once it can be written", part);
  } else if (finish_part (fd, part, out)) {
    double s = g_timer_elapsed (p.timer, NULL), cpu = cpu_seconds () - cpu0;

    /* CPU seconds too: on a shared machine they say more than the clock */
    fprintf (stderr, "batch: %u file%s (%u failed), %u decisions in %.2f s (%.2f files/s, "
        "%d job%s, %.2f CPU s); wrote %s\n", b.n, b.n == 1 ? "" : "s", failed, n_lines, s,
        s > 0 ? b.n / s : 0.0, jobs, jobs == 1 ? "" : "s", cpu, out);
    rc = failed ? MM_EXIT_FAILURE : MM_EXIT_OK;
  }
  g_timer_destroy (p.timer);
  g_async_queue_unref (b.done);
out:
  mm_model_set_free (b.checked);          /* when no worker took it */
  g_clear_error (&err);
  g_free (b.files);
  g_free ((char *) b.model);
  g_free (part);
  g_hash_table_unref (done);
  return rc;
}

/* ---- merging ------------------------------------------------------------ */

typedef struct {
  const char *part;             /* where the file's lines came from */
  GString *lines;
} Group;

static void
group_free (gpointer p)
{
  Group *g = p;

  g_string_free (g->lines, TRUE);
  g_free (g);
}

/* Reads one part into @groups (file → Group), each file's lines together. */
static gboolean
merge_read (const char *part, GHashTable *groups, GPtrArray *order, GError **error)
{
  JsonParser *parser = json_parser_new ();
  char *text = NULL, *file = NULL;
  gsize len, pos = 0;
  guint line_no = 0;
  Group *g = NULL;
  gboolean ok = FALSE;

  if (!mm_file_check_readable (part, error) || !g_file_get_contents (part, &text, &len, error))
    goto out;
  while (pos < len) {
    const char *nl = memchr (text + pos, '\n', len - pos);
    gsize end = nl ? (gsize) (nl - text) : len;

    line_no++;
    g_clear_pointer (&file, g_free);
    if (!nl || !(file = line_file (parser, text + pos, end - pos))) {
      g_set_error (error, MM_ERROR, MM_ERROR_FORMAT, "%s:%u: %s", part, line_no,
          nl ? "not a line of mmdigits batch" : "torn last line (an unfinished part?)");
      goto out;
    }
    if (!g || strcmp (file, (char *) g_ptr_array_index (order, order->len - 1)) != 0) {
      if ((g = g_hash_table_lookup (groups, file))) {
        g_set_error (error, MM_ERROR, MM_ERROR_INVALID, "%s has lines in %s and in %s%s",
            file, g->part, part, strcmp (g->part, part) ? "" : " apart");
        goto out;
      }
      g = g_new0 (Group, 1);
      g->part = part;
      g->lines = g_string_new (NULL);
      g_hash_table_insert (groups, g_strdup (file), g);
      g_ptr_array_add (order, g_strdup (file));
    }
    g_string_append_len (g->lines, text + pos, (gssize) (end - pos + 1));
    pos = end + 1;
  }
  ok = TRUE;
out:
  g_free (file);
  g_free (text);
  g_object_unref (parser);
  return ok;
}

/* --merge: the parts' lines grouped by file, in the order of the file list
 * when one is given (and then every listed file must be there, once), else
 * in file-name order. */
static int
run_merge (char **parts, GPtrArray *list, const char *out)
{
  GHashTable *groups = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, group_free);
  GPtrArray *order = g_ptr_array_new_with_free_func (g_free);
  GString *all = g_string_new (NULL);
  GError *err = NULL;
  guint missing = 0, extra = 0;
  const char *first_missing = NULL;
  int rc = MM_EXIT_FAILURE;

  for (guint k = 0; parts[k]; k++)
    if (!merge_read (parts[k], groups, order, &err)) {
      rc = mm_cli_fail ("--merge: %s", err->message);
      goto out;
    }
  if (list->len) {
    GHashTable *listed = g_hash_table_new (g_str_hash, g_str_equal);

    for (guint k = 0; k < list->len; k++) {
      Group *g = g_hash_table_lookup (groups, g_ptr_array_index (list, k));

      g_hash_table_add (listed, g_ptr_array_index (list, k));
      if (!g) {
        if (!missing++)
          first_missing = g_ptr_array_index (list, k);
        continue;
      }
      g_string_append_len (all, g->lines->str, (gssize) g->lines->len);
    }
    for (guint k = 0; k < order->len; k++)
      extra += !g_hash_table_contains (listed, g_ptr_array_index (order, k));
    g_hash_table_unref (listed);
    if (missing || extra) {
      rc = mm_cli_fail ("--merge: %u listed file%s in no part (first: %s), %u file%s in the "
          "parts but not listed: nothing written (rerun the shards that lack them)", missing,
          missing == 1 ? "" : "s", first_missing ? first_missing : "-", extra,
          extra == 1 ? "" : "s");
      goto out;
    }
  } else {
    g_ptr_array_sort (order, compare_strings);
    for (guint k = 0; k < order->len; k++) {
      Group *g = g_hash_table_lookup (groups, g_ptr_array_index (order, k));

      g_string_append_len (all, g->lines->str, (gssize) g->lines->len);
    }
  }
  /* g_file_set_contents_full writes a temporary and renames it */
  if (!g_file_set_contents_full (out, all->str, (gssize) all->len,
          G_FILE_SET_CONTENTS_CONSISTENT, 0666, &err)) {
    rc = mm_cli_fail ("%s", err->message);
    goto out;
  }
  fprintf (stderr, "batch: merged %u file%s from %u part%s into %s\n", order->len,
      order->len == 1 ? "" : "s", g_strv_length (parts), g_strv_length (parts) == 1 ? "" : "s",
      out);
  rc = MM_EXIT_OK;
out:
  g_clear_error (&err);
  g_string_free (all, TRUE);
  g_ptr_array_unref (order);
  g_hash_table_unref (groups);
  return rc;
}

/* ---- the command -------------------------------------------------------- */

int
mm_cmd_batch (int argc, char **argv)
{
  char *out = NULL, *model = NULL, *shard = NULL, *from = NULL, *decode = NULL, **args = NULL;
  int jobs = 0;
  gboolean resume = FALSE, progress = FALSE, merge = FALSE;
  GOptionEntry entries[] = {
    { "out", 'o', 0, G_OPTION_ARG_FILENAME, &out,
      "the JSON-lines file to write (OUT.part while running, renamed at the end)", "OUT" },
    { "model", 'm', 0, G_OPTION_ARG_FILENAME, &model,
      "model directory or file (default: the installed models, else the source tree's models/)",
      "DIR" },
    { "jobs", 'j', 0, G_OPTION_ARG_INT, &jobs,
      "files classified at once (default, or 0: the number of cores)", "N" },
    { "files-from", 'f', 0, G_OPTION_ARG_FILENAME, &from,
      "also the files listed in LIST, one per line ('-': standard input)", "LIST" },
    { "shard", 0, 0, G_OPTION_ARG_STRING, &shard,
      "only the files whose index in the sorted list is I-1 modulo N (1 <= I <= N)", "I/N" },
    { "resume", 0, 0, G_OPTION_ARG_NONE, &resume,
      "continue from OUT.part (or OUT) left by an earlier run of the same files", NULL },
    { "progress", 0, 0, G_OPTION_ARG_NONE, &progress,
      "show files/s and ETA on stderr even when it is not a terminal", NULL },
    { "decode", 0, 0, G_OPTION_ARG_STRING, &decode,
      "auto (a 16-bit PCM WAV is one recording, decided as eval decides it, without a "
      "pipeline; anything else a stream through the pipeline) or gstreamer (every file a stream: "
      "one decision per word found)",
      "HOW" },
    { "merge", 0, 0, G_OPTION_ARG_NONE, &merge,
      "join the parts PART... of a sharded run into OUT, in the order of --files-from", NULL },
    { G_OPTION_REMAINING, 0, 0, G_OPTION_ARG_FILENAME_ARRAY, &args, NULL, "FILE..." },
    { NULL }
  };
  const MmCliRange ranges[] = {
    { "jobs", 0, MM_CLI_MAX_JOBS, FALSE },
    { NULL }
  };
  GOptionContext *ctx = g_option_context_new ("- classify media files into a JSON-lines file");
  guint shard_i = 1, shard_n = 1;
  MmBatchDecode how = MM_BATCH_DECODE_AUTO;
  GPtrArray *all = NULL, *mine = NULL;
  GError *err = NULL;
  char *problem;
  int rc = MM_EXIT_USAGE;

  mm_cli_add_entries (ctx, entries, ranges);
  g_option_context_set_description (ctx,
      "Each file runs through digitimage (video) and mfccextract (audio) into one\n"
      "mmclassify, as pipelines/demo.sh; each job keeps its pipelines and models\n"
      "for all its files (docs/batch.md). One line per decision: the element's\n"
      "JSON object with \"file\" first; a file without a decision gives\n"
      "{\"file\":...,\"decisions\":0}; a file that fails gives {\"file\":...,\"error\":...}\n"
      "and a line on stderr, and the exit status is 1. Lines are grouped by file\n"
      "in list order, whatever --jobs.\n"
      "--shard I/N splits an archive over N machines or array-job tasks: sort\n"
      "order decides, so every task may be given the same list, e.g.\n"
      "  Slurm (--array=1-N): --shard $SLURM_ARRAY_TASK_ID/N --out part-$SLURM_ARRAY_TASK_ID.jsonl\n"
      "then: mmdigits batch --merge --files-from LIST --out all.jsonl part-*.jsonl\n"
      "gives the lines a single run over LIST gives. See docs/batch.md.");
  if (!mm_cli_parse (ctx, &argc, &argv))
    goto out;
  if (decode && !strcmp (decode, "gstreamer"))
    how = MM_BATCH_DECODE_GSTREAMER;
  if ((problem = usage_problem (out, shard, decode, merge, resume, args, from, &shard_i,
              &shard_n))) {
    fprintf (stderr, "mmdigits: %s (see --help)\n", problem);
    g_free (problem);
    goto out;
  }
  /* fail on an --out that cannot be written, or that is an input, before
   * any work */
  if (!(all = file_list (merge ? NULL : args, from, &err))
      || !check_out (out, all, merge ? args : NULL, from, model, &err)) {
    rc = mm_cli_fail ("%s", err->message);
    goto out;
  }
  if (merge) {
    rc = run_merge (args, all, out);
    goto out;
  }
  mine = shard_files (all, shard_i, shard_n);
  rc = run_batch (mine, out, model, jobs, resume, progress, how);
out:
  g_clear_error (&err);
  if (mine)
    g_ptr_array_unref (mine);
  if (all)
    g_ptr_array_unref (all);
  g_strfreev (args);
  g_free (out);
  g_free (model);
  g_free (shard);
  g_free (from);
  g_free (decode);
  g_option_context_free (ctx);
  return rc;
}
