#!/usr/bin/env bats
# husk build: RUN --mount=type=bind (from the context, a stage, an image), what a bind may
# never reach (BuildKit's CVE-2024-23651 and CVE-2024-23652 class), and a secret's uid, gid
# and mode.  Runs as root, with a subuid range and without.

bats_require_minimum_version 1.5.0
load helpers

setup_file() {
	ensure_images
}

setup() {
	new_store
	pull basic latest
	CTX=$BATS_TEST_TMPDIR/ctx
	mkdir -p "$CTX/dir/sub" "$CTX/private"
	echo alpha >"$CTX/dir/a"
	echo deep >"$CTX/dir/sub/b"
	echo hidden >"$CTX/private/key"
	echo other >"$CTX/other.txt"
	printf 'private\n' >"$CTX/.dockerignore"
}

teardown() {
	remove_store "$STORE"
}

# The build's containers (and the copies their binds showed) are gone.
assert_no_containers() {
	local left
	left=$(ls -A "$STORE/containers" 2>/dev/null)
	[ -z "$left" ] || fail "containers left in the store: $left"
}

@test "build: RUN --mount=type=bind from the context: read-only, .dockerignore kept out, never in the layer" {
	cat >"$CTX/Dockerfile" <<'EOF'
FROM basic
RUN --mount=type=bind,target=/m { cat /m/dir/a /m/dir/sub/b; ls /m; \
    echo x 2>/dev/null >/m/dir/a && echo writable || echo read-only; } >/seen
RUN --mount=type=bind,source=dir/a,dst=/etc/a.txt cat /etc/a.txt >/file
WORKDIR /w
RUN --mount=type=bind,source=/dir/sub,destination=rel ls -ld rel | cut -c1-10 >/rel
EOF
	run --separate-stderr husk build -t bind "$CTX"
	assert_status 0
	run --separate-stderr husk run --rm bind sh -c 'cat /seen /file /rel; ls -A /w; ls /m /etc/a.txt 2>&1'
	assert_output "alpha
deep
Dockerfile
dir
other.txt
read-only
alpha
drwxr-xr-x
ls: /m: No such file or directory
ls: /etc/a.txt: No such file or directory"
	assert_no_containers
	[ "$(cat "$CTX/dir/a")" = alpha ] || fail "the context changed"

	printf 'FROM basic\nRUN --mount=type=bind,source=private/key,target=/k true\n' >"$CTX/Dockerfile"
	run --separate-stderr husk build "$CTX"
	assert_status 1
	assert_one_error_line
	assert_stderr_contains 'not found in the build context or excluded by .dockerignore'
	printf 'FROM basic\nRUN --mount=type=bind,source=dir true\n' >"$CTX/Dockerfile"
	run --separate-stderr husk build "$CTX"
	assert_status 1
	assert_one_error_line
	assert_stderr_contains 'a bind needs target='
	printf 'FROM basic\nRUN --mount=type=bind,source=d*,target=/d true\n' >"$CTX/Dockerfile"
	run --separate-stderr husk build "$CTX"
	assert_status 1
	assert_one_error_line
	assert_stderr_contains 'source: a pattern is not supported'
}

@test "build: RUN --mount=type=bind,rw: writes are seen by the step, then discarded (not in the layer, the context unchanged)" {
	cat >"$CTX/Dockerfile" <<'EOF'
FROM basic
RUN --mount=type=bind,source=dir,target=/m,rw echo changed >/m/a && mkdir /m/new && \
    rm /m/sub/b && cat /m/a >/seen && ls /m >>/seen
RUN --mount=type=bind,source=dir,target=/m cat /m/a /m/sub/b >/again
EOF
	run --separate-stderr husk build -t rw "$CTX"
	assert_status 0
	run --separate-stderr husk run --rm rw sh -c 'cat /seen /again; ls /m 2>&1'
	assert_output "changed
a
new
sub
alpha
deep
ls: /m: No such file or directory"
	[ "$(cat "$CTX/dir/a")" = alpha ] && [ ! -e "$CTX/dir/new" ] && [ -e "$CTX/dir/sub/b" ] ||
		fail "the context changed: $(ls -R "$CTX/dir")"
	assert_no_containers
}

