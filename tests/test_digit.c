/* Digit finder and MNIST normalisation on synthetic drawings, on the
 * project's own MNIST-style digits (tests/data/digits) and on MNIST.
 *
 * The MNIST tests need ../shared/data/mnist (or MMDIGITS_DATA); without it
 * the other tests still run and the program reports "skipped: no data"
 * (exit 77) unless something failed. */
#include <gio/gio.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mm-digit.h"
#include "mm-digit-private.h"
#include "mm-rng.h"
#include "mm-test-util.h"

typedef struct {
  int w, h;
  guint8 *px;
} Image;

static Image
image_new (int w, int h, int bg, int noise, guint64 seed)
{
  Image im = { w, h, g_new (guint8, (size_t) w * h) };
  MmRng rng;

  mm_rng_seed (&rng, seed, 1);
  for (int i = 0; i < w * h; i++) {
    int v = bg + (noise ? (int) mm_rng_below (&rng, 2 * noise + 1) - noise : 0);
    im.px[i] = (guint8) CLAMP (v, 0, 255);
  }
  return im;
}

static void
put (Image *im, int x, int y, int v)
{
  if (x >= 0 && y >= 0 && x < im->w && y < im->h)
    im->px[y * im->w + x] = (guint8) v;
}

static void
draw_rect (Image *im, int x0, int y0, int x1, int y1, int v)
{
  for (int y = y0; y <= y1; y++)
    for (int x = x0; x <= x1; x++)
      put (im, x, y, v);
}

/* Every pixel within @r of the segment (x0,y0)-(x1,y1). */
static void
draw_line (Image *im, double x0, double y0, double x1, double y1, double r, int v)
{
  double dx = x1 - x0, dy = y1 - y0, len2 = dx * dx + dy * dy;
  for (int y = (int) (MIN (y0, y1) - r - 1); y <= MAX (y0, y1) + r + 1; y++) {
    for (int x = (int) (MIN (x0, x1) - r - 1); x <= MAX (x0, x1) + r + 1; x++) {
      double t = len2 > 0 ? ((x - x0) * dx + (y - y0) * dy) / len2 : 0;
      double ex, ey;
      t = CLAMP (t, 0.0, 1.0);
      ex = x - (x0 + t * dx);
      ey = y - (y0 + t * dy);
      if (ex * ex + ey * ey <= r * r)
        put (im, x, y, v);
    }
  }
}

/* Filled elliptic ring ("0"): outer semi-axes @ax × @ay, stroke @thick. */
static void
draw_ring (Image *im, int cx, int cy, int ax, int ay, int thick, int v)
{
  for (int y = cy - ay; y <= cy + ay; y++) {
    for (int x = cx - ax; x <= cx + ax; x++) {
      double o = pow ((x - cx) / (double) ax, 2) + pow ((y - cy) / (double) ay, 2);
      double i = pow ((x - cx) / (double) (ax - thick), 2)
          + pow ((y - cy) / (double) (ay - thick), 2);
      if (o <= 1.0 && i > 1.0)
        put (im, x, y, v);
    }
  }
}

/* Centre of mass and bounding box of the non-zero pixels of a 28×28 crop. */
static void
crop_stats (const guint8 out[784], double *cx, double *cy, int *long_side)
{
  double m = 0, mx = 0, my = 0;
  int x0 = 28, y0 = 28, x1 = -1, y1 = -1;

  for (int y = 0; y < 28; y++) {
    for (int x = 0; x < 28; x++) {
      int v = out[y * 28 + x];
      m += v;
      mx += (double) v * x;
      my += (double) v * y;
      if (v) {
        x0 = MIN (x0, x);
        x1 = MAX (x1, x);
        y0 = MIN (y0, y);
        y1 = MAX (y1, y);
      }
    }
  }
  ck_assert (m > 0);
  *cx = mx / m;
  *cy = my / m;
  *long_side = MAX (x1 - x0 + 1, y1 - y0 + 1);
}

static void
assert_mnist_like (const guint8 out[784])
{
  double cx, cy;
  int side;

  crop_stats (out, &cx, &cy, &side);
  ck_assert_msg (fabs (cx - 14) <= 0.5 && fabs (cy - 14) <= 0.5,
      "centre of mass (%.2f, %.2f)", cx, cy);
  ck_assert_msg (abs (side - 20) <= 1, "longer side %d", side);
}

static void
assert_rect_near (MmRect r, int x, int y, int w, int h, int tol)
{
  ck_assert_msg (abs (r.x - x) <= tol && abs (r.y - y) <= tol
      && abs (r.width - w) <= tol && abs (r.height - h) <= tol,
      "bbox %d,%d %dx%d, expected %d,%d %dx%d", r.x, r.y, r.width, r.height,
      x, y, w, h);
}

/* A plain flood fill (8-neighbour) of the pixels of @im above @t: the
 * component of each pixel into @comp (1..n, 0 for the rest); returns n. */
static int
flood_fill (const Image *im, int t, int *comp)
{
  int n = 0, *stack = g_new (int, (size_t) im->w * im->h);

  memset (comp, 0, sizeof *comp * im->w * im->h);
  for (int i = 0; i < im->w * im->h; i++) {
    int top = 0;

    if (im->px[i] <= t || comp[i])
      continue;
    comp[i] = ++n;
    stack[top++] = i;
    while (top) {
      int p = stack[--top], px = p % im->w, py = p / im->w;

      for (int dy = -1; dy <= 1; dy++)
        for (int dx = -1; dx <= 1; dx++) {
          int x = px + dx, y = py + dy, q = y * im->w + x;

          if (x >= 0 && y >= 0 && x < im->w && y < im->h && im->px[q] > t && !comp[q]) {
            comp[q] = n;
            stack[top++] = q;
          }
        }
    }
  }
  g_free (stack);
  return n;
}

