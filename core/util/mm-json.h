/* mmdigits — JSON from files we did not write (model headers and the JSON
 * texts kept in their metadata).
 *
 * json-glib's parser descends once per nesting level on the C stack and
 * builds one node per value: 100,000 '[' overflow the stack, and a header of
 * 51 MB of small values takes about 15 times that in nodes. mm_json_parse()
 * therefore scans the text first, cheaply and without recursion, and refuses
 * it beyond the limits below before json-glib sees it.
 */
#pragma once

#include <glib.h>
#include <json-glib/json-glib.h>

G_BEGIN_DECLS

/* Our model header nests 3 deep ({ tensor: { shape: [ ] } }) and the
 * metadata's JSON texts 2; 64 leaves room for other writers' metadata and
 * is nowhere near what the stack can take. */
#define MM_JSON_MAX_DEPTH  64
/* Values (array elements and object members, containers included) in one
 * text; our largest header holds about 400. */
#define MM_JSON_MAX_VALUES 65536

/* Refuses @text (@len bytes, or up to its NUL if @len < 0) when it nests
 * deeper than MM_JSON_MAX_DEPTH, holds more than MM_JSON_MAX_VALUES values,
 * or has a comment or a single quote outside a string (json-glib accepts
 * those, JSON does not, and a quote in a comment would hide what follows
 * from this scan). The message is a predicate ("nests deeper than 64
 * levels") for the caller to prefix with the text's name (g_prefix_error). */
gboolean  mm_json_check_limits (const char *text, gssize len, GError **error);

/* Checks the limits, then parses; returns the root node (owned by the
 * caller: json_node_unref) or NULL with @error set (MM_ERROR_FORMAT). */
JsonNode *mm_json_parse (const char *text, gssize len, GError **error);

/* The compact text of what @b built (a completed value), newly allocated;
 * @b is left as it was (the caller unrefs it). */
char     *mm_json_builder_to_text (JsonBuilder *b);
/* The text of @root (not taken), compact or, with @pretty, indented;
 * newly allocated. */
char     *mm_json_node_to_text (JsonNode *root, gboolean pretty);

/* One member @name of the object @b is building: a value, or the start of
 * an object or array the caller ends (json_builder_end_*). The one set
 * every writer of our JSON uses. */
void      mm_json_add_int     (JsonBuilder *b, const char *name, gint64 v);
void      mm_json_add_double  (JsonBuilder *b, const char *name, double v);
void      mm_json_add_boolean (JsonBuilder *b, const char *name, gboolean v);
void      mm_json_add_string  (JsonBuilder *b, const char *name, const char *v);
void      mm_json_begin_object (JsonBuilder *b, const char *name);
void      mm_json_begin_array  (JsonBuilder *b, const char *name);
/* Member @name holding the value @json (a JSON text, e.g. one kept in a
 * model's metadata) as JSON, not as a string. Parsed by mm_json_parse; when
 * @json is NULL or does not parse nothing is added and FALSE returned. */
gboolean  mm_json_add_text    (JsonBuilder *b, const char *name, const char *json);

G_END_DECLS