@test "build: RUN --mount=type=bind from a stage and an image: their files and owners, a rw write stays out of the stage" {
	owner=0
	[ "$(test_mode)" = nosub ] || owner=1000
	cat >"$CTX/Dockerfile" <<EOF
FROM basic AS tools
RUN mkdir -p /opt/t/bin && echo tool >/opt/t/bin/tool && chown -R $owner:$owner /opt/t && \
    chmod 0750 /opt/t
FROM basic AS unrelated
RUN echo never >/never
FROM basic
RUN --mount=type=bind,from=tools,source=/opt/t,target=/t,rw \
    { cat /t/bin/tool; stat -c '%u:%g %a' /t /t/bin/tool; echo x >/t/bin/tool; } >/seen
RUN --mount=type=bind,from=0,source=opt/t/bin/tool,target=/tool cat /tool >>/seen
RUN --mount=type=bind,from=basic,target=/img ls /img/data >/imgdata
EOF
	run --separate-stderr husk build -t fromstage "$CTX"
	assert_status 0
	[[ "$output" != *"echo never"* ]] || fail "a stage nothing needs was built: $output"
	run --separate-stderr husk run --rm fromstage sh -c 'cat /seen /imgdata; ls /t /tool /img 2>&1'
	assert_output "tool
$owner:$owner 750
$owner:$owner 644
tool
$(husk run --rm basic ls /data)
ls: /t: No such file or directory
ls: /tool: No such file or directory
ls: /img: No such file or directory"
	assert_no_containers

	printf 'FROM basic\nRUN --mount=type=bind,from=nosuchstage,target=/x true\n' >"$CTX/Dockerfile"
	run --separate-stderr husk build --pull=never "$CTX"
	assert_status 1
	assert_one_error_line
	assert_stderr_contains 'from=nosuchstage'
}

@test "build: RUN --mount=type=bind: the step runs again when the bound files change, not when others do" {
	cat >"$CTX/Dockerfile" <<'EOF'
FROM basic AS stage
RUN echo one >/v
FROM basic
RUN --mount=type=bind,source=dir,target=/m cat /m/a >/seen
RUN --mount=type=bind,from=stage,source=/v,target=/v cat /v >/stage
EOF
	run --separate-stderr husk build -t key "$CTX"
	assert_status 0
	run --separate-stderr husk build -t key "$CTX"
	assert_status 0
	[ "$(grep -c -- '--> CACHED' <<<"$output")" -eq 3 ] || fail "expected 3 cached steps: $output"
	# A file outside the bound source: still cached.
	echo changed >"$CTX/other.txt"
	run --separate-stderr husk build -t key "$CTX"
	[ "$(grep -c -- '--> CACHED' <<<"$output")" -eq 3 ] || fail "expected 3 cached steps: $output"
	# The bound file: the step runs again and sees the new content (and the step after it,
	# which stands on it).
	echo beta >"$CTX/dir/a"
	run --separate-stderr husk build -t key "$CTX"
	assert_status 0
	[ "$(grep -c -- '--> CACHED' <<<"$output")" -eq 1 ] || fail "expected 1 cached step: $output"
	# The stage changes: the step that binds it runs again, the other one is cached.
	sed -i 's/echo one/echo two/' "$CTX/Dockerfile"
	run --separate-stderr husk build -t key "$CTX"
	assert_status 0
	[ "$(grep -c -- '--> CACHED' <<<"$output")" -eq 1 ] || fail "expected 1 cached step: $output"
	run --separate-stderr husk run --rm key cat /seen /stage
	assert_output "beta
two"
}

@test "CVE-2024-23651: a bind source never leads out of the context or the stage (symlinks, ..)" {
	mkdir -p "$CTX/etc"
	echo context-etc >"$CTX/etc/marker"
	ln -s / "$CTX/to-root"
	ln -s ../.. "$CTX/up"
	ln -s /etc "$CTX/abs-etc"
	cat >"$CTX/Dockerfile" <<'EOF'
FROM basic AS s
RUN mkdir /s && echo in-stage >/s/f && ln -s ../../../../.. /s/up && ln -s / /s/root
FROM basic
RUN --mount=type=bind,source=to-root,target=/m ls /m >/to-root
RUN --mount=type=bind,source=up,target=/m ls /m >/up
RUN --mount=type=bind,source=../../etc,target=/m ls /m >/dotdot
RUN --mount=type=bind,source=abs-etc,target=/m ls /m >/abs
RUN --mount=type=bind,from=s,source=/s/up/s,target=/m cat /m/f >/stage-up
RUN --mount=type=bind,from=s,source=../../../s/root/s/f,target=/m cat /m >/stage-root
EOF
	run --separate-stderr husk build -t hostile "$CTX"
	assert_status 0
	ctxlist=$(printf '%s\n' Dockerfile abs-etc dir etc other.txt to-root up)
	run --separate-stderr husk run --rm hostile cat /to-root
	assert_output "$ctxlist"
	run --separate-stderr husk run --rm hostile cat /up
	assert_output "$ctxlist"
	run --separate-stderr husk run --rm hostile cat /dotdot /abs /stage-up /stage-root
	assert_output "marker
marker
in-stage
in-stage"
	assert_no_containers
}

