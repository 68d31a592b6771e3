/* mmdigits — the study's five networks.
 *
 * An MmNet owns: one flat block of trainable parameters and one of their
 * gradients (in the order of mm_net_tensor()), one block of non-trainable
 * buffers (batch-norm running statistics), the activations kept for backward
 * (sized for the largest batch seen, grown on demand, never per call), and a
 * PCG stream for dropout. Inputs are NORMALISED floats (see mm_net_norm and
 * the mm_net_prepare_* helpers).
 *
 * Thread-safety: one MmNet is used by one thread at a time; two MmNets share
 * nothing.
 */
#pragma once

#include <glib.h>
#include <stddef.h>

#include "mm-rng.h"

G_BEGIN_DECLS

typedef enum {
  MM_ARCH_IMAGENET_CNN,
  MM_ARCH_AUDIONET_CNN,
  MM_ARCH_AUDIONET_LSTM,
  MM_ARCH_HYBRIDNET_CNN,
  MM_ARCH_HYBRIDNET_CNN_LSTM,
  MM_N_ARCH
} MmArch;

#define MM_IMAGE_SIZE   28
#define MM_IMAGE_PIXELS (28 * 28)
#define MM_MFCC_FRAMES  39
#define MM_MFCC_COEFFS  13
#define MM_AUDIO_VALUES (39 * 13)
/* The audio networks' input rate: one MFCC block is one second of it. The
 * one place that says so: the front-end check (mm_frontend_check_network),
 * mfccextract's sink caps and the CLI's decoding take it from here. */
#define MM_AUDIO_RATE   16000
#define MM_N_CLASSES    10

const char *mm_arch_name       (MmArch arch);           /* "ImageNet_CNN", ... */
gboolean    mm_arch_from_name  (const char *name, MmArch *arch);  /* case-insensitive */
gboolean    mm_arch_uses_image (MmArch arch);
gboolean    mm_arch_uses_audio (MmArch arch);

/* Input normalisation stored with the model (see docs/model-format). */
typedef struct {
  float image_mean, image_std;                 /* study: 0.5, 0.5 */
  float mfcc_mean[MM_MFCC_COEFFS];             /* per coefficient, from training set */
  float mfcc_std[MM_MFCC_COEFFS];
} MmNorm;

/* What a tensor is, given when the network creates it; the initialisation
 * follows from it (PyTorch's defaults). */
typedef enum {
  MM_TENSOR_WEIGHT,        /* conv, linear or LSTM weight: U(±init_bound) */
  MM_TENSOR_BIAS,          /* U(±init_bound), its layer's bound */
  MM_TENSOR_BN_GAMMA,      /* batch norm "weight": 1 */
  MM_TENSOR_BN_BETA,       /* batch norm "bias": 0 */
  MM_TENSOR_RUNNING_MEAN,  /* buffer (not trained): 0 */
  MM_TENSOR_RUNNING_VAR,   /* buffer (not trained): 1 */
} MmTensorKind;

/* A named tensor of the model file: a view into the net's parameter or buffer
 * block. Names and shapes are those of ../shared/guides/model-format.md. */
typedef struct {
  const char *name;      /* e.g. "image.conv1.weight" */
  MmTensorKind kind;
  float init_bound;      /* weights and biases: 1/√fan_in (LSTM: 1/√hidden); else 0 */
  int ndim;
  int shape[4];
  float *data;           /* view, owned by the net */
  float *grad;           /* view into the gradient block; NULL for buffers */
  size_t size;           /* number of floats */
} MmTensorInfo;

typedef struct _MmNet MmNet;

/* New network with PyTorch's default initialisation drawn from @seed;
 * batch-norm running statistics 0 / 1; norm = study defaults (0.5/0.5, mfcc 0/1). */
MmNet       *mm_net_new        (MmArch arch, guint64 seed);
/* The same with every tensor zero, for a caller that sets every tensor (the
 * model loader): drawing the initial weights is most of a load's time. Its
 * dropout stream is that of mm_net_new (arch, 0). */
