#!/usr/bin/env bats
# Repository digests, as docker and podman keep them: a pull records the
# digest the reference resolved to (and, through an index, the platform's
# manifest) in images.json's repo_digests; images --digests and inspect's
# RepoDigests show them; NAME@sha256:HEX (and NAME:TAG@sha256:HEX, the tag
# ignored) names an image wherever an image is taken; rmi removes a digest
# reference as docker rmi does.  Against Debian's docker-registry on
# 127.0.0.1, images pushed with skopeo.

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
	registry_start dig http
	local work=$BATS_FILE_TMPDIR/layouts other=riscv64
	[ "$(host_arch)" = riscv64 ] && other=s390x
	mkdir -p "$work"
	python3 "$_helpers_dir/layouttool.py" index "$work/idx" "$(host_arch)" "$IMAGES/basic" "$other" "$IMAGES/single"
	registry_push "$IMAGES/basic:latest" "$REG_dig_ADDR/test/basic:latest"
	registry_push "$IMAGES/multi:latest" "$REG_dig_ADDR/test/basic:multi"
	registry_push "$IMAGES/multi:latest" "$REG_dig_ADDR/test/multi:latest"
	registry_push "$work/idx:latest" "$REG_dig_ADDR/test/idx:latest" --all
	export R=$REG_dig_ADDR
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

json() { # PYTHON-EXPR (d is the parsed stdin)
	python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"
}

# The digest the registry serves REPO:TAG as, by skopeo (for an index, the
# index's own: skopeo inspect's Digest is the document's the tag names).
registry_digest() { # REPO:TAG
	# The test's own XDG_RUNTIME_DIR: never the user's /run/containers/UID (root's podman may
	# have made it, unreadable).
	skopeo inspect --tls-verify=false "docker://$R/$1" | json 'd["Digest"]'
}

# inspect IMAGE's MEMBER, as Python prints it.
inspect_member() { # IMAGE MEMBER
	husk inspect "$1" | json "d[0][\"$2\"]"
}

rqpull() { # REFERENCE: pull from the test registry, quietly; print the ID
	husk pull -q --tls-verify=false "$R/$1"
}

@test "digests: a pull by tag records the digest the registry serves the tag as" {
	local d
	d=$(registry_digest test/basic:latest)
	[[ "$d" == sha256:* ]] || fail "skopeo gave no digest: $d"
	[ "$d" = "sha256:$(manifest_hex "$IMAGES/basic")" ] || fail "the registry changed the manifest: $d"
	run --separate-stderr rqpull test/basic:latest
	assert_status 0
	assert_output "$(image_id basic)"
	run --separate-stderr inspect_member "$R/test/basic:latest" RepoDigests
	assert_status 0
	assert_output "['$R/test/basic@$d']"
	run --separate-stderr inspect_member "$R/test/basic:latest" RepoTags
	assert_output "['$R/test/basic:latest']"
	grep -q "\"repo_digests\"" "$STORE/images.json" || fail "images.json has no repo_digests"
}

@test "digests: a pull through an index records the index's digest and the platform's manifest" {
	local idx
	idx=$(registry_digest test/idx:latest)
	[ "$idx" != "sha256:$(manifest_hex "$IMAGES/basic")" ] || fail "the index is no index"
	run --separate-stderr rqpull test/idx:latest
	assert_status 0
	assert_output "$(image_id basic)"
	run --separate-stderr inspect_member "$R/test/idx:latest" RepoDigests
	assert_output "['$R/test/idx@$idx', '$R/test/idx@sha256:$(manifest_hex "$IMAGES/basic")']"
	# Both name the image.
	run --separate-stderr husk run --rm "$R/test/idx@$idx"
	assert_status 0
	assert_output "hello from husk"
	run --separate-stderr husk run --rm "$R/test/idx@sha256:$(manifest_hex "$IMAGES/basic")"
	assert_output "hello from husk"
}

@test "digests: pulls from a layout or an archive record none" {
	pull basic latest
	run --separate-stderr inspect_member basic RepoDigests
	assert_status 0
	assert_output "[]"
	husk save -o "$BATS_TEST_TMPDIR/b.tar" basic
	remove_store "$STORE"
	husk pull -q "docker-archive:$BATS_TEST_TMPDIR/b.tar" >/dev/null
	run --separate-stderr inspect_member basic RepoDigests
	assert_status 0
	assert_output "[]"
}

