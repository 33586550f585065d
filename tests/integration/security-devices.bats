#!/usr/bin/env bats
# Device nodes (issue 19, item 1): no node an image ships or a container makes ever opens a
# host device; only the default devices are usable.  docs/security.md, "Device nodes", says
# which layer does what: nodev on every writable mount, the device cgroup as root, the
# unpacker that never makes char or block nodes, and rootless the user namespace.
#
# Nothing here writes to a device: a node for the host's disk is only ever opened.

bats_require_minimum_version 1.5.0
load helpers

setup_file() {
	ensure_images
	new_store "$BATS_FILE_TMPDIR/store"
	export STORE
	pull basic latest

	# The disk that holds a marker file of ours: its filesystem's major:minor.
	export MARKER=$BATS_FILE_TMPDIR/marker
	echo "husk device test marker" >"$MARKER"
	DISK=$(stat -c '%Hd %Ld' "$MARKER")
	if [ "${DISK% *}" = 0 ]; then
		# tmpfs or overlay: any real block device will do.
		DISK=$(tr ':' ' ' </sys/class/block/"$(ls /sys/class/block | head -1)"/dev)
	fi
	export DISK

	# A hostile image: 0666 nodes for the host's disk and the host's sensitive devices.
	local spec=$BATS_FILE_TMPDIR/hostile.spec
	cat >"$spec" <<-EOF
		dir nodes 0755
		block nodes/disk ${DISK% *} ${DISK#* }
		block nodes/loop0 7 0
		char nodes/kmsg 1 11
		char nodes/mem 1 1
		char nodes/kmem 1 2
		char nodes/port 1 4
		char nodes/vcsa 7 128
		char nodes/console 5 1
		char nodes/tty0 4 0
		char nodes/kvm 10 232
		char nodes/fuse 10 229
		char nodes/tun 10 200
		fifo nodes/fifo 0666
	EOF
	"$TOP/tests/mklayer.py" "$BATS_FILE_TMPDIR/hostile.tar" <"$spec"
	"$MKIMAGE" "$BATS_FILE_TMPDIR/hostile" --tag latest \
		--layer-tar "$BATS_FILE_TMPDIR/hostile.tar" >/dev/null
	husk pull "oci:$BATS_FILE_TMPDIR/hostile:latest" >/dev/null 2>"$BATS_FILE_TMPDIR/pull.err" || {
		cat "$BATS_FILE_TMPDIR/pull.err" >&2
		return 1
	}
}

teardown_file() {
	remove_store "$STORE"
}

# Every device node the image ships, and what each stands for.
NODES="/nodes/disk /nodes/loop0 /nodes/kmsg /nodes/mem /nodes/kmem /nodes/port /nodes/vcsa
/nodes/console /nodes/tty0 /nodes/kvm /nodes/fuse /nodes/tun"

# In the container: open each argument read-only, write-only (appending nothing), then
# read-write; never writes a byte.
# Prints "OPENED MODE PATH" for each open that succeeded, then "done".
# shellcheck disable=SC2016 # expanded by the container's sh
PROBE='for f in "$@"; do
	[ -e "$f" ] || { echo "absent $f"; continue; }
	(exec 3<"$f") 2>/dev/null && echo "OPENED r $f"
	(exec 3>>"$f") 2>/dev/null && echo "OPENED w $f"
	(exec 3<>"$f") 2>/dev/null && echo "OPENED rw $f"
done
echo done'

setup() {
	# The options of the run that found a block device writable on the old husk.  Without a
	# subordinate range only uid 0 is mapped: the other options still apply.
	STRICT=(-u 1000 --cap-drop ALL --security-opt no-new-privileges --read-only)
	[ "$(test_mode)" != nosub ] || STRICT=("${STRICT[@]:2}")
}

assert_nothing_opened() {
	assert_status 0
	[[ "$output" == *done ]] || fail "the probe did not finish" "$output" "${stderr:-}"
	[[ "$output" != *OPENED* ]] || fail "a device node opened:" "$output"
}

# A node for each kind of danger, made in DIR by root on the host (not nodev there).
plant_nodes() { # DIR
	mknod -m 0666 "$1/disk" b ${DISK% *} ${DISK#* }
	mknod -m 0666 "$1/kmsg" c 1 11
	mknod -m 0666 "$1/console" c 5 1
	mknod -m 0666 "$1/mem" c 1 1
}

# ------------------------------------------------------------ image nodes
@test "devices: an image's block device node cannot reach the host disk (CVE class: device access)" {
	# shellcheck disable=SC2086 # NODES is a list
	run --separate-stderr husk run --rm hostile sh -c "$PROBE" sh $NODES
	assert_nothing_opened
	# shellcheck disable=SC2086
	run --separate-stderr husk run --rm "${STRICT[@]}" hostile sh -c "$PROBE" sh $NODES
	assert_nothing_opened
	# The marker on that disk is as it was.
	[ "$(cat "$MARKER")" = "husk device test marker" ]
}

@test "devices: the store never holds an image's char or block node, in any mode (CVE class: device access)" {
	grep -q "device nodes skipped" "$BATS_FILE_TMPDIR/pull.err" ||
		fail "no note of skipped device nodes:" "$(cat "$BATS_FILE_TMPDIR/pull.err")"
	# Whiteouts (0:0 char nodes, when the store uses them) are overlayfs's, not devices.
	local found
	found=$(find "$STORE/layers" \( -type b -o -type c \) -exec stat -c '%n %t:%T' {} + | grep -v ' 0:0$' || true)
	[ -z "$found" ] || fail "device nodes in the store:" "$found"
	# A fifo is not a device: it stays.
	run --separate-stderr husk run --rm hostile sh -c '[ -p /nodes/fifo ] && echo fifo'
	assert_output fifo
}

@test "devices: nodes already in the store (an older husk's layers) open nothing (CVE class: device access)" {
	[ "$(test_mode)" = root ] ||
		skip "only root can make device nodes on the host; rootless, see the SB_I_NODEV test"
	new_store "$BATS_TEST_TMPDIR/store"
	pull basic latest
	local diff
	for diff in "$STORE"/layers/*/diff; do
		mkdir -p "$diff/planted"
		plant_nodes "$diff/planted"
	done
	local list="/planted/disk /planted/kmsg /planted/console /planted/mem"
	# shellcheck disable=SC2086
	run --separate-stderr husk run --rm basic sh -c "$PROBE" sh $list
	assert_nothing_opened
	# shellcheck disable=SC2086
	run --separate-stderr husk run --rm "${STRICT[@]}" basic sh -c "$PROBE" sh $list
	assert_nothing_opened
	remove_store "$STORE"
}

# ---------------------------------------------------------- made in the container
@test "devices: mknod then open fails in /, /tmp, /dev, /dev/shm, a tmpfs and a volume (CVE class: device access)" {
	local vol=$BATS_TEST_TMPDIR/vol
	mkdir -p "$vol"
	chmod 0777 "$vol"
	# shellcheck disable=SC2016
	local script='for d in / /tmp /dev /dev/shm /scratch /vol; do
		i=0
		for n in "c 1 11" "b $1 $2" "c 5 1" "c 1 3"; do
			i=$((i + 1))
			f=$d/node$i
			mknod -m 0666 "$f" $n 2>/dev/null || { echo "refused mknod $f"; continue; }
			(exec 3<"$f") 2>/dev/null && echo "OPENED r $f ($n)"
			(exec 3>>"$f") 2>/dev/null && echo "OPENED w $f ($n)"
			(exec 3<>"$f") 2>/dev/null && echo "OPENED rw $f ($n)"
		done
	done
	echo done'
	run --separate-stderr husk run --rm -v "$vol:/vol" --tmpfs /scratch basic \
		sh -c "$script" sh ${DISK% *} ${DISK#* }
	assert_nothing_opened
	# Nothing the container made in the volume reaches a host device from the host side
	# either: at most harmless 1:3 nodes are there.
	local found
	found=$(find "$vol" \( -type b -o -type c \) -exec stat -c '%n %t:%T' {} + | grep -v ' 1:3$' || true)
	[ -z "$found" ] || fail "the container left device nodes in the volume:" "$found"
}

@test "devices: every writable mount in the container is nodev (CVE class: device access)" {
	local vol=$BATS_TEST_TMPDIR/vol
	mkdir -p "$vol"
	# Field 5 is the mount point, field 6 its options.
	run --separate-stderr husk run --rm -v "$vol:/vol" --tmpfs /scratch basic \
		awk '{ print $5, $6 }' /proc/self/mountinfo
	assert_status 0
	local mp line
	for mp in / /dev /dev/shm /dev/mqueue /vol /scratch; do
		line=$(awk -v m="$mp" '$1 == m { print }' <<<"$output" | tail -1)
		[ -n "$line" ] || fail "no mount on $mp" "$output"
		[[ ",${line#* }," == *,nodev,* ]] || fail "$mp is not nodev: $line" "$output"
	done
	run --separate-stderr husk run --rm basic sh -c 'echo x >/dev/null; mknod /dev/shm/p p && [ -p /dev/shm/p ] && echo fifo'
	assert_output fifo
}

@test "devices: a tmpfs cannot be asked for device nodes (--tmpfs PATH:dev)" {
	run --separate-stderr husk run --rm --tmpfs /scratch:dev basic true
	[ "$status" -ne 0 ] || fail "--tmpfs with dev was accepted"
	assert_stderr_contains "nodev"
}

# ------------------------------------------------------------- what still works
@test "devices: /dev/null, zero, full, random, urandom, /dev/tty and a pty still work" {
	# shellcheck disable=SC2016
	local script='echo x >/dev/null && echo null
		[ "$(head -c 4 /dev/zero | wc -c)" = 4 ] && echo zero
		[ "$(head -c 4 /dev/urandom | wc -c)" = 4 ] && echo urandom
		[ "$(head -c 4 /dev/random | wc -c)" = 4 ] && echo random
		(echo x >/dev/full) 2>&1 | grep -q "No space" && echo full'
	local want='null
zero
urandom
random
full'
	run --separate-stderr husk run --rm basic sh -c "$script"
	assert_output "$want"
	run --separate-stderr husk run --rm "${STRICT[@]}" basic sh -c "$script"
	assert_output "$want"
	# With -t: the container's own pty (ptmx, then /dev/pts/0) and /dev/tty.
	# shellcheck disable=SC2016
	local tscript='t=$(tty) && echo "$t" && echo viatty >/dev/tty && echo viapts >"$t" &&
		echo viaconsole >/dev/console'
	run --separate-stderr husk run --rm -t basic sh -c "$tscript" </dev/null
	assert_status 0
	[ "$(tr -d '\r' <<<"$output")" = "/dev/pts/0
viatty
viapts
viaconsole" ] || fail "with -t:" "$output" "${stderr:-}"
	run --separate-stderr husk run --rm -t "${STRICT[@]}" basic sh -c "$tscript" </dev/null
	assert_status 0
	[ "$(tr -d '\r' <<<"$output")" = "/dev/pts/0
viatty
viapts
viaconsole" ] || fail "with -t as 1000:" "$output" "${stderr:-}"
}

# ---------------------------------------------------------------- the device cgroup
devices_v1=/sys/fs/cgroup/devices
cgroup2_root() {
	local d
	for d in /sys/fs/cgroup /sys/fs/cgroup/unified; do
		[ "$(stat -f -c %T "$d" 2>/dev/null)" = cgroup2fs ] && { echo "$d"; return 0; }
	done
	return 1
}

@test "devices: as root the container and husk exec run in a device cgroup of the defaults, removed at exit" {
	[ "$(test_mode)" = root ] || skip "rootless there is no device cgroup: the user namespace does its work"
	local id v2 procs
	v2=$(cgroup2_root || true)
	[ -d "$devices_v1" ] || [ -n "$v2" ] || fail "no device hierarchy on this host"
	id=$(husk run -d basic sleep 60)
	if [ -d "$devices_v1" ]; then
		local cg=$devices_v1/husk/$id
		[ -d "$cg" ] || fail "no v1 cgroup $cg"
		[ "$(cat "$cg/devices.list")" = "c 1:3 rwm
c 1:5 rwm
c 1:7 rwm
c 1:8 rwm
c 1:9 rwm
c 5:0 rwm
c 5:2 rw
c 136:* rw" ] || fail "devices.list:" "$(cat "$cg/devices.list")"
		# A host process placed in it is held to the same rules.
		run bash -c 'echo $BASHPID >"$1/cgroup.procs" && { (exec 3</dev/null) && echo null-ok; (exec 3</dev/kmsg) || echo kmsg-refused; }' _ "$cg"
		assert_output_contains "null-ok"
		assert_output_contains "kmsg-refused"
	fi
	if [ -n "$v2" ]; then
		[ -d "$v2/husk/$id" ] || fail "no cgroup2 directory $v2/husk/$id"
		run bash -c 'echo $BASHPID >"$1/cgroup.procs" && { (exec 3</dev/null) && echo null-ok; (exec 3</dev/kmsg) || echo kmsg-refused; }' _ "$v2/husk/$id"
		assert_output_contains "null-ok"
		assert_output_contains "kmsg-refused"
	fi
	# husk exec joins it: two processes in it while the exec'd one runs.
	husk exec -d "$id" sleep 30
	for h in ${devices_v1:+$devices_v1} ${v2:+$v2}; do
		[ -d "$h/husk/$id" ] || continue
		procs=$(wc -l <"$h/husk/$id/cgroup.procs")
		[ "$procs" -ge 2 ] || fail "$h: $procs process(es) in the container's cgroup"
	done
	run --separate-stderr husk exec "$id" cat /proc/self/cgroup
	assert_status 0
	husk rm -f "$id" >/dev/null
	[ ! -e "$devices_v1/husk/$id" ] || fail "v1 cgroup left after rm"
	[ -z "$v2" ] || [ ! -e "$v2/husk/$id" ] || fail "cgroup2 directory left after rm"

	# A killed monitor: its container dies with it, and the next command that reads the
	# record removes the cgroup.
	id=$(husk run -d basic sleep 60)
	local mon
	mon=$(awk '{ print $3 }' "/run/husk/$id/pid" 2>/dev/null || true)
	[ -n "$mon" ] || skip "cannot find the monitor's pid"
	kill -9 "$mon"
	sleep 0.5
	husk ps -a >/dev/null
	[ ! -e "$devices_v1/husk/$id" ] || fail "v1 cgroup left after the monitor was killed"
	[ -z "$v2" ] || [ ! -e "$v2/husk/$id" ] || fail "cgroup2 directory left after the monitor was killed"
	husk rm -f "$id" >/dev/null
}

# ------------------------------------------------------------------ rootless
@test "devices: rootless, the kernel refuses device nodes on a user namespace's mounts (SB_I_NODEV)" {
	[ "$(test_mode)" != root ] || skip "as root there is no user namespace: nodev and the device cgroup do it"
	command -v unshare >/dev/null || skip "no unshare(1)"
	local d=$BATS_TEST_TMPDIR/sb
	mkdir -p "$d/mnt"
	# Control: a whiteout node (0:0, which anyone may make) on the host opens as a device
	# would, and fails for want of a driver (ENXIO).
	mknod "$d/w" c 0 0
	run cat "$d/w"
	assert_output_contains "No such device or address"
	# A tmpfs mounted in a user namespace, without nodev: the same node is refused before
	# any driver is looked for (EACCES), because the superblock is SB_I_NODEV.
	# shellcheck disable=SC2016
	run unshare -Urm sh -c 'mount -t tmpfs t "$1" &&
		awk -v m="$1" '\''$5 == m { print "opts", $6 }'\'' /proc/self/mountinfo &&
		mknod "$1/w" c 0 0 && cat "$1/w"' _ "$d/mnt"
	[[ "$output" != *nodev* ]] || fail "the tmpfs was nodev after all" "$output"
	assert_output_contains "Permission denied"
	# In the container, the same on the overlay root, /tmp, /dev/shm and a volume: and no
	# real node can be made at all (CAP_MKNOD in a user namespace covers only whiteouts).
	local vol=$BATS_TEST_TMPDIR/vol
	mkdir -p "$vol"
	# shellcheck disable=SC2016
	run --separate-stderr husk run --rm -v "$vol:/vol" basic sh -c 'for dir in / /tmp /dev/shm /vol; do
		mknod "$dir/w" c 0 0 && { cat "$dir/w" 2>&1 | grep -q "Permission denied" || echo "OPENED-OR-ENXIO $dir"; }
		mknod "$dir/k" c 1 11 2>/dev/null && echo "MADE $dir/k"
	done; echo done'
	assert_status 0
	[[ "$output" == *done ]] || fail "no done" "$output" "$stderr"
	[[ "$output" != *OPENED* && "$output" != *MADE* ]] || fail "$output"
}
