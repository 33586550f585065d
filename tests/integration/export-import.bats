#!/usr/bin/env bats
# husk export (a container's filesystem as a tar, as the container sees it) and husk import (a
# tarball as a one-layer image), and the round trip between them.

bats_require_minimum_version 1.5.0
load helpers

setup_file() {
	ensure_images
	new_store "$BATS_FILE_TMPDIR/store"
	export STORE
	pull basic latest
}

teardown_file() {
	remove_store "$STORE"
}

setup() {
	RUNNING=()
	T=$BATS_TEST_TMPDIR
}

teardown() {
	local n
	for n in "${RUNNING[@]}"; do
		husk rm -f "$n" >/dev/null 2>&1 || true
	done
	if [ -n "${PODMAN_DIR:-}" ]; then
		podman --root "$PODMAN_DIR/root" --runroot "$PODMAN_DIR/run" --storage-driver vfs \
			rmi -a -f >/dev/null 2>&1 || true
		rm -rf "$PODMAN_DIR"
	fi
}

# import ARGS...: husk import, which must succeed and print one image ID; it is in $IMG.
import() {
	run --separate-stderr husk import "$@"
	assert_status 0
	[[ "$output" =~ ^sha256:[0-9a-f]{64}$ ]] || fail "not an image ID: $output"
	IMG=$output
}

# The entries of the tar FILE: "TYPE NAME MODE UID:GID [-> LINK]" a line, sorted by name.
tar_entries() { # FILE
	python3 - "$1" <<'EOF'
import sys, tarfile
with tarfile.open(sys.argv[1]) as t:
    out = []
    for m in t.getmembers():
        kind = "h" if m.islnk() else "l" if m.issym() else "d" if m.isdir() else "p" if m.isfifo() else "f"
        link = " -> " + m.linkname if (m.islnk() or m.issym()) else ""
        out.append(f"{kind} {m.name} {m.mode:o} {m.uid}:{m.gid}{link}")
    print("\n".join(sorted(out)))
EOF
}

# The container's changes the round trip must keep: a file of the image deleted, a new file with
# set-id bits (and another owner when this mode can give one), a hard link, a symbolic link, a
# fifo, a directory with its own mode.
CHANGES='
	rm /data/owned
	echo new >/new
	if chown 1234:5678 /new 2>/dev/null; then :; fi
	chmod 4750 /new
	ln /new /newhard
	ln -s ../new /usr/sym
	mkdir -m 0710 /d && echo f >/d/f && mkfifo /d/fifo
	echo changed >/usr/local/bin/notexec'

# What the files of a container or image look like from inside it.
LISTING='find /usr /data /etc/passwd /etc/group /d /new /newhard | sort | while read -r f; do
		stat -c "%n %a %u:%g %F" "$f"; [ -L "$f" ] && readlink "$f"
	done
	cat /new /usr/local/bin/notexec; stat -c %h /new
	[ "$(stat -c %i /new)" = "$(stat -c %i /newhard)" ] && echo same-inode'

@test "export: the image's files with the container's changes, as the container sees them" {
	run --separate-stderr husk run --name ex-files basic sh -c "$CHANGES"
	assert_status 0
	RUNNING+=(ex-files)
	run --separate-stderr husk export -o "$T/ex.tar" ex-files
	assert_status 0
	[ -z "$output" ] || fail "export -o printed: $output"
	run tar_entries "$T/ex.tar"
	assert_status 0
	local entries=$output shown
	shown=$(grep -v '^l bin/' <<<"$entries")
	# Names relative to "/", as docker export writes them.
	! grep -qE '^. (/|\./)' <<<"$entries" || fail "absolute or ./ names:" "$shown"
	# The deleted file of the image is absent; its directory is there.
	! grep -q ' data/owned ' <<<"$entries" || fail "data/owned was deleted but exported"
	grep -q '^d data/ ' <<<"$entries" || grep -q '^d data ' <<<"$entries" || fail "no data/: $shown"
	grep -qE '^f usr/bin/hsk-report 755 0:0$' <<<"$entries" || fail "no hsk-report:" "$shown"
	grep -qE '^f new 4750 ' <<<"$entries" || fail "new lost its mode:" "$shown"
	# One name is the file, the other a hard link to it (which is first is readdir's order).
	grep -qE '^h (newhard 4750 [0-9]+:[0-9]+ -> new|new 4750 [0-9]+:[0-9]+ -> newhard)$' \
		<<<"$entries" || fail "no hard link:" "$shown"
	grep -qE '^l usr/sym 777 0:0 -> \.\./new$' <<<"$entries" || fail "no symlink:" "$shown"
	grep -qE '^p d/fifo ' <<<"$entries" || fail "no fifo:" "$shown"
	grep -qE '^d d/? 710 ' <<<"$entries" || fail "d lost its mode:" "$shown"
	# Owners are the container's ids, not the host's subordinate ones.
	run --separate-stderr husk run --rm basic stat -c %u:%g /data /usr/local/bin/hello
	assert_status 0
	local data_owner=${lines[0]}
	grep -qE "^d data/? 755 $data_owner\$" <<<"$entries" || fail "data/ not $data_owner:" "$shown"
	case $(test_mode) in
	root | sub)
		# The container's chown, as it gave it (on the host it is a subordinate id as husk-sub).
		grep -qE '^f (new|newhard) 4750 1234:5678$' <<<"$entries" || fail "new is not 1234:5678:" "$shown"
		;;
	esac
	tar -xOf "$T/ex.tar" usr/local/bin/notexec | grep -qx changed || fail "the changed file is not"
}

