/* The study's five networks, built from the layer kernels (core/kernels).
 *
 * Each network is a composition of at most two encoders and one head, and
 * is described once, as data, in arch_specs below: the conv blocks of a CNN
 * encoder (channels, kernel, pool, dropout, the fc width), the LSTM's
 * hidden size, layers and fc, the fusion head's width and dropout.
 * Construction, the tensor names of the model file, the parameter count,
 * initialisation, the activation buffers and forward/backward all follow
 * from that table; adding a network is one entry (plus its parity test).
 * A straight-line composition rather than a general graph: two encoders and
 * a head do not need one, and it reads like the study's tables and is easy
 * to check against PyTorch.
 *
 * Storage (KANN's layout): parameters live in one flat block, their
 * gradients in a second of the same layout, batch-norm running statistics
 * in a third; layer structs hold views into them. The tensor list records
 * names, shapes and kinds for the model file and the initialisation.
 * Activations are allocated for the largest batch seen and kept for
 * backward.
 */
#include "mm-net.h"
#include "mm-parallel.h"

#include <math.h>
#include <string.h>

#include "mm-activation.h"
#include "mm-batchnorm.h"
#include "mm-conv.h"
#include "mm-dropout.h"
#include "mm-linear.h"
#include "mm-lstm.h"
#include "mm-rng.h"

#define MAX_TENSORS 64
#define MAX_CONV_BLOCKS 4

/* ---- the networks as data ---- */

/* conv (kernel × kernel, padding kernel/2, stride 1) → batch norm → ReLU →
 * max-pool (pool × pool, stride pool, floor) */
typedef struct {
  int channels;
  int kernel;              /* 3: the size mm_conv2d implements */
  int pool;                /* 2: the size the fused pool kernels implement */
} ConvBlockSpec;

/* conv blocks → dropout → fc → ReLU → dropout */
typedef struct {
  int n_blocks;
  ConvBlockSpec block[MAX_CONV_BLOCKS];
  float block_dropout;     /* after the last block; 0: none */
  int fc;                  /* the encoder's output width */
  float fc_dropout;
} CnnSpec;

/* stacked LSTM → its last step → fc → ReLU → dropout */
typedef struct {
  int hidden, layers;
  int fc;                  /* the encoder's output width */
  float fc_dropout;        /* 0: none */
} LstmSpec;

/* image ‖ audio → fc1 → BatchNorm1d → ReLU → dropout → fc2 (the classes) */
typedef struct {
  int hidden;
  float dropout;
} FusionSpec;

/* A network: its encoders (NULL: absent; the audio encoder is a CNN or an
 * LSTM) and a fusion head for two encoders, else one linear layer
 * ("head.fc") on the encoder's output. */
typedef struct {
  const char *name;
  const CnnSpec *image;          /* reads 28×28 images */
  const CnnSpec *audio_cnn;      /* reads the MFCC block as a 13×39 plane */
  const LstmSpec *audio_lstm;    /* reads the MFCC block as 39 steps of 13 */
  const FusionSpec *fusion;
} ArchSpec;

static const CnnSpec study_cnn = {
  .n_blocks = 2,
  .block = { { .channels = 32, .kernel = 3, .pool = 2 }, { .channels = 64, .kernel = 3, .pool = 2 } },
  .block_dropout = 0.25f, .fc = 128, .fc_dropout = 0.5f,
};
static const LstmSpec lstm_alone = { .hidden = 64, .layers = 2, .fc = 64, .fc_dropout = 0.0f };
static const LstmSpec lstm_fused = { .hidden = 64, .layers = 2, .fc = 128, .fc_dropout = 0.25f };
static const FusionSpec study_fusion = { .hidden = 128, .dropout = 0.25f };

