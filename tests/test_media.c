/* tools/mm-media.c: WAV files read without a pipeline (libsndfile +
 * GstAudioConverter with audioconvert's and audioresample's settings) give
 * the samples of the pipeline `decodebin ! audioconvert ! audioresample`,
 * bit for bit — the promise that lets eval, train and batch skip the
 * pipeline for them; and libsndfile alone (a build without GStreamer) gives
 * the same samples for the 16 kHz mono files it reads. */
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <sndfile.h>
#include <string.h>

#include <gst/app/gstappsink.h>
#include <gst/app/gstappsrc.h>
#include <gst/gst.h>
#include <gst/video/video.h>

#include "mm-media.h"
#include "mm-test-util.h"

static char *tmpdir;

/* A 16-bit PCM WAV of @seconds at @rate with @channels: a chirp, a second
 * tone on the right channel and a little noise, so that resampling and
 * downmixing both matter. */
static char *
write_wav (const char *name, int rate, int channels, double seconds)
{
  char *path = g_build_filename (tmpdir, name, NULL);
  SF_INFO info = { .samplerate = rate, .channels = channels,
    .format = SF_FORMAT_WAV | SF_FORMAT_PCM_16 };
  SNDFILE *sf = sf_open (path, SFM_WRITE, &info);
  sf_count_t n = (sf_count_t) (seconds * rate);
  short *x = g_new (short, (size_t) n * channels);
  guint32 seed = 12345;

  ck_assert_msg (sf != NULL, "%s: %s", path, sf_strerror (NULL));
  for (sf_count_t i = 0; i < n; i++) {
    double t = (double) i / rate, f = 200 + 1800 * t / seconds;

    for (int c = 0; c < channels; c++) {
      seed = seed * 1664525u + 1013904223u;
      x[i * channels + c] = (short) (12000 * sin (2 * G_PI * (c ? 1.7 * f : f) * t)
          + (int) (seed >> 22) - 512);
    }
  }
  ck_assert_int_eq (sf_writef_short (sf, x, n), n);
  sf_close (sf);
  g_free (x);
  return path;
}

/* @a [@na] and @b [@nb] are the same floats, bit for bit; frees both. */
static void
assert_same_samples (const char *path, float *a, size_t na, const char *how_a, float *b,
    size_t nb, const char *how_b)
{
  ck_assert_msg (na == nb, "%s: %zu samples %s, %zu %s", path, na, how_a, nb, how_b);
  for (size_t i = 0; i < na; i++)
    ck_assert_msg (memcmp (&a[i], &b[i], sizeof (float)) == 0,
        "%s: sample %zu: %.9g %s, %.9g %s", path, i, a[i], how_a, b[i], how_b);
  g_free (a);
  g_free (b);
}

/* Both ways agree on every sample of @path. */
static void
check_same (const char *path)
{
  float *a = NULL, *b = NULL;
  size_t na = 0, nb = 0;
  gboolean handled = FALSE;
  GError *err = NULL;

  ck_assert_msg (mm_media_read_wav (path, 0, &a, &na, &handled, &err), "%s",
      err ? err->message : "?");
  ck_assert_msg (handled, "%s: not read by libsndfile", path);
  ck_assert_msg (mm_media_decode_audio_pipeline (path, &b, &nb, &err), "%s",
      err ? err->message : "?");
  assert_same_samples (path, a, na, "read", b, nb, "from the pipeline");
}

START_TEST (test_generated)
{
  static const struct { int rate, channels; double seconds; } cases[] = {
    { 8000, 1, 1.3 }, { 8000, 2, 0.7 }, { 16000, 1, 1.1 }, { 16000, 2, 0.5 },
    { 22050, 1, 2.2 }, { 44100, 2, 1.0 }, { 48000, 1, 0.01 }, { 11025, 2, 9.5 },
    /* 4.8 MB, over the 4 MiB that are read whole and given to libsndfile
     * from memory: libsndfile opens this one itself */
    { 48000, 2, 25.0 },
  };

  for (guint k = 0; k < G_N_ELEMENTS (cases); k++) {
    char name[64], *path;

    g_snprintf (name, sizeof name, "t%u_%d_%d.wav", k, cases[k].rate, cases[k].channels);
    path = write_wav (name, cases[k].rate, cases[k].channels, cases[k].seconds);
    check_same (path);
    g_free (path);
  }
}
END_TEST

