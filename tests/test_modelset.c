/* Model sets: roles from a directory (CNN before LSTM, the first of one
 * arch, or what its roles.json names), plans for each combination of inputs, the shared front end and
 * its refusal when mixed, classification against the core computed by
 * hand, and bad inputs (missing path, empty directory, files that do not
 * load, non-finite inputs and outputs). Models are untrained nets saved
 * here: their weights do not matter, only that they differ. */
#include <glib/gstdio.h>
#include <math.h>
#include <string.h>

#include "mm-error.h"
#include "mm-frontend.h"
#include "mm-modelfile.h"
#include "mm-modelset.h"
#include "mm-test-models.h"
#include "mm-test-util.h"

#define PROB_TOL 1e-6

static char *tmp_dir;

static void
setup (void)
{
  tmp_dir = mm_test_tmp_dir_new ("modelset");
}

static void
teardown (void)
{
  mm_test_tmp_dir_remove (g_steal_pointer (&tmp_dir));
}

/* An untrained @arch in tmp_dir (mm_test_save_model). */
static char *
save_model (const char *name, MmArch arch, guint64 seed, const char *mfcc_json, float t)
{
  GError *err = NULL;
  char *path = mm_test_save_model (tmp_dir, name, arch, seed, mfcc_json, t, &err);

  ck_assert_msg (path != NULL, "%s", err ? err->message : "");
  return path;
}

static void
add (const char *name, MmArch arch, guint64 seed)
{
  g_free (save_model (name, arch, seed, NULL, 1.0f));
}

static MmModelSet *
open_ok (const char *path)
{
  GError *err = NULL;
  MmModelSet *set = mm_model_set_open (path, &err);

  ck_assert_msg (set != NULL, "%s", err ? err->message : "");
  return set;
}

static const char *
file_of (const MmModelSet *set, MmRole role)
{
  const MmModel *m = mm_model_set_get (set, role);

  return m ? strrchr (m->file, '/') + 1 : "(none)";
}

static void
assert_fails (const char *path, int code, const char *needle)
{
  GError *err = NULL;
  MmModelSet *set = mm_model_set_open (path, &err);

  ck_assert_msg (set == NULL, "%s opened", path);
  ck_assert_msg (g_error_matches (err, MM_ERROR, code), "code %d: %s", err->code, err->message);
  ck_assert_msg (strstr (err->message, needle) != NULL, "'%s' not in: %s", needle, err->message);
  g_error_free (err);
}

static gboolean
strv_has (const char *const *v, const char *a, const char *b)
{
  for (; *v; v++)
    if (strstr (*v, a) && (!b || strstr (*v, b)))
      return TRUE;
  return FALSE;
}

/* ---- roles ---------------------------------------------------------------- */

/* The LSTM files come first by name, yet the CNN ones take the roles. */
START_TEST (test_modelset_cnn_before_lstm_whatever_the_names)
{
  MmModelSet *set;

  add ("a-audio-lstm.safetensors", MM_ARCH_AUDIONET_LSTM, 1);
  add ("a-hybrid-lstm.safetensors", MM_ARCH_HYBRIDNET_CNN_LSTM, 2);
  add ("b-audio-cnn.safetensors", MM_ARCH_AUDIONET_CNN, 3);
  add ("b-hybrid-cnn.safetensors", MM_ARCH_HYBRIDNET_CNN, 4);
  add ("c-image.safetensors", MM_ARCH_IMAGENET_CNN, 5);
  set = open_ok (tmp_dir);
  ck_assert (mm_model_set_is_dir (set));
  ck_assert_str_eq (file_of (set, MM_ROLE_IMAGE), "c-image.safetensors");
  ck_assert_str_eq (file_of (set, MM_ROLE_AUDIO), "b-audio-cnn.safetensors");
  ck_assert_str_eq (file_of (set, MM_ROLE_HYBRID), "b-hybrid-cnn.safetensors");
  ck_assert_int_eq (mm_model_set_get (set, MM_ROLE_AUDIO)->arch, MM_ARCH_AUDIONET_CNN);
  ck_assert_int_eq (mm_model_set_get (set, MM_ROLE_HYBRID)->role, MM_ROLE_HYBRID);
  ck_assert (mm_model_set_single (set) == NULL);
  ck_assert (mm_model_set_skipped (set)[0] == NULL);
  ck_assert (strv_has (mm_model_set_unused (set), "a-audio-lstm", "b-audio-cnn"));
  ck_assert (strv_has (mm_model_set_unused (set), "a-hybrid-lstm", "b-hybrid-cnn"));
  ck_assert_int_eq (g_strv_length ((char **) mm_model_set_unused (set)), 2);
  mm_model_set_free (set);
}
END_TEST

static void
write_roles (const char *text)
{
  char *path = g_build_filename (tmp_dir, "roles.json", NULL);

  ck_assert (g_file_set_contents (path, text, -1, NULL));
  g_free (path);
}

/* roles.json names the LSTM for MFCC blocks: it serves them, the CNN is
 * noted as unused; the roles it does not name keep the arch order. */
