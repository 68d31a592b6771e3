/* Word detection (mm-words.h) and the recording → block front end
 * (mm-frontend.h), on generated signals: stationary sounds of every kind
 * give no word, a word-like sound gives exactly its word at any level,
 * streaming equals the whole recording, DC changes nothing.
 *
 * The "word" is a voiced syllable: harmonics of a 120→170 Hz glide with
 * falling amplitude, under a 350 ms raised-cosine envelope — loud in the
 * middle and quiet at its ends, as a spoken digit is. Real speech (FSDD,
 * extra-speech, espeak-ng) is measured by `mmdigits words` (docs/results.md)
 * and by tests/cli.sh and tests/espeak.sh. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mm-error.h"
#include "mm-frontend.h"
#include "mm-test-util.h"
#include "mm-words.h"

#define RATE 16000

static double
gauss (GRand *r)
{
  double u = g_rand_double_range (r, 1e-12, 1.0), v = g_rand_double (r);
  return sqrt (-2 * log (u)) * cos (2 * G_PI * v);
}

/* Adds a syllable of @len seconds at @at seconds, peak amplitude ≈ @amp,
 * its pitch gliding from @f0 to @f0 + 50 Hz. */
static void
add_syllable (float *x, size_t n, double at, double len, double amp, double f0)
{
  size_t s0 = (size_t) (at * RATE), s1 = MIN (n, (size_t) ((at + len) * RATE));
  double phase = 0;

  for (size_t i = s0; i < s1; i++) {
    double t = (double) (i - s0) / RATE, env = 0.5 - 0.5 * cos (2 * G_PI * t / len);
    double f = f0 + 50 * t / len, v, c2, prev = 0, cur;
    int nh = MIN (25, (int) (0.45 * RATE / f));

    phase = fmod (phase + 2 * G_PI * f / RATE, 2 * G_PI);
    /* sin (k·phase) by the Chebyshev recurrence: one sin and one cos a sample */
    cur = sin (phase);
    c2 = 2 * cos (phase);
    v = cur;
    for (int k = 2; k <= nh; k++) {
      double next = c2 * cur - prev;
      prev = cur;
      cur = next;
      v += cur / k;
    }
    x[i] += (float) (amp * env * v / 1.6);
  }
}

/* Adds the test's word: a syllable gliding from 120 Hz. */
static void
add_word (float *x, size_t n, double at, double len, double amp)
{
  add_syllable (x, n, at, len, amp, 120);
}

/* Adds six-talker babble to x[from, to): each talker says syllables of
 * 0.15–0.4 s at pitches of 90–250 Hz with pauses of 20–300 ms, as running
 * speech does, at RMS amplitudes around @amp / 3. Alone each talker's level
 * falls back between syllables; together they never fall quiet for long. */
static void
add_babble (float *x, size_t n, double from, double to, double amp, GRand *r)
{
  for (int talker = 0; talker < 6; talker++) {
    double at = from + g_rand_double_range (r, 0, 0.3);

    while (at < to) {
      double len = g_rand_double_range (r, 0.15, 0.4);

      add_syllable (x, MIN (n, (size_t) (to * RATE)), at, MIN (len, to - at), amp
          * g_rand_double_range (r, 0.5, 1.0), g_rand_double_range (r, 90, 250));
      at += len + g_rand_double_range (r, 0.02, 0.3);
    }
  }
}

static GArray *
find (const float *x, size_t n)
{
  GError *err = NULL;
  GArray *w = mm_words_find (NULL, x, n, &err);
  ck_assert_msg (w != NULL, "%s", err ? err->message : "?");
  return w;
}

static void
assert_no_word (const char *what, const float *x, size_t n)
{
  GArray *w = find (x, n);
  if (w->len > 0) {
    const MmWordSpan *s = &g_array_index (w, MmWordSpan, 0);
    ck_abort_msg ("%s: %u words, the first at %.3f-%.3f s (peak %.1f dB, score %.1f)", what,
        w->len, (double) s->start / RATE, (double) s->end / RATE, s->peak_db, s->snr_db);
  }
  g_array_free (w, TRUE);
}

/* How many words a detector with @p finds. */
static guint
count_words (const MmWordsParams *p, const float *x, size_t n)
{
  GArray *w = mm_words_find (p, x, n, NULL);
  guint len = w->len;

  g_array_free (w, TRUE);
  return len;
}