/* Real recordings: every 10th FSDD file (8 kHz, mono); every Nth with
 * MM_TEST_MEDIA_EVERY=N (1: all of them). */
START_TEST (test_fsdd)
{
  char *data = mm_test_data_dir ();
  char *dir = data ? g_build_filename (data, "fsdd", "recordings", NULL) : NULL;
  GDir *d = dir ? g_dir_open (dir, 0, NULL) : NULL;
  const char *name;
  const char *every_env = g_getenv ("MM_TEST_MEDIA_EVERY");
  int k = 0, checked = 0, every = every_env ? MAX (atoi (every_env), 1) : 10;

  g_free (data);
  if (!d) {
    printf ("skipped: no data (no FSDD recordings)\n");
    g_free (dir);
    return;
  }
  while ((name = g_dir_read_name (d)))
    if (g_str_has_suffix (name, ".wav") && k++ % every == 0) {
      char *path = g_build_filename (dir, name, NULL);

      check_same (path);
      checked++;
      g_free (path);
    }
  g_dir_close (d);
  printf ("%d FSDD recordings: identical samples\n", checked);
  g_free (dir);
}
END_TEST

/* Not a 16-bit PCM WAV: left to the pipeline; a longer one than asked too. */
START_TEST (test_not_handled)
{
  char *txt = g_build_filename (tmpdir, "junk.wav", NULL), *wav;
  float *x = NULL;
  size_t n = 0;
  gboolean handled = TRUE;
  GError *err = NULL;

  g_file_set_contents (txt, "not media", -1, NULL);
  ck_assert (mm_media_read_wav (txt, 0, &x, &n, &handled, &err));
  ck_assert (!handled && x == NULL);
  wav = write_wav ("long.wav", 8000, 1, 2.0);
  ck_assert (mm_media_read_wav (wav, 1.5, &x, &n, &handled, &err));
  ck_assert (!handled && x == NULL);
  ck_assert (mm_media_read_wav (wav, 2.5, &x, &n, &handled, &err) && handled);
  ck_assert_uint_gt (n, 31000);
  g_free (x);
  g_free (txt);
  g_free (wav);
}
END_TEST

/* @path read by mm_media_read_wav_plain (libsndfile alone, the reader of a
 * build without GStreamer) and by mm_media_read_wav (GstAudioConverter):
 * the same samples, bit for bit. */
static void
check_plain_same (const char *path)
{
  float *a = NULL, *b = NULL;
  size_t na = 0, nb = 0;
  gboolean handled = FALSE;
  GError *err = NULL;

  ck_assert_msg (mm_media_read_wav_plain (path, 0, &a, &na, &handled, &err) && handled, "%s: %s",
      path, err ? err->message : "not handled");
  ck_assert_msg (mm_media_read_wav (path, 0, &b, &nb, &handled, &err) && handled, "%s: %s",
      path, err ? err->message : "not handled");
  assert_same_samples (path, a, na, "without GStreamer", b, nb, "with it");
}

START_TEST (test_plain_reader)
{
  char *path = write_wav ("plain.wav", 16000, 1, 1.1), *other;
  SF_INFO info = { .samplerate = 16000, .channels = 1, .format = SF_FORMAT_WAV | SF_FORMAT_PCM_16 };
  short all[65536];
  SNDFILE *sf;
  float *x = NULL;
  size_t n = 0;
  gboolean handled = TRUE;
  GError *err = NULL;

  check_plain_same (path);
  g_free (path);
  /* every 16-bit value once, the extremes included */
  for (int v = 0; v < 65536; v++)
    all[v] = (short) (v - 32768);
  path = g_build_filename (tmpdir, "all.wav", NULL);
  sf = sf_open (path, SFM_WRITE, &info);
  ck_assert (sf != NULL);
  ck_assert_int_eq (sf_writef_short (sf, all, 65536), 65536);
  sf_close (sf);
  check_plain_same (path);
  g_free (path);
  /* another rate or two channels need GStreamer's resampler or down-mix */
  other = write_wav ("plain8k.wav", 8000, 1, 0.5);
  ck_assert (mm_media_read_wav_plain (other, 0, &x, &n, &handled, &err) && !handled && !x);
  g_free (other);
  other = write_wav ("plain2ch.wav", 16000, 2, 0.5);
  ck_assert (mm_media_read_wav_plain (other, 0, &x, &n, &handled, &err) && !handled && !x);
  g_free (other);
}
END_TEST

/* Whether videoconvert's GRAY8 of a random 320 × 240 frame of @caps is
 * its luma plane, byte for byte. */
