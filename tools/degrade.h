/* mmdigits CLI — worsening inputs on purpose, for the robustness curves of
 * `mmdigits figures` (tools/degrade.c).
 *
 * Images are [n][28·28] floats in [0, 1] (white digit on black), changed in
 * place. Each sample's randomness comes from its own PCG stream (@seed,
 * sample index), so a sample is degraded the same way whatever else is in
 * the set.
 */
#pragma once

#include <glib.h>
#include <stddef.h>

G_BEGIN_DECLS

/* Erases (sets to black, the background) a square covering @fraction of
 * the image area, its centre drawn uniformly within the digit's bounding
 * box and the square kept inside the image: the digit loses about that
 * much of its surroundings, usually strokes. */
void mm_degrade_occlude (float *images, int n, double fraction, guint64 seed);
/* Adds N(0, @sigma²) to every pixel, then clips to [0, 1]. */
void mm_degrade_noise (float *images, int n, double sigma, guint64 seed);
/* Gaussian blur of standard deviation @sigma pixels (separable, kernel
 * radius ⌈3σ⌉, black outside the image); σ = 0 leaves the images. */
void mm_degrade_blur (float *images, int n, double sigma);

/* @out = @clip + @noise scaled so that the speech power @speech_power over
 * the noise's power over the clip is @snr_db. Both are @len samples. */
void mm_degrade_mix (const float *clip, const float *noise, size_t len, double speech_power,
                     double snr_db, float *out);
/* Mean square of @x. */
double mm_degrade_power (const float *x, size_t len);
/* @len samples of N(0, 1) from stream (@seed, @stream). */
void mm_degrade_white (float *out, size_t len, guint64 seed, guint64 stream);

G_END_DECLS
