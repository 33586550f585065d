#!/usr/bin/env bats
# husk build interrupted (Ctrl-C, SIGTERM): the running step's container is killed, the
# parallel stages' children stop too, the build fails in one line with status 1, and the
# store keeps no image, no container and nothing in tmp/.  Runs as root, with a subuid
# range and without.

bats_require_minimum_version 1.5.0
load helpers

setup_file() {
	ensure_images
}

setup() {
	new_store
	pull basic latest
	CTX=$BATS_TEST_TMPDIR/ctx
	mkdir -p "$CTX"
	BPID=
}

teardown() {
	if [ -n "$BPID" ] && proc_live "$BPID"; then
		kill -KILL -- "-$BPID" 2>/dev/null || true
		wait "$BPID" 2>/dev/null || true
	fi
	remove_store "$STORE"
}

# start_build [BUILD-ARGS...]: husk build of $CTX/Dockerfile in a session and process group
# of its own, as a terminal's foreground job is (setsid does not fork here: a background
# job of a shell without job control leads no group; bash starts such a job with SIGINT
# ignored, which husk build catches all the same); with SIGHUP ignored when NOHUP=1; its
# pid in BPID.
start_build() {
	local dfl=--default-signal=HUP
	[ -z "${NOHUP:-}" ] || dfl=--ignore-signal=HUP
	setsid env "$dfl" "$HUSK" --root "$STORE" build -t localhost/intr:1 "$@" "$CTX" \
		>"$BATS_TEST_TMPDIR/out" 2>"$BATS_TEST_TMPDIR/err" &
	BPID=$!
	local end=$((SECONDS + 10))
	until [ "$(ps -o pgid= -p "$BPID" | tr -d ' ')" = "$BPID" ]; do
		[ "$SECONDS" -lt "$end" ] || fail "husk build leads no process group"
		sleep 0.05
	done
}

# wait_started N: until N RUN steps made their /started (in their container's upper
# directory), at most 60 s.
wait_started() { # N
	local end=$((SECONDS + 60)) n
	while :; do
		n=$(find "$STORE/containers" -mindepth 3 -maxdepth 3 -path '*/upper/started' 2>/dev/null | wc -l)
		[ "$n" -ge "$1" ] && return 0
		proc_live "$BPID" || fail "husk build ended before $1 steps started: $(cat "$BATS_TEST_TMPDIR/err")"
		[ "$SECONDS" -lt "$end" ] || fail "$1 steps did not start in 60 s (saw $n)"
		sleep 0.1
	done
}

# interrupt SIGNAL TARGET: send SIGNAL to TARGET (-$BPID: the group, as a terminal's Ctrl-C
# does; $BPID: husk alone), wait for husk build, and set status, stderr and ELAPSED (whole
# seconds from the signal to its end).
interrupt() { # SIGNAL TARGET
	local start
	start=$(date +%s%N)
	kill "-$1" -- "$2"
	status=0
	wait "$BPID" || status=$?
	ELAPSED=$((($(date +%s%N) - start) / 1000000000))
	# shellcheck disable=SC2034 # read by the helpers' asserts
	stderr=$(cat "$BATS_TEST_TMPDIR/err")
	output=$(cat "$BATS_TEST_TMPDIR/out")
}

# What every interrupted build leaves: status 1 within 10 s (the steps sleep 40 s),
# one error line naming the signal, no image, no container, nothing in tmp/, and the
# steps' processes gone.
assert_cancelled() { # SIGNAL
	assert_status 1
	[ "$ELAPSED" -lt 10 ] || fail "husk build took $ELAPSED s to stop"
	assert_one_error_line
	assert_stderr_contains "interrupted by $1"
	run -1 husk image inspect localhost/intr:1
	[ -z "$(ls -A "$STORE/containers" 2>/dev/null)" ] ||
		fail "containers left: $(ls -A "$STORE/containers")"
	[ -z "$(ls -A "$STORE/tmp" 2>/dev/null)" ] || fail "tmp/ left: $(ls -A "$STORE/tmp")"
}

