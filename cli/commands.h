#ifndef HUSK_COMMANDS_H
#define HUSK_COMMANDS_H

#include "common.h"

int husk_cmd_pull (struct husk_global *g, int argc, char **argv, struct husk_error **err);
int husk_cmd_images (struct husk_global *g, int argc, char **argv, struct husk_error **err);
int husk_cmd_login (struct husk_global *g, int argc, char **argv, struct husk_error **err);
int husk_cmd_logout (struct husk_global *g, int argc, char **argv, struct husk_error **err);
int husk_cmd_run (struct husk_global *g, int argc, char **argv, struct husk_error **err);

#endif
