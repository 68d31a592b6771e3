/* mmdigits CLI — one batch worker: classifies file after file with one set
 * of pipelines that it keeps (tools/batch-worker.c).
 *
 * A worker holds, per "shape" of input it has met (video, still image,
 * audio, or a video or image together with audio), one classifier bin
 *
 *   (video) videoconvert ! GRAY8 ! digitimage ────────────────────┐
 *   (audio) audioconvert ! audioresample ! 16 kHz F32 ! mfccextract ┴ mmclassify ! appsink
 *
 * as pipelines/demo.sh builds it (one mmclassify: the model set's plan,
 * mm-modelset.h, says whether it pairs or classifies each modality alone),
 * whose models are loaded once (mmclassify loads them at NULL→READY;
 * between files the bin only goes back to READY); each file is decoded by
 * its own `filesrc ! decodebin` pipeline, into which the bin is added for
 * that file, the first video and first audio stream linked to its ghost
 * pads (video, audio): the decoders' threads run the branches.
 *
 * A 16-bit PCM WAV file (mono or stereo, up to 10 minutes) needs no
 * pipeline at all: it is one recording, and the worker decides it as eval
 * does — read by mm_media_read_wav (the samples audioresample would give),
 * cut by mm_frontend_clip with the model's contract (the shipped models:
 * the whole recording), MFCC, and the audio network mmclassify would choose
 * (loaded once per worker; the first worker takes the set batch opened to
 * check it), which gives one line as mmclassify would. With
 * MM_BATCH_DECODE_GSTREAMER a WAV goes through the pipeline too, as a stream:
 * one decision per word mfccextract's detector finds.
 *
 * A worker is used by one thread at a time; several workers share nothing.
 */
#pragma once

#include <glib.h>

#include "mm-cli.h"

G_BEGIN_DECLS

typedef enum {
  MM_BATCH_DECODE_AUTO,       /* a WAV as a recording, without a pipeline; else a stream */
  MM_BATCH_DECODE_GSTREAMER,  /* every file as a stream: decodebin and the kept pipeline */
} MmBatchDecode;

typedef struct _MmBatchWorker MmBatchWorker;

/* @model: a model file or directory (copied); @models: that path's set,
 * already opened (taken), or NULL (the worker opens it when it first
 * decides a WAV file without a pipeline);
 * @nets: the roles it serves (which streams of a file a network can take). */
struct _MmModelSet;
MmBatchWorker *mm_batch_worker_new  (const char *model, struct _MmModelSet *models,
                                     const MmCliNets *nets, MmBatchDecode decode);
void           mm_batch_worker_free (MmBatchWorker *w);

/* Classifies @path. On success appends to @lines (GPtrArray of char *, with
 * a g_free free function) mmclassify's JSON objects, without newline, in
 * decision-time order, and returns NULL; otherwise returns why (g_free):
 * "no such file", "could not decode: …", a model error, … */
char          *mm_batch_worker_run  (MmBatchWorker *w, const char *path, GPtrArray *lines);

G_END_DECLS
