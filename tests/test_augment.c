/* Training-time augmentation: each building block does what it says,
 * batches are reproducible for a seed, and "off" changes nothing. */
#include <math.h>
#include <string.h>

#include "mm-augment.h"
#include "mm-error.h"
#include "mm-test-util.h"
#include "mm-threads.h"
#include "mm-train.h"

#define RATE 16000
#define N 16000

static void
sine (float *x, int n, float hz, float amp)
{
  for (int i = 0; i < n; i++)
    x[i] = amp * sinf (2 * (float) G_PI * hz * i / RATE);
}

static double
rms_db (const float *x, int n)
{
  double s = 0;
  for (int i = 0; i < n; i++)
    s += (double) x[i] * x[i];
  return 10 * log10 (s / n);
}

/* Positive-going zero crossings per second over samples [from, to). */
static double
frequency (const float *x, int from, int to)
{
  int first = -1, last = -1, count = 0;
  for (int i = from + 1; i < to; i++)
    if (x[i - 1] < 0 && x[i] >= 0) {
      if (first < 0)
        first = i;
      last = i;
      count++;
    }
  return (count - 1) * (double) RATE / (last - first);
}

START_TEST (test_gain_changes_rms_by_the_set_db)
{
  float x[N], y[N];
  const float gains[] = { -10.0f, -3.0f, 6.0f };

  sine (x, N, 440, 0.05f);
  for (guint k = 0; k < G_N_ELEMENTS (gains); k++) {
    memcpy (y, x, sizeof x);
    mm_aug_gain (y, N, gains[k]);
    ck_assert_double_eq_tol (rms_db (y, N) - rms_db (x, N), gains[k], 1e-3);
  }
  /* full scale clips, as a recorder would */
  sine (y, N, 440, 0.9f);
  mm_aug_gain (y, N, 6);
  for (int i = 0; i < N; i++)
    ck_assert (y[i] >= -1.0f && y[i] <= 1.0f);
}
END_TEST

/* A 440 Hz tone played 1.1× faster is a 484 Hz tone; 0.9× is 396 Hz. */
START_TEST (test_speed_scales_frequency)
{
  float x[N], y[N];

  sine (x, N, 440, 0.5f);
  mm_aug_speed (x, y, N, 1.1f);
  ck_assert_double_eq_tol (frequency (y, 4000, 12000), 484, 1.0);
  mm_aug_speed (x, y, N, 0.9f);
  ck_assert_double_eq_tol (frequency (y, 4000, 12000), 396, 1.0);
  /* 1.0 is the identity */
  mm_aug_speed (x, y, N, 1.0f);
  ck_assert (memcmp (x, y, sizeof x) == 0);
}
END_TEST

START_TEST (test_shift_delays_and_zero_fills)
{
  float x[100];

  for (int i = 0; i < 100; i++)
    x[i] = i + 1;
  mm_aug_shift (x, 100, 10);
  for (int i = 0; i < 10; i++)
    ck_assert_float_eq (x[i], 0);
  ck_assert_float_eq (x[10], 1);
  ck_assert_float_eq (x[99], 90);
  mm_aug_shift (x, 100, -20);
  ck_assert_float_eq (x[0], 11);
  ck_assert_float_eq (x[79], 90);
  ck_assert_float_eq (x[80], 0);
}
END_TEST

/* The SNR is the speech's: a word padded with zeros gets the same noise
 * as the same word in a tight clip, and the noise it gets is at the set SNR
 * over the word's span. */
START_TEST (test_snr_counts_the_word_not_its_padding)
{
  enum { WORD = N / 4, PAD = (N - WORD) / 2 };
  static float padded[N], tight[WORD], noise[N], d[N];
  MmRng r;

  mm_rng_seed (&r, 4, 1);
  memset (padded, 0, sizeof padded);
  sine (tight, WORD, 300, 0.1f);
  tight[0] = 0.05f;             /* the word starts with a non-zero sample */
  memcpy (padded + PAD, tight, sizeof tight);
  ck_assert_double_eq_tol (mm_aug_speech_power (padded, N), mm_aug_speech_power (tight, WORD),
      1e-9);
  mm_aug_white (&r, noise, N);
  mm_aug_add_noise (padded, noise, N, 10);
  for (int i = 0; i < N; i++)
    d[i] = padded[i] - (i >= PAD && i < PAD + WORD ? tight[i - PAD] : 0.0f);
  ck_assert_double_eq_tol (rms_db (tight, WORD) - rms_db (d, N), 10.0, 0.05);
}
END_TEST

