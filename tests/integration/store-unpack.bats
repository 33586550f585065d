#!/usr/bin/env bats
# Unpack: whiteouts, opaque directories, hardlinks, modes, owners, xattrs,
# gzip, zstd and uncompressed layers, checked through a real overlay mount
# (husk run) and in the layer directories themselves.

bats_require_minimum_version 1.5.0
load helpers

# The image: a base layer with /etc/motd, /data/{a,b}, /opq/lower and
# /opq2/lower, and a second layer (written by tests/mklayer.py) that deletes
# /etc/motd and /data/a, makes /opq (marker first) and /opq2 (marker last)
# opaque, and adds files of every kind.
LAYER2='dir etc 755
file etc/.wh.motd
dir opq 755
file opq/.wh..wh..opq
file opq/upper 644 0 0 upper
dir opq2 755
file opq2/upper2 644 0 0 upper2
file opq2/.wh..wh..opq
dir data 755
file data/.wh.a
file data/s 4755 0 0 suid
file data/g 2755 0 0 sgid
dir data/t 1777
file data/owned 640 1234 1234 owned
file data/orig 644 0 0 linked
hardlink data/hl data/orig
symlink data/sl orig
fifo data/fifo 600
file data/xa 644 0 0 x
xattr user.husk.test hello
file data/old 644 0 0 old
mtime 1234567890'

build_wh_image() { # OUTDIR COMPRESSION
	local stage=$BATS_FILE_TMPDIR/stage
	mkdir -p "$stage/etc" "$stage/data" "$stage/opq" "$stage/opq2"
	echo lower >"$stage/etc/motd"
	echo a >"$stage/data/a"
	echo b >"$stage/data/b"
	echo lower >"$stage/opq/lower"
	echo lower >"$stage/opq2/lower"
	printf '%s\n' "$LAYER2" | "$TOP/tests/mklayer.py" "$stage/layer2.tar"
	"$MKIMAGE" "$1" --tag latest --compression "$2" \
		--add "$IMAGES/hsk-report:/usr/bin/hsk-report" \
		--add "$stage/etc/motd:/etc/motd" --add "$stage/data:/data" \
		--add "$stage/opq:/opq" --add "$stage/opq2:/opq2" \
		--layer-tar "$stage/layer2.tar" >"$1.id"
	rm -rf "$stage"
}

setup_file() {
	ensure_images
	export W=$BATS_FILE_TMPDIR/img
	mkdir -p "$W"
	build_wh_image "$W/whgz" gzip
	build_wh_image "$W/whzst" zstd
	build_wh_image "$W/whtar" none
}

setup() {
	new_store
}

teardown() {
	remove_store "$STORE"
}

pull_wh() { # NAME
	local id
	id=$(husk pull "oci:$W/$1:latest" 2>"$BATS_TEST_TMPDIR/pull.err") || {
		cat "$BATS_TEST_TMPDIR/pull.err" >&2
		return 1
	}
	[ "$id" = "$(cat "$W/$1.id")" ] || fail "pull printed $id, expected $(cat "$W/$1.id")"
}

# What the container sees, one line per check.
CHECK='for f in /etc/motd /data/a /opq/lower /opq2/lower; do [ -e $f ] && echo "present $f" || echo "gone $f"; done
cat /data/b /opq/upper /opq2/upper2
hsk-report stat /data/s; hsk-report stat /data/g; hsk-report stat /data/t
hsk-report stat /data/owned
[ /data/hl -ef /data/orig ] && echo hardlink-same-inode
readlink /data/sl
[ -p /data/fifo ] && echo fifo
stat -c %Y /data/old
ls -a /etc /data /opq /opq2 | grep -c "^\.wh\." || true'

expected_owner() {
	case $(test_mode) in
	nosub) echo "0 0 0640" ;;
	*) echo "1234 1234 0640" ;;
	esac
}

check_container() { # IMAGE
	run --separate-stderr husk run --rm "$1" sh -c "$CHECK"
	assert_status 0
	assert_output "gone /etc/motd
gone /data/a
gone /opq/lower
gone /opq2/lower
b
upper
upper2
0 0 4755
0 0 2755
0 0 1777
$(expected_owner)
hardlink-same-inode
orig
fifo
1234567890
0"
}

@test "gzip layers: whiteouts delete, opaque directories hide, every entry kind is right" {
	pull_wh whgz
	check_container whgz
}

@test "zstd layers: the same image unpacks the same" {
	grep -q 'tar+zstd' "$W/whzst/blobs/sha256/$(manifest_hex "$W/whzst")" ||
		fail "whzst should have zstd layers"
	pull_wh whzst
	check_container whzst
}

@test "uncompressed layers: the same image unpacks the same" {
	pull_wh whtar
	check_container whtar
}