@test "export: owners of the image's files are the container's ids" {
	run --separate-stderr husk create --name ex-owners basic
	assert_status 0
	RUNNING+=(ex-owners)
	run --separate-stderr husk run --rm basic stat -c %u:%g /data/owned
	assert_status 0
	local inside=$output
	husk export ex-owners >"$T/created.tar"
	run tar_entries "$T/created.tar"
	assert_status 0
	grep -qE "^f data/owned 644 $inside\$" <<<"$output" || fail "data/owned is not $inside:" "$output"
	case $(test_mode) in
	root | sub) [ "$inside" = 1234:1234 ] || fail "data/owned is $inside in the container" ;;
	esac
}

@test "export: a running container, without what is mounted in it" {
	run --separate-stderr husk run -d --name ex-run basic sh -c 'echo live >/live; exec sleep 600'
	assert_status 0
	RUNNING+=(ex-run)
	local tries=100
	until husk exec ex-run test -e /live 2>/dev/null; do
		tries=$((tries - 1))
		[ "$tries" -gt 0 ] || fail "/live never appeared"
		sleep 0.1
	done
	husk export ex-run >"$T/run.tar"
	run tar_entries "$T/run.tar"
	assert_status 0
	grep -qE '^f live 644 0:0$' <<<"$output" || fail "no /live:" "$output"
	! grep -qE ' (proc/[0-9]|proc/self|sys/kernel|dev/null)' <<<"$output" || fail "mounts exported:" "$output"
	run --separate-stderr husk exec ex-run cat /live
	assert_output live
}

