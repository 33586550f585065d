#!/usr/bin/env bats
# husk run: what a container sees and what it cannot do, reported from inside by hsk-report.

bats_require_minimum_version 1.5.0
load helpers

setup_file() {
	ensure_images
	new_store "$BATS_FILE_TMPDIR/store"
	export STORE
	pull basic latest
	# A setuid-root copy of the helper, for no_new_privs.
	local stage=$BATS_FILE_TMPDIR/suid-stage i
	mkdir -p "$stage/usr/bin"
	cp "$IMAGES/hsk-report" "$stage/usr/bin/hsk-suid"
	chmod 4755 "$stage/usr/bin/hsk-suid"
	"$MKIMAGE" "$BATS_FILE_TMPDIR/suid" --tag latest \
		--add "$IMAGES/hsk-report:/usr/bin/hsk-report" --layer "$stage" >/dev/null
	husk pull "oci:$BATS_FILE_TMPDIR/suid:latest" >/dev/null 2>&1
	# 130 layers, each adding /layers/N and overwriting /top.
	local args=()
	for i in $(seq 1 129); do
		mkdir -p "$BATS_FILE_TMPDIR/deep/$i/layers"
		echo "$i" >"$BATS_FILE_TMPDIR/deep/$i/layers/$i"
		echo "$i" >"$BATS_FILE_TMPDIR/deep/$i/top"
		args+=(--layer "$BATS_FILE_TMPDIR/deep/$i")
	done
	"$MKIMAGE" "$BATS_FILE_TMPDIR/deep-image" --tag latest --compression none "${args[@]}" >/dev/null
	husk pull "oci:$BATS_FILE_TMPDIR/deep-image:latest" >/dev/null 2>&1
}

teardown_file() {
	remove_store "$STORE"
}

# A write to a read-only mount: EROFS.  Rootless, the host's files belong to an unmapped owner,
# and the permission check (EACCES) comes first; the mount test checks the ro flag itself.
refused() { # ERRNO_NAME
	[ "$1" = EROFS ] || { [ "$(test_mode)" != root ] && [ "$1" = EACCES ]; }
}

# ------------------------------------------------------------ namespaces
@test "namespaces: mnt, pid, net, uts, ipc, cgroup are new; user too when rootless" {
	local ns inside host
	for ns in mnt pid net uts ipc cgroup user; do
		inside=$(husk run --rm basic readlink /proc/self/ns/$ns)
		host=$(readlink /proc/self/ns/$ns)
		if [ $ns = user ] && [ "$(test_mode)" = root ]; then
			[ "$inside" = "$host" ] || fail "root: user namespace $inside, host $host"
		else
			[ -n "$inside" ] && [ "$inside" != "$host" ] || fail "$ns: inside $inside, host $host"
		fi
	done
}

@test "the uid and gid maps are the store's" {
	run --separate-stderr husk run --rm basic hsk-report uidmap
	assert_output "$(expected_map uid)"
	run --separate-stderr husk run --rm basic hsk-report gidmap
	assert_output "$(expected_map gid)"
}

# As root the container makes its cgroup namespace only once husk has put it in its device
# cgroup (runtime/devices.c): this also checks that late namespace.
@test "cgroup namespace: the container's cgroup is its root" {
	run --separate-stderr husk run --rm basic cat /proc/self/cgroup
	assert_status 0
	while read -r line; do
		[[ "$line" == *:/ ]] || fail "not at the namespace root: $line" "$output"
	done <<<"$output"
}

@test "pid 1 is the command; host processes are neither visible nor reachable" {
	# The shell expands the glob itself, before it forks: only pid 1 exists then.
	run --separate-stderr husk run --rm basic sh -c 'echo $$; echo /proc/[0-9]*'
	assert_output "1
/proc/1"
	run --separate-stderr husk run --rm basic hsk-report try kill "$$"
	assert_output "ESRCH"
}

@test "loopback is up in the network namespace, and nothing else is there" {
	run --separate-stderr husk run --rm basic sh -c 'cat /sys/class/net/lo/flags; ls /sys/class/net'
	assert_status 0
	(( ${lines[0]} & 1 )) || fail "lo is down: $output"
	[ "${lines[1]}" = lo ] && [ "${#lines[@]}" = 2 ] || fail "$output"
}