/* The finder's connected components (a union-find over one pass, which
 * joins only the neighbours not yet known to be one component) are a
 * plain flood fill's: the same number, and the same pixels together, on
 * random ink of every density (spirals, U shapes, diagonal chains and
 * noise) with rows of many widths. */
START_TEST (test_digit_components_match_flood_fill)
{
  MmDigitFinder *f = mm_digit_finder_new ();
  MmRng rng;

  mm_rng_seed (&rng, 7, 5);
  for (int i = 0; i < 300; i++) {
    int w = 1 + (int) mm_rng_below (&rng, 120), h = 1 + (int) mm_rng_below (&rng, 90);
    int density = 1 + (int) mm_rng_below (&rng, 70), n_ref, n, k, bad;
    Image im = image_new (w, h, 0, 0, 0);
    int *ref = g_new (int, (size_t) w * h), *to_ref, *to_lab;
    const int *lab;

    for (k = 0; k < w * h; k++)
      im.px[k] = mm_rng_below (&rng, 100) < (guint32) density ? 200 : 20;
    if (i % 3 == 0)             /* long thin strokes that meet late */
      for (k = 0; k < 4; k++)
        draw_line (&im, mm_rng_below (&rng, w), mm_rng_below (&rng, h),
            mm_rng_below (&rng, w), mm_rng_below (&rng, h), 0.5, 200);
    n_ref = flood_fill (&im, 100, ref);
    n = mm_digit_finder_label (f, im.px, w, w, h, 100, TRUE);
    lab = mm_digit_finder_labels (f);
    ck_assert_msg (n == n_ref, "image %d (%dx%d): %d components, flood fill %d", i, w, h, n,
        n_ref);
    to_ref = g_new0 (int, n + 1);
    to_lab = g_new0 (int, n_ref + 1);
    /* one check per image: Check records every passing assertion */
    for (k = 0, bad = -1; k < w * h && bad < 0; k++) {
      if ((lab[k] == 0) != (ref[k] == 0) || lab[k] < 0 || lab[k] > n)
        bad = k;
      else if (lab[k]) {
        if (!to_ref[lab[k]])
          to_ref[lab[k]] = ref[k];
        if (!to_lab[ref[k]])
          to_lab[ref[k]] = lab[k];
        if (to_ref[lab[k]] != ref[k] || to_lab[ref[k]] != lab[k])
          bad = k;
      }
    }
    ck_assert_msg (bad < 0, "image %d (%dx%d): pixel %d,%d is not in the flood fill's component "
        "or is labelled otherwise", i, w, h, bad % MAX (w, 1), bad / MAX (w, 1));
    g_free (to_ref);
    g_free (to_lab);
    g_free (ref);
    g_free (im.px);
  }
  mm_digit_finder_free (f);
}
END_TEST

/* The adaptive threshold's ink strength is computed with integers and
 * defined by a double formula (mm-digit-private.h): on frames of many sizes
 * — paper lit by a gradient, with blocks whose levels differ by a few grey
 * levels (exact half-way paper levels, which the integer path hands back to
 * the formula), grain, dark or light ink — both give the same strength
 * maps, byte for byte, and so the same decision, box and crop, for every
 * polarity and with or without a region. Every fourth frame has faint ink
 * (0 to 59 grey levels from the paper) on a gentler gradient: many are
 * found blank from their blocks alone, which the reference never does, and
 * the reference, measuring every pixel, must find them blank too. */
