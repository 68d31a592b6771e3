/* mmdigits — find a written digit in a grey image and normalise it the way
 * MNIST was made: crop the digit, scale its longer side to 20 px keeping the
 * aspect ratio (anti-aliased), place it in 28×28 so that its centre of mass
 * sits at the centre. Output is white ink on black, as MNIST.
 *
 * An MmDigitFinder owns its scratch (labels, component table), grown to the
 * largest frame seen; one finder per thread.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct {
  int x, y, width, height;
} MmRect;

typedef enum {
  MM_POLARITY_AUTO,          /* decide from the image: the minority side of the threshold is ink */
  MM_POLARITY_DARK_ON_LIGHT, /* dark ink on light paper */
  MM_POLARITY_LIGHT_ON_DARK, /* light ink on dark background (MNIST) */
} MmPolarity;

typedef struct {
  int threshold;        /* 0..255, or -1 = Otsu (default) */
  MmPolarity polarity;  /* default AUTO */
  /* Local background (default FALSE): before thresholding, the paper's
   * level is estimated locally — the lightest (for dark ink) level of each
   * block of 1/8 of the region's shorter side, spread to the neighbouring
   * blocks and interpolated — and the ink strength is the distance from it.
   * Uneven lighting, shadows and paper texture then leave a flat
   * background, strokes up to about three blocks wide (thick markers)
   * survive, and @threshold / Otsu apply to the ink strength. With AUTO
   * polarity both sides are measured: a side whose strongest 0.5 % of
   * pixels stand out less than half as much as the other's is not ink,
   * else the ink is the side with the smaller strong area. */
  gboolean adaptive;
  int min_area;         /* smallest ink component kept, pixels (default 20) */
  MmRect roi;           /* region searched; width or height 0 = whole image */
} MmDigitParams;

typedef struct _MmDigitFinder MmDigitFinder;

void           mm_digit_params_init (MmDigitParams *p);
MmDigitFinder *mm_digit_finder_new  (void);
void           mm_digit_finder_free (MmDigitFinder *f);

/* Finds the digit in @gray (@width × @height, row stride @stride bytes):
 * threshold, polarity, connected components (8-neighbour), the union of the
 * components that belong to the digit. Writes the 28×28 crop into @out and its
 * bounding box into @bbox (may be NULL). Returns FALSE when no ink is found
 * (blank frame), leaving @out untouched. */
gboolean mm_digit_find (MmDigitFinder *f, const MmDigitParams *p,
                        const guint8 *gray, int width, int height, int stride,
                        guint8 out[784], MmRect *bbox);

/* MNIST normalisation of a grey image that already holds one digit as light
 * ink on black (any size): bounding box of non-zero pixels, scale to 20 px,
 * centre of mass to the centre of 28×28. A blank input gives a black output. */
void     mm_digit_normalize (const guint8 *gray, int width, int height, int stride,
                             guint8 out[784]);

/* Otsu's threshold of a grey histogram (256 bins). */
int      mm_otsu_threshold (const guint32 hist[256]);

G_END_DECLS
