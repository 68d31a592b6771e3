/* mmdigits predict — classifies single files through the elements of the
 * pipelines (digitimage, mfccextract, mmclassify), so that a file gives
 * here exactly the decision a pipeline would give. Also holds what predict
 * and batch share: finding the plugin, running a pipeline to EOS and
 * collecting mmclassify's JSON lines. Which network serves what is the
 * core's model set's decision (mm-modelset.h), the same in mmclassify. */
#include "mm-config.h"

#include <errno.h>
#include <gst/app/gstappsink.h>
#include <gst/gst.h>
#include <json-glib/json-glib.h>
#include <stdio.h>
#include <string.h>

#include "mm-cli.h"
#include "mm-paths.h"
#include "mm-error.h"
#include "mm-media.h"
#include "mm-modelset.h"

/* A pipeline whose position has not moved for this long is stuck. */
#define STALL_TIMEOUT (60 * GST_SECOND)
/* predict pairs an image with a word anywhere in a recording: the image's
 * PTS is 0 (imagefreeze) and the word's centre is wherever it was said, so
 * the window is mmclassify's maximum, 60 s. A recording longer than that
 * may still pair with a later word that way only if it starts in time. */
#define PREDICT_PAIR_WINDOW 60000       /* ms */

/* ---- the plugin -------------------------------------------------------- */

static gboolean
have_classifier (void)
{
  GstElementFactory *f = gst_element_factory_find ("mmclassify");

  if (!f)
    return FALSE;
  gst_object_unref (f);
  return TRUE;
}

/* Scans @dir for plugins if it exists; TRUE if mmclassify is then known. */
static gboolean
scan_for_classifier (const char *dir)
{
  if (!g_file_test (dir, G_FILE_TEST_IS_DIR))
    return FALSE;
  gst_registry_scan_path (gst_registry_get (), dir);
  return have_classifier ();
}

/* The directory this executable runs from (resolving symlinks), or NULL. */
static char *
exe_dir (void)
{
  char *exe = g_file_read_link ("/proc/self/exe", NULL);
  char *dir = exe ? g_path_get_dirname (exe) : NULL;
  g_free (exe);
  return dir;
}

gboolean
mm_cli_gst_ready (GError **error)
{
  static gsize done = 0;
  static char *failure = NULL;

  if (g_once_init_enter (&done)) {
    GError *err = NULL;
    char *bindir = exe_dir ();
    /* the install's own plugin directory, wherever the install was moved */
    char *plugindir = bindir ? mm_path_relocate (MM_BINDIR, bindir, MM_PLUGINDIR)
        : g_strdup (MM_PLUGINDIR);

    if (!gst_init_check (NULL, NULL, &err)) {
      failure = g_strdup_printf ("GStreamer could not be initialised: %s", err->message);
      g_error_free (err);
    } else if (!have_classifier () && !scan_for_classifier (plugindir)) {
      failure = g_strdup_printf ("the GStreamer element mmclassify (plugin gstmmdigits) "
          "was not found in GST_PLUGIN_PATH (%s), the system plugin paths or %s: "
          "install mmdigits, or set GST_PLUGIN_PATH to the directory that holds "
          "libgstmmdigits.so (an uninstalled build: meson devenv, or build/plugins)",
          g_getenv ("GST_PLUGIN_PATH") ? g_getenv ("GST_PLUGIN_PATH") : "unset", plugindir);
    }
    g_free (plugindir);
    g_free (bindir);
    g_once_init_leave (&done, 1);
  }
  if (failure) {
    g_set_error_literal (error, MM_ERROR, MM_ERROR_IO, failure);
    return FALSE;
  }
  return TRUE;
}

/* ---- models ------------------------------------------------------------- */

char *
mm_cli_model_path (const char *opt)
{
  char *bindir, *dir;

  if (opt)
    return g_strdup (opt);
  bindir = exe_dir ();
  dir = mm_models_dir (MM_BINDIR, bindir);
  g_free (bindir);
  return dir;
}

