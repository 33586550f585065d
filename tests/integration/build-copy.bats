#!/usr/bin/env bats
# husk build: COPY and ADD's --exclude, COPY --parents and heredoc sources, each with
# its cache behaviour and its error.  Runs as root, with a subuid range and without.

bats_require_minimum_version 1.5.0
load helpers

setup_file() {
	ensure_images
}

setup() {
	new_store
	pull basic latest
	CTX=$BATS_TEST_TMPDIR/ctx
	mkdir -p "$CTX/src/sub" "$CTX/x" "$CTX/y/z"
	echo alpha >"$CTX/a.txt"
	echo 'int x;' >"$CTX/src/x.c"
	echo 'x notes' >"$CTX/src/notes.md"
	echo 'int y;' >"$CTX/src/sub/y.c"
	echo 'y notes' >"$CTX/src/sub/y.md"
	echo xa >"$CTX/x/a.txt"
	echo yb >"$CTX/y/b.txt"
	echo yz >"$CTX/y/z/c.txt"
	echo yzmd >"$CTX/y/z/d.md"
}

teardown() {
	remove_store "$STORE"
}

# How many steps a build's output says were cached.
cached() {
	grep -c -- '--> CACHED' <<<"$output" || true
}

@test "build-copy: COPY --exclude leaves out what its patterns match, below the source and a glob's matches" {
	cat >"$CTX/Dockerfile" <<'EOF'
FROM basic
COPY --exclude=*.md src /top/
COPY --exclude=**/*.md --exclude=sub/y.c src /all/
COPY --exclude=sub --exclude=!sub/y.c src /keep/
COPY --exclude=*.md y/z/* /glob/
ADD --exclude=*.c src /add/
EOF
	run --separate-stderr husk build -t ex "$CTX"
	assert_status 0
	run --separate-stderr husk run --rm ex sh -c 'for d in /top /all /keep /glob /add; do echo "$d:"; cd $d && find . -type f | sort; done'
	assert_output "/top:
./sub/y.c
./sub/y.md
./x.c
/all:
./x.c
/keep:
./notes.md
./sub/y.c
./x.c
/glob:
./c.txt
/add:
./notes.md
./sub/y.c
./sub/y.md"
}

@test "build-copy: an excluded file is never read and changing it keeps the step cached; the patterns are in the key" {
	printf 'FROM basic\nCOPY --exclude=*.md src /s/\nRUN ls /s >/list\n' >"$CTX/Dockerfile"
	run --separate-stderr husk build -t exc "$CTX"
	assert_status 0
	[ "$(cached)" -eq 0 ] || fail "a cold build used the cache: $output"

	echo changed >"$CTX/src/notes.md"
	run --separate-stderr husk build -t exc "$CTX"
	assert_status 0
	[ "$(cached)" -eq 2 ] || fail "changing an excluded file missed the cache: $output"

	# Unreadable: a copy that read it would fail (root reads anything: only as a user).
	chmod 000 "$CTX/src/notes.md"
	run --separate-stderr husk build -t exc "$CTX"
	chmod 644 "$CTX/src/notes.md"
	assert_status 0

	echo 'int z;' >"$CTX/src/x.c"
	run --separate-stderr husk build -t exc "$CTX"
	assert_status 0
	[ "$(cached)" -eq 0 ] || fail "changing a copied file hit the cache: $output"

	# Other patterns, same files copied: another step.
	printf 'FROM basic\nCOPY --exclude=*.md --exclude=nothing src /s/\nRUN ls /s >/list\n' >"$CTX/Dockerfile"
	run --separate-stderr husk build -t exc "$CTX"
	assert_status 0
	[ "$(cached)" -eq 0 ] || fail "other patterns hit the cache: $output"
}

@test "build-copy: COPY --from with --exclude and --parents" {
	cat >"$CTX/Dockerfile" <<'EOF'
FROM basic AS builder
RUN mkdir -p /out/bin /out/lib && echo b >/out/bin/tool && echo d >/out/bin/tool.debug && echo l >/out/lib/libx.so

FROM basic
COPY --from=builder --exclude=*.debug /out/bin /bin2/
COPY --from=builder --parents /out/./bin/tool /out/./lib/*.so /opt/
EOF
	run --separate-stderr husk build -t exf "$CTX"
	assert_status 0
	run --separate-stderr husk run --rm exf sh -c 'ls /bin2; cd /opt && find . -type f | sort'
	assert_output "tool
./bin/tool
./lib/libx.so"
}

@test "build-copy: a bad --exclude pattern is one error line" {
	printf 'FROM basic\nCOPY --exclude=[a src /s/\n' >"$CTX/Dockerfile"
	run --separate-stderr husk build "$CTX"
	assert_status 1
	assert_one_error_line
	assert_stderr_contains 'Dockerfile:2: COPY: --exclude: pattern "[a"'
}

@test "build-copy: COPY --parents keeps the parent directories, from the pivot /./ on, with globs" {
	cat >"$CTX/Dockerfile" <<'EOF'
FROM basic
COPY --parents ./x/a.txt ./y/b.txt /dst/
COPY --parents ./y/./z/*.txt /piv/
COPY --parents src/**/ y/z /tree/
COPY --parents y/*/c.txt a.txt /glob/
EOF
	run --separate-stderr husk build -t par "$CTX"
	assert_status 0
	run --separate-stderr husk run --rm par sh -c 'for d in /dst /piv /tree /glob; do echo "$d:"; cd $d && find . -type f | sort; done'
	assert_output "/dst:
./x/a.txt
./y/b.txt
/piv:
./z/c.txt
/tree:
./src/notes.md
./src/sub/y.c
./src/sub/y.md
./src/x.c
./y/z/c.txt
./y/z/d.md
/glob:
./a.txt
./y/z/c.txt"

	run --separate-stderr husk build -t par "$CTX"
	assert_status 0
	[ "$(cached)" -eq 4 ] || fail "expected 4 cached steps: $output"

	# The same files, another pivot: another step.
	sed -i 's|./y/./z/\*.txt|./y/z/./*.txt|' "$CTX/Dockerfile"
	run --separate-stderr husk build -t par "$CTX"
	assert_status 0
	[ "$(cached)" -eq 1 ] || fail "a moved pivot hit the cache: $output"
	run --separate-stderr husk run --rm par find /piv -type f
	assert_output "/piv/c.txt"
}

@test "build-copy: COPY --parents with a missing source or a pivot outside the context fails" {
	printf 'FROM basic\nCOPY --parents x/nothere /d/\n' >"$CTX/Dockerfile"
	run --separate-stderr husk build "$CTX"
	assert_status 1
	assert_one_error_line
	assert_stderr_contains 'Dockerfile:2: COPY: source "x/nothere": not found in the build context'

	printf 'FROM basic\nCOPY --parents ../x/./a.txt /d/\n' >"$CTX/Dockerfile"
	run --separate-stderr husk build "$CTX"
	assert_status 1
	assert_one_error_line
	assert_stderr_contains 'Dockerfile:2: COPY: source "../x/./a.txt": outside the build context'
}

@test "build-copy: heredoc sources become files, expanded unless quoted, 0644 or --chmod" {
	cat >"$CTX/Dockerfile" <<'DOCKERFILE'
FROM basic
ARG WHO=world
COPY <<EOF /etc/greeting
hello ${WHO} "quoted"
EOF
COPY <<'RAW' /raw.txt
hello ${WHO}
RAW
COPY --chmod=0755 <<run.sh <<notes.txt a.txt /app/
#!/bin/sh
echo run
run.sh
some notes
notes.txt
ADD <<-TABS /tabs.txt
		indented
	TABS
DOCKERFILE
	run --separate-stderr husk build -t hd "$CTX"
	assert_status 0
	run --separate-stderr husk run --rm hd sh -c 'cat /etc/greeting /raw.txt /tabs.txt; stat -c "%n %a %u:%g" /etc/greeting /app/run.sh /app/notes.txt /app/a.txt; /app/run.sh'
	assert_output 'hello world "quoted"
hello ${WHO}
indented
/etc/greeting 644 0:0
/app/run.sh 755 0:0
/app/notes.txt 755 0:0
/app/a.txt 755 0:0
run'
	run --separate-stderr husk history --no-trunc hd
	assert_output_contains 'COPY --chmod=0755 a.txt <<run.sh <<notes.txt /app/'

	run --separate-stderr husk build -t hd "$CTX"
	assert_status 0
	[ "$(cached)" -eq 4 ] || fail "expected 4 cached steps: $output"

	# Another build argument changes the expanded heredoc, not the quoted one.
	run --separate-stderr husk build --build-arg WHO=you -t hd "$CTX"
	assert_status 0
	[ "$(cached)" -eq 0 ] || fail "the first COPY hit the cache with other content: $output"
	run --separate-stderr husk run --rm hd cat /etc/greeting
	assert_output 'hello you "quoted"'

	sed -i 's/some notes/other notes/' "$CTX/Dockerfile"
	run --separate-stderr husk build -t hd "$CTX"
	assert_status 0
	[ "$(cached)" -eq 2 ] || fail "a changed heredoc kept its step cached: $output"
}

@test "build-copy: heredocs into an existing directory, with --chown; two without a directory, or a name with a slash, fail" {
	cat >"$CTX/Dockerfile" <<'EOF'
FROM basic
COPY --chown=1234:5678 <<motd /etc
welcome
motd
EOF
	run --separate-stderr husk build -t hdo "$CTX"
	if [ "$(test_mode)" = nosub ]; then
		assert_status 1
		assert_one_error_line
		assert_stderr_contains 'is not mapped in the store'"'"'s user namespace'
	else
		assert_status 0
		run --separate-stderr husk run --rm hdo stat -c '%n %u:%g %a' /etc/motd
		assert_output "/etc/motd 1234:5678 644"
	fi

	printf 'FROM basic\nCOPY <<A <<B /d\na\nA\nb\nB\n' >"$CTX/Dockerfile"
	run --separate-stderr husk build "$CTX"
	assert_status 1
	assert_one_error_line
	assert_stderr_contains 'Dockerfile:2: COPY: destination "/d": with more than one source it must be a directory'

	printf 'FROM basic\nCOPY <<a/b /d/\nx\na/b\n' >"$CTX/Dockerfile"
	run --separate-stderr husk build "$CTX"
	assert_status 1
	assert_one_error_line
	assert_stderr_contains 'Dockerfile:2: COPY: heredoc "a/b": not a file name'
}

@test "build-copy: the history keeps COPY's and ADD's --exclude flags, as BuildKit writes them" {
	printf 'FROM basic\nCOPY --exclude=*.md --exclude=sub src /app/src/\nADD --chmod=0640 --exclude=*.c src /add/\n' >"$CTX/Dockerfile"
	run --separate-stderr husk build -q -t exhist "$CTX"
	assert_status 0
	husk inspect exhist | python3 -c '
import json, sys
h = [e.get("created_by") for e in json.load(sys.stdin)[0]["History"]][-2:]
want = ["COPY --exclude=*.md --exclude=sub src /app/src/", "ADD --chmod=0640 --exclude=*.c src /add/"]
assert h == want, h
' || fail "history"
}
