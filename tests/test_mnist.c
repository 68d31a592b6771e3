/* MNIST idx readers: small hand-made files (plain and gzipped) for the format
 * and its errors, the real MNIST files for counts when the data is there. */
#include <gio/gio.h>
#include <glib/gstdio.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "mm-error.h"
#include "mm-mnist.h"
#include "mm-test-util.h"

static char *tmp_dir;

static void
setup (void)
{
  tmp_dir = mm_test_tmp_dir_new ("mnist");
}

static void
teardown (void)
{
  mm_test_tmp_dir_remove (g_steal_pointer (&tmp_dir));
}

static void
put_be32 (GByteArray *a, guint32 v)
{
  guint8 b[4] = { v >> 24, (v >> 16) & 0xff, (v >> 8) & 0xff, v & 0xff };
  g_byte_array_append (a, b, 4);
}

/* Compresses with GIO's own gzip writer, as a user's gzip tool would. */
static GBytes *
gzip_bytes (const guint8 *data, gsize len)
{
  GConverter *comp = G_CONVERTER (g_zlib_compressor_new (G_ZLIB_COMPRESSOR_FORMAT_GZIP, 6));
  GOutputStream *mem = g_memory_output_stream_new_resizable ();
  GOutputStream *out = g_converter_output_stream_new (mem, comp);
  GError *err = NULL;
  GBytes *bytes;

  ck_assert (g_output_stream_write_all (out, data, len, NULL, NULL, &err));
  ck_assert (g_output_stream_close (out, NULL, &err));
  bytes = g_memory_output_stream_steal_as_bytes (G_MEMORY_OUTPUT_STREAM (mem));
  g_object_unref (out);
  g_object_unref (mem);
  g_object_unref (comp);
  return bytes;
}

/* Writes @a (gzipped when asked) to tmp_dir/@name; returns the path. */
static char *
write_file (const char *name, const GByteArray *a, gboolean gz)
{
  char *path = g_build_filename (tmp_dir, name, NULL);
  GError *err = NULL;
  gboolean ok;

  if (gz) {
    GBytes *b = gzip_bytes (a->data, a->len);
    gsize len;
    const char *d = g_bytes_get_data (b, &len);
    ok = g_file_set_contents (path, d, (gssize) len, &err);
    g_bytes_unref (b);
  } else {
    ok = g_file_set_contents (path, (const char *) a->data, (gssize) a->len, &err);
  }
  ck_assert_msg (ok, "write %s: %s", path, err ? err->message : "");
  return path;
}

static GByteArray *
make_images (guint32 magic, guint32 n, guint32 rows, guint32 cols, gsize n_pixels)
{
  GByteArray *a = g_byte_array_new ();
  put_be32 (a, magic);
  put_be32 (a, n);
  put_be32 (a, rows);
  put_be32 (a, cols);
  for (gsize i = 0; i < n_pixels; i++) {
    guint8 v = (guint8) (i * 37 + 11);
    g_byte_array_append (a, &v, 1);
  }
  return a;
}

static GByteArray *
make_labels (guint32 magic, guint32 n, const guint8 *labels, gsize len)
{
  GByteArray *a = g_byte_array_new ();
  put_be32 (a, magic);
  put_be32 (a, n);
  g_byte_array_append (a, labels, (guint) len);
  return a;
}

static void
assert_error (GError *err, int code, const char *path, const char *substr)
{
  ck_assert_msg (err != NULL, "expected an error containing '%s'", substr);
  ck_assert_msg (g_error_matches (err, MM_ERROR, code),
      "error code %d, expected %d: %s", err->code, code, err->message);
  ck_assert_msg (g_str_has_prefix (err->message, path),
      "message does not start with the file: %s", err->message);
  ck_assert_msg (strstr (err->message, substr) != NULL,
      "message lacks '%s': %s", substr, err->message);
}

static void
check_images_round_trip (gboolean gz)
{
  GByteArray *a = make_images (0x803, 3, 4, 5, 3 * 4 * 5);
  char *path = write_file (gz ? "img.gz" : "img", a, gz);
  MmIdxImages img;
  GError *err = NULL;

  ck_assert_msg (mm_idx_load_images (path, &img, &err), "%s", err ? err->message : "");
  ck_assert_int_eq (img.n, 3);
  ck_assert_int_eq (img.rows, 4);
  ck_assert_int_eq (img.cols, 5);
  ck_assert_mem_eq (img.pixels, a->data + 16, 60);
  mm_idx_images_clear (&img);
  ck_assert_ptr_null (img.pixels);
  g_byte_array_unref (a);
  g_free (path);
}

