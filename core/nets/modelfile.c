/* mmdigits — model files: safetensors (docs/model-format.md).
 *
 * Layout: an 8-byte little-endian header length N, N bytes of JSON, then the
 * tensor bytes. The JSON maps each tensor name to {dtype, shape,
 * data_offsets [begin, end]} (offsets relative to the first byte after the
 * header) and holds `__metadata__`, a map of strings. We pad the JSON with
 * spaces to a multiple of 8 bytes, as the reference writer does, so that the
 * tensor data stays 8-byte aligned for readers that map the file.
 *
 * The loader trusts nothing: every check names the file and the first thing
 * wrong, because a model file usually comes from somewhere else (a PyTorch
 * export, a download, an older build).
 */
#include "mm-modelfile.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mm-error.h"
#include "mm-json.h"

#define MM_FORMAT_TAG     "mmdigits"
#define MM_FORMAT_VERSION "1"
/* The safetensors reference allows 100 MB of header; json-glib's nodes take
 * about 15 times the text (a 51 MB header cost 759 MB), and our headers are
 * under 5 KB. 1 MiB leaves 200 times that for other writers' metadata and
 * bounds what parsing a hostile header can cost. */
#define MAX_HEADER_LEN    (1u << 20)
/* The __metadata__ key that makes a file a training checkpoint. */
#define CHECKPOINT_KEY    "checkpoint"

G_STATIC_ASSERT (sizeof (float) == 4);

void
mm_model_meta_clear (MmModelMeta *meta)
{
  if (!meta)
    return;
  g_clear_pointer (&meta->mfcc_json, g_free);
  g_clear_pointer (&meta->provenance_json, g_free);
}

/* ------------------------------------------------------------------ save */

static char *
format_float (double v)
{
  char buf[G_ASCII_DTOSTR_BUF_SIZE];
  /* %.9g round-trips every float32 exactly, and never depends on the locale. */
  return g_strdup (g_ascii_formatd (buf, sizeof (buf), "%.9g", v));
}

static char *
format_float_array (const float *v, int n)
{
  GString *s = g_string_new ("[");
  for (int i = 0; i < n; i++) {
    char *x = format_float (v[i]);
    g_string_append_printf (s, "%s%s", i ? ", " : "", x);
    g_free (x);
  }
  g_string_append_c (s, ']');
  return g_string_free (s, FALSE);
}

/* Index of the first negative variance in @t if it holds batch-norm
 * variances, else -1. A variance below zero has no square root:
 * (x − mean)/√(var + ε) would be NaN, or huge for −ε < var < 0, and every
 * decision wrong without a word. */
static gssize
negative_variance (const MmTensorInfo *t)
{
  if (!g_str_has_suffix (t->name, ".running_var"))
    return -1;
  for (size_t i = 0; i < t->size; i++)
    if (t->data[i] < 0)
      return (gssize) i;
  return -1;
}

static gboolean
is_json_object (const char *text)
{
  JsonNode *root = mm_json_parse (text, -1, NULL);
  gboolean ok = root && JSON_NODE_HOLDS_OBJECT (root);
  g_clear_pointer (&root, json_node_unref);
  return ok;
}

static void
add_float_string (JsonBuilder *b, const char *key, double v)
{
  char *s = format_float (v);
  mm_json_add_string (b, key, s);
  g_free (s);
}

static void
add_float_array_string (JsonBuilder *b, const char *key, const float *v, int n)
{
  char *s = format_float_array (v, n);
  mm_json_add_string (b, key, s);
  g_free (s);
}

/* The JSON header, padded with spaces so that 8 + its length is a multiple
 * of 8. */
/* One extra tensor's entry: 1-D, F32 or I32, after the previous one. */
static void
add_extra_entry (JsonBuilder *b, const MmExtraTensor *x, guint64 *offset)
{
  mm_json_begin_object (b, x->name);
  mm_json_add_string (b, "dtype", x->is_int ? "I32" : "F32");
  mm_json_begin_array (b, "shape");
  json_builder_add_int_value (b, (gint64) x->size);
  json_builder_end_array (b);
  mm_json_begin_array (b, "data_offsets");
  json_builder_add_int_value (b, (gint64) *offset);
  *offset += (guint64) x->size * 4;
  json_builder_add_int_value (b, (gint64) *offset);
  json_builder_end_array (b);
  json_builder_end_object (b);
}

