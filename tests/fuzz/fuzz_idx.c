/* libFuzzer harness: the MNIST idx reader (core/data/mnist.c), plain and gzip.
 *
 * Each input is a whole file, read as images and as labels (its magic
 * decides which can succeed). Checked besides ASan/UBSan/LSan: a refusal is
 * an MM_ERROR naming the file; what loads is what the header promised, and
 * every label is a digit.
 */
#include "mm-error.h"
#include "mm-fuzz.h"
#include "mm-mnist.h"

static void
check_refusal (const char *path, GError *err)
{
  if (!err || err->domain != MM_ERROR || !g_str_has_prefix (err->message, path))
    mm_fuzz_fail ("a refusal without an MM_ERROR naming the file");
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  const char *path = mm_fuzz_file (data, size);
  MmIdxImages img = { 0 };
  guint8 *labels = NULL;
  int n = 0;
  GError *err = NULL;

  if (mm_idx_load_images (path, &img, &err)) {
    if (img.n <= 0 || img.rows <= 0 || img.cols <= 0 || !img.pixels)
      mm_fuzz_fail ("images loaded with an empty shape");
    /* the last pixel exists (ASan reports it otherwise) */
    (void) *(volatile guint8 *) (img.pixels + (size_t) img.n * img.rows * img.cols - 1);
    mm_idx_images_clear (&img);
  } else {
    check_refusal (path, err);
    g_clear_error (&err);
  }
  if (mm_idx_load_labels (path, &labels, &n, &err)) {
    if (n <= 0)
      mm_fuzz_fail ("labels loaded with n <= 0");
    for (int i = 0; i < n; i++)
      if (labels[i] > 9)
        mm_fuzz_fail ("a label above 9 loaded");
    g_free (labels);
  } else {
    check_refusal (path, err);
    g_clear_error (&err);
  }
  return 0;
}
