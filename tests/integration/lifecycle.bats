#!/usr/bin/env bats
# Containers that outlive the command: create, start, run -d, ps, stop, kill,
# wait, attach, restart, rename, rm, container prune, container inspect.

bats_require_minimum_version 1.5.0
load helpers

setup_file() {
	ensure_images
	new_store "$BATS_FILE_TMPDIR/store"
	export STORE
	pull basic latest
}

# Every container of the store goes, running or not: no monitor outlives the file.
teardown_file() {
	local ids
	ids=$("$HUSK" --root "$STORE" ps -aq --no-trunc 2>/dev/null)
	# shellcheck disable=SC2086
	[ -z "$ids" ] || "$HUSK" --root "$STORE" rm -f $ids >/dev/null 2>&1
	remove_store "$STORE"
}

rundir() {
	if [ "$(id -u)" = 0 ]; then
		echo /run/husk
	elif [ -n "${XDG_RUNTIME_DIR:-}" ] && [ -w "$XDG_RUNTIME_DIR" ]; then
		echo "$XDG_RUNTIME_DIR/husk"
	else
		echo "/tmp/husk-run-$(id -u)"
	fi
}

# state NAME: the container's State.Status from husk container inspect.
state() {
	husk container inspect "$1" | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["State"]["Status"])'
}

inspect_field() { # NAME PYTHON-EXPR-ON-c
	husk container inspect "$1" | python3 -c "import json,sys; c = json.load(sys.stdin)[0]; print($2)"
}

# ------------------------------------------------------------ run -d, ps
@test "run -d prints the full ID; ps lists the container as running, under its name" {
	run --separate-stderr husk run -d --name lc-web basic sleep 100
	assert_status 0
	[[ "$output" =~ ^[0-9a-f]{64}$ ]] || fail "not an ID: $output"
	id=$output
	run --separate-stderr husk ps
	assert_status 0
	assert_output_contains "${id:0:12}"
	assert_output_contains "lc-web"
	assert_output_contains "Up "
	[ "$(state lc-web)" = running ]
	pid=$(inspect_field lc-web 'c["State"]["Pid"]')
	[ "$pid" -gt 0 ] && proc_live "$pid"
	run --separate-stderr husk ps -q
	assert_output_contains "${id:0:12}"
	husk rm -f lc-web
}

@test "create makes a container that ps -a shows as Created; start runs it" {
	run --separate-stderr husk create --name lc-created basic sh -c 'echo started; sleep 100'
	assert_status 0
	[[ "$output" =~ ^[0-9a-f]{64}$ ]] || fail "not an ID: $output"
	run --separate-stderr husk ps
	[[ "$output" != *lc-created* ]] || fail "ps without -a shows a created container" "$output"
	run --separate-stderr husk ps -a
	assert_output_contains "Created"
	[ "$(state lc-created)" = created ]
	run --separate-stderr husk start lc-created
	assert_status 0
	assert_output lc-created
	[ "$(state lc-created)" = running ]
	husk rm -f lc-created
}

@test "two starts of one container at once make one monitor" {
	id=$(husk create --name lc-twice basic sleep 100)
	husk start lc-twice >/dev/null &
	a=$!
	husk start lc-twice >/dev/null &
	b=$!
	wait "$a"
	wait "$b"
	[ "$(state lc-twice)" = running ]
	n=$(pgrep -fc "__monitor $STORE $id") || true
	[ "$n" = 1 ] || fail "$n monitors for one container"
	husk rm -f lc-twice
}

@test "run -d without --name gets a readable unique name" {
	a=$(husk run -d basic true)
	b=$(husk run -d basic true)
	na=$(inspect_field "$a" 'c["Name"]')
	nb=$(inspect_field "$b" 'c["Name"]')
	[[ "$na" =~ ^[a-z]+_[a-z]+[0-9]*$ ]] || fail "name: $na"
	[ "$na" != "$nb" ]
	husk wait "$a" "$b"
	husk rm "$na" "$nb"
}

