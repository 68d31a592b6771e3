#include "mm-error.h"

G_DEFINE_QUARK (mm-error-quark, mm_error)
