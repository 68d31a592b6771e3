/* mmdigits — model files: safetensors with the names, layouts and metadata of
 * ../shared/guides/model-format.md (docs/model-format.md), loadable in
 * PyTorch unchanged.
 *
 * Saving writes a temporary file beside the target and renames it, so a
 * failure never leaves a partial model. Loading refuses anything but a
 * regular file, checks the header length against the file size and a 1 MiB
 * cap, the JSON (within mm-json.h's depth and size limits), every name,
 * dtype, shape and offset, the metadata, that every value is finite and
 * every batch-norm variance ≥ 0, and refuses with a message that names the
 * file and the first thing wrong. Only a file that describes exactly the
 * net is read past its header.
 */
#pragma once

#include <glib.h>

#include "mm-net.h"

G_BEGIN_DECLS

/* Free-form metadata kept beside the weights. Strings are owned. */
typedef struct {
  char *mfcc_json;        /* JSON object of the MFCC parameters, or NULL */
  char *provenance_json;  /* JSON object (data, protocol, seed, epochs, accuracy, ...), or NULL */
} MmModelMeta;

void     mm_model_meta_clear (MmModelMeta *meta);

/* Writes @net (its parameters, batch-norm buffers and norm) with @meta
 * (may be NULL) to @path atomically. */
gboolean mm_model_save (const MmNet *net, const MmModelMeta *meta,
                        const char *path, GError **error);
/* Loads a model; @meta (may be NULL) receives the metadata, owned by the
 * caller. Returns a new MmNet or NULL with @error set. */
MmNet   *mm_model_load (const char *path, MmModelMeta *meta, GError **error);
/* The arch of a model file from its header alone (checked as mm_model_load
 * checks it), without reading the weights. */
gboolean mm_model_read_arch (const char *path, MmArch *arch, GError **error);

/* ---- Training checkpoints (mm_train writes and reads them) ----
 * A checkpoint is a model file with more: extra 1-D tensors (optimiser
 * moments, best weights, the shuffled order...) after the net's own, and a
 * JSON object under __metadata__ "checkpoint". mm_model_load() refuses one
 * by name, and mm_checkpoint_load() refuses a plain model. */

/* An extra tensor: a view of @size 4-byte values the caller owns. */
typedef struct {
  const char *name;
  gboolean is_int;      /* I32; else F32 */
  size_t size;
  void *data;
} MmExtraTensor;

/* Writes @net, @extra and @state_json (a JSON object) to @path atomically. */
gboolean mm_checkpoint_save (const MmNet *net, const char *state_json,
                             const MmExtraTensor *extra, int n_extra,
                             const char *path, GError **error);
/* Loads a checkpoint of a net of @arch: returns its net (new, owned by the
 * caller), fills every one of @extra (each must be in the file with exactly
 * its dtype and size) and sets *@state_json (owned by the caller). NULL
 * with @error set otherwise (MM_ERROR_MISMATCH for another arch). */
MmNet   *mm_checkpoint_load (const char *path, MmArch arch, char **state_json,
                             const MmExtraTensor *extra, int n_extra,
                             GError **error);
/* The state JSON of a checkpoint of a net of @arch from its header alone
 * (checked as mm_checkpoint_load checks it), without reading a tensor: a
 * resume reads which run it was before it asks for that run's tensors.
 * Newly allocated, or NULL with @error set. */
char    *mm_checkpoint_read_state (const char *path, MmArch arch, GError **error);

/* The date a model records: $SOURCE_DATE_EPOCH when it is set (reproducible
 * files, https://reproducible-builds.org/specs/source-date-epoch/), else
 * now; UTC, ISO 8601. Owned by the caller. */
char    *mm_model_date (void);
/* Whether $SOURCE_DATE_EPOCH asks for reproducible files: then provenance
 * leaves out wall-clock figures such as training seconds. */
gboolean mm_model_reproducible (void);

G_END_DECLS
