/* mmdigits — MFCC front end (FFTW single precision).
 *
 * The definition is python_speech_features.mfcc with winlen 0.05, winstep
 * 0.025 and nfft 1024 (512 as the study-compatible option): pre-emphasis on
 * the whole signal, frames of frame_len samples every frame_step (count
 * 1 + ceil((n − frame_len) / frame_step), zero-padded at the end),
 * rectangular window, power spectrum |X|²/nfft, n_filters triangular mel
 * filters on FFT bins floor((nfft+1)·f/sample_rate), natural log (0 →
 * DBL_EPSILON), orthonormal DCT-II, first n_coeffs coefficients, sinusoidal
 * lifter, coefficient 0 replaced by log frame energy.
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
} MmMfccParams;

typedef struct _MmMfcc MmMfcc;

void      mm_mfcc_params_init (MmMfccParams *p);        /* the defaults above */
/* JSON object of the parameters (for the model file); caller frees. */
char     *mm_mfcc_params_to_json   (const MmMfccParams *p);
gboolean  mm_mfcc_params_from_json (const char *json, MmMfccParams *p, GError **error);

MmMfcc   *mm_mfcc_new   (const MmMfccParams *p, GError **error);
void      mm_mfcc_free  (MmMfcc *m);
const MmMfccParams *mm_mfcc_params (const MmMfcc *m);
/* Number of frames for @n_samples (0 for n = 0; 1 for 0 < n ≤ frame_len). */
int       mm_mfcc_n_frames (const MmMfcc *m, size_t n_samples);
/* @samples: float samples in [-1, 1) (scaled by 32768 inside, as 16-bit
 * units). @out: [n_frames][n_coeffs], time-major. Fails (MM_ERROR_INVALID) on
 * n = 0 or a non-finite sample; clipping is fine. */
gboolean  mm_mfcc_compute (MmMfcc *m, const float *samples, size_t n,
                           float *out, GError **error);

/* Fit an utterance to exactly @n_out samples: centre it in silence when it is
 * shorter, keep its central @n_out samples when longer. */
void      mm_audio_fit_center (const float *in, size_t n_in, float *out, size_t n_out);

G_END_DECLS