START_TEST (test_modelset_roles_file_chooses_a_role)
{
  MmModelSet *set;

  add ("audio-cnn.safetensors", MM_ARCH_AUDIONET_CNN, 1);
  add ("audio-lstm.safetensors", MM_ARCH_AUDIONET_LSTM, 2);
  add ("hybrid-cnn.safetensors", MM_ARCH_HYBRIDNET_CNN, 3);
  add ("hybrid-lstm.safetensors", MM_ARCH_HYBRIDNET_CNN_LSTM, 4);
  write_roles ("{\"audio\": \"audio-lstm.safetensors\"}");
  set = open_ok (tmp_dir);
  ck_assert_str_eq (file_of (set, MM_ROLE_AUDIO), "audio-lstm.safetensors");
  ck_assert_str_eq (file_of (set, MM_ROLE_HYBRID), "hybrid-cnn.safetensors");
  ck_assert (strv_has (mm_model_set_unused (set), "audio-cnn.safetensors (AudioNet_CNN) not "
          "used", "audio-lstm"));
  mm_model_set_free (set);
}
END_TEST

/* A roles file that cannot be followed fails the open, naming the file
 * and what is wrong; nothing is guessed. */
START_TEST (test_modelset_bad_roles_file_is_refused)
{
  static const struct {
    const char *text;
    int code;
    const char *needle;
  } cases[] = {
    { "[\"audio-lstm.safetensors\"]", MM_ERROR_FORMAT, "not a JSON object" },
    { "{\"audio\": ", MM_ERROR_FORMAT, "roles.json" },
    { "{\"speech\": \"audio-lstm.safetensors\"}", MM_ERROR_FORMAT, "unknown role \"speech\"" },
    { "{\"audio\": \"../audio-lstm.safetensors\"}", MM_ERROR_FORMAT, "a name, no path" },
    { "{\"audio\": 3}", MM_ERROR_FORMAT, "must name a .safetensors" },
    { "{\"audio\": \"gone.safetensors\"}", MM_ERROR_NOT_FOUND, "gone.safetensors for MFCC "
          "blocks alone: no such file" },
    { "{\"audio\": \"hybrid.safetensors\"}", MM_ERROR_INVALID, "serves another role" },
    { "{\"image\": \"broken.safetensors\"}", MM_ERROR_INVALID, "does not load" },
    /* the pair rule: a probability, known members, a network, an image network */
    { "{\"image+audio\": {\"network\": \"hybrid.safetensors\", \"image_decides_below\": 0}}",
      MM_ERROR_FORMAT, "above 0 and at most 1" },
    { "{\"image+audio\": {\"network\": \"hybrid.safetensors\", \"image_decides_below\": 1.5}}",
      MM_ERROR_FORMAT, "above 0 and at most 1" },
    { "{\"image+audio\": {\"network\": \"hybrid.safetensors\", \"image_decides_below\": "
      "\"0.9\"}}", MM_ERROR_FORMAT, "above 0 and at most 1" },
    { "{\"image+audio\": {\"network\": \"hybrid.safetensors\"}}", MM_ERROR_FORMAT,
      "above 0 and at most 1" },
    { "{\"image+audio\": {\"network\": \"hybrid.safetensors\", \"image_decides_below\": 0.9, "
      "\"weight\": 1}}", MM_ERROR_FORMAT, "unknown member \"weight\"" },
    { "{\"image+audio\": {\"image_decides_below\": 0.9}}", MM_ERROR_FORMAT,
      "or be an object" },
    { "{\"image+audio\": {\"network\": \"hybrid.safetensors\", \"image_decides_below\": 0.9}}",
      MM_ERROR_NOT_FOUND, "has no ImageNet_CNN model" },
  };
  char *broken = g_build_filename (tmp_dir, "broken.safetensors", NULL);
  char *big = g_strnfill (5000, ' ');

  add ("audio-lstm.safetensors", MM_ARCH_AUDIONET_LSTM, 1);
  add ("hybrid.safetensors", MM_ARCH_HYBRIDNET_CNN, 2);
  ck_assert (g_file_set_contents (broken, "not a model", -1, NULL));
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++) {
    write_roles (cases[i].text);
    assert_fails (tmp_dir, cases[i].code, cases[i].needle);
  }
  write_roles (big);
  assert_fails (tmp_dir, MM_ERROR_INVALID, "at most 4096 bytes");
  g_free (big);
  g_free (broken);
}
END_TEST

/* Two files of one arch: the first by name serves, the other is noted. */
START_TEST (test_modelset_two_models_for_one_role_first_by_name)
{
  MmModelSet *set;

  add ("m2.safetensors", MM_ARCH_IMAGENET_CNN, 2);
  add ("m1.safetensors", MM_ARCH_IMAGENET_CNN, 1);
  set = open_ok (tmp_dir);
  ck_assert_str_eq (file_of (set, MM_ROLE_IMAGE), "m1.safetensors");
  ck_assert (strv_has (mm_model_set_unused (set), "m2.safetensors (ImageNet_CNN) not used",
          "m1.safetensors"));
  ck_assert (mm_model_set_single (set) == mm_model_set_get (set, MM_ROLE_IMAGE));
  mm_model_set_free (set);
}
END_TEST

