/* mmdigits — GstHarness tests of mmclassify.
 *
 * The models are made here (mm_net_new + mm_model_save into a temporary
 * directory): untrained weights are enough to test the plumbing, and the
 * expected probabilities are computed with the core directly.
 */
#include <cblas.h>
#include <gst/check/gstcheck.h>
#include <gst/check/gstharness.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <math.h>
#include <string.h>
#include <sys/stat.h>

#include "mm-modelfile.h"
#include "mm-net.h"
#include "mm-test-models.h"

#define IMAGE_CAPS "video/x-raw, format=GRAY8, width=28, height=28, " \
  "framerate=0/1"
#define AUDIO_CAPS "audio/x-mfcc, frames=39, coefficients=13, format=F32LE"
#define PROB_TOL 1e-5

/* ---- fixtures ------------------------------------------------------- */

static gchar *tmpdir;

static void
setup (void)
{
  tmpdir = g_dir_make_tmp ("mmclassify-XXXXXX", NULL);
  fail_unless (tmpdir != NULL);
}

static void
teardown (void)
{
  mm_test_remove_tree (tmpdir);
  g_clear_pointer (&tmpdir, g_free);
}

/* An untrained @arch model as @dir/@name (mm_test_save_model). */
static gchar *
make_model (const char *dir, const char *name, MmArch arch, guint64 seed)
{
  GError *err = NULL;
  gchar *path = mm_test_save_model (dir, name, arch, seed, NULL, 1.0f, &err);

  fail_unless (path != NULL, "%s", err ? err->message : "");
  return path;
}

static gchar *
make_subdir (const char *name)
{
  gchar *dir = g_build_filename (tmpdir, name, NULL);

  fail_unless (g_mkdir (dir, 0755) == 0);
  return dir;
}

/* A directory holding all three roles. */
static gchar *
make_full_model_dir (void)
{
  gchar *dir = make_subdir ("all");

  g_free (make_model (dir, "image.safetensors", MM_ARCH_IMAGENET_CNN, 1));
  g_free (make_model (dir, "audio.safetensors", MM_ARCH_AUDIONET_CNN, 2));
  g_free (make_model (dir, "hybrid.safetensors", MM_ARCH_HYBRIDNET_CNN, 3));
  return dir;
}

static GstBuffer *
make_crop (int pattern, GstClockTime pts)
{
  GstBuffer *buf = gst_buffer_new_allocate (NULL, MM_IMAGE_PIXELS, NULL);
  GstMapInfo map;

  gst_buffer_map (buf, &map, GST_MAP_WRITE);
  mm_test_fill_crop (map.data, pattern);
  gst_buffer_unmap (buf, &map);
  GST_BUFFER_PTS (buf) = pts;
  GST_BUFFER_DURATION (buf) = GST_MSECOND * 40;
  return buf;
}

/* One MFCC block starting at @pts, one second long. */
static GstBuffer *
make_block (int pattern, GstClockTime pts)
{
  float v[MM_AUDIO_VALUES];
  GstBuffer *buf;

  mm_test_fill_mfcc (v, pattern);
  buf = gst_buffer_new_memdup (v, sizeof v);
  GST_BUFFER_PTS (buf) = pts;
  GST_BUFFER_DURATION (buf) = GST_SECOND;
  return buf;
}

/* The probabilities the core gives for the inputs (a pattern < 0: not
 * given), for comparison. */
static void
expected_probs (const char *model, int image_pattern, int audio_pattern,
    double probs[MM_N_CLASSES])
{
  guint8 px[MM_IMAGE_PIXELS];
  float mfcc[MM_AUDIO_VALUES];

  if (image_pattern >= 0)
    mm_test_fill_crop (px, image_pattern);
  if (audio_pattern >= 0)
    mm_test_fill_mfcc (mfcc, audio_pattern);
  fail_unless (mm_test_expected_probs (model, image_pattern >= 0 ? px : NULL,
          audio_pattern >= 0 ? mfcc : NULL, probs));
}

static GstElement *
new_classifier (const char *model, GstBus ** bus)
{
  GstElement *e = gst_element_factory_make ("mmclassify", NULL);

  fail_unless (e != NULL);
  g_object_set (e, "model", model, NULL);
  *bus = gst_bus_new ();
  gst_element_set_bus (e, *bus);
  return e;
}

/* Harnesses on the pads asked for; @hi carries the src pad when it exists,
 * else @ha does. */
static void
open_pads (GstElement * e, GstHarness ** hi, GstHarness ** ha)
{
  if (hi) {
    *hi = gst_harness_new_with_element (e, "image_sink", "src");
    gst_harness_set_src_caps_str (*hi, IMAGE_CAPS);
  }
  if (ha) {
    *ha = gst_harness_new_with_element (e, "audio_sink", hi ? NULL : "src");
    gst_harness_set_src_caps_str (*ha, AUDIO_CAPS);
  }
}

/* Drops what is left on @bus (messages hold refs on @e, which holds the
 * bus) and both. */
static void
release (GstElement * e, GstBus * bus)
{
  gst_bus_set_flushing (bus, TRUE);
  gst_object_unref (e);
  gst_object_unref (bus);
}

/* ---- checking decisions --------------------------------------------- */

typedef struct
{
  int digit;
  double confidence;
  double probs[MM_N_CLASSES];
  gchar *modality;
  gchar *arch;
  gchar *deferred_from;         /* the message's deferred-from, or NULL */
  GstClockTime timestamp, running_time, duration;
} Decision;

static void
decision_clear (Decision * d)
{
  g_free (d->modality);
  g_free (d->arch);
  g_free (d->deferred_from);
}

static void
check_probs (const double *p, int digit, double confidence)
{
  double sum = 0;
  int best = 0;

  for (int k = 0; k < MM_N_CLASSES; k++) {
    fail_unless (p[k] >= 0 && p[k] <= 1);
    sum += p[k];
    if (p[k] > p[best])
      best = k;
  }
  fail_unless (fabs (sum - 1) < PROB_TOL, "probabilities sum to %g", sum);
  fail_unless_equals_int (digit, best);
  fail_unless (fabs (confidence - p[best]) < PROB_TOL);
}

/* Pops the next mmclassify message and checks its fields and types. */
static void
pop_decision (GstBus * bus, Decision * d)
{
  GstMessage *msg = gst_bus_timed_pop_filtered (bus, 10 * GST_SECOND,
      GST_MESSAGE_ELEMENT);
  const GstStructure *s;
  const GValue *arr;

  fail_unless (msg != NULL, "no mmclassify message");
  s = gst_message_get_structure (msg);
  fail_unless (gst_structure_has_name (s, "mmclassify"));
  fail_unless (gst_structure_get_int (s, "digit", &d->digit));
  fail_unless (gst_structure_get_double (s, "confidence", &d->confidence));
  fail_unless (gst_structure_get (s, "modality", G_TYPE_STRING, &d->modality,
          "arch", G_TYPE_STRING, &d->arch,
          "timestamp", G_TYPE_UINT64, &d->timestamp,
          "running-time", G_TYPE_UINT64, &d->running_time,
          "duration", G_TYPE_UINT64, &d->duration, NULL));
  fail_unless (gst_structure_has_field_typed (s, "stream-time",
          G_TYPE_UINT64));
  d->deferred_from = g_strdup (gst_structure_get_string (s, "deferred-from"));
  arr = gst_structure_get_value (s, "probabilities");
  fail_unless (arr && GST_VALUE_HOLDS_ARRAY (arr));
  fail_unless_equals_int (gst_value_array_get_size (arr), MM_N_CLASSES);
  for (int k = 0; k < MM_N_CLASSES; k++) {
    const GValue *v = gst_value_array_get_value (arr, k);

    fail_unless (G_VALUE_HOLDS_DOUBLE (v));
    d->probs[k] = g_value_get_double (v);
  }
  check_probs (d->probs, d->digit, d->confidence);
  gst_message_unref (msg);
}

