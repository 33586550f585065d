#!/usr/bin/env bats
# husk push to registries: Debian's docker-registry on 127.0.0.1 over HTTP,
# HTTPS (a CA made here) and htpasswd Basic auth; tests/integration/badreg.py
# in front of it counts requests and misbehaves (tokens, 5xx and 429 during an
# upload, a dropped connection, a wrong digest, refusals).  What husk pushed is
# read back with skopeo, with husk into another store, and (as root) podman.

bats_require_minimum_version 1.5.0
load helpers
load registry

setup_file() {
	ensure_images
	registry_start plain http
	registry_start sec https
	registry_start auth auth
	badreg_start "$REG_plain_ADDR"
}

teardown_file() {
	registry_stop_all
}

setup() {
	new_store
	export XDG_RUNTIME_DIR=$BATS_TEST_TMPDIR/run XDG_CONFIG_HOME=$BATS_TEST_TMPDIR/config
	export DOCKER_CONFIG=$BATS_TEST_TMPDIR/docker
	unset REGISTRY_AUTH_FILE
	# A repository of its own for each test.
	REPO=t$BATS_SUITE_TEST_NUMBER
}

teardown() {
	remove_store "$STORE"
}

# The manifest digest a registry has for REF (docker://...), as skopeo reads it.
remote_digest() { # ADDR/REPO:TAG [skopeo args]
	local ref=$1
	shift
	skopeo inspect --tls-verify=false "$@" "docker://$ref" | python3 -c 'import json,sys; print(json.load(sys.stdin)["Digest"])'
}

# The blobs and layers of the store, which a push must leave as they were.
store_content() {
	(cd "$STORE" && find blobs layers -printf '%P %s %m\n' | LC_ALL=C sort)
}

# The requests badreg passed on since the log was emptied: "METHOD PATH" lines.
requests() {
	sed 's/ range=.*//' "$BADREG_DIR/requests"
}

assert_clean_push_failure() { # TEXT
	assert_status 1
	assert_one_error_line
	assert_stderr_contains "$1"
}

@test "push: the registry has the image skopeo reads back, with the digest husk printed" {
	pull multi
	local before
	before=$(store_content)
	run --separate-stderr husk push -q multi "$REG_plain_ADDR/$REPO/multi:v1"
	assert_status 0
	[[ $output =~ ^sha256:[0-9a-f]{64}$ ]] || fail "-q printed \"$output\""
	[ "$output" = "$(remote_digest "$REG_plain_ADDR/$REPO/multi:v1")" ] || fail "digests differ"
	# The image's own manifest went out byte for byte.
	[ "$output" = "sha256:$(manifest_hex "$IMAGES/multi")" ] || fail "the manifest was rewritten"
	[ "$before" = "$(store_content)" ] || fail "the push changed the store's blobs or layers"
	# Pulled into another store by husk, it is the same image.
	STORE=$BATS_TEST_TMPDIR/other
	run --separate-stderr husk pull -q "$REG_plain_ADDR/$REPO/multi:v1"
	assert_status 0
	assert_output "$(image_id multi)"
	# skopeo copies it out as a layout whose blobs verify.
	skopeo --insecure-policy copy -q --src-tls-verify=false "docker://$REG_plain_ADDR/$REPO/multi:v1" \
		"oci:$BATS_TEST_TMPDIR/out:x" || fail "skopeo could not copy what husk pushed"
}

@test "push: progress on stderr, a summary on stdout, and --digestfile" {
	pull basic latest
	run --separate-stderr husk push --digestfile "$BATS_TEST_TMPDIR/d" basic "$REG_plain_ADDR/$REPO/basic"
	assert_status 0
	[[ $stderr == *"Pushing $REG_plain_ADDR/$REPO/basic:latest"* ]] || fail "no Pushing line: $stderr"
	[[ $stderr == *": uploading "*" bytes"* ]] || fail "no uploading line: $stderr"
	local d
	d=$(cat "$BATS_TEST_TMPDIR/d")
	[ "$d" = "$(remote_digest "$REG_plain_ADDR/$REPO/basic:latest")" ] || fail "digestfile $d"
	assert_output_contains "$REG_plain_ADDR/$REPO/basic@$d"
}