/* How many words the default detector without masking (mask_gap 0) finds. */
static guint
count_unmasked (const float *x, size_t n)
{
  MmWordsParams off;

  mm_words_params_init (&off);
  off.mask_gap_ms = 0;
  return count_words (&off, x, n);
}

/* ---- no word -------------------------------------------------------------- */

START_TEST (test_words_none_in_white_and_pink_noise)
{
  enum { N = 60 * RATE };
  float *x = g_new (float, N), *y = g_new (float, N);
  GRand *r = g_rand_new_with_seed (7);
  double b[7] = { 0 };

  for (size_t i = 0; i < N; i++) {
    double w = gauss (r);
    x[i] = (float) (0.1 * w);
    /* Paul Kellet's pink filter (−3 dB/octave within 0.05 dB above 10 Hz) */
    b[0] = 0.99886 * b[0] + w * 0.0555179;
    b[1] = 0.99332 * b[1] + w * 0.0750759;
    b[2] = 0.96900 * b[2] + w * 0.1538520;
    b[3] = 0.86650 * b[3] + w * 0.3104856;
    b[4] = 0.55000 * b[4] + w * 0.5329522;
    b[5] = -0.7616 * b[5] - w * 0.0168980;
    y[i] = (float) (0.02 * (b[0] + b[1] + b[2] + b[3] + b[4] + b[5] + b[6] + w * 0.5362));
    b[6] = w * 0.115926;
  }
  assert_no_word ("white noise", x, N);
  assert_no_word ("pink noise", y, N);
  g_rand_free (r);
  g_free (x);
  g_free (y);
}
END_TEST

/* Steady sounds, from the first sample or after two seconds of silence
 * (then they stand above the old floor for a second: their level does not
 * move, so they are no word). */
START_TEST (test_words_none_in_tones_hum_squares_dc)
{
  enum { N = 12 * RATE, S = 2 * RATE };
  float *x = g_new (float, N);
  for (int kind = 0; kind < 9; kind++) {
    const char *what = NULL;
    memset (x, 0, sizeof (float) * N);
    for (size_t i = 0; i < N; i++) {
      double t = (double) i / RATE, ts = (double) ((ssize_t) i - S) / RATE;
      switch (kind) {
        case 0: what = "440 Hz tone"; x[i] = (float) (0.5 * sin (2 * G_PI * 440 * t)); break;
        case 1: what = "1 kHz tone after silence";
          x[i] = i < S ? 0 : (float) (0.3 * sin (2 * G_PI * 1000 * ts)); break;
        case 2: what = "50 Hz hum with harmonics";
          for (int k = 1; k <= 7; k++)
            x[i] += (float) (0.2 / k * sin (2 * G_PI * 50 * k * t));
          break;
        case 3: what = "60 Hz hum with harmonics after silence";
          for (int k = 1; k <= 7 && i >= S; k++)
            x[i] += (float) (0.2 / k * sin (2 * G_PI * 60 * k * ts + k));
          break;
        case 4: what = "clipped 200 Hz square wave";
          x[i] = sin (2 * G_PI * 200 * t) >= 0 ? 1.0f : -1.0f; break;
        case 5: what = "300 Hz square wave after silence";
          x[i] = i < S ? 0 : (sin (2 * G_PI * 300 * ts) >= 0 ? 0.5f : -0.5f); break;
        case 6: what = "constant DC 0.3"; x[i] = 0.3f; break;
        case 7: what = "DC step 0 → 0.3 after silence"; x[i] = i < S ? 0 : 0.3f; break;
        case 8: what = "digital silence"; break;
      }
    }
    assert_no_word (what, x, N);
  }
  g_free (x);
}
END_TEST

/* Clicks (two samples each) every two seconds over faint noise. */
START_TEST (test_words_none_for_isolated_clicks)
{
  enum { N = 20 * RATE };
  float *x = g_new (float, N);
  GRand *r = g_rand_new_with_seed (3);

  for (size_t i = 0; i < N; i++)
    x[i] = (float) (0.0003 * gauss (r));
  for (size_t c = RATE / 2; c + 1 < N; c += 2 * RATE) {
    x[c] = 0.9f;
    x[c + 1] = -0.7f;
  }
  assert_no_word ("clicks", x, N);
  g_rand_free (r);
  g_free (x);
}
END_TEST

/* Adds white noise under a @len-second raised-cosine envelope at @at
 * seconds, RMS amplitude ≈ @amp at its middle: a sound whose level rises
 * and falls as a word's does but with no pitch (a breath, a key press, a
 * rustle). */
