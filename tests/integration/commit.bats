#!/usr/bin/env bats
# husk commit: a container's changes as a new image (its layer, as read from the upper
# directory, and its config, from the container and -c), which runs, saves and loads.

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
}

# commit ARGS...: husk commit, which must succeed and print one image ID; it is in $IMG.
commit() {
	run --separate-stderr husk commit "$@"
	assert_status 0
	[[ "$output" =~ ^sha256:[0-9a-f]{64}$ ]] || fail "not an image ID: $output"
	IMG=$output
}

# json EXPR: EXPR (Python, over "d", the first object of husk inspect's output in $output).
json() {
	python3 -c 'import json, sys; d = json.loads(sys.stdin.read())[0]; print(eval(sys.argv[1]))' \
		"$1" <<<"$output"
}

# The entries of the image's last layer blob: "TYPE NAME [-> LINK]" a line, in tar order.
last_layer_entries() { # IMAGE
	local digest
	run --separate-stderr husk inspect "$1"
	assert_status 0
	digest=$(json 'd["Layers"][-1]["Digest"]')
	python3 - "$STORE/blobs/sha256/${digest#sha256:}" <<'EOF'
import sys, tarfile
with tarfile.open(sys.argv[1], "r:gz") as t:
    for m in t.getmembers():
        kind = "h" if m.islnk() else "l" if m.issym() else "d" if m.isdir() else "p" if m.isfifo() else "f"
        link = " -> " + m.linkname if (m.islnk() or m.issym()) else ""
        print(f"{kind} {m.name}{link}")
EOF
}

@test "commit: added, changed and deleted files, an opaque directory, links and a fifo run in the new image" {
	run --separate-stderr husk run --name c-files basic sh -c '
		echo new >/newfile && chmod 640 /newfile
		echo more >>/usr/local/bin/notexec
		rm /data/owned
		rm -rf /usr/local/bin && mkdir /usr/local/bin && echo only >/usr/local/bin/only
		mkdir -p /d/e && echo h >/d/e/f && ln /d/e/f /d/hard
		ln -s /newfile /sym
		mkfifo /fifo
		if chown 1234:5678 /newfile 2>/dev/null; then echo chowned; fi'
	assert_status 0
	local chowned=$output
	commit c-files c-files:1
	[ "$(husk images -q | grep -c "${IMG:7:12}")" = 1 ] || fail "the image is not listed"

	run --separate-stderr husk run --rm c-files:1 sh -c '
		cat /newfile; stat -c "%a %u:%g" /newfile
		ls /usr/local/bin; cat /usr/local/bin/only
		ls -A /data; test -e /data/owned || echo owned-gone
		cat /d/hard; stat -c %h /d/e/f; [ "$(stat -c %i /d/hard)" = "$(stat -c %i /d/e/f)" ] && echo same-inode
		readlink /sym; test -p /fifo && echo fifo
		cat /usr/bin/hsk-report >/dev/null && echo image-files-still-there'
	assert_status 0
	local owner="0:0"
	[ "$chowned" = chowned ] && owner="1234:5678"
	assert_output "new
640 $owner
only
only
owned-gone
h
2
same-inode
/newfile
fifo
image-files-still-there"

	# The layer as OCI writes it: whiteouts, the opaque marker first in its directory, a hard
	# link entry.
	run last_layer_entries c-files:1
	assert_status 0
	printf '%s\n' "$output" >"$T/entries"
	grep -qx 'f data/.wh.owned' "$T/entries" || fail "no whiteout for /data/owned: $output"
	grep -qx 'f usr/local/bin/.wh..wh..opq' "$T/entries" || fail "no opaque marker: $output"
	[ "$(grep -A1 -x 'd usr/local/bin' "$T/entries" | tail -1)" = "f usr/local/bin/.wh..wh..opq" ] ||
		fail "the opaque marker is not first in its directory: $output"
	grep -qx 'h d/hard -> d/e/f' "$T/entries" || grep -qx 'h d/e/f -> d/hard' "$T/entries" ||
		fail "no hard link entry: $output"
	grep -qx 'l sym -> /newfile' "$T/entries" || fail "no symlink: $output"
	grep -qx 'p fifo' "$T/entries" || fail "no fifo: $output"
	! grep -q 'hsk-report' "$T/entries" || fail "an unchanged file is in the layer: $output"

	# A container of the new image has nothing to diff.
	run --separate-stderr husk create --name c-files-2 c-files:1 true
	assert_status 0
	run --separate-stderr husk diff c-files-2
	assert_status 0
	assert_output ""
}

