/* mmdigits — model sets (see mm-modelset.h for the policy). */
#include "mm-modelset.h"

#include <math.h>
#include <string.h>
#include <sys/stat.h>

#include <glib/gstdio.h>
#include <json-glib/json-glib.h>

#include "mm-activation.h"
#include "mm-error.h"
#include "mm-frontend.h"
#include "mm-json.h"

/* A directory's roles file, and the most it may hold (a few names). */
#define ROLES_FILE "roles.json"
#define ROLES_MAX_BYTES 4096

/* A network of the set with what it owns. */
typedef struct {
  MmModel pub;
  char *file;
  MmModelMeta meta;
  gboolean named;               /* the roles file names it for its role */
} Entry;

struct _MmModelSet {
  char *path;
  gboolean is_dir;
  Entry *roles[MM_N_ROLES];
  Entry *partner;               /* the other audio network, averaged with the audio role's */
  GPtrArray *audio_spares;      /* Entry *: audio networks that lost the role, while loading */
  char *named[MM_N_ROLES];      /* file names from the roles file, or NULL */
  char *named_partner;          /* the audio partner the roles file names, or NULL */
  double image_decides_below;   /* the roles file's pair rule; 0: the hybrid always decides */
  GPtrArray *skipped, *unused;  /* char *, NULL-terminated */
  /* scratch for one classification */
  /* a word's blocks (its own and its views') go through a network as one
   * batch, the crop beside each */
  float image_in[MM_IMAGE_PIXELS * (1 + MM_MFCC_MAX_VIEWS)];
  float audio_in[MM_AUDIO_VALUES * (1 + MM_MFCC_MAX_VIEWS)];
  float logits[MM_N_CLASSES * (1 + MM_MFCC_MAX_VIEWS)];
  float partner_probs[MM_N_CLASSES];
};

static const char *const role_modality[MM_N_ROLES] = { "image", "audio", "image+audio" };
/* what a role serves, in messages */
static const char *const role_use[MM_N_ROLES] = {
  "images alone", "MFCC blocks alone", "image+audio pairs"
};
static const MmArch role_preferred[MM_N_ROLES] = {
  MM_ARCH_IMAGENET_CNN, MM_ARCH_AUDIONET_CNN, MM_ARCH_HYBRIDNET_CNN
};

MmRole
mm_role_of_arch (MmArch arch)
{
  if (mm_arch_uses_image (arch) && mm_arch_uses_audio (arch))
    return MM_ROLE_HYBRID;
  return mm_arch_uses_image (arch) ? MM_ROLE_IMAGE : MM_ROLE_AUDIO;
}

const char *
mm_role_modality (MmRole role)
{
  g_return_val_if_fail (role < MM_N_ROLES, NULL);
  return role_modality[role];
}

const char *
mm_role_arch_name (MmRole role)
{
  g_return_val_if_fail (role < MM_N_ROLES, NULL);
  return mm_arch_name (role_preferred[role]);
}

/* The CNN variant of a role before the LSTM one: lower is preferred. */
static int
arch_rank (MmArch arch)
{
  return arch == MM_ARCH_AUDIONET_LSTM || arch == MM_ARCH_HYBRIDNET_CNN_LSTM;
}

/* ---- loading ------------------------------------------------------------ */

static void
entry_free (Entry *e)
{
  if (!e)
    return;
  mm_net_free (e->pub.net);
  mm_model_meta_clear (&e->meta);
  g_free (e->file);
  g_free (e);
}

