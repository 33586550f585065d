/* husk ps: the containers, as docker ps lists them.  */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "cleanup.h"
#include "commands.h"
#include "json.h"
#include "net.h"
#include "record.h"
#include "util.h"
#include "banned.h"

#define N_COLS 7

/* Terminal columns of UTF-8 text (every character one column wide).  */
static int
text_width (const char *s)
{
  int w = 0;
  for (; *s; s++)
    if (((unsigned char) *s & 0xC0) != 0x80)
      w++;
  return w;
}

struct row
{
  char *col[N_COLS];
};

static void
format_status (const struct husk_ctr *c, char *buf, size_t size)
{
  char since[64];

  switch (c->status)
    {
    case HUSK_CTR_CREATED:
      snprintf (buf, size, "Created");
      break;
    case HUSK_CTR_RUNNING:
      husk_cli_format_since (c->started_at, false, since, sizeof (since));
      snprintf (buf, size, "Up %s", since);
      break;
    case HUSK_CTR_EXITED:
      husk_cli_format_since (c->finished_at, true, since, sizeof (since));
      snprintf (buf, size, "Exited (%d) %s", c->exit_code, since);
      break;
    }
}

static char *
command_line (const struct husk_ctr *c, bool trunc)
{
  cleanup_free char *joined = husk_xstrdup ("");

  for (size_t i = 0; c->spec.args && c->spec.args[i]; i++)
    {
      char *n = husk_strdup_printf ("%s%s%s", joined, i ? " " : "", c->spec.args[i]);
      free (joined);
      joined = n;
    }
  if (trunc && strlen (joined) > 20)
    return husk_strdup_printf ("\"%.19s…\"", joined);
  return husk_strdup_printf ("\"%s\"", joined);
}

/* docker ps's PORTS: a running container's published ports as bound, ", " apart.  */
static char *
ports_column (const struct husk_ctr *c)
{
  struct husk_port *ports = NULL;
  size_t n = 0;
  char *out = husk_xstrdup ("");

  husk_net_ports_running (c, &ports, &n);
  for (size_t i = 0; i < n; i++)
    {
      cleanup_free char *one = husk_port_format (&ports[i]);
      char *joined = husk_strdup_printf ("%s%s%s", out, *out ? ", " : "", one);
      free (out);
      out = joined;
    }
  husk_ports_free (ports, n);
  return out;
}

static void
print_json (const struct husk_ctr *c, const char *status)
{
  cleanup_jgen husk_jgen *g = husk_jgen_new (false);
  cleanup_free char *cmd = command_line (c, false);
  const char *buf;
  size_t len;

  husk_jgen_map_open (g);
  husk_jgen_key (g, "ID");
  husk_jgen_string (g, c->id);
  husk_jgen_key (g, "Names");
  husk_jgen_string (g, c->name ? c->name : "");
  husk_jgen_key (g, "Image");
  husk_jgen_string (g, c->image_name ? c->image_name : "");
  husk_jgen_key (g, "ImageID");
  husk_jgen_string (g, c->image ? c->image : "");
  husk_jgen_key (g, "Command");
  husk_jgen_string (g, cmd);
  husk_jgen_key (g, "CreatedAt");
  husk_jgen_string (g, c->created ? c->created : "");
  husk_jgen_key (g, "State");
  husk_jgen_string (g, husk_ctr_status_name (c->status));
  husk_jgen_key (g, "Status");
  husk_jgen_string (g, status);
  husk_jgen_key (g, "ExitCode");
  husk_jgen_int (g, c->status == HUSK_CTR_EXITED ? c->exit_code : 0);
  husk_jgen_key (g, "Pid");
  husk_jgen_int (g, c->status == HUSK_CTR_RUNNING ? c->pid : 0);
  {
    cleanup_free char *ports = ports_column (c);
    husk_jgen_key (g, "Ports");
    husk_jgen_string (g, ports);
  }
  husk_jgen_map_close (g);
  buf = husk_jgen_buf (g, &len);
  printf ("%.*s\n", (int) len, buf);
}

enum
{
  OPT_NO_TRUNC = 257, /* Not 256: see husk_cli_option.key.  */
  OPT_FORMAT,
};