@test "push: a second push sends nothing: a HEAD per blob and one for the manifest" {
	pull multi
	run --separate-stderr husk push -q multi "$BADREG_ADDR/ok/$REPO/multi:1"
	assert_status 0
	: >"$BADREG_DIR/requests"
	run --separate-stderr husk push multi "$BADREG_ADDR/ok/$REPO/multi:1"
	assert_status 0
	assert_output_contains "0 uploaded, 0 mounted, 3 already present"
	local layers
	layers=$(layer_hexes "$IMAGES/multi" | wc -l)
	[ "$(requests | grep -c "^HEAD /v2/ok/$REPO/multi/blobs/")" -eq $((layers + 1)) ] ||
		fail "expected a HEAD per layer and the config:" "$(requests)"
	! requests | grep -q -e '^POST' -e '^PATCH' -e '^PUT' || fail "something went up again:" "$(requests)"
	[ "$(requests | grep -c "^HEAD /v2/ok/$REPO/multi/manifests/1")" -eq 1 ] || fail "no manifest HEAD:" "$(requests)"
	# Another tag of the same manifest is put.
	: >"$BADREG_DIR/requests"
	run --separate-stderr husk push -q multi "$BADREG_ADDR/ok/$REPO/multi:2"
	assert_status 0
	[ "$(requests | grep -c "^PUT /v2/ok/$REPO/multi/manifests/2")" -eq 1 ] || fail "no manifest PUT:" "$(requests)"
	[ "$(remote_digest "$REG_plain_ADDR/$REPO/multi:2")" = "$output" ] || fail "tag 2"
}

@test "push: blobs another repository of the registry has are mounted, not uploaded" {
	# Pulled from the registry, the image's name says where its blobs are.
	registry_push "$IMAGES/multi:latest" "$REG_plain_ADDR/$REPO/base:1"
	run --separate-stderr husk pull -q "$BADREG_ADDR/ok/$REPO/base:1"
	assert_status 0
	: >"$BADREG_DIR/requests"
	run --separate-stderr husk push "$BADREG_ADDR/ok/$REPO/base:1" "$BADREG_ADDR/ok/$REPO/copy:1"
	assert_status 0
	assert_output_contains "0 uploaded, 3 mounted, 0 already present"
	# The three layers and the config.
	[ "$(requests | grep -c "^POST /v2/ok/$REPO/copy/blobs/uploads/?mount=sha256.*&from=ok%2F$REPO%2Fbase")" -eq 4 ] ||
		fail "expected four mounts:" "$(requests)"
	! requests | grep -q -e '^PATCH' -e '^PUT .*/blobs/' || fail "a blob was uploaded:" "$(requests)"
	[ "$(remote_digest "$REG_plain_ADDR/$REPO/copy:1")" = "$(remote_digest "$REG_plain_ADDR/$REPO/base:1")" ] ||
		fail "the copy is another manifest"
}

@test "push: records the repository digest, and a push to another repository mounts from there" {
	pull multi
	run --separate-stderr husk push -q multi "$BADREG_ADDR/ok/$REPO/first:1"
	assert_status 0
	local d=$output
	run --separate-stderr husk inspect multi
	assert_output_contains "\"$BADREG_ADDR/ok/$REPO/first@$d\""
	run --separate-stderr husk images --digests
	assert_output_contains "$d"
	# The repository digest runs the image.
	run --separate-stderr husk inspect "$BADREG_ADDR/ok/$REPO/first@$d"
	assert_status 0
	: >"$BADREG_DIR/requests"
	run --separate-stderr husk push multi "$BADREG_ADDR/ok/$REPO/second:1"
	assert_status 0
	assert_output_contains "0 uploaded, 3 mounted, 0 already present"
	[ "$(requests | grep -c "&from=ok%2F$REPO%2Ffirst")" -eq 4 ] || fail "expected four mounts:" "$(requests)"
}

