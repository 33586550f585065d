#!/usr/bin/env bats
# Signals by name and number wherever husk reads one: an image's StopSignal
# (husk stop, husk restart), husk stop -s, husk kill -s.  Names follow
# docker's table (moby/sys signal_linux.go): SIGRTMIN is 34, so
# SIGRTMIN+3 is 37, with or without SIG, in any case.  The container runs
# hsk-report wait-signal, which prints the number it received.

bats_require_minimum_version 1.5.0
load helpers

setup_file() {
	ensure_images
	new_store "$BATS_FILE_TMPDIR/store"
	export STORE
	# The helper tests/run (or ensure_images) built from this tree's tests/helper/hsk-report.c.
	cp "$IMAGES/hsk-report" "$BATS_FILE_TMPDIR/hsk-report"
	local layout=$BATS_FILE_TMPDIR/sig tag sig
	while read -r tag sig; do
		"$MKIMAGE" "$layout" --tag "$tag" --stop-signal "$sig" \
			--add "$BATS_FILE_TMPDIR/hsk-report:/usr/bin/hsk-report" \
			--cmd '["/usr/bin/hsk-report","wait-signal"]' >/dev/null
		husk pull -q "oci:$layout:$tag" >/dev/null
	done <<-EOF
		rtmin3 SIGRTMIN+3
		lower rtmin+3
		rtmax2 RTMAX-2
		usr1 SIGUSR1
		num 37
		bad SIGFOO
	EOF
	"$MKIMAGE" "$layout" --tag none --add "$BATS_FILE_TMPDIR/hsk-report:/usr/bin/hsk-report" \
		--cmd '["/usr/bin/hsk-report","wait-signal"]' >/dev/null
	husk pull -q "oci:$layout:none" >/dev/null
}

teardown_file() {
	local ids
	ids=$("$HUSK" --root "$STORE" ps -aq --no-trunc 2>/dev/null)
	# shellcheck disable=SC2086
	[ -z "$ids" ] || "$HUSK" --root "$STORE" rm -f $ids >/dev/null 2>&1
	remove_store "$STORE"
}

# start_waiter NAME TAG: a detached container of sig:TAG, once it waits for a signal.
start_waiter() { # NAME TAG
	local i
	husk run -d --name "$1" "sig:$2" >/dev/null 2>"$BATS_TEST_TMPDIR/run.err" || {
		cat "$BATS_TEST_TMPDIR/run.err" >&2
		return 1
	}
	for i in $(seq 200); do
		[[ "$(husk logs "$1" 2>/dev/null)" == *ready* ]] && return 0
		sleep 0.05
	done
	fail "container $1 never printed ready"
}

# got_signal NAME N: the container printed "signal N" and exited 0.
got_signal() { # NAME N
	local i out
	for i in $(seq 200); do
		out=$(husk logs "$1" 2>&1)
		[[ "$out" == *"signal "* ]] && break
		sleep 0.05
	done
	[[ "$out" == *"signal $2"* ]] || fail "container $1: expected \"signal $2\", logs:" "$out"
	husk rm -f "$1" >/dev/null
}

@test "signals: husk stop sends the image's StopSignal SIGRTMIN+3 as 37" {
	start_waiter s-rt rtmin3
	run --separate-stderr husk stop s-rt
	assert_status 0
	[ -z "$stderr" ] || fail "unexpected stderr: $stderr"
	got_signal s-rt 37
}

@test "signals: StopSignal in other spellings: rtmin+3, RTMAX-2, SIGUSR1, 37" {
	local tag want
	while read -r tag want; do
		start_waiter "s-$tag" "$tag"
		husk stop "s-$tag" >/dev/null
		got_signal "s-$tag" "$want"
	done <<-EOF
		lower 37
		rtmax2 62
		usr1 10
		num 37
	EOF
}

@test "signals: without a StopSignal husk stop sends SIGTERM" {
	start_waiter s-none none
	husk stop s-none >/dev/null
	got_signal s-none 15
}

@test "signals: husk restart sends the StopSignal too" {
	start_waiter s-re rtmin3
	husk restart s-re >/dev/null
	# The first run's output stays in the log, then the new run's "ready".
	local i
	for i in $(seq 200); do
		[[ "$(husk logs s-re)" == *"signal 37"*ready* ]] && break
		sleep 0.05
	done
	[[ "$(husk logs s-re)" == *"signal 37"* ]] || fail "logs: $(husk logs s-re 2>&1)"
	husk rm -f s-re >/dev/null
}

@test "signals: husk stop -s takes real-time names and numbers over the image's" {
	local spec want n=0
	while read -r spec want; do
		n=$((n + 1))
		start_waiter "s-opt$n" rtmin3
		run --separate-stderr husk stop -s "$spec" "s-opt$n"
		assert_status 0
		got_signal "s-opt$n" "$want"
	done <<-EOF
		SIGRTMIN+5 39
		sigrtmax 64
		RtMin 34
		rtmax-14 50
		SIGRTMIN+30 64
		64 64
		usr2 12
	EOF
}

@test "signals: husk kill -s takes real-time names and numbers" {
	local spec want n=0
	while read -r spec want; do
		n=$((n + 1))
		start_waiter "s-kill$n" none
		run --separate-stderr husk kill -s "$spec" "s-kill$n"
		assert_status 0
		got_signal "s-kill$n" "$want"
	done <<-EOF
		SIGRTMIN+3 37
		RTMAX-1 63
		35 35
		SIGHUP 1
	EOF
}

@test "signals: an unknown signal for stop -s or kill -s is one usage error line" {
	local cmd spec
	for cmd in stop kill; do
		for spec in SIGFOO RTMIN+31 RTMAX-31 0 65 SIGRTMIN3 ""; do
			run --separate-stderr husk "$cmd" -s "$spec" nosuch
			assert_status 125
			assert_one_error_line
			assert_stderr_contains "signal \"$spec\": "
		done
	done
	run --separate-stderr husk kill -s SIGFOO nosuch
	assert_stderr_contains 'husk: kill: signal "SIGFOO": unknown (a name such as SIGTERM or SIGRTMIN+3, or a number from 1 to 64)'
	run --separate-stderr husk stop -s 65 nosuch
	assert_stderr_contains 'husk: stop: signal "65": out of range (signals are 1 to 64)'
}

@test "signals: an unknown StopSignal warns at run and at stop, then SIGTERM stops the container" {
	run --separate-stderr husk run -d --name s-bad sig:bad
	assert_status 0
	assert_stderr_contains 'husk: warning: image "sig:bad": stop signal "SIGFOO": unknown'
	assert_stderr_contains 'husk stop will send SIGTERM'
	[ "$(husk container inspect s-bad | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["Config"]["StopSignal"])')" = SIGFOO ]
	local i
	for i in $(seq 200); do
		[[ "$(husk logs s-bad)" == *ready* ]] && break
		sleep 0.05
	done
	run --separate-stderr husk stop s-bad
	assert_status 0
	assert_output s-bad
	assert_stderr_contains 'husk: warning: container '
	assert_stderr_contains ': stop signal "SIGFOO": unknown'
	assert_stderr_contains ': sending SIGTERM'
	got_signal s-bad 15
}
