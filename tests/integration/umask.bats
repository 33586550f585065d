#!/usr/bin/env bats
# The caller's umask never reaches a container: its processes run with
# 0022 (as under docker, podman, runc and crun), and what husk makes for it
# (its "/", mountpoints, -w directories, unpacked layers, files copied in)
# has the modes it would have under umask 022 or the exact modes of its
# source.  Every command that creates something runs under umask 077 and
# 000.  The store's own files stay private under umask 000.

bats_require_minimum_version 1.5.0
load helpers

setup_file() {
	ensure_images
	new_store "$BATS_FILE_TMPDIR/store"
	export STORE
	(umask 077 && pull basic latest)
}

teardown_file() {
	local ids
	ids=$("$HUSK" --root "$STORE" ps -aq --no-trunc 2>/dev/null)
	# shellcheck disable=SC2086
	[ -z "$ids" ] || "$HUSK" --root "$STORE" rm -f $ids >/dev/null 2>&1
	remove_store "$STORE"
}

# The modes of the image's files as a container sees them.
IMAGE_MODES='/ 755
/usr/local/bin/hello 755
/usr/local/bin/notexec 644
/tmp 1777
/etc/passwd 644
/data/owned 644'

image_modes() {
	husk run --rm basic stat -c '%n %a' / /usr/local/bin/hello /usr/local/bin/notexec /tmp \
		/etc/passwd /data/owned
}

@test "umask: husk run gives the container 0022 under umask 077, 000 and 002" {
	local m
	for m in 077 000 002; do
		run --separate-stderr bash -c "umask $m; \"\$0\" --root \"\$1\" run --rm basic sh -c umask" \
			"$HUSK" "$STORE"
		assert_status 0
		[ "$output" = 0022 ] || fail "umask $m: the container saw $output"
	done
}

@test "umask: husk exec gives its process 0022" {
	husk run -d --name um-exec basic sleep 100 >/dev/null
	local m
	for m in 077 000; do
		run --separate-stderr bash -c "umask $m; \"\$0\" --root \"\$1\" exec um-exec sh -c umask" \
			"$HUSK" "$STORE"
		assert_status 0
		[ "$output" = 0022 ] || fail "umask $m: exec saw $output"
	done
	husk rm -f um-exec >/dev/null
}

@test "umask: husk create then husk start: 0022, whichever umask each ran under" {
	(umask 077 && husk create --name um-cs basic sh -c umask >/dev/null)
	run --separate-stderr bash -c "umask 000; \"\$0\" --root \"\$1\" start -a um-cs" "$HUSK" "$STORE"
	assert_status 0
	assert_output 0022
	husk rm -f um-cs >/dev/null
}

@test "umask: the directories -w creates are 0755" {
	local m
	for m in 077 000; do
		run --separate-stderr bash -c "umask $m; \"\$0\" --root \"\$1\" run --rm -w /w$m/a/b basic \
			stat -c %a /w$m /w$m/a /w$m/a/b" "$HUSK" "$STORE"
		assert_status 0
		assert_output "755
755
755"
	done
}

@test "umask: the mountpoints made for volumes and --tmpfs are 0755" {
	local m dir=$BATS_TEST_TMPDIR/vol file=$BATS_TEST_TMPDIR/file
	mkdir -m 755 "$dir"
	echo x >"$file"
	chmod 644 "$file"
	for m in 077 000; do
		run --separate-stderr bash -c "umask $m; \"\$0\" --root \"\$1\" run --rm \
			-v $dir:/m$m/d/v -v $file:/f$m/x/file --tmpfs /t$m/y basic \
			stat -c '%n %a' /m$m /m$m/d /f$m /f$m/x /t$m /f$m/x/file" "$HUSK" "$STORE"
		assert_status 0
		assert_output "/m$m 755
/m$m/d 755
/f$m 755
/f$m/x 755
/t$m 755
/f$m/x/file 644"
	done
}

@test "umask: a pull under umask 077 or 000 keeps the layers' exact modes; the store stays private" {
	run --separate-stderr image_modes
	assert_status 0
	assert_output "$IMAGE_MODES"
	local keep=$STORE
	STORE=$BATS_TEST_TMPDIR/store000
	(umask 000 && pull basic latest)
	run --separate-stderr image_modes
	assert_status 0
	assert_output "$IMAGE_MODES"
	# Private stays private, and nothing is group- or world-writable, under umask 000.
	[ "$(stat -c %a "$STORE")" = 700 ] || fail "store root: $(stat -c %a "$STORE")"
	run find "$STORE" -maxdepth 1 -perm /022
	assert_output ""
	run find "$STORE/blobs" "$STORE/layers" -maxdepth 2 -perm /022 ! -type l
	assert_output ""
	remove_store "$STORE"
	STORE=$keep
}

@test "umask: husk save -o honours the caller's umask; husk load under 077 keeps the modes" {
	local keep=$STORE
	(umask 077 && husk save -o "$BATS_TEST_TMPDIR/a.tar" basic)
	[ "$(stat -c %a "$BATS_TEST_TMPDIR/a.tar")" = 600 ]
	(umask 000 && husk save -o "$BATS_TEST_TMPDIR/b.tar" basic)
	[ "$(stat -c %a "$BATS_TEST_TMPDIR/b.tar")" = 644 ]
	chmod 644 "$BATS_TEST_TMPDIR/a.tar"
	STORE=$BATS_TEST_TMPDIR/loaded
	(umask 077 && husk load -i "$BATS_TEST_TMPDIR/a.tar" >/dev/null)
	run --separate-stderr image_modes
	assert_status 0
	assert_output "$IMAGE_MODES"
	remove_store "$STORE"
	STORE=$keep
}

@test "umask: husk cp into a container keeps the source's modes under umask 077 and 000" {
	local m src=$BATS_TEST_TMPDIR/src
	mkdir -m 755 "$src"
	mkdir -m 750 "$src/sub"
	echo a >"$src/open" && chmod 644 "$src/open"
	echo b >"$src/secret" && chmod 600 "$src/secret"
	echo c >"$src/sub/wide" && chmod 666 "$src/sub/wide"
	husk run -d --name um-cp basic sleep 100 >/dev/null
	for m in 077 000; do
		run --separate-stderr bash -c "umask $m; \"\$0\" --root \"\$1\" cp \"\$2\" um-cp:/cp$m" \
			"$HUSK" "$STORE" "$src"
		assert_status 0
		run --separate-stderr husk exec um-cp stat -c '%n %a' /cp$m /cp$m/open /cp$m/secret \
			/cp$m/sub /cp$m/sub/wide
		assert_status 0
		assert_output "/cp$m 755
/cp$m/open 644
/cp$m/secret 600
/cp$m/sub 750
/cp$m/sub/wide 666"
	done
	husk rm -f um-cp >/dev/null
}