/* Babble is unit RMS, made only of the pool's clips, and the same for the
 * same stream. */
START_TEST (test_babble_mixes_the_pool_at_unit_rms)
{
  static float clips[3 * N], a[N], b[N];
  const int pool[] = { 0, 2 };
  MmRng r1, r2;

  memset (clips, 0, sizeof clips);
  sine (clips, N, 200, 0.2f);
  sine (clips + N, N, 700, 0.5f);
  sine (clips + 2 * N, N, 1100, 0.01f);
  mm_rng_seed (&r1, 5, 2);
  mm_rng_seed (&r2, 5, 2);
  mm_aug_babble (&r1, clips, N, pool, 2, 4, a, N);
  mm_aug_babble (&r2, clips, N, pool, 2, 4, b, N);
  ck_assert_double_eq_tol (rms_db (a, N), 0.0, 1e-3);
  ck_assert_mem_eq (a, b, sizeof a);
  /* clip 1 (700 Hz) is not in the pool: babble is orthogonal to it */
  {
    double dot = 0;
    for (int i = 0; i < N; i++)
      dot += (double) a[i] * clips[N + i];
    ck_assert_double_lt (fabs (dot) / N, 1e-3);
  }
}
END_TEST

/* The noise added is exactly at the requested SNR (whole-clip powers). */
/* Crowd babble fills the second: from words centred in silence (0.4 s
 * bursts in a one-second window), mm_aug_babble leaves the window's first
 * 0.25 s silent — every talker speaks at the same moment — while every
 * 10 ms of mm_aug_crowd holds speech (RMS above −20 dB of its unit RMS).
 * Unit RMS, the same bits from the same seed; a pool of silent clips gives
 * silence and ends. */
START_TEST (test_crowd_fills_the_second)
{
  static float clips[3 * N], babble[N], crowd[N], again[N];
  const int pool[2] = { 0, 1 }, silent[1] = { 2 };
  MmRng r1, r2;

  memset (clips, 0, sizeof clips);
  sine (clips + 6400, 6400, 300, 0.1f);
  sine (clips + N + 6400, 6400, 700, 0.3f);
  mm_rng_seed (&r1, 9, 1);
  mm_aug_babble (&r1, clips, N, pool, 2, 6, babble, N);
  for (int i = 0; i < 4000; i++)
    ck_assert (babble[i] == 0.0f);
  mm_rng_seed (&r1, 9, 1);
  mm_rng_seed (&r2, 9, 1);
  mm_aug_crowd (&r1, clips, N, pool, 2, 6, crowd, N);
  mm_aug_crowd (&r2, clips, N, pool, 2, 6, again, N);
  ck_assert_mem_eq (crowd, again, sizeof crowd);
  ck_assert_double_eq_tol (rms_db (crowd, N), 0.0, 1e-3);
  for (int w = 0; w + 160 <= N; w += 160)
    ck_assert_double_gt (rms_db (crowd + w, 160), -20.0);
  mm_aug_crowd (&r1, clips, N, silent, 1, 6, crowd, N);
  for (int i = 0; i < N; i++)
    ck_assert (crowd[i] == 0.0f);
}
END_TEST

START_TEST (test_noise_is_added_at_the_set_snr)
{
  float x[N], y[N], noise[N], d[N];
  MmRng r;
  const float snrs[] = { 0, 10, 20 };

  mm_rng_seed (&r, 3, 1);
  sine (x, N, 300, 0.1f);
  for (int kind = 0; kind < 3; kind++) {
    if (kind == 0)
      mm_aug_white (&r, noise, N);
    else if (kind == 1)
      mm_aug_pink (&r, noise, N);
    else
      mm_aug_hum (&r, noise, N, RATE, 50);
    ck_assert_double_eq_tol (rms_db (noise, N), 0.0, 1e-3);  /* unit RMS */
    for (guint k = 0; k < G_N_ELEMENTS (snrs); k++) {
      memcpy (y, x, sizeof x);
      mm_aug_add_noise (y, noise, N, snrs[k]);
      for (int i = 0; i < N; i++)
        d[i] = y[i] - x[i];
      ck_assert_double_eq_tol (rms_db (x, N) - rms_db (d, N), snrs[k], 0.01);
    }
  }
}
END_TEST

