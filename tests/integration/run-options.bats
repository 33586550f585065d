#!/usr/bin/env bats
# husk run: the docker-style options, each one, in every test mode.

bats_require_minimum_version 1.5.0
load helpers

setup_file() {
	ensure_images
	new_store "$BATS_FILE_TMPDIR/store"
	export STORE
	pull basic latest
	pull entry latest
	# An image whose tester belongs to two more groups, for -u.
	local stage=$BATS_FILE_TMPDIR/groups-stage
	mkdir -p "$stage/etc"
	printf 'root:x:0:\ntester:x:1234:\nstaff:x:50:tester\naudio:x:63:root,tester\n' >"$stage/etc/group"
	"$MKIMAGE" "$BATS_FILE_TMPDIR/groups" --tag latest \
		--add "$IMAGES/hsk-report:/usr/bin/hsk-report" --layer "$stage" \
		--cmd '["true"]' >/dev/null
	husk pull "oci:$BATS_FILE_TMPDIR/groups:latest" >/dev/null 2>&1
}

teardown_file() {
	remove_store "$STORE"
}

# ------------------------------------------------------------------ env
@test "-e NAME=VALUE sets, a later -e wins, and it overrides the image's Env" {
	run --separate-stderr husk run --rm -e A=1 -e A=2 -e GREETING=hi basic \
		sh -c 'echo "$A $GREETING $HUSK_TEST"'
	assert_status 0
	assert_output "2 hi basic-env"
}

@test "-e NAME alone passes the caller's value, and nothing when it is unset" {
	unset HUSK_UNSET_VAR
	HUSK_PASSED='from caller' run --separate-stderr husk run --rm -e HUSK_PASSED -e HUSK_UNSET_VAR \
		basic sh -c 'echo "[$HUSK_PASSED]"; env | grep -c HUSK_UNSET_VAR'
	assert_output "[from caller]
0"
}

@test "--env-file: lines, comments, blank lines, NAME alone" {
	printf '# comment\n\nFOO=bar baz\nHUSK_FROMFILE\n' >"$BATS_TEST_TMPDIR/env"
	HUSK_FROMFILE=yes run --separate-stderr husk run --rm --env-file "$BATS_TEST_TMPDIR/env" basic \
		sh -c 'echo "$FOO/$HUSK_FROMFILE"'
	assert_status 0
	assert_output "bar baz/yes"
}

@test "--env-file that does not exist: one error, 125" {
	run --separate-stderr husk run --rm --env-file /no/such/env basic true
	assert_status 125
	assert_one_error_line
	assert_stderr_contains '"/no/such/env"'
}

@test "HOME and PATH defaults; HOME follows the user" {
	run --separate-stderr husk run --rm basic sh -c 'echo $HOME; echo $PATH'
	assert_output "/root
/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
	run --separate-stderr husk run --rm -e HOME=/elsewhere basic sh -c 'echo $HOME'
	assert_output "/elsewhere"
}

# -------------------------------------------------------------- workdir
@test "-w: the working directory, created when missing" {
	run --separate-stderr husk run --rm -w /made/for/you basic hsk-report cwd
	assert_status 0
	assert_output "/made/for/you"
	run --separate-stderr husk run --rm --workdir /etc entry
	assert_output "/etc"
}

@test "-w with a relative path: one error, 125" {
	run --separate-stderr husk run --rm -w relative basic true
	assert_status 125
	assert_one_error_line
}

# ----------------------------------------------------------- entrypoint
@test "--entrypoint replaces Entrypoint and clears Cmd" {
	run --separate-stderr husk run --rm --entrypoint echo entry
	assert_status 0
	assert_output ""
	run --separate-stderr husk run --rm --entrypoint echo entry one two
	assert_output "one two"
	run --separate-stderr husk run --rm --entrypoint '' entry echo plain
	assert_output "plain"
}

# ------------------------------------------------------------- hostname
@test "the hostname defaults to the short ID; -h sets it" {
	run --separate-stderr husk run --rm basic hsk-report hostname
	assert_status 0
	[[ "$output" =~ ^[0-9a-f]{12}$ ]] || fail "hostname: $output"
	run --separate-stderr husk run --rm -h box.example basic sh -c 'hsk-report hostname; echo $HOSTNAME'
	assert_output "box.example
box.example"
}

