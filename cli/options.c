/* Command option tables: getopt_long's arguments and --help, both from one table.  */
#include "config.h"

#include <ctype.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "options.h"
#include "banned.h"

/* No command has more; run has the most.  */
#define MAX_OPTIONS 48

static bool
is_short (int key)
{
  return key > 0 && key < 256 && isalnum (key);
}

static size_t
count_options (const struct husk_cli_command *cmd)
{
  size_t n = 0;

  while (cmd->options[n].name)
    n++;
  if (n > MAX_OPTIONS)
    abort (); /* A table too long for the buffers below: a programming error.  */
  return n;
}

int
husk_cli_next_option (const struct husk_cli_command *cmd, int argc, char **argv,
                      struct husk_error **err)
{
  struct option longopts[MAX_OPTIONS + 1];
  char shortopts[2 * MAX_OPTIONS + 2];
  size_t n = count_options (cmd), k = 0;
  int c;

  shortopts[k++] = '+';
  for (size_t i = 0; i < n; i++)
    {
      const struct husk_cli_option *o = &cmd->options[i];
      longopts[i] = (struct option){ o->name, o->metavar ? required_argument : no_argument, NULL,
                                     o->key };
      if (is_short (o->key))
        {
          shortopts[k++] = (char) o->key;
          if (o->metavar)
            shortopts[k++] = ':';
        }
    }
  shortopts[k] = '\0';
  memset (&longopts[n], 0, sizeof (longopts[n]));

  c = husk_cli_getopt (cmd->name, argc, argv, shortopts, longopts, err);
  if (c < 0)
    return c;
  for (size_t i = 0; i < n; i++)
    if (cmd->options[i].key == c && strcmp (cmd->options[i].name, "help") == 0
        && cmd->options[i].metavar == NULL)
      {
        husk_cli_print_help (cmd);
        return HUSK_CLI_HELP_SHOWN;
      }
  return c;
}

/* "-f, --force", "    --name NAME".  */
static void
format_flags (const struct husk_cli_option *o, char *buf, size_t size)
{
  if (is_short (o->key))
    snprintf (buf, size, "-%c, --%s%s%s", o->key, o->name, o->metavar ? " " : "",
              o->metavar ? o->metavar : "");
  else
    snprintf (buf, size, "    --%s%s%s", o->name, o->metavar ? " " : "",
              o->metavar ? o->metavar : "");
}

void
husk_cli_print_help (const struct husk_cli_command *cmd)
{
  size_t n = count_options (cmd), width = 0;
  char buf[128];

  printf ("Usage: husk %s%s%s\n\n%s\n", cmd->name, cmd->usage[0] ? " " : "", cmd->usage,
          cmd->summary);
  for (size_t i = 0; i < n; i++)
    {
      format_flags (&cmd->options[i], buf, sizeof (buf));
      if (strlen (buf) > width)
        width = strlen (buf);
    }
  if (n)
    printf ("\nOptions:\n");
  for (size_t i = 0; i < n; i++)
    {
      format_flags (&cmd->options[i], buf, sizeof (buf));
      printf ("  %-*s  %s\n", (int) width, buf, cmd->options[i].help);
    }
  if (cmd->notes)
    printf ("\n%s\n", cmd->notes);
}
