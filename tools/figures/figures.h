/* mmdigits CLI — the study's figures drawn with cairo (tools/figures/figures.c).
 *
 * Each mm_fig_* function draws one figure twice, to STEM.png and STEM.svg,
 * each written to a temporary file beside the target and renamed, so a
 * failure never leaves a partial picture. Colours are fixed: a digit has the
 * same colour in every figure (mm_fig_digit_rgb), a network too
 * (mm_fig_net_rgb). Sizes are in points; the PNG has MM_FIG_PNG_SCALE
 * pixels per point. The drawing code only draws: the numbers come in.
 */
#pragma once

#include <glib.h>

#include "mm-metrics.h"
#include "mm-net.h"

G_BEGIN_DECLS

#define MM_FIG_PNG_SCALE 1.25

/* The size a figure of that kind is drawn at (points), for figures.json and
 * the test; set by every mm_fig_* call. */
typedef struct {
  double width, height;
} MmFigSize;

void mm_fig_digit_rgb (int digit, double rgb[3]);
void mm_fig_net_rgb   (MmArch arch, double rgb[3]);

/* ---- Figure 4: a gallery of misclassified samples ---- */
typedef struct {
  int index, label;
  const float *image;        /* [784] in [0, 1], white digit on black */
  int pred[3];               /* what the image, audio and hybrid network said */
  float conf[3];             /* and how sure each was (top softmax probability) */
} MmFigTile;

typedef struct {
  const char *title;
  const MmFigTile *tiles;
  int n_tiles;               /* drawn: at most 30 (6 rows of 5) */
  int n_total;               /* how many exist, for the heading */
} MmFigGallery;

gboolean mm_fig_gallery (const char *stem, const MmArch nets[3], const MmFigGallery *parts,
                         int n_parts, MmFigSize *size, GError **error);

/* ---- Figure 5: three-set Venn diagrams of error indices ---- */
typedef struct {
  const char *title;
  int n;                     /* samples */
  int region[8];             /* bit 0: image net wrong, bit 1: audio, bit 2: hybrid;
                              * region[0] = samples all three got right */
} MmFigVenn;

gboolean mm_fig_venn (const char *stem, const MmArch nets[3], const MmFigVenn *panels,
                      int n_panels, MmFigSize *size, GError **error);

/* ---- Figures 6–8: 2-D embeddings, true labels beside k-means clusters ---- */
typedef struct {
  const char *title;         /* e.g. "HybridNet_CNN, fusion layer" */
  int n;
  const float *xy;           /* [n][2] */
  const int *labels;         /* [n] true digits */
  const int *clusters;       /* [n] k-means clusters, 0..9 */
  double trustworthiness, ari, nmi;
} MmFigEmbedding;

gboolean mm_fig_embeddings (const char *stem, const char *title, const MmFigEmbedding *rows,
                            int n_rows, MmFigSize *size, GError **error);

/* ---- Robustness: accuracy against a degradation, one line per network ---- */
typedef struct {
  const char *title, *xlabel;
  int n_levels;
  const double *levels;      /* x values, drawn in the given order left to right */
  int n_nets;
  const MmArch *nets;
  const double *accuracy;    /* [n_nets][n_levels] in [0, 1] */
} MmFigCurves;

gboolean mm_fig_curves (const char *stem, const char *title, const MmFigCurves *panels,
                        int n_panels, MmFigSize *size, GError **error);

/* ---- Calibration: reliability diagrams ---- */
typedef struct {
  MmArch net;
  int n, n_bins;
  const MmCalibrationBin *bins;
  double ece;
} MmFigReliability;

gboolean mm_fig_reliability (const char *stem, const MmFigReliability *panels, int n_panels,
                             MmFigSize *size, GError **error);

/* ---- Confusion matrices as heat maps ---- */
typedef struct {
  MmArch net;
  const MmConfusion *c;
} MmFigConfusion;

gboolean mm_fig_confusion (const char *stem, const char *title, const MmFigConfusion *panels,
                           int n_panels, MmFigSize *size, GError **error);

G_END_DECLS
