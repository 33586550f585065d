#!/usr/bin/env bats
# Bad input.  Each case: non-zero exit, one "husk: " line on stderr naming
# the thing, nothing on stdout, and the store exactly as it was.

bats_require_minimum_version 1.5.0
load helpers

setup_file() {
	ensure_images
}

# Every case starts from a store that already holds an image, so "unchanged"
# means something.
setup() {
	new_store
	pull basic latest
	BEFORE=$(store_snapshot)
	[ -n "$BEFORE" ] || fail "the store is empty after a pull"
}

teardown() {
	remove_store "$STORE"
}

# check_pull_error STATUS TEXT...: the last `run` failed as it should.
check_failed() {
	local want=$1 t
	shift
	assert_status "$want"
	assert_one_error_line
	for t in "$@"; do
		assert_stderr_contains "$t"
	done
	[ -z "$output" ] || fail "stdout: $output"
	assert_store_unchanged "$BEFORE"
}

@test "pull: missing layout directory" {
	run --separate-stderr husk pull "oci:$BATS_TEST_TMPDIR/nope:latest"
	check_failed 1 "oci layout \"$BATS_TEST_TMPDIR/nope\"" "No such file or directory"
}

@test "pull: missing layout directory, no tag" {
	run --separate-stderr husk pull "oci:$BATS_TEST_TMPDIR/nope"
	check_failed 1 "oci layout \"$BATS_TEST_TMPDIR/nope\"" "No such file or directory"
}

@test "pull: malformed index.json" {
	copy_layout basic "$BATS_TEST_TMPDIR/bad"
	printf '{"schemaVersion":2,"manifests":[{"mediaType":' >"$BATS_TEST_TMPDIR/bad/index.json"
	run --separate-stderr husk pull "oci:$BATS_TEST_TMPDIR/bad:latest"
	check_failed 1 "index.json"
}

@test "pull: index.json that is not an index (an array)" {
	copy_layout basic "$BATS_TEST_TMPDIR/bad"
	printf '[1,2,3]\n' >"$BATS_TEST_TMPDIR/bad/index.json"
	run --separate-stderr husk pull "oci:$BATS_TEST_TMPDIR/bad:latest"
	check_failed 1 "index.json"
}

@test "pull: missing oci-layout file" {
	copy_layout basic "$BATS_TEST_TMPDIR/bad"
	rm "$BATS_TEST_TMPDIR/bad/oci-layout"
	run --separate-stderr husk pull "oci:$BATS_TEST_TMPDIR/bad:latest"
	check_failed 1 "oci-layout"
}

@test "pull: unknown tag" {
	run --separate-stderr husk pull "oci:$IMAGES/basic:nosuchtag"
	check_failed 1 "tag \"nosuchtag\" not found in oci layout \"$IMAGES/basic\""
}

@test "pull: tampered uncompressed layer blob (the tar still reads)" {
	copy_layout plain "$BATS_TEST_TMPDIR/bad"
	blob=$BATS_TEST_TMPDIR/bad/blobs/sha256/$(layer_hexes "$BATS_TEST_TMPDIR/bad" | head -1)
	tamper_blob "$blob"
	tar -tf "$blob" >/dev/null || fail "the tampered tar should still list"
	run --separate-stderr husk pull "oci:$BATS_TEST_TMPDIR/bad:latest"
	check_failed 1 "digest mismatch"
}

@test "pull: tampered gzip layer blob" {
	# Not basic: its layers are in the store already, and a store may skip
	# reading a blob it has.
	copy_layout entry "$BATS_TEST_TMPDIR/bad"
	blob=$BATS_TEST_TMPDIR/bad/blobs/sha256/$(layer_hexes "$BATS_TEST_TMPDIR/bad" | head -1)
	tamper_blob "$blob"
	run --separate-stderr husk pull "oci:$BATS_TEST_TMPDIR/bad:latest"
	check_failed 1 "digest mismatch"
}

@test "pull: tampered second layer of three" {
	copy_layout multi "$BATS_TEST_TMPDIR/bad"
	blob=$BATS_TEST_TMPDIR/bad/blobs/sha256/$(layer_hexes "$BATS_TEST_TMPDIR/bad" | sed -n 2p)
	tamper_blob "$blob"
	run --separate-stderr husk pull "oci:$BATS_TEST_TMPDIR/bad:latest"
	check_failed 1 "digest mismatch"
}

@test "pull: tampered config blob" {
	copy_layout entry "$BATS_TEST_TMPDIR/bad"
	tamper_blob "$BATS_TEST_TMPDIR/bad/blobs/sha256/$(config_hex "$BATS_TEST_TMPDIR/bad")"
	run --separate-stderr husk pull "oci:$BATS_TEST_TMPDIR/bad:latest"
	check_failed 1 "digest mismatch"
}

@test "pull: missing layer blob" {
	copy_layout multi "$BATS_TEST_TMPDIR/bad"
	rm "$BATS_TEST_TMPDIR/bad/blobs/sha256/$(layer_hexes "$BATS_TEST_TMPDIR/bad" | tail -1)"
	run --separate-stderr husk pull "oci:$BATS_TEST_TMPDIR/bad:latest"
	check_failed 1 "$(layer_hexes "$IMAGES/multi" | tail -1 | cut -c1-12)"
}

@test "pull: not an oci: reference" {
	run --separate-stderr husk pull "$IMAGES/basic:latest"
	[ "$status" -ne 0 ] || fail "pull without oci: exited 0"
	assert_one_error_line
	[ -z "$output" ] || fail "stdout: $output"
	assert_store_unchanged "$BEFORE"
}

@test "run: image not in the store" {
	run --separate-stderr husk run nosuch
	check_failed 125 'image "nosuch": not found'
}

@test "run: image name with a tag not in the store" {
	run --separate-stderr husk run basic:nosuchtag
	check_failed 125 'image "basic:nosuchtag": not found'
}

@test "run: command not in the image" {
	run -127 --separate-stderr husk run basic nosuchcmd arg
	check_failed 127 'exec "nosuchcmd": executable file not found in $PATH'
}

@test "run: command not in the image, with --rm" {
	run -127 --separate-stderr husk run --rm basic nosuchcmd
	check_failed 127 'exec "nosuchcmd": executable file not found in $PATH'
}

@test "unknown command" {
	run --separate-stderr husk frobnicate
	check_failed 125 'unknown command "frobnicate"'
}

@test "unknown flag" {
	run --separate-stderr husk pull --frobnicate "oci:$IMAGES/basic:latest"
	check_failed 125 "--frobnicate"
}

@test "unknown flag of run" {
	run --separate-stderr husk run --frobnicate basic true
	check_failed 125 "--frobnicate"
}
