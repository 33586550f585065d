#!/usr/bin/env bats
# husk run: /sys/fs/cgroup is the cgroup2 hierarchy, read-only, seen from the container's own
# cgroup namespace (as Docker and podman mount it), whatever the host's own layout.

bats_require_minimum_version 1.5.0
load helpers

setup_file() {
	ensure_images
	new_store "$BATS_FILE_TMPDIR/store"
	export STORE
	pull basic latest
}

# The type and options of the uppermost mount on /sys/fs/cgroup, the container's cgroup, whether
# cgroup.procs is there, and what writing to it does.
# shellcheck disable=SC2016
inside='awk '\''$5 == "/sys/fs/cgroup" { for (i = 7; $i != "-"; i++); t = $(i + 1) " " $6 } END { print t }'\'' /proc/self/mountinfo
	grep "^0::" /proc/self/cgroup
	[ -e /sys/fs/cgroup/cgroup.procs ] && echo has-procs
	hsk-report try write /sys/fs/cgroup/cgroup.procs'

check_cgroup() {
	assert_status 0
	[[ "${lines[0]}" == "cgroup2 ro,nosuid,nodev,noexec"* ]] || fail "/sys/fs/cgroup: ${lines[0]}" "$output"
	[ "${lines[1]}" = "0::/" ] || fail "not the root of its cgroup namespace: ${lines[1]}" "$output"
	[ "${lines[2]}" = has-procs ] || fail "no cgroup.procs" "$output"
	# A rootless container's root does not own the files, so the kernel may say EACCES first.
	[ "${lines[3]}" = EROFS ] || { [ "$(test_mode)" != root ] && [ "${lines[3]}" = EACCES ]; } ||
		fail "writing cgroup.procs: ${lines[3]}" "$output"
}

@test "/sys/fs/cgroup: cgroup2, read-only, rooted at the container's cgroup namespace" {
	grep -qw cgroup2 /proc/filesystems || skip "this kernel has no cgroup2"
	run --separate-stderr husk run --rm basic sh -c "$inside"
	check_cgroup
}

@test "/sys/fs/cgroup: cgroup2 read-only with --network host too" {
	grep -qw cgroup2 /proc/filesystems || skip "this kernel has no cgroup2"
	run --separate-stderr husk run --rm --network host basic sh -c "$inside"
	check_cgroup
}
