/* The study's five networks, built from the layer kernels of mm-layers.h.
 *
 * Each network is a composition of at most two encoders and one head:
 *   ImageNet_CNN        image CNN encoder (128)            → head.fc
 *   AudioNet_CNN        audio CNN encoder (128)            → head.fc
 *   AudioNet_LSTM       audio LSTM encoder (64)            → head.fc
 *   HybridNet_CNN       image CNN (128) ‖ audio CNN (128)  → fusion
 *   HybridNet_CNN_LSTM  image CNN (128) ‖ audio LSTM (128) → fusion
 * rather than a general graph: five fixed shapes do not need one, and a
 * straight-line forward/backward is easy to read and to check against
 * PyTorch.
 *
 * Storage (KANN's layout): parameters live in one flat block, their
 * gradients in a second of the same layout, batch-norm running statistics
 * in a third; layer structs hold views into them. The tensor list records
 * names and shapes for the model file. Activations are allocated for the
 * largest batch seen and kept for backward.
 */
#include "mm-net.h"
#include "mm-parallel.h"

#include <math.h>
#include <string.h>

#include "mm-layers.h"
#include "mm-rng.h"

#define MAX_TENSORS 48

/* conv → bn → relu → pool, twice; dropout 0.25; fc → relu → dropout 0.5 */
typedef struct {
  int h, w;                  /* input plane: 28×28 (image) or 13×39 (audio) */
  MmConv2d conv1, conv2;
  MmBatchNorm bn1, bn2;
  MmLinear fc;
  int flat;                  /* 64 · (h/2/2) · (w/2/2) */
  /* activations, [max_batch]… */
  float *x;                  /* the input as NCHW (audio: transposed copy) */
  float *c1, *p1, *c2, *p2, *f;
  int32_t *am1, *am2;
  float *mask_p2, *mask_f;
  float *bn_save;            /* 4 × 64 floats of batch-norm scratch */
} CnnEncoder;

/* LSTM 2×64 → last step → fc → relu [→ dropout] */
typedef struct {
  MmLstm lstm;
  MmLinear fc;
  float p_drop;
  float *ws, *hseq, *dhseq, *last, *f, *mask;
} LstmEncoder;

/* fc1 → BatchNorm1d → relu → dropout 0.25 → fc2 */
typedef struct {
  MmLinear fc1, fc2;
  MmBatchNorm bn;
  float *cat, *z1, *a1, *mask, *bn_save;
} Fusion;

struct _MmNet {
  MmArch arch;
  gboolean training, dropout;
  gboolean backward_ready;   /* the last forward was in training mode */
  gboolean dropped;          /* the last forward applied dropout */
  MmRng drop_rng;
  MmNorm norm;
  float temperature;         /* calibration: probabilities are softmax(logits / T) */

  float *params, *grads, *buffers;
  size_t n_params, n_buffers;
  MmTensorInfo tensors[MAX_TENSORS];
  int n_tensors;

  /* construction cursor (two passes: count, then bind) */
  int pass;
  size_t p_cursor, b_cursor;
  int t_cursor;

  gboolean has_image, has_audio_cnn, has_audio_lstm, has_fusion;
  CnnEncoder img, aud;
  LstmEncoder lstm;
  MmLinear head;
  Fusion fusion;

  int max_batch, batch;
  float *logits, *probs, *dlogits;
  float *conv_ws;             /* shared conv workspace for both encoders */
  size_t conv_ws_size;
  float *g1, *g2;             /* gradient scratch, largest activation */
  size_t g_size;
  float *emb_img, *emb_aud;   /* encoder outputs seen by the head (views) */
  float *d_img, *d_aud;       /* gradient w.r.t. the encoder outputs */
};

static const char *arch_names[MM_N_ARCH] = {
  "ImageNet_CNN", "AudioNet_CNN", "AudioNet_LSTM", "HybridNet_CNN", "HybridNet_CNN_LSTM",
};

const char *
mm_arch_name (MmArch arch)
{
  return arch < MM_N_ARCH ? arch_names[arch] : "unknown";
}

gboolean
mm_arch_from_name (const char *name, MmArch *arch)
{
  for (int i = 0; i < MM_N_ARCH; i++)
    if (name && g_ascii_strcasecmp (name, arch_names[i]) == 0) {
      *arch = (MmArch) i;
      return TRUE;
    }
  return FALSE;
}

gboolean
mm_arch_uses_image (MmArch arch)
{
  return arch == MM_ARCH_IMAGENET_CNN || arch == MM_ARCH_HYBRIDNET_CNN
      || arch == MM_ARCH_HYBRIDNET_CNN_LSTM;
}