START_TEST (test_digit_adaptive_integer_path_matches_double_formula)
{
  MmDigitFinder *fast = mm_digit_finder_new (), *ref = mm_digit_finder_new ();
  MmRng rng;
  int n_found = 0, n_faint_found = 0;

  mm_digit_finder_set_reference (ref, TRUE);
  mm_rng_seed (&rng, 2026, 12);
  for (int i = 0; i < 244; i++) {
    int w = 8 + (int) mm_rng_below (&rng, 393), h = 8 + (int) mm_rng_below (&rng, 293);
    int gx = (int) mm_rng_below (&rng, 121) - 60, gy = (int) mm_rng_below (&rng, 121) - 60;
    int step = 1 + (int) mm_rng_below (&rng, 9), grain = (int) mm_rng_below (&rng, 12);
    int ink = mm_rng_below (&rng, 2) ? 90 : -90;
    gboolean faint = i % 4 == 3 && i < 240;
    Image im;
    MmDigitParams p;
    MmRect rf = { 0, 0, 0, 0 }, rr = { 0, 0, 0, 0 };
    guint8 of[784], orr[784];
    gboolean ff, fr;
    int level[2];
    guint64 area[2];

    /* the last four frames have blocks of 64 px or more (a shorter side of
     * 512 or more), whose row state no longer fits 16-bit lanes: the
     * integer path's other width */
    if (i >= 240) {
      w = 512 + 97 * (i - 240);
      h = 512 + 61 * (i - 240);
    }
    if (faint) {
      ink = ink / 90 * (int) mm_rng_below (&rng, 60);
      gx /= 4;
      gy /= 4;
    }
    im = image_new (w, h, 0, 0, 0);
    /* paper in steps of @step pixels: a gradient of whole grey levels */
    for (int y = 0; y < h; y++)
      for (int x = 0; x < w; x++)
        im.px[y * w + x] = (guint8) CLAMP (128 + gx * (x / step) / MAX (w / step, 1)
            + gy * (y / step) / MAX (h / step, 1)
            + (grain ? (int) mm_rng_below (&rng, 2 * grain + 1) - grain : 0), 0, 255);
    draw_ring (&im, w / 2, h / 2, MAX (w / 5, 3), MAX (h / 4, 3), MAX (MIN (w, h) / 20, 2),
        CLAMP (128 + ink, 0, 255));
    mm_digit_params_init (&p);
    p.adaptive = TRUE;
    p.polarity = (MmPolarity) (i % 3);
    if (i % 5 == 4)
      p.roi = (MmRect) { w / 8, h / 8, w - w / 4, h - h / 4 };
    memset (of, 7, sizeof of);
    memset (orr, 7, sizeof orr);
    ff = mm_digit_find (fast, &p, im.px, w, h, w, of, &rf);
    fr = mm_digit_find (ref, &p, im.px, w, h, w, orr, &rr);
    mm_digit_finder_levels (fast, level, area);
    for (int dark = 0; dark < 2; dark++) {
      int rw = p.roi.width ? p.roi.width : w, rh = p.roi.height ? p.roi.height : h;

      /* that side was not measured: the polarity, or a blank page */
      if (p.polarity == (dark ? MM_POLARITY_LIGHT_ON_DARK : MM_POLARITY_DARK_ON_LIGHT)
          || level[dark ? 0 : 1] < 0)
        continue;
      ck_assert_msg (memcmp (mm_digit_finder_strength (fast, dark),
              mm_digit_finder_strength (ref, dark), (size_t) rw * rh) == 0,
          "frame %d (%dx%d, polarity %d): %s-ink strength differs", i, w, h, p.polarity,
          dark ? "dark" : "light");
    }
    ck_assert_msg (ff == fr, "frame %d: found %d vs %d", i, ff, fr);
    ck_assert_msg (memcmp (&rf, &rr, sizeof rf) == 0 && memcmp (of, orr, sizeof of) == 0,
        "frame %d (%dx%d): box or crop differs", i, w, h);
    n_found += ff;
    n_faint_found += ff && faint;
    g_free (im.px);
  }
  /* the comparison covered found digits and the half-way fallback, and
   * faint frames both found blank from their blocks and found to hold a
   * digit */
  ck_assert_int_ge (n_found, 60);
  ck_assert_msg (mm_digit_finder_ties (fast) > 0, "no half-way paper level came up");
  ck_assert_msg (mm_digit_finder_flat_frames (fast) >= 10 && n_faint_found >= 5,
      "%" G_GUINT64_FORMAT " frames found blank from their blocks, %d faint digits found",
      mm_digit_finder_flat_frames (fast), n_faint_found);
  ck_assert_int_eq (mm_digit_finder_flat_frames (ref), 0);
  mm_digit_finder_free (fast);
  mm_digit_finder_free (ref);
}
END_TEST

/* The finder's histogram (small values of a strength map counted in
 * pairs, the rest one by one) against one increment per byte: lengths that
 * are and are not multiples of its 32-byte runs, runs all below 16 (paper),
 * runs with one larger value at either end, and random bytes. */
START_TEST (test_digit_histogram_counts_every_byte)
{
  MmRng rng;

  mm_rng_seed (&rng, 2026, 33);
  for (int k = 0; k < 200; k++) {
    size_t n = k < 10 ? (size_t) k : 1 + mm_rng_below (&rng, 5000);
    int kind = k % 4;
    guint8 *m = g_new (guint8, MAX (n, 1));
    guint32 want[256] = { 0 }, got[256];

    for (size_t i = 0; i < n; i++) {
      m[i] = (guint8) (kind == 3 ? mm_rng_below (&rng, 256) : mm_rng_below (&rng, 16));
      if (kind == 1 && i % 32 == 31 && mm_rng_below (&rng, 2))
        m[i] = (guint8) (16 + mm_rng_below (&rng, 240));
      if (kind == 2 && i % 32 == 0 && mm_rng_below (&rng, 2))
        m[i] = 255;
      want[m[i]]++;
    }
    memset (got, 0xaa, sizeof got);
    mm_digit_histogram (m, n, got);
    for (int v = 0; v < 256; v++)
      ck_assert_msg (got[v] == want[v], "array %d (%zu bytes, kind %d): %u bytes of %d counted, "
          "%u there", k, n, kind, got[v], v, want[v]);
    g_free (m);
  }
}
END_TEST

/* With the adaptive threshold a finder remembers which side the last frame
 * took as ink and each side's level, to guess where to look first (the
 * whole histogram is made for the guessed side, the other side's level is
 * searched from the last one). The guess may only change the work. Twelve
 * drawings — dark ink, light ink, blank paper, a flat grey (level 0), full
 * contrast (level 255) — of several sizes, each in eight variants whose ink
 * moves by a level or a few (so that a level is often the last one, or
 * next to it, on either side), the drawings in a shuffled order and their
 * variants in turn through one finder, give what a fresh finder gives for
 * each frame — decision, box, crop, both strength maps byte for byte, and
 * both sides' levels and areas — for every polarity. */
