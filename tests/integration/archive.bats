#!/usr/bin/env bats
# docker-archive: husk save, husk load, husk pull docker-archive:FILE, in the
# classic layout (husk save, skopeo) and Docker 25's OCI-based layout; and
# podman load of what husk save writes.

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
	if [ -n "${PODMAN_DIR:-}" ]; then
		podman --root "$PODMAN_DIR/root" --runroot "$PODMAN_DIR/run" --storage-driver vfs \
			rmi -a -f >/dev/null 2>&1 || true
		rm -rf "$PODMAN_DIR"
	fi
}

# A second store, for the other side of a round trip.
other_husk() {
	timeout --kill-after=10 "${HUSK_TEST_TIMEOUT:-300}" "$HUSK" --root "$BATS_TEST_TMPDIR/store2" "$@"
}

@test "save and load: a round trip keeps IDs and names, and the images run" {
	pull multi latest
	pull basic latest
	pull whiteout latest
	run --separate-stderr husk save -o "$BATS_TEST_TMPDIR/a.tar" multi basic whiteout
	assert_status 0
	[ -z "$output" ] || fail "stdout: $output"
	tar -tf "$BATS_TEST_TMPDIR/a.tar" | grep -qx manifest.json || fail "no manifest.json"
	# Layers are uncompressed tars named by their diff_ids, whatever was pulled.
	for f in $(tar -tf "$BATS_TEST_TMPDIR/a.tar" | grep '/layer.tar$'); do
		got=$(tar -xOf "$BATS_TEST_TMPDIR/a.tar" "$f" | sha256sum | cut -d' ' -f1)
		[ "$got/layer.tar" = "$f" ] || fail "$f has digest $got"
	done
	run --separate-stderr other_husk load -i "$BATS_TEST_TMPDIR/a.tar"
	assert_status 0
	assert_output "Loaded image: localhost/multi:latest
Loaded image: localhost/basic:latest
Loaded image: localhost/whiteout:latest"
	run --separate-stderr other_husk images -q
	assert_output "$(image_id multi | cut -c1-12)
$(image_id basic | cut -c1-12)
$(image_id whiteout | cut -c1-12)"
	run --separate-stderr other_husk run --rm multi
	assert_output "layer 2"
	run --separate-stderr other_husk run --rm basic
	assert_output "hello from husk"
	run --separate-stderr other_husk run --rm whiteout test -e /etc/motd
	assert_status 1
	remove_store "$BATS_TEST_TMPDIR/store2"
}

@test "pull docker-archive: the classic layout as skopeo writes it (layers behind symlinks)" {
	skopeo copy -q "oci:$IMAGES/multi:latest" "docker-archive:$BATS_TEST_TMPDIR/sk.tar:example.com/sk:1"
	tar -tvf "$BATS_TEST_TMPDIR/sk.tar" | grep -q '^l.*layer.tar ->' || fail "expected symlinked layers"
	run --separate-stderr husk pull "docker-archive:$BATS_TEST_TMPDIR/sk.tar"
	assert_status 0
	assert_output "$(image_id multi)"
	run --separate-stderr husk run --rm example.com/sk:1
	assert_output "layer 2"
}

@test "pull docker-archive: Docker 25's layout (an OCI layout with manifest.json, gzip layers)" {
	local d=$BATS_TEST_TMPDIR/d25 c layers
	copy_layout multi "$d"
	c=$(config_hex "$d")
	layers=$(layer_hexes "$d" | sed 's|.*|"blobs/sha256/&"|' | paste -sd,)
	printf '[{"Config":"blobs/sha256/%s","RepoTags":["d25:latest"],"Layers":[%s]}]' "$c" "$layers" \
		>"$d/manifest.json"
	tar -C "$d" -cf "$BATS_TEST_TMPDIR/d25.tar" .
	run --separate-stderr husk load -i "$BATS_TEST_TMPDIR/d25.tar"
	assert_status 0
	assert_output "Loaded image: docker.io/library/d25:latest"
	run --separate-stderr husk inspect d25
	assert_output_contains '"MediaType": "application/vnd.oci.image.layer.v1.tar+gzip"'
	run --separate-stderr husk run --rm d25
	assert_output "layer 2"
	[ "$(husk images -q)" = "$(image_id multi | cut -c1-12)" ] || fail "ID differs"
}

