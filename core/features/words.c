/* mmdigits — word detection against an adaptive noise floor (mm-words.h). */
#include "mm-words.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "mm-error.h"
#include "mm-fftw.h"
#include "mm-mfcc.h"

#define FRAME_MS 25
#define HOP_MS 10
#define MAX_BANDS 64
/* the level of an all-zero frame, far below any abs_floor */
#define SILENT_DB -300.0
/* frames a louder stretch must hold to mask a word before it: longer than
 * a click, which the three-frame smoothing spreads over about five frames
 * but not at its height */
#define MASK_FRAMES 5
/* the pitch range a frame's periodicity is looked for in (step 5) */
#define PITCH_LOW_HZ 80.0
#define PITCH_HIGH_HZ 400.0

/* A sliding minimum over a window that only moves forward: the frames whose
 * value no later frame of the window undercuts, oldest first (values
 * increasing). Each frame enters and leaves once, so the minimum costs no
 * scan of the window. */
typedef struct {
  guint64 *at;                  /* [cap] frame numbers, a ring */
  double *v;                    /* [cap] their values */
  int head, len, cap;
} MinQueue;

static void
mq_init (MinQueue *q, int cap)
{
  q->at = g_new (guint64, cap);
  q->v = g_new (double, cap);
  q->cap = cap;
  q->head = q->len = 0;
}

static void
mq_clear (MinQueue *q)
{
  g_free (q->at);
  g_free (q->v);
}

/* The frames before @lo leave. */
static void
mq_drop (MinQueue *q, guint64 lo)
{
  while (q->len > 0 && q->at[q->head] < lo) {
    q->head = (q->head + 1) % q->cap;
    q->len--;
  }
}

/* Frame @t enters with value @v, after the frames it undercuts leave. */
static void
mq_push (MinQueue *q, guint64 t, double v)
{
  int tail;

  while (q->len > 0 && q->v[(q->head + q->len - 1) % q->cap] >= v)
    q->len--;
  tail = (q->head + q->len++) % q->cap;
  q->at[tail] = t;
  q->v[tail] = v;
}

static double
mq_min (const MinQueue *q)
{
  return q->v[q->head];
}

struct _MmWords {
  MmWordsParams p;
  int win, hop, nfft;           /* samples */
  int past, ahead;              /* floor window, frames */
  int hang, min_frames, max_frames, pad;
  int mask_gap;                 /* frames; 0 = no masking */
  int min_periodic;             /* frames; 0 = no periodicity test */
  int lag_lo, lag_hi;           /* samples: the pitch range's periods */
  /* the frame's autocorrelation by FFT (Wiener-Khinchin, zero-padded to
   * pfft ≥ win + lag_hi so that it is linear, not circular) */
  int pfft;
  fftwf_plan pplan, pinv;
  float *pin, *pac;             /* [pfft] frame, autocorrelation × pfft */
  fftwf_complex *pspec;         /* [pfft/2+1] */
  double *cum;                  /* [win+1] running sums of the frame's squares */
  int band_lo[MAX_BANDS], band_hi[MAX_BANDS];   /* bins [lo, hi) */
  double abs_band;              /* abs_floor per band, linear */
  float *window;                /* [win] Hann */
  double power_scale;           /* |X|² → mean square of the frame */
  fftwf_plan plan;
  float *fft_in;
  fftwf_complex *fft_out;

  MmDcBlock dc;
  float *buf;                   /* DC-free samples from buf_first on */
  size_t buf_len, buf_cap;
  guint64 buf_first;
  guint64 n_in;
  gboolean finished;

  /* per-frame band powers (P), their three-frame means (S) and the level
   * of S over all bands (dBFS; read for the floor's quiet frames, the
   * decision, masking and a background's median), ring of R */
  int ring;
  double *pw, *sm;              /* [ring][n_bands] */
  double *lv;                   /* [ring] */
  double *pr;                   /* [ring] periodicity of each frame (P) */
  guint64 n_frames;             /* frames analysed */
  guint64 n_smoothed;           /* frames whose S is known */
  guint64 next_decide;
  /* the floor's sliding minima (see MinQueue): per band over every frame
   * of the window and over its quiet frames, and the whole-band level over
   * the floor_window before a frame, which says which frames are quiet */
  MinQueue all[MAX_BANDS], quiet[MAX_BANDS], level_past;
  guint64 min_next;             /* the next frame to enter the windows */

