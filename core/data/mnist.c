/* mmdigits — MNIST idx files, gzip-compressed or plain, read through GIO.
 *
 * idx layout: a big-endian magic (0x00000803 for ubyte images with three
 * dimensions, 0x00000801 for ubyte labels with one), the dimensions as
 * big-endian 32-bit counts, then the bytes in C order. The reader decides on
 * compression from the first two bytes (gzip magic 1f 8b), not from the file
 * name, so renamed or decompressed copies load alike.
 */
#include "mm-mnist.h"

#include <gio/gio.h>
#include <string.h>

#include "mm-error.h"

#define IDX_MAGIC_IMAGES 0x00000803u
#define IDX_MAGIC_LABELS 0x00000801u

/* Far beyond any digit set, small enough that n·rows·cols fits in memory and
 * in an int: a header outside these limits is garbage, not a big data set. */
#define IDX_MAX_ITEMS 10000000
#define IDX_MAX_SIDE  1024
#define IDX_MAX_BYTES ((guint64) G_MAXINT)
/* The data is read in pieces of this size into a buffer that grows with
 * what arrives: a header may promise up to IDX_MAX_BYTES, and memory is
 * spent on what the file holds, not on what its header claims. */
#define IDX_CHUNK (1u << 20)

typedef struct {
  const char *path;
  GInputStream *stream;
  gboolean gzipped;
  guint64 offset;       /* bytes consumed so far (decompressed when gzipped) */
  gint64 file_size;     /* of a plain regular file; -1 when unknown (gzip, pipe) */
} IdxReader;

static void
set_gio_error (GError **error, const char *path, const char *what, GError *gerr)
{
  /* Corrupt gzip data is a content problem, everything else an I/O one. */
  int code = g_error_matches (gerr, G_IO_ERROR, G_IO_ERROR_INVALID_DATA) ?
      MM_ERROR_FORMAT : MM_ERROR_IO;
  g_set_error (error, MM_ERROR, code, "%s: %s: %s", path, what, gerr->message);
  g_error_free (gerr);
}

/* Peeks at the first two bytes through a buffer rather than seeking back, so
 * non-seekable files (pipes, /dev/stdin) work too. */
static gboolean
peek_gzip_magic (GBufferedInputStream *in, gboolean *gzipped, GError **error)
{
  gssize got;
  gsize avail;
  const guint8 *head;

  while ((avail = g_buffered_input_stream_get_available (in)) < 2) {
    got = g_buffered_input_stream_fill (in, 2 - (gssize) avail, NULL, error);
    if (got < 0)
      return FALSE;
    if (got == 0)
      break;
  }
  head = g_buffered_input_stream_peek_buffer (in, &avail);
  *gzipped = avail >= 2 && head[0] == 0x1f && head[1] == 0x8b;
  return TRUE;
}

static gboolean
idx_open (IdxReader *r, const char *path, GError **error)
{
  GFile *file = g_file_new_for_path (path);
  GFileInputStream *fin;
  GInputStream *in;
  GError *gerr = NULL;

  GFileInfo *info;

  memset (r, 0, sizeof (*r));
  r->path = path;
  r->file_size = -1;
  fin = g_file_read (file, NULL, &gerr);
  g_object_unref (file);
  if (!fin) {
    set_gio_error (error, path, "cannot open", gerr);
    return FALSE;
  }
  info = g_file_input_stream_query_info (fin, G_FILE_ATTRIBUTE_STANDARD_TYPE ","
      G_FILE_ATTRIBUTE_STANDARD_SIZE, NULL, NULL);
  if (info && g_file_info_get_file_type (info) == G_FILE_TYPE_REGULAR)
    r->file_size = g_file_info_get_size (info);
  g_clear_object (&info);
  in = g_buffered_input_stream_new (G_INPUT_STREAM (fin));
  g_object_unref (fin);
  if (!peek_gzip_magic (G_BUFFERED_INPUT_STREAM (in), &r->gzipped, &gerr)) {
    g_object_unref (in);
    set_gio_error (error, path, "cannot read", gerr);
    return FALSE;
  }
  if (r->gzipped) {
    GConverter *dec;

    r->file_size = -1;          /* the compressed size says little */
    dec = G_CONVERTER (g_zlib_decompressor_new (G_ZLIB_COMPRESSOR_FORMAT_GZIP));
    r->stream = g_converter_input_stream_new (in, dec);
    g_object_unref (dec);
    g_object_unref (in);
  } else {
    r->stream = in;
  }
  return TRUE;
}

