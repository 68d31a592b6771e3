/* libFuzzer harness: the digit finder (core/features/digit.c) on random images.
 *
 * Input: 24 bytes of settings — bytes 0-1 width and height (1..256 each),
 * 2 extra row stride (0..15), 3 threshold (-1 = Otsu..254), 4 polarity, 5-6
 * min_area, 7 unused, 8-23 the roi as four little-endian int32 (any value:
 * negative, past the image, INT_MAX) — then the pixels, repeated to fill the
 * image. Checked besides ASan/UBSan: a found
 * digit's box lies inside the image and the searched region.
 */
#include <string.h>

#include "mm-digit.h"
#include "mm-fuzz.h"

#define SETTINGS 24

static gint32
le32 (const uint8_t *p)
{
  return (gint32) ((guint32) p[0] | (guint32) p[1] << 8 | (guint32) p[2] << 16
      | (guint32) p[3] << 24);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  static MmDigitFinder *finder;
  MmDigitParams p;
  int width, height, stride;
  guint8 *gray, out[784], norm[784];
  MmRect box;
  size_t n;

  if (size < SETTINGS + 1)
    return 0;
  if (!finder)
    finder = mm_digit_finder_new ();  /* kept: its scratch grows across inputs */
  width = 1 + data[0] % 256;
  height = 1 + data[1] % 256;
  stride = width + data[2] % 16;
  mm_digit_params_init (&p);
  p.threshold = (int) data[3] - 1;
  p.polarity = (MmPolarity) (data[4] % 3);
  p.min_area = data[5] | data[6] << 8;
  p.roi.x = le32 (data + 8);
  p.roi.y = le32 (data + 12);
  p.roi.width = le32 (data + 16);
  p.roi.height = le32 (data + 20);
  data += SETTINGS;
  size -= SETTINGS;

  n = (size_t) stride * height;
  gray = g_malloc (n);
  for (size_t i = 0; i < n; i += size)
    memcpy (gray + i, data, MIN (size, n - i));
  if (mm_digit_find (finder, &p, gray, width, height, stride, out, &box)) {
    if (box.x < 0 || box.y < 0 || box.width <= 0 || box.height <= 0
        || box.x + box.width > width || box.y + box.height > height)
      mm_fuzz_fail ("digit box outside the image");
    if (p.roi.width > 0 && p.roi.height > 0
        && (box.x < p.roi.x || box.y < p.roi.y
            || box.x + box.width > (gint64) p.roi.x + p.roi.width
            || box.y + box.height > (gint64) p.roi.y + p.roi.height))
      mm_fuzz_fail ("digit box outside the roi");
  }
  mm_digit_normalize (gray, width, height, stride, norm);
  g_free (gray);
  return 0;
}
