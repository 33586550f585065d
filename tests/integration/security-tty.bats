#!/usr/bin/env bats
# The caller's terminal: without -t no process in a container ever holds a descriptor of it,
# on any path that gives a container the caller's stdio (run, exec, start -a, attach) or none
# (run -d, start, restart).  Each test runs husk on a fresh pseudo-terminal (ptyrun.py) as a
# user's shell would, and looks from inside (the container tries to read it, to turn its echo
# off, to push a command into it with TIOCSTI) and from outside (the terminal's modes after,
# a marker file the pushed command would create).

bats_require_minimum_version 1.5.0
load helpers

setup_file() {
	ensure_images
	new_store "$BATS_FILE_TMPDIR/store"
	export STORE HUSK
	pull basic latest
	# For exec: CAP_SYS_ADMIN, which lets TIOCSTI reach a terminal that is not the
	# process's controlling one (when it holds it in the host's user namespace, as root).
	husk run -d --name tty-ex --cap-add SYS_ADMIN basic sleep 100000 >/dev/null
}

teardown_file() {
	husk rm -f tty-ex >/dev/null 2>&1 || true
	remove_store "$STORE"
}

# pty [ptyrun.py options] -- CMD...: CMD on a fresh pseudo-terminal; its transcript lands in
# $output (with bats' run).
pty() {
	python3 "$TOP/tests/integration/ptyrun.py" --timeout 90 "$@"
}

# The container's side.  PROBE: which of fds 0-2 are terminals, then try to switch each to
# raw mode with echo off.  READ: read a line from each of fds 0-2 (a terminal fd may be open
# for reading whatever its number); "ready" first, for the test to type.  (busybox's read
# builtin spins on EBADF: head instead; and no $(...) around it, where fd 1 is another.)
PROBE='for fd in 0 1 2; do [ -t $fd ] && echo "fd$fd: a terminal"; done
for fd in 0 1 2; do stty -echo -icanon <&$fd 2>/dev/null; done
echo probed'
READ='echo ready
for fd in 0 1 2; do
	timeout 3 head -n 1 <&$fd >/tmp/line 2>/dev/null
	x=$(cat /tmp/line); rm -f /tmp/line
	[ -n "$x" ] && echo "got$fd:$x"
done
echo read-done'

# The terminal's echo and canonical mode after the run, as they were before.
assert_modes_kept() { # MODESFILE
	local before after
	before=$(sed -n 's/^before: //p' "$1")
	after=$(sed -n 's/^after: //p' "$1")
	[ "$before" = "echo icanon" ] || fail "unexpected starting modes: $before"
	[ "$after" = "$before" ] || fail "the terminal's modes changed: $before -> $after"
}

assert_no_terminal() {
	[[ "$output" != *"a terminal"* ]] || fail "the container holds the caller's terminal:" "$output"
	assert_output_contains probed
}

# A TIOCSTI push of "touch MARKER", then a shell on the same terminal reads its next line
# and runs it, as an interactive shell would after the command.  The test types "true" only
# once husk is done: a pushed line would come first.
# inject_scenario [PTYRUN-OPTIONS...] -- HUSK-ARGS...
inject_scenario() {
	local opts=()
	while [ "$1" != -- ]; do
		opts+=("$1")
		shift
	done
	shift
	MARK=$BATS_TEST_TMPDIR/injected
	rm -f "$MARK"
	# shellcheck disable=SC2016 # $line is the inner shell's
	run pty "${opts[@]}" --expect HUSK-DONE --send 'true\n' -- sh -c \
		'"$@"; echo HUSK-DONE; read -r line; echo "shell-read:$line"; eval "$line"' _ "$@"
}

assert_not_injected() {
	[ ! -e "$MARK" ] || fail "the container made the caller's shell run a command:" "$output"
	assert_output_contains "shell-read:true"
	[[ "$output" != *"tiocsti:ok"* ]] || fail "TIOCSTI succeeded:" "$output"
}

TIOCSTI_CMD() { # MARKER: the container's command that pushes "touch MARKER".
	printf 'echo tiocsti:$(hsk-report try tiocsti "touch %s\n")' "$1"
}

# ------------------------------------------------------------------- run
@test "caller's terminal: run without -t gives the container no terminal on fds 0-2" {
	run pty --modes "$BATS_TEST_TMPDIR/modes" -- "$HUSK" --root "$STORE" run --rm basic sh -c "$PROBE"
	assert_status 0
	assert_no_terminal
	assert_modes_kept "$BATS_TEST_TMPDIR/modes"
	run pty --modes "$BATS_TEST_TMPDIR/modes" -- "$HUSK" --root "$STORE" run --rm -i basic sh -c "$PROBE"
	assert_status 0
	assert_no_terminal
	assert_modes_kept "$BATS_TEST_TMPDIR/modes"
}

