/* mmdigits — GstHarness tests of mfccextract.
 *
 * The "words" are voiced syllables: harmonics of a 120→170 Hz glide under a
 * raised-cosine envelope (loud in the middle, quiet at the ends, as spoken
 * words are), 10 dB below full scale at their peak, over faint noise. A
 * steady tone is, by design, no word (core/features/mm-words.h). */
#include <gst/audio/audio.h>
#include <gst/check/gstcheck.h>
#include <gst/check/gstharness.h>
#include <glib/gstdio.h>
#include <math.h>
#include <string.h>

#include "mm-frontend.h"
#include "mm-modelfile.h"

#define RATE 16000
#define BLOCK_BYTES (39 * 13 * sizeof (float))
#define CAPS_F32 "audio/x-raw, format=F32LE, rate=16000, channels=1, " \
  "layout=interleaved"
#define CAPS_S16 "audio/x-raw, format=S16LE, rate=16000, channels=1, " \
  "layout=interleaved"

#define WORD_AMP 0.31623         /* peak of the envelope: -10 dBFS */
#define NOISE_AMP 0.001          /* about -65 dBFS */
/* The word detector widens a word by 40 ms on each side and finds the
 * quiet ends of the envelope a little inside it. */
#define EDGE_TOL (60 * GST_MSECOND)

/* The syllable's value at @t seconds into a syllable of @len seconds. */
static double
syllable (double t, double len, double amp)
{
  double env = 0.5 - 0.5 * cos (2 * G_PI * t / len), v = 0;
  /* phase of a glide from 120 to 170 Hz */
  double phase = 2 * G_PI * (120 * t + 25 * t * t / len);

  for (int k = 1; k <= 25; k++)
    v += sin (k * phase) / k;
  return amp * env * v / 1.6;
}

/* One word per second: @n_words syllables of @word_ms starting at
 * @first_ms + k s, low noise everywhere; @total_ms long. Quantised to 16-bit
 * steps so that the F32 and S16 versions hold the same values. */
static gint16 *
make_words_amp (int total_ms, int first_ms, int word_ms, int n_words, double amp,
    gsize * n_out)
{
  gsize n = (gsize) total_ms * RATE / 1000, i;
  gint16 *s = g_new (gint16, n);
  GRand *rand = g_rand_new_with_seed (7);

  for (i = 0; i < n; i++) {
    double t = (double) i / RATE;
    double v = g_rand_double_range (rand, -NOISE_AMP, NOISE_AMP);
    for (int k = 0; k < n_words; k++) {
      double t0 = (first_ms + 1000.0 * k) / 1000;
      if (t >= t0 && t < t0 + word_ms / 1000.0)
        v += syllable (t - t0, word_ms / 1000.0, amp);
    }
    s[i] = (gint16) lrint (CLAMP (v, -1.0, 0.99997) * 32768.0);
  }
  g_rand_free (rand);
  *n_out = n;
  return s;
}

static gint16 *
make_words (int total_ms, int first_ms, int word_ms, int n_words, gsize * n_out)
{
  return make_words_amp (total_ms, first_ms, word_ms, n_words, WORD_AMP, n_out);
}

/* Pushes @samples in 100 ms buffers with PTS, as F32LE or S16LE. */
static void
push_samples (GstHarness * h, const gint16 * samples, gsize n, gboolean f32)
{
  const gsize chunk = RATE / 10;

  for (gsize off = 0; off < n; off += chunk) {
    gsize len = MIN (chunk, n - off);
    GstBuffer *buf = gst_buffer_new_allocate (NULL,
        len * (f32 ? sizeof (float) : sizeof (gint16)), NULL);
    GstMapInfo map;

    gst_buffer_map (buf, &map, GST_MAP_WRITE);
    for (gsize i = 0; i < len; i++) {
      if (f32)
        ((float *) map.data)[i] = samples[off + i] / 32768.0f;
      else
        ((gint16 *) map.data)[i] = GINT16_TO_LE (samples[off + i]);
    }
    gst_buffer_unmap (buf, &map);
    GST_BUFFER_PTS (buf) = gst_util_uint64_scale_int (off, GST_SECOND, RATE);
    GST_BUFFER_DURATION (buf) = gst_util_uint64_scale_int (len, GST_SECOND,
        RATE);
    fail_unless_equals_int (gst_harness_push (h, buf), GST_FLOW_OK);
  }
}

static GstHarness *
new_harness (const char *caps, GstBus ** bus)
{
  GstHarness *h = gst_harness_new ("mfccextract");

  if (bus) {
    *bus = gst_bus_new ();
    gst_element_set_bus (h->element, *bus);
  }
  gst_harness_set_src_caps_str (h, caps);
  return h;
}

static void
assert_block (GstBuffer * buf)
{
  fail_unless_equals_uint64 (gst_buffer_get_size (buf), BLOCK_BYTES);
  fail_unless_equals_uint64 (GST_BUFFER_DURATION (buf), GST_SECOND);
}

static gint64
abs_diff (GstClockTime a, GstClockTime b)
{
  return a > b ? (gint64) (a - b) : (gint64) (b - a);
}