@test "export -o replaces the file atomically; a failed export leaves it alone" {
	run --separate-stderr husk create --name ex-o basic
	assert_status 0
	RUNNING+=(ex-o)
	echo old >"$T/out.tar"
	run --separate-stderr husk export -o "$T/out.tar" nosuch-container
	[ "$status" -ne 0 ] || fail "export of a missing container succeeded"
	assert_one_error_line
	assert_stderr_contains "nosuch-container"
	[ "$(cat "$T/out.tar")" = old ] || fail "the file changed"
	run --separate-stderr husk export -o "$T/out.tar" ex-o
	assert_status 0
	tar -tf "$T/out.tar" | grep -qx usr/bin/hsk-report || fail "not the export"
	local left=("$T"/*husk-tmp*)
	[ ! -e "${left[0]}" ] || fail "a temporary file is left: ${left[*]}"
}

@test "export: a missing container is an error; a terminal is no place for a tar" {
	run --separate-stderr husk export nosuch-container
	[ "$status" -ne 0 ] || fail "export of a missing container succeeded"
	[ -z "$output" ] || fail "export printed: $output"
	assert_one_error_line
	assert_stderr_contains 'no such container: nosuch-container'
	run --separate-stderr husk create --name ex-tty basic
	RUNNING+=(ex-tty)
	run python3 "$TOP/tests/integration/ptyrun.py" -- "$HUSK" --root "$STORE" export ex-tty
	[ "$status" -ne 0 ] || fail "export to a terminal succeeded: $output"
	[[ "$output" == *"standard output is a terminal"* ]] || fail "$output"
	[ "${#output}" -lt 300 ] || fail "the terminal got more than an error: ${#output} bytes"
}

@test "export, import and run: the same files, owners, modes and links" {
	run --separate-stderr husk run --name rt-src basic sh -c "$CHANGES"
	assert_status 0
	RUNNING+=(rt-src)
	run --separate-stderr husk commit rt-src rt-commit:1
	assert_status 0
	run --separate-stderr husk run --rm rt-commit:1 sh -c "$LISTING"
	assert_status 0
	local want=$output
	[[ "$want" == *same-inode* ]] || fail "no hard link in the source: $want"
	husk export rt-src >"$T/rt.tar"
	import "$T/rt.tar" rt-imported:1
	run --separate-stderr husk run --rm rt-imported:1 sh -c "$LISTING"
	assert_status 0
	[ "$output" = "$want" ] || fail "the imported image differs:" "$(diff <(echo "$want") <(echo "$output"))"
	run --separate-stderr husk run --rm rt-imported:1 sh -c 'test -e /data/owned && echo there || echo gone'
	assert_output gone
	# One layer, gzip, with the host's platform and a history entry naming the file.
	run --separate-stderr husk inspect rt-imported:1
	assert_status 0
	python3 -c '
import json, os, sys
d = json.loads(sys.stdin.read())[0]
assert len(d["RootFS"]["diff_ids"]) == 1 and len(d["Layers"]) == 1, d["RootFS"]
assert d["Layers"][0]["MediaType"].endswith("tar+gzip"), d["Layers"]
assert d["Os"] == "linux", d["Os"]
arch = {"x86_64": "amd64", "aarch64": "arm64"}.get(os.uname().machine, os.uname().machine)
assert d["Architecture"] == arch, d["Architecture"]
' <<<"$output" || fail "inspect: $output"
	run --separate-stderr husk history --no-trunc rt-imported:1
	assert_status 0
	assert_output_contains "Imported from $T/rt.tar"
}

@test "import: -c CMD, ENV and WORKDIR take effect; -m is the history's comment" {
	run --separate-stderr husk create --name im-c basic
	assert_status 0
	RUNNING+=(im-c)
	husk export im-c >"$T/c.tar"
	import -c 'ENV GREETING=from-import' -c 'WORKDIR /usr/local' \
		-c 'CMD ["sh", "-c", "pwd; echo $GREETING"]' -m "made by the test" "$T/c.tar" im-c:1
	run --separate-stderr husk run --rm im-c:1
	assert_status 0
	assert_output "/usr/local
from-import"
	run --separate-stderr husk history im-c:1
	assert_status 0
	assert_output_contains "made by the test"
	# A bad instruction is refused before anything is read.
	before=$(store_snapshot)
	run --separate-stderr husk import -c 'RUN true' "$T/c.tar"
	[ "$status" -ne 0 ] || fail "-c RUN was taken"
	assert_one_error_line
	assert_stderr_contains '-c "RUN true": husk import takes ENV'
	assert_store_unchanged "$before"
}

@test "import: from standard input, compressed or not, with no name" {
	run --separate-stderr husk create --name im-in basic
	assert_status 0
	RUNNING+=(im-in)
	husk export im-in >"$T/in.tar"
	local z
	for z in cat gzip zstd xz bzip2; do
		command -v "$z" >/dev/null || continue
		"$z" <"$T/in.tar" >"$T/in.$z"
		run --separate-stderr husk import - <"$T/in.$z"
		assert_status 0
		[[ "$output" =~ ^sha256:[0-9a-f]{64}$ ]] || fail "$z: not an image ID: $output"
		IMG=$output
		run --separate-stderr husk run --rm "${IMG#sha256:}" cat /etc/passwd
		assert_status 0
		assert_output_contains "root:x:0:0"
		run --separate-stderr husk history "${IMG#sha256:}"
		assert_output_contains "Imported from -"
		# No name: only its ID lists it.
		run --separate-stderr husk images
		assert_status 0
		grep -qE "^<none> +<none> +${IMG:7:12} " <<<"$output" || fail "$z: not listed unnamed:" "$output"
		# And as a file.
		import "$T/in.$z" "im-in:$z"
	done
	# The same tar gives the same layer, however it was compressed.
	run --separate-stderr husk inspect im-in:cat im-in:gzip
	assert_status 0
	python3 -c '
import json, sys
a, b = json.loads(sys.stdin.read())
assert a["RootFS"]["diff_ids"] == b["RootFS"]["diff_ids"], (a["RootFS"], b["RootFS"])
' <<<"$output" || fail "different diff IDs"
}

@test "import: not a tar, or a damaged one, is one error and changes nothing" {
	run --separate-stderr husk create --name im-bad basic
	assert_status 0
	RUNNING+=(im-bad)
	husk export im-bad | gzip >"$T/good.tgz"
	head -c 20000 "$T/good.tgz" >"$T/cut.tgz"
	echo "not a tar at all" >"$T/junk"
	: >"$T/empty"
	run --separate-stderr husk images -q
	local images=$output
	before=$(store_snapshot)
	local f
	for f in junk cut.tgz empty; do
		run --separate-stderr husk import "$T/$f" bad:1
		[ "$status" -ne 0 ] || fail "$f was imported"
		[ -z "$output" ] || fail "$f: printed $output"
		assert_one_error_line
		assert_stderr_contains "\"$T/$f\""
		run --separate-stderr husk import - <"$T/$f"
		[ "$status" -ne 0 ] || fail "$f on stdin was imported"
		assert_one_error_line
		assert_stderr_contains '"-"'
	done
	run --separate-stderr husk import "$T/nosuch.tar"
	[ "$status" -ne 0 ] || fail "a missing file was imported"
	assert_one_error_line
	assert_stderr_contains "No such file"
	run --separate-stderr husk images -q
	assert_output "$images"
	assert_store_unchanged "$before"
}

@test "podman import takes what husk export writes" {
	[ "$(test_mode)" = root ] || skip "podman runs as root here"
	command -v podman >/dev/null || skip "podman is not installed"
	run --separate-stderr husk run --name pm-src basic sh -c 'echo from-husk >/marker'
	assert_status 0
	RUNNING+=(pm-src)
	husk export -o "$T/pm.tar" pm-src
	# podman wants a runroot shorter than 50 characters.
	PODMAN_DIR=$(mktemp -d /tmp/hkpod.XXXXXX)
	run podman --root "$PODMAN_DIR/root" --runroot "$PODMAN_DIR/run" --storage-driver vfs \
		import "$T/pm.tar" localhost/pm:1
	[ "$status" -eq 0 ] || fail "podman import: $output"
	run podman --root "$PODMAN_DIR/root" --runroot "$PODMAN_DIR/run" --storage-driver vfs \
		image mount localhost/pm:1
	[ "$status" -eq 0 ] && [ -d "$output" ] || fail "podman image mount: $output"
	local mnt=$output
	[ "$(cat "$mnt/marker")" = from-husk ] || fail "no marker in podman's image"
	[ -x "$mnt/usr/bin/hsk-report" ] || fail "no hsk-report in podman's image"
	[ "$(stat -c %u:%g "$mnt/data/owned")" = 1234:1234 ] || fail "data/owned: $(stat -c %u:%g "$mnt/data/owned")"
	podman --root "$PODMAN_DIR/root" --runroot "$PODMAN_DIR/run" --storage-driver vfs \
		image unmount localhost/pm:1 >/dev/null 2>&1 || true
}

@test "export and import keep extended attributes (user.*, and security.capability as root)" {
	python3 - "$T/x.tar" "$IMAGES/hsk-report" <<'PY'
import io, sys, tarfile
cap = "\x01\x00\x00\x02\x00\x04\x00\x00" + "\x00" * 12  # v2, permitted: cap_net_bind_service
with tarfile.open(sys.argv[1], "w", format=tarfile.PAX_FORMAT) as t:
    d = tarfile.TarInfo("bin")
    d.type, d.mode = tarfile.DIRTYPE, 0o755
    t.addfile(d)
    data = open(sys.argv[2], "rb").read()
    f = tarfile.TarInfo("bin/app")
    f.size, f.mode = len(data), 0o755
    f.pax_headers = {"SCHILY.xattr.user.husk-test": "kept", "SCHILY.xattr.security.capability": cap}
    t.addfile(f, io.BytesIO(data))
PY
	import "$T/x.tar" xa:1
	run --separate-stderr husk create --name xa-c xa:1 /bin/app ids
	assert_status 0
	RUNNING+=(xa-c)
	husk export xa-c >"$T/xa-out.tar"
	run python3 -c '
import sys, tarfile
m = tarfile.open(sys.argv[1]).getmember("bin/app")
x = {k[len("SCHILY.xattr."):]: v for k, v in m.pax_headers.items() if k.startswith("SCHILY.xattr.")}
print(" ".join(sorted(x)), x.get("user.husk-test"))' "$T/xa-out.tar"
	assert_status 0
	assert_output_contains "user.husk-test"
	assert_output_contains " kept"
	[[ "$output" != *overlay* ]] || fail "overlayfs's own xattrs exported: $output"
	if [ "$(test_mode)" = root ]; then
		assert_output_contains "security.capability"
	fi
}
