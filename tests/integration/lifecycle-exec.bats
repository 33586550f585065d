#!/usr/bin/env bats
# husk exec: a command in a running container, in all its namespaces and under its confinement,
# reported from inside by hsk-report.

bats_require_minimum_version 1.5.0
load helpers

setup_file() {
	ensure_images
	new_store "$BATS_FILE_TMPDIR/store"
	export STORE HUSK
	pull basic latest
	# The containers the tests exec into: the defaults, and one with every setting exec
	# inherits (hostname, workdir, env, no-new-privileges, capabilities, seccomp).
	husk run -d --name ex -h exhost basic sleep 100000 >/dev/null
	husk run -d --name exconf -h confhost -w /data -e FROM_RUN=run-env -e GREETING=from-run \
		--security-opt no-new-privileges --cap-drop ALL --cap-add CHOWN --cap-add KILL \
		basic sleep 100000 >/dev/null
	husk run -d --name exunconf --security-opt seccomp=unconfined basic sleep 100000 >/dev/null
}

teardown_file() {
	husk rm -f ex exconf exunconf >/dev/null 2>&1 || true
	remove_store "$STORE"
}

# ------------------------------------------------------------ namespaces
@test "exec joins every namespace of the container's pid 1" {
	local ns inside pid1 host
	for ns in mnt pid net uts ipc cgroup user; do
		run --separate-stderr husk exec ex sh -c "readlink /proc/self/ns/$ns; readlink /proc/1/ns/$ns"
		assert_status 0
		inside=${lines[0]} pid1=${lines[1]}
		host=$(readlink /proc/self/ns/$ns)
		[ -n "$inside" ] && [ "$inside" = "$pid1" ] || fail "$ns: exec in $inside, pid 1 in $pid1"
		if [ $ns = user ] && [ "$(test_mode)" = root ]; then
			[ "$inside" = "$host" ] || fail "root: user namespace $inside, host $host"
		else
			[ "$inside" != "$host" ] || fail "$ns: still the host's $host"
		fi
	done
}

@test "exec sees the container's processes and none of the host's" {
	# /proc/1 is the container's command; the shell is a new pid in its namespace.
	run --separate-stderr husk exec ex sh -c 'tr "\0" " " </proc/1/cmdline; echo; echo $$; ls -d /proc/[0-9]* | wc -l'
	assert_status 0
	[ "${lines[0]}" = "sleep 100000 " ] || fail "pid 1 is not the container's: $output"
	[ "${lines[1]}" -gt 1 ] && [ "${lines[1]}" -lt 1000 ] || fail "not a small pid: $output"
	[ "${lines[2]}" -lt 10 ] || fail "too many processes: $output"
	run --separate-stderr husk exec ex hsk-report try kill "$$"
	assert_output "ESRCH"
}

@test "exec: the container's hostname, uid map and root" {
	run --separate-stderr husk exec ex hsk-report hostname
	assert_output "exhost"
	run --separate-stderr husk exec exconf hsk-report hostname
	assert_output "confhost"
	run --separate-stderr husk exec ex hsk-report uidmap
	assert_output "$(expected_map uid)"
	# The root is the container's: a file written by one exec is seen by the next, not by the host.
	run --separate-stderr husk exec ex sh -c 'echo mark > /exec-mark'
	assert_status 0
	[ ! -e /exec-mark ] || fail "the host's root was written"
	run --separate-stderr husk exec ex cat /exec-mark
	assert_output "mark"
}

# ------------------------------------------------------------ confinement
@test "exec: the container's capabilities, nothing inheritable or ambient" {
	run --separate-stderr husk exec ex sh -c \
		'for f in CapInh CapPrm CapEff CapBnd CapAmb; do hsk-report status $f; done'
	assert_output "0000000000000000
00000000a80425fb
00000000a80425fb
00000000a80425fb
0000000000000000"
	# --cap-drop ALL --cap-add CHOWN --cap-add KILL: bits 0 and 5.
	run --separate-stderr husk exec exconf sh -c 'hsk-report status CapEff; hsk-report status CapBnd'
	assert_output "0000000000000021
0000000000000021"
}

@test "exec --privileged: every capability, the container's seccomp filter stays" {
	local all
	all=$(husk run --rm --privileged basic hsk-report status CapEff)
	run --separate-stderr husk exec --privileged exconf sh -c \
		'hsk-report status CapEff; hsk-report status Seccomp'
	assert_output "$all
2"
}