GST_START_TEST (test_mfccextract_refuses_wrong_rate)
{
  GstHarness *h = gst_harness_new ("mfccextract");
  GstCaps *bad = gst_caps_from_string ("audio/x-raw, format=F32LE, "
      "rate=8000, channels=1, layout=interleaved");
  GstCaps *good = gst_caps_from_string (CAPS_F32);
  GstPad *sink = gst_element_get_static_pad (h->element, "sink");

  fail_if (gst_pad_query_accept_caps (sink, bad));
  fail_unless (gst_pad_query_accept_caps (sink, good));

  gst_harness_set_src_caps (h, gst_caps_ref (bad));
  fail_unless_equals_int (gst_harness_push (h, gst_buffer_new_allocate (NULL,
              1600 * sizeof (float), NULL)), GST_FLOW_NOT_NEGOTIATED);
  fail_unless_equals_int (gst_harness_buffers_received (h), 0);

  gst_object_unref (sink);
  gst_caps_unref (bad);
  gst_caps_unref (good);
  gst_harness_teardown (h);
}

GST_END_TEST;

GST_START_TEST (test_mfccextract_src_caps_name_the_block_shape)
{
  GstHarness *h = new_harness (CAPS_F32, NULL);
  GstCaps *caps = gst_pad_get_current_caps (h->sinkpad);
  GstStructure *s;
  gint frames = 0, coeffs = 0;

  fail_unless (caps != NULL);
  s = gst_caps_get_structure (caps, 0);
  fail_unless (gst_structure_has_name (s, "audio/x-mfcc"));
  fail_unless (gst_structure_get_int (s, "frames", &frames));
  fail_unless (gst_structure_get_int (s, "coefficients", &coeffs));
  fail_unless_equals_int (frames, 39);
  fail_unless_equals_int (coeffs, 13);
  fail_unless_equals_string (gst_structure_get_string (s, "format"), "F32LE");
  gst_caps_unref (caps);
  gst_harness_teardown (h);
}

GST_END_TEST;

/* Every member of the front end is in the caps, from the properties or,
 * with model=, from the model file (which then overrides them). */
GST_START_TEST (test_mfccextract_caps_carry_the_front_end)
{
  GstHarness *h = gst_harness_new ("mfccextract");
  GstCaps *caps, *want;
  gchar *dir = g_dir_make_tmp ("mfccextract-XXXXXX", NULL);
  gchar *path = g_build_filename (dir, "m.safetensors", NULL);
  MmNet *net = mm_net_new (MM_ARCH_AUDIONET_CNN, 1);
  MmModelMeta meta = { .mfcc_json = (char *) "{\"nfft\": 512, \"high_freq\": 4000, "
        "\"cmvn\": \"mean+var\", \"dc_block\": true, \"word_cut\": \"detector\"}" };

  gst_harness_set_src_caps_str (h, CAPS_F32);
  caps = gst_pad_get_current_caps (h->sinkpad);
  want = gst_caps_from_string ("audio/x-mfcc, frames=(int)39, coefficients=(int)13, "
      "format=(string)F32LE, rate=(int)16000, frame-length=(int)800, frame-step=(int)400, "
      "nfft=(int)1024, filters=(int)26, low-freq=(double)0, high-freq=(double)8000, "
      "preemphasis=(double)0.97, lifter=(int)22, energy=(boolean)true, "
      "dc-block=(boolean)false, cmvn=(string)none, views=(string)none");
  fail_unless (gst_caps_is_equal (caps, want), "caps %" GST_PTR_FORMAT, caps);
  gst_caps_unref (caps);
  gst_caps_unref (want);
  gst_harness_teardown (h);

  /* properties */
  h = gst_harness_new ("mfccextract");
  g_object_set (h->element, "nfft", 512, "low-freq", 100.0, "cmvn", 1, NULL);
  gst_harness_set_src_caps_str (h, CAPS_F32);
  caps = gst_pad_get_current_caps (h->sinkpad);
  want = gst_caps_from_string ("audio/x-mfcc, nfft=(int)512, low-freq=(double)100, "
      "cmvn=(string)mean, dc-block=(boolean)false");
  fail_unless (gst_caps_is_subset (caps, want), "caps %" GST_PTR_FORMAT, caps);
  gst_caps_unref (caps);
  gst_caps_unref (want);
  gst_harness_teardown (h);

  /* a model's front end, over the properties */
  fail_unless (mm_model_save (net, &meta, path, NULL));
  h = gst_harness_new ("mfccextract");
  g_object_set (h->element, "nfft", 1024, "model", path, NULL);
  gst_harness_set_src_caps_str (h, CAPS_F32);
  caps = gst_pad_get_current_caps (h->sinkpad);
  want = gst_caps_from_string ("audio/x-mfcc, nfft=(int)512, high-freq=(double)4000, "
      "cmvn=(string)mean+var, dc-block=(boolean)true, low-freq=(double)0");
  fail_unless (gst_caps_is_subset (caps, want), "caps %" GST_PTR_FORMAT, caps);
  gst_caps_unref (caps);
  gst_caps_unref (want);
  gst_harness_teardown (h);

  mm_net_free (net);
  g_unlink (path);
  g_rmdir (dir);
  g_free (path);
  g_free (dir);
}