gboolean
mm_arch_uses_audio (MmArch arch)
{
  return arch != MM_ARCH_IMAGENET_CNN && arch < MM_N_ARCH;
}

/* ---- construction ---- */

/* Registers (pass 0) or binds (pass 1) one tensor; returns its data view in
 * pass 1 and writes the gradient view to @grad. */
static float *
take (MmNet *net, const char *prefix, const char *name, gboolean buffer,
    float **grad, int ndim, int d0, int d1, int d2, int d3)
{
  int shape[4] = { d0, d1, d2, d3 };
  size_t size = 1;
  MmTensorInfo *t;

  for (int i = 0; i < ndim; i++)
    size *= (size_t) shape[i];
  if (net->pass == 0) {
    if (buffer)
      net->n_buffers += size;
    else
      net->n_params += size;
    if (grad)
      *grad = NULL;
    return NULL;
  }
  t = &net->tensors[net->t_cursor++];
  g_assert (net->t_cursor <= MAX_TENSORS);
  {
    char *full = g_strconcat (prefix, name, NULL);
    t->name = g_intern_string (full);   /* names live as long as the process */
    g_free (full);
  }
  t->ndim = ndim;
  memcpy (t->shape, shape, sizeof shape);
  t->size = size;
  if (buffer) {
    t->data = net->buffers + net->b_cursor;
    t->grad = NULL;
    net->b_cursor += size;
  } else {
    t->data = net->params + net->p_cursor;
    t->grad = net->grads + net->p_cursor;
    net->p_cursor += size;
  }
  if (grad)
    *grad = t->grad;
  return t->data;
}

static void
take_conv (MmNet *net, const char *prefix, const char *name, MmConv2d *c, int cin, int cout)
{
  char *w = g_strconcat (name, ".weight", NULL), *b = g_strconcat (name, ".bias", NULL);
  c->cin = cin;
  c->cout = cout;
  c->w = take (net, prefix, w, FALSE, &c->dw, 4, cout, cin, 3, 3);
  c->b = take (net, prefix, b, FALSE, &c->db, 1, cout, 0, 0, 0);
  g_free (w);
  g_free (b);
}

static void
take_linear (MmNet *net, const char *prefix, const char *name, MmLinear *l, int in, int out)
{
  char *w = g_strconcat (name, ".weight", NULL), *b = g_strconcat (name, ".bias", NULL);
  l->in = in;
  l->out = out;
  l->w = take (net, prefix, w, FALSE, &l->dw, 2, out, in, 0, 0);
  l->b = take (net, prefix, b, FALSE, &l->db, 1, out, 0, 0, 0);
  g_free (w);
  g_free (b);
}

static void
take_bn (MmNet *net, const char *prefix, const char *name, MmBatchNorm *bn, int c)
{
  const char *suffix[4] = { ".weight", ".bias", ".running_mean", ".running_var" };
  float *views[4];
  float *grads[4] = { NULL };

  for (int i = 0; i < 4; i++) {
    char *n = g_strconcat (name, suffix[i], NULL);
    views[i] = take (net, prefix, n, i >= 2, &grads[i], 1, c, 0, 0, 0);
    g_free (n);
  }
  bn->c = c;
  bn->momentum = 0.1f;
  bn->eps = 1e-5f;
  bn->gamma = views[0];
  bn->beta = views[1];
  bn->dgamma = grads[0];
  bn->dbeta = grads[1];
  bn->running_mean = views[2];
  bn->running_var = views[3];
}

static void
take_lstm (MmNet *net, const char *prefix, MmLstm *lstm, int in, int hidden, int layers)
{
  lstm->n_layers = layers;
  for (int k = 0; k < layers; k++) {
    MmLstmLayer *L = &lstm->layer[k];
    char *n[4] = {
      g_strdup_printf ("lstm.weight_ih_l%d", k), g_strdup_printf ("lstm.weight_hh_l%d", k),
      g_strdup_printf ("lstm.bias_ih_l%d", k), g_strdup_printf ("lstm.bias_hh_l%d", k),
    };
    L->in = k == 0 ? in : hidden;
    L->hidden = hidden;
    L->w_ih = take (net, prefix, n[0], FALSE, &L->dw_ih, 2, 4 * hidden, L->in, 0, 0);
    L->w_hh = take (net, prefix, n[1], FALSE, &L->dw_hh, 2, 4 * hidden, hidden, 0, 0);
    L->b_ih = take (net, prefix, n[2], FALSE, &L->db_ih, 1, 4 * hidden, 0, 0, 0);
    L->b_hh = take (net, prefix, n[3], FALSE, &L->db_hh, 1, 4 * hidden, 0, 0, 0);
    for (int i = 0; i < 4; i++)
      g_free (n[i]);
  }
}

