/* Model files (safetensors): round trips for every arch, atomic saving, and
 * a loader that refuses each kind of damaged file with a message naming the
 * file and what is wrong. Damaged files are made by editing a saved one. */
#include <gio/gio.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "mm-error.h"
#include "mm-modelfile.h"
#include "mm-test-util.h"

static char *tmp_dir;

static void
setup (void)
{
  tmp_dir = mm_test_tmp_dir_new ("modelfile");
}

static void
teardown (void)
{
  mm_test_tmp_dir_remove (g_steal_pointer (&tmp_dir));
}

static char *
tmp_path (const char *name)
{
  return g_build_filename (tmp_dir, name, NULL);
}

/* A net whose every tensor (buffers included) holds distinct values, with a
 * non-default norm, so a round trip that drops or swaps anything shows. */
static MmNet *
make_net (MmArch arch, guint64 seed)
{
  MmNet *net = mm_net_new (arch, seed);
  MmNorm *norm = mm_net_norm (net);

  for (int i = 0; i < mm_net_n_tensors (net); i++) {
    const MmTensorInfo *t = mm_net_tensor (net, i);
    if (!t->grad)               /* buffers start at 0 / 1: make them distinct */
      mm_test_fill_uniform (t->data, t->size, 0.1f, 2.0f, seed + (guint64) i);
  }
  norm->image_mean = 0.1307f;
  norm->image_std = 0.3081f;
  for (int k = 0; k < MM_MFCC_COEFFS; k++) {
    norm->mfcc_mean[k] = -3.25f + 1.0f / (k + 3);
    norm->mfcc_std[k] = 0.7f + 0.11f * k;
  }
  return net;
}

static char *
save_net (MmNet *net, const char *name)
{
  char *path = tmp_path (name);
  GError *err = NULL;
  ck_assert_msg (mm_model_save (net, NULL, path, &err), "%s", err ? err->message : "");
  return path;
}

static void
assert_nets_identical (MmNet *a, MmNet *b)
{
  ck_assert_int_eq (mm_net_arch (a), mm_net_arch (b));
  ck_assert_int_eq (mm_net_n_tensors (a), mm_net_n_tensors (b));
  for (int i = 0; i < mm_net_n_tensors (a); i++) {
    const MmTensorInfo *x = mm_net_tensor (a, i), *y = mm_net_tensor (b, i);
    ck_assert_str_eq (x->name, y->name);
    ck_assert_uint_eq (x->size, y->size);
    ck_assert_msg (memcmp (x->data, y->data, x->size * sizeof (float)) == 0,
        "tensor %s differs after the round trip", x->name);
  }
  ck_assert_msg (memcmp (mm_net_norm (a), mm_net_norm (b), sizeof (MmNorm)) == 0,
      "norm differs after the round trip");
}

START_TEST (test_model_round_trip_is_bit_identical_for_every_arch)
{
  for (int arch = 0; arch < MM_N_ARCH; arch++) {
    MmNet *net = make_net ((MmArch) arch, 1000 + (guint64) arch), *back;
    MmModelMeta meta = { (char *) "{\"sample_rate\": 16000, \"n_mfcc\": 13}",
                         (char *) "{\"seed\": 7, \"accuracy\": 0.987}" };
    MmModelMeta got = { NULL, NULL };
    char *path = tmp_path ("m.safetensors");
    GError *err = NULL;

    ck_assert_msg (mm_model_save (net, &meta, path, &err), "%s", err ? err->message : "");
    back = mm_model_load (path, &got, &err);
    ck_assert_msg (back != NULL, "%s: %s", mm_arch_name ((MmArch) arch),
        err ? err->message : "");
    assert_nets_identical (net, back);
    ck_assert_str_eq (got.mfcc_json, meta.mfcc_json);
    ck_assert_str_eq (got.provenance_json, meta.provenance_json);
    mm_model_meta_clear (&got);
    ck_assert_ptr_null (got.mfcc_json);
    mm_net_free (back);
    mm_net_free (net);
    g_unlink (path);
    g_free (path);
  }
}
END_TEST

START_TEST (test_model_without_meta_loads_with_null_meta)
{
  MmNet *net = make_net (MM_ARCH_AUDIONET_LSTM, 3), *back;
  char *path = save_net (net, "a.safetensors");
  MmModelMeta got = { (char *) "stale", (char *) "stale" };
  GError *err = NULL;

  back = mm_model_load (path, &got, &err);
  ck_assert_msg (back != NULL, "%s", err ? err->message : "");
  ck_assert_ptr_null (got.mfcc_json);
  ck_assert_ptr_null (got.provenance_json);
  mm_net_free (back);
  back = mm_model_load (path, NULL, &err);
  ck_assert_msg (back != NULL, "%s", err ? err->message : "");
  mm_net_free (back);
  mm_net_free (net);
  g_free (path);
}
END_TEST

