#!/usr/bin/env bats
# husk build --pull: a FROM image the store lacks is pulled (missing, docker's default), every
# time (always), or never; from Debian's docker-registry on 127.0.0.1.

bats_require_minimum_version 1.5.0
load helpers
load registry

setup_file() {
	ensure_images
	registry_start plain http
	registry_push "$IMAGES/basic:latest" "$REG_plain_ADDR/test/basic:latest"
}

teardown_file() {
	registry_stop_all
}

setup() {
	new_store
	export XDG_RUNTIME_DIR=$BATS_TEST_TMPDIR/run XDG_CONFIG_HOME=$BATS_TEST_TMPDIR/config
	mkdir -p "$XDG_RUNTIME_DIR" && chmod 700 "$XDG_RUNTIME_DIR"
	CTX=$BATS_TEST_TMPDIR/ctx
	mkdir -p "$CTX"
	printf 'FROM %s/test/basic:latest\nRUN echo built >/b\n' "$REG_plain_ADDR" >"$CTX/Dockerfile"
}

teardown() {
	remove_store "$STORE"
}

@test "build --pull: a missing base is pulled; --pull=never refuses; the built image runs" {
	run --separate-stderr husk build --pull=never -t p "$CTX"
	assert_status 1
	assert_one_error_line
	assert_stderr_contains "Dockerfile:1: FROM $REG_plain_ADDR/test/basic:latest"

	run --separate-stderr husk build -q -t p "$CTX"
	assert_status 0
	[ "${#lines[@]}" -eq 1 ] && [[ "$output" == sha256:* ]] || fail "-q: only the ID: $output"
	run --separate-stderr husk run --rm p cat /b
	assert_output "built"
	run --separate-stderr husk images
	assert_output_contains "$REG_plain_ADDR/test/basic"

	# The base is there now: missing does not pull again; always does.
	run --separate-stderr husk build -t p "$CTX"
	assert_status 0
	[[ "$stderr" != *Pulling* ]] || fail "pulled a base the store has: $stderr"
	run --separate-stderr husk build --pull=always -t p "$CTX"
	assert_status 0
	assert_stderr_contains "Pulling $REG_plain_ADDR/test/basic:latest"
}
