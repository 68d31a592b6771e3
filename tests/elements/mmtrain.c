/* mmdigits — GstHarness tests of mmtrain.
 *
 * Synthetic labelled crops (two classes drawn differently) and MFCC blocks
 * are enough to test collection, pairing, labelling, the training thread,
 * the messages and the model file.
 */
#include <gst/check/gstcheck.h>
#include <gst/check/gstharness.h>
#include <json-glib/json-glib.h>
#include <glib/gstdio.h>
#include <math.h>
#include <string.h>
#include <unistd.h>

#include "mm-mfcc.h"
#include "mm-modelfile.h"
#include "mm-net.h"
#include "mm-test-models.h"

#define IMAGE_CAPS "video/x-raw, format=GRAY8, width=28, height=28, " \
  "framerate=0/1"
#define AUDIO_CAPS "audio/x-mfcc, frames=39, coefficients=13, format=F32LE"
#define WAIT (120 * GST_SECOND)

static gchar *tmpdir;
static gchar *out;

static void
setup (void)
{
  tmpdir = g_dir_make_tmp ("mmtrain-XXXXXX", NULL);
  fail_unless (tmpdir != NULL);
  out = g_build_filename (tmpdir, "out.safetensors", NULL);
}

static void
teardown (void)
{
  mm_test_remove_tree (tmpdir);
  g_clear_pointer (&tmpdir, g_free);
  g_clear_pointer (&out, g_free);
}

/* Class 0: a horizontal bar; class 1: a vertical bar; placed at random. */
static GstBuffer *
make_crop (int cls, GRand * rand, GstClockTime pts)
{
  GstBuffer *buf = gst_buffer_new_allocate (NULL, MM_IMAGE_PIXELS, NULL);
  int off = g_rand_int_range (rand, 6, 18);
  GstMapInfo map;

  gst_buffer_map (buf, &map, GST_MAP_WRITE);
  memset (map.data, 0, MM_IMAGE_PIXELS);
  for (int a = 4; a < 24; a++)
    for (int b = off; b < off + 4; b++)
      map.data[cls ? a * MM_IMAGE_SIZE + b : b * MM_IMAGE_SIZE + a] = 255;
  gst_buffer_unmap (buf, &map);
  GST_BUFFER_PTS (buf) = pts;
  GST_BUFFER_DURATION (buf) = 40 * GST_MSECOND;
  return buf;
}

static void
fill_block (float *v, int cls, GRand * rand)
{
  for (int i = 0; i < MM_AUDIO_VALUES; i++)
    v[i] = (float) (cls * 3.0 + (i % MM_MFCC_COEFFS) +
        g_rand_double_range (rand, -1, 1));
}

static GstBuffer *
make_block (const float *v, GstClockTime pts)
{
  GstBuffer *buf = gst_buffer_new_memdup (v, sizeof (float) * MM_AUDIO_VALUES);

  GST_BUFFER_PTS (buf) = pts;
  GST_BUFFER_DURATION (buf) = GST_SECOND;
  return buf;
}

static GstEvent *
label_event (int label)
{
  return gst_event_new_custom (GST_EVENT_CUSTOM_DOWNSTREAM,
      gst_structure_new ("mmdigits-label", "label", G_TYPE_INT, label, NULL));
}

static GstElement *
new_trainer (GstBus ** bus)
{
  GstElement *e = gst_element_factory_make ("mmtrain", NULL);

  fail_unless (e != NULL);
  g_object_set (e, "out", out, NULL);
  *bus = gst_bus_new ();
  gst_element_set_bus (e, *bus);
  return e;
}