static void
take_cnn_encoder (MmNet *net, const char *prefix, CnnEncoder *e, int h, int w)
{
  e->h = h;
  e->w = w;
  e->flat = 64 * (h / 2 / 2) * (w / 2 / 2);
  take_conv (net, prefix, "conv1", &e->conv1, 1, 32);
  take_bn (net, prefix, "bn1", &e->bn1, 32);
  take_conv (net, prefix, "conv2", &e->conv2, 32, 64);
  take_bn (net, prefix, "bn2", &e->bn2, 64);
  take_linear (net, prefix, "fc", &e->fc, e->flat, 128);
}

/* Both passes walk the same structure in the same order. */
static void
build (MmNet *net)
{
  net->p_cursor = net->b_cursor = 0;
  net->t_cursor = 0;
  if (net->has_image)
    take_cnn_encoder (net, "image.", &net->img, 28, 28);
  if (net->has_audio_cnn)
    take_cnn_encoder (net, "audio.", &net->aud, 13, 39);
  if (net->has_audio_lstm) {
    int out = net->has_fusion ? 128 : 64;
    take_lstm (net, "audio.", &net->lstm.lstm, MM_MFCC_COEFFS, 64, 2);
    take_linear (net, "audio.", "fc", &net->lstm.fc, 64, out);
    net->lstm.p_drop = net->has_fusion ? 0.25f : 0.0f;
  }
  if (net->has_fusion) {
    take_linear (net, "fusion.", "fc1", &net->fusion.fc1, 256, 128);
    take_bn (net, "fusion.", "bn", &net->fusion.bn, 128);
    take_linear (net, "fusion.", "fc2", &net->fusion.fc2, 128, MM_N_CLASSES);
  } else {
    int in = net->arch == MM_ARCH_AUDIONET_LSTM ? 64 : 128;
    take_linear (net, "head.", "fc", &net->head, in, MM_N_CLASSES);
  }
}

/* Parameters first, then buffers, in registration order (stable sort). */
static void
order_tensors (MmNet *net)
{
  MmTensorInfo sorted[MAX_TENSORS];
  int k = 0;
  for (int pass = 0; pass < 2; pass++)
    for (int i = 0; i < net->n_tensors; i++)
      if ((net->tensors[i].grad == NULL) == (pass == 1))
        sorted[k++] = net->tensors[i];
  memcpy (net->tensors, sorted, sizeof (MmTensorInfo) * net->n_tensors);
}

static void
uniform (MmRng *rng, float *x, size_t n, float bound)
{
  for (size_t i = 0; i < n; i++)
    x[i] = (2.0f * mm_rng_uniform (rng) - 1.0f) * bound;
}

/* PyTorch's defaults: conv/linear U(±1/√fan_in) (kaiming_uniform with
 * a = √5), LSTM U(±1/√H), batch norm γ = 1, β = 0, running 0 / 1. */
static void
init_weights (MmNet *net, guint64 seed)
{
  MmRng rng;
  mm_rng_seed (&rng, seed, 0x1417);
  for (int i = 0; i < net->n_tensors; i++) {
    MmTensorInfo *t = &net->tensors[i];
    const char *base = strrchr (t->name, '.');
    gboolean is_bn = strstr (t->name, ".bn") != NULL;
    if (is_bn) {
      float v = (g_str_equal (base, ".weight") || g_str_equal (base, ".running_var")) ? 1.0f : 0.0f;
      for (size_t j = 0; j < t->size; j++)
        t->data[j] = v;
    } else if (strstr (t->name, ".lstm.")) {
      uniform (&rng, t->data, t->size, 1.0f / sqrtf (64.0f));
    } else {
      /* a bias's fan-in is its weight's: the tensor just before it */
      const MmTensorInfo *w = g_str_equal (base, ".bias") ? &net->tensors[i - 1] : t;
      int fan_in = w->shape[1] * (w->ndim == 4 ? w->shape[2] * w->shape[3] : 1);
      uniform (&rng, t->data, t->size, 1.0f / sqrtf ((float) fan_in));
    }
  }
}

