#!/usr/bin/env bats
# What a container is: its own pid, uts and user namespaces, its own root
# file system on top of the image, state in the store.  The expected id
# mappings depend on who runs the suite (see test_mode in helpers.bash):
#   root   no new user namespace: uid_map "0 0 4294967295"
#   sub    "0 UID 1" and "1 SUBUID_START SUBUID_COUNT"
#   nosub  "0 UID 1" only; every file in the image shows as 0

bats_require_minimum_version 1.5.0
load helpers

setup_file() {
	ensure_images
	new_store "$BATS_FILE_TMPDIR/store"
	export STORE
	pull basic latest
	if [ -n "${HUSK_TEST_MODE:-}" ] && [ "$HUSK_TEST_MODE" != "$(test_mode)" ]; then
		echo "tests/run says mode $HUSK_TEST_MODE, this user looks like $(test_mode)" >&2
		return 1
	fi
}

teardown_file() {
	remove_store "$STORE"
}

# For the tests that look at the store: a store of their own.
own_store() {
	new_store "$BATS_TEST_TMPDIR/store"
	pull basic latest
}

teardown() {
	remove_store "$BATS_TEST_TMPDIR/store"
}

container_dirs() {
	if [ -d "$STORE/containers" ]; then
		find "$STORE/containers" -mindepth 1 -maxdepth 1 -printf '%f\n'
	fi
}

# ----------------------------------------------------------- namespaces
@test "the command is pid 1" {
	run --separate-stderr husk run --rm basic hsk-report pid
	assert_status 0
	assert_output "1"
}

@test "/proc is the container's own: /proc/1 is the command" {
	run --separate-stderr husk run --rm basic sh -c 'tr "\000" " " </proc/1/cmdline; echo'
	assert_status 0
	[[ "$output" == "sh -c tr "* ]] || fail "/proc/1/cmdline: $output"
}

@test "/proc is a proc mount in the container's mount table" {
	run --separate-stderr husk run --rm basic hsk-report mounts
	assert_status 0
	# mountinfo: ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTS ... - FSTYPE SOURCE SUPER
	grep -qE '^[0-9]+ [0-9]+ [0-9]+:[0-9]+ [^ ]+ /proc [^-]*- proc ' <<<"$output" ||
		fail "no proc on /proc:" "$output"
	grep -qE '^[0-9]+ [0-9]+ [0-9]+:[0-9]+ [^ ]+ / ' <<<"$output" || fail "no / mount:" "$output"
	! grep -qE ' /work | /home ' <<<"$output" || fail "host mounts visible:" "$output"
}

@test "the hostname is not the host's" {
	run --separate-stderr husk run --rm basic hsk-report hostname
	assert_status 0
	[ -n "$output" ] || fail "empty hostname"
	[ "$output" != "$(uname -n)" ] || fail "the container has the host's hostname: $output"
}

@test "setting the hostname inside does not change the host's" {
	host=$(uname -n)
	# sethostname needs CAP_SYS_ADMIN, which containers lack by default (as in Docker).
	run --separate-stderr husk run --rm --cap-add SYS_ADMIN basic sh -c 'hostname changed-inside && hostname'
	now=$(uname -n)
	if [ "$now" != "$host" ] && [ "$(id -u)" = 0 ]; then
		hostname "$host"
	fi
	[ "$now" = "$host" ] || fail "the host's hostname became $now"
	assert_status 0
	assert_output "changed-inside"
}

@test "uid_map is the expected one for this user" {
	run --separate-stderr husk run --rm basic hsk-report uidmap
	assert_status 0
	assert_output "$(expected_map uid)"
}

@test "gid_map is the expected one for this user" {
	run --separate-stderr husk run --rm basic hsk-report gidmap
	assert_status 0
	assert_output "$(expected_map gid)"
}

@test "the process is uid 0, gid 0 inside" {
	run --separate-stderr husk run --rm basic hsk-report ids
	assert_status 0
	assert_output "uid=0 gid=0"
}

