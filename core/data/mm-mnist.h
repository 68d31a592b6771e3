/* mmdigits — MNIST idx files (gzip-compressed or plain, read through GIO). */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct {
  int n, rows, cols;
  guint8 *pixels;       /* [n][rows][cols], owned */
} MmIdxImages;

/* Loads an idx3 image file (magic 0x00000803). Truncated files, a wrong magic
 * or absurd sizes fail with MM_ERROR_FORMAT naming the file. */
gboolean mm_idx_load_images (const char *path, MmIdxImages *out, GError **error);
/* Loads an idx1 label file (magic 0x00000801); labels > 9 are an error.
 * *labels is owned by the caller (g_free). */
gboolean mm_idx_load_labels (const char *path, guint8 **labels, int *n, GError **error);
void     mm_idx_images_clear (MmIdxImages *img);

G_END_DECLS