START_TEST (test_digit_adaptive_result_does_not_depend_on_frames_before)
{
  enum { N = 12, V = 8 };
  static const int shift[V] = { 0, 1, -1, 2, 0, 3, -2, 1 };
  MmDigitFinder *seq[3] = { mm_digit_finder_new (), mm_digit_finder_new (),
    mm_digit_finder_new () };
  int order[N], n_found = 0, n_light = 0, n_near = 0;
  MmRng rng;

  mm_rng_seed (&rng, 2026, 1206);
  for (int i = 0; i < N; i++)
    order[i] = i;
  for (int i = N - 1; i > 0; i--) {
    int j = (int) mm_rng_below (&rng, (guint64) i + 1), t = order[i];

    order[i] = order[j];
    order[j] = t;
  }
  for (int k = 0; k < N * V; k++) {
    int i = order[k / V], v = k % V, kind = i % 5;
    int w = 60 + 37 * i % 280, h = 50 + 53 * i % 190;
    int bg = kind == 1 ? 40 : kind == 4 ? 255 : 200;
    int ink = (kind == 1 ? 220 : kind == 4 ? 0 : 12) + (kind == 4 ? 0 : shift[v]);
    Image m = image_new (w, h, bg, kind == 3 || kind == 4 ? 0 : 1 + i % 6, 100 + i);

    if (kind != 2 && kind != 3)
      draw_ring (&m, w / 2 + i % 7, h / 2, MAX (w / 6, 4), MAX (h / 4, 4),
          MAX (MIN (w, h) / 15, 2), ink);
    for (int pol = 0; pol < 3; pol++) {
      MmDigitFinder *fresh = mm_digit_finder_new ();
      MmDigitParams p;
      MmRect rs = { 0, 0, 0, 0 }, rf = { 0, 0, 0, 0 };
      guint8 os[784], of[784];
      gboolean fs, ff;
      int ls[2], lf[2];
      guint64 as[2], af[2];

      mm_digit_params_init (&p);
      p.adaptive = TRUE;
      p.polarity = (MmPolarity) pol;
      memset (os, 7, sizeof os);
      memset (of, 7, sizeof of);
      fs = mm_digit_find (seq[pol], &p, m.px, w, h, w, os, &rs);
      ff = mm_digit_find (fresh, &p, m.px, w, h, w, of, &rf);
      ck_assert_msg (fs == ff && memcmp (&rs, &rf, sizeof rs) == 0
          && memcmp (os, of, sizeof os) == 0,
          "drawing %d variant %d (%dx%d), polarity %d: found %d vs %d, or box or crop "
          "differs after other frames", i, v, w, h, pol, fs, ff);
      mm_digit_finder_levels (seq[pol], ls, as);
      mm_digit_finder_levels (fresh, lf, af);
      for (int dark = 0; dark < 2; dark++) {
        /* that side was not measured: the polarity, or a blank page */
        if (pol == (dark ? MM_POLARITY_LIGHT_ON_DARK : MM_POLARITY_DARK_ON_LIGHT)
            || lf[dark ? 0 : 1] < 0)
          continue;
        ck_assert_msg (memcmp (mm_digit_finder_strength (seq[pol], dark),
                mm_digit_finder_strength (fresh, dark), (size_t) w * h) == 0,
            "drawing %d variant %d, polarity %d: %s-ink strength differs after other frames",
            i, v, pol, dark ? "dark" : "light");
      }
      ck_assert_msg (memcmp (ls, lf, sizeof ls) == 0 && memcmp (as, af, sizeof as) == 0,
          "drawing %d variant %d, polarity %d: levels %d, %d and areas %" G_GUINT64_FORMAT
          ", %" G_GUINT64_FORMAT " after other frames, %d, %d and %" G_GUINT64_FORMAT ", %"
          G_GUINT64_FORMAT " fresh", i, v, pol, ls[0], ls[1], as[0], as[1], lf[0], lf[1],
          af[0], af[1]);
      if (pol == MM_POLARITY_AUTO) {
        n_found += fs;
        n_light += fs && kind == 1;
        n_near += v > 0 && shift[v] != shift[v - 1];
      }
      mm_digit_finder_free (fresh);
    }
    g_free (m.px);
  }
  /* both inks were found, so the guessed side was wrong at some changes */
  ck_assert_int_ge (n_found, 30);
  ck_assert_int_ge (n_light, 10);
  ck_assert_int_ge (n_near, 50);
  for (int i = 0; i < 3; i++)
    mm_digit_finder_free (seq[i]);
}
END_TEST

/* A "0" in both polarities with noise: box, centring, scale. */
START_TEST (test_digit_find_ring_both_polarities_gives_box_and_mnist_crop)
{
  static const int bg[2] = { 215, 35 }, ink[2] = { 40, 210 };

  for (int pol = 0; pol < 2; pol++) {
    Image im = image_new (640, 480, bg[pol], 18, 7 + pol);
    MmDigitFinder *f = mm_digit_finder_new ();
    MmDigitParams p;
    guint8 out[784];
    MmRect r;

    draw_ring (&im, 300, 250, 60, 90, 22, ink[pol]);
    mm_digit_params_init (&p);
    ck_assert (mm_digit_find (f, &p, im.px, im.w, im.h, im.w, out, &r));
    assert_rect_near (r, 240, 160, 121, 181, 1);
    assert_mnist_like (out);
    /* white ink on black whatever the input polarity */
    ck_assert_int_eq (out[0], 0);
    ck_assert_int_eq (out[14 * 28 + 14], 0);   /* the hole of the 0 */
    mm_digit_finder_free (f);
    g_free (im.px);
  }
}
END_TEST

/* A photo-like page: paper lit from one side (@left → @right grey levels
 * across the frame, plus a soft vignette), textured (uniform noise of
 * ±@noise), and ink drawn @contrast levels darker (or lighter) than the
 * paper under it, so that ink on the bright side is lighter than paper on
 * the dark side and no single threshold separates them. */