/* Pulls the next JSON line and checks it parses (json-glib) and says what
 * message @d said. */
static void
pull_json (GstHarness * h, const Decision * d)
{
  GstBuffer *buf = gst_harness_pull (h);
  JsonParser *parser = json_parser_new ();
  GError *err = NULL;
  JsonObject *o;
  JsonArray *probs;
  GstMapInfo map;
  double p[MM_N_CLASSES];

  fail_unless (buf != NULL, "no JSON buffer");
  gst_buffer_map (buf, &map, GST_MAP_READ);
  fail_unless (map.size > 2 && map.data[map.size - 1] == '\n');
  fail_unless (memchr (map.data, '\n', map.size) == map.data + map.size - 1,
      "one line per buffer");
  fail_unless (json_parser_load_from_data (parser, (const char *) map.data,
          map.size, &err), "%s", err ? err->message : "");
  gst_buffer_unmap (buf, &map);

  o = json_node_get_object (json_parser_get_root (parser));
  fail_unless (o != NULL);
  fail_unless_equals_int (json_object_get_int_member (o, "digit"), d->digit);
  fail_unless_equals_uint64 (json_object_get_int_member (o, "pts"),
      d->timestamp);
  fail_unless (json_object_has_member (o, "time"));
  fail_unless_equals_string (json_object_get_string_member (o, "modality"),
      d->modality);
  fail_unless_equals_string (json_object_get_string_member (o, "arch"),
      d->arch);
  fail_unless_equals_string (json_object_get_string_member_with_default (o,
          "deferred_from", NULL), d->deferred_from);
  fail_unless (fabs (json_object_get_double_member (o, "confidence") -
          d->confidence) < PROB_TOL);
  probs = json_object_get_array_member (o, "probabilities");
  fail_unless_equals_int (json_array_get_length (probs), MM_N_CLASSES);
  for (int k = 0; k < MM_N_CLASSES; k++) {
    p[k] = json_array_get_double_element (probs, k);
    fail_unless (fabs (p[k] - d->probs[k]) < PROB_TOL);
  }
  check_probs (p, d->digit, json_object_get_double_member (o, "confidence"));
  fail_unless_equals_uint64 (GST_BUFFER_PTS (buf), d->running_time);
  g_object_unref (parser);
  gst_buffer_unref (buf);
}

static void
check_matches_core (const Decision * d, const char *model, int image_pattern,
    int audio_pattern)
{
  double want[MM_N_CLASSES];

  expected_probs (model, image_pattern, audio_pattern, want);
  for (int k = 0; k < MM_N_CLASSES; k++)
    fail_unless (fabs (d->probs[k] - want[k]) < PROB_TOL,
        "class %d: %g, core gives %g", k, d->probs[k], want[k]);
}

/* Waits for EOS on @h's sink and says how many buffers came out. */
static guint
finish (GstHarness * h)
{
  GstEvent *ev;

  while ((ev = gst_harness_pull_event (h))) {
    gboolean eos = GST_EVENT_TYPE (ev) == GST_EVENT_EOS;

    gst_event_unref (ev);
    if (eos)
      break;
  }
  fail_unless (ev != NULL, "no EOS downstream");
  return gst_harness_buffers_received (h);
}

static gchar *
pop_error (GstBus * bus, GQuark domain, int code)
{
  GstMessage *msg = gst_bus_pop_filtered (bus, GST_MESSAGE_ERROR);
  GError *err = NULL;
  gchar *text;

  fail_unless (msg != NULL, "no error message");
  gst_message_parse_error (msg, &err, NULL);
  fail_unless (err->domain == domain, "domain %s",
      g_quark_to_string (err->domain));
  if (code >= 0)
    fail_unless_equals_int (err->code, code);
  text = g_strdup (err->message);
  g_error_free (err);
  gst_message_unref (msg);
  return text;
}

/* ---- tests ---------------------------------------------------------- */

/* A stream that ends before any crop or word arrived ends normally, with a
 * warning that says where to look (not an error: silence is valid input). */
GST_START_TEST (test_mmclassify_empty_stream_warns_and_ends)
{
  gchar *model = make_model (tmpdir, "image.safetensors",
      MM_ARCH_IMAGENET_CNN, 7);
  GstBus *bus;
  GstElement *e = new_classifier (model, &bus);
  GstHarness *h;
  GstMessage *msg;
  GError *err = NULL;

  open_pads (e, &h, NULL);
  gst_harness_push_event (h, gst_event_new_eos ());
  fail_unless_equals_int (finish (h), 0);
  msg = gst_bus_pop_filtered (bus, GST_MESSAGE_WARNING);
  fail_unless (msg != NULL);
  gst_message_parse_warning (msg, &err, NULL);
  fail_unless (strstr (err->message, "No crop or word") != NULL, "%s", err->message);
  g_error_free (err);
  gst_message_unref (msg);
  fail_unless (gst_bus_pop_filtered (bus, GST_MESSAGE_ERROR) == NULL);

  gst_harness_teardown (h);
  release (e, bus);
  g_free (model);
}

GST_END_TEST;

/* A model whose weights overflow (every image.fc weight 3e38: finite, so
 * the loader takes them) gives inf/NaN logits: the element posts an ERROR
 * naming the model file and the cause, and no decision. */
GST_START_TEST (test_mmclassify_non_finite_outputs_are_an_error)
{
  gchar *path = g_build_filename (tmpdir, "broken.safetensors", NULL);
  MmNet *net = mm_net_new (MM_ARCH_IMAGENET_CNN, 7);
  const MmTensorInfo *fc = mm_net_find_tensor (net, "image.fc.weight");
  GstBus *bus;
  GstElement *e;
  GstHarness *h;
  GstMessage *msg;
  GError *err = NULL;

  for (size_t i = 0; i < fc->size; i++)
    fc->data[i] = 3e38f;
  fail_unless (mm_model_save (net, NULL, path, NULL));
  mm_net_free (net);
  e = new_classifier (path, &bus);
  open_pads (e, &h, NULL);
  /* the aggregator classifies in its own thread: wait for its message */
  gst_harness_push (h, make_crop (1, 0));
  msg = gst_bus_timed_pop_filtered (bus, 30 * GST_SECOND,
      GST_MESSAGE_ERROR | GST_MESSAGE_ELEMENT);
  fail_unless (msg != NULL && GST_MESSAGE_TYPE (msg) == GST_MESSAGE_ERROR,
      "no error message (a decision?)");
  gst_message_parse_error (msg, &err, NULL);
  fail_unless (g_error_matches (err, GST_STREAM_ERROR,
          GST_STREAM_ERROR_FAILED), "%s", err->message);
  fail_unless (strstr (err->message, "broken.safetensors") != NULL
      && strstr (err->message, "non-finite outputs") != NULL, "%s",
      err->message);
  g_error_free (err);
  gst_message_unref (msg);
  gst_harness_teardown (h);
  release (e, bus);
  g_free (path);
}

GST_END_TEST;

/* An MFCC block holding NaN is the stream's fault: a WARNING says so, the
 * block is not classified, and the next good block is. */
