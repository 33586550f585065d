/* One table per command: its options, each with the help text that describes it, its usage line
   and one-line summary.  The getopt_long arguments and the --help output are both made from it,
   so the two cannot disagree.  */
#ifndef HUSK_CLI_OPTIONS_H
#define HUSK_CLI_OPTIONS_H

#include <getopt.h>

#include "error.h"

struct husk_global;

/* Whether an option takes an argument (getopt_long's has_arg).  */
enum husk_cli_arg
{
  HUSK_CLI_ARG_NONE,     /* --force */
  HUSK_CLI_ARG_REQUIRED, /* --time SECONDS, --time=SECONDS, -t SECONDS, -tSECONDS */
  HUSK_CLI_ARG_OPTIONAL, /* --tls-verify or --tls-verify=false: only with "=", long only */
};

/* One option.  */
struct husk_cli_option
{
  const char *name; /* The long name, without "--".  */
  int key;          /* What the parser returns for it: the short letter ('f' is -f and
                       --force), or a value from 256 up for an option that has only the
                       long name.  An error's wording ("needs a value" or "unknown flag")
                       looks the key's low byte up among the short letters, as husk always
                       did; a key of 256 (low byte 0) always reads "needs a value".  */
  enum husk_cli_arg arg;
  const char *metavar; /* The argument's name in --help ("SECONDS", "HOST:CTR[:ro|rw]"); NULL
                          without one.  */
  const char *help;    /* For --help: a line, or lines separated by "\n".  */
};

/* The usual last rows: -h and --help, then the end of the table.  */
/* clang-format off */
#define HUSK_CLI_OPTION_HELP { "help", 'h', HUSK_CLI_ARG_NONE, NULL, "show this help" }
#define HUSK_CLI_OPTIONS_END { NULL, 0, HUSK_CLI_ARG_NONE, NULL, NULL }
/* clang-format on */

/* How many operands (the words after the options) a command takes: at least MIN and at most
   MAX (HUSK_CLI_ANY: no limit); any other count is the usage error "NAME: MESSAGE".  A NULL
   MESSAGE checks nothing (the command counts its operands itself).  */
#define HUSK_CLI_ANY (-1)
struct husk_cli_operands
{
  int min, max;
  const char *message; /* "expects one container", "takes no arguments".  */
};

/* One command.  */
struct husk_cli_command
{
  const char *name;    /* "rm", "container prune": in messages.  */
  const char *usage;   /* What follows "husk NAME " on the usage line.  A second form goes
                          after "\n", indented and whole ("       husk cp ...").  */
  const char *summary; /* What the command does: a sentence, or paragraphs.  */
  const struct husk_cli_option *options; /* Ended by a row whose name is NULL.  The row named
                                            "help" prints the help.  */
  const char *notes;                     /* NULL, or a paragraph printed after the options.  */
  struct husk_cli_operands operands;
};

/* What husk_cli_next_option returns after printing the help.  */
#define HUSK_CLI_HELP_SHOWN (-3)

/* getopt_long over CMD's table, with husk's messages: returns the key of the next option (optarg
   holds its argument), -1 at the first operand or "--" (getopt's "+": the operands start at
   optind), -2 after setting *ERR to a usage error (exit status 125) for an unknown option or a
   missing argument, or HUSK_CLI_HELP_SHOWN after printing CMD's help on stdout for its "help" row.
   Set optind to 1 before the first call.  */
int husk_cli_next_option (const struct husk_cli_command *cmd, int argc, char **argv,
                          struct husk_error **err);

/* After a command's option loop (`while ((c = husk_cli_next_option (...)) > 0) switch (c)...`):
   C is husk_cli_next_option's last return.  Returns the index in ARGV of the first operand
   (ARGC when there are none) once their count is checked against CMD->operands, 0 when C says
   the help was printed (the command then exits with 0), or -1 with *ERR set: the option error
   C reports, or the usage error "NAME: MESSAGE" (exit status 125) for a wrong count.  */
int husk_cli_operands (const struct husk_cli_command *cmd, int c, int argc,
                       struct husk_error **err);

/* The whole parse of a command whose only option is -h/--help: husk_cli_next_option's loop,
   then husk_cli_operands, whose return this is.  */
int husk_cli_parse (const struct husk_cli_command *cmd, int argc, char **argv,
                    struct husk_error **err);

/* A command that groups others (husk image, husk container): "husk NAME SUB ...", where SUB
   is one of SUBS (N of them), runs that command with ARGV from SUB on.  */
struct husk_cli_subcommand
{
  const char *name;
  int (*fn) (struct husk_global *g, int argc, char **argv,
             struct husk_error **err); /* NULL:
                                          husk-full's.  */
  const char *summary;
};
struct husk_cli_group
{
  const char *name;    /* "image".  */
  const char *summary; /* "Manage images.".  */
  const struct husk_cli_subcommand *subs;
  size_t n;
};

/* Run GROUP's subcommand ARGV[1] (ARGV[0] is the group's name): its return, that of
   husk_cli_exec_full for a husk-full command in the lean husk, 0 after printing GROUP's help
   for -h or --help, or -1 with the usage error "expects a command" or "unknown command
   \"SUB\"".  */
int husk_cli_group_run (const struct husk_cli_group *group, struct husk_global *g, int argc,
                        char **argv, struct husk_error **err);

/* CMD's --help on stdout: "Usage: husk NAME USAGE", the summary, then one line per option.  */
void husk_cli_print_help (const struct husk_cli_command *cmd);

#endif
