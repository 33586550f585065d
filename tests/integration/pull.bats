#!/usr/bin/env bats
# husk pull oci:DIR[:TAG] and husk images.

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

# images_row NAME TAG: the `husk images` row for NAME:TAG ("" if none).
images_row() {
	local line
	while IFS= read -r line; do
		if [[ "$line" =~ ^([^ ]+)\ {2,}([^ ]+)\ {2,} ]] &&
			[ "${BASH_REMATCH[1]}" = "$1" ] && [ "${BASH_REMATCH[2]}" = "$2" ]; then
			printf '%s\n' "$line"
		fi
	done <<<"$output"
}

@test "pull oci:DIR:TAG prints the 64-hex image ID, nothing else, on stdout" {
	run --separate-stderr husk pull "oci:$IMAGES/basic:latest"
	assert_status 0
	[[ "$output" =~ ^[0-9a-f]{64}$ ]] || fail "stdout is not one 64-hex ID: $output"
	assert_output "$(image_id basic)"
}

@test "husk images lists the pulled image as localhost/DIR:TAG" {
	pull basic latest
	run --separate-stderr husk images
	assert_status 0
	header=${output%%$'\n'*}
	[[ "$header" =~ ^REPOSITORY\ {2,}TAG\ {2,}IMAGE\ ID\ {2,}CREATED\ {2,}SIZE\ *$ ]] ||
		fail "bad header: $header"
	row=$(images_row localhost/basic latest)
	[ -n "$row" ] || fail "no row for localhost/basic latest in:" "$output"
	[[ "$row" =~ ^localhost/basic\ {2,}latest\ {2,}([0-9a-f]{12})\ {2,}[^\ ].*\ {2,}[^\ ]+.*$ ]] ||
		fail "bad row: $row"
	[ "${BASH_REMATCH[1]}" = "$(image_id basic | cut -c1-12)" ] || fail "wrong ID in: $row"
	[ "$(wc -l <<<"$output")" -eq 2 ] || fail "expected header and one row:" "$output"
}

@test "husk images on an empty store prints only the header" {
	run --separate-stderr husk images
	assert_status 0
	[[ "$output" =~ ^REPOSITORY\ {2,}TAG\ {2,}IMAGE\ ID\ {2,}CREATED\ {2,}SIZE\ *$ ]] ||
		fail "expected the header alone, got:" "$output"
}

@test "pulling the same image again is fine and lists it once" {
	pull basic latest
	before=$(husk images)
	run --separate-stderr husk pull "oci:$IMAGES/basic:latest"
	assert_status 0
	assert_output "$(image_id basic)"
	run --separate-stderr husk images
	assert_status 0
	[ "$(images_row localhost/basic latest | wc -l)" -eq 1 ] || fail "listed twice:" "$output"
	[ "$output" = "$before" ] || fail "images changed:" "$before" "---" "$output"
}

@test "two tags of one image: one row per name, same ID" {
	pull basic latest
	pull basic v1
	run --separate-stderr husk images
	assert_status 0
	short=$(image_id basic | cut -c1-12)
	for t in latest v1; do
		row=$(images_row localhost/basic "$t")
		[ -n "$row" ] || fail "no row for localhost/basic $t in:" "$output"
		[[ "$row" == *"  $short  "* ]] || fail "row without $short: $row"
	done
}

@test "husk images -q prints image IDs only" {
	pull basic latest
	pull entry latest
	run --separate-stderr husk images -q
	assert_status 0
	[ -n "$output" ] || fail "no output"
	while IFS= read -r line; do
		[[ "$line" =~ ^[0-9a-f]{12}([0-9a-f]{52})?$ ]] || fail "not an ID: \"$line\""
	done <<<"$output"
	for img in basic entry; do
		id=$(image_id "$img")
		grep -qE "^(${id:0:12}|$id)$" <<<"$output" || fail "$img ($id) missing:" "$output"
	done
}

@test "pull oci:DIR of a layout with one untagged manifest" {
	run --separate-stderr husk pull "oci:$IMAGES/single"
	assert_status 0
	assert_output "$(image_id single)"
	run --separate-stderr husk run --rm "$(image_id single | cut -c1-12)"
	assert_status 0
	assert_output "single image"
}

@test "pull oci:DIR of a layout with several manifests fails, store unchanged" {
	pull basic latest
	before=$(store_snapshot)
	run --separate-stderr husk pull "oci:$IMAGES/two"
	assert_status 1
	assert_one_error_line
	assert_stderr_contains "$IMAGES/two"
	[ -z "$output" ] || fail "stdout: $output"
	assert_store_unchanged "$before"
}

@test "two images in one layout are told apart by tag" {
	run --separate-stderr husk pull "oci:$IMAGES/two:one"
	assert_status 0
	assert_output "$(image_id two-one)"
	run --separate-stderr husk pull "oci:$IMAGES/two:two"
	assert_status 0
	assert_output "$(image_id two-two)"
	[ "$(image_id two-one)" != "$(image_id two-two)" ]
	run --separate-stderr husk run --rm localhost/two:one
	assert_status 0
	assert_output "image one"
	run --separate-stderr husk run --rm two:two
	assert_status 0
	assert_output "image two"
}

