/* MFCC front end: python_speech_features parity, framing, edge cases, JSON.
 *
 * Two reference sets: tests/data/mfcc, synthetic signals made by the project
 * with their MFCC from a NumPy transcription of python_speech_features
 * (always run), and ../shared/testdata/mfcc, ten FSDD recordings with the
 * float32 outputs of python_speech_features 0.6.1 itself. Without the
 * latter the other tests still run; the program then reports "skipped: no
 * data" (exit 77) unless something failed. */
#include <float.h>
#if defined(__SSE__)
#include <xmmintrin.h>
#endif
#include <math.h>
#include <sndfile.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mm-error.h"
#include "mm-mfcc.h"
#include "mm-test-util.h"

#define N_FRAMES 39
#define N_COEFFS 13

static const char *const ref_names[] = {
  "0_george_0", "1_jackson_1", "2_lucas_2", "3_nicolas_3", "4_theo_4",
  "5_yweweler_5", "6_george_6", "7_jackson_32", "8_nicolas_8", "9_theo_16",
};

static MmMfcc *
new_mfcc (int nfft)
{
  MmMfccParams p;
  GError *err = NULL;
  MmMfcc *m;

  mm_mfcc_params_init (&p);
  p.nfft = nfft;
  m = mm_mfcc_new (&p, &err);
  ck_assert_msg (m != NULL, "mm_mfcc_new: %s", err ? err->message : "?");
  return m;
}

/* libsndfile scales int16 by 1/32768 when reading floats: the extractor's
 * ×32768 gives back the int16 values exactly. */
static float *
read_wav (const char *path, size_t *n)
{
  SF_INFO info = { 0 };
  SNDFILE *sf = sf_open (path, SFM_READ, &info);
  float *x;

  ck_assert_msg (sf != NULL, "%s: %s", path, sf_strerror (NULL));
  ck_assert_int_eq (info.channels, 1);
  ck_assert_int_eq (info.samplerate, 16000);
  x = g_new (float, info.frames);
  ck_assert_int_eq (sf_readf_float (sf, x, info.frames), info.frames);
  sf_close (sf);
  *n = (size_t) info.frames;
  return x;
}

static float *
read_f32 (const char *path, size_t expect)
{
  gchar *data;
  gsize len;
  float *y = g_new (float, expect);

  ck_assert_msg (g_file_get_contents (path, &data, &len, NULL), "cannot read %s", path);
  ck_assert_uint_eq (len, expect * sizeof (float));
  for (size_t i = 0; i < expect; i++) {
    guint32 u;
    memcpy (&u, data + 4 * i, 4);
    u = GUINT32_FROM_LE (u);
    memcpy (&y[i], &u, 4);
  }
  g_free (data);
  return y;
}

/* Where a reference set lives: the project's own synthetic signals under
 * tests/data/mfcc (always there), or python_speech_features' outputs for
 * ten FSDD recordings under ../shared/testdata/mfcc (when present). */
static char *
shipped_path (const char *rel)
{
  const char *root = g_getenv ("MMDIGITS_SOURCE_ROOT");
  ck_assert_msg (root != NULL, "MMDIGITS_SOURCE_ROOT is not set");
  return g_build_filename (root, "tests", "data", rel, NULL);
}

static const char *const shipped_names[] = { "vowel", "chirp", "bursts" };

/* Max |ours − reference| over a reference set; fails beyond
 * 1e-3 + 1e-4·|ref| (float FFT rounding against float64, see core/features/mfcc.c). */
