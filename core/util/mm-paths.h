/* mmdigits — where an installed mmdigits finds its own files.
 *
 * Nothing here refers to the source or build tree: an uninstalled build
 * says where its models and plugin are through the environment (meson
 * devenv, the test suite and the pipelines/ scripts set it). An install
 * that was moved as a whole (DESTDIR, a relocated prefix) finds its own
 * files next to itself before it looks in the configured prefix.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* @configured_target moved the way @configured_anchor moved to
 * @actual_anchor: the relative path from the configured anchor to the
 * configured target, joined to @actual_anchor. All three are absolute
 * directory paths. Returns a newly allocated path (not checked to exist). */
char *mm_path_relocate (const char *configured_anchor, const char *actual_anchor,
                        const char *configured_target);

/* The directory of the shipped models, newly allocated: $MMDIGITS_MODELS
 * when set and not empty; else the configured models directory relocated
 * from @configured_anchor to @actual_anchor (the caller's configured and
 * actual install directories: bindir for the CLI, the plugin directory for
 * the plugin) when that is a directory; else the configured one. Either
 * anchor may be NULL (no relocation). */
char *mm_models_dir (const char *configured_anchor, const char *actual_anchor);

G_END_DECLS