START_TEST (test_modelset_file_is_a_set_of_one)
{
  char *path = save_model ("hybrid.safetensors", MM_ARCH_HYBRIDNET_CNN_LSTM, 1, NULL, 1.0f);
  MmModelSet *set = open_ok (path);
  const MmModel *m = mm_model_set_single (set);

  ck_assert (!mm_model_set_is_dir (set));
  ck_assert (m != NULL && m == mm_model_set_get (set, MM_ROLE_HYBRID));
  ck_assert_str_eq (m->file, path);
  ck_assert_str_eq (mm_model_set_path (set), path);
  ck_assert (mm_model_set_get (set, MM_ROLE_IMAGE) == NULL);
  mm_model_set_free (set);
  g_free (path);
}
END_TEST

/* ---- bad inputs ----------------------------------------------------------- */

START_TEST (test_modelset_missing_and_empty_are_refused)
{
  char *missing = g_build_filename (tmp_dir, "nothere", NULL);
  char *corrupt = g_build_filename (tmp_dir, "x.safetensors", NULL);

  assert_fails (missing, MM_ERROR_NOT_FOUND, "no such file");
  /* an empty directory, and one whose only file does not load */
  assert_fails (tmp_dir, MM_ERROR_NOT_FOUND, "holds no model file");
  ck_assert (g_file_set_contents (corrupt, "not a model", -1, NULL));
  assert_fails (tmp_dir, MM_ERROR_NOT_FOUND, "x.safetensors skipped");
  /* the same file by name: the loader's error, naming it */
  assert_fails (corrupt, MM_ERROR_FORMAT, corrupt);
  g_free (missing);
  g_free (corrupt);
}
END_TEST

/* A file that does not load is skipped and noted; the others serve. */
START_TEST (test_modelset_bad_file_in_directory_is_skipped)
{
  char *corrupt = g_build_filename (tmp_dir, "a-broken.safetensors", NULL);
  MmModelSet *set;

  ck_assert (g_file_set_contents (corrupt, "not a model", -1, NULL));
  add ("b-audio.safetensors", MM_ARCH_AUDIONET_CNN, 1);
  set = open_ok (tmp_dir);
  ck_assert_str_eq (file_of (set, MM_ROLE_AUDIO), "b-audio.safetensors");
  ck_assert (strv_has (mm_model_set_skipped (set), "a-broken.safetensors skipped", NULL));
  ck_assert_int_eq (g_strv_length ((char **) mm_model_set_skipped (set)), 1);
  mm_model_set_free (set);
  g_free (corrupt);
}
END_TEST

/* ---- plans ---------------------------------------------------------------- */

static MmModelPlan
plan_ok (const MmModelSet *set, gboolean image, gboolean audio, gboolean fallback)
{
  MmModelPlan plan;
  GError *err = NULL;

  ck_assert_msg (mm_model_set_plan (set, image, audio, fallback, &plan, &err), "%s",
      err ? err->message : "");
  return plan;
}

static void
plan_fails (const MmModelSet *set, gboolean image, gboolean audio, int code, const char *needle)
{
  MmModelPlan plan;
  GError *err = NULL;

  ck_assert (!mm_model_set_plan (set, image, audio, TRUE, &plan, &err));
  ck_assert_msg (g_error_matches (err, MM_ERROR, code), "code %d: %s", err->code, err->message);
  ck_assert_msg (strstr (err->message, needle) != NULL, "'%s' not in: %s", needle, err->message);
  g_error_free (err);
}

START_TEST (test_modelset_plans_of_a_full_set)
{
  MmModelSet *set;
  MmModelPlan p;

  add ("image.safetensors", MM_ARCH_IMAGENET_CNN, 1);
  add ("audio.safetensors", MM_ARCH_AUDIONET_CNN, 2);
  add ("hybrid.safetensors", MM_ARCH_HYBRIDNET_CNN, 3);
  set = open_ok (tmp_dir);
  p = plan_ok (set, TRUE, TRUE, TRUE);
  ck_assert (p.pair && p.lone_image && p.lone_audio);
  ck_assert (p.audio_model == mm_model_set_get (set, MM_ROLE_AUDIO));
  p = plan_ok (set, TRUE, TRUE, FALSE);
  ck_assert (p.pair && !p.lone_image && !p.lone_audio);
  p = plan_ok (set, TRUE, FALSE, FALSE);
  ck_assert (!p.pair && p.lone_image && !p.lone_audio && p.audio_model == NULL);
  p = plan_ok (set, FALSE, TRUE, FALSE);
  ck_assert (!p.pair && !p.lone_image && p.lone_audio);
  mm_model_set_free (set);
}
END_TEST

