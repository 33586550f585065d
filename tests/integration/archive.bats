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
	# Not a tar: no format named (husk load reads three).
	assert_stderr_contains "archive \"$BATS_TEST_TMPDIR/junk.tar\": Unrecognized archive format"
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

# IMAGE...: "ID DIGEST NAME..." of each, from husk inspect (the store of the husk function
# before it, other_husk's with "other").
inspect_table() {
	local cmd=husk
	if [ "$1" = other ]; then
		cmd=other_husk
		shift
	fi
	"$cmd" inspect "$@" | python3 -c '
import json, sys
for i in json.load(sys.stdin): print(i["Id"], i["Digest"], *i["RepoTags"])'
}

# LAYOUT: check every blob is named by its digest and every index entry's size, then print
# each index entry as "DIGEST MEDIATYPE REF.NAME" ("-" without one).
layout_entries() {
	python3 - "$1" <<'PY'
import hashlib, json, os, sys
d = sys.argv[1]
assert json.load(open(os.path.join(d, "oci-layout")))["imageLayoutVersion"] == "1.0.0"
blobs = os.path.join(d, "blobs", "sha256")
for name in os.listdir(blobs):
    got = hashlib.sha256(open(os.path.join(blobs, name), "rb").read()).hexdigest()
    if got != name:
        sys.exit("blob %s has digest %s" % (name, got))
for m in json.load(open(os.path.join(d, "index.json")))["manifests"]:
    path = os.path.join(blobs, m["digest"].split(":")[1])
    if os.path.getsize(path) != m["size"]:
        sys.exit("%s: size differs" % m["digest"])
    ref = m.get("annotations", {}).get("org.opencontainers.image.ref.name", "-")
    print(m["digest"], m["mediaType"], ref)
PY
}

@test "save to standard output piped to load keeps IDs and names (docker-archive and oci-archive)" {
	pull multi latest
	pull basic latest
	pipe_load() { # FORMAT: husk save | other_husk load, failing when either does
		set -o pipefail
		husk save --format "$1" multi basic | other_husk load -q
	}
	for fmt in docker-archive oci-archive; do
		run --separate-stderr pipe_load "$fmt"
		assert_status 0
		assert_output "Loaded image: localhost/multi:latest
Loaded image: localhost/basic:latest"
		run --separate-stderr other_husk images -q
		assert_output "$(image_id multi | cut -c1-12)
$(image_id basic | cut -c1-12)"
		# The spooled input is gone with the load.
		[ -z "$(ls -A "$BATS_TEST_TMPDIR/store2/tmp")" ] || fail "left in tmp/: $(ls -A "$BATS_TEST_TMPDIR/store2/tmp")"
		run --separate-stderr other_husk run --rm multi
		assert_output "layer 2"
		remove_store "$BATS_TEST_TMPDIR/store2"
	done
	# Without -o the archive is on standard output, nothing else.
	husk save basic >"$BATS_TEST_TMPDIR/out.tar"
	tar -tf "$BATS_TEST_TMPDIR/out.tar" | grep -qx manifest.json || fail "no manifest.json on stdout"
	# Junk on standard input: one error, nothing loaded, nothing left.
	run --separate-stderr other_husk load <<<"not an archive"
	assert_status 1
	assert_one_error_line
	assert_stderr_contains '"standard input"'
	run --separate-stderr other_husk images -q
	assert_output ""
	[ -z "$(ls -A "$BATS_TEST_TMPDIR/store2/tmp")" ] || fail "left in tmp/"
	remove_store "$BATS_TEST_TMPDIR/store2"
}

@test "save: standard output on a terminal is refused (as docker save), and load's standard input" {
	pull basic latest
	run python3 "$TOP/tests/integration/ptyrun.py" --timeout 90 -- "$HUSK" --root "$STORE" save basic
	assert_status 1
	assert_output_contains "refusing to write an archive to a terminal"
	[ "${#output}" -lt 300 ] || fail "more than an error on the terminal: ${#output} bytes"
	# -o FILE on a terminal is fine.
	run python3 "$TOP/tests/integration/ptyrun.py" --timeout 90 -- "$HUSK" --root "$STORE" save -o "$BATS_TEST_TMPDIR/t.tar" basic
	assert_status 0
	tar -tf "$BATS_TEST_TMPDIR/t.tar" | grep -qx manifest.json || fail "no manifest.json"
	run python3 "$TOP/tests/integration/ptyrun.py" --timeout 90 -- "$HUSK" --root "$BATS_TEST_TMPDIR/store2" load
	assert_status 1
	assert_output_contains "refusing to read an archive from a terminal"
	remove_store "$BATS_TEST_TMPDIR/store2"
}