static void
idx_close (IdxReader *r)
{
  g_clear_object (&r->stream);
}

static void
set_truncated (GError **error, const IdxReader *r, guint64 at, guint64 total)
{
  g_set_error (error, MM_ERROR, MM_ERROR_FORMAT,
      "%s: truncated at byte %" G_GUINT64_FORMAT " of %" G_GUINT64_FORMAT
      " expected%s", r->path, at, total, r->gzipped ? " (after decompression)" : "");
}

/* Reads exactly @len bytes; @total is the size the header promises, for the
 * message when the file ends early. */
static gboolean
idx_read (IdxReader *r, void *buf, gsize len, guint64 total, GError **error)
{
  GError *gerr = NULL;
  gsize got = 0;

  gboolean ok = g_input_stream_read_all (r->stream, buf, len, &got, NULL, &gerr);

  r->offset += got;
  /* A gzip stream cut short (an interrupted download) is a truncated file,
   * whatever zlib calls it. */
  if (!ok && !g_error_matches (gerr, G_IO_ERROR, G_IO_ERROR_PARTIAL_INPUT)) {
    set_gio_error (error, r->path, "read failed", gerr);
    return FALSE;
  }
  g_clear_error (&gerr);
  if (got < len) {
    set_truncated (error, r, r->offset, total);
    return FALSE;
  }
  return TRUE;
}

/* The @size bytes of data after the header (newly allocated), @total being
 * the whole file's promised size. A plain file shorter than its header
 * says fails before anything is allocated; otherwise the buffer grows
 * IDX_CHUNK by IDX_CHUNK (doubling) as the data arrives, so that a lying
 * header in a gzip stream or a pipe costs no more than the data there is. */
static guint8 *
idx_read_data (IdxReader *r, guint64 size, guint64 total, GError **error)
{
  guint8 *buf = NULL;
  guint64 have = 0, cap = 0;

  if (r->file_size >= 0 && (guint64) r->file_size < total) {
    set_truncated (error, r, (guint64) r->file_size, total);
    return NULL;
  }
  while (have < size) {
    guint64 chunk = MIN (size - have, IDX_CHUNK);

    if (have + chunk > cap) {
      guint8 *grown;

      cap = MIN (size, MAX (2 * cap, have + chunk));
      if (!(grown = g_try_realloc (buf, cap))) {
        g_free (buf);
        g_set_error (error, MM_ERROR, MM_ERROR_IO,
            "%s: cannot allocate %" G_GUINT64_FORMAT " bytes", r->path, cap);
        return NULL;
      }
      buf = grown;
    }
    if (!idx_read (r, buf + have, chunk, total, error)) {
      g_free (buf);
      return NULL;
    }
    have += chunk;
  }
  return buf;
}

/* A file that goes on after the promised bytes is not the file its header
 * describes (wrong header, or two files concatenated). */
static gboolean
idx_expect_end (IdxReader *r, GError **error)
{
  guint8 extra[4096];
  guint64 n_extra = 0;
  GError *gerr = NULL;
  gssize got;

  while ((got = g_input_stream_read (r->stream, extra, sizeof (extra), NULL, &gerr)) > 0)
    n_extra += (guint64) got;
  if (got < 0) {
    set_gio_error (error, r->path, "read failed", gerr);
    return FALSE;
  }
  if (n_extra > 0) {
    g_set_error (error, MM_ERROR, MM_ERROR_FORMAT,
        "%s: %" G_GUINT64_FORMAT " bytes after the %" G_GUINT64_FORMAT
        " the header describes", r->path, n_extra, r->offset);
    return FALSE;
  }
  return TRUE;
}

static guint32
be32 (const guint8 *p)
{
  return ((guint32) p[0] << 24) | ((guint32) p[1] << 16) | ((guint32) p[2] << 8) | p[3];
}