# The steps ignore SIGINT, SIGTERM and SIGHUP, as a pid 1 without handlers does: only a
# SIGKILL stops them.
STUBBORN='trap "" INT TERM HUP; touch /started; sleep 40'

@test "build interrupt: Ctrl-C kills the running RUN step and fails the build" {
	printf 'FROM basic\nRUN %s\n' "$STUBBORN" >"$CTX/Dockerfile"
	start_build --no-cache
	wait_started 1
	interrupt INT "-$BPID"
	[[ "$output" == *"STEP 2/2: RUN"* ]] || fail "no STEP line: $output"
	assert_stderr_contains "Dockerfile:2: RUN: interrupted by SIGINT"
	assert_cancelled SIGINT
}

@test "build interrupt: SIGTERM to husk alone kills the running RUN step" {
	printf 'FROM basic\nRUN %s\n' "$STUBBORN" >"$CTX/Dockerfile"
	start_build --no-cache
	wait_started 1
	interrupt TERM "$BPID"
	assert_cancelled SIGTERM
}

@test "build interrupt: the steps that completed stay cached" {
	printf 'FROM basic\nRUN echo pre >/pre\nRUN %s\n' "$STUBBORN" >"$CTX/Dockerfile"
	start_build
	wait_started 1
	interrupt INT "-$BPID"
	assert_cancelled SIGINT
	printf 'FROM basic\nRUN echo pre >/pre\n' >"$CTX/Dockerfile"
	run -0 husk build -t localhost/intr:2 "$CTX"
	assert_output_contains "--> CACHED"
}

@test "build interrupt: SIGHUP kills the running RUN step, unless husk started with it ignored" {
	printf 'FROM basic\nRUN %s\n' "$STUBBORN" >"$CTX/Dockerfile"
	start_build --no-cache
	wait_started 1
	interrupt HUP "-$BPID"
	assert_cancelled SIGHUP

	# nohup's: the build goes on.
	printf 'FROM basic\nRUN trap "" HUP; touch /started; sleep 2\n' >"$CTX/Dockerfile"
	NOHUP=1 start_build --no-cache
	wait_started 1
	interrupt HUP "-$BPID"
	assert_status 0
	run -0 husk image inspect localhost/intr:1
}

# parallel_workers: the children of husk build (prebuild_parallel's), one a line.
parallel_workers() {
	cat "/proc/$BPID/task/$BPID/children"
}

parallel_dockerfile() {
	printf 'FROM basic AS a\nRUN %s\nFROM basic AS b\nRUN %s\nFROM basic\nCOPY --from=a /etc/passwd /a\nCOPY --from=b /etc/passwd /b\n' \
		"$STUBBORN" "$STUBBORN" >"$CTX/Dockerfile"
}

# assert_workers_gone PIDS: each worker finished (a zombie has: its new parent may reap slowly).
assert_workers_gone() { # PIDS
	local pid
	for pid in $1; do
		wait_gone "$pid" 5 || fail "worker $pid still runs: $(tr '\0' ' ' <"/proc/$pid/cmdline")"
	done
}

# Start the parallel build, send SIG to TARGET ("group": husk's process group, as Ctrl-C
# does; "husk": husk alone), and check the workers and the build are gone.
stop_parallel() { # SIG TARGET
	[ "$(nproc)" -ge 2 ] || skip "one processor: the stages build one at a time"
	parallel_dockerfile
	start_build --no-cache
	wait_started 2
	workers=$(parallel_workers)
	[ -n "$workers" ] || fail "no parallel workers"
	if [ "$2" = group ]; then interrupt "$1" "-$BPID"; else interrupt "$1" "$BPID"; fi
	assert_workers_gone "$workers"
	assert_cancelled "SIG$1"
}

@test "build interrupt: Ctrl-C stops the stages built in parallel" {
	stop_parallel INT group
}

@test "build interrupt: SIGTERM to husk alone stops the stages built in parallel" {
	stop_parallel TERM husk
}