static void
add_noise_burst (float *x, size_t n, double at, double len, double amp, GRand *r)
{
  size_t s0 = (size_t) (at * RATE), s1 = MIN (n, (size_t) ((at + len) * RATE));

  for (size_t i = s0; i < s1; i++) {
    double t = (double) (i - s0) / RATE;
    x[i] += (float) (amp * (0.5 - 0.5 * cos (2 * G_PI * t / len)) * gauss (r));
  }
}

/* Every digit has a vowel; a burst of noise shaped like a word has no
 * pitch: it is no word (step 5's periodic frames), at a quiet and a loud
 * level, though its level moves as a word's does — without the periodicity
 * test (min_periodic_ms 0) each is taken for one. */
START_TEST (test_words_none_for_unpitched_bursts)
{
  enum { N = 3 * RATE };
  float *x = g_new0 (float, N);
  GRand *r = g_rand_new_with_seed (11);
  MmWordsParams off;
  guint without;

  mm_words_params_init (&off);
  off.min_periodic_ms = 0;
  for (int loud = 0; loud < 2; loud++) {
    for (size_t i = 0; i < N; i++)
      x[i] = (float) (0.0002 * gauss (r));
    add_noise_burst (x, N, 1.0, 0.35, loud ? 0.2 : 0.005, r);
    assert_no_word (loud ? "a loud noise burst" : "a quiet noise burst", x, N);
    without = count_words (&off, x, N);
    ck_assert_msg (without == 1, "without the periodicity test: %u words", without);
  }
  g_rand_free (r);
  g_free (x);
}
END_TEST

/* Babble is speech, but no word: six talkers at once never fall back to the
 * floor, so their "words" would last as long as the babble. Activity
 * longer than max_length is background, not a word — at a quiet and a loud
 * level. */
START_TEST (test_words_none_in_babble)
{
  enum { N = 60 * RATE };
  float *x = g_new (float, N);
  GRand *r = g_rand_new_with_seed (13);
  const double amps[] = { 0.01, 0.2 };

  for (guint a = 0; a < G_N_ELEMENTS (amps); a++) {
    char *what = g_strdup_printf ("six-talker babble at amplitude %g", amps[a]);

    memset (x, 0, sizeof (float) * N);
    add_babble (x, N, 0, 60, amps[a], r);
    assert_no_word (what, x, N);
    g_free (what);
  }
  g_rand_free (r);
  g_free (x);
}
END_TEST

/* ---- words ---------------------------------------------------------------- */

static void
assert_one_word_at (const char *what, const float *x, size_t n, double at, double len)
{
  GArray *w = find (x, n);
  const MmWordSpan *s;

  ck_assert_msg (w->len == 1, "%s: %u words", what, w->len);
  s = &g_array_index (w, MmWordSpan, 0);
  /* the quiet ends of the envelope may fall below the floor: within 100 ms */
  ck_assert_msg (fabs ((double) s->start / RATE - at) < 0.1
      && fabs ((double) s->end / RATE - (at + len)) < 0.1,
      "%s: word %.3f-%.3f s, expected %.3f-%.3f", what, (double) s->start / RATE,
      (double) s->end / RATE, at, at + len);
  g_array_free (w, TRUE);
}

/* The detector has no fixed level: the same word at a peak of −10 dBFS and
 * 40 dB lower is found, in digital silence and over faint noise. */
START_TEST (test_words_finds_a_word_at_any_level)
{
  enum { N = 3 * RATE };
  float *x = g_new (float, N);
  GRand *r = g_rand_new_with_seed (11);
  const double amps[] = { 0.3, 0.03, 0.003 };   /* about −10, −30, −50 dBFS */

  for (guint a = 0; a < G_N_ELEMENTS (amps); a++)
    for (int noisy = 0; noisy < 2; noisy++) {
      char *what = g_strdup_printf ("amplitude %g%s", amps[a], noisy ? " over noise" : "");
      for (size_t i = 0; i < N; i++)
        x[i] = noisy ? (float) (amps[a] * 0.01 * gauss (r)) : 0.0f;
      add_word (x, N, 1.0, 0.35, amps[a]);
      assert_one_word_at (what, x, N, 1.0, 0.35);
      g_free (what);
    }
  g_rand_free (r);
  g_free (x);
}
END_TEST

/* Within white noise at 15 dB below the word's peak, from the first sample:
 * the floor is the noise, the word stands out. */