static void
check_references (int nfft, const char *suffix, const char *const *names, guint n_names,
                  char *(*path_of) (const char *rel), const char *what)
{
  MmMfcc *m = new_mfcc (nfft);
  float out[N_FRAMES * N_COEFFS];
  double max_abs = 0;

  for (guint f = 0; f < n_names; f++) {
    char *wav_rel = g_strdup_printf ("mfcc/%s_16k1s.wav", names[f]);
    char *ref_rel = g_strdup_printf ("mfcc/%s_16k1s%s.f32", names[f], suffix);
    char *wav = path_of (wav_rel);
    char *ref = path_of (ref_rel);
    size_t n;
    float *x, *y;
    GError *err = NULL;

    ck_assert_msg (wav && ref, "missing %s or %s", wav_rel, ref_rel);
    x = read_wav (wav, &n);
    y = read_f32 (ref, N_FRAMES * N_COEFFS);
    ck_assert_int_eq (mm_mfcc_n_frames (m, n), N_FRAMES);
    ck_assert_msg (mm_mfcc_compute (m, x, n, out, &err), "%s", err ? err->message : "?");
    for (int i = 0; i < N_FRAMES * N_COEFFS; i++) {
      double d = fabs ((double) out[i] - y[i]);
      max_abs = MAX (max_abs, d);
      ck_assert_msg (d <= 1e-3 + 1e-4 * fabs (y[i]),
          "%s nfft %d frame %d coef %d: %.6f, reference %.6f",
          names[f], nfft, i / N_COEFFS, i % N_COEFFS, out[i], y[i]);
    }
    g_free (x);
    g_free (y);
    g_free (wav);
    g_free (ref);
    g_free (wav_rel);
    g_free (ref_rel);
  }
  printf ("nfft %d: max abs error vs %s %.3g\n", nfft, what, max_abs);
  fflush (stdout);
  mm_mfcc_free (m);
}

START_TEST (test_mfcc_matches_shipped_references)
{
  /* tests/data/mfcc/make-references.py: a NumPy transcription of
   * python_speech_features, checked against the original's outputs */
  check_references (_i == 0 ? 1024 : 512, _i == 0 ? "" : ".nfft512", shipped_names,
      G_N_ELEMENTS (shipped_names), shipped_path, "the shipped references");
}
END_TEST

START_TEST (test_mfcc_matches_python_speech_features_nfft1024)
{
  check_references (1024, "", ref_names, G_N_ELEMENTS (ref_names), mm_test_testdata_path,
      "python_speech_features");
}
END_TEST

START_TEST (test_mfcc_matches_python_speech_features_nfft512_truncating)
{
  check_references (512, ".nfft512", ref_names, G_N_ELEMENTS (ref_names),
      mm_test_testdata_path, "python_speech_features");
}
END_TEST

START_TEST (test_mfcc_frame_count_follows_ceil_rule)
{
  static const struct { size_t n; int frames; } cases[] = {
    { 0, 0 }, { 1, 1 }, { 800, 1 }, { 801, 2 }, { 1200, 2 }, { 1201, 3 },
    { 16000, 39 }, { 16001, 40 },
  };
  MmMfcc *m = new_mfcc (1024);
  float *x = g_new (float, 16001);
  float *out = g_new (float, 40 * N_COEFFS);

  mm_test_fill_uniform (x, 16001, -0.5f, 0.5f, 3);
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++) {
    GError *err = NULL;
    ck_assert_int_eq (mm_mfcc_n_frames (m, cases[i].n), cases[i].frames);
    if (cases[i].n == 0) {
      ck_assert (!mm_mfcc_compute (m, x, 0, out, &err));
      ck_assert (g_error_matches (err, MM_ERROR, MM_ERROR_INVALID));
      g_error_free (err);
      continue;
    }
    ck_assert_msg (mm_mfcc_compute (m, x, cases[i].n, out, &err), "n=%zu", cases[i].n);
    for (int k = 0; k < cases[i].frames * N_COEFFS; k++)
      ck_assert (isfinite (out[k]));
  }
  g_free (x);
  g_free (out);
  mm_mfcc_free (m);
}
END_TEST

/* The last frame is zero-padded after pre-emphasis, so a signal ending in a
 * zero sample gives what the same signal continued by zeros gives (it must
 * end in zero: the continuation would otherwise pre-emphasise the last
 * sample into the next one). */
START_TEST (test_mfcc_last_frame_is_zero_padded)
{
  MmMfcc *m = new_mfcc (1024);
  float x[1600] = { 0 }, a[3 * N_COEFFS], b[3 * N_COEFFS];

  mm_test_fill_uniform (x, 1200, -0.5f, 0.5f, 9);
  ck_assert (mm_mfcc_compute (m, x, 1201, a, NULL));
  ck_assert (mm_mfcc_compute (m, x, 1600, b, NULL));
  for (int i = 0; i < 3 * N_COEFFS; i++)
    ck_assert_float_eq_tol (a[i], b[i], 1e-5f);
  mm_mfcc_free (m);
}
END_TEST