/* Without a hybrid each input is classified alone, whatever fallback. */
START_TEST (test_modelset_plans_without_hybrid_classify_each_alone)
{
  MmModelSet *set;
  MmModelPlan p;

  add ("image.safetensors", MM_ARCH_IMAGENET_CNN, 1);
  add ("audio.safetensors", MM_ARCH_AUDIONET_LSTM, 2);
  set = open_ok (tmp_dir);
  p = plan_ok (set, TRUE, TRUE, FALSE);
  ck_assert (!p.pair && p.lone_image && p.lone_audio);
  ck_assert (p.audio_model == mm_model_set_get (set, MM_ROLE_AUDIO));
  mm_model_set_free (set);
}
END_TEST

/* A hybrid alone serves pairs only: lone inputs are dropped, an input
 * alone is refused naming the arch to add. */
START_TEST (test_modelset_plans_of_a_hybrid_alone)
{
  MmModelSet *set;
  MmModelPlan p;

  add ("hybrid.safetensors", MM_ARCH_HYBRIDNET_CNN, 1);
  set = open_ok (tmp_dir);
  p = plan_ok (set, TRUE, TRUE, TRUE);
  ck_assert (p.pair && !p.lone_image && !p.lone_audio);
  ck_assert (p.audio_model == mm_model_set_get (set, MM_ROLE_HYBRID));
  plan_fails (set, TRUE, FALSE, MM_ERROR_NOT_FOUND, "has no ImageNet_CNN model");
  plan_fails (set, FALSE, TRUE, MM_ERROR_NOT_FOUND, "has no AudioNet_CNN model");
  mm_model_set_free (set);
}
END_TEST

START_TEST (test_modelset_plans_refuse_a_missing_modality)
{
  char *image = save_model ("image.safetensors", MM_ARCH_IMAGENET_CNN, 1, NULL, 1.0f);
  MmModelSet *set = open_ok (tmp_dir), *file = open_ok (image);

  /* a directory with the image network only: audio has no network */
  plan_fails (set, TRUE, TRUE, MM_ERROR_NOT_FOUND, "AudioNet_CNN");
  plan_fails (set, FALSE, TRUE, MM_ERROR_NOT_FOUND, tmp_dir);
  /* a file: it cannot serve the other modality */
  plan_fails (file, TRUE, TRUE, MM_ERROR_MISMATCH, "cannot serve MFCC blocks");
  mm_model_set_free (set);
  mm_model_set_free (file);
  g_free (image);
}
END_TEST

/* ---- front ends ----------------------------------------------------------- */

START_TEST (test_modelset_frontend_of_the_audio_networks)
{
  MmModelSet *set;
  MmMfccParams fe, study;
  GError *err = NULL;

  g_free (save_model ("audio.safetensors", MM_ARCH_AUDIONET_CNN, 1, "{\"nfft\": 512}", 1.0f));
  g_free (save_model ("hybrid.safetensors", MM_ARCH_HYBRIDNET_CNN, 2, "{\"nfft\": 512}", 1.0f));
  add ("image.safetensors", MM_ARCH_IMAGENET_CNN, 3);
  set = open_ok (tmp_dir);
  ck_assert_msg (mm_model_set_frontend (set, &fe, &err), "%s", err ? err->message : "");
  ck_assert_int_eq (fe.nfft, 512);
  mm_mfcc_params_init (&study);
  ck_assert_int_ne (study.nfft, 512);
  ck_assert (plan_ok (set, TRUE, TRUE, TRUE).audio_model->frontend.nfft == 512);
  mm_model_set_free (set);
}
END_TEST

/* An audio network and a hybrid of different front ends: the set's front
 * end and any plan that may feed both one stream are refused, naming both
 * files and the value; audio alone is served by the audio network. */
START_TEST (test_modelset_mixed_frontends_are_refused)
{
  MmModelSet *set;
  MmMfccParams fe;
  MmModelPlan p;
  GError *err = NULL;

  g_free (save_model ("audio.safetensors", MM_ARCH_AUDIONET_CNN, 1, "{\"nfft\": 512}", 1.0f));
  add ("hybrid.safetensors", MM_ARCH_HYBRIDNET_CNN, 2);
  add ("image.safetensors", MM_ARCH_IMAGENET_CNN, 3);
  set = open_ok (tmp_dir);
  ck_assert (!mm_model_set_frontend (set, &fe, &err));
  ck_assert (g_error_matches (err, MM_ERROR, MM_ERROR_MISMATCH));
  ck_assert_msg (strstr (err->message, "audio.safetensors") && strstr (err->message,
          "hybrid.safetensors") && strstr (err->message, "nfft: 512 vs 1024"), "%s",
      err->message);
  g_clear_error (&err);
  /* refused whatever fallback says (a later replan meets no new error) */
  ck_assert (!mm_model_set_plan (set, TRUE, TRUE, FALSE, &p, &err));
  ck_assert (g_error_matches (err, MM_ERROR, MM_ERROR_MISMATCH));
  g_clear_error (&err);
  p = plan_ok (set, FALSE, TRUE, TRUE);
  ck_assert (p.audio_model->frontend.nfft == 512);
  mm_model_set_free (set);
}
END_TEST