static GstHarness *
open_pad (GstElement * e, const char *pad, const char *caps)
{
  GstHarness *h = gst_harness_new_with_element (e, pad, NULL);

  gst_harness_set_src_caps_str (h, caps);
  return h;
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

typedef struct
{
  int n_progress;
  int first_epoch, last_epoch;
  int samples;
  double val_accuracy;
  gchar *arch;
  gboolean done, eos;
  gchar *error;
} Outcome;

static void
outcome_clear (Outcome * o)
{
  g_free (o->arch);
  g_free (o->error);
}

/* Reads the bus until EOS or an error, checking the messages as they come:
 * progress per epoch in order, done before EOS. */
static void
wait_outcome (GstBus * bus, Outcome * o)
{
  GstMessage *msg;

  memset (o, 0, sizeof *o);
  while ((msg = gst_bus_timed_pop_filtered (bus, WAIT,
              GST_MESSAGE_ELEMENT | GST_MESSAGE_EOS | GST_MESSAGE_ERROR))) {
    const GstStructure *s = gst_message_get_structure (msg);
    gboolean stop = FALSE;

    if (GST_MESSAGE_TYPE (msg) == GST_MESSAGE_ERROR) {
      GError *err = NULL;

      gst_message_parse_error (msg, &err, NULL);
      o->error = g_strdup (err->message);
      g_error_free (err);
      stop = TRUE;
    } else if (GST_MESSAGE_TYPE (msg) == GST_MESSAGE_EOS) {
      fail_unless (o->done, "EOS before mmtrain-done");
      o->eos = stop = TRUE;
    } else if (gst_structure_has_name (s, "mmtrain-progress")) {
      int epoch, epochs;
      double loss, acc, val;

      fail_unless (gst_structure_get (s, "epoch", G_TYPE_INT, &epoch,
              "epochs", G_TYPE_INT, &epochs, "loss", G_TYPE_DOUBLE, &loss,
              "accuracy", G_TYPE_DOUBLE, &acc,
              "val-accuracy", G_TYPE_DOUBLE, &val, NULL));
      if (o->n_progress) {
        fail_unless_equals_int (epoch, o->last_epoch + 1);
      } else {
        o->first_epoch = epoch;
      }
      fail_unless (epoch <= epochs);
      fail_unless (isfinite (loss) && loss >= 0);
      fail_unless (acc >= 0 && acc <= 1 && val >= 0 && val <= 1);
      o->last_epoch = epoch;
      o->n_progress++;
    } else if (gst_structure_has_name (s, "mmtrain-done")) {
      fail_unless_equals_string (gst_structure_get_string (s, "out"), out);
      fail_unless (gst_structure_get (s, "samples", G_TYPE_INT, &o->samples,
              "val-accuracy", G_TYPE_DOUBLE, &o->val_accuracy,
              "arch", G_TYPE_STRING, &o->arch, NULL));
      fail_unless (o->val_accuracy >= 0 && o->val_accuracy <= 1);
      o->done = TRUE;
    }
    gst_message_unref (msg);
    if (stop)
      break;
  }
  fail_unless (o->eos || o->error, "neither EOS nor error");
}

/* Accuracy of @net on fresh crops of the two classes. */
static double
two_class_accuracy (MmNet * net, GRand * rand)
{
  int right = 0, n = 20;

  for (int i = 0; i < n; i++) {
    GstBuffer *buf = make_crop (i % 2, rand, 0);
    float in[MM_IMAGE_PIXELS], logits[MM_N_CLASSES];
    GstMapInfo map;
    int best = 0;

    gst_buffer_map (buf, &map, GST_MAP_READ);
    mm_net_prepare_image (mm_net_norm (net), map.data, in);
    gst_buffer_unmap (buf, &map);
    gst_buffer_unref (buf);
    mm_net_forward (net, 1, in, NULL, logits);
    for (int k = 1; k < MM_N_CLASSES; k++)
      if (logits[k] > logits[best])
        best = k;
    right += best == i % 2;
  }
  return (double) right / n;
}

/* The model's provenance is the training recipe's field set (mm-recipe.h,
 * the same as `mmdigits train` writes) and agrees with mmtrain-done. */
static void
check_provenance (const char *text, const Outcome * o)
{
  JsonParser *parser = json_parser_new ();
  JsonObject *p;

  fail_unless (text != NULL);
  fail_unless (json_parser_load_from_data (parser, text, -1, NULL));
  p = json_node_get_object (json_parser_get_root (parser));
  fail_unless (g_str_has_prefix (json_object_get_string_member (p, "tool"),
          "mmtrain "));
  fail_unless (json_object_get_null_member (p, "init_model"));
  fail_unless_equals_int (json_object_get_int_member (p, "samples"),
      o->samples);
  fail_unless_equals_string (json_object_get_string_member (p, "arch"),
      o->arch);
  fail_unless (fabs (json_object_get_double_member (p, "val_accuracy") -
          o->val_accuracy) < 1e-6);
  fail_unless (json_object_get_int_member (p, "best_epoch") >= 1);
  fail_unless (!json_object_has_member (p, "protocol"));
  g_object_unref (parser);
}

GST_START_TEST (test_mmtrain_labelled_crops_give_a_model_file)
{
  GstBus *bus;
  GstElement *e = new_trainer (&bus);
  GstHarness *h = open_pad (e, "image_sink", IMAGE_CAPS);
  GRand *rand = g_rand_new_with_seed (3);
  MmModelMeta meta = { NULL, NULL };
  MmNet *net;
  Outcome o;
  int label;

  /* the first 20 labelled by the property, the next 20 by events */
  for (int i = 0; i < 40; i++) {
    if (i < 20)
      g_object_set (e, "label", i % 2, NULL);
    else
      fail_unless (gst_harness_push_event (h, label_event (i % 2)));
    fail_unless_equals_int (gst_harness_push (h, make_crop (i % 2, rand,
                i * 100 * GST_MSECOND)), GST_FLOW_OK);
  }
  g_object_get (e, "label", &label, NULL);
  fail_unless_equals_int (label, 1);
  gst_harness_push_event (h, gst_event_new_eos ());

  wait_outcome (bus, &o);
  fail_unless (o.error == NULL, "%s", o.error);
  fail_unless_equals_int (o.samples, 40);
  fail_unless_equals_string (o.arch, "ImageNet_CNN");
  fail_unless (o.n_progress >= 1 && o.n_progress <= 10);

  net = mm_model_load (out, &meta, NULL);
  fail_unless (net != NULL);
  check_provenance (meta.provenance_json, &o);
  mm_model_meta_clear (&meta);
  fail_unless_equals_int (mm_net_arch (net), MM_ARCH_IMAGENET_CNN);
  fail_unless (fabsf (mm_net_norm (net)->image_mean - 0.5f) < 1e-6f);
  fail_unless (fabsf (mm_net_norm (net)->image_std - 0.5f) < 1e-6f);
  /* the two shapes are easy: the model learnt them */
  fail_unless (two_class_accuracy (net, rand) >= 0.9);
  mm_net_free (net);

  outcome_clear (&o);
  g_rand_free (rand);
  gst_harness_teardown (h);
  release (e, bus);
}

GST_END_TEST;

GST_START_TEST (test_mmtrain_without_labels_is_an_error)
{
  GstBus *bus;
  GstElement *e = new_trainer (&bus);
  GstHarness *h = open_pad (e, "image_sink", IMAGE_CAPS);
  GRand *rand = g_rand_new_with_seed (4);
  Outcome o;

  for (int i = 0; i < 10; i++)
    gst_harness_push (h, make_crop (i % 2, rand, i * GST_SECOND));
  /* one labelled sample is not enough either */
  g_object_set (e, "label", 3, NULL);
  gst_harness_push (h, make_crop (0, rand, 11 * GST_SECOND));
  gst_harness_push_event (h, gst_event_new_eos ());

  wait_outcome (bus, &o);
  fail_unless (o.error != NULL);
  fail_unless (g_str_has_prefix (o.error, "no labelled samples: set the "
          "label property or send mmdigits-label events"), "%s", o.error);
  fail_if (g_file_test (out, G_FILE_TEST_EXISTS));

  outcome_clear (&o);
  g_rand_free (rand);
  gst_harness_teardown (h);
  release (e, bus);
}

GST_END_TEST;


/* Going to READY with these properties fails with an ERROR of @code whose
 * message holds @expect. */
static void
expect_start_error_ck (const gchar * init, const gchar * out_path,
    const gchar * checkpoint, gboolean resume, GstResourceError code,
    const gchar * expect)
{
  GstElement *e = gst_element_factory_make ("mmtrain", NULL);
  GstBus *bus = gst_bus_new ();
  GstMessage *msg;
  GError *err = NULL;

  g_object_set (e, "init-model", init, "out", out_path, "checkpoint",
      checkpoint, "resume", resume, NULL);
  gst_element_set_bus (e, bus);
  fail_unless_equals_int (gst_element_set_state (e, GST_STATE_READY),
      GST_STATE_CHANGE_FAILURE);
  msg = gst_bus_pop_filtered (bus, GST_MESSAGE_ERROR);
  fail_unless (msg != NULL);
  gst_message_parse_error (msg, &err, NULL);
  fail_unless (g_error_matches (err, GST_RESOURCE_ERROR, code), "%s",
      err->message);
  fail_unless (strstr (err->message, expect) != NULL, "%s", err->message);
  g_error_free (err);
  gst_message_unref (msg);
  gst_element_set_state (e, GST_STATE_NULL);
  release (e, bus);
}

static void
expect_start_error (const gchar * init, const gchar * out_path,
    GstResourceError code, const gchar * expect)
{
  expect_start_error_ck (init, out_path, NULL, FALSE, code, expect);
}

GST_START_TEST (test_mmtrain_without_out_fails_at_start)
{
  expect_start_error (NULL, NULL, GST_RESOURCE_ERROR_SETTINGS, "out");
  expect_start_error (NULL, "", GST_RESOURCE_ERROR_SETTINGS, "out");
}

GST_END_TEST;

/* An out that would replace init-model (here also through a symlink), or
 * that cannot be written, fails at NULL→READY, before any sample: the model
 * file is untouched. */
GST_START_TEST (test_mmtrain_out_equal_to_init_model_is_refused)
{
  gchar *init = g_build_filename (tmpdir, "init.safetensors", NULL);
  gchar *link = g_build_filename (tmpdir, "link.safetensors", NULL);
  gchar *nodir = g_build_filename (tmpdir, "nodir", "x.safetensors", NULL);
  MmNet *net = mm_net_new (MM_ARCH_IMAGENET_CNN, 5);
  gchar *before, *after;
  gsize n_before, n_after;

  fail_unless (mm_model_save (net, NULL, init, NULL));
  mm_net_free (net);
  fail_unless (g_file_get_contents (init, &before, &n_before, NULL));
  fail_unless (symlink ("init.safetensors", link) == 0);

  expect_start_error (init, init, GST_RESOURCE_ERROR_OPEN_WRITE,
      "is the input");
  expect_start_error (init, link, GST_RESOURCE_ERROR_OPEN_WRITE,
      "is the input");
  expect_start_error (init, nodir, GST_RESOURCE_ERROR_OPEN_WRITE,
      "cannot write in");
  expect_start_error (init, tmpdir, GST_RESOURCE_ERROR_OPEN_WRITE,
      "is a directory");

  fail_unless (g_file_get_contents (init, &after, &n_after, NULL));
  fail_unless (n_before == n_after && memcmp (before, after, n_after) == 0);
  g_free (before);
  g_free (after);
  g_free (init);
  g_free (link);
  g_free (nodir);
}

GST_END_TEST;

/* A checkpoint that cannot be written was found only after the first
 * epoch; one that is init-model (resume=true) or out through a link would
 * have been written over it. All fail at NULL→READY, as `mmdigits train
 * --checkpoint` does (mm_train_check_checkpoint). */
GST_START_TEST (test_mmtrain_checkpoint_that_cannot_be_written_fails_at_start)
{
  gchar *init = g_build_filename (tmpdir, "init.safetensors", NULL);
  gchar *link = g_build_filename (tmpdir, "link.ckpt", NULL);
  gchar *nodir = g_build_filename (tmpdir, "nodir", "x.ckpt", NULL);
  MmNet *net = mm_net_new (MM_ARCH_IMAGENET_CNN, 5);

  fail_unless (mm_model_save (net, NULL, init, NULL));
  fail_unless (mm_model_save (net, NULL, out, NULL));
  mm_net_free (net);
  fail_unless (symlink (out, link) == 0);

  expect_start_error_ck (NULL, out, nodir, FALSE,
      GST_RESOURCE_ERROR_OPEN_WRITE, "cannot write in");
  expect_start_error_ck (init, out, init, TRUE,
      GST_RESOURCE_ERROR_OPEN_WRITE, "is the input");
  expect_start_error_ck (NULL, out, link, TRUE,
      GST_RESOURCE_ERROR_SETTINGS, "other than the model it trains");
  g_free (init);
  g_free (link);
  g_free (nodir);
}

GST_END_TEST;

/* An init-model nesting 100,000 deep overflowed json-glib's stack. */
GST_START_TEST (test_mmtrain_hostile_init_model_is_an_error)
{
  gchar *deep = g_build_filename (tmpdir, "deep.safetensors", NULL);
  gchar *out = g_build_filename (tmpdir, "out.safetensors", NULL);
  guint64 len = GUINT64_TO_LE (100000);
  GString *bytes = g_string_new_len ((const char *) &len, 8);
  GstElement *e = gst_element_factory_make ("mmtrain", NULL);
  GstBus *bus = gst_bus_new ();
  GstMessage *msg;
  GError *err = NULL;

  for (int i = 0; i < 100000; i++)
    g_string_append_c (bytes, '[');
  fail_unless (g_file_set_contents (deep, bytes->str, (gssize) bytes->len, NULL));
  g_object_set (e, "init-model", deep, "out", out, "label", 1, NULL);
  gst_element_set_bus (e, bus);
  fail_unless_equals_int (gst_element_set_state (e, GST_STATE_READY),
      GST_STATE_CHANGE_FAILURE);
  msg = gst_bus_pop_filtered (bus, GST_MESSAGE_ERROR);
  fail_unless (msg != NULL);
  gst_message_parse_error (msg, &err, NULL);
  fail_unless (strstr (err->message, "nests deeper than 64 levels") != NULL, "%s",
      err->message);
  fail_if (g_file_test (out, G_FILE_TEST_EXISTS));
  g_error_free (err);
  gst_message_unref (msg);
  gst_element_set_state (e, GST_STATE_NULL);
  release (e, bus);
  g_string_free (bytes, TRUE);
  g_free (out);
  g_free (deep);
}

GST_END_TEST;

/* init-model is read as mmclassify and the CLI read a model file (a model
 * set of one): a file whose "mfcc" metadata is not a front end does not
 * load (mmtrain used to read that metadata itself and fine-tune it on the
 * study's front end instead), and a directory of several models is not one
 * model to fine-tune. */
GST_START_TEST (test_mmtrain_init_model_is_read_as_a_model_set)
{
  GError *err = NULL;
  gchar *bad = mm_test_save_model (tmpdir, "bad-frontend.safetensors",
      MM_ARCH_AUDIONET_CNN, 3, "{\"cmvn\": \"loud\"}", 1.0f, &err);
  gchar *dir = g_build_filename (tmpdir, "set", NULL);
  gchar *a, *b;

  fail_unless (bad != NULL, "%s", err ? err->message : "");
  expect_start_error (bad, out, GST_RESOURCE_ERROR_NOT_FOUND, "bad-frontend.safetensors");
  expect_start_error (bad, out, GST_RESOURCE_ERROR_NOT_FOUND, "\"cmvn\" is not one of the known names");
  fail_if (g_file_test (out, G_FILE_TEST_EXISTS));

  fail_unless (g_mkdir (dir, 0700) == 0);
  a = mm_test_save_model (dir, "image.safetensors", MM_ARCH_IMAGENET_CNN, 1, NULL, 1.0f, &err);
  b = mm_test_save_model (dir, "audio.safetensors", MM_ARCH_AUDIONET_CNN, 2, NULL, 1.0f, &err);
  fail_unless (a && b, "%s", err ? err->message : "");
  expect_start_error (dir, out, GST_RESOURCE_ERROR_SETTINGS, "holds several models");
  g_free (a);
  g_free (b);
  g_free (dir);
  g_free (bad);
}

GST_END_TEST;

/* Trains @e (a new trainer, its properties set) on twelve audio blocks of
 * two labels, pushed on a pad of caps @caps; the run must succeed, and
 * *@fe gets the front end of the model it wrote to out. */
static void
train_on_blocks (GstElement * e, GstBus * bus, const gchar * caps, GRand * rand,
    MmMfccParams * fe)
{
  GstHarness *h = open_pad (e, "audio_sink", caps);
  float v[MM_AUDIO_VALUES];
  MmModelMeta meta = { NULL, NULL };
  MmNet *net;
  Outcome o;

  for (int i = 0; i < 12; i++) {
    g_object_set (e, "label", i % 2, NULL);
    fill_block (v, i % 2, rand);
    gst_harness_push (h, make_block (v, i * GST_SECOND));
  }
  gst_harness_push_event (h, gst_event_new_eos ());
  wait_outcome (bus, &o);
  fail_unless (o.error == NULL, "%s", o.error);
  outcome_clear (&o);
  gst_harness_teardown (h);
  net = mm_model_load (out, &meta, NULL);
  fail_unless (net != NULL && meta.mfcc_json != NULL);
  fail_unless (mm_mfcc_params_from_json (meta.mfcc_json, fe, NULL), "%s", meta.mfcc_json);
  mm_net_free (net);
  mm_model_meta_clear (&meta);
}

/* mmtrain records the front end its audio caps carried (here nfft 512 and
 * a 4 kHz band, not mfccextract's defaults), and a fine-tuning run refuses
 * caps of another front end than init-model's, naming the value. */
GST_START_TEST (test_mmtrain_records_the_front_end_it_received)
{
  gchar *init = g_build_filename (tmpdir, "narrow.safetensors", NULL);
  GRand *rand = g_rand_new_with_seed (8);
  float v[MM_AUDIO_VALUES];
  MmMfccParams p;
  GstElement *e;
  GstHarness *h;
  GstBus *bus;
  Outcome o;

  e = new_trainer (&bus);
  g_object_set (e, "epochs", 1, NULL);
  train_on_blocks (e, bus, AUDIO_CAPS ", nfft=(int)512, high-freq=(double)4000", rand, &p);
  release (e, bus);
  fail_unless_equals_int (p.nfft, 512);
  fail_unless (p.high_freq == 4000.0f, "high_freq %g", p.high_freq);
  fail_unless_equals_int (p.frame_len, 800);

  fail_unless (g_rename (out, init) == 0);
  e = new_trainer (&bus);
  g_object_set (e, "init-model", init, "epochs", 1, "label", 0, NULL);
  h = open_pad (e, "audio_sink", AUDIO_CAPS);
  fill_block (v, 0, rand);
  gst_harness_push (h, make_block (v, 0));
  gst_harness_push_event (h, gst_event_new_eos ());
  wait_outcome (bus, &o);
  fail_unless (o.error && strstr (o.error, "not those init-model was trained on")
      && strstr (o.error, "nfft: 512 vs 1024"), "%s", o.error ? o.error : "no error");
  fail_if (g_file_test (out, G_FILE_TEST_EXISTS));
  outcome_clear (&o);
  gst_harness_teardown (h);
  release (e, bus);
  g_rand_free (rand);
  g_free (init);
}

GST_END_TEST;

/* An init-model whose recordings were cut by the word detector (train
 * --word-cut detector) fine-tunes on a stream of its front end (the caps
 * carry no word_cut: a stream is always cut by the detector), and the
 * model written keeps its word_cut. */
GST_START_TEST (test_mmtrain_fine_tunes_a_detector_cut_model)
{
  gchar *init = g_build_filename (tmpdir, "detector.safetensors", NULL);
  MmModelMeta meta = { .mfcc_json = (char *) "{\"word_cut\": \"detector\"}" };
  MmNet *net = mm_net_new (MM_ARCH_AUDIONET_CNN, 5);
  GRand *rand = g_rand_new_with_seed (9);
  MmMfccParams p;
  GstElement *e;
  GstBus *bus;

  fail_unless (mm_model_save (net, &meta, init, NULL));
  mm_net_free (net);
  e = new_trainer (&bus);
  g_object_set (e, "init-model", init, "epochs", 1, NULL);
  train_on_blocks (e, bus, AUDIO_CAPS, rand, &p);
  release (e, bus);
  fail_unless_equals_int (p.word_cut, MM_WORD_CUT_DETECTOR);
  g_rand_free (rand);
  g_free (init);
}

GST_END_TEST;

GST_START_TEST (test_mmtrain_fine_tuning_keeps_the_init_model_norm)
{
  gchar *init = g_build_filename (tmpdir, "init.safetensors", NULL);
  MmNet *net = mm_net_new (MM_ARCH_IMAGENET_CNN, 5);
  GstBus *bus;
  GstElement *e;
  GstHarness *h;
  GRand *rand = g_rand_new_with_seed (6);
  Outcome o;

  mm_net_norm (net)->image_mean = 0.25f;
  mm_net_norm (net)->image_std = 0.75f;
  fail_unless (mm_model_save (net, NULL, init, NULL));
  mm_net_free (net);

  e = new_trainer (&bus);
  g_object_set (e, "init-model", init, "epochs", 2, "label", 0, NULL);
  h = open_pad (e, "image_sink", IMAGE_CAPS);
  for (int i = 0; i < 12; i++) {
    g_object_set (e, "label", i % 2, NULL);
    gst_harness_push (h, make_crop (i % 2, rand, i * GST_SECOND));
  }
  gst_harness_push_event (h, gst_event_new_eos ());
  wait_outcome (bus, &o);
  fail_unless (o.error == NULL, "%s", o.error);
  fail_unless_equals_int (o.n_progress, 2);
  fail_unless_equals_int (o.samples, 12);

  net = mm_model_load (out, NULL, NULL);
  fail_unless (net != NULL);
  fail_unless_equals_int (mm_net_arch (net), MM_ARCH_IMAGENET_CNN);
  fail_unless (fabsf (mm_net_norm (net)->image_mean - 0.25f) < 1e-6f);
  fail_unless (fabsf (mm_net_norm (net)->image_std - 0.75f) < 1e-6f);
  mm_net_free (net);

  outcome_clear (&o);
  g_rand_free (rand);
  gst_harness_teardown (h);
  release (e, bus);
  g_free (init);
}

GST_END_TEST;

GST_START_TEST (test_mmtrain_pairs_within_window_train_a_hybrid)
{
  GstBus *bus;
  GstElement *e = new_trainer (&bus);
  GstHarness *hi, *ha;
  GRand *rand = g_rand_new_with_seed (7);
  double sum[MM_MFCC_COEFFS] = { 0 };
  float v[MM_AUDIO_VALUES];
  MmNet *net;
  Outcome o;
  int n_blocks = 0;

  g_object_set (e, "epochs", 2, NULL);
  hi = open_pad (e, "image_sink", IMAGE_CAPS);
  ha = open_pad (e, "audio_sink", AUDIO_CAPS);
  /* 12 pairs: crop at 2i + 1 s, block centred 200 ms later */
  for (int i = 0; i < 12; i++) {
    g_object_set (e, "label", i % 2, NULL);
    gst_harness_push (hi, make_crop (i % 2, rand, (i * 2 + 1) * GST_SECOND));
    fill_block (v, i % 2, rand);
    for (int t = 0; t < MM_AUDIO_VALUES; t++)
      sum[t % MM_MFCC_COEFFS] += v[t];
    n_blocks++;
    gst_harness_push (ha, make_block (v, i * 2 * GST_SECOND +
            700 * GST_MSECOND));
  }
  /* not pairs: labels that disagree, and a crop far from any block */
  g_object_set (e, "label", 0, NULL);
  gst_harness_push (hi, make_crop (0, rand, 30 * GST_SECOND));
  g_object_set (e, "label", 1, NULL);
  fill_block (v, 1, rand);
  gst_harness_push (ha, make_block (v, 30 * GST_SECOND - GST_SECOND / 2));
  gst_harness_push (hi, make_crop (1, rand, 40 * GST_SECOND));
  gst_harness_push_event (hi, gst_event_new_eos ());
  gst_harness_push_event (ha, gst_event_new_eos ());

  wait_outcome (bus, &o);
  fail_unless (o.error == NULL, "%s", o.error);
  fail_unless_equals_string (o.arch, "HybridNet_CNN");
  fail_unless_equals_int (o.samples, 12);

  /* a new network's MFCC norm comes from the blocks it learnt from */
  net = mm_model_load (out, NULL, NULL);
  fail_unless (net != NULL);
  fail_unless_equals_int (mm_net_arch (net), MM_ARCH_HYBRIDNET_CNN);
  for (int k = 0; k < MM_MFCC_COEFFS; k++) {
    double mean = sum[k] / (n_blocks * MM_MFCC_FRAMES);

    fail_unless (fabs (mm_net_norm (net)->mfcc_mean[k] - mean) < 1e-4,
        "coefficient %d: %g, want %g", k, mm_net_norm (net)->mfcc_mean[k],
        mean);
  }
  mm_net_free (net);

  outcome_clear (&o);
  g_rand_free (rand);
  gst_harness_teardown (ha);
  gst_harness_teardown (hi);
  release (e, bus);
}

GST_END_TEST;

GST_START_TEST (test_mmtrain_stopping_cancels_training_without_a_model)
{
  GstBus *bus;
  GstElement *e = new_trainer (&bus);
  GstHarness *h = open_pad (e, "image_sink", IMAGE_CAPS);
  GRand *rand = g_rand_new_with_seed (8);
  GstMessage *msg;
  gint64 t0;

  g_object_set (e, "epochs", 10000, "label", 1, NULL);
  for (int i = 0; i < 20; i++) {
    g_object_set (e, "label", i % 2, NULL);
    gst_harness_push (h, make_crop (i % 2, rand, i * GST_SECOND));
  }
  gst_harness_push_event (h, gst_event_new_eos ());
  /* the streaming thread is free while training runs */
  msg = gst_bus_timed_pop_filtered (bus, WAIT, GST_MESSAGE_ELEMENT);
  fail_unless (msg != NULL);
  fail_unless (gst_message_has_name (msg, "mmtrain-progress"));
  gst_message_unref (msg);

  t0 = g_get_monotonic_time ();
  fail_unless_equals_int (gst_element_set_state (e, GST_STATE_NULL),
      GST_STATE_CHANGE_SUCCESS);
  /* long before 10000 epochs could end, even under valgrind */
  fail_unless (g_get_monotonic_time () - t0 < 60 * G_USEC_PER_SEC);
  fail_if (g_file_test (out, G_FILE_TEST_EXISTS));
  fail_unless (gst_bus_pop_filtered (bus, GST_MESSAGE_EOS) == NULL);

  g_rand_free (rand);
  gst_harness_teardown (h);
  release (e, bus);
}

GST_END_TEST;

/* 30 labelled crops of the two classes, always the same, then EOS. */
static void
push_same_crops (GstElement * e, GstHarness * h)
{
  GRand *rand = g_rand_new_with_seed (5);

  for (int i = 0; i < 30; i++) {
    g_object_set (e, "label", i % 2, NULL);
    fail_unless_equals_int (gst_harness_push (h, make_crop (i % 2, rand,
                i * 100 * GST_MSECOND)), GST_FLOW_OK);
  }
  gst_harness_push_event (h, gst_event_new_eos ());
  g_rand_free (rand);
}

/* Holds the training thread in its epoch-2 progress message (setting
 * epoch_2_held) until the test thread has begun to stop the element, and a
 * little longer, so that the stop lands right after the epoch-2 checkpoint
 * whatever the speed. */
static gint epoch_2_held;

static GstBusSyncReply
hold_epoch_2 (GstBus * bus, GstMessage * msg, gpointer e)
{
  const GstStructure *s = gst_message_get_structure (msg);
  int epoch;

  if (GST_MESSAGE_TYPE (msg) == GST_MESSAGE_ELEMENT &&
      gst_structure_has_name (s, "mmtrain-progress") &&
      gst_structure_get_int (s, "epoch", &epoch) && epoch == 2) {
    g_atomic_int_set (&epoch_2_held, 1);
    while (GST_STATE_TARGET (e) != GST_STATE_NULL)
      g_usleep (1000);
    g_usleep (300 * 1000);
  }
  return GST_BUS_PASS;
}

static GBytes *
read_file (const char *path)
{
  gchar *data;
  gsize len;

  fail_unless (g_file_get_contents (path, &data, &len, NULL), "cannot read %s", path);
  return g_bytes_new_take (data, len);
}

/* Stopped after its epoch-2 checkpoint and run again with resume=true on
 * the same stream, mmtrain writes the very model file (byte for byte) of
 * the run never stopped; a checkpoint is not overwritten without resume. */
GST_START_TEST (test_mmtrain_resumes_from_its_checkpoint_to_the_same_model)
{
  gchar *ck_ref = g_build_filename (tmpdir, "ref.ckpt", NULL);
  gchar *ck = g_build_filename (tmpdir, "run.ckpt", NULL);
  GstBus *bus;
  GstElement *e;
  GstHarness *h;
  GstMessage *msg;
  GBytes *want, *got;
  Outcome o;
  gint64 t0;

  /* the date in the model: fixed, so that two runs can give equal files */
  g_setenv ("SOURCE_DATE_EPOCH", "1700000000", TRUE);

  e = new_trainer (&bus);
  g_object_set (e, "epochs", 5, "checkpoint", ck_ref, NULL);
  h = open_pad (e, "image_sink", IMAGE_CAPS);
  push_same_crops (e, h);
  wait_outcome (bus, &o);
  fail_unless (o.error == NULL, "%s", o.error);
  fail_unless_equals_int (o.first_epoch, 1);
  fail_unless (g_file_test (ck_ref, G_FILE_TEST_IS_REGULAR));
  want = read_file (out);
  g_unlink (out);
  outcome_clear (&o);
  gst_harness_teardown (h);
  release (e, bus);

  /* stopped (state NULL) right after the epoch-2 checkpoint */
  e = new_trainer (&bus);
  g_object_set (e, "epochs", 5, "checkpoint", ck, NULL);
  gst_bus_set_sync_handler (bus, hold_epoch_2, e, NULL);
  h = open_pad (e, "image_sink", IMAGE_CAPS);
  push_same_crops (e, h);
  t0 = g_get_monotonic_time ();
  while (!g_atomic_int_get (&epoch_2_held)) {
    fail_unless (g_get_monotonic_time () - t0 < WAIT / GST_USECOND, "no epoch 2");
    g_usleep (1000);
  }
  fail_unless_equals_int (gst_element_set_state (e, GST_STATE_NULL),
      GST_STATE_CHANGE_SUCCESS);
  fail_if (g_file_test (out, G_FILE_TEST_EXISTS));
  fail_unless (g_file_test (ck, G_FILE_TEST_IS_REGULAR));
  gst_bus_set_sync_handler (bus, NULL, NULL, NULL);
  gst_harness_teardown (h);
  release (e, bus);

  /* without resume, the checkpoint of that run is not overwritten */
  e = new_trainer (&bus);
  g_object_set (e, "checkpoint", ck, NULL);
  fail_unless_equals_int (gst_element_set_state (e, GST_STATE_READY),
      GST_STATE_CHANGE_FAILURE);
  msg = gst_bus_pop_filtered (bus, GST_MESSAGE_ERROR);
  fail_unless (msg != NULL);
  gst_message_unref (msg);
  gst_element_set_state (e, GST_STATE_NULL);
  release (e, bus);

  /* resumed: epochs 3 to 5, then the same file */
  e = new_trainer (&bus);
  g_object_set (e, "epochs", 5, "checkpoint", ck, "resume", TRUE, NULL);
  h = open_pad (e, "image_sink", IMAGE_CAPS);
  push_same_crops (e, h);
  wait_outcome (bus, &o);
  fail_unless (o.error == NULL, "%s", o.error);
  fail_unless_equals_int (o.first_epoch, 3);
  got = read_file (out);
  fail_unless (g_bytes_equal (got, want), "resumed model differs from the uninterrupted one");
  g_bytes_unref (got);
  g_bytes_unref (want);
  outcome_clear (&o);
  gst_harness_teardown (h);
  release (e, bus);
  g_unsetenv ("SOURCE_DATE_EPOCH");
  g_free (ck);
  g_free (ck_ref);
}

GST_END_TEST;

static Suite *
mmtrain_suite (void)
{
  Suite *s = suite_create ("mmtrain");
  TCase *tc = tcase_create ("general");

  suite_add_tcase (s, tc);
  tcase_add_checked_fixture (tc, setup, teardown);
  tcase_add_test (tc, test_mmtrain_labelled_crops_give_a_model_file);
  tcase_add_test (tc, test_mmtrain_without_labels_is_an_error);
  tcase_add_test (tc, test_mmtrain_without_out_fails_at_start);
  tcase_add_test (tc, test_mmtrain_out_equal_to_init_model_is_refused);
  tcase_add_test (tc, test_mmtrain_checkpoint_that_cannot_be_written_fails_at_start);
  tcase_add_test (tc, test_mmtrain_fine_tuning_keeps_the_init_model_norm);
  tcase_add_test (tc, test_mmtrain_fine_tunes_a_detector_cut_model);
  tcase_add_test (tc, test_mmtrain_init_model_is_read_as_a_model_set);
  tcase_add_test (tc, test_mmtrain_records_the_front_end_it_received);
  tcase_add_test (tc, test_mmtrain_hostile_init_model_is_an_error);
  tcase_add_test (tc, test_mmtrain_pairs_within_window_train_a_hybrid);
  tcase_add_test (tc, test_mmtrain_stopping_cancels_training_without_a_model);
  tcase_add_test (tc, test_mmtrain_resumes_from_its_checkpoint_to_the_same_model);
  return s;
}

GST_CHECK_MAIN (mmtrain);