@test "push: a layer made here (husk commit) goes up gzip-compressed and comes back the same" {
	pull basic latest
	run --separate-stderr husk run --name c basic sh -c 'echo made-here >/made'
	assert_status 0
	run --separate-stderr husk commit c "$REG_plain_ADDR/$REPO/made:1"
	assert_status 0
	local id=$output
	run --separate-stderr husk push -q "$REG_plain_ADDR/$REPO/made:1"
	assert_status 0
	skopeo inspect --tls-verify=false --raw "docker://$REG_plain_ADDR/$REPO/made:1" >"$BATS_TEST_TMPDIR/m"
	grep -q 'layer.v1.tar+gzip' "$BATS_TEST_TMPDIR/m" || fail "layers: $(cat "$BATS_TEST_TMPDIR/m")"
	STORE=$BATS_TEST_TMPDIR/other
	run --separate-stderr husk pull -q "$REG_plain_ADDR/$REPO/made:1"
	assert_status 0
	assert_output "${id#sha256:}"
	run --separate-stderr husk run --rm "$REG_plain_ADDR/$REPO/made:1" cat /made
	assert_status 0
	assert_output made-here
	remove_store "$STORE"
}

@test "push: --format v2s2 sends a Docker manifest of the same config and blobs" {
	pull basic latest
	run --separate-stderr husk push -q --format v2s2 basic "$REG_plain_ADDR/$REPO/d:1"
	assert_status 0
	skopeo inspect --tls-verify=false --raw "docker://$REG_plain_ADDR/$REPO/d:1" >"$BATS_TEST_TMPDIR/m"
	grep -q '"application/vnd.docker.distribution.manifest.v2+json"' "$BATS_TEST_TMPDIR/m" ||
		fail "not a v2s2 manifest: $(cat "$BATS_TEST_TMPDIR/m")"
	grep -q 'rootfs.diff.tar.gzip' "$BATS_TEST_TMPDIR/m" || fail "layer types: $(cat "$BATS_TEST_TMPDIR/m")"
	STORE=$BATS_TEST_TMPDIR/other
	run --separate-stderr husk pull -q "$REG_plain_ADDR/$REPO/d:1"
	assert_status 0
	assert_output "$(image_id basic)"
	remove_store "$STORE"
	run --separate-stderr husk push --format v3 basic "$REG_plain_ADDR/$REPO/d:1"
	assert_status 125
}

@test "push: HTTPS with a CA in certs.d; without it only --tls-verify=false gets through" {
	pull basic latest
	run --separate-stderr husk push basic "$REG_sec_ADDR/$REPO/basic:1"
	assert_clean_push_failure "certificate"
	mkdir -p "$XDG_CONFIG_HOME/containers/certs.d/$REG_sec_ADDR"
	cp "$BATS_FILE_TMPDIR/certs/ca.crt" "$XDG_CONFIG_HOME/containers/certs.d/$REG_sec_ADDR/"
	run --separate-stderr husk push -q basic "$REG_sec_ADDR/$REPO/basic:1"
	assert_status 0
	rm -r "$XDG_CONFIG_HOME/containers/certs.d"
	run --separate-stderr husk push -q --tls-verify=false basic "$REG_sec_ADDR/$REPO/basic:2"
	assert_status 0
	[ "$output" = "$(remote_digest "$REG_sec_ADDR/$REPO/basic:2")" ] || fail "digest"
}

@test "push: Basic auth: refused without credentials, accepted after husk login" {
	pull basic latest
	export REGISTRY_AUTH_FILE=$BATS_TEST_TMPDIR/auth.json
	run --separate-stderr husk push --tls-verify=false basic "$REG_auth_ADDR/$REPO/basic:1"
	assert_clean_push_failure "authentication required"
	run --separate-stderr husk login --tls-verify=false -u "$TEST_USER" -p "$TEST_PASS" "$REG_auth_ADDR"
	assert_status 0
	run --separate-stderr husk push -q --tls-verify=false basic "$REG_auth_ADDR/$REPO/basic:1"
	assert_status 0
	[ "$output" = "$(remote_digest "$REG_auth_ADDR/$REPO/basic:1" --creds "$TEST_USER:$TEST_PASS")" ] || fail "digest"
}

