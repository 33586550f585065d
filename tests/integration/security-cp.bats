#!/usr/bin/env bats
# husk cp against a container that races it (the CVE-2018-15664 class): a container that can
# write a host directory (a volume) swaps what husk is creating there for a symlink to a host
# file, hoping husk links, chmods or reads that file by name.  Each test plants a marker
# outside the volume (0600, in a 0700 directory) that nothing may reach, runs a real racing
# container (hsk-report race: renameat2 RENAME_EXCHANGE in a loop) and copies over and over.
# The copies' own status is not what is checked: only the host's files are.  Also here: set-id
# bits and device nodes on copies out of a container, and cp -a.

bats_require_minimum_version 1.5.0
load helpers

# How many copies a race gets, and for how long at most: the old husk lost within a few.
ATTEMPTS=${HUSK_RACE_ATTEMPTS:-40}
RACE_SECONDS=${HUSK_RACE_SECONDS:-25}

setup_file() {
	ensure_images
	new_store "$BATS_FILE_TMPDIR/store"
	export STORE
	pull basic latest
}

teardown_file() {
	remove_store "$STORE"
}

setup() {
	RUNNING=()
	T=$BATS_TEST_TMPDIR
	mkdir -p "$T/vol" "$T/secret"
	chmod 0700 "$T/secret"
}

teardown() {
	local n
	for n in "${RUNNING[@]}"; do
		husk rm -f "$n" >/dev/null 2>&1 || true
	done
	# What the containers left in the volume may belong to their users.
	remove_store "$T/vol" || true
}

# racer NAME PATH TARGET [SETUP]: a running container with $T/vol at /vol that first runs the
# shell SETUP, then keeps a symlink to TARGET at PATH whatever husk creates there.
racer() {
	local name=$1 path=$2 target=$3 setup=${4:-true}
	run --separate-stderr husk run -d --name "$name" -v "$T/vol:/vol" basic sh -c \
		"$setup && touch /vol/.ready && exec hsk-report race '$path' '$target'"
	assert_status 0
	RUNNING+=("$name")
	local i
	for i in $(seq 100); do
		[ -e "$T/vol/.ready" ] && return 0
		sleep 0.1
	done
	fail "racer $name never got ready: $(husk logs "$name" 2>&1)"
}

# marker NAME: a host file outside the volume, only its owner may read it.
marker() {
	echo "marker $1" >"$T/secret/$1"
	chmod 0600 "$T/secret/$1"
}

# Every marker still has one link, its mode and its content.  One stat and the shell's own
# read: the racer keeps a CPU busy, and forks are slow.
markers_intact() {
	local f line bad
	bad=$(stat -c '%h %a %n' "$T/secret"/* | grep -v '^1 600 ' || true)
	for f in "$T/secret"/*; do
		read -r line <"$f"
		[ "$line" = "marker ${f##*/}" ] || bad+=" $f (content)"
	done
	[ -z "$bad" ] && return 0
	for f in $bad; do
		[ -f "$f" ] && echo "host file $f was reached: $(stat -c 'links %h mode %a' "$f"), in the volume as:" \
			"$(find "$T/vol" -samefile "$f" 2>/dev/null | tr '\n' ' ')" >&2
	done
	return 1
}

# race_copy ARGS...: husk cp ARGS up to $ATTEMPTS times (or $RACE_SECONDS) while a racer runs;
# fails as soon as a marker is reached.  Input for "-" copies comes from $RACE_STDIN.
race_copy() {
	local i start=$SECONDS
	for ((i = 1; i <= ATTEMPTS && SECONDS - start < RACE_SECONDS; i++)); do
		husk cp "$@" <"${RACE_STDIN:-/dev/null}" >/dev/null 2>"$T/cp.err" || true
		markers_intact || fail "after copy $i: husk cp $*: $(cat "$T/cp.err")" || return 1
	done
	echo "# $((i - 1)) copies, no host file reached" >&3
}

# A stopped container with $T/vol at /vol (it ran once, so /vol is there to mount on).
stopped_with_volume() { # NAME
	run --separate-stderr husk run --name "$1" -v "$T/vol:/vol" basic true
	assert_status 0
}

