#!/usr/bin/env bats
# Layer formats: gzip and uncompressed, several layers, whiteouts.

bats_require_minimum_version 1.5.0
load helpers

setup_file() {
	ensure_images
}

setup() {
	new_store
}

teardown() {
	remove_store "$STORE"
}

@test "gzip layers: a file in layer 2 overrides layer 1" {
	grep -q 'tar+gzip' "$IMAGES/multi/blobs/sha256/$(manifest_hex "$IMAGES/multi")" ||
		fail "the multi image should have gzip layers"
	pull multi latest
	run --separate-stderr husk run --rm multi
	assert_status 0
	assert_output "layer 2"
}

@test "gzip layers: files from every layer are there" {
	[ "$(layer_hexes "$IMAGES/multi" | wc -l)" -eq 3 ] || fail "multi should have 3 layers"
	pull multi latest
	run --separate-stderr husk run --rm multi sh -c 'cat /l2 /l3; grep -c "^tester:" /etc/passwd'
	assert_status 0
	assert_output "from layer 2
from layer 3
1"
}

@test "uncompressed layers: a file in layer 2 overrides layer 1" {
	m="$IMAGES/plain/blobs/sha256/$(manifest_hex "$IMAGES/plain")"
	grep -q 'layer.v1.tar"' "$m" && ! grep -q 'tar+gzip' "$m" ||
		fail "the plain image should have uncompressed layers"
	pull plain latest
	run --separate-stderr husk run --rm plain
	assert_status 0
	assert_output "layer 2"
	run --separate-stderr husk run --rm plain cat /l2
	assert_status 0
	assert_output "from layer 2"
}

@test "several images in one store each see their own layers" {
	pull multi latest
	pull plain latest
	pull basic latest
	for img in multi plain; do
		run --separate-stderr husk run --rm "$img" cat /etc/motd
		assert_status 0
		assert_output "layer 2"
	done
	run --separate-stderr husk run --rm basic cat /etc/motd
	[ "$status" -ne 0 ] || fail "basic has no /etc/motd, yet cat succeeded: $output"
}

@test "a layer with a whiteout deletes the file from the layer below" {
	pull whiteout latest
	run --separate-stderr husk run --rm whiteout sh -c 'ls -a /etc; test -e /etc/motd'
	assert_status 1
	[[ "$output" != *motd* ]] || fail "/etc/motd or its marker is visible:" "$output"
	[[ "$output" == *hostname* ]] || fail "/etc lost its other files:" "$output"
}