  /* sustained background: activity that outlasted max_length (see the
   * header); it ends after hangover frames back at the floor */
  gboolean in_bg;
  int bg_quiet, bg_exit;        /* frames at the floor so far, that end it */
  double *bg_levels;            /* [past + ahead + 1] scratch for the median */

  /* the word being built */
  gboolean in_word;
  guint64 w_start, w_last;
  int w_voiced, w_periodic;
  double w_peak, w_snr;
  GArray *levels;               /* double dB, one per frame from w_start */

  /* the last word kept, for masking what follows it */
  gboolean kept_any;
  guint64 kept_last;
  double kept_peak;

  GQueue found;                 /* MmWordSpan* */
};

void
mm_words_params_init (MmWordsParams *p)
{
  p->sample_rate = 16000;
  p->band_low = 150.0;
  p->band_high = 7000.0;
  p->n_bands = 16;
  p->top_bands = 4;
  p->floor_window_ms = 1000;
  p->lookahead_ms = 500;
  p->floor_bias_db = 4.0;
  p->abs_floor_db = -90.0;
  p->on_db = 6.0;
  p->min_range_db = 3.0;
  p->hangover_ms = 150;
  p->min_length_ms = 100;
  p->max_length_ms = 1000;
  p->pad_ms = 40;
  p->bg_on_db = 6.0;
  p->mask_gap_ms = 450;
  p->mask_db = 14.0;
  p->floor_quiet_db = 30.0;
  p->min_periodic_ms = 30;
  p->periodic_r = 0.5;
}

/* The longest masking gap in frames: the louder stretch must lie in what
 * the lookahead holds when the word closes (hangover frames after its last
 * voiced one), or a stream would decide differently from a recording. */
static gint64
mask_frames_max (const MmWordsParams *p)
{
  return (gint64) (p->hangover_ms / HOP_MS) + p->lookahead_ms / HOP_MS - (MASK_FRAMES - 1);
}

gboolean
mm_words_params_check (const MmWordsParams *p, GError **error)
{
  const char *what = NULL;

  if (p->min_length_ms > p->max_length_ms && p->max_length_ms >= 2 * HOP_MS) {
    /* every word would be dropped: the one mistake a user makes by hand */
    g_set_error (error, MM_ERROR, MM_ERROR_INVALID, "word detector: min-length (%u ms) is "
        "longer than max-length (%u ms): no word could be kept", p->min_length_ms,
        p->max_length_ms);
    return FALSE;
  }

  if (p->sample_rate < 4000 || p->sample_rate > 384000)
    what = "sample_rate must be in 4000..384000";
  else if (p->n_bands < 1 || p->n_bands > MAX_BANDS)
    what = "n_bands must be in 1..64";
  else if (p->top_bands < 1 || p->top_bands > p->n_bands)
    what = "top_bands must be in 1..n_bands";
  else if (!(p->band_low >= 0) || !(p->band_high > p->band_low))
    what = "need 0 <= band_low < band_high";
  else if (p->floor_window_ms < 100 || p->floor_window_ms > 60000
      || p->lookahead_ms > 10000)
    what = "floor_window_ms must be in 100..60000, lookahead_ms at most 10000";
  else if (!isfinite (p->floor_bias_db) || !isfinite (p->abs_floor_db)
      || !isfinite (p->on_db) || !isfinite (p->min_range_db) || !isfinite (p->bg_on_db)
      || !isfinite (p->mask_db) || !isfinite (p->floor_quiet_db))
    what = "levels must be finite";
  else if (!(p->periodic_r >= 0 && p->periodic_r <= 1))
    what = "periodic_r must be in 0..1";
  else if (p->min_periodic_ms > p->max_length_ms)
    what = "min_periodic_ms must be at most max_length_ms";
  else if (p->floor_quiet_db < 0)
    what = "floor_quiet_db must be at least 0 (0: every frame counts for the floor)";
  else if (p->max_length_ms < 2 * HOP_MS || p->max_length_ms > 60000
      || p->min_length_ms > p->max_length_ms)
    what = "need min_length_ms <= max_length_ms, max_length_ms in 20..60000";
  else if (p->hangover_ms > 10000 || p->pad_ms > 10000)
    what = "hangover_ms and pad_ms must be at most 10000";
  if (what) {
    g_set_error (error, MM_ERROR, MM_ERROR_INVALID, "word detector: %s", what);
    return FALSE;
  }
  if (p->mask_gap_ms > 0 && p->mask_gap_ms / HOP_MS > mask_frames_max (p)) {
    g_set_error (error, MM_ERROR, MM_ERROR_INVALID, "word detector: mask-gap (%u ms) is longer "
        "than hangover + lookahead - %d ms (%" G_GINT64_FORMAT " ms): the detector does not look "
        "that far ahead", p->mask_gap_ms, (MASK_FRAMES - 1) * HOP_MS,
        MAX (mask_frames_max (p), 0) * HOP_MS);
    return FALSE;
  }
  return TRUE;
}