@test "CVE-2024-23652: a bind target that is a symlink out of the image is made inside it, and taken out again" {
	out=$BATS_TEST_TMPDIR/escaped
	cat >"$CTX/Dockerfile" <<EOF
FROM basic
RUN ln -s ../../../../../../../../../..$out /rel && ln -s $out-abs /abs && mkdir /d && \\
    ln -s ../d/./e /l
RUN --mount=type=bind,source=dir,target=/rel,rw echo x >/rel/w && cat /rel/a >/seen-rel
RUN --mount=type=bind,source=dir,target=/abs,rw echo x >/abs/w && cat /abs/a >/seen-abs
RUN --mount=type=bind,source=dir/a,target=/l/f cat /d/e/f >/seen-l
EOF
	run --separate-stderr husk build -t target "$CTX"
	assert_status 0
	[ ! -e "$out" ] && [ ! -e "$out-abs" ] || fail "a mount point was made outside the image"
	# The mount points were made where the image's symlinks lead, inside it, and are not in
	# its layers.
	run --separate-stderr husk run --rm target sh -c "cat /seen-rel /seen-abs /seen-l; ls -A /d; ls $out $out-abs 2>&1"
	assert_output "alpha
alpha
alpha
ls: $out: No such file or directory
ls: $out-abs: No such file or directory"
	[ "$(cat "$CTX/dir/a")" = alpha ] && [ ! -e "$CTX/dir/w" ] || fail "the context changed"
}

@test "CVE-2024-23652: the mount stub cleaner never follows a symlink the step made to a host path" {
	victim=$BATS_TEST_TMPDIR/victim
	mkdir -p "$victim/y"
	: >"$victim/y0"
	cat >"$CTX/Dockerfile" <<EOF
FROM basic
RUN --mount=type=tmpfs,target=/x/y mv /x /x2 && ln -s $victim /x
RUN --mount=type=bind,source=dir/a,target=/q/y0 mv /q /q2 && ln -s $victim /q
EOF
	run --separate-stderr husk build -t stubs "$CTX"
	assert_status 0
	[ -d "$victim/y" ] && [ -f "$victim/y0" ] || fail "the stub cleaner removed a host file: $(ls -A "$victim")"
	# What the step made stays as it left it: its own directories, the stubs in them.
	run --separate-stderr husk run --rm stubs sh -c 'readlink /x; readlink /q; ls -A /x2 /q2'
	assert_output "$victim
$victim
/q2:
y0

/x2:
y"
}

@test "build: RUN --mount=type=secret: uid, gid and mode as the step sees them" {
	echo tok >"$BATS_TEST_TMPDIR/s"
	if [ "$(test_mode)" = nosub ]; then
		printf 'FROM basic\nRUN --mount=type=secret,id=s,uid=1000 true\n' >"$CTX/Dockerfile"
		run --separate-stderr husk build --secret "id=s,src=$BATS_TEST_TMPDIR/s" "$CTX"
		assert_status 1
		assert_one_error_line
		assert_stderr_contains "uid 1000 is not mapped in the build's user namespace"
		printf 'FROM basic\nRUN --mount=type=secret,id=s,gid=5 true\n' >"$CTX/Dockerfile"
		run --separate-stderr husk build --secret "id=s,src=$BATS_TEST_TMPDIR/s" "$CTX"
		assert_status 1
		assert_one_error_line
		assert_stderr_contains "gid 5 is not mapped in the build's user namespace"
		uid=0 gid=0
	else
		uid=1000 gid=2000
	fi
	if [ "$(test_mode)" = sub ]; then
		printf 'FROM basic\nRUN --mount=type=secret,id=s,uid=4000000000 true\n' >"$CTX/Dockerfile"
		run --separate-stderr husk build --secret "id=s,src=$BATS_TEST_TMPDIR/s" "$CTX"
		assert_status 1
		assert_one_error_line
		assert_stderr_contains "uid 4000000000 is not mapped in the build's user namespace"
	fi
	cat >"$CTX/Dockerfile" <<EOF
FROM basic
RUN --mount=type=secret,id=s,uid=$uid,gid=$gid,mode=0440 stat -c '%u:%g %a' /run/secrets/s >/st
RUN --mount=type=secret,id=s,target=/etc/s.conf stat -c '%u:%g %a' /etc/s.conf >>/st
RUN --mount=type=secret,id=s,mode=644 cat /run/secrets/s >/dev/null && \
    stat -c '%u:%g %a' /run/secrets/s >>/st
EOF
	run --separate-stderr husk build --secret "id=s,src=$BATS_TEST_TMPDIR/s" -t secid "$CTX"
	assert_status 0
	run --separate-stderr husk run --rm secid cat /st
	assert_output "$uid:$gid 440
0:0 400
0:0 644"
}
