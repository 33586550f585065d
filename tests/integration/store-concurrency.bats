#!/usr/bin/env bats
# The store under concurrent pulls and under kill -9 at any point: a later
# pull and run must work, and nothing half-made is trusted.  No timing is
# asserted: kills land at random points, and every outcome must be sound.

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

# husk in its own process group, in the background; PID is its pgid too.
husk_bg() { # OUT ARGS...
	local out=$1
	shift
	setsid "$HUSK" --root "$STORE" "$@" >"$out" 2>&1 &
	BG=$!
}

# Every published layer is complete: a diff directory and its size file.
assert_layers_complete() {
	local l
	for l in "$STORE"/layers/*; do
		[ -e "$l" ] || continue
		[ -d "$l/diff" ] && [ -s "$l/size" ] || fail "incomplete layer published: $l"
	done
}

@test "concurrent pulls of the same image: both succeed, one copy of each layer" {
	local i
	for i in 1 2 3; do
		husk_bg "$BATS_TEST_TMPDIR/out$i" pull -q "oci:$IMAGES/multi:latest"
		eval "pid$i=$BG"
	done
	for i in 1 2 3; do
		eval "wait \$pid$i" || fail "pull $i failed: $(cat "$BATS_TEST_TMPDIR/out$i")"
		[ "$(cat "$BATS_TEST_TMPDIR/out$i")" = "$(image_id multi)" ] ||
			fail "pull $i: $(cat "$BATS_TEST_TMPDIR/out$i")"
	done
	[ "$(find "$STORE/layers" -mindepth 1 -maxdepth 1 | wc -l)" = 3 ] || fail "layers: $(ls "$STORE/layers")"
	run --separate-stderr husk images -q
	assert_output "$(image_id multi | cut -c1-12)"
	run --separate-stderr husk run --rm multi
	assert_output "layer 2"
}

@test "concurrent pulls of different images on the same base" {
	husk_bg "$BATS_TEST_TMPDIR/o1" pull -q "oci:$IMAGES/multi:latest"
	p1=$BG
	husk_bg "$BATS_TEST_TMPDIR/o2" pull -q "oci:$IMAGES/plain:latest"
	p2=$BG
	husk_bg "$BATS_TEST_TMPDIR/o3" pull -q "oci:$IMAGES/basic:latest"
	p3=$BG
	wait $p1 || fail "multi: $(cat "$BATS_TEST_TMPDIR/o1")"
	wait $p2 || fail "plain: $(cat "$BATS_TEST_TMPDIR/o2")"
	wait $p3 || fail "basic: $(cat "$BATS_TEST_TMPDIR/o3")"
	assert_layers_complete
	[ "$(husk images -q | wc -l)" = 3 ] || fail "images: $(husk images)"
	run --separate-stderr husk run --rm plain
	assert_output "layer 2"
	run --separate-stderr husk run --rm basic
	assert_output "hello from husk"
}

@test "kill -9 of pulls at random points: a later pull and run work" {
	local i
	for i in 1 2 3 4 5 6; do
		husk_bg /dev/null pull -q "oci:$IMAGES/multi:latest"
		sleep "$(printf "0.%03d" $((RANDOM % 200)))"
		kill -9 -- "-$BG" 2>/dev/null || true
		wait "$BG" 2>/dev/null || true
		assert_layers_complete
		# A half-written images.json would fail every command.
		husk images >/dev/null || fail "images after a kill failed"
	done
	pull multi latest
	assert_layers_complete
	run --separate-stderr husk run --rm multi
	assert_status 0
	assert_output "layer 2"
	# What the kills left is not trusted: tmp/ is swept and prune removes
	# layers without an image.
	run --separate-stderr husk image prune
	assert_status 0
	[ -z "$(ls -A "$STORE/tmp")" ] || fail "tmp/ not empty after the next locked command"
	run --separate-stderr husk run --rm multi
	assert_output "layer 2"
}

@test "kill -9 of rmi at random points: the store stays usable" {
	local i
	for i in 1 2 3 4; do
		pull multi latest
		pull basic latest
		husk_bg /dev/null rmi multi basic
		sleep "$(printf "0.%03d" $((RANDOM % 150)))"
		kill -9 -- "-$BG" 2>/dev/null || true
		wait "$BG" 2>/dev/null || true
		husk images >/dev/null || fail "images after a kill failed"
		# Whatever survived still runs, and is not missing layers.
		for img in $(husk images | awk 'NR > 1 { print $1 ":" $2 }'); do
			run --separate-stderr husk run --rm "$img" true
			assert_status 0
		done
	done
	run --separate-stderr husk image prune -a
	assert_status 0
	[ "$(find "$STORE/layers" -mindepth 1 -maxdepth 1 | wc -l)" = 0 ] || fail "layers left"
}
