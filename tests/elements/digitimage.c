/* mmdigits — GstHarness tests of digitimage. */
#include <gst/check/gstcheck.h>
#include <gst/check/gstharness.h>
#include <gst/video/video.h>
#include <stdlib.h>
#include <string.h>

#define W 64
#define H 48
#define FRAME_DUR (GST_SECOND / 30)
#define CAPS "video/x-raw, format=GRAY8, width=64, height=48, framerate=30/1"

typedef enum
{
  BLANK,
  ONE,                          /* a vertical bar */
  SEVEN,                        /* a top bar and a right-hand bar */
} Shape;

typedef struct
{
  int x, y, w, h;
} Box;

static const Box one_box = { 30, 10, 6, 28 };
static const Box seven_box = { 20, 10, 24, 28 };

static void
fill (guint8 * img, int x, int y, int w, int h, guint8 v)
{
  for (int r = y; r < y + h; r++)
    memset (img + r * W + x, v, w);
}

/* A W×H GRAY8 frame (stride W, already a multiple of 4) holding @shape,
 * dark on light or light on dark, with PTS frame @index. */
static GstBuffer *
make_frame (Shape shape, gboolean dark_on_light, int index)
{
  guint8 paper = dark_on_light ? 230 : 20, ink = dark_on_light ? 15 : 240;
  GstBuffer *buf = gst_buffer_new_allocate (NULL, W * H, NULL);
  GstMapInfo map;

  gst_buffer_map (buf, &map, GST_MAP_WRITE);
  fill (map.data, 0, 0, W, H, paper);
  if (shape == ONE)
    fill (map.data, one_box.x, one_box.y, one_box.w, one_box.h, ink);
  if (shape == SEVEN) {
    fill (map.data, seven_box.x, seven_box.y, seven_box.w, 6, ink);
    fill (map.data, seven_box.x + seven_box.w - 6, seven_box.y, 6,
        seven_box.h, ink);
  }
  gst_buffer_unmap (buf, &map);
  GST_BUFFER_PTS (buf) = index * FRAME_DUR;
  GST_BUFFER_DURATION (buf) = FRAME_DUR;
  return buf;
}

static GstHarness *
new_harness (GstBus ** bus)
{
  GstHarness *h = gst_harness_new ("digitimage");

  if (bus) {
    *bus = gst_bus_new ();
    gst_element_set_bus (h->element, *bus);
  }
  gst_harness_set_src_caps_str (h, CAPS);
  return h;
}

/* Pushes frames of @shapes (terminated by -1) from frame number @start_index. */
static int
push_shapes (GstHarness * h, const int *shapes, gboolean dark_on_light,
    int start_index)
{
  int i;

  for (i = 0; shapes[i] >= 0; i++)
    fail_unless_equals_int (gst_harness_push (h,
            make_frame (shapes[i], dark_on_light, start_index + i)), GST_FLOW_OK);
  return start_index + i;
}

static void
assert_roi (GstBus * bus, const Box * want, GstClockTime pts)
{
  GstMessage *msg = gst_bus_pop_filtered (bus, GST_MESSAGE_ELEMENT);
  const GstStructure *s;
  gint x, y, w, h;
  GstClockTime ts, rt, st;

  fail_unless (msg != NULL);
  s = gst_message_get_structure (msg);
  fail_unless (gst_structure_has_name (s, "digit-roi"));
  fail_unless (gst_structure_get_int (s, "x", &x));
  fail_unless (gst_structure_get_int (s, "y", &y));
  fail_unless (gst_structure_get_int (s, "width", &w));
  fail_unless (gst_structure_get_int (s, "height", &h));
  fail_unless (gst_structure_get_clock_time (s, "timestamp", &ts));
  fail_unless (gst_structure_get_clock_time (s, "running-time", &rt));
  fail_unless (gst_structure_get_clock_time (s, "stream-time", &st));
  fail_unless_equals_int (x, want->x);
  fail_unless_equals_int (y, want->y);
  fail_unless_equals_int (w, want->w);
  fail_unless_equals_int (h, want->h);
  fail_unless_equals_uint64 (ts, pts);
  fail_unless_equals_uint64 (rt, pts);     /* default segment: from 0 */
  fail_unless_equals_uint64 (st, pts);
  gst_message_unref (msg);
}

