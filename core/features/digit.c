/* mmdigits — find a written digit in a grey image, normalise it as MNIST.
 *
 * mm_digit_find: histogram of the region → threshold (Otsu by default) →
 * ink side (the minority side in AUTO) → 8-connected components of the ink
 * (two-pass labelling with union-find over a label buffer the finder keeps)
 * → the components that make up the digit → their union bounding box → an
 * ink-strength crop (white on black) → mm_digit_normalize.
 *
 * Which components make up the digit (judgement calls, kept deliberately
 * simple):
 *  - components smaller than min_area are noise;
 *  - components smaller than 1/16 of the largest remaining one are specks
 *    (pen strokes of one digit that come apart are much larger than that);
 *  - a component that touches the border of the region is clutter (a table
 *    edge, a shadow, the page border) when it spans at least half the region
 *    in width or height AND its area is at least 4× that of the largest
 *    component not touching the border. A digit cut by the frame is kept:
 *    the rule only fires when there is something else to be the digit.
 * A frame whose two Otsu classes differ by less than MIN_CONTRAST grey levels
 * holds no ink: a blank but noisy frame would otherwise be split in two
 * halves whose "ink" half percolates into one huge component.
 *
 * With params->adaptive the steps above run on an ink-strength image
 * (light ink on black) made by subtracting a local background estimate
 * (see local_background), so that one threshold fits a frame lit unevenly.
 * There a blank page is known before its strength maps are made: when no
 * block's grey levels are MIN_CONTRAST away from those of the blocks
 * around it, no pixel's strength can reach MIN_CONTRAST (see
 * blocks_are_flat), so Otsu's classes cannot differ by that much and the
 * frame holds no ink — the result the maps would give, without them.
 */
#include "mm-digit.h"
#include "mm-digit-private.h"

#include <math.h>
#include <string.h>

#include "mm-simd.h"

#define MIN_CONTRAST 32.0
#define SPECK_RATIO 16
#define CLUTTER_RATIO 4

/* Sixteen bytes: label_components skips runs of paper with one comparison
 * (see mm-simd.h for GCC's vector extensions). */
typedef guint8 MmV16u8 __attribute__ ((vector_size (16)));
/* Thirty-two: count_at_least compares a frame's bytes with a level. */
typedef guint8 MmV32u8 __attribute__ ((vector_size (32)));

typedef struct {
  int area;
  int x0, y0, x1, y1;   /* inclusive, region coordinates */
  gboolean kept;
} Component;

struct _MmDigitFinder {
  size_t cap;           /* pixels the buffers hold */
  int *labels;          /* [cap] 0 = background, else component index + 1 */
  int *parent;          /* [cap + 1] union-find over provisional labels */
  guint8 *ink;          /* [cap] ink-strength crop */
  guint8 *flat[2];      /* [cap] adaptive: ink strength for dark and for light ink */
  guint32 hist[2][256]; /* adaptive: the histograms of flat[0] and flat[1] */
  gboolean light_last;  /* adaptive AUTO: the last frame's ink was light (see mm_digit_find) */
  int level_last[2];    /* adaptive: the last frame's level of each side (local_background) */
  int level[2];         /* adaptive: the last call's levels and areas (tests) */
  guint64 area[2];
  /* scratch per column or row (the region's longer side), made once and
   * kept: a frame allocates nothing */
  size_t side_cap;
  int *cx0, *cx1;       /* [side_cap] local_background: a column's block centres */
  int *cxn;             /* [side_cap] its weight on cx1, in 1 / (2 × block side) */
  double *cwx;          /* [side_cap] the same weight as the double formula has it */
  int *lerp;            /* [7 × side_cap] local_background's integer paper levels */
  gint16 *lerp16;       /* [4 × side_cap] the same in 16 bits (small blocks) */
  guint8 *half;         /* [side_cap] strength_row: 1 where the paper level is half-way */
  gboolean reference;   /* every pixel by the double formula (tests) */
  guint64 ties;         /* pixels the integer path left to the double formula */
  guint8 *col;          /* [side_cap] a band of rows' extreme per column */
  int *span;            /* [2 * side_cap] each row's first and last ink column */
  size_t grid_cap;
  guint8 *grid;         /* [2 × grid_cap] each block's lightest level, then its darkest */
  guint8 *wide;         /* [grid_cap] local_background's paper levels per block */
  guint64 flat_frames;  /* frames found blank by blocks_are_flat (tests) */
  Component *comp;
  size_t comp_cap;
};

void
mm_digit_params_init (MmDigitParams *p)
{
  p->threshold = -1;
  p->polarity = MM_POLARITY_AUTO;
  p->min_area = 20;
  p->roi = (MmRect) { 0, 0, 0, 0 };
  p->adaptive = FALSE;
}

MmDigitFinder *
mm_digit_finder_new (void)
{
  return g_new0 (MmDigitFinder, 1);
}

static void
finder_free_buffers (MmDigitFinder *f)
{
  g_free (f->labels);
  g_free (f->parent);
  g_free (f->ink);
  g_free (f->flat[0]);
  g_free (f->flat[1]);
  g_free (f->cx0);
  g_free (f->cx1);
  g_free (f->cxn);
  g_free (f->cwx);
  g_free (f->lerp);
  g_free (f->lerp16);
  g_free (f->col);
  g_free (f->half);
  g_free (f->span);
  g_free (f->grid);
  g_free (f->wide);
}

void
mm_digit_finder_free (MmDigitFinder *f)
{
  if (!f)
    return;
  finder_free_buffers (f);
  g_free (f->comp);
  g_free (f);
}

void
mm_digit_finder_set_reference (MmDigitFinder *f, gboolean reference)
{
  f->reference = reference;
}

guint64
mm_digit_finder_ties (const MmDigitFinder *f)
{
  return f->ties;
}

guint64
mm_digit_finder_flat_frames (const MmDigitFinder *f)
{
  return f->flat_frames;
}

void
mm_digit_finder_levels (const MmDigitFinder *f, int level[2], guint64 area[2])
{
  memcpy (level, f->level, sizeof f->level);
  memcpy (area, f->area, sizeof f->area);
}

const guint8 *
mm_digit_finder_strength (const MmDigitFinder *f, gboolean dark_ink)
{
  return f->flat[dark_ink ? 0 : 1];
}

