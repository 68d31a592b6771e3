/* The study's figures drawn with cairo (see figures.h).
 *
 * One drawing function per figure, called twice: once on an image surface
 * (PNG) and once on an SVG surface, so both files show the same picture.
 * Text uses cairo's own font selection (DejaVu Sans through fontconfig):
 * the labels are short and need no shaping, so no Pango.
 */
#include "figures.h"

#include <cairo-svg.h>
#include <cairo.h>
#include <errno.h>
#include <glib/gstdio.h>
#include <math.h>
#include <stdarg.h>
#include <string.h>

#include "mm-error.h"

#define FONT "DejaVu Sans"
#define MARGIN 14.0

typedef void (*DrawFunc) (cairo_t *cr, gconstpointer data);

/* Tableau 10: distinct at a glance, and the palette most t-SNE plots use */
static const guint32 digit_colours[10] = {
  0x1f77b4, 0xff7f0e, 0x2ca02c, 0xd62728, 0x9467bd,
  0x8c564b, 0xe377c2, 0x7f7f7f, 0xbcbd22, 0x17becf,
};

/* Okabe–Ito, safe for colour-blind readers; the digit palette is not reused
 * so that a network is never mistaken for a digit */
static const guint32 net_colours[MM_N_ARCH] = {
  0x0072b2, 0xd55e00, 0xe69f00, 0x009e73, 0xcc79a7,
};

static void
hex_rgb (guint32 c, double rgb[3])
{
  rgb[0] = ((c >> 16) & 0xff) / 255.0;
  rgb[1] = ((c >> 8) & 0xff) / 255.0;
  rgb[2] = (c & 0xff) / 255.0;
}

void
mm_fig_digit_rgb (int digit, double rgb[3])
{
  hex_rgb (digit_colours[CLAMP (digit, 0, 9)], rgb);
}

void
mm_fig_net_rgb (MmArch arch, double rgb[3])
{
  hex_rgb (net_colours[MIN ((int) arch, MM_N_ARCH - 1)], rgb);
}

static void
set_rgb (cairo_t *cr, const double rgb[3], double alpha)
{
  cairo_set_source_rgba (cr, rgb[0], rgb[1], rgb[2], alpha);
}

static void
set_digit (cairo_t *cr, int digit, double alpha)
{
  double rgb[3];
  mm_fig_digit_rgb (digit, rgb);
  set_rgb (cr, rgb, alpha);
}

static void
set_net (cairo_t *cr, MmArch arch, double alpha)
{
  double rgb[3];
  mm_fig_net_rgb (arch, rgb);
  set_rgb (cr, rgb, alpha);
}

static gboolean
is_lstm (MmArch a)
{
  return a == MM_ARCH_AUDIONET_LSTM || a == MM_ARCH_HYBRIDNET_CNN_LSTM;
}

/* A circle path on its own (text leaves a current point that an arc would
 * join with a line). */
static void
circle (cairo_t *cr, double x, double y, double r)
{
  cairo_new_sub_path (cr);
  cairo_arc (cr, x, y, r, 0, 2 * G_PI);
}

/* ---- text ---- */

/* Draws @s with its baseline at @y; @align 0 puts its left end at @x, 0.5
 * its middle, 1 its right end. Returns the advance. */
static double
text (cairo_t *cr, double x, double y, double size, double align, gboolean bold, const char *s)
{
  cairo_text_extents_t e;

  cairo_select_font_face (cr, FONT, CAIRO_FONT_SLANT_NORMAL,
      bold ? CAIRO_FONT_WEIGHT_BOLD : CAIRO_FONT_WEIGHT_NORMAL);
  cairo_set_font_size (cr, size);
  cairo_text_extents (cr, s, &e);
  cairo_move_to (cr, x - align * e.x_advance, y);
  cairo_show_text (cr, s);
  return e.x_advance;
}

static double G_GNUC_PRINTF (7, 8)
textf (cairo_t *cr, double x, double y, double size, double align, gboolean bold,
    const char *fmt, ...)
{
  va_list ap;
  char *s;
  double adv;

  va_start (ap, fmt);
  s = g_strdup_vprintf (fmt, ap);
  va_end (ap);
  adv = text (cr, x, y, size, align, bold, s);
  g_free (s);
  return adv;
}

static void
black (cairo_t *cr)
{
  cairo_set_source_rgb (cr, 0.1, 0.1, 0.1);
}

static void
grey (cairo_t *cr, double v)
{
  cairo_set_source_rgb (cr, v, v, v);
}

/* ---- plots ---- */

typedef struct {
  double x, y, w, h;           /* the data area, in points */
  double x0, x1, y0, y1;       /* the data range shown */
} Plot;

static double
px (const Plot *p, double v)
{
  return p->x + (v - p->x0) / (p->x1 - p->x0) * p->w;
}

static double
py (const Plot *p, double v)
{
  return p->y + p->h - (v - p->y0) / (p->y1 - p->y0) * p->h;
}

