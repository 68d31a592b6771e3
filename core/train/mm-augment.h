/* mmdigits — training-time data augmentation, seeded and deterministic.
 *
 * Each kind is switched on by name (mm_augment_parse) and applied to a
 * training sample with its own probability; the random draws of sample j in
 * epoch e come from a PCG stream seeded by (seed, e, j) alone, so the
 * augmented batch is the same whatever the batch order, the thread count or
 * the other kinds' draws for other samples. Nothing is augmented at
 * evaluation.
 *
 * Audio kinds work on the one-second 16 kHz waveform, which is why the data
 * set must carry its clips (MmDataset.waves): the MFCC is then computed anew
 * for every sample of every epoch, in that order —
 *   speed  (resampling: tempo and pitch together), shift (in time),
 *   noise  (white, pink, babble made of 3–6 other training clips, mains hum;
 *           each its own kind, at an SNR drawn in [snr_min, snr_max] dB, the
 *           powers measured over the whole one-second clip),
 *   band   (a random low-pass and high-pass: a telephone-like channel),
 *   gain   (a level change, clipped at full scale as a recorder would),
 *   vtlp   (vocal-tract-length perturbation: the mel filters' edges warped),
 *   specaug (SpecAugment-style masks of frames and coefficients, on the
 *           normalised features).
 * Image kinds work on the 28×28 pixels in [0, 1] (white ink on black):
 *   affine (rotation, scale, shear, shift), elastic (Simard et al. 2003),
 *   stroke (thinner or thicker strokes), blur, pixel-noise, gamma (contrast
 *   and gamma), polarity (inverted), occlude (a small black rectangle).
 *
 * The building blocks (mm_aug_*) are public so that tests can check what
 * each one does.
 */
#pragma once

#include <glib.h>

#include "mm-dataset.h"
#include "mm-mfcc.h"
#include "mm-net.h"
#include "mm-rng.h"

G_BEGIN_DECLS

typedef enum {
  MM_AUG_SPEED, MM_AUG_SHIFT, MM_AUG_WHITE, MM_AUG_PINK, MM_AUG_BABBLE, MM_AUG_HUM,
  MM_AUG_BAND, MM_AUG_GAIN, MM_AUG_VTLP, MM_AUG_SPECAUG,
  MM_AUG_AFFINE, MM_AUG_ELASTIC, MM_AUG_STROKE, MM_AUG_BLUR, MM_AUG_PIXEL_NOISE,
  MM_AUG_GAMMA, MM_AUG_POLARITY, MM_AUG_OCCLUDE,
  MM_AUG_N_KINDS
} MmAugKind;

/* The kinds that need the waveform (all audio kinds but specaug). */
#define MM_AUG_WAVE_KINDS ((1u << MM_AUG_SPEED) | (1u << MM_AUG_SHIFT) | (1u << MM_AUG_WHITE) \
    | (1u << MM_AUG_PINK) | (1u << MM_AUG_BABBLE) | (1u << MM_AUG_HUM) | (1u << MM_AUG_BAND) \
    | (1u << MM_AUG_GAIN) | (1u << MM_AUG_VTLP))
/* The additive noises ("noise" in mm_augment_parse), mixed at an SNR in [snr_min, snr_max]. */
#define MM_AUG_NOISE_KINDS ((1u << MM_AUG_WHITE) | (1u << MM_AUG_PINK) | (1u << MM_AUG_BABBLE) \
    | (1u << MM_AUG_HUM))
#define MM_AUG_AUDIO_KINDS (MM_AUG_WAVE_KINDS | (1u << MM_AUG_SPECAUG))
#define MM_AUG_IMAGE_KINDS (((1u << MM_AUG_N_KINDS) - 1) & ~MM_AUG_AUDIO_KINDS)