/* Hum repeats every period of its fundamental; pink noise holds much more
 * of its power below 500 Hz than white noise (white: 1/16 of it). */
START_TEST (test_noise_colours)
{
  float w[N], p[N], h[N];
  MmRng r;
  double white_low, pink_low;

  mm_rng_seed (&r, 4, 1);
  mm_aug_hum (&r, h, N, RATE, 50);
  for (int i = 0; i < N - 320; i++)
    ck_assert_float_eq_tol (h[i], h[i + 320], 1e-3);
  mm_aug_white (&r, w, N);
  mm_aug_pink (&r, p, N);
  mm_aug_band (w, N, RATE, 0, 500);
  mm_aug_band (p, N, RATE, 0, 500);
  white_low = pow (10, rms_db (w, N) / 10);
  pink_low = pow (10, rms_db (p, N) / 10);
  ck_assert_msg (white_low < 0.1 && pink_low > 3 * white_low, "power below 500 Hz: white %.3f, pink %.3f",
      white_low, pink_low);
}
END_TEST

/* The channel passes its band and cuts outside it: two octaves above a
 * fourth-order low-pass is ≥ 40 dB down. */
START_TEST (test_band_limits)
{
  float x[N];

  sine (x, N, 300, 0.5f);
  mm_aug_band (x, N, RATE, 0, 1000);
  ck_assert_double_eq_tol (rms_db (x + 2000, N - 2000), 20 * log10 (0.5 / sqrt (2)), 0.5);
  sine (x, N, 4000, 0.5f);
  mm_aug_band (x, N, RATE, 0, 1000);
  ck_assert (rms_db (x + 2000, N - 2000) < 20 * log10 (0.5 / sqrt (2)) - 40);
  sine (x, N, 60, 0.5f);
  mm_aug_band (x, N, RATE, 400, 7000);
  ck_assert (rms_db (x + 4000, N - 4000) < 20 * log10 (0.5 / sqrt (2)) - 25);
}
END_TEST

static void
centre_of_mass (const float *img, double *cx, double *cy)
{
  double s = 0, sx = 0, sy = 0;
  for (int y = 0; y < 28; y++)
    for (int x = 0; x < 28; x++) {
      s += img[y * 28 + x];
      sx += img[y * 28 + x] * x;
      sy += img[y * 28 + x] * y;
    }
  *cx = sx / s;
  *cy = sy / s;
}

/* A 3×3 blob centred at (20, 13.5)... built from 2×2 at x 19–20 → centre (19.5, 13.5). */
static void
blob (float *img)
{
  memset (img, 0, sizeof (float) * 784);
  for (int y = 13; y <= 14; y++)
    for (int x = 19; x <= 20; x++)
      img[y * 28 + x] = 1;
}

START_TEST (test_affine_moves_the_centre_of_mass_as_expected)
{
  float in[784], out[784];
  double cx, cy;

  blob (in);
  /* 90° counter-clockwise on screen: 6 px right of centre → 6 px above */
  mm_aug_affine (in, out, 90, 1, 0, 0, 0);
  centre_of_mass (out, &cx, &cy);
  ck_assert_double_eq_tol (cx, 13.5, 0.05);
  ck_assert_double_eq_tol (cy, 7.5, 0.05);
  /* shift by (2, −1) */
  mm_aug_affine (in, out, 0, 1, 0, 2, -1);
  centre_of_mass (out, &cx, &cy);
  ck_assert_double_eq_tol (cx, 21.5, 0.05);
  ck_assert_double_eq_tol (cy, 12.5, 0.05);
  /* scale 1.25 about the centre: 6 px → 7.5 px */
  mm_aug_affine (in, out, 0, 1.25f, 0, 0, 0);
  centre_of_mass (out, &cx, &cy);
  ck_assert_double_eq_tol (cx, 21.0, 0.1);
  ck_assert_double_eq_tol (cy, 13.5, 0.05);
  /* identity */
  mm_aug_affine (in, out, 0, 1, 0, 0, 0);
  for (int i = 0; i < 784; i++)
    ck_assert_float_eq_tol (out[i], in[i], 1e-6);
}
END_TEST