START_TEST (test_words_finds_a_word_in_stationary_noise)
{
  enum { N = 4 * RATE };
  float *x = g_new (float, N);
  GRand *r = g_rand_new_with_seed (5);

  for (size_t i = 0; i < N; i++)
    x[i] = (float) (0.1 * pow (10, -15 / 20.0) * gauss (r));
  add_word (x, N, 2.0, 0.35, 0.1);
  assert_one_word_at ("word in white noise", x, N, 2.0, 0.35);
  g_rand_free (r);
  g_free (x);
}
END_TEST

START_TEST (test_words_two_words_and_a_dc_offset)
{
  enum { N = 3 * RATE };
  float *x = g_new0 (float, N);
  GArray *w, *wd;

  add_word (x, N, 0.5, 0.35, 0.1);
  add_word (x, N, 1.6, 0.4, 0.05);
  w = find (x, N);
  ck_assert_int_eq (w->len, 2);
  /* DC 0.3 from the first sample: the same words, to the frame */
  for (size_t i = 0; i < N; i++)
    x[i] += 0.3f;
  wd = find (x, N);
  ck_assert_int_eq (wd->len, 2);
  for (guint k = 0; k < 2; k++) {
    const MmWordSpan *a = &g_array_index (w, MmWordSpan, k), *b = &g_array_index (wd, MmWordSpan, k);
    ck_assert_msg (llabs ((long long) a->start - (long long) b->start) <= 160
        && llabs ((long long) a->end - (long long) b->end) <= 160,
        "word %u: %" G_GUINT64_FORMAT "-%" G_GUINT64_FORMAT " vs with DC %" G_GUINT64_FORMAT
        "-%" G_GUINT64_FORMAT, k, a->start, a->end, b->start, b->end);
  }
  g_array_free (w, TRUE);
  g_array_free (wd, TRUE);
  g_free (x);
}
END_TEST

/* A quiet sound 0.3 s before a word 26 dB louder (a breath, a key click
 * before the digit) and one 0.3 s after it are not words: one word, the
 * loud one. Without masking (mask_gap 0) all three are. Two words 0.3 s
 * apart at levels 6 dB apart both stay, in either order. */
START_TEST (test_words_masks_quiet_sounds_beside_a_loud_word)
{
  enum { N = 4 * RATE };
  float *x = g_new0 (float, N);
  GRand *r = g_rand_new_with_seed (5);
  GArray *w;
  guint unmasked;

  for (size_t i = 0; i < N; i++)
    x[i] = (float) (0.0002 * gauss (r));
  add_word (x, N, 0.5, 0.25, 0.005);
  add_word (x, N, 1.05, 0.35, 0.1);
  add_word (x, N, 1.7, 0.25, 0.005);
  assert_one_word_at ("quiet sounds beside a loud word", x, N, 1.05, 0.35);
  unmasked = count_unmasked (x, N);
  ck_assert_msg (unmasked == 3, "without masking: %u words", unmasked);

  for (int order = 0; order < 2; order++) {
    memset (x, 0, sizeof (float) * N);
    add_word (x, N, 0.5, 0.35, order ? 0.05 : 0.1);
    add_word (x, N, 1.15, 0.35, order ? 0.1 : 0.05);
    w = find (x, N);
    ck_assert_msg (w->len == 2, "two words 6 dB apart (%s first): %u words",
        order ? "quieter" : "louder", w->len);
    g_array_free (w, TRUE);
  }
  g_rand_free (r);
  g_free (x);
}
END_TEST

/* A key press before the word, 12 dB below it: too loud for masking (step
 * 7 needs 14 dB), so only its lack of pitch tells it from a word. The
 * word alone is found; without the periodicity test both are. */
START_TEST (test_words_key_press_before_a_word_is_no_word)
{
  enum { N = 3 * RATE };
  float *x = g_new0 (float, N);
  GRand *r = g_rand_new_with_seed (12);
  MmWordsParams off;
  guint without;

  for (size_t i = 0; i < N; i++)
    x[i] = (float) (0.0002 * gauss (r));
  /* the word's peak RMS is about 0.1 / 1.6 · 0.9: the burst's 12 dB below */
  add_noise_burst (x, N, 0.6, 0.3, 0.1 / 1.6 * 0.9 * pow (10, -12 / 20.0), r);
  add_word (x, N, 1.1, 0.35, 0.1);
  assert_one_word_at ("a key press before a word", x, N, 1.1, 0.35);
  mm_words_params_init (&off);
  off.min_periodic_ms = 0;
  without = count_words (&off, x, N);
  ck_assert_msg (without == 2, "without the periodicity test: %u words", without);
  g_rand_free (r);
  g_free (x);
}
END_TEST