/* Scratch for a @rw × @rh region: grown, never shrunk. */
static void
finder_reserve (MmDigitFinder *f, int rw, int rh)
{
  size_t n = (size_t) rw * rh, side = (size_t) MAX (rw, rh);
  /* blocks are at least 4 px (local_background) */
  size_t grid = (size_t) ((rw + 3) / 4) * ((rh + 3) / 4);

  if (n <= f->cap && side <= f->side_cap && grid <= f->grid_cap)
    return;
  n = MAX (n, f->cap);
  side = MAX (side, f->side_cap);
  grid = MAX (grid, f->grid_cap);
  finder_free_buffers (f);
  f->labels = g_new (int, n);
  f->parent = g_new (int, n + 1);
  f->ink = g_new (guint8, n);
  f->flat[0] = g_new (guint8, n);
  f->flat[1] = g_new (guint8, n);
  f->cx0 = g_new (int, side);
  f->cx1 = g_new (int, side);
  f->cxn = g_new (int, side);
  f->cwx = g_new (double, side);
  f->lerp = g_new (int, 7 * side);
  f->lerp16 = g_new (gint16, 4 * side);
  f->col = g_new (guint8, side);
  f->half = g_new (guint8, side);
  f->span = g_new (int, 2 * side);
  f->grid = g_new (guint8, 2 * grid);
  f->wide = g_new (guint8, grid);
  f->cap = n;
  f->side_cap = side;
  f->grid_cap = grid;
}

static Component *
finder_components (MmDigitFinder *f, size_t n)
{
  if (n > f->comp_cap) {
    f->comp = g_renew (Component, f->comp, n);
    f->comp_cap = n;
  }
  return f->comp;
}

/* ---- threshold ----------------------------------------------------------- */

int
mm_otsu_threshold (const guint32 hist[256])
{
  double total = 0, sum = 0, w0 = 0, sum0 = 0, best = -1;
  int t_best = 0;

  for (int i = 0; i < 256; i++) {
    total += hist[i];
    sum += (double) i * hist[i];
  }
  if (total == 0)
    return 127;
  /* class 0 = [0, t], class 1 = (t, 255]; maximise between-class variance */
  for (int t = 0; t < 255; t++) {
    double w1, m0, m1, var;
    w0 += hist[t];
    sum0 += (double) t * hist[t];
    w1 = total - w0;
    if (w0 == 0 || w1 == 0)
      continue;
    m0 = sum0 / w0;
    m1 = (sum - sum0) / w1;
    var = w0 * w1 * (m0 - m1) * (m0 - m1);
    if (var > best) {
      best = var;
      t_best = t;
    }
  }
  return t_best;
}

/* ---- normalisation ------------------------------------------------------- */

/* Overlap of source cell [i, i+1) with [a, b). */
static double
overlap (int i, double a, double b)
{
  return MIN (b, i + 1.0) - MAX (a, (double) i);
}

/* Area-averaging resize of the @bw × @bh box at @src to @nw × @nh: every
 * output pixel is the mean of the source area it covers (anti-aliased when
 * shrinking, a box filter when enlarging). A column's overlap with its
 * output column is the same on every row: worked out once (@wx). */
static void
resize_area (const guint8 *src, int stride, int bw, int bh,
             float *dst, int nw, int nh)
{
  double sx = (double) bw / nw, sy = (double) bh / nh;
  /* output column ox covers source columns [cx0[ox], cx1[ox]) with the
   * overlaps at wx + cw[ox]: bw columns, one more per boundary between
   * two outputs, and room for floor / ceil to reach a column further */
  int cx0[20], cx1[20], cw[20];
  double *wx = g_new (double, (size_t) bw + 3 * nw);

  for (int ox = 0, k = 0; ox < nw; ox++) {
    double xa = ox * sx, xb = (ox + 1) * sx;

    cx0[ox] = (int) floor (xa);
    cx1[ox] = MIN ((int) ceil (xb), bw);
    cw[ox] = k;
    for (int x = cx0[ox]; x < cx1[ox]; x++)
      wx[k++] = overlap (x, xa, xb);
  }
  for (int oy = 0; oy < nh; oy++) {
    double ya = oy * sy, yb = (oy + 1) * sy;
    int y0 = (int) floor (ya), y1 = MIN ((int) ceil (yb), bh);
    for (int ox = 0; ox < nw; ox++) {
      const double *w = wx + cw[ox];
      double acc = 0;
      for (int y = y0; y < y1; y++) {
        const guint8 *row = src + (size_t) y * stride;
        double wy = overlap (y, ya, yb), racc = 0;
        for (int x = cx0[ox]; x < cx1[ox]; x++)
          racc += w[x - cx0[ox]] * row[x];
        acc += wy * racc;
      }
      dst[oy * nw + ox] = (float) (acc / (sx * sy));
    }
  }
  g_free (wx);
}

/* mm_digit_normalize once the box of the non-zero pixels is known: the
 * @bw × @bh box at @box (row stride @stride); @out is zeroed already. */
static void
normalize_box (const guint8 *box, int bw, int bh, int stride, guint8 out[784])
{
  int nw, nh, ox, oy;
  float small[20 * 20];
  double m = 0, mx = 0, my = 0;

  /* longer side to 20 px, aspect ratio kept */
  if (bw >= bh) {
    nw = 20;
    nh = CLAMP ((int) lround (20.0 * bh / bw), 1, 20);
  } else {
    nh = 20;
    nw = CLAMP ((int) lround (20.0 * bw / bh), 1, 20);
  }
  resize_area (box, stride, bw, bh, small, nw, nh);

  /* centre of mass (pixel-index coordinates) to (14, 14), by whole pixels */
  for (int y = 0; y < nh; y++) {
    for (int x = 0; x < nw; x++) {
      double v = small[y * nw + x];
      m += v;
      mx += v * x;
      my += v * y;
    }
  }
  ox = m > 0 ? (int) lround (14.0 - mx / m) : (28 - nw) / 2;
  oy = m > 0 ? (int) lround (14.0 - my / m) : (28 - nh) / 2;
  ox = CLAMP (ox, 0, 28 - nw);
  oy = CLAMP (oy, 0, 28 - nh);
  for (int y = 0; y < nh; y++)
    for (int x = 0; x < nw; x++)
      out[(oy + y) * 28 + ox + x] = (guint8) CLAMP (lrintf (small[y * nw + x]), 0, 255);
}