/* A model file with its front end (the study's without "mfcc" metadata). */
static Entry *
entry_load (const char *file, GError **error)
{
  Entry *e = g_new0 (Entry, 1);

  e->pub.net = mm_model_load (file, &e->meta, error);
  mm_mfcc_params_init (&e->pub.frontend);
  if (e->pub.net && e->meta.mfcc_json
      && !mm_mfcc_params_from_json (e->meta.mfcc_json, &e->pub.frontend, error)) {
    g_prefix_error (error, "%s: ", file);
    g_clear_pointer (&e->pub.net, mm_net_free);
  }
  if (!e->pub.net) {
    entry_free (e);
    return NULL;
  }
  mm_net_set_training (e->pub.net, FALSE);
  e->file = g_strdup (file);
  e->pub.file = e->file;
  e->pub.arch = mm_net_arch (e->pub.net);
  e->pub.role = mm_role_of_arch (e->pub.arch);
  e->pub.meta = &e->meta;
  return e;
}

static void
note_unused (MmModelSet *set, const Entry *loser, const Entry *winner)
{
  g_ptr_array_add (set->unused, g_strdup_printf ("model file %s (%s) not used: %s (%s) "
          "serves %s", loser->file, mm_arch_name (loser->pub.arch), winner->file,
          mm_arch_name (winner->pub.arch), role_use[winner->pub.role]));
}

/* Whether @e should keep its role rather than give it to @other: the file
 * the roles file names wins, else the better arch rank, else the first. */
static gboolean
holds_against (const Entry *e, const Entry *other)
{
  if (e->named != other->named)
    return e->named;
  return arch_rank (e->pub.arch) <= arch_rank (other->pub.arch);
}

/* Keeps @e if its role is free or it ranks better than the holder (files
 * come in name order: of two of one arch, the first stays). An audio
 * network that loses waits for choose_partner; another is left out. Takes
 * @e. */
static void
offer (MmModelSet *set, Entry *e)
{
  Entry **slot = &set->roles[e->pub.role];
  Entry *loser = NULL;

  if (*slot && holds_against (*slot, e)) {
    loser = e;
  } else {
    loser = *slot;
    *slot = e;
  }
  if (!loser)
    return;
  if (loser->pub.role == MM_ROLE_AUDIO) {
    g_ptr_array_add (set->audio_spares, loser);
    return;
  }
  note_unused (set, loser, *slot);
  entry_free (loser);
}

/* The policy's audio mean: the audio network the roles file names as the
 * partner, if it lost the role to the holder, averages its calibrated
 * probabilities with the holder's; it must be the other audio arch
 * (AudioNet_CNN beside an AudioNet_LSTM, or the reverse) of the holder's
 * front end. The other losers are left out. */
static gboolean
choose_partner (MmModelSet *set, GError **error)
{
  const Entry *holder = set->roles[MM_ROLE_AUDIO];
  gboolean ok = TRUE;

  for (guint i = 0; i < set->audio_spares->len; i++) {
    Entry *e = g_ptr_array_index (set->audio_spares, i);
    char *base = g_path_get_basename (e->file);
    char *what = NULL;

    if (ok && set->named_partner && !set->partner && strcmp (base, set->named_partner) == 0) {
      if (e->pub.arch == holder->pub.arch) {
        g_set_error (error, MM_ERROR, MM_ERROR_INVALID, "%s/" ROLES_FILE " names %s as the "
            "audio partner of %s, but both are %s: the partner is the other audio network",
            set->path, base, holder->file, mm_arch_name (e->pub.arch));
        ok = FALSE;
      } else if (!mm_mfcc_params_equal (&e->pub.frontend, &holder->pub.frontend, &what)) {
        g_set_error (error, MM_ERROR, MM_ERROR_MISMATCH, "%s/" ROLES_FILE " names %s as the "
            "audio partner of %s, but they were trained on different audio front ends (%s)",
            set->path, base, holder->file, what);
        ok = FALSE;
      } else {
        set->partner = e;
        e = NULL;
      }
    }
    if (e) {
      note_unused (set, e, holder);
      entry_free (e);
    }
    g_free (what);
    g_free (base);
  }
  g_ptr_array_set_size (set->audio_spares, 0);
  if (ok && set->named_partner && !set->partner) {
    g_set_error (error, MM_ERROR, MM_ERROR_NOT_FOUND, "%s/" ROLES_FILE " names %s as the audio "
        "partner, but no such file loads beside the audio network", set->path,
        set->named_partner);
    ok = FALSE;
  }
  return ok;
}