/* Frame, grid at the ticks, tick labels and axis titles. */
static void
axes (cairo_t *cr, const Plot *p, const double *xt, int nxt, const char *xfmt,
    const double *yt, int nyt, const char *yfmt, const char *xlabel, const char *ylabel)
{
  cairo_set_line_width (cr, 0.5);
  grey (cr, 0.88);
  for (int i = 0; i < nxt; i++) {
    cairo_move_to (cr, px (p, xt[i]), p->y);
    cairo_line_to (cr, px (p, xt[i]), p->y + p->h);
  }
  for (int i = 0; i < nyt; i++) {
    cairo_move_to (cr, p->x, py (p, yt[i]));
    cairo_line_to (cr, p->x + p->w, py (p, yt[i]));
  }
  cairo_stroke (cr);
  black (cr);
  cairo_set_line_width (cr, 0.8);
  cairo_rectangle (cr, p->x, p->y, p->w, p->h);
  cairo_stroke (cr);
  for (int i = 0; i < nxt; i++) {
    char *s = g_strdup_printf (xfmt, xt[i]);
    text (cr, px (p, xt[i]), p->y + p->h + 11, 8, 0.5, FALSE, s);
    g_free (s);
  }
  for (int i = 0; i < nyt; i++) {
    char *s = g_strdup_printf (yfmt, yt[i]);
    text (cr, p->x - 3, py (p, yt[i]) + 3, 8, 1, FALSE, s);
    g_free (s);
  }
  if (xlabel)
    text (cr, p->x + p->w / 2, p->y + p->h + 24, 9, 0.5, FALSE, xlabel);
  if (ylabel) {
    cairo_save (cr);
    cairo_translate (cr, p->x - 28, p->y + p->h / 2);
    cairo_rotate (cr, -G_PI / 2);
    text (cr, 0, 0, 9, 0.5, FALSE, ylabel);
    cairo_restore (cr);
  }
}

/* ---- writing ---- */

static gboolean
cairo_ok (cairo_status_t st, const char *path, GError **error)
{
  if (st == CAIRO_STATUS_SUCCESS)
    return TRUE;
  g_set_error (error, MM_ERROR, MM_ERROR_IO, "%s: %s", path, cairo_status_to_string (st));
  return FALSE;
}

/* A temporary file beside @path; the name (g_free) or NULL with @error. */
static char *
temp_beside (const char *path, GError **error)
{
  char *tmp = g_strconcat (path, ".XXXXXX", NULL);
  int fd = g_mkstemp (tmp);

  if (fd < 0) {
    g_set_error (error, MM_ERROR, MM_ERROR_IO, "cannot write beside %s: %s", path,
        g_strerror (errno));
    g_free (tmp);
    return NULL;
  }
  g_close (fd, NULL);
  g_chmod (tmp, 0644);    /* mkstemp's 0600 would survive the rename */
  return tmp;
}

static gboolean
finish (const char *tmp, const char *path, gboolean ok, GError **error)
{
  if (ok && g_rename (tmp, path) != 0) {
    g_set_error (error, MM_ERROR, MM_ERROR_IO, "%s: %s", path, g_strerror (errno));
    ok = FALSE;
  }
  if (!ok)
    g_unlink (tmp);
  return ok;
}

static void
draw_page (cairo_surface_t *s, double scale, DrawFunc draw, gconstpointer data)
{
  cairo_t *cr = cairo_create (s);

  cairo_scale (cr, scale, scale);
  cairo_set_source_rgb (cr, 1, 1, 1);
  cairo_paint (cr);
  draw (cr, data);
  cairo_destroy (cr);
}

/* STEM.png and STEM.svg of one drawing, @w × @h points. */
static gboolean
render (const char *stem, double w, double h, DrawFunc draw, gconstpointer data,
    MmFigSize *size, GError **error)
{
  char *png = g_strconcat (stem, ".png", NULL), *svg = g_strconcat (stem, ".svg", NULL);
  char *tmp = NULL;
  cairo_surface_t *s;
  gboolean ok = FALSE;

  if (size)
    *size = (MmFigSize) { w, h };
  if (!(tmp = temp_beside (png, error)))
    goto out;
  s = cairo_image_surface_create (CAIRO_FORMAT_RGB24, (int) ceil (w * MM_FIG_PNG_SCALE),
      (int) ceil (h * MM_FIG_PNG_SCALE));
  draw_page (s, MM_FIG_PNG_SCALE, draw, data);
  ok = cairo_ok (cairo_surface_status (s), png, error)
      && cairo_ok (cairo_surface_write_to_png (s, tmp), png, error);
  cairo_surface_destroy (s);
  if (!finish (tmp, png, ok, error))
    goto out;
  g_free (tmp);
  ok = FALSE;
  if (!(tmp = temp_beside (svg, error)))
    goto out;
  s = cairo_svg_surface_create (tmp, w, h);
  cairo_svg_surface_set_document_unit (s, CAIRO_SVG_UNIT_PT);
  draw_page (s, 1.0, draw, data);
  cairo_surface_finish (s);
  ok = cairo_ok (cairo_surface_status (s), svg, error);
  cairo_surface_destroy (s);
  ok = finish (tmp, svg, ok, error);
out:
  g_free (tmp);
  g_free (png);
  g_free (svg);
  return ok;
}

/* ---- Figure 4 ---- */

#define TILE_W 152.0
#define TILE_H 64.0
#define TILE_COLS 5
#define TILE_MAX 30

typedef struct {
  const MmArch *nets;
  const MmFigGallery *parts;
  int n_parts;
} GalleryData;

static int
gallery_rows (const MmFigGallery *g)
{
  return (MIN (g->n_tiles, TILE_MAX) + TILE_COLS - 1) / TILE_COLS;
}

