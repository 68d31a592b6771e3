/* mmdigits — in-memory data sets, splits and the data directory. */
#pragma once

#include <glib.h>

#include "mm-net.h"

G_BEGIN_DECLS

/* Audio clips shared by data sets (recordings repeat across samples and
 * splits): @n clips of @len float samples in [-1, 1). Reference-counted;
 * the samples are owned by the bank. */
typedef struct {
  int n, len, sample_rate;
  float *samples;   /* [n][len] */
  /* [n] the file each clip was decoded from (its name, no directory), to
   * say which recording a sample is (eval --predictions), or NULL; owned
   * by the bank, set by whoever fills it (g_strdup'd strings, freed with it) */
  char **names;
} MmWaveBank;

/* A bank of @n zeroed clips; one reference. */
MmWaveBank *mm_wave_bank_new   (int n, int len, int sample_rate);
MmWaveBank *mm_wave_bank_ref   (MmWaveBank *bank);
void        mm_wave_bank_unref (MmWaveBank *bank);

/* A data set of n samples, each with an image, an audio block or both.
 * All arrays are owned. Values are what the network sees (normalised) once
 * mm_dataset_normalize() has run; before, images are in [0, 1] and audio is
 * raw MFCC. When the audio's waveforms are known, @waves holds them (one
 * reference) and @wave[i] is the clip sample i's audio block was made from:
 * the trainer's waveform augmentation needs them. */
typedef struct {
  int n;
  float *image;   /* [n][784] or NULL */
  float *audio;   /* [n][39·13] time-major, or NULL */
  int *labels;    /* [n] */
  MmWaveBank *waves;  /* or NULL */
  int *wave;          /* [n] clip index into @waves, or NULL */
  /* [n] how clearly each sample's word stood out: the word detector's score
   * (MmWordSpan.snr_db, dB) of the loudest word of the recording its audio
   * was made from, NAN where the detector found none; or NULL (not known).
   * Set by the protocols when the clips are loaded, and anew by the noisy
   * conditions (mm_degrade_audio) for the noisy clip. */
  float *score;
} MmDataset;

MmDataset *mm_dataset_new    (int n, gboolean with_image, gboolean with_audio);
void       mm_dataset_free   (MmDataset *ds);
/* New data set of the samples @idx[0..n) of @src (copies; the wave bank is
 * shared). */
MmDataset *mm_dataset_subset (const MmDataset *src, const int *idx, int n);
/* New data set of the first @n (≤ src->n) samples of @src: mm_dataset_subset
 * of 0 … n − 1. */
MmDataset *mm_dataset_head   (const MmDataset *src, int n);
/* New data set of the samples of @a followed by those of @b, which must
 * carry the same inputs (image, audio); the waveforms and scores are not
 * carried. */
MmDataset *mm_dataset_concat (const MmDataset *a, const MmDataset *b);
/* (x − mean) / std in place, with the model's norm. */
void       mm_dataset_normalize (MmDataset *ds, const MmNorm *norm);
/* Per-coefficient mean and standard deviation of raw audio (population std;
 * a zero std becomes 1). */
void       mm_dataset_audio_stats (const MmDataset *ds, float mean[13], float std[13]);

/* MNIST from <data_dir>/mnist/ as an image-only data set, pixels in [0, 1]:
 * the 60,000 training images (@train_set) or the 10,000 test images. */
MmDataset *mm_dataset_load_mnist (const char *data_dir, gboolean train_set, GError **error);

/* The study's 14:3:3 split of n indices after a seeded shuffle
 * (60,000 → 42,000 / 9,000 / 9,000). Arrays are owned by the caller. */
void mm_split_14_3_3 (int n, guint64 seed, int **train, int *n_train,
                      int **val, int *n_val, int **test, int *n_test);

G_END_DECLS