void
mm_digit_normalize (const guint8 *gray, int width, int height, int stride,
                    guint8 out[784])
{
  int x0 = width, y0 = height, x1 = -1, y1 = -1;

  memset (out, 0, 784);
  if (!gray || width <= 0 || height <= 0 || stride < width)
    return;
  for (int y = 0; y < height; y++) {
    const guint8 *row = gray + (size_t) y * stride;
    for (int x = 0; x < width; x++) {
      if (row[x]) {
        x0 = MIN (x0, x);
        x1 = MAX (x1, x);
        y0 = MIN (y0, y);
        y1 = MAX (y1, y);
      }
    }
  }
  if (x1 >= 0)
    normalize_box (gray + (size_t) y0 * stride + x0, x1 - x0 + 1, y1 - y0 + 1, stride, out);
}

/* ---- connected components ------------------------------------------------ */

static int
uf_find (int *parent, int a)
{
  while (parent[a] != a) {
    parent[a] = parent[parent[a]];
    a = parent[a];
  }
  return a;
}

/* The smaller label becomes the root: parent[l] <= l always, which lets
 * the relabelling below run in one forward sweep. */
static void
uf_union (int *parent, int a, int b)
{
  a = uf_find (parent, a);
  b = uf_find (parent, b);
  if (a < b)
    parent[b] = a;
  else if (b < a)
    parent[a] = b;
}

/* Whether any of the 16 pixels at @row is ink: most of a frame is paper,
 * and a run of 16 is skipped with one vector comparison. */
static inline gboolean
ink16 (const guint8 *row, guint8 t, gboolean light_ink)
{
  MmV16u8 v, m;
  guint64 w[2];

  memcpy (&v, row, sizeof v);
  m = (MmV16u8) (v > t);
  if (!light_ink)
    m = ~m;
  memcpy (w, &m, sizeof w);
  return (w[0] | w[1]) != 0;
}

/* Labels the ink of the @rw × @rh region (8-neighbour). Returns the number
 * of components; f->labels holds component index + 1 (0 = no ink) and
 * f->comp their areas and boxes. */
static int
label_components (MmDigitFinder *f, const guint8 *gray, int stride,
                  int rw, int rh, int t, gboolean light_ink)
{
  int *lab = f->labels, *parent = f->parent, *span = f->span, next = 1, n = 0;
  Component *comp;

  parent[0] = 0;
  for (int y = 0; y < rh; y++) {
    const guint8 *row = gray + (size_t) y * stride;
    int *l = lab + (size_t) y * rw, *up = y > 0 ? l - rw : NULL;
    int first = rw, last = -1;
    for (int x = 0; x < rw; x++) {
      int a, b, c, d;

      if (x % 16 == 0 && x + 16 <= rw && !ink16 (row + x, (guint8) t, light_ink)) {
        memset (l + x, 0, 16 * sizeof *l);
        x += 15;
        continue;
      }
      if ((row[x] > t) != light_ink) {
        l[x] = 0;
        continue;
      }
      first = MIN (first, x);
      last = x;
      /* the neighbours already labelled: a b c above, d to the left. Those
       * that touch each other are one component already (a–b, b–c, a–d,
       * d–b were joined when the later of the two was labelled), so at
       * most one union is new: c with a or d when b is paper */
      a = x > 0 && up ? up[x - 1] : 0;
      b = up ? up[x] : 0;
      c = x + 1 < rw && up ? up[x + 1] : 0;
      d = x > 0 ? l[x - 1] : 0;
      if (b) {
        l[x] = b;
      } else if (c) {
        if (a || d)
          uf_union (parent, c, a ? a : d);
        l[x] = c;
      } else if (a || d) {
        l[x] = a ? a : d;
      } else {
        parent[next] = next;
        l[x] = next++;
      }
    }
    span[2 * y] = first;
    span[2 * y + 1] = last;
  }
  /* provisional label → compact component number (1-based) */
  for (int i = 1; i < next; i++)
    parent[i] = parent[i] == i ? ++n : parent[parent[i]];

  comp = finder_components (f, (size_t) MAX (n, 1));
  for (int i = 0; i < n; i++)
    comp[i] = (Component) { 0, rw, rh, -1, -1, FALSE };
  /* a run of one label along a row updates its component once (one
   * update per pixel would wait on the last) */
  for (int y = 0; y < rh; y++) {
    int *l = lab + (size_t) y * rw;
    for (int x = span[2 * y]; x <= span[2 * y + 1]; x++) {
      Component *c;
      int run = x, id;
      if (!l[x])
        continue;
      id = l[x] = parent[l[x]];
      while (run < span[2 * y + 1] && l[run + 1] && parent[l[run + 1]] == id)
        l[++run] = id;
      c = &comp[id - 1];
      c->area += run - x + 1;
      c->x0 = MIN (c->x0, x);
      c->x1 = MAX (c->x1, run);
      c->y0 = MIN (c->y0, y);
      c->y1 = MAX (c->y1, y);
      x = run;
    }
  }
  return n;
}

int
mm_digit_finder_label (MmDigitFinder *f, const guint8 *gray, int stride, int width, int height,
                       int threshold, gboolean light_ink)
{
  finder_reserve (f, width, height);
  return label_components (f, gray, stride, width, height, threshold, light_ink);
}

const int *
mm_digit_finder_labels (const MmDigitFinder *f)
{
  return f->labels;
}

static gboolean
touches_border (const Component *c, int rw, int rh)
{
  return c->x0 == 0 || c->y0 == 0 || c->x1 == rw - 1 || c->y1 == rh - 1;
}

/* Marks the components that make up the digit (see the top of the file).
 * Returns how many. */
static int
select_components (Component *comp, int n, int min_area, int rw, int rh)
{
  int largest = 0, largest_inner = 0, kept = 0;

  for (int i = 0; i < n; i++) {
    comp[i].kept = comp[i].area >= min_area;
    if (comp[i].kept)
      largest = MAX (largest, comp[i].area);
  }
  for (int i = 0; i < n; i++) {
    if (comp[i].kept && (gint64) comp[i].area * SPECK_RATIO < largest)
      comp[i].kept = FALSE;
    if (comp[i].kept && !touches_border (&comp[i], rw, rh))
      largest_inner = MAX (largest_inner, comp[i].area);
  }
  for (int i = 0; i < n; i++) {
    Component *c = &comp[i];
    gboolean wide = 2 * (c->x1 - c->x0 + 1) >= rw || 2 * (c->y1 - c->y0 + 1) >= rh;
    if (c->kept && largest_inner > 0 && touches_border (c, rw, rh) && wide
        && c->area >= CLUTTER_RATIO * largest_inner)
      c->kept = FALSE;
    kept += c->kept;
  }
  return kept;
}

