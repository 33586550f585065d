/* One table per command: its options, each with the help text that describes it, its usage line
   and one-line summary.  The getopt_long arguments and the --help output are both made from it,
   so the two cannot disagree.  */
#ifndef HUSK_CLI_OPTIONS_H
#define HUSK_CLI_OPTIONS_H

#include "error.h"

/* One option.  */
struct husk_cli_option
{
  const char *name;    /* The long name, without "--".  */
  int key;             /* What the parser returns for it: the short letter ('f' is -f), or a
                          value from 256 up for an option that has only the long name.  */
  const char *metavar; /* NULL: the option takes no argument.  Otherwise it requires one, and
                          this names it in --help ("SECONDS", "HOST:CTR[:ro|rw]").  */
  const char *help;    /* One line for --help.  */
};

/* Key of the row that means --help, when the command has no -h: any value from 256 up that the
   command's other rows do not use.  */
#define HUSK_CLI_OPT_HELP 1000

/* One command.  */
struct husk_cli_command
{
  const char *name;                       /* "rm", "container prune": in messages.  */
  const char *usage;                      /* What follows "husk NAME " on the usage line.  */
  const char *summary;                    /* One sentence.  */
  const struct husk_cli_option *options;  /* Ended by a row whose name is NULL.  The row named
                                             "help" (no argument) prints the help.  */
  const char *notes;                      /* NULL, or a paragraph printed after the options.  */
};

/* What husk_cli_next_option returns after printing the help.  */
#define HUSK_CLI_HELP_SHOWN (-3)

/* getopt_long over CMD's table, with husk's messages (husk_cli_getopt): returns the key of the
   next option (optarg holds its argument), -1 at the first operand or "--" (getopt's "+": the
   operands start at optind), -2 after setting *ERR to a usage error (exit status 125) for an
   unknown option or a missing argument, or HUSK_CLI_HELP_SHOWN after printing CMD's help on
   stdout for its "help" row.  Set optind to 1 before the first call.  */
int husk_cli_next_option (const struct husk_cli_command *cmd, int argc, char **argv,
                          struct husk_error **err);

/* CMD's --help on stdout: "Usage: husk NAME USAGE", the summary, then one line per option.  */
void husk_cli_print_help (const struct husk_cli_command *cmd);

#endif