static double
ink (const float *img)
{
  double s = 0;
  for (int i = 0; i < 784; i++)
    s += img[i];
  return s;
}

START_TEST (test_stroke_blur_and_elastic)
{
  float line[784] = { 0 }, bar[784] = { 0 }, out[784], img[784];
  MmRng r1, r2;

  for (int y = 5; y < 23; y++)
    line[y * 28 + 14] = 1;          /* one pixel wide */
  for (int y = 5; y < 23; y++)
    for (int x = 12; x < 16; x++)
      bar[y * 28 + x] = 1;          /* four pixels wide */
  mm_aug_stroke (line, out, TRUE);
  ck_assert_double_eq_tol (ink (out), 18 * 3 + 2, 1e-6);   /* three wide, one longer each end */
  mm_aug_stroke (line, out, FALSE);
  ck_assert_double_eq_tol (ink (out), 0, 1e-6);            /* a 1-px line vanishes */
  mm_aug_stroke (bar, out, FALSE);
  ck_assert_double_eq_tol (ink (out), 16 * 2, 1e-6);       /* 4 wide → 2 wide, 1 shorter each end */

  memcpy (img, bar, sizeof img);
  mm_aug_blur (img, 1.0f);
  ck_assert_double_eq_tol (ink (img), ink (bar), 1e-3);     /* mass kept away from the border */
  ck_assert (img[14 * 28 + 12] < 1.0f && img[14 * 28 + 10] > 0.0f);

  mm_rng_seed (&r1, 9, 1);
  mm_rng_seed (&r2, 9, 1);
  mm_aug_elastic (&r1, bar, out, 0, 4);                     /* α = 0: no displacement */
  ck_assert (memcmp (out, bar, sizeof bar) == 0);
  mm_aug_elastic (&r1, bar, out, 34, 4);
  mm_aug_elastic (&r2, bar, img, 34, 4);                    /* r2 is one field behind r1 */
  ck_assert (memcmp (out, img, sizeof img) != 0);
  ck_assert_double_eq_tol (ink (out), ink (bar), 0.25 * ink (bar));
}
END_TEST

/* VTLP: warp 1 is the exact front end, any other warp moves the features,
 * and coming back to 1 restores them bit for bit. */
START_TEST (test_vtlp_warp)
{
  MmMfccParams p;
  MmMfcc *m;
  float x[N], a[MM_AUDIO_VALUES], b[MM_AUDIO_VALUES];

  mm_mfcc_params_init (&p);
  m = mm_mfcc_new (&p, NULL);
  sine (x, N, 1000, 0.3f);
  ck_assert (mm_mfcc_compute (m, x, N, a, NULL));
  mm_mfcc_set_warp (m, 1.1f);
  ck_assert (mm_mfcc_compute (m, x, N, b, NULL));
  ck_assert (memcmp (a, b, sizeof a) != 0);
  mm_mfcc_set_warp (m, 1.0f);
  ck_assert (mm_mfcc_compute (m, x, N, b, NULL));
  ck_assert (memcmp (a, b, sizeof a) == 0);
  mm_mfcc_free (m);
}
END_TEST