START_TEST (test_modelset_image_network_has_no_frontend)
{
  char *image = save_model ("image.safetensors", MM_ARCH_IMAGENET_CNN, 1, NULL, 1.0f);
  MmModelSet *set = open_ok (image);
  MmMfccParams fe;
  GError *err = NULL;

  ck_assert (!mm_model_set_frontend (set, &fe, &err));
  ck_assert (g_error_matches (err, MM_ERROR, MM_ERROR_NOT_FOUND));
  g_error_free (err);
  mm_model_set_free (set);
  g_free (image);
}
END_TEST

/* ---- classifying ---------------------------------------------------------- */

static void
check_decision (const MmDecision *d, const char *file, const guint8 *gray, const float *mfcc,
    MmRole role)
{
  double want[MM_N_CLASSES], sum = 0;
  int best = 0;

  ck_assert (mm_test_expected_probs (file, gray, mfcc, want));
  ck_assert_str_eq (d->model->file, file);
  ck_assert_int_eq (d->model->role, role);
  for (int k = 0; k < MM_N_CLASSES; k++) {
    ck_assert_msg (fabs (d->probs[k] - want[k]) <= PROB_TOL, "class %d: %g vs %g", k,
        d->probs[k], want[k]);
    sum += d->probs[k];
    if (want[k] > want[best])
      best = k;
  }
  ck_assert_msg (fabs (sum - 1) <= 1e-5, "probabilities sum to %g", sum);
  ck_assert_int_eq (d->digit, best);
  ck_assert_float_eq (d->confidence, d->probs[d->digit]);
}

/* Each input picks its role's network, normalised with that model's norm
 * and calibrated with its temperature (T = 3 for the hybrid). */
START_TEST (test_modelset_classify_matches_the_core_by_hand)
{
  char *image = save_model ("image.safetensors", MM_ARCH_IMAGENET_CNN, 1, NULL, 1.0f);
  char *audio = save_model ("audio.safetensors", MM_ARCH_AUDIONET_CNN, 2, NULL, 1.0f);
  char *hybrid = save_model ("hybrid.safetensors", MM_ARCH_HYBRIDNET_CNN, 3, NULL, 3.0f);
  MmModelSet *set = open_ok (tmp_dir);
  guint8 gray[MM_IMAGE_PIXELS];
  float mfcc[MM_AUDIO_VALUES];
  MmDecision d;
  GError *err = NULL;

  mm_test_fill_crop (gray, 3);
  mm_test_fill_mfcc (mfcc, 5);
  ck_assert (mm_model_set_classify (set, gray, NULL, 0, &d, &err));
  check_decision (&d, image, gray, NULL, MM_ROLE_IMAGE);
  ck_assert (!d.unsure);
  ck_assert (mm_model_set_classify (set, NULL, mfcc, 0, &d, &err));
  check_decision (&d, audio, NULL, mfcc, MM_ROLE_AUDIO);
  ck_assert (mm_model_set_classify (set, gray, mfcc, 0, &d, &err));
  check_decision (&d, hybrid, gray, mfcc, MM_ROLE_HYBRID);
  /* "not sure" below the caller's minimum, with the same probabilities */
  ck_assert (mm_model_set_classify (set, gray, mfcc, d.confidence + 0.01, &d, &err));
  ck_assert (d.unsure);
  check_decision (&d, hybrid, gray, mfcc, MM_ROLE_HYBRID);
  mm_model_set_free (set);
  g_free (image);
  g_free (audio);
  g_free (hybrid);
}
END_TEST

/* roles.json names the audio network and its partner (the other audio
 * arch, one front end): a block is decided on the mean of their calibrated
 * probabilities (each at its own temperature: T = 1 and 2.5 here), the
 * arg-max of the mean; the file of either alone is one network. */