static gint
compare_names (gconstpointer a, gconstpointer b)
{
  return strcmp (*(const char *const *) a, *(const char *const *) b);
}

/* The *.safetensors of @dir in name order (owned strings), or NULL. */
static GPtrArray *
dir_files (const char *dir, GError **error)
{
  GDir *d = g_dir_open (dir, 0, error);
  GPtrArray *files;
  const char *name;

  if (!d) {
    g_prefix_error (error, "model directory %s: ", dir);
    return NULL;
  }
  files = g_ptr_array_new_with_free_func (g_free);
  while ((name = g_dir_read_name (d)))
    if (g_str_has_suffix (name, ".safetensors"))
      g_ptr_array_add (files, g_build_filename (dir, name, NULL));
  g_dir_close (d);
  g_ptr_array_sort (files, compare_names);
  return files;
}

static gboolean
set_is_empty (const MmModelSet *set)
{
  for (int r = 0; r < MM_N_ROLES; r++)
    if (set->roles[r])
      return FALSE;
  return TRUE;
}

/* The text of @path, a regular file of at most ROLES_MAX_BYTES, or NULL
 * with @error set (the caller prefixes the file's name). */
static char *
read_small_file (const char *path, GError **error)
{
  GStatBuf st;
  char *text = NULL;
  gsize len;

  if (g_stat (path, &st) != 0 || !S_ISREG (st.st_mode) || st.st_size > ROLES_MAX_BYTES) {
    g_set_error (error, MM_ERROR, MM_ERROR_INVALID, "not a regular file of at most %d bytes",
        ROLES_MAX_BYTES);
    return NULL;
  }
  if (!g_file_get_contents (path, &text, &len, error))
    return NULL;
  return text;
}

static int
role_of_modality (const char *name)
{
  for (int r = 0; r < MM_N_ROLES; r++)
    if (strcmp (name, role_modality[r]) == 0)
      return r;
  return -1;
}

/* A file name of the roles file (a .safetensors name, no path), or NULL. */
static const char *
role_file (JsonNode *value)
{
  const char *file = JSON_NODE_HOLDS_VALUE (value)
      && json_node_get_value_type (value) == G_TYPE_STRING ? json_node_get_string (value) : NULL;

  if (!file || !*file || strchr (file, '/') || !g_str_has_suffix (file, ".safetensors"))
    return NULL;
  return file;
}

/* The object form of "image+audio": {"network": FILE, "image_decides_below":
 * P}, P in (0, 1] (the pair rule, mm-modelset.h). *@file gets FILE, or NULL
 * when it is not a file name (the caller's error); any other member, or a
 * P that is not such a number, fails (MM_ERROR_FORMAT). */
static gboolean
read_pair_rule (MmModelSet *set, JsonObject *o, const char **file, GError **error)
{
  JsonNode *below = json_object_get_member (o, "image_decides_below");
  JsonObjectIter it;
  const char *key;
  JsonNode *value;
  double p = NAN;

  json_object_iter_init (&it, o);
  while (json_object_iter_next (&it, &key, &value))
    if (strcmp (key, "network") && strcmp (key, "image_decides_below")) {
      g_set_error (error, MM_ERROR, MM_ERROR_FORMAT, "role \"image+audio\": unknown member "
          "\"%s\" (it takes \"network\" and \"image_decides_below\")", key);
      return FALSE;
    }
  *file = json_object_has_member (o, "network")
      ? role_file (json_object_get_member (o, "network")) : NULL;
  if (below && JSON_NODE_HOLDS_VALUE (below)
      && (json_node_get_value_type (below) == G_TYPE_DOUBLE
          || json_node_get_value_type (below) == G_TYPE_INT64))
    p = json_node_get_double (below);
  if (!(p > 0 && p <= 1)) {
    g_set_error (error, MM_ERROR, MM_ERROR_FORMAT, "role \"image+audio\": "
        "\"image_decides_below\" must be a probability above 0 and at most 1");
    return FALSE;
  }
  set->image_decides_below = p;
  return TRUE;
}