char **
mm_cli_model_files (const char *path)
{
  GStrvBuilder *b = g_strv_builder_new ();
  char **files;

  if (!path) {
    /* no model directory: nothing to protect */
  } else if (g_file_test (path, G_FILE_TEST_IS_DIR)) {
    GDir *d = g_dir_open (path, 0, NULL);
    const char *name;

    while (d && (name = g_dir_read_name (d)))
      if (g_str_has_suffix (name, ".safetensors")) {
        char *file = g_build_filename (path, name, NULL);

        g_strv_builder_add (b, file);
        g_free (file);
      }
    if (d)
      g_dir_close (d);
  } else {
    g_strv_builder_add (b, path);
  }
  files = g_strv_builder_end (b);
  g_strv_builder_unref (b);
  return files;
}

void
mm_cli_model_nets (const MmModelSet *set, MmCliNets *nets)
{
  nets->image = mm_model_set_get (set, MM_ROLE_IMAGE) != NULL;
  nets->audio = mm_model_set_get (set, MM_ROLE_AUDIO) != NULL;
  nets->hybrid = mm_model_set_get (set, MM_ROLE_HYBRID) != NULL;
}

/* ---- JSON --------------------------------------------------------------- */

void
mm_cli_json_string (GString *out, const char *str)
{
  char *valid = g_utf8_make_valid (str, -1);

  g_string_append_c (out, '"');
  for (const char *p = valid; *p; p++) {
    guchar c = (guchar) * p;

    if (c == '"' || c == '\\')
      g_string_append_printf (out, "\\%c", c);
    else if (c == '\n')
      g_string_append (out, "\\n");
    else if (c == '\t')
      g_string_append (out, "\\t");
    else if (c < 0x20)
      g_string_append_printf (out, "\\u%04x", c);
    else
      g_string_append_c (out, (char) c);
  }
  g_string_append_c (out, '"');
  g_free (valid);
}

/* ---- collecting decisions ----------------------------------------------- */

typedef struct {
  guint64 time;                 /* the buffer's running time */
  int source;
  guint seq;
  char *line;
} Line;

struct _MmCliLines {
  GMutex lock;
  GCond eos_cond;
  guint n_eos;                  /* appsinks that got EOS since the last reset */
  GArray *lines;                /* Line */
  GPtrArray *sorted;            /* borrowed char * */
};

typedef struct {
  MmCliLines *lines;
  int source;
} Tap;

static void
line_clear (gpointer p)
{
  g_free (((Line *) p)->line);
}

MmCliLines *
mm_cli_lines_new (void)
{
  MmCliLines *l = g_new0 (MmCliLines, 1);

  g_mutex_init (&l->lock);
  g_cond_init (&l->eos_cond);
  l->lines = g_array_new (FALSE, FALSE, sizeof (Line));
  g_array_set_clear_func (l->lines, line_clear);
  return l;
}

void
mm_cli_lines_free (MmCliLines *l)
{
  if (!l)
    return;
  g_array_unref (l->lines);
  if (l->sorted)
    g_ptr_array_unref (l->sorted);
  g_cond_clear (&l->eos_cond);
  g_mutex_clear (&l->lock);
  g_free (l);
}

void
mm_cli_lines_reset (MmCliLines *l)
{
  g_mutex_lock (&l->lock);
  g_array_set_size (l->lines, 0);
  g_clear_pointer (&l->sorted, g_ptr_array_unref);
  l->n_eos = 0;
  g_mutex_unlock (&l->lock);
}

gboolean
mm_cli_lines_wait_eos (MmCliLines *l, guint n_sinks, gint64 end_time)
{
  gboolean all;

  g_mutex_lock (&l->lock);
  while (l->n_eos < n_sinks && g_cond_wait_until (&l->eos_cond, &l->lock, end_time))
    ;
  all = l->n_eos >= n_sinks;
  g_mutex_unlock (&l->lock);
  return all;
}

