/* The user's network namespace: the one namespace per user (rootless: inside a user namespace
   of husk's with the store's id map) that holds the user networks' bridges and is joined to
   the outside by pasta, as podman's rootless network namespace is.  Containers on a user
   network join its user namespace and make their own network namespace there, so husk can
   wire a veth pair between the two (engine/net.h).

   It is held by two processes of husk's and nothing else: the holder, in the namespaces, which
   does nothing but exist, and its keeper, outside them, which started it, wrote its id map,
   started pasta on it and then only watches: when no container needs the namespace any more,
   or the holder or pasta dies, it stops both and goes.  There is no API: what the keeper
   watches is files.

   RUNDIR/netns-DEV-INO/ (RUNDIR: husk_rundir; one per store, by its root's device and inode)
     lock          flock'ed while the holder is started, found, or stopped
     holder        "KEEPER_PID KEEPER_START HOLDER_PID HOLDER_START" (/proc/PID/stat start
                   times) while the namespace is up
     pasta.pid     pasta's pid, as pasta writes it
     users/ID      one per container that needs the namespace: "PID START" of the process
                   that keeps it (husk run in the foreground, or the container's monitor); the
                   keeper drops an entry whose process is gone, and stops the namespace once
                   users/ is empty.  */
#ifndef HUSK_NETNS_H
#define HUSK_NETNS_H

#include <sys/types.h>

#include "error.h"

struct husk_store;

/* Make sure the user's network namespace is up, and count container ID (64 hex) as a user of
   it, kept by the calling process (until husk_netns_claim moves it to another).  Starts the
   holder, its keeper and pasta when they are not running (about pasta's start time, some
   100 ms); else costs a lock and a file.  *RET_HOLDER is the holder's pid: its
   /proc/PID/ns/user and /proc/PID/ns/net are the namespaces to join.  Errors: the run
   directory, the fork, the id map (newuidmap), pasta's ("network: pasta failed: ..."), each
   with status 125.  */
int husk_netns_acquire (struct husk_store *s, const char *id, pid_t *ret_holder,
                        struct husk_error **err);

/* Move container ID's entry to the calling process (the monitor, once it runs the container),
   atomically.  Errors: the write.  */
int husk_netns_claim (struct husk_store *s, const char *id, struct husk_error **err);

/* Container ID no longer needs the namespace: its entry goes; the keeper stops the namespace
   when it was the last.  Never fails; a missing entry is fine.  */
void husk_netns_release (struct husk_store *s, const char *id);

/* The holder's pid while the namespace is up, else 0.  */
pid_t husk_netns_holder (struct husk_store *s);

#endif