/* MNIST style: white ink on a mostly black background. */
static void
assert_mnist_like (const guint8 * crop)
{
  int max = 0, black = 0;

  for (int i = 0; i < 784; i++) {
    max = MAX (max, crop[i]);
    black += crop[i] == 0;
  }
  fail_unless (max > 200, "brightest crop pixel %d", max);
  fail_unless (black > 784 / 2, "only %d black pixels", black);
  fail_unless_equals_int (crop[0], 0);  /* top-left corner */
}

GST_START_TEST (test_digitimage_src_caps_are_28x28_variable_rate)
{
  GstHarness *h = new_harness (NULL);
  const int shapes[] = { ONE, ONE, ONE, -1 };
  GstCaps *caps;
  GstStructure *s;
  gint w, hh, num, den;

  push_shapes (h, shapes, TRUE, 0);
  caps = gst_pad_get_current_caps (h->sinkpad);
  fail_unless (caps != NULL);
  s = gst_caps_get_structure (caps, 0);
  fail_unless_equals_string (gst_structure_get_string (s, "format"), "GRAY8");
  fail_unless (gst_structure_get_int (s, "width", &w));
  fail_unless (gst_structure_get_int (s, "height", &hh));
  fail_unless (gst_structure_get_fraction (s, "framerate", &num, &den));
  fail_unless_equals_int (w, 28);
  fail_unless_equals_int (hh, 28);
  fail_unless_equals_int (num, 0);
  gst_caps_unref (caps);
  gst_harness_teardown (h);
}

GST_END_TEST;

GST_START_TEST (test_digitimage_two_digits_separated_by_blank_give_two_crops)
{
  GstBus *bus;
  GstHarness *h = new_harness (&bus);
  const int shapes[] = { ONE, ONE, ONE, ONE, ONE, BLANK, BLANK,
    SEVEN, SEVEN, SEVEN, SEVEN, SEVEN, -1
  };
  GstBuffer *buf;
  GstMapInfo map;

  push_shapes (h, shapes, TRUE, 0);
  fail_unless_equals_int (gst_harness_buffers_received (h), 2);

  /* stable for stable-frames = 3: the third frame of each run */
  buf = gst_harness_pull (h);
  fail_unless_equals_uint64 (gst_buffer_get_size (buf), 784);
  fail_unless_equals_uint64 (GST_BUFFER_PTS (buf), 2 * FRAME_DUR);
  gst_buffer_map (buf, &map, GST_MAP_READ);
  assert_mnist_like (map.data);
  gst_buffer_unmap (buf, &map);
  gst_buffer_unref (buf);
  assert_roi (bus, &one_box, 2 * FRAME_DUR);

  buf = gst_harness_pull (h);
  fail_unless_equals_uint64 (GST_BUFFER_PTS (buf), 9 * FRAME_DUR);
  gst_buffer_unref (buf);
  assert_roi (bus, &seven_box, 9 * FRAME_DUR);

  fail_unless (gst_bus_pop_filtered (bus, GST_MESSAGE_ELEMENT) == NULL);
  gst_bus_set_flushing (bus, TRUE);      /* queued messages ref the element */
  gst_object_unref (bus);
  gst_harness_teardown (h);
}

GST_END_TEST;

GST_START_TEST (test_digitimage_changed_digit_gives_a_new_crop_without_blank)
{
  GstHarness *h = new_harness (NULL);
  const int shapes[] = { ONE, ONE, ONE, ONE, SEVEN, SEVEN, SEVEN, SEVEN, -1 };

  push_shapes (h, shapes, TRUE, 0);
  fail_unless_equals_int (gst_harness_buffers_received (h), 2);
  gst_harness_teardown (h);
}

GST_END_TEST;

static void
crop_of (const char *polarity, gboolean dark_on_light, guint8 crop[784])
{
  GstHarness *h = new_harness (NULL);
  const int shapes[] = { SEVEN, SEVEN, SEVEN, -1 };
  GstBuffer *buf;

  gst_util_set_object_arg (G_OBJECT (h->element), "polarity", polarity);
  push_shapes (h, shapes, dark_on_light, 0);
  fail_unless_equals_int (gst_harness_buffers_received (h), 1);
  buf = gst_harness_pull (h);
  gst_buffer_extract (buf, 0, crop, 784);
  gst_buffer_unref (buf);
  gst_harness_teardown (h);
}