@test "exec -u: a non-root user has no capabilities but the bounding set" {
	[ "$(test_mode)" = nosub ] && skip "no subordinate ids to run a non-root user with"
	run --separate-stderr husk exec -u tester ex sh -c \
		'hsk-report ids; hsk-report status CapEff; hsk-report status CapBnd; echo $HOME'
	assert_output "uid=1234 gid=1234
0000000000000000
00000000a80425fb
/tmp"
	run --separate-stderr husk exec -u 4321:4322 ex hsk-report ids
	assert_output "uid=4321 gid=4322"
}

@test "exec -u without subordinate ids: only root can be mapped" {
	[ "$(test_mode)" = nosub ] || skip "only without a subordinate id range"
	run --separate-stderr husk exec -u tester ex true
	assert_status 126
	assert_one_error_line
	assert_stderr_contains "not mapped in the container's user namespace"
}

@test "exec -u: an unknown user is an error" {
	run --separate-stderr husk exec -u nosuchuser ex true
	assert_status 126
	assert_one_error_line
	assert_stderr_contains "nosuchuser"
}

@test "exec: the container's seccomp filter and no_new_privs" {
	run --separate-stderr husk exec ex sh -c \
		'hsk-report status Seccomp; hsk-report status NoNewPrivs; hsk-report try unshare user'
	assert_output "2
0
EPERM"
	run --separate-stderr husk exec exconf sh -c 'hsk-report status Seccomp; hsk-report status NoNewPrivs'
	assert_output "2
1"
	run --separate-stderr husk exec exunconf hsk-report status Seccomp
	assert_output "0"
	# The filter is cached after the first exec; a second one loads the same.
	run --separate-stderr husk exec ex hsk-report try unshare user
	assert_output "EPERM"
}

@test "exec: only stdio is open, whatever the caller holds" {
	run --separate-stderr bash -c 'exec 7</etc/hostname 8>/dev/null; "$HUSK" --root "$STORE" exec ex hsk-report fds'
	assert_output "0
1
2"
}

@test "exec: the working directory is inside the container, never the caller's" {
	cd "$BATS_TEST_TMPDIR"
	run --separate-stderr husk exec ex sh -c 'pwd; readlink /proc/self/cwd; readlink /proc/self/root'
	assert_output "/
/
/"
	run --separate-stderr husk exec exconf pwd
	assert_output "/data"
	run --separate-stderr husk exec -w /usr/local/bin exconf pwd
	assert_output "/usr/local/bin"
	run --separate-stderr husk exec -w /no/such/dir ex pwd
	assert_status 126
	assert_one_error_line
	assert_stderr_contains "working directory \"/no/such/dir\""
	run --separate-stderr husk exec -w relative ex pwd
	assert_status 125
	assert_one_error_line
}

# ------------------------------------------------------------ environment
@test "exec: the container's environment, then -e and --env-file" {
	local envfile=$BATS_TEST_TMPDIR/env
	printf '# comment\nFROM_FILE=file\n\nGREETING=from-file\n' >"$envfile"
	run --separate-stderr husk exec exconf sh -c 'echo "$HUSK_TEST|$GREETING|$FROM_RUN|$HOSTNAME|$HOME"'
	assert_output "basic-env|from-run|run-env|confhost|/root"
	run --separate-stderr husk exec -e GREETING=from-exec -e NEW=1 exconf sh -c 'echo "$GREETING|$NEW|$FROM_RUN"'
	assert_output "from-exec|1|run-env"
	run --separate-stderr husk exec --env-file "$envfile" -e FROM_FILE=later exconf sh -c 'echo "$GREETING|$FROM_FILE"'
	assert_output "from-file|later"
	run --separate-stderr env CALLER_VAR=caller "$HUSK" --root "$STORE" exec -e CALLER_VAR -e UNSET_VAR_X ex sh -c 'echo "$CALLER_VAR|${UNSET_VAR_X-unset}"'
	assert_output "caller|unset"
	# exec's settings do not stay in the container.
	run --separate-stderr husk exec exconf sh -c 'echo "${NEW-unset}"'
	assert_output "unset"
}

