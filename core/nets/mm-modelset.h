/* mmdigits — a model set: the networks of one model file or directory,
 * the role each one serves, the input each one expects, and classification.
 *
 * One policy for every user (mmclassify, predict, batch, eval, the demo):
 *
 *  - Roles. A network serves one role by its arch: an image alone
 *    (ImageNet_CNN), an MFCC block alone (AudioNet_CNN, else AudioNet_LSTM)
 *    or an image–audio pair (HybridNet_CNN, else HybridNet_CNN_LSTM): the
 *    CNN variant before the LSTM one. A directory's *.safetensors are read
 *    in name order and, of two files of the same arch, the first one wins.
 *    A directory may hold roles.json, a JSON object from role ("image",
 *    "audio", "image+audio") to a file name of the directory: that file
 *    serves the role whatever the rule above (a set chooses, e.g., its
 *    LSTM for MFCC blocks); a named file that is missing, does not load or
 *    serves another role fails the open (MM_ERROR_NOT_FOUND / _INVALID), as
 *    does a roles file that is not such an object (MM_ERROR_FORMAT).
 *    Files that cannot be loaded are skipped (mm_model_set_skipped), files
 *    that lost their role to another are left out (mm_model_set_unused),
 *    but for a named audio partner (below).
 *  - Two audio networks. A roles file may name two files for "audio",
 *    ["network", "partner"]: the partner, the other audio arch
 *    (AudioNet_CNN beside an AudioNet_LSTM, or the reverse) of the same
 *    front end (else the open fails: MM_ERROR_INVALID, _MISMATCH; a
 *    missing one MM_ERROR_NOT_FOUND), is averaged with the network
 *    (mm_model_set_partner): an MFCC block alone is decided on the mean of
 *    the two networks' calibrated probabilities (mm_rows_mean), each at
 *    its own norm and temperature. A set opts in because a validation set
 *    chose it (the default set's: docs/results.md, "Averaging the two
 *    audio networks"); without the list, or for a model file given alone,
 *    one network decides.
 *  - Pairs the hybrid is unsure of. The roles file's "image+audio" may be
 *    an object, {"network": FILE, "image_decides_below": P} (0 < P ≤ 1):
 *    a pair whose hybrid decision has a calibrated confidence below P is
 *    decided by the set's image network alone (mm_pair_defers; the
 *    decision's deferred_from names the hybrid). Where a recording is
 *    drowned (other talkers at 0 dB) the hybrid is less sure and worse
 *    than the image network; a set opts in because a validation set chose
 *    P (the default set's: docs/results.md, "The image network beside the
 *    hybrid"). A set with the rule and no image network fails the open
 *    (MM_ERROR_NOT_FOUND); a P out of range, MM_ERROR_FORMAT. Without
 *    the object, or for a model file given alone, the hybrid decides.
 *  - Plans (mm_model_set_plan): which network serves what, given the inputs
 *    a caller has. With both inputs and a hybrid, pairs go to the hybrid
 *    and an input without a partner to its single-modality network if the
 *    caller allows it (fallback) and the set has one, else it is dropped.
 *    With both inputs and no hybrid, each is classified alone. One input
 *    alone needs its single-modality network.
 *  - Input contracts. Each network carries its image normalisation and
 *    per-coefficient MFCC norm (MmNorm, applied by mm_model_set_classify),
 *    and each audio-using network the front end it was trained with (its
 *    "mfcc" metadata; the study's defaults for a file without one). The
 *    networks that may classify one audio stream must share one front end:
 *    a plan that would mix two is refused with both files and the value
 *    that differs.
 *  - Decisions (mm_model_set_classify): normalise, forward, softmax of the
 *    logits over the model's calibration temperature (for a front end with
 *    test-time views, mm-mfcc.h: of the mean of the logits of the word's
 *    block and its views'; for a block alone with a partner: the mean of
 *    both networks' probabilities; for a pair the hybrid is unsure of, the
 *    image network's), arg-max, and "not sure" below a caller's threshold.
 *
 * Ownership: the set owns its networks, file names, metadata and notes;
 * pointers it returns live as long as the set. Thread-safety: a set is used
 * by one thread at a time (its networks keep activations); two sets share
 * nothing.
 */
#pragma once

#include <glib.h>

#include "mm-mfcc.h"
#include "mm-modelfile.h"
#include "mm-net.h"

G_BEGIN_DECLS

typedef enum {
  MM_ROLE_IMAGE,     /* an image alone */
  MM_ROLE_AUDIO,     /* an MFCC block alone */
  MM_ROLE_HYBRID,    /* an image and an MFCC block together */
  MM_N_ROLES
} MmRole;

MmRole      mm_role_of_arch  (MmArch arch);
/* "image", "audio", "image+audio": the modality a decision reports. */
const char *mm_role_modality (MmRole role);
/* The arch a set should hold for @role (the preferred one, e.g.
 * "HybridNet_CNN"): what an error tells the user to add. */
const char *mm_role_arch_name (MmRole role);

