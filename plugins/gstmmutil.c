#include "gstmmutil.h"

#include "mm-threads.h"

GstStructure *
gst_mm_timed_structure_new (const gchar * name, const GstSegment * segment,
    GstClockTime pts, GstClockTime duration)
{
  GstClockTime stream_time = GST_CLOCK_TIME_NONE;
  GstClockTime running_time = GST_CLOCK_TIME_NONE;

  if (segment->format == GST_FORMAT_TIME && GST_CLOCK_TIME_IS_VALID (pts)) {
    stream_time = gst_segment_to_stream_time (segment, GST_FORMAT_TIME, pts);
    running_time = gst_segment_to_running_time (segment, GST_FORMAT_TIME, pts);
  }
  return gst_structure_new (name,
      "timestamp", G_TYPE_UINT64, pts,
      "stream-time", G_TYPE_UINT64, stream_time,
      "running-time", G_TYPE_UINT64, running_time,
      "duration", G_TYPE_UINT64, duration, NULL);
}

GstClockTime
gst_mm_pairing_key (const GstSegment * segment, GstClockTime pts,
    GstClockTime duration, gboolean audio)
{
  if (segment->format != GST_FORMAT_TIME || !GST_CLOCK_TIME_IS_VALID (pts))
    return GST_CLOCK_TIME_NONE;
  if (audio)
    pts += (GST_CLOCK_TIME_IS_VALID (duration) ? duration : GST_MM_MFCC_BLOCK_DURATION) / 2;
  return gst_segment_to_running_time (segment, GST_FORMAT_TIME, pts);
}

gboolean
gst_mm_keys_within (GstClockTime a, GstClockTime b, GstClockTime window)
{
  if (!GST_CLOCK_TIME_IS_VALID (a) || !GST_CLOCK_TIME_IS_VALID (b))
    return FALSE;
  return (a > b ? a - b : b - a) <= window;
}

static gchar *plugin_dir;

void
gst_mm_plugin_dir_set (GstPlugin * plugin)
{
  const gchar *file = gst_plugin_get_filename (plugin);

  if (file && !plugin_dir)
    plugin_dir = g_path_get_dirname (file);
}

const gchar *
gst_mm_plugin_dir (void)
{
  return plugin_dir;
}

/* ---- the audio front end in the caps -------------------------------- */

GstCaps *
gst_mm_mfcc_caps_new (const MmMfccParams * p)
{
  gchar *views = mm_mfcc_views_to_string (p);
  GstCaps *caps = gst_caps_new_simple ("audio/x-mfcc",
      "frames", G_TYPE_INT, mm_mfcc_params_block_frames (p),
      "coefficients", G_TYPE_INT, p->n_coeffs,
      "format", G_TYPE_STRING, "F32LE",
      "rate", G_TYPE_INT, p->sample_rate,
      "frame-length", G_TYPE_INT, p->frame_len,
      "frame-step", G_TYPE_INT, p->frame_step,
      "nfft", G_TYPE_INT, p->nfft,
      "filters", G_TYPE_INT, p->n_filters,
      "low-freq", G_TYPE_DOUBLE, mm_float_decimal (p->low_freq),
      "high-freq", G_TYPE_DOUBLE, mm_float_decimal (p->high_freq),
      "preemphasis", G_TYPE_DOUBLE, mm_float_decimal (p->preemph),
      "lifter", G_TYPE_INT, p->lifter,
      "energy", G_TYPE_BOOLEAN, p->append_energy,
      "dc-block", G_TYPE_BOOLEAN, p->dc_block,
      "cmvn", G_TYPE_STRING, mm_cmvn_name (p->cmvn),
      "views", G_TYPE_STRING, views, NULL);

  g_free (views);
  return caps;
}

static gboolean
caps_int (const GstStructure * s, const gchar * field, gint * v, GError ** error)
{
  if (!gst_structure_has_field (s, field))
    return TRUE;
  if (gst_structure_get_int (s, field, v))
    return TRUE;
  g_set_error (error, GST_CORE_ERROR, GST_CORE_ERROR_NEGOTIATION,
      "audio/x-mfcc field %s is not a fixed int", field);
  return FALSE;
}