@test "push: the Bearer token flow asks for pull,push" {
	pull basic latest
	: >"$BADREG_DIR/requests"
	run --separate-stderr husk push -q basic "$BADREG_ADDR/bearer/$REPO/basic:1"
	assert_status 0
	grep -q "^GET /token?.*scope=repository%3Abearer%2F$REPO%2Fbasic%3Apull%2Cpush" "$BADREG_DIR/requests" ||
		fail "no pull,push token asked:" "$(requests | grep token)"
	[ "$output" = "$(remote_digest "$REG_plain_ADDR/$REPO/basic:1")" ] || fail "digest"
}

@test "push: 500 and 429 during an upload start it again, and the push succeeds" {
	pull multi
	: >"$BADREG_DIR/requests"
	run --separate-stderr husk push -q multi "$BADREG_ADDR/upflaky/$REPO/multi:1"
	assert_status 0
	[ "$output" = "$(remote_digest "$REG_plain_ADDR/$REPO/multi:1")" ] || fail "digest"
	# Each blob's upload was begun three times.
	[ "$(requests | grep -c "^POST /v2/upflaky/$REPO/multi/blobs/uploads/")" -ge 9 ] ||
		fail "expected new uploads after the failures:" "$(requests)"
}

@test "push: a connection dropped in the middle of a blob starts its upload again" {
	pull multi
	run --separate-stderr husk push -q multi "$BADREG_ADDR/updrop/$REPO/multi:1"
	assert_status 0
	[ "$output" = "$(remote_digest "$REG_plain_ADDR/$REPO/multi:1")" ] || fail "digest"
}

@test "push: a registry that stores another digest than the one sent: an error, no manifest" {
	pull multi
	run --separate-stderr husk push multi "$BADREG_ADDR/upbaddigest/$REPO/multi:1"
	assert_clean_push_failure "the registry stored it as sha256:0000"
	run skopeo inspect --tls-verify=false "docker://$REG_plain_ADDR/$REPO/multi:1"
	[ "$status" -ne 0 ] || fail "a manifest was pushed"
}

@test "push: a blob the registry never takes fails the push, and no manifest names it" {
	pull plain
	run --separate-stderr husk push plain "$BADREG_ADDR/upfailblob/$REPO/plain:1"
	assert_clean_push_failure "internal server error (HTTP 500: this blob never goes in)"
	run skopeo inspect --tls-verify=false "docker://$REG_plain_ADDR/$REPO/plain:1"
	[ "$status" -ne 0 ] || fail "a manifest was pushed"
}

@test "push: 401, 403, 500 and 429 fail with one line, and the store is as it was" {
	pull basic latest
	BEFORE=$(store_snapshot)
	run --separate-stderr husk push basic "$BADREG_ADDR/e401/$REPO/basic:1"
	assert_clean_push_failure "authentication required"
	run --separate-stderr husk push basic "$BADREG_ADDR/e403/$REPO/basic:1"
	assert_clean_push_failure "access denied (HTTP 403"
	run --separate-stderr husk push basic "$BADREG_ADDR/e500/$REPO/basic:1"
	assert_clean_push_failure "internal server error (HTTP 500"
	run --separate-stderr husk push basic "$BADREG_ADDR/e429/$REPO/basic:1"
	assert_clean_push_failure "too many requests (HTTP 429"
	assert_store_unchanged "$BEFORE"
}

@test "push: operand errors: an unknown image, an ID without a destination, nothing listening" {
	pull basic latest
	run --separate-stderr husk push nosuch "$REG_plain_ADDR/$REPO/x:1"
	assert_status 1
	assert_one_error_line
	run --separate-stderr husk push "$(image_id basic)"
	assert_clean_push_failure "needs a destination"
	local port
	port=$(free_port)
	run --separate-stderr husk push basic "127.0.0.1:$port/$REPO/x:1"
	assert_status 1
	assert_one_error_line
	run --separate-stderr husk push
	assert_status 125
}