static gboolean
converts_to_luma (const char *caps_str)
{
  GstCaps *caps = gst_caps_from_string (caps_str);
  GstElement *p = gst_parse_launch ("appsrc name=src format=time ! videoconvert "
      "! video/x-raw,format=GRAY8 ! appsink name=sink sync=false", NULL);
  GstElement *src = gst_bin_get_by_name (GST_BIN (p), "src");
  GstElement *sink = gst_bin_get_by_name (GST_BIN (p), "sink");
  GstVideoInfo in, out;
  GstVideoFrame f, g;
  GstBuffer *buf;
  GstSample *sample;
  gboolean same = TRUE;
  guint32 seed = 99;

  ck_assert (gst_video_info_from_caps (&in, caps));
  buf = gst_buffer_new_allocate (NULL, GST_VIDEO_INFO_SIZE (&in), NULL);
  gst_video_frame_map (&f, &in, buf, GST_MAP_WRITE);
  for (guint k = 0; k < GST_VIDEO_FRAME_N_PLANES (&f); k++)
    for (int y = 0; y < GST_VIDEO_FRAME_COMP_HEIGHT (&f, k == 0 ? 0 : 1); y++)
      for (int x = 0; x < GST_VIDEO_FRAME_PLANE_STRIDE (&f, k); x++) {
        seed = seed * 1664525u + 1013904223u;
        ((guint8 *) GST_VIDEO_FRAME_PLANE_DATA (&f, k))[y * GST_VIDEO_FRAME_PLANE_STRIDE (&f, k)
            + x] = seed >> 24;
      }
  gst_video_frame_unmap (&f);
  GST_BUFFER_PTS (buf) = 0;
  g_object_set (src, "caps", caps, NULL);
  gst_element_set_state (p, GST_STATE_PLAYING);
  gst_app_src_push_buffer (GST_APP_SRC (src), gst_buffer_ref (buf));
  gst_app_src_end_of_stream (GST_APP_SRC (src));
  sample = gst_app_sink_try_pull_sample (GST_APP_SINK (sink), 10 * GST_SECOND);
  ck_assert_msg (sample != NULL, "%s: no frame out of videoconvert", caps_str);
  ck_assert (gst_video_info_from_caps (&out, gst_sample_get_caps (sample)));
  gst_video_frame_map (&f, &in, buf, GST_MAP_READ);
  gst_video_frame_map (&g, &out, gst_sample_get_buffer (sample), GST_MAP_READ);
  for (int y = 0; y < GST_VIDEO_INFO_HEIGHT (&in); y++)
    same &= memcmp ((guint8 *) GST_VIDEO_FRAME_PLANE_DATA (&f, 0)
        + y * GST_VIDEO_FRAME_PLANE_STRIDE (&f, 0), (guint8 *) GST_VIDEO_FRAME_PLANE_DATA (&g, 0)
        + y * GST_VIDEO_FRAME_PLANE_STRIDE (&g, 0), GST_VIDEO_INFO_WIDTH (&in)) == 0;
  gst_video_frame_unmap (&f);
  gst_video_frame_unmap (&g);
  gst_sample_unref (sample);
  gst_element_set_state (p, GST_STATE_NULL);
  gst_buffer_unref (buf);
  gst_object_unref (src);
  gst_object_unref (sink);
  gst_object_unref (p);
  gst_caps_unref (caps);
  return same;
}

/* mm_media_luma_is_gray8 says what videoconvert does to a whole frame of
 * random bytes, for formats and colorimetries where it copies the luma
 * plane and where it converts it (both must occur, or the test proves
 * nothing); formats without a luma plane are never a copy. */