@test "podman load accepts what husk save writes" {
	[ "$(test_mode)" = root ] || skip "podman load runs as root here"
	command -v podman >/dev/null || skip "podman is not installed"
	pull multi latest
	run --separate-stderr husk save -o "$BATS_TEST_TMPDIR/p.tar" multi
	assert_status 0
	# podman wants a runroot shorter than 50 characters.
	PODMAN_DIR=$(mktemp -d /tmp/hkpod.XXXXXX)
	run podman --root "$PODMAN_DIR/root" --runroot "$PODMAN_DIR/run" --storage-driver vfs \
		load -i "$BATS_TEST_TMPDIR/p.tar"
	[ "$status" -eq 0 ] || fail "podman load: $output"
	run podman --root "$PODMAN_DIR/root" --runroot "$PODMAN_DIR/run" --storage-driver vfs \
		image inspect --format '{{.Id}} {{.RepoTags}}' localhost/multi:latest
	[ "$status" -eq 0 ] || fail "podman image inspect: $output"
	assert_output "$(image_id multi) [localhost/multi:latest]"
}

@test "load: not an archive, or a damaged one, is one error and changes nothing" {
	pull basic latest
	before=$(store_snapshot)
	echo "not a tar" >"$BATS_TEST_TMPDIR/junk.tar"
	run --separate-stderr husk load -i "$BATS_TEST_TMPDIR/junk.tar"
	assert_status 1
	assert_one_error_line
	assert_stderr_contains "docker-archive \"$BATS_TEST_TMPDIR/junk.tar\""
	tar -cf "$BATS_TEST_TMPDIR/empty.tar" -C "$BATS_TEST_TMPDIR" junk.tar
	run --separate-stderr husk pull "docker-archive:$BATS_TEST_TMPDIR/empty.tar"
	assert_status 1
	assert_one_error_line
	assert_stderr_contains "no manifest.json"
	# A layer whose content is not its diff_id.
	husk save -o "$BATS_TEST_TMPDIR/ok.tar" basic
	mkdir "$BATS_TEST_TMPDIR/x"
	tar -C "$BATS_TEST_TMPDIR/x" -xf "$BATS_TEST_TMPDIR/ok.tar"
	l=$(find "$BATS_TEST_TMPDIR/x" -name layer.tar | head -1)
	tamper_blob "$l"
	tar -C "$BATS_TEST_TMPDIR/x" -cf "$BATS_TEST_TMPDIR/bad.tar" .
	run --separate-stderr other_husk load -i "$BATS_TEST_TMPDIR/bad.tar"
	assert_status 1
	assert_one_error_line
	assert_stderr_contains "digest mismatch"
	run --separate-stderr other_husk images -q
	assert_output ""
	assert_store_unchanged "$before"
	# (Without -i, load reads standard input: a usage error is now a stray operand.)
	run --separate-stderr husk load stray
	assert_status 125
	remove_store "$BATS_TEST_TMPDIR/store2"
}