static char *
build_header (const MmNet *net, const MmModelMeta *meta, const char *state_json,
    const MmExtraTensor *extra, int n_extra, gsize *len)
{
  const MmNorm *norm = mm_net_norm ((MmNet *) net);
  JsonBuilder *b = json_builder_new ();
  GString *s;
  char *text;
  guint64 offset = 0;

  json_builder_begin_object (b);
  mm_json_begin_object (b, "__metadata__");
  mm_json_add_string (b, "format", MM_FORMAT_TAG);
  mm_json_add_string (b, "format_version", MM_FORMAT_VERSION);
  mm_json_add_string (b, "arch", mm_arch_name (mm_net_arch (net)));
  add_float_string (b, "image_mean", norm->image_mean);
  add_float_string (b, "image_std", norm->image_std);
  add_float_array_string (b, "mfcc_mean", norm->mfcc_mean, MM_MFCC_COEFFS);
  add_float_array_string (b, "mfcc_std", norm->mfcc_std, MM_MFCC_COEFFS);
  /* written only when calibrated, so that an uncalibrated model's header
   * stays what it was before calibration existed */
  if (mm_net_temperature (net) != 1.0f)
    add_float_string (b, "temperature", mm_net_temperature (net));
  if (meta && meta->mfcc_json)
    mm_json_add_string (b, "mfcc", meta->mfcc_json);
  if (meta && meta->provenance_json)
    mm_json_add_string (b, "provenance", meta->provenance_json);
  if (state_json)
    mm_json_add_string (b, CHECKPOINT_KEY, state_json);
  json_builder_end_object (b);

  for (int i = 0; i < mm_net_n_tensors (net); i++) {
    const MmTensorInfo *t = mm_net_tensor (net, i);
    mm_json_begin_object (b, t->name);
    mm_json_add_string (b, "dtype", "F32");
    mm_json_begin_array (b, "shape");
    for (int d = 0; d < t->ndim; d++)
      json_builder_add_int_value (b, t->shape[d]);
    json_builder_end_array (b);
    mm_json_begin_array (b, "data_offsets");
    json_builder_add_int_value (b, (gint64) offset);
    offset += (guint64) t->size * sizeof (float);
    json_builder_add_int_value (b, (gint64) offset);
    json_builder_end_array (b);
    json_builder_end_object (b);
  }
  for (int i = 0; i < n_extra; i++)
    add_extra_entry (b, &extra[i], &offset);
  json_builder_end_object (b);

  text = mm_json_builder_to_text (b);
  g_object_unref (b);
  s = g_string_new (text);
  g_free (text);
  while (s->len % 8 != 0)
    g_string_append_c (s, ' ');
  *len = s->len;
  return g_string_free (s, FALSE);
}

/* What would make the file unloadable is refused before any byte is written. */
static gboolean
check_savable (const MmNet *net, const MmModelMeta *meta, const char *path,
    GError **error)
{
  const MmNorm *norm = mm_net_norm ((MmNet *) net);

  for (int i = 0; i < mm_net_n_tensors (net); i++) {
    const MmTensorInfo *t = mm_net_tensor (net, i);
    gssize neg;
    for (size_t j = 0; j < t->size; j++) {
      if (!isfinite (t->data[j])) {
        g_set_error (error, MM_ERROR, MM_ERROR_INVALID,
            "%s: tensor %s has a non-finite value at index %zu; not saved",
            path, t->name, j);
        return FALSE;
      }
    }
    if ((neg = negative_variance (t)) >= 0) {
      g_set_error (error, MM_ERROR, MM_ERROR_INVALID,
          "%s: tensor %s has a negative variance at index %" G_GSSIZE_FORMAT
          "; not saved", path, t->name, neg);
      return FALSE;
    }
  }
  if (!isfinite (norm->image_mean) || !(norm->image_std > 0) || !isfinite (norm->image_std)) {
    g_set_error (error, MM_ERROR, MM_ERROR_INVALID,
        "%s: image normalisation mean %g std %g is invalid; not saved", path,
        norm->image_mean, norm->image_std);
    return FALSE;
  }
  for (int k = 0; k < MM_MFCC_COEFFS; k++) {
    if (!isfinite (norm->mfcc_mean[k]) || !(norm->mfcc_std[k] > 0)
        || !isfinite (norm->mfcc_std[k])) {
      g_set_error (error, MM_ERROR, MM_ERROR_INVALID,
          "%s: MFCC normalisation of coefficient %d (mean %g std %g) is invalid; "
          "not saved", path, k, norm->mfcc_mean[k], norm->mfcc_std[k]);
      return FALSE;
    }
  }
  if (meta && meta->mfcc_json && !is_json_object (meta->mfcc_json)) {
    g_set_error (error, MM_ERROR, MM_ERROR_INVALID,
        "%s: MFCC metadata is not a JSON object; not saved", path);
    return FALSE;
  }
  if (meta && meta->provenance_json && !is_json_object (meta->provenance_json)) {
    g_set_error (error, MM_ERROR, MM_ERROR_INVALID,
        "%s: provenance metadata is not a JSON object; not saved", path);
    return FALSE;
  }
  return TRUE;
}

static gboolean
write_all (int fd, const void *buf, size_t len)
{
  const guint8 *p = buf;
  while (len > 0) {
    ssize_t w = write (fd, p, len);
    if (w < 0 && errno == EINTR)
      continue;
    if (w <= 0)
      return FALSE;
    p += w;
    len -= (size_t) w;
  }
  return TRUE;
}

/* 4-byte words (float32 or int32) little-endian whatever the host: a
 * straight write on little-endian hosts, byte-swapped through a small buffer
 * elsewhere. */
static gboolean
write_words_le (int fd, const void *data, size_t n)
{
#if G_BYTE_ORDER == G_LITTLE_ENDIAN
  return write_all (fd, data, n * sizeof (float));
#else
  guint32 buf[1024];
  while (n > 0) {
    size_t m = MIN (n, G_N_ELEMENTS (buf));
    memcpy (buf, data, m * sizeof (float));
    for (size_t i = 0; i < m; i++)
      buf[i] = GUINT32_TO_LE (buf[i]);
    if (!write_all (fd, buf, m * sizeof (float)))
      return FALSE;
    data = (const guint8 *) data + m * sizeof (float);
    n -= m;
  }
  return TRUE;
#endif
}

static gboolean
write_model (int fd, const MmNet *net, const MmExtraTensor *extra, int n_extra,
    const char *header, gsize header_len)
{
  guint64 len_le = GUINT64_TO_LE ((guint64) header_len);

  if (!write_all (fd, &len_le, sizeof (len_le)) || !write_all (fd, header, header_len))
    return FALSE;
  for (int i = 0; i < mm_net_n_tensors (net); i++) {
    const MmTensorInfo *t = mm_net_tensor (net, i);
    if (!write_words_le (fd, t->data, t->size))
      return FALSE;
  }
  for (int i = 0; i < n_extra; i++)
    if (!write_words_le (fd, extra[i].data, extra[i].size))
      return FALSE;
  return fsync (fd) == 0;
}

