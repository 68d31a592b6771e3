/* mmdigits — bounded JSON parsing (see mm-json.h). */
#include "mm-json.h"

#include <string.h>

#include "mm-error.h"

gboolean
mm_json_check_limits (const char *text, gssize len, GError **error)
{
  gsize n = len < 0 ? strlen (text) : (gsize) len;
  gboolean in_string = FALSE;
  guint depth = 0, values = 0;

  for (gsize i = 0; i < n; i++) {
    char c = text[i];

    if (in_string) {
      if (c == '\\')
        i++;                    /* the escaped character cannot end the string */
      else if (c == '"')
        in_string = FALSE;
      continue;
    }
    switch (c) {
      case '"':
        in_string = TRUE;
        break;
      case '[':
      case '{':
        if (++depth > MM_JSON_MAX_DEPTH) {
          g_set_error (error, MM_ERROR, MM_ERROR_FORMAT,
              "nests deeper than %d levels", MM_JSON_MAX_DEPTH);
          return FALSE;
        }
        G_GNUC_FALLTHROUGH;     /* a container is a value too */
      case ',':
        if (++values > MM_JSON_MAX_VALUES) {
          g_set_error (error, MM_ERROR, MM_ERROR_FORMAT,
              "holds more than %d values", MM_JSON_MAX_VALUES);
          return FALSE;
        }
        break;
      case ']':
      case '}':
        if (depth > 0)
          depth--;
        break;
      case '/':
      case '\'':
        g_set_error (error, MM_ERROR, MM_ERROR_FORMAT,
            "is not JSON: %s at byte %" G_GSIZE_FORMAT, c == '/' ? "a comment" :
            "a single quote", i);
        return FALSE;
      default:
        break;
    }
  }
  return TRUE;
}

JsonNode *
mm_json_parse (const char *text, gssize len, GError **error)
{
  JsonParser *parser;
  JsonNode *root;
  GError *jerr = NULL;

  if (!mm_json_check_limits (text, len, error))
    return NULL;
  parser = json_parser_new ();
  if (!json_parser_load_from_data (parser, text, len, &jerr)) {
    g_set_error (error, MM_ERROR, MM_ERROR_FORMAT, "is not JSON: %s", jerr->message);
    g_error_free (jerr);
    g_object_unref (parser);
    return NULL;
  }
  root = json_parser_steal_root (parser);
  g_object_unref (parser);
  if (!root) {
    g_set_error (error, MM_ERROR, MM_ERROR_FORMAT, "is not JSON: empty text");
    return NULL;
  }
  return root;
}

char *
mm_json_node_to_text (JsonNode *root, gboolean pretty)
{
  JsonGenerator *gen = json_generator_new ();
  char *text;

  json_generator_set_root (gen, root);
  json_generator_set_pretty (gen, pretty);
  text = json_generator_to_data (gen, NULL);
  g_object_unref (gen);
  return text;
}

char *
mm_json_builder_to_text (JsonBuilder *b)
{
  JsonNode *root = json_builder_get_root (b);
  char *text = mm_json_node_to_text (root, FALSE);

  json_node_unref (root);
  return text;
}

void
mm_json_add_int (JsonBuilder *b, const char *name, gint64 v)
{
  json_builder_set_member_name (b, name);
  json_builder_add_int_value (b, v);
}

void
mm_json_add_double (JsonBuilder *b, const char *name, double v)
{
  json_builder_set_member_name (b, name);
  json_builder_add_double_value (b, v);
}

void
mm_json_add_boolean (JsonBuilder *b, const char *name, gboolean v)
{
  json_builder_set_member_name (b, name);
  json_builder_add_boolean_value (b, v);
}

void
mm_json_add_string (JsonBuilder *b, const char *name, const char *v)
{
  json_builder_set_member_name (b, name);
  json_builder_add_string_value (b, v);
}

void
mm_json_begin_object (JsonBuilder *b, const char *name)
{
  json_builder_set_member_name (b, name);
  json_builder_begin_object (b);
}

void
mm_json_begin_array (JsonBuilder *b, const char *name)
{
  json_builder_set_member_name (b, name);
  json_builder_begin_array (b);
}

gboolean
mm_json_add_text (JsonBuilder *b, const char *name, const char *json)
{
  JsonNode *node = json ? mm_json_parse (json, -1, NULL) : NULL;

  if (!node)
    return FALSE;
  json_builder_set_member_name (b, name);
  json_builder_add_value (b, node);     /* takes the node */
  return TRUE;
}
