#!/usr/bin/env bats
# Mount destinations (volumes, --tmpfs) are resolved inside the container's root, through
# every symlink, the last component's too, and never onto the container's /proc:
#   CVE-2019-19921: a destination through a symlink into /proc covers the kernel's files there
#   CVE-2021-30465: a destination swapped for a symlink between the check and the mount
#   CVE-2024-45310: a destination through a magic link makes directories outside the root
# and what docker users expect of a symlink at a destination (podman mounts onto its target).

bats_require_minimum_version 1.5.0
load helpers

setup_file() {
	ensure_images
	new_store "$BATS_FILE_TMPDIR/store"
	export STORE HUSK
	local l=$BATS_FILE_TMPDIR/links
	mkdir -p "$l/etc" "$l/usr/share/zoneinfo/Europe" "$l/data"
	ln -s /usr/share/zoneinfo/Europe/Paris "$l/etc/localtime" # dangling
	ln -s /usr/share/zoneinfo/Nowhere/Zone "$l/etc/deepzone"  # dangling, parents missing
	ln -s /data "$l/dirlink"
	ln -s dirlink "$l/chain1"
	ln -s /chain1 "$l/chain2"
	ln -s ../../../../../../../../etc "$l/upetc"
	ln -s /../../../../../../data "$l/rootup"
	ln -s /proc/sys/kernel "$l/prockernel"
	ln -s /proc/self/fd/3 "$l/procfd"
	ln -s loop2 "$l/loop1"
	ln -s loop1 "$l/loop2"
	"$MKIMAGE" "$BATS_FILE_TMPDIR/img" --tag latest --compression none \
		--add "$IMAGES/hsk-report:/usr/bin/hsk-report" --layer "$l" >/dev/null
	husk pull "oci:$BATS_FILE_TMPDIR/img:latest" >/dev/null 2>&1 || return 1
	pull basic latest
}

teardown_file() {
	husk rm -f racer >/dev/null 2>&1 || true
	remove_store "$STORE"
}

# A host file and directory with known contents, for sources.
sources() {
	SRCFILE=$BATS_TEST_TMPDIR/src-file
	SRCDIR=$BATS_TEST_TMPDIR/src-dir
	mkdir -p "$SRCDIR"
	echo file-source >"$SRCFILE"
	echo dir-source >"$SRCDIR/marker"
}

# No mount in the container's mount table below /proc but what husk puts there: read-only
# binds of procfs, binds of the null node and empty read-only tmpfs (the masks).
no_mount_on_proc() { # MOUNTINFO
	local bad
	bad=$(printf '%s\n' "$1" | awk '$5 ~ "^/proc/" {
		for (i = 7; i <= NF && $i != "-"; i++) ;
		fs = $(i + 1)
		if (fs == "proc" || $4 == "/null" || (fs == "tmpfs" && $6 ~ "^ro,")) next
		print }')
	[ -z "$bad" ] || fail "a mount landed on the container's /proc:" "$bad"
}

@test "symlink destination: -v FILE onto a dangling /etc/localtime mounts on its target, made inside the root" {
	sources
	run --separate-stderr husk run --rm -v "$SRCFILE:/etc/localtime" localhost/img \
		sh -c 'cat /etc/localtime; cat /usr/share/zoneinfo/Europe/Paris; readlink /etc/localtime'
	assert_status 0
	assert_output "file-source
file-source
/usr/share/zoneinfo/Europe/Paris"
	# Missing parents of the target are made too.
	run --separate-stderr husk run --rm -v "$SRCFILE:/etc/deepzone" localhost/img cat /usr/share/zoneinfo/Nowhere/Zone
	assert_status 0
	assert_output file-source
}

@test "symlink destination: directories, chains, relative and absolute climbs stay inside the root" {
	sources
	local d
	for d in /dirlink /chain1 /chain2 /rootup; do
		run --separate-stderr husk run --rm -v "$SRCDIR:$d" localhost/img cat /data/marker
		assert_status 0
		assert_output dir-source
	done
	run --separate-stderr husk run --rm -v "$SRCDIR:/upetc" localhost/img cat /etc/marker
	assert_status 0
	assert_output dir-source
	run --separate-stderr husk run --rm --tmpfs /chain2 localhost/img sh -c 'touch /data/t && grep " /data " /proc/self/mountinfo'
	assert_status 0
	assert_output_contains "tmpfs"
	# The host's /etc is untouched by the climb.
	[ ! -e /etc/marker ] || fail "a volume landed on the host's /etc"
}