START_TEST (test_parse_and_json)
{
  MmAugment a;
  GError *error = NULL;
  char *json;

  mm_augment_init (&a);
  ck_assert_int_eq (a.enabled, 0);
  ck_assert (mm_augment_parse (&a, "noise=0.3, speed", &error));
  ck_assert_int_eq (a.enabled, (1u << MM_AUG_WHITE) | (1u << MM_AUG_PINK) | (1u << MM_AUG_BABBLE)
      | (1u << MM_AUG_HUM) | (1u << MM_AUG_SPEED));
  ck_assert_float_eq (a.prob[MM_AUG_PINK], 0.3f);
  json = mm_augment_to_json (&a);
  ck_assert_msg (strstr (json, "\"pink\":0.3,") && strstr (json, "\"speed\":1,")
      && strstr (json, "\"speed\":0.15,"), "%s", json);
  g_free (json);
  ck_assert (mm_augment_parse (&a, "image", &error));
  ck_assert (!(a.enabled & (1u << MM_AUG_POLARITY)));
  ck_assert (mm_augment_parse (&a, "none", &error));
  ck_assert_int_eq (a.enabled, 0);
  ck_assert (!mm_augment_parse (&a, "speed,wobble", &error));
  ck_assert (strstr (error->message, "'wobble'"));
  g_clear_error (&error);
  ck_assert (!mm_augment_parse (&a, "gain=2", &error));
  g_clear_error (&error);
}
END_TEST

/* --noise-snr's range: MIN:MAX in dB within the stated bounds, recorded in
 * the provenance; anything else is refused and leaves the range as it was. */
START_TEST (test_noise_snr_range)
{
  const char *bad[] = { "40:5", "5", ":40", "5:", "-40:0", "0:101", "5:40x", "a:b", "5;40", "" };
  MmAugment a;
  GError *error = NULL;
  char *json;

  mm_augment_init (&a);
  ck_assert (mm_augment_parse (&a, "babble", &error));
  ck_assert (mm_augment_set_snr (&a, "-5:40", &error));
  ck_assert_float_eq (a.snr_min, -5.0f);
  ck_assert_float_eq (a.snr_max, 40.0f);
  json = mm_augment_to_json (&a);
  ck_assert_msg (strstr (json, "\"snr_min_db\":-5,") && strstr (json, "\"snr_max_db\":40,"), "%s",
      json);
  g_free (json);
  for (size_t i = 0; i < G_N_ELEMENTS (bad); i++) {
    ck_assert_msg (!mm_augment_set_snr (&a, bad[i], &error), "accepted '%s'", bad[i]);
    ck_assert (g_error_matches (error, MM_ERROR, MM_ERROR_INVALID));
    g_clear_error (&error);
    ck_assert_float_eq (a.snr_min, -5.0f);
    ck_assert_float_eq (a.snr_max, 40.0f);
  }
  ck_assert (mm_augment_set_snr (&a, "0:0", &error));
  ck_assert_float_eq (a.snr_max, 0.0f);
}
END_TEST

/* A data set of @n audio samples over 8 clips (tones of different pitch,
 * some quiet), with images, as the protocols make it. */
static MmDataset *
wave_set (int n)
{
  MmDataset *ds = mm_dataset_new (n, TRUE, TRUE);
  MmRng r;

  ds->waves = mm_wave_bank_new (8, N, RATE);
  for (int c = 0; c < 8; c++) {
    float *x = ds->waves->samples + (size_t) c * N;
    sine (x + 4000, 8000, 200 + 150 * c, c % 2 ? 0.3f : 0.01f);
  }
  ds->wave = g_new (int, n);
  mm_rng_seed (&r, 1, 1);
  for (int i = 0; i < n; i++) {
    ds->wave[i] = i % 8;
    ds->labels[i] = i % 8;
    for (int k = 0; k < MM_IMAGE_PIXELS; k++)
      ds->image[(size_t) i * MM_IMAGE_PIXELS + k] = mm_rng_uniform (&r) < 0.2f ? 1.0f : -1.0f;
  }
  return ds;
}

static void
augmented_batch (const MmAugment *a, const MmDataset *ds, const int *idx, int b, int epoch,
    float *img, float *aud)
{
  MmNorm norm = { .image_mean = 0.5f, .image_std = 0.5f };
  MmAugmenter *g;

  for (int k = 0; k < MM_MFCC_COEFFS; k++)
    norm.mfcc_std[k] = 10;
  g = mm_augmenter_new (a, MM_ARCH_HYBRIDNET_CNN, NULL, &norm, ds, NULL);
  ck_assert_ptr_nonnull (g);
  for (int i = 0; i < b; i++) {
    memcpy (img + (size_t) i * MM_IMAGE_PIXELS, ds->image + (size_t) idx[i] * MM_IMAGE_PIXELS,
        sizeof (float) * MM_IMAGE_PIXELS);
    memset (aud + (size_t) i * MM_AUDIO_VALUES, 0, sizeof (float) * MM_AUDIO_VALUES);
  }
  mm_augmenter_apply (g, idx, b, 42, epoch, img, aud, NULL);
  mm_augmenter_free (g);
}

