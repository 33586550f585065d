#!/usr/bin/env bats
# Image management: tag, rmi, image prune, inspect, history, system df.

bats_require_minimum_version 1.5.0
load helpers

setup_file() {
	ensure_images
	export W=$BATS_FILE_TMPDIR/img
	mkdir -p "$W"
	"$MKIMAGE" "$W/hist" --tag latest --cmd '["true"]' \
		--empty-history 'ENV A=1' --empty-history 'CMD ["true"]' >"$W/hist.id"
}

setup() {
	new_store
}

teardown() {
	remove_store "$STORE"
}

nlayers() {
	find "$STORE/layers" -mindepth 1 -maxdepth 1 | wc -l
}

nblobs() {
	find "$STORE/blobs/sha256" -mindepth 1 -maxdepth 1 | wc -l
}

json() { # PYTHON-EXPR (d is the parsed stdin)
	python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"
}

# ------------------------------------------------------------------- tag
@test "tag: more names for an image; each runs it" {
	pull basic latest
	run --separate-stderr husk tag basic myapp:1 example.com/team/app:2
	assert_status 0
	run --separate-stderr husk images
	assert_output_contains "localhost/myapp"
	assert_output_contains "example.com/team/app"
	run --separate-stderr husk run --rm myapp:1
	assert_status 0
	assert_output "hello from husk"
	run --separate-stderr husk run --rm example.com/team/app:2
	assert_output "hello from husk"
}

@test "tag: a name moves from the image that had it" {
	pull basic latest
	pull multi latest
	run --separate-stderr husk tag multi basic
	assert_status 0
	run --separate-stderr husk run --rm basic
	assert_output "layer 2"
	run --separate-stderr husk inspect "$(image_id basic)"
	assert_status 0
	[ "$(json 'd[0]["RepoTags"]' <<<"$output")" = "[]" ] || fail "$output"
}

@test "tag: an unknown image or a bad name is one error and changes nothing" {
	pull basic latest
	before=$(store_snapshot)
	run --separate-stderr husk tag nosuch app:1
	assert_status 1
	assert_one_error_line
	assert_stderr_contains 'image "nosuch": not found'
	run --separate-stderr husk tag basic 'Bad:Name'
	assert_status 1
	assert_one_error_line
	run --separate-stderr husk tag basic 'app@sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a'
	assert_status 1
	assert_stderr_contains "a digest cannot be a tag"
	assert_store_unchanged "$before"
}

# ------------------------------------------------------------------- rmi
@test "rmi: a name of several only untags" {
	pull basic latest
	pull basic v1
	run --separate-stderr husk rmi basic:v1
	assert_status 0
	assert_output "Untagged: localhost/basic:v1"
	run --separate-stderr husk run --rm basic
	assert_output "hello from husk"
}

@test "rmi: the last name removes the image, its layers and its blobs" {
	pull basic latest
	run --separate-stderr husk rmi basic
	assert_status 0
	assert_output "Untagged: localhost/basic:latest
Deleted: sha256:$(image_id basic)"
	[ "$(nlayers)" = 0 ] || fail "layers left: $(ls "$STORE/layers")"
	[ "$(nblobs)" = 0 ] || fail "blobs left: $(ls "$STORE/blobs/sha256")"
	run --separate-stderr husk images -q
	assert_output ""
	[ -z "$(ls -A "$STORE/tmp")" ] || fail "tmp/ not empty"
}

@test "rmi: layers another image uses stay, and that image still runs" {
	pull multi latest
	pull plain latest # shares multi's first two layers
	[ "$(nlayers)" = 3 ] || fail "expected 3 layers"
	run --separate-stderr husk rmi multi
	assert_status 0
	[ "$(nlayers)" = 2 ] || fail "expected 2 layers left, got $(nlayers)"
	run --separate-stderr husk run --rm plain
	assert_status 0
	assert_output "layer 2"
	run --separate-stderr husk rmi plain
	assert_status 0
	[ "$(nlayers)" = 0 ] || fail "expected no layers left"
}