# The layer directory holds overlayfs's own forms, never the markers.
@test "layer directory: 0:0 character devices and the opaque xattr for this mount kind" {
	pull_wh whgz
	local chain top
	chain=$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print([i for i in (d["images"] if isinstance(d,dict) else d) if i["id"]==sys.argv[2]][0]["layers"][-1].split(":")[1])' "$STORE/images.json" "$(cat "$W/whgz.id")")
	top=$STORE/layers/$chain/diff
	[ -d "$top" ] || fail "no layer dir $top"
	[ "$(stat -c '%F %t:%T' "$top/etc/motd")" = "character special file 0:0" ] ||
		fail "etc/motd: $(stat -c '%F %t:%T' "$top/etc/motd")"
	[ "$(stat -c '%F %t:%T' "$top/data/a")" = "character special file 0:0" ] || fail "data/a"
	run find "$top" -name '.wh.*'
	[ -z "$output" ] || fail "markers written as files: $output"
	if [ "$(test_mode)" = root ]; then xa=trusted.overlay.opaque; else xa=user.overlay.opaque; fi
	for d in opq opq2; do
		v=$(python3 -c 'import os,sys; print(os.getxattr(sys.argv[1], sys.argv[2]).decode())' "$top/$d" "$xa") ||
			fail "$d: no $xa"
		[ "$v" = y ] || fail "$d: $xa=$v"
	done
	v=$(python3 -c 'import os,sys; print(os.getxattr(sys.argv[1], "user.husk.test").decode())' "$top/data/xa")
	[ "$v" = hello ] || fail "user.husk.test=$v"
}

@test "owners map through the user namespace: subuids on the host, the image's ids inside" {
	pull_wh whgz
	local f expect range
	f=$(find "$STORE/layers" -path '*/diff/data/owned')
	[ -n "$f" ] || fail "no data/owned in any layer"
	case $(test_mode) in
	root) expect=1234 ;;
	sub)
		range=$(subid_range /etc/subuid)
		expect=$((${range% *} + 1233))
		;;
	nosub) expect=$(id -u) ;;
	esac
	[ "$(stat -c %u "$f")" = "$expect" ] || fail "owner on the host: $(stat -c %u "$f"), expected $expect"
}

@test "without a subuid range: one warning naming the image" {
	[ "$(test_mode)" = nosub ] || skip "only without a subuid range"
	run --separate-stderr husk pull "oci:$W/whgz:latest"
	assert_status 0
	[ "$(printf '%s\n' "$stderr" | grep -c 'warning')" = 1 ] || fail "stderr: $stderr"
	assert_stderr_contains 'image "localhost/whgz:latest"'
}

@test "an image on the same base unpacks only its new layers" {
	pull multi latest
	n=$(find "$STORE/layers" -mindepth 1 -maxdepth 1 | wc -l)
	[ "$n" = 3 ] || fail "expected 3 layers, got $n"
	run --separate-stderr husk pull "oci:$IMAGES/plain:latest"
	assert_status 0
	# plain has multi's first two layers, uncompressed: the same diff_ids,
	# so nothing new to unpack.
	[ "$(printf '%s\n' "$stderr" | grep -c 'already present')" = 2 ] || fail "stderr: $stderr"
	n=$(find "$STORE/layers" -mindepth 1 -maxdepth 1 | wc -l)
	[ "$n" = 3 ] || fail "expected 3 layers, got $n"
	pull_wh whgz
	pull_wh whzst
	run --separate-stderr husk pull "oci:$W/whtar:latest"
	assert_status 0
	# The three wh images have the same diff_ids, so the same chain IDs: one
	# pull unpacked their two layers, the others found them.
	n=$(find "$STORE/layers" -mindepth 1 -maxdepth 1 | wc -l)
	[ "$n" = 5 ] || fail "expected 5 layers, got $n"
	assert_stderr_contains "already present"
}

@test "file capabilities are applied (converted for the user namespace when rootless)" {
	local stage=$BATS_TEST_TMPDIR/cap f caps
	mkdir -p "$stage"
	# VFS_CAP_REVISION_2, effective, permitted = CAP_NET_RAW.
	printf 'file ping 755 0 0 x\nxattrhex security.capability 0100000200200000000000000000000000000000\n' |
		"$TOP/tests/mklayer.py" "$stage/cap.tar"
	"$MKIMAGE" "$stage/img" --tag latest --layer-tar "$stage/cap.tar" >/dev/null
	run --separate-stderr husk pull "oci:$stage/img:latest"
	assert_status 0
	f=$(find "$STORE/layers" -path '*/diff/ping')
	caps=$(python3 -c 'import os,sys; print(os.getxattr(sys.argv[1], "security.capability").hex())' "$f") ||
		fail "no security.capability on $f"
	# Revision 2 as root; rootless, the kernel stores revision 3 with the
	# namespace's root uid.  Either way CAP_NET_RAW is permitted.
	[[ "$caps" == 010000020020000000000000* || "$caps" == 010000030020000000000000* ]] ||
		fail "security.capability: $caps"
}