/* Empties the band [@f_lo, @f_hi) Hz of x[@from, @from + @len) seconds, as a
 * codec does where a word holds little in a band: the segment's projections
 * on the DFT's bins in the band (orthogonal over the segment) are taken out. */
static void
empty_band (float *x, double from, double len, double f_lo, double f_hi)
{
  size_t s0 = (size_t) (from * RATE), n = (size_t) (len * RATE);
  int k0 = (int) ceil (f_lo * n / RATE), k1 = (int) ceil (f_hi * n / RATE);
  double *c = g_new0 (double, k1 - k0), *d = g_new0 (double, k1 - k0);

  for (int k = k0; k < k1; k++)
    for (size_t i = 0; i < n; i++) {
      c[k - k0] += x[s0 + i] * cos (2 * G_PI * k * i / n) * 2 / n;
      d[k - k0] += x[s0 + i] * sin (2 * G_PI * k * i / n) * 2 / n;
    }
  for (size_t i = 0; i < n; i++)
    for (int k = k0; k < k1; k++)
      x[s0 + i] -= (float) (c[k - k0] * cos (2 * G_PI * k * i / n)
          + d[k - k0] * sin (2 * G_PI * k * i / n));
  g_free (c);
  g_free (d);
}

/* Issue 10 (the README demo's lost words): Vorbis empties bands inside a
 * word where the word holds little. When those frames counted for the
 * floor (floor_quiet_db 0), the bands' floor dropped for the floor's whole
 * window, the faint noise around the word scored as voiced, chained with
 * the word past max_length and the whole was dropped as background. Only
 * quiet frames set the floor now: the word is kept. Two holes: 1-3 kHz for
 * 0.1 s, 0.5-4 kHz for a quarter of a second. */
START_TEST (test_words_bands_emptied_inside_a_word_keep_it)
{
  enum { N = 4 * RATE };
  const double hole[2][3] = { { 1000, 3000, 0.1 }, { 500, 4000, 0.25 } };
  MmWordsParams every_frame;

  mm_words_params_init (&every_frame);
  every_frame.floor_quiet_db = 0;
  for (int h = 0; h < 2; h++) {
    float *x = g_new0 (float, N);
    GRand *r = g_rand_new_with_seed (10 + h);
    guint found;

    for (size_t i = 0; i < N; i++)
      x[i] = (float) (3e-4 * gauss (r));          /* -70 dBFS */
    add_word (x, N, 1.5, 0.35, 0.1);
    empty_band (x, 1.675 - hole[h][2] / 2, hole[h][2], hole[h][0], hole[h][1]);
    assert_one_word_at ("bands emptied inside the word", x, N, 1.5, 0.35);
    found = count_words (&every_frame, x, N);
    ck_assert_msg (found == 0, "hole %d: with every frame in the floor the noise around the "
        "word should take it into the background (found %u words)", h, found);
    g_rand_free (r);
    g_free (x);
  }
}
END_TEST

/* A word said over babble (its peak well above the babble's level) is still
 * found: after the first max_length of babble the word must rise above the
 * babble's own level; and a word after the babble has stopped is found as
 * in silence. */
START_TEST (test_words_finds_a_word_over_and_after_babble)
{
  enum { N = 14 * RATE };
  float *x = g_new0 (float, N);
  GRand *r = g_rand_new_with_seed (17);

  add_babble (x, N, 0, 10, 0.01, r);
  add_word (x, N, 6.0, 0.35, 0.1);
  assert_one_word_at ("word over babble", x, N, 6.0, 0.35);
  add_word (x, N, 12.0, 0.35, 0.05);
  {
    GArray *w = find (x, N);
    const MmWordSpan *s;

    ck_assert_msg (w->len == 2, "word over babble and word after it: %u words", w->len);
    s = &g_array_index (w, MmWordSpan, 1);
    ck_assert_msg (fabs ((double) s->start / RATE - 12.0) < 0.1
        && fabs ((double) s->end / RATE - 12.35) < 0.1, "word after babble at %.3f-%.3f s",
        (double) s->start / RATE, (double) s->end / RATE);
    g_array_free (w, TRUE);
  }
  g_rand_free (r);
  g_free (x);
}
END_TEST