static void
draw_digit_image (cairo_t *cr, const float *img, double x, double y, double side)
{
  cairo_surface_t *s = cairo_image_surface_create (CAIRO_FORMAT_RGB24, 28, 28);
  unsigned char *px_data;
  int stride;
  cairo_pattern_t *pat;

  cairo_surface_flush (s);
  px_data = cairo_image_surface_get_data (s);
  stride = cairo_image_surface_get_stride (s);
  for (int r = 0; r < 28; r++)
    for (int c = 0; c < 28; c++) {
      guint8 v = (guint8) lrintf (CLAMP (img[r * 28 + c], 0.0f, 1.0f) * 255);
      /* dark digit on white paper, as printed figures show MNIST */
      guint32 g = 255 - v;
      ((guint32 *) (px_data + r * stride))[c] = g << 16 | g << 8 | g;
    }
  cairo_surface_mark_dirty (s);
  cairo_save (cr);
  cairo_translate (cr, x, y);
  cairo_scale (cr, side / 28, side / 28);
  cairo_set_source_surface (cr, s, 0, 0);
  pat = cairo_get_source (cr);
  cairo_pattern_set_filter (pat, CAIRO_FILTER_NEAREST);
  cairo_paint (cr);
  cairo_restore (cr);
  cairo_surface_destroy (s);
  grey (cr, 0.6);
  cairo_set_line_width (cr, 0.5);
  cairo_rectangle (cr, x, y, side, side);
  cairo_stroke (cr);
}

static const char *
short_name (MmArch a)
{
  static const char *names[MM_N_ARCH] = { "Image", "Audio", "Audio LSTM", "Hybrid", "Hybrid LSTM" };
  return names[MIN ((int) a, MM_N_ARCH - 1)];
}

static void
draw_tile (cairo_t *cr, const MmArch *nets, const MmFigTile *t, double x, double y)
{
  draw_digit_image (cr, t->image, x, y + 4, 56);
  black (cr);
  textf (cr, x + 62, y + 13, 8.5, 0, TRUE, "true %d", t->label);
  grey (cr, 0.45);
  textf (cr, x + 102, y + 13, 7.5, 0, FALSE, "#%d", t->index);
  for (int k = 0; k < 3; k++) {
    gboolean right = t->pred[k] == t->label;
    double yy = y + 27 + 12 * k;
    set_net (cr, nets[k], 1);
    cairo_rectangle (cr, x + 62, yy - 6.5, 6, 6);
    cairo_fill (cr);
    black (cr);
    text (cr, x + 71, yy, 8, 0, FALSE, short_name (nets[k]));
    if (right)
      cairo_set_source_rgb (cr, 0.1, 0.45, 0.15);
    else
      cairo_set_source_rgb (cr, 0.8, 0.1, 0.1);
    textf (cr, x + 148, yy, 8, 1, !right, "%d (%.2f)", t->pred[k], t->conf[k]);
  }
}

static void
draw_gallery (cairo_t *cr, gconstpointer data)
{
  const GalleryData *d = data;
  double y = MARGIN;

  black (cr);
  text (cr, MARGIN, y + 12, 13, 0, TRUE, "Figure 4 — what each network said about the samples it got wrong");
  y += 22;
  for (int k = 0; k < 3; k++) {
    double x = MARGIN + 150 * k;
    set_net (cr, d->nets[k], 1);
    cairo_rectangle (cr, x, y + 3, 8, 8);
    cairo_fill (cr);
    black (cr);
    textf (cr, x + 12, y + 11, 9, 0, FALSE, "%s = %s", short_name (d->nets[k]),
        mm_arch_name (d->nets[k]));
  }
  grey (cr, 0.35);
  text (cr, MARGIN + 450, y + 11, 8.5, 0, FALSE, "prediction (confidence); red: wrong");
  y += 20;
  for (int p = 0; p < d->n_parts; p++) {
    const MmFigGallery *g = &d->parts[p];
    int shown = MIN (g->n_tiles, TILE_MAX);
    char *more = shown < g->n_total ? g_strdup_printf (", first %d shown", shown) : g_strdup ("");
    black (cr);
    textf (cr, MARGIN, y + 14, 10.5, 0, TRUE, "%s (%d%s)", g->title, g->n_total, more);
    g_free (more);
    y += 22;
    if (shown == 0) {
      grey (cr, 0.4);
      text (cr, MARGIN, y + 12, 9, 0, FALSE, "none");
      y += 22;
    }
    for (int i = 0; i < shown; i++)
      draw_tile (cr, d->nets, &g->tiles[i], MARGIN + (i % TILE_COLS) * TILE_W,
          y + (i / TILE_COLS) * TILE_H);
    y += gallery_rows (g) * TILE_H + 8;
  }
}

gboolean
mm_fig_gallery (const char *stem, const MmArch nets[3], const MmFigGallery *parts, int n_parts,
    MmFigSize *size, GError **error)
{
  GalleryData d = { nets, parts, n_parts };
  double h = MARGIN + 42;

  for (int p = 0; p < n_parts; p++)
    h += 22 + MAX (gallery_rows (&parts[p]) * TILE_H, 22) + 8;
  return render (stem, 2 * MARGIN + TILE_COLS * TILE_W, h + MARGIN, draw_gallery, &d, size,
      error);
}

/* ---- Figure 5 ---- */

#define VENN_W 330.0
#define VENN_H 322.0
#define VENN_R 72.0

