/* mmdigits — stacked LSTM (lstm.c).
 *
 * The kernels' conventions (caller-owned buffers, parameters as views into
 * an MmNet's flat blocks, backward overwrites gradients, reentrant, split
 * over the worker pools by size only) are written once in mm-layers.h.
 */
#pragma once

#include <glib.h>
#include <stddef.h>

G_BEGIN_DECLS

/* ---- LSTM: stacked layers, batch first, gates i, f, g, o (PyTorch) ---- */
typedef struct {
  int in, hidden;
  float *w_ih, *w_hh;    /* [4H][in], [4H][H] */
  float *b_ih, *b_hh;    /* [4H] */
  float *dw_ih, *dw_hh, *db_ih, *db_hh;
} MmLstmLayer;

#define MM_LSTM_MAX_LAYERS 4

typedef struct {
  int n_layers;
  MmLstmLayer layer[MM_LSTM_MAX_LAYERS];
} MmLstm;

/* Floats of cache that a forward keeps for backward (gates, cell states,
 * hidden states of every layer and step) plus backward scratch. */
size_t mm_lstm_workspace_size (const MmLstm *l, int batch, int steps);
/* x [batch][steps][in] -> h [batch][steps][hidden] of the last layer.
 * Initial hidden and cell states are zero. */
void   mm_lstm_forward  (const MmLstm *l, int batch, int steps,
                         const float *x, float *h, float *ws);
/* The same for a caller that already runs it in a task of its own, beside
 * other work (HybridNet_CNN_LSTM's encoders at batch 1): never the
 * one-sample wavefront, which only pays on cores of its own. At batch 1
 * each layer's input projection is then one GEMM instead of one product
 * per step, so the floats may differ from mm_lstm_forward's in the last
 * bits; at batch > 1 they are the same. */
void   mm_lstm_forward_in_turn (const MmLstm *l, int batch, int steps,
                                const float *x, float *h, float *ws);
/* Full back-propagation through time. dh [batch][steps][hidden] is the
 * gradient w.r.t. every output step (zeros where unused); dx may be NULL. */
void   mm_lstm_backward (const MmLstm *l, int batch, int steps,
                         const float *x, const float *dh, float *dx, float *ws);

G_END_DECLS