/* Makes the rename itself durable; best effort (not every filesystem lets a
 * directory be opened and synced). */
static void
sync_dir_of (const char *path)
{
  char *dir = g_path_get_dirname (path);
  int fd = open (dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd >= 0) {
    fsync (fd);
    close (fd);
  }
  g_free (dir);
}

static gboolean save_file (const MmNet *net, const MmModelMeta *meta, const char *state_json,
    const MmExtraTensor *extra, int n_extra, const char *path, GError **error);

gboolean
mm_model_save (const MmNet *net, const MmModelMeta *meta, const char *path,
    GError **error)
{
  return save_file (net, meta, NULL, NULL, 0, path, error);
}

gboolean
mm_checkpoint_save (const MmNet *net, const char *state_json, const MmExtraTensor *extra,
    int n_extra, const char *path, GError **error)
{
  g_return_val_if_fail (state_json != NULL, FALSE);
  if (!is_json_object (state_json)) {
    g_set_error (error, MM_ERROR, MM_ERROR_INVALID,
        "%s: checkpoint state is not a JSON object; not saved", path);
    return FALSE;
  }
  return save_file (net, NULL, state_json, extra, n_extra, path, error);
}

static gboolean
save_file (const MmNet *net, const MmModelMeta *meta, const char *state_json,
    const MmExtraTensor *extra, int n_extra, const char *path, GError **error)
{
  char *header, *tmp;
  gsize header_len;
  int fd, saved_errno;

  g_return_val_if_fail (net != NULL && path != NULL, FALSE);
  if (!check_savable (net, meta, path, error))
    return FALSE;

  /* Beside the target, so that the rename stays within one filesystem and
   * is atomic: readers see the old model or the new one, never a part. */
  tmp = g_strconcat (path, ".tmp-XXXXXX", NULL);
  fd = g_mkstemp_full (tmp, O_WRONLY | O_CLOEXEC, 0666);
  if (fd < 0) {
    saved_errno = errno;
    g_set_error (error, MM_ERROR, MM_ERROR_IO, "%s: cannot create a temporary file: %s",
        path, g_strerror (saved_errno));
    g_free (tmp);
    return FALSE;
  }

  header = build_header (net, meta, state_json, extra, n_extra, &header_len);
  if (!write_model (fd, net, extra, n_extra, header, header_len)) {
    saved_errno = errno;
    close (fd);
    g_unlink (tmp);
    g_set_error (error, MM_ERROR, MM_ERROR_IO, "%s: cannot write %s: %s", path, tmp,
        g_strerror (saved_errno));
    goto fail;
  }
  if (close (fd) != 0 || g_rename (tmp, path) != 0) {
    saved_errno = errno;
    g_unlink (tmp);
    g_set_error (error, MM_ERROR, MM_ERROR_IO, "%s: cannot write (rename from %s): %s",
        path, tmp, g_strerror (saved_errno));
    goto fail;
  }
  sync_dir_of (path);
  g_free (header);
  g_free (tmp);
  return TRUE;

fail:
  g_free (header);
  g_free (tmp);
  return FALSE;
}

/* ------------------------------------------------------------------ load */

typedef struct {
  const char *name;
  guint64 begin, end;
} Span;

static int
compare_spans (const void *a, const void *b)
{
  const Span *x = a, *y = b;
  return x->begin < y->begin ? -1 : x->begin > y->begin ? 1 :
      x->end < y->end ? -1 : x->end > y->end ? 1 : 0;
}

#define FAIL(...) G_STMT_START { \
    g_set_error (error, MM_ERROR, MM_ERROR_FORMAT, __VA_ARGS__); \
    return FALSE; \
  } G_STMT_END

/* A JSON integer ≥ 0 (json-glib gives integers as gint64). */
static gboolean
node_uint (JsonNode *n, guint64 *v)
{
  gint64 x;
  if (!n || !JSON_NODE_HOLDS_VALUE (n) || json_node_get_value_type (n) != G_TYPE_INT64)
    return FALSE;
  x = json_node_get_int (n);
  if (x < 0)
    return FALSE;
  *v = (guint64) x;
  return TRUE;
}

static const char *
node_string (JsonNode *n)
{
  if (!n || !JSON_NODE_HOLDS_VALUE (n) || json_node_get_value_type (n) != G_TYPE_STRING)
    return NULL;
  return json_node_get_string (n);
}

static char *
shape_string (const int *shape, int ndim)
{
  GString *s = g_string_new ("[");
  for (int i = 0; i < ndim; i++)
    g_string_append_printf (s, "%s%d", i ? "," : "", shape[i]);
  g_string_append_c (s, ']');
  return g_string_free (s, FALSE);
}

/* The file's shape as text, for the message, whatever it holds. */
static char *
json_shape_string (JsonArray *a)
{
  GString *s = g_string_new ("[");
  for (guint i = 0; i < json_array_get_length (a); i++) {
    JsonNode *n = json_array_get_element (a, i);
    guint64 v;
    if (node_uint (n, &v))
      g_string_append_printf (s, "%s%" G_GUINT64_FORMAT, i ? "," : "", v);
    else
      g_string_append_printf (s, "%s?", i ? "," : "");
  }
  g_string_append_c (s, ']');
  return g_string_free (s, FALSE);
}