typedef struct {
  const MmArch *nets;
  const MmFigVenn *panels;
  int n_panels;
} VennData;

static void
draw_venn_panel (cairo_t *cr, const MmArch *nets, const MmFigVenn *v, double x0, double y0)
{
  /* circle centres: image top left, audio top right, hybrid below */
  double cx = x0 + VENN_W / 2, off = VENN_R * 0.62, top = y0 + 62 + VENN_R;
  double c[3][2] = {
    { cx - off, top }, { cx + off, top }, { cx, top + off * 1.5 },
  };
  double gx = (c[0][0] + c[1][0] + c[2][0]) / 3, gy = (c[0][1] + c[1][1] + c[2][1]) / 3;
  int errors[3] = { 0 };

  for (int r = 1; r < 8; r++)
    for (int k = 0; k < 3; k++)
      if (r & (1 << k))
        errors[k] += v->region[r];
  black (cr);
  text (cr, cx, y0 + 16, 11, 0.5, TRUE, v->title);
  grey (cr, 0.3);
  textf (cr, cx, y0 + 30, 8.5, 0.5, FALSE, "%d samples; counts of samples each set got wrong",
      v->n);
  for (int k = 0; k < 3; k++) {
    circle (cr, c[k][0], c[k][1], VENN_R);
    set_net (cr, nets[k], 0.18);
    cairo_fill_preserve (cr);
    set_net (cr, nets[k], 0.9);
    cairo_set_line_width (cr, 1.5);
    cairo_stroke (cr);
  }
  /* set names above the two upper circles and below the lower one */
  for (int k = 0; k < 3; k++) {
    double ly = k < 2 ? c[k][1] - VENN_R - 7 : c[k][1] + VENN_R + 15;
    set_net (cr, nets[k], 1);
    textf (cr, c[k][0] + (k == 0 ? -12 : k == 1 ? 12 : 0), ly, 9, 0.5, TRUE, "%s (%d)",
        mm_arch_name (nets[k]), errors[k]);
  }
  black (cr);
  for (int r = 1; r < 8; r++) {
    double lx = 0, ly = 0;
    int in = 0;
    for (int k = 0; k < 3; k++)
      if (r & (1 << k)) {
        lx += c[k][0];
        ly += c[k][1];
        in++;
      }
    lx /= in;
    ly /= in;
    if (in < 3) {
      /* push a one- or two-set region away from the sets it is not in */
      double dx = lx - gx, dy = ly - gy, l = hypot (dx, dy);
      double push = in == 1 ? VENN_R * 0.45 : VENN_R * 0.2;
      lx += dx / l * push;
      ly += dy / l * push;
    }
    textf (cr, lx, ly + 5, 13, 0.5, v->region[r] > 0, "%d", v->region[r]);
  }
  grey (cr, 0.3);
  textf (cr, cx, y0 + VENN_H - 6, 9, 0.5, FALSE, "right by all three: %d", v->region[0]);
}

static void
draw_venn (cairo_t *cr, gconstpointer data)
{
  const VennData *d = data;

  black (cr);
  text (cr, MARGIN, MARGIN + 12, 13, 0, TRUE, "Figure 5 — overlap of the errors of the image, audio and hybrid networks");
  for (int p = 0; p < d->n_panels; p++)
    draw_venn_panel (cr, d->nets, &d->panels[p], MARGIN + p * VENN_W, MARGIN + 22);
}

gboolean
mm_fig_venn (const char *stem, const MmArch nets[3], const MmFigVenn *panels, int n_panels,
    MmFigSize *size, GError **error)
{
  VennData d = { nets, panels, n_panels };
  return render (stem, 2 * MARGIN + n_panels * VENN_W, 2 * MARGIN + 22 + VENN_H, draw_venn, &d,
      size, error);
}

/* ---- Figures 6–8 ---- */

#define EMB_SIDE 250.0
#define EMB_GAP 46.0
#define EMB_ROW_H (EMB_SIDE + 56.0)
#define LEGEND_W 70.0

typedef struct {
  const char *title;
  const MmFigEmbedding *rows;
  int n_rows;
} EmbedData;

/* Each cluster takes the colour of the digit it overlaps most, greedily
 * (largest overlap first, one digit per cluster), so that a good clustering
 * looks like the labels beside it. */
static void
match_clusters (const MmFigEmbedding *e, int match[10])
{
  int overlap[10][10] = { { 0 } };
  gboolean cused[10] = { FALSE }, dused[10] = { FALSE };

  for (int i = 0; i < e->n; i++)
    if (e->clusters[i] >= 0 && e->clusters[i] < 10 && e->labels[i] >= 0 && e->labels[i] < 10)
      overlap[e->clusters[i]][e->labels[i]]++;
  for (int c = 0; c < 10; c++)
    match[c] = c;
  for (int round = 0; round < 10; round++) {
    int bc = -1, bd = -1;
    for (int c = 0; c < 10; c++)
      for (int d = 0; d < 10; d++)
        if (!cused[c] && !dused[d] && (bc < 0 || overlap[c][d] > overlap[bc][bd])) {
          bc = c;
          bd = d;
        }
    cused[bc] = dused[bd] = TRUE;
    match[bc] = bd;
  }
}

static int
compare_float (gconstpointer a, gconstpointer b)
{
  float x = *(const float *) a, y = *(const float *) b;
  return (x > y) - (x < y);
}