GST_START_TEST (test_mmclassify_non_finite_mfcc_warns_and_goes_on)
{
  gchar *model = make_model (tmpdir, "audio.safetensors",
      MM_ARCH_AUDIONET_CNN, 8);
  GstBus *bus;
  GstElement *e = new_classifier (model, &bus);
  GstHarness *h;
  GstBuffer *bad = make_block (3, 0);
  GstMapInfo map;
  GstMessage *msg;
  GError *err = NULL;
  Decision d = { 0 };

  gst_buffer_map (bad, &map, GST_MAP_WRITE);
  GST_WRITE_FLOAT_LE (map.data + 4 * 17, NAN);
  gst_buffer_unmap (bad, &map);
  open_pads (e, NULL, &h);
  fail_unless_equals_int (gst_harness_push (h, bad), GST_FLOW_OK);
  fail_unless_equals_int (gst_harness_push (h, make_block (3, 2 * GST_SECOND)),
      GST_FLOW_OK);
  /* the aggregator classifies on its source pad's thread: a push returns
   * before the block is looked at, so wait for the warning */
  msg = gst_bus_timed_pop_filtered (bus, 30 * GST_SECOND, GST_MESSAGE_WARNING);
  fail_unless (msg != NULL);
  gst_message_parse_warning (msg, &err, NULL);
  fail_unless (strstr (err->message, "inf or NaN") != NULL, "%s", err->message);
  g_error_free (err);
  gst_message_unref (msg);
  pop_decision (bus, &d);
  fail_unless_equals_uint64 (d.timestamp, 2 * GST_SECOND);
  decision_clear (&d);
  gst_harness_push_event (h, gst_event_new_eos ());
  fail_unless_equals_int (finish (h), 1);
  fail_unless (gst_bus_pop_filtered (bus, GST_MESSAGE_ERROR) == NULL);
  gst_harness_teardown (h);
  release (e, bus);
  g_free (model);
}

GST_END_TEST;

GST_START_TEST (test_mmclassify_image_only_gives_one_decision_per_crop)
{
  gchar *model = make_model (tmpdir, "image.safetensors",
      MM_ARCH_IMAGENET_CNN, 7);
  GstBus *bus;
  GstElement *e = new_classifier (model, &bus);
  GstHarness *h;

  open_pads (e, &h, NULL);
  for (int i = 0; i < 3; i++) {
    Decision d = { 0 };

    fail_unless_equals_int (gst_harness_push (h, make_crop (i,
                i * GST_SECOND)), GST_FLOW_OK);
    pop_decision (bus, &d);
    fail_unless_equals_string (d.modality, "image");
    fail_unless_equals_string (d.arch, "ImageNet_CNN");
    fail_unless_equals_uint64 (d.timestamp, i * GST_SECOND);
    fail_unless_equals_uint64 (d.duration, 40 * GST_MSECOND);
    check_matches_core (&d, model, i, -1);
    pull_json (h, &d);
    decision_clear (&d);
  }
  gst_harness_push_event (h, gst_event_new_eos ());
  fail_unless_equals_int (finish (h), 3);
  fail_unless (gst_bus_pop_filtered (bus, GST_MESSAGE_ELEMENT) == NULL);

  gst_harness_teardown (h);
  release (e, bus);
  g_free (model);
}

GST_END_TEST;

/* A model calibrated with T = 4: the element's probabilities are
 * softmax(logits / 4), flatter than the raw ones. With min-confidence above
 * the top probability the decision says it is not sure — digit −1 in the
 * message, null in the JSON — and still carries the probabilities; below
 * it, the digit. */
GST_START_TEST (test_mmclassify_min_confidence_says_not_sure)
{
  gchar *raw = make_model (tmpdir, "raw.safetensors", MM_ARCH_IMAGENET_CNN, 7);
  gchar *model = g_build_filename (tmpdir, "calibrated.safetensors", NULL);
  MmNet *net = mm_model_load (raw, NULL, NULL);
  double want[MM_N_CLASSES], flat[MM_N_CLASSES], top = 0;
  GstBus *bus;
  GstElement *e;
  GstHarness *h;
  GstMessage *msg;
  const GstStructure *st;
  const GValue *arr;
  GstBuffer *buf;
  GstMapInfo map;
  int digit;
  double conf, sum = 0;

  mm_net_set_temperature (net, 4.0f);
  fail_unless (mm_model_save (net, NULL, model, NULL));
  mm_net_free (net);
  expected_probs (model, 0, -1, want);
  expected_probs (raw, 0, -1, flat);
  for (int k = 0; k < MM_N_CLASSES; k++)
    top = MAX (top, want[k]);
  /* calibration with T > 1 flattens: the top probability drops */
  {
    double raw_top = 0;
    for (int k = 0; k < MM_N_CLASSES; k++)
      raw_top = MAX (raw_top, flat[k]);
    fail_unless (top < raw_top, "T = 4 did not flatten: %g vs %g", top, raw_top);
  }

  e = new_classifier (model, &bus);
  g_object_set (e, "min-confidence", top + 0.01, NULL);
  open_pads (e, &h, NULL);
  fail_unless_equals_int (gst_harness_push (h, make_crop (0, 0)), GST_FLOW_OK);
  msg = gst_bus_timed_pop_filtered (bus, 10 * GST_SECOND, GST_MESSAGE_ELEMENT);
  fail_unless (msg != NULL);
  st = gst_message_get_structure (msg);
  fail_unless (gst_structure_get_int (st, "digit", &digit));
  fail_unless_equals_int (digit, -1);
  fail_unless (gst_structure_get_double (st, "confidence", &conf));
  fail_unless (fabs (conf - top) < PROB_TOL);
  arr = gst_structure_get_value (st, "probabilities");
  for (int k = 0; k < MM_N_CLASSES; k++) {
    double p = g_value_get_double (gst_value_array_get_value (arr, k));
    fail_unless (fabs (p - want[k]) < PROB_TOL, "class %d: %g, want %g", k, p, want[k]);
    sum += p;
  }
  fail_unless (fabs (sum - 1) < PROB_TOL);
  gst_message_unref (msg);
  buf = gst_harness_pull (h);
  gst_buffer_map (buf, &map, GST_MAP_READ);
  fail_unless (g_strstr_len ((const char *) map.data, map.size, "\"digit\":null,") != NULL,
      "%.*s", (int) map.size, map.data);
  fail_unless (g_strstr_len ((const char *) map.data, map.size, "\"probabilities\":[") != NULL);
  gst_buffer_unmap (buf, &map);
  gst_buffer_unref (buf);

  /* below the top probability: a digit again */
  g_object_set (e, "min-confidence", top - 0.01, NULL);
  fail_unless_equals_int (gst_harness_push (h, make_crop (0, GST_SECOND)), GST_FLOW_OK);
  {
    Decision d = { 0 };
    pop_decision (bus, &d);
    check_matches_core (&d, model, 0, -1);
    pull_json (h, &d);
    decision_clear (&d);
  }
  gst_harness_push_event (h, gst_event_new_eos ());
  fail_unless_equals_int (finish (h), 2);
  gst_harness_teardown (h);
  release (e, bus);
  g_free (raw);
  g_free (model);
}

GST_END_TEST;

GST_START_TEST (test_mmclassify_audio_only_uses_audionet)
{
  gchar *model = make_model (tmpdir, "audio.safetensors",
      MM_ARCH_AUDIONET_CNN, 8);
  GstBus *bus;
  GstElement *e = new_classifier (model, &bus);
  GstHarness *h;
  Decision d = { 0 };

  open_pads (e, NULL, &h);
  fail_unless_equals_int (gst_harness_push (h, make_block (3, GST_SECOND)),
      GST_FLOW_OK);
  pop_decision (bus, &d);
  fail_unless_equals_string (d.modality, "audio");
  fail_unless_equals_string (d.arch, "AudioNet_CNN");
  fail_unless_equals_uint64 (d.timestamp, GST_SECOND);
  fail_unless_equals_uint64 (d.duration, GST_SECOND);
  check_matches_core (&d, model, -1, 3);
  pull_json (h, &d);
  decision_clear (&d);

  gst_harness_push_event (h, gst_event_new_eos ());
  fail_unless_equals_int (finish (h), 1);
  gst_harness_teardown (h);
  release (e, bus);
  g_free (model);
}