GST_START_TEST (test_digitimage_both_polarities_give_the_same_crop)
{
  guint8 ref[784], crop[784];
  struct
  {
    const char *polarity;
    gboolean dark_on_light;
  } cases[] = {
    {"auto", FALSE}, {"dark-on-light", TRUE}, {"light-on-dark", FALSE},
  };

  crop_of ("auto", TRUE, ref);
  assert_mnist_like (ref);
  for (guint c = 0; c < G_N_ELEMENTS (cases); c++) {
    guint sum = 0;
    crop_of (cases[c].polarity, cases[c].dark_on_light, crop);
    assert_mnist_like (crop);
    for (int i = 0; i < 784; i++)
      sum += abs ((int) crop[i] - (int) ref[i]);
    /* same shape, ink strength differs only by the contrast */
    fail_unless (sum / 784.0 < 8.0, "%s: mean |diff| %f", cases[c].polarity,
        sum / 784.0);
  }
}

GST_END_TEST;

/* A "7" photographed on a page lit from the left: paper from 50 to 250
 * grey levels across the frame, ink 80 levels below the paper under it, so
 * ink on the right is lighter than paper on the left. With adaptive (the
 * default) the crop and its box are the seven's; with adaptive=false the
 * global threshold does not find that box. */
static GstBuffer *
make_lit_seven (int index)
{
  GstBuffer *buf = make_frame (SEVEN, TRUE, index);
  GstMapInfo map;

  gst_buffer_map (buf, &map, GST_MAP_WRITE);
  for (int y = 0; y < H; y++)
    for (int x = 0; x < W; x++) {
      int paper = 50 + 200 * x / (W - 1);
      map.data[y * W + x] = map.data[y * W + x] < 128 ? paper - 80 < 0 ? 0 : paper - 80 : paper;
    }
  gst_buffer_unmap (buf, &map);
  return buf;
}

static gboolean
lit_seven_box (gboolean adaptive, int *x, int *y, int *w, int *h)
{
  GstBus *bus;
  GstHarness *h0 = new_harness (&bus);
  GstMessage *msg;
  gboolean found;

  g_object_set (h0->element, "adaptive", adaptive, NULL);
  for (int i = 0; i < 3; i++)
    fail_unless_equals_int (gst_harness_push (h0, make_lit_seven (i)), GST_FLOW_OK);
  msg = gst_bus_pop_filtered (bus, GST_MESSAGE_ELEMENT);
  found = msg != NULL;
  if (msg) {
    const GstStructure *s = gst_message_get_structure (msg);
    fail_unless (gst_structure_get (s, "x", G_TYPE_INT, x, "y", G_TYPE_INT, y,
            "width", G_TYPE_INT, w, "height", G_TYPE_INT, h, NULL));
    gst_message_unref (msg);
  }
  if (found && adaptive) {
    GstBuffer *buf = gst_harness_pull (h0);
    guint8 crop[784];
    gst_buffer_extract (buf, 0, crop, 784);
    assert_mnist_like (crop);
    gst_buffer_unref (buf);
  }
  gst_bus_set_flushing (bus, TRUE);
  gst_object_unref (bus);
  gst_harness_teardown (h0);
  return found;
}

GST_START_TEST (test_digitimage_adaptive_finds_digit_under_uneven_light)
{
  GstElement *e = gst_element_factory_make ("digitimage", NULL);
  gboolean def;
  int x, y, w, h;

  g_object_get (e, "adaptive", &def, NULL);
  gst_object_unref (e);
  fail_unless (def, "adaptive is on by default");
  fail_unless (lit_seven_box (TRUE, &x, &y, &w, &h));
  fail_unless (abs (x - seven_box.x) <= 1 && abs (y - seven_box.y) <= 1
      && abs (w - seven_box.w) <= 2 && abs (h - seven_box.h) <= 2,
      "box %d,%d %dx%d", x, y, w, h);
  if (lit_seven_box (FALSE, &x, &y, &w, &h))
    fail_unless (abs (x - seven_box.x) > 1 || abs (w - seven_box.w) > 2,
        "the global threshold found the seven: the test frame is too easy");
}

GST_END_TEST;

GST_START_TEST (test_digitimage_ignores_digits_outside_the_roi)
{
  GstHarness *h = new_harness (NULL);
  const int shapes[] = { ONE, ONE, ONE, ONE, -1 };

  g_object_set (h->element, "roi", "0,0,20,48", NULL);
  push_shapes (h, shapes, TRUE, 0);
  fail_unless_equals_int (gst_harness_buffers_received (h), 0);
  gst_harness_teardown (h);
}

GST_END_TEST;