/* The net with every tensor zero. */
static MmNet *
net_alloc (MmArch arch, guint64 seed)
{
  MmNet *net;

  net = g_new0 (MmNet, 1);
  mm_parallel_ref ();
  net->arch = arch;
  net->has_image = mm_arch_uses_image (arch);
  net->has_audio_cnn = arch == MM_ARCH_AUDIONET_CNN || arch == MM_ARCH_HYBRIDNET_CNN;
  net->has_audio_lstm = arch == MM_ARCH_AUDIONET_LSTM || arch == MM_ARCH_HYBRIDNET_CNN_LSTM;
  net->has_fusion = arch == MM_ARCH_HYBRIDNET_CNN || arch == MM_ARCH_HYBRIDNET_CNN_LSTM;
  net->dropout = TRUE;
  net->norm.image_mean = 0.5f;
  net->norm.image_std = 0.5f;
  net->temperature = 1.0f;
  for (int k = 0; k < MM_MFCC_COEFFS; k++) {
    net->norm.mfcc_mean[k] = 0.0f;
    net->norm.mfcc_std[k] = 1.0f;
  }

  net->pass = 0;
  build (net);
  net->params = g_new0 (float, net->n_params);
  net->grads = g_new0 (float, net->n_params);
  net->buffers = g_new0 (float, MAX (net->n_buffers, 1));
  net->pass = 1;
  build (net);
  net->n_tensors = net->t_cursor;
  order_tensors (net);
  mm_rng_seed (&net->drop_rng, seed, 0xd0);
  return net;
}

MmNet *
mm_net_new (MmArch arch, guint64 seed)
{
  MmNet *net;

  g_return_val_if_fail (arch < MM_N_ARCH, NULL);
  net = net_alloc (arch, seed);
  init_weights (net, seed);
  return net;
}

MmNet *
mm_net_new_blank (MmArch arch)
{
  g_return_val_if_fail (arch < MM_N_ARCH, NULL);
  return net_alloc (arch, 0);
}

/* ---- activations ---- */

static void
cnn_free (CnnEncoder *e)
{
  float **f[] = { &e->x, &e->c1, &e->p1, &e->c2, &e->p2, &e->f,
    &e->mask_p2, &e->mask_f, &e->bn_save };
  for (guint i = 0; i < G_N_ELEMENTS (f); i++)
    g_clear_pointer (f[i], g_free);
  g_clear_pointer (&e->am1, g_free);
  g_clear_pointer (&e->am2, g_free);
}

static void
cnn_alloc (CnnEncoder *e, int b)
{
  size_t plane = (size_t) e->h * e->w, plane2 = (size_t) (e->h / 2) * (e->w / 2);
  cnn_free (e);
  e->x = g_new (float, b * plane);
  e->c1 = g_new (float, b * 32 * plane);
  e->p1 = g_new (float, b * 32 * plane2);
  e->am1 = g_new (int32_t, b * 32 * plane2);
  e->c2 = g_new (float, b * 64 * plane2);
  e->p2 = g_new (float, (size_t) b * e->flat);
  e->am2 = g_new (int32_t, (size_t) b * e->flat);
  e->mask_p2 = g_new (float, (size_t) b * e->flat);
  e->f = g_new (float, (size_t) b * 128);
  e->mask_f = g_new (float, (size_t) b * 128);
  e->bn_save = g_new (float, 4 * 64);
  e->bn1.save_mean = e->bn_save;
  e->bn1.save_invstd = e->bn_save + 64;
  e->bn2.save_mean = e->bn_save + 128;
  e->bn2.save_invstd = e->bn_save + 192;
}

static size_t
cnn_conv_ws (const CnnEncoder *e, int b)
{
  return MAX (mm_conv2d_workspace_size (&e->conv1, b, e->h, e->w),
      mm_conv2d_workspace_size (&e->conv2, b, e->h / 2, e->w / 2));
}

static void
lstm_free (LstmEncoder *e)
{
  float **f[] = { &e->ws, &e->hseq, &e->dhseq, &e->last, &e->f, &e->mask };
  for (guint i = 0; i < G_N_ELEMENTS (f); i++)
    g_clear_pointer (f[i], g_free);
}

static void
lstm_alloc (LstmEncoder *e, int b)
{
  lstm_free (e);
  e->ws = g_new (float, mm_lstm_workspace_size (&e->lstm, b, MM_MFCC_FRAMES) + (size_t) b * MM_AUDIO_VALUES);
  e->hseq = g_new (float, (size_t) b * MM_MFCC_FRAMES * 64);
  e->dhseq = g_new0 (float, (size_t) b * MM_MFCC_FRAMES * 64);
  e->last = g_new (float, (size_t) b * 64);
  e->f = g_new (float, (size_t) b * e->fc.out);
  e->mask = g_new (float, (size_t) b * e->fc.out);
}

static void
fusion_free (Fusion *fu)
{
  float **f[] = { &fu->cat, &fu->z1, &fu->a1, &fu->mask, &fu->bn_save };
  for (guint i = 0; i < G_N_ELEMENTS (f); i++)
    g_clear_pointer (f[i], g_free);
}