@test "ps --format json is one object a line" {
	id=$(husk run -d --name lc-json basic sleep 100)
	run --separate-stderr husk ps --format json
	assert_status 0
	echo "$output" | python3 -c '
import json, sys
rows = [json.loads(l) for l in sys.stdin if l.strip()]
r = [x for x in rows if x["Names"] == "lc-json"]
assert len(r) == 1, rows
assert r[0]["State"] == "running" and r[0]["ID"] == sys.argv[1], r
' "$id"
	husk rm -f lc-json
}

# ---------------------------------------------------------- start -a, wait
@test "start -a relays stdout and stderr apart and exits with the container's status" {
	husk create --name lc-attach basic sh -c 'echo to-out; echo to-err >&2; exit 7'
	run --separate-stderr husk start -a lc-attach
	assert_status 7
	assert_output "to-out"
	[ "$stderr" = "to-err" ] || fail "stderr: $stderr"
	[ "$(state lc-attach)" = exited ]
	[ "$(inspect_field lc-attach 'c["State"]["ExitCode"]')" = 7 ]
	husk rm lc-attach
}

@test "wait prints the exit code, also for a --rm container" {
	husk run -d --name lc-wait basic sh -c 'sleep 0.5; exit 5'
	run --separate-stderr husk wait lc-wait
	assert_status 0
	assert_output 5
	husk rm lc-wait
	# The container ends only once "wait" is (very likely) connected: a --rm container that
	# is gone before wait starts has no status left to give.
	husk run -d --rm --name lc-wait-rm -v "$BATS_TEST_TMPDIR:/sync" basic \
		sh -c 'until [ -e /sync/go ]; do sleep 0.1; done; exit 6'
	husk wait lc-wait-rm >"$BATS_TEST_TMPDIR/wait.out" 2>&1 &
	sleep 1
	touch "$BATS_TEST_TMPDIR/go"
	wait $! || fail "wait failed: $(cat "$BATS_TEST_TMPDIR/wait.out")"
	[ "$(cat "$BATS_TEST_TMPDIR/wait.out")" = 6 ] || fail "$(cat "$BATS_TEST_TMPDIR/wait.out")"
	run --separate-stderr husk ps -a
	[[ "$output" != *lc-wait-rm* ]] || fail "--rm container still listed" "$output"
}

@test "the log file keeps stdout and stderr apart, with times" {
	husk run -d --name lc-log basic sh -c 'echo one; echo two >&2'
	husk wait lc-log
	log=$(inspect_field lc-log 'c["LogPath"]')
	python3 - "$log" <<'EOF'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
got = sorted((r["stream"], r["log"]) for r in rows)
assert got == [("stderr", "two\n"), ("stdout", "one\n")], got
assert all(r["time"].endswith("Z") and "T" in r["time"] for r in rows), rows
EOF
	husk rm lc-log
}

@test "attach -i forwards stdin and its end; attach exits with the status" {
	husk run -d -i --name lc-cat basic sh -c 'cat; echo done; exit 3'
	run --separate-stderr bash -c 'printf "line one\nline two\n" | "$0" --root "$1" attach lc-cat' "$HUSK" "$STORE"
	assert_status 3
	assert_output "line one
line two
done"
	husk rm lc-cat
}

@test "run -d -t: the monitor holds the terminal and logs its output" {
	husk run -d -t --name lc-tty basic sh -c 'tty; echo in-tty'
	husk wait lc-tty
	log=$(inspect_field lc-tty 'c["LogPath"]')
	grep -q '/dev/pts/0' "$log" || fail "$(cat "$log")"
	grep -q 'in-tty' "$log"
	husk rm lc-tty
}