START_TEST (test_modelset_averages_the_two_audio_networks)
{
  char *cnn = save_model ("audio-cnn.safetensors", MM_ARCH_AUDIONET_CNN, 2, NULL, 1.0f);
  char *lstm = save_model ("audio-lstm.safetensors", MM_ARCH_AUDIONET_LSTM, 7, NULL, 2.5f);
  MmModelSet *set, *alone;
  double a[MM_N_CLASSES], b[MM_N_CLASSES];
  float mfcc[MM_AUDIO_VALUES];
  MmDecision d;
  GError *err = NULL;
  gboolean differ = FALSE;

  write_roles ("{\"audio\": [\"audio-lstm.safetensors\", \"audio-cnn.safetensors\"]}");
  set = open_ok (tmp_dir);
  alone = open_ok (lstm);
  ck_assert (mm_model_set_unused (set)[0] == NULL);
  for (int seed = 1; seed <= 4; seed++) {
    int best = 0;

    mm_test_fill_mfcc (mfcc, seed);
    ck_assert (mm_test_expected_probs (cnn, NULL, mfcc, a));
    ck_assert (mm_test_expected_probs (lstm, NULL, mfcc, b));
    ck_assert_msg (mm_model_set_classify (set, NULL, mfcc, 0, &d, &err), "%s",
        err ? err->message : "");
    ck_assert_str_eq (d.model->file, lstm);
    ck_assert_ptr_nonnull (d.partner);
    ck_assert_str_eq (d.partner->file, cnn);
    for (int k = 0; k < MM_N_CLASSES; k++) {
      double want = (a[k] + b[k]) / 2;
      ck_assert_msg (fabs (d.probs[k] - want) <= PROB_TOL, "block %d class %d: %g vs %g",
          seed, k, d.probs[k], want);
      if (want > (a[best] + b[best]) / 2)
        best = k;
      differ |= fabs (a[k] - b[k]) > 1e-3;
    }
    ck_assert_int_eq (d.digit, best);
    ck_assert_float_eq (d.confidence, d.probs[best]);
  }
  /* the two networks disagree, so the mean is neither of them */
  ck_assert (differ);
  /* the LSTM's file alone: one network, its own probabilities */
  ck_assert (mm_model_set_partner (alone, MM_ROLE_AUDIO) == NULL);
  ck_assert (mm_model_set_classify (alone, NULL, mfcc, 0, &d, &err));
  ck_assert_ptr_null (d.partner);
  check_decision (&d, lstm, NULL, mfcc, MM_ROLE_AUDIO);
  mm_model_set_free (alone);
  mm_model_set_free (set);
  g_free (cnn);
  g_free (lstm);
}
END_TEST

/* The pair rule (roles.json's image_decides_below P): a pair whose
 * hybrid's calibrated confidence is below P is decided by the image
 * network alone (its probabilities, by hand; deferred_from names the
 * hybrid); at or above P by the hybrid; crops alone are the image
 * network's either way, and a set without the rule never defers. */
START_TEST (test_modelset_pair_rule_defers_to_the_image_network)
{
  char *image = save_model ("image.safetensors", MM_ARCH_IMAGENET_CNN, 1, NULL, 1.0f);
  char *hybrid = save_model ("hybrid.safetensors", MM_ARCH_HYBRIDNET_CNN, 3, NULL, 3.0f);
  guint8 gray[MM_IMAGE_PIXELS];
  float mfcc[MM_AUDIO_VALUES];
  double h[MM_N_CLASSES], conf = 0;
  MmDecision d;
  GError *err = NULL;
  MmModelSet *set;
  char *roles;

  mm_test_fill_crop (gray, 3);
  mm_test_fill_mfcc (mfcc, 5);
  ck_assert (mm_test_expected_probs (hybrid, gray, mfcc, h));
  for (int k = 0; k < MM_N_CLASSES; k++)
    conf = MAX (conf, h[k]);
  /* an untrained hybrid at T = 3 is far from sure: both sides of it fit in (0, 1] */
  ck_assert (conf > 0.02 && conf < 0.98);
  for (int above = 0; above <= 1; above++) {
    double below = above ? conf + 0.01 : conf - 0.01;

    roles = g_strdup_printf ("{\"image+audio\": {\"network\": \"hybrid.safetensors\", "
        "\"image_decides_below\": %.17g}}", below);
    write_roles (roles);
    set = open_ok (tmp_dir);
    ck_assert_double_eq_tol (mm_model_set_image_decides_below (set), below, 1e-12);
    ck_assert_msg (mm_model_set_classify (set, gray, mfcc, 0, &d, &err), "%s",
        err ? err->message : "");
    if (above) {
      check_decision (&d, image, gray, NULL, MM_ROLE_IMAGE);
      ck_assert_ptr_nonnull (d.deferred_from);
      ck_assert_str_eq (d.deferred_from->file, hybrid);
    } else {
      check_decision (&d, hybrid, gray, mfcc, MM_ROLE_HYBRID);
      ck_assert_ptr_null (d.deferred_from);
    }
    ck_assert (mm_model_set_classify (set, gray, NULL, 0, &d, &err));
    check_decision (&d, image, gray, NULL, MM_ROLE_IMAGE);
    ck_assert_ptr_null (d.deferred_from);
    mm_model_set_free (set);
    g_free (roles);
  }
  /* the same files without the rule: the hybrid decides */
  write_roles ("{\"image+audio\": \"hybrid.safetensors\"}");
  set = open_ok (tmp_dir);
  ck_assert (mm_model_set_image_decides_below (set) == 0);
  ck_assert (mm_model_set_classify (set, gray, mfcc, 0, &d, &err));
  check_decision (&d, hybrid, gray, mfcc, MM_ROLE_HYBRID);
  ck_assert_ptr_null (d.deferred_from);
  mm_model_set_free (set);
  g_free (image);
  g_free (hybrid);
}
END_TEST

/* Without a partner in roles.json both audio archs do not average (the
 * holder decides alone, the other is left out); a named partner of the
 * holder's arch, of another front end, or missing fails the open. */