static void
fusion_alloc (Fusion *fu, int b)
{
  fusion_free (fu);
  fu->cat = g_new (float, (size_t) b * 256);
  fu->z1 = g_new (float, (size_t) b * 128);
  fu->a1 = g_new (float, (size_t) b * 128);
  fu->mask = g_new (float, (size_t) b * 128);
  fu->bn_save = g_new (float, 2 * 128);
  fu->bn.save_mean = fu->bn_save;
  fu->bn.save_invstd = fu->bn_save + 128;
}

static void
free_activations (MmNet *net)
{
  cnn_free (&net->img);
  cnn_free (&net->aud);
  lstm_free (&net->lstm);
  fusion_free (&net->fusion);
  g_clear_pointer (&net->logits, g_free);
  g_clear_pointer (&net->probs, g_free);
  g_clear_pointer (&net->dlogits, g_free);
  g_clear_pointer (&net->conv_ws, g_free);
  g_clear_pointer (&net->g1, g_free);
  g_clear_pointer (&net->g2, g_free);
  g_clear_pointer (&net->d_img, g_free);
  g_clear_pointer (&net->d_aud, g_free);
}

/* Grows every activation buffer to @batch samples; a no-op when they are
 * already large enough, so steady-state training allocates nothing. */
static void
ensure_batch (MmNet *net, int batch)
{
  size_t g = 0, ws = 0;
  int b;

  if (batch <= net->max_batch)
    return;
  b = batch;
  free_activations (net);
  if (net->has_image) {
    cnn_alloc (&net->img, b);
    ws = MAX (ws, cnn_conv_ws (&net->img, b));
    g = MAX (g, (size_t) b * 32 * 28 * 28);
  }
  if (net->has_audio_cnn) {
    cnn_alloc (&net->aud, b);
    ws = MAX (ws, cnn_conv_ws (&net->aud, b));
    g = MAX (g, (size_t) b * 32 * 13 * 39);
  }
  if (net->has_audio_lstm) {
    lstm_alloc (&net->lstm, b);
    g = MAX (g, (size_t) b * 128);
  }
  if (net->has_fusion)
    fusion_alloc (&net->fusion, b);
  g = MAX (g, (size_t) b * 256);
  /* the two CNN encoders of a hybrid run side by side at batch 1, each
   * in its own part of the workspace */
  if (net->has_image && net->has_audio_cnn)
    ws = MAX (ws, cnn_conv_ws (&net->img, 1) + cnn_conv_ws (&net->aud, 1));
  net->conv_ws = g_new (float, MAX (ws, 1));
  net->conv_ws_size = ws;
  net->g1 = g_new (float, g);
  net->g2 = g_new (float, g);
  net->g_size = g;
  net->d_img = g_new (float, (size_t) b * 128);
  net->d_aud = g_new (float, (size_t) b * 128);
  net->logits = g_new (float, (size_t) b * MM_N_CLASSES);
  net->probs = g_new (float, (size_t) b * MM_N_CLASSES);
  net->dlogits = g_new (float, (size_t) b * MM_N_CLASSES);
  net->max_batch = b;
}

/* ---- forward / backward of the blocks ---- */

/* Whether a forward applies dropout now. Backward asks net->dropped
 * instead: what the last forward did, whatever the mode since. */
static gboolean
dropping (const MmNet *net)
{
  return net->training && net->dropout;
}

/* BatchNorm2d → ReLU → max-pool of a conv block. Neither mode keeps the
 * full-size ReLU output: the fused backward recomputes its mask from the
 * conv output (c) and the saved statistics. Evaluation takes the inference
 * kernel, which keeps nothing for backward at all. */
static void
conv_block_tail (MmNet *net, MmBatchNorm *bn, int B, int h, int w, const float *c,
                 float *p, int32_t *am)
{
  if (net->training)
    mm_batchnorm_relu_maxpool2_forward (bn, B, h, w, c, NULL, p, am, TRUE);
  else
    mm_batchnorm_relu_maxpool2_infer (bn, B, h, w, c, p);
}

/* @ws: the convolution workspace (net->conv_ws, or its second part when
 * the two CNN encoders run side by side) */