/* Reads @set's roles file into set->named (and the pair rule), when the
 * directory has one: an object from role ("image", "audio", "image+audio")
 * to a file name in the directory. */
static gboolean
read_roles (MmModelSet *set, GError **error)
{
  char *path = g_build_filename (set->path, ROLES_FILE, NULL);
  JsonNode *root = NULL;
  JsonObject *obj;
  JsonObjectIter it;
  const char *key;
  JsonNode *value;
  char *text = NULL;
  gboolean ok = FALSE;

  if (!g_file_test (path, G_FILE_TEST_EXISTS)) {
    g_free (path);
    return TRUE;
  }
  if (!(text = read_small_file (path, error)) || !(root = mm_json_parse (text, -1, error)))
    goto out;
  if (!JSON_NODE_HOLDS_OBJECT (root)) {
    g_set_error (error, MM_ERROR, MM_ERROR_FORMAT, "not a JSON object");
    goto out;
  }
  obj = json_node_get_object (root);
  json_object_iter_init (&it, obj);
  while (json_object_iter_next (&it, &key, &value)) {
    int r = role_of_modality (key);
    const char *file, *partner = NULL;

    if (r < 0) {
      g_set_error (error, MM_ERROR, MM_ERROR_FORMAT, "unknown role \"%s\" (the roles are "
          "\"image\", \"audio\" and \"image+audio\")", key);
      goto out;
    }
    /* "image+audio" may be an object: the network and the pair rule */
    if (r == MM_ROLE_HYBRID && JSON_NODE_HOLDS_OBJECT (value)) {
      if (!read_pair_rule (set, json_node_get_object (value), &file, error))
        goto out;
    } else if (r == MM_ROLE_AUDIO && JSON_NODE_HOLDS_ARRAY (value)
        && json_array_get_length (json_node_get_array (value)) == 2) {
      file = role_file (json_array_get_element (json_node_get_array (value), 0));
      partner = role_file (json_array_get_element (json_node_get_array (value), 1));
      if (!partner) {
        g_set_error (error, MM_ERROR, MM_ERROR_FORMAT, "role \"audio\" must name one "
            ".safetensors file of this directory, or two (the network and its partner)");
        goto out;
      }
    } else {
      file = role_file (value);
    }
    if (!file) {
      g_set_error (error, MM_ERROR, MM_ERROR_FORMAT, "role \"%s\" must name a .safetensors "
          "file of this directory (a name, no path)%s", key,
          r == MM_ROLE_AUDIO ? ", or two (the network and its partner)"
          : r == MM_ROLE_HYBRID ? ", or be an object {\"network\": FILE, "
            "\"image_decides_below\": P}" : "");
      goto out;
    }
    g_free (set->named[r]);
    set->named[r] = g_strdup (file);
    if (partner) {
      g_free (set->named_partner);
      set->named_partner = g_strdup (partner);
    }
  }
  ok = TRUE;
out:
  if (!ok)
    g_prefix_error (error, "%s: ", path);
  if (root)
    json_node_unref (root);
  g_free (text);
  g_free (path);
  return ok;
}

/* The role the roles file names @file (a path in the set's directory)
 * for, or -1. */
static int
named_role (const MmModelSet *set, const char *file)
{
  char *base = g_path_get_basename (file);
  int role = -1;

  for (int r = 0; r < MM_N_ROLES && role < 0; r++)
    if (set->named[r] && strcmp (base, set->named[r]) == 0)
      role = r;
  g_free (base);
  return role;
}

/* Every file the roles file names serves its role: its arch is of that
 * role (load_dir has failed already on one that does not load). */