@test "a runtime directory too long for a socket address still works" {
	[ "$(id -u)" != 0 ] || skip "root's runtime directory is /run/husk"
	long=$BATS_TEST_TMPDIR/$(printf 'r%.0s' $(seq 90))
	mkdir -m 0700 "$long"
	id=$(XDG_RUNTIME_DIR=$long husk run -d -i --name lc-longdir basic cat)
	[ -S "$long/husk/$id/attach.sock" ]
	run --separate-stderr bash -c 'echo through-a-long-path | XDG_RUNTIME_DIR=$1 "$0" --root "$2" attach lc-longdir' "$HUSK" "$long" "$STORE"
	assert_status 0
	assert_output through-a-long-path
	XDG_RUNTIME_DIR=$long husk rm lc-longdir
}

# ----------------------------------------------------------- stop, kill
@test "stop sends SIGTERM and waits: a container that handles it exits 0" {
	husk run -d --name lc-term basic sh -c 'trap "exit 0" TERM; while :; do sleep 0.1; done'
	sleep 0.3
	run --separate-stderr husk stop -t 20 lc-term
	assert_status 0
	assert_output lc-term
	[ "$(state lc-term)" = exited ]
	[ "$(inspect_field lc-term 'c["State"]["ExitCode"]')" = 0 ]
	husk rm lc-term
}

@test "stop -t: a container that ignores SIGTERM is killed after the timeout (137)" {
	husk run -d --name lc-stubborn basic sleep 100
	start=$(date +%s)
	run --separate-stderr husk stop -t 1 lc-stubborn
	assert_status 0
	[ "$(state lc-stubborn)" = exited ]
	[ "$(inspect_field lc-stubborn 'c["State"]["ExitCode"]')" = 137 ]
	husk rm lc-stubborn
}

@test "kill -s delivers the signal; kill defaults to SIGKILL" {
	husk run -d --name lc-kill basic sh -c 'trap "echo got-usr1; exit 9" USR1; while :; do sleep 0.1; done'
	sleep 0.3
	run --separate-stderr husk kill -s USR1 lc-kill
	assert_status 0
	run --separate-stderr husk wait lc-kill
	assert_output 9
	husk start lc-kill
	husk kill lc-kill
	run --separate-stderr husk wait lc-kill
	assert_output 137
	husk rm lc-kill
}

@test "stop, kill and attach of a stopped container" {
	husk create --name lc-idle basic true
	run --separate-stderr husk kill lc-idle
	assert_status 1
	[[ "$stderr" == *"is not running"* ]] || fail "$stderr"
	run --separate-stderr husk stop lc-idle
	assert_status 0
	run --separate-stderr husk attach lc-idle
	assert_status 1
	[[ "$stderr" == *"is not running"* ]] || fail "$stderr"
	husk rm lc-idle
}

# -------------------------------------------------------------- restart
@test "restart: a new process, the same container and its files" {
	husk run -d --name lc-restart basic sh -c 'echo kept >>/state; sleep 100'
	sleep 0.3
	pid1=$(inspect_field lc-restart 'c["State"]["Pid"]')
	run --separate-stderr husk restart -t 1 lc-restart
	assert_status 0
	assert_output lc-restart
	[ "$(state lc-restart)" = running ]
	pid2=$(inspect_field lc-restart 'c["State"]["Pid"]')
	[ "$pid1" != "$pid2" ]
	husk rm -f lc-restart
}

@test "restarted container keeps what it wrote" {
	husk run -d --name lc-keep basic sh -c 'echo again >>/state; cat /state'
	husk wait lc-keep
	husk start lc-keep
	husk wait lc-keep
	log=$(inspect_field lc-keep 'c["LogPath"]')
	[ "$(grep -o again "$log" | wc -l)" -eq 3 ] || fail "$(cat "$log")"
	husk rm lc-keep
}

# ----------------------------------------------------- names and selection
@test "a name already taken: one-line error, exit 125, the first container untouched" {
	id=$(husk run -d --name lc-dup basic sleep 100)
	run --separate-stderr husk run -d --name lc-dup basic true
	assert_status 125
	[[ "$stderr" == "husk: name \"lc-dup\": already in use by container ${id:0:12}" ]] || fail "$stderr"
	run --separate-stderr husk create --name lc-dup basic true
	assert_status 125
	[ "$(state lc-dup)" = running ]
	[ "$(husk ps -aq --no-trunc | grep -c .)" -ge 1 ]
	husk rm -f lc-dup
	# Free again once removed.
	husk create --name lc-dup basic true
	husk rm lc-dup
}