/* ---- local background (adaptive) ----------------------------------------- */

/* The ink strength of one pixel as local_background defines it: the paper
 * level, bilinear in double between the block levels @t (above) and @u
 * (below) at columns @c0, @c1 with weights @wx, @a and @wy, the pixel @px's
 * distance from it towards the ink, rounded half up, clamped to 0..255.
 * strength_row gives the same bytes with integers; this is the definition,
 * and what strength_row leaves to it (exact half-way cases). */
static guint8
strength_double (const guint8 *t, const guint8 *u, int c0, int c1, double wx, double a,
                 double wy, int px, gboolean dark_ink)
{
  double upper = (1 - wx) * t[c0] + wx * t[c1];
  double lower = (1 - wx) * u[c0] + wx * u[c1];
  double v = dark_ink ? (a * upper + wy * lower) - px : px - (a * upper + wy * lower);
  /* lround's result where it matters (v >= 0; below, both clamp to 0):
   * half-way cases round up, away from zero */
  int tr = (int) v, s = tr + (v - tr >= 0.5);

  return (guint8) CLAMP (s, 0, 255);
}

/* @q[x], @r[x] = the floor quotient and remainder of @v[x] by @d (> 0),
 * for |@v[x] / @d| < 2^20 and @v[x] within an int: from a float estimate,
 * off by at most one, corrected by the remainder. Written without branches
 * so that GCC vectorises it. */
MM_VECTOR_CLONES static void MM_VECTORIZE
divmod_row (const int *restrict v, int n, int d, int *restrict q, int *restrict r)
{
  float inv = 1.0f / (float) d;

  for (int x = 0; x < n; x++) {
    int qx = (int) ((float) v[x] * inv), rx = v[x] - qx * d;

    qx -= rx < 0;
    rx += rx < 0 ? d : 0;
    qx += rx >= d;
    rx -= rx >= d ? d : 0;
    q[x] = qx;
    r[x] = rx;
  }
}

/* One row of local_background's ink strength from its paper levels
 * rounded half up (@q) and the remainders (@r) that tell an exact half
 * (0): the pixel's distance from the level, towards the ink, clamped to
 * 0..255; the exact halves are marked in @half_way for strength_double.
 * Returns whether there were any. Written without branches so that GCC
 * vectorises it. */
MM_VECTOR_CLONES static gboolean MM_VECTORIZE
strength_row (const int *restrict q, const int *restrict r, const guint8 *restrict row, int n,
              gboolean dark_ink, guint8 *restrict out, guint8 *restrict half_way)
{
  int sign = dark_ink ? 1 : -1, ties = 0;

  for (int x = 0; x < n; x++) {
    int s = sign * (q[x] - row[x]);

    s = MAX (s, 0);
    out[x] = (guint8) MIN (s, 255);
    half_way[x] = r[x] == 0;
    ties |= r[x] == 0;
  }
  return ties;
}

/* @out[x] = @a × @w[x] + @c: between two block centres, the
 * x-interpolation of their levels, (2B − w) × left + w × right, is
 * (right − left) × w + 2B × left. Vectorised (local_background is not),
 * in exact integers. */
MM_VECTOR_CLONES static void MM_VECTORIZE
mix_rows (const int *restrict w, int n, int a, int c, int *restrict out)
{
  for (int x = 0; x < n; x++)
    out[x] = a * w[x] + c;
}

/* @out[x] = @a × @u[x] + @b × @v[x] + @c, in exact integers. */
MM_VECTOR_CLONES static void MM_VECTORIZE
mix2_rows (const int *restrict u, const int *restrict v, int n, int a, int b, int c,
           int *restrict out)
{
  for (int x = 0; x < n; x++)
    out[x] = a * u[x] + b * v[x] + c;
}

/* One row further down, and its strength: @q, @r (a level's quotient and
 * remainder by @d) plus @dq, @dr (its step's, 0 <= @dr < @d), then what
 * strength_row makes of them, in one pass over the row. */
MM_VECTOR_CLONES static gboolean MM_VECTORIZE
step_strength_row (int *restrict q, int *restrict r, const int *restrict dq,
                   const int *restrict dr, int d, const guint8 *restrict row, int n,
                   gboolean dark_ink, guint8 *restrict out, guint8 *restrict half_way)
{
  int sign = dark_ink ? 1 : -1, ties = 0;

  for (int x = 0; x < n; x++) {
    int rx = r[x] + dr[x], qx = q[x] + dq[x] + (rx >= d), s;

    rx = rx >= d ? rx - d : rx;
    q[x] = qx;
    r[x] = rx;
    s = sign * (qx - row[x]);
    s = MAX (s, 0);
    out[x] = (guint8) MIN (s, 255);
    half_way[x] = rx == 0;
    ties |= rx == 0;
  }
  return ties;
}

/* @out[x] = @v[x], for values that fit 16 bits. */
MM_VECTOR_CLONES static void MM_VECTORIZE
narrow_row (const int *restrict v, int n, gint16 *restrict out)
{
  for (int x = 0; x < n; x++)
    out[x] = (gint16) v[x];
}

/* strength_row on 16-bit lanes (local_background says when they fit). */
MM_VECTOR_CLONES static gboolean MM_VECTORIZE
strength_row16 (const gint16 *restrict q, const gint16 *restrict r, const guint8 *restrict row,
                int n, gboolean dark_ink, guint8 *restrict out, guint8 *restrict half_way)
{
  gint16 sign = dark_ink ? 1 : -1;
  guint8 ties = 0;

  for (int x = 0; x < n; x++) {
    gint16 s = (gint16) (sign * (q[x] - row[x]));

    s = MAX (s, 0);
    out[x] = (guint8) MIN (s, 255);
    half_way[x] = r[x] == 0;
    ties |= r[x] == 0;
  }
  return ties;
}

/* step_strength_row on 16-bit lanes (local_background says when they
 * fit). */
MM_VECTOR_CLONES static gboolean MM_VECTORIZE
step_strength_row16 (gint16 *restrict q, gint16 *restrict r, const gint16 *restrict dq,
                     const gint16 *restrict dr, gint16 d, const guint8 *restrict row, int n,
                     gboolean dark_ink, guint8 *restrict out, guint8 *restrict half_way)
{
  gint16 sign = dark_ink ? 1 : -1;
  guint8 ties = 0;

  for (int x = 0; x < n; x++) {
    gint16 rx = (gint16) (r[x] + dr[x]);
    gint16 qx = (gint16) (q[x] + dq[x] + (rx >= d)), s;

    rx = (gint16) (rx >= d ? rx - d : rx);
    q[x] = qx;
    r[x] = rx;
    s = (gint16) (sign * (qx - row[x]));
    s = MAX (s, 0);
    out[x] = (guint8) MIN (s, 255);
    half_way[x] = rx == 0;
    ties |= rx == 0;
  }
  return ties;
}