START_TEST (test_mfcc_silence_gives_log_epsilon)
{
  MmMfcc *m = new_mfcc (1024);
  float *x = g_new0 (float, 16000);
  float out[N_FRAMES * N_COEFFS];

  ck_assert (mm_mfcc_compute (m, x, 16000, out, NULL));
  for (int f = 0; f < N_FRAMES; f++) {
    ck_assert_double_eq_tol (out[f * N_COEFFS], log (DBL_EPSILON), 1e-4);
    for (int k = 1; k < N_COEFFS; k++)
      ck_assert_float_eq_tol (out[f * N_COEFFS + k], 0.0f, 1e-3f);
  }
  g_free (x);
  mm_mfcc_free (m);
}
END_TEST

/* The features of a clip do not depend on the thread's flush-to-zero and
 * denormals-are-zero flags (a decoding library was seen leaving them set in
 * a worker thread): a word followed by a decaying tail of tiny samples
 * (1e-18 down to 1e-32, whose powers are subnormal or underflow) gives the
 * same bits with both flags set as with both clear. This rests on IEEE
 * arithmetic: the flags change only results and inputs below FLT_MIN, and
 * every energy below DBL_EPSILON is floored to it. The tail's frames are
 * also exactly the padding's (silence). Skipped where SSE's MXCSR is not
 * there to set. */
START_TEST (test_mfcc_ignores_flush_to_zero)
{
#if defined(__SSE__)
  MmMfcc *m = new_mfcc (1024);
  float *x = g_new0 (float, 16000);
  float plain[N_FRAMES * N_COEFFS], flushed[N_FRAMES * N_COEFFS], silent[N_FRAMES * N_COEFFS];
  unsigned int csr = _mm_getcsr ();

  for (int i = 0; i < 6000; i++)
    x[i] = 0.3f * sinf (2 * G_PI * 440 * i / 16000.0f) * sinf (G_PI * i / 6000.0f);
  for (int i = 6000; i < 16000; i++)
    x[i] = 1e-18f * powf (1e-14f, (i - 6000) / 10000.0f) * (i % 2 ? 1.0f : -1.0f);
  ck_assert (mm_mfcc_compute (m, x, 16000, plain, NULL));
  _mm_setcsr (csr | 0x8040);   /* FTZ | DAZ */
  ck_assert (mm_mfcc_compute (m, x, 16000, flushed, NULL));
  _mm_setcsr (csr);
  ck_assert (memcmp (plain, flushed, sizeof plain) == 0);
  memset (x + 6000, 0, sizeof (float) * 10000);
  ck_assert (mm_mfcc_compute (m, x, 16000, silent, NULL));
  /* frames 30 on lie wholly in the tail (window 800, step 400) */
  ck_assert (memcmp (plain + 30 * N_COEFFS, silent + 30 * N_COEFFS,
          sizeof (float) * (N_FRAMES - 30) * N_COEFFS) == 0);
  g_free (x);
  mm_mfcc_free (m);
#endif
}
END_TEST

START_TEST (test_mfcc_clipped_input_stays_finite)
{
  MmMfcc *m = new_mfcc (1024);
  float *x = g_new (float, 16000);
  float out[N_FRAMES * N_COEFFS];

  /* full-scale square wave, including +1.0 (one past int16) */
  for (int i = 0; i < 16000; i++)
    x[i] = (i / 20) % 2 ? 1.0f : -1.0f;
  ck_assert (mm_mfcc_compute (m, x, 16000, out, NULL));
  for (int i = 0; i < N_FRAMES * N_COEFFS; i++)
    ck_assert (isfinite (out[i]));
  g_free (x);
  mm_mfcc_free (m);
}
END_TEST

/* Found by tests/fuzz/fuzz_audio: a float WAV holding 7.5e31 gave infinite
 * coefficients. Up to MM_MFCC_MAX_SAMPLE the output is finite; beyond, the
 * samples are refused as what they are, wherever they sit (the vector
 * loop and its tail). */