/* The calibration temperature travels with the model; an uncalibrated
 * model loads with T = 1. */
START_TEST (test_model_temperature_round_trips)
{
  MmNet *net = make_net (MM_ARCH_IMAGENET_CNN, 4), *back;
  char *path;
  GError *err = NULL;

  back = mm_model_load (path = save_net (net, "t1.safetensors"), NULL, &err);
  ck_assert_msg (back != NULL, "%s", err ? err->message : "");
  ck_assert_float_eq (mm_net_temperature (back), 1.0f);
  mm_net_free (back);
  g_free (path);
  mm_net_set_temperature (net, 1.75f);
  back = mm_model_load (path = save_net (net, "t2.safetensors"), NULL, &err);
  ck_assert_msg (back != NULL, "%s", err ? err->message : "");
  ck_assert_float_eq (mm_net_temperature (back), 1.75f);
  mm_net_free (back);
  mm_net_free (net);
  g_free (path);
}
END_TEST

/* Reads the file apart: header JSON (parsed) and the data section. */
typedef struct {
  JsonParser *parser;
  JsonObject *root;
  GBytes *data;
} Parts;

static void
read_parts (const char *path, Parts *p)
{
  char *contents;
  gsize size;
  guint64 n;

  ck_assert (g_file_get_contents (path, &contents, &size, NULL));
  ck_assert_uint_ge (size, 8);
  memcpy (&n, contents, 8);
  n = GUINT64_FROM_LE (n);
  ck_assert_uint_le (n, size - 8);
  p->parser = json_parser_new ();
  ck_assert (json_parser_load_from_data (p->parser, contents + 8, (gssize) n, NULL));
  p->root = json_node_get_object (json_parser_get_root (p->parser));
  p->data = g_bytes_new (contents + 8 + n, size - 8 - n);
  g_free (contents);
}

static void
write_raw (const char *path, const char *header, gsize header_len, GBytes *data)
{
  GByteArray *a = g_byte_array_new ();
  guint64 n = GUINT64_TO_LE ((guint64) header_len);
  gsize len;
  const guint8 *d = g_bytes_get_data (data, &len);

  g_byte_array_append (a, (const guint8 *) &n, 8);
  g_byte_array_append (a, (const guint8 *) header, (guint) header_len);
  g_byte_array_append (a, d, (guint) len);
  ck_assert (g_file_set_contents (path, (const char *) a->data, (gssize) a->len, NULL));
  g_byte_array_unref (a);
}

static void
write_parts (const char *path, Parts *p)
{
  JsonGenerator *gen = json_generator_new ();
  gsize len;
  char *text;

  json_generator_set_root (gen, json_parser_get_root (p->parser));
  text = json_generator_to_data (gen, &len);
  write_raw (path, text, len, p->data);
  g_free (text);
  g_object_unref (gen);
}

static void
parts_clear (Parts *p)
{
  g_object_unref (p->parser);
  g_bytes_unref (p->data);
}

static JsonObject *
metadata (Parts *p)
{
  return json_object_get_object_member (p->root, "__metadata__");
}

static void
assert_load_fails (const char *path, const char *substr)
{
  GError *err = NULL;
  MmNet *net = mm_model_load (path, NULL, &err);

  ck_assert_msg (net == NULL, "a damaged file loaded (expected '%s')", substr);
  ck_assert_msg (err != NULL && err->domain == MM_ERROR, "no MM_ERROR for '%s'", substr);
  ck_assert_msg (g_str_has_prefix (err->message, path),
      "message does not start with the file: %s", err->message);
  ck_assert_msg (strstr (err->message, substr) != NULL,
      "message lacks '%s': %s", substr, err->message);
  g_error_free (err);
}

/* Saves an ImageNet_CNN, lets @edit damage it, and checks the refusal. */
typedef void (*EditFn) (Parts *p);

static void
check_edited_is_refused (EditFn edit, const char *substr)
{
  MmNet *net = make_net (MM_ARCH_IMAGENET_CNN, 11);
  char *path = save_net (net, "model.safetensors");
  Parts p;

  read_parts (path, &p);
  edit (&p);
  write_parts (path, &p);
  assert_load_fails (path, substr);
  parts_clear (&p);
  mm_net_free (net);
  g_free (path);
}