/* @col[x] = the darker (@dark_ink: lighter) of @col[x] and @row[x]. */
MM_VECTOR_CLONES static void MM_VECTORIZE
band_extreme (guint8 *restrict col, const guint8 *restrict row, int n, gboolean dark_ink)
{
  if (dark_ink)
    for (int x = 0; x < n; x++)
      col[x] = MAX (col[x], row[x]);
  else
    for (int x = 0; x < n; x++)
      col[x] = MIN (col[x], row[x]);
}

/* Eight bytes into eight interleaved tables. */
static inline void
histogram8 (guint32 h8[8][256], guint64 w)
{
  h8[0][w & 0xff]++;
  h8[1][(w >> 8) & 0xff]++;
  h8[2][(w >> 16) & 0xff]++;
  h8[3][(w >> 24) & 0xff]++;
  h8[4][(w >> 32) & 0xff]++;
  h8[5][(w >> 40) & 0xff]++;
  h8[6][(w >> 48) & 0xff]++;
  h8[7][w >> 56]++;
}

/* @hist = the histogram of the @n bytes at @m. An increment per byte is
 * the cost, and fewer tables would wait on their own increments (a frame
 * of paper is mostly a few values): eight interleaved tables, fed from one
 * 8-byte load. Most of a strength map is paper, below 16: where all 32
 * bytes of a run are, they go in as 16 pairs (one byte a + 16 b each) to
 * tables of pairs, half the increments, split into the two values at the
 * end. */
void
mm_digit_histogram (const guint8 *m, size_t n, guint32 hist[256])
{
  guint32 h8[8][256] = { { 0 } }, p8[8][256] = { { 0 } };
  size_t i;

  for (i = 0; i + 32 <= n; i += 32) {
    MmV16u8 a, b, pair;
    guint64 w[2];

    memcpy (&a, m + i, sizeof a);
    memcpy (&b, m + i + 16, sizeof b);
    pair = a | b;
    memcpy (w, &pair, sizeof w);
    if (((w[0] | w[1]) & 0xf0f0f0f0f0f0f0f0ull) == 0) {
      pair = a | (b << 4);
      memcpy (w, &pair, sizeof w);
      histogram8 (p8, w[0]);
      histogram8 (p8, w[1]);
    } else {
      for (int k = 0; k < 32; k += 8) {
        guint64 v;

        memcpy (&v, m + i + k, sizeof v);
        histogram8 (h8, v);
      }
    }
  }
  for (; i < n; i++)
    h8[0][m[i]]++;
  for (int v = 0; v < 256; v++)
    hist[v] = h8[0][v] + h8[1][v] + h8[2][v] + h8[3][v] + h8[4][v] + h8[5][v] + h8[6][v]
        + h8[7][v];
  for (int v = 0; v < 256; v++) {
    guint32 c = p8[0][v] + p8[1][v] + p8[2][v] + p8[3][v] + p8[4][v] + p8[5][v] + p8[6][v]
        + p8[7][v];

    hist[v & 15] += c;
    hist[v >> 4] += c;
  }
}

/* How many of the @n bytes at @m are @v or more: 32 at a time, counted in
 * byte lanes that are emptied before they can overflow. */
MM_VECTOR_CLONES static guint64
count_at_least (const guint8 *restrict m, size_t n, guint8 v)
{
  MmV32u8 vv = (MmV32u8) { 0 } + v;
  guint64 total = 0;
  size_t i = 0;

  while (i + 32 <= n) {
    size_t end = i + MIN (n - i, (size_t) 255 * 32) / 32 * 32;
    MmV32u8 acc = { 0 };
    guint64 w[4];

    for (; i < end; i += 32) {
      MmV32u8 x;

      memcpy (&x, m + i, sizeof x);
      acc -= (MmV32u8) (x >= vv);
    }
    /* the 32 byte counts summed as 64-bit words, a byte at a time */
    memcpy (w, &acc, sizeof w);
    for (int k = 0; k < 4; k++)
      for (int b = 0; b < 8; b++)
        total += (w[k] >> (8 * b)) & 0xff;
  }
  for (; i < n; i++)
    total += m[i] >= v;
  return total;
}

/* The lightest (@dark_ink: paper is light) or darkest of the @n > 0
 * bytes at @v. Vectorised (local_background is not). */
MM_VECTOR_CLONES static guint8 MM_VECTORIZE
run_extreme (const guint8 *restrict v, int n, gboolean dark_ink)
{
  guint8 e = v[0];

  if (dark_ink)
    for (int x = 1; x < n; x++)
      e = MAX (e, v[x]);
  else
    for (int x = 1; x < n; x++)
      e = MIN (e, v[x]);
  return e;
}

/* local_background's block side for a @rw × @rh region. */
static int
block_side (int rw, int rh)
{
  return MAX (4, MIN (rw, rh) / 8);
}

/* Per block of local_background (side block_side, the last row and column
 * of blocks cut by the region's edge) of the @rw × @rh region at @gray: its
 * lightest level into @hi and its darkest into @lo (row stride: the number
 * of blocks across), from a per-column extreme over each band of rows
 * (band_extreme, vectorised). */
static void
block_extremes (MmDigitFinder *f, const guint8 *gray, int stride, int rw, int rh,
                guint8 *hi, guint8 *lo)
{
  int b = block_side (rw, rh), gw = (rw + b - 1) / b, gh = (rh + b - 1) / b;

  for (int side = 0; side < 2; side++) {
    gboolean dark_ink = side == 0;      /* the paper of dark ink is light */
    guint8 *grid = dark_ink ? hi : lo, *col = f->col;

    for (int gy = 0; gy < gh; gy++) {
      int y1 = MIN ((gy + 1) * b, rh);

      memcpy (col, gray + (size_t) gy * b * stride, rw);
      for (int y = gy * b + 1; y < y1; y++)
        band_extreme (col, gray + (size_t) y * stride, rw, dark_ink);
      for (int gx = 0; gx < gw; gx++)
        grid[gy * gw + gx] = run_extreme (col + gx * b, MIN ((gx + 1) * b, rw) - gx * b,
            dark_ink);
    }
  }
}