/* The coordinate-wise median of the points of group @g. */
static gboolean
group_median (const MmFigEmbedding *e, const int *group, int g, double *mx, double *my)
{
  GArray *xs = g_array_new (FALSE, FALSE, sizeof (float));
  GArray *ys = g_array_new (FALSE, FALSE, sizeof (float));
  gboolean any;

  for (int i = 0; i < e->n; i++)
    if (group[i] == g) {
      g_array_append_val (xs, e->xy[2 * i]);
      g_array_append_val (ys, e->xy[2 * i + 1]);
    }
  any = xs->len > 0;
  if (any) {
    g_array_sort (xs, compare_float);
    g_array_sort (ys, compare_float);
    *mx = g_array_index (xs, float, xs->len / 2);
    *my = g_array_index (ys, float, ys->len / 2);
  }
  g_array_unref (xs);
  g_array_unref (ys);
  return any;
}

static void
scatter_panel (cairo_t *cr, const MmFigEmbedding *e, const int *colour_of, const int *match,
    double x, double y, const char *caption)
{
  double minx = G_MAXDOUBLE, maxx = -G_MAXDOUBLE, miny = G_MAXDOUBLE, maxy = -G_MAXDOUBLE, span;
  Plot p;

  for (int i = 0; i < e->n; i++) {
    minx = MIN (minx, e->xy[2 * i]);
    maxx = MAX (maxx, e->xy[2 * i]);
    miny = MIN (miny, e->xy[2 * i + 1]);
    maxy = MAX (maxy, e->xy[2 * i + 1]);
  }
  /* one scale for both axes: t-SNE distances mean the same either way */
  span = MAX (maxx - minx, maxy - miny) * 1.06 + 1e-9;
  p = (Plot) { x, y, EMB_SIDE, EMB_SIDE, (minx + maxx - span) / 2, (minx + maxx + span) / 2,
    (miny + maxy - span) / 2, (miny + maxy + span) / 2 };
  black (cr);
  text (cr, x, y - 5, 9, 0, FALSE, caption);
  grey (cr, 0.6);
  cairo_set_line_width (cr, 0.6);
  cairo_rectangle (cr, x, y, EMB_SIDE, EMB_SIDE);
  cairo_stroke (cr);
  for (int i = 0; i < e->n; i++) {
    int c = colour_of[i];
    set_digit (cr, match ? match[CLAMP (c, 0, 9)] : c, 0.75);
    circle (cr, px (&p, e->xy[2 * i]), py (&p, e->xy[2 * i + 1]), e->n > 1000 ? 1.2 : 2.0);
    cairo_fill (cr);
  }
  /* each group's name at its median point, where the group is */
  for (int g = 0; g < 10; g++) {
    double mx, my, lx, ly;
    if (!group_median (e, colour_of, g, &mx, &my))
      continue;
    /* beside the group, not on it: small groups stay visible */
    lx = CLAMP (px (&p, mx) + 11, x + 8, x + EMB_SIDE - 8);
    ly = CLAMP (py (&p, my) - 11, y + 8, y + EMB_SIDE - 8);
    cairo_set_source_rgba (cr, 1, 1, 1, 0.85);
    circle (cr, lx, ly, 6.5);
    cairo_fill (cr);
    set_digit (cr, match ? match[g] : g, 1);
    cairo_set_line_width (cr, 1);
    circle (cr, lx, ly, 6.5);
    cairo_stroke (cr);
    black (cr);
    textf (cr, lx, ly + 3.2, 8.5, 0.5, TRUE, "%d", match ? match[g] : g);
  }
}

static void
digit_legend (cairo_t *cr, double x, double y)
{
  black (cr);
  text (cr, x, y, 9, 0, TRUE, "digit");
  for (int d = 0; d < 10; d++) {
    set_digit (cr, d, 1);
    circle (cr, x + 5, y + 14 + 15 * d - 3, 4.5);
    cairo_fill (cr);
    black (cr);
    textf (cr, x + 15, y + 14 + 15 * d, 9, 0, FALSE, "%d", d);
  }
}

static void
draw_embeddings (cairo_t *cr, gconstpointer data)
{
  const EmbedData *d = data;

  black (cr);
  text (cr, MARGIN, MARGIN + 12, 13, 0, TRUE, d->title);
  grey (cr, 0.3);
  text (cr, MARGIN, MARGIN + 27, 8.5, 0, FALSE,
      "PCA to 50 dimensions, t-SNE to 2 (perplexity 30). Left: coloured by the true digit. Right: "
      "k-means (k = 10) on the 50 PCA dimensions,");
  text (cr, MARGIN, MARGIN + 38, 8.5, 0, FALSE,
      "each cluster coloured and named by the digit it matches best; labels sit beside each "
      "group's median point.");
  for (int r = 0; r < d->n_rows; r++) {
    const MmFigEmbedding *e = &d->rows[r];
    double y = MARGIN + 50 + r * EMB_ROW_H;
    int match[10];
    char *left, *right;

    match_clusters (e, match);
    black (cr);
    text (cr, MARGIN, y + 12, 10.5, 0, TRUE, e->title);
    left = g_strdup_printf ("true digit — t-SNE trustworthiness %.3f (5 neighbours)",
        e->trustworthiness);
    right = g_strdup_printf ("k-means clusters — ARI %.3f, NMI %.3f", e->ari, e->nmi);
    scatter_panel (cr, e, e->labels, NULL, MARGIN, y + 30, left);
    scatter_panel (cr, e, e->clusters, match, MARGIN + EMB_SIDE + EMB_GAP, y + 30, right);
    g_free (left);
    g_free (right);
  }
  digit_legend (cr, MARGIN + 2 * EMB_SIDE + EMB_GAP + 16, MARGIN + 80);
}

