/* mmdigits — where an output file may go.
 *
 * Every writer of the project (model files, predictions, MFCC blocks,
 * JSON lines) writes a temporary file beside its target and renames it over
 * the target when complete. These checks run BEFORE the work that makes the
 * output, so that a bad output path costs nothing and never destroys an
 * input.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Whether @a and @b are the same existing file: same device and inode, so
 * that another spelling of a path, a symlink or a hard link counts. FALSE
 * when either does not exist. */
gboolean mm_file_same (const char *a, const char *b);

/* Fails (MM_ERROR_IO, or MM_ERROR_INVALID for an output that is an input)
 * with a one-line message starting "@what @path: " when @path cannot take an
 * output: empty; an existing directory or other non-regular file (a device
 * or FIFO would be replaced by the rename); in a directory that does not
 * exist or where a file cannot be created; or the same file (mm_file_same)
 * as one of @inputs, a NULL-terminated array (may be NULL) of files the
 * command reads, which the output would replace. @what names the option or
 * property, e.g. "--out". */
gboolean mm_file_check_output (const char *what, const char *path,
                               const char *const *inputs, GError **error);

/* As mm_file_check_output for an output written by opening @path itself
 * (a filesink, a shell's redirection), not by temporary + rename: a FIFO or
 * a character device (/dev/stdout) then takes the stream as it is, so for
 * those only "is one of @inputs" is checked. */
gboolean mm_file_check_stream_output (const char *what, const char *path,
                                      const char *const *inputs, GError **error);

/* Fails (MM_ERROR_IO) with "@path: is a character device, not a file to
 * read" (… a directory, a block device, a socket) unless @path is a regular
 * file or a FIFO (a pipe, as a shell's <(…) gives): a device such as
 * /dev/zero is read until memory runs out. For lists a command reads
 * whole; nothing is opened. */
gboolean mm_file_check_readable (const char *path, GError **error);

G_END_DECLS