@test "digests: images --digests adds a DIGEST column" {
	local d
	d=$(registry_digest test/basic:latest)
	rqpull test/basic:latest >/dev/null
	pull multi latest
	run --separate-stderr husk images
	assert_status 0
	[[ "$output" != *DIGEST* && "$output" != *"$d"* ]] || fail "a digest without --digests: $output"
	run --separate-stderr husk images --digests
	assert_status 0
	[[ "${lines[0]}" =~ ^REPOSITORY\ +TAG\ +DIGEST\ +IMAGE\ ID\ +CREATED\ +SIZE$ ]] || fail "header: ${lines[0]}"
	[ "${#lines[@]}" = 3 ] || fail "$output"
	assert_output_contains "$R/test/basic"
	[[ "$output" =~ $R/test/basic\ +latest\ +$d\ +$(image_id basic | cut -c1-12) ]] || fail "$output"
	[[ "$output" =~ localhost/multi\ +latest\ +\<none\>\ +$(image_id multi | cut -c1-12) ]] || fail "$output"
	# An image with only a digest: its repository, <none> for the tag.
	run --separate-stderr husk rmi "$R/test/basic:latest"
	assert_status 0
	rqpull "test/basic@$d" >/dev/null
	run --separate-stderr husk images --digests
	[[ "$output" =~ $R/test/basic\ +\<none\>\ +$d\ +$(image_id basic | cut -c1-12) ]] || fail "$output"
	run --separate-stderr husk images
	[[ "$output" =~ $R/test/basic\ +\<none\>\ +$(image_id basic | cut -c1-12) ]] || fail "$output"
}

@test "digests: run, create, inspect, history, tag and save take NAME@sha256" {
	local d
	d=$(registry_digest test/basic:latest)
	rqpull test/basic:latest >/dev/null
	run --separate-stderr husk run --rm "$R/test/basic@$d"
	assert_status 0
	assert_output "hello from husk"
	run --separate-stderr husk create --name c1 "$R/test/basic@$d"
	assert_status 0
	run --separate-stderr husk rm c1
	assert_status 0
	run --separate-stderr inspect_member "$R/test/basic@$d" Id
	assert_output "sha256:$(image_id basic)"
	run --separate-stderr husk history -q "$R/test/basic@$d"
	assert_status 0
	run --separate-stderr husk tag "$R/test/basic@$d" app:1
	assert_status 0
	run --separate-stderr inspect_member app:1 RepoTags
	assert_output "['$R/test/basic:latest', 'localhost/app:1']"
	run --separate-stderr inspect_member app:1 RepoDigests
	assert_output "['$R/test/basic@$d']"
	run --separate-stderr husk save -o "$BATS_TEST_TMPDIR/a.tar" "$R/test/basic@$d"
	assert_status 0
	[ -s "$BATS_TEST_TMPDIR/a.tar" ] || fail "no archive"
	# The tag beside a digest is ignored: any tag, or one the image does not have.
	run --separate-stderr husk run --rm "$R/test/basic:nosuchtag@$d"
	assert_status 0
	assert_output "hello from husk"
}

@test "digests: an image's manifest digest names it under a repository it has" {
	# A layout pull records no repo digest; its manifest still names it, as
	# localhost/basic@ and (a short name) basic@.
	pull basic latest
	local m=sha256:$(manifest_hex "$IMAGES/basic")
	run --separate-stderr husk run --rm "localhost/basic@$m"
	assert_status 0
	assert_output "hello from husk"
	run --separate-stderr husk run --rm "basic@$m"
	assert_output "hello from husk"
	run --separate-stderr husk run --rm "basic:v9@$m"
	assert_output "hello from husk"
	# Not under a repository the image is not in.
	run --separate-stderr husk inspect "localhost/other@$m"
	assert_status 1
	assert_one_error_line
}

@test "digests: NAME:TAG@sha256 pulls by digest and gives the image no tag (docker/cli#2856)" {
	local d dm
	d=$(registry_digest test/basic:latest)
	dm=$(registry_digest test/basic:multi)
	# :multi is another image: the digest wins, and the tag is not given.
	run --separate-stderr rqpull "test/basic:multi@$d"
	assert_status 0
	assert_output "$(image_id basic)"
	run --separate-stderr inspect_member "$(image_id basic)" RepoTags
	assert_output "[]"
	run --separate-stderr inspect_member "$(image_id basic)" RepoDigests
	assert_output "['$R/test/basic@$d']"
	run --separate-stderr husk images
	[[ "$output" != *multi* ]] || fail "tagged :multi: $output"
	run --separate-stderr husk inspect "$R/test/basic:multi"
	assert_status 1
	# A pull by digest alone names no tag either.
	run --separate-stderr rqpull "test/basic@$dm"
	assert_status 0
	assert_output "$(image_id multi)"
	run --separate-stderr inspect_member "$(image_id multi)" RepoTags
	assert_output "[]"
	run --separate-stderr husk run --rm "$R/test/basic@$dm"
	assert_output "layer 2"
}