# ---------------------------------------------------------------- mounts
@test "mounts: overlay root, proc, sysfs ro, /dev tmpfs, devpts, shm, mqueue" {
	run --separate-stderr husk run --rm basic hsk-report mounts
	assert_status 0
	mnt() { # MOUNTPOINT TYPE [OPTION]
		echo "$output" | awk -v m="$1" -v t="$2" -v o="${3:-}" '
			$5 == m { for (i = 7; i <= NF; i++) if ($i == "-") break;
				if ($(i + 1) == t && (o == "" || index("," $6 ",", "," o ","))) found = 1 }
			END { exit !found }' || fail "no $2 on $1 ${3:-}" "$output"
	}
	mnt / overlay
	mnt /proc proc nosuid
	mnt /sys sysfs ro
	mnt /dev tmpfs nosuid
	mnt /dev/pts devpts noexec
	mnt /dev/shm tmpfs nodev
	mnt /dev/mqueue mqueue nosuid
	mnt /proc/sys proc ro
	if [ -e /proc/sysrq-trigger ]; then mnt /proc/sysrq-trigger proc ro; fi
}

@test "/dev: the device nodes, links and ptmx, and nothing of the host's" {
	run --separate-stderr husk run --rm basic sh -c \
		'for n in null zero full random urandom tty; do [ -c /dev/$n ] || echo "no $n"; done
		 for l in fd stdin stdout stderr ptmx; do readlink /dev/$l; done; ls /dev | wc -l
		 echo x > /dev/null && head -c 4 /dev/zero | wc -c'
	assert_status 0
	assert_output "/proc/self/fd
/proc/self/fd/0
/proc/self/fd/1
/proc/self/fd/2
pts/ptmx
14
4"
}