/* Same seed, epoch and samples → bit-identical batches, with one thread or
 * two and whatever the samples' order in the batch; another epoch differs. */
START_TEST (test_batches_are_reproducible)
{
  const int n = 40, b = 32;
  MmDataset *ds = wave_set (n);
  MmAugment a;
  int idx[32], rev[32];
  float *img1 = g_new (float, b * MM_IMAGE_PIXELS), *img2 = g_new (float, b * MM_IMAGE_PIXELS);
  float *aud1 = g_new (float, b * MM_AUDIO_VALUES), *aud2 = g_new (float, b * MM_AUDIO_VALUES);
  int threads = mm_get_threads ();

  mm_augment_init (&a);
  ck_assert (mm_augment_parse (&a, "audio,image,polarity", NULL));
  for (int i = 0; i < b; i++)
    idx[i] = (i * 7) % n;
  for (int i = 0; i < b; i++)
    rev[i] = idx[b - 1 - i];
  mm_set_threads (1);
  augmented_batch (&a, ds, idx, b, 3, img1, aud1);
  mm_set_threads (2);
  augmented_batch (&a, ds, idx, b, 3, img2, aud2);
  ck_assert (memcmp (img1, img2, sizeof (float) * b * MM_IMAGE_PIXELS) == 0);
  ck_assert (memcmp (aud1, aud2, sizeof (float) * b * MM_AUDIO_VALUES) == 0);
  /* reversed order: sample idx[i] lands at row b−1−i, identical */
  augmented_batch (&a, ds, rev, b, 3, img2, aud2);
  for (int i = 0; i < b; i++) {
    ck_assert (memcmp (img1 + (size_t) i * MM_IMAGE_PIXELS, img2 + (size_t) (b - 1 - i) * MM_IMAGE_PIXELS,
            sizeof (float) * MM_IMAGE_PIXELS) == 0);
    ck_assert (memcmp (aud1 + (size_t) i * MM_AUDIO_VALUES, aud2 + (size_t) (b - 1 - i) * MM_AUDIO_VALUES,
            sizeof (float) * MM_AUDIO_VALUES) == 0);
  }
  /* another epoch: other draws */
  augmented_batch (&a, ds, idx, b, 4, img2, aud2);
  ck_assert (memcmp (img1, img2, sizeof (float) * b * MM_IMAGE_PIXELS) != 0);
  ck_assert (memcmp (aud1, aud2, sizeof (float) * b * MM_AUDIO_VALUES) != 0);
  for (size_t i = 0; i < (size_t) b * MM_AUDIO_VALUES; i++)
    ck_assert (isfinite (aud1[i]));
  mm_set_threads (threads);
  g_free (img1);
  g_free (img2);
  g_free (aud1);
  g_free (aud2);
  mm_dataset_free (ds);
}
END_TEST

/* The SNR each sample is reported at: one noise at a fixed 10 dB gives
 * 10 dB; a second noise at 10 dB is scaled to the speech and the first
 * noise together, so the clean speech ends 10·log10(1 / (0.1 + 1.1·0.1))
 * = 6.78 dB above the two; a sample without noise is +∞. */
static void
snr_report (const char *kinds, float *snr)
{
  MmDataset *ds = wave_set (8);
  MmAugment a;
  int idx[8] = { 0, 1, 2, 3, 4, 5, 6, 7 };
  float img[8 * MM_IMAGE_PIXELS], aud[8 * MM_AUDIO_VALUES] = { 0 };
  MmNorm norm = { .image_mean = 0.5f, .image_std = 0.5f };
  MmAugmenter *g;

  mm_augment_init (&a);
  ck_assert (mm_augment_parse (&a, kinds, NULL));
  ck_assert (mm_augment_set_snr (&a, "10:10", NULL));
  for (int k = 0; k < MM_MFCC_COEFFS; k++)
    norm.mfcc_std[k] = 1;
  g = mm_augmenter_new (&a, MM_ARCH_AUDIONET_CNN, NULL, &norm, ds, NULL);
  ck_assert_ptr_nonnull (g);
  mm_augmenter_apply (g, idx, 8, 1, 1, img, aud, snr);
  mm_augmenter_free (g);
  mm_dataset_free (ds);
}