@test "commit: the config is the image's with the container's settings and the -c changes" {
	run --separate-stderr husk run --name c-cfg -e FOO=bar -w /tmp basic touch /x
	assert_status 0
	commit -m "a message" -a "An Author <a@example.com>" \
		-c 'ENV A=1 "B=two words"' -c 'LABEL l=v' -c 'EXPOSE 80 53/udp' \
		-c 'CMD ["echo", "hi from cmd"]' -c 'WORKDIR /srv' -c 'USER 1:1' -c 'VOLUME /vol' \
		-c 'STOPSIGNAL SIGINT' c-cfg c-cfg:1
	run --separate-stderr husk inspect c-cfg:1
	assert_status 0
	[ "$(json 'd["Id"]')" = "$IMG" ] || fail "inspect shows another ID"
	[ "$(json 'd["RepoTags"]')" = "['localhost/c-cfg:1']" ] || fail "$(json 'd["RepoTags"]')"
	[ "$(json 'd["Config"]["Env"]')" = "['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', 'HUSK_TEST=basic-env', 'GREETING=hello world', 'FOO=bar', 'A=1', 'B=two words']" ] ||
		fail "Env: $(json 'd["Config"]["Env"]')"
	[ "$(json 'd["Config"]["Cmd"]')" = "['echo', 'hi from cmd']" ] || fail "Cmd: $(json 'd["Config"]["Cmd"]')"
	[ "$(json 'd["Config"]["WorkingDir"]')" = /srv ] || fail "WorkingDir"
	[ "$(json 'd["Config"]["User"]')" = 1:1 ] || fail "User"
	[ "$(json 'd["Config"]["Labels"]')" = "{'l': 'v'}" ] || fail "Labels"
	[ "$(json 'sorted(d["Config"]["ExposedPorts"])')" = "['53/udp', '80/tcp']" ] || fail "ExposedPorts"
	[ "$(json 'd["Config"]["Volumes"]')" = "{'/vol': {}}" ] || fail "Volumes"
	[ "$(json 'd["Config"]["StopSignal"]')" = SIGINT ] || fail "StopSignal"
	[ "$(json 'len(d["RootFS"]["diff_ids"])')" = 2 ] || fail "diff_ids"

	run --separate-stderr husk history c-cfg:1
	assert_status 0
	assert_output_contains "a message"

	# Without subordinate ids only root can run: the image's user is checked where it can be.
	local asuser=(-u 0) uid=0
	[ "$(test_mode)" = nosub ] || { asuser=(); uid=1; }
	run --separate-stderr husk run --rm "${asuser[@]}" c-cfg:1
	assert_status 0
	assert_output "hi from cmd"
	run --separate-stderr husk run --rm "${asuser[@]}" c-cfg:1 sh -c 'echo "$FOO $A $B"; pwd; id -u'
	assert_status 0
	assert_output "bar 1 two words
/srv
$uid"
}