static void
set_float (Parts *p, const char *tensor, int index, float v)
{
  JsonObject *t = json_object_get_object_member (p->root, tensor);
  gint64 begin = json_array_get_int_element (json_object_get_array_member (t, "data_offsets"), 0);
  gsize len;
  guint8 *d = g_bytes_unref_to_data (p->data, &len);
  guint32 bits;

  memcpy (&bits, &v, 4);
  bits = GUINT32_TO_LE (bits);
  memcpy (d + begin + 4 * index, &bits, 4);
  p->data = g_bytes_new_take (d, len);
}

static void
edit_nan (Parts *p)
{
  set_float (p, "image.conv2.weight", 5, NAN);
}

static void
edit_remove_tensor (Parts *p)
{
  json_object_remove_member (p->root, "image.bn2.running_var");
}

static void
edit_shape (Parts *p)
{
  JsonObject *t = json_object_get_object_member (p->root, "image.conv1.weight");
  JsonArray *a = json_array_new ();
  json_array_add_int_element (a, 32);
  json_array_add_int_element (a, 1);
  json_array_add_int_element (a, 3);
  json_object_set_array_member (t, "shape", a);
}

static void
edit_dtype (Parts *p)
{
  JsonObject *t = json_object_get_object_member (p->root, "image.fc.bias");
  json_object_set_string_member (t, "dtype", "F16");
}

static void
edit_arch (Parts *p)
{
  json_object_set_string_member (metadata (p), "arch", "ResNet_50");
}

static void
edit_format (Parts *p)
{
  json_object_set_string_member (metadata (p), "format", "pytorch");
}

static void
edit_extra_tensor (Parts *p)
{
  JsonObject *t = json_object_new ();
  JsonArray *shape = json_array_new (), *off = json_array_new ();
  json_object_set_string_member (t, "dtype", "F32");
  json_object_set_array_member (t, "shape", shape);
  json_array_add_int_element (off, 0);
  json_array_add_int_element (off, 0);
  json_object_set_array_member (t, "data_offsets", off);
  json_object_set_object_member (p->root, "image.bn1.num_batches_tracked", t);
}

static void
edit_overlap (Parts *p)
{
  /* bn1.bias (32 floats) claims the bytes of conv1.bias (32 floats). */
  JsonObject *src = json_object_get_object_member (p->root, "image.conv1.bias");
  JsonObject *dst = json_object_get_object_member (p->root, "image.bn1.bias");
  JsonArray *o = json_object_get_array_member (src, "data_offsets");
  JsonArray *a = json_array_new ();
  json_array_add_int_element (a, json_array_get_int_element (o, 0));
  json_array_add_int_element (a, json_array_get_int_element (o, 1));
  json_object_set_array_member (dst, "data_offsets", a);
}

static void
edit_mfcc_std_short (Parts *p)
{
  json_object_set_string_member (metadata (p), "mfcc_std", "[1, 1, 1]");
}

static void
edit_image_std_zero (Parts *p)
{
  json_object_set_string_member (metadata (p), "image_std", "0");
}

/* Positive as a double, zero as the float32 the net divides by. */
static void
edit_image_std_float_underflow (Parts *p)
{
  json_object_set_string_member (metadata (p), "image_std", "1e-50");
}

/* Finite as a double, infinite as a float32. */
static void
edit_mfcc_mean_float_overflow (Parts *p)
{
  json_object_set_string_member (metadata (p), "mfcc_mean",
      "[0, 0, 0, 0, 0, 0, 1e39, 0, 0, 0, 0, 0, 0]");
}

START_TEST (test_model_missing_tensor_is_refused)
{
  check_edited_is_refused (edit_remove_tensor, "tensor image.bn2.running_var is missing");
}
END_TEST

START_TEST (test_model_wrong_shape_is_refused)
{
  check_edited_is_refused (edit_shape,
      "tensor image.conv1.weight has shape [32,1,3,3] in the net but [32,1,3] in the file");
}
END_TEST

START_TEST (test_model_wrong_dtype_is_refused)
{
  check_edited_is_refused (edit_dtype, "tensor image.fc.bias has dtype F16, expected F32");
}
END_TEST

START_TEST (test_model_nan_weight_is_refused)
{
  check_edited_is_refused (edit_nan, "tensor image.conv2.weight has a non-finite value");
}
END_TEST

START_TEST (test_model_unknown_arch_is_refused)
{
  check_edited_is_refused (edit_arch, "unknown arch \"ResNet_50\"");
}
END_TEST