gboolean
mm_fig_embeddings (const char *stem, const char *title, const MmFigEmbedding *rows, int n_rows,
    MmFigSize *size, GError **error)
{
  EmbedData d = { title, rows, n_rows };
  return render (stem, 2 * MARGIN + 2 * EMB_SIDE + EMB_GAP + LEGEND_W,
      2 * MARGIN + 50 + n_rows * EMB_ROW_H - 16, draw_embeddings, &d, size, error);
}

/* ---- robustness curves ---- */

#define CURVE_W 210.0
#define CURVE_H 150.0
#define CURVE_CELL_W (CURVE_W + 62.0)
#define CURVE_CELL_H (CURVE_H + 74.0)
#define CURVE_COLS 3

typedef struct {
  const char *title;
  const MmFigCurves *panels;
  int n_panels;
} CurvesData;

static void
net_line_style (cairo_t *cr, MmArch a)
{
  static const double dash[] = { 5, 3 };
  set_net (cr, a, 1);
  cairo_set_line_width (cr, 1.6);
  cairo_set_dash (cr, dash, is_lstm (a) ? 2 : 0, 0);
}

static void
curve_panel (cairo_t *cr, const MmFigCurves *c, double x, double y)
{
  double yt[6];
  int nyt = 0;
  Plot p;

  static const double dash[] = { 2, 2 };
  /* one scale in every panel, so that panels compare at a glance */
  for (int i = 0; i <= 5; i++)
    yt[nyt++] = 20.0 * i;
  p = (Plot) { x + 40, y + 22, CURVE_W, CURVE_H, -0.5, c->n_levels - 0.5, 0, 100 };
  black (cr);
  text (cr, x + 40, y + 12, 10, 0, TRUE, c->title);
  {
    double xt[16];
    int nxt = MIN (c->n_levels, 16);
    for (int i = 0; i < nxt; i++)
      xt[i] = i;
    axes (cr, &p, NULL, 0, "%g", yt, nyt, "%.0f", c->xlabel, "accuracy (%)");
    /* the x axis is categorical: one tick per level, its value as label */
    black (cr);
    for (int i = 0; i < nxt; i++) {
      char *s = isinf (c->levels[i]) ? g_strdup ("clean") : g_strdup_printf ("%g", c->levels[i]);
      text (cr, px (&p, xt[i]), p.y + p.h + 11, 8, 0.5, FALSE, s);
      g_free (s);
    }
  }
  /* chance: one digit in ten */
  grey (cr, 0.5);
  cairo_set_line_width (cr, 0.7);
  cairo_set_dash (cr, dash, 2, 0);
  cairo_move_to (cr, p.x, py (&p, 10));
  cairo_line_to (cr, p.x + p.w, py (&p, 10));
  cairo_stroke (cr);
  cairo_set_dash (cr, NULL, 0, 0);
  text (cr, p.x + p.w - 2, py (&p, 10) - 3, 7, 1, FALSE, "chance");
  for (int k = 0; k < c->n_nets; k++) {
    const double *acc = c->accuracy + (size_t) k * c->n_levels;
    gboolean started = FALSE;
    net_line_style (cr, c->nets[k]);
    for (int i = 0; i < c->n_levels; i++) {
      if (isnan (acc[i]))
        continue;
      if (!started)
        cairo_move_to (cr, px (&p, i), py (&p, acc[i] * 100));
      else
        cairo_line_to (cr, px (&p, i), py (&p, acc[i] * 100));
      started = TRUE;
    }
    cairo_stroke (cr);
    cairo_set_dash (cr, NULL, 0, 0);
    for (int i = 0; i < c->n_levels; i++)
      if (!isnan (acc[i])) {
        circle (cr, px (&p, i), py (&p, acc[i] * 100), 2.2);
        cairo_fill (cr);
      }
  }
}

static void
net_legend (cairo_t *cr, const MmArch *nets, int n, double x, double y)
{
  black (cr);
  text (cr, x, y, 9.5, 0, TRUE, "network");
  for (int k = 0; k < n; k++) {
    double yy = y + 16 + 16 * k;
    net_line_style (cr, nets[k]);
    cairo_move_to (cr, x, yy - 3);
    cairo_line_to (cr, x + 26, yy - 3);
    cairo_stroke (cr);
    cairo_set_dash (cr, NULL, 0, 0);
    circle (cr, x + 13, yy - 3, 2.2);
    cairo_fill (cr);
    black (cr);
    text (cr, x + 32, yy, 9, 0, FALSE, mm_arch_name (nets[k]));
  }
}