@test "commit: -c ONBUILD appends a trigger, which a build FROM the image runs (docker commit --change)" {
	run --separate-stderr husk run --name c-onb basic touch /x
	assert_status 0
	commit -c 'ONBUILD RUN echo triggered >/trig' -c 'onbuild COPY a.txt /a.txt' c-onb c-onb:1
	run --separate-stderr husk inspect c-onb:1
	assert_status 0
	[ "$(json 'd["Config"]["OnBuild"]')" = "['RUN echo triggered >/trig', 'COPY a.txt /a.txt']" ] ||
		fail "OnBuild: $(json 'd["Config"]["OnBuild"]')"
	# A second commit appends to the image's triggers.
	run --separate-stderr husk run --name c-onb2 c-onb:1 true
	assert_status 0
	commit -c 'ONBUILD RUN cat /trig /a.txt >/seen' c-onb2 c-onb:2
	run --separate-stderr husk inspect c-onb:2
	[ "$(json 'd["Config"]["OnBuild"]')" = "['RUN echo triggered >/trig', 'COPY a.txt /a.txt', 'RUN cat /trig /a.txt >/seen']" ] ||
		fail "OnBuild: $(json 'd["Config"]["OnBuild"]')"
	mkdir "$T/ctx"
	echo alpha >"$T/ctx/a.txt"
	printf 'FROM c-onb:2\n' >"$T/ctx/Dockerfile"
	run --separate-stderr husk build -q -t c-onb-child "$T/ctx"
	assert_status 0
	run --separate-stderr husk run --rm c-onb-child cat /seen
	assert_output "triggered
alpha"
	# What a Dockerfile refuses as a trigger, -c refuses, before any work.
	before=$(store_snapshot)
	run --separate-stderr husk commit -c 'ONBUILD ONBUILD RUN true' c-onb
	assert_status 125
	assert_one_error_line
	assert_stderr_contains "chaining ONBUILD via \`ONBUILD ONBUILD\` isn't allowed"
	run --separate-stderr husk commit -c 'ONBUILD FROM basic' c-onb
	assert_status 125
	assert_stderr_contains "FROM isn't allowed as an ONBUILD trigger"
	run --separate-stderr husk commit -c 'ONBUILD' c-onb
	assert_status 125
	assert_stderr_contains "needs an instruction"
	assert_store_unchanged "$before"
}

@test "commit: the container's command becomes the Cmd, and an --entrypoint the Entrypoint" {
	run --separate-stderr husk run --name c-cmd basic echo committed command
	assert_status 0
	commit c-cmd c-cmd:1
	run --separate-stderr husk run --rm c-cmd:1
	assert_status 0
	assert_output "committed command"

	# An image with an Entrypoint: arguments after it are the Cmd, another entrypoint is one.
	pull entry latest
	run --separate-stderr husk run --name c-args entry uidmap
	assert_status 0
	commit c-args c-args:1
	run --separate-stderr husk inspect c-args:1
	[ "$(json 'd["Config"]["Entrypoint"]')" = "['/usr/bin/hsk-report']" ] || fail "$(json 'd["Config"]')"
	[ "$(json 'd["Config"]["Cmd"]')" = "['uidmap']" ] || fail "$(json 'd["Config"]')"

	run --separate-stderr husk run --name c-ep --entrypoint /bin/echo entry from entrypoint
	assert_status 0
	commit c-ep c-ep:1
	run --separate-stderr husk inspect c-ep:1
	[ "$(json 'd["Config"]["Entrypoint"]')" = "['/bin/echo']" ] || fail "$(json 'd["Config"]')"
	[ "$(json 'd["Config"]["Cmd"]')" = "['from', 'entrypoint']" ] || fail "$(json 'd["Config"]')"
	run --separate-stderr husk run --rm c-ep:1 other args
	assert_status 0
	assert_output "other args"
}

@test "commit: no change adds no layer, as docker does" {
	run --separate-stderr husk create --name c-none basic
	assert_status 0
	commit c-none
	run --separate-stderr husk inspect "$IMG"
	assert_status 0
	[ "$(json 'len(d["RootFS"]["diff_ids"])')" = 1 ] || fail "a layer was added"
	[ "$IMG" != "$(image_id basic)" ] || fail "the same image"
	run --separate-stderr husk history "$IMG"
	assert_status 0
	assert_output_contains "0B"
	run --separate-stderr husk run --rm "$IMG"
	assert_status 0
	assert_output "hello from husk"
}