static gboolean
check_shape (const char *path, const MmTensorInfo *t, JsonNode *shape_node, GError **error)
{
  JsonArray *a;
  gboolean same;
  char *want, *got;

  if (!shape_node || !JSON_NODE_HOLDS_ARRAY (shape_node))
    FAIL ("%s: tensor %s has no shape array", path, t->name);
  a = json_node_get_array (shape_node);
  same = json_array_get_length (a) == (guint) t->ndim;
  for (int d = 0; same && d < t->ndim; d++) {
    guint64 v;
    same = node_uint (json_array_get_element (a, (guint) d), &v) && v == (guint64) t->shape[d];
  }
  if (same)
    return TRUE;
  want = shape_string (t->shape, t->ndim);
  got = json_shape_string (a);
  g_set_error (error, MM_ERROR, MM_ERROR_FORMAT,
      "%s: tensor %s has shape %s in the net but %s in the file", path, t->name, want, got);
  g_free (want);
  g_free (got);
  return FALSE;
}

/* Checks one tensor entry of the header against the net and records its span. */
static gboolean
check_tensor_entry (const char *path, MmNet *net, const char *name, JsonNode *node,
    guint64 data_size, Span *span, GError **error)
{
  const MmTensorInfo *t = mm_net_find_tensor (net, name);
  JsonObject *o;
  JsonArray *off;
  const char *dtype;
  guint64 begin, end;

  if (!t)
    FAIL ("%s: unexpected tensor %s (not part of %s)", path, name,
        mm_arch_name (mm_net_arch (net)));
  if (!JSON_NODE_HOLDS_OBJECT (node))
    FAIL ("%s: tensor %s is not a JSON object", path, name);
  o = json_node_get_object (node);
  dtype = node_string (json_object_get_member (o, "dtype"));
  if (!dtype)
    FAIL ("%s: tensor %s has no dtype", path, name);
  if (strcmp (dtype, "F32") != 0)
    FAIL ("%s: tensor %s has dtype %s, expected F32", path, name, dtype);
  if (!check_shape (path, t, json_object_get_member (o, "shape"), error))
    return FALSE;
  node = json_object_get_member (o, "data_offsets");
  if (!node || !JSON_NODE_HOLDS_ARRAY (node)
      || json_array_get_length (off = json_node_get_array (node)) != 2
      || !node_uint (json_array_get_element (off, 0), &begin)
      || !node_uint (json_array_get_element (off, 1), &end) || end < begin)
    FAIL ("%s: tensor %s has no valid data_offsets [begin, end]", path, name);
  if (end > data_size)
    FAIL ("%s: tensor %s has data_offsets [%" G_GUINT64_FORMAT ",%" G_GUINT64_FORMAT
        "] beyond the end of the data (%" G_GUINT64_FORMAT " bytes; file truncated?)",
        path, name, begin, end, data_size);
  if (end - begin != (guint64) t->size * sizeof (float))
    FAIL ("%s: tensor %s spans %" G_GUINT64_FORMAT " bytes, its shape needs %zu",
        path, name, end - begin, t->size * sizeof (float));
  span->name = t->name;
  span->begin = begin;
  span->end = end;
  return TRUE;
}

/* Spans sorted by begin must tile [0, data_size) exactly: no overlap (two
 * tensors sharing bytes), no gap, nothing after. */
static gboolean
check_spans_tile (const char *path, Span *spans, int n, guint64 data_size, GError **error)
{
  guint64 pos = 0;

  qsort (spans, (size_t) n, sizeof (Span), compare_spans);
  for (int i = 0; i < n; i++) {
    if (spans[i].begin < pos)
      FAIL ("%s: tensors %s and %s overlap at byte %" G_GUINT64_FORMAT, path,
          spans[i - 1].name, spans[i].name, spans[i].begin);
    if (spans[i].begin > pos)
      FAIL ("%s: data bytes %" G_GUINT64_FORMAT "-%" G_GUINT64_FORMAT
          " belong to no tensor", path, pos, spans[i].begin);
    pos = spans[i].end;
  }
  if (pos != data_size)
    FAIL ("%s: %" G_GUINT64_FORMAT " bytes after the last tensor", path, data_size - pos);
  return TRUE;
}

/* Reads exactly @len bytes at @offset. The size was taken from fstat before,
 * so a short read means the file shrank meanwhile. */
static gboolean
read_at (const char *path, int fd, void *buf, gsize len, guint64 offset, GError **error)
{
  guint8 *p = buf;

  while (len > 0) {
    ssize_t r = pread (fd, p, len, (off_t) offset);
    if (r < 0 && errno == EINTR)
      continue;
    if (r < 0) {
      int e = errno;
      g_set_error (error, MM_ERROR, MM_ERROR_IO, "%s: cannot read: %s", path, g_strerror (e));
      return FALSE;
    }
    if (r == 0) {
      g_set_error (error, MM_ERROR, MM_ERROR_IO, "%s: file shrank while being read", path);
      return FALSE;
    }
    p += r;
    len -= (gsize) r;
    offset += (guint64) r;
  }
  return TRUE;
}