static gboolean
check_magic (const char *path, guint32 found, guint32 want, const char *what,
    GError **error)
{
  if (found == want)
    return TRUE;
  g_set_error (error, MM_ERROR, MM_ERROR_FORMAT,
      "%s: wrong magic 0x%08x, expected 0x%08x (%s)", path, found, want, what);
  return FALSE;
}

gboolean
mm_idx_load_images (const char *path, MmIdxImages *out, GError **error)
{
  IdxReader r;
  guint8 header[16];
  guint32 n, rows, cols;
  guint64 size;
  guint8 *pixels = NULL;

  g_return_val_if_fail (path != NULL && out != NULL, FALSE);
  memset (out, 0, sizeof (*out));
  if (!idx_open (&r, path, error))
    return FALSE;
  /* The magic first: a wrong kind of file is reported as such even when it
   * is shorter than this kind's header. */
  if (!idx_read (&r, header, 4, sizeof (header), error)
      || !check_magic (path, be32 (header), IDX_MAGIC_IMAGES, "idx3 ubyte images", error)
      || !idx_read (&r, header + 4, sizeof (header) - 4, sizeof (header), error))
    goto fail;
  n = be32 (header + 4);
  rows = be32 (header + 8);
  cols = be32 (header + 12);
  if (n == 0 || n > IDX_MAX_ITEMS || rows == 0 || rows > IDX_MAX_SIDE
      || cols == 0 || cols > IDX_MAX_SIDE
      || (guint64) n * rows * cols > IDX_MAX_BYTES) {
    g_set_error (error, MM_ERROR, MM_ERROR_FORMAT,
        "%s: absurd sizes %u images of %u×%u in the header", path, n, rows, cols);
    goto fail;
  }
  size = (guint64) n * rows * cols;
  if (!(pixels = idx_read_data (&r, size, sizeof (header) + size, error))
      || !idx_expect_end (&r, error))
    goto fail;
  idx_close (&r);
  out->n = (int) n;
  out->rows = (int) rows;
  out->cols = (int) cols;
  out->pixels = pixels;
  return TRUE;

fail:
  g_free (pixels);
  idx_close (&r);
  return FALSE;
}

gboolean
mm_idx_load_labels (const char *path, guint8 **labels, int *n_out, GError **error)
{
  IdxReader r;
  guint8 header[8];
  guint32 n;
  guint8 *lab = NULL;

  g_return_val_if_fail (path != NULL && labels != NULL && n_out != NULL, FALSE);
  *labels = NULL;
  *n_out = 0;
  if (!idx_open (&r, path, error))
    return FALSE;
  if (!idx_read (&r, header, 4, sizeof (header), error)
      || !check_magic (path, be32 (header), IDX_MAGIC_LABELS, "idx1 ubyte labels", error)
      || !idx_read (&r, header + 4, sizeof (header) - 4, sizeof (header), error))
    goto fail;
  n = be32 (header + 4);
  if (n == 0 || n > IDX_MAX_ITEMS) {
    g_set_error (error, MM_ERROR, MM_ERROR_FORMAT,
        "%s: absurd size %u labels in the header", path, n);
    goto fail;
  }
  if (!(lab = idx_read_data (&r, n, sizeof (header) + (guint64) n, error))
      || !idx_expect_end (&r, error))
    goto fail;
  for (guint32 i = 0; i < n; i++) {
    if (lab[i] > 9) {
      g_set_error (error, MM_ERROR, MM_ERROR_FORMAT,
          "%s: label %u of item %u (byte %u) is not a digit 0-9", path,
          lab[i], i, i + (guint32) sizeof (header));
      goto fail;
    }
  }
  idx_close (&r);
  *labels = lab;
  *n_out = (int) n;
  return TRUE;

fail:
  g_free (lab);
  idx_close (&r);
  return FALSE;
}

void
mm_idx_images_clear (MmIdxImages *img)
{
  if (!img)
    return;
  g_clear_pointer (&img->pixels, g_free);
  img->n = img->rows = img->cols = 0;
}