static gboolean
caps_float (const GstStructure * s, const gchar * field, gfloat * v, GError ** error)
{
  gdouble d;

  if (!gst_structure_has_field (s, field))
    return TRUE;
  if (gst_structure_get_double (s, field, &d)) {
    *v = (gfloat) d;
    return TRUE;
  }
  g_set_error (error, GST_CORE_ERROR, GST_CORE_ERROR_NEGOTIATION,
      "audio/x-mfcc field %s is not a fixed double", field);
  return FALSE;
}

static gboolean
caps_bool (const GstStructure * s, const gchar * field, gboolean * v, GError ** error)
{
  if (!gst_structure_has_field (s, field))
    return TRUE;
  if (gst_structure_get_boolean (s, field, v))
    return TRUE;
  g_set_error (error, GST_CORE_ERROR, GST_CORE_ERROR_NEGOTIATION,
      "audio/x-mfcc field %s is not a fixed boolean", field);
  return FALSE;
}

gboolean
gst_mm_mfcc_params_from_caps (const GstCaps * caps, MmMfccParams * p, GError ** error)
{
  const GstStructure *s;
  const gchar *cmvn;
  gint frames = -1;
  MmMfccParams q;
  gboolean ok;

  if (!caps || gst_caps_get_size (caps) != 1
      || !gst_structure_has_name ((s = gst_caps_get_structure (caps, 0)), "audio/x-mfcc")) {
    g_set_error (error, GST_CORE_ERROR, GST_CORE_ERROR_NEGOTIATION,
        "not one audio/x-mfcc structure");
    return FALSE;
  }
  mm_mfcc_params_init (&q);
  ok = caps_int (s, "rate", &q.sample_rate, error)
      && caps_int (s, "frame-length", &q.frame_len, error)
      && caps_int (s, "frame-step", &q.frame_step, error)
      && caps_int (s, "nfft", &q.nfft, error)
      && caps_int (s, "filters", &q.n_filters, error)
      && caps_int (s, "coefficients", &q.n_coeffs, error)
      && caps_float (s, "low-freq", &q.low_freq, error)
      && caps_float (s, "high-freq", &q.high_freq, error)
      && caps_float (s, "preemphasis", &q.preemph, error)
      && caps_int (s, "lifter", &q.lifter, error)
      && caps_bool (s, "energy", &q.append_energy, error)
      && caps_bool (s, "dc-block", &q.dc_block, error)
      && caps_int (s, "frames", &frames, error);
  if (!ok)
    return FALSE;
  cmvn = gst_structure_get_string (s, "cmvn");
  if (gst_structure_has_field (s, "cmvn") && (!cmvn || !mm_cmvn_from_name (cmvn, &q.cmvn))) {
    g_set_error (error, GST_CORE_ERROR, GST_CORE_ERROR_NEGOTIATION,
        "audio/x-mfcc field cmvn is not none, mean or mean+var");
    return FALSE;
  }
  if (gst_structure_has_field (s, "views")) {
    const gchar *views = gst_structure_get_string (s, "views");
    GError *err = NULL;

    if (!views || !mm_mfcc_views_from_string (views, &q, &err)) {
      g_set_error (error, GST_CORE_ERROR, GST_CORE_ERROR_NEGOTIATION,
          "audio/x-mfcc field views: %s", err ? err->message : "not a string");
      g_clear_error (&err);
      return FALSE;
    }
  }
  if (!mm_mfcc_params_check (&q, error))
    return FALSE;
  if (frames != -1 && frames != mm_mfcc_params_block_frames (&q)) {
    g_set_error (error, GST_CORE_ERROR, GST_CORE_ERROR_NEGOTIATION,
        "audio/x-mfcc says frames=%d, its other fields give %d", frames,
        mm_mfcc_params_block_frames (&q));
    return FALSE;
  }
  *p = q;
  return TRUE;
}

void
gst_mm_warn_threads_env (GstElement * element)
{
  GError *err = NULL;
  int n;

  if (mm_threads_env (&n, &err))
    return;
  GST_ELEMENT_WARNING (element, LIBRARY, SETTINGS, ("%s; using every core (%u).",
          err->message, g_get_num_processors ()), (NULL));
  g_error_free (err);
}

gboolean
gst_mm_mfcc_stream_fits (const MmMfccParams * model, const MmMfccParams * stream,
    gboolean views, gchar ** what)
{
  MmMfccParams s = *stream;

  s.word_cut = model->word_cut;
  return views ? mm_mfcc_params_equal (model, &s, what)
      : mm_mfcc_params_equal_blocks (model, &s, what);
}
