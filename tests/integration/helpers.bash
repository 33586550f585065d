# helpers.bash: shared by the integration tests (load helpers), and sourced
# by tests/run for build_test_images.
#
# Environment:
#   HUSK               the husk binary (default $TOP/husk)
#   TOP                the repo root (default: two levels above this file)
#   HUSK_TEST_IMAGES   the images made by build_test_images (tests/run makes
#                      them; without it, root builds them once per bats run)
#   HUSK_TEST_TIMEOUT  seconds before a hung husk command is killed (300)
#
# status, output and stderr are set by bats' run.
# shellcheck disable=SC2154

_helpers_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TOP=${TOP:-$(cd "$_helpers_dir/../.." && pwd)}
HUSK=${HUSK:-$TOP/husk}
MKIMAGE=${MKIMAGE:-$TOP/tests/mkimage.sh}

# ------------------------------------------------------------ test images
# Every image the suite pulls from a prebuilt layout.  Each layout directory
# is named for its image, so `husk pull oci:$IMAGES/basic:latest` names the
# image localhost/basic:latest; NAME.id holds the expected image ID.
#
#   basic    tags latest, v1.  Cmd /usr/local/bin/hello; Env HUSK_TEST,
#            GREETING; /data/owned owned 1234:1234; /usr/local/bin/notexec
#            is a script with mode 0644
#   entry    Entrypoint hsk-report, Cmd cwd, WorkingDir /srv/app
#   multi    3 gzip layers: /etc/motd from layer 1, overridden in layer 2;
#            /l2 from layer 2, /l3 from layer 3
#   plain    2 uncompressed layers: /etc/motd overridden in layer 2
#   single   one untagged manifest
#   two      two different images, tags one and two
#   fullref  tagged example.com/team/app:2.0 (a full reference)
#   whiteout a layer holding etc/.wh.motd
build_test_images() { # MKIMAGE OUTDIR HSK_REPORT
	local mk=$1 out=$2 helper=$3 stage
	stage=$(mktemp -d)
	mkdir -p "$out"
	[ "$helper" = "$out/hsk-report" ] || cp "$helper" "$out/hsk-report"
	chmod 0755 "$out/hsk-report"

	printf '#!/bin/sh\necho hello from husk\n' >"$stage/hello"
	chmod 0755 "$stage/hello"
	printf '#!/bin/sh\necho should not run\n' >"$stage/notexec"
	chmod 0644 "$stage/notexec"
	echo owned-by-tester >"$stage/owned"
	echo "layer 1" >"$stage/motd1"

	"$mk" "$out/basic" --tag latest --tag v1 \
		--add "$helper:/usr/bin/hsk-report" \
		--add "$stage/hello:/usr/local/bin/hello" \
		--add "$stage/notexec:/usr/local/bin/notexec" \
		--add "$stage/owned:/data/owned" \
		--owner-file /data/owned:1234:1234 \
		--env HUSK_TEST=basic-env --env 'GREETING=hello world' \
		--cmd '["/usr/local/bin/hello"]' >"$out/basic.id" || return 1

	mkdir -p "$stage/entry/srv/app"
	"$mk" "$out/entry" --tag latest \
		--add "$helper:/usr/bin/hsk-report" \
		--layer "$stage/entry" \
		--entrypoint '["/usr/bin/hsk-report"]' --cmd '["cwd"]' \
		--workdir /srv/app >"$out/entry.id" || return 1

	mkdir -p "$stage/m2/etc" "$stage/m3"
	echo "layer 2" >"$stage/m2/etc/motd"
	echo "from layer 2" >"$stage/m2/l2"
	echo "from layer 3" >"$stage/m3/l3"
	"$mk" "$out/multi" --tag latest \
		--add "$helper:/usr/bin/hsk-report" --add "$stage/motd1:/etc/motd" \
		--layer "$stage/m2" --layer "$stage/m3" \
		--cmd '["cat","/etc/motd"]' >"$out/multi.id" || return 1

	"$mk" "$out/plain" --tag latest --compression none \
		--add "$helper:/usr/bin/hsk-report" --add "$stage/motd1:/etc/motd" \
		--layer "$stage/m2" \
		--cmd '["cat","/etc/motd"]' >"$out/plain.id" || return 1

	"$mk" "$out/single" \
		--add "$helper:/usr/bin/hsk-report" \
		--cmd '["echo","single image"]' >"$out/single.id" || return 1

	"$mk" "$out/two" --tag one --cmd '["echo","image one"]' >"$out/two-one.id" || return 1
	"$mk" "$out/two" --tag two --cmd '["echo","image two"]' >"$out/two-two.id" || return 1

	"$mk" "$out/fullref" --tag example.com/team/app:2.0 \
		--cmd '["echo","full reference"]' >"$out/fullref.id" || return 1

	mkdir -p "$stage/wh/etc"
	: >"$stage/wh/etc/.wh.motd"
	"$mk" "$out/whiteout" --tag latest --add "$stage/motd1:/etc/motd" \
		--layer "$stage/wh" >"$out/whiteout.id" || return 1

	rm -rf "$stage"
	chmod -R a+rX "$out"
}