GST_END_TEST;

/* The model is read once, at NULL→READY: the stream's caps carry its
 * front end even when the file is gone by the time they are made. */
GST_START_TEST (test_mfccextract_reads_the_model_once)
{
  gchar *dir = g_dir_make_tmp ("mfccextract-XXXXXX", NULL);
  gchar *path = g_build_filename (dir, "m.safetensors", NULL);
  MmNet *net = mm_net_new (MM_ARCH_AUDIONET_CNN, 1);
  MmModelMeta meta = { .mfcc_json = (char *) "{\"nfft\": 512}" };
  GstElement *e = gst_element_factory_make ("mfccextract", NULL);
  GstHarness *h;
  GstCaps *caps, *want;

  fail_unless (mm_model_save (net, &meta, path, NULL));
  g_object_set (e, "model", path, NULL);
  h = gst_harness_new_with_element (e, "sink", "src");       /* to PLAYING: read here */
  g_unlink (path);
  gst_harness_set_src_caps_str (h, CAPS_F32);
  caps = gst_pad_get_current_caps (h->sinkpad);
  fail_unless (caps != NULL, "no caps: the model was read again");
  want = gst_caps_from_string ("audio/x-mfcc, nfft=(int)512");
  fail_unless (gst_caps_is_subset (caps, want), "caps %" GST_PTR_FORMAT, caps);
  gst_caps_unref (caps);
  gst_caps_unref (want);
  gst_harness_teardown (h);
  gst_object_unref (e);
  mm_net_free (net);
  g_rmdir (dir);
  g_free (path);
  g_free (dir);
}

GST_END_TEST;

/* Going to READY with @prop… (property name/value pairs) fails with a
 * LIBRARY SETTINGS error whose message holds @expect. */
static void
expect_settings_error (const gchar * expect, const gchar * prop, ...)
{
  GstElement *e = gst_element_factory_make ("mfccextract", NULL);
  GstBus *bus = gst_bus_new ();
  GstMessage *msg;
  GError *err = NULL;
  va_list args;

  va_start (args, prop);
  g_object_set_valist (G_OBJECT (e), prop, args);
  va_end (args);
  gst_element_set_bus (e, bus);
  fail_unless_equals_int (gst_element_set_state (e, GST_STATE_READY),
      GST_STATE_CHANGE_FAILURE);
  msg = gst_bus_pop_filtered (bus, GST_MESSAGE_ERROR);
  fail_unless (msg != NULL, "no error (%s)", expect);
  gst_message_parse_error (msg, &err, NULL);
  fail_unless (g_error_matches (err, GST_LIBRARY_ERROR, GST_LIBRARY_ERROR_SETTINGS),
      "%s", err->message);
  fail_unless (strstr (err->message, expect) != NULL, "%s", err->message);
  g_error_free (err);
  gst_message_unref (msg);
  gst_element_set_state (e, GST_STATE_NULL);
  gst_bus_set_flushing (bus, TRUE);
  gst_object_unref (e);
  gst_object_unref (bus);
}

/* Settings that cannot work are an error at start: nfft=700 was dropped
 * with a note in the debug log (the element ran with 1024), and
 * min-length above max-length dropped every word without a word said. */
GST_START_TEST (test_mfccextract_invalid_settings_fail_at_start)
{
  GstElement *e;

  expect_settings_error ("nfft must be a power of two from 512 to 1024, not 700",
      "nfft", 700, NULL);
  expect_settings_error ("min-length (900 ms) is longer than max-length (500 ms)",
      "min-length", 900, "max-length", 500, NULL);
  expect_settings_error ("need 0 <= low_freq < high_freq",
      "low-freq", 4000.0, "high-freq", 3000.0, NULL);
  expect_settings_error ("mask-gap (700 ms) is longer than hangover + lookahead - 40 ms (610 ms)",
      "mask-gap", 700, NULL);
  expect_settings_error ("min_periodic_ms must be at most max_length_ms",
      "min-periodic", 600, "max-length", 500, NULL);

  /* valid ones start */
  e = gst_element_factory_make ("mfccextract", NULL);
  g_object_set (e, "nfft", 512, "min-length", 500, "max-length", 500, NULL);
  fail_unless_equals_int (gst_element_set_state (e, GST_STATE_READY),
      GST_STATE_CHANGE_SUCCESS);
  gst_element_set_state (e, GST_STATE_NULL);
  gst_object_unref (e);
}

GST_END_TEST;

/* Every setting of the word detector reads back what was set (floor-quiet
 * was once installed without a setter: setting it only warned). */
