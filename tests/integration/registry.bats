#!/usr/bin/env bats
# husk pull from registries: Debian's docker-registry on 127.0.0.1 over HTTP,
# HTTPS (a CA made here) and htpasswd Basic auth; tests/integration/badreg.py
# in front of it for Bearer tokens, redirects and failures.  Images are
# pushed with skopeo.

bats_require_minimum_version 1.5.0
load helpers
load registry

host_arch() {
	case $(uname -m) in
	x86_64) echo amd64 ;;
	aarch64) echo arm64 ;;
	*) uname -m ;;
	esac
}

setup_file() {
	ensure_images
	registry_start plain http
	registry_start sec https
	registry_start auth auth
	registry_start dmg http
	badreg_start "$REG_plain_ADDR"
	local work=$BATS_FILE_TMPDIR/layouts other=riscv64
	[ "$(host_arch)" = riscv64 ] && other=s390x
	mkdir -p "$work"
	python3 "$_helpers_dir/layouttool.py" zstd "$IMAGES/multi" "$work/zstd"
	python3 "$_helpers_dir/layouttool.py" index "$work/idx" "$(host_arch)" "$IMAGES/basic" "$other" "$IMAGES/single"
	export OTHER_ARCH=$other
	registry_push "$IMAGES/basic:latest" "$REG_plain_ADDR/test/basic:latest"
	registry_push "$IMAGES/multi:latest" "$REG_plain_ADDR/test/multi:latest"
	registry_push "$IMAGES/plain:latest" "$REG_plain_ADDR/test/plain:latest"
	registry_push "$work/zstd:latest" "$REG_plain_ADDR/test/zstd:latest"
	registry_push "$IMAGES/basic:latest" "$REG_plain_ADDR/test/docker:latest" --format v2s2
	registry_push "$work/idx:latest" "$REG_plain_ADDR/test/idx:latest" --all
	registry_push "$IMAGES/basic:latest" "$REG_sec_ADDR/test/basic:latest"
	registry_push "$IMAGES/basic:latest" "$REG_auth_ADDR/test/basic:latest" --dest-creds "$TEST_USER:$TEST_PASS"
	registry_push "$IMAGES/entry:latest" "$REG_dmg_ADDR/test/entry:latest"
	registry_push "$IMAGES/multi:latest" "$REG_dmg_ADDR/test/multi:latest"
}

teardown_file() {
	registry_stop_all
}

setup() {
	new_store
	export XDG_RUNTIME_DIR=$BATS_TEST_TMPDIR/run XDG_CONFIG_HOME=$BATS_TEST_TMPDIR/config
	export DOCKER_CONFIG=$BATS_TEST_TMPDIR/docker
	unset REGISTRY_AUTH_FILE
}

teardown() {
	remove_store "$STORE"
}

# A store that already holds an image, for before/after comparisons.
seeded_store() {
	pull single
	BEFORE=$(store_snapshot)
}

# The failure convention: exit 1, one clear error line, the store as it was.
assert_clean_failure() { # TEXT
	assert_status 1
	assert_one_error_line
	assert_stderr_contains "$1"
	assert_store_unchanged "$BEFORE"
}

@test "registry: pull over HTTP prints the image ID and names the image by its reference" {
	run --separate-stderr husk pull "$REG_plain_ADDR/test/basic:latest"
	assert_status 0
	assert_output "$(image_id basic)"
	run --separate-stderr husk images
	assert_output_contains "$REG_plain_ADDR/test/basic"
	run --separate-stderr husk run --rm "$REG_plain_ADDR/test/basic:latest"
	assert_status 0
	assert_output "hello from husk"
}

@test "registry: docker:// prefix, and a missing tag means latest" {
	run --separate-stderr husk pull -q "docker://$REG_plain_ADDR/test/basic"
	assert_status 0
	assert_output "$(image_id basic)"
	# Only the warning about unmapped owners (as a user without a subuid range) may remain.
	[ -z "$(grep -v '^husk: warning: .*no /etc/subuid range' <<<"$stderr")" ] ||
		fail "-q printed on stderr: $stderr"
	run --separate-stderr husk images
	assert_output_contains "$REG_plain_ADDR/test/basic"
	assert_output_contains "latest"
}

