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
 */
#include "mm-digit.h"

#include <math.h>
#include <string.h>

#include "mm-simd.h"

#define MIN_CONTRAST 32.0
#define SPECK_RATIO 16
#define CLUTTER_RATIO 4

/* Sixteen bytes: label_components skips runs of paper with one comparison
 * (see mm-simd.h for GCC's vector extensions). */
typedef guint8 MmV16u8 __attribute__ ((vector_size (16)));

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
  /* scratch per column or row (the region's longer side), made once and
   * kept: a frame allocates nothing */
  size_t side_cap;
  int *cx0, *cx1;       /* [side_cap] local_background: a column's block centres */
  double *cwx;          /* [side_cap] and its weight between them */
  double *upper, *lower;        /* [side_cap] two grid rows interpolated along x */
  guint8 *col;          /* [side_cap] a band of rows' extreme per column */
  int *span;            /* [2 * side_cap] each row's first and last ink column */
  size_t grid_cap;
  guint8 *grid, *wide;  /* [grid_cap] local_background's blocks */
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
  g_free (f->cwx);
  g_free (f->upper);
  g_free (f->lower);
  g_free (f->col);
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
  f->cwx = g_new (double, side);
  f->upper = g_new (double, side);
  f->lower = g_new (double, side);
  f->col = g_new (guint8, side);
  f->span = g_new (int, 2 * side);
  f->grid = g_new (guint8, grid);
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