static GstFlowReturn
on_new_sample (GstAppSink *sink, gpointer user_data)
{
  Tap *tap = user_data;
  GstSample *sample = gst_app_sink_pull_sample (sink);
  GstBuffer *buf;
  GstMapInfo map;
  Line line;

  if (!sample)
    return GST_FLOW_EOS;
  buf = gst_sample_get_buffer (sample);
  if (buf && gst_buffer_map (buf, &map, GST_MAP_READ)) {
    gsize n = map.size;

    /* one buffer holds one newline-terminated JSON object */
    while (n > 0 && (map.data[n - 1] == '\n' || map.data[n - 1] == '\0'))
      n--;
    line.time = GST_BUFFER_PTS (buf);
    line.source = tap->source;
    line.line = g_strndup ((const char *) map.data, n);
    gst_buffer_unmap (buf, &map);
    g_mutex_lock (&tap->lines->lock);
    line.seq = tap->lines->lines->len;
    g_array_append_val (tap->lines->lines, line);
    g_mutex_unlock (&tap->lines->lock);
  }
  gst_sample_unref (sample);
  return GST_FLOW_OK;
}

static void
on_eos (GstAppSink *sink, gpointer user_data)
{
  Tap *tap = user_data;

  g_mutex_lock (&tap->lines->lock);
  tap->lines->n_eos++;
  g_cond_broadcast (&tap->lines->eos_cond);
  g_mutex_unlock (&tap->lines->lock);
}

void
mm_cli_lines_attach (MmCliLines *lines, GstElement *appsink, int source)
{
  GstAppSinkCallbacks cb = { .new_sample = on_new_sample, .eos = on_eos };
  Tap *tap = g_new (Tap, 1);

  tap->lines = lines;
  tap->source = source;
  /* decisions are few and small: never drop one, never sync to a clock */
  g_object_set (appsink, "sync", FALSE, "emit-signals", FALSE, NULL);
  gst_app_sink_set_callbacks (GST_APP_SINK (appsink), &cb, tap, g_free);
}

static gint
compare_lines (gconstpointer a, gconstpointer b)
{
  const Line *x = a, *y = b;

  if (x->time != y->time)
    return x->time < y->time ? -1 : 1;
  if (x->source != y->source)
    return x->source - y->source;
  return x->seq < y->seq ? -1 : x->seq > y->seq;
}

GPtrArray *
mm_cli_lines_sorted (MmCliLines *l)
{
  g_mutex_lock (&l->lock);
  g_array_sort (l->lines, compare_lines);
  if (l->sorted)
    g_ptr_array_unref (l->sorted);
  l->sorted = g_ptr_array_new ();
  for (guint i = 0; i < l->lines->len; i++)
    g_ptr_array_add (l->sorted, g_array_index (l->lines, Line, i).line);
  g_mutex_unlock (&l->lock);
  return l->sorted;
}

/* ---- running a pipeline ------------------------------------------------- */

static gint64
pipeline_position (GstElement *pipeline)
{
  gint64 pos = -1;

  if (!gst_element_query_position (pipeline, GST_FORMAT_TIME, &pos))
    pos = -1;
  return pos;
}

static void
take_error (GstMessage *msg, char **err_path, GError **error)
{
  GError *gerr = NULL;
  char *debug = NULL;
  const char *reason;

  gst_message_parse_error (msg, &gerr, &debug);
  /* "Internal data stream error." says little without its reason */
  reason = debug ? strstr (debug, "reason ") : NULL;
  if (reason)
    g_set_error (error, MM_ERROR, MM_ERROR_IO, "%s (%s)", gerr->message, reason);
  else
    g_set_error_literal (error, MM_ERROR, MM_ERROR_IO, gerr->message);
  g_error_free (gerr);
  g_free (debug);
  if (err_path && GST_MESSAGE_SRC (msg))
    *err_path = gst_object_get_path_string (GST_MESSAGE_SRC (msg));
}