/* Whether no pixel's ink strength (local_background) on the sides asked
 * for (@dark, @light) can reach @limit, from the blocks' extremes @hi and
 * @lo (block_extremes) of the @rw × @rh region. A pixel's paper level is
 * interpolated between the levels of the two block centres around it
 * across and down (at most one block away), each the extreme of its
 * block's 3 × 3 neighbourhood: so for dark ink it is at most the lightest
 * level of the 5 × 5 blocks around the pixel's block, and the pixel at
 * least its block's darkest, and the strength, their difference rounded,
 * at most the difference of those two (likewise for light ink). */
static gboolean
blocks_are_flat (const guint8 *hi, const guint8 *lo, int rw, int rh, gboolean dark,
                 gboolean light, int limit)
{
  int b = block_side (rw, rh), gw = (rw + b - 1) / b, gh = (rh + b - 1) / b;

  for (int gy = 0; gy < gh; gy++)
    for (int gx = 0; gx < gw; gx++) {
      int lightest = 0, darkest = 255;

      for (int yy = MAX (gy - 2, 0); yy <= MIN (gy + 2, gh - 1); yy++)
        for (int xx = MAX (gx - 2, 0); xx <= MIN (gx + 2, gw - 1); xx++) {
          lightest = MAX (lightest, hi[yy * gw + xx]);
          darkest = MIN (darkest, lo[yy * gw + xx]);
        }
      if ((dark && lightest - lo[gy * gw + gx] >= limit)
          || (light && hi[gy * gw + gx] - darkest >= limit))
        return FALSE;
    }
  return TRUE;
}

/* Ink strength of the @rw × @rh region into @out (stride rw): the distance
 * of each pixel from the local paper level, towards the ink (darker for
 * @dark_ink). The paper level: per block of side B = shorter side / 8 the
 * lightest (dark ink) or darkest level (@grid, from block_extremes) — the
 * paper in that block, unless a stroke covers all of it — then the
 * lightest of each block's 3 × 3
 * neighbourhood (so a stroke must cover three blocks across to be taken
 * for paper), bilinearly interpolated between block centres. @hist, if
 * not NULL, receives the histogram of @out; *@level the strength that the
 * strongest 0.5 % of the pixels reach, *@area how many pixels reach half
 * of that (from the histogram, or without one by counting, which costs a
 * fraction of it, starting from the level @guess: see mm_digit_find).
 *
 * This runs on every pixel of every frame, twice (both polarities), so:
 * a column's block-centre coordinates,
 * and the two grid rows interpolated along x for a band of rows, are
 * worked out once (mix_rows, vectorised, a run of columns between two
 * centres at a time); the pixels go through step_strength_row (vectorised,
 * in integers: the same bytes as the double formula, strength_double,
 * which it falls back to at exact half-way levels and for blocks too large
 * for an int, B > 1,024); a histogram (a scattered increment per pixel, the
 * dearest part) is made only when asked for. */