START_TEST (test_model_wrong_format_tag_is_refused)
{
  check_edited_is_refused (edit_format, "format tag is \"pytorch\"");
}
END_TEST

START_TEST (test_model_unexpected_tensor_is_refused)
{
  check_edited_is_refused (edit_extra_tensor, "unexpected tensor image.bn1.num_batches_tracked");
}
END_TEST

START_TEST (test_model_overlapping_tensors_are_refused)
{
  check_edited_is_refused (edit_overlap, "overlap");
}
END_TEST

START_TEST (test_model_bad_norm_is_refused)
{
  check_edited_is_refused (edit_image_std_zero, "image_std \"0\" is not a positive number");
}
END_TEST

START_TEST (test_model_norm_out_of_float_range_is_refused)
{
  check_edited_is_refused (edit_image_std_float_underflow,
      "image_std \"1e-50\" is not a positive number");
  check_edited_is_refused (edit_mfcc_mean_float_overflow,
      "mfcc_mean element 6 (1e+39) is not finite");
}
END_TEST

START_TEST (test_model_short_mfcc_array_is_refused)
{
  /* ImageNet_CNN does not use audio, but a present mfcc_std is still checked. */
  check_edited_is_refused (edit_mfcc_std_short, "mfcc_std is not a JSON array of 13 numbers");
}
END_TEST

START_TEST (test_model_truncated_data_is_refused)
{
  MmNet *net = make_net (MM_ARCH_IMAGENET_CNN, 12);
  char *path = save_net (net, "model.safetensors");
  char *contents;
  gsize size;

  ck_assert (g_file_get_contents (path, &contents, &size, NULL));
  ck_assert (g_file_set_contents (path, contents, (gssize) (size - 100), NULL));
  assert_load_fails (path, "beyond the end of the data");
  g_free (contents);
  mm_net_free (net);
  g_free (path);
}
END_TEST

START_TEST (test_model_header_length_beyond_file_is_refused)
{
  MmNet *net = make_net (MM_ARCH_IMAGENET_CNN, 13);
  char *path = save_net (net, "model.safetensors");
  char *contents;
  gsize size;
  guint64 n = GUINT64_TO_LE (G_GUINT64_CONSTANT (1) << 40);

  ck_assert (g_file_get_contents (path, &contents, &size, NULL));
  memcpy (contents, &n, 8);
  ck_assert (g_file_set_contents (path, contents, (gssize) size, NULL));
  assert_load_fails (path, "header length 1099511627776 is larger than the file");
  g_free (contents);
  mm_net_free (net);
  g_free (path);
}
END_TEST

START_TEST (test_model_header_not_json_is_refused)
{
  char *path = tmp_path ("model.safetensors");
  GBytes *empty = g_bytes_new (NULL, 0);
  const char *junk = "PK\003\004 this is a zip, not JSON";

  write_raw (path, junk, strlen (junk), empty);
  assert_load_fails (path, "header is not JSON");
  g_bytes_unref (empty);
  g_free (path);
}
END_TEST

START_TEST (test_model_tiny_and_missing_files_are_refused)
{
  char *path = tmp_path ("tiny.safetensors");
  GError *err = NULL;

  ck_assert (g_file_set_contents (path, "abc", 3, NULL));
  assert_load_fails (path, "too short");
  g_unlink (path);
  ck_assert_ptr_null (mm_model_load (path, NULL, &err));
  ck_assert (g_error_matches (err, MM_ERROR, MM_ERROR_IO));
  g_clear_error (&err);
  g_free (path);
}
END_TEST

/* A header of @len bytes of @fill after @head, with no data section. */
static void
write_header_of (const char *path, const char *head, char fill, gsize len)
{
  char *text = g_malloc (len);
  GBytes *empty = g_bytes_new (NULL, 0);
  gsize h = strlen (head);

  memcpy (text, head, h);
  memset (text + h, fill, len - h);
  write_raw (path, text, len, empty);
  g_bytes_unref (empty);
  g_free (text);
}

/* json-glib descends once per level on the stack: 100,000 levels crashed
 * every program that loaded such a file, before any check of ours ran. */
START_TEST (test_model_deeply_nested_header_is_refused)
{
  char *path = tmp_path ("deep.safetensors");
  MmArch arch;
  GError *err = NULL;

  write_header_of (path, "", '[', 100000);
  assert_load_fails (path, "header nests deeper than 64 levels");
  ck_assert (!mm_model_read_arch (path, &arch, &err));
  ck_assert_msg (strstr (err->message, "nests deeper") != NULL, "%s", err->message);
  g_clear_error (&err);
  /* the same inside an object, as a writer's header would start */
  write_header_of (path, "{\"__metadata__\":", '{', 50000);
  assert_load_fails (path, "header nests deeper than 64 levels");
  g_free (path);
}
END_TEST

