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

/* getopt_long with husk's messages: the option, -1 at the end, or -2 after setting *ERR to a
   usage error for COMMAND: an unknown flag or a missing argument.  */
static int
getopt_message (const char *command, int argc, char **argv, const char *shortopts,
                const struct option *longopts, struct husk_error **err)
{
  int c;

  opterr = 0;
  c = getopt_long (argc, argv, shortopts, longopts, NULL);
  if (c == '?' || c == ':')
    {
      const char *arg = argv[optind - 1];
      if (c == ':' || (optopt && strchr (shortopts, optopt) && optopt != '?'))
        husk_cli_usage_error (err, command, "flag \"%s\" needs a value", arg);
      else
        husk_cli_usage_error (err, command, "unknown flag \"%s\"", arg);
      return -2;
    }
  return c;
}

int
husk_cli_next_option (const struct husk_cli_command *cmd, int argc, char **argv,
                      struct husk_error **err)
{
  struct option longopts[MAX_OPTIONS + 1];
  char shortopts[3 * MAX_OPTIONS + 2];
  size_t n = count_options (cmd), k = 0;
  int c;

  shortopts[k++] = '+';
  for (size_t i = 0; i < n; i++)
    {
      const struct husk_cli_option *o = &cmd->options[i];
      longopts[i] = (struct option){ o->name,
                                     o->arg == HUSK_CLI_ARG_REQUIRED   ? required_argument
                                     : o->arg == HUSK_CLI_ARG_OPTIONAL ? optional_argument
                                                                       : no_argument,
                                     NULL, o->key };
      if (is_short (o->key))
        {
          shortopts[k++] = (char) o->key;
          if (o->arg != HUSK_CLI_ARG_NONE)
            shortopts[k++] = ':';
          if (o->arg == HUSK_CLI_ARG_OPTIONAL)
            shortopts[k++] = ':';
        }
    }
  shortopts[k] = '\0';
  memset (&longopts[n], 0, sizeof (longopts[n]));

  c = getopt_message (cmd->name, argc, argv, shortopts, longopts, err);
  if (c < 0)
    return c;
  for (size_t i = 0; i < n; i++)
    if (cmd->options[i].key == c && strcmp (cmd->options[i].name, "help") == 0)
      {
        husk_cli_print_help (cmd);
        return HUSK_CLI_HELP_SHOWN;
      }
  return c;
}

int
husk_cli_operands (const struct husk_cli_command *cmd, int c, int argc, struct husk_error **err)
{
  const struct husk_cli_operands *ops = &cmd->operands;
  int n = argc - optind;

  if (c == HUSK_CLI_HELP_SHOWN)
    return 0;
  if (c != -1)
    return -1; /* *ERR is set.  */
  if (ops->message && (n < ops->min || (ops->max != HUSK_CLI_ANY && n > ops->max)))
    return husk_cli_usage_error (err, cmd->name, "%s", ops->message);
  return optind;
}

int
husk_cli_parse (const struct husk_cli_command *cmd, int argc, char **argv, struct husk_error **err)
{
  int c;

  optind = 1;
  while ((c = husk_cli_next_option (cmd, argc, argv, err)) > 0)
    abort (); /* An option the caller has no case for: a programming error.  */
  return husk_cli_operands (cmd, c, argc, err);
}

/* "-f, --force", "    --name NAME", "    --tls-verify[=BOOL]".  */
static void
format_flags (const struct husk_cli_option *o, char *buf, size_t size)
{
  const char *meta = o->metavar ? o->metavar : "VALUE";
  char shortname[8] = "    ";

  if (is_short (o->key))
    snprintf (shortname, sizeof (shortname), "-%c, ", o->key);
  switch (o->arg)
    {
    case HUSK_CLI_ARG_NONE:
      snprintf (buf, size, "%s--%s", shortname, o->name);
      break;
    case HUSK_CLI_ARG_REQUIRED:
      snprintf (buf, size, "%s--%s %s", shortname, o->name, meta);
      break;
    case HUSK_CLI_ARG_OPTIONAL:
      snprintf (buf, size, "%s--%s[=%s]", shortname, o->name, meta);
      break;
    }
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
      const char *help = cmd->options[i].help, *nl;
      format_flags (&cmd->options[i], buf, sizeof (buf));
      printf ("  %-*s  ", (int) width, buf);
      /* Further lines of the help line up under its first.  */
      while ((nl = strchr (help, '\n')) != NULL)
        {
          printf ("%.*s\n%*s", (int) (nl - help), help, (int) width + 4, "");
          help = nl + 1;
        }
      printf ("%s\n", help);
    }
  if (cmd->notes)
    printf ("\n%s\n", cmd->notes);
}

int
husk_cli_group_run (const struct husk_cli_group *group, struct husk_global *g, int argc,
                    char **argv, struct husk_error **err)
{
  if (argc < 2)
    return husk_cli_usage_error (err, group->name, "expects a command");
  if (strcmp (argv[1], "--help") == 0 || strcmp (argv[1], "-h") == 0)
    {
      printf ("Usage: husk %s COMMAND [OPTIONS] [ARG...]\n\n%s\n\nCommands:\n", group->name,
              group->summary);
      for (size_t i = 0; i < group->n; i++)
        printf ("  %-8s %s\n", group->subs[i].name, group->subs[i].summary);
      printf ("\nOptions:\n  -h, --help  show this help\n\n"
              "Run \"husk %s COMMAND --help\" for a command's options.\n",
              group->name);
      return 0;
    }
  for (size_t i = 0; i < group->n; i++)
    if (strcmp (argv[1], group->subs[i].name) == 0)
      return group->subs[i].fn ? group->subs[i].fn (g, argc - 1, argv + 1, err)
                               : husk_cli_exec_full (g, err);
  return husk_cli_usage_error (err, group->name, "unknown command \"%s\"", argv[1]);
}