@test "save: repo:a and repo:b of two images are one key of repositories, with both tags" {
	pull basic latest
	pull multi latest
	husk tag basic repo:a
	husk tag multi repo:b
	run --separate-stderr husk save -o "$BATS_TEST_TMPDIR/r.tar" repo:a repo:b
	assert_status 0
	tar -C "$BATS_TEST_TMPDIR" -xf "$BATS_TEST_TMPDIR/r.tar" repositories manifest.json
	# A key written twice is an error here (json.load would keep the last one silently); each
	# tag names its image's top layer.
	run python3 - "$BATS_TEST_TMPDIR" <<'PY'
import json, os, sys
def once(pairs):
    keys = [k for k, _ in pairs]
    if len(keys) != len(set(keys)):
        sys.exit("a key twice: %r" % keys)
    return dict(pairs)
d = sys.argv[1]
repos = json.load(open(os.path.join(d, "repositories")), object_pairs_hook=once)
tops = {}
for m in json.load(open(os.path.join(d, "manifest.json"))):
    for t in m["RepoTags"]:
        tops[t] = m["Layers"][-1].split("/")[0]
for repo, tags in sorted(repos.items()):
    for tag, top in sorted(tags.items()):
        print(repo, tag, "ok" if tops[repo + ":" + tag] == top else "wrong top " + top)
PY
	assert_status 0
	assert_output "localhost/repo a ok
localhost/repo b ok"
}

