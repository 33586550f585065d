#!/usr/bin/env bats
# husk manifest: lists (OCI image indexes, Docker manifest lists) kept in the store's
# manifests/, made of local images and of registry images; inspect of a registry's manifests.
# A registry (Debian's docker-registry on 127.0.0.1, over HTTP) serves the remote cases.

bats_require_minimum_version 1.5.0
load helpers
load registry

OCI_INDEX=application/vnd.oci.image.index.v1+json
DOCKER_LIST=application/vnd.docker.distribution.manifest.list.v2+json

# other_arch SRC TAG DEST ARCH VARIANT: DEST, an OCI layout whose image (tag latest) is SRC's
# image TAG with its config's architecture and variant changed.
other_arch() {
	python3 - "$@" <<-'PY'
		import hashlib, json, os, shutil, sys
		src, tag, dest, arch, variant = sys.argv[1:6]
		shutil.copytree(src, dest)
		def path(d):
		    return os.path.join(dest, "blobs", "sha256", d[7:])
		def put(data):
		    d = "sha256:" + hashlib.sha256(data).hexdigest()
		    with open(path(d), "wb") as f:
		        f.write(data)
		    return d, len(data)
		idx = json.load(open(os.path.join(dest, "index.json")))
		top = [m for m in idx["manifests"]
		       if m.get("annotations", {}).get("org.opencontainers.image.ref.name") == tag][0]
		man = json.load(open(path(top["digest"])))
		cfg = json.load(open(path(man["config"]["digest"])))
		cfg["architecture"] = arch
		cfg["variant"] = variant
		man["config"]["digest"], man["config"]["size"] = put(json.dumps(cfg).encode())
		d, n = put(json.dumps(man).encode())
		desc = {"mediaType": top["mediaType"], "digest": d, "size": n,
		        "annotations": {"org.opencontainers.image.ref.name": "latest"}}
		json.dump({"schemaVersion": 2, "manifests": [desc]}, open(os.path.join(dest, "index.json"), "w"))
	PY
}

# The descriptor of TAG in the layout DIR ("": the untagged one): "DIGEST SIZE".
layout_desc() { # DIR TAG
	python3 -c '
import json, sys
for m in json.load(open(sys.argv[1] + "/index.json"))["manifests"]:
    if m.get("annotations", {}).get("org.opencontainers.image.ref.name", "") == sys.argv[2]:
        print(m["digest"], m["size"])' "$1" "$2"
}

json() { # PYTHON-EXPR (d is the parsed stdin)
	python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"
}

# The list file of NAME (a full name) in the store.
list_file() { # NAME
	echo "$STORE/manifests/$(printf '%s' "$1" | sha256sum | cut -d' ' -f1).json"
}

host_arch() {
	case $(uname -m) in
	x86_64) echo amd64 ;;
	aarch64) echo arm64 ;;
	*) uname -m ;;
	esac
}

setup_file() {
	ensure_images
	export W=$BATS_FILE_TMPDIR/layouts OTHER=riscv64
	[ "$(host_arch)" = riscv64 ] && OTHER=s390x
	mkdir -p "$W"
	other_arch "$IMAGES/two" two "$W/other" "$OTHER" v7
	registry_start plain http
	registry_push "$IMAGES/basic:latest" "$REG_plain_ADDR/test/basic:latest"
	registry_push "$IMAGES/two:one" "$REG_plain_ADDR/test/one:latest" --format v2s2
	# An index: basic for this machine, single for OTHER/v1, and an attestation.
	python3 "$_helpers_dir/layouttool.py" index "$W/idx" "$(host_arch)" "$IMAGES/basic" "$OTHER" "$IMAGES/single"
	registry_push "$W/idx:latest" "$REG_plain_ADDR/test/idx:latest" --all
}

teardown_file() {
	registry_stop_all
}

setup() {
	new_store
	[ "$(husk pull -q "oci:$IMAGES/two:one")" = "$(image_id two-one)" ]
	[ "$(husk pull -q "oci:$IMAGES/two:two")" = "$(image_id two-two)" ]
	OTHER_ID=$(husk pull -q "oci:$W/other:latest")
}

teardown() {
	remove_store "$STORE"
}