/* The smallest power of two, at least 16, that holds @n points. */
static int
fft_size (int n)
{
  int size = 16;

  while (size < n)
    size *= 2;
  return size;
}

/* The periodicity test's transforms (step 5); FALSE with @error if FFTW
 * cannot plan them. */
static gboolean
periodicity_init (MmWords *w, GError **error)
{
  w->pfft = fft_size (w->win + w->lag_hi);
  w->pin = fftwf_alloc_real (w->pfft);
  w->pac = fftwf_alloc_real (w->pfft);
  w->pspec = fftwf_alloc_complex (w->pfft / 2 + 1);
  w->cum = g_new (double, w->win + 1);
  memset (w->pin, 0, sizeof (float) * w->pfft);
  w->pplan = mm_fftw_plan_r2c (w->pfft, w->pin, w->pspec);
  w->pinv = mm_fftw_plan_c2r (w->pfft, w->pspec, w->pac);
  if (!w->pplan || !w->pinv) {
    g_set_error (error, MM_ERROR, MM_ERROR_INVALID,
        "word detector: FFTW could not plan %d points", w->pfft);
    return FALSE;
  }
  return TRUE;
}

/* Mel-spaced bands; each holds at least one bin. */
static void
build_bands (MmWords *w)
{
  const MmWordsParams *p = &w->p;
  double hi = MIN (p->band_high, 0.45 * p->sample_rate);
  double lo = MIN (p->band_low, hi / 2), mlo = mm_hz_to_mel (lo), mhi = mm_hz_to_mel (hi);
  int nbins = w->nfft / 2 + 1, prev = 1;

  for (int b = 0; b < p->n_bands; b++) {
    double f = mm_mel_to_hz (mlo + (b + 1) * (mhi - mlo) / p->n_bands);
    int start = b == 0 ? MAX (1, (int) lround (lo * w->nfft / p->sample_rate)) : prev;
    int end = (int) lround (f * w->nfft / p->sample_rate);
    end = CLAMP (end, start + 1, nbins - 1);
    w->band_lo[b] = start;
    w->band_hi[b] = end;
    prev = end;
  }
}