START_TEST (test_modelset_partner_only_as_named)
{
  MmModelSet *set;
  char *cnn;
  float mfcc[MM_AUDIO_VALUES];
  MmDecision d;
  GError *err = NULL;

  cnn = save_model ("a-cnn.safetensors", MM_ARCH_AUDIONET_CNN, 1, NULL, 1.0f);
  add ("b-cnn.safetensors", MM_ARCH_AUDIONET_CNN, 2);
  add ("c-lstm.safetensors", MM_ARCH_AUDIONET_LSTM, 3);
  set = open_ok (tmp_dir);
  ck_assert (mm_model_set_partner (set, MM_ROLE_AUDIO) == NULL);
  ck_assert (strv_has (mm_model_set_unused (set), "c-lstm.safetensors", "a-cnn"));
  mm_test_fill_mfcc (mfcc, 2);
  ck_assert (mm_model_set_classify (set, NULL, mfcc, 0, &d, &err));
  ck_assert_ptr_null (d.partner);
  check_decision (&d, cnn, NULL, mfcc, MM_ROLE_AUDIO);
  mm_model_set_free (set);

  write_roles ("{\"audio\": [\"a-cnn.safetensors\", \"b-cnn.safetensors\"]}");
  assert_fails (tmp_dir, MM_ERROR_INVALID, "both are AudioNet_CNN");
  write_roles ("{\"audio\": [\"a-cnn.safetensors\", \"gone.safetensors\"]}");
  assert_fails (tmp_dir, MM_ERROR_NOT_FOUND, "gone.safetensors as the audio partner");
  write_roles ("{\"audio\": [\"a-cnn.safetensors\", \"../c-lstm.safetensors\"]}");
  assert_fails (tmp_dir, MM_ERROR_FORMAT, "or two (the network and its partner)");
  g_free (save_model ("c-lstm.safetensors", MM_ARCH_AUDIONET_LSTM, 3, "{\"nfft\": 512}",
          1.0f));
  write_roles ("{\"audio\": [\"a-cnn.safetensors\", \"c-lstm.safetensors\"]}");
  assert_fails (tmp_dir, MM_ERROR_MISMATCH, "different audio front ends (nfft:");
  g_free (cnn);
}
END_TEST

START_TEST (test_modelset_classify_refuses_bad_inputs_and_outputs)
{
  char *path = g_build_filename (tmp_dir, "broken.safetensors", NULL);
  MmNet *net = mm_net_new (MM_ARCH_IMAGENET_CNN, 7);
  const MmTensorInfo *fc = mm_net_find_tensor (net, "image.fc.weight");
  MmModelSet *set;
  guint8 gray[MM_IMAGE_PIXELS];
  float mfcc[MM_AUDIO_VALUES];
  MmDecision d;
  GError *err = NULL;

  /* weights that overflow to inf: finite in the file, unusable */
  for (size_t i = 0; i < fc->size; i++)
    fc->data[i] = 3e38f;
  ck_assert (mm_model_save (net, NULL, path, NULL));
  mm_net_free (net);
  add ("audio.safetensors", MM_ARCH_AUDIONET_CNN, 2);
  set = open_ok (tmp_dir);
  mm_test_fill_crop (gray, 1);
  ck_assert (!mm_model_set_classify (set, gray, NULL, 0, &d, &err));
  ck_assert (g_error_matches (err, MM_ERROR, MM_ERROR_FORMAT));
  ck_assert_msg (strstr (err->message, "broken.safetensors")
      && strstr (err->message, "non-finite outputs"), "%s", err->message);
  g_clear_error (&err);
  /* a block holding NaN is the input's fault */
  mm_test_fill_mfcc (mfcc, 1);
  mfcc[100] = NAN;
  ck_assert (!mm_model_set_classify (set, NULL, mfcc, 0, &d, &err));
  ck_assert (g_error_matches (err, MM_ERROR, MM_ERROR_INVALID));
  g_clear_error (&err);
  /* no hybrid: a pair has no network */
  mfcc[100] = 0;
  ck_assert (!mm_model_set_classify (set, gray, mfcc, 0, &d, &err));
  ck_assert_msg (g_error_matches (err, MM_ERROR, MM_ERROR_NOT_FOUND)
      && strstr (err->message, "HybridNet_CNN"), "%s", err->message);
  g_clear_error (&err);
  mm_model_set_free (set);
  g_free (path);
}
END_TEST

/* A front end with test-time views: the input is the word's block and its
 * views' blocks, and each network decides on softmax(the mean of their
 * logits / T) (the audio network, T = 2, and the hybrid with the crop
 * beside each block); a set whose audio networks have different views is
 * refused, naming them. */