/* A roi that is not "x,y,w,h" (w, h > 0) is refused with a warning and
 * the current roi kept, not ignored silently. */
GST_START_TEST (test_digitimage_refuses_an_invalid_roi)
{
  GstElement *e = gst_element_factory_make ("digitimage", NULL);
  const char *bad[] = { "abc", "1,2,3", "0,0,0,10", "-1,0,5,5", "1,2,3,4,5" };
  gchar *roi = NULL;

  g_object_set (e, "roi", "0,0,20,48", NULL);
  for (guint i = 0; i < G_N_ELEMENTS (bad); i++) {
    ASSERT_WARNING (g_object_set (e, "roi", bad[i], NULL));
    g_object_get (e, "roi", &roi, NULL);
    fail_unless_equals_string (roi, "0,0,20,48");
    g_free (roi);
  }
  gst_object_unref (e);
}

GST_END_TEST;

GST_START_TEST (test_digitimage_unstable_digit_gives_no_crop)
{
  GstHarness *h = new_harness (NULL);
  /* never the same shape twice in a row */
  const int shapes[] = { ONE, SEVEN, ONE, SEVEN, ONE, SEVEN, -1 };

  push_shapes (h, shapes, TRUE, 0);
  fail_unless_equals_int (gst_harness_buffers_received (h), 0);
  gst_harness_teardown (h);
}

GST_END_TEST;

/* gap-duration 0: a GAP event per frame without a crop, of its PTS and
 * duration */
GST_START_TEST (test_digitimage_frames_without_crop_become_gap_events)
{
  GstHarness *h = new_harness (NULL);
  const int shapes[] = { BLANK, BLANK, ONE, ONE, ONE, ONE, -1 };
  GstEvent *ev;
  GstClockTime ts, dur;
  guint gaps = 0;

  g_object_set (h->element, "gap-duration", 0, NULL);
  push_shapes (h, shapes, TRUE, 0);
  fail_unless_equals_int (gst_harness_buffers_received (h), 1);
  while ((ev = gst_harness_try_pull_event (h))) {
    if (GST_EVENT_TYPE (ev) == GST_EVENT_GAP) {
      gst_event_parse_gap (ev, &ts, &dur);
      /* frames 0, 1, 2, 3 and 5 give no crop; frame 4 does */
      fail_unless_equals_uint64 (ts, (gaps < 4 ? gaps : 5) * FRAME_DUR);
      fail_unless_equals_uint64 (dur, FRAME_DUR);
      gaps++;
    }
    gst_event_unref (ev);
  }
  fail_unless_equals_int (gaps, 5);
  gst_harness_teardown (h);
}

GST_END_TEST;

/* What leaves the element, in order: "G<start>+<duration>" for a GAP event,
 * "B<pts>" for a crop, "E" for EOS, "S" for a segment (times in ms). */
static GstPadProbeReturn
log_data (GstPad * pad, GstPadProbeInfo * info, gpointer user_data)
{
  GString *log = user_data;

  if (GST_PAD_PROBE_INFO_TYPE (info) & GST_PAD_PROBE_TYPE_BUFFER) {
    g_string_append_printf (log, " B%" G_GUINT64_FORMAT,
        GST_BUFFER_PTS (GST_PAD_PROBE_INFO_BUFFER (info)) / GST_MSECOND);
  } else {
    GstEvent *ev = GST_PAD_PROBE_INFO_EVENT (info);
    GstClockTime ts, dur;

    switch (GST_EVENT_TYPE (ev)) {
      case GST_EVENT_GAP:
        gst_event_parse_gap (ev, &ts, &dur);
        g_string_append_printf (log, " G%" G_GUINT64_FORMAT "+%" G_GUINT64_FORMAT,
            ts / GST_MSECOND, dur / GST_MSECOND);
        break;
      case GST_EVENT_EOS:
        g_string_append (log, " E");
        break;
      case GST_EVENT_SEGMENT:
        g_string_append (log, " S");
        break;
      default:
        break;
    }
  }
  return GST_PAD_PROBE_OK;
}

/* A 10 fps frame of @shape at frame number @index. */
static GstBuffer *
frame_10fps (Shape shape, int index)
{
  GstBuffer *buf = make_frame (shape, TRUE, 0);

  GST_BUFFER_PTS (buf) = index * 100 * GST_MSECOND;
  GST_BUFFER_DURATION (buf) = 100 * GST_MSECOND;
  return buf;
}