START_TEST (test_noise_snr_is_reported_per_sample)
{
  float snr[8];

  snr_report ("white=1", snr);
  for (int i = 0; i < 8; i++)
    ck_assert_float_eq_tol (snr[i], 10.0f, 1e-4f);
  snr_report ("white=1,pink=1", snr);
  for (int i = 0; i < 8; i++)
    ck_assert_float_eq_tol (snr[i], (float) (-10 * log10 (0.21)), 1e-4f);
  snr_report ("speed=1,gain=1", snr);
  for (int i = 0; i < 8; i++)
    ck_assert (isinf (snr[i]) && snr[i] > 0);
}
END_TEST

/* SpecAugment alone, always on: every sample has whole frames masked to 0
 * (the normalised mean), the features are otherwise untouched. */
START_TEST (test_specaug_masks_frames)
{
  MmDataset *ds = wave_set (8);
  MmAugment a;
  int idx[8] = { 0, 1, 2, 3, 4, 5, 6, 7 };
  float img[8 * MM_IMAGE_PIXELS], aud[8 * MM_AUDIO_VALUES];
  MmNorm norm = { .image_mean = 0.5f, .image_std = 0.5f };
  MmAugmenter *g;

  mm_augment_init (&a);
  ck_assert (mm_augment_parse (&a, "specaug=1", NULL));
  for (int k = 0; k < MM_MFCC_COEFFS; k++)
    norm.mfcc_std[k] = 1;
  for (int i = 0; i < 8 * MM_AUDIO_VALUES; i++)
    aud[i] = 1.0f;
  g = mm_augmenter_new (&a, MM_ARCH_AUDIONET_CNN, NULL, &norm, ds, NULL);
  mm_augmenter_apply (g, idx, 8, 1, 1, img, aud, NULL);
  for (int i = 0; i < 8; i++) {
    int zero_frames = 0, zeros = 0;
    for (int t = 0; t < MM_MFCC_FRAMES; t++) {
      int z = 0;
      for (int c = 0; c < MM_MFCC_COEFFS; c++)
        z += aud[i * MM_AUDIO_VALUES + t * MM_MFCC_COEFFS + c] == 0.0f;
      zero_frames += z == MM_MFCC_COEFFS;
      zeros += z;
    }
    ck_assert_int_ge (zero_frames, 1);
    ck_assert_int_le (zero_frames, 2 * 4);
    ck_assert_int_lt (zeros, MM_AUDIO_VALUES);
  }
  mm_augmenter_free (g);
  mm_dataset_free (ds);
}
END_TEST

/* An arch that hears audio refuses waveform kinds without the clips. */
START_TEST (test_waveform_kinds_need_clips)
{
  MmDataset *ds = mm_dataset_new (4, FALSE, TRUE);
  MmAugment a;
  MmNorm norm = { 0 };
  GError *error = NULL;

  mm_augment_init (&a);
  ck_assert (mm_augment_parse (&a, "gain", NULL));
  ck_assert_ptr_null (mm_augmenter_new (&a, MM_ARCH_AUDIONET_CNN, NULL, &norm, ds, &error));
  ck_assert (strstr (error->message, "clips"));
  g_clear_error (&error);
  mm_dataset_free (ds);
}
END_TEST

/* With augmentation off (NULL or nothing enabled) training is bit-identical
 * to training without the field; with it on the weights differ. */