START_TEST (test_mfcc_huge_samples_are_refused_not_infinite)
{
  MmMfcc *m = new_mfcc (1024);
  float *x = g_new (float, 16000);
  float out[N_FRAMES * N_COEFFS];
  GError *err = NULL;

  for (int i = 0; i < 16000; i++)       /* a full-scale square at the limit */
    x[i] = (i / 20) % 2 ? MM_MFCC_MAX_SAMPLE : -MM_MFCC_MAX_SAMPLE;
  ck_assert (mm_mfcc_compute (m, x, 16000, out, NULL));
  for (int i = 0; i < N_FRAMES * N_COEFFS; i++)
    ck_assert_msg (isfinite (out[i]), "coefficient %d is %g", i, out[i]);
  /* at 4000: in the 8-sample loop; at 15993 of 15995: in its tail */
  for (int c = 0; c < 2; c++) {
    int at = c ? 15993 : 4000, n = c ? 15995 : 16000;
    x[at] = 7.5e31f;
    ck_assert (!mm_mfcc_compute (m, x, n, out, &err));
    ck_assert (g_error_matches (err, MM_ERROR, MM_ERROR_INVALID));
    ck_assert_msg (strstr (err->message, "60 dB above full scale") != NULL, "%s",
        err->message);
    g_clear_error (&err);
    x[at] = -nextafterf (MM_MFCC_MAX_SAMPLE, INFINITY);
    ck_assert (!mm_mfcc_compute (m, x, n, out, NULL));
    x[at] = MM_MFCC_MAX_SAMPLE;
  }
  g_free (x);
  mm_mfcc_free (m);
}
END_TEST

START_TEST (test_mfcc_rejects_non_finite_sample)
{
  MmMfcc *m = new_mfcc (1024);
  float *x = g_new0 (float, 16000);
  float out[N_FRAMES * N_COEFFS];
  GError *err = NULL;

  x[12345] = NAN;
  ck_assert (!mm_mfcc_compute (m, x, 16000, out, &err));
  ck_assert (g_error_matches (err, MM_ERROR, MM_ERROR_INVALID));
  ck_assert_msg (strstr (err->message, "12345") != NULL, "%s", err->message);
  g_clear_error (&err);
  x[12345] = INFINITY;
  ck_assert (!mm_mfcc_compute (m, x, 16000, out, &err));
  ck_assert (g_error_matches (err, MM_ERROR, MM_ERROR_INVALID));
  g_clear_error (&err);
  g_free (x);
  mm_mfcc_free (m);
}
END_TEST

START_TEST (test_mfcc_rejects_invalid_params)
{
  MmMfccParams p;
  GError *err = NULL;

  mm_mfcc_params_init (&p);
  p.high_freq = 9000;   /* above Nyquist */
  ck_assert (mm_mfcc_new (&p, &err) == NULL);
  ck_assert (g_error_matches (err, MM_ERROR, MM_ERROR_INVALID));
  g_clear_error (&err);
  mm_mfcc_params_init (&p);
  p.n_coeffs = 27;      /* more than n_filters */
  ck_assert (mm_mfcc_new (&p, &err) == NULL);
  g_clear_error (&err);
}
END_TEST

START_TEST (test_mfcc_params_json_round_trip)
{
  MmMfccParams p, q, d;
  GError *err = NULL;
  char *json;

  mm_mfcc_params_init (&p);
  p.nfft = 512;
  p.n_coeffs = 12;
  p.low_freq = 20.5f;
  p.high_freq = 7600;
  p.preemph = 0.95f;
  p.lifter = 0;
  p.append_energy = FALSE;
  p.dc_block = TRUE;
  p.cmvn = MM_CMVN_MEAN_VAR;
  p.word_cut = MM_WORD_CUT_DETECTOR;
  json = mm_mfcc_params_to_json (&p);
  ck_assert_msg (strstr (json, "\"cmvn\":\"mean+var\"") != NULL, "%s", json);
  ck_assert_msg (strstr (json, "\"frames\":39") != NULL, "%s", json);
  ck_assert_msg (strstr (json, "\"preemph\"") != NULL, "%s", json);
  memset (&q, 0xff, sizeof q);
  ck_assert_msg (mm_mfcc_params_from_json (json, &q, &err), "%s: %s", json,
      err ? err->message : "?");
  ck_assert (memcmp (&p, &q, sizeof p) == 0);
  g_free (json);

  /* absent members keep their defaults */
  mm_mfcc_params_init (&d);
  ck_assert (mm_mfcc_params_from_json ("{\"nfft\": 512}", &q, NULL));
  d.nfft = 512;
  ck_assert (memcmp (&d, &q, sizeof d) == 0);
}
END_TEST