@test "digests: rmi NAME@sha256 removes that reference; the last one takes the image" {
	local d
	d=$(registry_digest test/basic:latest)
	rqpull test/basic:latest >/dev/null
	run --separate-stderr husk rmi "$R/test/basic@$d"
	assert_status 0
	assert_output "Untagged: $R/test/basic@$d"
	run --separate-stderr inspect_member "$R/test/basic:latest" RepoDigests
	assert_output "[]"
	# Its manifest's digest in a repository it has still names it.
	run --separate-stderr inspect_member "$R/test/basic@$d" RepoDigests
	assert_status 0
	assert_output "[]"
	run --separate-stderr husk rmi "$R/test/basic:latest"
	assert_status 0
	assert_output "Untagged: $R/test/basic:latest
Deleted: sha256:$(image_id basic)"
	# Pulled by digest alone: the digest is its last reference.
	rqpull "test/basic@$d" >/dev/null
	run --separate-stderr husk rmi "$R/test/basic@$d"
	assert_status 0
	assert_output "Untagged: $R/test/basic@$d
Deleted: sha256:$(image_id basic)"
	run --separate-stderr husk images -q
	assert_output ""
}

@test "digests: rmi of a repository's last tag takes its digests, as docker's" {
	local d
	d=$(registry_digest test/basic:latest)
	rqpull test/basic:latest >/dev/null
	run --separate-stderr husk rmi "$R/test/basic:latest"
	assert_status 0
	assert_output "Untagged: $R/test/basic:latest
Untagged: $R/test/basic@$d
Deleted: sha256:$(image_id basic)"
	# A digest of another repository keeps the image, untagged.
	rqpull "test/basic@$d" >/dev/null
	husk tag "$(image_id basic)" app:1
	run --separate-stderr husk rmi app:1
	assert_status 0
	assert_output "Untagged: localhost/app:1"
	run --separate-stderr husk run --rm "$R/test/basic@$d"
	assert_output "hello from husk"
	# A container's image keeps it unless -f, as for names.
	husk create --name c1 "$R/test/basic@$d" >/dev/null
	run --separate-stderr husk rmi "$R/test/basic@$d"
	assert_status 1
	assert_stderr_contains "a container uses it"
	husk rm c1 >/dev/null
	# prune: an image with a digest is not dangling.
	run --separate-stderr husk image prune
	assert_status 0
	run --separate-stderr husk images -q
	assert_output "$(image_id basic | cut -c1-12)"
}

@test "digests: images.json without repo_digests (older husk) still loads" {
	local d
	d=$(registry_digest test/basic:latest)
	rqpull test/basic:latest >/dev/null
	pull multi latest
	python3 - "$STORE/images.json" <<-'EOF'
		import json, sys
		p = sys.argv[1]
		d = json.load(open(p))
		for i in d["images"]:
		    del i["repo_digests"]
		json.dump(d, open(p, "w"))
	EOF
	! grep -q repo_digests "$STORE/images.json" || fail "still there"
	run --separate-stderr husk images --digests
	assert_status 0
	[[ "$output" =~ $R/test/basic\ +latest\ +\<none\> ]] || fail "$output"
	run --separate-stderr inspect_member "$R/test/basic:latest" RepoDigests
	assert_status 0
	assert_output "[]"
	# The manifest's digest still names it, and a new pull records its digest.
	run --separate-stderr husk run --rm "$R/test/basic@$d"
	assert_output "hello from husk"
	rqpull test/basic:latest >/dev/null
	run --separate-stderr inspect_member "$R/test/basic:latest" RepoDigests
	assert_output "['$R/test/basic@$d']"
	run --separate-stderr husk run --rm multi
	assert_output "layer 2"
}

@test "digests: a digest that names nothing is one clear error" {
	local zero
	zero=sha256:$(printf '%064d' 0)
	rqpull test/basic:latest >/dev/null
	before=$(store_snapshot)
	run --separate-stderr husk inspect "$R/test/basic@$zero"
	assert_status 1
	assert_one_error_line
	assert_stderr_contains "no such image or container: $R/test/basic@$zero"
	for cmd in "history" "rmi" "run --rm" "create" "save -o $BATS_TEST_TMPDIR/x.tar" "tag-src"; do
		if [ "$cmd" = tag-src ]; then
			run --separate-stderr husk tag "$R/test/basic@$zero" app:1
		else
			# shellcheck disable=SC2086
			run --separate-stderr husk $cmd "$R/test/basic@$zero"
		fi
		[ "$status" != 0 ] || fail "$cmd: status 0"
		assert_one_error_line
		assert_stderr_contains "\"$R/test/basic@$zero\": not found (no image has that digest)"
	done
	# The image's digest under another repository is no match either.
	run --separate-stderr husk history "$R/test/other@$(registry_digest test/basic:latest)"
	[ "$status" != 0 ] || fail "found under another repository"
	assert_stderr_contains "not found (no image has that digest)"
	assert_store_unchanged "$before"
}