/* Fed to a detector with @p in pieces of every size (drawn from @r), @x
 * gives the spans of the whole recording, each popped no later than
 * mm_words_delay after its end and never before mm_words_hold said it could
 * start. Returns how many. */
static guint
assert_stream_equals_whole (const MmWordsParams *p, const float *x, size_t n, GRand *r)
{
  GArray *whole = mm_words_find (p, x, n, NULL), *got = g_array_new (FALSE, FALSE, sizeof (MmWordSpan));
  MmWords *w = mm_words_new (p, NULL);
  MmWordSpan s;
  size_t pos = 0;
  guint64 hold = 0;
  guint len_whole = whole->len;

  while (pos < n) {
    /* drawn once: MIN evaluates its arguments twice */
    size_t piece = (size_t) g_rand_int_range (r, 1, 3000);
    size_t len = MIN (piece, n - pos);
    mm_words_push (w, x + pos, len);
    pos += len;
    while (mm_words_pop (w, &s)) {
      ck_assert_msg (s.start >= hold, "word at %" G_GUINT64_FORMAT " before hold %"
          G_GUINT64_FORMAT, s.start, hold);
      ck_assert_msg (pos - s.end <= mm_words_delay (mm_words_params (w)) + 3000, "popped %zu samples after its end",
          (size_t) (pos - s.end));
      g_array_append_val (got, s);
    }
    ck_assert (mm_words_hold (w) >= hold);
    hold = mm_words_hold (w);
  }
  mm_words_finish (w);
  while (mm_words_pop (w, &s))
    g_array_append_val (got, s);
  ck_assert_int_eq (got->len, whole->len);
  ck_assert (memcmp (got->data, whole->data, sizeof (MmWordSpan) * whole->len) == 0);
  mm_words_free (w);
  g_array_free (whole, TRUE);
  g_array_free (got, TRUE);
  return len_whole;
}

/* A stream gives the spans of the whole recording: words in silence, two
 * quiet sounds masked by them, and a word over babble; with the defaults
 * and with the longest masking gap the lookahead allows (an uneven
 * hangover: the limit is counted in frames). */
START_TEST (test_words_streaming_equals_whole_recording)
{
  enum { N = 12 * RATE };
  float *x = g_new0 (float, N);
  GRand *r = g_rand_new_with_seed (9);
  MmWordsParams p;
  guint unmasked;

  for (size_t i = 0; i < N; i++)
    x[i] = (float) (0.002 * gauss (r));
  for (int k = 0; k < 5; k++)
    add_word (x, N, 0.3 + 1.5 * k, 0.3 + 0.05 * k, 0.05 * (k + 1));
  /* masked: a quiet sound after the first word, one before the second
   * (the stream decides it on what its lookahead holds) */
  add_word (x, N, 0.9, 0.25, 0.005);
  add_word (x, N, 1.35, 0.2, 0.005);
  /* then babble (background, no word) with a word over it */
  add_babble (x, N, 8, 12, 0.01, r);
  add_word (x, N, 10.5, 0.35, 0.1);
  unmasked = count_unmasked (x, N);
  ck_assert_msg (unmasked == 8, "without masking: %u words", unmasked);

  mm_words_params_init (&p);
  ck_assert_int_eq (assert_stream_equals_whole (&p, x, N, r), 6);
  p.hangover_ms = 155;
  p.mask_gap_ms = 619;
  ck_assert_msg (mm_words_params_check (&p, NULL), "mask_gap 619 ms with hangover 155 ms");
  ck_assert_int_eq (assert_stream_equals_whole (&p, x, N, r), 6);
  g_rand_free (r);
  g_free (x);
}
END_TEST