GST_START_TEST (test_mfccextract_detector_properties_read_back)
{
  GstElement *e = gst_element_factory_make ("mfccextract", NULL);
  const char *doubles[] = { "margin", "mask-db", "floor-quiet", "periodic-r" };
  const double dv[] = { 8.5, 10.0, 12.0, 0.55 };
  const char *uints[] = { "hangover", "min-length", "max-length", "mask-gap", "min-periodic" };
  const guint uv[] = { 120, 80, 900, 300, 40 };

  for (guint i = 0; i < G_N_ELEMENTS (doubles); i++) {
    double got = -1;

    g_object_set (e, doubles[i], dv[i], NULL);
    g_object_get (e, doubles[i], &got, NULL);
    fail_unless (got == dv[i], "%s: set %g, read %g", doubles[i], dv[i], got);
  }
  for (guint i = 0; i < G_N_ELEMENTS (uints); i++) {
    guint got = 0;

    g_object_set (e, uints[i], uv[i], NULL);
    g_object_get (e, uints[i], &got, NULL);
    fail_unless (got == uv[i], "%s: set %u, read %u", uints[i], uv[i], got);
  }
  gst_object_unref (e);
}

GST_END_TEST;

/* A model that cannot give the front end (missing file, image network) is
 * an error at negotiation, not a silent default. */
GST_START_TEST (test_mfccextract_bad_model_is_an_error)
{
  GstBus *bus;
  GstHarness *h = gst_harness_new ("mfccextract");
  GstMessage *msg;

  bus = gst_bus_new ();
  gst_element_set_bus (h->element, bus);
  g_object_set (h->element, "model", "/nonexistent/m.safetensors", NULL);
  gst_pad_push_event (h->srcpad, gst_event_new_stream_start ("x"));
  gst_pad_push_event (h->srcpad, gst_event_new_caps (gst_caps_from_string (CAPS_F32)));
  msg = gst_bus_pop_filtered (bus, GST_MESSAGE_ERROR);
  fail_unless (msg != NULL, "no error for a missing model");
  gst_message_unref (msg);
  gst_bus_set_flushing (bus, TRUE);
  gst_object_unref (bus);
  gst_harness_teardown (h);
}

GST_END_TEST;

GST_START_TEST (test_mfccextract_three_bursts_give_three_centred_blocks)
{
  GstBus *bus;
  GstHarness *h = new_harness (CAPS_F32, &bus);
  gsize n;
  gint16 *s = make_words (3500, 500, 300, 3, &n);

  push_samples (h, s, n, TRUE);
  fail_unless (gst_harness_push_event (h, gst_event_new_eos ()));
  fail_unless_equals_int (gst_harness_buffers_received (h), 3);

  for (int k = 0; k < 3; k++) {
    GstBuffer *buf = gst_harness_pull (h);
    /* word k spans [0.5 + k, 0.8 + k) s: centre − 0.5 s = 0.15 + k s */
    GstClockTime want = 150 * GST_MSECOND + k * GST_SECOND;
    GstMessage *msg = gst_bus_pop_filtered (bus, GST_MESSAGE_ELEMENT);
    const GstStructure *st;
    GstClockTime ts, start, end;
    gdouble peak;

    assert_block (buf);
    /* the envelope is symmetric: so is what the detector finds of it */
    fail_unless (abs_diff (GST_BUFFER_PTS (buf), want) <= 25 * GST_MSECOND,
        "block %d at %" GST_TIME_FORMAT, k, GST_TIME_ARGS (GST_BUFFER_PTS (buf)));

    fail_unless (msg != NULL, "no message for block %d", k);
    st = gst_message_get_structure (msg);
    fail_unless (gst_structure_has_name (st, "mfcc-utterance"));
    fail_unless (gst_structure_get_clock_time (st, "timestamp", &ts));
    fail_unless (gst_structure_get_clock_time (st, "start", &start));
    fail_unless (gst_structure_get_clock_time (st, "end", &end));
    fail_unless (gst_structure_get_double (st, "peak-level", &peak));
    fail_unless (gst_structure_has_field_typed (st, "score", G_TYPE_DOUBLE));
    fail_unless (gst_structure_has_field_typed (st, "running-time",
            G_TYPE_UINT64));
    fail_unless (gst_structure_has_field_typed (st, "stream-time",
            G_TYPE_UINT64));
    fail_unless (gst_structure_has_field_typed (st, "duration", G_TYPE_UINT64));
    fail_unless_equals_uint64 (ts, GST_BUFFER_PTS (buf));
    fail_unless (abs_diff (start, 500 * GST_MSECOND + k * GST_SECOND)
        <= EDGE_TOL, "start %" GST_TIME_FORMAT, GST_TIME_ARGS (start));
    fail_unless (abs_diff (end, 800 * GST_MSECOND + k * GST_SECOND)
        <= EDGE_TOL, "end %" GST_TIME_FORMAT, GST_TIME_ARGS (end));
    /* the loudest frame, within 150 Hz-7 kHz, of a -10 dBFS peak envelope */
    fail_unless (peak > -20.0 && peak < -10.0, "peak-level %f", peak);

    gst_message_unref (msg);
    gst_buffer_unref (buf);
  }
  fail_unless (gst_bus_pop_filtered (bus, GST_MESSAGE_ELEMENT) == NULL);

  g_free (s);
  gst_bus_set_flushing (bus, TRUE);      /* queued messages ref the element */
  gst_object_unref (bus);
  gst_harness_teardown (h);
}