static void
draw_curves (cairo_t *cr, gconstpointer data)
{
  const CurvesData *d = data;
  int legend_slot = d->n_panels % CURVE_COLS ? d->n_panels : -1;

  black (cr);
  text (cr, MARGIN, MARGIN + 12, 13, 0, TRUE, d->title);
  for (int i = 0; i < d->n_panels; i++)
    curve_panel (cr, &d->panels[i], MARGIN + (i % CURVE_COLS) * CURVE_CELL_W,
        MARGIN + 24 + (i / CURVE_COLS) * CURVE_CELL_H);
  if (d->n_panels > 0) {
    double lx, ly;
    if (legend_slot >= 0) {
      lx = MARGIN + (legend_slot % CURVE_COLS) * CURVE_CELL_W + 50;
      ly = MARGIN + 24 + (legend_slot / CURVE_COLS) * CURVE_CELL_H + 40;
    } else {
      lx = MARGIN + 50;
      ly = MARGIN + 24 + ((d->n_panels + CURVE_COLS - 1) / CURVE_COLS) * CURVE_CELL_H;
    }
    net_legend (cr, d->panels[0].nets, d->panels[0].n_nets, lx, ly);
  }
}

gboolean
mm_fig_curves (const char *stem, const char *title, const MmFigCurves *panels, int n_panels,
    MmFigSize *size, GError **error)
{
  CurvesData d = { title, panels, n_panels };
  int rows = (n_panels + CURVE_COLS - 1) / CURVE_COLS;
  /* the legend takes a free panel slot, or a strip below */
  double legend = n_panels % CURVE_COLS == 0 ? 30 + 16 * (n_panels ? panels[0].n_nets : 0) : 0;
  return render (stem, 2 * MARGIN + CURVE_COLS * CURVE_CELL_W,
      2 * MARGIN + 24 + rows * CURVE_CELL_H + legend, draw_curves, &d, size, error);
}

/* ---- calibration ---- */

#define REL_SIDE 150.0
#define REL_CELL_W (REL_SIDE + 58.0)
#define REL_HIST_H 34.0

typedef struct {
  const MmFigReliability *panels;
  int n_panels;
} RelData;

static void
reliability_panel (cairo_t *cr, const MmFigReliability *r, double x, double y)
{
  static const double t[] = { 0, 0.2, 0.4, 0.6, 0.8, 1.0 };
  Plot p = { x + 40, y + 22, REL_SIDE, REL_SIDE, 0, 1, 0, 1 };
  Plot h = { x + 40, y + 22 + REL_SIDE + 30, REL_SIDE, REL_HIST_H, 0, 1, 0,
    log10 (MAX (r->n, 10)) };
  double bw = 1.0 / r->n_bins;

  black (cr);
  text (cr, x + 40, y + 12, 10, 0, TRUE, mm_arch_name (r->net));
  axes (cr, &p, t, 6, "%.1f", t, 6, "%.1f", NULL, "accuracy");
  for (int b = 0; b < r->n_bins; b++) {
    const MmCalibrationBin *bin = &r->bins[b];
    double x0 = px (&p, b * bw), x1 = px (&p, (b + 1) * bw);
    if (bin->count == 0)
      continue;
    set_net (cr, r->net, 0.85);
    cairo_rectangle (cr, x0 + 0.5, py (&p, bin->accuracy), x1 - x0 - 1,
        py (&p, 0) - py (&p, bin->accuracy));
    cairo_fill (cr);
    /* the gap to perfect calibration at the bin's mean confidence */
    cairo_set_source_rgba (cr, 0.85, 0.1, 0.1, 0.9);
    cairo_set_line_width (cr, 1.2);
    cairo_rectangle (cr, x0 + 1, py (&p, MAX (bin->accuracy, bin->confidence)), x1 - x0 - 2,
        fabs (py (&p, bin->accuracy) - py (&p, bin->confidence)));
    cairo_stroke (cr);
  }
  {
    static const double dash[] = { 3, 2 };
    grey (cr, 0.3);
    cairo_set_line_width (cr, 0.8);
    cairo_set_dash (cr, dash, 2, 0);
    cairo_move_to (cr, px (&p, 0), py (&p, 0));
    cairo_line_to (cr, px (&p, 1), py (&p, 1));
    cairo_stroke (cr);
    cairo_set_dash (cr, NULL, 0, 0);
  }
  black (cr);
  textf (cr, p.x + 6, p.y + 14, 9, 0, TRUE, "ECE %.2f %%", 100 * r->ece);
  grey (cr, 0.3);
  textf (cr, p.x + 6, p.y + 26, 7.5, 0, FALSE, "%d samples", r->n);
  /* how many samples each bin holds, on a log scale */
  grey (cr, 0.92);
  cairo_rectangle (cr, h.x, h.y, h.w, h.h);
  cairo_fill (cr);
  for (int b = 0; b < r->n_bins; b++)
    if (r->bins[b].count > 0) {
      double v = log10 (r->bins[b].count + 1.0);
      set_net (cr, r->net, 0.6);
      cairo_rectangle (cr, px (&h, b * bw) + 0.5, py (&h, v), px (&h, bw) - px (&h, 0) - 1,
          py (&h, 0) - py (&h, v));
      cairo_fill (cr);
    }
  black (cr);
  text (cr, h.x + h.w / 2, h.y + h.h + 12, 8.5, 0.5, FALSE, "confidence (top softmax probability)");
  text (cr, h.x - 3, h.y + 9, 7, 1, FALSE, "log n");
}

static void
draw_reliability (cairo_t *cr, gconstpointer data)
{
  const RelData *d = data;

  black (cr);
  text (cr, MARGIN, MARGIN + 12, 13, 0, TRUE,
      "Calibration — reliability diagrams and expected calibration error (15 bins), clean held-out test");
  grey (cr, 0.3);
  text (cr, MARGIN, MARGIN + 27, 8.5, 0, FALSE,
      "bars: accuracy of the samples in each confidence bin; red box: gap between that accuracy and "
      "the bin's mean confidence (the diagonal is perfect calibration); strip below: samples per bin (log scale)");
  for (int i = 0; i < d->n_panels; i++)
    reliability_panel (cr, &d->panels[i], MARGIN + i * REL_CELL_W, MARGIN + 38);
}