@test "registry: progress lines on stderr when it is not a terminal" {
	run --separate-stderr husk pull "$REG_plain_ADDR/test/multi:latest"
	assert_status 0
	assert_output "$(image_id multi)"
	assert_stderr_contains "Pulling $REG_plain_ADDR/test/multi:latest"
	[ "$(grep -c ': done$' <<<"$stderr")" -eq 3 ] || fail "expected 3 layers done:" "$stderr"
	run --separate-stderr husk pull "$REG_plain_ADDR/test/multi:latest"
	assert_status 0
	[ "$(grep -c 'already present' <<<"$stderr")" -eq 3 ] || fail "expected 3 layers present:" "$stderr"
}

@test "registry: gzip, uncompressed and zstd layers unpack to the same content" {
	run --separate-stderr husk pull -q "$REG_plain_ADDR/test/plain:latest"
	assert_status 0
	assert_output "$(image_id plain)"
	run --separate-stderr husk pull -q "$REG_plain_ADDR/test/zstd:latest"
	assert_status 0
	# Same config, so the same image ID as the gzip original.
	assert_output "$(image_id multi)"
	run --separate-stderr husk run --rm "$REG_plain_ADDR/test/zstd:latest" cat /l2 /l3 /etc/motd
	assert_status 0
	assert_output $'from layer 2\nfrom layer 3\nlayer 2'
}

@test "registry: a Docker schema 2 manifest" {
	run --separate-stderr husk pull -q "$REG_plain_ADDR/test/docker:latest"
	assert_status 0
	[[ "$output" =~ ^[0-9a-f]{64}$ ]] || fail "no ID: $output"
	run --separate-stderr husk run --rm "$REG_plain_ADDR/test/docker:latest"
	assert_output "hello from husk"
}

@test "registry: inspect shows a pulled Docker schema 2 image's manifest type and layer types, as stored" {
	run --separate-stderr husk pull -q "$REG_plain_ADDR/test/docker:latest"
	assert_status 0
	run --separate-stderr husk inspect "$REG_plain_ADDR/test/docker:latest"
	assert_status 0
	python3 -c '
import json, sys
d = json.loads(sys.argv[1])[0]
assert d["ManifestType"] == "application/vnd.docker.distribution.manifest.v2+json", d["ManifestType"]
assert {l["MediaType"] for l in d["Layers"]} == {"application/vnd.docker.image.rootfs.diff.tar.gzip"}, d["Layers"]
' "$output" || fail "$output"
}

@test "registry: an index gives this machine's image, skipping the attestation" {
	run --separate-stderr husk pull -q "$REG_plain_ADDR/test/idx:latest"
	assert_status 0
	assert_output "$(image_id basic)"
}

@test "registry: --platform picks another entry of the index" {
	run --separate-stderr husk pull -q --platform "linux/$OTHER_ARCH" "$REG_plain_ADDR/test/idx:latest"
	assert_status 0
	assert_output "$(image_id single)"
	run --separate-stderr husk pull -q --platform "linux/$OTHER_ARCH/v1" "$REG_plain_ADDR/test/idx:latest"
	assert_status 0
	assert_output "$(image_id single)"
}

@test "registry: a platform the index lacks lists those it offers, not the attestation" {
	seeded_store
	run --separate-stderr husk pull --platform linux/mips64le "$REG_plain_ADDR/test/idx:latest"
	assert_clean_failure "no image for linux/mips64le (the index offers: linux/$(host_arch), linux/$OTHER_ARCH/v1)"
	[[ "$stderr" != *unknown* ]] || fail "the attestation was offered: $stderr"
	run --separate-stderr husk pull --platform "linux/$OTHER_ARCH/v7" "$REG_plain_ADDR/test/idx:latest"
	assert_clean_failure "no image for linux/$OTHER_ARCH/v7"
}

@test "registry: a malformed --platform is a usage error" {
	run --separate-stderr husk pull --platform linux "$REG_plain_ADDR/test/idx:latest"
	assert_status 125
	assert_one_error_line
	assert_stderr_contains 'platform "linux": expected OS/ARCH[/VARIANT]'
}

@test "registry: NAME@sha256 pins the manifest" {
	local m
	m=$(manifest_hex "$IMAGES/basic")
	run --separate-stderr husk pull -q "$REG_plain_ADDR/test/basic@sha256:$m"
	assert_status 0
	assert_output "$(image_id basic)"
}

@test "registry: a digest the registry does not have" {
	seeded_store
	run --separate-stderr husk pull "$REG_plain_ADDR/test/basic@sha256:$(printf '%064d' 0)"
	assert_clean_failure "not found (HTTP 404"
}