START_TEST (test_words_rejects_bad_params)
{
  MmWordsParams p;
  GError *err = NULL;

  mm_words_params_init (&p);
  p.min_length_ms = 2000;
  ck_assert (mm_words_new (&p, &err) == NULL);
  ck_assert_int_eq (err->code, MM_ERROR_INVALID);
  g_clear_error (&err);
  mm_words_params_init (&p);
  p.top_bands = 0;
  ck_assert (mm_words_find (&p, NULL, 0, &err) == NULL);
  g_clear_error (&err);
  /* masking beyond what the lookahead holds when a word closes */
  mm_words_params_init (&p);
  p.mask_gap_ms = p.hangover_ms + p.lookahead_ms;
  ck_assert (mm_words_new (&p, &err) == NULL);
  ck_assert_msg (strstr (err->message, "mask-gap (650 ms) is longer than hangover + lookahead - 40 ms (610 ms)") != NULL, "%s", err->message);
  g_clear_error (&err);
  mm_words_params_init (&p);
  p.floor_quiet_db = -1;
  ck_assert (mm_words_new (&p, &err) == NULL);
  ck_assert_msg (strstr (err->message, "floor_quiet_db") != NULL, "%s", err->message);
  g_clear_error (&err);
  for (int i = 0; i < 3; i++) {
    mm_words_params_init (&p);
    p.periodic_r = (double[]) { -0.1, 1.5, NAN }[i];
    ck_assert (mm_words_new (&p, &err) == NULL);
    ck_assert_msg (strstr (err->message, "periodic_r must be in 0..1") != NULL, "%s", err->message);
    g_clear_error (&err);
  }
  mm_words_params_init (&p);
  p.min_periodic_ms = p.max_length_ms + 10;
  ck_assert (mm_words_new (&p, &err) == NULL);
  ck_assert_msg (strstr (err->message, "min_periodic_ms") != NULL, "%s", err->message);
  g_clear_error (&err);
}
END_TEST

/* ---- recording → block ----------------------------------------------------- */

static MmMfcc *
new_mfcc (gboolean dc, MmWordCut cut)
{
  MmMfccParams p;
  mm_mfcc_params_init (&p);
  p.dc_block = dc;
  p.word_cut = cut;
  return mm_mfcc_new (&p, NULL);
}

/* Whole cut = the study's fit-and-compute, bit for bit. The detector cut
 * takes the word out of a longer recording: the same block as the word
 * alone, centred. No word: MM_ERROR_NO_WORD. */
START_TEST (test_frontend_block_cuts_as_the_contract_says)
{
  enum { N = 3 * RATE, V = 39 * 13 };
  float *x = g_new0 (float, N), *fit = g_new (float, RATE);
  float a[V], b[V];
  MmMfcc *whole = new_mfcc (FALSE, MM_WORD_CUT_WHOLE), *det = new_mfcc (FALSE, MM_WORD_CUT_DETECTOR);
  MmWordSpan span;
  GError *err = NULL;

  add_word (x, N, 1.2, 0.35, 0.1);
  mm_audio_fit_center (x, N, fit, RATE);
  ck_assert (mm_mfcc_compute (whole, fit, RATE, a, NULL));
  ck_assert (mm_frontend_block (whole, NULL, x, N, b, &span, NULL));
  ck_assert (memcmp (a, b, sizeof a) == 0);
  ck_assert (span.start == 0 && span.end == N);

  ck_assert (mm_frontend_block (det, NULL, x, N, a, &span, &err));
  ck_assert (span.start > 1.0 * RATE && span.end < 1.7 * RATE);
  mm_audio_fit_center (x + span.start, span.end - span.start, fit, RATE);
  ck_assert (mm_mfcc_compute (whole, fit, RATE, b, NULL));
  ck_assert (memcmp (a, b, sizeof a) == 0);

  memset (x, 0, sizeof (float) * N);
  ck_assert (!mm_frontend_block (det, NULL, x, N, a, NULL, &err));
  ck_assert_int_eq (err->code, MM_ERROR_NO_WORD);
  g_clear_error (&err);
  mm_mfcc_free (whole);
  mm_mfcc_free (det);
  g_free (x);
  g_free (fit);
}
END_TEST

/* No sound is no word, whatever the cut: digital silence, or a DC level
 * with a resampler's ramps from and to zero at its ends, gives
 * MM_ERROR_NO_WORD even where the whole recording would be the word; one
 * sample two 16-bit steps off that level in the middle is sound, and so is
 * the ramp itself in a recording too short to have ends passed over. */