/* Reads a tensor's bytes straight into the net, then checks its values. */
static gboolean
read_tensor (const char *path, int fd, guint64 offset, const MmTensorInfo *t, GError **error)
{
  gssize i;

  if (!read_at (path, fd, t->data, t->size * sizeof (float), offset, error))
    return FALSE;
#if G_BYTE_ORDER != G_LITTLE_ENDIAN
  {
    guint32 *w = (guint32 *) t->data;
    for (size_t i = 0; i < t->size; i++)
      w[i] = GUINT32_FROM_LE (w[i]);
  }
#endif
  for (i = 0; i < (gssize) t->size; i++)
    if (!isfinite (t->data[i]))
      FAIL ("%s: tensor %s has a non-finite value (%g) at index %" G_GSSIZE_FORMAT, path,
          t->name, t->data[i], i);
  if ((i = negative_variance (t)) >= 0)
    FAIL ("%s: tensor %s has a negative variance (%g) at index %" G_GSSIZE_FORMAT, path,
        t->name, t->data[i], i);
  return TRUE;
}

static gboolean
parse_number (const char *s, double *v)
{
  char *end;
  if (!s || !*s)
    return FALSE;
  *v = g_ascii_strtod (s, &end);
  return *end == '\0' && isfinite (*v);
}

static gboolean
meta_number (const char *path, JsonObject *md, const char *key, gboolean positive,
    float *out, GError **error)
{
  const char *s = node_string (json_object_get_member (md, key));
  double v;

  if (!s)
    FAIL ("%s: __metadata__ has no %s", path, key);
  /* judged as the float it becomes: 1e-50 would be a zero std, 1e39 inf */
  if (!parse_number (s, &v) || !isfinite ((float) v) || (positive && !((float) v > 0)))
    FAIL ("%s: __metadata__ %s \"%s\" is not a %s number", path, key, s,
        positive ? "positive" : "finite");
  *out = (float) v;
  return TRUE;
}

/* The JSON text of metadata @key, parsed within mm-json.h's limits; owned
 * by the caller. */
static JsonNode *
parse_meta_json (const char *path, const char *key, const char *text, GError **error)
{
  JsonNode *root = mm_json_parse (text, -1, error);
  if (!root)
    g_prefix_error (error, "%s: __metadata__ %s ", path, key);
  return root;
}

static gboolean
meta_number_array (const char *path, JsonObject *md, const char *key, gboolean positive,
    float *out, GError **error)
{
  const char *s = node_string (json_object_get_member (md, key));
  JsonNode *root;
  JsonArray *a;
  gboolean ok = TRUE;

  if (!s)
    FAIL ("%s: __metadata__ has no %s", path, key);
  if (!(root = parse_meta_json (path, key, s, error)))
    return FALSE;
  if (!JSON_NODE_HOLDS_ARRAY (root)
      || json_array_get_length (a = json_node_get_array (root)) != MM_MFCC_COEFFS) {
    json_node_unref (root);
    FAIL ("%s: __metadata__ %s is not a JSON array of %d numbers", path, key,
        MM_MFCC_COEFFS);
  }
  for (guint i = 0; ok && i < MM_MFCC_COEFFS; i++) {
    JsonNode *n = json_array_get_element (a, i);
    double v;
    GType type = JSON_NODE_HOLDS_VALUE (n) ? json_node_get_value_type (n) : G_TYPE_INVALID;
    if (type != G_TYPE_DOUBLE && type != G_TYPE_INT64) {
      g_set_error (error, MM_ERROR, MM_ERROR_FORMAT,
          "%s: __metadata__ %s element %u is not a number", path, key, i);
      ok = FALSE;
      break;
    }
    v = json_node_get_double (n);
    if (!isfinite ((float) v) || (positive && !((float) v > 0))) {
      g_set_error (error, MM_ERROR, MM_ERROR_FORMAT,
          "%s: __metadata__ %s element %u (%g) is not %s", path, key, i, v,
          positive ? "positive" : "finite");
      ok = FALSE;
      break;
    }
    out[i] = (float) v;
  }
  json_node_unref (root);
  return ok;
}

static gboolean
meta_json_object (const char *path, JsonObject *md, const char *key, char **out,
    GError **error)
{
  JsonNode *n = json_object_get_member (md, key), *root;
  const char *s = node_string (n);
  gboolean is_object;

  if (!n)
    return TRUE;                /* optional */
  if (!s)
    FAIL ("%s: __metadata__ %s is not a JSON object", path, key);
  if (!(root = parse_meta_json (path, key, s, error)))
    return FALSE;
  is_object = JSON_NODE_HOLDS_OBJECT (root);
  json_node_unref (root);
  if (!is_object)
    FAIL ("%s: __metadata__ %s is not a JSON object", path, key);
  *out = g_strdup (s);
  return TRUE;
}

/* safetensors requires every metadata value to be a string; then our own
 * keys: format tag, version, arch. */
static gboolean
check_metadata (const char *path, JsonObject *root, JsonObject **md_out, MmArch *arch,
    GError **error)
{
  JsonNode *n = json_object_get_member (root, "__metadata__");
  JsonObject *md;
  GList *keys;
  const char *format, *version, *arch_name;

  if (!n)
    FAIL ("%s: header has no __metadata__ (not an mmdigits model)", path);
  if (!JSON_NODE_HOLDS_OBJECT (n))
    FAIL ("%s: __metadata__ is not a JSON object", path);
  md = json_node_get_object (n);
  keys = json_object_get_members (md);
  for (GList *l = keys; l; l = l->next) {
    if (!node_string (json_object_get_member (md, l->data))) {
      g_set_error (error, MM_ERROR, MM_ERROR_FORMAT,
          "%s: __metadata__ %s is not a string", path, (const char *) l->data);
      g_list_free (keys);
      return FALSE;
    }
  }
  g_list_free (keys);
  format = node_string (json_object_get_member (md, "format"));
  if (!format)
    FAIL ("%s: __metadata__ has no format (not an mmdigits model)", path);
  if (strcmp (format, MM_FORMAT_TAG) != 0)
    FAIL ("%s: format tag is \"%s\", expected \"" MM_FORMAT_TAG "\"", path, format);
  version = node_string (json_object_get_member (md, "format_version"));
  if (!version)
    FAIL ("%s: __metadata__ has no format_version", path);
  if (strcmp (version, MM_FORMAT_VERSION) != 0)
    FAIL ("%s: format_version \"%s\" is not supported (this build reads "
        MM_FORMAT_VERSION ")", path, version);
  arch_name = node_string (json_object_get_member (md, "arch"));
  if (!arch_name)
    FAIL ("%s: __metadata__ has no arch", path);
  if (!mm_arch_from_name (arch_name, arch))
    FAIL ("%s: unknown arch \"%s\"", path, arch_name);
  *md_out = md;
  return TRUE;
}