static gboolean
check_named (const MmModelSet *set, GError **error)
{
  for (int r = 0; r < MM_N_ROLES; r++) {
    char *path;

    if (!set->named[r] || (set->roles[r] && set->roles[r]->named))
      continue;
    path = g_build_filename (set->path, set->named[r], NULL);
    if (!g_file_test (path, G_FILE_TEST_EXISTS))
      g_set_error (error, MM_ERROR, MM_ERROR_NOT_FOUND, "%s/" ROLES_FILE " names %s for %s: "
          "no such file", set->path, set->named[r], role_use[r]);
    else
      g_set_error (error, MM_ERROR, MM_ERROR_INVALID, "%s/" ROLES_FILE " names %s for %s, "
          "but it serves another role", set->path, set->named[r], role_use[r]);
    g_free (path);
    return FALSE;
  }
  return TRUE;
}

/* The pair rule needs the image network it hands pairs to. */
static gboolean
check_pair_rule (const MmModelSet *set, GError **error)
{
  if (set->image_decides_below > 0 && !set->roles[MM_ROLE_IMAGE]) {
    g_set_error (error, MM_ERROR, MM_ERROR_NOT_FOUND, "%s/" ROLES_FILE " lets the image "
        "network decide pairs the hybrid is unsure of, but the directory has no %s model",
        set->path, mm_role_arch_name (MM_ROLE_IMAGE));
    return FALSE;
  }
  return TRUE;
}

/* Every file that loads is offered; the others are noted as skipped. */
static gboolean
load_dir (MmModelSet *set, GError **error)
{
  GPtrArray *files;

  if (!read_roles (set, error))
    return FALSE;
  if (!(files = dir_files (set->path, error)))
    return FALSE;
  for (guint i = 0; i < files->len; i++) {
    const char *file = g_ptr_array_index (files, i);
    GError *err = NULL;
    Entry *e = entry_load (file, &err);
    int r = named_role (set, file);

    if (e) {
      e->named = r == (int) e->pub.role;
      offer (set, e);
    } else if (r >= 0) {
      /* asked for by name: its failure is the set's, not a file to skip */
      g_set_error (error, MM_ERROR, MM_ERROR_INVALID, "%s/" ROLES_FILE " names %s for %s, but "
          "it does not load: %s", set->path, set->named[r], role_use[r], err->message);
      g_error_free (err);
      g_ptr_array_unref (files);
      return FALSE;
    } else {
      g_ptr_array_add (set->skipped, g_strdup_printf ("model file %s skipped: %s", file,
              err->message));
      g_error_free (err);
    }
  }
  if (set_is_empty (set)) {
    if (files->len == 0)
      g_set_error (error, MM_ERROR, MM_ERROR_NOT_FOUND, "model directory %s holds no model "
          "file (*.safetensors): add one, or train one with 'mmdigits train'", set->path);
    else
      g_set_error (error, MM_ERROR, MM_ERROR_NOT_FOUND, "model directory %s holds no model "
          "that loads (%u skipped; %s)", set->path, files->len,
          (const char *) g_ptr_array_index (set->skipped, 0));
    g_ptr_array_unref (files);
    return FALSE;
  }
  g_ptr_array_unref (files);
  return check_named (set, error) && choose_partner (set, error) && check_pair_rule (set, error);
}

static gboolean
load_file (MmModelSet *set, GError **error)
{
  GError *err = NULL;
  Entry *e;

  if (!g_file_test (set->path, G_FILE_TEST_EXISTS)) {
    g_set_error (error, MM_ERROR, MM_ERROR_NOT_FOUND,
        "model file %s: no such file or directory", set->path);
    return FALSE;
  }
  if (!(e = entry_load (set->path, &err))) {
    g_set_error (error, MM_ERROR, err->domain == MM_ERROR ? err->code : MM_ERROR_IO,
        "model file %s: %s", set->path, err->message);
    g_error_free (err);
    return FALSE;
  }
  offer (set, e);
  return TRUE;
}

