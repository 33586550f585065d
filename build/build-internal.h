/* What build/build.c, copystep.c and runstep.c share: the state of a build and of the stage
   being built, and the steps' common parts.  build/'s own: nothing outside build/ includes
   this.  */
#ifndef HUSK_BUILD_INTERNAL_H
#define HUSK_BUILD_INTERNAL_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "build.h"
#include "buildcache.h"
#include "context.h"
#include "dockerfile.h"
#include "ignore.h"
#include "imageconfig.h"
#include "layerout.h"
#include "remove.h"

#define DOCKERFILE_MAX (16 * 1024 * 1024)
#define CONFIG_MAX (8 * 1024 * 1024)

/* Docker's default SHELL.  */
extern char *const bld_default_shell[];

/* One layer of the image being built: what the manifest says of it and where it is.  */
struct layer
{
  char *chain_id;
  char *digest;
  char *media_type;
  int64_t size;
};

struct stage_result
{
  bool built;
  bool prebuilt; /* A child built it in parallel (prebuild_parallel): its steps are cached
                    even under --no-cache.  */
  struct husk_oci_config cfg;
  struct layer *layers;
  size_t n_layers;
  char key[HUSK_DIGEST_LEN + 1];
  char *image_id; /* The base image's "sha256:HEX" (what RUN containers' records name).  */
  /* RFC 3339: when the last step that made a layer ran (from the cache when it was cached),
     else the base image's; the time of the history entries after it and of the image.  */
  char time[64];
};

/* How far a build printed before it re-executed itself from husk's sealed copy (before_run),
   "STEP.LINES": the build that starts again stays quiet up to there.  */
#define SHOWN_ENV "_HUSK_BUILD_SHOWN"

/* The most a --secret file may hold, in bytes (docker build's limit is 500 KiB too).  */
#define BLD_SECRET_MAX (500 * 1024)

struct build
{
  unsigned shown;          /* The step the build before the re-execution was at (SHOWN_ENV)... */
  unsigned shown_lines;    /* ... and how many of that step's lines it printed.  */
  unsigned lines;          /* The lines of the step at hand so far, printed or not.  */
  int64_t step_started_ns; /* CLOCK_MONOTONIC when the step at hand began, for its time.  */
  struct husk_store *s;
  const struct husk_build_opts *o;
  struct husk_dockerfile *df;
  const char *df_name;
  struct husk_ignore *ig;
  struct husk_ctx *ctx;
  char **global_args; /* "NAME=VALUE", or "NAME" declared without a value.  */
  char **build_args;  /* --build-arg, resolved: "NAME=VALUE" (NAME alone is left out).  */
  bool *build_arg_used;
  struct stage_result *stages;
  bool *needed;
  unsigned step, n_steps;
  char created[64];
  bool prebuild;       /* In prebuild_parallel's child: its failing step runs again in order and
                          shows its output then, so -q drops it there.  */
  char *explain_where; /* The hash of the context's and the Dockerfile's paths (explain.c's
                          probes), once one was needed.  */
  char nonce[33];      /* This build, in the probes' "why" (--cache-explain only).  */
};

/* What explain.c keeps of a stage's steps so far: where a layer step stands in the stage
   and what went into its key, to record it (the step's probe) when it runs and to tell why
   it missed (--cache-explain).  */
struct bld_explain
{
  char base[HUSK_DIGEST_LEN + 1]; /* The stage's key at its start (FROM, --timestamp).  */
  char *base_desc;                /* "image HEX12", "stage \"NAME\"" or "scratch".  */
  char prev[HUSK_DIGEST_LEN + 1]; /* The key after the stage's last layer step; "" when there
                                     was none yet.  */
  char **between;                 /* The metadata steps' texts since then (or since FROM).  */
  unsigned ordinal;               /* The layer steps of the stage before this one.  */
  bool last_missed;               /* The last layer step ran (it missed the cache).  */
  char *why;                      /* Why the step at hand missed (--cache-explain only).  */
  /* Set by the step before bld_step_cached, for the step at hand only: the text of its key,
     the build arguments a RUN sees ("NAME=VALUE"), what a COPY selected (or NULL).  */
  const char *text;
  char *const *env;
  const struct husk_ctx_selection *sel;
};