@test "a unique ID prefix, the full ID or the name select a container" {
	id=$(husk create --name lc-select basic true)
	[ "$(inspect_field "${id:0:5}" 'c["Id"]')" = "$id" ]
	[ "$(inspect_field "$id" 'c["Name"]')" = lc-select ]
	[ "$(inspect_field lc-select 'c["Id"]')" = "$id" ]
	husk rm "${id:0:12}"
}

@test "unknown containers: one-line error and non-zero exit for every command" {
	for cmd in start stop kill wait rm restart attach "container inspect"; do
		# shellcheck disable=SC2086
		run --separate-stderr husk $cmd lc-nosuch
		[ "$status" -ne 0 ] || fail "$cmd: status 0"
		[ "$stderr" = "husk: no such container: lc-nosuch" ] || fail "$cmd: $stderr"
	done
	run --separate-stderr husk rename lc-nosuch lc-other
	[ "$stderr" = "husk: no such container: lc-nosuch" ] || fail "$stderr"
}

@test "rm of a running container needs -f; the container keeps running" {
	husk run -d --name lc-busy basic sleep 100
	run --separate-stderr husk rm lc-busy
	assert_status 1
	[[ "$stderr" == "husk: container "*" is running: stop it first or use -f" ]] || fail "$stderr"
	[ "$(state lc-busy)" = running ]
	run --separate-stderr husk rm -f lc-busy
	assert_status 0
	assert_output lc-busy
	run --separate-stderr husk container inspect lc-busy
	assert_status 1
}

# Its monitor removes an --rm container under the container's lock: rm -f once held that
# lock while it waited for the monitor, stalled 30 s and failed "did not stop after SIGKILL".
@test "rm -f of a running --rm container: exit 0, and it is gone" {
	husk run -d --rm --name lc-rm-rm basic sleep 100
	run --separate-stderr husk rm -f lc-rm-rm
	assert_status 0
	assert_output lc-rm-rm
	[ -z "$stderr" ] || fail "$stderr"
	run --separate-stderr husk container inspect lc-rm-rm
	assert_status 1
}

@test "restart of a running --rm container runs it again; stopped, it is removed" {
	husk run -d --rm --name lc-rm-restart basic sleep 100
	pid1=$(inspect_field lc-rm-restart 'c["State"]["Pid"]')
	run --separate-stderr husk restart -t 0 lc-rm-restart
	assert_status 0
	assert_output lc-rm-restart
	[ "$(state lc-rm-restart)" = running ]
	pid2=$(inspect_field lc-rm-restart 'c["State"]["Pid"]')
	[ "$pid1" != "$pid2" ] || fail "the same process: $pid1"
	run --separate-stderr husk stop -t 0 lc-rm-restart
	assert_status 0
	run --separate-stderr husk container inspect lc-rm-restart
	assert_status 1
}

# A restart that is killed while it waits for the stop leaves its mark: it must count for
# nothing, or the container would be kept when it next stops.  sleep as pid 1 ignores SIGTERM,
# so the restart waits its -t.
@test "restart of an --rm container killed mid-way: the container is still removed when it stops" {
	husk run -d --rm --name lc-rm-killed basic sleep 100
	run timeout -s KILL 1 "$HUSK" --root "$STORE" restart -t 30 lc-rm-killed
	[ "$status" -eq 137 ] || fail "restart was not killed: $status $output"
	[ "$(state lc-rm-killed)" = running ]
	run --separate-stderr husk stop -t 0 lc-rm-killed
	assert_status 0
	run --separate-stderr husk container inspect lc-rm-killed
	assert_status 1
}

