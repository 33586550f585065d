/* What commands draw beyond plain lines of output: the library's progress events
   (overlay/progress.h) on the command's stderr, a line per event or, on a terminal, a display
   of every layer redrawn in place.  Used by pull and load (husk-full only).  */
#ifndef HUSK_CLI_FORMAT_H
#define HUSK_CLI_FORMAT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "digest.h"
#include "progress.h"

enum husk_cli_progress_mode
{
  HUSK_CLI_PROGRESS_QUIET,    /* Nothing.  */
  HUSK_CLI_PROGRESS_LINES,    /* "Pulling ...", "Layer ...: unpacking N bytes", ": done", ...  */
  HUSK_CLI_PROGRESS_TERMINAL, /* Per layer, bytes of total and rate, redrawn 5 times a second.  */
};

struct husk_cli_progress_row;

struct husk_cli_progress
{
  struct husk_progress iface;
  enum husk_cli_progress_mode mode;
  FILE *out;
  pthread_mutex_t lock; /* Guards the rows, and the drawing.  */
  struct husk_cli_progress_row *rows;
  size_t n_rows;
  unsigned lines; /* Drawn last time, to go back up over.  */
  pthread_t thread;
  bool thread_running;
  _Atomic bool stop;
};

/* Set up P to draw in MODE on OUT and (TERMINAL) start its drawing thread.  Returns what to
   give the library (NULL for QUIET).  Pair with husk_cli_progress_finish.  */
const struct husk_progress *husk_cli_progress_start (struct husk_cli_progress *p,
                                                     enum husk_cli_progress_mode mode, FILE *out);

/* Stop the drawing thread, draw the last state, free P's rows.  After the library returned.  */
void husk_cli_progress_finish (struct husk_cli_progress *p);

#endif