/* A stage being built.  */
struct stage_exec
{
  struct build *b;
  const struct husk_df_stage *st;
  struct stage_result *r;
  char **args;  /* The stage's ARGs: "NAME=VALUE" or "NAME".  */
  bool cmd_set; /* CMD given in this stage (ENTRYPOINT then keeps it).  */
  struct bld_explain ex;
};

/* What a layer write in a child (a user namespace) hands back: shared memory.  */
struct written_shared
{
  struct husk_layer_written w;
  bool empty; /* Nothing changed: no layer.  */
  bool done;
};

struct write_job
{
  struct build *b;
  const char *dir; /* Relative to the store's root.  */
  const char *parent_chain;
  struct written_shared *out;
  struct husk_ctr_rm *rm; /* Also remove this container's files (RUN), or NULL.  */
  char *const *stubs;     /* Paths (relative to DIR, deepest first) the RUN's mounts made
                             as mount points where the image had nothing: taken out again,
                             when still empty, before the layer is written.  */
  char *const *copied_up; /* The directories above those that the image has (deepest first):
                             overlayfs copied them up to make the mount points; one that is
                             left empty, and not opaque, is taken out too, so the layer does
                             not carry it with new times.  */
  char *const *lowers;    /* The image's layers, to tell a copied-up directory whose mode or
                             owner the step changed (it stays).  */
};

void bld_build_key (const char *prev, const char *text, char key[HUSK_DIGEST_LEN + 1]);
void bld_say (struct build *b, const char *fmt, ...) __attribute__ ((format (printf, 2, 3)));
int bld_expand_word (struct stage_exec *x, const char *word, char **ret, struct husk_error **err);
/* A COPY/ADD heredoc's CONTENT expanded as BuildKit does (quotes are plain characters, the
   escape character is \ whatever the Dockerfile's is; expand.h).  */
int bld_expand_heredoc (struct stage_exec *x, const char *content, char **ret,
                        struct husk_error **err);
int bld_pull_if_needed (struct build *b, const char *ref, struct husk_error **err);
int bld_write_layer (void *arg, struct husk_error **err);
/* Before J's layer is written: the mount points a RUN's mounts made (J->stubs) are taken out
   when still empty, and the directories above them overlayfs copied up (J->copied_up) when
   the step left them as the image had them.  Each path is reached from J->dir with no symlink
   followed: a step that replaced a directory on the way by a symlink to a host path makes
   its stub stay, never a host file go (BuildKit's CVE-2024-23652).  */
void bld_clear_stubs (const struct write_job *j);
struct written_shared *bld_shared_new (void);
int bld_step_record (struct stage_exec *x, const char *key, const struct written_shared *ws,
                     struct husk_build_cached *c, struct husk_error **err);
void bld_step_apply (struct stage_exec *x, const char *key, const struct husk_build_cached *c,
                     const char *created_by);
bool bld_step_cached (struct stage_exec *x, const char *key, const char *created_by);
int bld_step_done (struct stage_exec *x, const char *key, const struct written_shared *ws,
                   const char *created_by, struct husk_error **err);
void bld_append (char **s, const char *fmt, ...) __attribute__ ((format (printf, 2, 3)));
char **bld_lowerdirs (struct build *b, const struct stage_result *r, struct husk_error **err);
mode_t bld_top_mode (struct build *b, const struct stage_result *r);
char *bld_json_strv (char *const *v);
char **bld_command_of (struct stage_exec *x, const struct husk_df_instr *in);
int bld_parse_chmod (const char *s, int *ret);
int bld_before_run (struct build *b, struct husk_error **err);
int bld_quiet_output_open (struct build *b);
void bld_quiet_output_show (int fd);
char *bld_abs_path (const char *base, const char *p);
int bld_build_stage (struct build *b, size_t i, struct husk_error **err);
/* COPY --from=FROM, RUN --mount=type=bind,from=FROM: a stage before this one (by name or
   number; built first when it is not yet), else an image in the store (pulled when missing,
   as FROM would).  *RET_LAYERS: its layers' chain IDs, base first; *RET_ID: what names its
   content in a step's key ("stage KEY", "image sha256:HEX").  Errors: a stage at or after
   this one, no such stage nor image.  */
