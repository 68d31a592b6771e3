/* mmdigits — internal: the digit finder's switches for tests (not
 * installed).
 *
 * The adaptive threshold's ink strength (local_background in digit.c) is
 * defined by a double formula and computed with integers that give the
 * same bytes; these let a test run the definition on every pixel and see
 * how often the integer path handed a pixel back to it, and compare the
 * connected components with a plain flood fill. */
#pragma once

#include "mm-digit.h"

G_BEGIN_DECLS

/* @reference TRUE: every pixel by the double formula (slow), and no frame
 * found blank from its blocks alone, for comparison; FALSE (the default):
 * the integer path and that shortcut. */
void    mm_digit_finder_set_reference (MmDigitFinder *f, gboolean reference);

/* Pixels so far that the integer path left to the double formula (exact
 * half-way paper levels). */
guint64 mm_digit_finder_ties          (const MmDigitFinder *f);

/* Frames so far that mm_digit_find found blank from their blocks'
 * extremes alone, without strength maps (the reference never does):
 * such a frame measures neither side (levels -1, areas 0; the strength
 * maps are left as they were). */
guint64 mm_digit_finder_flat_frames   (const MmDigitFinder *f);

/* The ink-strength map (region width × height, row stride = width) of
 * the last adaptive mm_digit_find for dark ink (@dark_ink) or light ink;
 * owned by @f, valid until its next call. Only the polarities that call
 * measured are meaningful (both for AUTO). */
const guint8 *mm_digit_finder_strength (const MmDigitFinder *f, gboolean dark_ink);

/* The level and area (see local_background in digit.c) of each side,
 * dark ink [0] and light ink [1], that the last adaptive mm_digit_find
 * measured (-1 and 0 for a side it did not). */
void mm_digit_finder_levels (const MmDigitFinder *f, int level[2], guint64 area[2]);

/* @hist = the histogram of the @n bytes at @m, as the finder makes it
 * for a strength map (runs of small values go in pairs). */
void mm_digit_histogram (const guint8 *m, size_t n, guint32 hist[256]);

/* The ink of @gray (@width × @height, row stride @stride) — pixels above
 * @threshold for @light_ink, else the others — labelled into 8-connected
 * components as mm_digit_find does: returns how many; the labels (1..n, 0
 * for paper; row stride @width) are at mm_digit_finder_labels, owned by
 * @f and valid until its next call. */
int          mm_digit_finder_label  (MmDigitFinder *f, const guint8 *gray, int stride, int width,
                                     int height, int threshold, gboolean light_ink);
const int   *mm_digit_finder_labels (const MmDigitFinder *f);

G_END_DECLS