@test "registry: an unknown repository and an unknown tag" {
	seeded_store
	run --separate-stderr husk pull "$REG_plain_ADDR/test/nothere:latest"
	assert_clean_failure "manifest \"latest\": not found (HTTP 404"
	run --separate-stderr husk pull "$REG_plain_ADDR/test/basic:nosuchtag"
	assert_clean_failure "manifest \"nosuchtag\": not found (HTTP 404"
}

@test "registry: nothing listening" {
	seeded_store
	run --separate-stderr husk pull "127.0.0.1:$(free_port)/test/basic:latest"
	assert_clean_failure "pull \"127.0.0.1:"
}

@test "registry: HTTPS with a CA in certs.d" {
	mkdir -p "$XDG_CONFIG_HOME/containers/certs.d/$REG_sec_ADDR"
	cp "$BATS_FILE_TMPDIR/certs/ca.crt" "$XDG_CONFIG_HOME/containers/certs.d/$REG_sec_ADDR/ca.crt"
	run --separate-stderr husk pull -q "$REG_sec_ADDR/test/basic:latest"
	assert_status 0
	assert_output "$(image_id basic)"
}

@test "registry: HTTPS without the CA fails, --tls-verify=false does not check" {
	seeded_store
	run --separate-stderr husk pull "$REG_sec_ADDR/test/basic:latest"
	assert_clean_failure "certificate"
	run --separate-stderr husk pull -q --tls-verify=false "$REG_sec_ADDR/test/basic:latest"
	assert_status 0
	assert_output "$(image_id basic)"
	run --separate-stderr husk pull --tls-verify=maybe "$REG_sec_ADDR/test/basic:latest"
	assert_status 125
}

@test "registry: Basic auth: anonymous is refused, login stores 0600 credentials, logout removes them" {
	seeded_store
	run --separate-stderr husk pull --tls-verify=false "$REG_auth_ADDR/test/basic:latest"
	assert_clean_failure "authentication required"

	run --separate-stderr husk login -u "$TEST_USER" -p wrong --tls-verify=false "$REG_auth_ADDR"
	assert_status 1
	assert_one_error_line
	assert_stderr_contains "credentials rejected"
	[ ! -e "$XDG_RUNTIME_DIR/containers/auth.json" ] || fail "rejected credentials were stored"

	run --separate-stderr husk login -u "$TEST_USER" --password-stdin --tls-verify=false "$REG_auth_ADDR" <<<"$TEST_PASS"
	assert_status 0
	assert_output "Login Succeeded"
	[ "$(stat -c %a "$XDG_RUNTIME_DIR/containers/auth.json")" = 600 ] || fail "auth.json is not 0600"
	grep -q "\"$REG_auth_ADDR\"" "$XDG_RUNTIME_DIR/containers/auth.json"

	run --separate-stderr husk pull -q --tls-verify=false "$REG_auth_ADDR/test/basic:latest"
	assert_status 0
	assert_output "$(image_id basic)"

	run --separate-stderr husk logout "$REG_auth_ADDR"
	assert_status 0
	! grep -q "\"$REG_auth_ADDR\"" "$XDG_RUNTIME_DIR/containers/auth.json"
	run --separate-stderr husk logout "$REG_auth_ADDR"
	assert_status 1
	assert_one_error_line
	assert_stderr_contains "not logged in"
}

@test "registry: credentials from ~/.docker/config.json" {
	mkdir -p "$DOCKER_CONFIG"
	printf '{"auths":{"%s":{"auth":"%s"}}}\n' "$REG_auth_ADDR" \
		"$(printf '%s:%s' "$TEST_USER" "$TEST_PASS" | base64 -w0)" >"$DOCKER_CONFIG/config.json"
	run --separate-stderr husk pull -q --tls-verify=false "$REG_auth_ADDR/test/basic:latest"
	assert_status 0
	assert_output "$(image_id basic)"
}

@test "registry: Bearer token flow, one token reused for the whole pull" {
	: >"$BADREG_DIR/tokens"
	run --separate-stderr husk pull -q "$BADREG_ADDR/bearer/test/multi:latest"
	assert_status 0
	assert_output "$(image_id multi)"
	[ "$(wc -l <"$BADREG_DIR/tokens")" -eq 1 ] || fail "expected one token:" "$(cat "$BADREG_DIR/tokens")"
}