/* Normalisation: required for the modalities the arch uses; checked when
 * present for the others; study defaults otherwise. */
static gboolean
load_norm (const char *path, JsonObject *md, MmArch arch, MmNorm *norm, GError **error)
{
  if (mm_arch_uses_image (arch) || json_object_has_member (md, "image_mean")
      || json_object_has_member (md, "image_std")) {
    if (!meta_number (path, md, "image_mean", FALSE, &norm->image_mean, error)
        || !meta_number (path, md, "image_std", TRUE, &norm->image_std, error))
      return FALSE;
  }
  if (mm_arch_uses_audio (arch) || json_object_has_member (md, "mfcc_mean")
      || json_object_has_member (md, "mfcc_std")) {
    if (!meta_number_array (path, md, "mfcc_mean", FALSE, norm->mfcc_mean, error)
        || !meta_number_array (path, md, "mfcc_std", TRUE, norm->mfcc_std, error))
      return FALSE;
  }
  return TRUE;
}

/* The calibration temperature: optional (1 when absent), positive. */
static gboolean
load_temperature (const char *path, JsonObject *md, MmNet *net, GError **error)
{
  float t = 1.0f;

  if (json_object_has_member (md, "temperature")
      && !meta_number (path, md, "temperature", TRUE, &t, error))
    return FALSE;
  mm_net_set_temperature (net, t);
  return TRUE;
}

static const MmExtraTensor *
find_extra (const MmExtraTensor *extra, int n_extra, const char *name)
{
  for (int i = 0; i < n_extra; i++)
    if (strcmp (extra[i].name, name) == 0)
      return &extra[i];
  return NULL;
}

/* Checks one extra tensor's entry: 1-D, its dtype, exactly its size. */
static gboolean
check_extra_entry (const char *path, const MmExtraTensor *x, JsonNode *node,
    guint64 data_size, Span *span, GError **error)
{
  const char *want = x->is_int ? "I32" : "F32", *dtype;
  JsonObject *o;
  JsonNode *n;
  JsonArray *a;
  guint64 dim, begin, end;

  if (!JSON_NODE_HOLDS_OBJECT (node))
    FAIL ("%s: tensor %s is not a JSON object", path, x->name);
  o = json_node_get_object (node);
  dtype = node_string (json_object_get_member (o, "dtype"));
  if (!dtype || strcmp (dtype, want) != 0)
    FAIL ("%s: tensor %s has dtype %s, expected %s", path, x->name, dtype ? dtype : "(none)",
        want);
  n = json_object_get_member (o, "shape");
  if (!n || !JSON_NODE_HOLDS_ARRAY (n) || json_array_get_length (a = json_node_get_array (n)) != 1
      || !node_uint (json_array_get_element (a, 0), &dim) || dim != x->size)
    FAIL ("%s: tensor %s does not have the shape [%zu] this run needs", path, x->name,
        x->size);
  n = json_object_get_member (o, "data_offsets");
  if (!n || !JSON_NODE_HOLDS_ARRAY (n) || json_array_get_length (a = json_node_get_array (n)) != 2
      || !node_uint (json_array_get_element (a, 0), &begin)
      || !node_uint (json_array_get_element (a, 1), &end) || end < begin
      || end > data_size || end - begin != (guint64) x->size * 4)
    FAIL ("%s: tensor %s has no valid data_offsets for its %zu values", path, x->name, x->size);
  span->name = x->name;
  span->begin = begin;
  span->end = end;
  return TRUE;
}

/* Reads an extra tensor's words into the caller's memory; the caller judges
 * the values. */
static gboolean
read_extra (const char *path, int fd, guint64 offset, const MmExtraTensor *x, GError **error)
{
  if (!read_at (path, fd, x->data, x->size * 4, offset, error))
    return FALSE;
#if G_BYTE_ORDER != G_LITTLE_ENDIAN
  {
    guint32 *w = (guint32 *) x->data;
    for (size_t i = 0; i < x->size; i++)
      w[i] = GUINT32_FROM_LE (w[i]);
  }
#endif
  return TRUE;
}

/* Checks every tensor entry, that all the net's tensors and all @extra are
 * there and that the spans tile the data (which starts at byte
 * @data_start), then reads the values: only a file that describes exactly
 * the net is read further. */