gboolean
mm_cli_pipeline_run (GstElement *pipeline, char **err_path, GError **error)
{
  GstBus *bus = gst_element_get_bus (pipeline);
  gboolean ok = FALSE;
  gint64 last_pos = -1;
  GstClockTime still = 0;

  if (err_path)
    *err_path = NULL;
  if (gst_element_set_state (pipeline, GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE) {
    GstMessage *msg = gst_bus_pop_filtered (bus, GST_MESSAGE_ERROR);

    if (msg) {
      take_error (msg, err_path, error);
      gst_message_unref (msg);
    } else {
      g_set_error_literal (error, MM_ERROR, MM_ERROR_IO,
          "the pipeline would not start");
    }
    goto done;
  }
  for (;;) {
    GstMessage *msg = gst_bus_timed_pop_filtered (bus, GST_SECOND,
        GST_MESSAGE_ERROR | GST_MESSAGE_EOS);
    gint64 pos;

    if (msg) {
      ok = GST_MESSAGE_TYPE (msg) == GST_MESSAGE_EOS;
      if (!ok)
        take_error (msg, err_path, error);
      gst_message_unref (msg);
      break;
    }
    /* files are read as fast as they decode: a position that stands still
     * for a minute is a pipeline that will not end */
    pos = pipeline_position (pipeline);
    if (pos != last_pos) {
      last_pos = pos;
      still = 0;
    } else if ((still += GST_SECOND) >= STALL_TIMEOUT) {
      g_set_error (error, MM_ERROR, MM_ERROR_IO,
          "no progress for %d s", (int) (STALL_TIMEOUT / GST_SECOND));
      break;
    }
  }
done:
  gst_element_set_state (pipeline, GST_STATE_NULL);
  gst_object_unref (bus);
  return ok;
}

/* ---- predict ------------------------------------------------------------ */

typedef struct {
  const char *model;
  MmModelSet *models;           /* opened once: its plans say what an input needs */
  gboolean json;
  int failures;
  gboolean fatal;               /* a model error: no use going on */
} Predict;

/* Element names: the prefix tells which input an error came from. */
#define IMAGE_BRANCH \
  "filesrc name=img-src ! decodebin name=img-dec ! videoconvert name=img-conv " \
  "! video/x-raw,format=GRAY8 ! imagefreeze name=img-freeze num-buffers=1 " \
  "! digitimage name=img-digit stable-frames=1 ! mm.image_sink "
#define AUDIO_BRANCH \
  "filesrc name=aud-src ! decodebin name=aud-dec ! audioconvert name=aud-conv " \
  "! audioresample name=aud-resample " \
  "! audio/x-raw,rate=16000,channels=1,format=F32LE ! mfccextract name=aud-mfcc " \
  "! mm.audio_sink "

/* Buffers that reached each branch's converter: zero at EOS means the
 * decoder gave nothing for that file. */
typedef struct {
  gint image, audio;
} Decoded;

static GstElement *
build_predict (const Predict *p, const char *image, const char *audio, MmCliLines *lines,
    Decoded *decoded, GError **error)
{
  char *desc = g_strconcat ("mmclassify name=mm ! appsink name=sink ",
      image ? IMAGE_BRANCH : "", audio ? AUDIO_BRANCH : "", NULL);
  GError *err = NULL;
  GstElement *pipeline = gst_parse_launch (desc, &err), *e;

  g_free (desc);
  if (!pipeline) {
    g_set_error (error, MM_ERROR, MM_ERROR_IO, "could not build the pipeline: %s",
        err ? err->message : "?");
    g_clear_error (&err);
    return NULL;
  }
  g_clear_error (&err);
  mm_media_strict_decoders (pipeline);
  /* file names are set as properties, never pasted into the description,
   * so that any name (spaces, '!', quotes) is taken literally */
  if (image) {
    e = gst_bin_get_by_name (GST_BIN (pipeline), "img-src");
    g_object_set (e, "location", image, NULL);
    gst_object_unref (e);
    e = gst_bin_get_by_name (GST_BIN (pipeline), "img-conv");
    mm_media_count_buffers (e, &decoded->image);
    gst_object_unref (e);
  }
  if (audio) {
    e = gst_bin_get_by_name (GST_BIN (pipeline), "aud-src");
    g_object_set (e, "location", audio, NULL);
    gst_object_unref (e);
    e = gst_bin_get_by_name (GST_BIN (pipeline), "aud-conv");
    mm_media_count_buffers (e, &decoded->audio);
    gst_object_unref (e);
  }
  e = gst_bin_get_by_name (GST_BIN (pipeline), "mm");
  g_object_set (e, "model", p->model, NULL);
  if (image && audio)
    g_object_set (e, "pair-window", PREDICT_PAIR_WINDOW, NULL);
  gst_object_unref (e);
  e = gst_bin_get_by_name (GST_BIN (pipeline), "sink");
  mm_cli_lines_attach (lines, e, 0);
  gst_object_unref (e);
  return pipeline;
}

/* Which input an element belongs to, by its path: 'i', 'a' or 0 (the
 * classifier, ...). */
static char
branch_of (const char *path)
{
  if (path && strstr (path, ":img-"))
    return 'i';
  if (path && strstr (path, ":aud-"))
    return 'a';
  return 0;
}

static void
emit_json_head (GString *s, const char *image, const char *audio)
{
  g_string_append (s, "{\"image\":");
  if (image)
    mm_cli_json_string (s, image);
  else
    g_string_append (s, "null");
  g_string_append (s, ",\"audio\":");
  if (audio)
    mm_cli_json_string (s, audio);
  else
    g_string_append (s, "null");
}

static char *
label_of (const char *image, const char *audio)
{
  if (image && audio)
    return g_strdup_printf ("%s + %s", image, audio);
  return g_strdup (image ? image : audio);
}

/* A result without a decision: a JSON object with "error", or a text line. */
static void
emit_error (const Predict *p, const char *image, const char *audio, const char *what)
{
  if (p->json) {
    GString *s = g_string_new (NULL);

    emit_json_head (s, image, audio);
    g_string_append (s, ",\"error\":");
    mm_cli_json_string (s, what);
    g_string_append (s, "}\n");
    fputs (s->str, stdout);
    g_string_free (s, TRUE);
  } else {
    char *label = label_of (image, audio);

    printf ("%s: %s\n", label, what);
    g_free (label);
  }
}

static void
emit_decision (const Predict *p, const char *image, const char *audio, const char *line,
    gboolean with_time)
{
  JsonParser *parser;
  JsonObject *o;
  char *label;

  if (p->json) {
    GString *s = g_string_new (NULL);

    /* the element's object, with the file names first */
    emit_json_head (s, image, audio);
    if (line[0] == '{' && line[1] != '}')
      g_string_append_c (s, ',');
    g_string_append (s, line + 1);
    g_string_append_c (s, '\n');
    fputs (s->str, stdout);
    g_string_free (s, TRUE);
    return;
  }
  parser = json_parser_new ();
  label = label_of (image, audio);
  if (json_parser_load_from_data (parser, line, -1, NULL)
      && JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser))) {
    o = json_node_get_object (json_parser_get_root (parser));
    printf ("%s: digit %d (%.2f, %s, %s)", label,
        (int) json_object_get_int_member_with_default (o, "digit", -1),
        json_object_get_double_member_with_default (o, "confidence", 0),
        json_object_get_string_member_with_default (o, "modality", "?"),
        json_object_get_string_member_with_default (o, "arch", "?"));
    if (with_time)
      printf (" at %s", json_object_get_string_member_with_default (o, "time", "?"));
    putchar ('\n');
  } else {
    printf ("%s: %s\n", label, line);
  }
  g_free (label);
  g_object_unref (parser);
}

