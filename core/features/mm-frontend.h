/* mmdigits — the audio front end from a recording to the network's block.
 *
 * The one place where a recording, or a word cut from a stream, becomes
 * the 39×13 block a network sees, following the contract in MmMfccParams
 * (mm-mfcc.h): DC removal, the word cut, centring in one second, MFCC,
 * per-utterance normalisation. mmdigits mfcc, eval, train (FSDD and other
 * recordings) and batch call mm_frontend_block() (with views,
 * mm_frontend_blocks()); mfccextract cuts with its streaming MmWords, makes
 * each word's clip with mm_frontend_word_clip() and its blocks with
 * mm_mfcc_compute() and mm_frontend_views_compute().
 */
#pragma once

#include <glib.h>

#include "mm-mfcc.h"
#include "mm-words.h"

G_BEGIN_DECLS

/* The FFT sizes of the networks' front ends: a power of two from MIN to
 * MAX (512 is the study's: the first 512 samples of each 800-sample frame;
 * 1024 zero-pads it). mm_mfcc itself takes any size; the CLI's --nfft and
 * mfccextract's nfft take these. */
#define MM_FRONTEND_NFFT_MIN 512
#define MM_FRONTEND_NFFT_MAX 1024

/* TRUE if @p is valid (mm_mfcc_new would take it) and gives the blocks the
 * audio networks take: MM_MFCC_FRAMES × MM_MFCC_COEFFS per second of 16 kHz
 * audio, with an FFT size above. Otherwise FALSE (MM_ERROR_INVALID) with a
 * message naming what is wrong. */
gboolean mm_frontend_check_network (const MmMfccParams *p, GError **error);

/* Samples in one block of @p (MM_MFCC_BLOCK_SECONDS · sample_rate). */
size_t   mm_frontend_block_samples (const MmMfccParams *p);

/* One word (@len samples, already DC-free when the contract says so) →
 * its clip (@clip: mm_frontend_block_samples of @p floats), the samples
 * its block is computed from: centred in one second of silence or cut to
 * its central second (mm_audio_fit_center). The one placement of a word,
 * for a recording's (mm_frontend_clip) and a stream's (mfccextract). */
void     mm_frontend_word_clip (const MmMfccParams *p, const float *word, size_t len,
                                float *clip);

/* The first sample of the one-second window that mm_frontend_word_clip
 * centres the word @w in (or cuts it to): negative when the window starts
 * before the recording. A word's block starts there (mfccextract's PTS, the
 * time batch reports). */
gint64   mm_frontend_word_window (const MmMfccParams *p, const MmWordSpan *w);

/* Whether @x (@n samples at @sample_rate) holds any sound: FALSE when every
 * sample, but 16 ms at each end of a recording long enough to have them
 * (a resampler's ramp from and to zero), is within one 16-bit step of one
 * level — digital silence or a DC offset alone, which is no word whatever
 * the cut (decided once, here, for every path). */
gboolean mm_frontend_has_sound (const float *x, size_t n, int sample_rate);

/* A whole recording (@n samples at the contract's sample_rate) → the clip
 * of mm_frontend_block_samples the MFCC is computed from (waveform
 * augmentation starts here): mm_dc_block if dc_block; the word — the whole
 * recording (MM_WORD_CUT_WHOLE) or the loudest word the detector finds
 * (MM_WORD_CUT_DETECTOR, detector settings @wp, NULL = defaults) — centred
 * in silence or cut to its central second. *@span (may be NULL) receives the
 * samples used. Without sound (mm_frontend_has_sound), or with
 * MM_WORD_CUT_DETECTOR and no word, fails with MM_ERROR_NO_WORD; with no
 * samples, MM_ERROR_INVALID. */
gboolean mm_frontend_clip (const MmMfccParams *p, const MmWordsParams *wp, const float *x,
                           size_t n, float *clip, MmWordSpan *span, GError **error);

/* A whole recording → the block: mm_frontend_clip, then mm_mfcc_compute
 * with @m (whose parameters are the contract). Allocates its scratch. */
gboolean mm_frontend_block (MmMfcc *m, const MmWordsParams *wp, const float *x, size_t n,
                            float *out, MmWordSpan *span, GError **error);

/* Blocks a word gives under @p: its own and one per view (1 + n_views).
 * A stream's buffer, and what mm_model_set_classify takes, holds them in
 * that order. */
int      mm_frontend_n_blocks (const MmMfccParams *p);

/* The test-time views of @p (mm-mfcc.h, "views"): what makes each view's
 * block from a word's clip. Owns one extractor per view and its scratch;
 * one thread at a time. */
typedef struct _MmFrontendViews MmFrontendViews;

/* NULL with an error when @p is invalid; with no views, an object that
 * makes none. */
MmFrontendViews *mm_frontend_views_new  (const MmMfccParams *p, GError **error);
void             mm_frontend_views_free (MmFrontendViews *v);
/* @clip: the word's one-second clip (mm_frontend_block_samples: what
 * mm_frontend_clip or mm_frontend_word_clip gives).
 * @out: n_views blocks, one after another, each the block of the clip
 * played at the view's speed (mm_aug_speed, around its centre) analysed
 * with the view's warp. The clip is not changed. */
gboolean         mm_frontend_views_compute (MmFrontendViews *v, const float *clip,
                                            float *out, GError **error);

/* A whole recording → its block and its views' blocks (@out:
 * mm_frontend_n_blocks of @m's parameters, one after another):
 * mm_frontend_block, then mm_frontend_views_compute on the same clip with
 * @views (made for @m's parameters; NULL when they have no views). */
gboolean mm_frontend_blocks (MmMfcc *m, MmFrontendViews *views, const MmWordsParams *wp,
                             const float *x, size_t n, float *out, MmWordSpan *span,
                             GError **error);

G_END_DECLS