@test "push: podman pulls and runs what husk pushed" {
	[ "$(test_mode)" = root ] || skip "podman runs as root here"
	pull basic latest
	run --separate-stderr husk push -q basic "$REG_plain_ADDR/$REPO/basic:1"
	assert_status 0
	# podman wants a run root of at most 50 characters: a short directory of its own.
	local p
	p=$(mktemp -d /tmp/hkpush.XXXXXX)
	unset DOCKER_CONFIG XDG_CONFIG_HOME
	export XDG_RUNTIME_DIR=$p/xdg
	run podman --root "$p/root" --runroot "$p/run" --storage-driver vfs pull -q --tls-verify=false \
		"$REG_plain_ADDR/$REPO/basic:1"
	assert_status 0
	run podman --root "$p/root" --runroot "$p/run" --storage-driver vfs images --no-trunc --format '{{.ID}}'
	assert_output_contains "$(image_id basic)"
	podman --root "$p/root" --runroot "$p/run" --storage-driver vfs rmi -a -f >/dev/null 2>&1 || true
	rm -rf "$p"
}

@test "push: --compression-format zstd: skopeo reads the zstd layers back, husk pulls the same image" {
	pull multi
	run --separate-stderr husk push --compression-format zstd multi "$REG_plain_ADDR/$REPO/z:1"
	assert_status 0
	assert_output_contains "3 compressed anew"
	skopeo inspect --tls-verify=false --raw "docker://$REG_plain_ADDR/$REPO/z:1" >"$BATS_TEST_TMPDIR/m"
	[ "$(grep -o 'layer.v1.tar+zstd' "$BATS_TEST_TMPDIR/m" | wc -l)" -eq 3 ] ||
		fail "layers: $(cat "$BATS_TEST_TMPDIR/m")"
	skopeo --insecure-policy copy -q --src-tls-verify=false "docker://$REG_plain_ADDR/$REPO/z:1" \
		"oci:$BATS_TEST_TMPDIR/out:x" || fail "skopeo could not copy the zstd image"
	# A second push, to another repository, finds the zstd blobs made by the first, and mounts
	# them from where the first put them.
	run --separate-stderr husk push --compression-format zstd multi "$REG_plain_ADDR/$REPO/z2:1"
	assert_status 0
	[[ $output != *"compressed anew"* ]] || fail "compressed again: $output"
	assert_output_contains "0 uploaded, 3 mounted"
	[ "$(ls "$STORE/blob-cache/zstd" | wc -l)" -eq 3 ] || fail "blob-cache: $(ls -R "$STORE/blob-cache")"
	STORE=$BATS_TEST_TMPDIR/other
	run --separate-stderr husk pull -q "$REG_plain_ADDR/$REPO/z2:1"
	assert_status 0
	assert_output "$(image_id multi)"
	remove_store "$STORE"
}

@test "push: a layer kept as a plain tar (a docker-archive's) goes up gzip-compressed" {
	pull basic latest
	run --separate-stderr husk save -o "$BATS_TEST_TMPDIR/a.tar" basic
	assert_status 0
	STORE=$BATS_TEST_TMPDIR/other
	run --separate-stderr husk load -i "$BATS_TEST_TMPDIR/a.tar"
	assert_status 0
	run --separate-stderr husk push basic "$REG_plain_ADDR/$REPO/g:1"
	assert_status 0
	skopeo inspect --tls-verify=false --raw "docker://$REG_plain_ADDR/$REPO/g:1" >"$BATS_TEST_TMPDIR/m"
	grep -q 'tar+gzip\|tar.gzip' "$BATS_TEST_TMPDIR/m" || fail "layers: $(cat "$BATS_TEST_TMPDIR/m")"
	! grep -q '"application/vnd[a-z.]*\(layer.v1.tar\|rootfs.diff.tar\)"' "$BATS_TEST_TMPDIR/m" ||
		fail "a plain tar went up: $(cat "$BATS_TEST_TMPDIR/m")"
	remove_store "$STORE"
	STORE=$BATS_TEST_TMPDIR/third
	run --separate-stderr husk pull -q "$REG_plain_ADDR/$REPO/g:1"
	assert_status 0
	assert_output "$(image_id basic)"
	remove_store "$STORE"
}