GST_END_TEST;

/* EOS on both pads, one buffer out in all, and the element released with
 * its harnesses. @quiet: no element message may be left on the bus. */
static void
end_both (GstElement * e, GstBus * bus, GstHarness * hi, GstHarness * ha,
    gboolean quiet)
{
  gst_harness_push_event (hi, gst_event_new_eos ());
  gst_harness_push_event (ha, gst_event_new_eos ());
  fail_unless_equals_int (finish (hi), 1);
  if (quiet)
    fail_unless (gst_bus_pop_filtered (bus, GST_MESSAGE_ELEMENT) == NULL);
  gst_harness_teardown (ha);
  gst_harness_teardown (hi);
  release (e, bus);
}

/* Through a classifier of @dir: a crop at 1.0 s and a block centred at
 * 1.2 s (200 ms apart: one pair) in, one decision out, its message into @d
 * (checked against its JSON line), and nothing more by EOS. */
static void
classify_one_pair (const char *dir, Decision * d)
{
  GstBus *bus;
  GstElement *e = new_classifier (dir, &bus);
  GstHarness *hi, *ha;

  open_pads (e, &hi, &ha);
  fail_unless_equals_int (gst_harness_push (hi, make_crop (2, GST_SECOND)),
      GST_FLOW_OK);
  fail_unless_equals_int (gst_harness_push (ha, make_block (5,
              700 * GST_MSECOND)), GST_FLOW_OK);
  pop_decision (bus, d);
  pull_json (hi, d);
  end_both (e, bus, hi, ha, TRUE);
}

GST_START_TEST (test_mmclassify_pair_within_window_gives_one_hybrid_decision)
{
  gchar *dir = make_full_model_dir ();
  gchar *hybrid = g_build_filename (dir, "hybrid.safetensors", NULL);
  Decision d = { 0 };

  classify_one_pair (dir, &d);
  fail_unless_equals_string (d.modality, "image+audio");
  fail_unless_equals_string (d.arch, "HybridNet_CNN");
  /* spans both: from the block's start to its end */
  fail_unless_equals_uint64 (d.timestamp, 700 * GST_MSECOND);
  fail_unless_equals_uint64 (d.duration, GST_SECOND);
  check_matches_core (&d, hybrid, 2, 5);
  fail_unless (d.deferred_from == NULL);
  decision_clear (&d);
  g_free (hybrid);
  g_free (dir);
}

GST_END_TEST;

/* With the pair rule (roles.json's image_decides_below, here 1: every pair
 * an untrained hybrid is not certain of), a pair is decided by the image
 * network on its crop: still modality image+audio, arch ImageNet_CNN,
 * deferred-from the hybrid, in the message and the JSON line. */
GST_START_TEST (test_mmclassify_pair_rule_hands_unsure_pairs_to_the_image_network)
{
  gchar *dir = make_full_model_dir ();
  gchar *image = g_build_filename (dir, "image.safetensors", NULL);
  gchar *roles = g_build_filename (dir, "roles.json", NULL);
  Decision d = { 0 };

  fail_unless (g_file_set_contents (roles, "{\"image+audio\": {\"network\": "
          "\"hybrid.safetensors\", \"image_decides_below\": 1}}", -1, NULL));
  classify_one_pair (dir, &d);
  fail_unless_equals_string (d.modality, "image+audio");
  fail_unless_equals_string (d.arch, "ImageNet_CNN");
  fail_unless_equals_string (d.deferred_from, "HybridNet_CNN");
  check_matches_core (&d, image, 2, -1);
  decision_clear (&d);
  g_free (roles);
  g_free (image);
  g_free (dir);
}

GST_END_TEST;

/* Crop at 0 s and a block centred at 3 s with @fallback: returns the number
 * of decisions, checking each. */
static guint
run_far_apart (gboolean fallback)
{
  gchar *dir = make_full_model_dir ();
  GstBus *bus;
  GstElement *e = new_classifier (dir, &bus);
  GstHarness *hi, *ha;
  guint n;

  g_object_set (e, "fallback", fallback, NULL);
  open_pads (e, &hi, &ha);
  fail_unless_equals_int (gst_harness_push (hi, make_crop (1, 0)),
      GST_FLOW_OK);
  fail_unless_equals_int (gst_harness_push (ha, make_block (1,
              2500 * GST_MSECOND)), GST_FLOW_OK);
  if (fallback) {
    Decision d = { 0 };

    /* the crop is released as soon as the block shows it has no partner */
    pop_decision (bus, &d);
    fail_unless_equals_string (d.modality, "image");
    fail_unless_equals_string (d.arch, "ImageNet_CNN");
    fail_unless_equals_uint64 (d.timestamp, 0);
    pull_json (hi, &d);
    decision_clear (&d);
  }
  /* the block waits for the image pad: its EOS releases it */
  gst_harness_push_event (hi, gst_event_new_eos ());
  if (fallback) {
    Decision d = { 0 };

    pull_json (hi, (pop_decision (bus, &d), &d));
    fail_unless_equals_string (d.modality, "audio");
    fail_unless_equals_string (d.arch, "AudioNet_CNN");
    fail_unless_equals_uint64 (d.timestamp, 2500 * GST_MSECOND);
    decision_clear (&d);
  }
  gst_harness_push_event (ha, gst_event_new_eos ());
  n = finish (hi);
  fail_unless (gst_bus_pop_filtered (bus, GST_MESSAGE_ELEMENT) == NULL);

  gst_harness_teardown (ha);
  gst_harness_teardown (hi);
  release (e, bus);
  g_free (dir);
  return n;
}

GST_START_TEST (test_mmclassify_far_apart_gives_two_single_decisions)
{
  fail_unless_equals_int (run_far_apart (TRUE), 2);
}

GST_END_TEST;

GST_START_TEST (test_mmclassify_far_apart_without_fallback_gives_none)
{
  fail_unless_equals_int (run_far_apart (FALSE), 0);
}

GST_END_TEST;

GST_START_TEST (test_mmclassify_gap_on_other_pad_releases_lone_crop)
{
  gchar *dir = make_full_model_dir ();
  GstBus *bus;
  GstElement *e = new_classifier (dir, &bus);
  GstHarness *hi, *ha;
  Decision d = { 0 };

  open_pads (e, &hi, &ha);
  fail_unless_equals_int (gst_harness_push (hi, make_crop (1, 0)),
      GST_FLOW_OK);
  /* silence up to 0.5 s says nothing yet; up to 1.5 s rules a partner out */
  fail_unless (gst_harness_push_event (ha, gst_event_new_gap (0,
              500 * GST_MSECOND)));
  fail_unless (gst_harness_push_event (ha, gst_event_new_gap (500 *
              GST_MSECOND, GST_SECOND)));
  pop_decision (bus, &d);
  fail_unless_equals_string (d.modality, "image");
  pull_json (hi, &d);
  decision_clear (&d);

  end_both (e, bus, hi, ha, FALSE);
  g_free (dir);
}

GST_END_TEST;

