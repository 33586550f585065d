#!/usr/bin/env bats
# The image builder the other tests rely on: its layouts must be what other
# OCI tools accept, and the same options must give the same image.

bats_require_minimum_version 1.5.0
load helpers

setup_file() {
	ensure_images
}

@test "mkimage: skopeo and umoci accept every test image" {
	for ref in basic:latest basic:v1 entry:latest multi:latest plain:latest two:one two:two \
		fullref:example.com/team/app:2.0 whiteout:latest; do
		skopeo inspect "oci:$IMAGES/$ref" >/dev/null || fail "skopeo rejects $ref"
		umoci stat --image "$IMAGES/$ref" >/dev/null || fail "umoci rejects $ref"
	done
	skopeo inspect "oci:$IMAGES/single" >/dev/null || fail "skopeo rejects single"
}

@test "mkimage: the config digest skopeo sees is the ID mkimage printed" {
	for img in basic entry multi plain single; do
		got=$(skopeo inspect --raw "oci:$IMAGES/$img$([ "$img" = single ] || echo :latest)" |
			grep -o '"config":{[^}]*}' | grep -o 'sha256:[0-9a-f]*')
		[ "$got" = "sha256:$(image_id "$img")" ] || fail "$img: skopeo $got, mkimage $(image_id "$img")"
	done
}

@test "mkimage: the same options give the same image ID, other options another" {
	mkdir -p "$BATS_TEST_TMPDIR/l2/etc"
	echo x >"$BATS_TEST_TMPDIR/l2/etc/x"
	a=$("$MKIMAGE" "$BATS_TEST_TMPDIR/a" --tag t --layer "$BATS_TEST_TMPDIR/l2" --env A=1)
	# Another mtime on the host must not change the ID.
	touch -d @123456789 "$BATS_TEST_TMPDIR/l2/etc/x"
	b=$("$MKIMAGE" "$BATS_TEST_TMPDIR/b" --tag t --layer "$BATS_TEST_TMPDIR/l2" --env A=1)
	c=$("$MKIMAGE" "$BATS_TEST_TMPDIR/c" --tag t --layer "$BATS_TEST_TMPDIR/l2" --env A=2)
	[[ "$a" =~ ^[0-9a-f]{64}$ ]] || fail "not an ID: $a"
	[ "$a" = "$b" ] || fail "two builds differ: $a $b"
	[ "$a" != "$c" ] || fail "--env made no difference"
	diff -r "$BATS_TEST_TMPDIR/a" "$BATS_TEST_TMPDIR/b"
}

@test "mkimage: --owner-file sets the owner in the last layer only" {
	layer=$IMAGES/basic/blobs/sha256/$(layer_hexes "$IMAGES/basic" | tail -1)
	run tar -tvzf "$layer" data/owned etc/passwd
	assert_status 0
	[[ "${lines[0]}" == *" 1234/1234 "* ]] || fail "data/owned: ${lines[0]}"
	[[ "${lines[1]}" == *" 0/0 "* ]] || fail "etc/passwd: ${lines[1]}"
}

@test "mkimage: the base layer has busybox, its applets, and /tmp 1777" {
	layer=$IMAGES/basic/blobs/sha256/$(layer_hexes "$IMAGES/basic" | head -1)
	run tar -tvzf "$layer"
	assert_status 0
	[[ "$output" == *"-rwxr-xr-x 0/0 "*" bin/busybox"* ]] || fail "no bin/busybox"
	[[ "$output" == *" bin/sh -> busybox"* ]] || fail "no bin/sh applet link"
	[[ "$output" == *"drwxrwxrwt 0/0 "*" tmp/"* ]] || fail "no /tmp 1777"
	[[ "$output" == *" usr/bin/hsk-report"* ]] || fail "no hsk-report"
}