@test "rm -f of an --rm container while a restart waits: rm wins, the container is gone" {
	husk run -d --rm --name lc-rm-race basic sleep 100
	husk restart -t 5 lc-rm-race >"$BATS_TEST_TMPDIR/restart.out" 2>&1 &
	local restart=$!
	sleep 0.5
	run --separate-stderr husk rm -f lc-rm-race
	assert_status 0
	assert_output lc-rm-race
	wait "$restart" || true
	run --separate-stderr husk container inspect lc-rm-race
	assert_status 1
}

@test "two restarts of one running --rm container at once leave one monitor, one container" {
	id=$(husk run -d --rm --name lc-rm-twice basic sleep 100)
	for round in 1 2 3; do
		husk restart -t 0 lc-rm-twice >/dev/null 2>&1 &
		a=$!
		husk restart -t 0 lc-rm-twice >/dev/null 2>&1 &
		b=$!
		wait "$a" || true
		wait "$b" || true
		[ "$(state lc-rm-twice)" = running ] || fail "round $round: $(state lc-rm-twice)"
		n=$(pgrep -fc "__monitor $STORE $id") || true
		[ "$n" = 1 ] || fail "round $round: $n monitors for one container"
	done
	husk rm -f lc-rm-twice
}

# The re-executed monitor takes the store by an absolute path: a relative --root is made one.
@test "run -d with a relative --root: the monitor keeps the container running" {
	cd "$(dirname "$STORE")"
	local rel
	rel=./$(basename "$STORE")
	"$HUSK" --root "$rel" run -d --name lc-relroot basic sleep 100
	sleep 1
	run --separate-stderr "$HUSK" --root "$rel" container inspect lc-relroot
	assert_status 0
	[ "$(state lc-relroot)" = running ] || fail "$(state lc-relroot)"
	husk rm -f lc-relroot
}

@test "rm of several: each failure is reported, the others go" {
	husk create --name lc-one basic true
	run --separate-stderr husk rm lc-one lc-missing
	assert_status 1
	assert_output lc-one
	[[ "$stderr" == *"no such container: lc-missing"* ]] || fail "$stderr"
}

@test "rename: the new name selects it, the old one is free, a taken one is refused" {
	husk create --name lc-old basic true
	husk create --name lc-taken basic true
	run --separate-stderr husk rename lc-old lc-taken
	assert_status 1
	[[ "$stderr" == *"already in use"* ]] || fail "$stderr"
	husk rename lc-old lc-new
	[ "$(inspect_field lc-new 'c["Name"]')" = lc-new ]
	run --separate-stderr husk container inspect lc-old
	assert_status 1
	husk create --name lc-old basic true
	husk rm lc-old lc-new lc-taken
}

@test "container prune removes stopped and created containers, keeps running ones" {
	husk create --name lc-p1 basic true
	husk run -d --name lc-p2 basic true
	husk wait lc-p2
	husk run -d --name lc-p3 basic sleep 100
	run --separate-stderr husk container prune -f
	assert_status 0
	assert_output_contains "Deleted Containers:"
	run --separate-stderr husk ps -a
	[[ "$output" != *lc-p1* && "$output" != *lc-p2* ]] || fail "$output"
	assert_output_contains lc-p3
	husk rm -f lc-p3
}

@test "container prune sweeps what interrupted commands left" {
	mkdir -p "$STORE/containers/.rm-0123" "$STORE/containers/$(printf 'a%.0s' $(seq 64))/upper"
	touch -d '2 minutes ago' "$STORE/containers/$(printf 'a%.0s' $(seq 64))"
	run --separate-stderr husk container prune
	assert_status 0
	[ ! -e "$STORE/containers/.rm-0123" ]
	[ ! -e "$STORE/containers/$(printf 'a%.0s' $(seq 64))" ]
}

@test "container inspect: state, config, mounts, times" {
	husk run -d --name lc-insp -e FOO=bar -v "$BATS_TEST_TMPDIR:/mnt:ro" basic sh -c 'exit 4'
	husk wait lc-insp
	husk container inspect lc-insp | python3 -c '
import json, sys
c = json.load(sys.stdin)[0]
assert c["State"]["Status"] == "exited" and c["State"]["ExitCode"] == 4, c["State"]
assert c["State"]["StartedAt"] and c["State"]["FinishedAt"], c["State"]
assert "FOO=bar" in c["Config"]["Env"], c["Config"]
assert c["Config"]["Cmd"] == ["sh", "-c", "exit 4"], c["Config"]
m = c["Mounts"][0]
assert m["Destination"] == "/mnt" and m["RW"] is False, m
'
	husk rm lc-insp
}