@test "push: compression usage errors, and zstd in a Docker manifest" {
	pull basic latest
	run --separate-stderr husk push --compression-format xz basic "$REG_plain_ADDR/$REPO/x:1"
	assert_status 125
	run --separate-stderr husk push --compression-level 3 basic "$REG_plain_ADDR/$REPO/x:1"
	assert_status 125
	run --separate-stderr husk push --compression-format zstd --compression-level 30 basic "$REG_plain_ADDR/$REPO/x:1"
	assert_status 125
	run --separate-stderr husk push --compression-format zstd --format v2s2 basic "$REG_plain_ADDR/$REPO/x:1"
	assert_clean_push_failure "cannot name zstd layers"
}

@test "push: to oci:, oci-archive: and docker-archive:, which skopeo and husk read back" {
	pull multi
	run --separate-stderr husk push multi "oci:$BATS_TEST_TMPDIR/lay:v1"
	assert_status 0
	[ "$(skopeo inspect "oci:$BATS_TEST_TMPDIR/lay:v1" | python3 -c 'import json,sys; print(json.load(sys.stdin)["Digest"])')" = \
		"sha256:$(manifest_hex "$IMAGES/multi")" ] || fail "oci: digest"
	run --separate-stderr husk push -q multi "oci-archive:$BATS_TEST_TMPDIR/a.tar:v2"
	assert_status 0
	assert_output "sha256:$(manifest_hex "$IMAGES/multi")"
	skopeo inspect "oci-archive:$BATS_TEST_TMPDIR/a.tar:v2" >/dev/null || fail "skopeo cannot read the oci-archive"
	run --separate-stderr husk push multi "docker-archive:$BATS_TEST_TMPDIR/d.tar:team/app:3"
	assert_status 0
	tar -xOf "$BATS_TEST_TMPDIR/d.tar" manifest.json | grep -q '"RepoTags":\["localhost/team/app:3"\]' ||
		fail "RepoTags: $(tar -xOf "$BATS_TEST_TMPDIR/d.tar" manifest.json)"
	STORE=$BATS_TEST_TMPDIR/other
	run --separate-stderr husk load -i "$BATS_TEST_TMPDIR/d.tar"
	assert_status 0
	run --separate-stderr husk pull -q "oci:$BATS_TEST_TMPDIR/lay:v1"
	assert_status 0
	assert_output "$(image_id multi)"
	run --separate-stderr husk inspect localhost/team/app:3
	assert_status 0
	assert_output_contains "$(image_id multi)"
	remove_store "$STORE"
	# A directory with files in it is not written over.
	mkdir "$BATS_TEST_TMPDIR/full" && touch "$BATS_TEST_TMPDIR/full/x"
	STORE=$BATS_TEST_TMPDIR/store
	run --separate-stderr husk push multi "oci:$BATS_TEST_TMPDIR/full"
	assert_status 1
	assert_one_error_line
	[ -e "$BATS_TEST_TMPDIR/full/x" ] || fail "the directory was replaced"
}

@test "push: no Authorization header follows a redirect to another host" {
	pull multi
	: >"$BADREG_DIR/redirect-auth"
	run --separate-stderr husk push -q multi "$BADREG_ADDR/redirect/$REPO/multi:1"
	assert_status 0
	[ -s "$BADREG_DIR/redirect-auth" ] || fail "no request was redirected"
	! grep -q '^auth$' "$BADREG_DIR/redirect-auth" || fail "the token crossed hosts"
	[ "$output" = "$(remote_digest "$REG_plain_ADDR/$REPO/multi:1")" ] || fail "digest"
}