GST_START_TEST (test_mmclassify_live_lone_crop_released_after_pair_window)
{
  gchar *dir = make_full_model_dir ();
  GstBus *bus;
  GstElement *e = new_classifier (dir, &bus);
  GstHarness *hi, *ha;
  GstTestClock *clock;
  Decision d = { 0 };

  open_pads (e, &hi, &ha);
  fail_unless_equals_int (gst_harness_push (hi, make_crop (4, 0)),
      GST_FLOW_OK);
  /* the harness is a live source: the element waits on the clock for the
   * crop's time + latency (= pair-window), then gives up on a partner */
  clock = gst_harness_get_testclock (hi);
  fail_unless (gst_test_clock_timed_wait_for_multiple_pending_ids (clock, 1,
          10000, NULL));
  fail_unless (gst_bus_pop_filtered (bus, GST_MESSAGE_ELEMENT) == NULL);
  fail_unless (gst_harness_crank_single_clock_wait (hi));
  fail_unless_equals_uint64 (gst_clock_get_time (GST_CLOCK (clock)),
      GST_SECOND);
  pull_json (hi, (pop_decision (bus, &d), &d));
  fail_unless_equals_string (d.modality, "image");
  decision_clear (&d);

  gst_object_unref (clock);
  end_both (e, bus, hi, ha, FALSE);
  g_free (dir);
}

GST_END_TEST;

GST_START_TEST (test_mmclassify_latency_query_reports_pair_window)
{
  gchar *model = make_model (tmpdir, "image.safetensors",
      MM_ARCH_IMAGENET_CNN, 7);
  GstBus *bus;
  GstElement *e = new_classifier (model, &bus);
  GstHarness *h;

  open_pads (e, &h, NULL);
  fail_unless_equals_uint64 (gst_harness_query_latency (h), GST_SECOND);
  g_object_set (e, "pair-window", 300, NULL);
  fail_unless_equals_uint64 (gst_harness_query_latency (h),
      300 * GST_MSECOND);
  gst_harness_teardown (h);
  release (e, bus);
  g_free (model);
}

GST_END_TEST;

static void
push_segment (GstHarness * h)
{
  GstSegment seg;

  gst_segment_init (&seg, GST_FORMAT_TIME);
  gst_pad_push_event (h->srcpad, gst_event_new_segment (&seg));
}

GST_START_TEST (test_mmclassify_refuses_wrong_caps)
{
  gchar *dir = make_full_model_dir ();
  GstBus *bus;
  GstElement *e = new_classifier (dir, &bus);
  GstHarness *hi, *ha;
  GstPad *ipad, *apad;
  GstCaps *caps;

  hi = gst_harness_new_with_element (e, "image_sink", "src");
  ha = gst_harness_new_with_element (e, "audio_sink", NULL);
  ipad = gst_element_get_static_pad (e, "image_sink");
  apad = gst_element_get_static_pad (e, "audio_sink");

  caps = gst_caps_from_string ("video/x-raw, format=GRAY8, width=32, "
      "height=32, framerate=0/1");
  fail_if (gst_pad_query_accept_caps (ipad, caps));
  /* a refused sticky event shows when data follows it */
  gst_pad_push_event (hi->srcpad, gst_event_new_caps (caps));
  push_segment (hi);
  fail_unless_equals_int (gst_harness_push (hi, make_crop (0, 0)),
      GST_FLOW_NOT_NEGOTIATED);
  gst_caps_unref (caps);
  caps = gst_caps_from_string ("video/x-raw, format=RGB, width=28, "
      "height=28, framerate=0/1");
  fail_if (gst_pad_query_accept_caps (ipad, caps));
  gst_caps_unref (caps);
  caps = gst_caps_from_string ("audio/x-mfcc, frames=40, coefficients=13, "
      "format=F32LE");
  fail_if (gst_pad_query_accept_caps (apad, caps));
  gst_pad_push_event (ha->srcpad, gst_event_new_caps (caps));
  push_segment (ha);
  fail_unless_equals_int (gst_harness_push (ha, make_block (0, 0)),
      GST_FLOW_NOT_NEGOTIATED);
  gst_caps_unref (caps);
  /* each pad takes only its own modality */
  caps = gst_caps_from_string (AUDIO_CAPS);
  fail_if (gst_pad_query_accept_caps (ipad, caps));
  fail_unless (gst_pad_query_accept_caps (apad, caps));
  gst_caps_unref (caps);
  caps = gst_caps_from_string (IMAGE_CAPS);
  fail_unless (gst_pad_query_accept_caps (ipad, caps));
  gst_caps_unref (caps);

  gst_object_unref (ipad);
  gst_object_unref (apad);
  gst_harness_teardown (ha);
  gst_harness_teardown (hi);
  release (e, bus);
  g_free (dir);
}

GST_END_TEST;

/* The caps mfccextract gives for @props (a property list, NULL-terminated
 * name/value pairs), read from a real instance. */
static GstCaps *
mfccextract_caps (const gchar * first, ...)
{
  GstHarness *h = gst_harness_new ("mfccextract");
  GstCaps *caps;
  va_list args;

  va_start (args, first);
  if (first)
    g_object_set_valist (G_OBJECT (h->element), first, args);
  va_end (args);
  gst_harness_set_src_caps_str (h, "audio/x-raw, format=F32LE, rate=16000, "
      "channels=1, layout=interleaved");
  caps = gst_pad_get_current_caps (h->sinkpad);
  fail_unless (caps != NULL);
  gst_harness_teardown (h);
  return caps;
}

/* A model trained with nfft 512 (its "mfcc" metadata says so) fed the
 * features of a default mfccextract (nfft 1024): refused at negotiation,
 * not-negotiated, with an error naming the model and both values. The same
 * model takes the caps of an mfccextract told model=. */
GST_START_TEST (test_mmclassify_refuses_features_of_another_front_end)
{
  gchar *path = g_build_filename (tmpdir, "audio512.safetensors", NULL);
  MmNet *net = mm_net_new (MM_ARCH_AUDIONET_CNN, 2);
  MmModelMeta meta = { .mfcc_json = (char *) "{\"nfft\": 512}" };
  GstBus *bus;
  GstElement *e;
  GstHarness *ha;
  GstCaps *caps;
  GstMessage *msg;
  GError *err = NULL;
  gchar *debug = NULL;
  Decision d;

  fail_unless (mm_model_save (net, &meta, path, NULL));
  mm_net_free (net);
  e = new_classifier (path, &bus);
  ha = gst_harness_new_with_element (e, "audio_sink", "src");
  gst_pad_push_event (ha->srcpad, gst_event_new_stream_start ("fe"));

  /* a refused sticky event shows when data follows it */
  caps = mfccextract_caps (NULL);
  gst_pad_push_event (ha->srcpad, gst_event_new_caps (caps));
  gst_caps_unref (caps);
  push_segment (ha);
  /* the aggregator handles serialized events in its own thread: the error
   * comes from there, and the pad then refuses data */
  gst_harness_push (ha, make_block (3, 0));
  msg = gst_bus_timed_pop_filtered (bus, 10 * GST_SECOND, GST_MESSAGE_ERROR);
  fail_unless (msg != NULL, "no error message");
  {
    /* the pad is marked after the handler returns: allow it a moment */
    GstFlowReturn fr = GST_FLOW_OK;
    for (int k = 1; k <= 100 && fr == GST_FLOW_OK; k++) {
      fr = gst_harness_push (ha, make_block (3, k * GST_SECOND));
      if (fr == GST_FLOW_OK)
        g_usleep (10000);
    }
    fail_unless_equals_int (fr, GST_FLOW_NOT_NEGOTIATED);
  }
  gst_message_parse_error (msg, &err, &debug);
  fail_unless (g_error_matches (err, GST_CORE_ERROR, GST_CORE_ERROR_NEGOTIATION));
  fail_unless (strstr (err->message, "nfft: 512 vs 1024") != NULL, "%s", err->message);
  fail_unless (strstr (err->message, path) != NULL, "%s", err->message);
  fail_unless (strstr (debug, "model=") != NULL, "%s", debug);
  g_clear_error (&err);
  g_free (debug);
  gst_message_unref (msg);

  gst_harness_teardown (ha);
  release (e, bus);

  /* a new run, with the caps of mfccextract model=path */
  e = new_classifier (path, &bus);
  ha = gst_harness_new_with_element (e, "audio_sink", "src");
  gst_pad_push_event (ha->srcpad, gst_event_new_stream_start ("fe"));
  caps = mfccextract_caps ("model", path, NULL);
  fail_unless (gst_pad_push_event (ha->srcpad, gst_event_new_caps (caps)));
  gst_caps_unref (caps);
  push_segment (ha);
  fail_unless_equals_int (gst_harness_push (ha, make_block (3, 0)), GST_FLOW_OK);
  gst_harness_push_event (ha, gst_event_new_eos ());
  pop_decision (bus, &d);
  fail_unless_equals_string (d.arch, "AudioNet_CNN");
  decision_clear (&d);

  gst_harness_teardown (ha);
  release (e, bus);
  g_free (path);
}