@test "commit: a running container keeps running and keeps its files" {
	run --separate-stderr husk run -d --name c-running basic sh -c 'echo r >/r; exec sleep 1000'
	assert_status 0
	local id=$output
	RUNNING+=(c-running)
	for _ in $(seq 50); do
		husk exec c-running test -e /r 2>/dev/null && break
		sleep 0.1
	done
	commit c-running c-running:1
	run --separate-stderr husk exec c-running cat /r
	assert_status 0
	assert_output "r"
	run --separate-stderr husk ps -q
	assert_output_contains "${id:0:12}"
	run --separate-stderr husk run --rm c-running:1 cat /r
	assert_status 0
	assert_output "r"
}

@test "commit: the image saves and loads into another store, and runs there" {
	run --separate-stderr husk run --name c-save basic sh -c 'echo saved >/saved; ln /saved /saved2'
	assert_status 0
	commit c-save c-save:1
	run --separate-stderr husk save -o "$T/c.tar" c-save:1
	assert_status 0
	run --separate-stderr timeout 300 "$HUSK" --root "$T/store2" load -i "$T/c.tar"
	assert_status 0
	assert_output "Loaded image: localhost/c-save:1"
	run --separate-stderr timeout 300 "$HUSK" --root "$T/store2" run --rm c-save:1 sh -c 'cat /saved; stat -c %h /saved2'
	assert_status 0
	assert_output "saved
2"
	run --separate-stderr timeout 300 "$HUSK" --root "$T/store2" images -q
	assert_output "${IMG:7:12}"
	remove_store "$T/store2"
}

@test "commit: podman loads the committed image and finds the same ID (root)" {
	[ "$(test_mode)" = root ] || skip "podman load runs as root here"
	command -v podman >/dev/null || skip "podman is not installed"
	run --separate-stderr husk run --name c-pod basic sh -c 'echo p >/p; rm -rf /data && mkdir /data'
	assert_status 0
	commit c-pod c-pod:1
	run --separate-stderr husk save -o "$T/p.tar" c-pod:1
	assert_status 0
	# podman wants a runroot shorter than 50 characters.
	local pd
	pd=$(mktemp -d /tmp/hkpod.XXXXXX)
	run podman --root "$pd/root" --runroot "$pd/run" --storage-driver vfs load -i "$T/p.tar"
	local st=$status out=$output
	run podman --root "$pd/root" --runroot "$pd/run" --storage-driver vfs \
		image inspect --format '{{.Id}}' localhost/c-pod:1
	podman --root "$pd/root" --runroot "$pd/run" --storage-driver vfs rmi -a -f >/dev/null 2>&1 || true
	rm -rf "$pd"
	[ "$st" -eq 0 ] || fail "podman load: $out"
	assert_output "${IMG#sha256:}"
}

@test "commit: SOURCE_DATE_EPOCH makes the same image twice, times clamped" {
	run --separate-stderr husk run --name c-sde basic sh -c 'echo x >/x'
	assert_status 0
	export SOURCE_DATE_EPOCH=1700000000
	commit c-sde
	local first=$IMG
	sleep 1
	commit c-sde
	unset SOURCE_DATE_EPOCH
	[ "$IMG" = "$first" ] || fail "two IDs: $first $IMG"
	run --separate-stderr husk inspect "$IMG"
	[ "$(json 'd["Created"]')" = "2023-11-14T22:13:20Z" ] || fail "Created: $(json 'd["Created"]')"
	run --separate-stderr husk run --rm "$IMG" stat -c %Y /x
	assert_status 0
	assert_output "1700000000"
}

