/* A container's state.json, and its repair when the monitor is gone (record.h).  */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "json.h"
#include "jsonmap.h"
#include "proc.h"
#include "record.h"
#include "rundir.h"
#include "state.h"
#include "store.h"
#include "util.h"
#include "banned.h"

static const struct husk_jsonmap_enum status_names[] = {
  { "created", HUSK_CTR_CREATED },
  { "running", HUSK_CTR_RUNNING },
  { "exited", HUSK_CTR_EXITED },
  { NULL, 0 },
};

/* state.json: {"status":"exited","exit_code":137,"started_at":...,"finished_at":...,"error":...}
   in this order, on one line; the times and the error only when set.  Every member is LAX, as
   the reader has always been: husk_ctr_parse_state has no error to give, and takes what it
   can from a file it did not write.  */
static const struct husk_jsonmap_field state_fields[] = {
  HUSK_JM_ENUM ("status", struct husk_ctr, status, status_names, HUSK_JM_LAX),
  HUSK_JM_INT ("exit_code", struct husk_ctr, exit_code, HUSK_JM_LAX),
  HUSK_JM_STRING ("started_at", struct husk_ctr, started_at, HUSK_JM_LAX),
  HUSK_JM_STRING ("finished_at", struct husk_ctr, finished_at, HUSK_JM_LAX),
  HUSK_JM_STRING ("error", struct husk_ctr, error, HUSK_JM_LAX),
  HUSK_JM_END,
};

const char *
husk_ctr_status_name (enum husk_ctr_status st)
{
  for (const struct husk_jsonmap_enum *e = status_names; e->name; e++)
    if (e->value == (int) st)
      return e->name;
  return "unknown";
}

/* C's state.json, written relative to DIRFD.  */
static int
save_state (int dirfd, const char *path, const struct husk_ctr *c, struct husk_error **err)
{
  cleanup_jgen husk_jgen *g = husk_jgen_new (false);
  const char *buf;
  size_t len;

  husk_jsonmap_encode (g, state_fields, c);
  buf = husk_jgen_buf (g, &len);
  return husk_write_file_replace_at (dirfd, path, buf, len, 0600, err);
}

int
husk_ctr_save_state (struct husk_store *s, const struct husk_ctr *c, struct husk_error **err)
{
  cleanup_free char *path = husk_strdup_printf ("containers/%s/state.json", c->id);

  return save_state (husk_store_rootfd (s), path, c, err);
}

int
husk_ctr_save_state_at (int dirfd, const struct husk_ctr *c, struct husk_error **err)
{
  return save_state (dirfd, "state.json", c, err);
}

void
husk_ctr_parse_state (struct husk_ctr *c, const char *buf, size_t len)
{
  /* Anything unreadable (not JSON, not an object) clears the state: created.  */
  c->status = HUSK_CTR_CREATED;
  husk_jsonmap_parse (buf, len, state_fields, c, NULL);
}

void
husk_ctr_load_state (struct husk_store *s, struct husk_ctr *c)
{
  cleanup_free char *path = husk_strdup_printf ("containers/%s/state.json", c->id);
  cleanup_free char *buf = NULL;

  c->status = HUSK_CTR_CREATED;
  if (husk_read_file_at (husk_store_rootfd (s), path, 1 << 20, &buf, NULL, NULL) < 0)
    return;
  husk_ctr_parse_state (c, buf, strlen (buf));
}

/* A container that state.json calls running but whose monitor is gone (killed, crashed,
   rebooted) has exited: record that, and make sure nothing of it is left running.  */
void
husk_ctr_repair_state (struct husk_store *s, struct husk_ctr *c)
{
  bool have_pids = husk_ctr_read_pidfile (c);

  if (have_pids && husk_proc_alive (c->monitor_pid, c->monitor_start))
    return;
  /* A monitor writes the pid file before it calls the container running: without one the
     start never finished.  */
  if (have_pids && husk_proc_alive (c->pid, c->pid_start))
    kill (c->pid, SIGKILL);
  /* Reread: the monitor may have just recorded the exit itself.  */
  {
    struct husk_ctr fresh = { 0 };
    memcpy (fresh.id, c->id, sizeof (c->id));
    husk_ctr_load_state (s, &fresh);
    if (fresh.status != HUSK_CTR_RUNNING)
      {
        c->status = fresh.status;
        c->exit_code = fresh.exit_code;
        free (c->finished_at);
        c->finished_at = TAKE_PTR (fresh.finished_at);
        free (fresh.started_at);
        free (fresh.error);
        c->pid = c->monitor_pid = 0;
        return;
      }
    free (fresh.started_at);
    free (fresh.finished_at);
    free (fresh.error);
  }
  husk_ctr_set_exited (c, 255, "its monitor is gone (killed, crashed or the machine restarted)",
                       NULL, NULL);
  c->pid = c->monitor_pid = 0;
  husk_ctr_save_state (s, c, NULL);
  husk_ctr_remove_rundir (c);
}