MmModelSet *
mm_model_set_open (const char *path, GError **error)
{
  MmModelSet *set;
  gboolean ok;

  g_return_val_if_fail (path != NULL, NULL);
  set = g_new0 (MmModelSet, 1);
  set->path = g_strdup (path);
  set->is_dir = g_file_test (path, G_FILE_TEST_IS_DIR);
  set->skipped = g_ptr_array_new_with_free_func (g_free);
  set->unused = g_ptr_array_new_with_free_func (g_free);
  set->audio_spares = g_ptr_array_new ();
  ok = set->is_dir ? load_dir (set, error) : load_file (set, error);
  g_ptr_array_add (set->skipped, NULL);
  g_ptr_array_add (set->unused, NULL);
  if (!ok) {
    mm_model_set_free (set);
    return NULL;
  }
  return set;
}

void
mm_model_set_free (MmModelSet *set)
{
  if (!set)
    return;
  for (int r = 0; r < MM_N_ROLES; r++) {
    entry_free (set->roles[r]);
    g_free (set->named[r]);
  }
  entry_free (set->partner);
  g_free (set->named_partner);
  /* spares are left only when the load failed before choose_partner */
  for (guint i = 0; i < set->audio_spares->len; i++)
    entry_free (g_ptr_array_index (set->audio_spares, i));
  g_ptr_array_unref (set->audio_spares);
  g_ptr_array_unref (set->skipped);
  g_ptr_array_unref (set->unused);
  g_free (set->path);
  g_free (set);
}

const char *
mm_model_set_path (const MmModelSet *set)
{
  return set->path;
}

gboolean
mm_model_set_is_dir (const MmModelSet *set)
{
  return set->is_dir;
}

const MmModel *
mm_model_set_get (const MmModelSet *set, MmRole role)
{
  g_return_val_if_fail (role < MM_N_ROLES, NULL);
  return set->roles[role] ? &set->roles[role]->pub : NULL;
}

const MmModel *
mm_model_set_partner (const MmModelSet *set, MmRole role)
{
  g_return_val_if_fail (role < MM_N_ROLES, NULL);
  return role == MM_ROLE_AUDIO && set->partner ? &set->partner->pub : NULL;
}

double
mm_model_set_image_decides_below (const MmModelSet *set)
{
  return set->image_decides_below;
}

gboolean
mm_pair_defers (const float *hybrid_probs, double below)
{
  return hybrid_probs[mm_argmax (MM_N_CLASSES, hybrid_probs)] < below;
}

const MmModel *
mm_model_set_single (const MmModelSet *set)
{
  const MmModel *one = NULL;

  for (int r = 0; r < MM_N_ROLES; r++)
    if (set->roles[r]) {
      if (one)
        return NULL;
      one = &set->roles[r]->pub;
    }
  return one;
}

const char *const *
mm_model_set_skipped (const MmModelSet *set)
{
  return (const char *const *) set->skipped->pdata;
}

const char *const *
mm_model_set_unused (const MmModelSet *set)
{
  return (const char *const *) set->unused->pdata;
}

/* ---- front ends and plans ------------------------------------------------ */

/* Whether @a and @b (either may be NULL) can classify one audio stream. */
static gboolean
same_frontend (const MmModel *a, const MmModel *b, GError **error)
{
  char *what = NULL;

  if (!a || !b || mm_mfcc_params_equal (&a->frontend, &b->frontend, &what))
    return TRUE;
  g_set_error (error, MM_ERROR, MM_ERROR_MISMATCH, "%s (%s) and %s (%s) were trained on "
      "different audio front ends (%s): one audio stream cannot suit both; keep models of "
      "one front end together (retrain one with the other's settings, or give each its own "
      "directory)", a->file, mm_arch_name (a->arch), b->file, mm_arch_name (b->arch), what);
  g_free (what);
  return FALSE;
}