MmWords *
mm_words_new (const MmWordsParams *p, GError **error)
{
  MmWordsParams def;
  MmWords *w;
  double wsum2 = 0;

  if (!p) {
    mm_words_params_init (&def);
    p = &def;
  }
  if (!mm_words_params_check (p, error))
    return NULL;
  w = g_new0 (MmWords, 1);
  w->p = *p;
  w->win = p->sample_rate * FRAME_MS / 1000;
  w->hop = p->sample_rate * HOP_MS / 1000;
  w->nfft = fft_size (w->win);
  w->past = (int) (p->floor_window_ms / HOP_MS);
  w->ahead = (int) (p->lookahead_ms / HOP_MS);
  w->hang = (int) (p->hangover_ms / HOP_MS);
  /* In a background the floor's minimum is the background's own dips, so
   * frames "at the floor" for a hangover are a dip of the babble, not its
   * end; half the floor's look back of them is. By then the window's median
   * is mostly that quiet too. */
  w->bg_exit = MAX (w->hang, w->past / 2);
  w->min_frames = (int) (p->min_length_ms / HOP_MS);
  w->max_frames = MAX (1, (int) (p->max_length_ms / HOP_MS));
  w->pad = (int) ((guint64) p->pad_ms * p->sample_rate / 1000);
  w->mask_gap = (int) (p->mask_gap_ms / HOP_MS);
  w->min_periodic = (int) (p->min_periodic_ms / HOP_MS);
  w->lag_lo = MAX (1, (int) floor (p->sample_rate / PITCH_HIGH_HZ));
  w->lag_hi = MIN (w->win / 2, (int) ceil (p->sample_rate / PITCH_LOW_HZ));
  w->abs_band = pow (10.0, p->abs_floor_db / 10.0) / p->n_bands;
  w->window = g_new (float, w->win);
  for (int i = 0; i < w->win; i++) {
    w->window[i] = (float) (0.5 - 0.5 * cos (2 * G_PI * (i + 0.5) / w->win));
    wsum2 += (double) w->window[i] * w->window[i];
  }
  /* Parseval: Σ over the full spectrum of |X|² = nfft·Σ(w·x)², and a
   * one-sided bin stands for two; divided by Σw² that is the frame's mean
   * square */
  w->power_scale = 2.0 / (w->nfft * wsum2);
  w->fft_in = fftwf_alloc_real (w->nfft);
  w->fft_out = fftwf_alloc_complex (w->nfft / 2 + 1);
  memset (w->fft_in, 0, sizeof (float) * w->nfft);
  w->plan = mm_fftw_plan_r2c (w->nfft, w->fft_in, w->fft_out);
  if (!w->plan) {
    g_set_error (error, MM_ERROR, MM_ERROR_INVALID,
        "word detector: FFTW could not plan %d points", w->nfft);
    mm_words_free (w);
    return NULL;
  }
  build_bands (w);
  if (w->min_periodic > 0 && !periodicity_init (w, error)) {
    mm_words_free (w);
    return NULL;
  }
  w->ring = w->past + w->ahead + 4;
  w->pw = g_new0 (double, (size_t) w->ring * p->n_bands);
  w->sm = g_new0 (double, (size_t) w->ring * p->n_bands);
  w->lv = g_new0 (double, w->ring);
  w->pr = g_new0 (double, w->ring);
  for (int b = 0; b < p->n_bands; b++) {
    mq_init (&w->all[b], w->ring);
    mq_init (&w->quiet[b], w->ring);
  }
  mq_init (&w->level_past, w->ring);
  w->bg_levels = g_new (double, w->past + w->ahead + 1);
  w->levels = g_array_new (FALSE, FALSE, sizeof (double));
  g_queue_init (&w->found);
  mm_words_reset (w);
  return w;
}

void
mm_words_free (MmWords *w)
{
  if (!w)
    return;
  mm_fftw_destroy (w->plan);
  fftwf_free (w->fft_in);
  fftwf_free (w->fft_out);
  mm_fftw_destroy (w->pplan);
  mm_fftw_destroy (w->pinv);
  fftwf_free (w->pin);
  fftwf_free (w->pac);
  fftwf_free (w->pspec);
  g_free (w->cum);
  g_free (w->window);
  g_free (w->buf);
  g_free (w->pw);
  g_free (w->sm);
  g_free (w->lv);
  g_free (w->pr);
  for (int b = 0; b < w->p.n_bands; b++) {
    mq_clear (&w->all[b]);
    mq_clear (&w->quiet[b]);
  }
  mq_clear (&w->level_past);
  g_free (w->bg_levels);
  if (w->levels)
    g_array_free (w->levels, TRUE);
  g_queue_clear_full (&w->found, g_free);
  g_free (w);
}