static const ArchSpec arch_specs[MM_N_ARCH] = {
  [MM_ARCH_IMAGENET_CNN] = { "ImageNet_CNN", .image = &study_cnn },
  [MM_ARCH_AUDIONET_CNN] = { "AudioNet_CNN", .audio_cnn = &study_cnn },
  [MM_ARCH_AUDIONET_LSTM] = { "AudioNet_LSTM", .audio_lstm = &lstm_alone },
  [MM_ARCH_HYBRIDNET_CNN] = { "HybridNet_CNN", .image = &study_cnn, .audio_cnn = &study_cnn,
    .fusion = &study_fusion },
  [MM_ARCH_HYBRIDNET_CNN_LSTM] = { "HybridNet_CNN_LSTM", .image = &study_cnn,
    .audio_lstm = &lstm_fused, .fusion = &study_fusion },
};

/* ---- the built network ---- */

typedef struct {
  int h, w;                  /* the block's input plane */
  MmConv2d conv;
  MmBatchNorm bn;
  /* activations, [max_batch]… */
  float *c;                  /* conv output [B][channels][h][w] */
  float *p;                  /* pooled [B][channels][h/2][w/2] */
  int32_t *am;               /* the pool's argmax */
} ConvBlock;

typedef struct {
  const CnnSpec *spec;
  int h, w;                  /* input plane: 28×28 (image) or 13×39 (audio) */
  ConvBlock block[MAX_CONV_BLOCKS];
  MmLinear fc;
  int flat;                  /* the last block's pooled output per sample */
  /* activations, [max_batch]… */
  float *x;                  /* the input as NCHW (audio: transposed copy) */
  float *f, *mask_p, *mask_f;
  float *bn_save;            /* 2 × channels floats of batch-norm scratch per block */
} CnnEncoder;

typedef struct {
  const LstmSpec *spec;
  MmLstm lstm;
  MmLinear fc;
  float *ws, *hseq, *dhseq, *last, *f, *mask;
} LstmEncoder;

typedef struct {
  const FusionSpec *spec;
  MmLinear fc1, fc2;
  MmBatchNorm bn;
  float *cat, *z1, *a1, *mask, *bn_save;
} Fusion;