# ----------------------------------------------------------------- user
@test "-u by name, number, name:group, uid:gid, with supplementary groups" {
	if [ "$(test_mode)" = nosub ]; then
		run --separate-stderr husk run --rm -u tester basic true
		assert_status 125
		assert_one_error_line
		assert_stderr_contains "is not mapped"
		run --separate-stderr husk run --rm -u 0:0 basic hsk-report ids
		assert_output "uid=0 gid=0"
		return 0
	fi
	run --separate-stderr husk run --rm -u tester groups sh -c 'hsk-report ids; hsk-report groups; echo $HOME'
	assert_status 0
	assert_output "uid=1234 gid=1234
50 63
/tmp"
	run --separate-stderr husk run --rm -u 1234 basic hsk-report ids
	assert_output "uid=1234 gid=1234"
	run --separate-stderr husk run --rm -u tester:root basic hsk-report ids
	assert_output "uid=1234 gid=0"
	run --separate-stderr husk run --rm -u 4321:77 basic sh -c 'hsk-report ids; echo $HOME'
	assert_output "uid=4321 gid=77
/"
}

@test "-u with an unknown user or group: one clear error, 125" {
	run --separate-stderr husk run --rm -u nosuchuser basic true
	assert_status 125
	assert_one_error_line
	assert_stderr_contains 'user "nosuchuser": no such user'
	run --separate-stderr husk run --rm -u root:nosuchgroup basic true
	assert_status 125
	assert_stderr_contains 'no such group'
}

# --------------------------------------------------------- filesystems
@test "--read-only: / is read-only, /tmp mounts and /dev stay writable" {
	run --separate-stderr husk run --rm --read-only --tmpfs /tmp basic \
		sh -c 'hsk-report try write /etc/passwd; touch /tmp/x && echo tmp-ok; echo > /dev/shm/y && echo shm-ok'
	assert_status 0
	assert_output "EROFS
tmp-ok
shm-ok"
}

@test "-v HOST:CTR binds a directory read-write, :ro read-only" {
	local d=$BATS_TEST_TMPDIR/vol
	mkdir -p "$d"
	echo host-data >"$d/in"
	chmod 0777 "$d"
	run --separate-stderr husk run --rm -v "$d:/data/vol" basic sh -c 'cat /data/vol/in; echo new > /data/vol/out'
	assert_status 0
	assert_output "host-data"
	[ "$(cat "$d/out")" = new ] || fail "not written through: $(ls -l "$d")"
	run --separate-stderr husk run --rm -v "$d:/data/vol:ro" basic hsk-report try write /data/vol/in
	assert_output "EROFS"
}

@test "-v binds a single file" {
	echo one-file >"$BATS_TEST_TMPDIR/file"
	run --separate-stderr husk run --rm -v "$BATS_TEST_TMPDIR/file:/etc/single:ro" basic cat /etc/single
	assert_status 0
	assert_output "one-file"
}

@test "-v with a missing host path or a relative path: one error, 125" {
	run --separate-stderr husk run --rm -v /no/such/dir:/x basic true
	assert_status 125
	assert_one_error_line
	assert_stderr_contains '"/no/such/dir"'
	run --separate-stderr husk run --rm -v named:/x basic true
	assert_status 125
	assert_one_error_line
	run --separate-stderr husk run --rm -v /tmp:/x:zz basic true
	assert_status 125
	assert_stderr_contains 'unknown mode'
}

@test "--tmpfs: a tmpfs, with options" {
	run --separate-stderr husk run --rm --tmpfs /scratch --tmpfs /small:size=1m,mode=700 basic \
		sh -c 'grep -E " /(scratch|small) " /proc/self/mountinfo; hsk-report stat /small'
	assert_status 0
	assert_output_contains "/scratch rw,nosuid,nodev,noexec"
	assert_output_contains "/small rw,nosuid,nodev,noexec"
	assert_output_contains "size=1024k,mode=700"
	assert_output_contains "0 0 0700"
}

# ---------------------------------------------------------------- caps
@test "--cap-add and --cap-drop change the sets" {
	run --separate-stderr husk run --rm basic hsk-report status CapEff
	assert_output "00000000a80425fb"
	run --separate-stderr husk run --rm --cap-drop CHOWN --cap-add NET_ADMIN basic \
		sh -c 'hsk-report status CapEff; hsk-report status CapBnd'
	assert_output "00000000a80435fa
00000000a80435fa"
	run --separate-stderr husk run --rm --cap-drop ALL --cap-add cap_kill basic hsk-report status CapEff
	assert_output "0000000000000020"
}