/* The metadata's JSON texts are parsed again: they are bounded too. */
static void
edit_deep_provenance (Parts *p)
{
  char *deep = g_strnfill (100000, '[');
  json_object_set_string_member (metadata (p), "provenance", deep);
  g_free (deep);
}

static void
edit_deep_mfcc_std (Parts *p)
{
  char *deep = g_strnfill (100000, '[');
  json_object_set_string_member (metadata (p), "mfcc_std", deep);
  g_free (deep);
}

START_TEST (test_model_deeply_nested_metadata_is_refused)
{
  check_edited_is_refused (edit_deep_provenance,
      "__metadata__ provenance nests deeper than 64 levels");
  check_edited_is_refused (edit_deep_mfcc_std,
      "__metadata__ mfcc_std nests deeper than 64 levels");
}
END_TEST

/* A 51 MB header of small values took 759 MB to parse. */
START_TEST (test_model_oversized_header_is_refused)
{
  char *path = tmp_path ("big.safetensors");
  GString *flat = g_string_new ("{\"__metadata__\":{\"format\":\"mmdigits\"},\"x\":[0");

  write_header_of (path, "{\"__metadata__\":\"", 'x', (1 << 20) + 1);
  assert_load_fails (path, "header of 1048577 bytes is longer than the 1048576 this reader accepts");

  /* under the size cap, over the value cap: 70,000 numbers in 140 KB */
  for (int i = 1; i < 70000; i++)
    g_string_append (flat, ",0");
  g_string_append (flat, "]}");
  write_header_of (path, flat->str, ' ', flat->len);
  assert_load_fails (path, "header holds more than 65536 values");
  g_string_free (flat, TRUE);
  g_free (path);
}
END_TEST

/* json-glib takes comments, in which a quote would hide brackets from the
 * scan that bounds the nesting: refused, as JSON itself does. */
START_TEST (test_model_header_with_comment_is_refused)
{
  char *path = tmp_path ("comment.safetensors");
  char *head = g_strconcat ("{\"__metadata__\": /* \" */ ", NULL);

  write_header_of (path, head, '[', 100000);
  assert_load_fails (path, "header is not JSON: a comment at byte 17");
  g_free (head);
  g_free (path);
}
END_TEST

/* /dev/zero was read until memory ran out; a FIFO blocked for ever. */
START_TEST (test_model_non_regular_files_are_refused)
{
  char *fifo = tmp_path ("fifo.safetensors");
  MmArch arch;
  GError *err = NULL;

  assert_load_fails ("/dev/zero", "is a character device, not a model file");
  assert_load_fails (tmp_dir, "is a directory, not a model file");
  ck_assert_int_eq (mkfifo (fifo, 0600), 0);
  assert_load_fails (fifo, "is a FIFO, not a model file");
  ck_assert (!mm_model_read_arch (fifo, &arch, &err));
  ck_assert (g_error_matches (err, MM_ERROR, MM_ERROR_IO));
  g_clear_error (&err);
  g_unlink (fifo);
  g_free (fifo);
}
END_TEST

static void
edit_negative_variance (Parts *p)
{
  set_float (p, "image.bn2.running_var", 17, -0.25f);
}

/* Within (−ε, 0) the square root exists, but a variance is never negative. */
static void
edit_slightly_negative_variance (Parts *p)
{
  set_float (p, "image.bn1.running_var", 0, -1e-7f);
}

static void
edit_infinite_mean (Parts *p)
{
  set_float (p, "image.bn1.running_mean", 3, INFINITY);
}

START_TEST (test_model_invalid_batchnorm_statistics_are_refused)
{
  check_edited_is_refused (edit_negative_variance,
      "tensor image.bn2.running_var has a negative variance (-0.25) at index 17");
  check_edited_is_refused (edit_slightly_negative_variance,
      "tensor image.bn1.running_var has a negative variance");
  check_edited_is_refused (edit_infinite_mean,
      "tensor image.bn1.running_mean has a non-finite value (inf) at index 3");
}
END_TEST