START_TEST (test_mfcc_params_json_rejects_bad_values)
{
  static const char *const bad[] = {
    "not json", "[1, 2]", "{\"nfft\": \"1024\"}", "{\"nfft\": 10.5}",
    "{\"append_energy\": 1}", "{\"nfft\": 0}", "{\"preemph\": 1.5}",
    "{\"cmvn\": \"yes\"}", "{\"cmvn\": 1}", "{\"word_cut\": \"centre\"}",
    "{\"dc_block\": \"true\"}", "{\"frames\": 40}", "{\"nfft\": 512, \"frame_step\": 200, \"frames\": 39}",
  };
  for (guint i = 0; i < G_N_ELEMENTS (bad); i++) {
    MmMfccParams q;
    GError *err = NULL;
    mm_mfcc_params_init (&q);
    ck_assert_msg (!mm_mfcc_params_from_json (bad[i], &q, &err), "accepted %s", bad[i]);
    ck_assert_msg (err != NULL && err->domain == MM_ERROR, "%s", bad[i]);
    ck_assert_int_eq (q.nfft, 1024);   /* untouched on failure */
    g_error_free (err);
  }
}
END_TEST

/* The "mfcc" metadata of the models shipped before the front end had
 * dc_block, cmvn, word_cut and frames: it must read as exactly what those
 * models were trained with, which is mm_mfcc_params_init. */
START_TEST (test_mfcc_params_json_old_models_map_to_the_study_front_end)
{
  static const char old[] = "{\"sample_rate\":16000,\"frame_len\":800,\"frame_step\":400,"
      "\"nfft\":1024,\"n_filters\":26,\"n_coeffs\":13,\"low_freq\":0.0,\"high_freq\":8000.0,"
      "\"preemph\":0.96999999999999997,\"lifter\":22,\"append_energy\":true}";
  MmMfccParams q, d;
  GError *err = NULL;
  char *what = NULL;

  mm_mfcc_params_init (&d);
  ck_assert_msg (mm_mfcc_params_from_json (old, &q, &err), "%s", err ? err->message : "?");
  ck_assert_msg (mm_mfcc_params_equal (&q, &d, &what), "%s", what);
  ck_assert (!q.dc_block);
  ck_assert_int_eq (q.cmvn, MM_CMVN_NONE);
  ck_assert_int_eq (q.word_cut, MM_WORD_CUT_WHOLE);
}
END_TEST

/* Test-time views: the text form reads back to the same views and the
 * same text, travels through the JSON (absent when there are none, so a
 * front end without views writes what older files hold), takes part in
 * equality, and bad items are refused naming them. */
START_TEST (test_mfcc_views_text_json_and_equality)
{
  MmMfccParams p, q;
  GError *err = NULL;
  char *text, *json, *what = NULL;

  mm_mfcc_params_init (&p);
  text = mm_mfcc_views_to_string (&p);
  ck_assert_str_eq (text, "none");
  g_free (text);
  json = mm_mfcc_params_to_json (&p);
  ck_assert_ptr_null (strstr (json, "views"));
  g_free (json);

  ck_assert (mm_mfcc_views_from_string ("speed:0.9,vtlp:1.10,speed:1.1", &p, &err));
  ck_assert_int_eq (p.n_views, 3);
  ck_assert_float_eq (p.views[0].speed, 0.9f);
  ck_assert_float_eq (p.views[0].warp, 1.0f);
  ck_assert_float_eq (p.views[1].speed, 1.0f);
  ck_assert_float_eq (p.views[1].warp, 1.1f);
  text = mm_mfcc_views_to_string (&p);
  ck_assert_str_eq (text, "speed:0.9,vtlp:1.1,speed:1.1");
  g_free (text);
  json = mm_mfcc_params_to_json (&p);
  ck_assert (mm_mfcc_params_from_json (json, &q, &err));
  ck_assert (mm_mfcc_params_equal (&p, &q, NULL));
  g_free (json);

  mm_mfcc_params_init (&q);
  ck_assert (!mm_mfcc_params_equal (&q, &p, &what));
  ck_assert_str_eq (what, "views: none vs speed:0.9,vtlp:1.1,speed:1.1");
  g_free (what);
  /* the same block of a word, whatever the views; not another nfft's */
  ck_assert (mm_mfcc_params_equal_blocks (&q, &p, NULL));
  q.nfft = 512;
  ck_assert (!mm_mfcc_params_equal_blocks (&q, &p, &what));
  ck_assert_str_eq (what, "nfft: 512 vs 1024");
  g_free (what);
  q.nfft = 1024;
  ck_assert (mm_mfcc_views_from_string ("none", &p, NULL));
  ck_assert_int_eq (p.n_views, 0);
  ck_assert (mm_mfcc_params_equal (&q, &p, NULL));

  const char *bad[] = { "speed:3", "fast:0.9", "speed:", "speed:0.9x", "vtlp:0.4",
    "speed:0.9,speed:1.1,vtlp:0.9,vtlp:1.1,speed:1.2", "speed:nan" };
  for (guint i = 0; i < G_N_ELEMENTS (bad); i++) {
    ck_assert_msg (!mm_mfcc_views_from_string (bad[i], &p, &err), "%s taken", bad[i]);
    ck_assert (g_error_matches (err, MM_ERROR, MM_ERROR_INVALID));
    g_clear_error (&err);
    ck_assert_int_eq (p.n_views, 0);      /* unchanged on failure */
  }
  ck_assert (!mm_mfcc_params_from_json ("{\"views\": 3}", &p, &err));
  ck_assert (g_error_matches (err, MM_ERROR, MM_ERROR_FORMAT));
  g_clear_error (&err);
  /* one view changes one thing */
  p.n_views = 1;
  p.views[0] = (MmView) { 0.9f, 1.1f };
  ck_assert (!mm_mfcc_params_check (&p, &err));
  g_clear_error (&err);
}
END_TEST