static void
cnn_forward (MmNet *net, CnnEncoder *e, int B, const float *in, gboolean audio,
             float *ws)
{
  int h = e->h, w = e->w, h2 = h / 2, w2 = w / 2;
  size_t plane = (size_t) h * w;
  const float *x = e->x;

  /* conv1's backward reads the input after the caller may have reused its
   * buffer, so training keeps a copy; evaluation reads it in place */
  if (!audio && !net->training) {
    x = in;
  } else if (audio) {
    /* [B][39 time][13 coeff] → [B][1][13 rows][39 cols] */
    for (int b = 0; b < B; b++)
      for (int t = 0; t < w; t++)
        for (int k = 0; k < h; k++)
          e->x[b * plane + k * w + t] = in[b * plane + t * h + k];
  } else {
    memcpy (e->x, in, sizeof (float) * B * plane);
  }
  mm_conv2d_forward (&e->conv1, B, h, w, x, e->c1, ws);
  conv_block_tail (net, &e->bn1, B, h, w, e->c1, e->p1, e->am1);
  mm_conv2d_forward (&e->conv2, B, h2, w2, e->p1, e->c2, ws);
  conv_block_tail (net, &e->bn2, B, h2, w2, e->c2, e->p2, e->am2);
  if (dropping (net))
    mm_dropout_forward (0.25f, (size_t) B * e->flat, e->p2, e->p2, e->mask_p2, &net->drop_rng);
  mm_linear_forward (&e->fc, B, e->p2, e->f);
  mm_relu_forward ((size_t) B * 128, e->f, e->f);
  if (dropping (net))
    mm_dropout_forward (0.5f, (size_t) B * 128, e->f, e->f, e->mask_f, &net->drop_rng);
}

/* @d [B][128]: gradient w.r.t. the encoder output; clobbered. */
static void
cnn_backward (MmNet *net, CnnEncoder *e, int B, float *d)
{
  int h = e->h, w = e->w, h2 = h / 2, w2 = w / 2;
  float *g1 = net->g1, *g2 = net->g2;

  if (net->dropped)
    mm_dropout_backward ((size_t) B * 128, d, e->mask_f, d);
  mm_relu_backward ((size_t) B * 128, e->f, d, d);
  mm_linear_backward (&e->fc, B, e->p2, d, g1);
  if (net->dropped)
    mm_dropout_backward ((size_t) B * e->flat, g1, e->mask_p2, g1);
  mm_batchnorm_relu_maxpool2_backward (&e->bn2, B, h2, w2, e->c2, NULL, g1, e->am2, g2);
  mm_conv2d_backward (&e->conv2, B, h2, w2, e->p1, g2, g1, net->conv_ws);
  mm_batchnorm_relu_maxpool2_backward (&e->bn1, B, h, w, e->c1, NULL, g1, e->am1, g2);
  mm_conv2d_backward (&e->conv1, B, h, w, e->x, g2, NULL, net->conv_ws);
}

/* @in_turn: the caller runs this in a task of its own (mm_lstm_forward_in_turn) */
static void
lstm_forward (MmNet *net, LstmEncoder *e, int B, const float *in, gboolean in_turn)
{
  const int T = MM_MFCC_FRAMES, H = 64, out = e->fc.out;
  float *x = e->ws + mm_lstm_workspace_size (&e->lstm, net->max_batch, T);

  memcpy (x, in, sizeof (float) * B * MM_AUDIO_VALUES);   /* backward needs it */
  if (in_turn)
    mm_lstm_forward_in_turn (&e->lstm, B, T, x, e->hseq, e->ws);
  else
    mm_lstm_forward (&e->lstm, B, T, x, e->hseq, e->ws);
  for (int b = 0; b < B; b++)
    memcpy (e->last + b * H, e->hseq + ((size_t) b * T + T - 1) * H, sizeof (float) * H);
  mm_linear_forward (&e->fc, B, e->last, e->f);
  mm_relu_forward ((size_t) B * out, e->f, e->f);
  if (e->p_drop > 0 && dropping (net))
    mm_dropout_forward (e->p_drop, (size_t) B * out, e->f, e->f, e->mask, &net->drop_rng);
}

static void
lstm_backward (MmNet *net, LstmEncoder *e, int B, float *d)
{
  const int T = MM_MFCC_FRAMES, H = 64, out = e->fc.out;
  float *x = e->ws + mm_lstm_workspace_size (&e->lstm, net->max_batch, T);
  float *dlast = net->g1;

  if (e->p_drop > 0 && net->dropped)
    mm_dropout_backward ((size_t) B * out, d, e->mask, d);
  mm_relu_backward ((size_t) B * out, e->f, d, d);
  mm_linear_backward (&e->fc, B, e->last, d, dlast);
  /* only the last step feeds the head; every other step's dh is zero (the
   * buffer was zeroed at allocation and only the last step is ever written) */
  for (int b = 0; b < B; b++)
    memcpy (e->dhseq + ((size_t) b * T + T - 1) * H, dlast + b * H, sizeof (float) * H);
  mm_lstm_backward (&e->lstm, B, T, x, e->dhseq, NULL, e->ws);
}