static void
local_background (MmDigitFinder *f, const guint8 *gray, int stride, int rw, int rh,
                  gboolean dark_ink, const guint8 *grid, guint8 *out, guint32 hist[256],
                  int guess, int *level, guint64 *area)
{
  int b = block_side (rw, rh), gw = (rw + b - 1) / b, gh = (rh + b - 1) / b;
  guint8 *wide = f->wide, *half = f->half;
  int *cx0 = f->cx0, *cx1 = f->cx1, *cxn = f->cxn;
  /* the integer paper levels (see below), side_cap apart */
  int *upper = f->lerp, *lower = upper + f->side_cap, *acc = lower + f->side_cap;
  int *dq = acc + f->side_cap, *dr = dq + f->side_cap, *q = dr + f->side_cap;
  int *r = q + f->side_cap;
  gint16 *dq16 = f->lerp16, *dr16 = dq16 + f->side_cap, *q16 = dr16 + f->side_cap;
  gint16 *r16 = q16 + f->side_cap;
  double *cwx = f->cwx;
  /* the integer path while d × 255.5 fits an int (B up to 1,448) */
  int b2 = 2 * b, d = b2 * b2;
  gboolean exact = !f->reference && b <= 1024;
  /* for blocks up to 63 px (d < 2^14) the row state fits 16-bit lanes,
   * twice as many to a vector: q < 257, |dq| <= 255, r + dr < 2d */
  gboolean narrow = d < (1 << 14);
  size_t n = (size_t) rw * rh;
  guint64 top = (guint64) rw * rh / 200, seen = 0;

  for (int gy = 0; gy < gh; gy++)
    for (int gx = 0; gx < gw; gx++) {
      int v = grid[gy * gw + gx];
      for (int dy = -1; dy <= 1; dy++)
        for (int dx = -1; dx <= 1; dx++) {
          int yy = gy + dy, xx = gx + dx;
          if (yy >= 0 && yy < gh && xx >= 0 && xx < gw)
            v = dark_ink ? MAX (v, grid[yy * gw + xx]) : MIN (v, grid[yy * gw + xx]);
        }
      wide[gy * gw + gx] = (guint8) v;
    }
  /* block-centre coordinates, clamped at the edges: centre k is at
   * (k + 1/2) B − 1/2, so a pixel's position between centres is a
   * multiple of 1 / (2B) — kept as that integer (cx0 × 2B + cxn) for
   * strength_row and as the double formula has it (cwx) for the rest */
  for (int x = 0; x < rw; x++) {
    double fx = CLAMP ((x + 0.5) / b - 0.5, 0.0, gw - 1.0);
    int num = CLAMP (2 * x + 1 - b, 0, b2 * (gw - 1));

    cx0[x] = num / b2;
    cxn[x] = num % b2;
    cx1[x] = MIN (cx0[x] + 1, gw - 1);
    cwx[x] = fx - cx0[x];
  }
  /* The paper level in integers: the bilinear weights are multiples of
   * 1 / (2B), so the level is exactly P / d with P = (2B − wl) × upper +
   * wl × lower, upper and lower the two grid rows interpolated along x
   * (× 2B), d = (2B)², wl the row's weight on the lower one. Rounded half
   * up it is the quotient q of P + d / 2 by d. Away from an exact half the
   * double formula rounds the same way (its error, under 1e-12, is far
   * below the 1 / d to the next half), and the distance from the level is
   * q − pixel (dark ink) or pixel − q; at an exact half (remainder 0) the
   * double formula may land on either side, so those pixels are its. From
   * one row to the next wl grows by 2 (or stays, at the edges): q and the
   * remainder follow by a step worked out once per pair of grid rows. */
  for (int y = 0, ty0 = -1, ty1 = -1, twl = -1; y < rh; y++) {
    double fy = CLAMP ((y + 0.5) / b - 0.5, 0.0, gh - 1.0);
    int num = CLAMP (2 * y + 1 - b, 0, b2 * (gh - 1));
    int y0 = num / b2, y1 = MIN (y0 + 1, gh - 1), wl = num % b2;
    double wy = fy - y0, a = 1 - wy;
    const guint8 *t = wide + y0 * gw, *u = wide + y1 * gw, *row = gray + (size_t) y * stride;
    guint8 *o = out + (size_t) y * rw;
    gboolean ties;

    if (!exact) {
      for (int x = 0; x < rw; x++)
        o[x] = strength_double (t, u, cx0[x], cx1[x], cwx[x], a, wy, row[x], dark_ink);
      continue;
    }
    if (y0 != ty0 || y1 != ty1) {
      /* a run of columns between the same two block centres at a time */
      for (int k0 = 0, k1; k0 < rw; k0 = k1) {
        for (k1 = k0 + 1; k1 < rw && cx0[k1] == cx0[k0]; k1++)
          ;
        mix_rows (cxn + k0, k1 - k0, t[cx1[k0]] - t[cx0[k0]], b2 * t[cx0[k0]], upper + k0);
        mix_rows (cxn + k0, k1 - k0, u[cx1[k0]] - u[cx0[k0]], b2 * u[cx0[k0]], lower + k0);
      }
      mix2_rows (upper, lower, rw, -2, 2, 0, acc);
      divmod_row (acc, rw, d, dq, dr);
      if (narrow) {
        narrow_row (dq, rw, dq16);
        narrow_row (dr, rw, dr16);
      }
      ty0 = y0;
      ty1 = y1;
      twl = -1;
    }
    if (twl >= 0 && wl == twl + 2) {
      ties = narrow ? step_strength_row16 (q16, r16, dq16, dr16, (gint16) d, row, rw, dark_ink,
          o, half) : step_strength_row (q, r, dq, dr, d, row, rw, dark_ink, o, half);
    } else {
      if (wl != twl) {
        mix2_rows (upper, lower, rw, b2 - wl, wl, d / 2, acc);
        divmod_row (acc, rw, d, q, r);
        if (narrow) {
          narrow_row (q, rw, q16);
          narrow_row (r, rw, r16);
        }
      }
      ties = narrow ? strength_row16 (q16, r16, row, rw, dark_ink, o, half)
          : strength_row (q, r, row, rw, dark_ink, o, half);
    }
    twl = wl;
    if (!ties)
      continue;
    /* memchr skips the rest of the row a vector at a time */
    for (const guint8 *h = memchr (half, 1, rw); h; h = memchr (h + 1, 1, half + rw - h - 1)) {
      int x = (int) (h - half);

      o[x] = strength_double (t, u, cx0[x], cx1[x], cwx[x], a, wy, row[x], dark_ink);
      f->ties++;
    }
  }
  if (hist) {
    mm_digit_histogram (out, n, hist);
    for (*level = 255; *level > 0 && (seen += hist[*level]) <= top; (*level)--)
      ;
    *area = 0;
    for (int v = (*level + 1) / 2; v < 256; v++)
      *area += hist[v];
    return;
  }
  /* The same two numbers by counting. *level is the largest L in 0..255
   * that more than @top pixels reach (0 always is: top is n / 200): the
   * count only falls as L rises, so a search from @guess — the last
   * frame's level of this side, which a video mostly keeps — steps out
   * by 1, 2, 4… until it brackets the level, then halves. *area: the
   * pixels at (*level + 1) / 2 or more. */
  {
    int g = CLAMP (guess, 0, 255), lo, hi;    /* lo is reached, hi not */

    if (g == 0 || count_at_least (out, n, (guint8) g) > top) {
      lo = g;
      for (int step = 1;; step *= 2) {
        if (lo + step > 255) {
          hi = 256;
          break;
        }
        if (count_at_least (out, n, (guint8) (lo + step)) <= top) {
          hi = lo + step;
          break;
        }
        lo += step;
      }
    } else {
      hi = g;
      for (int step = 1;; step *= 2) {
        if (hi - step <= 0) {
          lo = 0;
          break;
        }
        if (count_at_least (out, n, (guint8) (hi - step)) > top) {
          lo = hi - step;
          break;
        }
        hi -= step;
      }
    }
    while (hi - lo > 1) {
      int mid = (lo + hi) / 2;

      if (count_at_least (out, n, (guint8) mid) > top)
        lo = mid;
      else
        hi = mid;
    }
    *level = lo;
  }
  *area = count_at_least (out, n, (guint8) ((*level + 1) / 2));
}

/* AUTO polarity on the two ink-strength maps: a side whose strongest
 * pixels are less than half as strong as the other's is paper texture;
 * otherwise the ink is the side with the smaller strong area — next to a
 * stroke the local paper level of the wrong side is the stroke's own, so
 * the paper around it looks like "ink" of the other polarity, over a
 * larger area than the stroke. */
static gboolean
dark_side_is_ink (int dark_level, guint64 dark_area, int light_level, guint64 light_area)
{
  if (2 * light_level < dark_level)
    return TRUE;
  if (2 * dark_level < light_level)
    return FALSE;
  return dark_area <= light_area;
}

/* Region to search: the roi clipped to the image, or the whole image. */
static gboolean
clip_roi (const MmRect *roi, int width, int height, MmRect *r)
{
  int x0, y0, x1, y1;

  if (roi->width <= 0 || roi->height <= 0) {
    *r = (MmRect) { 0, 0, width, height };
    return TRUE;
  }
  x0 = MAX (roi->x, 0);
  y0 = MAX (roi->y, 0);
  x1 = MIN ((gint64) roi->x + roi->width, width);
  y1 = MIN ((gint64) roi->y + roi->height, height);
  *r = (MmRect) { x0, y0, x1 - x0, y1 - y0 };
  return x1 > x0 && y1 > y0;
}

