/* mmdigits — GStreamer plugin: registers every element of the plugin.
 *
 * Adding an element is two lines: its GST_ELEMENT_REGISTER_DECLARE comes
 * with its header, and one GST_ELEMENT_REGISTER call below.
 */
#include "mm-config.h"

#include <gst/gst.h>

#include "gstmfccextract.h"
#include "gstdigitimage.h"
#include "gstmmclassify.h"
#include "gstmmtrain.h"
#include "gstmmutil.h"

static gboolean
plugin_init (GstPlugin * plugin)
{
  gboolean ret = FALSE;

  gst_mm_plugin_dir_set (plugin);
  ret |= GST_ELEMENT_REGISTER (mfccextract, plugin);
  ret |= GST_ELEMENT_REGISTER (digitimage, plugin);
  ret |= GST_ELEMENT_REGISTER (mmclassify, plugin);
  ret |= GST_ELEMENT_REGISTER (mmtrain, plugin);

  return ret;
}

GST_PLUGIN_DEFINE (GST_VERSION_MAJOR, GST_VERSION_MINOR,
    mmdigits,
    "Multimodal digit recognition: MFCC front end, digit crops, classifiers",
    plugin_init, VERSION, "LGPL", PACKAGE, PACKAGE)
