/* mmdigits CLI — worsening inputs on purpose by a set amount, for the
 * robustness curves of `mmdigits figures` and the evaluation conditions of
 * `mmdigits eval` (--protocol writers, --snr) (tools/figures/degrade.c).
 *
 * Images are [n][28·28] floats in [0, 1] (white digit on black), changed in
 * place. Each sample's randomness comes from its own PCG stream (@seed,
 * sample index), so a sample is degraded the same way whatever else is in
 * the set.
 */
#pragma once

#include <glib.h>
#include <stddef.h>

#include "mm-dataset.h"
#include "mm-mfcc.h"
#include "mm-rng.h"

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

/* ---- new writers: --protocol writers[:KIND] ----
 * A proxy for handwriting unlike MNIST's, each a fixed change (the settings
 * live in degrade.c, fixed before any model was measured on them). */
typedef enum {
  MM_WRITER_THIN,    /* strokes eroded once (mm_aug_stroke) */
  MM_WRITER_THICK,   /* strokes dilated once (mm_aug_stroke) */
  MM_WRITER_SLANT,   /* sheared by ±WRITER_SLANT_DEG, the sign drawn per image */
  MM_WRITER_BLUR,    /* Gaussian blur (mm_aug_blur) */
  MM_WRITER_NOISE,   /* pixel noise, as a photo's (mm_degrade_noise) */
  MM_WRITER_N,
  MM_WRITER_ALL = -1 /* image i gets kind i mod MM_WRITER_N */
} MmWriterKind;

/* "thin", "thick", "slant", "blur", "noise". */
const char *mm_writer_kind_name (MmWriterKind kind);
/* The kind named @name; FALSE for no kind. */
gboolean mm_writer_kind_parse (const char *name, MmWriterKind *kind);
/* Changes @n images as new writers' (@kind, or MM_WRITER_ALL), each image's
 * draws from its own PCG stream (@seed, its index). */
void mm_degrade_writers (float *images, int n, MmWriterKind kind, guint64 seed);

/* ---- noisy audio: eval --snr DB --noise KIND ---- */
typedef enum {
  MM_NOISE_WHITE, MM_NOISE_PINK, MM_NOISE_BABBLE,
  MM_NOISE_CROWD,   /* continuous babble (mm_aug_crowd), from the same pool */
  MM_NOISE_N
} MmNoiseKind;

/* "white", "pink", "babble", "crowd". */
const char *mm_noise_kind_name (MmNoiseKind kind);
gboolean mm_noise_kind_parse (const char *name, MmNoiseKind *kind);
/* The babble pool of `figures` and `eval --noise babble`: up to
 * MM_BABBLE_POOL distinct recordings of @split (the protocol's split test:
 * training voices, never a held-out recording), shuffled with @rng;
 * indices into its wave bank, which the protocol's sets share
 * (g_array_unref). */
#define MM_BABBLE_POOL 60
#define MM_BABBLE_TALKERS 6
GArray *mm_degrade_babble_pool (const MmDataset *split, MmRng *rng);
/* Replaces each sample's audio block of @ds (which must carry its clips,
 * MmDataset.waves) by the MFCC (@mfcc's front end) of its clip with
 * @kind noise added at @snr_db (mm_aug_add_noise: speech power over noise
 * power). A recording paired with several samples gets one noise, from
 * its own PCG stream (@seed, its index in the wave bank), as the robustness
 * curves of `figures` do: the same recording, the same noisy block. Babble
 * and crowd from @pool (indices into @ds's wave bank, MM_BABBLE_TALKERS
 * talkers).
 * Each sample's MmDataset.score becomes the word detector's score of the
 * noisy clip (its loudest word; NAN: none found) when @scores: the clip is
 * what the noise was mixed into, so the detector hears the noise over the
 * whole second.
 * @views: NULL, or @mfcc's n_views data sets (mm_degrade_views), whose
 * blocks become the views' blocks of the same noisy clips. */
gboolean mm_degrade_audio (MmDataset *ds, MmNoiseKind kind, double snr_db, const GArray *pool,
                           const MmMfccParams *mfcc, guint64 seed, gboolean scores,
                           MmDataset **views, GError **error);

/* ---- test-time views (mm-mfcc.h "views"): eval ----
 * @views[k] (k < @mfcc's n_views) becomes a new copy of @ds (which must
 * carry its clips; mm_dataset_head) whose audio blocks are view k's of each
 * clip (mm_frontend_views_compute: the clip played faster or slower around
 * its centre, or the mel filters warped), as mfccextract and batch make
 * them. Deterministic: no random draw. On failure none is left. */
gboolean mm_degrade_views (const MmDataset *ds, const MmMfccParams *mfcc, MmDataset **views,
                           GError **error);

G_END_DECLS
