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

G_END_DECLS