START_TEST (test_idx_images_plain_round_trip)
{
  check_images_round_trip (FALSE);
}
END_TEST

START_TEST (test_idx_images_gzipped_round_trip)
{
  check_images_round_trip (TRUE);
}
END_TEST

START_TEST (test_idx_labels_plain_and_gzipped_round_trip)
{
  const guint8 lab[] = { 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 9, 0 };
  GByteArray *a = make_labels (0x801, sizeof (lab), lab, sizeof (lab));

  for (int gz = 0; gz < 2; gz++) {
    char *path = write_file (gz ? "lab.gz" : "lab", a, gz);
    guint8 *got = NULL;
    int n = 0;
    GError *err = NULL;
    ck_assert_msg (mm_idx_load_labels (path, &got, &n, &err), "%s", err ? err->message : "");
    ck_assert_int_eq (n, (int) sizeof (lab));
    ck_assert_mem_eq (got, lab, sizeof (lab));
    g_free (got);
    g_free (path);
  }
  g_byte_array_unref (a);
}
END_TEST

START_TEST (test_idx_wrong_magic_names_value_found)
{
  /* A label file given as images and vice versa: the magic says so. */
  const guint8 lab[] = { 1, 2 };
  GByteArray *l = make_labels (0x801, 2, lab, 2);
  GByteArray *im = make_images (0x803, 1, 2, 2, 4);
  char *lpath = write_file ("lab", l, FALSE);
  char *ipath = write_file ("img.gz", im, TRUE);
  MmIdxImages img;
  guint8 *got = NULL;
  int n = -1;
  GError *err = NULL;

  ck_assert (!mm_idx_load_images (lpath, &img, &err));
  assert_error (err, MM_ERROR_FORMAT, lpath, "wrong magic 0x00000801");
  ck_assert_ptr_null (img.pixels);
  g_clear_error (&err);
  ck_assert (!mm_idx_load_labels (ipath, &got, &n, &err));
  assert_error (err, MM_ERROR_FORMAT, ipath, "wrong magic 0x00000803");
  ck_assert_ptr_null (got);
  ck_assert_int_eq (n, 0);
  g_clear_error (&err);
  g_byte_array_unref (l);
  g_byte_array_unref (im);
  g_free (lpath);
  g_free (ipath);
}
END_TEST

START_TEST (test_idx_truncated_data_names_byte_counts)
{
  /* header says 3 images of 4×4 = 16 + 48 bytes; the file holds 16 + 40 */
  GByteArray *a = make_images (0x803, 3, 4, 4, 40);

  for (int gz = 0; gz < 2; gz++) {
    char *path = write_file (gz ? "short.gz" : "short", a, gz);
    MmIdxImages img;
    GError *err = NULL;
    ck_assert (!mm_idx_load_images (path, &img, &err));
    assert_error (err, MM_ERROR_FORMAT, path, "truncated at byte 56 of 64 expected");
    g_clear_error (&err);
    g_free (path);
  }
  g_byte_array_unref (a);
}
END_TEST

START_TEST (test_idx_truncated_header_is_refused)
{
  GByteArray *a = g_byte_array_new ();
  char *path;
  MmIdxImages img;
  GError *err = NULL;

  put_be32 (a, 0x803);
  put_be32 (a, 1);
  path = write_file ("hdr", a, FALSE);
  ck_assert (!mm_idx_load_images (path, &img, &err));
  assert_error (err, MM_ERROR_FORMAT, path, "truncated at byte 8 of 16 expected");
  g_clear_error (&err);
  g_byte_array_unref (a);
  g_free (path);
}
END_TEST