GST_END_TEST;

GST_START_TEST (test_mfccextract_window_mode_gives_one_block_per_hop)
{
  GstHarness *h = new_harness (CAPS_F32, NULL);
  gsize n;
  gint16 *s = make_words (3000, 500, 300, 3, &n);

  g_object_set (h->element, "mode", 1, "hop", 500, NULL);
  push_samples (h, s, n, TRUE);
  gst_harness_push_event (h, gst_event_new_eos ());
  /* complete one-second windows in 3 s every 0.5 s: 0, 0.5, ... 2.0 */
  fail_unless_equals_int (gst_harness_buffers_received (h), 5);
  for (int k = 0; k < 5; k++) {
    GstBuffer *buf = gst_harness_pull (h);
    assert_block (buf);
    fail_unless_equals_uint64 (GST_BUFFER_PTS (buf), k * 500 * GST_MSECOND);
    gst_buffer_unref (buf);
  }
  g_free (s);
  gst_harness_teardown (h);
}

GST_END_TEST;

/* A front end with test-time views (from a model file): each buffer holds
 * the block and then one block per view, in the caps' order. The first is
 * the block an element without views gives; the others are the core's
 * views of the same one-second clip (window mode: the clip is the input's
 * first second, known here), so the stream and the CLI agree. */
GST_START_TEST (test_mfccextract_views_follow_the_block)
{
  gchar *dir = g_dir_make_tmp ("mfccextract-XXXXXX", NULL);
  gchar *path = g_build_filename (dir, "m.safetensors", NULL);
  MmNet *net = mm_net_new (MM_ARCH_AUDIONET_CNN, 1);
  MmModelMeta meta = { .mfcc_json = (char *) "{\"views\": \"speed:0.9,vtlp:1.1\"}" };
  MmMfccParams p;
  MmFrontendViews *views;
  GstHarness *hv, *h0;
  GstBuffer *bv, *b0;
  GstCaps *caps;
  gsize n;
  gint16 *s = make_words (1500, 300, 350, 1, &n);
  float *clip = g_new (float, RATE), *got = g_new (float, 3 * 39 * 13);
  float *want = g_new (float, 3 * 39 * 13);
  double apart = 0;

  fail_unless (mm_model_save (net, &meta, path, NULL));
  hv = gst_harness_new ("mfccextract");
  h0 = gst_harness_new ("mfccextract");
  g_object_set (hv->element, "model", path, "mode", 1, "hop", 1000, NULL);
  g_object_set (h0->element, "mode", 1, "hop", 1000, NULL);
  gst_harness_set_src_caps_str (hv, CAPS_F32);
  gst_harness_set_src_caps_str (h0, CAPS_F32);
  push_samples (hv, s, n, TRUE);
  push_samples (h0, s, n, TRUE);
  caps = gst_pad_get_current_caps (hv->sinkpad);
  fail_unless_equals_string (gst_structure_get_string (gst_caps_get_structure (caps, 0),
          "views"), "speed:0.9,vtlp:1.1");
  gst_caps_unref (caps);

  bv = gst_harness_pull (hv);
  b0 = gst_harness_pull (h0);
  fail_unless_equals_uint64 (gst_buffer_get_size (bv), 3 * BLOCK_BYTES);
  fail_unless_equals_uint64 (gst_buffer_get_size (b0), BLOCK_BYTES);
  fail_unless_equals_uint64 (GST_BUFFER_PTS (bv), 0);
  gst_buffer_extract (bv, 0, got, 3 * BLOCK_BYTES);
  gst_buffer_extract (b0, 0, want, BLOCK_BYTES);
  /* the same function of the same samples */
  fail_unless (memcmp (got, want, BLOCK_BYTES) == 0, "block 0 differs from no views'");

  mm_mfcc_params_init (&p);
  fail_unless (mm_mfcc_views_from_string ("speed:0.9,vtlp:1.1", &p, NULL));
  views = mm_frontend_views_new (&p, NULL);
  for (int i = 0; i < RATE; i++)
    clip[i] = s[i] / 32768.0f;
  fail_unless (mm_frontend_views_compute (views, clip, want + 39 * 13, NULL));
  fail_unless (memcmp (got + 39 * 13, want + 39 * 13, 2 * BLOCK_BYTES) == 0,
      "the views' blocks are not the core's");
  for (int k = 0; k < 39 * 13; k++)
    apart = MAX (apart, MAX (fabs (got[39 * 13 + k] - got[k]), fabs (got[2 * 39 * 13 + k] - got[k])));
  fail_unless (apart > 0.1, "a view's block equals the block (max diff %g)", apart);

  mm_frontend_views_free (views);
  gst_buffer_unref (bv);
  gst_buffer_unref (b0);
  gst_harness_teardown (hv);
  gst_harness_teardown (h0);
  mm_net_free (net);
  g_unlink (path);
  g_rmdir (dir);
  g_free (path);
  g_free (dir);
  g_free (clip);
  g_free (got);
  g_free (want);
  g_free (s);
}