gboolean
mm_model_set_frontend (const MmModelSet *set, MmMfccParams *frontend, GError **error)
{
  const MmModel *audio = mm_model_set_get (set, MM_ROLE_AUDIO);
  const MmModel *hybrid = mm_model_set_get (set, MM_ROLE_HYBRID);

  if (!audio && !hybrid) {
    g_set_error (error, MM_ERROR, MM_ERROR_NOT_FOUND, "%s has no audio network, so no "
        "audio front end", set->path);
    return FALSE;
  }
  if (!same_frontend (audio, hybrid, error))
    return FALSE;
  *frontend = (audio ? audio : hybrid)->frontend;
  return TRUE;
}

/* The error for an input that no network of the set serves. */
static void
missing_role (const MmModelSet *set, MmRole role, gboolean both, GError **error)
{
  const char *arch = mm_role_arch_name (role);
  const char *or_hybrid = both ? "" : " (a hybrid network serves only pairs)";

  if (set->is_dir)
    g_set_error (error, MM_ERROR, MM_ERROR_NOT_FOUND, "model directory %s has no %s model, "
        "needed for %s%s: add a %s model file to it (e.g. %s/%s.safetensors)", set->path, arch,
        role_use[role], or_hybrid, arch, set->path, arch);
  else
    g_set_error (error, MM_ERROR, MM_ERROR_MISMATCH, "model file %s cannot serve %s, which "
        "needs a %s model: give a directory holding one", set->path, role_use[role], arch);
}

gboolean
mm_model_set_plan (const MmModelSet *set, gboolean image, gboolean audio, gboolean fallback,
    MmModelPlan *plan, GError **error)
{
  const MmModel *single_image = mm_model_set_get (set, MM_ROLE_IMAGE);
  const MmModel *single_audio = mm_model_set_get (set, MM_ROLE_AUDIO);
  const MmModel *hybrid = mm_model_set_get (set, MM_ROLE_HYBRID);
  gboolean both = image && audio;

  memset (plan, 0, sizeof *plan);
  plan->pair = both && hybrid;
  if (plan->pair) {
    /* lone inputs: their single-modality network, if any, when allowed */
    plan->lone_image = fallback && single_image;
    plan->lone_audio = fallback && single_audio;
  } else {
    if (image && !single_image) {
      missing_role (set, MM_ROLE_IMAGE, both, error);
      return FALSE;
    }
    if (audio && !single_audio) {
      missing_role (set, MM_ROLE_AUDIO, both, error);
      return FALSE;
    }
    plan->lone_image = image;
    plan->lone_audio = audio;
  }
  if (!audio)
    return TRUE;
  /* whatever @fallback says: a later replan must not meet a new error */
  if (plan->pair && !same_frontend (single_audio, hybrid, error))
    return FALSE;
  plan->audio_model = single_audio ? single_audio : hybrid;
  return TRUE;
}

/* ---- classifying --------------------------------------------------------- */

/* @e's calibrated probabilities of @gray and/or @mfcc (finite) into
 * @probs, and the arg-max of its logits into *@digit (may be NULL). @mfcc
 * holds the word's block and its views' (the network's front end says how
 * many): with views, softmax(the mean of their logits / T) and its
 * arg-max. The blocks are one batch: one GEMM per layer for all of them
 * rather than one per block. Fails, naming the file, when its outputs are
 * not finite. */