START_TEST (test_idx_cut_gzip_stream_is_refused)
{
  /* A download cut short: the gzip stream itself ends mid-way. */
  GByteArray *a = make_images (0x803, 4, 28, 28, 4 * 28 * 28);
  GBytes *gz = gzip_bytes (a->data, a->len);
  gsize len;
  const char *d = g_bytes_get_data (gz, &len);
  char *path = g_build_filename (tmp_dir, "cut.gz", NULL);
  MmIdxImages img;
  GError *err = NULL;

  ck_assert (g_file_set_contents (path, d, (gssize) (len / 2), NULL));
  ck_assert (!mm_idx_load_images (path, &img, &err));
  assert_error (err, MM_ERROR_FORMAT, path, "truncated at byte ");
  ck_assert_msg (strstr (err->message, "of 3152 expected (after decompression)"),
      "%s", err->message);
  ck_assert_ptr_null (img.pixels);
  g_clear_error (&err);
  g_bytes_unref (gz);
  g_byte_array_unref (a);
  g_free (path);
}
END_TEST

START_TEST (test_idx_absurd_sizes_are_refused)
{
  GByteArray *zero = make_images (0x803, 0, 28, 28, 0);
  GByteArray *huge = make_images (0x803, 1000000, 28000, 28, 0);
  char *p1 = write_file ("zero", zero, FALSE);
  char *p2 = write_file ("huge", huge, FALSE);
  MmIdxImages img;
  GError *err = NULL;

  ck_assert (!mm_idx_load_images (p1, &img, &err));
  assert_error (err, MM_ERROR_FORMAT, p1, "absurd sizes");
  g_clear_error (&err);
  ck_assert (!mm_idx_load_images (p2, &img, &err));
  assert_error (err, MM_ERROR_FORMAT, p2, "absurd sizes");
  g_clear_error (&err);
  g_byte_array_unref (zero);
  g_byte_array_unref (huge);
  g_free (p1);
  g_free (p2);
}
END_TEST

START_TEST (test_idx_trailing_bytes_are_refused)
{
  GByteArray *a = make_images (0x803, 1, 2, 2, 6);
  char *path = write_file ("long", a, FALSE);
  MmIdxImages img;
  GError *err = NULL;

  ck_assert (!mm_idx_load_images (path, &img, &err));
  assert_error (err, MM_ERROR_FORMAT, path, "2 bytes after");
  g_clear_error (&err);
  g_byte_array_unref (a);
  g_free (path);
}
END_TEST

START_TEST (test_idx_label_10_is_refused)
{
  const guint8 lab[] = { 3, 9, 10, 1 };
  GByteArray *a = make_labels (0x801, 4, lab, 4);
  char *path = write_file ("lab10.gz", a, TRUE);
  guint8 *got = NULL;
  int n = -1;
  GError *err = NULL;

  ck_assert (!mm_idx_load_labels (path, &got, &n, &err));
  assert_error (err, MM_ERROR_FORMAT, path, "label 10 of item 2");
  ck_assert_ptr_null (got);
  g_clear_error (&err);
  g_byte_array_unref (a);
  g_free (path);
}
END_TEST

/* A header that promises far more than the file holds (2,048,000,000 bytes
 * of 32×32 images; the file has 100) must cost no more memory than the file:
 * the address space is limited to what the process has now plus 256 MiB,
 * so a reader that allocates what the header claims fails with "cannot
 * allocate" instead of naming the truncation. AddressSanitizer reserves
 * terabytes of address space for itself: there the limit cannot be set, and
 * only the messages are checked. */
#if defined(__SANITIZE_ADDRESS__)
#define MM_TEST_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define MM_TEST_ASAN 1
#endif
#endif

static void
limit_address_space (struct rlimit *old)
{
  ck_assert (getrlimit (RLIMIT_AS, old) == 0);
#ifndef MM_TEST_ASAN
  {
    unsigned long pages = 0;
    FILE *f = fopen ("/proc/self/statm", "r");
    struct rlimit lim;

    ck_assert (f && fscanf (f, "%lu", &pages) == 1);
    fclose (f);
    lim.rlim_cur = lim.rlim_max = (rlim_t) pages * (rlim_t) sysconf (_SC_PAGESIZE) + (256u << 20);
    if (old->rlim_max != RLIM_INFINITY && old->rlim_max < lim.rlim_max)
      lim = *old;
    lim.rlim_max = old->rlim_max;
    ck_assert (setrlimit (RLIMIT_AS, &lim) == 0);
  }
#endif
}

