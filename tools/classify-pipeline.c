/* mmdigits CLI — classifying through the GStreamer plugin, for predict and
 * batch (mm-cli.h): finding the plugin, the model path, the description of
 * the classifier pipeline (one function for both), running a pipeline to
 * EOS and collecting mmclassify's JSON lines. Which network serves what is
 * the core's model set's decision (mm-modelset.h), the same in mmclassify. */
#include "mm-config.h"

#if MM_CLI_GST
#include <gst/app/gstappsink.h>
#include <gst/gst.h>
#endif
#include <string.h>

#include "mm-cli.h"
#include "mm-error.h"
#include "mm-modelset.h"
#include "mm-paths.h"

/* Without GStreamer (MM_CLI_GST 0) only the model path and JSON helpers
 * below are built: eval and figures use them. */
/* The directory this executable runs from (resolving symlinks), or NULL. */
static char *
exe_dir (void)
{
  char *exe = g_file_read_link ("/proc/self/exe", NULL);
  char *dir = exe ? g_path_get_dirname (exe) : NULL;
  g_free (exe);
  return dir;
}

#if MM_CLI_GST
/* A pipeline whose position has not moved for this long is stuck. */
#define STALL_TIMEOUT (60 * GST_SECOND)

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

#endif

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

    /* the set reads its roles file too: an output over it would leave a
     * set whose next open fails */
    while (d && (name = g_dir_read_name (d)))
      if (g_str_has_suffix (name, ".safetensors") || !strcmp (name, "roles.json")) {
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

#if MM_CLI_GST
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

char *
mm_cli_gst_error_text (GstMessage *msg, gboolean with_reason)
{
  GError *gerr = NULL;
  char *debug = NULL, *text;
  const char *reason;

  gst_message_parse_error (msg, &gerr, &debug);
  /* "Internal data stream error." says little without its reason */
  reason = debug && with_reason ? strstr (debug, "reason ") : NULL;
  if (reason)
    text = g_strdup_printf ("%s (%s)", gerr->message, reason);
  else
    text = g_strdup (gerr->message);
  g_error_free (gerr);
  g_free (debug);
  return text;
}

static void
take_error (GstMessage *msg, char **err_path, GError **error)
{
  char *text = mm_cli_gst_error_text (msg, TRUE);

  g_set_error_literal (error, MM_ERROR, MM_ERROR_IO, text);
  g_free (text);
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

#endif

/* ---- the classifier pipeline ------------------------------------------ */

char *
mm_cli_classifier_description (const char *image_src, gboolean still, const char *audio_src,
    const char *sink)
{
  GString *d = g_string_new (NULL);

  g_string_append_printf (d, "mmclassify name=mm ! %s ", sink ? sink : "appsink name=sink");

  /* "" for a source: the branch starts at its converter, to be fed by a pad */
  if (image_src)
    g_string_append_printf (d, "%s%svideoconvert name=img-conv ! video/x-raw,format=GRAY8 ! %s "
        "! mm.image_sink ", image_src, *image_src ? " ! " : "", still ? "imagefreeze name=img-freeze num-buffers=1 "
        "! digitimage name=img-digit stable-frames=1" : "digitimage name=img-digit");
  if (audio_src)
    g_string_append_printf (d, "%s%saudioconvert name=aud-conv ! audioresample name=aud-resample "
        "! audio/x-raw,rate=%d,channels=1,format=F32LE ! mfccextract name=aud-mfcc "
        "! mm.audio_sink ", audio_src, *audio_src ? " ! " : "", MM_AUDIO_RATE);
  return g_string_free (d, FALSE);
}