static gboolean
load_tensors (const char *path, JsonObject *root, MmNet *net, const MmExtraTensor *extra,
    int n_extra, int fd, guint64 data_start, guint64 data_size, GError **error)
{
  int n_net = mm_net_n_tensors (net), n = 0;
  Span *spans = g_new0 (Span, json_object_get_size (root));
  GList *members = json_object_get_members (root);
  gboolean ok = TRUE;

  for (GList *l = members; ok && l; l = l->next) {
    const char *name = l->data;
    const MmExtraTensor *x = find_extra (extra, n_extra, name);
    if (strcmp (name, "__metadata__") == 0)
      continue;
    if (x)
      ok = check_extra_entry (path, x, json_object_get_member (root, name), data_size,
          &spans[n++], error);
    else
      ok = check_tensor_entry (path, net, name, json_object_get_member (root, name),
          data_size, &spans[n++], error);
  }
  g_list_free (members);
  for (int i = 0; ok && i < n_net; i++) {
    const MmTensorInfo *t = mm_net_tensor (net, i);
    if (!json_object_has_member (root, t->name)) {
      g_set_error (error, MM_ERROR, MM_ERROR_FORMAT, "%s: tensor %s is missing (%s needs it)",
          path, t->name, mm_arch_name (mm_net_arch (net)));
      ok = FALSE;
    }
  }
  for (int i = 0; ok && i < n_extra; i++) {
    if (!json_object_has_member (root, extra[i].name)) {
      g_set_error (error, MM_ERROR, MM_ERROR_FORMAT, "%s: tensor %s is missing",
          path, extra[i].name);
      ok = FALSE;
    }
  }
  ok = ok && check_spans_tile (path, spans, n, data_size, error);
  for (int i = 0; ok && i < n; i++) {
    const MmExtraTensor *x = find_extra (extra, n_extra, spans[i].name);
    if (x)
      ok = read_extra (path, fd, data_start + spans[i].begin, x, error);
    else
      ok = read_tensor (path, fd, data_start + spans[i].begin,
          mm_net_find_tensor (net, spans[i].name), error);
  }
  g_free (spans);
  return ok;
}

static const char *
file_kind (mode_t mode)
{
  return S_ISDIR (mode) ? "a directory" : S_ISFIFO (mode) ? "a FIFO" :
      S_ISCHR (mode) ? "a character device" : S_ISBLK (mode) ? "a block device" :
      S_ISSOCK (mode) ? "a socket" : "not a regular file";
}

/* Opens @path for reading if it is a regular file. O_NONBLOCK: opening a
 * FIFO would otherwise wait for a writer; a device like /dev/zero would be
 * read without end. */
