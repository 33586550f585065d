#!/usr/bin/env bats
# husk build: ADD from http URLs and ADD --checksum, against python3's
# http.server on 127.0.0.1 (and a small hostile server of our own).  Runs as
# root, with a subuid range and without.

bats_require_minimum_version 1.5.0
load helpers
load registry # free_port, wait_port

# start_server NAME PORT COMMAND...: COMMAND in the background (its pid in
# $BATS_FILE_TMPDIR/NAME.pid, stopped in teardown_file), once PORT listens;
# fd 3 is closed so bats does not wait for it.
start_server() { # NAME PORT COMMAND...
	local name=$1 port=$2
	shift 2
	"$@" >"$BATS_FILE_TMPDIR/$name.log" 2>&1 3>&- &
	echo $! >"$BATS_FILE_TMPDIR/$name.pid"
	wait_port "$port"
}

setup_file() {
	ensure_images
	# Nothing between husk and 127.0.0.1, whatever the caller's environment says.
	export no_proxy=127.0.0.1 NO_PROXY=127.0.0.1
	SRV=$BATS_FILE_TMPDIR/srv
	mkdir -p "$SRV"
	SRV_PORT=$(free_port)
	export SRV SRV_PORT URL="http://127.0.0.1:$SRV_PORT"
	(cd "$SRV" && start_server http "$SRV_PORT" python3 -m http.server --bind 127.0.0.1 "$SRV_PORT")
}