@test "CVE-2017-5226 class: run --cap-add SYS_ADMIN cannot push a command into the caller's terminal" {
	local mark=$BATS_TEST_TMPDIR/injected
	inject_scenario -- "$HUSK" --root "$STORE" run --rm --cap-add SYS_ADMIN basic sh -c "$(TIOCSTI_CMD "$mark")"
	assert_not_injected
	inject_scenario -- "$HUSK" --root "$STORE" run --rm -i --cap-add SYS_ADMIN basic sh -c "$(TIOCSTI_CMD "$mark")"
	assert_not_injected
	inject_scenario -- "$HUSK" --root "$STORE" run --rm --privileged basic sh -c "$(TIOCSTI_CMD "$mark")"
	assert_not_injected
}

@test "caller's terminal: run leaves its echo and canonical mode as they were" {
	# The container tries every fd, and stty is allowed to fail: only the result counts.
	run pty --modes "$BATS_TEST_TMPDIR/modes" -- "$HUSK" --root "$STORE" run --rm -i basic \
		sh -c 'for fd in 0 1 2; do stty raw -echo <&$fd; done 2>/dev/null; true'
	assert_status 0
	assert_modes_kept "$BATS_TEST_TMPDIR/modes"
	run pty --modes "$BATS_TEST_TMPDIR/modes" -- "$HUSK" --root "$STORE" run --rm basic \
		sh -c 'for fd in 0 1 2; do stty raw -echo <&$fd; done 2>/dev/null; true'
	assert_status 0
	assert_modes_kept "$BATS_TEST_TMPDIR/modes"
}

@test "caller's terminal: what the user types reaches run's container only with -i" {
	run pty --expect ready --send 'secret-line\n' -- "$HUSK" --root "$STORE" run --rm basic sh -c "$READ"
	assert_status 0
	assert_output_contains read-done
	[[ "$output" != *got* ]] || fail "input reached a container run without -i:" "$output"
	run pty --expect ready --send 'secret-line\n' -- "$HUSK" --root "$STORE" run --rm -i basic sh -c "$READ"
	assert_status 0
	assert_output_contains "got0:secret-line"
	[[ "$output" != *got1* && "$output" != *got2* ]] || fail "stdout or stderr read input:" "$output"
}

@test "caller's terminal: run -i relays stdin until its end, stdout and stderr apart, and the status" {
	# ^D at the start of a line is the terminal's end of input: husk closes the container's
	# stdin, and cat ends.
	run pty --expect ready --send 'abc\n\004' -- "$HUSK" --root "$STORE" run --rm -i basic \
		sh -c 'echo ready; cat; echo cat-ended; echo to-err >&2
			[ "$(readlink /proc/self/fd/1)" != "$(readlink /proc/self/fd/2)" ] && echo apart; exit 7'
	assert_status 7
	assert_output_contains "abc"
	assert_output_contains "cat-ended"
	assert_output_contains "to-err"
	assert_output_contains "apart"
}

@test "caller's terminal: ^C still reaches the container through husk" {
	run pty --expect ready --send '\003' -- "$HUSK" --root "$STORE" run --rm basic \
		sh -c 'trap "echo got-int; exit 9" INT; echo ready; while :; do sleep 0.1; done'
	assert_status 9
	assert_output_contains got-int
}

@test "caller's terminal: a pipe or file as stdout is passed straight through" {
	local out=$BATS_TEST_TMPDIR/out
	# stdin and stderr are the terminal (relayed), stdout a file (the container's own).
	run pty -- sh -c '"$@" >"$0"' "$out" "$HUSK" --root "$STORE" run --rm basic \
		sh -c 'readlink /proc/self/fd/1; readlink /proc/self/fd/2'
	assert_status 0
	[ "$(sed -n 1p "$out")" = "$out" ] || fail "stdout is not the caller's file:" "$(cat "$out")"
	[[ "$(sed -n 2p "$out")" == pipe:* ]] || fail "stderr is not relayed:" "$(cat "$out")"
}

# ------------------------------------------------------------------ exec
@test "caller's terminal: exec without -t gives no terminal, keeps its modes, input only with -i" {
	run pty --modes "$BATS_TEST_TMPDIR/modes" -- "$HUSK" --root "$STORE" exec tty-ex sh -c "$PROBE"
	assert_status 0
	assert_no_terminal
	assert_modes_kept "$BATS_TEST_TMPDIR/modes"
	run pty --modes "$BATS_TEST_TMPDIR/modes" -- "$HUSK" --root "$STORE" exec -i tty-ex sh -c "$PROBE"
	assert_status 0
	assert_no_terminal
	assert_modes_kept "$BATS_TEST_TMPDIR/modes"
	run pty --expect ready --send 'secret-line\n' -- "$HUSK" --root "$STORE" exec tty-ex sh -c "$READ"
	assert_status 0
	assert_output_contains read-done
	[[ "$output" != *got* ]] || fail "input reached exec without -i:" "$output"
	run pty --expect ready --send 'secret-line\n' -- "$HUSK" --root "$STORE" exec -i tty-ex sh -c "$READ; exit 4"
	assert_status 4
	assert_output_contains "got0:secret-line"
	[[ "$output" != *got1* && "$output" != *got2* ]] || fail "stdout or stderr read input:" "$output"
}