START_TEST (test_mfcc_params_equal_names_the_first_difference)
{
  MmMfccParams a, b;
  char *what = NULL;

  mm_mfcc_params_init (&a);
  b = a;
  ck_assert (mm_mfcc_params_equal (&a, &b, &what));
  ck_assert (what == NULL);
  b.nfft = 512;
  b.cmvn = MM_CMVN_MEAN;
  ck_assert (!mm_mfcc_params_equal (&a, &b, &what));
  ck_assert_str_eq (what, "nfft: 1024 vs 512");
  g_free (what);
  b.nfft = 1024;
  ck_assert (!mm_mfcc_params_equal (&a, &b, &what));
  ck_assert_str_eq (what, "cmvn: none vs mean");
  g_free (what);
  b = a;
  b.high_freq = 4000;
  ck_assert (!mm_mfcc_params_equal (&b, &a, &what));
  ck_assert_str_eq (what, "high_freq: 4000 vs 8000");
  g_free (what);
}
END_TEST

/* A word (a 300 ms harmonic sound at 0.3 s) centred in one second: with
 * cmvn every coefficient's mean over the frames that hold sound is 0 (and
 * with mean+var its deviation 1), the padding frames are 0, and a gain
 * changes nothing but rounding (c0 included: loudness independence). */