# ------------------------------------------------------------ status and stdio
@test "exec exits with the command's status" {
	run --separate-stderr husk exec ex sh -c 'exit 7'
	assert_status 7
	run --separate-stderr husk exec ex sh -c 'kill -TERM $$'
	assert_status 143
	run --separate-stderr husk exec ex true
	assert_status 0
	assert_output ""
	[ -z "$stderr" ] || fail "stderr: $stderr"
}

@test "exec: 127 for a command not found, 126 for one not executable" {
	run -127 --separate-stderr husk exec ex no-such-command
	assert_status 127
	assert_one_error_line
	assert_stderr_contains "exec \"no-such-command\": executable file not found in \$PATH"
	run -127 --separate-stderr husk exec ex /no/such/file
	assert_status 127
	assert_one_error_line
	run --separate-stderr husk exec ex /usr/local/bin/notexec
	assert_status 126
	assert_one_error_line
}

@test "exec -i passes stdin and its end; without -i stdin is /dev/null" {
	run --separate-stderr bash -c 'printf "one\ntwo\n" | "$HUSK" --root "$STORE" exec -i ex sh -c "cat; echo end"'
	assert_status 0
	assert_output "one
two
end"
	run --separate-stderr bash -c 'echo lost | "$HUSK" --root "$STORE" exec ex sh -c "cat; echo end"'
	assert_status 0
	assert_output "end"
}

@test "exec -t: a terminal of the container's own, the status passed on" {
	command -v script >/dev/null || skip "no script(1)"
	run script -qec "\"$HUSK\" --root \"$STORE\" exec -t ex sh -c 'tty; exit 3'" /dev/null
	assert_status 3
	[[ "$output" == *"/dev/pts/"* ]] || fail "no pseudo-terminal: $output"
	# Without -t the caller's terminal is not the command's controlling terminal.
	run script -qec "\"$HUSK\" --root \"$STORE\" exec ex hsk-report try tiocsti" /dev/null
	[[ "$output" == *ENOTTY* || "$output" == *EPERM* ]] || fail "TIOCSTI: $output"
}

@test "exec -d returns at once; the command runs on and is reaped" {
	local i pid out
	# The command waits for /tmp/go, which only the next exec creates: husk -d cannot have
	# waited for it.
	run --separate-stderr husk exec -d ex sh -c \
		'echo $$ > /tmp/dpid; while [ ! -e /tmp/go ]; do sleep 0.1; done; echo done > /tmp/dmark'
	assert_status 0
	assert_output ""
	run --separate-stderr husk exec ex sh -c 'touch /tmp/go; cat /tmp/dpid'
	assert_status 0
	pid=$output
	for i in $(seq 1 100); do
		out=$(husk exec ex cat /tmp/dmark 2>/dev/null) && break
		sleep 0.2
	done
	[ "$out" = done ] || fail "the detached command never finished"
	# Once it exits it is reaped (by the host's init), never left a zombie in the container.
	for i in $(seq 1 100); do
		husk exec ex test -e "/proc/$pid" || break
		sleep 0.2
	done
	run --separate-stderr husk exec ex sh -c "cat /proc/$pid/stat 2>/dev/null || echo gone"
	assert_output "gone"
}

@test "exec -d: a command that cannot start is an error" {
	run -127 --separate-stderr husk exec -d ex no-such-command
	assert_status 127
	assert_one_error_line
}

# ------------------------------------------------------------ errors
@test "exec into a container that is not running" {
	husk run -d --name exstop basic sleep 100000 >/dev/null
	husk stop exstop >/dev/null
	run --separate-stderr husk exec exstop true
	assert_status 1
	assert_one_error_line
	[[ "$stderr" =~ ^husk:\ container\ [0-9a-f]{12}\ is\ not\ running$ ]] || fail "$stderr"
	husk rm -f exstop >/dev/null
	husk create --name excreated basic sleep 100000 >/dev/null
	run --separate-stderr husk exec excreated true
	assert_status 1
	assert_stderr_contains "is not running"
	husk rm -f excreated >/dev/null 2>&1 || true
}

@test "exec: an unknown container, a missing command" {
	run --separate-stderr husk exec no-such-container true
	assert_status 1
	assert_one_error_line
	assert_stderr_contains "no-such-container"
	run --separate-stderr husk exec ex
	assert_status 125
	assert_one_error_line
	run --separate-stderr husk exec --no-such-flag ex true
	assert_status 125
	assert_one_error_line
}
