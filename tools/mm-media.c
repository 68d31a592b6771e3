/* Decoding media files with GStreamer (see mm-media.h). */
#include "mm-media.h"

#include <gst/app/gstappsink.h>
#include <gst/gst.h>
#include <gst/video/video.h>
#include <string.h>

#include "mm-error.h"

/* A pipeline that makes no progress for this long is stuck (a decoder that
 * neither errors nor ends): give up rather than hang the CLI. */
#define STALL_TIMEOUT (30 * GST_SECOND)
#define POLL_INTERVAL (100 * GST_MSECOND)

#define AUDIO_PIPELINE \
  "filesrc name=src ! decodebin ! audioconvert ! audioresample ! " \
  "audio/x-raw,format=F32LE,rate=16000,channels=1,layout=interleaved ! " \
  "appsink name=sink sync=false"
#define IMAGE_PIPELINE \
  "filesrc name=src ! decodebin ! videoconvert ! video/x-raw,format=GRAY8 ! " \
  "appsink name=sink sync=false max-buffers=1"

typedef struct {
  GstElement *pipeline;
  GstAppSink *sink;
  GstBus *bus;
} Run;

static gboolean
ensure_gst (GError **error)
{
  static gsize done = 0;
  static GError *init_error = NULL;

  if (g_once_init_enter (&done)) {
    gst_init_check (NULL, NULL, &init_error);
    g_once_init_leave (&done, 1);
  }
  if (init_error) {
    g_set_error (error, MM_ERROR, MM_ERROR_IO, "GStreamer could not be initialised: %s",
        init_error->message);
    return FALSE;
  }
  return TRUE;
}

static void
decode_error (GError **error, const char *path, const char *why)
{
  g_set_error (error, MM_ERROR, MM_ERROR_IO, "%s: could not decode: %s", path, why);
}

/* Turns the first ERROR message on the bus (if any) into @error. */
static gboolean
take_bus_error (Run *r, const char *path, GError **error)
{
  GstMessage *msg = gst_bus_pop_filtered (r->bus, GST_MESSAGE_ERROR);
  GError *gerr = NULL;

  if (!msg)
    return FALSE;
  gst_message_parse_error (msg, &gerr, NULL);
  decode_error (error, path, gerr->message);
  g_error_free (gerr);
  gst_message_unref (msg);
  return TRUE;
}

static void
run_stop (Run *r)
{
  if (r->pipeline) {
    gst_element_set_state (r->pipeline, GST_STATE_NULL);
    gst_object_unref (r->pipeline);
  }
  g_clear_pointer (&r->sink, gst_object_unref);
  g_clear_pointer (&r->bus, gst_object_unref);
  memset (r, 0, sizeof *r);
}