@test "a ref.name with a slash is taken as the full reference" {
	run --separate-stderr husk pull "oci:$IMAGES/fullref"
	assert_status 0
	assert_output "$(image_id fullref)"
	run --separate-stderr husk images
	assert_status 0
	[ -n "$(images_row example.com/team/app 2.0)" ] || fail "not listed as example.com/team/app 2.0:" "$output"
	[ -z "$(images_row localhost/fullref 2.0)" ] || fail "also listed as localhost/fullref:" "$output"
	run --separate-stderr husk run --rm example.com/team/app:2.0
	assert_status 0
	assert_output "full reference"
}

@test "oci:DIR:TAG where TAG is a full reference with a colon (as skopeo reads it)" {
	# skopeo splits oci:DIR:REF at the first colon, so REF may hold one.
	skopeo inspect --raw "oci:$IMAGES/fullref:example.com/team/app:2.0" >/dev/null ||
		fail "skopeo does not read the reference this way"
	run --separate-stderr husk pull "oci:$IMAGES/fullref:example.com/team/app:2.0"
	assert_status 0
	assert_output "$(image_id fullref)"
	run --separate-stderr husk images
	[ -n "$(images_row example.com/team/app 2.0)" ] || fail "not listed as example.com/team/app 2.0:" "$output"
}

@test "pull takes a relative layout path and names the image by its basename" {
	cd "$IMAGES"
	run --separate-stderr husk pull oci:basic:v1
	assert_status 0
	assert_output "$(image_id basic)"
	run --separate-stderr husk images
	[ -n "$(images_row localhost/basic v1)" ] || fail "not listed as localhost/basic v1:" "$output"
}

@test "pull does not modify the layout it reads" {
	copy_layout basic "$BATS_TEST_TMPDIR/basic"
	before=$(cd "$BATS_TEST_TMPDIR/basic" && find . -printf '%P %s %m %T@\n' | sort)
	run --separate-stderr husk pull "oci:$BATS_TEST_TMPDIR/basic:latest"
	assert_status 0
	assert_output "$(image_id basic)"
	after=$(cd "$BATS_TEST_TMPDIR/basic" && find . -printf '%P %s %m %T@\n' | sort)
	[ "$before" = "$after" ] || fail "layout changed:" "$(diff <(echo "$before") <(echo "$after"))"
}

@test "pull a layout written by umoci, and run it" {
	local rootless=()
	[ "$(id -u)" = 0 ] || rootless=(--rootless)
	cd "$BATS_TEST_TMPDIR"
	umoci init --layout umoci-img
	umoci new --image umoci-img:latest
	umoci unpack "${rootless[@]}" --image umoci-img:latest bundle >/dev/null
	mkdir -p bundle/rootfs/bin bundle/rootfs/usr/bin
	cp /bin/busybox bundle/rootfs/bin/busybox
	ln -s busybox bundle/rootfs/bin/sh
	ln -s busybox bundle/rootfs/bin/echo
	cp "$IMAGES/hsk-report" bundle/rootfs/usr/bin/hsk-report
	umoci repack --image umoci-img:latest bundle >/dev/null
	umoci config --image umoci-img:latest --config.env PATH=/usr/bin:/bin \
		--config.cmd hsk-report --config.cmd pid
	want=$(config_hex umoci-img)
	[[ "$want" =~ ^[0-9a-f]{64}$ ]] || fail "could not read the config digest of umoci's layout"

	run --separate-stderr husk pull "oci:$BATS_TEST_TMPDIR/umoci-img:latest"
	assert_status 0
	assert_output "$want"
	run --separate-stderr husk run --rm localhost/umoci-img:latest
	assert_status 0
	assert_output "1"
	run --separate-stderr husk run --rm umoci-img sh -c 'echo from umoci'
	assert_status 0
	assert_output "from umoci"
}

@test "pull a layout copied by skopeo (oci: to oci:), and run it" {
	skopeo copy --quiet "oci:$IMAGES/basic:latest" "oci:$BATS_TEST_TMPDIR/copied:v2"
	run --separate-stderr husk pull "oci:$BATS_TEST_TMPDIR/copied:v2"
	assert_status 0
	assert_output "$(image_id basic)"
	run --separate-stderr husk run --rm localhost/copied:v2 hsk-report env GREETING
	assert_status 0
	assert_output "hello world"
}

@test "default store: \$XDG_DATA_HOME/husk for a user" {
	[ "$(id -u)" != 0 ] || skip "root's default store is /var/lib/husk; not touched by tests"
	export XDG_DATA_HOME=$BATS_TEST_TMPDIR/xdg
	run --separate-stderr husk_noroot pull "oci:$IMAGES/basic:latest"
	assert_status 0
	assert_output "$(image_id basic)"
	[ -d "$XDG_DATA_HOME/husk" ] || fail "no store in $XDG_DATA_HOME/husk"
	run --separate-stderr husk_noroot images -q
	assert_status 0
	assert_output_contains "$(image_id basic | cut -c1-12)"
	remove_store "$XDG_DATA_HOME/husk"
}

@test "default store: ~/.local/share/husk without XDG_DATA_HOME" {
	[ "$(id -u)" != 0 ] || skip "root's default store is /var/lib/husk; not touched by tests"
	unset XDG_DATA_HOME
	export HOME=$BATS_TEST_TMPDIR/home
	mkdir -p "$HOME"
	run --separate-stderr husk_noroot pull "oci:$IMAGES/basic:latest"
	assert_status 0
	[ -d "$HOME/.local/share/husk" ] || fail "no store in $HOME/.local/share/husk"
	run --separate-stderr husk_noroot run --rm basic hsk-report env HUSK_TEST
	assert_status 0
	assert_output "basic-env"
	remove_store "$HOME/.local/share/husk"
}