static const char *
nothing_found (const char *image, const char *audio)
{
  if (image && audio)
    return "no digit or word found";
  return image ? "no digit found" : "no word found";
}

/* A file that cannot be classified: one line on stderr, one result.
 * @file: the file @why is about, NULL when @why names it. */
static void
input_failed (Predict *p, const char *image, const char *audio, const char *file,
    const char *why)
{
  char *msg = file ? g_strdup_printf ("%s: %s", file, why) : g_strdup (why);

  mm_cli_fail ("%s", msg);
  /* in text the line on stderr says it all; JSON keeps one result per input */
  if (p->json)
    emit_error (p, image, audio, msg);
  p->failures++;
  g_free (msg);
}

static void
predict_one (Predict *p, const char *image, const char *audio)
{
  MmCliLines *lines;
  MmModelPlan plan;
  GstElement *pipeline;
  Decoded decoded = { 0 };
  char *src = NULL;
  GError *err = NULL;
  GPtrArray *out;

  if ((image && !mm_media_check_file (image, &err))
      || (audio && !mm_media_check_file (audio, &err))) {
    input_failed (p, image, audio, NULL, err->message);     /* it names the file */
    g_error_free (err);
    return;
  }
  /* what the classifier would refuse at start, said before any decoding */
  if (!mm_model_set_plan (p->models, image != NULL, audio != NULL, TRUE, &plan, &err)) {
    mm_cli_fail ("%s", err->message);
    g_error_free (err);
    p->failures++;
    p->fatal = TRUE;
    return;
  }
  lines = mm_cli_lines_new ();
  if (!(pipeline = build_predict (p, image, audio, lines, &decoded, &err))) {
    mm_cli_fail ("%s", err->message);
    p->failures++;
    p->fatal = TRUE;
  } else if (!mm_cli_pipeline_run (pipeline, &src, &err)) {
    char branch = branch_of (src);

    if (branch) {
      /* decodebin found no stream of the kind the branch takes */
      char *why = strstr (err->message, "reason not-linked") ?
          g_strdup (branch == 'i' ? "not an image: no video stream" : "no audio stream") :
          g_strdup_printf ("could not decode: %s", err->message);

      input_failed (p, image, audio, branch == 'i' ? image : audio, why);
      g_free (why);
    } else {
      /* the classifier's models: the same for every input */
      mm_cli_fail ("%s", err->message);
      p->failures++;
      p->fatal = TRUE;
    }
  } else if (image && !g_atomic_int_get (&decoded.image)) {
    input_failed (p, image, audio, image, "could not decode: no picture came out of the "
        "decoder (a truncated or corrupt file?)");
  } else if (audio && !g_atomic_int_get (&decoded.audio)) {
    input_failed (p, image, audio, audio, "could not decode: no audio came out of the "
        "decoder (an empty, truncated or corrupt file?)");
  } else {
    out = mm_cli_lines_sorted (lines);
    if (out->len == 0)
      emit_error (p, image, audio, nothing_found (image, audio));
    for (guint i = 0; i < out->len; i++)
      emit_decision (p, image, audio, g_ptr_array_index (out, i), out->len > 1);
  }
  fflush (stdout);
  g_clear_error (&err);
  g_free (src);
  if (pipeline)
    gst_object_unref (pipeline);
  mm_cli_lines_free (lines);
}