/* One network of a set. Everything is owned by the set. */
typedef struct {
  MmRole role;
  MmArch arch;
  const char *file;          /* the file it was loaded from */
  MmNet *net;                /* in evaluation mode */
  MmMfccParams frontend;     /* its audio front end (the study's for a file
                              * without one); meaningful when it uses audio */
  const MmModelMeta *meta;   /* the file's metadata (provenance, ...) */
} MmModel;

typedef struct _MmModelSet MmModelSet;

/* Loads the model file @path, or every *.safetensors of the directory
 * @path. Fails (MM_ERROR_NOT_FOUND) when @path does not exist or a
 * directory holds no model that loads (the message names the first file
 * skipped and why), or with the loader's error (prefixed "model file
 * PATH: ") when a file given by name does not load. */
MmModelSet    *mm_model_set_open    (const char *path, GError **error);
void           mm_model_set_free    (MmModelSet *set);
const char    *mm_model_set_path    (const MmModelSet *set);
gboolean       mm_model_set_is_dir  (const MmModelSet *set);
/* The network serving @role, or NULL. */
const MmModel *mm_model_set_get     (const MmModelSet *set, MmRole role);
/* The audio network whose calibrated probabilities are averaged with
 * @role's network's (only MM_ROLE_AUDIO can have one; see the policy), or
 * NULL. */
const MmModel *mm_model_set_partner (const MmModelSet *set, MmRole role);
/* The pair rule's P (see the policy), or 0 when the hybrid decides every
 * pair. */
double         mm_model_set_image_decides_below (const MmModelSet *set);
/* The pair rule: whether the image network decides a pair whose hybrid
 * gave @hybrid_probs (its calibrated probabilities): their largest is below
 * @below (never for @below 0). eval scores the rule with it too. */
gboolean       mm_pair_defers (const float *hybrid_probs, double below);
/* The set's one network when it holds exactly one (a file), else NULL. */
const MmModel *mm_model_set_single  (const MmModelSet *set);
/* Files of a directory that could not be loaded: "model file F skipped:
 * why", NULL-terminated; and files left out because another file serves
 * their role: "model file F (arch) not used: G (arch) serves images
 * alone". Owned by the set. */
const char *const *mm_model_set_skipped (const MmModelSet *set);
const char *const *mm_model_set_unused  (const MmModelSet *set);

/* The audio front end the set's audio-using networks share (the audio
 * network's and the hybrid's): fails when it has none (MM_ERROR_NOT_FOUND)
 * or when the two differ (MM_ERROR_MISMATCH, naming both files and the
 * value that differs). */
gboolean       mm_model_set_frontend (const MmModelSet *set, MmMfccParams *frontend,
                                      GError **error);

/* What serves which input, for a caller that has images (@image) and/or
 * MFCC blocks (@audio). */
typedef struct {
  gboolean pair;             /* an image and a block close in time go to the hybrid */
  gboolean lone_image;       /* an image without a partner: the image network
                              * (else it is dropped) */
  gboolean lone_audio;       /* likewise a block: the audio network */
  const MmModel *audio_model;  /* the front end blocks must have: the audio
                                * network's, else the hybrid's; NULL without audio */
} MmModelPlan;

/* Fills @plan (see the policy above; @fallback: with both inputs and a
 * hybrid, whether lone inputs go to their single-modality networks). Fails
 * when an input has no network at all (MM_ERROR_NOT_FOUND for a directory,
 * MM_ERROR_MISMATCH for a file, the message naming the arch to add) or
 * when the networks the plan may use for audio have different front ends
 * (MM_ERROR_MISMATCH). The check does not depend on @fallback, so a caller
 * may replan with another @fallback without a new error. */
gboolean       mm_model_set_plan    (const MmModelSet *set, gboolean image, gboolean audio,
                                     gboolean fallback, MmModelPlan *plan, GError **error);

/* One classification. */
typedef struct {
  const MmModel *model;      /* the network of the role that decided */
  const MmModel *partner;    /* the audio partner averaged with it, or NULL */
  const MmModel *deferred_from;  /* for a pair the hybrid was unsure of (the
                              * pair rule): the hybrid, @model then being the
                              * image network that decided; else NULL */
  int digit;                 /* the arg-max of @probs (the first on ties; of the
                              * logits for one network) */
  float confidence;          /* probs[digit] */
  gboolean unsure;           /* confidence < the caller's minimum */
  float probs[MM_N_CLASSES]; /* softmax(logits / temperature), sums to 1; with a
                              * partner the mean of both networks' */
} MmDecision;

/* Classifies @gray (784 grey bytes, white digit on black; NULL for none)
 * and/or @mfcc (raw 39×13 blocks, time-major: the word's and then its
 * views', mm_frontend_n_blocks of the set's front end; NULL for none)
 * with the network of the role they make (both: the hybrid). Fails with
 * MM_ERROR_INVALID when @mfcc holds inf or NaN (the input's fault),
 * MM_ERROR_NOT_FOUND when the set has no network for the role, and
 * MM_ERROR_FORMAT, naming the file, when the network's outputs are not
 * finite for a finite input (its weights are unusable). */
gboolean       mm_model_set_classify (MmModelSet *set, const guint8 *gray, const float *mfcc,
                                      double min_confidence, MmDecision *d, GError **error);

G_END_DECLS
