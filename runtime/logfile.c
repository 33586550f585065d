/* TEMPORARY minimal log writer; the logs branch replaces it.  */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cleanup.h"
#include "json.h"
#include "logfile.h"
#include "record.h"
#include "util.h"
#include "banned.h"

struct husk_logw
{
  int fd;
};

int
husk_logw_open (const char *path, struct husk_logw **ret, struct husk_error **err)
{
  int fd = open (path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0)
    return husk_error_set (err, errno, "open \"%s\"", path);
  *ret = husk_xcalloc (1, sizeof (**ret));
  (*ret)->fd = fd;
  return 0;
}

int
husk_logw_write (struct husk_logw *w, int stream, const char *buf, size_t len,
                 struct husk_error **err)
{
  cleanup_jgen husk_jgen *g = husk_jgen_new (false);
  cleanup_free char *text = husk_xmalloc (len + 1);
  char now[64];
  const char *out;
  size_t olen;

  memcpy (text, buf, len);
  text[len] = '\0';
  husk_now_rfc3339 (now, sizeof (now));
  husk_jgen_map_open (g);
  husk_jgen_key (g, "log");
  husk_jgen_string (g, text);
  husk_jgen_key (g, "stream");
  husk_jgen_string (g, stream == 2 ? "stderr" : "stdout");
  husk_jgen_key (g, "time");
  husk_jgen_string (g, now);
  husk_jgen_map_close (g);
  out = husk_jgen_buf (g, &olen);
  if (husk_write_all (w->fd, out, olen) < 0 || husk_write_all (w->fd, "\n", 1) < 0)
    return husk_error_set (err, errno, "write log");
  return 0;
}

int
husk_logw_flush (struct husk_logw *w, struct husk_error **err)
{
  (void) w;
  (void) err;
  return 0;
}

void
husk_logw_close (struct husk_logw *w)
{
  if (w == NULL)
    return;
  close (w->fd);
  free (w);
}