static const char *
list_field (char *s)
{
  g_strstrip (s);
  return (!*s || !strcmp (s, "-")) ? NULL : s;
}

/* --list: "image<TAB>audio" per line, '-' for none; blank lines and lines
 * starting with '#' are skipped. */
static int
predict_list (Predict *p, const char *list)
{
  char *text = NULL, **rows;
  GError *err = NULL;

  if (!g_file_get_contents (list, &text, NULL, &err)) {
    mm_cli_fail ("%s: %s", list, err->message);
    g_error_free (err);
    return MM_EXIT_FAILURE;
  }
  rows = g_strsplit (text, "\n", -1);
  g_free (text);
  for (guint i = 0; rows[i] && !p->fatal; i++) {
    char **cols;
    const char *image, *audio;

    if (!*g_strstrip (rows[i]) || rows[i][0] == '#')
      continue;
    cols = g_strsplit (rows[i], "\t", 3);
    if (g_strv_length (cols) != 2) {
      mm_cli_fail ("%s:%u: expected 'image<TAB>audio' ('-' for none)", list, i + 1);
      p->failures++;
    } else {
      image = list_field (cols[0]);
      audio = list_field (cols[1]);
      if (!image && !audio) {
        mm_cli_fail ("%s:%u: neither an image nor a recording", list, i + 1);
        p->failures++;
      } else {
        predict_one (p, image, audio);
      }
    }
    g_strfreev (cols);
  }
  g_strfreev (rows);
  return p->failures ? MM_EXIT_FAILURE : MM_EXIT_OK;
}

