#!/usr/bin/env bats
# The container's /proc and /dev as husk sets them up:
#   CVE-2025-31133: the masks over /proc/kcore and the rest are the null device, even when the
#                   container's /dev/null is a symlink to a kernel file by the time of the mask
#   CVE-2025-52565: with -t, /dev/console is the container's own pty, bound onto the file
#                   husk made, nothing else
#   CVE-2025-52881: what husk writes for a process joining the container (its cgroup) goes to
#                   the host's files, never to ones the container has mounted over them

bats_require_minimum_version 1.5.0
load helpers

setup_file() {
	ensure_images
	new_store "$BATS_FILE_TMPDIR/store"
	export STORE HUSK
	pull basic latest
}

teardown_file() {
	husk rm -f cover >/dev/null 2>&1 || true
	remove_store "$STORE"
}

# Only reads: a broken build may have bound a kernel file here.
MASKED_FILES="/proc/kcore /proc/keys /proc/timer_list /proc/latency_stats /proc/sched_debug /proc/timer_stats"

@test "CVE-2025-31133: masked files are the null device, also with a /dev volume whose null is a symlink into /proc" {
	local dev=$BATS_TEST_TMPDIR/dev f
	mkdir -p "$dev"
	ln -s /proc/sys/kernel/ostype "$dev/null"
	for opts in "" "-v $dev:/dev"; do
		# shellcheck disable=SC2086 # the options are split on purpose
		run --separate-stderr husk run --rm $opts basic sh -c "
			for f in $MASKED_FILES; do
				[ -e \$f ] || continue
				echo \"\$f \$(ls -l \$f | awk '{ print \$1, \$5, \$6 }') \$(head -c 64 \$f 2>&1 | wc -c)\"
			done"
		assert_status 0
		[ -n "$output" ] || fail "no masked file in the container"
		while read -r f mode maj min size; do
			[[ "$mode" == c* && "$maj$min" == "1,3" && "$size" == 0 ]] ||
				fail "opts \"$opts\": $f is not the null device ($mode $maj$min, $size bytes read)"
		done <<<"$output"
	done
}

@test "CVE-2025-31133: masked directories are empty and read-only, read-only paths refuse writes" {
	run --separate-stderr husk run --rm basic sh -c '
		for d in /proc/acpi /proc/scsi /sys/firmware; do
			[ -d $d ] || continue
			touch $d/x 2>/dev/null && r=created || r=refused
			echo "$d $(ls -A $d | wc -l) $r"
		done
		for p in /proc/sysrq-trigger /proc/sys/kernel/hostname /proc/irq/default_smp_affinity; do
			[ -e $p ] && echo "$p $(hsk-report try write $p)"
		done'
	assert_status 0
	while read -r p a b; do
		case $p in
		/proc/acpi | /proc/scsi | /sys/firmware)
			[ "$a" = 0 ] && [ "$b" = refused ] || fail "$p: $a entries, a new file: $b" ;;
		# Rootless, the kernel's owner check (EACCES) comes before the read-only mount's.
		*) [ "$a" = EROFS ] || { [ "$a" = EACCES ] && [ "$(test_mode)" != root ]; } ||
			fail "$p: write: $a" ;;
		esac
	done <<<"$output"
}

@test "CVE-2025-52565: with -t, /dev/console is the container's own terminal and nothing else is bound from devpts" {
	run --separate-stderr python3 "$TOP/tests/integration/ptyrun.py" -- \
		"$HUSK" --root "$STORE" run --rm -t basic sh -c '
			ls -l /dev/console | awk "{ print \$1, \$5, \$6 }"
			ls -lL /proc/self/fd/0 | awk "{ print \$1, \$5, \$6 }"
			awk "{ for (i = 7; \$i != \"-\"; i++) ; if (\$(i + 1) == \"devpts\") print \$5 }" /proc/self/mountinfo'
	assert_status 0
	local lines_
	mapfile -t lines_ < <(printf '%s\n' "$output" | tr -d '\r' | grep -v '^$')
	[[ "${lines_[0]}" == c* ]] || fail "/dev/console is not a terminal: ${lines_[0]}" "$output"
	[ "${lines_[0]}" = "${lines_[1]}" ] || fail "/dev/console (${lines_[0]}) is not stdin's terminal (${lines_[1]})"
	[ "$(printf '%s\n' "${lines_[@]:2}" | sort | tr '\n' ' ')" = "/dev/console /dev/pts " ] ||
		fail "devpts mounted at: ${lines_[*]:2}"
}

@test "CVE-2025-52881: a container that covers its /sys/fs/cgroup and /proc cannot redirect exec's writes" {
	[ "$(test_mode)" = root ] || skip "only husk run by root puts exec into a device cgroup"
	local id
	id=$(husk run -d --name cover --cap-add SYS_ADMIN basic sleep 100000 | tail -1)
	[ ${#id} -eq 64 ] || fail "no container id: $id"
	# Its own writable files where exec's joiner would write if it looked in the container: every
	# cgroup path husk uses, and the attr and oom files of /proc/self.
	husk exec -e "ID=$id" cover sh -c '
		for m in /sys/fs/cgroup /sys/fs/cgroup/devices /sys/fs/cgroup/unified; do
			mkdir -p $m 2>/dev/null; mount -t tmpfs none $m 2>/dev/null
		done
		for m in /sys/fs/cgroup /sys/fs/cgroup/devices /sys/fs/cgroup/unified; do
			mkdir -p $m/husk/$ID 2>/dev/null && : >$m/husk/$ID/cgroup.procs
		done
		mount -t tmpfs none /proc/sys 2>/dev/null
		true'
	run --separate-stderr husk exec cover sh -c 'cat /proc/self/cgroup; echo ---; cat /proc/1/cgroup'
	assert_status 0
	local mine=${output%%---*} pid1=${output##*---}
	[ "$(echo $mine)" = "$(echo $pid1)" ] || fail "exec's process is not in pid 1's cgroups:" "$output"
	run husk exec cover sh -c 'cat /sys/fs/cgroup/husk/*/cgroup.procs /sys/fs/cgroup/*/husk/*/cgroup.procs 2>/dev/null'
	[ -z "$output" ] || fail "exec wrote its pid into the container's own file: $output"
	husk rm -f cover >/dev/null
}