@test "CVE-2017-5226 class: exec into a container with CAP_SYS_ADMIN cannot push a command into the caller's terminal" {
	local mark=$BATS_TEST_TMPDIR/injected
	inject_scenario -- "$HUSK" --root "$STORE" exec tty-ex sh -c "$(TIOCSTI_CMD "$mark")"
	assert_not_injected
	inject_scenario -- "$HUSK" --root "$STORE" exec -i --privileged tty-ex sh -c "$(TIOCSTI_CMD "$mark")"
	assert_not_injected
}

@test "caller's terminal: exec returns when its command exits, though a child keeps its output open" {
	local start=$SECONDS
	run pty -- "$HUSK" --root "$STORE" exec tty-ex sh -c 'sleep 60 & echo $! >/tmp/bg; echo started; exit 3'
	assert_status 3
	assert_output_contains started
	[ $((SECONDS - start)) -lt 30 ] || fail "exec waited for its command's child"
	husk exec tty-ex sh -c 'kill $(cat /tmp/bg)' || true
}

# ------------------------------------------------------- start -a, attach
@test "caller's terminal: start -a gives no terminal, keeps its modes, input only with -i" {
	husk create --name tty-sa basic sh -c "$PROBE; $READ" >/dev/null
	run pty --modes "$BATS_TEST_TMPDIR/modes" --expect ready --send 'secret-line\n' -- \
		"$HUSK" --root "$STORE" start -a tty-sa
	assert_status 0
	assert_no_terminal
	assert_modes_kept "$BATS_TEST_TMPDIR/modes"
	[[ "$output" != *got* ]] || fail "input reached start -a without -i:" "$output"
	husk create --name tty-sai -i basic sh -c "$PROBE; $READ" >/dev/null
	run pty --modes "$BATS_TEST_TMPDIR/modes" --expect ready --send 'secret-line\n' -- \
		"$HUSK" --root "$STORE" start -a -i tty-sai
	assert_status 0
	assert_no_terminal
	assert_modes_kept "$BATS_TEST_TMPDIR/modes"
	assert_output_contains "got0:secret-line"
	husk rm tty-sa tty-sai >/dev/null
}

@test "CVE-2017-5226 class: start -a with CAP_SYS_ADMIN cannot push a command into the caller's terminal" {
	local mark=$BATS_TEST_TMPDIR/injected
	husk create --name tty-sinj -i --cap-add SYS_ADMIN basic sh -c "$(TIOCSTI_CMD "$mark")" >/dev/null
	inject_scenario -- "$HUSK" --root "$STORE" start -a -i tty-sinj
	assert_not_injected
	husk rm tty-sinj >/dev/null
}

@test "caller's terminal: attach gives no terminal and keeps its modes" {
	# The container waits for a line, which only the attached terminal sends.
	husk run -d -i --name tty-at --cap-add SYS_ADMIN basic sh -c \
		"read go; $PROBE; $(TIOCSTI_CMD "$BATS_TEST_TMPDIR/injected")" >/dev/null
	inject_scenario --modes "$BATS_TEST_TMPDIR/modes" --expect '' --send 'go\n' -- \
		"$HUSK" --root "$STORE" attach tty-at
	assert_not_injected
	assert_no_terminal
	assert_modes_kept "$BATS_TEST_TMPDIR/modes"
	husk rm -f tty-at >/dev/null
}

# ------------------------------------------------ run -d, start, restart
@test "caller's terminal: a container started in the background from a terminal holds none of it" {
	local links
	run pty -- "$HUSK" --root "$STORE" run -d --name tty-bg basic sleep 100000
	assert_status 0
	for how in "start" "restart -t 1"; do
		links=$(husk exec tty-bg sh -c 'for f in /proc/1/fd/*; do readlink $f; done')
		[[ "$links" != *pts* && "$links" != *tty* && "$links" != *console* ]] ||
			fail "the container's pid 1 holds a terminal:" "$links"
		[ "$how" = start ] && husk stop -t 1 tty-bg >/dev/null
		# shellcheck disable=SC2086 # $how is the command and its options
		run pty -- "$HUSK" --root "$STORE" $how tty-bg
		assert_status 0
	done
	links=$(husk exec tty-bg sh -c 'for f in /proc/1/fd/*; do readlink $f; done')
	[[ "$links" != *pts* && "$links" != *tty* && "$links" != *console* ]] ||
		fail "the container's pid 1 holds a terminal:" "$links"
	husk rm -f tty-bg >/dev/null
}
