/* mmdigits — a recording or a word to the network's block (mm-frontend.h). */
#include "mm-frontend.h"

#include <math.h>

#include "mm-augment.h"
#include "mm-error.h"
#include "mm-net.h"

gboolean
mm_frontend_check_network (const MmMfccParams *p, GError **error)
{
  MmMfcc *m;

  if (p->nfft < MM_FRONTEND_NFFT_MIN || p->nfft > MM_FRONTEND_NFFT_MAX
      || (p->nfft & (p->nfft - 1)) != 0) {
    g_set_error (error, MM_ERROR, MM_ERROR_INVALID,
        "nfft must be a power of two from %d to %d, not %d", MM_FRONTEND_NFFT_MIN,
        MM_FRONTEND_NFFT_MAX, p->nfft);
    return FALSE;
  }
  if (!(m = mm_mfcc_new (p, error)))
    return FALSE;
  mm_mfcc_free (m);
  if (p->sample_rate != MM_AUDIO_RATE || p->n_coeffs != MM_MFCC_COEFFS
      || mm_mfcc_params_block_frames (p) != MM_MFCC_FRAMES) {
    g_set_error (error, MM_ERROR, MM_ERROR_INVALID,
        "the front end gives %d×%d blocks at %d Hz; the networks take %d×%d at %d Hz",
        mm_mfcc_params_block_frames (p), p->n_coeffs, p->sample_rate, MM_MFCC_FRAMES,
        MM_MFCC_COEFFS, MM_AUDIO_RATE);
    return FALSE;
  }
  return TRUE;
}

size_t
mm_frontend_block_samples (const MmMfccParams *p)
{
  return (size_t) p->sample_rate * MM_MFCC_BLOCK_SECONDS;
}

void
mm_frontend_word_clip (const MmMfccParams *p, const float *word, size_t len, float *clip)
{
  mm_audio_fit_center (word, len, clip, mm_frontend_block_samples (p));
}

gint64
mm_frontend_word_window (const MmMfccParams *p, const MmWordSpan *w)
{
  gint64 block = (gint64) mm_frontend_block_samples (p), len = (gint64) (w->end - w->start);

  /* as mm_audio_fit_center places it: centred, or its central second */
  return len <= block ? (gint64) w->start - (block - len) / 2
      : (gint64) w->start + (len - block) / 2;
}

/* How much of each end of a recording mm_frontend_has_sound passes over:
 * a resampler (GstAudioConverter's, every path's) starts from zeros and
 * drains into zeros, a ramp of about 100 samples at 16 kHz when it converts
 * a constant level from 8 or 44.1 kHz. */
#define EDGE_MS 16

gboolean
mm_frontend_has_sound (const float *x, size_t n, int sample_rate)
{
  size_t edge = (size_t) sample_rate * EDGE_MS / 1000;

  if (n <= 4 * edge)
    edge = 0;
  for (size_t i = edge; i < n - edge; i++)
    if (fabsf (x[i] - x[edge]) >= 1.0f / 32768)
      return TRUE;
  return FALSE;
}

gboolean
mm_frontend_clip (const MmMfccParams *p, const MmWordsParams *wp, const float *x, size_t n,
    float *clip, MmWordSpan *span, GError **error)
{
  MmWordSpan word = { 0, n, 0, 0 };
  float *clean = NULL;
  const float *src = x;

  if (n == 0 || !x) {
    g_set_error (error, MM_ERROR, MM_ERROR_INVALID, "no samples");
    return FALSE;
  }
  if (!mm_frontend_has_sound (x, n, p->sample_rate)) {
    g_set_error (error, MM_ERROR, MM_ERROR_NO_WORD, "no word found (no sound)");
    return FALSE;
  }
  if (p->word_cut == MM_WORD_CUT_DETECTOR) {
    MmWordsParams def;
    GArray *spans;
    gboolean found;

    if (!wp) {
      mm_words_params_init (&def);
      def.sample_rate = p->sample_rate;
      wp = &def;
    }
    if (wp->sample_rate != p->sample_rate) {
      g_set_error (error, MM_ERROR, MM_ERROR_MISMATCH,
          "word detector at %d Hz, front end at %d Hz", wp->sample_rate, p->sample_rate);
      return FALSE;
    }
    if (!(spans = mm_words_find (wp, x, n, error)))
      return FALSE;
    found = mm_words_loudest (spans, &word);
    g_array_free (spans, TRUE);
    if (!found) {
      g_set_error (error, MM_ERROR, MM_ERROR_NO_WORD, "no word found");
      return FALSE;
    }
  }
  if (p->dc_block) {
    MmDcBlock dc;
    /* from the start of the recording, as a stream is filtered */
    clean = g_new (float, word.end);
    mm_dc_block_init (&dc, p->sample_rate);
    mm_dc_block_run (&dc, x, clean, word.end);
    src = clean;
  }
  mm_frontend_word_clip (p, src + word.start, word.end - word.start, clip);
  g_free (clean);
  if (span)
    *span = word;
  return TRUE;
}

