/* mmdigits — layer kernels: forward and backward side by side.
 *
 * This header includes every kernel's own header (one per kernel file:
 * mm-conv.h, mm-batchnorm.h, mm-pool.h, mm-dropout.h, mm-linear.h,
 * mm-activation.h, mm-lstm.h) and the thread setting (mm-threads.h), for
 * applications that include it; the conventions below hold for all of them.
 *
 * Every kernel works on caller-owned float32 buffers; nothing here allocates
 * except where a function says so. Layouts are PyTorch's: activations NCHW
 * (batch, channels, rows, columns) for 2-d layers and [batch][features] for
 * 1-d ones, so a state dict maps one to one onto our parameters.
 *
 * Parameters and their gradients are *views*: pointers into the flat
 * parameter / gradient blocks owned by an MmNet (KANN's layout), so that the
 * optimiser and the model writer walk two flat vectors. A layer struct owns
 * nothing.
 *
 * Gradient convention: a backward function OVERWRITES the gradients of its
 * own parameters (dw, db, ...) with d(loss)/d(param) for this batch, and
 * writes d(loss)/d(input) into @dx when @dx is not NULL. Kernels never
 * accumulate across calls, so no zeroing pass is needed between steps.
 *
 * Thread-safety: kernels are reentrant. Large kernels split their work
 * into tasks over worker pools (see mm_set_threads); the split depends only
 * on the sizes and partial sums are added in a fixed order, so results are
 * the same for any thread count and run to run. While a pool runs a job,
 * OpenBLAS runs one thread (the kernels split the products themselves);
 * the application's OpenBLAS setting is restored after every job.
 */
#pragma once

#include "mm-activation.h"
#include "mm-batchnorm.h"
#include "mm-conv.h"
#include "mm-dropout.h"
#include "mm-linear.h"
#include "mm-lstm.h"
#include "mm-pool.h"
#include "mm-threads.h"