START_TEST (test_model_read_arch_reads_the_header_alone)
{
  MmNet *net = make_net (MM_ARCH_HYBRIDNET_CNN_LSTM, 9);
  char *path = save_net (net, "h.safetensors");
  char *contents;
  gsize size;
  MmArch arch = MM_ARCH_IMAGENET_CNN;
  GError *err = NULL;

  ck_assert_msg (mm_model_read_arch (path, &arch, &err), "%s", err ? err->message : "");
  ck_assert_int_eq (arch, MM_ARCH_HYBRIDNET_CNN_LSTM);
  /* the data section is not read: a truncated file still names its arch */
  ck_assert (g_file_get_contents (path, &contents, &size, NULL));
  ck_assert (g_file_set_contents (path, contents, (gssize) (size - 1000), NULL));
  ck_assert (mm_model_read_arch (path, &arch, NULL));
  ck_assert_int_eq (arch, MM_ARCH_HYBRIDNET_CNN_LSTM);
  assert_load_fails (path, "beyond the end of the data");
  g_free (contents);
  mm_net_free (net);
  g_free (path);
}
END_TEST

START_TEST (test_model_file_layout_follows_safetensors)
{
  /* What any safetensors reader relies on: the JSON starts with '{', the data
   * starts 8-aligned, offsets tile the data in the net's order, metadata
   * values are strings with the documented keys. */
  MmNet *net = make_net (MM_ARCH_HYBRIDNET_CNN, 5);
  char *path = save_net (net, "h.safetensors");
  char *contents;
  gsize size;
  guint64 n, pos = 0;
  Parts p;
  JsonObject *md;
  float first;

  ck_assert (g_file_get_contents (path, &contents, &size, NULL));
  memcpy (&n, contents, 8);
  n = GUINT64_FROM_LE (n);
  ck_assert_int_eq (contents[8], '{');
  ck_assert_uint_eq ((8 + n) % 8, 0);
  read_parts (path, &p);
  md = metadata (&p);
  ck_assert_str_eq (json_object_get_string_member (md, "format"), "mmdigits");
  ck_assert_str_eq (json_object_get_string_member (md, "format_version"), "1");
  ck_assert_str_eq (json_object_get_string_member (md, "arch"), "HybridNet_CNN");
  /* decimal text that reads back to the very same float */
  ck_assert ((float) g_ascii_strtod (json_object_get_string_member (md, "image_mean"), NULL)
      == mm_net_norm (net)->image_mean);
  ck_assert_int_eq (json_object_get_string_member (md, "mfcc_std")[0], '[');
  for (int i = 0; i < mm_net_n_tensors (net); i++) {
    const MmTensorInfo *t = mm_net_tensor (net, i);
    JsonObject *o = json_object_get_object_member (p.root, t->name);
    JsonArray *off = json_object_get_array_member (o, "data_offsets");
    ck_assert_msg (o != NULL, "%s not in the header", t->name);
    ck_assert_str_eq (json_object_get_string_member (o, "dtype"), "F32");
    ck_assert_uint_eq ((guint64) json_array_get_int_element (off, 0), pos);
    pos += t->size * 4;
    ck_assert_uint_eq ((guint64) json_array_get_int_element (off, 1), pos);
  }
  ck_assert_uint_eq (pos, g_bytes_get_size (p.data));
  /* little-endian float32 of the first tensor's first value */
  {
    guint32 bits;
    memcpy (&bits, g_bytes_get_data (p.data, NULL), 4);
    bits = GUINT32_FROM_LE (bits);
    memcpy (&first, &bits, 4);
    ck_assert (first == mm_net_tensor (net, 0)->data[0]);
  }
  parts_clear (&p);
  g_free (contents);
  mm_net_free (net);
  g_free (path);
}
END_TEST

static int
count_entries (const char *dir_path)
{
  GDir *dir = g_dir_open (dir_path, 0, NULL);
  int n = 0;
  while (dir && g_dir_read_name (dir))
    n++;
  if (dir)
    g_dir_close (dir);
  return n;
}

START_TEST (test_model_save_into_missing_directory_fails_cleanly)
{
  MmNet *net = make_net (MM_ARCH_IMAGENET_CNN, 1);
  char *path = g_build_filename (tmp_dir, "no-such-dir", "m.safetensors", NULL);
  GError *err = NULL;

  ck_assert (!mm_model_save (net, NULL, path, &err));
  ck_assert (g_error_matches (err, MM_ERROR, MM_ERROR_IO));
  ck_assert_msg (g_str_has_prefix (err->message, path), "%s", err->message);
  ck_assert_int_eq (count_entries (tmp_dir), 0);
  g_clear_error (&err);
  mm_net_free (net);
  g_free (path);
}
END_TEST

