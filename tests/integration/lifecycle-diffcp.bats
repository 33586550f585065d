#!/usr/bin/env bats
# husk diff, cp and top: what a container changed, copies out of it and into it (running or
# not, never through its symlinks to the host), and its processes.

bats_require_minimum_version 1.5.0
load helpers

setup_file() {
	ensure_images
	new_store "$BATS_FILE_TMPDIR/store"
	export STORE
	pull basic latest
	pull multi latest
	pull whiteout latest
}

teardown_file() {
	remove_store "$STORE"
}

setup() {
	RUNNING=()
	LOADS=()
	T=$BATS_TEST_TMPDIR
}

# Containers a test leaves running are removed whatever happened.
teardown() {
	local n
	[ ${#LOADS[@]} -eq 0 ] || kill "${LOADS[@]}" 2>/dev/null || true
	for n in "${RUNNING[@]}"; do
		husk rm -f "$n" >/dev/null 2>&1 || true
	done
}

# detached NAME CMD...: a running container from basic; its ID in $ID.
detached() {
	local name=$1
	shift
	run --separate-stderr husk run -d --name "$name" basic "$@"
	assert_status 0
	ID=$output
	RUNNING+=("$name")
}

# The mtime a file gets from touch -d "2001-02-03 04:05:06" in a container (TZ is UTC there).
MTIME=981173106

# ------------------------------------------------------------------ diff
@test "diff: A, C and D of an exited container, sorted by path" {
	run --separate-stderr husk run --name d-exited basic sh -c \
		'echo hi >/newfile; rm /data/owned; mkdir -p /tmp/a; echo x >/tmp/a/b; echo y >>/usr/local/bin/hello'
	assert_status 0
	run --separate-stderr husk diff d-exited
	assert_status 0
	assert_output "C /data
D /data/owned
A /newfile
C /tmp
A /tmp/a
A /tmp/a/b
C /usr
C /usr/local
C /usr/local/bin
C /usr/local/bin/hello"
}

@test "diff: a directory removed and made again deletes what the image had in it" {
	run --separate-stderr husk run --name d-opaque basic sh -c \
		'rm -rf /data && mkdir /data && echo n >/data/n'
	assert_status 0
	run --separate-stderr husk diff d-opaque
	assert_status 0
	assert_output "C /data
A /data/n
D /data/owned"
}

@test "diff: layers merge as overlayfs merges them (a file an upper layer deleted is new again)" {
	run --separate-stderr husk run --name d-multi multi sh -c \
		'rm /l2; echo 3 >>/l3; echo m >/etc/motd'
	assert_status 0
	run --separate-stderr husk diff d-multi
	assert_status 0
	assert_output "C /etc
C /etc/motd
D /l2
C /l3"

	# The whiteout image's second layer deletes /etc/motd: writing it adds it.
	run --separate-stderr husk run --name d-wh whiteout sh -c 'echo back >/etc/motd'
	assert_status 0
	run --separate-stderr husk diff d-wh
	assert_status 0
	assert_output "C /etc
A /etc/motd"
}

@test "diff: a created container has no changes; by ID prefix; after a cp" {
	run --separate-stderr husk create --name d-created basic true
	assert_status 0
	local id=$output
	run --separate-stderr husk diff "${id:0:12}"
	assert_status 0
	assert_output ""
	echo new >"$T/f"
	run --separate-stderr husk cp "$T/f" d-created:/f
	assert_status 0
	run --separate-stderr husk diff d-created
	assert_status 0
	assert_output "A /f"
}

# A container that makes a private directory on its first run and sleeps on the next.
priv_container() { # NAME
	run --separate-stderr husk run --name "$1" basic sh -c \
		'if [ -d /priv ]; then exec sleep 1000; fi
		 mkdir -m 700 /priv /priv/sub && echo s >/priv/sub/f && chmod 600 /priv/sub/f
		 chown -R 1234:1234 /priv 2>/dev/null; true'
	assert_status 0
	run --separate-stderr husk start "$1"
	assert_status 0
	RUNNING+=("$1")
}

@test "diff, cp and top on a running container whose files belong to another container user" {
	priv_container d-running
	run --separate-stderr husk diff d-running
	assert_status 0
	assert_output "A /priv
A /priv/sub
A /priv/sub/f"

	run --separate-stderr husk cp d-running:/priv "$T/out"
	assert_status 0
	[ "$(cat "$T/out/sub/f")" = s ]
	[ "$(stat -c '%u:%g %a' "$T/out/sub/f")" = "$(id -u):$(id -g) 600" ]
	[ "$(stat -c '%a' "$T/out/sub")" = 700 ]

	run --separate-stderr husk top d-running
	assert_status 0
	[[ "${lines[0]}" =~ ^UID\ +PID\ +PPID\ +C\ +STIME\ +TTY\ +TIME\ +CMD$ ]] ||
		fail "header: ${lines[0]}"
	[ "${#lines[@]}" -eq 2 ] || fail "expected one process:" "$output"
	local pid
	read -r _ pid _ <<<"${lines[1]}"
	[[ "${lines[1]}" == *" sleep 1000" ]] || fail "process line: ${lines[1]}"
	# PIDs as the host sees them.
	[ "$(tr '\0' ' ' </proc/"$pid"/cmdline)" = "sleep 1000 " ]
	[ "${lines[1]%% *}" = "$(id -un)" ] || fail "UID column: ${lines[1]}"
}

# ------------------------------------------------------------------ top
@test "top: every process of the container, ps options ignored; a stopped container is an error" {
	detached t-ctr sh -c 'sleep 1000 & exec sleep 1001'
	# The background sleep may not have started when run -d returns.
	local i
	for i in $(seq 100); do
		run --separate-stderr husk top t-ctr -o pid,comm
		[ "${#lines[@]}" -ge 3 ] && break
		sleep 0.1
	done
	assert_status 0
	[ "${#lines[@]}" -eq 3 ] || fail "expected two processes:" "$output"
	[[ "${lines[1]}" == *" sleep 1001" ]] || fail "pid 1 first: $output"
	[[ "${lines[2]}" == *" sleep 1000" ]] || fail "its child: $output"
	# The child's PPID is pid 1's host PID.
	local p1 c1 ppid
	read -r _ p1 _ <<<"${lines[1]}"
	read -r _ c1 ppid _ <<<"${lines[2]}"
	[ "$ppid" = "$p1" ] || fail "ppid $ppid, expected $p1"

	run --separate-stderr husk stop -t 1 t-ctr
	assert_status 0
	run --separate-stderr husk top t-ctr
	assert_status 1
	[ "$stderr" = "husk: container $ID is not running" ] || fail "stderr: $stderr"
}

# ---------------------------------------------------------------- cp out
# An exited container with a small tree under /d.
tree_container() { # NAME
	run --separate-stderr husk run --name "$1" basic sh -c \
		'mkdir -p /d/sub && echo f >/d/sub/f && echo top >/d/top && chmod 750 /d/sub &&
		 chmod 640 /d/top && touch -d "2001-02-03 04:05:06" /d/top /d/sub/f /d/sub && ln -s top /d/link &&
		 ln /d/top /d/hard'
	assert_status 0
}

@test "cp out: files and directories keep modes and times and belong to the caller" {
	tree_container cp-out
	run --separate-stderr husk cp cp-out:/d/top "$T/newfile"
	assert_status 0
	assert_output ""
	[ "$(cat "$T/newfile")" = top ]
	[ "$(stat -c '%u:%g %a %Y' "$T/newfile")" = "$(id -u):$(id -g) 640 $MTIME" ]

	run --separate-stderr husk cp cp-out:/d "$T/newdir"
	assert_status 0
	[ "$(cat "$T/newdir/sub/f")" = f ]
	[ "$(stat -c '%a %Y' "$T/newdir/sub")" = "750 $MTIME" ]
	[ "$(readlink "$T/newdir/link")" = top ]
	[ "$(stat -c %i "$T/newdir/hard")" = "$(stat -c %i "$T/newdir/top")" ]
	[ "$(stat -c %u "$T/newdir/sub/f")" = "$(id -u)" ]
}

@test "cp out: docker's rules for the destination" {
	tree_container cp-rules
	mkdir "$T/dir" "$T/dir2" "$T/dir3"
	echo old >"$T/file"

	# A file into an existing directory takes its own name; over a file it replaces it.
	run --separate-stderr husk cp cp-rules:/d/top "$T/dir"
	assert_status 0
	[ "$(cat "$T/dir/top")" = top ]
	run --separate-stderr husk cp cp-rules:/d/top "$T/file"
	assert_status 0
	[ "$(cat "$T/file")" = top ]
	# A missing destination ending in / must be a directory.
	run --separate-stderr husk cp cp-rules:/d/top "$T/missing/"
	assert_status 1
	assert_one_error_line
	[ ! -e "$T/missing" ]
	# A directory into an existing directory goes under its name; "/." copies its contents.
	run --separate-stderr husk cp cp-rules:/d "$T/dir2"
	assert_status 0
	[ "$(cat "$T/dir2/d/sub/f")" = f ]
	run --separate-stderr husk cp cp-rules:/d/. "$T/dir3"
	assert_status 0
	[ "$(cat "$T/dir3/sub/f")" = f ]
	[ ! -e "$T/dir3/d" ]
	# A directory onto a file, and a file named as a directory, are errors.
	run --separate-stderr husk cp cp-rules:/d "$T/file"
	assert_status 1
	assert_one_error_line
	assert_stderr_contains "cannot copy a directory to a file"
	run --separate-stderr husk cp cp-rules:/d/top/ "$T/x"
	assert_status 1
	assert_one_error_line
	[ ! -e "$T/x" ]
	# A symlink is copied as itself unless -L.
	run --separate-stderr husk cp cp-rules:/d/link "$T/l1"
	assert_status 0
	[ "$(readlink "$T/l1")" = top ]
	run --separate-stderr husk cp -L cp-rules:/d/link "$T/l2"
	assert_status 0
	[ ! -L "$T/l2" ] && [ "$(cat "$T/l2")" = top ]
	# Relative container paths start at its root.
	run --separate-stderr husk cp cp-rules:d/top "$T/rel"
	assert_status 0
	[ "$(cat "$T/rel")" = top ]
}

# ----------------------------------------------------------------- cp in
@test "cp in: what is copied into a stopped container belongs to its root, modes and times kept" {
	mkdir -p "$T/src/sub"
	echo hello >"$T/src/sub/f"
	chmod 640 "$T/src/sub/f"
	touch -d @$MTIME "$T/src/sub/f"
	run --separate-stderr husk create --name cp-in basic \
		stat -c '%n %u:%g %a %Y' /src /src/sub/f /one
	assert_status 0
	run --separate-stderr husk cp "$T/src" cp-in:/
	assert_status 0
	run --separate-stderr husk cp "$T/src/sub/f" cp-in:/one
	assert_status 0
	run --separate-stderr husk start -a cp-in
	assert_status 0
	assert_output "/src 0:0 $(stat -c %a "$T/src") $(stat -c %Y "$T/src")
/src/sub/f 0:0 640 $MTIME
/one 0:0 640 $MTIME"
}

@test "cp in: into a running container, which sees the file at once as its root's" {
	run --separate-stderr husk create --name cp-live basic sh -c \
		'until [ -e /go ]; do sleep 0.1; done; [ "$(cat /f) $(stat -c "%u:%g %a" /f)" = "live 0:0 604" ]'
	assert_status 0
	run --separate-stderr husk start cp-live
	assert_status 0
	RUNNING+=(cp-live)
	echo live >"$T/f"
	chmod 604 "$T/f"
	: >"$T/go"
	run --separate-stderr husk cp "$T/f" cp-live:/
	assert_status 0
	run --separate-stderr husk cp "$T/go" cp-live:/go
	assert_status 0
	run --separate-stderr husk wait cp-live
	assert_status 0
	assert_output 0
}

# The same window held open: strace delays cp's setns by a second, and the container exits
# meanwhile.  The copy must still land, in the stopped container.
@test "cp in: a container that exits before cp joins it gets the copy once stopped" {
	command -v strace >/dev/null || skip "strace is not installed"
	# The copy into the stopped container maps the subuid range with newuidmap, which runs
	# without its set-uid privileges under ptrace; the loop test below covers this mode.
	[ "$(test_mode)" != sub ] || skip "newuidmap cannot gain its privileges under strace"
	echo landed >"$T/f"
	husk run -d --name cp-late basic sleep 0.3 >/dev/null
	RUNNING+=(cp-late)
	# LeakSanitizer cannot run under ptrace: in the sanitizer build its leak check is off here.
	run --separate-stderr env ASAN_OPTIONS=detect_leaks=0 strace -f -qq -o /dev/null -e trace=setns \
		-e inject=setns:delay_enter=1000000 "$HUSK" --root "$STORE" cp "$T/f" cp-late:/f
	assert_status 0
	husk container inspect cp-late | grep -q '"Status": *"exited"' ||
		fail "cp-late still runs: the delay did not open the window"
	[ "$(husk cp cp-late:/f - | tar -xO)" = landed ]
}

# The window: cp reads the record (running, pid P), the container exits, cp joins P.  Each
# copy must land, in the running container or, once it has exited, in the stopped one; never
# "join the container's namespaces: No such process".  Two busy loops load the CPUs so the
# exits spread over the copies; HUSK_RACE_ATTEMPTS sets the number of containers (20).
@test "cp in: into a container while it exits, under CPU load, every copy lands" {
	local i n=${HUSK_RACE_ATTEMPTS:-20} copies=0 errs=$T/errs
	echo landed >"$T/f"
	for i in 1 2; do
		(while :; do :; done) &
		LOADS+=($!)
	done
	for i in $(seq "$n"); do
		husk run -d --name "cp-exit-$i" basic sleep 0.2 >/dev/null
		RUNNING+=("cp-exit-$i")
		for _ in 1 2 3 4 5 6 7 8 9 10; do
			husk cp "$T/f" "cp-exit-$i:/f" 2>>"$errs" || echo "copy $copies into cp-exit-$i failed" >>"$errs"
			copies=$((copies + 1))
		done
	done
	[ ! -s "$errs" ] || fail "of $copies copies:" "$(sort "$errs" | uniq -c)"
	for i in $(seq "$n"); do
		husk wait "cp-exit-$i" >/dev/null
		[ "$(husk cp "cp-exit-$i:/f" - | tar -xO)" = landed ] || fail "cp-exit-$i has no /f"
	done
}

# An --rm container removed by its monitor while copies of a directory of 300 files go into it:
# once it is gone its name is free at once, and nothing of it is left once pruned.
@test "cp in: an --rm container that exits during copies is removed whole, its name free at once" {
	local i k
	mkdir "$T/big"
	for i in $(seq 300); do echo "$i" >"$T/big/f$i"; done
	for k in 1 2 3 4 5 6; do
		husk run -d --rm --name "cp-rm-$k" basic sleep "0.$k" >/dev/null
		RUNNING+=("cp-rm-$k")
		for i in $(seq 12); do
			husk cp "$T/big" "cp-rm-$k:/tmp/b$i" 2>/dev/null || true
		done
	done
	for k in 1 2 3 4 5 6; do
		for _ in $(seq 100); do
			husk ps -a --format json | grep -q "\"cp-rm-$k\"" || break
			sleep 0.1
		done
		run --separate-stderr husk run --rm --name "cp-rm-$k" basic true
		assert_status 0
	done
	husk container prune -f >/dev/null
	[ -z "$(ls -A "$STORE/containers")" ] || fail "left in containers/: $(ls -A "$STORE/containers")"
	[ -z "$(ls -A "$STORE/container-names")" ] || fail "names left: $(ls -A "$STORE/container-names")"
}

# ----------------------------------------------------------- tar streams
@test "cp with -: a tar stream out of a container and into one" {
	tree_container cp-tar
	husk cp cp-tar:/d - >"$T/d.tar"
	run --separate-stderr tar -tvf "$T/d.tar"
	assert_status 0
	[ "${#lines[@]}" -eq 6 ] || fail "expected 6 entries:" "$output"
	assert_output_contains " d/sub/f"
	assert_output_contains " d/link -> top"
	[[ "$output" == *" d/top link to d/hard"* || "$output" == *" d/hard link to d/top"* ]] ||
		fail "no hard link entry:" "$output"
	husk cp cp-tar:/d/. - >"$T/contents.tar"
	run --separate-stderr bash -c "tar -tf '$T/contents.tar' | sort"
	assert_status 0
	assert_output "hard
link
sub/
sub/f
top"

	# In: owners come from the stream (ids the container does not map stay its root's).
	mkdir -p "$T/in/x/y"
	echo tf >"$T/in/x/y/f"
	touch -d @$MTIME "$T/in/x/y"
	tar --owner=0 --group=0 -cf "$T/in.tar" -C "$T/in" x
	run --separate-stderr husk cp - cp-tar:/tmp <"$T/in.tar"
	assert_status 0
	run --separate-stderr husk cp cp-tar:/tmp/x "$T/back"
	assert_status 0
	[ "$(cat "$T/back/y/f")" = tf ]
	[ "$(stat -c %Y "$T/back/y")" = $MTIME ]
	# The destination of a stream must be a directory.
	run --separate-stderr husk cp - cp-tar:/no-such-dir <"$T/in.tar"
	assert_status 1
	assert_one_error_line
}

@test "cp with -: no tar entry leaves the destination" {
	mkdir -p "$T/host"
	run --separate-stderr husk run --name cp-tar-evil basic mkdir -p "$T/host"
	assert_status 0
	python3 - "$T" <<'PY'
import io, sys, tarfile
t = sys.argv[1]
def add(tf, name, data=None, **kw):
	i = tarfile.TarInfo(name)
	for k, v in kw.items():
		setattr(i, k, v)
	if data is not None:
		i.size = len(data)
	tf.addfile(i, io.BytesIO(data) if data is not None else None)
with tarfile.open(t + "/dotdot.tar", "w") as tf:
	add(tf, "../../../../../../../.." + t + "/host/dotdot", b"x")
with tarfile.open(t + "/link.tar", "w") as tf:
	add(tf, "lnk", type=tarfile.SYMTYPE, linkname="/../../../../../../.." + t + "/host")
	add(tf, "lnk/through-link", b"y")
with tarfile.open(t + "/hard.tar", "w") as tf:
	add(tf, "hl", type=tarfile.LNKTYPE, linkname="../../../../../../etc/passwd")
PY
	run --separate-stderr husk cp - cp-tar-evil:/ <"$T/dotdot.tar"
	assert_status 1
	assert_one_error_line
	run --separate-stderr husk cp - cp-tar-evil:/ <"$T/hard.tar"
	assert_status 1
	assert_one_error_line
	# The symlink resolves inside the container, which has a directory of that path.
	run --separate-stderr husk cp - cp-tar-evil:/ <"$T/link.tar"
	assert_status 0
	[ -z "$(ls -A "$T/host")" ] || fail "written on the host: $(ls -A "$T/host")"
	run --separate-stderr husk diff cp-tar-evil
	assert_status 0
	assert_output_contains "A $T/host/through-link"
}

# --------------------------------------------------------------- hostile
# A container whose symlinks point at the host: /esc at a host directory by its absolute path,
# /up climbing out with "..", /leak at a host file.  It has a directory of the same path.
hostile_container() { # NAME
	mkdir -p "$T/host"
	echo secret >"$T/secret"
	run --separate-stderr husk run --name "$1" basic sh -c \
		"mkdir -p '$T/host' && ln -s '$T/host' /esc && ln -s ../../../../../../../../../..'$T/host' /up &&
		 ln -s '$T/secret' /leak && if [ -e /stay ]; then exec sleep 1000; fi; touch /stay"
	assert_status 0
}

assert_stays_inside() { # NAME
	echo payload >"$T/payload"
	run --separate-stderr husk cp "$T/payload" "$1:/esc/"
	assert_status 0
	run --separate-stderr husk cp "$T/payload" "$1:/up/p2"
	assert_status 0
	[ -z "$(ls -A "$T/host")" ] || fail "written on the host: $(ls -A "$T/host")"
	# They are in the container's own directory of that path.
	run --separate-stderr husk cp "$1:$T/host" "$T/back"
	assert_status 0
	[ "$(cat "$T/back/payload")" = payload ] && [ "$(cat "$T/back/p2")" = payload ]

	# Out: the host file behind /leak is never read, nor the host's /etc/passwd.
	run --separate-stderr husk cp -L "$1:/leak" "$T/leaked"
	assert_status 1
	assert_one_error_line
	[ ! -e "$T/leaked" ]
	run --separate-stderr husk cp "$1:/../../../../../etc/passwd" "$T/passwd"
	assert_status 0
	! cmp -s "$T/passwd" /etc/passwd
	rm -rf "$T/back" "$T/passwd"
}

@test "cp never leaves the container through its symlinks or \"..\": stopped container" {
	hostile_container cp-hostile
	assert_stays_inside cp-hostile
}

@test "cp never leaves the container through its symlinks or \"..\": running container" {
	hostile_container cp-hostile-run
	run --separate-stderr husk start cp-hostile-run
	assert_status 0
	RUNNING+=(cp-hostile-run)
	assert_stays_inside cp-hostile-run
}

# ---------------------------------------------------------------- errors
@test "unknown containers, missing paths and bad arguments: one error line" {
	run --separate-stderr husk diff no-such-ctr
	assert_status 1
	assert_one_error_line
	assert_stderr_contains "no such container"
	run --separate-stderr husk top no-such-ctr
	assert_status 1
	assert_one_error_line
	assert_stderr_contains "no such container"
	run --separate-stderr husk cp no-such-ctr:/etc/passwd "$T/x"
	assert_status 1
	assert_one_error_line
	assert_stderr_contains "no such container"

	run --separate-stderr husk create --name cp-err basic true
	assert_status 0
	run --separate-stderr husk cp cp-err:/no/such/file "$T/x"
	assert_status 1
	assert_one_error_line
	assert_stderr_contains "cp-err:/no/such/file"
	run --separate-stderr husk cp "$T/no-such-file" cp-err:/
	assert_status 1
	assert_one_error_line
	run --separate-stderr husk cp cp-err:/etc/passwd "$T/no/such/dir/x"
	assert_status 1
	assert_one_error_line

	run --separate-stderr husk cp "$T/a" "$T/b"
	assert_status 125
	assert_one_error_line
	run --separate-stderr husk cp cp-err:/a cp-err:/b
	assert_status 125
	assert_one_error_line
	run --separate-stderr husk diff
	assert_status 125
	assert_one_error_line
	run --separate-stderr husk top
	assert_status 125
	assert_one_error_line
}
