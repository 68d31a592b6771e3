/* mmdigits — word detection: where the spoken words are in a recording or a
 * stream.
 *
 * One detector for every path (mfccextract, mmdigits mfcc/eval/train/batch,
 * mm_frontend_block), so all of them cut words the same way. It adapts to
 * the recording: no fixed level.
 *
 * 1. DC is removed (mm_dc_block): an offset is neither sound nor a step.
 * 2. Every hop (10 ms) a 25 ms Hann frame gives the power of n_bands mel-spaced
 *    bands between band_low and band_high, smoothed over three frames.
 * 3. Noise floor per band: the minimum of that power over the frames from
 *    floor_window before to lookahead after the frame, raised by floor_bias
 *    (the minimum of a fluctuating noise sits below its mean), and never
 *    below abs_floor. Anything stationary — noise of any colour, hum, a tone,
 *    a square wave — becomes its own floor within floor_window.
 *    Only quiet frames count for it: those whose level stands less than
 *    floor_quiet above the lowest level of the floor_window before them
 *    (when the window holds none, all frames do). Added noise never makes a
 *    band quieter than the noise itself, but a codec or a noise suppressor
 *    empties bands inside a loud word (Vorbis does where the word holds
 *    little); such a dip would lower the floor for the window's whole
 *    length, the noise around the word would score as voiced and chain
 *    with it past max_length (step 6), and the word be lost.
 * 4. A frame is voiced when its top_bands best bands stand above their
 *    floors by on_db on average.
 * 5. Voiced frames closer than hangover form a word; it is kept when it holds
 *    at least min_length of voiced frames and its level moves: the 90th minus
 *    the 10th percentile of its frames' levels is at least min_range_db.
 *    A steady sound that starts after silence stands above the old floor for
 *    floor_window, but its level does not move: it is no word. Speech rises
 *    and falls by tens of dB within a word. A word must also hold
 *    min_periodic of voiced frames that are periodic: their normalised
 *    cross-correlation with themselves one pitch period later (80-400 Hz)
 *    reaches periodic_r. Every spoken digit has a vowel; a key press, a
 *    breath, a rustle or a burst of noise has no pitch, though its level
 *    moves as a word's does.
 * 6. A word is bounded: activity that reaches max_length without a pause of
 *    hangover is background (babble — several voices at once never fall
 *    quiet together —, music, a crowd), dropped whole, not cut into words.
 *    Within a background the floor's minimum is the background's own dips,
 *    so the frame score no longer separates a word from it: there a frame is
 *    voiced only if its level also stands bg_on_db above the median level of
 *    the floor's window (a word shorter than half the window moves a median
 *    little), and a word is found where a voice rises above the babble.
 *    The background ends after half a floor_window of frames back at the
 *    floor (a hangover of them is only a dip of the babble). A word said in
 *    the first max_length of a background is part of it and lost.
 * 7. A quieter sound right next to a much louder word is part of its
 *    surroundings (a breath, a lip or key click, an "um"), not a word of its
 *    own: a word is dropped when, within mask_gap after its last voiced
 *    frame, 50 ms of frames all mask_db or more above its peak begin (a
 *    louder word follows: the lookahead already holds those frames, so this
 *    adds no latency), or when it begins within mask_gap after the last
 *    voiced frame of the word kept before it and its peak is mask_db or more
 *    below that word's. Words said in a row at similar levels keep both.
 * 8. The word's span is widened by pad on both sides (soft onsets, fricatives).
 *
 * The thresholds were chosen on FSDD training recordings (indices 5–49) and
 * generated signals, bg_on_db on babble made of FSDD training recordings (a
 * seed the benchmark does not use) with and without FSDD training words over
 * it, mask_* and floor_quiet_db on the licensed training recordings and
 * generated pairs of words (floor_quiet_db also on generated demo videos),
 * min_periodic and periodic_r on FSDD training recordings, the licensed
 * extra-speech recordings, FSDD training words in white noise and the
 * calibration voices (voices-cal) as a stream;
 * docs/results.md "Word detection" reports them on other recordings and
 * babble with the commands.
 *
 * Streaming and whole recording give the same spans: mm_words_find() is
 * mm_words_push() of everything then mm_words_finish(). An MmWords is used by
 * one thread at a time.
 */