struct _MmNet {
  MmArch arch;
  const ArchSpec *spec;
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

const char *
mm_arch_name (MmArch arch)
{
  return arch < MM_N_ARCH ? arch_specs[arch].name : "unknown";
}

gboolean
mm_arch_from_name (const char *name, MmArch *arch)
{
  for (int i = 0; i < MM_N_ARCH; i++)
    if (name && g_ascii_strcasecmp (name, arch_specs[i].name) == 0) {
      *arch = (MmArch) i;
      return TRUE;
    }
  return FALSE;
}

gboolean
mm_arch_uses_image (MmArch arch)
{
  return arch < MM_N_ARCH && arch_specs[arch].image != NULL;
}

gboolean
mm_arch_uses_audio (MmArch arch)
{
  return arch < MM_N_ARCH
      && (arch_specs[arch].audio_cnn != NULL || arch_specs[arch].audio_lstm != NULL);
}

/* ---- construction ---- */

static gboolean
kind_is_buffer (MmTensorKind kind)
{
  return kind == MM_TENSOR_RUNNING_MEAN || kind == MM_TENSOR_RUNNING_VAR;
}

/* Registers (pass 0) or binds (pass 1) one tensor of @kind, drawn from
 * U(±@bound) when it is a weight or a bias; returns its data view in pass 1
 * and writes the gradient view to @grad. */
static float *
take (MmNet *net, const char *prefix, const char *name, MmTensorKind kind, float bound,
    float **grad, int ndim, int d0, int d1, int d2, int d3)
{
  int shape[4] = { d0, d1, d2, d3 };
  gboolean buffer = kind_is_buffer (kind);
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
  g_assert (net->t_cursor < MAX_TENSORS);
  t = &net->tensors[net->t_cursor++];
  {
    char *full = g_strconcat (prefix, name, NULL);
    t->name = g_intern_string (full);   /* names live as long as the process */
    g_free (full);
  }
  t->kind = kind;
  t->init_bound = kind == MM_TENSOR_WEIGHT || kind == MM_TENSOR_BIAS ? bound : 0.0f;
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

/* PyTorch's default bound of a conv or linear layer's weight and bias,
 * U(±1/√fan_in) (kaiming_uniform with a = √5) */
static float
fan_in_bound (int fan_in)
{
  return 1.0f / sqrtf ((float) fan_in);
}

static void
take_conv (MmNet *net, const char *prefix, const char *name, MmConv2d *c, int cin,
    const ConvBlockSpec *spec)
{
  char *w = g_strconcat (name, ".weight", NULL), *b = g_strconcat (name, ".bias", NULL);
  int k = spec->kernel;
  float bound = fan_in_bound (cin * k * k);

  /* the sizes the kernels implement; the table states them so that it
   * describes the whole shape */
  g_assert (k == 3 && spec->pool == 2);
  c->cin = cin;
  c->cout = spec->channels;
  c->w = take (net, prefix, w, MM_TENSOR_WEIGHT, bound, &c->dw, 4, c->cout, cin, k, k);
  c->b = take (net, prefix, b, MM_TENSOR_BIAS, bound, &c->db, 1, c->cout, 0, 0, 0);
  g_free (w);
  g_free (b);
}

static void
take_linear (MmNet *net, const char *prefix, const char *name, MmLinear *l, int in, int out)
{
  char *w = g_strconcat (name, ".weight", NULL), *b = g_strconcat (name, ".bias", NULL);
  float bound = fan_in_bound (in);

  l->in = in;
  l->out = out;
  l->w = take (net, prefix, w, MM_TENSOR_WEIGHT, bound, &l->dw, 2, out, in, 0, 0);
  l->b = take (net, prefix, b, MM_TENSOR_BIAS, bound, &l->db, 1, out, 0, 0, 0);
  g_free (w);
  g_free (b);
}

static void
take_bn (MmNet *net, const char *prefix, const char *name, MmBatchNorm *bn, int c)
{
  static const struct {
    const char *suffix;
    MmTensorKind kind;
  } part[4] = {
    { ".weight", MM_TENSOR_BN_GAMMA }, { ".bias", MM_TENSOR_BN_BETA },
    { ".running_mean", MM_TENSOR_RUNNING_MEAN }, { ".running_var", MM_TENSOR_RUNNING_VAR },
  };
  float *views[4];
  float *grads[4] = { NULL };

  for (int i = 0; i < 4; i++) {
    char *n = g_strconcat (name, part[i].suffix, NULL);
    views[i] = take (net, prefix, n, part[i].kind, 0.0f, &grads[i], 1, c, 0, 0, 0);
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

/* PyTorch's LSTM draws every weight and bias from U(±1/√hidden). */
static void
take_lstm (MmNet *net, const char *prefix, MmLstm *lstm, int in, const LstmSpec *spec)
{
  int hidden = spec->hidden;
  float bound = 1.0f / sqrtf ((float) hidden);

  g_assert (spec->layers <= MM_LSTM_MAX_LAYERS);
  lstm->n_layers = spec->layers;
  for (int k = 0; k < spec->layers; k++) {
    MmLstmLayer *L = &lstm->layer[k];
    char *n[4] = {
      g_strdup_printf ("lstm.weight_ih_l%d", k), g_strdup_printf ("lstm.weight_hh_l%d", k),
      g_strdup_printf ("lstm.bias_ih_l%d", k), g_strdup_printf ("lstm.bias_hh_l%d", k),
    };
    L->in = k == 0 ? in : hidden;
    L->hidden = hidden;
    L->w_ih = take (net, prefix, n[0], MM_TENSOR_WEIGHT, bound, &L->dw_ih, 2, 4 * hidden, L->in, 0, 0);
    L->w_hh = take (net, prefix, n[1], MM_TENSOR_WEIGHT, bound, &L->dw_hh, 2, 4 * hidden, hidden, 0, 0);
    L->b_ih = take (net, prefix, n[2], MM_TENSOR_BIAS, bound, &L->db_ih, 1, 4 * hidden, 0, 0, 0);
    L->b_hh = take (net, prefix, n[3], MM_TENSOR_BIAS, bound, &L->db_hh, 1, 4 * hidden, 0, 0, 0);
    for (int i = 0; i < 4; i++)
      g_free (n[i]);
  }
}

/* Blocks "conv1", "bn1", "conv2", "bn2", …, then "fc". */
static void
take_cnn_encoder (MmNet *net, const char *prefix, CnnEncoder *e, const CnnSpec *spec,
    int h, int w)
{
  int cin = 1;

  g_assert (spec->n_blocks >= 1 && spec->n_blocks <= MAX_CONV_BLOCKS);
  e->spec = spec;
  e->h = h;
  e->w = w;
  for (int k = 0; k < spec->n_blocks; k++) {
    ConvBlock *cb = &e->block[k];
    char *conv = g_strdup_printf ("conv%d", k + 1), *bn = g_strdup_printf ("bn%d", k + 1);
    cb->h = h;
    cb->w = w;
    take_conv (net, prefix, conv, &cb->conv, cin, &spec->block[k]);
    take_bn (net, prefix, bn, &cb->bn, spec->block[k].channels);
    cin = spec->block[k].channels;
    h /= spec->block[k].pool;
    w /= spec->block[k].pool;
    g_free (conv);
    g_free (bn);
  }
  e->flat = cin * h * w;
  take_linear (net, prefix, "fc", &e->fc, e->flat, spec->fc);
}

/* Both passes walk the same structure in the same order. */
static void
build (MmNet *net)
{
  const ArchSpec *spec = net->spec;
  int width[2] = { 0, 0 };   /* the encoders' outputs: image, audio */

  net->p_cursor = net->b_cursor = 0;
  net->t_cursor = 0;
  if (spec->image) {
    take_cnn_encoder (net, "image.", &net->img, spec->image, MM_IMAGE_SIZE, MM_IMAGE_SIZE);
    width[0] = net->img.fc.out;
  }
  if (spec->audio_cnn) {
    take_cnn_encoder (net, "audio.", &net->aud, spec->audio_cnn, MM_MFCC_COEFFS,
        MM_MFCC_FRAMES);
    width[1] = net->aud.fc.out;
  }
  if (spec->audio_lstm) {
    net->lstm.spec = spec->audio_lstm;
    take_lstm (net, "audio.", &net->lstm.lstm, MM_MFCC_COEFFS, spec->audio_lstm);
    take_linear (net, "audio.", "fc", &net->lstm.fc, spec->audio_lstm->hidden,
        spec->audio_lstm->fc);
    width[1] = net->lstm.fc.out;
  }
  if (spec->fusion) {
    net->fusion.spec = spec->fusion;
    take_linear (net, "fusion.", "fc1", &net->fusion.fc1, width[0] + width[1],
        spec->fusion->hidden);
    take_bn (net, "fusion.", "bn", &net->fusion.bn, spec->fusion->hidden);
    take_linear (net, "fusion.", "fc2", &net->fusion.fc2, spec->fusion->hidden, MM_N_CLASSES);
  } else {
    take_linear (net, "head.", "fc", &net->head, width[0] + width[1], MM_N_CLASSES);
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
fill (float *x, size_t n, float v)
{
  for (size_t i = 0; i < n; i++)
    x[i] = v;
}

static void
uniform (MmRng *rng, float *x, size_t n, float bound)
{
  for (size_t i = 0; i < n; i++)
    x[i] = (2.0f * mm_rng_uniform (rng) - 1.0f) * bound;
}

/* PyTorch's defaults, by kind: weights and biases U(±init_bound) (see
 * take_conv, take_linear, take_lstm), batch norm γ = 1, β = 0, running
 * statistics 0 / 1. One stream in model-file order, so the draws of a seed
 * do not depend on how the network was put together. */
static void
init_weights (MmNet *net, guint64 seed)
{
  MmRng rng;
  mm_rng_seed (&rng, seed, 0x1417);
  for (int i = 0; i < net->n_tensors; i++) {
    MmTensorInfo *t = &net->tensors[i];
    switch (t->kind) {
      case MM_TENSOR_WEIGHT:
      case MM_TENSOR_BIAS:
        uniform (&rng, t->data, t->size, t->init_bound);
        break;
      case MM_TENSOR_BN_GAMMA:
      case MM_TENSOR_RUNNING_VAR:
        fill (t->data, t->size, 1.0f);
        break;
      case MM_TENSOR_BN_BETA:
      case MM_TENSOR_RUNNING_MEAN:
        fill (t->data, t->size, 0.0f);
        break;
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
  net->spec = &arch_specs[arch];
  net->has_image = net->spec->image != NULL;
  net->has_audio_cnn = net->spec->audio_cnn != NULL;
  net->has_audio_lstm = net->spec->audio_lstm != NULL;
  net->has_fusion = net->spec->fusion != NULL;
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
  float **f[] = { &e->x, &e->f, &e->mask_p, &e->mask_f, &e->bn_save };
  for (guint i = 0; i < G_N_ELEMENTS (f); i++)
    g_clear_pointer (f[i], g_free);
  for (int k = 0; k < MAX_CONV_BLOCKS; k++) {
    g_clear_pointer (&e->block[k].c, g_free);
    g_clear_pointer (&e->block[k].p, g_free);
    g_clear_pointer (&e->block[k].am, g_free);
  }
}

/* The floats of a block's conv output for @b samples: the largest
 * activation, which the gradient scratch must hold. */
static size_t
conv_block_size (const ConvBlock *cb, int b)
{
  return (size_t) b * cb->conv.cout * cb->h * cb->w;
}

static size_t
pooled_size (const ConvBlock *cb, int b)
{
  return (size_t) b * cb->conv.cout * (cb->h / 2) * (cb->w / 2);
}

static void
cnn_alloc (CnnEncoder *e, int b)
{
  int n = e->spec->n_blocks;
  size_t save = 0;

  cnn_free (e);
  e->x = g_new (float, (size_t) b * e->h * e->w);
  for (int k = 0; k < n; k++) {
    ConvBlock *cb = &e->block[k];
    cb->c = g_new (float, conv_block_size (cb, b));
    cb->p = g_new (float, pooled_size (cb, b));
    cb->am = g_new (int32_t, pooled_size (cb, b));
    save += 2 * (size_t) cb->conv.cout;
  }
  e->mask_p = g_new (float, (size_t) b * e->flat);
  e->f = g_new (float, (size_t) b * e->fc.out);
  e->mask_f = g_new (float, (size_t) b * e->fc.out);
  e->bn_save = g_new (float, save);
  save = 0;
  for (int k = 0; k < n; k++) {
    MmBatchNorm *bn = &e->block[k].bn;
    bn->save_mean = e->bn_save + save;
    bn->save_invstd = e->bn_save + save + bn->c;
    save += 2 * (size_t) bn->c;
  }
}

static size_t
cnn_conv_ws (const CnnEncoder *e, int b)
{
  size_t ws = 0;
  for (int k = 0; k < e->spec->n_blocks; k++) {
    const ConvBlock *cb = &e->block[k];
    ws = MAX (ws, mm_conv2d_workspace_size (&cb->conv, b, cb->h, cb->w));
  }
  return ws;
}

static size_t
cnn_scratch (const CnnEncoder *e, int b)
{
  size_t g = 0;
  for (int k = 0; k < e->spec->n_blocks; k++)
    g = MAX (g, conv_block_size (&e->block[k], b));
  return g;
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
  size_t H = (size_t) e->spec->hidden;

  lstm_free (e);
  e->ws = g_new (float, mm_lstm_workspace_size (&e->lstm, b, MM_MFCC_FRAMES) + (size_t) b * MM_AUDIO_VALUES);
  e->hseq = g_new (float, (size_t) b * MM_MFCC_FRAMES * H);
  e->dhseq = g_new0 (float, (size_t) b * MM_MFCC_FRAMES * H);
  e->last = g_new (float, (size_t) b * H);
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
  size_t hidden = (size_t) fu->fc1.out;

  fusion_free (fu);
  fu->cat = g_new (float, (size_t) b * fu->fc1.in);
  fu->z1 = g_new (float, (size_t) b * hidden);
  fu->a1 = g_new (float, (size_t) b * hidden);
  fu->mask = g_new (float, (size_t) b * hidden);
  fu->bn_save = g_new (float, 2 * hidden);
  fu->bn.save_mean = fu->bn_save;
  fu->bn.save_invstd = fu->bn_save + hidden;
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

/* The width of the image encoder's output (0: none) and the audio one's. */
static int
image_width (const MmNet *net)
{
  return net->has_image ? net->img.fc.out : 0;
}

static int
audio_width (const MmNet *net)
{
  return net->has_audio_cnn ? net->aud.fc.out : net->has_audio_lstm ? net->lstm.fc.out : 0;
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
    g = MAX (g, cnn_scratch (&net->img, b));
  }
  if (net->has_audio_cnn) {
    cnn_alloc (&net->aud, b);
    ws = MAX (ws, cnn_conv_ws (&net->aud, b));
    g = MAX (g, cnn_scratch (&net->aud, b));
  }
  if (net->has_audio_lstm) {
    lstm_alloc (&net->lstm, b);
    g = MAX (g, (size_t) b * net->lstm.spec->hidden);
  }
  if (net->has_fusion) {
    fusion_alloc (&net->fusion, b);
    g = MAX (g, (size_t) b * MAX (net->fusion.fc1.in, net->fusion.fc1.out));
  }
  /* the two CNN encoders of a hybrid run side by side at batch 1, each
   * in its own part of the workspace */
  if (net->has_image && net->has_audio_cnn)
    ws = MAX (ws, cnn_conv_ws (&net->img, 1) + cnn_conv_ws (&net->aud, 1));
  net->conv_ws = g_new (float, MAX (ws, 1));
  net->conv_ws_size = ws;
  net->g1 = g_new (float, MAX (g, 1));
  net->g2 = g_new (float, MAX (g, 1));
  net->g_size = g;
  net->d_img = g_new (float, (size_t) b * MAX (image_width (net), 1));
  net->d_aud = g_new (float, (size_t) b * MAX (audio_width (net), 1));
  net->logits = g_new (float, (size_t) b * MM_N_CLASSES);
  net->probs = g_new (float, (size_t) b * MM_N_CLASSES);
  net->dlogits = g_new (float, (size_t) b * MM_N_CLASSES);
  net->max_batch = b;
}

/* ---- forward / backward of the blocks ---- */

/* Whether a forward applies dropout @p now. Backward asks net->dropped
 * instead: what the last forward did, whatever the mode since. */
static gboolean
dropping (const MmNet *net, float p)
{
  return p > 0 && net->training && net->dropout;
}

static gboolean
dropped (const MmNet *net, float p)
{
  return p > 0 && net->dropped;
}

/* BatchNorm2d → ReLU → max-pool of a conv block. Neither mode keeps the
 * full-size ReLU output: the fused backward recomputes its mask from the
 * conv output (c) and the saved statistics. Evaluation takes the inference
 * kernel, which keeps nothing for backward at all. */
static void
conv_block_tail (MmNet *net, ConvBlock *cb, int B)
{
  if (net->training)
    mm_batchnorm_relu_maxpool2_forward (&cb->bn, B, cb->h, cb->w, cb->c, NULL, cb->p, cb->am,
        TRUE);
  else
    mm_batchnorm_relu_maxpool2_infer (&cb->bn, B, cb->h, cb->w, cb->c, cb->p);
}

/* @ws: the convolution workspace (net->conv_ws, or its second part when
 * the two CNN encoders run side by side) */
static void
cnn_forward (MmNet *net, CnnEncoder *e, int B, const float *in, gboolean audio,
             float *ws)
{
  const CnnSpec *spec = e->spec;
  int h = e->h, w = e->w, out = e->fc.out;
  size_t plane = (size_t) h * w;
  const float *x = e->x;
  float *pooled;

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
  for (int k = 0; k < spec->n_blocks; k++) {
    ConvBlock *cb = &e->block[k];
    mm_conv2d_forward (&cb->conv, B, cb->h, cb->w, x, cb->c, ws);
    conv_block_tail (net, cb, B);
    x = cb->p;
  }
  pooled = e->block[spec->n_blocks - 1].p;
  if (dropping (net, spec->block_dropout))
    mm_dropout_forward (spec->block_dropout, (size_t) B * e->flat, pooled, pooled, e->mask_p,
        &net->drop_rng);
  mm_linear_forward (&e->fc, B, pooled, e->f);
  mm_relu_forward ((size_t) B * out, e->f, e->f);
  if (dropping (net, spec->fc_dropout))
    mm_dropout_forward (spec->fc_dropout, (size_t) B * out, e->f, e->f, e->mask_f,
        &net->drop_rng);
}

/* @d [B][fc]: gradient w.r.t. the encoder output; clobbered. */
static void
cnn_backward (MmNet *net, CnnEncoder *e, int B, float *d)
{
  const CnnSpec *spec = e->spec;
  int out = e->fc.out, n = spec->n_blocks;
  float *g1 = net->g1, *g2 = net->g2;

  if (dropped (net, spec->fc_dropout))
    mm_dropout_backward ((size_t) B * out, d, e->mask_f, d);
  mm_relu_backward ((size_t) B * out, e->f, d, d);
  mm_linear_backward (&e->fc, B, e->block[n - 1].p, d, g1);
  if (dropped (net, spec->block_dropout))
    mm_dropout_backward ((size_t) B * e->flat, g1, e->mask_p, g1);
  for (int k = n - 1; k >= 0; k--) {
    ConvBlock *cb = &e->block[k];
    mm_batchnorm_relu_maxpool2_backward (&cb->bn, B, cb->h, cb->w, cb->c, NULL, g1, cb->am, g2);
    mm_conv2d_backward (&cb->conv, B, cb->h, cb->w, k > 0 ? e->block[k - 1].p : e->x, g2,
        k > 0 ? g1 : NULL, net->conv_ws);
  }
}

/* @in_turn: the caller runs this in a task of its own (mm_lstm_forward_in_turn) */
static void
lstm_forward (MmNet *net, LstmEncoder *e, int B, const float *in, gboolean in_turn)
{
  const int T = MM_MFCC_FRAMES, H = e->spec->hidden, out = e->fc.out;
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
  if (dropping (net, e->spec->fc_dropout))
    mm_dropout_forward (e->spec->fc_dropout, (size_t) B * out, e->f, e->f, e->mask,
        &net->drop_rng);
}

static void
lstm_backward (MmNet *net, LstmEncoder *e, int B, float *d)
{
  const int T = MM_MFCC_FRAMES, H = e->spec->hidden, out = e->fc.out;
  float *x = e->ws + mm_lstm_workspace_size (&e->lstm, net->max_batch, T);
  float *dlast = net->g1;

  if (dropped (net, e->spec->fc_dropout))
    mm_dropout_backward ((size_t) B * out, d, e->mask, d);
  mm_relu_backward ((size_t) B * out, e->f, d, d);
  mm_linear_backward (&e->fc, B, e->last, d, dlast);
  /* only the last step feeds the head; every other step's dh is zero (the
   * buffer was zeroed at allocation and only the last step is ever written) */
  for (int b = 0; b < B; b++)
    memcpy (e->dhseq + ((size_t) b * T + T - 1) * H, dlast + b * H, sizeof (float) * H);
  mm_lstm_backward (&e->lstm, B, T, x, e->dhseq, NULL, e->ws);
}

/* The image encoder's output then the audio one's, per sample. */
static void
fusion_forward (MmNet *net, Fusion *fu, int B, const float *img, const float *aud, float *logits)
{
  int wi = image_width (net), wa = audio_width (net), hidden = fu->fc1.out;

  for (int b = 0; b < B; b++) {
    memcpy (fu->cat + (size_t) b * (wi + wa), img + (size_t) b * wi, sizeof (float) * wi);
    memcpy (fu->cat + (size_t) b * (wi + wa) + wi, aud + (size_t) b * wa, sizeof (float) * wa);
  }
  mm_linear_forward (&fu->fc1, B, fu->cat, fu->z1);
  mm_batchnorm_relu_forward (&fu->bn, B, 1, fu->z1, fu->a1, net->training);
  if (dropping (net, fu->spec->dropout))
    mm_dropout_forward (fu->spec->dropout, (size_t) B * hidden, fu->a1, fu->a1, fu->mask,
        &net->drop_rng);
  mm_linear_forward (&fu->fc2, B, fu->a1, logits);
}

static void
fusion_backward (MmNet *net, Fusion *fu, int B, const float *dlogits, float *d_img, float *d_aud)
{
  int wi = image_width (net), wa = audio_width (net), hidden = fu->fc1.out;
  float *g1 = net->g1, *g2 = net->g2;

  mm_linear_backward (&fu->fc2, B, fu->a1, dlogits, g1);
  if (dropped (net, fu->spec->dropout))
    mm_dropout_backward ((size_t) B * hidden, g1, fu->mask, g1);
  mm_batchnorm_relu_backward (&fu->bn, B, 1, fu->z1, fu->a1, g1, g2);
  mm_linear_backward (&fu->fc1, B, fu->cat, g2, g1);
  for (int b = 0; b < B; b++) {
    memcpy (d_img + (size_t) b * wi, g1 + (size_t) b * (wi + wa), sizeof (float) * wi);
    memcpy (d_aud + (size_t) b * wa, g1 + (size_t) b * (wi + wa) + wi, sizeof (float) * wa);
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
  net->dropped = net->training && net->dropout;

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
mm_net_backward (MmNet *net, const int *labels, const float *smoothing)
{
  return mm_net_backward_mixed (net, labels, smoothing, NULL, NULL);
}

float
mm_net_backward_mixed (MmNet *net, const int *labels, const float *smoothing,
    const int *mix_labels, const float *mix)
{
  int B = net->batch;
  float loss;

  g_return_val_if_fail (B > 0, NAN);
  /* evaluation keeps nothing for backward (and its batch norm has no
   * batch statistics to differentiate) */
  g_return_val_if_fail (net->backward_ready, NAN);
  loss = mm_softmax_xent_mixed (B, MM_N_CLASSES, net->logits, labels, smoothing, mix_labels,
      mix, net->probs, net->dlogits);
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
  *dim = 0;
  switch (which) {
    case MM_EMBED_IMAGE:
      *dim = image_width (net);
      return net->max_batch > 0 && net->has_image ? net->img.f : NULL;
    case MM_EMBED_AUDIO:
      *dim = audio_width (net);
      if (net->max_batch == 0)
        return NULL;
      return net->has_audio_cnn ? net->aud.f : net->has_audio_lstm ? net->lstm.f : NULL;
    case MM_EMBED_FUSED:
      *dim = net->has_fusion ? net->fusion.fc1.out : 0;
      return net->max_batch > 0 && net->has_fusion ? net->fusion.a1 : NULL;
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