static int
open_regular (const char *path, guint64 *size, GError **error)
{
  int fd = open (path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  struct stat st;

  if (fd < 0 || fstat (fd, &st) != 0) {
    int e = errno;
    g_set_error (error, MM_ERROR, MM_ERROR_IO, "%s: cannot read: %s", path, g_strerror (e));
    if (fd >= 0)
      close (fd);
    return -1;
  }
  if (!S_ISREG (st.st_mode)) {
    g_set_error (error, MM_ERROR, MM_ERROR_IO, "%s: is %s, not a model file", path,
        file_kind (st.st_mode));
    close (fd);
    return -1;
  }
  *size = (guint64) st.st_size;
  return fd;
}

/* The 8-byte length and the JSON header, parsed within MAX_HEADER_LEN and
 * mm-json.h's limits. Returns the root object's node, owned by the caller. */
static JsonNode *
read_header (const char *path, int fd, guint64 size, guint64 *header_len, GError **error)
{
  guint64 len_le;
  char *text;
  JsonNode *root;
  GError *jerr = NULL;

  if (size < 8) {
    g_set_error (error, MM_ERROR, MM_ERROR_FORMAT,
        "%s: file is %" G_GUINT64_FORMAT " bytes, too short for a safetensors header",
        path, size);
    return NULL;
  }
  if (!read_at (path, fd, &len_le, 8, 0, error))
    return NULL;
  *header_len = GUINT64_FROM_LE (len_le);
  if (*header_len > size - 8) {
    g_set_error (error, MM_ERROR, MM_ERROR_FORMAT,
        "%s: header length %" G_GUINT64_FORMAT " is larger than the file (%"
        G_GUINT64_FORMAT " bytes)", path, *header_len, size);
    return NULL;
  }
  if (*header_len > MAX_HEADER_LEN) {
    g_set_error (error, MM_ERROR, MM_ERROR_FORMAT,
        "%s: header of %" G_GUINT64_FORMAT " bytes is longer than the %u this reader "
        "accepts", path, *header_len, MAX_HEADER_LEN);
    return NULL;
  }
  text = g_malloc (*header_len + 1);
  if (!read_at (path, fd, text, *header_len, 8, error)) {
    g_free (text);
    return NULL;
  }
  root = mm_json_parse (text, (gssize) *header_len, &jerr);
  g_free (text);
  if (!root) {
    g_set_error (error, MM_ERROR, MM_ERROR_FORMAT, "%s: header %s", path, jerr->message);
    g_error_free (jerr);
    return NULL;
  }
  if (!JSON_NODE_HOLDS_OBJECT (root)) {
    g_set_error (error, MM_ERROR, MM_ERROR_FORMAT, "%s: header is not a JSON object", path);
    json_node_unref (root);
    return NULL;
  }
  return root;
}

gboolean
mm_model_read_arch (const char *path, MmArch *arch, GError **error)
{
  guint64 size, header_len;
  int fd;
  JsonNode *root;
  JsonObject *md;
  gboolean ok;

  g_return_val_if_fail (path != NULL && arch != NULL, FALSE);
  if ((fd = open_regular (path, &size, error)) < 0)
    return FALSE;
  root = read_header (path, fd, size, &header_len, error);
  close (fd);
  ok = root && check_metadata (path, json_node_get_object (root), &md, arch, error);
  g_clear_pointer (&root, json_node_unref);
  return ok;
}

static MmNet *load_file (const char *path, MmModelMeta *meta, MmArch want_arch,
    char **state_json, const MmExtraTensor *extra, int n_extra, GError **error);
static gboolean check_kind (const char *path, JsonObject *md, gboolean want_checkpoint,
    char **state_json, GError **error);

/* @want_arch: MM_N_ARCH for any. */
static gboolean
check_arch (const char *path, MmArch arch, MmArch want_arch, GError **error)
{
  if (want_arch == MM_N_ARCH || arch == want_arch)
    return TRUE;
  g_set_error (error, MM_ERROR, MM_ERROR_MISMATCH, "%s: checkpoint is of %s, this run "
      "trains %s", path, mm_arch_name (arch), mm_arch_name (want_arch));
  return FALSE;
}

char *
mm_checkpoint_read_state (const char *path, MmArch arch, GError **error)
{
  guint64 size, header_len;
  int fd;
  JsonNode *root;
  JsonObject *md;
  MmArch got;
  char *state = NULL;

  g_return_val_if_fail (path != NULL, NULL);
  if ((fd = open_regular (path, &size, error)) < 0)
    return NULL;
  root = read_header (path, fd, size, &header_len, error);
  close (fd);
  if (!root || !check_metadata (path, json_node_get_object (root), &md, &got, error)
      || !check_kind (path, md, TRUE, &state, error) || !check_arch (path, got, arch, error))
    g_clear_pointer (&state, g_free);
  g_clear_pointer (&root, json_node_unref);
  return state;
}

MmNet *
mm_model_load (const char *path, MmModelMeta *meta, GError **error)
{
  return load_file (path, meta, MM_N_ARCH, NULL, NULL, 0, error);
}

MmNet *
mm_checkpoint_load (const char *path, MmArch arch, char **state_json,
    const MmExtraTensor *extra, int n_extra, GError **error)
{
  g_return_val_if_fail (state_json != NULL, NULL);
  return load_file (path, NULL, arch, state_json, extra, n_extra, error);
}

/* A model where a checkpoint is wanted, or the reverse, is refused by name:
 * the tensor-by-tensor message would not say what is wrong. */
static gboolean
check_kind (const char *path, JsonObject *md, gboolean want_checkpoint, char **state_json,
    GError **error)
{
  JsonNode *n = json_object_get_member (md, CHECKPOINT_KEY);

  if (!want_checkpoint && n)
    FAIL ("%s: is a training checkpoint, not a model (continue it with "
        "'mmdigits train --checkpoint %s --resume')", path, path);
  if (want_checkpoint && !n)
    FAIL ("%s: is not a training checkpoint (no __metadata__ " CHECKPOINT_KEY ")", path);
  if (want_checkpoint)
    return meta_json_object (path, md, CHECKPOINT_KEY, state_json, error);
  return TRUE;
}

/* @want_arch: MM_N_ARCH for any; @state_json: NULL for a model. */
static MmNet *
load_file (const char *path, MmModelMeta *meta, MmArch want_arch, char **state_json,
    const MmExtraTensor *extra, int n_extra, GError **error)
{
  guint64 size, header_len;
  int fd;
  JsonNode *root_node = NULL;
  JsonObject *root, *md;
  MmArch arch;
  MmNet *net = NULL;
  MmModelMeta m = { NULL, NULL };

  g_return_val_if_fail (path != NULL, NULL);
  if (meta)
    memset (meta, 0, sizeof (*meta));
  if ((fd = open_regular (path, &size, error)) < 0)
    return NULL;
  if (!(root_node = read_header (path, fd, size, &header_len, error))
      || !check_metadata (path, root = json_node_get_object (root_node), &md, &arch, error)
      || !check_kind (path, md, state_json != NULL, state_json, error))
    goto fail;
  if (!check_arch (path, arch, want_arch, error))
    goto fail;

  net = mm_net_new_blank (arch);   /* every tensor is read from the file */
  if (!load_tensors (path, root, net, extra, n_extra, fd, 8 + header_len,
          size - 8 - header_len, error)
      || !load_norm (path, md, arch, mm_net_norm (net), error)
      || !load_temperature (path, md, net, error)
      || !meta_json_object (path, md, "mfcc", &m.mfcc_json, error)
      || !meta_json_object (path, md, "provenance", &m.provenance_json, error))
    goto fail;

  if (meta)
    *meta = m;
  else
    mm_model_meta_clear (&m);
  json_node_unref (root_node);
  close (fd);
  return net;

fail:
  mm_model_meta_clear (&m);
  if (state_json)
    g_clear_pointer (state_json, g_free);
  g_clear_pointer (&net, mm_net_free);
  g_clear_pointer (&root_node, json_node_unref);
  close (fd);
  return NULL;
}

/* ------------------------------------------------------------------ dates */

gboolean
mm_model_reproducible (void)
{
  const char *s = g_getenv ("SOURCE_DATE_EPOCH");
  return s && *s;
}

char *
mm_model_date (void)
{
  const char *s = g_getenv ("SOURCE_DATE_EPOCH");
  GDateTime *t = NULL;
  char *out, *end;

  if (s && *s) {
    gint64 epoch = g_ascii_strtoll (s, &end, 10);
    /* the spec: a malformed value is an error; we fall back to now rather
     * than fail a training run over a date */
    if (*end == '\0')
      t = g_date_time_new_from_unix_utc (epoch);
  }
  if (!t)
    t = g_date_time_new_now_utc ();
  out = g_date_time_format_iso8601 (t);
  g_date_time_unref (t);
  return out;
}