@test "masked paths are empty, read-only paths refuse writes" {
	local p masked=()
	for p in /proc/keys /proc/timer_list /proc/sched_debug /proc/kcore /proc/acpi /proc/scsi /sys/firmware; do
		[ -e "$p" ] && masked+=("$p")
	done
	[ ${#masked[@]} -gt 0 ] || skip "none of the masked paths exists on this kernel"
	# shellcheck disable=SC2016
	run --separate-stderr husk run --rm basic sh -c 'for p in "$@"; do
			if [ -d "$p" ]; then echo "$p $(ls -A "$p" | wc -l)"; else echo "$p $(wc -c < "$p")"; fi
		done' _ "${masked[@]}"
	assert_status 0
	for p in "${masked[@]}"; do
		assert_output_contains "$p 0"
	done
	run --separate-stderr husk run --rm basic sh -c \
		'hsk-report try write /proc/sys/kernel/domainname; hsk-report try write /sys/class/net/lo/mtu; hsk-report try write /proc/keys; hsk-report try write /proc/irq/default_smp_affinity'
	assert_status 0
	refused "${lines[0]}" && refused "${lines[1]}" && refused "${lines[3]}" || fail "$output"
	# /proc/keys is /dev/null now: writing is harmless and goes nowhere.
	[ "${lines[2]}" = ok ] || [ "${lines[2]}" = ENOENT ] || fail "/proc/keys: ${lines[2]}"
}

@test "--network host: /sys is the host's, bound read-only" {
	run --separate-stderr husk run --rm --network host basic hsk-report try write /sys/class/net/lo/mtu
	refused "$output" || fail "$output"
}

# --------------------------------------------------------------- escapes
@test "escape: mounting fails" {
	run --separate-stderr husk run --rm basic hsk-report try mount /mnt
	assert_output "EPERM"
}

@test "escape: unsharing namespaces fails" {
	local ns
	for ns in user mnt net pid; do
		run --separate-stderr husk run --rm basic hsk-report try unshare $ns
		assert_output "EPERM"
	done
	# Without seccomp, the missing CAP_SYS_ADMIN still refuses a mount namespace.
	run --separate-stderr husk run --rm --security-opt seccomp=unconfined basic hsk-report try unshare mnt
	assert_output "EPERM"
	# With it, the filter lets namespaces through, as Docker's does.
	run --separate-stderr husk run --rm --cap-add SYS_ADMIN basic hsk-report try unshare mnt
	assert_output "ok"
}

@test "escape: the image's layers are never written" {
	local before
	before=$(store_snapshot -path "$STORE/layers*")
	run --separate-stderr husk run --rm basic sh -c \
		'echo changed > /etc/motd; rm -f /usr/local/bin/hello; chmod 777 /data/owned; echo x >> /usr/bin/hsk-report'
	assert_status 0
	[ "$before" = "$(store_snapshot -path "$STORE/layers*")" ] || fail "a layer changed"
	run --separate-stderr husk run --rm basic sh -c 'cat /usr/local/bin/hello | head -1; ls -l /data/owned | cut -c1-10'
	assert_output "#!/bin/sh
-rw-r--r--"
}

@test "escape: TIOCSTI into the caller's terminal fails (CVE-2017-5226)" {
	command -v script >/dev/null || skip "no script(1)"
	# No descriptor of the terminal reaches the container (ENOTTY); were one to, its own
	# session would still make TIOCSTI fail (EPERM).  security-tty.bats tests the rest.
	run script -qec "\"$HUSK\" --root \"$STORE\" run --rm basic hsk-report try tiocsti" /dev/null
	[[ "$output" == *ENOTTY* || "$output" == *EPERM* ]] || fail "TIOCSTI: $output"
	run script -qec "\"$HUSK\" --root \"$STORE\" run --rm --security-opt seccomp=unconfined basic hsk-report try tiocsti" /dev/null
	[[ "$output" == *ENOTTY* || "$output" == *EPERM* ]] || fail "TIOCSTI: $output"
}

@test "CVE-2019-5736: the container cannot open husk's binary through /proc/1/exe" {
	local copy=$BATS_TEST_TMPDIR/husk-copy sum
	# A copy the caller may write, so that only husk's protection can refuse.
	cp "$HUSK" "$copy"
	chmod 0755 "$copy"
	sum=$(sha256sum <"$copy")
	run --separate-stderr timeout 60 "$copy" --root "$STORE" run --rm --init basic sh -c \
		'hsk-report try write /proc/1/exe; readlink /proc/1/exe || echo no-link; echo x >> /proc/1/exe && echo wrote; true'
	assert_status 0
	[ "${lines[0]}" = EACCES ] || [ "${lines[0]}" = EPERM ] || [ "${lines[0]}" = ETXTBSY ] ||
		fail "open /proc/1/exe for writing: $output"
	assert_output_contains "no-link"
	[[ "$output" != *wrote* ]] || fail "wrote through /proc/1/exe"
	[ "$sum" = "$(sha256sum <"$copy")" ] || fail "husk's binary changed"
}

# ------------------------------------------------------------ privileges
@test "root: Docker's default capabilities, nothing inheritable or ambient" {
	run --separate-stderr husk run --rm basic sh -c \
		'for f in CapInh CapPrm CapEff CapBnd CapAmb; do hsk-report status $f; done'
	assert_output "0000000000000000
00000000a80425fb
00000000a80425fb
00000000a80425fb
0000000000000000"
}

@test "non-root user: no capabilities but the bounding set" {
	[ "$(test_mode)" = nosub ] && skip "no subordinate ids to run a non-root user with"
	run --separate-stderr husk run --rm -u tester basic sh -c \
		'for f in CapInh CapPrm CapEff CapBnd CapAmb; do hsk-report status $f; done'
	assert_output "0000000000000000
0000000000000000
0000000000000000
00000000a80425fb
0000000000000000"
}

@test "setuid programs work; with no-new-privileges they grant nothing" {
	[ "$(test_mode)" = nosub ] && skip "no subordinate ids to run a non-root user with"
	run --separate-stderr husk run --rm -u tester suid hsk-suid euid
	assert_status 0
	assert_output "euid=0 egid=1234"
	run --separate-stderr husk run --rm -u tester --security-opt no-new-privileges suid hsk-suid euid
	assert_status 0
	assert_output "euid=1234 egid=1234"
}

@test "an image of 130 layers runs, the uppermost layer wins" {
	run --separate-stderr husk run --rm deep-image sh -c 'cat /top; ls /layers | wc -l'
	assert_status 0
	assert_output "129
129"
}

@test "seccomp is on by default, no_new_privs off" {
	run --separate-stderr husk run --rm basic sh -c 'hsk-report status Seccomp; hsk-report status NoNewPrivs'
	assert_output "2
0"
}

@test "only stdio is open in the container, with and without --init" {
	run --separate-stderr husk run --rm basic hsk-report fds
	assert_output "0
1
2"
	run --separate-stderr husk run --rm --init basic hsk-report fds
	assert_output "0
1
2"
}
