#!/usr/bin/env bats
# husk and husk-full: husk runs containers without libcurl, libarchive, ISA-L or libcrypto, and
# runs husk-full, found beside itself, for the commands that need them; husk-netns, for user
# networks, links libmnl and nothing else of husk's libraries.

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

@test "husk loads none of libcurl, libarchive, libisal, libcrypto" {
	command -v ldd >/dev/null || skip "no ldd"
	local libs
	libs=$(ldd "$HUSK" 2>&1) || true
	if [[ "$libs" =~ (libcurl|libarchive|libisal|libcrypto|libssl|libgnutls)[^[:space:]]* ]]; then
		fail "husk links ${BASH_REMATCH[0]}:" "$libs"
	fi
	[ -x "$(dirname "$HUSK")/husk-full" ] || fail "no husk-full beside $HUSK"
	libs=$(ldd "$(dirname "$HUSK")/husk-full")
	# husk-full links libarchive, or (configure's default) loads it on first use by its soname.
	if [[ "$libs" != *libarchive* ]]; then
		grep -q 'libarchive\.so\.' "$(dirname "$HUSK")/husk-full" ||
			fail "husk-full neither links libarchive nor names it to load:" "$libs"
	fi
}

@test "husk-netns links libmnl and libc, none of husk's other libraries" {
	command -v ldd >/dev/null || skip "no ldd"
	local netns libs
	netns=$(dirname "$HUSK")/husk-netns
	[ -x "$netns" ] || fail "no husk-netns beside $HUSK"
	libs=$(ldd "$netns" 2>&1) || true
	[[ "$libs" == *libmnl.so* ]] || fail "husk-netns does not link libmnl:" "$libs"
	if [[ "$libs" =~ (libyajl|libseccomp|libcap|libcurl|libarchive|libisal|libzstd|libcrypto)[^[:space:]]* ]]; then
		fail "husk-netns links ${BASH_REMATCH[0]}:" "$libs"
	fi
	# Run by hand it says what it is missing, one line.
	run --separate-stderr "$netns"
	assert_status 125
	assert_stderr_contains "husk-netns: no action"
}

@test "a copy of husk and husk-full: pull and image save run through husk-full, run in husk" {
	local dir=$BATS_TEST_TMPDIR/bin
	mkdir -p "$dir"
	cp "$HUSK" "$(dirname "$HUSK")/husk-full" "$dir/"
	run --separate-stderr "$dir/husk" --root "$STORE" pull -q "oci:$IMAGES/basic:latest"
	assert_status 0
	[[ "$output" =~ ^[0-9a-f]{64}$ ]] || fail "pull printed: $output"
	run --separate-stderr "$dir/husk" --root "$STORE" image save -o "$BATS_TEST_TMPDIR/a.tar" basic
	assert_status 0
	[ -s "$BATS_TEST_TMPDIR/a.tar" ] || fail "no archive written"
	run --separate-stderr "$dir/husk" --root "$STORE" run --rm basic echo ran
	assert_status 0
	assert_output "ran"
}

@test "husk without a husk-full beside it: one error line, or the installed husk-full" {
	local dir=$BATS_TEST_TMPDIR/alone
	mkdir -p "$dir"
	cp "$HUSK" "$dir/husk"
	run --separate-stderr "$dir/husk" --root "$STORE" pull -q "oci:$IMAGES/basic:latest"
	if [ "$status" -ne 0 ]; then
		assert_one_error_line
		[[ "$stderr" =~ husk:\ run\ \"/[^\"]*/husk/husk-full\":\  ]] || fail "$stderr"
	fi
	# Commands of husk itself never need husk-full.
	run --separate-stderr "$dir/husk" --root "$STORE" images -q
	assert_status 0
}