void
mm_digit_normalize (const guint8 *gray, int width, int height, int stride,
                    guint8 out[784])
{
  int x0 = width, y0 = height, x1 = -1, y1 = -1, bw, bh, nw, nh, ox, oy;
  float small[20 * 20];
  double m = 0, mx = 0, my = 0;

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
  if (x1 < 0)
    return;

  /* longer side to 20 px, aspect ratio kept */
  bw = x1 - x0 + 1;
  bh = y1 - y0 + 1;
  if (bw >= bh) {
    nw = 20;
    nh = CLAMP ((int) lround (20.0 * bh / bw), 1, 20);
  } else {
    nh = 20;
    nw = CLAMP ((int) lround (20.0 * bw / bh), 1, 20);
  }
  resize_area (gray + (size_t) y0 * stride + x0, stride, bw, bh, small, nw, nh);

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
      int nb[4], k = 0, m = 0;
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
      if (x > 0 && l[x - 1])
        nb[k++] = l[x - 1];
      if (up) {
        if (x > 0 && up[x - 1])
          nb[k++] = up[x - 1];
        if (up[x])
          nb[k++] = up[x];
        if (x + 1 < rw && up[x + 1])
          nb[k++] = up[x + 1];
      }
      if (k == 0) {
        parent[next] = next;
        l[x] = next++;
        continue;
      }
      m = nb[0];
      for (int i = 1; i < k; i++) {
        m = MIN (m, nb[i]);
        uf_union (parent, nb[0], nb[i]);
      }
      l[x] = m;
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

/* One row of local_background's ink strength: the paper level @a ×
 * @upper + @wy × @lower (bilinear between block centres), the pixel's
 * distance from it towards the ink, rounded half up, clamped to 0..255.
 * Written without branches so that GCC vectorises it (AVX2, AVX-512: the
 * same element-wise IEEE operations, hence the same bytes as the scalar
 * baseline). */
MM_VECTOR_CLONES static void MM_VECTORIZE
strength_row (const double *restrict upper, const double *restrict lower, double a, double wy,
              const guint8 *restrict row, int n, gboolean dark_ink, guint8 *restrict out)
{
  /* lround's result where it matters (v ≥ 0; below, both clamp to 0),
   * without its call: half-way cases round up, away from zero */
#define STRENGTH(v) do { \
    int t_ = (int) (v), s_ = t_ + ((v) - t_ >= 0.5); \
    s_ = MAX (s_, 0); \
    out[x] = (guint8) MIN (s_, 255); \
  } while (0)
  if (dark_ink)
    for (int x = 0; x < n; x++) {
      double v = (a * upper[x] + wy * lower[x]) - row[x];
      STRENGTH (v);
    }
  else
    for (int x = 0; x < n; x++) {
      double v = row[x] - (a * upper[x] + wy * lower[x]);
      STRENGTH (v);
    }
#undef STRENGTH
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

/* Ink strength of the @rw × @rh region into @out (stride rw): the distance
 * of each pixel from the local paper level, towards the ink (darker for
 * @dark_ink). The paper level: per block of side B = shorter side / 8 the
 * lightest (dark ink) or darkest level — the paper in that block, unless a
 * stroke covers all of it — then the lightest of each block's 3 × 3
 * neighbourhood (so a stroke must cover three blocks across to be taken
 * for paper), bilinearly interpolated between block centres. @hist
 * receives the histogram of @out, *@level the strength that the strongest
 * 0.5 % of the pixels reach, *@area how many pixels reach half of that.
 *
 * This runs on every pixel of every frame, twice (both polarities), so:
 * the blocks' extremes come from a per-column extreme over each band of
 * rows (band_extreme, vectorised); a column's block-centre coordinates,
 * and the two grid rows interpolated along x for a band of rows, are
 * worked out once; the pixels go through strength_row (vectorised); the
 * histogram is four interleaved ones (a frame of paper is mostly one value, and one table
 * would wait on its own increments). */
static void
local_background (MmDigitFinder *f, const guint8 *gray, int stride, int rw, int rh,
                  gboolean dark_ink, guint8 *out, guint32 hist[256], int *level,
                  guint64 *area)
{
  int b = MAX (4, MIN (rw, rh) / 8), gw = (rw + b - 1) / b, gh = (rh + b - 1) / b;
  guint8 *grid = f->grid, *wide = f->wide, *col = f->col;
  int *cx0 = f->cx0, *cx1 = f->cx1;
  double *cwx = f->cwx, *upper = f->upper, *lower = f->lower;
  guint32 h4[4][256] = { { 0 } };
  size_t n = (size_t) rw * rh, i;
  guint64 top = (guint64) rw * rh / 200, seen = 0;

  for (int gy = 0; gy < gh; gy++) {
    int y1 = MIN ((gy + 1) * b, rh);

    memcpy (col, gray + (size_t) gy * b * stride, rw);
    for (int y = gy * b + 1; y < y1; y++)
      band_extreme (col, gray + (size_t) y * stride, rw, dark_ink);
    for (int gx = 0; gx < gw; gx++) {
      int v = col[gx * b];

      for (int x = gx * b + 1; x < MIN ((gx + 1) * b, rw); x++)
        v = dark_ink ? MAX (v, col[x]) : MIN (v, col[x]);
      grid[gy * gw + gx] = (guint8) v;
    }
  }
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
  /* block-centre coordinates, clamped at the edges */
  for (int x = 0; x < rw; x++) {
    double fx = CLAMP ((x + 0.5) / b - 0.5, 0.0, gw - 1.0);

    cx0[x] = (int) fx;
    cx1[x] = MIN (cx0[x] + 1, gw - 1);
    cwx[x] = fx - cx0[x];
  }
  for (int y = 0, ty0 = -1, ty1 = -1; y < rh; y++) {
    double fy = CLAMP ((y + 0.5) / b - 0.5, 0.0, gh - 1.0);
    int y0 = (int) fy, y1 = MIN (y0 + 1, gh - 1);
    double wy = fy - y0, a = 1 - wy;

    if (y0 != ty0 || y1 != ty1) {
      const guint8 *t = wide + y0 * gw, *u = wide + y1 * gw;

      for (int k = 0; k < rw; k++) {
        double wx = cwx[k];

        upper[k] = (1 - wx) * t[cx0[k]] + wx * t[cx1[k]];
        lower[k] = (1 - wx) * u[cx0[k]] + wx * u[cx1[k]];
      }
      ty0 = y0;
      ty1 = y1;
    }
    strength_row (upper, lower, a, wy, gray + (size_t) y * stride, rw, dark_ink,
        out + (size_t) y * rw);
  }
  for (i = 0; i + 4 <= n; i += 4) {
    h4[0][out[i]]++;
    h4[1][out[i + 1]]++;
    h4[2][out[i + 2]]++;
    h4[3][out[i + 3]]++;
  }
  for (; i < n; i++)
    h4[0][out[i]]++;
  for (int v = 0; v < 256; v++)
    hist[v] = h4[0][v] + h4[1][v] + h4[2][v] + h4[3][v];
  for (*level = 255; *level > 0 && (seen += hist[*level]) <= top; (*level)--)
    ;
  *area = 0;
  for (int v = (*level + 1) / 2; v < 256; v++)
    *area += hist[v];
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

    if (p->polarity != MM_POLARITY_LIGHT_ON_DARK)
      local_background (f, base, stride, r.width, r.height, TRUE, f->flat[0], f->hist[0],
          &dark, &dark_area);
    if (p->polarity != MM_POLARITY_DARK_ON_LIGHT)
      local_background (f, base, stride, r.width, r.height, FALSE, f->flat[1], f->hist[1],
          &light, &light_area);
    dark_ink = p->polarity == MM_POLARITY_DARK_ON_LIGHT || (p->polarity == MM_POLARITY_AUTO
        && dark_side_is_ink (dark, dark_area, light, light_area));
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
  mm_digit_normalize (f->ink, bw, bh, bw, out);
  if (bbox)
    *bbox = (MmRect) { r.x + x0, r.y + y0, bw, bh };
  return TRUE;
}