int
mm_cmd_predict (int argc, char **argv)
{
  char *model = NULL, *image = NULL, *audio = NULL, *list = NULL;
  gboolean json = FALSE;
  GOptionEntry entries[] = {
    { "model", 'm', 0, G_OPTION_ARG_FILENAME, &model,
      "model file or directory (default: the installed models, else the source tree's models/)",
      "M" },
    { "image", 'i', 0, G_OPTION_ARG_FILENAME, &image, "an image (or a video: its first frame)",
      "FILE" },
    { "audio", 'a', 0, G_OPTION_ARG_FILENAME, &audio, "a recording of spoken digits", "FILE" },
    { "list", 'l', 0, G_OPTION_ARG_FILENAME, &list,
      "classify each line 'image<TAB>audio' of FILE.tsv ('-' for none)", "FILE.tsv" },
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, "one JSON object per decision", NULL },
    { NULL }
  };
  GOptionContext *ctx = g_option_context_new ("- classify files with the pipeline's elements");
  Predict p = { 0 };
  GError *err = NULL;
  int rc;

  mm_cli_add_entries (ctx, entries, NULL);
  g_option_context_set_description (ctx,
      "An image goes through decodebin ! videoconvert ! imagefreeze num-buffers=1 !\n"
      "digitimage stable-frames=1, a recording through decodebin ! audioconvert !\n"
      "audioresample ! mfccextract, both into one mmclassify (pair-window 60 s, so\n"
      "that the still image pairs with a word anywhere in the recording; without\n"
      "a hybrid network each is classified alone).\n"
      "Output: 'FILE: digit 7 (0.98, image, ImageNet_CNN)' per decision, or with\n"
      "--json the element's JSON object plus \"image\" and \"audio\". A recording\n"
      "without a word (an image without a digit) gives a result with \"error\".\n"
      "Exit status 1 if any input could not be read or decoded.");
  if (!mm_cli_parse (ctx, &argc, &argv)) {
    rc = MM_EXIT_USAGE;
    goto out;
  }
  if (argc > 1 || (!list && !image && !audio) || (list && (image || audio))) {
    fprintf (stderr, "mmdigits: predict takes --image and/or --audio, or --list (see --help)\n");
    rc = MM_EXIT_USAGE;
    goto out;
  }
  p.model = mm_cli_model_path (model);
  p.json = json;
  if (!mm_cli_gst_ready (&err) || !(p.models = mm_model_set_open (p.model, &err))) {
    rc = mm_cli_fail ("%s", err->message);
    g_error_free (err);
    goto out;
  }
  if (list) {
    rc = predict_list (&p, list);
  } else {
    predict_one (&p, image, audio);
    rc = p.failures ? MM_EXIT_FAILURE : MM_EXIT_OK;
  }
out:
  if (p.models)
    mm_model_set_free (p.models);
  g_free ((char *) p.model);
  g_free (model);
  g_free (image);
  g_free (audio);
  g_free (list);
  g_option_context_free (ctx);
  return rc;
}