static Image
lit_page (int w, int h, int left, int right, int noise, guint64 seed)
{
  Image im = image_new (w, h, 0, 0, seed);
  MmRng rng;

  mm_rng_seed (&rng, seed, 2);
  for (int y = 0; y < h; y++)
    for (int x = 0; x < w; x++) {
      double dy = (y - h / 2.0) / h, v = left + (right - left) * (double) x / (w - 1) - 40 * dy * dy;
      v += noise ? (int) mm_rng_below (&rng, 2 * noise + 1) - noise : 0;
      im.px[y * w + x] = (guint8) CLAMP (lround (v), 0, 255);
    }
  return im;
}

/* Ink relative to the paper under it: a ring mask drawn into a 0/1 image,
 * then the page darkened (or lightened) there. */
static void
ink_ring (Image *page, int cx, int cy, int ax, int ay, int thick, int contrast)
{
  Image mask = image_new (page->w, page->h, 0, 0, 1);

  draw_ring (&mask, cx, cy, ax, ay, thick, 1);
  for (int i = 0; i < page->w * page->h; i++)
    if (mask.px[i])
      page->px[i] = (guint8) CLAMP (page->px[i] + contrast, 0, 255);
  g_free (mask.px);
}

/* The same "0" on a clean page, for comparing crops. */
static void
clean_crop (int w, int h, int cx, int cy, int ax, int ay, int thick, guint8 out[784])
{
  Image im = image_new (w, h, 200, 0, 1);
  MmDigitFinder *f = mm_digit_finder_new ();

  draw_ring (&im, cx, cy, ax, ay, thick, 40);
  ck_assert (mm_digit_find (f, NULL, im.px, w, h, w, out, NULL));
  mm_digit_finder_free (f);
  g_free (im.px);
}

static double
crop_difference (const guint8 *a, const guint8 *b)
{
  double d = 0;
  for (int i = 0; i < 784; i++)
    d += abs (a[i] - b[i]);
  return d / 784;
}

/* Uneven light: paper from 70 to 245 grey levels left to right, ink 60
 * levels below the paper, texture ±12. The global threshold takes the dark
 * half of the page for ink; the local background finds the "0" — box
 * within 2 px, crop close to the clean page's. */
START_TEST (test_digit_adaptive_finds_digit_under_uneven_light)
{
  Image im = lit_page (320, 240, 70, 245, 12, 3);
  MmDigitFinder *f = mm_digit_finder_new ();
  MmDigitParams p;
  guint8 out[784], ref[784];
  MmRect r;

  ink_ring (&im, 200, 120, 40, 60, 10, -60);
  mm_digit_params_init (&p);
  /* global Otsu: whatever it returns, it is not the digit's box */
  if (mm_digit_find (f, &p, im.px, im.w, im.h, im.w, out, &r))
    ck_assert_msg (abs (r.x - 160) > 10 || abs (r.width - 81) > 10,
        "global threshold found the digit: the test image is too easy");
  p.adaptive = TRUE;
  ck_assert (mm_digit_find (f, &p, im.px, im.w, im.h, im.w, out, &r));
  assert_rect_near (r, 160, 60, 81, 121, 2);
  assert_mnist_like (out);
  clean_crop (320, 240, 200, 120, 40, 60, 10, ref);
  ck_assert_msg (crop_difference (out, ref) < 20, "crop differs from the clean one by %.1f",
      crop_difference (out, ref));
  mm_digit_finder_free (f);
  g_free (im.px);
}
END_TEST

/* Light ink (chalk) on a dark board lit unevenly, digit in a corner: AUTO
 * picks light ink and the box is the corner's. */
START_TEST (test_digit_adaptive_light_ink_off_centre)
{
  Image im = lit_page (320, 240, 20, 120, 8, 4);
  MmDigitFinder *f = mm_digit_finder_new ();
  MmDigitParams p;
  guint8 out[784];
  MmRect r;

  ink_ring (&im, 270, 55, 25, 40, 7, +90);
  mm_digit_params_init (&p);
  p.adaptive = TRUE;
  ck_assert (mm_digit_find (f, &p, im.px, im.w, im.h, im.w, out, &r));
  assert_rect_near (r, 245, 15, 51, 81, 2);
  assert_mnist_like (out);
  ck_assert_int_eq (out[14 * 28 + 14], 0);   /* the hole stays background */
  mm_digit_finder_free (f);
  g_free (im.px);
}
END_TEST

/* A thick marker on textured paper (±25): strokes 18 px wide on a 240-px
 * page (blocks of 30 px) are ink, not paper. */
START_TEST (test_digit_adaptive_thick_marker_on_texture)
{
  Image im = lit_page (320, 240, 190, 230, 25, 5);
  MmDigitFinder *f = mm_digit_finder_new ();
  MmDigitParams p;
  guint8 out[784], ref[784];
  MmRect r;

  ink_ring (&im, 150, 120, 55, 85, 18, -150);
  mm_digit_params_init (&p);
  p.adaptive = TRUE;
  ck_assert (mm_digit_find (f, &p, im.px, im.w, im.h, im.w, out, &r));
  assert_rect_near (r, 95, 35, 111, 171, 2);
  assert_mnist_like (out);
  clean_crop (320, 240, 150, 120, 55, 85, 18, ref);
  ck_assert_msg (crop_difference (out, ref) < 20, "crop differs from the clean one by %.1f",
      crop_difference (out, ref));
  /* a blank textured, unevenly lit page holds no digit */
  g_free (im.px);
  im = lit_page (320, 240, 70, 245, 12, 6);
  ck_assert (!mm_digit_find (f, &p, im.px, im.w, im.h, im.w, out, &r));
  mm_digit_finder_free (f);
  g_free (im.px);
}
END_TEST