START_TEST (test_idx_lying_header_costs_no_more_than_the_file)
{
  GByteArray *a = make_images (0x803, 2000000, 32, 32, 100);
  struct rlimit old;

  for (int gz = 0; gz < 2; gz++) {
    char *path = write_file (gz ? "liar.gz" : "liar", a, gz);
    MmIdxImages img;
    GError *err = NULL;
    gboolean ok;

    limit_address_space (&old);
    ok = mm_idx_load_images (path, &img, &err);
    ck_assert (setrlimit (RLIMIT_AS, &old) == 0);
    ck_assert (!ok);
    assert_error (err, MM_ERROR_FORMAT, path, "truncated at byte 116 of 2048000016 expected");
    ck_assert_ptr_null (img.pixels);
    g_clear_error (&err);
    g_free (path);
  }
  g_byte_array_unref (a);
}
END_TEST

START_TEST (test_idx_missing_file_is_io_error)
{
  char *path = g_build_filename (tmp_dir, "nope.gz", NULL);
  MmIdxImages img;
  GError *err = NULL;

  ck_assert (!mm_idx_load_images (path, &img, &err));
  assert_error (err, MM_ERROR_IO, path, "cannot open");
  g_clear_error (&err);
  g_free (path);
}
END_TEST

static void
check_mnist_split (const char *dir, const char *images, const char *labels,
    int want_n, const int want_counts[10])
{
  char *ipath = g_build_filename (dir, "mnist", images, NULL);
  char *lpath = g_build_filename (dir, "mnist", labels, NULL);
  MmIdxImages img;
  guint8 *lab = NULL;
  int n = 0, counts[10] = { 0 };
  GError *err = NULL;

  ck_assert_msg (mm_idx_load_images (ipath, &img, &err), "%s", err ? err->message : "");
  ck_assert_int_eq (img.n, want_n);
  ck_assert_int_eq (img.rows, 28);
  ck_assert_int_eq (img.cols, 28);
  ck_assert_msg (mm_idx_load_labels (lpath, &lab, &n, &err), "%s", err ? err->message : "");
  ck_assert_int_eq (n, want_n);
  for (int i = 0; i < n; i++)
    counts[lab[i]]++;
  for (int c = 0; c < 10; c++)
    ck_assert_msg (counts[c] == want_counts[c], "%s: class %d has %d, expected %d",
        labels, c, counts[c], want_counts[c]);
  mm_idx_images_clear (&img);
  g_free (lab);
  g_free (ipath);
  g_free (lpath);
}

START_TEST (test_mnist_real_files_have_known_counts)
{
  const int train[10] = { 5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949 };
  const int test[10] = { 980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009 };
  char *dir = mm_test_require_data ();

  check_mnist_split (dir, "train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
      60000, train);
  check_mnist_split (dir, "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz",
      10000, test);
  g_free (dir);
}
END_TEST

int
main (void)
{
  Suite *s = suite_create ("mnist");
  TCase *tc = tcase_create ("idx");
  TCase *real = tcase_create ("real");
  char *dir = mm_test_data_dir ();

  tcase_add_checked_fixture (tc, setup, teardown);
  tcase_add_test (tc, test_idx_images_plain_round_trip);
  tcase_add_test (tc, test_idx_images_gzipped_round_trip);
  tcase_add_test (tc, test_idx_labels_plain_and_gzipped_round_trip);
  tcase_add_test (tc, test_idx_wrong_magic_names_value_found);
  tcase_add_test (tc, test_idx_truncated_data_names_byte_counts);
  tcase_add_test (tc, test_idx_truncated_header_is_refused);
  tcase_add_test (tc, test_idx_cut_gzip_stream_is_refused);
  tcase_add_test (tc, test_idx_absurd_sizes_are_refused);
  tcase_add_test (tc, test_idx_trailing_bytes_are_refused);
  tcase_add_test (tc, test_idx_label_10_is_refused);
  tcase_add_test (tc, test_idx_missing_file_is_io_error);
  tcase_add_test (tc, test_idx_lying_header_costs_no_more_than_the_file);
  suite_add_tcase (s, tc);
  /* The format tests run everywhere; the real-data test only with the data
   * (otherwise the whole program would be skipped for want of it). */
  if (dir) {
    tcase_add_test (real, test_mnist_real_files_have_known_counts);
    suite_add_tcase (s, real);
  } else {
    printf ("test_mnist_real_files_have_known_counts: skipped: no data\n");
  }
  g_free (dir);
  return mm_test_run_suite (s);
}