@test "rmi: by ID, an image with several names needs -f" {
	pull basic latest
	pull basic v1
	before=$(store_snapshot)
	run --separate-stderr husk rmi "$(image_id basic | cut -c1-12)"
	assert_status 1
	assert_one_error_line
	assert_stderr_contains "it has 2 names"
	assert_store_unchanged "$before"
	run --separate-stderr husk rmi -f "$(image_id basic | cut -c1-12)"
	assert_status 0
	assert_output_contains "Deleted: sha256:$(image_id basic)"
	[ "$(nlayers)" = 0 ] || fail "layers left"
}

@test "rmi: an image a container uses is refused; -f untags it and keeps it for the container" {
	pull basic latest
	run --separate-stderr husk run basic true
	assert_status 0
	before=$(store_snapshot)
	run --separate-stderr husk rmi basic
	assert_status 1
	assert_one_error_line
	assert_stderr_contains 'image "basic": a container uses it'
	assert_store_unchanged "$before"
	run --separate-stderr husk rmi -f basic
	assert_status 0
	assert_output "Untagged: localhost/basic:latest"
	run --separate-stderr husk images -q
	assert_output "$(image_id basic | cut -c1-12)"
	[ "$(nlayers)" = 1 ] || fail "the container's layer went"
	# prune keeps it too: a container uses it.
	run --separate-stderr husk image prune -a
	assert_status 0
	[ "$(nlayers)" = 1 ] || fail "prune removed the container's layer"
}

@test "rmi: an unknown image is one error and changes nothing" {
	pull basic latest
	before=$(store_snapshot)
	run --separate-stderr husk rmi basic nosuch
	assert_status 1
	assert_one_error_line
	assert_stderr_contains 'image "nosuch": not found'
	[ -z "$output" ] || fail "stdout: $output"
	assert_store_unchanged "$before"
	run --separate-stderr husk rmi
	assert_status 125
}

# ----------------------------------------------------------------- prune
@test "image prune: unnamed images go, named ones stay; -a removes every unused image" {
	pull basic latest
	pull multi latest
	run --separate-stderr husk tag multi basic # basic's image loses its only name
	run --separate-stderr husk image prune
	assert_status 0
	assert_output_contains "Deleted: sha256:$(image_id basic)"
	assert_output_contains "Total reclaimed space:"
	[ "$(nlayers)" = 3 ] || fail "expected multi's 3 layers, got $(nlayers)"
	run --separate-stderr husk run --rm basic
	assert_output "layer 2"
	run --separate-stderr husk image prune -a -f
	assert_status 0
	[ "$(nlayers)" = 0 ] || fail "layers left"
	[ "$(nblobs)" = 0 ] || fail "blobs left"
}

@test "image prune: the reclaimed space is what the store lost on disk, as du counts it" {
	pull basic latest
	pull multi latest
	local before after
	before=$(du -sB1 "$STORE" 2>/dev/null | cut -f1)
	run --separate-stderr husk image prune -a
	assert_status 0
	after=$(du -sB1 "$STORE" 2>/dev/null | cut -f1)
	run python3 -c '
import re, sys
m = re.fullmatch(r"Total reclaimed space: ([0-9.]+)(B|kB|MB|GB)", sys.argv[1].splitlines()[-1])
said = float(m.group(1)) * {"B": 1, "kB": 1e3, "MB": 1e6, "GB": 1e9}[m.group(2)]
went = int(sys.argv[2]) - int(sys.argv[3])
# 3 significant digits; images.json is not counted.
print("ok" if abs(said - went) <= 0.01 * went + 16e3 else "said %d, du went down %d" % (said, went))' "$output" "$before" "$after"
	assert_output "ok"
}

@test "image prune: layers and blobs of a pull killed before its record are removed" {
	pull basic latest
	pull multi latest
	# What a pull killed between publishing its layers and recording the
	# image leaves: layers and blobs without an image.
	python3 -c '
import json, sys
p = sys.argv[1]
d = json.load(open(p))
d["images"] = [i for i in d["images"] if i["id"] != sys.argv[2]]
json.dump(d, open(p, "w"))' "$STORE/images.json" "$(image_id multi)"
	run --separate-stderr husk image prune
	assert_status 0
	[ "$(nlayers)" = 1 ] || fail "expected basic's layer, got $(nlayers)"
	[ "$(nblobs)" = 3 ] || fail "expected basic's 3 blobs, got $(nblobs)"
	run --separate-stderr husk run --rm basic
	assert_output "hello from husk"
}