void
mm_words_reset (MmWords *w)
{
  mm_dc_block_init (&w->dc, w->p.sample_rate);
  w->buf_len = 0;
  w->buf_first = 0;
  w->n_in = 0;
  w->finished = FALSE;
  w->n_frames = w->n_smoothed = w->next_decide = w->min_next = 0;
  for (int b = 0; b < w->p.n_bands; b++)
    w->all[b].len = w->quiet[b].len = 0;
  w->level_past.len = 0;
  w->in_word = FALSE;
  w->in_bg = FALSE;
  w->bg_quiet = 0;
  w->kept_any = FALSE;
  g_array_set_size (w->levels, 0);
  g_queue_clear_full (&w->found, g_free);
}

const MmWordsParams *
mm_words_params (const MmWords *w)
{
  return &w->p;
}

static double *
pw_at (MmWords *w, guint64 t)
{
  return w->pw + (size_t) (t % w->ring) * w->p.n_bands;
}

static double *
sm_at (MmWords *w, guint64 t)
{
  return w->sm + (size_t) (t % w->ring) * w->p.n_bands;
}

/* How periodic the frame @x is in the pitch range: the highest normalised
 * cross-correlation of its first win − lag samples with the same samples
 * @lag later (1 for a periodic sound, near 0 for noise and clicks). The
 * sum over the overlap needs no window correction, unlike an autocorrelation
 * of the windowed frame. The products for every lag come from one
 * autocorrelation by FFT, the energies of the two stretches from running
 * sums. */
static double
frame_periodicity (MmWords *w, const float *x)
{
  const int n = w->win, nb = w->pfft / 2 + 1;
  double best = 0;

  memcpy (w->pin, x, sizeof (float) * n);
  fftwf_execute (w->pplan);
  for (int k = 0; k < nb; k++) {
    w->pspec[k][0] = w->pspec[k][0] * w->pspec[k][0] + w->pspec[k][1] * w->pspec[k][1];
    w->pspec[k][1] = 0;
  }
  fftwf_execute (w->pinv);
  w->cum[0] = 0;
  for (int i = 0; i < n; i++)
    w->cum[i + 1] = w->cum[i] + (double) x[i] * x[i];
  for (int lag = w->lag_lo; lag <= w->lag_hi; lag++) {
    double xx = w->cum[n - lag], yy = w->cum[n] - w->cum[lag];

    if (xx > 0 && yy > 0)
      best = MAX (best, w->pac[lag] / (double) w->pfft / sqrt (xx * yy));
  }
  return best;
}

/* Band powers (and, when words must hold a periodic stretch, periodicity)
 * of the frame starting at buf[off]. */
static void
analyse_frame (MmWords *w, const float *x)
{
  double *pw = pw_at (w, w->n_frames);
  const float *spec = (const float *) w->fft_out;

  w->pr[w->n_frames % w->ring] = w->min_periodic > 0 ? frame_periodicity (w, x) : 0;

  for (int i = 0; i < w->win; i++)
    w->fft_in[i] = x[i] * w->window[i];
  fftwf_execute (w->plan);
  for (int b = 0; b < w->p.n_bands; b++) {
    double sum = 0;
    for (int k = w->band_lo[b]; k < w->band_hi[b]; k++)
      sum += (double) spec[2 * k] * spec[2 * k] + (double) spec[2 * k + 1] * spec[2 * k + 1];
    pw[b] = sum * w->power_scale;
  }
  w->n_frames++;
}

/* S(t): the mean of P over t−1..t+1 that exist (t+1 does not at the end of
 * the stream), and its level. */
static void
smooth_frame (MmWords *w, guint64 t)
{
  double *s = sm_at (w, t);
  guint64 lo = t > 0 ? t - 1 : 0, hi = MIN (t + 1, w->n_frames - 1);
  double total = 0;

  for (int b = 0; b < w->p.n_bands; b++) {
    double sum = 0;
    for (guint64 u = lo; u <= hi; u++)
      sum += pw_at (w, u)[b];
    s[b] = sum / (double) (hi - lo + 1);
    total += s[b];
  }
  w->lv[t % w->ring] = total > 0 ? 10.0 * log10 (total) : SILENT_DB;
  w->n_smoothed = t + 1;
}