START_TEST (test_frontend_no_sound_is_no_word)
{
  enum { N = RATE, RAMP = 100, V = 39 * 13 };
  float *x = g_new (float, N), out[V];
  MmMfcc *whole = new_mfcc (TRUE, MM_WORD_CUT_WHOLE);
  GError *err = NULL;

  memset (x, 0, sizeof (float) * N);
  ck_assert (!mm_frontend_has_sound (x, N, RATE));
  for (int i = 0; i < N; i++)
    x[i] = 0.3f * (i < RAMP ? (float) i / RAMP : i >= N - RAMP ? (float) (N - 1 - i) / RAMP : 1.0f);
  ck_assert (!mm_frontend_has_sound (x, N, RATE));
  ck_assert (!mm_frontend_block (whole, NULL, x, N, out, NULL, &err));
  ck_assert_int_eq (err->code, MM_ERROR_NO_WORD);
  g_clear_error (&err);

  x[N / 2] += 2.0f / 32768;
  ck_assert (mm_frontend_has_sound (x, N, RATE));
  ck_assert (mm_frontend_block (whole, NULL, x, N, out, NULL, NULL));
  x[N / 2] = 0.3f;
  /* 0.5 ms at 16 kHz: no ends are passed over, the ramp is sound */
  ck_assert (mm_frontend_has_sound (x, RATE / 2000, RATE));
  mm_mfcc_free (whole);
  g_free (x);
}
END_TEST

/* Issue 8: a 0.6 s clip with a DC offset of 0.3, centred in one second as
 * the study does. With dc_block the block is the clean clip's up to float
 * rounding; without it the offset's steps at the padding change it by far
 * more. (The detector's cut of the same clip may move by a frame with the
 * offset: test_words_two_words_and_a_dc_offset.) */
START_TEST (test_frontend_dc_block_makes_an_offset_harmless)
{
  enum { N = 6 * RATE / 10, V = 39 * 13 };
  float *x = g_new0 (float, N), *xd = g_new (float, N);
  float clean[V], shifted[V], raw[V];
  MmMfcc *dc = new_mfcc (TRUE, MM_WORD_CUT_WHOLE), *nodc = new_mfcc (FALSE, MM_WORD_CUT_WHOLE);
  double worst = 0, worst_raw = 0;

  add_word (x, N, 0.1, 0.35, 0.1);
  for (size_t i = 0; i < N; i++)
    xd[i] = x[i] + 0.3f;
  ck_assert (mm_frontend_block (dc, NULL, x, N, clean, NULL, NULL));
  ck_assert (mm_frontend_block (dc, NULL, xd, N, shifted, NULL, NULL));
  ck_assert (mm_frontend_block (nodc, NULL, xd, N, raw, NULL, NULL));
  for (int i = 0; i < V; i++) {
    worst = MAX (worst, fabs (clean[i] - shifted[i]));
    worst_raw = MAX (worst_raw, fabs (clean[i] - raw[i]));
  }
  /* rounding of 0.3 + s against s, amplified by the log of the quiet edge frames */
  ck_assert_msg (worst < 0.02, "DC-blocked block differs by %g", worst);
  ck_assert_msg (worst_raw > 5, "without dc_block the offset should show (%g)", worst_raw);
  mm_mfcc_free (dc);
  mm_mfcc_free (nodc);
  g_free (x);
  g_free (xd);
}
END_TEST

int
main (void)
{
  Suite *s = suite_create ("words");
  TCase *tc = tcase_create ("words");
  tcase_set_timeout (tc, 60);

  tcase_add_test (tc, test_words_none_in_white_and_pink_noise);
  tcase_add_test (tc, test_words_none_in_tones_hum_squares_dc);
  tcase_add_test (tc, test_words_none_for_isolated_clicks);
  tcase_add_test (tc, test_words_none_for_unpitched_bursts);
  tcase_add_test (tc, test_words_key_press_before_a_word_is_no_word);
  tcase_add_test (tc, test_words_finds_a_word_at_any_level);
  tcase_add_test (tc, test_words_finds_a_word_in_stationary_noise);
  tcase_add_test (tc, test_words_bands_emptied_inside_a_word_keep_it);
  tcase_add_test (tc, test_words_none_in_babble);
  tcase_add_test (tc, test_words_finds_a_word_over_and_after_babble);
  tcase_add_test (tc, test_words_two_words_and_a_dc_offset);
  tcase_add_test (tc, test_words_masks_quiet_sounds_beside_a_loud_word);
  tcase_add_test (tc, test_words_streaming_equals_whole_recording);
  tcase_add_test (tc, test_words_rejects_bad_params);
  tcase_add_test (tc, test_frontend_block_cuts_as_the_contract_says);
  tcase_add_test (tc, test_frontend_no_sound_is_no_word);
  tcase_add_test (tc, test_frontend_dc_block_makes_an_offset_harmless);
  suite_add_tcase (s, tc);
  return mm_test_run_suite (s);
}