static void
fusion_forward (MmNet *net, Fusion *fu, int B, const float *img, const float *aud, float *logits)
{
  for (int b = 0; b < B; b++) {
    memcpy (fu->cat + b * 256, img + b * 128, sizeof (float) * 128);
    memcpy (fu->cat + b * 256 + 128, aud + b * 128, sizeof (float) * 128);
  }
  mm_linear_forward (&fu->fc1, B, fu->cat, fu->z1);
  mm_batchnorm_relu_forward (&fu->bn, B, 1, fu->z1, fu->a1, net->training);
  if (dropping (net))
    mm_dropout_forward (0.25f, (size_t) B * 128, fu->a1, fu->a1, fu->mask, &net->drop_rng);
  mm_linear_forward (&fu->fc2, B, fu->a1, logits);
}

static void
fusion_backward (MmNet *net, Fusion *fu, int B, const float *dlogits, float *d_img, float *d_aud)
{
  float *g1 = net->g1, *g2 = net->g2;

  mm_linear_backward (&fu->fc2, B, fu->a1, dlogits, g1);
  if (net->dropped)
    mm_dropout_backward ((size_t) B * 128, g1, fu->mask, g1);
  mm_batchnorm_relu_backward (&fu->bn, B, 1, fu->z1, fu->a1, g1, g2);
  mm_linear_backward (&fu->fc1, B, fu->cat, g2, g1);
  for (int b = 0; b < B; b++) {
    memcpy (d_img + b * 128, g1 + b * 256, sizeof (float) * 128);
    memcpy (d_aud + b * 128, g1 + b * 256 + 128, sizeof (float) * 128);
  }
}

/* One sample through a hybrid in evaluation: the image CNN and the audio
 * encoder share nothing (own buffers, own parts of the workspace, no
 * dropout), so they run as two tasks, one per core, each running its
 * kernels inline (the pool is taken); an LSTM goes layer after layer
 * (mm_lstm_forward_in_turn), as its wavefront needs cores of its own.
 * Measured (2 threads): HybridNet_CNN_LSTM 0.21 ms one encoder after the
 * other (each split over two cores) → 0.15 side by side → 0.13 with the
 * LSTM in turn; HybridNet_CNN 0.139 → 0.126 side by side. */
typedef struct {
  MmNet *net;
  const float *image, *audio;
} EncoderJob;

static void
encoder_task (gpointer data, int task)
{
  const EncoderJob *j = data;
  MmNet *net = j->net;

  if (task == 0)
    cnn_forward (net, &net->img, 1, j->image, FALSE, net->conv_ws);
  else if (net->has_audio_cnn)
    cnn_forward (net, &net->aud, 1, j->audio, TRUE,
        net->conv_ws + cnn_conv_ws (&net->img, 1));
  else
    lstm_forward (net, &net->lstm, 1, j->audio, TRUE);
}

void
mm_net_forward (MmNet *net, int batch, const float *image, const float *audio, float *logits)
{
  float *emb_img = NULL, *emb_aud = NULL;
  gboolean side_by_side = net->has_image && (net->has_audio_cnn || net->has_audio_lstm)
      && batch == 1 && !net->training;

  g_return_if_fail (batch > 0);
  g_return_if_fail (!net->has_image || image);
  g_return_if_fail (!(net->has_audio_cnn || net->has_audio_lstm) || audio);
  ensure_batch (net, batch);
  net->batch = batch;
  net->backward_ready = net->training;
  net->dropped = dropping (net);

  if (side_by_side) {
    EncoderJob j = { net, image, audio };
    mm_parallel_for (2, encoder_task, &j);
    emb_img = net->img.f;
  } else if (net->has_image) {
    cnn_forward (net, &net->img, batch, image, FALSE, net->conv_ws);
    emb_img = net->img.f;
  }
  if (net->has_audio_cnn) {
    if (!side_by_side)
      cnn_forward (net, &net->aud, batch, audio, TRUE, net->conv_ws);
    emb_aud = net->aud.f;
  }
  if (net->has_audio_lstm) {
    if (!side_by_side)
      lstm_forward (net, &net->lstm, batch, audio, FALSE);
    emb_aud = net->lstm.f;
  }
  if (net->has_fusion)
    fusion_forward (net, &net->fusion, batch, emb_img, emb_aud, net->logits);
  else
    mm_linear_forward (&net->head, batch, emb_img ? emb_img : emb_aud, net->logits);
  memcpy (logits, net->logits, sizeof (float) * batch * MM_N_CLASSES);
}

