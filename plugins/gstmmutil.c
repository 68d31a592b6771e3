#include "gstmmutil.h"

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