# Without tests/run, root builds the images once per bats run.
ensure_images() {
	if [ -n "${HUSK_TEST_IMAGES:-}" ]; then
		export IMAGES=$HUSK_TEST_IMAGES
		[ -r "$IMAGES/basic.id" ] || {
			echo "HUSK_TEST_IMAGES=$IMAGES has no basic.id: run tests/run" >&2
			return 1
		}
		return 0
	fi
	export IMAGES=$BATS_RUN_TMPDIR/images
	[ -r "$IMAGES/basic.id" ] && return 0
	if [ "$(id -u)" != 0 ]; then
		echo "set HUSK_TEST_IMAGES (tests/run builds them) or run as root" >&2
		return 1
	fi
	mkdir -p "$IMAGES"
	cc -static -O2 -Wall -Wextra -Werror -o "$IMAGES/hsk-report.new" \
		"$TOP/tests/helper/hsk-report.c" || return 1
	mv "$IMAGES/hsk-report.new" "$IMAGES/hsk-report"
	build_test_images "$MKIMAGE" "$IMAGES" "$IMAGES/hsk-report"
}

# ----------------------------------------------------------------- running
# husk with the test's store; a hung command is killed (exit 124/137) so a
# hang fails one test instead of the run.
husk() {
	timeout --kill-after=10 "${HUSK_TEST_TIMEOUT:-300}" "$HUSK" --root "$STORE" "$@"
}

# husk without --root, for the default-store tests.
husk_noroot() {
	timeout --kill-after=10 "${HUSK_TEST_TIMEOUT:-300}" "$HUSK" "$@"
}

# Test mode: root, sub (unprivileged with a subuid range), nosub.
test_mode() {
	if [ "$(id -u)" = 0 ]; then
		echo root
	elif subid_range /etc/subuid >/dev/null && subid_range /etc/subgid >/dev/null; then
		echo sub
	else
		echo nosub
	fi
}

# subid_range FILE: "START COUNT" of the first range of this user.
subid_range() {
	local name uid
	name=$(id -un)
	uid=$(id -u)
	[ -r "$1" ] || return 1
	awk -F: -v n="$name" -v u="$uid" \
		'($1 == n || $1 == u) && NF == 3 { print $2, $3; found = 1; exit }
		 END { exit !found }' "$1"
}

# The uid_map (or gid_map) a container should have, as hsk-report prints it.
expected_map() { # uid|gid
	local id file range
	if [ "$1" = uid ]; then
		id=$(id -u)
		file=/etc/subuid
	else
		id=$(id -g)
		file=/etc/subgid
	fi
	case $(test_mode) in
	root) echo "0 0 4294967295" ;;
	sub)
		range=$(subid_range "$file")
		echo "0 $id 1"
		echo "1 $range"
		;;
	nosub) echo "0 $id 1" ;;
	esac
}

image_id() { # NAME
	cat "$IMAGES/$1.id"
}

# pull NAME [TAG]: pull oci:$IMAGES/NAME[:TAG] into the store, check the ID.
pull() {
	local ref="oci:$IMAGES/$1${2:+:$2}" id err
	err=${BATS_TEST_TMPDIR:-$BATS_FILE_TMPDIR}/pull.err
	id=$(husk pull "$ref" 2>"$err") || {
		echo "husk pull $ref failed:" >&2
		cat "$err" >&2
		return 1
	}
	if [ "$id" != "$(image_id "$1")" ]; then
		echo "husk pull $ref printed \"$id\", expected $(image_id "$1")" >&2
		return 1
	fi
}