static int
compare_double (const void *a, const void *b)
{
  double x = *(const double *) a, y = *(const double *) b;
  return (x > y) - (x < y);
}

/* The level of frame @t: its smoothed power over all bands, dBFS (set
 * when the frame is smoothed). */
static double
frame_level (MmWords *w, guint64 t)
{
  return w->lv[t % w->ring];
}

/* The window becomes [@lo, @hi]: frames up to @hi enter every band's
 * queues (the quiet ones only if the frame is quiet), frames before @lo
 * leave. */
static void
window_move (MmWords *w, guint64 lo, guint64 hi)
{
  for (int b = 0; b < w->p.n_bands; b++) {
    mq_drop (&w->all[b], lo);
    mq_drop (&w->quiet[b], lo);
  }
  for (; w->min_next <= hi; w->min_next++) {
    guint64 t = w->min_next;
    const double *s = sm_at (w, t);
    double level = frame_level (w, t);
    gboolean quiet;

    mq_drop (&w->level_past, t > (guint64) w->past ? t - w->past : 0);
    mq_push (&w->level_past, t, level);
    quiet = w->p.floor_quiet_db > 0 && level < mq_min (&w->level_past) + w->p.floor_quiet_db;
    for (int b = 0; b < w->p.n_bands; b++) {
      mq_push (&w->all[b], t, s[b]);
      if (quiet)
        mq_push (&w->quiet[b], t, s[b]);
    }
  }
}

/* Band @b's minimum over the window's quiet frames, or over all of them
 * when none is quiet (never empty: it holds the frame being decided). */
static double
window_min (MmWords *w, int b)
{
  if (w->quiet[b].len > 0)
    return mq_min (&w->quiet[b]);
  return mq_min (&w->all[b]);
}

/* Whether the word being closed is masked (the header's step 7): it begins
 * just after a much louder kept word, or a much louder stretch begins just
 * after it. Frames up to w_last + mask_gap + MASK_FRAMES − 1 are smoothed
 * by now (mm_words_params_check), or the stream has ended. */
static gboolean
masked (MmWords *w)
{
  double need = w->w_peak + w->p.mask_db;
  guint64 until = w->w_last + w->mask_gap + MASK_FRAMES - 1;
  int run = 0;

  if (w->mask_gap == 0)
    return FALSE;
  if (w->kept_any && w->w_start - w->kept_last <= (guint64) w->mask_gap
      && w->w_peak <= w->kept_peak - w->p.mask_db)
    return TRUE;
  for (guint64 u = w->w_last + 1; u <= until && u < w->n_smoothed; u++) {
    run = frame_level (w, u) >= need ? run + 1 : 0;
    if (run >= MASK_FRAMES)
      return TRUE;
  }
  return FALSE;
}

/* Closes the word [w_start, w_last]: kept if long enough, if its level
 * moves and if no louder word masks it (see the header). */
static void
close_word (MmWords *w)
{
  int n = (int) (w->w_last - w->w_start + 1);
  double *lv = g_newa (double, n);
  double range;
  MmWordSpan *span;
  guint64 start, end;

  w->in_word = FALSE;
  if (w->w_voiced < MAX (w->min_frames, 1) || w->w_periodic < w->min_periodic)
    return;
  memcpy (lv, w->levels->data, sizeof (double) * n);
  qsort (lv, n, sizeof (double), compare_double);
  range = lv[(n - 1) * 9 / 10] - lv[(n - 1) / 10];
  if (range < w->p.min_range_db || masked (w))
    return;
  w->kept_any = TRUE;
  w->kept_last = w->w_last;
  w->kept_peak = w->w_peak;
  start = w->w_start * w->hop;
  start = start > (guint64) w->pad ? start - w->pad : 0;
  end = MIN (w->w_last * w->hop + w->win + w->pad, w->n_in);
  span = g_new (MmWordSpan, 1);
  *span = (MmWordSpan) { start, end, w->w_peak, w->w_snr };
  g_queue_push_tail (&w->found, span);
}