@test "husk inspect takes a container where no image has the name" {
	id=$(husk create --name lc-either basic true)
	run --separate-stderr husk inspect lc-either
	assert_status 0
	echo "$output" | python3 -c 'import json,sys; c = json.load(sys.stdin)[0]; assert c["Id"] == sys.argv[1], c' "$id"
	run --separate-stderr husk inspect lc-neither
	assert_status 1
	[ "$stderr" = "husk: no such image or container: lc-neither" ] || fail "$stderr"
	husk rm lc-either
}

# ------------------------------------------------------- foreground runs
@test "a foreground run is listed while it runs and can be stopped from elsewhere" {
	husk run --name lc-fg basic sleep 100 &
	fg=$!
	for _ in $(seq 50); do
		[ "$(state lc-fg 2>/dev/null)" = running ] && break
		sleep 0.1
	done
	[ "$(state lc-fg)" = running ]
	run --separate-stderr husk stop -t 1 lc-fg
	assert_status 0
	wait "$fg" || rc=$?
	[ "${rc:-0}" = 137 ]
	[ "$(state lc-fg)" = exited ]
	husk rm lc-fg
}

# ------------------------------------------------------ crashes and repair
@test "a killed monitor: the container dies with it and ps shows it exited" {
	husk run -d --name lc-crash basic sleep 100
	mon=$(inspect_field lc-crash 'c["State"]["MonitorPid"]')
	pid=$(inspect_field lc-crash 'c["State"]["Pid"]')
	[ "$mon" -gt 0 ]
	kill -9 "$mon"
	wait_gone "$pid" 5 || fail "the container outlived its monitor"
	run --separate-stderr husk ps -a
	assert_output_contains "Exited (255)"
	[ "$(state lc-crash)" = exited ]
	[ ! -e "$(rundir)/$(inspect_field lc-crash 'c["Id"]')" ]
	# It can be started again.
	husk start lc-crash
	[ "$(state lc-crash)" = running ]
	husk rm -f lc-crash
}