START_TEST (test_model_save_refuses_nan_and_keeps_old_file)
{
  MmNet *net = make_net (MM_ARCH_AUDIONET_CNN, 2), *back;
  char *path = save_net (net, "keep.safetensors");
  float saved = mm_net_tensor (net, 0)->data[3];
  GError *err = NULL;

  mm_net_tensor (net, 0)->data[3] = NAN;
  ck_assert (!mm_model_save (net, NULL, path, &err));
  ck_assert (g_error_matches (err, MM_ERROR, MM_ERROR_INVALID));
  g_clear_error (&err);
  ck_assert_int_eq (count_entries (tmp_dir), 1);     /* no temp left behind */
  mm_net_tensor (net, 0)->data[3] = saved;
  back = mm_model_load (path, NULL, &err);
  ck_assert_msg (back != NULL, "%s", err ? err->message : "");
  assert_nets_identical (net, back);
  mm_net_free (back);
  mm_net_free (net);
  g_free (path);
}
END_TEST

/* What the loader refuses is never written. */
START_TEST (test_model_save_refuses_negative_variance)
{
  MmNet *net = make_net (MM_ARCH_IMAGENET_CNN, 4);
  char *path = tmp_path ("v.safetensors");
  GError *err = NULL;

  ((float *) mm_net_find_tensor (net, "image.bn2.running_var")->data)[5] = -1.0f;
  ck_assert (!mm_model_save (net, NULL, path, &err));
  ck_assert (g_error_matches (err, MM_ERROR, MM_ERROR_INVALID));
  ck_assert_msg (strstr (err->message, "image.bn2.running_var has a negative variance at index 5")
      != NULL, "%s", err->message);
  ck_assert_int_eq (count_entries (tmp_dir), 0);
  g_clear_error (&err);
  mm_net_free (net);
  g_free (path);
}
END_TEST

START_TEST (test_model_save_replaces_existing_file)
{
  MmNet *a = make_net (MM_ARCH_IMAGENET_CNN, 21), *b = make_net (MM_ARCH_AUDIONET_LSTM, 22);
  char *path = save_net (a, "r.safetensors");
  MmNet *back;
  GError *err = NULL;

  ck_assert (mm_model_save (b, NULL, path, &err));
  back = mm_model_load (path, NULL, &err);
  ck_assert_msg (back != NULL, "%s", err ? err->message : "");
  assert_nets_identical (b, back);
  ck_assert_int_eq (count_entries (tmp_dir), 1);
  mm_net_free (back);
  mm_net_free (a);
  mm_net_free (b);
  g_free (path);
}
END_TEST

/* Optional: a file written by Python's own bytes (struct + json), as a
 * user's 20-line exporter would. Skipped without /usr/bin/python3. */
START_TEST (test_model_python_written_file_loads)
{
  const char *script =
      "import json, struct, sys\n"
      "shapes = json.loads(sys.argv[2])\n"
      "hdr, blobs, off = {}, [], 0\n"
      "for i, (name, shape) in enumerate(shapes):\n"
      "    n = 1\n"
      "    for d in shape: n *= d\n"
      "    b = struct.pack('<%df' % n, *[j * 0.001 + i for j in range(n)])\n"
      "    hdr[name] = {'dtype': 'F32', 'shape': shape, 'data_offsets': [off, off + len(b)]}\n"
      "    off += len(b); blobs.append(b)\n"
      "hdr['__metadata__'] = {'format': 'mmdigits', 'format_version': '1',\n"
      "    'arch': 'AudioNet_LSTM', 'mfcc_mean': json.dumps([0.0] * 13),\n"
      "    'mfcc_std': json.dumps([2.0] * 13)}\n"
      "h = json.dumps(hdr).encode()\n"
      "open(sys.argv[1], 'wb').write(struct.pack('<Q', len(h)) + h + b''.join(blobs))\n";
  MmNet *ref = mm_net_new (MM_ARCH_AUDIONET_LSTM, 0), *net;
  char *path = tmp_path ("py.safetensors"), *script_path = tmp_path ("w.py");
  GString *shapes = g_string_new ("[");
  char *argv[5];
  int status = -1;
  GError *err = NULL;

  if (!g_file_test ("/usr/bin/python3", G_FILE_TEST_IS_EXECUTABLE)) {
    printf ("test_model_python_written_file_loads: skipped: no /usr/bin/python3\n");
    goto out;
  }
  for (int i = 0; i < mm_net_n_tensors (ref); i++) {
    const MmTensorInfo *t = mm_net_tensor (ref, i);
    g_string_append_printf (shapes, "%s[\"%s\", [", i ? ", " : "", t->name);
    for (int d = 0; d < t->ndim; d++)
      g_string_append_printf (shapes, "%s%d", d ? ", " : "", t->shape[d]);
    g_string_append (shapes, "]]");
  }
  g_string_append_c (shapes, ']');
  ck_assert (g_file_set_contents (script_path, script, -1, NULL));
  argv[0] = (char *) "/usr/bin/python3";
  argv[1] = script_path;
  argv[2] = path;
  argv[3] = shapes->str;
  argv[4] = NULL;
  ck_assert (g_spawn_sync (NULL, argv, NULL, G_SPAWN_DEFAULT, NULL, NULL, NULL, NULL,
          &status, &err));
  ck_assert_int_eq (status, 0);
  net = mm_model_load (path, NULL, &err);
  ck_assert_msg (net != NULL, "%s", err ? err->message : "");
  for (int i = 0; i < mm_net_n_tensors (net); i++) {
    const MmTensorInfo *t = mm_net_tensor (net, i);
    /* same double arithmetic, same rounding to float32: equal bits */
    for (size_t j = 0; j < t->size; j++)
      if (t->data[j] != (float) (j * 0.001 + i))
        ck_abort_msg ("%s[%zu] = %.9g, Python wrote %.9g", t->name, j, t->data[j],
            (double) (float) (j * 0.001 + i));
  }
  ck_assert_float_eq (mm_net_norm (net)->mfcc_std[12], 2.0f);
  mm_net_free (net);
out:
  g_string_free (shapes, TRUE);
  mm_net_free (ref);
  g_free (path);
  g_free (script_path);
}
END_TEST