GST_END_TEST;

static float *
blocks_of (const char *caps, const gint16 * s, gsize n, gboolean f32,
    guint * n_blocks)
{
  GstHarness *h = new_harness (caps, NULL);
  float *out;

  push_samples (h, s, n, f32);
  gst_harness_push_event (h, gst_event_new_eos ());
  *n_blocks = gst_harness_buffers_received (h);
  out = g_new (float, *n_blocks * 39 * 13);
  for (guint k = 0; k < *n_blocks; k++) {
    GstBuffer *buf = gst_harness_pull (h);
    gst_buffer_extract (buf, 0, out + k * 39 * 13, BLOCK_BYTES);
    gst_buffer_unref (buf);
  }
  gst_harness_teardown (h);
  return out;
}

GST_START_TEST (test_mfccextract_f32_and_s16_give_the_same_mfcc)
{
  gsize n;
  gint16 *s = make_words (2000, 400, 350, 2, &n);
  guint n_f, n_s;
  float *f = blocks_of (CAPS_F32, s, n, TRUE, &n_f);
  float *i = blocks_of (CAPS_S16, s, n, FALSE, &n_s);
  double worst = 0;

  fail_unless_equals_int (n_f, 2);
  fail_unless_equals_int (n_s, 2);
  for (guint k = 0; k < n_f * 39 * 13; k++) {
    fail_unless (isfinite (f[k]));
    worst = MAX (worst, fabs (f[k] - i[k]));
  }
  fail_unless (worst < 1e-2, "max |F32 - S16| = %g", worst);
  g_free (f);
  g_free (i);
  g_free (s);
}

GST_END_TEST;

GST_START_TEST (test_mfccextract_empty_stream_gives_eos_and_no_buffer)
{
  GstHarness *h = new_harness (CAPS_F32, NULL);
  GstEvent *ev;
  gboolean eos = FALSE;

  fail_unless (gst_harness_push_event (h, gst_event_new_eos ()));
  fail_unless_equals_int (gst_harness_buffers_received (h), 0);
  while ((ev = gst_harness_try_pull_event (h))) {
    eos |= GST_EVENT_TYPE (ev) == GST_EVENT_EOS;
    gst_event_unref (ev);
  }
  fail_unless (eos);
  gst_harness_teardown (h);
}

GST_END_TEST;

GST_START_TEST (test_mfccextract_eos_emits_the_pending_word)
{
  GstHarness *h = new_harness (CAPS_F32, NULL);
  gsize n;
  /* the word runs to the end of the stream: no silence ends it, and the
   * detector's lookahead holds it back until EOS */
  gint16 *s = make_words (800, 500, 300, 1, &n);

  push_samples (h, s, n, TRUE);
  fail_unless_equals_int (gst_harness_buffers_received (h), 0);
  gst_harness_push_event (h, gst_event_new_eos ());
  fail_unless_equals_int (gst_harness_buffers_received (h), 1);
  g_free (s);
  gst_harness_teardown (h);
}

GST_END_TEST;

static void
push_silence (GstHarness * h, GstClockTime pts, int ms, gboolean discont)
{
  gsize len = (gsize) ms * RATE / 1000;
  GstBuffer *buf = gst_buffer_new_allocate (NULL, len * sizeof (float), NULL);

  gst_buffer_memset (buf, 0, 0, len * sizeof (float));
  GST_BUFFER_PTS (buf) = pts;
  if (discont)
    GST_BUFFER_FLAG_SET (buf, GST_BUFFER_FLAG_DISCONT);
  fail_unless_equals_int (gst_harness_push (h, buf), GST_FLOW_OK);
}

GST_START_TEST (test_mfccextract_flush_and_discont_drop_the_pending_word)
{
  GstHarness *h = new_harness (CAPS_F32, NULL);
  GstSegment seg;
  gsize n;
  gint16 *s = make_words (800, 500, 300, 1, &n);

  /* a word cut by a flush is dropped */
  push_samples (h, s, n, TRUE);
  gst_harness_push_event (h, gst_event_new_flush_start ());
  gst_harness_push_event (h, gst_event_new_flush_stop (TRUE));
  gst_segment_init (&seg, GST_FORMAT_TIME);
  gst_harness_push_event (h, gst_event_new_segment (&seg));
  push_silence (h, 0, 1000, FALSE);
  fail_unless_equals_int (gst_harness_buffers_received (h), 0);

  /* ... and so is a word cut by a discontinuity */
  push_samples (h, s, n, TRUE);
  push_silence (h, 5 * GST_SECOND, 1000, TRUE);
  gst_harness_push_event (h, gst_event_new_eos ());
  fail_unless_equals_int (gst_harness_buffers_received (h), 0);
  g_free (s);
  gst_harness_teardown (h);
}

GST_END_TEST;

