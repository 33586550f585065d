#!/usr/bin/env bats
# husk logs: a container's output from its ctr.log, by stream.  Most tests
# read a log file written here with known content into the directory of a
# real container (one `husk run` left behind); the last ones read what the
# monitor of a real detached container wrote.

bats_require_minimum_version 1.5.0
load helpers

setup_file() {
	ensure_images
	new_store "$BATS_FILE_TMPDIR/store"
	export STORE
	pull basic latest
	# A container that ran and exited, and is kept (no --rm).
	husk run --name logtest basic true >/dev/null
	CDIR=$(ctr_dir logtest)
	if [ -z "$CDIR" ] || [ ! -d "$CDIR" ]; then
		echo "no container directory for logtest in $STORE/containers" >&2
		return 1
	fi
	export CDIR
}

teardown_file() {
	remove_store "$STORE"
}

# The directory of the container named NAME.
ctr_dir() { # NAME
	local f
	for f in "$STORE"/containers/*/config.json; do
		if grep -q "\"name\": *\"$1\"" "$f"; then
			dirname "$f"
			return 0
		fi
	done
}

# One log entry: STREAM TIME TEXT (TEXT as printf's format, JSON-escaped).
entry() {
	printf '{"log":"%s","stream":"%s","time":"%s"}\n' "$3" "$1" "$2"
}

# The known log: stdout and stderr lines, a line that is not JSON, escapes
# (a tab, U+FFFD, e acute, a quote), an entry of an unknown stream, a partial last entry (output
# that ended without a newline) and a torn last line (a write cut short).
write_known_log() {
	{
		entry stdout 2024-01-02T03:04:05.000000001Z 'out one\n'
		entry stderr 2024-01-02T03:04:06.500000000Z 'err one\n'
		echo 'not json at all'
		entry stdout 2024-01-02T03:04:07.000000000Z 'odd[\t\ufffd\u00e9\"]\n'
		echo
		entry tty 2024-01-02T03:04:07.100000000Z 'unknown stream\n'
		entry stderr 2024-01-02T03:04:08.000000000Z 'err two\n'
		entry stdout 2024-01-02T03:04:09.000000000Z 'partial'
		printf '{"log":"torn li'
	} >"$CDIR/ctr.log"
}

setup() {
	write_known_log
}

@test "logs: stdout and stderr go to husk's stdout and stderr" {
	run --separate-stderr husk logs logtest
	assert_status 0
	[ "$output" = "$(printf 'out one\nodd[\t\357\277\275\303\251"]\npartial')" ] ||
		fail "stdout:" "$output"
	[ "$stderr" = "$(printf 'err one\nerr two')" ] || fail "stderr:" "$stderr"
}

@test "logs: bytes come out exactly, a NUL, U+FFFD and a last line without newline" {
	{
		entry stdout 2024-01-02T03:04:05Z 'nul[\u0000] fffd[\ufffd] \u001b[1mbold\n'
		entry stdout 2024-01-02T03:04:06Z 'partial'
	} >"$CDIR/ctr.log"
	husk logs logtest >"$BATS_TEST_TMPDIR/out"
	printf 'nul[\000] fffd[\357\277\275] \033[1mbold\npartial' >"$BATS_TEST_TMPDIR/want"
	cmp "$BATS_TEST_TMPDIR/out" "$BATS_TEST_TMPDIR/want" ||
		fail "got:" "$(od -c "$BATS_TEST_TMPDIR/out")"
}

@test "logs: the ID, an ID prefix and the name select the container; husk container logs" {
	local id
	id=$(basename "$CDIR")
	run --separate-stderr husk logs "$id"
	assert_status 0
	assert_output_contains "out one"
	run --separate-stderr husk logs "${id:0:12}"
	assert_status 0
	assert_output_contains "out one"
	run --separate-stderr husk container logs logtest
	assert_status 0
	assert_output_contains "out one"
}

@test "logs: -t puts each entry's time in front of it" {
	run --separate-stderr husk logs -t logtest
	assert_status 0
	[ "$output" = "$(printf '%s\n' \
		'2024-01-02T03:04:05.000000001Z out one' \
		"2024-01-02T03:04:07.000000000Z $(printf 'odd[\t\357\277\275\303\251"]')" \
		'2024-01-02T03:04:09.000000000Z partial')" ] || fail "stdout:" "$output"
	[ "$stderr" = "$(printf '%s\n' '2024-01-02T03:04:06.500000000Z err one' \
		'2024-01-02T03:04:08.000000000Z err two')" ] || fail "stderr:" "$stderr"
}

@test "logs: --tail N prints the last N lines of output; 0 none; all every one" {
	# The last three lines of output: odd, err two and the unfinished partial (lines of
	# the file that are not entries do not count).
	run --separate-stderr husk logs --tail 3 logtest
	assert_status 0
	[ "$output" = "$(printf 'odd[\t\357\277\275\303\251"]\npartial')" ] || fail "stdout:" "$output"
	[ "$stderr" = "err two" ] || fail "stderr:" "$stderr"
	run --separate-stderr husk logs -n 0 logtest
	assert_status 0
	assert_output ""
	[ -z "$stderr" ] || fail "stderr:" "$stderr"
	run --separate-stderr husk logs --tail all logtest
	assert_status 0
	assert_output_contains "out one"
	run --separate-stderr husk logs --tail 1000 logtest
	assert_status 0
	assert_output_contains "out one"
}

@test "logs: --tail reads from the end: a 1 TiB hole before the lines is never read" {
	local f=$CDIR/ctr.log
	if ! truncate -s 1T "$f" 2>/dev/null; then
		skip "this file system has no sparse 1 TiB files"
	fi
	{
		echo
		entry stdout 2024-01-02T03:04:05Z 'after the hole 1\n'
		entry stdout 2024-01-02T03:04:06Z 'after the hole 2\n'
	} >>"$f"
	run --separate-stderr husk logs --tail 1 logtest
	assert_status 0
	assert_output "after the hole 2"
}

@test "logs: --since and --until take RFC 3339 times, with zones and fractions" {
	run --separate-stderr husk logs --since 2024-01-02T03:04:07Z --until 2024-01-02T03:04:09Z logtest
	assert_status 0
	[ "$output" = "$(printf 'odd[\t\357\277\275\303\251"]')" ] || fail "stdout:" "$output"
	assert_stderr_contains "err two"
	[[ "$stderr" != *"err one"* ]] || fail "stderr:" "$stderr"
	# The same instants written with an offset: --until excludes its own time.
	run --separate-stderr husk logs --since 2024-01-02T04:04:06.5+01:00 \
		--until 2024-01-02T04:04:08+01:00 logtest
	assert_status 0
	[[ "$output" == odd* ]] || fail "stdout:" "$output"
	[ "$stderr" = "err one" ] || fail "stderr:" "$stderr"
}

@test "logs: --since and --until take Unix seconds with a fraction" {
	# 2024-01-02T03:04:06.5Z is 1704164646.5.
	run --separate-stderr husk logs --since 1704164646.5 --until 1704164646.6 logtest
	assert_status 0
	assert_output ""
	[ "$stderr" = "err one" ] || fail "stderr:" "$stderr"
}

@test "logs: --since and --until take durations before now" {
	{
		entry stdout "$(date -u -d '-2 hours' +%Y-%m-%dT%H:%M:%S.%NZ)" 'two hours ago\n'
		entry stdout "$(date -u -d '-20 minutes' +%Y-%m-%dT%H:%M:%S.%NZ)" 'twenty minutes ago\n'
		entry stdout "$(date -u +%Y-%m-%dT%H:%M:%S.%NZ)" 'now\n'
	} >"$CDIR/ctr.log"
	run --separate-stderr husk logs --since 1h logtest
	assert_status 0
	assert_output "$(printf 'twenty minutes ago\nnow')"
	run --separate-stderr husk logs --since 1h30m --until 10m logtest
	assert_status 0
	assert_output "twenty minutes ago"
	run --separate-stderr husk logs --since 3h --until 1.5h logtest
	assert_status 0
	assert_output "two hours ago"
}

# Lines in pieces, the two streams' pieces interleaved, as a monitor writes a
# line it gets in several reads: stdout "ab\n" "cd" (unfinished), stderr "xy\n".
write_pieces_log() {
	{
		entry stdout 2024-01-02T03:04:01Z 'a'
		entry stderr 2024-01-02T03:04:02Z 'x'
		entry stdout 2024-01-02T03:04:03Z 'b\n'
		echo 'not json at all'
		entry stdout 2024-01-02T03:04:04Z 'c'
		entry stderr 2024-01-02T03:04:05Z 'y\n'
		entry stdout 2024-01-02T03:04:06Z 'd'
	} >"$CDIR/ctr.log"
}

@test "logs: pieces of a line come back as one line, with one time before it (-t)" {
	write_pieces_log
	run --separate-stderr husk logs logtest
	assert_status 0
	assert_output "$(printf 'ab\ncd')"
	[ "$stderr" = xy ] || fail "stderr:" "$stderr"
	run --separate-stderr husk logs -t logtest
	assert_status 0
	assert_output "$(printf '2024-01-02T03:04:01.000000000Z ab\n2024-01-02T03:04:04.000000000Z cd')"
	[ "$stderr" = "2024-01-02T03:04:02.000000000Z xy" ] || fail "stderr:" "$stderr"
}

@test "logs: --tail counts lines of output, not their pieces" {
	write_pieces_log
	run --separate-stderr husk logs --tail 1 logtest
	assert_status 0
	assert_output cd
	[ -z "$stderr" ] || fail "stderr:" "$stderr"
	# The stderr line ended after "ab": it is one of the last two, "ab" is not.
	run --separate-stderr husk logs -t --tail 2 logtest
	assert_status 0
	assert_output "2024-01-02T03:04:04.000000000Z cd"
	[ "$stderr" = "2024-01-02T03:04:02.000000000Z xy" ] || fail "stderr:" "$stderr"
	run --separate-stderr husk logs --tail 3 logtest
	assert_status 0
	assert_output "$(printf 'ab\ncd')"
	[ "$stderr" = xy ] || fail "stderr:" "$stderr"
}

@test "logs: --since and --until take a line by the time of its first piece" {
	write_pieces_log
	run --separate-stderr husk logs --since 2024-01-02T03:04:02Z logtest
	assert_status 0
	assert_output cd
	[ "$stderr" = xy ] || fail "stderr:" "$stderr"
	run --separate-stderr husk logs --until 2024-01-02T03:04:02Z logtest
	assert_status 0
	assert_output ab
	[ -z "$stderr" ] || fail "stderr:" "$stderr"
}

@test "logs: -f on a container that is not running prints the log and exits 0" {
	run --separate-stderr husk logs -f logtest
	assert_status 0
	assert_output_contains "partial"
}

@test "logs: a container without a log file has no output" {
	rm -f "$CDIR/ctr.log"
	run --separate-stderr husk logs logtest
	assert_status 0
	assert_output ""
	[ -z "$stderr" ] || fail "stderr:" "$stderr"
}

@test "logs: a 16 KiB line and long runs of lines come out whole" {
	local big
	big=$(head -c 16384 /dev/zero | tr '\0' x)
	{
		for i in $(seq 1 3000); do
			entry stdout 2024-01-02T03:04:05Z "line $i\\n"
		done
		entry stdout 2024-01-02T03:04:06Z "$big"
		entry stdout 2024-01-02T03:04:06Z 'end\n'
	} >"$CDIR/ctr.log"
	husk logs logtest >"$BATS_TEST_TMPDIR/out"
	{
		seq 1 3000 | sed 's/^/line /'
		printf '%s' "$big"
		echo end
	} >"$BATS_TEST_TMPDIR/want"
	cmp "$BATS_TEST_TMPDIR/out" "$BATS_TEST_TMPDIR/want"
}

@test "logs: an unknown container is one error line" {
	run --separate-stderr husk logs no-such-container
	assert_status 1
	assert_one_error_line
	assert_stderr_contains "no-such-container"
}

@test "logs: bad flags are usage errors (125)" {
	run --separate-stderr husk logs --tail many logtest
	assert_status 125
	assert_one_error_line
	assert_stderr_contains '"many"'
	run --separate-stderr husk logs --since yesterday logtest
	assert_status 125
	assert_one_error_line
	assert_stderr_contains '"yesterday"'
	run --separate-stderr husk logs --until 10x logtest
	assert_status 125
	assert_one_error_line
	run --separate-stderr husk logs
	assert_status 125
	assert_one_error_line
	run --separate-stderr husk logs logtest other
	assert_status 125
	assert_one_error_line
}

@test "logs: --help describes the flags" {
	run --separate-stderr husk logs --help
	assert_status 0
	for f in --follow --tail --timestamps --since --until; do
		assert_output_contains "$f"
	done
}

# ------------------------------------------------------------ real monitors
# What a detached container's monitor wrote.

# Wait until a `husk logs -f ... ID` follows: it has its inotify descriptor.
wait_following() { # ID
	local i p fd
	for i in $(seq 1 300); do
		for p in $(pgrep -f -- "logs -f.* $1\$"); do
			for fd in "/proc/$p/fd/"*; do
				[[ "$(readlink "$fd" 2>/dev/null)" == *inotify* ]] && return 0
			done
		done
		sleep 0.1
	done
	fail "no husk logs -f follows $1"
}

@test "logs: a detached container's stdout and stderr, as its monitor logged them" {
	local id
	id=$(husk run -d basic sh -c 'echo out; echo err >&2; echo out2; printf partial')
	run --separate-stderr husk wait "$id"
	assert_status 0
	assert_output 0
	run --separate-stderr husk logs "$id"
	assert_status 0
	assert_output "$(printf 'out\nout2\npartial')"
	[ "$stderr" = err ] || fail "stderr:" "$stderr"
	# The order of the two streams in the file is the monitor's: of the last two lines, the
	# stdout one is partial (the stderr line may have been logged before or after it).
	run --separate-stderr husk logs -t --tail 2 "$id"
	assert_status 0
	[[ "${output##*$'\n'}" =~ ^20[0-9][0-9]-[01][0-9]-[0-3][0-9]T[0-9:]{8}\.[0-9]{9}Z\ partial$ ]] ||
		fail "stdout:" "$output"
	husk rm "$id" >/dev/null
}

@test "logs: binary bytes and a 20000-byte line from a real container" {
	local id
	id=$(husk run -d basic sh -c 'printf "\377\376 bin\n"; head -c 20000 /dev/zero | tr "\0" a; echo')
	husk wait "$id" >/dev/null
	husk logs "$id" >"$BATS_TEST_TMPDIR/out"
	{
		printf '\357\277\275\357\277\275 bin\n'
		head -c 20000 /dev/zero | tr '\0' a
		echo
	} >"$BATS_TEST_TMPDIR/want"
	cmp "$BATS_TEST_TMPDIR/out" "$BATS_TEST_TMPDIR/want"
	# The long line is in pieces of at most 16 KiB (more when it arrived in several reads).
	[ "$(grep -c '"stream":"stdout"' "$STORE/containers/$id/ctr.log")" -ge 3 ]
	[ "$(awk '{ if (length($0) > m) m = length($0) } END { print m }' \
		"$STORE/containers/$id/ctr.log")" -lt 16500 ]
	husk rm "$id" >/dev/null
}

@test "logs: -f prints what a running container writes and exits 0 when it exits" {
	local id pid i
	mkdir -p "$BATS_TEST_TMPDIR/shared"
	chmod 0777 "$BATS_TEST_TMPDIR/shared"
	id=$(husk run -d -v "$BATS_TEST_TMPDIR/shared:/shared" basic sh -c \
		'echo first; while [ ! -e /shared/go ]; do sleep 0.1; done; echo second >&2; echo third; exit 7')
	husk logs -f "$id" >"$BATS_TEST_TMPDIR/out" 2>"$BATS_TEST_TMPDIR/err" &
	pid=$!
	# Once -f has printed the first line, the container may go on.
	for i in $(seq 1 300); do
		grep -q first "$BATS_TEST_TMPDIR/out" && break
		sleep 0.1
	done
	grep -q first "$BATS_TEST_TMPDIR/out" || fail "husk logs -f printed nothing"
	proc_live "$pid" || fail "husk logs -f ended while the container was running"
	touch "$BATS_TEST_TMPDIR/shared/go"
	wait "$pid" || fail "husk logs -f exited $?"
	[ "$(cat "$BATS_TEST_TMPDIR/out")" = "$(printf 'first\nthird')" ] ||
		fail "stdout:" "$(cat "$BATS_TEST_TMPDIR/out")"
	[ "$(cat "$BATS_TEST_TMPDIR/err")" = second ] || fail "stderr:" "$(cat "$BATS_TEST_TMPDIR/err")"
	run --separate-stderr husk wait "$id"
	assert_output 7
	husk rm "$id" >/dev/null
}

@test "logs: -f --tail 0 prints only what comes after" {
	local id pid i
	mkdir -p "$BATS_TEST_TMPDIR/shared"
	chmod 0777 "$BATS_TEST_TMPDIR/shared"
	id=$(husk run -d -v "$BATS_TEST_TMPDIR/shared:/shared" basic sh -c \
		'echo old; touch /shared/ready; while [ ! -e /shared/go ]; do sleep 0.1; done; echo new')
	for i in $(seq 1 300); do
		[ -e "$BATS_TEST_TMPDIR/shared/ready" ] && grep -q old "$STORE/containers/$id/ctr.log" && break
		sleep 0.1
	done
	husk logs -f --tail 0 "$id" >"$BATS_TEST_TMPDIR/out" &
	pid=$!
	wait_following "$id"
	touch "$BATS_TEST_TMPDIR/shared/go"
	wait "$pid" || fail "husk logs -f exited $?"
	[ "$(cat "$BATS_TEST_TMPDIR/out")" = new ] || fail "stdout:" "$(cat "$BATS_TEST_TMPDIR/out")"
	husk rm "$id" >/dev/null
}

@test "logs: a created container that never started: -f prints nothing and exits 0" {
	husk create --name logs-created basic echo never >/dev/null
	run --separate-stderr husk logs -f logs-created
	assert_status 0
	assert_output ""
	[ -z "$stderr" ] || fail "stderr:" "$stderr"
	husk rm logs-created >/dev/null
}

@test "logs: -f ends when the container is removed" {
	local id pid
	id=$(husk run -d basic sh -c 'echo hello; sleep 1000')
	husk logs -f "$id" >"$BATS_TEST_TMPDIR/out" &
	pid=$!
	wait_following "$id"
	husk rm -f "$id" >/dev/null
	wait "$pid" || fail "husk logs -f exited $?"
	[ "$(cat "$BATS_TEST_TMPDIR/out")" = hello ] || fail "stdout:" "$(cat "$BATS_TEST_TMPDIR/out")"
}

# Wait until `husk logs ARGS...` prints the bytes of the file WANT on stdout (and,
# when ERR is set, those of the file ERR on stderr).
wait_logs() { # WANT ARGS...
	local want=$1 i
	shift
	for i in $(seq 1 300); do
		husk logs "$@" >"$BATS_TEST_TMPDIR/got" 2>"$BATS_TEST_TMPDIR/got-err" || true
		if cmp -s "$BATS_TEST_TMPDIR/got" "$want" &&
			{ [ -z "${ERR:-}" ] || cmp -s "$BATS_TEST_TMPDIR/got-err" "$ERR"; }; then
			return 0
		fi
		sleep 0.1
	done
	fail "husk logs $* did not print what was expected; stdout:" \
		"$(od -c "$BATS_TEST_TMPDIR/got" | head -20)" "stderr:" \
		"$(od -c "$BATS_TEST_TMPDIR/got-err" | head -20)"
}

# Wait until the file FILE holds the bytes of the file WANT.
wait_file() { # FILE WANT
	local i
	for i in $(seq 1 300); do
		cmp -s "$1" "$2" && return 0
		sleep 0.1
	done
	fail "$1 does not hold what was expected:" "$(od -c "$1" | head -20)"
}

@test "logs: a running container's unfinished line shows in logs and in logs -f" {
	local id pid
	id=$(husk run -d basic sh -c 'printf "prompt> "; sleep 1000')
	printf 'prompt> ' >"$BATS_TEST_TMPDIR/want"
	wait_logs "$BATS_TEST_TMPDIR/want" "$id"
	husk logs -f "$id" >"$BATS_TEST_TMPDIR/follow" &
	pid=$!
	wait_file "$BATS_TEST_TMPDIR/follow" "$BATS_TEST_TMPDIR/want"
	proc_live "$pid" || fail "husk logs -f ended while the container was running"
	husk rm -f "$id" >/dev/null
	wait "$pid" || fail "husk logs -f exited $?"
}

@test "logs: with -t (a terminal) the shell's prompt shows in logs and logs -f while it waits" {
	local id pid i
	id=$(husk run -dit basic sh </dev/null)
	for i in $(seq 1 300); do
		husk logs "$id" | grep -qF '/ # ' && break
		sleep 0.1
	done
	husk logs "$id" | grep -qF '/ # ' || fail "no prompt in husk logs:" "$(husk logs "$id" | od -c)"
	husk logs -f "$id" >"$BATS_TEST_TMPDIR/follow" &
	pid=$!
	for i in $(seq 1 300); do
		grep -qF '/ # ' "$BATS_TEST_TMPDIR/follow" && break
		sleep 0.1
	done
	grep -qF '/ # ' "$BATS_TEST_TMPDIR/follow" || fail "no prompt from husk logs -f"
	proc_live "$pid" || fail "husk logs -f ended while the container was running"
	husk rm -f "$id" >/dev/null
	wait "$pid" || fail "husk logs -f exited $?"
}

@test "logs: pieces written apart on stdout and stderr show at once and join into lines" {
	local id log
	mkdir -p "$BATS_TEST_TMPDIR/shared"
	chmod 0777 "$BATS_TEST_TMPDIR/shared"
	id=$(husk run -d -v "$BATS_TEST_TMPDIR/shared:/shared" basic sh -c '
		printf a; printf x >&2
		until [ -e /shared/go ]; do sleep 0.1; done
		printf "b\n"; printf "y\n" >&2; printf c
		until [ -e /shared/go2 ]; do sleep 0.1; done
		echo d')
	printf a >"$BATS_TEST_TMPDIR/want"
	printf x >"$BATS_TEST_TMPDIR/want-err"
	ERR=$BATS_TEST_TMPDIR/want-err wait_logs "$BATS_TEST_TMPDIR/want" "$id"
	touch "$BATS_TEST_TMPDIR/shared/go"
	printf 'ab\nc' >"$BATS_TEST_TMPDIR/want"
	printf 'xy\n' >"$BATS_TEST_TMPDIR/want-err"
	ERR=$BATS_TEST_TMPDIR/want-err wait_logs "$BATS_TEST_TMPDIR/want" "$id"
	touch "$BATS_TEST_TMPDIR/shared/go2"
	husk wait "$id" >/dev/null
	log=$STORE/containers/$id/ctr.log
	# The file holds the pieces as they came: a, b, c, d on stdout; x, y on stderr.
	[ "$(grep -c '"stream":"stdout"' "$log")" = 4 ] || fail "log:" "$(cat "$log")"
	[ "$(grep -c '"stream":"stderr"' "$log")" = 2 ] || fail "log:" "$(cat "$log")"
	run --separate-stderr husk logs "$id"
	assert_status 0
	assert_output "$(printf 'ab\ncd')"
	[ "$stderr" = xy ] || fail "stderr:" "$stderr"
	run --separate-stderr husk logs -t "$id"
	assert_status 0
	[[ "$output" =~ ^20[0-9-]{8}T[0-9:.]{18}Z\ ab$'\n'20[0-9-]{8}T[0-9:.]{18}Z\ cd$ ]] ||
		fail "stdout:" "$output"
	[[ "$stderr" =~ ^20[0-9-]{8}T[0-9:.]{18}Z\ xy$ ]] || fail "stderr:" "$stderr"
	run --separate-stderr husk logs --tail 1 "$id"
	assert_status 0
	assert_output cd
	[ -z "$stderr" ] || fail "stderr:" "$stderr"
	run --separate-stderr husk logs --tail 2 "$id"
	assert_status 0
	assert_output cd
	[ "$stderr" = xy ] || fail "stderr:" "$stderr"
	husk rm "$id" >/dev/null
}

@test "logs: a 1 MiB line without newline is stored in pieces and reads back byte-exact" {
	local id log
	id=$(husk run -d basic sh -c 'seq 1 200000 | tr -d "\n"; sleep 1000')
	seq 1 200000 | tr -d '\n' >"$BATS_TEST_TMPDIR/want"
	[ "$(stat -c %s "$BATS_TEST_TMPDIR/want")" -gt 1048576 ]
	wait_logs "$BATS_TEST_TMPDIR/want" "$id"
	log=$STORE/containers/$id/ctr.log
	[ "$(grep -c '"stream":"stdout"' "$log")" -ge 64 ] || fail "too few entries in the log"
	[ "$(awk '{ if (length($0) > m) m = length($0) } END { print m }' "$log")" -lt 16500 ] ||
		fail "an entry longer than 16 KiB"
	# One line of output: --tail 1 is all of it, -t puts one time before it.
	husk logs --tail 1 "$id" >"$BATS_TEST_TMPDIR/tail"
	cmp "$BATS_TEST_TMPDIR/tail" "$BATS_TEST_TMPDIR/want"
	husk logs -t "$id" >"$BATS_TEST_TMPDIR/ts"
	head -c 31 "$BATS_TEST_TMPDIR/ts" | grep -qE '^20[0-9-]{8}T[0-9:.]{18}Z $' ||
		fail "no time first:" "$(head -c 40 "$BATS_TEST_TMPDIR/ts")"
	tail -c +32 "$BATS_TEST_TMPDIR/ts" | cmp - "$BATS_TEST_TMPDIR/want"
	husk rm -f "$id" >/dev/null
}

@test "logs: binary bytes without a newline show while the container runs" {
	local id
	id=$(husk run -d basic sh -c 'printf "\001\002\377bin\000x\303\251"; sleep 1000')
	printf '\001\002\357\277\275bin\000x\303\251' >"$BATS_TEST_TMPDIR/want"
	wait_logs "$BATS_TEST_TMPDIR/want" "$id"
	husk rm -f "$id" >/dev/null
}