# ---------------------------------------------------------------- hard links
@test "CVE-2018-15664: cp out never hard-links a host file into a volume the container swaps for a symlink" {
	local i
	for i in $(seq 40); do marker "n$i"; done
	mkdir "$T/vol/out"
	# /src holds one inode under 40 names; husk links the 39 later names to its first copy, by
	# the path "src/<first name>" below the destination.  The container turns src into a link
	# to ../../secret, which from the host's vol/out is $T/secret.
	racer hl /vol/out/src ../../secret \
		'mkdir /src && echo data >/src/n1 && for i in $(seq 2 40); do ln /src/n1 /src/n$i; done'
	race_copy hl:/src "$T/vol/out/"
}

# ------------------------------------------------------------------- modes
@test "CVE-2018-15664: cp out never changes the mode of a host file the container links over a new fifo" {
	marker marker
	mkdir "$T/vol/out"
	racer fifo /vol/out/src/p ../../../secret/marker 'mkdir /src && mkfifo /src/p && chmod 0666 /src/p'
	race_copy fifo:/src "$T/vol/out/"
	# What the race left aside is the fifo husk made, with the mode it should have.
	run find "$T/vol/out/src" -maxdepth 1 -name 'p.[0-9]*' -type p -perm 0666
	[ -n "$output" ] || [ -p "$T/vol/out/src/p" ] || fail "no fifo was copied at all"
}

@test "CVE-2018-15664: a tar stream into a stopped container never changes the mode of a host file a racing container links" {
	marker marker
	mkdir -p "$T/vol/in"
	python3 - "$T/fifo.tar" <<'PY'
import sys, tarfile
with tarfile.open(sys.argv[1], "w") as tf:
	i = tarfile.TarInfo("p")
	i.type = tarfile.FIFOTYPE
	i.mode = 0o666
	tf.addfile(i)
PY
	stopped_with_volume tar-stopped
	racer tar-other /vol/in/p "$T/secret/marker"
	RACE_STDIN=$T/fifo.tar race_copy - tar-stopped:/vol/in
}

# --------------------------------------------------------- host destination
@test "CVE-2018-15664: a symlink the container plants at the host destination is not followed" {
	marker marker
	run --separate-stderr husk run --name plant -v "$T/vol:/vol" basic sh -c \
		'ln -s ../secret /vol/dir && ln -s ../secret/marker /vol/file && echo evil >/evil'
	assert_status 0
	run --separate-stderr husk cp plant:/evil "$T/vol/dir"
	assert_status 1
	assert_one_error_line
	run --separate-stderr husk cp plant:/evil "$T/vol/dir/"
	assert_status 1
	assert_one_error_line
	run --separate-stderr husk cp plant:/evil "$T/vol/file"
	assert_status 1
	assert_one_error_line
	[ "$(ls "$T/secret")" = marker ] || fail "written on the host: $(ls "$T/secret")"
	markers_intact
	# The links are still the container's own.
	[ "$(readlink "$T/vol/file")" = ../secret/marker ]
}

# --------------------------------------------------------------- set-id bits
@test "CVE-2018-15664: cp out drops setuid and setgid bits unless -a, also in a tar stream" {
	run --separate-stderr husk run --name suid basic sh -c \
		'mkdir /d && echo x >/d/suid && chmod 4755 /d/suid && echo y >/d/sgid && chmod 2755 /d/sgid'
	assert_status 0

	run --separate-stderr husk cp suid:/d/suid "$T/one"
	assert_status 0
	[ "$(stat -c %a "$T/one")" = 755 ] || fail "mode $(stat -c %a "$T/one")"
	run --separate-stderr husk cp suid:/d "$T/tree"
	assert_status 0
	[ "$(stat -c %a "$T/tree/suid") $(stat -c %a "$T/tree/sgid")" = "755 755" ] ||
		fail "modes $(stat -c %a "$T/tree/suid") $(stat -c %a "$T/tree/sgid")"
	husk cp suid:/d - >"$T/d.tar"
	run tar -tvf "$T/d.tar"
	assert_status 0
	assert_output_contains "-rwxr-xr-x"
	[[ "$output" != *rws* && "$output" != *r-s* ]] || fail "set-id bits in the stream:" "$output"

	# -a asks for them.
	run --separate-stderr husk cp -a suid:/d "$T/arch"
	assert_status 0
	[ "$(stat -c %a "$T/arch/suid") $(stat -c %a "$T/arch/sgid")" = "4755 2755" ] ||
		fail "modes with -a: $(stat -c %a "$T/arch/suid") $(stat -c %a "$T/arch/sgid")"
	run --separate-stderr husk cp --archive suid:/d/suid "$T/arch-one"
	assert_status 0
	[ "$(stat -c %a "$T/arch-one")" = 4755 ]
	husk cp -a suid:/d - >"$T/arch.tar"
	run tar -tvf "$T/arch.tar"
	assert_status 0
	assert_output_contains "-rwsr-xr-x"
	assert_output_contains "-rwxr-sr-x"
}