@test "symlink destination: a loop is one error line" {
	sources
	run --separate-stderr husk run --rm -v "$SRCDIR:/loop1" localhost/img true
	assert_status 125
	assert_one_error_line
	assert_stderr_contains 'mount on "/loop1"'
	assert_stderr_contains "symlink loop"
}

@test "symlink destination: cp into a stopped container reaches the volume through the link" {
	sources
	husk create --name cpvol -v "$SRCFILE:/etc/localtime" localhost/img true >/dev/null
	husk start -a cpvol
	run --separate-stderr husk cp cpvol:/usr/share/zoneinfo/Europe/Paris "$BATS_TEST_TMPDIR/out"
	assert_status 0
	[ "$(cat "$BATS_TEST_TMPDIR/out")" = file-source ] || fail "copied: $(cat "$BATS_TEST_TMPDIR/out")"
	husk rm -f cpvol >/dev/null
}

@test "CVE-2019-19921: a volume or tmpfs through a symlink into /proc never covers the container's procfs" {
	sources
	local spec
	for spec in "-v $SRCDIR:/prockernel" "-v $SRCDIR:/prockernel/sub" "--tmpfs /prockernel" \
		"-v $SRCDIR:/procfd/x" "-v $SRCDIR:/proc/sys/kernel" "-v $SRCFILE:/proc/sys/kernel/ostype"; do
		# shellcheck disable=SC2086 # the options are split on purpose
		run --separate-stderr husk run --rm $spec localhost/img \
			sh -c 'cat /proc/self/mountinfo; cat /proc/sys/kernel/marker 2>/dev/null; true'
		if [ "$status" -eq 0 ]; then
			[[ "$output" != *dir-source* ]] || fail "$spec: the volume covers /proc/sys/kernel"
			no_mount_on_proc "$output"
		else
			assert_one_error_line
			assert_stderr_contains "resolves into /proc"
		fi
	done
}

@test "CVE-2021-30465: a destination a racing container swaps for a symlink into /proc is never mounted there" {
	sources
	local shared=$BATS_TEST_TMPDIR/shared i landed=0 tries=0 end=$((SECONDS + 25))
	mkdir -p "$shared"
	chmod 0777 "$shared"
	# The racer flips /v/b between a directory and a symlink to /proc/sys/kernel.
	husk run -d --name racer -v "$shared:/v" localhost/img hsk-report flip /v/b /proc/sys/kernel >/dev/null
	for _ in $(seq 1 100); do
		[ -e "$shared/b.flip" ] && break
		sleep 0.05
	done
	[ -e "$shared/b.flip" ] || fail "the racer did not start"
	for i in $(seq 1 60); do
		[ "$SECONDS" -lt "$end" ] || break
		tries=$i
		run --separate-stderr husk run --rm -v "$shared:/a" -v "$SRCDIR:/a/b" localhost/img \
			sh -c 'cat /proc/sys/kernel/marker 2>/dev/null; cat /proc/self/mountinfo'
		if [ "$status" -eq 0 ]; then
			if [[ "$output" == *dir-source* ]]; then
				landed=$((landed + 1))
				break
			fi
			no_mount_on_proc "$output"
		else
			assert_one_error_line
		fi
	done
	husk rm -f racer >/dev/null
	echo "# $tries starts raced" >&3
	[ "$landed" -eq 0 ] || fail "a volume landed on /proc/sys/kernel after $tries starts"
}

@test "CVE-2024-45310: a destination through a magic link makes nothing outside the root (fds 3..30)" {
	local n v1=$BATS_TEST_TMPDIR/v1 v2=$BATS_TEST_TMPDIR/v2
	mkdir -p "$v1" "$v2"
	for n in $(seq 3 30); do
		run --separate-stderr husk run --rm -v "$v1:/one" -v "$v2:/proc/self/fd/$n/made-$n" basic true
		[ "$status" -ne 0 ] || fail "-v ...:/proc/self/fd/$n/made-$n was mounted"
		assert_one_error_line
		run --separate-stderr husk run --rm -v "$v1:/one" --tmpfs "/proc/self/fd/$n/tmp-$n" basic true
		[ "$status" -ne 0 ] || fail "--tmpfs /proc/self/fd/$n/tmp-$n was mounted"
		run --separate-stderr husk run --rm -v "$v1:/one" -v "$v2:/procfd/img-$n" localhost/img true
		[ "$status" -ne 0 ] || fail "-v ...:/procfd/img-$n was mounted"
	done
	local made
	made=$(find "$v1" "$v2" "$STORE" "$BATS_FILE_TMPDIR" -name 'made-*' -o -name 'tmp-*' -o -name 'img-*' 2>/dev/null)
	[ -z "$made" ] || fail "made outside the container's root:" "$made"
}