/* A wide "7" of two strokes and a tall "1": aspect ratio kept. */
START_TEST (test_digit_find_strokes_keeps_aspect_ratio)
{
  Image im = image_new (800, 600, 230, 12, 3);
  Image im1 = image_new (320, 240, 20, 12, 4);
  MmDigitFinder *f = mm_digit_finder_new ();
  guint8 out[784];
  MmRect r;
  double cx, cy;
  int side;

  draw_line (&im, 300, 200, 460, 200, 12, 30);
  draw_line (&im, 460, 200, 360, 420, 12, 30);
  ck_assert (mm_digit_find (f, NULL, im.px, im.w, im.h, im.w, out, &r));
  assert_rect_near (r, 288, 188, 185, 245, 2);
  assert_mnist_like (out);

  /* 1 drawn as a 10×60 bar, light on dark: 20 px tall, about 3–4 wide */
  draw_rect (&im1, 150, 90, 159, 149, 240);
  ck_assert (mm_digit_find (f, NULL, im1.px, im1.w, im1.h, im1.w, out, &r));
  assert_rect_near (r, 150, 90, 10, 60, 0);
  crop_stats (out, &cx, &cy, &side);
  ck_assert_int_eq (side, 20);
  assert_mnist_like (out);
  {
    int cols = 0;
    for (int x = 0; x < 28; x++) {
      int any = 0;
      for (int y = 0; y < 28; y++)
        any |= out[y * 28 + x] > 0;
      cols += any;
    }
    ck_assert_int_ge (cols, 3);
    ck_assert_int_le (cols, 4);
  }
  mm_digit_finder_free (f);
  g_free (im.px);
  g_free (im1.px);
}
END_TEST

START_TEST (test_digit_find_blank_returns_false_and_leaves_output)
{
  Image flat = image_new (320, 240, 128, 0, 1);
  Image noisy = image_new (320, 240, 128, 12, 2);
  MmDigitFinder *f = mm_digit_finder_new ();
  guint8 out[784];

  memset (out, 0xab, sizeof out);
  ck_assert (!mm_digit_find (f, NULL, flat.px, flat.w, flat.h, flat.w, out, NULL));
  ck_assert (!mm_digit_find (f, NULL, noisy.px, noisy.w, noisy.h, noisy.w, out, NULL));
  for (int i = 0; i < 784; i++)
    ck_assert_int_eq (out[i], 0xab);
  mm_digit_finder_free (f);
  g_free (flat.px);
  g_free (noisy.px);
}
END_TEST

/* Two digits side by side: the roi picks one, and the finder reuses its
 * scratch for frames of other sizes. */
START_TEST (test_digit_find_roi_restricts_search)
{
  Image im = image_new (640, 360, 200, 10, 5);
  MmDigitFinder *f = mm_digit_finder_new ();
  MmDigitParams p;
  guint8 out[784];
  MmRect r;

  draw_rect (&im, 100, 100, 129, 249, 20);          /* "1" on the left */
  draw_ring (&im, 480, 180, 50, 80, 18, 20);        /* "0" on the right */
  mm_digit_params_init (&p);
  ck_assert (mm_digit_find (f, &p, im.px, im.w, im.h, im.w, out, &r));
  assert_rect_near (r, 100, 100, 431, 161, 1);      /* both */

  p.roi = (MmRect) { 320, 0, 320, 360 };
  ck_assert (mm_digit_find (f, &p, im.px, im.w, im.h, im.w, out, &r));
  assert_rect_near (r, 430, 100, 101, 161, 1);
  assert_mnist_like (out);

  p.roi = (MmRect) { 0, 0, 320, 360 };
  ck_assert (mm_digit_find (f, &p, im.px, im.w, im.h, im.w, out, &r));
  assert_rect_near (r, 100, 100, 30, 150, 0);

  /* a roi partly outside the image is clipped; one fully outside finds nothing */
  p.roi = (MmRect) { 400, -50, 1000, 1000 };
  ck_assert (mm_digit_find (f, &p, im.px, im.w, im.h, im.w, out, &r));
  assert_rect_near (r, 430, 100, 101, 161, 1);
  p.roi = (MmRect) { 700, 0, 50, 50 };
  ck_assert (!mm_digit_find (f, &p, im.px, im.w, im.h, im.w, out, &r));
  mm_digit_finder_free (f);
  g_free (im.px);
}
END_TEST

/* A dark table edge along the frame and small specks do not join the digit;
 * a digit cut by the frame with nothing else around is still found. */
START_TEST (test_digit_find_ignores_border_clutter_and_specks)
{
  Image im = image_new (640, 480, 210, 10, 6);
  Image cut = image_new (320, 240, 210, 10, 8);
  MmDigitFinder *f = mm_digit_finder_new ();
  guint8 out[784];
  MmRect r;

  draw_rect (&im, 0, 0, 639, 59, 25);               /* band along the top */
  draw_rect (&im, 0, 0, 39, 479, 25);               /* and the left edge */
  draw_ring (&im, 360, 280, 50, 80, 18, 25);
  draw_rect (&im, 600, 400, 602, 402, 25);          /* 9-px specks */
  draw_rect (&im, 100, 420, 102, 422, 25);
  ck_assert (mm_digit_find (f, NULL, im.px, im.w, im.h, im.w, out, &r));
  assert_rect_near (r, 310, 200, 101, 161, 1);
  assert_mnist_like (out);

  draw_rect (&cut, 150, 0, 169, 119, 25);           /* "1" touching the top */
  ck_assert (mm_digit_find (f, NULL, cut.px, cut.w, cut.h, cut.w, out, &r));
  assert_rect_near (r, 150, 0, 20, 120, 0);
  mm_digit_finder_free (f);
  g_free (im.px);
  g_free (cut.px);
}
END_TEST

