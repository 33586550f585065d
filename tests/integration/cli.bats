#!/usr/bin/env bats
# The command line itself: version, help, unknown commands and flags.

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

@test "--version prints husk VERSION" {
	run --separate-stderr husk_noroot --version
	assert_status 0
	[[ "$output" =~ ^husk\ [0-9][^[:space:]]*$ ]] || fail "got: $output"
}

@test "--help prints usage on stdout and exits 0" {
	run --separate-stderr husk_noroot --help
	assert_status 0
	[ -n "$output" ] || fail "no usage on stdout"
	[ -z "$stderr" ] || fail "stderr: $stderr"
	for c in pull images run; do
		assert_output_contains "$c"
	done
}

@test "COMMAND --help prints usage on stdout and exits 0" {
	for c in pull images run; do
		run --separate-stderr husk "$c" --help
		assert_status 0
		[ -n "$output" ] || fail "husk $c --help: no usage on stdout"
		[ -z "$stderr" ] || fail "husk $c --help: stderr: $stderr"
		assert_output_contains "$c"
	done
	[ ! -e "$STORE/containers" ] || fail "--help created containers"
}

@test "unknown command: exit 125, one error line naming it" {
	run --separate-stderr husk frobnicate
	assert_status 125
	assert_one_error_line
	# The thing and the reason; a hint may follow.
	[[ $stderr == 'husk: unknown command "frobnicate"'* ]] || fail "stderr: $stderr"
	[ -z "$output" ] || fail "stdout: $output"
}

@test "unknown command leaves the store as it was" {
	pull basic latest
	before=$(store_snapshot)
	run --separate-stderr husk frobnicate --with args
	assert_status 125
	assert_store_unchanged "$before"
}

@test "no command: usage error, not success" {
	run --separate-stderr husk
	[ "$status" -ne 0 ] || fail "husk with no command exited 0"
	[ -n "$stderr" ] || fail "nothing on stderr"
}

@test "unknown global flag: exit 125, error names the flag" {
	run --separate-stderr husk --frobnicate images
	assert_status 125
	assert_one_error_line
	assert_stderr_contains "--frobnicate"
}

@test "unknown flag of pull, images and run: exit 125, store unchanged" {
	pull basic latest
	before=$(store_snapshot)
	for args in "pull --frobnicate oci:$IMAGES/basic:latest" "images --frobnicate" \
		"run --frobnicate basic true"; do
		# shellcheck disable=SC2086 # split on purpose
		run --separate-stderr husk $args
		assert_status 125
		assert_one_error_line
		assert_stderr_contains "--frobnicate"
		[ -z "$output" ] || fail "husk $args: stdout: $output"
	done
	assert_store_unchanged "$before"
}

@test "--root needs a value" {
	run --separate-stderr timeout 60 "$HUSK" --root
	[ "$status" -ne 0 ] || fail "husk --root exited 0"
	[ "$status" -ne 124 ] || fail "husk --root hung"
	assert_one_error_line
}