@test "cp -a keeps the owners a copy out would give to the caller" {
	run --separate-stderr husk create --name owners basic true
	assert_status 0
	run --separate-stderr husk cp owners:/data/owned "$T/plain"
	assert_status 0
	[ "$(stat -c %u:%g "$T/plain")" = "$(id -u):$(id -g)" ]
	run --separate-stderr husk cp -a owners:/data/owned "$T/kept"
	assert_status 0
	local want
	case $(test_mode) in
	root) want=1234:1234 ;;
	sub) # container id 1234 is the range's 1234th
		want=$(($(subid_range /etc/subuid | cut -d' ' -f1) + 1233)):$(($(subid_range /etc/subgid | cut -d' ' -f1) + 1233)) ;;
	nosub) want=$(id -u):$(id -g) ;; # without a range the image's 1234 is the caller already
	esac
	[ "$(stat -c %u:%g "$T/kept")" = "$want" ] || fail "owner $(stat -c %u:%g "$T/kept"), expected $want"
}

# -------------------------------------------------------------- device nodes
@test "CVE-2018-15664: cp never creates a device node on the host" {
	run --separate-stderr husk run -d --name dev basic sleep 1000
	assert_status 0
	RUNNING+=(dev)

	# A device named as the source is refused.
	run --separate-stderr husk cp dev:/dev/null "$T/null"
	assert_status 1
	assert_one_error_line
	assert_stderr_contains "device"
	[ ! -e "$T/null" ] && [ ! -L "$T/null" ]

	# Inside a directory it is left out with a warning, the rest is copied.
	run --separate-stderr husk cp dev:/dev "$T/devcopy"
	assert_status 0
	assert_stderr_contains 'husk: warning: "devcopy/null": a device node is not copied'
	[ -d "$T/devcopy" ]
	run find "$T/devcopy" \( -type c -o -type b \)
	assert_output ""

	# Nor is it written into a tar stream, unless -a asks for an exact archive.
	husk cp dev:/dev - >"$T/dev.tar"
	run tar -tvf "$T/dev.tar"
	assert_status 0
	[[ "$output" != *$'\n'c* && "$output" != c* ]] || fail "a device in the stream:" "$output"
	husk cp -a dev:/dev - >"$T/dev-a.tar"
	run tar -tvf "$T/dev-a.tar"
	assert_output_contains "dev/null"
}

@test "CVE-2018-15664: cp and a tar stream into a container create no device node either" {
	python3 - "$T/dev.tar" <<'PY'
import sys, tarfile
with tarfile.open(sys.argv[1], "w") as tf:
	i = tarfile.TarInfo("null")
	i.type = tarfile.CHRTYPE
	i.devmajor, i.devminor = 1, 3
	i.mode = 0o666
	tf.addfile(i)
	i = tarfile.TarInfo("f")
	i.size = 0
	tf.addfile(i)
PY
	run --separate-stderr husk create --name devin basic true
	assert_status 0
	run --separate-stderr husk cp - devin:/tmp <"$T/dev.tar"
	assert_status 0
	assert_stderr_contains 'husk: warning: "null": a device node is not copied'
	run --separate-stderr husk cp /dev/null devin:/tmp/n2
	assert_status 1
	assert_one_error_line
	run --separate-stderr husk diff devin
	assert_status 0
	assert_output "C /tmp
A /tmp/f"
}