typedef struct {
  guint32 enabled;              /* bit (1 << kind) */
  float prob[MM_AUG_N_KINDS];   /* chance that a sample gets the kind, when enabled */
  float speed;                  /* factor in [1 − speed, 1 + speed]: 0.15 */
  float shift_s;                /* shift in [−shift_s, shift_s] seconds: 0.15 */
  float snr_min, snr_max;       /* dB: 5, 40 */
  float lowpass_min_hz;         /* low-pass cut-off in [lowpass_min_hz, 7000]: 2500 */
  float highpass_max_hz;        /* high-pass cut-off in [50, highpass_max_hz]: 400 */
  float gain_db;                /* gain in [−gain_db, +gain_db/2]: 12 (−12…+6 dB) */
  float vtlp;                   /* warp in [1 − vtlp, 1 + vtlp]: 0.1 */
  int time_masks, time_width;   /* masks of up to width frames (of 39): 2, 4 */
  int coeff_masks, coeff_width; /* masks of up to width coefficients (of 13): 1, 2 */
  float rotate_deg, scale, shear_deg, shift_px;  /* 12°, ±10 %, 10°, 2 px */
  float elastic_alpha, elastic_sigma;            /* 34, 4 px (Simard's MNIST values) */
  float blur_sigma;             /* σ in [0.3, blur_sigma] px: 1.0 */
  float noise_std;              /* Gaussian pixel noise std in [0, noise_std]: 0.15 */
  float gamma;                  /* γ in [1/gamma, gamma], contrast in [0.6, 1]: 1.6 */
  int occlude_px;               /* rectangle sides in [3, occlude_px]: 8 */
} MmAugment;

/* All kinds off, every setting at its default above. */
void      mm_augment_init   (MmAugment *a);
/* Turns kinds on from a comma-separated list: kind names (speed, shift,
 * white, pink, babble, hum, band, gain, vtlp, specaug, affine, elastic,
 * stroke, blur, pixel-noise, gamma, polarity, occlude), "noise" (white,
 * pink, babble, hum), "audio" (every audio kind), "image" (every image kind
 * but polarity), optionally "=P" to set the probability (0–1). "none"
 * switches everything off. Fails with a message naming the bad item. */
gboolean  mm_augment_parse  (MmAugment *a, const char *spec, GError **error);
/* Sets the additive noise's SNR range from "MIN:MAX" (dB, numbers with
 * MM_AUG_SNR_LOWEST <= MIN <= MAX <= MM_AUG_SNR_HIGHEST); fails
 * (MM_ERROR_INVALID) leaving @a unchanged otherwise. The range is recorded
 * by mm_augment_to_json whenever an audio kind is on. */
gboolean  mm_augment_set_snr (MmAugment *a, const char *spec, GError **error);
#define MM_AUG_SNR_LOWEST  (-30.0)
#define MM_AUG_SNR_HIGHEST 100.0
/* A JSON object of every enabled kind with its probability and the
 * settings in force (for the model's provenance). Caller frees. */
char     *mm_augment_to_json (const MmAugment *a);
const char *mm_aug_kind_name (MmAugKind kind);

/* ---- building blocks (x: n samples at @rate Hz, in place unless noted) ---- */
/* Multiplies by 10^(db/20) and clips to [−1, 1]. */
void  mm_aug_gain     (float *x, int n, float db);
/* out[i] = in(c + (i − c)·factor) with c the centre, linear interpolation,
 * zero outside: the clip plays @factor times faster, around its centre. */
void  mm_aug_speed    (const float *in, float *out, int n, float factor);
/* Delays by @shift samples (negative: earlier), zero-filled. */
void  mm_aug_shift    (float *x, int n, int shift);
/* The speech power of a clip: the mean of x² from its first to its last
 * non-zero sample. Clips are centred in a window padded with exact zeros,
 * and the padding is not speech: counting it would make the SNR of a short
 * word several dB lower than the same word's in a tight clip. This is the
 * one SNR definition of the project (training noise, robustness curves). */
double mm_aug_speech_power (const float *x, int n);
/* Adds @noise scaled so that speech power (mm_aug_speech_power) over
 * mean(noise²) = 10^(snr_db/10). A silent x or noise leaves x unchanged. */
void  mm_aug_add_noise (float *x, const float *noise, int n, float snr_db);
/* Babble: the sum of @talkers clips drawn (uniformly, with @rng) from
 * @pool (@n_pool indices of clips of @stride samples in @clips), each scaled
 * to unit speech power, the sum scaled to unit RMS; @n samples into @out.
 * An empty @pool gives silence. */