gboolean
mm_fig_reliability (const char *stem, const MmFigReliability *panels, int n_panels,
    MmFigSize *size, GError **error)
{
  RelData d = { panels, n_panels };
  return render (stem, 2 * MARGIN + n_panels * REL_CELL_W,
      2 * MARGIN + 38 + 22 + REL_SIDE + 30 + REL_HIST_H + 18, draw_reliability, &d, size, error);
}

/* ---- confusion heat maps ---- */

#define CELL 19.0
#define CONF_CELL_W (10 * CELL + 70.0)
#define CONF_CELL_H (10 * CELL + 64.0)
#define CONF_COLS 3

typedef struct {
  const char *title;
  const MmFigConfusion *panels;
  int n_panels;
  int max_off;         /* the largest off-diagonal count over all panels */
} ConfData;

static void
confusion_panel (cairo_t *cr, const MmFigConfusion *f, int max_off, double x, double y)
{
  const MmConfusion *c = f->c;
  double gx = x + 34, gy = y + 34;

  black (cr);
  textf (cr, gx, y + 12, 10, 0, TRUE, "%s — %.2f %%", mm_arch_name (f->net),
      100 * mm_confusion_accuracy (c));
  for (int t = 0; t < 10; t++) {
    int row = 0;
    for (int k = 0; k < 10; k++)
      row += c->confusion[t][k];
    for (int k = 0; k < 10; k++) {
      int v = c->confusion[t][k];
      double cx = gx + k * CELL, cy = gy + t * CELL, a;
      gboolean dark;
      if (t == k) {
        /* right answers: blue by the share of the row */
        a = row ? (double) v / row : 0;
        cairo_set_source_rgb (cr, 1 - 0.75 * a, 1 - 0.55 * a, 1 - 0.2 * a);
        dark = a > 0.6;
      } else {
        /* errors: red on a log scale shared by every panel, so panels compare */
        a = v ? log1p (v) / log1p (MAX (max_off, 1)) : 0;
        cairo_set_source_rgb (cr, 1 - 0.15 * a, 1 - 0.85 * a, 1 - 0.85 * a);
        dark = a > 0.75;
      }
      cairo_rectangle (cr, cx, cy, CELL, CELL);
      cairo_fill (cr);
      if (v) {
        if (dark)
          cairo_set_source_rgb (cr, 1, 1, 1);
        else
          black (cr);
        textf (cr, cx + CELL / 2, cy + CELL / 2 + 2.5, v >= 1000 ? 5.8 : 7, 0.5, FALSE, "%d", v);
      }
    }
  }
  grey (cr, 0.6);
  cairo_set_line_width (cr, 0.5);
  cairo_rectangle (cr, gx, gy, 10 * CELL, 10 * CELL);
  cairo_stroke (cr);
  for (int d = 0; d < 10; d++) {
    set_digit (cr, d, 1);
    textf (cr, gx + d * CELL + CELL / 2, gy - 4, 8.5, 0.5, TRUE, "%d", d);
    textf (cr, gx - 4, gy + d * CELL + CELL / 2 + 3, 8.5, 1, TRUE, "%d", d);
  }
  black (cr);
  text (cr, gx + 5 * CELL, gy + 10 * CELL + 13, 8.5, 0.5, FALSE, "predicted");
  cairo_save (cr);
  cairo_translate (cr, gx - 20, gy + 5 * CELL);
  cairo_rotate (cr, -G_PI / 2);
  text (cr, 0, 0, 8.5, 0.5, FALSE, "true");
  cairo_restore (cr);
}

static void
draw_confusion (cairo_t *cr, gconstpointer data)
{
  const ConfData *d = data;

  black (cr);
  text (cr, MARGIN, MARGIN + 12, 13, 0, TRUE, d->title);
  grey (cr, 0.3);
  text (cr, MARGIN, MARGIN + 27, 8.5, 0, FALSE,
      "rows: true digit, columns: predicted; blue: share of the row right; red: errors (log "
      "scale, the same in every panel)");
  for (int i = 0; i < d->n_panels; i++)
    confusion_panel (cr, &d->panels[i], d->max_off, MARGIN + (i % CONF_COLS) * CONF_CELL_W,
        MARGIN + 36 + (i / CONF_COLS) * CONF_CELL_H);
}

gboolean
mm_fig_confusion (const char *stem, const char *title, const MmFigConfusion *panels, int n_panels,
    MmFigSize *size, GError **error)
{
  ConfData d = { title, panels, n_panels, 0 };
  int rows = (n_panels + CONF_COLS - 1) / CONF_COLS;

  for (int i = 0; i < n_panels; i++)
    for (int t = 0; t < 10; t++)
      for (int k = 0; k < 10; k++)
        if (t != k)
          d.max_off = MAX (d.max_off, panels[i].c->confusion[t][k]);
  return render (stem, 2 * MARGIN + MIN (n_panels, CONF_COLS) * CONF_CELL_W,
      2 * MARGIN + 36 + rows * CONF_CELL_H, draw_confusion, &d, size, error);
}
