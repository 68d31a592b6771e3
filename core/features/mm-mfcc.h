/* mmdigits — MFCC front end (FFTW single precision).
 *
 * The definition is python_speech_features.mfcc with winlen 0.05, winstep
 * 0.025 and nfft 1024 (512 as the study-compatible option): pre-emphasis on
 * the whole signal, frames of frame_len samples every frame_step (count
 * 1 + ceil((n − frame_len) / frame_step), zero-padded at the end),
 * rectangular window, power spectrum |X|²/nfft, n_filters triangular mel
 * filters on FFT bins floor((nfft+1)·f/sample_rate), natural log of the
 * energy floored at DBL_EPSILON, orthonormal DCT-II, first n_coeffs
 * coefficients, sinusoidal lifter, coefficient 0 replaced by log frame
 * energy (floored the same way).
 * The floor: python_speech_features replaces only 0 by DBL_EPSILON. In
 * single precision a frame of tiny samples (a resampler's or the DC block's
 * decaying tail, ~1e-20) has energies that are subnormal or 0 depending on
 * the thread's flush-to-zero and denormals-are-zero flags, which code
 * outside ours (seen in a decoding thread) may leave set; with ln taken of
 * them the same clip gave coefficients apart by up to 6.7. Every energy below
 * DBL_EPSILON is DBL_EPSILON, so the features do not depend on those flags
 * (such frames are silence, as the zero padding is).
 *
 * MmMfccParams is the whole front-end contract: every setting that changes
 * the numbers a network sees, from the recording to the 39×13 block. It
 * travels in the model file ("mfcc" metadata, mm_mfcc_params_to_json) and in
 * the audio/x-mfcc caps (plugins). The defaults are the study's front end;
 * a model file written before a member existed is read with that member's
 * default, which is what such a model was trained with.
 *
 * Three members act around the MFCC rather than inside it:
 * - dc_block: the recording goes through mm_dc_block (a one-pole high-pass
 *   filter) before it is cut and analysed. The word detector (mm-words.h)
 *   always removes DC for its own decisions, whatever this says.
 * - cmvn: mm_mfcc_compute normalises each block per utterance: the mean
 *   (and standard deviation) of every coefficient over the frames that hold
 *   sound; frames of pure padding become 0.
 * - word_cut: how a whole recording (a file: eval, train, mmdigits mfcc)
 *   becomes one word before it is centred in one second
 *   (mm_frontend_block in mm-frontend.h). A stream (mfccextract) is always
 *   cut by the word detector.
 * - views: test-time views. Besides its block, each word gives one more
 *   block per view, made by the same front end from the word's one-second
 *   clip played faster or slower (mm_aug_speed) or with warped mel filters
 *   (mm_mfcc_set_warp); a network decides on softmax(the mean of its
 *   logits over the word's block and its views' / T) (mm_model_set_classify),
 *   and its temperature T was fitted on that mean. The logits are averaged,
 *   not the probabilities, so that one temperature calibrates the mean as
 *   it does one block (with probabilities averaged, the unheard-voices
 *   folds' ECE stayed 1.2 points above the block's at the best T:
 *   docs/results.md, "Test-time views").
 *   The views do not change the word's own block (training uses it alone);
 *   they change what a decision rests on, so they are part of the contract:
 *   a model with views is never given a word without them, nor one without
 *   views a stream that has them.
 *
 * An MmMfcc owns its FFTW plan and every buffer, made once in mm_mfcc_new();
 * computing allocates nothing. One MmMfcc is used by one thread at a time;
 * creating and freeing extractors is safe from any thread (plan creation is
 * serialised inside, as FFTW requires).
 */
#pragma once

#include <glib.h>
#include <stddef.h>

G_BEGIN_DECLS

/* Per-utterance cepstral normalisation. */
typedef enum {
  MM_CMVN_NONE,         /* the study's: raw coefficients */
  MM_CMVN_MEAN,         /* subtract each coefficient's mean over the utterance */
  MM_CMVN_MEAN_VAR,     /* and divide by its standard deviation */
} MmCmvn;

/* How a whole recording becomes the word that is centred in one second. */
typedef enum {
  MM_WORD_CUT_WHOLE,    /* the study's: the recording is the word (FSDD clips are trimmed) */
  MM_WORD_CUT_DETECTOR, /* the loudest word the detector (mm-words.h) finds in it */
} MmWordCut;

/* One test-time view of a word's clip (see views above). */
typedef struct {
  float speed;          /* played this many times faster (0.5–2); 1 = as it is */
  float warp;           /* VTLP factor of the mel filters (0.5–2); 1 = none */
} MmView;

/* The most views a front end may have. */
#define MM_MFCC_MAX_VIEWS 4

typedef struct {
  int sample_rate;      /* 16000 */
  int frame_len;        /* 800 samples (50 ms) */
  int frame_step;       /* 400 samples (25 ms) */
  int nfft;             /* 1024; 512 = study-compatible (first 512 samples of each frame) */
  int n_filters;        /* 26 */
  int n_coeffs;         /* 13 */
  float low_freq;       /* 0 Hz */
  float high_freq;      /* 8000 Hz (≤ sample_rate / 2) */
  float preemph;        /* 0.97; 0 = off */
  int lifter;           /* 22; 0 = off */
  gboolean append_energy; /* TRUE: coefficient 0 = log frame energy */
  gboolean dc_block;    /* FALSE (study); TRUE: mm_dc_block before everything */
  MmCmvn cmvn;          /* MM_CMVN_NONE (study) */
  MmWordCut word_cut;   /* MM_WORD_CUT_WHOLE (study) */
  int n_views;          /* 0 (study): the word's block alone */
  MmView views[MM_MFCC_MAX_VIEWS];  /* the first n_views, in order */
} MmMfccParams;