void  mm_aug_babble   (MmRng *rng, const float *clips, size_t stride, const int *pool,
                       int n_pool, int talkers, float *out, int n);
/* Continuous babble ("crowd"): each of @talkers speaks without pause — the
 * spoken spans (first to last non-zero sample) of clips drawn from @pool,
 * each scaled to unit speech power, back to back, the first entered at a
 * random point — and the sum is scaled to unit RMS; @n samples into @out.
 * Unlike mm_aug_babble, whose centred clips all speak at the same moment
 * and leave the padding of a one-second window near silence, a crowd fills
 * every sample, as a room of talkers does. A pool of silent clips gives
 * silence. */
void  mm_aug_crowd    (MmRng *rng, const float *clips, size_t stride, const int *pool,
                       int n_pool, int talkers, float *out, int n);
/* Noise makers, unit RMS (before scaling): white (triangular amplitudes,
 * flat spectrum), pink (−3 dB per octave, Kellet's filter on white), mains
 * hum (@hz fundamental, harmonics 1–5 at 1/k, random phases). The trainer
 * makes 16 s of each once and cuts clips from it at random offsets. */
void  mm_aug_white    (MmRng *rng, float *out, int n);
void  mm_aug_pink     (MmRng *rng, float *out, int n);
void  mm_aug_hum      (MmRng *rng, float *out, int n, int rate, float hz);
/* Fourth-order Butterworth-like channel: two cascaded RBJ biquads each for a
 * low-pass at @low_hz and (when @high_hz > 0) a high-pass at @high_hz. */
void  mm_aug_band     (float *x, int n, int rate, float high_hz, float low_hz);

/* ---- images: 28×28 floats in [0, 1], row-major ---- */
/* Inverse-mapped bilinear affine about the centre (13.5, 13.5): rotation
 * (degrees, counter-clockwise on screen), scale, shear along x (degrees),
 * then shift (px, +x right, +y down). */
void  mm_aug_affine   (const float *in, float *out, float rot_deg, float scale,
                       float shear_deg, float dx, float dy);
/* Grey dilation (thicker, @thicker TRUE) or erosion of the strokes with a 3×3 cross. */
void  mm_aug_stroke   (const float *in, float *out, gboolean thicker);
/* Adds zero-mean noise of standard deviation @sd (triangular amplitudes,
 * like the audio's white noise) to every pixel, then clips to [0, 1]. */
void  mm_aug_pixel_noise (MmRng *rng, float *img, float sd);
/* Separable Gaussian blur (σ in px), borders clamped. */
void  mm_aug_blur     (float *img, float sigma);
/* Elastic distortion: a random displacement field, Gaussian-smoothed (σ)
 * and scaled (α), applied with bilinear sampling. */
void  mm_aug_elastic  (MmRng *rng, const float *in, float *out, float alpha, float sigma);

/* ---- the trainer's side ---- */
typedef struct _MmAugmenter MmAugmenter;

/* @mfcc: the model's front end (NULL = defaults); @norm: the model's
 * normalisation (read at every batch, so it may still change before
 * training starts). @train: the training set, kept by reference for
 * babble (its clips). Fails when an audio waveform kind is on and @train has
 * no clips. */
MmAugmenter *mm_augmenter_new  (const MmAugment *a, MmArch arch, const MmMfccParams *mfcc,
                                const MmNorm *norm, const MmDataset *train, GError **error);
void         mm_augmenter_free (MmAugmenter *aug);
/* Overwrites the normalised inputs of a gathered batch (@image [b][784],
 * @audio [b][507], NULL for an input the arch lacks) with augmented ones:
 * sample i is training sample @idx[i], drawn from (seed, epoch, idx[i]).
 * @snr_db (NULL or [b]) receives each sample's effective SNR in dB, the
 * clean speech's power over the sum of the additive noises mixed into it
 * (+∞ for a sample without noise), so that the trainer can weigh what a
 * drowned word can still teach. */
void         mm_augmenter_apply (MmAugmenter *aug, const int *idx, int b, guint64 seed,
                                 int epoch, float *image, float *audio, float *snr_db);

G_END_DECLS