/* Pushes @n frames of @shape from frame number *@index on. */
static void
push_10fps (GstHarness * h, Shape shape, int n, int *index)
{
  for (int i = 0; i < n; i++)
    fail_unless_equals_int (gst_harness_push (h, frame_10fps (shape,
                (*index)++)), GST_FLOW_OK);
}

/* By default a run of frames without a crop is one GAP, from the first
 * frame's PTS to the last one's end, sent once it spans gap-duration
 * (500 ms), before the next crop, before EOS and before a new segment; a
 * flush drops what was held; a crop is never held back. */
GST_START_TEST (test_digitimage_runs_of_frames_without_crop_are_one_gap)
{
  GstHarness *h = new_harness (NULL);
  GString *log = g_string_new (NULL);
  GstSegment seg;
  guint ms;
  int i = 0;

  g_object_get (h->element, "gap-duration", &ms, NULL);
  fail_unless_equals_int (ms, 500);
  gst_harness_set_src_caps_str (h, "video/x-raw, format=GRAY8, width=64, "
      "height=48, framerate=10/1");
  gst_pad_add_probe (h->sinkpad, GST_PAD_PROBE_TYPE_BUFFER |
      GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM, log_data, log, NULL);
  /* twelve blank frames: two GAPs of 500 ms, 200 ms held */
  push_10fps (h, BLANK, 12, &i);
  fail_unless_equals_string (log->str, " G0+500 G500+500");
  /* a digit held for three frames gives its crop at the third (1400 ms),
   * after the held run up to it; the fourth frame gives no crop */
  push_10fps (h, ONE, 4, &i);
  fail_unless_equals_string (log->str, " G0+500 G500+500 G1000+400 B1400");
  push_10fps (h, BLANK, 3, &i);
  /* a new segment: the run held (the fourth frame of the digit and three
   * blank ones) goes before it */
  gst_segment_init (&seg, GST_FORMAT_TIME);
  fail_unless (gst_harness_push_event (h, gst_event_new_segment (&seg)));
  fail_unless_equals_string (log->str,
      " G0+500 G500+500 G1000+400 B1400 G1500+400 S");
  /* a flush drops the run held; EOS sends the one after it */
  push_10fps (h, BLANK, 2, &i);
  fail_unless (gst_harness_push_event (h, gst_event_new_flush_start ()));
  fail_unless (gst_harness_push_event (h, gst_event_new_flush_stop (TRUE)));
  fail_unless (gst_harness_push_event (h, gst_event_new_segment (&seg)));
  i = 0;
  push_10fps (h, BLANK, 2, &i);
  fail_unless (gst_harness_push_event (h, gst_event_new_eos ()));
  fail_unless_equals_string (log->str,
      " G0+500 G500+500 G1000+400 B1400 G1500+400 S S G0+200 E");
  fail_unless_equals_int (gst_harness_buffers_received (h), 1);
  gst_harness_teardown (h);
  g_string_free (log, TRUE);
}

GST_END_TEST;

/* The crops of frames @shapes (GRAY8) pushed through a fresh element,
 * concatenated; with @i420 the same grey bytes as the luma plane of I420
 * frames whose chroma is noise (luma on). */
static GBytes *
crops_of (const int *shapes, gboolean i420, gboolean luma)
{
  GstHarness *h = gst_harness_new ("digitimage");
  GByteArray *out = g_byte_array_new ();
  GstVideoInfo info;
  GstBuffer *buf;
  guint32 seed = 7;

  g_object_set (h->element, "luma", luma, NULL);
  gst_harness_set_src_caps_str (h, i420 ?
      "video/x-raw, format=I420, width=64, height=48, framerate=30/1" : CAPS);
  gst_video_info_set_format (&info, GST_VIDEO_FORMAT_I420, W, H);
  for (int i = 0; shapes[i] >= 0; i++) {
    GstBuffer *gray = make_frame (shapes[i], TRUE, i);

    if (i420) {
      GstVideoFrame f;
      GstMapInfo g;

      buf = gst_buffer_new_allocate (NULL, GST_VIDEO_INFO_SIZE (&info), NULL);
      gst_buffer_copy_into (buf, gray, GST_BUFFER_COPY_TIMESTAMPS, 0, -1);
      gst_video_frame_map (&f, &info, buf, GST_MAP_WRITE);
      gst_buffer_map (gray, &g, GST_MAP_READ);
      for (int y = 0; y < H; y++)
        memcpy ((guint8 *) GST_VIDEO_FRAME_PLANE_DATA (&f, 0)
            + y * GST_VIDEO_FRAME_PLANE_STRIDE (&f, 0), g.data + y * W, W);
      for (int p = 1; p < 3; p++)
        for (int k = 0; k < GST_VIDEO_FRAME_PLANE_STRIDE (&f, p) * H / 2; k++) {
          seed = seed * 1664525u + 1013904223u;
          ((guint8 *) GST_VIDEO_FRAME_PLANE_DATA (&f, p))[k] = seed >> 24;
        }
      gst_buffer_unmap (gray, &g);
      gst_video_frame_unmap (&f);
      gst_buffer_unref (gray);
    } else {
      buf = gray;
    }
    fail_unless_equals_int (gst_harness_push (h, buf), GST_FLOW_OK);
  }
  while ((buf = gst_harness_try_pull (h))) {
    GstMapInfo m;

    gst_buffer_map (buf, &m, GST_MAP_READ);
    g_byte_array_append (out, m.data, m.size);
    gst_buffer_unmap (buf, &m);
    gst_buffer_unref (buf);
  }
  gst_harness_teardown (h);
  return g_byte_array_free_to_bytes (out);
}