START_TEST (test_modelset_views_average_the_blocks)
{
  const char *fe = "{\"views\": \"speed:0.9,vtlp:1.1\"}";
  char *audio = save_model ("v-audio.safetensors", MM_ARCH_AUDIONET_CNN, 4, fe, 2.0f);
  char *hybrid = save_model ("v-hybrid.safetensors", MM_ARCH_HYBRIDNET_CNN, 5, fe, 1.0f);
  float blocks[3 * MM_AUDIO_VALUES];
  guint8 gray[MM_IMAGE_PIXELS];
  MmModelSet *set = open_ok (tmp_dir);
  MmMfccParams p;
  MmDecision d;
  GError *err = NULL;
  gboolean moved = FALSE;

  ck_assert (mm_model_set_frontend (set, &p, NULL));
  ck_assert_int_eq (mm_frontend_n_blocks (&p), 3);
  mm_test_fill_crop (gray, 3);
  for (int seed = 1; seed <= 3; seed++) {
    for (int role = 0; role < 2; role++) {
      const char *file = role ? hybrid : audio;
      const guint8 *img = role ? gray : NULL;
      double want[MM_N_CLASSES], first[MM_N_CLASSES];
      int best = 0;

      for (int b = 0; b < 3; b++)
        mm_test_fill_mfcc (blocks + b * MM_AUDIO_VALUES, 10 * seed + b);
      ck_assert (mm_test_expected_probs_views (file, img, blocks, 3, want));
      ck_assert (mm_test_expected_probs (file, img, blocks, first));
      ck_assert_msg (mm_model_set_classify (set, img, blocks, 0, &d, &err), "%s",
          err ? err->message : "");
      ck_assert_str_eq (d.model->file, file);
      for (int k = 0; k < MM_N_CLASSES; k++) {
        ck_assert_msg (fabs (d.probs[k] - want[k]) <= PROB_TOL, "%s class %d: %g vs %g",
            file, k, d.probs[k], want[k]);
        if (want[k] > want[best])
          best = k;
        moved |= fabs (want[k] - first[k]) > 1e-3;
      }
      ck_assert_int_eq (d.digit, best);
    }
  }
  /* the views' blocks change the probabilities: the mean is not block 0's */
  ck_assert (moved);
  /* a non-finite value in a view's block is the input's fault too */
  blocks[2 * MM_AUDIO_VALUES + 7] = NAN;
  ck_assert (!mm_model_set_classify (set, NULL, blocks, 0, &d, &err));
  ck_assert (g_error_matches (err, MM_ERROR, MM_ERROR_INVALID));
  g_clear_error (&err);
  mm_model_set_free (set);

  /* the hybrid without views: one stream cannot suit both */
  g_free (save_model ("v-hybrid.safetensors", MM_ARCH_HYBRIDNET_CNN, 5, NULL, 1.0f));
  set = open_ok (tmp_dir);
  ck_assert (!mm_model_set_frontend (set, &p, &err));
  ck_assert_msg (strstr (err->message, "views: speed:0.9,vtlp:1.1 vs none")
      || strstr (err->message, "views: none vs speed:0.9,vtlp:1.1"), "%s", err->message);
  g_clear_error (&err);
  mm_model_set_free (set);
  g_free (audio);
  g_free (hybrid);
}
END_TEST

static Suite *
modelset_suite (void)
{
  Suite *s = suite_create ("modelset");
  TCase *roles = tcase_create ("roles");
  TCase *plans = tcase_create ("plans");
  TCase *classify = tcase_create ("classify");

  tcase_add_checked_fixture (roles, setup, teardown);
  tcase_add_test (roles, test_modelset_cnn_before_lstm_whatever_the_names);
  tcase_add_test (roles, test_modelset_two_models_for_one_role_first_by_name);
  tcase_add_test (roles, test_modelset_roles_file_chooses_a_role);
  tcase_add_test (roles, test_modelset_bad_roles_file_is_refused);
  tcase_add_test (roles, test_modelset_file_is_a_set_of_one);
  tcase_add_test (roles, test_modelset_missing_and_empty_are_refused);
  tcase_add_test (roles, test_modelset_bad_file_in_directory_is_skipped);
  suite_add_tcase (s, roles);
  tcase_add_checked_fixture (plans, setup, teardown);
  tcase_add_test (plans, test_modelset_plans_of_a_full_set);
  tcase_add_test (plans, test_modelset_plans_without_hybrid_classify_each_alone);
  tcase_add_test (plans, test_modelset_plans_of_a_hybrid_alone);
  tcase_add_test (plans, test_modelset_plans_refuse_a_missing_modality);
  tcase_add_test (plans, test_modelset_frontend_of_the_audio_networks);
  tcase_add_test (plans, test_modelset_mixed_frontends_are_refused);
  tcase_add_test (plans, test_modelset_image_network_has_no_frontend);
  suite_add_tcase (s, plans);
  tcase_add_checked_fixture (classify, setup, teardown);
  tcase_add_test (classify, test_modelset_classify_matches_the_core_by_hand);
  tcase_add_test (classify, test_modelset_classify_refuses_bad_inputs_and_outputs);
  tcase_add_test (classify, test_modelset_averages_the_two_audio_networks);
  tcase_add_test (classify, test_modelset_partner_only_as_named);
  tcase_add_test (classify, test_modelset_pair_rule_defers_to_the_image_network);
  tcase_add_test (classify, test_modelset_views_average_the_blocks);
  suite_add_tcase (s, classify);
  return s;
}

int
main (void)
{
  return mm_test_run_suite (modelset_suite ());
}