# --------------------------------------------------------------- inspect
@test "inspect: JSON with the config, layers, digests and size" {
	pull multi latest
	run --separate-stderr husk inspect multi
	assert_status 0
	[ "$(json 'd[0]["Id"]' <<<"$output")" = "sha256:$(image_id multi)" ] || fail "$output"
	[ "$(json 'd[0]["RepoTags"]' <<<"$output")" = "['localhost/multi:latest']" ] || fail "RepoTags"
	[ "$(json 'd[0]["Digest"]' <<<"$output")" = "sha256:$(manifest_hex "$IMAGES/multi")" ] || fail "Digest"
	[ "$(json 'd[0]["Config"]["Cmd"]' <<<"$output")" = "['cat', '/etc/motd']" ] || fail "Cmd"
	[ "$(json 'len(d[0]["Layers"])' <<<"$output")" = 3 ] || fail "Layers"
	[ "$(json '" ".join(l["Digest"][7:] for l in d[0]["Layers"])' <<<"$output")" = \
		"$(layer_hexes "$IMAGES/multi" | tr '\n' ' ' | sed 's/ $//')" ] || fail "layer digests"
	[ "$(json 'd[0]["Size"] == sum(l["UnpackedSize"] for l in d[0]["Layers"]) > 0' <<<"$output")" = True ] ||
		fail "Size"
	[ "$(json 'd[0]["RootFS"]["diff_ids"] == [l["DiffID"] for l in d[0]["Layers"]]' <<<"$output")" = True ] ||
		fail "DiffIDs"
	run --separate-stderr husk inspect multi nosuch
	assert_status 1
	assert_one_error_line
	[ -z "$output" ] || fail "stdout on error: $output"
}

# --------------------------------------------------------------- history
@test "history: every step of the config's history, newest first, empty layers included" {
	run --separate-stderr husk pull "oci:$W/hist:latest"
	assert_status 0
	run --separate-stderr husk history hist
	assert_status 0
	[ "$(printf '%s\n' "$output" | wc -l)" = 4 ] || fail "$output"
	line2=$(sed -n 2p <<<"$output")
	[[ "$line2" == "$(cut -c1-12 "$W/hist.id")"*'CMD ["true"]'*0B* ]] || fail "line 2: $line2"
	[[ "$(sed -n 3p <<<"$output")" == "<missing>"*"ENV A=1"*0B* ]] || fail "$output"
	[[ "$(sed -n 4p <<<"$output")" == "<missing>"*"base layer"*MB* ]] || fail "$output"
	run --separate-stderr husk history -q hist
	assert_output "$(cut -c1-12 "$W/hist.id")
<missing>
<missing>"
	run --separate-stderr husk history nosuch
	assert_status 1
	assert_one_error_line
}

# ------------------------------------------------------------- system df
@test "system df: images, shared layers counted once, containers" {
	pull multi latest
	pull plain latest
	run --separate-stderr husk system df
	assert_status 0
	[[ "$(sed -n 2p <<<"$output")" == Images*" 2 "*" 0 "*"(100%)" ]] || fail "$output"
	[[ "$(sed -n 3p <<<"$output")" == Containers*" 0 "* ]] || fail "$output"
	size_all=$(sed -n 2p <<<"$output" | awk '{ print $4 }')
	run --separate-stderr husk run plain sh -c 'head -c 100000 /dev/zero >/big'
	assert_status 0
	run --separate-stderr husk system df
	[[ "$(sed -n 2p <<<"$output")" == Images*" 2 "*" 1 "* ]] || fail "$output"
	[[ "$(sed -n 3p <<<"$output")" == Containers*" 1 "*100kB* ]] || fail "$output"
	[ "$(sed -n 2p <<<"$output" | awk '{ print $4 }')" = "$size_all" ] || fail "size changed: $output"
}

@test "image: subcommands and their errors" {
	pull basic latest
	run --separate-stderr husk image ls -q
	assert_output "$(image_id basic | cut -c1-12)"
	run --separate-stderr husk image nosuch
	assert_status 125
	assert_one_error_line
	run --separate-stderr husk image rm basic
	assert_status 0
	run --separate-stderr husk system nosuch
	assert_status 125
	assert_one_error_line
}