GST_END_TEST;

/* mfccextract ! mmclassify with a model of front end @mfcc_json (nfft 512,
 * cmvn mean, test-time views) and no front-end setting on mfccextract: it
 * asks downstream, adopts the model's front end with its views, and a
 * spoken word (a voiced syllable) gets its decision. */
static void
check_adopts_front_end (const gchar * name, const gchar * mfcc_json)
{
  gchar *path = g_build_filename (tmpdir, name, NULL);
  MmNet *net = mm_net_new (MM_ARCH_AUDIONET_CNN, 2);
  MmModelMeta meta = { .mfcc_json = (char *) mfcc_json };
  gchar *launch;
  GstHarness *h;
  GstBuffer *buf;
  GstElement *mfcc;
  GstPad *pad;
  GstCaps *caps;
  const gsize n = 2 * 16000;
  gsize done = 0;
  gint nfft = 0;

  fail_unless (mm_model_save (net, &meta, path, NULL));
  mm_net_free (net);
  launch = g_strdup_printf ("mfccextract name=m ! mmclassify model=%s", path);
  h = gst_harness_new_parse (launch);
  gst_harness_set_src_caps_str (h, "audio/x-raw, format=F32LE, rate=16000, "
      "channels=1, layout=interleaved");
  while (done < n) {
    gsize len = 1600;
    float *x = g_new (float, len);
    for (gsize i = 0; i < len; i++) {
      double t = (double) (done + i) / 16000 - 0.6, env, v = 0;
      if (t >= 0 && t < 0.35) {
        env = 0.5 - 0.5 * cos (2 * G_PI * t / 0.35);
        for (int k = 1; k <= 25; k++)
          v += sin (k * 2 * G_PI * (120 * t + 25 * t * t / 0.35)) / k;
      } else
        env = 0;
      x[i] = (float) (0.2 * env * v / 1.6);
    }
    buf = gst_buffer_new_wrapped (x, len * sizeof (float));
    GST_BUFFER_PTS (buf) = gst_util_uint64_scale_int (done, GST_SECOND, 16000);
    fail_unless_equals_int (gst_harness_push (h, buf), GST_FLOW_OK);
    done += len;
  }
  gst_harness_push_event (h, gst_event_new_eos ());
  buf = gst_harness_pull (h);
  fail_unless (buf != NULL, "no decision with %s", mfcc_json);
  gst_buffer_unref (buf);
  mfcc = gst_bin_get_by_name (GST_BIN (h->element), "m");
  pad = gst_element_get_static_pad (mfcc, "src");
  caps = gst_pad_get_current_caps (pad);
  fail_unless (gst_structure_get_int (gst_caps_get_structure (caps, 0), "nfft", &nfft));
  fail_unless_equals_int (nfft, 512);
  fail_unless_equals_string (gst_structure_get_string (gst_caps_get_structure (caps, 0),
          "cmvn"), "mean");
  fail_unless_equals_string (gst_structure_get_string (gst_caps_get_structure (caps, 0),
          "views"), "speed:0.9,speed:1.1");
  gst_caps_unref (caps);
  gst_object_unref (pad);
  gst_object_unref (mfcc);
  gst_harness_teardown (h);
  g_free (launch);
  g_free (path);
}

GST_START_TEST (test_mmclassify_mfccextract_adopts_the_model_front_end)
{
  check_adopts_front_end ("audio512.safetensors", "{\"nfft\": 512, \"cmvn\": \"mean\", "
      "\"views\": \"speed:0.9,speed:1.1\"}");
}

GST_END_TEST;

/* A model whose recordings were cut by the word detector (train --word-cut
 * detector) takes a stream too: the caps carry no word_cut, and a stream
 * is always cut by the detector (before, mmclassify refused it: "word_cut:
 * detector vs whole"). */
GST_START_TEST (test_mmclassify_takes_a_stream_for_a_detector_cut_model)
{
  check_adopts_front_end ("audio512-detector.safetensors", "{\"nfft\": 512, \"cmvn\": "
      "\"mean\", \"views\": \"speed:0.9,speed:1.1\", \"word_cut\": \"detector\"}");
}

GST_END_TEST;

GST_START_TEST (test_mmclassify_each_pad_requested_once)
{
  GstElement *e = gst_element_factory_make ("mmclassify", NULL);
  GstPadTemplate *templ =
      gst_element_get_pad_template (e, "image_sink");
  GstPad *p1 = gst_element_request_pad (e, templ, NULL, NULL);
  GstPad *p2 = gst_element_request_pad (e, templ, NULL, NULL);
  GstPad *p3 = gst_element_request_pad_simple (e, "audio_sink");

  fail_unless (p1 != NULL && p3 != NULL);
  fail_unless (p2 == NULL);
  fail_unless_equals_string (GST_PAD_NAME (p1), "image_sink");
  fail_unless_equals_string (GST_PAD_NAME (p3), "audio_sink");
  /* released, it can be requested again */
  gst_element_release_request_pad (e, p1);
  gst_object_unref (p1);
  p1 = gst_element_request_pad_simple (e, "image_sink");
  fail_unless (p1 != NULL);
  gst_object_unref (p1);
  gst_object_unref (p3);
  gst_object_unref (e);
}

GST_END_TEST;

/* Requests the pads named (NULL-terminated), goes to READY and returns the
 * error message that must have stopped it. */
static gchar *
open_fails (const char *model, GQuark domain, int code, ...)
{
  GstBus *bus;
  GstElement *e = new_classifier (model, &bus);
  const char *pad;
  va_list ap;
  gchar *text;

  va_start (ap, code);
  while ((pad = va_arg (ap, const char *))) {
    GstPad *p = gst_element_request_pad_simple (e, pad);

    fail_unless (p != NULL);
    gst_object_unref (p);
  }
  va_end (ap);
  fail_unless_equals_int (gst_element_set_state (e, GST_STATE_READY),
      GST_STATE_CHANGE_FAILURE);
  text = pop_error (bus, domain, code);
  gst_element_set_state (e, GST_STATE_NULL);
  release (e, bus);
  return text;
}

