#ifndef HUSK_COMMANDS_H
#define HUSK_COMMANDS_H

#include "common.h"

int husk_cmd_pull (struct husk_global *g, int argc, char **argv, struct husk_error **err);
int husk_cmd_images (struct husk_global *g, int argc, char **argv, struct husk_error **err);
int husk_cmd_login (struct husk_global *g, int argc, char **argv, struct husk_error **err);
int husk_cmd_logout (struct husk_global *g, int argc, char **argv, struct husk_error **err);
int husk_cmd_run (struct husk_global *g, int argc, char **argv, struct husk_error **err);

int husk_cmd_tag (struct husk_global *g, int argc, char **argv, struct husk_error **err);
int husk_cmd_rmi (struct husk_global *g, int argc, char **argv, struct husk_error **err);
int husk_cmd_image (struct husk_global *g, int argc, char **argv, struct husk_error **err);
int husk_cmd_image_prune (struct husk_global *g, int argc, char **argv, struct husk_error **err);
int husk_cmd_inspect (struct husk_global *g, int argc, char **argv, struct husk_error **err);
int husk_cmd_history (struct husk_global *g, int argc, char **argv, struct husk_error **err);
int husk_cmd_system (struct husk_global *g, int argc, char **argv, struct husk_error **err);

int husk_cmd_save (struct husk_global *g, int argc, char **argv, struct husk_error **err);
int husk_cmd_load (struct husk_global *g, int argc, char **argv, struct husk_error **err);
int husk_cmd_diff (struct husk_global *g, int argc, char **argv, struct husk_error **err);
int husk_cmd_cp (struct husk_global *g, int argc, char **argv, struct husk_error **err);
int husk_cmd_top (struct husk_global *g, int argc, char **argv, struct husk_error **err);

/* Import the docker-archive PATH (husk load, husk pull docker-archive:FILE).  */
int husk_cli_load_archive (struct husk_global *g, const char *path, bool quiet, bool pull,
                           struct husk_error **err);

#endif