@test "--cap-add with an unknown capability: one error, 125" {
	run --separate-stderr husk run --rm --cap-add NOT_A_CAP basic true
	assert_status 125
	assert_one_error_line
	assert_stderr_contains 'capability "NOT_A_CAP"'
}

@test "--privileged: every capability, no seccomp, no masked paths" {
	run --separate-stderr husk run --rm --privileged basic \
		sh -c 'hsk-report status Seccomp; hsk-report status CapEff; grep -c " /proc/sys " /proc/self/mountinfo || true'
	assert_status 0
	[[ "${lines[0]}" = 0 ]] || fail "$output"
	# CAP_SYS_ADMIN (21) and CAP_SYS_PTRACE (19), which the default set lacks.
	(( (16#${lines[1]} & 0x280000) == 0x280000 )) || fail "$output"
	[[ "${lines[2]}" = 0 ]] || fail "$output"
}

# ------------------------------------------------------- security-opt
@test "--security-opt no-new-privileges sets NoNewPrivs; off by default" {
	run --separate-stderr husk run --rm basic hsk-report status NoNewPrivs
	assert_output "0"
	run --separate-stderr husk run --rm --security-opt no-new-privileges basic \
		sh -c 'hsk-report status NoNewPrivs; hsk-report status Seccomp'
	assert_output "1
2"
}

@test "--security-opt seccomp=unconfined: no filter" {
	run --separate-stderr husk run --rm --security-opt seccomp=unconfined basic hsk-report status Seccomp
	assert_output "0"
}

@test "--security-opt seccomp=PROFILE.json: the profile's rules" {
	cat >"$BATS_TEST_TMPDIR/profile.json" <<'JSON'
{"defaultAction": "SCMP_ACT_ALLOW",
 "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1}]}
JSON
	run --separate-stderr husk run --rm --security-opt "seccomp=$BATS_TEST_TMPDIR/profile.json" basic \
		sh -c 'hsk-report status Seccomp; mkdir /tmp/d 2>&1; touch /tmp/f && echo touch-ok'
	assert_status 0
	assert_output_contains "2"
	assert_output_contains "Operation not permitted"
	assert_output_contains "touch-ok"
}

# profile_rule COND: a profile that denies mkdir with EPERM under Docker's condition COND.
profile_rule() {
	cat >"$BATS_TEST_TMPDIR/cond.json" <<JSON
{"defaultAction": "SCMP_ACT_ALLOW",
 "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1, $1}]}
JSON
}

mkdir_with_profile() {
	run --separate-stderr husk run --rm --security-opt "seccomp=$BATS_TEST_TMPDIR/cond.json" basic \
		sh -c 'mkdir /tmp/d 2>/dev/null && echo made || echo denied'
	assert_status 0
}

@test "seccomp profile conditions: arches and minKernel, in includes and excludes" {
	case $(uname -m) in
	x86_64) native=amd64 ;;
	aarch64) native=arm64 ;;
	*) skip "no Docker arch name mapped for $(uname -m) in this test" ;;
	esac
	profile_rule "\"includes\": {\"arches\": [\"$native\"]}"
	mkdir_with_profile
	assert_output denied
	profile_rule '"includes": {"arches": ["s390x"]}'
	mkdir_with_profile
	assert_output made
	profile_rule "\"excludes\": {\"arches\": [\"$native\"]}"
	mkdir_with_profile
	assert_output made
	profile_rule '"includes": {"minKernel": "3.0"}'
	mkdir_with_profile
	assert_output denied
	profile_rule '"includes": {"minKernel": "999.0"}'
	mkdir_with_profile
	assert_output made
	profile_rule '"excludes": {"minKernel": "3.0"}'
	mkdir_with_profile
	assert_output made
}

@test "seccomp profile actions: SCMP_ACT_TRACE fails the call without a tracer; NOTIFY is refused" {
	cat >"$BATS_TEST_TMPDIR/trace.json" <<'JSON'
{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_TRACE"}]}
JSON
	run --separate-stderr husk run --rm --security-opt "seccomp=$BATS_TEST_TMPDIR/trace.json" basic \
		sh -c 'mkdir /tmp/d 2>&1; echo rc=$?'
	assert_output_contains "rc=1"
	assert_output_contains "not implemented"
	cat >"$BATS_TEST_TMPDIR/notify.json" <<'JSON'
{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_NOTIFY"}]}
JSON
	run --separate-stderr husk run --rm --security-opt "seccomp=$BATS_TEST_TMPDIR/notify.json" basic true
	assert_status 125
	assert_one_error_line
	assert_stderr_contains 'SCMP_ACT_NOTIFY needs a seccomp agent'
}

@test "--security-opt with a bad profile or an unknown option: one error, 125" {
	echo '{"defaultAction": "SCMP_ACT_NOPE"}' >"$BATS_TEST_TMPDIR/bad.json"
	run --separate-stderr husk run --rm --security-opt "seccomp=$BATS_TEST_TMPDIR/bad.json" basic true
	assert_status 125
	assert_one_error_line
	assert_stderr_contains 'SCMP_ACT_NOPE'
	run --separate-stderr husk run --rm --security-opt apparmor=x basic true
	assert_status 125
	assert_one_error_line
}

# -------------------------------------------------------------- network
@test "--network none: only lo, and it is up; host: the host's interfaces" {
	run --separate-stderr husk run --rm basic sh -c 'ls /sys/class/net; ip -o link show lo'
	assert_status 0
	[ "${lines[0]}" = lo ] && [ "${#lines[@]}" -eq 2 ] || fail "$output"
	assert_output_contains "UP"
	run --separate-stderr husk run --rm --network host basic ls /sys/class/net
	assert_status 0
	[ "$(echo "$output" | sort)" = "$(ls /sys/class/net | sort)" ] || fail "$output"
}

@test "--network with an unsupported mode: one error, 125" {
	# Not a mode and not a network's name (bridge, once refused here, is the default network).
	run --separate-stderr husk run --rm --network 'slirp4netns:port_handler=rootlesskit' basic true
	assert_status 125
	assert_one_error_line
	assert_stderr_contains 'network "slirp4netns:port_handler=rootlesskit": not supported'
	run --separate-stderr husk run --rm --network nosuchnetwork basic true
	assert_status 125
	assert_one_error_line
	assert_stderr_contains 'no such network: nosuchnetwork'
}

# --------------------------------------------------------------- ulimit
@test "--ulimit sets soft and hard limits" {
	run --separate-stderr husk run --rm --ulimit nofile=100:200 basic sh -c 'ulimit -n; ulimit -Hn'
	assert_status 0
	assert_output "100
200"
}

@test "--ulimit with an unknown name or bad numbers: one error, 125" {
	run --separate-stderr husk run --rm --ulimit nosuch=1 basic true
	assert_status 125
	assert_one_error_line
	run --separate-stderr husk run --rm --ulimit nofile=20:10 basic true
	assert_status 125
	assert_one_error_line
}

# ------------------------------------------------------------ name, rm
@test "--name records the name; a second container may not take it" {
	run --separate-stderr husk run --name web-1 basic true
	assert_status 0
	grep -l '"name": *"web-1"' "$STORE"/containers/*/config.json || fail "no record with the name"
	run --separate-stderr husk run --rm --name web-1 basic true
	assert_status 125
	assert_one_error_line
	assert_stderr_contains 'name "web-1"'
	run --separate-stderr husk run --rm --name 'bad name' basic true
	assert_status 125
	assert_one_error_line
}

@test "--rm removes the container; without it the container stays" {
	local before
	before=$(ls "$STORE/containers" | wc -l)
	run --separate-stderr husk run --rm basic true
	[ "$(ls "$STORE/containers" | wc -l)" = "$before" ] || fail "--rm left a container"
	run --separate-stderr husk run basic true
	[ "$(ls "$STORE/containers" | wc -l)" = "$((before + 1))" ] || fail "the container went away"
}

# ------------------------------------------------------------- -i, -t
@test "-i forwards stdin and delivers EOF; without -i stdin is empty" {
	run --separate-stderr bash -c 'printf "line1\nline2\n" | "$HUSK" --root "$STORE" run --rm -i basic sh -c "cat; echo done"'
	assert_status 0
	assert_output "line1
line2
done"
	run --separate-stderr bash -c 'echo lost | "$HUSK" --root "$STORE" run --rm basic sh -c "cat; echo done"'
	assert_output "done"
}

@test "-t: a terminal from the container's own devpts, /dev/console, window size" {
	command -v script >/dev/null || skip "no script(1)"
	run script -qec "stty rows 33 cols 77; \"$HUSK\" --root \"$STORE\" run --rm -t basic sh -c 'tty; stat -c %t:%T /dev/console; stty size; hsk-report status NoNewPrivs'" /dev/null
	assert_status 0
	assert_output_contains "/dev/pts/0"
	assert_output_contains "88:0"
	assert_output_contains "33 77"
}

@test "-t, exec -t: the terminal has the caller's size before the command starts (20 rounds each)" {
	command -v script >/dev/null || skip "no script(1)"
	# The size used to be set only once the command ran: stty as the first instruction saw
	# 0 rows about one time in ten on a busy machine (issue 9).
	local i c out
	for i in $(seq 20); do
		out=$(script -qec "stty rows 33 cols 77; \"$HUSK\" --root \"$STORE\" run --rm -t basic stty size" /dev/null 2>&1)
		[[ $out == *"33 77"* ]] || fail "run -t round $i: $out"
	done
	c=$(husk run -d basic sleep 300)
	for i in $(seq 20); do
		out=$(script -qec "stty rows 33 cols 77; \"$HUSK\" --root \"$STORE\" exec -t $c stty size" /dev/null 2>&1)
		[[ $out == *"33 77"* ]] || fail "exec -t round $i: $out"
	done
	husk rm -f "$c" >/dev/null
}

@test "-t -i: input reaches the container, EOF ends it, status comes back" {
	command -v script >/dev/null || skip "no script(1)"
	run bash -c "printf 'typed\n' | script -qec '\"$HUSK\" --root \"$STORE\" run --rm -t -i basic sh -c \"read x; echo got:\\\$x; exit 5\"' /dev/null"
	assert_output_contains "got:typed"
}

# ----------------------------------------------------------------- init
@test "--init: husk's init is pid 1, the command pid 2; its status comes back" {
	run --separate-stderr husk run --rm --init basic sh -c 'echo $$; exit 7'
	assert_status 7
	assert_output "2"
	run --separate-stderr husk run --rm --init basic hsk-report kill-self SEGV
	assert_status 139
	run -127 --separate-stderr husk run --rm --init basic nosuchcmd
	assert_status 127
	assert_one_error_line
}

@test "-it --init: the command owns the terminal's foreground, one Ctrl-C reaches it once" {
	command -v script >/dev/null || skip "no script(1)"
	local d=$BATS_TEST_TMPDIR/ctrlc i pid
	mkdir -p "$d"
	# The command counts SIGINTs; ready and stop are files in a volume, so no timing is guessed.
	# Two deliveries close together may merge into one pending signal, so the count alone cannot
	# catch a double delivery: the command must also lead the terminal's foreground group (pid 1,
	# the init, then never sees keyboard signals).  /proc/PID/stat: pid, comm, state, ppid, pgrp,
	# session, tty_nr, tpgid.
	cat >"$d/inner.sh" <<'EOF'
set -- $(cat /proc/$$/stat)
echo "pid=$1 pgrp=$5 tpgid=$8"
n=0
trap 'n=$((n+1))' INT
touch /ci/ready
i=0
while [ ! -e /ci/stop ] && [ $i -lt 200 ]; do sleep 0.1; i=$((i+1)); done
echo "count=$n"
EOF
	mkfifo "$d/in"
	script -qec "\"$HUSK\" --root \"$STORE\" run --rm -it --init -v $d:/ci basic sh /ci/inner.sh" \
		/dev/null <"$d/in" >"$d/out" 2>&1 &
	pid=$!
	exec 7>"$d/in"
	for i in $(seq 200); do
		[ -e "$d/ready" ] && break
		sleep 0.1
	done
	[ -e "$d/ready" ] || fail "the container never got ready: $(cat "$d/out")"
	printf '\003' >&7
	sleep 1
	touch "$d/stop"
	wait "$pid"
	exec 7>&-
	run cat "$d/out"
	assert_output_contains "pid=2 pgrp=2 tpgid=2"
	assert_output_contains "count=1"
}

@test "--init reaps orphaned zombies" {
	run --separate-stderr husk run --rm --init basic sh -c \
		'sh -c "sleep 0.1 & exit 0"; sleep 0.5; grep -l "^State:.*Z" /proc/[0-9]*/status | wc -l'
	assert_status 0
	assert_output "0"
}

@test "--init forwards signals to the command" {
	run --separate-stderr husk run --rm --init basic sh -c \
		'trap "echo got-term; exit 3" TERM; kill -TERM 1; sleep 2 & wait'
	assert_status 3
	assert_output "got-term"
}