static gboolean
forward_probs (MmModelSet *set, const Entry *e, const guint8 *gray, const float *mfcc,
    float *probs, int *digit, GError **error)
{
  MmNet *net = e->pub.net;
  int n_blocks = mfcc ? mm_frontend_n_blocks (&e->pub.frontend) : 1;
  float mean[MM_N_CLASSES];
  const float *rows[1 + MM_MFCC_MAX_VIEWS];

  for (int b = 0; b < n_blocks; b++) {
    if (gray && b == 0)
      mm_net_prepare_image (mm_net_norm (net), gray, set->image_in);
    else if (gray)
      memcpy (set->image_in + (size_t) b * MM_IMAGE_PIXELS, set->image_in,
          sizeof (float) * MM_IMAGE_PIXELS);
    if (mfcc)
      mm_net_prepare_audio (mm_net_norm (net), mfcc + (size_t) b * MM_AUDIO_VALUES,
          set->audio_in + (size_t) b * MM_AUDIO_VALUES);
  }
  mm_net_forward (net, n_blocks, gray ? set->image_in : NULL, mfcc ? set->audio_in : NULL,
      set->logits);
  /* finite input, non-finite output: every later input would fail alike */
  if (!mm_all_finite (set->logits, (size_t) n_blocks * MM_N_CLASSES)) {
    g_set_error (error, MM_ERROR, MM_ERROR_FORMAT, "model %s (%s) gives non-finite outputs "
        "(inf or NaN) for a finite input: its weights are unusable", e->file,
        mm_arch_name (e->pub.arch));
    return FALSE;
  }
  for (int b = 0; b < n_blocks; b++)
    rows[b] = set->logits + (size_t) b * MM_N_CLASSES;
  if (n_blocks > 1)
    mm_rows_mean (n_blocks, MM_N_CLASSES, rows, mean);
  else
    memcpy (mean, set->logits, sizeof mean);
  mm_softmax_temperature (1, MM_N_CLASSES, mean, mm_net_temperature (net), probs);
  if (digit)
    *digit = mm_argmax (MM_N_CLASSES, mean);
  return TRUE;
}

gboolean
mm_model_set_classify (MmModelSet *set, const guint8 *gray, const float *mfcc,
    double min_confidence, MmDecision *d, GError **error)
{
  MmRole role = gray && mfcc ? MM_ROLE_HYBRID : gray ? MM_ROLE_IMAGE : MM_ROLE_AUDIO;
  const Entry *e = set->roles[role];
  const Entry *partner = role == MM_ROLE_AUDIO ? set->partner : NULL;
  const Entry *deferred_from = NULL;

  g_return_val_if_fail (gray || mfcc, FALSE);
  if (!e) {
    g_set_error (error, MM_ERROR, MM_ERROR_NOT_FOUND, "%s has no %s model for %s",
        set->path, mm_role_arch_name (role), role_use[role]);
    return FALSE;
  }
  if (mfcc && !mm_all_finite (mfcc, (size_t) MM_AUDIO_VALUES
          * mm_frontend_n_blocks (&e->pub.frontend))) {
    g_set_error_literal (error, MM_ERROR, MM_ERROR_INVALID,
        "the MFCC block holds inf or NaN");
    return FALSE;
  }
  if (!forward_probs (set, e, gray, mfcc, d->probs, &d->digit, error))
    return FALSE;
  if (partner) {
    const float *rows[2] = { d->probs, set->partner_probs };
    float mean[MM_N_CLASSES];

    if (!forward_probs (set, partner, NULL, mfcc, set->partner_probs, NULL, error))
      return FALSE;
    mm_rows_mean (2, MM_N_CLASSES, rows, mean);
    memcpy (d->probs, mean, sizeof mean);
    d->digit = mm_argmax (MM_N_CLASSES, d->probs);
  }
  if (role == MM_ROLE_HYBRID && mm_pair_defers (d->probs, set->image_decides_below)) {
    deferred_from = e;
    e = set->roles[MM_ROLE_IMAGE];   /* there is one: check_pair_rule */
    if (!forward_probs (set, e, gray, NULL, d->probs, &d->digit, error))
      return FALSE;
  }
  d->model = &e->pub;
  d->partner = partner ? &partner->pub : NULL;
  d->deferred_from = deferred_from ? &deferred_from->pub : NULL;
  d->confidence = d->probs[d->digit];
  d->unsure = d->confidence < min_confidence;
  return TRUE;
}
