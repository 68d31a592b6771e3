/* mmdigits CLI — worsening images on purpose by a set amount, for the
 * robustness curves of `mmdigits figures` (tools/figures/degrade.c).
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
/* Adds noise of standard deviation @sigma to every pixel, then clips to
 * [0, 1] (mm_aug_pixel_noise, the trainer's pixel noise). Blur and the
 * audio noises are the trainer's own building blocks (mm-augment.h). */
void mm_degrade_noise (float *images, int n, double sigma, guint64 seed);

G_END_DECLS
