/* A container's status: see state.h.  */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>

#include "record.h"
#include "state.h"
#include "timestamp.h"
#include "util.h"
#include "banned.h"

bool
husk_ctr_transition_ok (enum husk_ctr_status from, enum husk_ctr_status to)
{
  switch (to)
    {
    case HUSK_CTR_RUNNING:
      return from == HUSK_CTR_CREATED || from == HUSK_CTR_EXITED;
    case HUSK_CTR_EXITED:
      return from == HUSK_CTR_CREATED || from == HUSK_CTR_RUNNING || from == HUSK_CTR_EXITED;
    case HUSK_CTR_CREATED:
      break;
    }
  return false;
}

static int
transition (struct husk_ctr *c, enum husk_ctr_status to, const char *now, char *buf, size_t size,
            struct husk_error **err)
{
  if (!husk_ctr_transition_ok (c->status, to))
    return husk_error_set (err, 0, "container %.12s: cannot go from %s to %s", c->id,
                           husk_ctr_status_name (c->status), husk_ctr_status_name (to));
  if (now == NULL)
    husk_now_rfc3339 (buf, size);
  else
    snprintf (buf, size, "%s", now);
  c->status = to;
  return 0;
}

int
husk_ctr_set_running (struct husk_ctr *c, const char *now, struct husk_error **err)
{
  char t[64];

  if (transition (c, HUSK_CTR_RUNNING, now, t, sizeof (t), err) < 0)
    return -1;
  c->exit_code = 0;
  free (c->started_at);
  c->started_at = husk_xstrdup (t);
  free (c->finished_at);
  c->finished_at = NULL;
  free (c->error);
  c->error = NULL;
  return 0;
}

int
husk_ctr_set_exited (struct husk_ctr *c, int exit_code, const char *error, const char *now,
                     struct husk_error **err)
{
  char t[64];

  if (transition (c, HUSK_CTR_EXITED, now, t, sizeof (t), err) < 0)
    return -1;
  c->exit_code = exit_code;
  free (c->finished_at);
  c->finished_at = husk_xstrdup (t);
  free (c->error);
  c->error = error ? husk_xstrdup (error) : NULL;
  return 0;
}
