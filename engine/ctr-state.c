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
#include "proc.h"
#include "record.h"
#include "rundir.h"
#include "state.h"
#include "store.h"
#include "util.h"
#include "banned.h"

const char *
husk_ctr_status_name (enum husk_ctr_status st)
{
  switch (st)
    {
    case HUSK_CTR_CREATED:
      return "created";
    case HUSK_CTR_RUNNING:
      return "running";
    case HUSK_CTR_EXITED:
      return "exited";
    }
  return "unknown";
}


/* C's state.json, written relative to DIRFD.  */
static int
save_state (int dirfd, const char *path, const struct husk_ctr *c, struct husk_error **err)
{
  cleanup_jgen husk_jgen *g = husk_jgen_new (false);
  const char *buf;
  size_t len;

  husk_jgen_map_open (g);
  husk_ctr_json_opt_string (g, "status", husk_ctr_status_name (c->status));
  husk_jgen_key (g, "exit_code");
  husk_jgen_int (g, c->exit_code);
  husk_ctr_json_opt_string (g, "started_at", c->started_at);
  husk_ctr_json_opt_string (g, "finished_at", c->finished_at);
  husk_ctr_json_opt_string (g, "error", c->error);
  husk_jgen_map_close (g);
  buf = husk_jgen_buf (g, &len);
  return husk_write_file_replace_at (dirfd, path, buf, len, 0600, err);
}

int
husk_ctr_save_state (struct husk_store *s, const struct husk_ctr *c, struct husk_error **err)
{
  cleanup_free char *path = husk_strdup_printf ("containers/%s/state.json", c->id);

  return save_state (s->rootfd, path, c, err);
}

int
husk_ctr_save_state_at (int dirfd, const struct husk_ctr *c, struct husk_error **err)
{
  return save_state (dirfd, "state.json", c, err);
}

void
husk_ctr_parse_state (struct husk_ctr *c, const char *buf, size_t len)
{
  cleanup_json husk_json *j = NULL;
  const char *st;
  int64_t n;

  c->status = HUSK_CTR_CREATED;
  j = husk_json_parse (buf, len, NULL);
  if (j == NULL)
    return;
  st = husk_json_get_string (j, "status");
  if (st && strcmp (st, "running") == 0)
    c->status = HUSK_CTR_RUNNING;
  else if (st && strcmp (st, "exited") == 0)
    c->status = HUSK_CTR_EXITED;
  if (husk_json_int64 (husk_json_get (j, "exit_code"), &n))
    c->exit_code = (int) n;
  c->started_at = husk_ctr_json_dup (j, "started_at");
  c->finished_at = husk_ctr_json_dup (j, "finished_at");
  c->error = husk_ctr_json_dup (j, "error");
}

void
husk_ctr_load_state (struct husk_store *s, struct husk_ctr *c)
{
  cleanup_free char *path = husk_strdup_printf ("containers/%s/state.json", c->id);
  cleanup_free char *buf = NULL;

  c->status = HUSK_CTR_CREATED;
  if (husk_read_file_at (s->rootfd, path, 1 << 20, &buf, NULL, NULL) < 0)
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