@test "load: when a later image of the archive is bad, the earlier ones are not kept" {
	pull basic latest
	pull multi latest
	husk save -o "$BATS_TEST_TMPDIR/two.tar" basic multi
	mkdir "$BATS_TEST_TMPDIR/x"
	tar -C "$BATS_TEST_TMPDIR/x" -xf "$BATS_TEST_TMPDIR/two.tar"
	# multi's last layer is in no other image.
	l=$BATS_TEST_TMPDIR/x/$(python3 -c '
import json, sys
print(json.load(open(sys.argv[1]))[1]["Layers"][-1])' "$BATS_TEST_TMPDIR/x/manifest.json")
	tamper_blob "$l"
	tar -C "$BATS_TEST_TMPDIR/x" -cf "$BATS_TEST_TMPDIR/bad2.tar" .
	run --separate-stderr other_husk load -i "$BATS_TEST_TMPDIR/bad2.tar"
	assert_status 1
	assert_one_error_line
	assert_stderr_contains "digest mismatch"
	run --separate-stderr other_husk images -q
	assert_output ""
	[ -z "$(ls -A "$BATS_TEST_TMPDIR/store2/layers")" ] || fail "layers left: $(ls "$BATS_TEST_TMPDIR/store2/layers")"
	[ -z "$(ls -A "$BATS_TEST_TMPDIR/store2/blobs/sha256")" ] || fail "blobs left"
	remove_store "$BATS_TEST_TMPDIR/store2"
}

@test "save: an unknown image is one error and writes no file" {
	pull basic latest
	run --separate-stderr husk save -o "$BATS_TEST_TMPDIR/out.tar" basic nosuch
	assert_status 1
	assert_one_error_line
	assert_stderr_contains 'image "nosuch": not found'
	[ -z "$(ls "$BATS_TEST_TMPDIR" | grep out.tar)" ] || fail "a file was written"
	# (Without -o, save writes to standard output: the usage error is now oci-dir's.)
	run --separate-stderr husk save --format oci-dir basic
	assert_status 125
}

@test "save: RepoTags are the names given, none for an image given by its ID (as docker save NAME:TAG)" {
	pull basic latest
	pull multi latest
	husk tag basic other/name:x
	husk tag basic basic:two
	tags() { # ARCHIVE: each manifest entry's RepoTags, one line each
		tar -xOf "$1" manifest.json | python3 -c '
import json, sys
for m in json.load(sys.stdin): print(" ".join(m["RepoTags"] or []) or "-")'
	}
	run --separate-stderr husk save -o "$BATS_TEST_TMPDIR/s.tar" basic
	assert_status 0
	run tags "$BATS_TEST_TMPDIR/s.tar"
	assert_output "localhost/basic:latest"
	run --separate-stderr other_husk load -q -i "$BATS_TEST_TMPDIR/s.tar"
	assert_status 0
	run --separate-stderr other_husk images
	assert_status 0
	run awk 'NR > 1 { print $1 ":" $2 }' <<<"$output"
	assert_output "localhost/basic:latest"
	# Two names of one image (one given twice): one entry with both, and
	# "repositories" names each repository once.
	run --separate-stderr husk save -o "$BATS_TEST_TMPDIR/two.tar" basic:two other/name:x basic:two basic
	assert_status 0
	run tags "$BATS_TEST_TMPDIR/two.tar"
	assert_output "localhost/basic:two localhost/other/name:x localhost/basic:latest"
	run python3 -c '
import json, sys
print(sorted((r, sorted(t)) for r, t in json.load(sys.stdin).items()))' < <(tar -xOf "$BATS_TEST_TMPDIR/two.tar" repositories)
	assert_output "[('localhost/basic', ['latest', 'two']), ('localhost/other/name', ['x'])]"
	# By ID: no name; it loads untagged and runs by its ID.
	run --separate-stderr husk save -o "$BATS_TEST_TMPDIR/id.tar" "$(image_id basic | cut -c1-12)" multi
	assert_status 0
	run tags "$BATS_TEST_TMPDIR/id.tar"
	assert_output "-
localhost/multi:latest"
	remove_store "$BATS_TEST_TMPDIR/store2"
	run --separate-stderr other_husk load -i "$BATS_TEST_TMPDIR/id.tar"
	assert_status 0
	assert_output "Loaded image ID: sha256:$(image_id basic)
Loaded image: localhost/multi:latest"
	run --separate-stderr other_husk images
	assert_status 0
	run awk 'NR > 1 { print $1 ":" $2, $3 }' <<<"$output"
	assert_output "<none>:<none> $(image_id basic | cut -c1-12)
localhost/multi:latest $(image_id multi | cut -c1-12)"
	run --separate-stderr other_husk run --rm "$(image_id basic | cut -c1-12)"
	assert_output "hello from husk"
	remove_store "$BATS_TEST_TMPDIR/store2"
}