float
mm_net_backward (MmNet *net, const int *labels)
{
  int B = net->batch;
  float loss;

  g_return_val_if_fail (B > 0, NAN);
  /* evaluation keeps nothing for backward (and its batch norm has no
   * batch statistics to differentiate) */
  g_return_val_if_fail (net->backward_ready, NAN);
  loss = mm_softmax_xent (B, MM_N_CLASSES, net->logits, labels, net->probs, net->dlogits);
  if (net->has_fusion) {
    fusion_backward (net, &net->fusion, B, net->dlogits, net->d_img, net->d_aud);
  } else {
    float *emb = net->has_image ? net->img.f : net->has_audio_cnn ? net->aud.f : net->lstm.f;
    mm_linear_backward (&net->head, B, emb, net->dlogits, net->has_image ? net->d_img : net->d_aud);
  }
  if (net->has_image)
    cnn_backward (net, &net->img, B, net->d_img);
  if (net->has_audio_cnn)
    cnn_backward (net, &net->aud, B, net->d_aud);
  if (net->has_audio_lstm)
    lstm_backward (net, &net->lstm, B, net->d_aud);
  return loss;
}

/* ---- accessors ---- */

void
mm_net_free (MmNet *net)
{
  if (!net)
    return;
  free_activations (net);
  g_free (net->params);
  g_free (net->grads);
  g_free (net->buffers);
  g_free (net);
  mm_parallel_unref ();
}

MmArch mm_net_arch (const MmNet *net) { return net->arch; }
size_t mm_net_n_params (const MmNet *net) { return net->n_params; }
float *mm_net_params (MmNet *net) { return net->params; }
float *mm_net_grads (MmNet *net) { return net->grads; }
int mm_net_n_tensors (const MmNet *net) { return net->n_tensors; }
MmNorm *mm_net_norm (MmNet *net) { return &net->norm; }

const MmTensorInfo *
mm_net_tensor (const MmNet *net, int i)
{
  g_return_val_if_fail (i >= 0 && i < net->n_tensors, NULL);
  return &net->tensors[i];
}

const MmTensorInfo *
mm_net_find_tensor (const MmNet *net, const char *name)
{
  for (int i = 0; i < net->n_tensors; i++)
    if (g_str_equal (net->tensors[i].name, name))
      return &net->tensors[i];
  return NULL;
}

void
mm_net_copy_weights (MmNet *dst, const MmNet *src)
{
  g_return_if_fail (dst->arch == src->arch);
  memcpy (dst->params, src->params, sizeof (float) * src->n_params);
  memcpy (dst->buffers, src->buffers, sizeof (float) * src->n_buffers);
  dst->norm = src->norm;
  dst->temperature = src->temperature;
}

float mm_net_temperature (const MmNet *net) { return net->temperature; }

void
mm_net_set_temperature (MmNet *net, float t)
{
  g_return_if_fail (t > 0 && isfinite (t));
  net->temperature = t;
}

const float *
mm_net_embedding (const MmNet *net, MmEmbedding which, int *dim)
{
  *dim = 128;
  if (net->max_batch == 0)
    return NULL;
  switch (which) {
    case MM_EMBED_IMAGE:
      return net->has_image ? net->img.f : NULL;
    case MM_EMBED_AUDIO:
      if (net->has_audio_lstm)
        *dim = net->lstm.fc.out;
      return net->has_audio_cnn ? net->aud.f : net->has_audio_lstm ? net->lstm.f : NULL;
    case MM_EMBED_FUSED:
      return net->has_fusion ? net->fusion.a1 : NULL;
  }
  return NULL;
}

void mm_net_set_training (MmNet *net, gboolean training) { net->training = training; }
void mm_net_set_dropout (MmNet *net, gboolean enabled) { net->dropout = enabled; }

void
mm_net_seed_dropout (MmNet *net, guint64 seed)
{
  mm_rng_seed (&net->drop_rng, seed, 0xd0);
}

MmRng *
mm_net_dropout_rng (MmNet *net)
{
  return &net->drop_rng;
}

void
mm_net_prepare_image (const MmNorm *norm, const guint8 *gray, float *out)
{
  for (int i = 0; i < MM_IMAGE_PIXELS; i++)
    out[i] = (gray[i] / 255.0f - norm->image_mean) / norm->image_std;
}

void
mm_net_prepare_audio (const MmNorm *norm, const float *mfcc, float *out)
{
  for (int t = 0; t < MM_MFCC_FRAMES; t++)
    for (int k = 0; k < MM_MFCC_COEFFS; k++)
      out[t * MM_MFCC_COEFFS + k] =
          (mfcc[t * MM_MFCC_COEFFS + k] - norm->mfcc_mean[k]) / norm->mfcc_std[k];
}