# ------------------------------------------------------------- processes
# proc_live PID: the process exists and has not finished.  A zombie has finished: after husk
# rm -f, monitors are re-parented to a pid 1 that may reap them slowly, and kill -0 still
# succeeds on them.
proc_live() { # PID
	local stat
	stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
	stat=${stat##*) }
	[[ "${stat%% *}" != [ZX] ]]
}

# wait_gone PID [SECONDS]: wait (at most SECONDS, 10) until proc_live PID fails.
wait_gone() { # PID [SECONDS]
	local end=$((SECONDS + ${2:-10}))
	while proc_live "$1"; do
		[ "$SECONDS" -lt "$end" ] || return 1
		sleep 0.05
	done
}

# ------------------------------------------------------------------ stores
# A fresh store under the test's (or the file's) tmpdir.
new_store() { # [DIR]
	STORE=${1:-$BATS_TEST_TMPDIR/store}
}

# The store as a sorted list of "path size mode", for before/after checks.
# Directory sizes are left out: ext4 never shrinks a directory.
# shellcheck disable=SC2120 # the args are optional
store_snapshot() { # [find args...]
	[ -e "$STORE" ] || return 0
	find "$STORE" "$@" \( -type d -printf '%P - %m\n' \) -o -printf '%P %s %m\n' | LC_ALL=C sort
}

assert_store_unchanged() { # BEFORE
	local after
	# shellcheck disable=SC2119
	after=$(store_snapshot)
	if [ "$1" != "$after" ]; then
		echo "the store changed (first 20 lines of the diff):" >&2
		diff <(echo "$1") <(echo "$after") | head -20 >&2
		return 1
	fi
}

# Files that containers create inside the store can belong to subordinate
# ids that this user cannot delete; remove them from a user namespace with
# the same mapping.
remove_store() { # DIR
	local dir=$1 range
	[ -e "$dir" ] || return 0
	rm -rf "$dir" 2>/dev/null && return 0
	chmod -R u+rwX "$dir" 2>/dev/null
	rm -rf "$dir" 2>/dev/null && return 0
	if [ "$(test_mode)" = sub ]; then
		range=$(subid_range /etc/subuid)
		# shellcheck disable=SC2016 # $1 is sh's
		unshare --map-user=0 --map-group=0 \
			--map-users="${range% *},1,${range#* }" \
			--map-groups="$(subid_range /etc/subgid | awk '{ print $1 ",1," $2 }')" \
			sh -c 'chmod -R u+rwX "$1" 2>/dev/null; rm -rf "$1"' _ "$dir"
	fi
	[ ! -e "$dir" ]
}

# ---------------------------------------------------------------- asserts
# bats-core 1.8 has no bats-assert here: small local ones that print what
# they saw.
fail() {
	printf '%s\n' "$@" >&2
	return 1
}

assert_status() { # N
	[ "$status" -eq "$1" ] ||
		fail "expected exit status $1, got $status" "stdout: $output" "stderr: ${stderr:-}"
}

assert_output() { # TEXT
	[ "$output" = "$1" ] ||
		fail "expected output:" "$1" "got (status $status):" "$output" "stderr: ${stderr:-}"
}

assert_output_contains() { # TEXT
	[[ "$output" == *"$1"* ]] ||
		fail "expected output to contain: $1" "got (status $status):" "$output" "stderr: ${stderr:-}"
}

assert_stderr_contains() { # TEXT
	[[ "$stderr" == *"$1"* ]] ||
		fail "expected stderr to contain: $1" "got (status $status):" "$stderr"
}

# The error convention: one line "husk: ..." on stderr, last, lowercase
# after the prefix, no trailing period.
assert_one_error_line() {
	local n last msg
	n=$(printf '%s\n' "$stderr" | grep -c '^husk: ')
	last=${stderr##*$'\n'}
	[ "$n" -eq 1 ] || fail "expected one \"husk: \" error line on stderr, got $n:" "$stderr"
	[[ "$last" == "husk: "* ]] || fail "the error is not the last line of stderr:" "$stderr"
	msg=${last#husk: }
	[[ "$msg" != [A-Z]* ]] || fail "error does not start lowercase: $last"
	[[ "$msg" != *. ]] || fail "error ends with a period: $last"
}

# A fresh copy of a prebuilt layout, to damage.
copy_layout() { # NAME DEST
	cp -R "$IMAGES/$1" "$2"
	chmod -R u+w "$2"
}

# The digest hex of the blob at manifest path "layers[N]" or "config" of a
# layout whose index.json has one descriptor (our own or umoci's format).
manifest_hex() { # LAYOUT
	grep -o '"digest":"sha256:[0-9a-f]*"' "$1/index.json" | head -1 | sed 's/.*sha256:\([0-9a-f]*\)"/\1/'
}
config_hex() { # LAYOUT
	local m
	m=$(manifest_hex "$1")
	grep -o '"config":{[^}]*}' "$1/blobs/sha256/$m" | grep -o 'sha256:[0-9a-f]*' | sed 's/sha256://'
}
layer_hexes() { # LAYOUT
	local m
	m=$(manifest_hex "$1")
	grep -o '"layers":\[.*\]' "$1/blobs/sha256/$m" | grep -o 'sha256:[0-9a-f]*' | sed 's/sha256://'
}

# Overwrite 16 bytes in the middle of a blob, keeping its size; check that it
# really changed (else the test could not fail).
tamper_blob() { # FILE
	local f=$1 before after size
	before=$(sha256sum <"$f")
	size=$(stat -c %s "$f")
	chmod u+w "$f"
	printf 'husk-tampered!!!' | dd of="$f" bs=1 seek=$((size / 2)) conv=notrunc status=none
	after=$(sha256sum <"$f")
	[ "$before" != "$after" ] && [ "$(stat -c %s "$f")" = "$size" ]
}