static const struct husk_cli_option ps_options[] = {
  { "all", 'a', HUSK_CLI_ARG_NONE, NULL, "every container, not only running ones" },
  { "quiet", 'q', HUSK_CLI_ARG_NONE, NULL, "IDs only" },
  { "no-trunc", OPT_NO_TRUNC, HUSK_CLI_ARG_NONE, NULL, "full IDs and commands" },
  { "format", OPT_FORMAT, HUSK_CLI_ARG_REQUIRED, "FORMAT",
    "json (or {{json .}}): one JSON object a line; table: the default" },
  HUSK_CLI_OPTION_HELP,
  HUSK_CLI_OPTIONS_END,
};

static const struct husk_cli_command ps_command = {
  "ps", "[OPTIONS]", "List running containers.", ps_options, NULL, { 0, 0, "takes no arguments" },
};

int
husk_cmd_ps (struct husk_global *g, int argc, char **argv, struct husk_error **err)
{
  cleanup_store struct husk_store *store = NULL;
  struct husk_ctr **v = NULL;
  struct row *rows = NULL;
  size_t n = 0, n_rows = 0;
  bool all = false, quiet = false, trunc = true, json = false;
  int c, first;

  optind = 1;
  while ((c = husk_cli_next_option (&ps_command, argc, argv, err)) > 0)
    switch (c)
      {
      case 'a':
        all = true;
        break;
      case 'q':
        quiet = true;
        break;
      case OPT_NO_TRUNC:
        trunc = false;
        break;
      case OPT_FORMAT:
        if (strcmp (optarg, "json") == 0 || strcmp (optarg, "{{json .}}") == 0)
          json = true;
        else if (strcmp (optarg, "table") != 0)
          return husk_cli_usage_error (err, "ps", "format \"%s\": only json and table", optarg);
        break;
      }
  if ((first = husk_cli_operands (&ps_command, c, argc, err)) <= 0)
    return first;
  if (husk_cli_open_store (g, &store, err) < 0 || husk_ctr_list (store, &v, &n, err) < 0)
    return -1;
  rows = husk_xcalloc (n + 1, sizeof (*rows));
  rows[n_rows++]
      = (struct row){ { husk_xstrdup ("CONTAINER ID"), husk_xstrdup ("IMAGE"),
                        husk_xstrdup ("COMMAND"), husk_xstrdup ("CREATED"), husk_xstrdup ("STATUS"),
                        husk_xstrdup ("PORTS"), husk_xstrdup ("NAMES") } };
  for (size_t i = 0; i < n; i++)
    {
      const struct husk_ctr *ct = v[i];
      char status[96], created[64];

      if (!all && ct->status != HUSK_CTR_RUNNING)
        continue;
      format_status (ct, status, sizeof (status));
      if (quiet)
        printf ("%.*s\n", trunc ? 12 : 64, ct->id);
      else if (json)
        print_json (ct, status);
      else
        {
          husk_cli_format_age (ct->created, created, sizeof (created));
          rows[n_rows++] = (struct row){ { husk_strdup_printf ("%.*s", trunc ? 12 : 64, ct->id),
                                           husk_xstrdup (ct->image_name ? ct->image_name : ""),
                                           command_line (ct, trunc), husk_xstrdup (created),
                                           husk_xstrdup (status), ports_column (ct),
                                           husk_xstrdup (ct->name ? ct->name : "") } };
        }
    }
  if (!quiet && !json)
    {
      /* Columns as wide as their widest cell, three spaces apart, as docker aligns them.  */
      int width[N_COLS] = { 0 };
      for (size_t r = 0; r < n_rows; r++)
        for (int k = 0; k < N_COLS; k++)
          if (text_width (rows[r].col[k]) > width[k])
            width[k] = text_width (rows[r].col[k]);
      for (size_t r = 0; r < n_rows; r++)
        {
          for (int k = 0; k < N_COLS - 1; k++)
            printf ("%s%*s", rows[r].col[k], width[k] - text_width (rows[r].col[k]) + 3, "");
          printf ("%s\n", rows[r].col[N_COLS - 1]);
        }
    }
  for (size_t r = 0; r < n_rows; r++)
    for (int k = 0; k < N_COLS; k++)
      free (rows[r].col[k]);
  free (rows);
  husk_ctr_list_free (v, n);
  return 0;
}