GST_START_TEST (test_digitimage_luma_reads_the_y_plane_of_yuv)
{
  const int shapes[] = { BLANK, ONE, ONE, ONE, BLANK, SEVEN, SEVEN, SEVEN, -1 };
  GBytes *gray = crops_of (shapes, FALSE, FALSE);
  GBytes *luma = crops_of (shapes, TRUE, TRUE);
  GstHarness *h = gst_harness_new ("digitimage");

  /* two crops, the same bytes from the luma plane as from GRAY8 */
  fail_unless_equals_int (g_bytes_get_size (gray), 2 * 784);
  fail_unless (g_bytes_equal (gray, luma));
  g_bytes_unref (gray);
  g_bytes_unref (luma);
  /* without luma, YUV frames are neither offered upstream (so that a
   * videoconvert in front makes GRAY8, as before the property) nor taken */
  {
    GstPad *sink = gst_element_get_static_pad (h->element, "sink");
    GstCaps *yuv = gst_caps_from_string ("video/x-raw, format=I420");
    GstCaps *caps = gst_pad_query_caps (sink, NULL);

    fail_if (gst_caps_can_intersect (caps, yuv));
    gst_caps_unref (caps);
    g_object_set (h->element, "luma", TRUE, NULL);
    caps = gst_pad_query_caps (sink, NULL);
    fail_unless (gst_caps_can_intersect (caps, yuv));
    gst_caps_unref (caps);
    g_object_set (h->element, "luma", FALSE, NULL);
    gst_caps_unref (yuv);
    gst_object_unref (sink);
  }
  gst_harness_set_src_caps_str (h,
      "video/x-raw, format=I420, width=64, height=48, framerate=30/1");
  fail_unless_equals_int (gst_harness_push (h, gst_buffer_new_allocate (NULL,
              W * H * 3 / 2, NULL)), GST_FLOW_NOT_NEGOTIATED);
  gst_harness_teardown (h);
}

GST_END_TEST;

static Suite *
digitimage_suite (void)
{
  Suite *s = suite_create ("digitimage");
  TCase *tc = tcase_create ("general");

  suite_add_tcase (s, tc);
  tcase_add_test (tc, test_digitimage_src_caps_are_28x28_variable_rate);
  tcase_add_test (tc,
      test_digitimage_two_digits_separated_by_blank_give_two_crops);
  tcase_add_test (tc,
      test_digitimage_changed_digit_gives_a_new_crop_without_blank);
  tcase_add_test (tc, test_digitimage_both_polarities_give_the_same_crop);
  tcase_add_test (tc, test_digitimage_adaptive_finds_digit_under_uneven_light);
  tcase_add_test (tc, test_digitimage_ignores_digits_outside_the_roi);
  tcase_add_test (tc, test_digitimage_refuses_an_invalid_roi);
  tcase_add_test (tc, test_digitimage_unstable_digit_gives_no_crop);
  tcase_add_test (tc, test_digitimage_frames_without_crop_become_gap_events);
  tcase_add_test (tc, test_digitimage_runs_of_frames_without_crop_are_one_gap);
  tcase_add_test (tc, test_digitimage_luma_reads_the_y_plane_of_yuv);
  return s;
}

GST_CHECK_MAIN (digitimage);