GST_START_TEST (test_mmclassify_missing_model_file_is_an_error_naming_it)
{
  gchar *missing = g_build_filename (tmpdir, "nothere.safetensors", NULL);
  gchar *corrupt = g_build_filename (tmpdir, "corrupt.safetensors", NULL);
  gchar *text;

  text = open_fails (missing, GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_NOT_FOUND,
      "image_sink", NULL);
  fail_unless (strstr (text, missing) != NULL, "%s", text);
  g_free (text);

  fail_unless (g_file_set_contents (corrupt, "not a model", -1, NULL));
  text = open_fails (corrupt, GST_RESOURCE_ERROR, -1, "image_sink", NULL);
  fail_unless (g_str_has_prefix (text, "model file "), "%s", text);
  fail_unless (strstr (text, corrupt) != NULL, "%s", text);
  g_free (text);
  g_free (missing);
  g_free (corrupt);
}

GST_END_TEST;

/* A header nesting 100,000 deep overflowed json-glib's stack in the
 * element; a FIFO blocked it for ever. Both are errors naming the cause. */
GST_START_TEST (test_mmclassify_hostile_model_files_are_errors)
{
  gchar *deep = g_build_filename (tmpdir, "deep.safetensors", NULL);
  gchar *fifo = g_build_filename (tmpdir, "fifo.safetensors", NULL);
  gchar *dir = make_subdir ("with-deep");
  gchar *deep_in_dir = g_build_filename (dir, "a-deep.safetensors", NULL);
  guint64 len = GUINT64_TO_LE (100000);
  GString *bytes = g_string_new_len ((const char *) &len, 8);
  gchar *text, *good;
  GstBus *bus;
  GstElement *e;
  GstPad *p;
  GstMessage *msg;
  GError *err = NULL;

  for (int i = 0; i < 100000; i++)
    g_string_append_c (bytes, '[');
  fail_unless (g_file_set_contents (deep, bytes->str, (gssize) bytes->len, NULL));
  fail_unless (g_file_set_contents (deep_in_dir, bytes->str, (gssize) bytes->len, NULL));
  text = open_fails (deep, GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_READ,
      "image_sink", NULL);
  fail_unless (strstr (text, "nests deeper than 64 levels") != NULL, "%s", text);
  g_free (text);

  fail_unless_equals_int (mkfifo (fifo, 0600), 0);
  text = open_fails (fifo, GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_READ,
      "image_sink", NULL);
  fail_unless (strstr (text, "is a FIFO") != NULL, "%s", text);
  g_free (text);

  /* in a directory, the file is skipped with a warning; the rest serves */
  good = make_model (dir, "b-image.safetensors", MM_ARCH_IMAGENET_CNN, 3);
  e = new_classifier (dir, &bus);
  p = gst_element_request_pad_simple (e, "image_sink");
  fail_unless_equals_int (gst_element_set_state (e, GST_STATE_READY),
      GST_STATE_CHANGE_SUCCESS);
  msg = gst_bus_pop_filtered (bus, GST_MESSAGE_WARNING);
  fail_unless (msg != NULL, "no warning for the skipped file");
  gst_message_parse_warning (msg, &err, NULL);
  fail_unless (strstr (err->message, "nests deeper") != NULL, "%s", err->message);
  g_clear_error (&err);
  gst_message_unref (msg);
  gst_element_set_state (e, GST_STATE_NULL);
  gst_object_unref (p);
  release (e, bus);

  g_string_free (bytes, TRUE);
  g_free (good);
  g_free (deep_in_dir);
  g_free (dir);
  g_free (fifo);
  g_free (deep);
}

GST_END_TEST;

/* MMDIGITS_THREADS that is not a thread count ("abc": atoi gave 0 and every
 * core, silently) is a WARNING naming it; the element still starts. */
GST_START_TEST (test_mmclassify_invalid_threads_environment_warns)
{
  gchar *dir = make_subdir ("threads");
  gchar *model = make_model (dir, "image.safetensors", MM_ARCH_IMAGENET_CNN, 3);
  const char *bad[] = { "abc", "0", "99999" };

  for (guint i = 0; i < G_N_ELEMENTS (bad); i++) {
    GstBus *bus;
    GstElement *e = new_classifier (model, &bus);
    GstPad *p = gst_element_request_pad_simple (e, "image_sink");
    GstMessage *msg;
    GError *err = NULL;

    g_setenv ("MMDIGITS_THREADS", bad[i], TRUE);
    fail_unless_equals_int (gst_element_set_state (e, GST_STATE_READY),
        GST_STATE_CHANGE_SUCCESS);
    g_unsetenv ("MMDIGITS_THREADS");
    msg = gst_bus_pop_filtered (bus, GST_MESSAGE_WARNING);
    fail_unless (msg != NULL, "MMDIGITS_THREADS=%s: no warning", bad[i]);
    gst_message_parse_warning (msg, &err, NULL);
    fail_unless (g_error_matches (err, GST_LIBRARY_ERROR, GST_LIBRARY_ERROR_SETTINGS));
    fail_unless (strstr (err->message, "MMDIGITS_THREADS") != NULL
        && strstr (err->message, bad[i]) != NULL, "%s", err->message);
    g_clear_error (&err);
    gst_message_unref (msg);
    gst_element_set_state (e, GST_STATE_NULL);
    gst_object_unref (p);
    release (e, bus);
  }
  g_free (model);
  g_free (dir);
}

GST_END_TEST;

/* Without a hybrid, both pads work: a crop and a block within the pair
 * window are each classified alone by their own network, in time order,
 * whatever fallback says; a pad without any network is refused, naming
 * the arch to add. */
GST_START_TEST (test_mmclassify_directory_without_hybrid_classifies_each_alone)
{
  gchar *dir = make_subdir ("singles"), *only = make_subdir ("image-only");
  gchar *image = make_model (dir, "image.safetensors", MM_ARCH_IMAGENET_CNN, 1);
  gchar *audio = make_model (dir, "audio.safetensors", MM_ARCH_AUDIONET_CNN, 2);
  GstBus *bus;
  GstElement *e = new_classifier (dir, &bus);
  GstHarness *hi, *ha;
  Decision d = { 0 };
  gchar *text;

  g_object_set (e, "fallback", FALSE, NULL);
  open_pads (e, &hi, &ha);
  fail_unless_equals_int (gst_harness_push (hi, make_crop (2, 0)), GST_FLOW_OK);
  fail_unless_equals_int (gst_harness_push (ha, make_block (4, 200 * GST_MSECOND)),
      GST_FLOW_OK);
  pop_decision (bus, &d);
  fail_unless_equals_string (d.modality, "image");
  fail_unless_equals_string (d.arch, "ImageNet_CNN");
  fail_unless_equals_uint64 (d.timestamp, 0);
  check_matches_core (&d, image, 2, -1);
  pull_json (hi, &d);
  decision_clear (&d);
  /* the block waits until the image pad has passed it: here its EOS */
  gst_harness_push_event (hi, gst_event_new_eos ());
  pop_decision (bus, &d);
  fail_unless_equals_string (d.modality, "audio");
  fail_unless_equals_string (d.arch, "AudioNet_CNN");
  fail_unless_equals_uint64 (d.timestamp, 200 * GST_MSECOND);
  check_matches_core (&d, audio, -1, 4);
  pull_json (hi, &d);
  decision_clear (&d);
  gst_harness_push_event (ha, gst_event_new_eos ());
  fail_unless_equals_int (finish (hi), 2);
  gst_harness_teardown (ha);
  gst_harness_teardown (hi);
  release (e, bus);

  /* the image network alone cannot serve the audio pad */
  g_free (make_model (only, "image.safetensors", MM_ARCH_IMAGENET_CNN, 1));
  text = open_fails (only, GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_NOT_FOUND,
      "image_sink", "audio_sink", NULL);
  fail_unless (strstr (text, "AudioNet_CNN") != NULL, "%s", text);
  fail_unless (strstr (text, only) != NULL, "%s", text);
  g_free (text);
  g_free (image);
  g_free (audio);
  g_free (only);
  g_free (dir);
}