/* The frames of the floor's window around @t: [*lo, *hi]. */
static void
floor_window (MmWords *w, guint64 t, guint64 *lo, guint64 *hi)
{
  *lo = t > (guint64) w->past ? t - w->past : 0;
  *hi = MIN (t + w->ahead, w->n_smoothed - 1);
}

/* Frame t against its floor: the score (dB above the floor, averaged over
 * the top_bands bands that stand highest above theirs) and the level.
 * The best bands, not all: a word need not fill the whole band (FSDD holds
 * nothing above 4 kHz, a vowel little above 3), while noise rises in a few
 * bands only by chance. */
static void
score_frame (MmWords *w, guint64 t, double *score, double *level)
{
  const int nb = w->p.n_bands;
  const double *s = sm_at (w, t);
  const double bias = pow (10.0, w->p.floor_bias_db / 10.0);
  double sum = 0, snr[MAX_BANDS];
  const int k = MIN (w->p.top_bands, nb);
  guint64 lo, hi;

  floor_window (w, t, &lo, &hi);
  window_move (w, lo, hi);
  for (int b = 0; b < nb; b++) {
    double floor = MAX (window_min (w, b) * bias, w->abs_band);

    snr[b] = s[b] > floor ? 10.0 * log10 (s[b] / floor) : 0.0;
  }
  qsort (snr, nb, sizeof (double), compare_double);
  for (int b = nb - k; b < nb; b++)
    sum += snr[b];
  *score = sum / k;
  *level = frame_level (w, t);
}

/* The background's level around frame @t: the median frame level over the
 * floor's window. A word shorter than half the window moves a median
 * little, where it would lift a mean. */
static double
background_level (MmWords *w, guint64 t)
{
  guint64 lo, hi;
  int n = 0;

  floor_window (w, t, &lo, &hi);
  for (guint64 u = lo; u <= hi; u++)
    w->bg_levels[n++] = frame_level (w, u);
  qsort (w->bg_levels, n, sizeof (double), compare_double);
  return n % 2 ? w->bg_levels[n / 2] : 0.5 * (w->bg_levels[n / 2 - 1] + w->bg_levels[n / 2]);
}

static void
decide_frame (MmWords *w, guint64 t)
{
  double score, level;
  gboolean voiced;

  score_frame (w, t, &score, &level);
  voiced = score >= w->p.on_db;
  if (w->in_bg) {
    /* until the background ends a word must also rise above the
     * background's own level */
    w->bg_quiet = voiced ? 0 : w->bg_quiet + 1;
    if (w->bg_quiet >= w->bg_exit)
      w->in_bg = FALSE;
    voiced = voiced && level >= background_level (w, t) + w->p.bg_on_db;
  }
  if (voiced && !w->in_word) {
    w->in_word = TRUE;
    w->w_start = t;
    w->w_voiced = w->w_periodic = 0;
    w->w_peak = SILENT_DB;
    w->w_snr = 0;
    g_array_set_size (w->levels, 0);
  }
  if (!w->in_word)
    return;
  g_array_append_val (w->levels, level);
  if (voiced) {
    w->w_last = t;
    w->w_voiced++;
    if (w->pr[t % w->ring] >= w->p.periodic_r)
      w->w_periodic++;
    w->w_peak = MAX (w->w_peak, level);
    w->w_snr = MAX (w->w_snr, score);
  }
  if ((int) (w->w_last - w->w_start + 1) >= w->max_frames) {
    /* no word lasts this long: it is background (babble, music, a crowd),
     * dropped whole; what follows is judged against its level */
    w->in_word = FALSE;
    w->in_bg = TRUE;
    w->bg_quiet = 0;
  } else if ((int) (t - w->w_last) >= w->hang)
    close_word (w);
}

/* Smooths and decides every frame whose lookahead has arrived (all of them
 * once the stream is finished). */