@test "commit: a file capability is kept in the layer (root)" {
	[ "$(test_mode)" = root ] || skip "only root sets security.capability on the host"
	run --separate-stderr husk run --name c-cap basic sh -c 'cp /usr/bin/hsk-report /capped'
	assert_status 0
	local id
	id=$(husk container inspect c-cap | python3 -c 'import json, sys; print(json.load(sys.stdin)[0]["Id"])')
	# cap_net_raw+ep, as setcap writes it (VFS_CAP_REVISION_2).
	python3 -c 'import os, struct, sys; os.setxattr(sys.argv[1], "security.capability", struct.pack("<5I", 0x02000001, 1 << 13, 0, 0, 0))' \
		"$STORE/containers/$id/upper/capped"
	commit c-cap c-cap:1
	run --separate-stderr husk inspect c-cap:1
	digest=$(json 'd["Layers"][-1]["Digest"]')
	run python3 - "$STORE/blobs/sha256/${digest#sha256:}" <<'EOF'
import struct, sys, tarfile
with tarfile.open(sys.argv[1], "r:gz") as t:
    m = t.getmember("capped")
    v = m.pax_headers["SCHILY.xattr.security.capability"].encode("utf-8", "surrogateescape")
    print(hex(struct.unpack("<5I", v)[1]))
EOF
	assert_status 0
	assert_output "0x2000"
	run --separate-stderr husk run --rm c-cap:1 sh -c 'stat -c %s /capped >/dev/null && echo ok'
	assert_output "ok"
	found=$(find "$STORE/layers" -path '*/diff/capped' | head -1)
	python3 -c 'import os, sys; os.getxattr(sys.argv[1], "security.capability")' "$found" ||
		fail "the store's layer lost the capability"
}

@test "commit: errors are one line, and usage errors change nothing" {
	run --separate-stderr husk create --name c-err basic
	assert_status 0
	before=$(store_snapshot)
	run --separate-stderr husk commit nosuch
	assert_status 1
	assert_stderr_contains "no such container"
	run --separate-stderr husk commit -c 'RUN true' c-err
	assert_status 125
	assert_stderr_contains "husk commit takes ENV"
	run --separate-stderr husk commit -c 'EXPOSE 99999' c-err
	assert_status 125
	assert_stderr_contains "a port is a number"
	run --separate-stderr husk commit c-err Bad:Name
	assert_status 125
	run --separate-stderr husk commit
	assert_status 125
	run --separate-stderr husk commit c-err a b
	assert_status 125
	assert_store_unchanged "$before"
}

@test "commit: -f docker writes Docker's v2 schema 2 manifest, the default OCI's; inspect shows Author" {
	run --separate-stderr husk run --name c-fmt basic sh -c 'echo f >/f'
	assert_status 0
	export SOURCE_DATE_EPOCH=1700000000
	commit -a "A. Author <a@example.org>" c-fmt c-fmt:oci
	local oci=$IMG
	commit -a "A. Author <a@example.org>" --format docker c-fmt c-fmt:docker
	unset SOURCE_DATE_EPOCH
	# The same config, so the same ID; a manifest of each kind.
	[ "$IMG" = "$oci" ] || fail "two IDs: $oci $IMG"
	run --separate-stderr husk inspect c-fmt:docker
	assert_status 0
	[ "$(json 'd["ManifestType"]')" = application/vnd.docker.distribution.manifest.v2+json ] || fail "$output"
	[ "$(json 'sorted({l["MediaType"] for l in d["Layers"]})')" = "['application/vnd.docker.image.rootfs.diff.tar.gzip']" ] || fail "$output"
	[ "$(json 'd["Author"]')" = "A. Author <a@example.org>" ] || fail "Author: $output"
	local digest
	digest=$(json 'd["Digest"]')
	run python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["config"]["mediaType"])' \
		"$STORE/blobs/sha256/${digest#sha256:}"
	assert_output application/vnd.docker.container.image.v1+json

	commit -f oci c-fmt
	run --separate-stderr husk inspect "$IMG"
	[ "$(json 'd["ManifestType"]')" = application/vnd.oci.image.manifest.v1+json ] || fail "$output"
	[ "$(json 'sorted({l["MediaType"] for l in d["Layers"]})')" = "['application/vnd.oci.image.layer.v1.tar+gzip']" ] || fail "$output"
	# No -a: docker's empty Author.
	[ "$(json 'repr(d["Author"])')" = "''" ] || fail "Author: $output"

	run --separate-stderr husk commit --format v2s1 c-fmt
	assert_status 125
	assert_stderr_contains '--format "v2s1": expected oci or docker'
}