# -------------------------------------------------------------------- create
@test "manifest create: an OCI index of local images, as the store has their manifests" {
	run --separate-stderr husk manifest create mylist two:one localhost/other:latest
	assert_status 0
	local digest=$output file
	[[ $digest =~ ^sha256:[0-9a-f]{64}$ ]]
	file=$(list_file localhost/mylist:latest)
	[ -f "$file" ]
	# What create printed is the digest of the index as stored (what a push sends).
	[ "sha256:$(json 'd["index"]' <"$file" | tr -d '\n' | sha256sum | cut -d' ' -f1)" = "$digest" ]
	[ "$(json 'd["name"]' <"$file")" = localhost/mylist:latest ]
	[ "$(json '" ".join(d["images"])' <"$file")" = "$(image_id two-one) $OTHER_ID" ]

	run --separate-stderr husk manifest inspect mylist
	assert_status 0
	local doc=$output one other n
	[ "$(json 'd["schemaVersion"]' <<<"$doc")" = 2 ]
	[ "$(json 'd["mediaType"]' <<<"$doc")" = "$OCI_INDEX" ]
	[ "$(json 'len(d["manifests"])' <<<"$doc")" = 2 ]
	one=$(layout_desc "$IMAGES/two" one)
	other=$(layout_desc "$W/other" latest)
	[ "$(json '" ".join([d["manifests"][0]["digest"], str(d["manifests"][0]["size"])])' <<<"$doc")" = "$one" ]
	[ "$(json '" ".join([d["manifests"][1]["digest"], str(d["manifests"][1]["size"])])' <<<"$doc")" = "$other" ]
	for n in 0 1; do
		[ "$(json "d['manifests'][$n]['mediaType']" <<<"$doc")" = application/vnd.oci.image.manifest.v1+json ]
		# The entry is the store's manifest blob: its digest and size.
		local dg sz hex
		dg=$(json "d['manifests'][$n]['digest']" <<<"$doc")
		sz=$(json "d['manifests'][$n]['size']" <<<"$doc")
		hex=${dg#sha256:}
		[ "$(stat -c %s "$STORE/blobs/sha256/$hex")" = "$sz" ]
		[ "$(sha256sum <"$STORE/blobs/sha256/$hex" | cut -d' ' -f1)" = "$hex" ]
	done
	[ "$(json 'd["manifests"][0]["platform"]' <<<"$doc")" = "{'architecture': '$(host_arch)', 'os': 'linux'}" ]
	[ "$(json 'd["manifests"][1]["platform"]' <<<"$doc")" = "{'architecture': '$OTHER', 'os': 'linux', 'variant': 'v7'}" ]
}

@test "manifest create: an empty list; the same entries give the same digest" {
	run --separate-stderr husk manifest create empty
	assert_status 0
	run --separate-stderr husk manifest inspect empty
	assert_status 0
	[ "$(json 'len(d["manifests"])' <<<"$output")" = 0 ]
	run --separate-stderr husk manifest create a two:one two:two
	assert_status 0
	local a=$output
	run --separate-stderr husk manifest create b
	assert_status 0
	run --separate-stderr husk manifest add b two:one
	assert_status 0
	run --separate-stderr husk manifest add b two:two
	assert_status 0
	[ "$output" = "$a" ]
	# Adding an image again changes nothing.
	run --separate-stderr husk manifest add b two:one
	assert_status 0
	[ "$output" = "$a" ]
}

@test "manifest create --format docker: a Docker manifest list, which takes no annotations" {
	run --separate-stderr husk manifest create --format docker dl two:one
	assert_status 0
	run --separate-stderr husk manifest inspect dl
	assert_status 0
	[ "$(json 'd["mediaType"]' <<<"$output")" = "$DOCKER_LIST" ]
	[ "$(json 'd["schemaVersion"]' <<<"$output")" = 2 ]
	[ "$(json 'd["manifests"][0]["platform"]["os"]' <<<"$output")" = linux ]
	run --separate-stderr husk manifest annotate --annotation k=v dl two:one
	[ "$status" -ne 0 ]
	[[ $stderr == *'a Docker manifest list has no annotations' ]]
	run --separate-stderr husk manifest create --format v1 x
	[ "$status" -eq 125 ]
	[[ $stderr == *'--format takes oci or docker'* ]]
}

@test "manifest create: an existing list is refused without --amend, added to with it" {
	run --separate-stderr husk manifest create mylist two:one
	assert_status 0
	run --separate-stderr husk manifest create mylist two:two
	[ "$status" -ne 0 ]
	[[ $stderr == *'manifest list "localhost/mylist:latest": it exists (--amend adds to it)'* ]]
	run --separate-stderr husk manifest create --amend --annotation org.example=1 mylist two:two
	assert_status 0
	run --separate-stderr husk manifest inspect localhost/mylist:latest
	assert_status 0
	[ "$(json 'len(d["manifests"])' <<<"$output")" = 2 ]
	[ "$(json 'd["annotations"]' <<<"$output")" = "{'org.example': '1'}" ]
	# create's annotations are the index's alone.
	[ "$(json '[m.get("annotations") for m in d["manifests"]]' <<<"$output")" = "[None, None]" ]
}

@test "manifest create: an unknown image fails and leaves no list" {
	run --separate-stderr husk manifest create mylist two:one nosuch:1
	[ "$status" -ne 0 ]
	[[ $stderr == *'manifest list "localhost/mylist:latest": image "nosuch:1": not found'* ]]
	[ ! -e "$(list_file localhost/mylist:latest)" ]
	run --separate-stderr husk manifest inspect mylist
	[ "$status" -ne 0 ]
}

# ----------------------------------------------------------------------- add
@test "manifest add: --os, --arch, --variant and --annotation; a second add replaces the entry" {
	run --separate-stderr husk manifest create mylist
	assert_status 0
	run --separate-stderr husk manifest add --arch arm64 --variant v8 --annotation b=2 --annotation a=1 mylist two:two
	assert_status 0
	run --separate-stderr husk manifest inspect mylist
	local e='d["manifests"][0]'
	[ "$(json "$e['platform']" <<<"$output")" = "{'architecture': 'arm64', 'os': 'linux', 'variant': 'v8'}" ]
	# Annotations come out sorted by key, whatever the order they were given in.
	[ "$(json "list($e['annotations'].items())" <<<"$output")" = "[('a', '1'), ('b', '2')]" ]
	# The same image again: podman replaces the entry, its annotations stay.
	run --separate-stderr husk manifest add mylist two:two
	assert_status 0
	run --separate-stderr husk manifest inspect mylist
	[ "$(json 'len(d["manifests"])' <<<"$output")" = 1 ]
	[ "$(json "$e['platform']" <<<"$output")" = "{'architecture': '$(host_arch)', 'os': 'linux'}" ]
	[ "$(json "list($e['annotations'].items())" <<<"$output")" = "[('a', '1'), ('b', '2')]" ]
}

@test "manifest add: an unknown list, an unknown image" {
	run --separate-stderr husk manifest add nolist two:one
	[ "$status" -ne 0 ]
	[ "$stderr" = 'husk: manifest list "localhost/nolist:latest": not found' ]
	husk manifest create mylist
	local before
	before=$(cat "$(list_file localhost/mylist:latest)")
	run --separate-stderr husk manifest add mylist nosuch
	[ "$status" -ne 0 ]
	[ "$stderr" = 'husk: manifest list "localhost/mylist:latest": image "nosuch": not found' ]
	[ "$(cat "$(list_file localhost/mylist:latest)")" = "$before" ]
	run --separate-stderr husk manifest add mylist
	[ "$status" -eq 125 ]
}

@test "manifest add: a registry image, as the registry has its manifest, with no local image" {
	run --separate-stderr husk manifest create mylist two:one
	assert_status 0
	run --separate-stderr husk manifest add --tls-verify=false mylist "$REG_plain_ADDR/test/basic:latest"
	assert_status 0
	run --separate-stderr husk manifest add --tls-verify=false mylist "docker://$REG_plain_ADDR/test/one:latest"
	assert_status 0
	run --separate-stderr husk manifest inspect mylist
	assert_status 0
	local doc=$output remote
	[ "$(json 'len(d["manifests"])' <<<"$doc")" = 3 ]
	remote=$(skopeo inspect --raw --tls-verify=false "docker://$REG_plain_ADDR/test/basic:latest")
	[ "$(json 'd["manifests"][1]["digest"]' <<<"$doc")" = "sha256:$(printf '%s' "$remote" | sha256sum | cut -d' ' -f1)" ]
	[ "$(json 'd["manifests"][1]["size"]' <<<"$doc")" = "$(printf '%s' "$remote" | wc -c)" ]
	[ "$(json 'd["manifests"][1]["platform"]["architecture"]' <<<"$doc")" = "$(host_arch)" ]
	# skopeo pushed that one as a Docker manifest: the entry says so.
	[ "$(json 'd["manifests"][2]["mediaType"]' <<<"$doc")" = application/vnd.docker.distribution.manifest.v2+json ]
	[ "$(json 'd["images"]' <"$(list_file localhost/mylist:latest)")" = "['$(image_id two-one)', None, None]" ]
	# Where a push finds the registry's entries.
	[ "$(json 'd["sources"]' <"$(list_file localhost/mylist:latest)")" = "[None, '$REG_plain_ADDR/test/basic', '$REG_plain_ADDR/test/one']" ]
}

@test "manifest add: a registry's index gives this platform's entry, --arch another, --all each" {
	local basic single
	basic=$(layout_desc "$IMAGES/basic" latest)
	single=$(layout_desc "$IMAGES/single" "")
	[ -n "$basic" ] && [ -n "$single" ]
	run --separate-stderr husk manifest create l1
	run --separate-stderr husk manifest add --tls-verify=false l1 "$REG_plain_ADDR/test/idx:latest"
	assert_status 0
	run --separate-stderr husk manifest inspect l1
	[ "$(json 'len(d["manifests"])' <<<"$output")" = 1 ]
	[ "$(json '" ".join([d["manifests"][0]["digest"], str(d["manifests"][0]["size"])])' <<<"$output")" = "$basic" ]
	[ "$(json 'd["manifests"][0]["platform"]' <<<"$output")" = "{'architecture': '$(host_arch)', 'os': 'linux'}" ]

	run --separate-stderr husk manifest create l2
	run --separate-stderr husk manifest add --tls-verify=false --arch "$OTHER" l2 "$REG_plain_ADDR/test/idx:latest"
	assert_status 0
	run --separate-stderr husk manifest inspect l2
	[ "$(json '" ".join([d["manifests"][0]["digest"], str(d["manifests"][0]["size"])])' <<<"$output")" = "$single" ]
	[ "$(json 'd["manifests"][0]["platform"]' <<<"$output")" = "{'architecture': '$OTHER', 'os': 'linux', 'variant': 'v1'}" ]

	run --separate-stderr husk manifest create l3
	run --separate-stderr husk manifest add --all --tls-verify=false l3 "$REG_plain_ADDR/test/idx:latest"
	assert_status 0
	run --separate-stderr husk manifest inspect l3
	# The attestation (unknown/unknown) is left out.
	[ "$(json '[m["platform"]["architecture"] for m in d["manifests"]]' <<<"$output")" = "['$(host_arch)', '$OTHER']" ]

	run --separate-stderr husk manifest add --tls-verify=false --arch mips64le l1 "$REG_plain_ADDR/test/idx:latest"
	[ "$status" -ne 0 ]
	[[ $stderr == *'no image for linux/mips64le'* ]]
}

# ------------------------------------------------------------------ annotate
@test "manifest annotate: an entry by image or by digest; the index with --index" {
	run --separate-stderr husk manifest create mylist two:one two:two
	assert_status 0
	local dg
	dg=$(layout_desc "$IMAGES/two" two | cut -d' ' -f1)
	run --separate-stderr husk manifest annotate --os freebsd --variant v2 --annotation k=v mylist two:one
	assert_status 0
	run --separate-stderr husk manifest annotate --arch arm --annotation x=y mylist "$dg"
	assert_status 0
	run --separate-stderr husk manifest annotate --index --annotation idx=1 mylist
	assert_status 0
	run --separate-stderr husk manifest inspect mylist
	[ "$(json 'd["manifests"][0]["platform"]' <<<"$output")" = "{'architecture': '$(host_arch)', 'os': 'freebsd', 'variant': 'v2'}" ]
	[ "$(json 'd["manifests"][0]["annotations"]' <<<"$output")" = "{'k': 'v'}" ]
	[ "$(json 'd["manifests"][1]["platform"]' <<<"$output")" = "{'architecture': 'arm', 'os': 'linux'}" ]
	[ "$(json 'd["manifests"][1]["annotations"]' <<<"$output")" = "{'x': 'y'}" ]
	[ "$(json 'd["annotations"]' <<<"$output")" = "{'idx': '1'}" ]
	# --variant "" drops the variant; a value replaces a key's value.
	run --separate-stderr husk manifest annotate --variant "" --annotation k=w mylist two:one
	assert_status 0
	run --separate-stderr husk manifest inspect mylist
	[ "$(json 'd["manifests"][0]["platform"]' <<<"$output")" = "{'architecture': '$(host_arch)', 'os': 'freebsd'}" ]
	[ "$(json 'd["manifests"][0]["annotations"]' <<<"$output")" = "{'k': 'w'}" ]
}

@test "manifest annotate: an image or digest the list lacks, an unknown list, a bad annotation" {
	run --separate-stderr husk manifest create mylist two:one
	assert_status 0
	run --separate-stderr husk manifest annotate --os x mylist two:two
	[ "$status" -ne 0 ]
	[ "$stderr" = 'husk: manifest list "localhost/mylist:latest": no entry for "two:two"' ]
	run --separate-stderr husk manifest annotate --os x mylist "sha256:$(printf '0%.0s' {1..64})"
	[ "$status" -ne 0 ]
	[[ $stderr == *'no entry for'* ]]
	run --separate-stderr husk manifest annotate --os x nolist two:one
	[ "$status" -ne 0 ]
	[ "$stderr" = 'husk: manifest list "localhost/nolist:latest": not found' ]
	run --separate-stderr husk manifest annotate --annotation novalue mylist two:one
	[ "$status" -eq 125 ]
	run --separate-stderr husk manifest annotate mylist
	[ "$status" -eq 125 ]
}

# ------------------------------------------------------------------- inspect
@test "manifest inspect: a registry's manifest and index when no list has the name" {
	run --separate-stderr husk manifest inspect --tls-verify=false "$REG_plain_ADDR/test/basic:latest"
	assert_status 0
	local remote
	remote=$(skopeo inspect --raw --tls-verify=false "docker://$REG_plain_ADDR/test/basic:latest")
	[ "$(json 'json.dumps(d, sort_keys=True)' <<<"$output")" = "$(json 'json.dumps(d, sort_keys=True)' <<<"$remote")" ]
	run --separate-stderr husk manifest inspect --tls-verify=false "docker://$REG_plain_ADDR/test/idx:latest"
	assert_status 0
	[ "$(json 'd["mediaType"]' <<<"$output")" = "$OCI_INDEX" ]
	[ "$(json 'len(d["manifests"])' <<<"$output")" = 3 ]
	run --separate-stderr husk manifest inspect --tls-verify=false "docker://$REG_plain_ADDR/test/nosuch:latest"
	[ "$status" -ne 0 ]
	[[ $stderr == *"manifest inspect \"docker://$REG_plain_ADDR/test/nosuch:latest\""* ]]
	# A name without a registry is local only: never looked up on docker.io.
	run --separate-stderr husk manifest inspect nolist
	[ "$status" -ne 0 ]
	[ "$stderr" = 'husk: manifest list "localhost/nolist:latest": not found' ]
}

# ------------------------------------------------------------------------ rm
@test "manifest rm: the lists go, their images stay; an unknown list fails the command" {
	run --separate-stderr husk manifest create l1 two:one
	assert_status 0
	run --separate-stderr husk manifest create l2 two:two
	assert_status 0
	run --separate-stderr husk manifest rm l1 nolist l2
	[ "$status" -ne 0 ]
	[ "$stderr" = 'husk: manifest list "localhost/nolist:latest": not found' ]
	[ "$output" = $'Untagged: localhost/l1:latest\nUntagged: localhost/l2:latest' ]
	[ ! -e "$(list_file localhost/l1:latest)" ]
	[ ! -e "$(list_file localhost/l2:latest)" ]
	run --separate-stderr husk inspect two:one two:two
	assert_status 0
	run --separate-stderr husk manifest inspect l1
	[ "$status" -ne 0 ]
}

@test "manifest: a list names its images without keeping them (rmi removes one; the list stays)" {
	run --separate-stderr husk manifest create mylist two:one
	assert_status 0
	run --separate-stderr husk rmi two:one
	assert_status 0
	run --separate-stderr husk manifest inspect mylist
	assert_status 0
	[ "$(json 'len(d["manifests"])' <<<"$output")" = 1 ]
	[ "$(json 'd["images"][0]' <"$(list_file localhost/mylist:latest)")" = "$(image_id two-one)" ]
}

@test "manifest push: the list and its images, which skopeo reads for each platform" {
	pull basic latest
	run --separate-stderr husk pull -q "oci:$W/other:latest"
	assert_status 0
	local other_id=$output
	run --separate-stderr husk manifest create ml localhost/basic:latest "localhost/other:latest"
	assert_status 0
	local d=$output
	run --separate-stderr husk manifest push -q --digestfile "$BATS_TEST_TMPDIR/d" ml "$REG_plain_ADDR/mp/multi:1"
	assert_status 0
	assert_output "$d"
	[ "$(cat "$BATS_TEST_TMPDIR/d")" = "$d" ] || fail "digestfile"
	skopeo inspect --tls-verify=false --raw "docker://$REG_plain_ADDR/mp/multi:1" >"$BATS_TEST_TMPDIR/idx"
	[ "sha256:$(sha256sum <"$BATS_TEST_TMPDIR/idx" | cut -d' ' -f1)" = "$d" ] || fail "the registry has another index"
	[ "$(json 'd["mediaType"]' <"$BATS_TEST_TMPDIR/idx")" = "$OCI_INDEX" ] || fail "media type"
	# skopeo picks each platform and copies its image out whole.
	skopeo --insecure-policy copy -q --src-tls-verify=false --override-arch "$OTHER" --override-variant v7 \
		"docker://$REG_plain_ADDR/mp/multi:1" "oci:$BATS_TEST_TMPDIR/o:x" || fail "skopeo copy $OTHER"
	run skopeo inspect --config "oci:$BATS_TEST_TMPDIR/o:x"
	assert_output_contains "\"architecture\": \"$OTHER\""
	skopeo --insecure-policy copy -q --src-tls-verify=false --override-arch "$(host_arch)" \
		"docker://$REG_plain_ADDR/mp/multi:1" "oci:$BATS_TEST_TMPDIR/h:x" || fail "skopeo copy $(host_arch)"
	# husk pulls this machine's image from it, and the other with --platform.
	STORE=$BATS_TEST_TMPDIR/other
	run --separate-stderr husk pull -q "$REG_plain_ADDR/mp/multi:1"
	assert_status 0
	assert_output "$(image_id basic)"
	run --separate-stderr husk pull -q --platform "linux/$OTHER/v7" "$REG_plain_ADDR/mp/multi:1"
	assert_status 0
	assert_output "$other_id"
	remove_store "$STORE"
}

@test "manifest push: --rm removes the list; an image gone from the store is one error" {
	pull basic latest
	run --separate-stderr husk pull -q "oci:$W/other:latest"
	assert_status 0
	local other_id=$output
	run --separate-stderr husk manifest create ml2 localhost/basic:latest localhost/other:latest
	assert_status 0
	run --separate-stderr husk manifest push --rm ml2 "$REG_plain_ADDR/mp/rm:1"
	assert_status 0
	run --separate-stderr husk manifest inspect ml2
	assert_status 1
	run --separate-stderr husk manifest create ml3 localhost/basic:latest localhost/other:latest
	assert_status 0
	# The push gave it a repository digest: by its ID, it goes whole.
	run --separate-stderr husk rmi -f "$other_id"
	assert_status 0
	run --separate-stderr husk manifest push ml3 "$REG_plain_ADDR/mp/gone:1"
	assert_status 1
	assert_one_error_line
	assert_stderr_contains "no longer in the store"
	run skopeo inspect --tls-verify=false --raw "docker://$REG_plain_ADDR/mp/gone:1"
	[ "$status" -ne 0 ] || fail "an index was pushed"
}

@test "manifest push: a registry entry of the same registry is mounted from where it came" {
	run --separate-stderr husk manifest create ml4
	assert_status 0
	run --separate-stderr husk manifest add ml4 "docker://$REG_plain_ADDR/test/basic:latest"
	assert_status 0
	run --separate-stderr husk manifest push -q ml4 "$REG_plain_ADDR/mp/copied:1"
	assert_status 0
	skopeo --insecure-policy copy -q --src-tls-verify=false "docker://$REG_plain_ADDR/mp/copied:1" \
		"oci:$BATS_TEST_TMPDIR/c:x" || fail "skopeo could not copy the pushed list's image"
}
