/* mmdigits — error domain of libmmdigits.
 *
 * The core never prints and never aborts on bad input: functions that can fail
 * return FALSE (or NULL) and fill a GError in MM_ERROR with one of the codes
 * below. The message names the file (where there is one) and the first thing
 * that was wrong.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define MM_ERROR (mm_error_quark ())
GQuark mm_error_quark (void);

typedef enum {
  MM_ERROR_IO,        /* a file could not be read or written */
  MM_ERROR_FORMAT,    /* a file's content is not what it must be */
  MM_ERROR_INVALID,   /* an argument or a value is out of range (NaN, wrong size...) */
  MM_ERROR_MISMATCH,  /* two things that must agree do not (arch, shapes, labels) */
  MM_ERROR_NO_WORD,   /* a recording holds no word the detector accepts */
  MM_ERROR_CANCELLED, /* the caller stopped the work (a progress callback returned FALSE) */
  MM_ERROR_NOT_FOUND, /* a file, or a network a caller needs, is not there */
  MM_ERROR_UNIDENTIFIABLE, /* the data cannot determine a fitted value (a temperature at its
                            * search's bound: a validation set without errors) */
} MmErrorCode;

G_END_DECLS