START_TEST (test_mfcc_cmvn_normalises_the_voiced_frames)
{
  float *x = g_new0 (float, 16000), raw[N_FRAMES * N_COEFFS], out[N_FRAMES * N_COEFFS],
      loud[N_FRAMES * N_COEFFS];
  MmMfccParams p;
  MmMfcc *m0, *m;
  int voiced = 0;

  for (int i = 4800; i < 9600; i++)
    for (int k = 1; k <= 10; k++)
      x[i] += 0.02f / k * sinf (2 * G_PI * 140 * k * (i - 4800) / 16000.0f + k)
          * sinf (G_PI * (i - 4800) / 4800.0f);
  mm_mfcc_params_init (&p);
  m0 = mm_mfcc_new (&p, NULL);
  ck_assert (mm_mfcc_compute (m0, x, 16000, raw, NULL));
  for (int c = 0; c < 2; c++) {
    p.cmvn = c == 0 ? MM_CMVN_MEAN : MM_CMVN_MEAN_VAR;
    m = mm_mfcc_new (&p, NULL);
    ck_assert (mm_mfcc_compute (m, x, 16000, out, NULL));
    for (int k = 0; k < N_COEFFS; k++) {
      double sum = 0, sq = 0;
      voiced = 0;
      for (int f = 0; f < N_FRAMES; f++) {
        /* frames 0-10 and 25-38 read only zeros (frame 24 starts at
         * 9600, whose pre-emphasis still sees sample 9599) */
        gboolean pad = f * 400 + 800 <= 4800 || f * 400 > 9600;
        if (pad) {
          ck_assert_msg (out[f * N_COEFFS + k] == 0.0f, "frame %d coef %d", f, k);
          continue;
        }
        voiced++;
        sum += out[f * N_COEFFS + k];
        sq += (double) out[f * N_COEFFS + k] * out[f * N_COEFFS + k];
      }
      ck_assert_msg (fabs (sum / voiced) < 1e-4, "coef %d mean %g", k, sum / voiced);
      if (c == 1)
        ck_assert_msg (fabs (sqrt (sq / voiced) - 1) < 1e-3, "coef %d sd %g", k, sqrt (sq / voiced));
      else   /* only the mean moved: differences between frames are kept */
        ck_assert_msg (fabs ((out[12 * N_COEFFS + k] - out[14 * N_COEFFS + k])
                - (raw[12 * N_COEFFS + k] - raw[14 * N_COEFFS + k])) < 1e-3, "coef %d", k);
    }
    ck_assert_int_eq (voiced, 14);
    for (int i = 0; i < 16000; i++)
      x[i] *= 8;
    ck_assert (mm_mfcc_compute (m, x, 16000, loud, NULL));
    for (int i = 0; i < 16000; i++)
      x[i] /= 8;
    for (int i = 0; i < N_FRAMES * N_COEFFS; i++)
      ck_assert_msg (fabsf (loud[i] - out[i]) < 2e-3, "gain changed value %d: %g vs %g",
          i, loud[i], out[i]);
    mm_mfcc_free (m);
  }
  mm_mfcc_free (m0);
  g_free (x);
}
END_TEST

/* A constant offset leaves nothing (no step at the start either); a 200 Hz
 * tone passes within 1 %; pieces of a stream give what the whole gives. */
START_TEST (test_dc_block_removes_offset_keeps_speech_band)
{
  enum { N = 16000 };
  float *x = g_new (float, N), *y = g_new (float, N), *z = g_new (float, N);
  MmDcBlock d;
  double peak = 0;

  for (int i = 0; i < N; i++)
    x[i] = 0.3f;
  mm_dc_block_init (&d, 16000);
  mm_dc_block_run (&d, x, y, N);
  for (int i = 0; i < N; i++)
    ck_assert_msg (y[i] == 0.0f, "sample %d: %g", i, y[i]);

  for (int i = 0; i < N; i++)
    x[i] = 0.3f + 0.5f * sinf (2 * G_PI * 200 * i / 16000.0f);
  mm_dc_block_init (&d, 16000);
  mm_dc_block_run (&d, x, y, N);
  for (int i = N / 2; i < N; i++)
    peak = MAX (peak, fabs (y[i]));
  ck_assert_msg (fabs (peak - 0.5) < 0.005, "200 Hz peak %g", peak);

  mm_dc_block_init (&d, 16000);
  for (int i = 0; i < N; i += 777)
    mm_dc_block_run (&d, x + i, z + i, MIN (777, N - i));
  ck_assert (memcmp (y, z, sizeof (float) * N) == 0);
  g_free (x);
  g_free (y);
  g_free (z);
}
END_TEST

START_TEST (test_audio_fit_center_pads_crops_and_copies)
{
  float in[10], out[10];

  for (int i = 0; i < 10; i++)
    in[i] = (float) (i + 1);
  /* short: 3 into 8 → 2 zeros, the 3 samples, 3 zeros */
  memset (out, 0x7f, sizeof out);
  mm_audio_fit_center (in, 3, out, 8);
  {
    const float want[8] = { 0, 0, 1, 2, 3, 0, 0, 0 };
    for (int i = 0; i < 8; i++)
      ck_assert_float_eq (out[i], want[i]);
  }
  /* exact */
  mm_audio_fit_center (in, 10, out, 10);
  for (int i = 0; i < 10; i++)
    ck_assert_float_eq (out[i], in[i]);
  /* long: central 4 of 10 start at 3 */
  mm_audio_fit_center (in, 10, out, 4);
  for (int i = 0; i < 4; i++)
    ck_assert_float_eq (out[i], in[3 + i]);
  /* empty input → silence */
  mm_audio_fit_center (NULL, 0, out, 5);
  for (int i = 0; i < 5; i++)
    ck_assert_float_eq (out[i], 0.0f);
}
END_TEST