teardown_file() {
	local f
	for f in "$BATS_FILE_TMPDIR"/*.pid; do
		[ -e "$f" ] && kill "$(cat "$f")" 2>/dev/null
	done
	return 0
}

setup() {
	new_store
	pull basic latest
	CTX=$BATS_TEST_TMPDIR/ctx
	mkdir -p "$CTX"
	echo alpha >"$CTX/a.txt"
	# Each test serves its own files, so the tests do not depend on each other.
	D=t$BATS_TEST_NUMBER
	mkdir -p "$SRV/$D"
}

teardown() {
	remove_store "$STORE"
}

# Nothing a download left under the store's tmp/.
assert_tmp_empty() {
	[ -z "$(find "$STORE/tmp" -mindepth 1 2>/dev/null)" ] ||
		fail "the store's tmp/ is not empty:" "$(find "$STORE/tmp" -mindepth 1)"
}

@test "build-add: a URL's file arrives named by the URL or the destination, mode 600, Last-Modified, not extracted" {
	echo remote >"$SRV/$D/file.txt"
	touch -d @1580608922 "$SRV/$D/file.txt"
	mkdir -p "$BATS_TEST_TMPDIR/t/pkg"
	echo tool >"$BATS_TEST_TMPDIR/t/pkg/tool"
	tar -C "$BATS_TEST_TMPDIR/t" -czf "$SRV/$D/pkg.tgz" pkg
	cat >"$CTX/Dockerfile" <<EOF
FROM basic
ADD $URL/$D/file.txt /dl/
ADD $URL/$D/file.txt /named
ADD --chmod=0755 $URL/$D/file.txt?query=1#frag /bin/
ADD $URL/$D/pkg.tgz /opt/
ADD $URL/$D/ /listing/
EOF
	run --separate-stderr husk build -t add "$CTX"
	assert_status 0
	run --separate-stderr husk run --rm add sh -c 'cd / && stat -c "%n %a %u:%g %Y" dl/file.txt named bin/file.txt; cat named; ls /opt; ls /listing'
	assert_output "dl/file.txt 600 0:0 1580608922
named 600 0:0 1580608922
bin/file.txt 755 0:0 1580608922
remote
pkg.tgz
$D"
	run --separate-stderr husk run --rm add grep -c 'file.txt' "/listing/$D"
	assert_output 1
	assert_tmp_empty

	# SOURCE_DATE_EPOCH's rule (--timestamp) clamps the time as for any copy.
	printf 'FROM basic\nADD %s /dl/\n' "$URL/$D/file.txt" >"$CTX/Dockerfile"
	run --separate-stderr husk build --timestamp 1000000000 -t ts "$CTX"
	assert_status 0
	run --separate-stderr husk run --rm ts stat -c %Y /dl/file.txt
	assert_output 1000000000
}

@test "build-add: --chown on a URL's file; without a subordinate range a clear error" {
	echo remote >"$SRV/$D/file.txt"
	printf 'FROM basic\nADD --chown=1234:5678 %s /data/\n' "$URL/$D/file.txt" >"$CTX/Dockerfile"
	run --separate-stderr husk build -t own "$CTX"
	if [ "$(test_mode)" = nosub ]; then
		assert_status 1
		assert_one_error_line
		assert_stderr_contains 'is not mapped in the store'"'"'s user namespace'
		assert_tmp_empty
		return 0
	fi
	assert_status 0
	run --separate-stderr husk run --rm own stat -c '%u:%g %a' /data/file.txt
	assert_output "1234:5678 600"
}

@test "build-add: --checksum that matches passes, one that does not fails naming both digests" {
	echo remote >"$SRV/$D/file.txt"
	sum=sha256:$(sha256sum "$SRV/$D/file.txt" | cut -d' ' -f1)
	# shellcheck disable=SC2016 # $SUM is the Dockerfile's
	printf 'FROM basic\nARG SUM\nADD --checksum=$SUM %s /f\n' "$URL/$D/file.txt" >"$CTX/Dockerfile"
	run --separate-stderr husk build --build-arg "SUM=$sum" -t sum "$CTX"
	assert_status 0
	run --separate-stderr husk run --rm sum cat /f
	assert_output remote

	# The checksum names the content: a cache hit needs no download (the file is gone).
	mv "$SRV/$D/file.txt" "$SRV/$D/file.txt.away"
	run --separate-stderr husk build --build-arg "SUM=$sum" -t sum "$CTX"
	assert_status 0
	[ "$(grep -c -- '--> CACHED' <<<"$output")" -eq 1 ] || fail "expected a cache hit: $output"
	mv "$SRV/$D/file.txt.away" "$SRV/$D/file.txt"

	bad=sha256:$(printf '0%.0s' $(seq 64))
	run --separate-stderr husk build --build-arg "SUM=$bad" -t sum "$CTX"
	assert_status 1
	assert_one_error_line
	assert_stderr_contains "ADD: \"$URL/$D/file.txt\": checksum mismatch: expected $bad, got $sum"
	assert_tmp_empty

	run --separate-stderr husk build --build-arg "SUM=sha512:abc" -t sum "$CTX"
	assert_status 1
	assert_one_error_line
	assert_stderr_contains '--checksum: digest "sha512:abc": algorithm "sha512" is not supported'

	# Only remote files have a checksum to check.
	printf 'FROM basic\nADD --checksum=%s a.txt /a\n' "$sum" >"$CTX/Dockerfile"
	run --separate-stderr husk build "$CTX"
	assert_status 1
	assert_one_error_line
	assert_stderr_contains '--checksum: "a.txt" is not an http or https URL'
}

@test "build-add: an HTTP error fails in one line naming the URL and the status" {
	printf 'FROM basic\nADD %s /f\n' "$URL/$D/missing.txt" >"$CTX/Dockerfile"
	run --separate-stderr husk build "$CTX"
	assert_status 1
	assert_one_error_line
	assert_stderr_contains "Dockerfile:2: ADD: \"$URL/$D/missing.txt\": HTTP status 404 (not found)"
	assert_tmp_empty
}

@test "build-add: the same remote content is a cache hit, changed content is not" {
	echo one >"$SRV/$D/file.txt"
	printf 'FROM basic\nADD %s /f\nRUN cat /f >/g\n' "$URL/$D/file.txt" >"$CTX/Dockerfile"
	run --separate-stderr husk build -t c "$CTX"
	assert_status 0
	[ "$(grep -c -- '--> CACHED' <<<"$output")" -eq 0 ] || fail "a cold build used the cache: $output"

	# Downloaded again, the same bytes: both steps cached, even with a new Last-Modified.
	touch -d '2001-01-01' "$SRV/$D/file.txt"
	run --separate-stderr husk build -t c "$CTX"
	assert_status 0
	[ "$(grep -c -- '--> CACHED' <<<"$output")" -eq 2 ] || fail "expected 2 cached steps: $output"

	echo two >"$SRV/$D/file.txt"
	run --separate-stderr husk build -t c "$CTX"
	assert_status 0
	[ "$(grep -c -- '--> CACHED' <<<"$output")" -eq 0 ] || fail "changed content hit the cache: $output"
	run --separate-stderr husk run --rm c cat /g
	assert_output two
	assert_tmp_empty
}

@test "build-add: hostile servers: a redirect to file://, a redirect loop, a body over the bound" {
	cat >"$BATS_TEST_TMPDIR/hostile.py" <<'PY'
import http.server, sys

class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        if self.path == "/loop":
            self.send_response(302)
            self.send_header("Location", "/loop")
            self.end_headers()
        elif self.path == "/huge":
            self.send_response(200)
            self.send_header("Content-Length", str((16 << 30) + 1))
            self.end_headers()
            self.wfile.write(b"x" * 4096)
        else:
            self.send_response(302)
            self.send_header("Location", "file:///etc/passwd")
            self.end_headers()

    def log_message(self, *args):
        pass

http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
PY
	port=$(free_port)
	start_server "hostile-$D" "$port" python3 "$BATS_TEST_TMPDIR/hostile.py" "$port"
	h=http://127.0.0.1:$port

	printf 'FROM basic\nADD %s /f\n' "$h/passwd" >"$CTX/Dockerfile"
	run --separate-stderr husk build "$CTX"
	assert_status 1
	assert_one_error_line
	assert_stderr_contains "ADD: \"$h/passwd\": redirected to \"file:///etc/passwd\": only http and https are followed"

	printf 'FROM basic\nADD %s /f\n' "$h/loop" >"$CTX/Dockerfile"
	run --separate-stderr husk build "$CTX"
	assert_status 1
	assert_one_error_line
	assert_stderr_contains "ADD: \"$h/loop\": more than 10 redirects"

	printf 'FROM basic\nADD %s /f\n' "$h/huge" >"$CTX/Dockerfile"
	run --separate-stderr husk build "$CTX"
	assert_status 1
	assert_one_error_line
	assert_stderr_contains "ADD: \"$h/huge\": larger than 17179869184 bytes"
	assert_tmp_empty
	kill "$(cat "$BATS_FILE_TMPDIR/hostile-$D.pid")"
}

@test "build-add: Git, other schemes and URLs mixed with local files are refused in one line" {
	echo remote >"$SRV/$D/file.txt"
	for line in "ADD git@github.com:moby/moby.git /src" "ADD https://example.com/r.git /src" \
		"ADD ftp://127.0.0.1/x /x" "ADD $URL/$D/file.txt a.txt /d/"; do
		printf 'FROM basic\n%s\n' "$line" >"$CTX/Dockerfile"
		run --separate-stderr husk build "$CTX"
		assert_status 1
		assert_one_error_line
	done
	assert_stderr_contains '"a.txt": URLs and local sources in one ADD: not supported yet'
	printf 'FROM basic\nADD git@github.com:moby/moby.git /src\n' >"$CTX/Dockerfile"
	run --separate-stderr husk build "$CTX"
	assert_stderr_contains '"git@github.com:moby/moby.git": Git sources: not supported yet'
}