GST_START_TEST (test_mfccextract_drops_short_sounds_and_long_ones)
{
  GstHarness *h = new_harness (CAPS_F32, NULL);
  gsize n;
  gint16 *click = make_words (1500, 500, 50, 1, &n);
  gint16 *talk;
  GstBuffer *buf;

  /* 50 ms < min-length 100 ms: nothing */
  push_samples (h, click, n, TRUE);
  gst_harness_push_event (h, gst_event_new_eos ());
  fail_unless_equals_int (gst_harness_buffers_received (h), 0);
  gst_harness_teardown (h);

  /* 1.5 s of speech (five 300 ms syllables, no pause) from 0.5 s */
  talk = make_words (3000, 500, 300, 0, &n);
  for (gsize i = 0; i < n; i++) {
    double t = (double) i / RATE - 0.5;
    if (t >= 0 && t < 1.5)
      talk[i] += (gint16) lrint (32768 * syllable (fmod (t, 0.3), 0.3, WORD_AMP));
  }

  /* with max-length 1000 ms it is background (babble is such a sound): its
   * first second is no word — not cut out as one at max-length */
  h = new_harness (CAPS_F32, NULL);
  push_samples (h, talk, n, TRUE);
  gst_harness_push_event (h, gst_event_new_eos ());
  while ((buf = gst_harness_try_pull (h))) {
    /* a word cut at max-length would span [0.46, 1.565) s: block at 0.51 s */
    fail_unless (GST_BUFFER_PTS (buf) > 900 * GST_MSECOND, "block at %" GST_TIME_FORMAT
        " out of the first second of a 1.5 s sound", GST_TIME_ARGS (GST_BUFFER_PTS (buf)));
    gst_buffer_unref (buf);
  }
  gst_harness_teardown (h);

  /* with max-length 2000 ms it is one word, [0.46, 2.04) s: its central
   * second is kept (centre 1.25 s, block from 0.75 s) */
  h = new_harness (CAPS_F32, NULL);
  g_object_set (h->element, "max-length", 2000, NULL);
  push_samples (h, talk, n, TRUE);
  gst_harness_push_event (h, gst_event_new_eos ());
  fail_unless_equals_int (gst_harness_buffers_received (h), 1);
  buf = gst_harness_pull (h);
  fail_unless (abs_diff (GST_BUFFER_PTS (buf), 750 * GST_MSECOND) <= EDGE_TOL,
      "block at %" GST_TIME_FORMAT, GST_TIME_ARGS (GST_BUFFER_PTS (buf)));
  gst_buffer_unref (buf);
  g_free (click);
  g_free (talk);
  gst_harness_teardown (h);
}

GST_END_TEST;

/* No fixed level: the same words 40 dB quieter (peak -50 dBFS, 15 dB above
 * the -65 dBFS noise) are found; a steady 440 Hz tone, however loud, is no
 * word. */
GST_START_TEST (test_mfccextract_quiet_words_found_tones_ignored)
{
  GstHarness *h = new_harness (CAPS_F32, NULL);
  gsize n;
  gint16 *s = make_words_amp (3500, 500, 300, 3, WORD_AMP / 100, &n);

  push_samples (h, s, n, TRUE);
  gst_harness_push_event (h, gst_event_new_eos ());
  fail_unless_equals_int (gst_harness_buffers_received (h), 3);
  gst_harness_teardown (h);

  h = new_harness (CAPS_F32, NULL);
  for (gsize i = 0; i < n; i++)
    s[i] = (gint16) lrint (0.5 * 32767 * sin (2 * G_PI * 440.0 * i / RATE));
  push_samples (h, s, n, TRUE);
  gst_harness_push_event (h, gst_event_new_eos ());
  fail_unless_equals_int (gst_harness_buffers_received (h), 0);
  g_free (s);
  gst_harness_teardown (h);
}

GST_END_TEST;

/* A quiet sound 0.3 s before a word 30 dB louder (a breath, the click of a
 * key) gives no block of its own: one block, the word's; with mask-gap 0
 * it is taken for a word first. */
static guint
blocks_of_quiet_then_loud (guint mask_gap, GstClockTime * first_pts)
{
  GstHarness *h = new_harness (CAPS_F32, NULL);
  gsize n;
  gint16 *s = make_words_amp (3000, 500, 250, 1, WORD_AMP / 30, &n);
  GstBuffer *buf;
  guint got;

  for (gsize i = 0; i < n; i++) {
    double t = (double) i / RATE - 1.05;
    if (t >= 0 && t < 0.35)
      s[i] += (gint16) lrint (32768 * syllable (t, 0.35, WORD_AMP));
  }
  g_object_set (h->element, "mask-gap", mask_gap, NULL);
  push_samples (h, s, n, TRUE);
  gst_harness_push_event (h, gst_event_new_eos ());
  got = gst_harness_buffers_received (h);
  buf = gst_harness_pull (h);
  *first_pts = GST_BUFFER_PTS (buf);
  gst_buffer_unref (buf);
  g_free (s);
  gst_harness_teardown (h);
  return got;
}