static gboolean
run_start (Run *r, const char *description, const char *path, GError **error)
{
  GstElement *src;
  GError *gerr = NULL;

  memset (r, 0, sizeof *r);
  if (!ensure_gst (error))
    return FALSE;
  /* a file that is not there fails more clearly here than from filesrc */
  if (!g_file_test (path, G_FILE_TEST_IS_REGULAR)) {
    decode_error (error, path, "no such file");
    return FALSE;
  }
  r->pipeline = gst_parse_launch (description, &gerr);
  if (!r->pipeline) {
    decode_error (error, path, gerr ? gerr->message : "could not build the pipeline");
    g_clear_error (&gerr);
    return FALSE;
  }
  g_clear_error (&gerr);   /* missing-plugin warnings surface at run time */
  r->sink = GST_APP_SINK (gst_bin_get_by_name (GST_BIN (r->pipeline), "sink"));
  r->bus = gst_element_get_bus (r->pipeline);
  /* the location is set as a property, never pasted into the description,
   * so that any file name (spaces, '!', quotes) is taken literally */
  src = gst_bin_get_by_name (GST_BIN (r->pipeline), "src");
  g_object_set (src, "location", path, NULL);
  gst_object_unref (src);
  if (gst_element_set_state (r->pipeline, GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE) {
    if (!take_bus_error (r, path, error))
      decode_error (error, path, "the pipeline would not start");
    run_stop (r);
    return FALSE;
  }
  return TRUE;
}

/* Next sample, or NULL at EOS (*eos set) or on error (@error set). */
static GstSample *
run_pull (Run *r, const char *path, gboolean *eos, GError **error)
{
  GstClockTime waited = 0;

  *eos = FALSE;
  while (waited < STALL_TIMEOUT) {
    GstSample *s = gst_app_sink_try_pull_sample (r->sink, POLL_INTERVAL);
    if (s)
      return s;
    if (take_bus_error (r, path, error))
      return NULL;
    if (gst_app_sink_is_eos (r->sink)) {
      *eos = TRUE;
      return NULL;
    }
    waited += POLL_INTERVAL;
  }
  decode_error (error, path, "no data for 30 s");
  return NULL;
}

gboolean
mm_media_decode_audio (const char *path, float **samples, size_t *n_samples, GError **error)
{
  GByteArray *bytes;
  GstSample *s;
  gboolean eos = FALSE;
  Run r;

  *samples = NULL;
  *n_samples = 0;
  if (!run_start (&r, AUDIO_PIPELINE, path, error))
    return FALSE;
  bytes = g_byte_array_new ();
  while ((s = run_pull (&r, path, &eos, error))) {
    GstBuffer *buf = gst_sample_get_buffer (s);
    GstMapInfo map;
    if (buf && gst_buffer_map (buf, &map, GST_MAP_READ)) {
      g_byte_array_append (bytes, map.data, (guint) map.size);
      gst_buffer_unmap (buf, &map);
    }
    gst_sample_unref (s);
  }
  run_stop (&r);
  if (!eos) {
    g_byte_array_free (bytes, TRUE);
    return FALSE;
  }
  if (bytes->len < sizeof (float)) {
    g_byte_array_free (bytes, TRUE);
    decode_error (error, path, "no audio samples");
    return FALSE;
  }
  *n_samples = bytes->len / sizeof (float);
  *samples = (float *) g_byte_array_free (bytes, FALSE);
  return TRUE;
}

static gboolean
copy_gray_frame (GstSample *s, const char *path, guint8 **gray, int *width, int *height,
    GError **error)
{
  GstVideoInfo info;
  GstVideoFrame frame;
  GstBuffer *buf = gst_sample_get_buffer (s);
  GstCaps *caps = gst_sample_get_caps (s);

  if (!buf || !caps || !gst_video_info_from_caps (&info, caps)
      || !gst_video_frame_map (&frame, &info, buf, GST_MAP_READ)) {
    decode_error (error, path, "the decoded frame could not be read");
    return FALSE;
  }
  *width = GST_VIDEO_FRAME_WIDTH (&frame);
  *height = GST_VIDEO_FRAME_HEIGHT (&frame);
  *gray = g_new (guint8, (size_t) *width * *height);
  /* rows of a GRAY8 frame are padded to 4 bytes: pack them */
  for (int y = 0; y < *height; y++)
    memcpy (*gray + (size_t) y * *width, (const guint8 *) GST_VIDEO_FRAME_PLANE_DATA (&frame, 0)
        + (size_t) y * GST_VIDEO_FRAME_PLANE_STRIDE (&frame, 0), *width);
  gst_video_frame_unmap (&frame);
  return TRUE;
}

gboolean
mm_media_decode_image (const char *path, guint8 **gray, int *width, int *height,
    GError **error)
{
  GstSample *s;
  gboolean eos = FALSE, ok;
  Run r;

  *gray = NULL;
  *width = *height = 0;
  if (!run_start (&r, IMAGE_PIPELINE, path, error))
    return FALSE;
  s = run_pull (&r, path, &eos, error);
  if (!s) {
    if (eos)
      decode_error (error, path, "no video frame");
    run_stop (&r);
    return FALSE;
  }
  ok = copy_gray_frame (s, path, gray, width, height, error);
  gst_sample_unref (s);
  run_stop (&r);
  return ok;
}