START_TEST (test_off_is_identical_to_no_augmentation)
{
  MmDataset *tr = wave_set (64), *va = wave_set (16);
  MmNet *a = mm_net_new (MM_ARCH_HYBRIDNET_CNN, 3), *b = mm_net_new (MM_ARCH_HYBRIDNET_CNN, 3);
  MmNet *c = mm_net_new (MM_ARCH_HYBRIDNET_CNN, 3);
  MmTrainConfig cfg;
  MmTrainResult res;
  MmAugment off, on;
  size_t bytes = sizeof (float) * mm_net_n_params (a);

  mm_augment_init (&off);
  mm_augment_init (&on);
  ck_assert (mm_augment_parse (&on, "gain,affine", NULL));
  mm_train_config_init (&cfg, MM_ARCH_HYBRIDNET_CNN);
  cfg.epochs = 2;
  cfg.batch = 16;
  cfg.early_stop_patience = 0;
  ck_assert (mm_train (a, &cfg, tr, va, &res, NULL));
  cfg.augment = &off;
  ck_assert (mm_train (b, &cfg, tr, va, &res, NULL));
  ck_assert (memcmp (mm_net_params (a), mm_net_params (b), bytes) == 0);
  cfg.augment = &on;
  ck_assert (mm_train (c, &cfg, tr, va, &res, NULL));
  ck_assert (memcmp (mm_net_params (a), mm_net_params (c), bytes) != 0);
  mm_net_free (a);
  mm_net_free (b);
  mm_net_free (c);
  mm_dataset_free (tr);
  mm_dataset_free (va);
}
END_TEST

/* Modality dropout is for hybrids only, and changes the training. */
START_TEST (test_modality_dropout)
{
  MmDataset *tr = wave_set (64), *va = wave_set (16);
  MmNet *a = mm_net_new (MM_ARCH_HYBRIDNET_CNN, 3), *b = mm_net_new (MM_ARCH_HYBRIDNET_CNN, 3);
  MmNet *img = mm_net_new (MM_ARCH_IMAGENET_CNN, 3);
  MmTrainConfig cfg;
  MmTrainResult res;
  GError *error = NULL;

  mm_train_config_init (&cfg, MM_ARCH_HYBRIDNET_CNN);
  cfg.epochs = 1;
  cfg.batch = 16;
  ck_assert (mm_train (a, &cfg, tr, va, &res, NULL));
  cfg.modality_dropout = 0.5f;
  ck_assert (mm_train (b, &cfg, tr, va, &res, NULL));
  ck_assert (memcmp (mm_net_params (a), mm_net_params (b), sizeof (float) * mm_net_n_params (a)) != 0);
  ck_assert (!mm_train (img, &cfg, tr, va, &res, &error));
  ck_assert (strstr (error->message, "hybrid"));
  g_clear_error (&error);
  mm_net_free (a);
  mm_net_free (b);
  mm_net_free (img);
  mm_dataset_free (tr);
  mm_dataset_free (va);
}
END_TEST

int
main (void)
{
  Suite *s = suite_create ("augment");
  TCase *tc = tcase_create ("augment");

  tcase_set_timeout (tc, 120);
  tcase_add_test (tc, test_gain_changes_rms_by_the_set_db);
  tcase_add_test (tc, test_speed_scales_frequency);
  tcase_add_test (tc, test_shift_delays_and_zero_fills);
  tcase_add_test (tc, test_noise_is_added_at_the_set_snr);
  tcase_add_test (tc, test_crowd_fills_the_second);
  tcase_add_test (tc, test_snr_counts_the_word_not_its_padding);
  tcase_add_test (tc, test_babble_mixes_the_pool_at_unit_rms);
  tcase_add_test (tc, test_noise_colours);
  tcase_add_test (tc, test_band_limits);
  tcase_add_test (tc, test_affine_moves_the_centre_of_mass_as_expected);
  tcase_add_test (tc, test_stroke_blur_and_elastic);
  tcase_add_test (tc, test_vtlp_warp);
  tcase_add_test (tc, test_parse_and_json);
  tcase_add_test (tc, test_noise_snr_range);
  tcase_add_test (tc, test_batches_are_reproducible);
  tcase_add_test (tc, test_specaug_masks_frames);
  tcase_add_test (tc, test_noise_snr_is_reported_per_sample);
  tcase_add_test (tc, test_waveform_kinds_need_clips);
  tcase_add_test (tc, test_off_is_identical_to_no_augmentation);
  tcase_add_test (tc, test_modality_dropout);
  suite_add_tcase (s, tc);
  return mm_test_run_suite (s);
}