@test "registry: Bearer token service that wants credentials" {
	seeded_store
	run --separate-stderr husk pull "$BADREG_ADDR/bearerauth/test/basic:latest"
	assert_clean_failure "authentication required"
	export REGISTRY_AUTH_FILE=$BATS_TEST_TMPDIR/auth.json
	run --separate-stderr husk login -u "$TEST_USER" -p wrong "$BADREG_ADDR"
	assert_status 1
	assert_stderr_contains "credentials rejected"
	run --separate-stderr husk login -u "$TEST_USER" -p "$TEST_PASS" "$BADREG_ADDR"
	assert_status 0
	[ -e "$REGISTRY_AUTH_FILE" ] || fail "REGISTRY_AUTH_FILE not written"
	run --separate-stderr husk pull -q "$BADREG_ADDR/bearerauth/test/basic:latest"
	assert_status 0
	assert_output "$(image_id basic)"
}

@test "registry: no Authorization header follows a redirect to another host" {
	: >"$BADREG_DIR/redirect-auth"
	run --separate-stderr husk pull -q "$BADREG_ADDR/redirect/test/multi:latest"
	assert_status 0
	assert_output "$(image_id multi)"
	[ -s "$BADREG_DIR/redirect-auth" ] || fail "no request was redirected"
	! grep -q '^auth$' "$BADREG_DIR/redirect-auth" || fail "the token crossed hosts"
}

@test "registry: 503 then 429 with Retry-After are retried" {
	run --separate-stderr husk pull -q "$BADREG_ADDR/flaky/test/basic:latest"
	assert_status 0
	assert_output "$(image_id basic)"
}

@test "registry: a blob transfer cut halfway resumes with a Range request" {
	: >"$BADREG_DIR/requests"
	run --separate-stderr husk pull -q "$BADREG_ADDR/truncate/test/multi:latest"
	assert_status 0
	assert_output "$(image_id multi)"
	grep -q '/truncate/test/multi/blobs/.* range=bytes=[1-9]' "$BADREG_DIR/requests" ||
		fail "no Range request:" "$(cat "$BADREG_DIR/requests")"
}

@test "registry: 404, 401, 500 and 429 fail cleanly" {
	seeded_store
	run --separate-stderr husk pull "$BADREG_ADDR/e404/test/basic:latest"
	assert_clean_failure "not found (HTTP 404: manifest unknown)"
	run --separate-stderr husk pull "$BADREG_ADDR/e401/test/basic:latest"
	assert_clean_failure "authentication required"
	run --separate-stderr husk pull "$BADREG_ADDR/e500/test/basic:latest"
	assert_clean_failure "internal server error (HTTP 500: internal trouble)"
	run --separate-stderr husk pull "$BADREG_ADDR/e429/test/basic:latest"
	assert_clean_failure "too many requests (HTTP 429: slow down)"
}

@test "registry: malformed JSON and an unknown media type fail cleanly" {
	seeded_store
	run --separate-stderr husk pull "$BADREG_ADDR/badjson/test/basic:latest"
	assert_clean_failure "manifest \"latest\""
	run --separate-stderr husk pull "$BADREG_ADDR/unknownmt/test/basic:latest"
	assert_clean_failure 'unsupported media type "application/x-husk-unknown"'
}

@test "registry: a blob with a wrong digest fails cleanly" {
	seeded_store
	run --separate-stderr husk pull "$BADREG_ADDR/wrongdigest/test/multi:latest"
	assert_clean_failure "mismatch"
}

@test "registry: a tampered and a truncated blob in the registry's storage fail cleanly" {
	seeded_store
	local hex f
	hex=$(layer_hexes "$IMAGES/entry" | tail -1)
	f=$(registry_blob_file "$REG_dmg_DIR" "$hex")
	[ -f "$f" ] || fail "no blob file $f"
	tamper_blob "$f"
	run --separate-stderr husk pull "$REG_dmg_ADDR/test/entry:latest"
	assert_clean_failure "layer sha256:$hex: digest mismatch"

	hex=$(layer_hexes "$IMAGES/multi" | tail -1)
	f=$(registry_blob_file "$REG_dmg_DIR" "$hex")
	[ -f "$f" ] || fail "no blob file $f"
	truncate -s $(($(stat -c %s "$f") / 2)) "$f"
	run --separate-stderr husk pull "$REG_dmg_ADDR/test/multi:latest"
	assert_clean_failure "layer sha256:$hex: size mismatch"
}