@test "push: an image that came in twice, in two compressions, still pushes and saves" {
	pull basic latest
	run --separate-stderr husk save -o "$BATS_TEST_TMPDIR/a.tar" localhost/basic:latest
	assert_status 0
	# The layers are there already (gzip, from the layout): the archive's plain tars too.
	run --separate-stderr husk load -i "$BATS_TEST_TMPDIR/a.tar"
	assert_status 0
	run --separate-stderr husk push -q localhost/basic:latest "$REG_plain_ADDR/$REPO/twice:1"
	assert_status 0
	run --separate-stderr husk save --format oci-archive -o "$BATS_TEST_TMPDIR/b.tar" localhost/basic:latest
	assert_status 0
	# The other way round, in a store of its own.
	STORE=$BATS_TEST_TMPDIR/other
	run --separate-stderr husk load -i "$BATS_TEST_TMPDIR/a.tar"
	assert_status 0
	pull basic latest
	run --separate-stderr husk push -q localhost/basic:latest "$REG_plain_ADDR/$REPO/twice:2"
	assert_status 0
	assert_output "sha256:$(manifest_hex "$IMAGES/basic")"
	remove_store "$STORE"
}

@test "push: archive destinations take no registry options, and a layout tag must be valid" {
	pull basic latest
	run --separate-stderr husk push --compression-format zstd basic "oci:$BATS_TEST_TMPDIR/l"
	assert_status 125
	run --separate-stderr husk push --format v2s2 basic "oci-archive:$BATS_TEST_TMPDIR/a.tar"
	assert_status 125
	run --separate-stderr husk push --digestfile "$BATS_TEST_TMPDIR/d" basic "docker-archive:$BATS_TEST_TMPDIR/d.tar"
	assert_status 125
	run --separate-stderr husk push basic "oci:$BATS_TEST_TMPDIR/l:bad tag"
	assert_status 125
	[ ! -e "$BATS_TEST_TMPDIR/l" ] || fail "a layout was written"
	run --separate-stderr husk push --digestfile "$BATS_TEST_TMPDIR/d" basic "oci:$BATS_TEST_TMPDIR/l:v1"
	assert_status 0
	[ "$(cat "$BATS_TEST_TMPDIR/d")" = "sha256:$(manifest_hex "$IMAGES/basic")" ] || fail "digestfile"
}

@test "push: NAME@sha256 alone is pushed by that digest to its repository" {
	registry_push "$IMAGES/multi:latest" "$REG_plain_ADDR/$REPO/bydigest:1"
	local d
	d=$(remote_digest "$REG_plain_ADDR/$REPO/bydigest:1")
	run --separate-stderr husk pull -q "$REG_plain_ADDR/$REPO/bydigest@$d"
	assert_status 0
	run --separate-stderr husk push -q "$REG_plain_ADDR/$REPO/bydigest@$d"
	assert_status 0
	assert_output "$d"
}

@test "push: to an OCI layout that is there already adds the image, and a tag names one image" {
	pull multi
	pull basic latest
	run --separate-stderr husk push multi "oci:$BATS_TEST_TMPDIR/lay:one"
	assert_status 0
	run --separate-stderr husk push basic "oci:$BATS_TEST_TMPDIR/lay:two"
	assert_status 0
	run --separate-stderr husk push basic "oci:$BATS_TEST_TMPDIR/lay:one"
	assert_status 0
	python3 - "$BATS_TEST_TMPDIR/lay" <<-'PY'
		import json, sys
		idx = json.load(open(sys.argv[1] + "/index.json"))
		names = sorted(m["annotations"]["org.opencontainers.image.ref.name"] for m in idx["manifests"])
		assert names == ["one", "two"], names
	PY
	[ "$(skopeo inspect "oci:$BATS_TEST_TMPDIR/lay:one" | python3 -c 'import json,sys; print(json.load(sys.stdin)["Digest"])')" = \
		"sha256:$(manifest_hex "$IMAGES/basic")" ] || fail "one is not basic now"
	STORE=$BATS_TEST_TMPDIR/other
	run --separate-stderr husk pull -q "oci:$BATS_TEST_TMPDIR/lay:two"
	assert_status 0
	assert_output "$(image_id basic)"
	remove_store "$STORE"
	# No temporary file is left in the layout.
	[ -z "$(find "$BATS_TEST_TMPDIR/lay" -name '*husk-tmp*')" ] || fail "temporary files left"
}