/* Extractors made and freed from several threads at once (FFTW's planner is
 * not thread-safe) all give the single-thread result. */
typedef struct {
  const float *x;
  const float *want;
  gboolean ok;
} ThreadJob;

static gpointer
thread_job (gpointer data)
{
  ThreadJob *job = data;
  float out[N_FRAMES * N_COEFFS];

  job->ok = TRUE;
  for (int r = 0; r < 20; r++) {
    MmMfccParams p;
    MmMfcc *m;
    mm_mfcc_params_init (&p);
    p.nfft = r % 2 ? 1024 : 2048;
    m = mm_mfcc_new (&p, NULL);
    if (!m || !mm_mfcc_compute (m, job->x, 16000, out, NULL))
      job->ok = FALSE;
    if (p.nfft == 1024 && memcmp (out, job->want, sizeof out) != 0)
      job->ok = FALSE;
    mm_mfcc_free (m);
  }
  return NULL;
}

START_TEST (test_mfcc_extractors_from_several_threads_agree)
{
  MmMfcc *m = new_mfcc (1024);
  float *x = g_new (float, 16000);
  float want[N_FRAMES * N_COEFFS];
  ThreadJob jobs[4];
  GThread *th[4];

  mm_test_fill_uniform (x, 16000, -0.3f, 0.3f, 11);
  ck_assert (mm_mfcc_compute (m, x, 16000, want, NULL));
  for (int i = 0; i < 4; i++) {
    jobs[i] = (ThreadJob) { x, want, FALSE };
    th[i] = g_thread_new ("mfcc", thread_job, &jobs[i]);
  }
  for (int i = 0; i < 4; i++) {
    g_thread_join (th[i]);
    ck_assert (jobs[i].ok);
  }
  g_free (x);
  mm_mfcc_free (m);
}
END_TEST

static gboolean
have_references (void)
{
  char *p = mm_test_testdata_path ("mfcc/0_george_0_16k1s.f32");
  gboolean have = p != NULL;
  g_free (p);
  return have;
}

int
main (void)
{
  Suite *s = suite_create ("mfcc");
  TCase *tc = tcase_create ("mfcc");
  gboolean data = have_references ();
  int status;

  tcase_add_test (tc, test_mfcc_frame_count_follows_ceil_rule);
  tcase_add_test (tc, test_mfcc_last_frame_is_zero_padded);
  tcase_add_test (tc, test_mfcc_silence_gives_log_epsilon);
  tcase_add_test (tc, test_mfcc_ignores_flush_to_zero);
  tcase_add_test (tc, test_mfcc_clipped_input_stays_finite);
  tcase_add_test (tc, test_mfcc_rejects_non_finite_sample);
  tcase_add_test (tc, test_mfcc_huge_samples_are_refused_not_infinite);
  tcase_add_test (tc, test_mfcc_rejects_invalid_params);
  tcase_add_test (tc, test_mfcc_params_json_round_trip);
  tcase_add_test (tc, test_mfcc_params_json_rejects_bad_values);
  tcase_add_test (tc, test_audio_fit_center_pads_crops_and_copies);
  tcase_add_test (tc, test_mfcc_params_json_old_models_map_to_the_study_front_end);
  tcase_add_test (tc, test_mfcc_params_equal_names_the_first_difference);
  tcase_add_test (tc, test_mfcc_views_text_json_and_equality);
  tcase_add_test (tc, test_mfcc_cmvn_normalises_the_voiced_frames);
  tcase_add_test (tc, test_dc_block_removes_offset_keeps_speech_band);
  tcase_add_test (tc, test_mfcc_extractors_from_several_threads_agree);
  tcase_add_loop_test (tc, test_mfcc_matches_shipped_references, 0, 2);
  if (data) {
    tcase_add_test (tc, test_mfcc_matches_python_speech_features_nfft1024);
    tcase_add_test (tc, test_mfcc_matches_python_speech_features_nfft512_truncating);
  }
  suite_add_tcase (s, tc);
  status = mm_test_run_suite (s);
  if (status == EXIT_SUCCESS && !data) {
    printf ("skipped: no data (reference tests need ../shared/testdata/mfcc)\n");
    return 77;
  }
  return status;
}