START_TEST (test_digit_params_threshold_and_polarity_are_obeyed)
{
  Image im = image_new (200, 200, 100, 0, 1);
  MmDigitFinder *f = mm_digit_finder_new ();
  MmDigitParams p;
  guint8 out[784];
  MmRect r;

  /* a dark block (majority would say it is paper if it were larger) and a
   * light one: the polarity chooses which is ink */
  draw_rect (&im, 20, 20, 59, 79, 10);
  draw_rect (&im, 120, 100, 149, 179, 250);
  mm_digit_params_init (&p);
  p.threshold = 50;
  p.polarity = MM_POLARITY_DARK_ON_LIGHT;
  ck_assert (mm_digit_find (f, &p, im.px, im.w, im.h, im.w, out, &r));
  assert_rect_near (r, 20, 20, 40, 60, 0);
  p.threshold = 200;
  p.polarity = MM_POLARITY_LIGHT_ON_DARK;
  ck_assert (mm_digit_find (f, &p, im.px, im.w, im.h, im.w, out, &r));
  assert_rect_near (r, 120, 100, 30, 80, 0);
  /* min_area above the block's area: nothing left */
  p.min_area = 30 * 80 + 1;
  ck_assert (!mm_digit_find (f, &p, im.px, im.w, im.h, im.w, out, &r));
  mm_digit_finder_free (f);
  g_free (im.px);
}
END_TEST

START_TEST (test_otsu_threshold_separates_two_modes)
{
  guint32 hist[256] = { 0 };
  int t;

  for (int i = 0; i < 256; i++)
    hist[i] = (guint32) (1000 * exp (-pow ((i - 50) / 10.0, 2))
        + 300 * exp (-pow ((i - 190) / 15.0, 2)));
  /* beyond the bulk of either mode (mean ± 2 sd) */
  t = mm_otsu_threshold (hist);
  ck_assert_int_gt (t, 64);
  ck_assert_int_lt (t, 170);
}
END_TEST

START_TEST (test_digit_normalize_scales_small_digit_and_blanks)
{
  guint8 img[10 * 12] = { 0 }, out[784];

  /* 4×8 block at (3,2) in a 12×10 image with stride 12 → 10×20 */
  for (int y = 2; y < 10; y++)
    for (int x = 3; x < 7; x++)
      img[y * 12 + x] = 200;
  mm_digit_normalize (img, 12, 10, 12, out);
  assert_mnist_like (out);
  ck_assert_int_eq (out[14 * 28 + 14], 200);

  memset (img, 0, sizeof img);
  memset (out, 0xff, sizeof out);
  mm_digit_normalize (img, 12, 10, 12, out);
  for (int i = 0; i < 784; i++)
    ck_assert_int_eq (out[i], 0);
}
END_TEST

/* idx3 images from a .gz file, read here so the test does not depend on
 * the dataset module. Returns the first @max images. */
static guint8 *
load_mnist (const char *path, int max, int *n)
{
  GFile *file = g_file_new_for_path (path);
  GInputStream *raw = G_INPUT_STREAM (g_file_read (file, NULL, NULL));
  GZlibDecompressor *z = g_zlib_decompressor_new (G_ZLIB_COMPRESSOR_FORMAT_GZIP);
  GInputStream *in;
  guint8 head[16], *px;
  gsize got;

  ck_assert_msg (raw != NULL, "cannot open %s", path);
  in = g_converter_input_stream_new (raw, G_CONVERTER (z));
  ck_assert (g_input_stream_read_all (in, head, 16, &got, NULL, NULL) && got == 16);
  ck_assert_uint_eq (GUINT32_FROM_BE (*(guint32 *) head), 0x803);
  *n = MIN ((int) GUINT32_FROM_BE (*(guint32 *) (head + 4)), max);
  px = g_new (guint8, (size_t) *n * 784);
  ck_assert (g_input_stream_read_all (in, px, (size_t) *n * 784, &got, NULL, NULL));
  ck_assert_uint_eq (got, (size_t) *n * 784);
  g_object_unref (in);
  g_object_unref (z);
  g_object_unref (raw);
  g_object_unref (file);
  return px;
}

static char *
mnist_test_images (void)
{
  char *dir = mm_test_data_dir ();
  char *path = dir ? g_build_filename (dir, "mnist", "t10k-images-idx3-ubyte.gz", NULL) : NULL;

  g_free (dir);
  if (path && !g_file_test (path, G_FILE_TEST_EXISTS))
    g_clear_pointer (&path, g_free);
  return path;
}

/* The project's own MNIST-style digits (tests/data/digits/make-digits.py:
 * drawn strokes put in MNIST's form by an independent transcription of its
 * recipe), so the MNIST-form tests run in a bare clone too. */
static char *
drawn_digit_images (void)
{
  const char *root = g_getenv ("MMDIGITS_SOURCE_ROOT");
  ck_assert_msg (root != NULL, "MMDIGITS_SOURCE_ROOT is not set");
  return g_build_filename (root, "tests", "data", "digits", "drawn-digits-idx3-ubyte.gz", NULL);
}

