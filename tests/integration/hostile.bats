#!/usr/bin/env bats
# Hostile layers: every escape a tar can try is refused with one error
# naming the entry, the host is untouched and the store is as it was.
# The layers are written by tests/mklayer.py, which writes any entry asked
# for; VICTIM is a directory beside the store that no layer may touch.

bats_require_minimum_version 1.5.0
load helpers

setup_file() {
	ensure_images
}

setup() {
	new_store
	VICTIM=$BATS_TEST_TMPDIR/victim
	mkdir -p "$VICTIM/dir"
	echo safe >"$VICTIM/victim"
	echo safe >"$VICTIM/dir/file"
	VICTIM_BEFORE=$(victim_state)
}

teardown() {
	remove_store "$STORE"
}

victim_state() {
	find "$VICTIM" -printf '%P %y %s %m %U\n' | LC_ALL=C sort
	cat "$VICTIM/victim" "$VICTIM/dir/file"
	python3 -c 'import os,sys; print(sorted(os.listxattr(sys.argv[1])))' "$VICTIM/dir"
}

# The store sits at $BATS_TEST_TMPDIR/store and a layer is unpacked in
# store/tmp/layer-X/diff: four ".." from there is $BATS_TEST_TMPDIR.
UP=../../../..

# hostile NAME EXPECT: build an image whose second layer is SPEC (stdin),
# pull it, and check the refusal.
hostile() {
	local name=$1 expect=$2 layout=$BATS_TEST_TMPDIR/$1 before
	"$TOP/tests/mklayer.py" "$BATS_TEST_TMPDIR/$name.tar"
	"$MKIMAGE" "$layout" --tag latest --compression none \
		--layer-tar "$BATS_TEST_TMPDIR/$name.tar" >/dev/null
	pull basic latest
	before=$(store_snapshot)
	run --separate-stderr husk pull "oci:$layout:latest"
	assert_status 1
	assert_one_error_line
	assert_stderr_contains "$expect"
	[ -z "$output" ] || fail "stdout: $output"
	assert_store_unchanged "$before"
	[ "$(victim_state)" = "$VICTIM_BEFORE" ] || fail "the host changed:" "$(victim_state)"
	run --separate-stderr husk images
	[[ "$output" != *"$name"* ]] || fail "the image was recorded"
}

@test "hostile: a \"..\" entry" {
	hostile dotdot 'entry "../../../../victim/victim": ".." is not allowed' <<EOF
file $UP/victim/victim 644 0 0 pwned
EOF
}

@test "hostile: \"..\" in the middle of a path" {
	hostile dotdotmid '".." is not allowed' <<EOF
dir a
file a/../$UP/victim/victim 644 0 0 pwned
EOF
}

@test "hostile: an absolute path" {
	hostile absolute "entry \"$VICTIM/victim\": absolute paths are not allowed" <<EOF
file $VICTIM/victim 644 0 0 pwned
EOF
}

@test "hostile: a file written through a symlink an earlier entry planted (absolute)" {
	hostile symabs 'entry "esc/victim": path goes through a symlink' <<EOF
symlink esc $VICTIM
file esc/victim 644 0 0 pwned
EOF
}

@test "hostile: a file written through a symlink an earlier entry planted (relative)" {
	hostile symrel 'entry "esc/victim/victim": path goes through a symlink' <<EOF
symlink esc $UP
file esc/victim/victim 644 0 0 pwned
EOF
}

@test "hostile: a directory replaced by a symlink, then written through" {
	hostile dirswap 'entry "d/file": path goes through a symlink' <<EOF
dir d
symlink d $VICTIM/dir
file d/file 644 0 0 pwned
EOF
}

@test "hostile: a directory entry through a symlink (chmod of the host's directory)" {
	hostile dirthrough 'entry "esc/dir/": path goes through a symlink' <<EOF
symlink esc $VICTIM
dir esc/dir 777
EOF
}

@test "hostile: a hardlink to a host file by \"..\"" {
	hostile hlup 'hardlink to "../../../../victim/victim": ".." is not allowed' <<EOF
hardlink h $UP/victim/victim
EOF
}

@test "hostile: a hardlink to an absolute path" {
	hostile hlabs 'absolute paths are not allowed' <<EOF
hardlink h $VICTIM/victim
EOF
}

@test "hostile: a hardlink through a planted symlink" {
	hostile hlsym 'hardlink to "esc/victim": path goes through a symlink' <<EOF
symlink esc $VICTIM
hardlink h esc/victim
EOF
}

@test "hostile: a whiteout through a planted symlink (would delete a host file)" {
	hostile whsym 'entry "esc/.wh.victim": path goes through a symlink' <<EOF
symlink esc $VICTIM
file esc/.wh.victim
EOF
}

@test "hostile: an opaque marker through a planted symlink (would set a host xattr)" {
	hostile opqsym 'entry "esc/dir/.wh..wh..opq": path goes through a symlink' <<EOF
symlink esc $VICTIM
file esc/dir/.wh..wh..opq
EOF
}

@test "hostile: a forged overlay xattr is not applied" {
	printf 'dir d 755\nxattr user.overlay.opaque y\nxattr trusted.overlay.opaque y\nfile d/f 644 0 0 x\n' |
		"$TOP/tests/mklayer.py" "$BATS_TEST_TMPDIR/x.tar"
	"$MKIMAGE" "$BATS_TEST_TMPDIR/xattr" --tag latest --add /etc/hostname:/d/lower \
		--layer-tar "$BATS_TEST_TMPDIR/x.tar" >/dev/null
	run --separate-stderr husk pull "oci:$BATS_TEST_TMPDIR/xattr:latest"
	assert_status 0
	run --separate-stderr husk run --rm xattr ls /d
	assert_status 0
	assert_output "f
lower"
}

@test "hostile: symlinks pointing outside are kept as symlinks and stay inside the container" {
	printf 'symlink abs %s\nsymlink rel %s\n' "$VICTIM/victim" "$UP/victim/victim" |
		"$TOP/tests/mklayer.py" "$BATS_TEST_TMPDIR/s.tar"
	"$MKIMAGE" "$BATS_TEST_TMPDIR/syms" --tag latest --layer-tar "$BATS_TEST_TMPDIR/s.tar" >/dev/null
	run --separate-stderr husk pull "oci:$BATS_TEST_TMPDIR/syms:latest"
	assert_status 0
	run --separate-stderr husk run --rm syms sh -c 'cat /abs /rel 2>&1; readlink /abs'
	[[ "$output" != *safe* ]] || fail "the container read the host file: $output"
	assert_output_contains "$VICTIM/victim"
	[ "$(victim_state)" = "$VICTIM_BEFORE" ] || fail "the host changed"
}