GST_END_TEST;

/* A hybrid alone serves both pads: pairs are classified, lone items are
 * dropped (there is no network for them), fallback or not. */
GST_START_TEST (test_mmclassify_hybrid_alone_drops_lone_items)
{
  gchar *dir = make_subdir ("hybrid-only");
  GstBus *bus;
  GstElement *e;
  GstHarness *hi, *ha;
  Decision d = { 0 };

  g_free (make_model (dir, "hybrid.safetensors", MM_ARCH_HYBRIDNET_CNN, 3));
  e = new_classifier (dir, &bus);
  /* both pads before the first harness starts it: one alone is refused */
  gst_object_unref (gst_element_request_pad_simple (e, "image_sink"));
  gst_object_unref (gst_element_request_pad_simple (e, "audio_sink"));
  open_pads (e, &hi, &ha);
  /* a lone crop at 0 s, then a crop and a block together at 5 s (a pad
   * holds one buffer: the second crop goes once the first is dropped) */
  fail_unless_equals_int (gst_harness_push (hi, make_crop (1, 0)), GST_FLOW_OK);
  fail_unless_equals_int (gst_harness_push (ha, make_block (2,
              4500 * GST_MSECOND)), GST_FLOW_OK);
  fail_unless_equals_int (gst_harness_push (hi, make_crop (2, 5 * GST_SECOND)),
      GST_FLOW_OK);
  pop_decision (bus, &d);
  fail_unless_equals_string (d.modality, "image+audio");
  fail_unless_equals_string (d.arch, "HybridNet_CNN");
  pull_json (hi, &d);
  decision_clear (&d);
  end_both (e, bus, hi, ha, TRUE);
  g_free (dir);
}

GST_END_TEST;

GST_START_TEST (test_mmclassify_two_instances_keep_their_own_models)
{
  gchar *m1 = make_model (tmpdir, "a.safetensors", MM_ARCH_IMAGENET_CNN, 11);
  gchar *m2 = make_model (tmpdir, "b.safetensors", MM_ARCH_IMAGENET_CNN, 12);
  GstBus *b1, *b2;
  GstElement *e1 = new_classifier (m1, &b1), *e2 = new_classifier (m2, &b2);
  GstHarness *h1, *h2;
  Decision d1 = { 0 }, d2 = { 0 };
  double diff = 0;

  open_pads (e1, &h1, NULL);
  open_pads (e2, &h2, NULL);
  gst_harness_push (h1, make_crop (3, 0));
  gst_harness_push (h2, make_crop (3, 0));
  pop_decision (b1, &d1);
  pop_decision (b2, &d2);
  check_matches_core (&d1, m1, 3, -1);
  check_matches_core (&d2, m2, 3, -1);
  for (int k = 0; k < MM_N_CLASSES; k++)
    diff += fabs (d1.probs[k] - d2.probs[k]);
  fail_unless (diff > 1e-3, "two different models gave the same output");
  decision_clear (&d1);
  decision_clear (&d2);

  gst_harness_teardown (h1);
  gst_harness_teardown (h2);
  release (e1, b1);
  release (e2, b2);
  g_free (m1);
  g_free (m2);
}

GST_END_TEST;

/* Two mmclassify classifying at the same time (each aggregator runs its
 * network on its own thread) in a host that set OpenBLAS to two threads:
 * both decide as the core does, and the host finds its two threads
 * afterwards — the networks' single-threaded BLAS sections never leave the
 * process single-threaded (mm-parallel.h). */
GST_START_TEST (test_mmclassify_two_at_once_leave_openblas_as_the_host_set_it)
{
  gchar *model = make_model (tmpdir, "image.safetensors", MM_ARCH_IMAGENET_CNN, 5);
  int host = openblas_get_num_threads ();
  GstElement *e[2];
  GstBus *bus[2];
  GstHarness *h[2];

  openblas_set_num_threads (2);
  for (int i = 0; i < 2; i++) {
    e[i] = new_classifier (model, &bus[i]);
    open_pads (e[i], &h[i], NULL);
  }
  for (int n = 0; n < 8; n++)
    for (int i = 0; i < 2; i++)
      fail_unless_equals_int (gst_harness_push (h[i], make_crop ((n + i) % 4,
                  n * GST_SECOND)), GST_FLOW_OK);
  for (int i = 0; i < 2; i++) {
    for (int n = 0; n < 8; n++) {
      Decision d = { 0 };

      pop_decision (bus[i], &d);
      check_matches_core (&d, model, (n + i) % 4, -1);
      decision_clear (&d);
    }
    gst_harness_teardown (h[i]);
    release (e[i], bus[i]);
  }
  fail_unless_equals_int (openblas_get_num_threads (), 2);
  openblas_set_num_threads (host);
  g_free (model);
}

GST_END_TEST;

static Suite *
mmclassify_suite (void)
{
  Suite *s = suite_create ("mmclassify");
  TCase *tc = tcase_create ("general");

  suite_add_tcase (s, tc);
  tcase_add_checked_fixture (tc, setup, teardown);
  tcase_add_test (tc, test_mmclassify_image_only_gives_one_decision_per_crop);
  tcase_add_test (tc, test_mmclassify_empty_stream_warns_and_ends);
  tcase_add_test (tc, test_mmclassify_audio_only_uses_audionet);
  tcase_add_test (tc, test_mmclassify_min_confidence_says_not_sure);
  tcase_add_test (tc,
      test_mmclassify_pair_within_window_gives_one_hybrid_decision);
  tcase_add_test (tc,
      test_mmclassify_pair_rule_hands_unsure_pairs_to_the_image_network);
  tcase_add_test (tc, test_mmclassify_far_apart_gives_two_single_decisions);
  tcase_add_test (tc, test_mmclassify_far_apart_without_fallback_gives_none);
  tcase_add_test (tc, test_mmclassify_gap_on_other_pad_releases_lone_crop);
  tcase_add_test (tc,
      test_mmclassify_live_lone_crop_released_after_pair_window);
  tcase_add_test (tc, test_mmclassify_latency_query_reports_pair_window);
  tcase_add_test (tc, test_mmclassify_refuses_wrong_caps);
  tcase_add_test (tc, test_mmclassify_each_pad_requested_once);
  tcase_add_test (tc, test_mmclassify_refuses_features_of_another_front_end);
  tcase_add_test (tc, test_mmclassify_mfccextract_adopts_the_model_front_end);
  tcase_add_test (tc, test_mmclassify_takes_a_stream_for_a_detector_cut_model);
  tcase_add_test (tc,
      test_mmclassify_missing_model_file_is_an_error_naming_it);
  tcase_add_test (tc, test_mmclassify_directory_without_hybrid_classifies_each_alone);
  tcase_add_test (tc, test_mmclassify_hybrid_alone_drops_lone_items);
  tcase_add_test (tc, test_mmclassify_hostile_model_files_are_errors);
  tcase_add_test (tc, test_mmclassify_non_finite_outputs_are_an_error);
  tcase_add_test (tc, test_mmclassify_non_finite_mfcc_warns_and_goes_on);
  tcase_add_test (tc, test_mmclassify_two_instances_keep_their_own_models);
  tcase_add_test (tc, test_mmclassify_invalid_threads_environment_warns);
  tcase_add_test (tc, test_mmclassify_two_at_once_leave_openblas_as_the_host_set_it);
  return s;
}

GST_CHECK_MAIN (mmclassify);