int
main (void)
{
  Suite *s = suite_create ("modelfile");
  TCase *rt = tcase_create ("round-trip");
  TCase *bad = tcase_create ("refusals");

  tcase_add_checked_fixture (rt, setup, teardown);
  tcase_add_test (rt, test_model_round_trip_is_bit_identical_for_every_arch);
  tcase_add_test (rt, test_model_without_meta_loads_with_null_meta);
  tcase_add_test (rt, test_model_temperature_round_trips);
  tcase_add_test (rt, test_model_file_layout_follows_safetensors);
  tcase_add_test (rt, test_model_save_into_missing_directory_fails_cleanly);
  tcase_add_test (rt, test_model_save_refuses_nan_and_keeps_old_file);
  tcase_add_test (rt, test_model_save_replaces_existing_file);
  tcase_add_test (rt, test_model_save_refuses_negative_variance);
  tcase_add_test (rt, test_model_python_written_file_loads);
  suite_add_tcase (s, rt);

  tcase_add_checked_fixture (bad, setup, teardown);
  tcase_add_test (bad, test_model_truncated_data_is_refused);
  tcase_add_test (bad, test_model_header_length_beyond_file_is_refused);
  tcase_add_test (bad, test_model_header_not_json_is_refused);
  tcase_add_test (bad, test_model_tiny_and_missing_files_are_refused);
  tcase_add_test (bad, test_model_missing_tensor_is_refused);
  tcase_add_test (bad, test_model_wrong_shape_is_refused);
  tcase_add_test (bad, test_model_wrong_dtype_is_refused);
  tcase_add_test (bad, test_model_nan_weight_is_refused);
  tcase_add_test (bad, test_model_unknown_arch_is_refused);
  tcase_add_test (bad, test_model_wrong_format_tag_is_refused);
  tcase_add_test (bad, test_model_unexpected_tensor_is_refused);
  tcase_add_test (bad, test_model_overlapping_tensors_are_refused);
  tcase_add_test (bad, test_model_bad_norm_is_refused);
  tcase_add_test (bad, test_model_norm_out_of_float_range_is_refused);
  tcase_add_test (bad, test_model_short_mfcc_array_is_refused);
  tcase_add_test (bad, test_model_deeply_nested_header_is_refused);
  tcase_add_test (bad, test_model_deeply_nested_metadata_is_refused);
  tcase_add_test (bad, test_model_oversized_header_is_refused);
  tcase_add_test (bad, test_model_header_with_comment_is_refused);
  tcase_add_test (bad, test_model_non_regular_files_are_refused);
  tcase_add_test (bad, test_model_invalid_batchnorm_statistics_are_refused);
  tcase_add_test (bad, test_model_read_arch_reads_the_header_alone);
  /* a FIFO that blocks must fail the test, not hold the suite for its
   * 60 s limit */
  tcase_set_timeout (bad, 20);
  suite_add_tcase (s, bad);
  return mm_test_run_suite (s);
}