START_TEST (test_luma_is_gray8)
{
  const char *formats[] = { "I420", "NV12", "Y444" };
  const char *colorimetries[] = { "bt601", "jpeg", "bt709", "bt2020", "smpte240m" };
  int copies = 0, conversions = 0;

  gst_init (NULL, NULL);
  for (guint i = 0; i < G_N_ELEMENTS (formats); i++)
    for (guint k = 0; k < G_N_ELEMENTS (colorimetries); k++) {
      char *str = g_strdup_printf ("video/x-raw, format=%s, width=320, height=240, "
          "framerate=10/1, colorimetry=%s", formats[i], colorimetries[k]);
      GstCaps *caps = gst_caps_from_string (str);
      gboolean copy = converts_to_luma (str);

      ck_assert_msg (mm_media_luma_is_gray8 (caps) == copy, "%s: videoconvert %s", str,
          copy ? "copies the luma plane" : "converts it");
      copies += copy;
      conversions += !copy;
      gst_caps_unref (caps);
      g_free (str);
    }
  ck_assert_msg (copies > 0 && conversions > 0, "%d copies, %d conversions", copies,
      conversions);
  {
    GstCaps *rgb = gst_caps_from_string ("video/x-raw, format=RGB, width=320, height=240");
    GstCaps *gray = gst_caps_from_string ("video/x-raw, format=GRAY8, width=320, height=240");

    ck_assert (!mm_media_luma_is_gray8 (rgb));
    ck_assert (!mm_media_luma_is_gray8 (gray));
    gst_caps_unref (rgb);
    gst_caps_unref (gray);
  }
  {
    /* YUV9's luma plane is what videoconvert makes of a BT.601 frame, but
     * digitimage does not take YUV9: its sink pad template decides */
    const char *str = "video/x-raw, format=YUV9, width=320, height=240, framerate=10/1, "
        "colorimetry=bt601";
    GstCaps *yuv9 = gst_caps_from_string (str);

    ck_assert_msg (converts_to_luma (str), "%s: videoconvert converts it", str);
    ck_assert (!mm_media_luma_is_gray8 (yuv9));
    gst_caps_unref (yuv9);
  }
}
END_TEST

/* Every format digitimage's sink pad template offers besides GRAY8 is one
 * whose first plane is the 8-bit luma, a byte a pixel: what its luma
 * property reads, and the list mm_media_luma_is_gray8 takes. */
START_TEST (test_digitimage_luma_formats)
{
  GstElementFactory *factory;
  guint n = 0;

  gst_init (NULL, NULL);
  factory = gst_element_factory_find ("digitimage");
  ck_assert_msg (factory != NULL, "digitimage not in the registry (GST_PLUGIN_PATH_1_0)");
  for (const GList *l = gst_element_factory_get_static_pad_templates (factory); l; l = l->next) {
    GstStaticPadTemplate *t = l->data;
    GstCaps *caps;

    if (t->direction != GST_PAD_SINK)
      continue;
    caps = gst_static_caps_get (&t->static_caps);
    for (guint i = 0; i < gst_caps_get_size (caps); i++) {
      const GValue *v = gst_structure_get_value (gst_caps_get_structure (caps, i), "format");
      guint k = GST_VALUE_HOLDS_LIST (v) ? gst_value_list_get_size (v) : 1;

      for (guint j = 0; j < k; j++) {
        const char *name = g_value_get_string (GST_VALUE_HOLDS_LIST (v)
            ? gst_value_list_get_value (v, j) : v);
        const GstVideoFormatInfo *f = gst_video_format_get_info (gst_video_format_from_string
            (name));

        ck_assert_msg (f && GST_VIDEO_FORMAT_INFO_PLANE (f, 0) == 0
            && GST_VIDEO_FORMAT_INFO_POFFSET (f, 0) == 0
            && GST_VIDEO_FORMAT_INFO_PSTRIDE (f, 0) == 1
            && GST_VIDEO_FORMAT_INFO_DEPTH (f, 0) == 8
            && (GST_VIDEO_FORMAT_INFO_IS_YUV (f) || GST_VIDEO_FORMAT_INFO_IS_GRAY (f)),
            "%s: its first plane is not 8-bit luma", name);
        n++;
      }
    }
    gst_caps_unref (caps);
  }
  ck_assert_uint_ge (n, 2);
  gst_object_unref (factory);
}
END_TEST

/* Each test (its own process) works in a directory of its own. */
static void
setup (void)
{
  tmpdir = mm_test_tmp_dir_new ("media");
}

static void
teardown (void)
{
  mm_test_tmp_dir_remove (tmpdir);
  tmpdir = NULL;
}

int
main (void)
{
  Suite *s = suite_create ("media");
  TCase *tc = tcase_create ("wav");

  tcase_add_checked_fixture (tc, setup, teardown);
  tcase_add_test (tc, test_generated);
  tcase_add_test (tc, test_fsdd);
  tcase_add_test (tc, test_not_handled);
  tcase_add_test (tc, test_plain_reader);
  tcase_add_test (tc, test_luma_is_gray8);
  tcase_add_test (tc, test_digitimage_luma_formats);
  suite_add_tcase (s, tc);
  return mm_test_run_suite (s);
}