/* One block is this many seconds of audio (sample_rate samples). */
#define MM_MFCC_BLOCK_SECONDS 1

typedef struct _MmMfcc MmMfcc;

void      mm_mfcc_params_init (MmMfccParams *p);        /* the defaults above */
/* TRUE if mm_mfcc_new would take @p; else FALSE and a message naming the
 * first member out of range. */
gboolean  mm_mfcc_params_check (const MmMfccParams *p, GError **error);
/* TRUE when every member is equal (floats compared as the JSON writes them);
 * otherwise FALSE and, if @what is not NULL, *@what = a new string naming the
 * first member that differs with both values ("nfft: 512 vs 1024"). */
gboolean  mm_mfcc_params_equal (const MmMfccParams *a, const MmMfccParams *b, char **what);
/* mm_mfcc_params_equal but for the views: whether @a and @b make the same
 * block of a word (what training learns from and fold models are scored
 * on, whatever views a model decides with). */
gboolean  mm_mfcc_params_equal_blocks (const MmMfccParams *a, const MmMfccParams *b,
                                       char **what);
/* The mel scale of the filters (HTK's: 2595·log10(1 + f/700)). */
double    mm_hz_to_mel (double hz);
double    mm_mel_to_hz (double mel);
/* The shortest decimal that reads back as @v, as a double: 0.97f as 0.97,
 * not 0.97000002861022949 (for JSON, caps and messages). */
double    mm_float_decimal (float v);
/* Names of the enum values as the JSON and the caps write them; FALSE for
 * an unknown name. */
const char *mm_cmvn_name (MmCmvn c);
gboolean  mm_cmvn_from_name (const char *name, MmCmvn *c);
const char *mm_word_cut_name (MmWordCut c);
gboolean  mm_word_cut_from_name (const char *name, MmWordCut *c);
/* The views as text, one item per view, comma-separated: "speed:F" (speed
 * F, no warp) or "vtlp:A" (warp A, speed 1); "none" (or "") for no views.
 * The JSON's "views", the caps' "views" and the CLI's --views use it.
 * mm_mfcc_views_from_string writes @p's views only on success; it fails
 * (MM_ERROR_INVALID) naming the item that is not one, a factor outside
 * [0.5, 2], or more than MM_MFCC_MAX_VIEWS items. to_string: caller frees;
 * the shortest decimals (speed:0.9,speed:1.1), so equal views give equal
 * strings. */
gboolean  mm_mfcc_views_from_string (const char *text, MmMfccParams *p, GError **error);
char     *mm_mfcc_views_to_string   (const MmMfccParams *p);
/* The frames of one block (MM_MFCC_BLOCK_SECONDS of audio) for @p. */
int       mm_mfcc_params_block_frames (const MmMfccParams *p);
/* JSON object of the parameters (for the model file); caller frees. */
char     *mm_mfcc_params_to_json   (const MmMfccParams *p);
gboolean  mm_mfcc_params_from_json (const char *json, MmMfccParams *p, GError **error);

MmMfcc   *mm_mfcc_new   (const MmMfccParams *p, GError **error);
void      mm_mfcc_free  (MmMfcc *m);
const MmMfccParams *mm_mfcc_params (const MmMfcc *m);
/* Number of frames for @n_samples (0 for n = 0; 1 for 0 < n ≤ frame_len). */
int       mm_mfcc_n_frames (const MmMfcc *m, size_t n_samples);
/* Largest |sample| mm_mfcc_compute takes: 60 dB above full scale, beyond
 * any over a float mix makes, and far below the ~1e11 at which a frame's
 * power spectrum overflows float (a float WAV holding 7.5e31 gave infinite
 * coefficients). */
#define MM_MFCC_MAX_SAMPLE 1000.0f

/* @samples: float samples in [-1, 1) (scaled by 32768 inside, as 16-bit
 * units). @out: [n_frames][n_coeffs], time-major. Fails (MM_ERROR_INVALID) on
 * n = 0, a non-finite sample or one beyond ±MM_MFCC_MAX_SAMPLE; clipping is
 * fine. */
gboolean  mm_mfcc_compute (MmMfcc *m, const float *samples, size_t n,
                           float *out, GError **error);

/* DC removal: y[n] = x[n] − x[n−1] + r·y[n−1] with r = 1 − 2π·20 Hz / rate
 * (−3 dB at about 20 Hz). The state starts as if the signal had been at its
 * first sample's level for ever, so a constant offset gives no step. Run it
 * over consecutive pieces of one stream with one state: the result is the
 * same as over the whole. @out may be @in. */
typedef struct {
  float r, x1, y1;
  gboolean started;
} MmDcBlock;

void      mm_dc_block_init (MmDcBlock *d, int sample_rate);
void      mm_dc_block_run  (MmDcBlock *d, const float *in, float *out, size_t n);

/* Vocal-tract-length perturbation for training augmentation: the mel
 * filters' edge frequencies are moved by the piecewise-linear VTLP warp with
 * factor @alpha (0.5–2; 1 = the exact front end above, the default). It
 * rebuilds the filter bank (allocates): call it per utterance, not per frame.
 * Not stored in the parameters: a model never runs with a warp. */
void      mm_mfcc_set_warp (MmMfcc *m, float alpha);

/* Fit an utterance to exactly @n_out samples: centre it in silence when it is
 * shorter, keep its central @n_out samples when longer. */
void      mm_audio_fit_center (const float *in, size_t n_in, float *out, size_t n_out);

G_END_DECLS
