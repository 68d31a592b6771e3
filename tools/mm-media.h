/* mmdigits CLI — decoding media files with GStreamer.
 *
 * Built without GStreamer (MM_CLI_GST 0: meson setup -Dplugin=disabled),
 * only 16-bit PCM mono WAV files at 16 kHz decode (mm_media_read_wav_plain);
 * any other file fails with "<path>: could not decode: … built without
 * GStreamer …", and mm_media_strict_decoders / mm_media_count_buffers do
 * not exist.
 *
 * Audio goes through decodebin ! audioconvert ! audioresample to mono F32
 * at 16 kHz: the same elements (audioresample at its default quality) that a
 * live pipeline uses in front of mfccextract, so that the features a network
 * is trained on are the features it sees in use. 16-bit PCM WAV files take a
 * shortcut with the same result: libsndfile and the GstAudioConverter those
 * two elements are made of, without a pipeline (mm_media_read_wav). There
 * is deliberately no second resampler in the project.
 *
 * GStreamer is initialised lazily, on the first call, not in main(): the
 * commands that only read MNIST or model files (models, train/eval of
 * ImageNet_CNN) then never pay for loading the plugin registry.
 *
 * Each call builds, runs and frees its own pipeline, so calls from several
 * threads at once are safe and independent.
 */
#pragma once

#include <glib.h>
#include <stddef.h>

#include "mm-net.h"

G_BEGIN_DECLS

#define MM_MEDIA_SAMPLE_RATE MM_AUDIO_RATE

/* Decodes every audio sample of @path (any format decodebin knows) to mono
 * float samples in [-1, 1) at 16 kHz. *samples is owned by the caller
 * (g_free). Fails with "<path>: could not decode: <reason>". A file that
 * mm_media_read_wav handles is read by it (no pipeline), else by the
 * pipeline above: the samples are the same either way (tests/test_media.c
 * checks it). */
gboolean mm_media_decode_audio (const char *path, float **samples, size_t *n_samples,
                                GError **error);
/* The pipeline alone (decodebin ! audioconvert ! audioresample), whatever
 * the file: what mm_media_read_wav is checked against. */
gboolean mm_media_decode_audio_pipeline (const char *path, float **samples,
                                         size_t *n_samples, GError **error);

/* Reads @path without a pipeline when libsndfile reads it as a 16-bit PCM
 * WAV of one or two channels, at most @max_seconds long (0: any length):
 * libsndfile gives the integers wavparse gives, then GstAudioConverter
 * turns them into mono F32 as audioconvert does and, unless the file is at
 * 16 kHz, resamples them to 16 kHz with the options audioresample uses by
 * default (the element is a GstAudioConverter with those options, drained
 * with zeros at EOS as the element drains), so the samples are
 * mm_media_decode_audio_pipeline's, bit for bit. *@handled is FALSE (and
 * nothing is set) for any other file: decode it with the pipeline. With
 * *@handled TRUE, fails on a read error ("<path>: could not decode: …"). */
gboolean mm_media_read_wav (const char *path, double max_seconds, float **samples,
                            size_t *n_samples, gboolean *handled, GError **error);

/* A 16-bit PCM WAV of one channel at 16 kHz, at most @max_seconds long (0:
 * any length), read by libsndfile alone: each sample is s / 32768, which is
 * what GstAudioConverter gives for S16 → F32 (tests/test_media.c checks it
 * against mm_media_read_wav), so a build without GStreamer reads these files
 * as a build with it does. *@handled is FALSE for any other file. */
gboolean mm_media_read_wav_plain (const char *path, double max_seconds, float **samples,
                                  size_t *n_samples, gboolean *handled, GError **error);

/* ---- decoding strictly: a file that does not decode fully is an error ----
 * GStreamer's decoders are lenient by default, for playback: a corrupt
 * frame is skipped (max-errors -1), jpegdec appends a missing end-of-image
 * marker and pads a truncated picture with grey, pngdec drops an incomplete
 * picture at EOS without a message. Classifying such a file would give a
 * silent wrong answer ("no digit found", or a digit read off half a
 * picture), so the CLI decodes strictly with these three checks. */
struct _GstElement;
struct _GstCaps;

/* Before decoding: @path must be a regular file, a JPEG must reach its
 * end-of-image marker, a RIFF file (WAV, AVI) must be as long as its header
 * says, an MP4/MOV's top-level boxes must end within the file and include
 * its index ('moov'), a Matroska/WebM Segment must be as long as its size
 * says (written live, size unknown: its elements must end within the
 * file), an Ogg file's pages must end within it and each stream must end
 * with its end-of-stream page (GStreamer decodes what there is of all of
 * them, silently: a cut recording or video is classified as far as it
 * goes). Fails with "<path>: ..." (MM_ERROR_IO for a missing file,
 * MM_ERROR_FORMAT else). Images are decoded by the pipelines of predict
 * and batch (digitimage), never here. */
gboolean mm_media_check_file (const char *path, GError **error);
/* Makes every video or audio decoder that @pipeline comes to hold (also
 * inside decodebin, added later) post an ERROR at its first decoding error
 * instead of skipping the frame. */
void     mm_media_strict_decoders (struct _GstElement *pipeline);
/* Counts, atomically in *@count, the buffers that enter @element's "sink"
 * pad: zero at EOS means the decoder gave nothing. */
void     mm_media_count_buffers (struct _GstElement *element, gint *count);
/* Whether `videoconvert ! video/x-raw,format=GRAY8` turns frames of
 * @caps (one structure, an 8-bit YUV format digitimage's luma takes: its
 * sink pad template, found in the registry) into a copy of their luma
 * plane, byte for byte: found by converting a frame that holds every luma
 * level beside varied chroma (a conversion that changes the matrix or the
 * range shows in it). FALSE for any other format, without the digitimage
 * element, or if the conversion fails. */
gboolean mm_media_luma_is_gray8 (const struct _GstCaps *caps);

G_END_DECLS
