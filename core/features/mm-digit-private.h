/* mmdigits — internal: the digit finder's switches for tests (not
 * installed).
 *
 * The adaptive threshold's ink strength (local_background in digit.c) is
 * defined by a double formula and computed with integers that give the
 * same bytes; these let a test run the definition on every pixel and see
 * how often the integer path handed a pixel back to it. */
#pragma once

#include "mm-digit.h"

G_BEGIN_DECLS

/* @reference TRUE: every pixel by the double formula (slow), for
 * comparison; FALSE (the default): the integer path. */
void    mm_digit_finder_set_reference (MmDigitFinder *f, gboolean reference);

/* Pixels so far that the integer path left to the double formula (exact
 * half-way paper levels). */
guint64 mm_digit_finder_ties          (const MmDigitFinder *f);

/* The ink-strength map (region width × height, row stride = width) of
 * the last adaptive mm_digit_find for dark ink (@dark_ink) or light ink;
 * owned by @f, valid until its next call. Only the polarities that call
 * measured are meaningful (both for AUTO). */
const guint8 *mm_digit_finder_strength (const MmDigitFinder *f, gboolean dark_ink);

G_END_DECLS
