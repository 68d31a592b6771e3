/* mmdigits — shared by the libFuzzer harnesses of tests/fuzz.
 *
 * The readers under test take a path, as the programs call them: the input
 * is written to an in-memory file (memfd) and its /proc/self/fd path given,
 * which is a regular file to fstat and costs no disk I/O per execution.
 */
#pragma once

#include <glib.h>
#include <stddef.h>
#include <stdint.h>

G_BEGIN_DECLS

/* libFuzzer's entry point, defined by each harness. */
int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

/* Replaces the contents of the harness's memfd with @data; returns its path
 * (static storage). Aborts if the memfd cannot be made or written. */
const char *mm_fuzz_file (const uint8_t *data, size_t size);

/* A finding of the harness's own checks: prints @what and aborts, which
 * libFuzzer reports as a crash with the input saved. */
G_NORETURN void mm_fuzz_fail (const char *what);

G_END_DECLS
