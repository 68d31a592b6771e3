/* mmdigits — every element survives many NULL ↔ PLAYING cycles with data
 * flowing, and two pipelines run side by side in one process.
 *
 * Under valgrind (the 'leaks' suite) this is the leak check of the plugin:
 * anything an element allocates per state change and forgets shows up as
 * "definitely lost" after 30 cycles.
 */
#include <gst/check/gstcheck.h>
#include <glib/gstdio.h>

#include "mm-modelfile.h"
#include "mm-net.h"

#define CYCLES 30

static gchar *tmpdir;

static void
write_model (const char *name, MmArch arch)
{
  gchar *path = g_build_filename (tmpdir, name, NULL);
  MmNet *net = mm_net_new (arch, 1);
  GError *error = NULL;

  fail_unless (mm_model_save (net, NULL, path, &error), "%s", error ? error->message : "");
  mm_net_free (net);
  g_free (path);
}

static void
setup (void)
{
  tmpdir = g_dir_make_tmp ("mmstate-XXXXXX", NULL);
  write_model ("image.safetensors", MM_ARCH_IMAGENET_CNN);
  write_model ("audio.safetensors", MM_ARCH_AUDIONET_CNN);
  write_model ("hybrid.safetensors", MM_ARCH_HYBRIDNET_CNN);
}

static void
teardown (void)
{
  const char *names[] = { "image.safetensors", "audio.safetensors", "hybrid.safetensors" };
  for (guint i = 0; i < G_N_ELEMENTS (names); i++) {
    gchar *p = g_build_filename (tmpdir, names[i], NULL);
    g_unlink (p);
    g_free (p);
  }
  g_rmdir (tmpdir);
  g_clear_pointer (&tmpdir, g_free);
}

/* Builds @desc (with MODELDIR replaced), then cycles it through PLAYING and
 * back to NULL, letting buffers flow for a moment each time. The sources
 * are live: a non-live source floods the pipeline as fast as it can, which
 * under valgrind made the work per cycle unbounded (minutes per test). */
static void
cycle_pipeline (const char *desc_template)
{
  gchar **parts = g_strsplit (desc_template, "MODELDIR", -1);
  gchar *desc = g_strjoinv (tmpdir, parts);
  GError *error = NULL;
  GstElement *pipe = gst_parse_launch (desc, &error);

  fail_unless (pipe != NULL, "%s: %s", desc, error ? error->message : "");
  for (int i = 0; i < CYCLES; i++) {
    GstStateChangeReturn r = gst_element_set_state (pipe, GST_STATE_PLAYING);
    fail_if (r == GST_STATE_CHANGE_FAILURE, "%s: cycle %d failed to start", desc, i);
    gst_element_get_state (pipe, NULL, NULL, GST_SECOND);
    g_usleep (5000);
    fail_unless (gst_element_set_state (pipe, GST_STATE_NULL) == GST_STATE_CHANGE_SUCCESS);
  }
  gst_object_unref (pipe);
  g_free (desc);
  g_strfreev (parts);
}

GST_START_TEST (test_mfccextract_survives_state_cycles)
{
  cycle_pipeline ("audiotestsrc is-live=true samplesperbuffer=1600 ! "
      "audio/x-raw,rate=16000,channels=1,format=F32LE ! mfccextract mode=window ! fakesink");
}
GST_END_TEST;

GST_START_TEST (test_digitimage_survives_state_cycles)
{
  cycle_pipeline ("videotestsrc is-live=true pattern=ball ! video/x-raw,format=GRAY8,width=64,height=48 ! "
      "digitimage stable-frames=1 ! fakesink");
}
GST_END_TEST;

GST_START_TEST (test_mmclassify_survives_state_cycles)
{
  cycle_pipeline ("videotestsrc is-live=true pattern=ball ! video/x-raw,format=GRAY8,width=64,height=48 ! "
      "digitimage stable-frames=1 ! mm.image_sink "
      "audiotestsrc is-live=true samplesperbuffer=1600 ! audio/x-raw,rate=16000,channels=1,format=F32LE ! "
      "mfccextract mode=window ! mm.audio_sink "
      "mmclassify name=mm model=MODELDIR ! fakesink");
}
GST_END_TEST;

GST_START_TEST (test_mmtrain_survives_state_cycles)
{
  cycle_pipeline ("videotestsrc is-live=true pattern=ball ! video/x-raw,format=GRAY8,width=64,height=48 ! "
      "digitimage stable-frames=1 ! mmtrain label=3 arch=ImageNet_CNN out=MODELDIR/never.safetensors");
}
GST_END_TEST;

/* Two pipelines, two mmclassify instances, both playing at once. */
GST_START_TEST (test_two_pipelines_run_side_by_side)
{
  const char *desc = "videotestsrc num-buffers=30 pattern=ball ! "
      "video/x-raw,format=GRAY8,width=64,height=48 ! digitimage stable-frames=1 ! "
      "mm.image_sink mmclassify name=mm model=MODELDIR/image.safetensors ! fakesink";
  gchar **parts = g_strsplit (desc, "MODELDIR", -1);
  gchar *full = g_strjoinv (tmpdir, parts);
  GstElement *a = gst_parse_launch (full, NULL), *b = gst_parse_launch (full, NULL);
  GstBus *bus_a = gst_element_get_bus (a), *bus_b = gst_element_get_bus (b);
  GstMessage *ma, *mb;

  fail_unless (a && b);
  gst_element_set_state (a, GST_STATE_PLAYING);
  gst_element_set_state (b, GST_STATE_PLAYING);
  ma = gst_bus_timed_pop_filtered (bus_a, 20 * GST_SECOND, GST_MESSAGE_EOS | GST_MESSAGE_ERROR);
  mb = gst_bus_timed_pop_filtered (bus_b, 20 * GST_SECOND, GST_MESSAGE_EOS | GST_MESSAGE_ERROR);
  fail_unless (ma && GST_MESSAGE_TYPE (ma) == GST_MESSAGE_EOS);
  fail_unless (mb && GST_MESSAGE_TYPE (mb) == GST_MESSAGE_EOS);
  gst_message_unref (ma);
  gst_message_unref (mb);
  gst_element_set_state (a, GST_STATE_NULL);
  gst_element_set_state (b, GST_STATE_NULL);
  gst_object_unref (bus_a);
  gst_object_unref (bus_b);
  gst_object_unref (a);
  gst_object_unref (b);
  g_free (full);
  g_strfreev (parts);
}
GST_END_TEST;

static Suite *
statechanges_suite (void)
{
  Suite *s = suite_create ("statechanges");
  TCase *tc = tcase_create ("general");

  tcase_set_timeout (tc, 600);
  tcase_add_checked_fixture (tc, setup, teardown);
  tcase_add_test (tc, test_mfccextract_survives_state_cycles);
  tcase_add_test (tc, test_digitimage_survives_state_cycles);
  tcase_add_test (tc, test_mmclassify_survives_state_cycles);
  tcase_add_test (tc, test_mmtrain_survives_state_cycles);
  tcase_add_test (tc, test_two_pipelines_run_side_by_side);
  suite_add_tcase (s, tc);
  return s;
}

GST_CHECK_MAIN (statechanges);