gboolean
mm_frontend_block (MmMfcc *m, const MmWordsParams *wp, const float *x, size_t n,
    float *out, MmWordSpan *span, GError **error)
{
  const MmMfccParams *p = mm_mfcc_params (m);
  size_t block = mm_frontend_block_samples (p);
  float *clip = g_new (float, block);
  gboolean ok = mm_frontend_clip (p, wp, x, n, clip, span, error)
      && mm_mfcc_compute (m, clip, block, out, error);

  g_free (clip);
  return ok;
}

int
mm_frontend_n_blocks (const MmMfccParams *p)
{
  return 1 + p->n_views;
}

struct _MmFrontendViews {
  MmMfccParams p;
  MmMfcc *mfcc[MM_MFCC_MAX_VIEWS];   /* view k's extractor, its warp set once */
  float *played;                     /* one clip at a view's speed */
};

void
mm_frontend_views_free (MmFrontendViews *v)
{
  if (!v)
    return;
  for (int k = 0; k < v->p.n_views; k++)
    mm_mfcc_free (v->mfcc[k]);
  g_free (v->played);
  g_free (v);
}

MmFrontendViews *
mm_frontend_views_new (const MmMfccParams *p, GError **error)
{
  MmFrontendViews *v;

  if (!mm_mfcc_params_check (p, error))
    return NULL;
  v = g_new0 (MmFrontendViews, 1);
  v->p = *p;
  v->played = g_new (float, mm_frontend_block_samples (p));
  for (int k = 0; k < p->n_views; k++) {
    if (!(v->mfcc[k] = mm_mfcc_new (p, error))) {
      v->p.n_views = k;
      mm_frontend_views_free (v);
      return NULL;
    }
    if (p->views[k].warp != 1.0f)
      mm_mfcc_set_warp (v->mfcc[k], p->views[k].warp);
  }
  return v;
}

gboolean
mm_frontend_views_compute (MmFrontendViews *v, const float *clip, float *out, GError **error)
{
  size_t len = mm_frontend_block_samples (&v->p);
  size_t values = (size_t) mm_mfcc_params_block_frames (&v->p) * v->p.n_coeffs;

  for (int k = 0; k < v->p.n_views; k++) {
    const float *src = clip;

    if (v->p.views[k].speed != 1.0f) {
      mm_aug_speed (clip, v->played, (int) len, v->p.views[k].speed);
      src = v->played;
    }
    if (!mm_mfcc_compute (v->mfcc[k], src, len, out + k * values, error))
      return FALSE;
  }
  return TRUE;
}

gboolean
mm_frontend_blocks (MmMfcc *m, MmFrontendViews *views, const MmWordsParams *wp,
    const float *x, size_t n, float *out, MmWordSpan *span, GError **error)
{
  const MmMfccParams *p = mm_mfcc_params (m);
  size_t block = mm_frontend_block_samples (p);
  size_t values = (size_t) mm_mfcc_params_block_frames (p) * p->n_coeffs;
  float *clip = g_new (float, block);
  gboolean ok;

  g_return_val_if_fail (p->n_views == 0 || views, FALSE);
  ok = mm_frontend_clip (p, wp, x, n, clip, span, error)
      && mm_mfcc_compute (m, clip, block, out, error)
      && (p->n_views == 0 || mm_frontend_views_compute (views, clip, out + values, error));
  g_free (clip);
  return ok;
}