/* MNIST was made with this recipe: normalising its images again changes
 * them little. */
static void
check_normalize_leaves_nearly_unchanged (char *path, const char *what)
{
  int n;
  guint8 *px = load_mnist (path, 10000, &n), out[784];
  double total = 0, worst = 0;

  for (int i = 0; i < n; i++) {
    double d = 0;
    mm_digit_normalize (px + (size_t) i * 784, 28, 28, 28, out);
    for (int k = 0; k < 784; k++)
      d += abs ((int) out[k] - px[(size_t) i * 784 + k]);
    d /= 784;
    total += d;
    worst = MAX (worst, d);
  }
  printf ("%s re-normalised: mean abs difference %.2f grey levels (worst image %.2f)\n",
      what, total / n, worst);
  fflush (stdout);
  ck_assert_double_lt (total / n, 25);
  g_free (px);
  g_free (path);
}

START_TEST (test_digit_normalize_leaves_mnist_nearly_unchanged)
{
  check_normalize_leaves_nearly_unchanged (mnist_test_images (), "MNIST");
}
END_TEST

START_TEST (test_digit_normalize_leaves_drawn_digits_nearly_unchanged)
{
  check_normalize_leaves_nearly_unchanged (drawn_digit_images (), "drawn digits");
}
END_TEST

/* An MNIST digit printed large (×4, dark on light paper, with noise) and
 * found again: thresholding loses its faintest edge pixels, so the bound is
 * looser than for re-normalising it. */
static void
check_find_recovers_enlarged (char *path, const char *what)
{
  int n;
  guint8 *px = load_mnist (path, 100, &n), out[784];
  MmDigitFinder *f = mm_digit_finder_new ();
  double total = 0, worst = 0;

  for (int i = 0; i < n; i++) {
    const guint8 *src = px + (size_t) i * 784;
    Image im = image_new (400, 300, 225, 8, 100 + i);
    double d = 0;
    for (int y = 0; y < 112; y++)
      for (int x = 0; x < 112; x++) {
        int v = src[(y / 4) * 28 + x / 4];
        guint8 *dst = &im.px[(y + 90) * 400 + x + 150];
        *dst = (guint8) (*dst - (*dst - 30) * v / 255);
      }
    ck_assert (mm_digit_find (f, NULL, im.px, im.w, im.h, im.w, out, NULL));
    for (int k = 0; k < 784; k++)
      d += abs ((int) out[k] - src[k]);
    d /= 784;
    total += d;
    worst = MAX (worst, d);
    g_free (im.px);
  }
  printf ("%s enlarged and found: mean abs difference %.2f grey levels (worst image %.2f)\n",
      what, total / n, worst);
  fflush (stdout);
  ck_assert_double_lt (total / n, 12);
  mm_digit_finder_free (f);
  g_free (px);
  g_free (path);
}

START_TEST (test_digit_find_recovers_enlarged_mnist_digit)
{
  check_find_recovers_enlarged (mnist_test_images (), "MNIST");
}
END_TEST

START_TEST (test_digit_find_recovers_enlarged_drawn_digit)
{
  check_find_recovers_enlarged (drawn_digit_images (), "drawn digits");
}
END_TEST

int
main (void)
{
  Suite *s = suite_create ("digit");
  TCase *tc = tcase_create ("digit");
  char *mnist = mnist_test_images ();
  int status;

  tcase_add_test (tc, test_digit_find_ring_both_polarities_gives_box_and_mnist_crop);
  tcase_add_test (tc, test_digit_find_strokes_keeps_aspect_ratio);
  tcase_add_test (tc, test_digit_adaptive_finds_digit_under_uneven_light);
  tcase_add_test (tc, test_digit_adaptive_light_ink_off_centre);
  tcase_add_test (tc, test_digit_adaptive_thick_marker_on_texture);
  tcase_add_test (tc, test_digit_adaptive_integer_path_matches_double_formula);
  tcase_add_test (tc, test_digit_adaptive_result_does_not_depend_on_frames_before);
  tcase_add_test (tc, test_digit_histogram_counts_every_byte);
  tcase_add_test (tc, test_digit_components_match_flood_fill);
  tcase_add_test (tc, test_digit_find_blank_returns_false_and_leaves_output);
  tcase_add_test (tc, test_digit_find_roi_restricts_search);
  tcase_add_test (tc, test_digit_find_ignores_border_clutter_and_specks);
  tcase_add_test (tc, test_digit_params_threshold_and_polarity_are_obeyed);
  tcase_add_test (tc, test_otsu_threshold_separates_two_modes);
  tcase_add_test (tc, test_digit_normalize_scales_small_digit_and_blanks);
  tcase_add_test (tc, test_digit_normalize_leaves_drawn_digits_nearly_unchanged);
  tcase_add_test (tc, test_digit_find_recovers_enlarged_drawn_digit);
  if (mnist)
    tcase_add_test (tc, test_digit_normalize_leaves_mnist_nearly_unchanged);
  if (mnist)
    tcase_add_test (tc, test_digit_find_recovers_enlarged_mnist_digit);
  suite_add_tcase (s, tc);
  status = mm_test_run_suite (s);
  if (status == EXIT_SUCCESS && !mnist) {
    printf ("skipped: no data (the MNIST test needs ../shared/data/mnist)\n");
    return 77;
  }
  g_free (mnist);
  return status;
}