# ---------------------------------------------------------- file owners
@test "a file owned by 1234 in the image: 1234 with a range or as root, 0 without" {
	run --separate-stderr husk run --rm basic hsk-report stat /data/owned
	assert_status 0
	case $(test_mode) in
	root | sub) assert_output "1234 1234 0644" ;;
	nosub) assert_output "0 0 0644" ;;
	esac
	run --separate-stderr husk run --rm basic cat /data/owned
	assert_status 0
	assert_output "owned-by-tester"
}

@test "files owned by root in the image are root's inside, modes kept" {
	run --separate-stderr husk run --rm basic sh -c \
		'for p in /etc/passwd /tmp /root /bin/busybox /usr/local/bin/notexec; do hsk-report stat $p; done'
	assert_status 0
	assert_output "0 0 0644
0 0 1777
0 0 0700
0 0 0755
0 0 0644"
}

@test "chown to 1234 inside works with a range or as root, not without" {
	run --separate-stderr husk run --rm basic sh -c \
		'touch /tmp/f && chown 1234:1234 /tmp/f && hsk-report stat /tmp/f'
	case $(test_mode) in
	root | sub)
		assert_status 0
		assert_output "1234 1234 0644"
		;;
	nosub)
		[ "$status" -ne 0 ] || fail "chown to an unmapped id succeeded: $output"
		;;
	esac
}

# ----------------------------------------------------------- root fs
@test "the root file system is the image's, not the host's" {
	# /etc/hostname is husk's (the container's hostname, as docker mounts it): the image's own
	# marker is read beside the image's /etc/hostname, which husk's file covers.
	run --separate-stderr husk run --rm basic sh -c 'grep -c "^tester:" /etc/passwd; test -e /etc/debian_version'
	assert_status 1
	assert_output "1"
}

@test "the root file system is writable" {
	run --separate-stderr husk run --rm basic sh -c \
		'echo new > /newfile && echo more >> /etc/passwd && rm /etc/group && cat /newfile'
	assert_status 0
	assert_output "new"
}

@test "writes inside a container do not change the image" {
	own_store
	before=$(store_snapshot \( -path "$STORE/containers" -o -path "$STORE/container-names" \) -prune -o)
	run --separate-stderr husk run basic sh -c \
		'echo x > /tmp/marker && echo changed-inside > /etc/group && rm /usr/local/bin/hello && mkdir /newdir'
	assert_status 0
	run --separate-stderr husk run --rm basic sh -c \
		'test ! -e /tmp/marker && test ! -e /newdir && test -x /usr/local/bin/hello && grep -c "^tester:" /etc/group'
	assert_status 0
	assert_output "1"
	after=$(store_snapshot \( -path "$STORE/containers" -o -path "$STORE/container-names" \) -prune -o)
	[ "$before" = "$after" ] ||
		fail "the store outside containers/ and container-names/ changed:" "$(diff <(echo "$before") <(echo "$after") | head -20)"
}

@test "open file descriptors: only 0, 1 and 2 reach the container" {
	run --separate-stderr husk run --rm basic hsk-report fds
	assert_status 0
	assert_output "0
1
2"
}

# -------------------------------------------------------- container state
@test "--rm leaves no container directory behind" {
	own_store
	run --separate-stderr husk run --rm basic true
	assert_status 0
	[ -z "$(container_dirs)" ] || fail "left behind: $(container_dirs)"
}

@test "--rm cleans up after a failing command and after a signal" {
	own_store
	run --separate-stderr husk run --rm basic hsk-report exit 7
	assert_status 7
	run --separate-stderr husk run --rm basic hsk-report kill-self SEGV
	assert_status 139
	[ -z "$(container_dirs)" ] || fail "left behind: $(container_dirs)"
}

@test "without --rm the container's state stays in containers/ID" {
	own_store
	run --separate-stderr husk run basic true
	assert_status 0
	[ "$(container_dirs | wc -l)" -eq 1 ] || fail "expected one container, got:" "$(container_dirs)"
	run --separate-stderr husk run basic true
	assert_status 0
	[ "$(container_dirs | wc -l)" -eq 2 ] || fail "expected two containers, got:" "$(container_dirs)"
}

@test "containers of the same image do not see each other's files" {
	own_store
	run --separate-stderr husk run basic sh -c 'echo one > /tmp/mine'
	assert_status 0
	run --separate-stderr husk run basic sh -c 'test ! -e /tmp/mine'
	assert_status 0
}