@test "a monitor holds its container's directory and log, not the store: image removal never waits for it" {
	pull plain latest
	for mode in exec no-exec; do
		if [ "$mode" = no-exec ]; then
			id=$(HUSK_MONITOR_NO_EXEC=1 husk run -d --name lc-nostore basic sleep 1000)
		else
			id=$(husk run -d --name lc-nostore basic sleep 1000)
		fi
		mon=$(inspect_field lc-nostore 'c["State"]["MonitorPid"]')
		[ "$mon" -gt 0 ] && proc_live "$mon" || fail "$mode: no monitor: $mon"
		store=$(realpath "$STORE")
		held=$(for fd in /proc/"$mon"/fd/*; do readlink "$fd"; done)
		[[ "$held" == *"$store/containers/$id"* ]] || fail "$mode: its directory is not held: $held"
		while read -r path; do
			case $path in
			"$store" | "$store/lock" | "$store/containers" | "$store/layers"* | "$store/blobs"* | \
				"$store/images.json" | "$store/container-names"*)
				fail "$mode: the monitor holds $path" ;;
			esac
		done <<<"$held"
		# Nobody holds the store's lock nor the images-in-use lock image removal takes (a
		# flock on the store's root directory itself).
		flock -n -x "$STORE/lock" true || fail "$mode: the store's lock is held"
		flock -n -x "$STORE" true || fail "$mode: the images-in-use lock on the store is held"
		# An image no container uses goes; the one this container uses is kept by the in-use
		# check, not by a lock.
		run --separate-stderr husk rmi plain
		assert_status 0
		run --separate-stderr husk rmi basic
		[ "$status" -ne 0 ] || fail "$mode: an image in use was removed"
		assert_stderr_contains 'image "basic": a container uses it'
		[ "$(state lc-nostore)" = running ]
		husk rm -f lc-nostore >/dev/null
		pull plain latest
	done
}

@test "state lost with the runtime directory (a reboot) is repaired on the next command" {
	id=$(husk run -d --name lc-reboot basic sleep 100)
	mon=$(inspect_field lc-reboot 'c["State"]["MonitorPid"]')
	kill -9 "$mon"
	rm -rf "$(rundir)/$id"
	sleep 0.2
	[ "$(state lc-reboot)" = exited ]
	[ "$(inspect_field lc-reboot 'c["State"]["Running"]')" = False ]
	husk rm lc-reboot
}

# ------------------------------------------------------------- nothing leaks
@test "after rm nothing is left: directories, names, runtime state, processes" {
	id=$(husk run -d --name lc-leak basic sleep 100)
	mon=$(inspect_field lc-leak 'c["State"]["MonitorPid"]')
	pid=$(inspect_field lc-leak 'c["State"]["Pid"]')
	husk rm -f lc-leak
	[ ! -e "$STORE/containers/$id" ]
	[ ! -e "$STORE/container-names/lc-leak" ]
	[ ! -e "$(rundir)/$id" ]
	wait_gone "$mon" || fail "monitor $mon is still running"
	wait_gone "$pid" || fail "container process $pid is still running"
	! grep -q "$STORE" /proc/self/mountinfo
}

@test "100 containers from two shells at once, with stops and removals mixed in" {
	worker() { # TAG
		local i id
		for i in $(seq 50); do
			id=$(husk run -d --name "lc-many-$1-$i" basic sleep 1000) || { echo "run $i failed" >&2; return 1; }
			case $((i % 5)) in
			0) husk rm -f "$id" >/dev/null || return 1 ;;
			1) husk stop -t 0 "$id" >/dev/null || return 1 ;;
			2) husk create --name "lc-many-$1-$i-c" basic true >/dev/null || return 1 ;;
			esac
		done
	}
	worker a >"$BATS_TEST_TMPDIR/a.out" 2>&1 &
	wa=$!
	worker b >"$BATS_TEST_TMPDIR/b.out" 2>&1 &
	wb=$!
	wait "$wa" || fail "shell a: $(cat "$BATS_TEST_TMPDIR/a.out")"
	wait "$wb" || fail "shell b: $(cat "$BATS_TEST_TMPDIR/b.out")"
	# Per shell: 50 run, 10 removed, 10 created: 50 containers, 30 running.
	[ "$(husk ps -a --format json | grep -c '"lc-many-')" -eq 100 ] || fail "$(husk ps -a)"
	[ "$(husk ps --format json | grep -c '"lc-many-')" -eq 60 ] || fail "$(husk ps)"
	[ "$(husk ps -a --format json | grep '"lc-many-' | grep -c '"State":"exited"')" -eq 20 ]
	[ "$(husk ps -a --format json | grep '"lc-many-' | grep -c '"State":"created"')" -eq 20 ]
	ids=$(husk ps -aq --no-trunc)
	mons=$(husk ps --format json | python3 -c 'import json,sys; [print(json.loads(l)["ID"]) for l in sys.stdin]' | while read -r id; do inspect_field "$id" 'c["State"]["MonitorPid"]'; done)
	# shellcheck disable=SC2086
	husk rm -f $ids >/dev/null
	[ -z "$(husk ps -aq)" ]
	[ -z "$(ls -A "$STORE/containers")" ] || fail "$(ls -A "$STORE/containers")"
	[ -z "$(ls -A "$STORE/container-names")" ] || fail "$(ls -A "$STORE/container-names")"
	for id in $ids; do
		[ ! -e "$(rundir)/$id" ] || fail "runtime state left: $id"
	done
	for pid in $mons; do
		wait_gone "$pid" || fail "monitor $pid is still running"
	done
}