MmNet       *mm_net_new_blank  (MmArch arch);
void         mm_net_free       (MmNet *net);
MmArch       mm_net_arch       (const MmNet *net);
/* Trainable parameter count (equals PyTorch's sum of p.numel()). */
size_t       mm_net_n_params   (const MmNet *net);
float       *mm_net_params     (MmNet *net);
float       *mm_net_grads      (MmNet *net);
/* Model-file tensors: parameters first, then buffers. */
int                 mm_net_n_tensors (const MmNet *net);
const MmTensorInfo *mm_net_tensor    (const MmNet *net, int i);
const MmTensorInfo *mm_net_find_tensor (const MmNet *net, const char *name);
MmNorm      *mm_net_norm       (MmNet *net);
/* Calibration temperature T (default 1): class probabilities are
 * softmax(logits / T). Fitted on a validation set (mm_fit_temperature), stored
 * in the model file; the arg-max does not depend on it. T > 0, finite. */
float        mm_net_temperature     (const MmNet *net);
void         mm_net_set_temperature (MmNet *net, float t);
/* Copies parameters, buffers, norm and temperature from @src (same arch) into @dst. */
void         mm_net_copy_weights (MmNet *dst, const MmNet *src);

/* Training mode: batch-norm uses batch statistics, dropout is active. */
void         mm_net_set_training (MmNet *net, gboolean training);
/* For tests and parity: keep training-mode batch norm but switch dropout off. */
void         mm_net_set_dropout  (MmNet *net, gboolean enabled);
/* Reseeds the dropout stream. */
void         mm_net_seed_dropout (MmNet *net, guint64 seed);
/* The dropout stream itself (owned by the net), for training checkpoints. */
MmRng       *mm_net_dropout_rng  (MmNet *net);

/* Forward pass for @batch samples. @image [batch][1][28][28] and @audio
 * [batch][39][13] (time-major) are normalised inputs; pass NULL for a
 * modality the arch does not use. Writes @logits [batch][10]. In training
 * mode it keeps what backward needs; evaluation mode keeps nothing and takes
 * inference-only kernels. */
void         mm_net_forward    (MmNet *net, int batch, const float *image,
                                const float *audio, float *logits);
/* Backward of the last forward, which must have been in training mode, with
 * loss = mean softmax cross-entropy against @labels, each sample's target
 * smoothed by @smoothing[b] (mm_softmax_xent_smoothed; NULL = none): fills
 * the gradient block and returns the loss. */
float        mm_net_backward   (MmNet *net, const int *labels, const float *smoothing);
/* The same against mixed targets (mm_softmax_xent_mixed: sample b's target
 * moved by @mix[b] towards @mix_labels[b]'s), for inputs mixed in the same
 * proportions (mixup). NULL @mix_labels and @mix: mm_net_backward. */
float        mm_net_backward_mixed (MmNet *net, const int *labels, const float *smoothing,
                                    const int *mix_labels, const float *mix);

/* The network's internal representations, as the study's Figures 6–8 show
 * them: the image encoder's output, the audio encoder's, and the fusion
 * layer's (fc1 → batch norm → ReLU) of a hybrid. */
typedef enum {
  MM_EMBED_IMAGE,
  MM_EMBED_AUDIO,
  MM_EMBED_FUSED,
} MmEmbedding;

/* What the last forward computed at @which: [batch][*dim] (*dim the part's
 * width: 128; 64 for AudioNet_LSTM's audio encoder), a view owned by @net,
 * valid until the next forward. NULL when the network has no such part (then
 * *dim is 0) or has not run a forward yet. */
const float *mm_net_embedding (const MmNet *net, MmEmbedding which, int *dim);

/* Normalisation helpers. image: 784 grey bytes, white digit on black. */
void         mm_net_prepare_image (const MmNorm *norm, const guint8 *gray, float *out);
/* audio: raw 39×13 MFCC block, time-major. */
void         mm_net_prepare_audio (const MmNorm *norm, const float *mfcc, float *out);

G_END_DECLS