gboolean
mm_digit_find (MmDigitFinder *f, const MmDigitParams *p,
               const guint8 *gray, int width, int height, int stride,
               guint8 out[784], MmRect *bbox)
{
  MmDigitParams defaults;
  guint32 hist[256] = { 0 };
  guint8 strength[256];
  double n_dark = 0, s_dark = 0, n_light = 0, s_light = 0, bg, ink_level;
  gboolean light_ink;
  const guint8 *base;
  MmRect r;
  int t, n, x0, y0, x1, y1, bw, bh;
  Component *comp;
  MmPolarity ink_polarity;

  if (!p) {
    mm_digit_params_init (&defaults);
    p = &defaults;
  }
  ink_polarity = p->polarity;
  if (!f || !gray || !out || width <= 0 || height <= 0 || stride < width
      || !clip_roi (&p->roi, width, height, &r))
    return FALSE;
  base = gray + (size_t) r.y * stride + r.x;
  finder_reserve (f, r.width, r.height);

  if (p->adaptive) {
    /* from here on: the ink-strength image, light ink on black */
    int dark = -1, light = -1;
    guint64 dark_area = 0, light_area = 0;
    gboolean dark_ink;

    /* Only the side taken as ink needs its whole histogram (the
     * threshold); the other side's level and area come from counting. In
     * AUTO the side is known only after both, so the histogram is made for
     * the side the last frame took — a video's frames keep their ink — and
     * for the other one only if it is taken after all. Which side is
     * guessed changes the work, never the result. */
    gboolean light_first = p->polarity == MM_POLARITY_LIGHT_ON_DARK
        || (p->polarity == MM_POLARITY_AUTO && f->light_last);
    gboolean dark_side = p->polarity != MM_POLARITY_LIGHT_ON_DARK;
    gboolean light_side = p->polarity != MM_POLARITY_DARK_ON_LIGHT;
    guint8 *hi = f->grid, *lo = f->grid + f->grid_cap;

    block_extremes (f, base, stride, r.width, r.height, hi, lo);
    /* a blank page (see the top of the file): neither side measured; the
     * guesses for the next frame stay. The reference takes the long way,
     * so that a test can compare the two. */
    if (p->threshold < 0 && !f->reference
        && blocks_are_flat (hi, lo, r.width, r.height, dark_side, light_side,
            (int) MIN_CONTRAST)) {
      f->level[0] = f->level[1] = -1;
      f->area[0] = f->area[1] = 0;
      f->flat_frames++;
      return FALSE;
    }
    if (dark_side)
      local_background (f, base, stride, r.width, r.height, TRUE, hi, f->flat[0],
          light_first ? NULL : f->hist[0], f->level_last[0], &dark, &dark_area);
    if (light_side)
      local_background (f, base, stride, r.width, r.height, FALSE, lo, f->flat[1],
          light_first ? f->hist[1] : NULL, f->level_last[1], &light, &light_area);
    f->level_last[0] = MAX (dark, 0);
    f->level_last[1] = MAX (light, 0);
    f->level[0] = dark;
    f->level[1] = light;
    f->area[0] = dark_area;
    f->area[1] = light_area;
    dark_ink = p->polarity == MM_POLARITY_DARK_ON_LIGHT || (p->polarity == MM_POLARITY_AUTO
        && dark_side_is_ink (dark, dark_area, light, light_area));
    if (dark_ink == light_first)
      mm_digit_histogram (f->flat[dark_ink ? 0 : 1], (size_t) r.width * r.height,
          f->hist[dark_ink ? 0 : 1]);
    if (p->polarity == MM_POLARITY_AUTO)
      f->light_last = !dark_ink;
    base = f->flat[dark_ink ? 0 : 1];
    stride = r.width;
    ink_polarity = MM_POLARITY_LIGHT_ON_DARK;
    memcpy (hist, f->hist[dark_ink ? 0 : 1], sizeof hist);
  } else {
    for (int y = 0; y < r.height; y++)
      for (int x = 0; x < r.width; x++)
        hist[base[(size_t) y * stride + x]]++;
  }
  t = p->threshold >= 0 ? MIN (p->threshold, 255) : mm_otsu_threshold (hist);
  for (int i = 0; i < 256; i++) {
    if (i <= t) {
      n_dark += hist[i];
      s_dark += (double) i * hist[i];
    } else {
      n_light += hist[i];
      s_light += (double) i * hist[i];
    }
  }
  if (ink_polarity == MM_POLARITY_AUTO)
    light_ink = n_light <= n_dark;
  else
    light_ink = ink_polarity == MM_POLARITY_LIGHT_ON_DARK;
  if (n_dark == 0 || n_light == 0)
    return FALSE;
  if (p->threshold < 0 && s_light / n_light - s_dark / n_dark < MIN_CONTRAST)
    return FALSE;
  bg = light_ink ? s_dark / n_dark : s_light / n_light;
  ink_level = light_ink ? s_light / n_light : s_dark / n_dark;

  n = label_components (f, base, stride, r.width, r.height, t, light_ink);
  comp = f->comp;
  if (n == 0 || select_components (comp, n, p->min_area, r.width, r.height) == 0)
    return FALSE;

  x0 = r.width;
  y0 = r.height;
  x1 = y1 = -1;
  for (int i = 0; i < n; i++) {
    if (!comp[i].kept)
      continue;
    x0 = MIN (x0, comp[i].x0);
    y0 = MIN (y0, comp[i].y0);
    x1 = MAX (x1, comp[i].x1);
    y1 = MAX (y1, comp[i].y1);
  }
  bw = x1 - x0 + 1;
  bh = y1 - y0 + 1;

  /* ink strength, white on black: 0 outside the kept components, else the
   * pixel's distance from the background level scaled so that the mean ink
   * level is 255 (at least 1, so every ink pixel counts for the bbox); a
   * function of the grey level alone, so worked out once per level */
  for (int v = 0; v < 256; v++)
    strength[v] = (guint8) CLAMP (lround (255.0 * (v - bg) / (ink_level - bg)), 1, 255);
  for (int y = 0; y < bh; y++) {
    const guint8 *row = base + (size_t) (y0 + y) * stride + x0;
    const int *lab = f->labels + (size_t) (y0 + y) * r.width + x0;
    guint8 *dst = f->ink + (size_t) y * bw;
    for (int x = 0; x < bw; x++)
      dst[x] = lab[x] && comp[lab[x] - 1].kept ? strength[row[x]] : 0;
  }
  /* every pixel of a kept component is at least 1 and the box is theirs,
   * so the crop's non-zero pixels span it whole: mm_digit_normalize's
   * search for their box would find the crop itself */
  memset (out, 0, 784);
  normalize_box (f->ink, bw, bh, bw, out);
  if (bbox)
    *bbox = (MmRect) { r.x + x0, r.y + y0, bw, bh };
  return TRUE;
}