int bld_resolve_from (struct stage_exec *x, const char *from, char ***ret_layers, char **ret_id,
                      struct husk_error **err);
int bld_do_copy (struct stage_exec *x, const struct husk_df_instr *in, struct husk_error **err);
/* WORKDIR's step once the config has it (TEXT: "WORKDIR /abs"): its directory in a layer
   when the image lacks it, none otherwise (copystep.c).  */
int bld_do_workdir (struct stage_exec *x, const char *text, struct husk_error **err);
/* The from= values of IN's --mount flags (a RUN's), as written (before variable expansion),
   for the stages a stage depends on; an empty list for anything else.  Free with
   husk_strv_free.  */
char **bld_run_mount_froms (const struct husk_df_instr *in);
int bld_do_run (struct stage_exec *x, const struct husk_df_instr *in, struct husk_error **err);

/* explain.c: each layer step's probe, build-cache/explain/HEX.json (HEX the hash of the
   context's path, the Dockerfile's, the stage's name or number and the step's place among its
   stage's layer steps): what the last build that ran the step there put into its key.  With
   --cache-explain, a step that misses the cache is compared with it and one line says why.  */
/* Before the stages: the build's nonce (--cache-explain).  */
void bld_explain_begin (struct build *b);
/* After FROM (and --timestamp's key): the stage starts from X->r's key; BASE_DESC names the
   base ("image HEX12", "stage \"NAME\"", "scratch").  */
void bld_explain_stage_start (struct stage_exec *x, const char *base_desc);
/* A metadata step's TEXT (its key's, an ARG's with the values hashed).  */
void bld_explain_meta (struct stage_exec *x, const char *text);
/* The layer step with key KEY (history CREATED_BY) missed: with --cache-explain, say why.  */
void bld_explain_miss (struct stage_exec *x, const char *key, const char *created_by);
/* The step KEY was built by a child in parallel: with --cache-explain, say why it missed
   there.  */
void bld_explain_prebuilt (struct stage_exec *x, const char *key);
/* The layer step KEY is applied (RAN: it ran, else it was cached): its probe is written when it
   ran, and the next step's place is counted.  Errors writing the probe are ignored.  */
void bld_explain_step_end (struct stage_exec *x, const char *key, const char *created_by, bool ran);
void bld_explain_clear (struct bld_explain *e);

/* ---------------------------------------------------------------- interrupts (interrupt.c)  */

/* The handlers of SIGINT, SIGTERM and SIGHUP before bld_interrupt_begin.  */
#define BLD_N_INTERRUPT 3
struct bld_interrupt
{
  struct sigaction old[BLD_N_INTERRUPT];
};
/* From begin to end, SIGINT, SIGTERM and SIGHUP to husk are remembered (not fatal) and sent on
   to the processes bld_interrupt_workers names (the same signal); a RUN step's container is
   killed by the runtime's kill mode (husk_container_spec's kill_on_interrupt), which calls on
   here.
   A SIGHUP ignored at begin stays ignored (nohup's); SIGINT and SIGTERM are caught even then.
   SAVED keeps the handlers before begin, which end puts back.  A child forked in between
   keeps the handling (prebuild_parallel's children want it) and names no workers.  */
void bld_interrupt_begin (struct bld_interrupt *saved);
void bld_interrupt_end (const struct bld_interrupt *saved);
/* The last of those signals caught since begin, else 0.  */
int bld_interrupted (void);
/* 0 when none was caught, else -1 with *ERR set to "interrupted by SIGINT" (its name).  */
int bld_interrupt_check (struct husk_error **err);
/* Those three signals blocked (for a fork whose pid the handler must know), and the mask
 *RET_OLD back.  */
void bld_interrupt_block (sigset_t *ret_old);
void bld_interrupt_unblock (const sigset_t *old);
/* PIDS[0..N): the children to send an interrupt on to (a pid of 0 or less is skipped;
   the caller zeroes a slot once it reaped that child).  PIDS stays the caller's and must
   live until it names another array (NULL, 0: none).  */
void bld_interrupt_workers (volatile pid_t *pids, size_t n);

#endif