GST_START_TEST (test_mfccextract_quiet_sound_before_a_word_is_no_word)
{
  GstElement *e = gst_element_factory_make ("mfccextract", NULL);
  GstClockTime pts;
  guint mask_gap;

  g_object_get (e, "mask-gap", &mask_gap, NULL);
  gst_object_unref (e);
  fail_unless (mask_gap > 0, "masking is on by default");
  fail_unless_equals_int (blocks_of_quiet_then_loud (mask_gap, &pts), 1);
  /* the word [1.05, 1.40) s, widened by 40 ms and centred: block from 0.725 s */
  fail_unless (abs_diff (pts, 725 * GST_MSECOND) <= EDGE_TOL, "block at %" GST_TIME_FORMAT,
      GST_TIME_ARGS (pts));
  fail_unless_equals_int (blocks_of_quiet_then_loud (0, &pts), 2);
}

GST_END_TEST;

GST_START_TEST (test_mfccextract_answers_latency)
{
  GstHarness *h = new_harness (CAPS_F32, NULL);

  /* 0.5 s + half the longest word (1 s + 25 ms + 2 × 40 ms) + the
   * detector's delay (hangover 150 ms + lookahead 500 ms + 3 hops of 10 ms
   * + one 25 ms frame) = 0.5 + 0.5525 + 0.705 s */
  fail_unless_equals_uint64 (gst_harness_query_latency (h),
      1757500 * GST_USECOND);
  g_object_set (h->element, "mode", 1, NULL);
  fail_unless_equals_uint64 (gst_harness_query_latency (h), GST_SECOND);
  gst_harness_teardown (h);
}

GST_END_TEST;

GST_START_TEST (test_mfccextract_silence_gives_gap_events)
{
  GstHarness *h = new_harness (CAPS_F32, NULL);
  gsize n;
  gint16 *s = make_words (3000, 0, 0, 0, &n);
  GstEvent *ev;
  GstClockTime ts, dur, reached = 0;
  guint gaps = 0;

  push_samples (h, s, n, TRUE);
  fail_unless_equals_int (gst_harness_buffers_received (h), 0);
  while ((ev = gst_harness_try_pull_event (h))) {
    if (GST_EVENT_TYPE (ev) == GST_EVENT_GAP) {
      gst_event_parse_gap (ev, &ts, &dur);
      fail_unless_equals_uint64 (ts, reached);  /* contiguous from 0 */
      /* one GAP per 500 ms at most: each wakes an aggregator */
      fail_unless (dur >= 500 * GST_MSECOND, "a GAP of %" GST_TIME_FORMAT,
          GST_TIME_ARGS (dur));
      reached = ts + dur;
      gaps++;
    }
    gst_event_unref (ev);
  }
  /* the detector has decided up to 0.5 s (its lookahead) and a frame
   * before the end; a word could still start 40 ms before that, and its
   * window half a second earlier: after 3 s nothing will come before about
   * 3 − 0.535 − 0.04 − 0.5 = 1.925 s, of which what was sent is less than
   * 500 ms short */
  fail_unless (gaps >= 2);
  fail_unless (reached > 1425 * GST_MSECOND && reached <= 1950 * GST_MSECOND,
      "gap up to %" GST_TIME_FORMAT, GST_TIME_ARGS (reached));
  g_free (s);
  gst_harness_teardown (h);
}

GST_END_TEST;

static Suite *
mfccextract_suite (void)
{
  Suite *s = suite_create ("mfccextract");
  TCase *tc = tcase_create ("general");

  suite_add_tcase (s, tc);
  tcase_add_test (tc, test_mfccextract_refuses_wrong_rate);
  tcase_add_test (tc, test_mfccextract_src_caps_name_the_block_shape);
  tcase_add_test (tc, test_mfccextract_three_bursts_give_three_centred_blocks);
  tcase_add_test (tc, test_mfccextract_window_mode_gives_one_block_per_hop);
  tcase_add_test (tc, test_mfccextract_views_follow_the_block);
  tcase_add_test (tc, test_mfccextract_f32_and_s16_give_the_same_mfcc);
  tcase_add_test (tc, test_mfccextract_empty_stream_gives_eos_and_no_buffer);
  tcase_add_test (tc, test_mfccextract_eos_emits_the_pending_word);
  tcase_add_test (tc, test_mfccextract_flush_and_discont_drop_the_pending_word);
  tcase_add_test (tc, test_mfccextract_drops_short_sounds_and_long_ones);
  tcase_add_test (tc, test_mfccextract_caps_carry_the_front_end);
  tcase_add_test (tc, test_mfccextract_reads_the_model_once);
  tcase_add_test (tc, test_mfccextract_bad_model_is_an_error);
  tcase_add_test (tc, test_mfccextract_invalid_settings_fail_at_start);
  tcase_add_test (tc, test_mfccextract_detector_properties_read_back);
  tcase_add_test (tc, test_mfccextract_quiet_words_found_tones_ignored);
  tcase_add_test (tc, test_mfccextract_quiet_sound_before_a_word_is_no_word);
  tcase_add_test (tc, test_mfccextract_answers_latency);
  tcase_add_test (tc, test_mfccextract_silence_gives_gap_events);
  return s;
}

GST_CHECK_MAIN (mfccextract);