static void
advance (MmWords *w)
{
  guint64 smooth_to = w->finished ? w->n_frames : (w->n_frames > 0 ? w->n_frames - 1 : 0);
  guint64 decide_to;

  while (w->n_smoothed < smooth_to)
    smooth_frame (w, w->n_smoothed);
  if (w->finished)
    decide_to = w->n_smoothed;
  else
    decide_to = w->n_smoothed > (guint64) w->ahead ? w->n_smoothed - w->ahead : 0;
  while (w->next_decide < decide_to)
    decide_frame (w, w->next_decide++);
}

void
mm_words_push (MmWords *w, const float *x, size_t n)
{
  float *dst;
  size_t off;

  g_return_if_fail (!w->finished);
  if (n == 0)
    return;
  if (w->buf_len + n > w->buf_cap) {
    w->buf_cap = MAX (w->buf_len + n, 2 * w->buf_cap);
    w->buf = g_renew (float, w->buf, w->buf_cap);
  }
  dst = w->buf + w->buf_len;
  for (size_t i = 0; i < n; i++)
    dst[i] = isfinite (x[i]) ? x[i] : 0.0f;
  mm_dc_block_run (&w->dc, dst, dst, n);
  w->buf_len += n;
  w->n_in += n;

  /* every complete frame, then the samples no later frame needs go; the
   * ring holds past + ahead + 4 frames, so decide as we go */
  off = (size_t) (w->n_frames * w->hop - w->buf_first);
  while (off + w->win <= w->buf_len) {
    analyse_frame (w, w->buf + off);
    off += w->hop;
    advance (w);
  }
  memmove (w->buf, w->buf + off, sizeof (float) * (w->buf_len - off));
  w->buf_len -= off;
  w->buf_first += off;
}

void
mm_words_finish (MmWords *w)
{
  if (w->finished)
    return;
  w->finished = TRUE;
  advance (w);
  if (w->in_word)
    close_word (w);
}

gboolean
mm_words_pop (MmWords *w, MmWordSpan *span)
{
  MmWordSpan *s = g_queue_pop_head (&w->found);

  if (!s)
    return FALSE;
  *span = *s;
  g_free (s);
  return TRUE;
}

guint64
mm_words_hold (const MmWords *w)
{
  guint64 first = w->in_word ? w->w_start : w->next_decide;
  guint64 at = first * w->hop;
  const MmWordSpan *queued = g_queue_peek_head ((GQueue *) &w->found);

  if (queued)
    return queued->start;
  return at > (guint64) w->pad ? at - w->pad : 0;
}

guint64
mm_words_delay (const MmWordsParams *p)
{
  guint64 hop = (guint64) p->sample_rate * HOP_MS / 1000, win = (guint64) p->sample_rate * FRAME_MS / 1000;
  return (p->hangover_ms / HOP_MS + p->lookahead_ms / HOP_MS + 3) * hop + win;
}

guint64
mm_words_max_span (const MmWordsParams *p)
{
  guint64 hop = (guint64) p->sample_rate * HOP_MS / 1000, win = (guint64) p->sample_rate * FRAME_MS / 1000;
  return (p->max_length_ms / HOP_MS) * hop + win + 2 * ((guint64) p->pad_ms * p->sample_rate / 1000);
}

GArray *
mm_words_find (const MmWordsParams *p, const float *x, size_t n, GError **error)
{
  MmWords *w = mm_words_new (p, error);
  GArray *spans;
  MmWordSpan s;

  if (!w)
    return NULL;
  spans = g_array_new (FALSE, FALSE, sizeof (MmWordSpan));
  mm_words_push (w, x, n);
  mm_words_finish (w);
  while (mm_words_pop (w, &s))
    g_array_append_val (spans, s);
  mm_words_free (w);
  return spans;
}

gboolean
mm_words_loudest (const GArray *spans, MmWordSpan *best)
{
  if (!spans || spans->len == 0)
    return FALSE;
  *best = g_array_index (spans, MmWordSpan, 0);
  for (guint i = 1; i < spans->len; i++)
    if (g_array_index (spans, MmWordSpan, i).peak_db > best->peak_db)
      *best = g_array_index (spans, MmWordSpan, i);
  return TRUE;
}
