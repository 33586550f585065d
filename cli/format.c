#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "format.h"
#include "util.h"
#include "banned.h"

enum row_state
{
  ROW_WAITING,
  ROW_PRESENT,
  ROW_MOUNTED,
  ROW_RUNNING,
  ROW_DONE,
};

struct husk_cli_progress_row
{
  char digest[HUSK_DIGEST_LEN + 1];
  int64_t size;
  uint64_t bytes;
  double started; /* When its unpacking began (for the rate).  */
  enum row_state state;
};

static double
now_s (void)
{
  struct timespec ts;
  clock_gettime (CLOCK_MONOTONIC, &ts);
  return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

static void
human (char *buf, size_t n, double v)
{
  static const char *const units[] = { "B", "kB", "MB", "GB", "TB" };
  size_t u = 0;
  while (v >= 1000 && u + 1 < sizeof (units) / sizeof (units[0]))
    {
      v /= 1000;
      u++;
    }
  snprintf (buf, n, u ? "%.1f %s" : "%.0f %s", v, units[u]);
}

/* The row of EV's layer; the table grows to the manifest's layer count.  Under P->lock.  */
static struct husk_cli_progress_row *
row_for (struct husk_cli_progress *p, const struct husk_progress_event *ev)
{
  struct husk_cli_progress_row *row;

  if (ev->index >= ev->n_layers || ev->digest == NULL)
    return NULL;
  if (ev->n_layers > p->n_rows)
    {
      p->rows = husk_xrealloc (p->rows, ev->n_layers * sizeof (*p->rows));
      memset (p->rows + p->n_rows, 0, (ev->n_layers - p->n_rows) * sizeof (*p->rows));
      p->n_rows = ev->n_layers;
    }
  row = &p->rows[ev->index];
  if (row->digest[0] == '\0')
    {
      snprintf (row->digest, sizeof (row->digest), "%s", ev->digest);
      row->size = ev->size;
    }
  return row;
}

/* Under P->lock.  */
static void
draw (struct husk_cli_progress *p, double now)
{
  if (p->lines)
    fprintf (p->out, "\033[%uA", p->lines);
  p->lines = 0;
  for (size_t i = 0; i < p->n_rows; i++)
    {
      const struct husk_cli_progress_row *row = &p->rows[i];
      char a[32], b[32], rate[32];
      double elapsed = now - row->started;

      if (row->digest[0] == '\0')
        continue;
      human (a, sizeof (a), (double) row->bytes);
      human (b, sizeof (b), (double) row->size);
      human (rate, sizeof (rate), elapsed > 0 ? (double) row->bytes / elapsed : 0);
      if (row->state == ROW_WAITING || row->state == ROW_PRESENT || row->state == ROW_MOUNTED)
        fprintf (p->out, "\033[2K%.19s  %s\n", row->digest,
                 row->state == ROW_PRESENT   ? "already present"
                 : row->state == ROW_MOUNTED ? "mounted"
                                             : "waiting");
      else if (row->state == ROW_DONE || (row->size >= 0 && row->bytes >= (uint64_t) row->size))
        fprintf (p->out, "\033[2K%.19s  %s  done\n", row->digest, b);
      else
        fprintf (p->out, "\033[2K%.19s  %s / %s  %s/s\n", row->digest, a, b, rate);
      p->lines++;
    }
  fflush (p->out);
}

static void
on_event_terminal (struct husk_cli_progress *p, const struct husk_progress_event *ev)
{
  struct husk_cli_progress_row *row;

  pthread_mutex_lock (&p->lock);
  row = row_for (p, ev);
  if (row)
    switch (ev->kind)
      {
      case HUSK_PROGRESS_LAYER_QUEUED:
        row->state = ROW_WAITING;
        break;
      case HUSK_PROGRESS_LAYER_SKIPPED:
        row->state = ROW_PRESENT;
        break;
      case HUSK_PROGRESS_LAYER_STARTED:
      case HUSK_PROGRESS_LAYER_UPLOADING:
        row->state = ROW_RUNNING;
        row->started = now_s ();
        break;
      case HUSK_PROGRESS_LAYER_MOUNTED:
        row->state = ROW_MOUNTED;
        break;
      case HUSK_PROGRESS_LAYER_BYTES:
        row->bytes = ev->bytes;
        break;
      case HUSK_PROGRESS_LAYER_DONE:
        row->state = ROW_DONE;
        break;
      case HUSK_PROGRESS_PULL:
      case HUSK_PROGRESS_PUSH:
        break;
      }
  pthread_mutex_unlock (&p->lock);
}

static void
on_event_lines (struct husk_cli_progress *p, const struct husk_progress_event *ev)
{
  switch (ev->kind)
    {
    case HUSK_PROGRESS_PULL:
      fprintf (p->out, "Pulling %s\n", ev->name);
      break;
    case HUSK_PROGRESS_LAYER_SKIPPED:
      fprintf (p->out, "Layer %.19s: already present\n", ev->digest);
      break;
    case HUSK_PROGRESS_LAYER_STARTED:
      fprintf (p->out, "Layer %.19s: unpacking %jd bytes\n", ev->digest, (intmax_t) ev->size);
      break;
    case HUSK_PROGRESS_LAYER_DONE:
      fprintf (p->out, "Layer %.19s: done\n", ev->digest);
      break;
    case HUSK_PROGRESS_PUSH:
      fprintf (p->out, "Pushing %s\n", ev->name);
      break;
    case HUSK_PROGRESS_LAYER_UPLOADING:
      fprintf (p->out, "Layer %.19s: uploading %jd bytes\n", ev->digest, (intmax_t) ev->size);
      break;
    case HUSK_PROGRESS_LAYER_MOUNTED:
      fprintf (p->out, "Layer %.19s: mounted from %s\n", ev->digest, ev->name);
      break;
    case HUSK_PROGRESS_LAYER_QUEUED:
    case HUSK_PROGRESS_LAYER_BYTES:
      break;
    }
}

static void
on_event (void *arg, const struct husk_progress_event *ev)
{
  struct husk_cli_progress *p = arg;

  if (p->mode == HUSK_CLI_PROGRESS_TERMINAL)
    on_event_terminal (p, ev);
  else
    on_event_lines (p, ev);
}

static void *
draw_thread (void *arg)
{
  struct husk_cli_progress *p = arg;

  while (!atomic_load (&p->stop))
    {
      pthread_mutex_lock (&p->lock);
      draw (p, now_s ());
      pthread_mutex_unlock (&p->lock);
      for (int i = 0; i < 4 && !atomic_load (&p->stop); i++)
        {
          struct timespec ts = { .tv_sec = 0, .tv_nsec = 50 * 1000000L };
          nanosleep (&ts, NULL);
        }
    }
  return NULL;
}

const struct husk_progress *
husk_cli_progress_start (struct husk_cli_progress *p, enum husk_cli_progress_mode mode, FILE *out)
{
  memset (p, 0, sizeof (*p));
  p->mode = mode;
  p->out = out;
  p->iface.event = on_event;
  p->iface.arg = p;
  pthread_mutex_init (&p->lock, NULL);
  if (mode == HUSK_CLI_PROGRESS_TERMINAL && pthread_create (&p->thread, NULL, draw_thread, p) == 0)
    p->thread_running = true;
  return mode == HUSK_CLI_PROGRESS_QUIET ? NULL : &p->iface;
}

void
husk_cli_progress_finish (struct husk_cli_progress *p)
{
  if (p->thread_running)
    {
      atomic_store (&p->stop, true);
      pthread_join (p->thread, NULL);
      p->thread_running = false;
    }
  if (p->mode == HUSK_CLI_PROGRESS_TERMINAL)
    {
      pthread_mutex_lock (&p->lock);
      draw (p, now_s ());
      pthread_mutex_unlock (&p->lock);
    }
  pthread_mutex_destroy (&p->lock);
  free (p->rows);
  p->rows = NULL;
  p->n_rows = 0;
}