@test "save --format oci-archive and oci-dir: round trips keep IDs, names and the manifest and config digests" {
	pull multi latest
	pull basic latest
	husk tag basic example.com/b:2
	want=$(inspect_table multi basic)
	for fmt in oci-archive oci-dir; do
		out=$BATS_TEST_TMPDIR/$fmt
		run --separate-stderr husk save --format "$fmt" -o "$out" multi basic example.com/b:2
		assert_status 0
		[ -z "$output" ] || fail "stdout: $output"
		if [ "$fmt" = oci-archive ]; then
			[ -f "$out" ] || fail "no file"
			mkdir "$BATS_TEST_TMPDIR/x"
			tar -C "$BATS_TEST_TMPDIR/x" -xf "$out"
			dir=$BATS_TEST_TMPDIR/x
		else
			dir=$out
		fi
		# The manifests as the store has them (their digests are husk inspect's), one entry a
		# name; the config blob is the image's ID, the layers are the blobs as pulled.
		run layout_entries "$dir"
		assert_status 0
		assert_output "$(husk inspect multi basic | python3 -c '
import json, sys
for i in json.load(sys.stdin):
    for t in i["RepoTags"]: print(i["Digest"], i["ManifestType"], t)')"
		blobs=$(husk inspect multi basic | python3 -c '
import json, sys
for i in json.load(sys.stdin): print(i["Id"], i["Digest"], *(l["Digest"] for l in i["Layers"]))')
		[ "$(wc -w <<<"$blobs")" -eq 8 ] || fail "expected 8 digests: $blobs"
		for d in $blobs; do
			[ -f "$dir/blobs/sha256/${d#sha256:}" ] || fail "$fmt: $d (an ID, manifest or layer digest) is not a blob"
		done
		! compgen -G "$BATS_TEST_TMPDIR/*.husk-tmp-*" >/dev/null || fail "a temporary name is left"
		run --separate-stderr other_husk load -i "$out"
		assert_status 0
		assert_output "Loaded image: localhost/multi:latest
Loaded image: localhost/basic:latest
Loaded image: example.com/b:2"
		run inspect_table other multi basic
		assert_output "$want"
		run --separate-stderr other_husk run --rm multi
		assert_output "layer 2"
		run --separate-stderr other_husk run --rm example.com/b:2
		assert_output "hello from husk"
		remove_store "$BATS_TEST_TMPDIR/store2"
		rm -rf "$BATS_TEST_TMPDIR/x"
	done
	# oci-dir: -o is required; an empty directory (also as "DIR/") is replaced, one with files
	# is not touched.
	run --separate-stderr husk save --format oci-dir basic
	assert_status 125
	mkdir "$BATS_TEST_TMPDIR/empty" "$BATS_TEST_TMPDIR/full"
	touch "$BATS_TEST_TMPDIR/full/keep"
	run --separate-stderr husk save --format oci-dir -o "$BATS_TEST_TMPDIR/empty/" basic
	assert_status 0
	[ -f "$BATS_TEST_TMPDIR/empty/index.json" ] || fail "no index.json"
	run --separate-stderr husk save --format oci-dir -o "$BATS_TEST_TMPDIR/full" basic
	assert_status 1
	assert_one_error_line
	[ "$(ls -A "$BATS_TEST_TMPDIR/full")" = keep ] || fail "the directory changed"
	! compgen -G "$BATS_TEST_TMPDIR/*.husk-tmp-*" >/dev/null || fail "a temporary name is left"
	run --separate-stderr husk save --format tarball -o "$BATS_TEST_TMPDIR/t" basic
	assert_status 125
}

@test "podman load and skopeo inspect accept what husk save --format oci-archive writes" {
	[ "$(test_mode)" = root ] || skip "podman load runs as root here"
	command -v podman >/dev/null || skip "podman is not installed"
	pull multi latest
	run --separate-stderr husk save --format oci-archive -o "$BATS_TEST_TMPDIR/o.tar" multi
	assert_status 0
	digest=$(husk inspect multi | python3 -c 'import json, sys; print(json.load(sys.stdin)[0]["Digest"])')
	run skopeo inspect "oci-archive:$BATS_TEST_TMPDIR/o.tar"
	[ "$status" -eq 0 ] || fail "skopeo inspect: $output"
	assert_output_contains "\"Digest\": \"$digest\""
	run skopeo inspect "oci-archive:$BATS_TEST_TMPDIR/o.tar:localhost/multi:latest"
	[ "$status" -eq 0 ] || fail "skopeo inspect by ref.name: $output"
	PODMAN_DIR=$(mktemp -d /tmp/hkpod.XXXXXX)
	run podman --root "$PODMAN_DIR/root" --runroot "$PODMAN_DIR/run" --storage-driver vfs \
		load -i "$BATS_TEST_TMPDIR/o.tar"
	[ "$status" -eq 0 ] || fail "podman load: $output"
	run podman --root "$PODMAN_DIR/root" --runroot "$PODMAN_DIR/run" --storage-driver vfs \
		image inspect --format '{{.Id}} {{.Digest}} {{.RepoTags}}' localhost/multi:latest
	[ "$status" -eq 0 ] || fail "podman image inspect: $output"
	assert_output "$(image_id multi) $digest [localhost/multi:latest]"
	# And back: what podman save writes in each format, husk load reads.
	for fmt in oci-archive oci-dir docker-archive; do
		run podman --root "$PODMAN_DIR/root" --runroot "$PODMAN_DIR/run" --storage-driver vfs \
			save --format "$fmt" -o "$BATS_TEST_TMPDIR/back-$fmt" localhost/multi:latest
		[ "$status" -eq 0 ] || fail "podman save --format $fmt: $output"
		run --separate-stderr other_husk load -q -i "$BATS_TEST_TMPDIR/back-$fmt"
		assert_status 0
		assert_output "Loaded image: localhost/multi:latest"
		run --separate-stderr other_husk images -q
		assert_output "$(image_id multi | cut -c1-12)"
		run --separate-stderr other_husk run --rm multi
		assert_output "layer 2"
		remove_store "$BATS_TEST_TMPDIR/store2"
	done
}

@test "save --format oci-archive: an image with a Docker v2 schema 2 manifest keeps it (skopeo, podman and husk read it)" {
	pull multi latest
	mkdir "$BATS_TEST_TMPDIR/ctx"
	printf 'FROM localhost/multi:latest\nLABEL saved=docker\n' >"$BATS_TEST_TMPDIR/ctx/Dockerfile"
	run --separate-stderr husk build -q --format docker -t dk:1 "$BATS_TEST_TMPDIR/ctx"
	assert_status 0
	want=$(inspect_table dk:1)
	run --separate-stderr husk save --format oci-archive -o "$BATS_TEST_TMPDIR/dk.tar" dk:1
	assert_status 0
	mkdir "$BATS_TEST_TMPDIR/x"
	tar -C "$BATS_TEST_TMPDIR/x" -xf "$BATS_TEST_TMPDIR/dk.tar"
	run layout_entries "$BATS_TEST_TMPDIR/x"
	assert_status 0
	assert_output "$(cut -d' ' -f2 <<<"$want") application/vnd.docker.distribution.manifest.v2+json localhost/dk:1"
	run skopeo inspect --raw "oci-archive:$BATS_TEST_TMPDIR/dk.tar"
	[ "$status" -eq 0 ] || fail "skopeo inspect: $output"
	[ "$(printf '%s' "$output" | sha256sum | cut -d' ' -f1)" = "$(cut -d' ' -f2 <<<"$want" | sed 's/sha256://')" ] ||
		fail "skopeo reads another manifest: $output"
	run --separate-stderr other_husk load -q -i "$BATS_TEST_TMPDIR/dk.tar"
	assert_status 0
	run inspect_table other dk:1
	assert_output "$want"
	remove_store "$BATS_TEST_TMPDIR/store2"
	if [ "$(test_mode)" = root ] && command -v podman >/dev/null; then
		PODMAN_DIR=$(mktemp -d /tmp/hkpod.XXXXXX)
		run podman --root "$PODMAN_DIR/root" --runroot "$PODMAN_DIR/run" --storage-driver vfs \
			load -i "$BATS_TEST_TMPDIR/dk.tar"
		[ "$status" -eq 0 ] || fail "podman load: $output"
		run podman --root "$PODMAN_DIR/root" --runroot "$PODMAN_DIR/run" --storage-driver vfs \
			image inspect --format 'sha256:{{.Id}} {{.Digest}} {{.RepoTags}}' localhost/dk:1
		[ "$status" -eq 0 ] || fail "podman image inspect: $output"
		assert_output "$(cut -d' ' -f1,2 <<<"$want") [localhost/dk:1]"
	fi
}

@test "load: what skopeo copy writes as docker-archive, oci-archive and an OCI layout directory" {
	skopeo copy -q "oci:$IMAGES/multi:latest" "docker-archive:$BATS_TEST_TMPDIR/d.tar:example.com/sk:1"
	skopeo copy -q "oci:$IMAGES/multi:latest" "oci-archive:$BATS_TEST_TMPDIR/o.tar:example.com/sko:2"
	skopeo copy -q "oci:$IMAGES/multi:latest" "oci-archive:$BATS_TEST_TMPDIR/bare.tar:v1"
	skopeo copy -q "oci:$IMAGES/multi:latest" "oci:$BATS_TEST_TMPDIR/dir:quay.io/x/y:3"
	# The file names say nothing: the content does.
	mv "$BATS_TEST_TMPDIR/o.tar" "$BATS_TEST_TMPDIR/o.docker"
	run --separate-stderr husk load -i "$BATS_TEST_TMPDIR/d.tar"
	assert_status 0
	assert_output "Loaded image: example.com/sk:1"
	run --separate-stderr husk load -i "$BATS_TEST_TMPDIR/o.docker"
	assert_status 0
	assert_output "Loaded image: example.com/sko:2"
	# A bare tag as podman load names it: a name of its own under localhost/.
	run --separate-stderr husk load -q <"$BATS_TEST_TMPDIR/bare.tar"
	assert_status 0
	assert_output "Loaded image: localhost/v1:latest"
	run --separate-stderr husk load -i "$BATS_TEST_TMPDIR/dir"
	assert_status 0
	assert_output "Loaded image: quay.io/x/y:3"
	# One image, the layout's manifest kept: its digest is the source layout's.
	run --separate-stderr husk images -q
	assert_output "$(image_id multi | cut -c1-12)"
	run inspect_table example.com/sko:2
	assert_output "sha256:$(image_id multi) sha256:$(manifest_hex "$IMAGES/multi") example.com/sk:1 example.com/sko:2 localhost/v1:latest quay.io/x/y:3"
	run --separate-stderr husk run --rm quay.io/x/y:3
	assert_output "layer 2"
}

@test "load: a damaged OCI layout or archive is one error and changes nothing" {
	pull basic latest
	pull multi latest
	husk save --format oci-dir -o "$BATS_TEST_TMPDIR/two" basic multi
	husk save --format oci-dir -o "$BATS_TEST_TMPDIR/one" basic
	# multi's last layer is in no other image: basic, loaded first, goes again.
	l=$(husk inspect multi | python3 -c '
import json, sys; print(json.load(sys.stdin)[0]["Layers"][-1]["Digest"].split(":")[1])')
	tamper_blob "$BATS_TEST_TMPDIR/two/blobs/sha256/$l"
	tar -C "$BATS_TEST_TMPDIR/two" -cf "$BATS_TEST_TMPDIR/two.tar" .
	# A name that is no reference; an index naming a missing manifest; no oci-layout.
	cp -R "$BATS_TEST_TMPDIR/one" "$BATS_TEST_TMPDIR/badname"
	sed -i 's/"localhost\/basic:latest"/"Not A Name!"/' "$BATS_TEST_TMPDIR/badname/index.json"
	cp -R "$BATS_TEST_TMPDIR/one" "$BATS_TEST_TMPDIR/nomanifest"
	rm "$BATS_TEST_TMPDIR/nomanifest/blobs/sha256/$(manifest_hex "$BATS_TEST_TMPDIR/one")"
	cp -R "$BATS_TEST_TMPDIR/one" "$BATS_TEST_TMPDIR/nolayout"
	rm "$BATS_TEST_TMPDIR/nolayout/oci-layout"
	tar -C "$BATS_TEST_TMPDIR/nolayout" -cf "$BATS_TEST_TMPDIR/nolayout.tar" .
	# The other store holds an image already; it stays as it is.
	new_store "$BATS_TEST_TMPDIR/store2"
	pull whiteout latest
	before=$(store_snapshot)
	for src in two two.tar; do
		run --separate-stderr husk load -i "$BATS_TEST_TMPDIR/$src"
		assert_status 1
		assert_one_error_line
		assert_stderr_contains "$BATS_TEST_TMPDIR/$src"
		assert_stderr_contains "$l"
		assert_store_unchanged "$before"
	done
	for src in badname nomanifest nolayout nolayout.tar; do
		run --separate-stderr husk load -i "$BATS_TEST_TMPDIR/$src"
		assert_status 1
		assert_one_error_line
		assert_store_unchanged "$before"
	done
	assert_stderr_contains "no manifest.json"
	run --separate-stderr husk images -q
	assert_output "$(image_id whiteout | cut -c1-12)"
}

@test "save -o writes through a device, a fifo and /dev/fd/N, and replaces the file a symlink names" {
	pull multi
	local t=$BATS_TEST_TMPDIR
	mkfifo "$t/fifo"
	# Bounded: a save that replaced the fifo would leave this reader waiting.
	timeout 30 sh -c 'wc -c <"$1" >"$2"' _ "$t/fifo" "$t/fifo.count" &
	run --separate-stderr husk save -o "$t/fifo" multi
	assert_status 0
	wait
	[ "$(cat "$t/fifo.count" 2>/dev/null || echo 0)" -gt 10000 ] || fail "the fifo got nothing"
	[ -p "$t/fifo" ] || fail "the fifo was replaced"
	touch "$t/real"
	ln -s "$t/real" "$t/link"
	run --separate-stderr husk save -o "$t/link" multi
	assert_status 0
	[ -L "$t/link" ] || fail "the symlink was replaced"
	[ -s "$t/real" ] || fail "the file it names is empty"
	run --separate-stderr husk save -o /dev/stdout multi
	assert_status 0
	[ -c /dev/null ] || fail "/dev/null"
	run --separate-stderr husk save -o "$t" multi
	assert_status 1
	assert_one_error_line
}
