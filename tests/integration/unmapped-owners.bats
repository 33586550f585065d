#!/usr/bin/env bats
# Files whose owners a rootless pull cannot map.  husk keeps the image (podman
# refuses the pull): such a file keeps whichever of its uid and gid maps and
# is otherwise the user's own (root in containers), and the pull warns once,
# saying how many files, which ids (smallest and largest) and why: ids beyond
# the user's /etc/subuid and /etc/subgid ranges, or no range at all.  As root
# every owner is kept and nothing is said.
#
# The layer comes from tests/mklayer.py (owners without root), through
# mkimage.sh --layer-tar, so every user builds the same image.

bats_require_minimum_version 1.5.0
load helpers

setup_file() {
	ensure_images
	new_store "$BATS_FILE_TMPDIR/store"
	export STORE
	export FAR=$BATS_FILE_TMPDIR/far
	"$TOP/tests/mklayer.py" "$BATS_FILE_TMPDIR/far.tar" <<-EOF
		dir far 0755
		file far/a 0644 3000000 3000000 a
		file far/b 0644 3000005 1234 b
		file far/c 0644 1234 4000000 c
		file far/d 0644 1234 1234 d
	EOF
	"$MKIMAGE" "$FAR" --tag latest --layer-tar "$BATS_FILE_TMPDIR/far.tar" >/dev/null
}

teardown_file() {
	remove_store "$STORE"
}

owners() {
	husk run --rm far stat -c '%n %u %g' /far/a /far/b /far/c /far/d
}

@test "unmapped owners: the pull warns with the count, the ids and the real reason" {
	run --separate-stderr husk pull -q "oci:$FAR:latest"
	assert_status 0
	case $(test_mode) in
	root)
		[ -z "$stderr" ] || fail "root: unexpected stderr: $stderr"
		;;
	sub)
		[ "$(subid_range /etc/subuid)" = "100000 65536" ] ||
			skip "this test names the ids of husk-sub's range 100000:65536"
		[ "$stderr" = 'husk: warning: image "localhost/far:latest": 3 files owned by other users (uid 3000000-3000005, gid 3000000-4000000) belong to you: the ids are outside those your /etc/subuid and /etc/subgid ranges map (uid 0-65536, gid 0-65536)' ] ||
			fail "stderr: $stderr"
		[[ "$stderr" != *"no /etc/subuid range"* ]] || fail "the false reason: $stderr"
		;;
	nosub)
		[ "$stderr" = 'husk: warning: image "localhost/far:latest": 4 files owned by other users (uid 1234-3000005, gid 1234-4000000) belong to you: there is no /etc/subuid range to map them' ] ||
			fail "stderr: $stderr"
		;;
	esac
}

@test "unmapped owners: the image runs; each file keeps the ids that map, the rest are root's" {
	run --separate-stderr owners
	assert_status 0
	case $(test_mode) in
	root)
		assert_output "/far/a 3000000 3000000
/far/b 3000005 1234
/far/c 1234 4000000
/far/d 1234 1234"
		;;
	sub)
		assert_output "/far/a 0 0
/far/b 0 1234
/far/c 1234 0
/far/d 1234 1234"
		;;
	nosub)
		assert_output "/far/a 0 0
/far/b 0 0
/far/c 0 0
/far/d 0 0"
		;;
	esac
}

@test "unmapped owners: a layer already in the store is not unpacked again, so no second warning" {
	run --separate-stderr husk pull -q "oci:$FAR:latest"
	assert_status 0
	[ -z "$stderr" ] || fail "stderr: $stderr"
}

@test "unmapped owners: husk load warns the same way" {
	local keep=$STORE
	husk save -o "$BATS_TEST_TMPDIR/far.tar" far
	STORE=$BATS_TEST_TMPDIR/loaded
	run --separate-stderr husk load -q -i "$BATS_TEST_TMPDIR/far.tar"
	assert_status 0
	case $(test_mode) in
	root) [ -z "$stderr" ] || fail "root: unexpected stderr: $stderr" ;;
	sub) assert_stderr_contains '3 files owned by other users (uid 3000000-3000005, gid 3000000-4000000) belong to you: the ids are outside' ;;
	nosub) assert_stderr_contains '4 files owned by other users (uid 1234-3000005, gid 1234-4000000) belong to you: there is no /etc/subuid range to map them' ;;
	esac
	remove_store "$STORE"
	STORE=$keep
}