#pragma once

#include <glib.h>
#include <stddef.h>

G_BEGIN_DECLS

typedef struct {
  int sample_rate;          /* 16000 */
  double band_low;          /* 150 Hz: below is hum and handling noise */
  double band_high;         /* 7000 Hz (limited to 0.45 × sample_rate) */
  int n_bands;              /* 16 */
  int top_bands;            /* 4: the frame score averages the best 4 */
  guint floor_window_ms;    /* 1000: how far back the floor looks */
  guint lookahead_ms;       /* 500: how far ahead it looks (adds latency) */
  double floor_bias_db;     /* 4 */
  double abs_floor_db;      /* -90 dBFS (full-scale square = 0 dB), whole band */
  double on_db;             /* 6 */
  double min_range_db;      /* 3 */
  guint hangover_ms;        /* 150 */
  guint min_length_ms;      /* 100 of voiced frames */
  guint max_length_ms;      /* 1000: longer activity is background */
  guint pad_ms;             /* 40 */
  double bg_on_db;          /* 6 (step 6) */
  guint mask_gap_ms;        /* 450: step 7 (0 turns it off); at most
                             * hangover + lookahead − 40 */
  double mask_db;           /* 14: step 7 */
  double floor_quiet_db;    /* 30: step 3 (0 = every frame counts) */
  guint min_periodic_ms;    /* 30: step 5, periodic voiced frames a word must hold (0 = off) */
  double periodic_r;        /* 0.5: step 5, a frame's periodicity that counts */
} MmWordsParams;

/* A word: samples [start, end) counted from the first sample pushed. */
typedef struct {
  guint64 start, end;
  double peak_db;           /* loudest frame of the word, dBFS */
  double snr_db;            /* its highest frame score above the floor */
} MmWordSpan;

typedef struct _MmWords MmWords;

void      mm_words_params_init (MmWordsParams *p);       /* the defaults above */
/* Whether @p is valid (mm_words_new would take it); otherwise FALSE with
 * MM_ERROR_INVALID and a message naming the first setting that is not,
 * e.g. min_length_ms above max_length_ms (every word would be dropped). */
gboolean  mm_words_params_check (const MmWordsParams *p, GError **error);

MmWords  *mm_words_new   (const MmWordsParams *p, GError **error);
void      mm_words_free  (MmWords *w);
/* Forgets the stream: the next sample pushed is sample 0 again. */
void      mm_words_reset (MmWords *w);
/* Feeds @n samples in [-1, 1) (a non-finite one counts as 0). */
void      mm_words_push  (MmWords *w, const float *x, size_t n);
/* End of the stream: decides what the lookahead held back. Push after
 * finish only after mm_words_reset. */
void      mm_words_finish (MmWords *w);
/* The next word found, oldest first; FALSE when none is waiting. */
gboolean  mm_words_pop   (MmWords *w, MmWordSpan *span);
/* No word found later starts before this sample: what precedes it may be
 * dropped. */
guint64   mm_words_hold  (const MmWords *w);
/* The longest time from the end of a word's audio to the push that
 * reports it (part of the element's latency), in samples, for @p. */
guint64   mm_words_delay (const MmWordsParams *p);
/* The longest span a word can have, in samples (max_length, one frame and
 * the pad on both sides). */
guint64   mm_words_max_span (const MmWordsParams *p);
const MmWordsParams *mm_words_params (const MmWords *w);

/* Every word of a whole recording (@p NULL = defaults). Returns an array of
 * MmWordSpan (empty when there is none); NULL with @error on bad
 * parameters. */
GArray   *mm_words_find (const MmWordsParams *p, const float *x, size_t n, GError **error);
/* The loudest word (by peak_db) of @spans into *@best; FALSE if empty. */
gboolean  mm_words_loudest (const GArray *spans, MmWordSpan *best);

G_END_DECLS
