#!/usr/bin/env bats
# husk build: Dockerfiles to images, the step cache, build arguments, stages,
# .dockerignore, bad input.  Runs as root, with a subuid range and without.

bats_require_minimum_version 1.5.0
load helpers

setup_file() {
	ensure_images
}

setup() {
	new_store
	pull basic latest
	CTX=$BATS_TEST_TMPDIR/ctx
	mkdir -p "$CTX/src/sub"
	echo alpha >"$CTX/a.txt"
	echo 'int x;' >"$CTX/src/x.c"
	echo 'int y;' >"$CTX/src/sub/y.c"
}

teardown() {
	remove_store "$STORE"
}

# A member of the image's config: cfg IMAGE PYTHON-EXPR (on c, the inspect
# object's "Config").
cfg() {
	husk inspect "$1" | python3 -c '
import json, sys
c = json.load(sys.stdin)[0]["Config"]
print(json.dumps(eval(sys.argv[1]), sort_keys=True))' "$2"
}

@test "build: every metadata instruction lands in the config, RUN and COPY in layers" {
	cat >"$CTX/Dockerfile" <<'EOF'
FROM basic
ARG WHO=world
ENV GREETING="hello ${WHO}" OTHER=x
LABEL org.example.a="1" b=two
WORKDIR /app
COPY a.txt src ./
RUN echo "$GREETING from RUN" >/app/run.txt && rm /data/owned && mkdir -p /made/by/run
USER 1000:1000
EXPOSE 8080 53/udp
VOLUME ["/data", "/cache"]
STOPSIGNAL SIGINT
HEALTHCHECK --interval=5s --retries=2 CMD test -e /app/run.txt
SHELL ["/bin/sh", "-ec"]
ONBUILD RUN echo triggered
CMD cat /app/run.txt
EOF
	run --separate-stderr husk build -t app "$CTX"
	assert_status 0
	assert_output_contains "STEP 15/15: CMD cat /app/run.txt"
	assert_output_contains "Successfully tagged localhost/app:latest"
	[[ "${lines[-1]}" == sha256:* ]] || fail "last line is not the ID: ${lines[-1]}"

	run --separate-stderr cfg app 'c["Env"][-2:]'
	assert_output '["GREETING=hello world", "OTHER=x"]'
	run --separate-stderr cfg app '[c["Labels"], c["WorkingDir"], c["User"], c["StopSignal"]]'
	assert_output '[{"b": "two", "org.example.a": "1"}, "/app", "1000:1000", "SIGINT"]'
	run --separate-stderr cfg app '[sorted(c["ExposedPorts"]), sorted(c["Volumes"])]'
	assert_output '[["53/udp", "8080/tcp"], ["/cache", "/data"]]'
	run --separate-stderr cfg app '[c["Healthcheck"], c["Shell"], c["OnBuild"], c["Cmd"]]'
	assert_output '[{"Interval": 5000000000, "Retries": 2, "Test": ["CMD-SHELL", "test -e /app/run.txt"]}, ["/bin/sh", "-ec"], ["RUN echo triggered"], ["/bin/sh", "-ec", "cat /app/run.txt"]]'

	# The CMD runs with the SHELL the Dockerfile set; the files are there.
	run --separate-stderr husk run --rm -u 0 app
	assert_status 0
	assert_output "hello world from RUN"
	run --separate-stderr husk run --rm -u 0 app sh -c 'cat /app/a.txt /app/x.c /app/sub/y.c; ls -d /made/by/run; cat /data/owned 2>&1 || echo gone'
	assert_output "alpha
int x;
int y;
/made/by/run
cat: can't open '/data/owned': No such file or directory
gone"
	# Three layers on the base's one (WORKDIR /app's, which the image lacked; COPY's; RUN's),
	# in the rootfs and the history.
	n=$(husk inspect app | python3 -c 'import json,sys; print(len(json.load(sys.stdin)[0]["RootFS"]["diff_ids"]))')
	[ "$n" -eq 4 ] || fail "expected 4 layers, got $n"
	run --separate-stderr husk history app
	assert_status 0
	assert_output_contains 'RUN /bin/sh -c echo "$GREETING from RUN"'
	assert_output_contains 'COPY a.txt src ./'
}

@test "build: a second build is all cache; a touched file still hits; a changed one reruns what follows" {
	printf 'FROM basic\nCOPY a.txt /a.txt\nRUN cat /a.txt >/b.txt\nCOPY src /src\n' >"$CTX/Dockerfile"
	run --separate-stderr husk build -t c1 "$CTX"
	assert_status 0
	first=${lines[-1]}
	[ "$(grep -c -- '--> CACHED' <<<"$output")" -eq 0 ] || fail "a cold build used the cache: $output"

	run --separate-stderr husk build -t c1 "$CTX"
	assert_status 0
	[ "$(grep -c -- '--> CACHED' <<<"$output")" -eq 3 ] || fail "expected 3 cached steps: $output"

	touch -d '2001-01-01' "$CTX/a.txt"
	run --separate-stderr husk build -t c1 "$CTX"
	[ "$(grep -c -- '--> CACHED' <<<"$output")" -eq 3 ] || fail "a touched file missed: $output"

	echo changed >"$CTX/a.txt"
	run --separate-stderr husk build -t c1 "$CTX"
	assert_status 0
	# COPY a.txt and the RUN after it run again; COPY src is keyed on its parent, so it too.
	[ "$(grep -c -- '--> CACHED' <<<"$output")" -eq 0 ] || fail "expected no cache hit: $output"
	run --separate-stderr husk run --rm c1 cat /b.txt
	assert_output "changed"

	run --separate-stderr husk build --no-cache -q -t c1 "$CTX"
	assert_status 0
	[ "${#lines[@]}" -eq 1 ] && [[ "$output" == sha256:* ]] || fail "-q: expected only the ID: $output"
}

@test "build: --build-arg, global ARGs in FROM, and no build argument value in the history" {
	cat >"$CTX/Dockerfile" <<'EOF'
ARG BASE=nosuch
FROM ${BASE}
ARG TOKEN
ARG MODE=default
RUN echo "$TOKEN $MODE" >/args.txt
EOF
	run --separate-stderr husk build --build-arg BASE=basic --build-arg TOKEN=s3cr3t-value \
		--build-arg UNUSED=1 -t args "$CTX"
	assert_status 0
	assert_output_contains 'warning: build argument "UNUSED" was not used'
	run --separate-stderr husk run --rm args cat /args.txt
	assert_output "s3cr3t-value default"
	run --separate-stderr husk history --no-trunc args
	[[ "$output" != *s3cr3t-value* ]] || fail "the build argument's value is in the history: $output"
	husk inspect args >"$BATS_TEST_TMPDIR/inspect.json"
	! grep -q s3cr3t-value "$BATS_TEST_TMPDIR/inspect.json" || fail "the value is in the config"

	run --separate-stderr husk build -t args2 "$CTX"
	assert_status 1
	assert_one_error_line
	assert_stderr_contains 'FROM nosuch'
}

@test "build: --target builds the stages it needs, never the others" {
	cat >"$CTX/Dockerfile" <<'EOF'
FROM basic AS base
RUN echo base >/base.txt

FROM basic AS broken
RUN false

FROM base AS final
RUN cat /base.txt >/final.txt
EOF
	run --separate-stderr husk build -t staged "$CTX"
	assert_status 0
	[[ "$output" != *"RUN false"* ]] || fail "the unused stage ran: $output"
	run --separate-stderr husk run --rm staged cat /final.txt
	assert_output "base"

	run --separate-stderr husk build --target base -t onlybase "$CTX"
	assert_status 0
	[[ "$output" != *final.txt* ]] || fail "the target's later stage ran: $output"

	run --separate-stderr husk build --target broken -t b "$CTX"
	assert_status 1
	assert_one_error_line
	assert_stderr_contains 'Dockerfile:5: RUN: ["/bin/sh","-c","false"]: exited with status 1'
	run --separate-stderr husk inspect localhost/b
	assert_status 1
}

@test "build: .dockerignore keeps files out, exceptions bring them back" {
	mkdir -p "$CTX/secret" "$CTX/docs"
	echo key >"$CTX/secret/key"
	echo readme >"$CTX/docs/README.md"
	echo keep >"$CTX/docs/KEEP.md"
	printf 'secret\n**/*.md\n!docs/KEEP.md\n' >"$CTX/.dockerignore"
	printf 'FROM basic\nCOPY . /ctx/\n' >"$CTX/Dockerfile"
	run --separate-stderr husk build -t ign "$CTX"
	assert_status 0
	run --separate-stderr husk run --rm ign sh -c 'cd /ctx && find . -type f | sort'
	assert_output "./.dockerignore
./Dockerfile
./a.txt
./docs/KEEP.md
./src/sub/y.c
./src/x.c"

	printf 'FROM basic\nCOPY secret/key /k\n' >"$CTX/Dockerfile"
	run --separate-stderr husk build -t ign2 "$CTX"
	assert_status 1
	assert_one_error_line
	assert_stderr_contains 'Dockerfile:2: COPY: source "secret/key": not found in the build context or excluded by .dockerignore'
}

@test "build: a hostile context cannot reach outside it" {
	mkdir -p "$CTX/links"
	ln -s /etc/shadow "$CTX/links/shadow"
	ln -s /etc/shadow "$CTX/shadow"
	ln -s / "$CTX/rootlink"
	ln -s a.txt "$CTX/alink"
	# A link below a source directory is copied as a link; a source that is a link is followed
	# inside the context only (BuildKit follows it; / is the context's root).
	printf 'FROM basic\nCOPY links /links\nCOPY alink /alink\n' >"$CTX/Dockerfile"
	run --separate-stderr husk build -t h1 "$CTX"
	assert_status 0
	run --separate-stderr husk run --rm h1 sh -c 'readlink /links/shadow; cat /alink'
	assert_output "/etc/shadow
alpha"

	for src in shadow ../x /../../etc/passwd rootlink/etc/passwd; do
		printf 'FROM basic\nCOPY %s /x\n' "$src" >"$CTX/Dockerfile"
		run --separate-stderr husk build -t h2 "$CTX"
		assert_status 1
		assert_one_error_line
	done
	assert_stderr_contains 'source "rootlink/etc/passwd": not found in the build context'
}

@test "build: bad Dockerfiles get one line naming the file, the line and the reason" {
	printf 'FROM basic\nFROBNICATE x\n' >"$CTX/Dockerfile"
	run --separate-stderr husk build "$CTX"
	assert_status 1
	assert_one_error_line
	assert_stderr_contains 'Dockerfile:2:'
	before=$(store_snapshot)
	printf 'FROM basic\nRUN echo partial >/p\nRUN exit 3\n' >"$CTX/Dockerfile"
	run --separate-stderr husk build -t bad "$CTX"
	assert_status 1
	assert_one_error_line
	assert_stderr_contains 'Dockerfile:3: RUN: ["/bin/sh","-c","exit 3"]: exited with status 3'
	run --separate-stderr husk inspect localhost/bad
	assert_status 1
	run --separate-stderr husk ps -aq
	[ -z "$output" ] || fail "a RUN step's container was left: $output"
	# The step that worked is cached: the next build does not run it again.
	printf 'FROM basic\nRUN echo partial >/p\nRUN true\n' >"$CTX/Dockerfile"
	run --separate-stderr husk build -t good "$CTX"
	assert_status 0
	[ "$(grep -c -- '--> CACHED' <<<"$output")" -eq 1 ] || fail "the good step was not cached: $output"
}

@test "build: --timestamp makes the same image twice; --iidfile" {
	printf 'FROM basic\nCOPY a.txt /a\nRUN echo x >/x\nCMD ["cat","/a"]\n' >"$CTX/Dockerfile"
	run --separate-stderr husk build --timestamp 1000000000 --iidfile "$BATS_TEST_TMPDIR/iid" -q "$CTX"
	assert_status 0
	one=$output
	[ "$(cat "$BATS_TEST_TMPDIR/iid")" = "$one" ] || fail "iidfile: $(cat "$BATS_TEST_TMPDIR/iid")"
	touch "$CTX/a.txt"
	run --separate-stderr env SOURCE_DATE_EPOCH=1000000000 "$HUSK" --root "$STORE" build --no-cache -q "$CTX"
	assert_status 0
	[ "$output" = "$one" ] || fail "two reproducible builds differ: $one vs $output"
	run --separate-stderr husk inspect "$one"
	assert_output_contains '"Created": "2001-09-09T01:46:40'
}

@test "build: COPY --chown and --chmod; without a subordinate range a clear error" {
	printf 'FROM basic\nCOPY --chown=1234:5678 --chmod=0640 a.txt /data/\n' >"$CTX/Dockerfile"
	run --separate-stderr husk build -t own "$CTX"
	if [ "$(test_mode)" = nosub ]; then
		assert_status 1
		assert_one_error_line
		assert_stderr_contains 'is not mapped in the store'"'"'s user namespace'
		return 0
	fi
	assert_status 0
	run --separate-stderr husk run --rm own stat -c '%u:%g %a' /data/a.txt
	assert_output "1234:5678 640"
}

@test "build: the image saves and loads back" {
	printf 'FROM basic\nRUN echo saved >/saved\n' >"$CTX/Dockerfile"
	run --separate-stderr husk build -t tosave "$CTX"
	assert_status 0
	husk save -o "$BATS_TEST_TMPDIR/a.tar" tosave
	husk rmi tosave
	run --separate-stderr husk load -i "$BATS_TEST_TMPDIR/a.tar"
	assert_status 0
	run --separate-stderr husk run --rm tosave cat /saved
	assert_output "saved"
}

@test "build: COPY --from a stage (by name and number) and from an image; owners kept" {
	cat >"$CTX/Dockerfile" <<'EOF2'
FROM basic AS builder
RUN mkdir -p /out/dir && echo artifact >/out/artifact && echo deep >/out/dir/deep && ln -s artifact /out/link

FROM basic
COPY --from=builder /out/artifact /usr/local/bin/
COPY --from=0 /out/dir /copied/
COPY --from=builder /out/link /links/
COPY --from=localhost/basic:latest /data/owned /from-image
EOF2
	run --separate-stderr husk build -t ms "$CTX"
	assert_status 0
	# The image's owner of /data/owned: 1234:1234, or 0:0 where a store without a range
	# could not give it that owner.
	owner=$(husk run --rm basic stat -c "%u:%g" /data/owned)
	[ "$(test_mode)" = nosub ] || [ "$owner" = 1234:1234 ] || fail "basic's /data/owned: $owner"
	run --separate-stderr husk run --rm ms sh -c 'cat /usr/local/bin/artifact /copied/deep; cat /links/link; stat -c "%u:%g" /from-image'
	assert_status 0
	assert_output "artifact
deep
artifact
$owner"
	run --separate-stderr husk build -t ms "$CTX"
	[ "$(grep -c -- '--> CACHED' <<<"$output")" -eq 5 ] || fail "expected 5 cached steps: $output"

	printf 'FROM basic\nCOPY --from=nosuchstage /x /x\n' >"$CTX/Dockerfile"
	run --separate-stderr husk build --pull=never "$CTX"
	assert_status 1
	assert_one_error_line
	assert_stderr_contains 'Dockerfile:2: COPY: --from=nosuchstage'
}

@test "build: RUN --mount=type=secret: the step sees it, no blob, config or history has it" {
	printf 's3cr3t-%s\n' "$RANDOM$RANDOM" >"$BATS_TEST_TMPDIR/secret"
	secret=$(cat "$BATS_TEST_TMPDIR/secret")
	cat >"$CTX/Dockerfile" <<'EOF2'
FROM basic
RUN --mount=type=secret,id=tok cp /run/secrets/tok /tmp/seen && wc -c </run/secrets/tok >/size
RUN --mount=type=secret,id=tok,target=/etc/app/tok.conf,required=true cat /etc/app/tok.conf >/dev/null
RUN --mount=type=secret,id=absent test ! -e /run/secrets/absent
EOF2
	run --separate-stderr husk build --secret "id=tok,src=$BATS_TEST_TMPDIR/secret" -t sec "$CTX"
	assert_status 0
	# The step saw it (it copied it, which the image then keeps: that is the Dockerfile's doing).
	run --separate-stderr husk run --rm sec sh -c 'cat /tmp/seen; cat /size; ls -a /run /etc/app 2>&1'
	assert_output "$secret
$(( ${#secret} + 1 ))
ls: /run: No such file or directory
ls: /etc/app: No such file or directory"
	# The search below finds it where it is: in the layer of the step that copied it.
	found=0
	for b in "$STORE"/blobs/sha256/*; do
		gzip -t "$b" 2>/dev/null && gzip -dc "$b" | grep -qa "$secret" && found=1
	done
	[ "$found" = 1 ] || fail "the search does not find the copied secret"
	# Without the cp, nothing holds it: build a second image and search the whole store but
	# that image's copy.
	sed -i 's|cp /run/secrets/tok /tmp/seen \&\& ||' "$CTX/Dockerfile"
	husk rmi sec >/dev/null
	husk image prune -f >/dev/null
	run --separate-stderr husk build --secret "id=tok,src=$BATS_TEST_TMPDIR/secret" -t sec2 "$CTX"
	assert_status 0
	if grep -rqa "$secret" "$STORE"; then
		fail "the secret is in the store: $(grep -rla "$secret" "$STORE")"
	fi
	for b in "$STORE"/blobs/sha256/*; do
		if gzip -t "$b" 2>/dev/null && gzip -dc "$b" | grep -qa "$secret"; then
			fail "the secret is in the layer blob $b"
		fi
	done

	printf 'FROM basic\nRUN --mount=type=secret,id=nope,required=true true\n' >"$CTX/Dockerfile"
	run --separate-stderr husk build "$CTX"
	assert_status 1
	assert_one_error_line
	assert_stderr_contains 'secret "nope": required, and no --secret gives it'
}

@test "build: RUN --mount=type=cache keeps its files between builds; tmpfs is never in a layer" {
	cat >"$CTX/Dockerfile" <<'EOF2'
FROM basic
RUN --mount=type=cache,target=/var/cache/app --mount=type=tmpfs,target=/scratch \
    echo run >>/var/cache/app/log && echo t >/scratch/t && wc -l </var/cache/app/log >/runs
EOF2
	run --separate-stderr husk build -t cm "$CTX"
	assert_status 0
	run --separate-stderr husk build --no-cache -t cm "$CTX"
	assert_status 0
	run --separate-stderr husk run --rm cm sh -c 'cat /runs; ls /var/cache/app /scratch 2>&1'
	assert_output "2
ls: /var/cache/app: No such file or directory
ls: /scratch: No such file or directory"
}

@test "build: ADD extracts local archives (by their content), copies other files; hostile archives stay inside" {
	mkdir -p "$BATS_TEST_TMPDIR/t/pkg/bin"
	echo tool >"$BATS_TEST_TMPDIR/t/pkg/bin/tool"
	tar -C "$BATS_TEST_TMPDIR/t" -czf "$CTX/pkg.tgz.renamed" pkg
	tar -C "$BATS_TEST_TMPDIR/t" -cf "$CTX/plain.tar" pkg
	python3 - "$CTX/evil.tar" <<'PY'
import io, sys, tarfile
with tarfile.open(sys.argv[1], "w") as t:
    for name in ("../../escaped", "/abs-escaped", "ok"):
        data = b"x\n"
        info = tarfile.TarInfo(name)
        info.size = len(data)
        t.addfile(info, io.BytesIO(data))
PY
	cat >"$CTX/Dockerfile" <<'EOF2'
FROM basic
ADD pkg.tgz.renamed /opt/
ADD plain.tar /plain
ADD a.txt /added.txt
EOF2
	run --separate-stderr husk build -t add "$CTX"
	assert_status 0
	run --separate-stderr husk run --rm add sh -c 'cat /opt/pkg/bin/tool /plain/pkg/bin/tool /added.txt'
	assert_output "tool
tool
alpha"
	# An archive that climbs out is refused, with the unpacker's own rule and message.
	printf 'FROM basic
ADD evil.tar /evil/
' >"$CTX/Dockerfile"
	run --separate-stderr husk build -t evil "$CTX"
	assert_status 1
	assert_one_error_line
	assert_stderr_contains 'Dockerfile:2: ADD: extract "evil.tar": entry "../../escaped"'
	[ ! -e "$BATS_TEST_TMPDIR/escaped" ] && [ ! -e /abs-escaped ] || fail "something escaped"
	# Git sources are still refused (URLs are downloaded: build-add.bats).
	printf 'FROM basic\nADD https://example.com/x.git /x\n' >"$CTX/Dockerfile"
	run --separate-stderr husk build "$CTX"
	assert_status 1
	assert_one_error_line
	assert_stderr_contains 'not supported yet'
}

@test "build: a relative WORKDIR is relative to the one before (a use-after-free once)" {
	printf 'FROM basic\nWORKDIR /a\nWORKDIR b\nWORKDIR ../c/./d\nRUN pwd >/pwd\n' >"$CTX/Dockerfile"
	run --separate-stderr husk build -t wd "$CTX"
	assert_status 0
	run --separate-stderr cfg wd 'c["WorkingDir"]'
	assert_output '"/a/c/d"'
	run --separate-stderr husk run --rm wd cat /pwd
	assert_output "/a/c/d"
}

@test "build: a base image's ONBUILD triggers run in its children only" {
	printf 'FROM basic\nONBUILD RUN echo triggered >>/trig\nONBUILD COPY a.txt /from-trigger\n' >"$CTX/Dockerfile"
	run --separate-stderr husk build -t onb-base "$CTX"
	assert_status 0
	printf 'FROM onb-base\nRUN cat /trig /from-trigger >/seen\n' >"$CTX/Dockerfile"
	run --separate-stderr husk build -t onb-child "$CTX"
	assert_status 0
	assert_output_contains "ONBUILD RUN echo triggered >>/trig"
	run --separate-stderr husk run --rm onb-child cat /seen
	assert_output "triggered
alpha"
	run --separate-stderr cfg onb-child 'c.get("OnBuild")'
	assert_output "null"
	printf 'FROM onb-child\nRUN cat /trig\n' >"$CTX/Dockerfile"
	run --separate-stderr husk build -t onb-grandchild "$CTX"
	assert_status 0
	run --separate-stderr husk run --rm onb-grandchild cat /trig
	assert_output "triggered"
	printf 'FROM basic\nONBUILD RUN exit 7\n' >"$CTX/Dockerfile"
	husk build -q -t onb-bad "$CTX" >/dev/null
	printf 'FROM onb-bad\n' >"$CTX/Dockerfile"
	run --separate-stderr husk build "$CTX"
	assert_status 1
	assert_one_error_line
	assert_stderr_contains 'Dockerfile:1: FROM: ONBUILD RUN exit 7'
}

@test "build: independent stages are built in parallel (and still with --no-cache)" {
	cat >"$CTX/Dockerfile" <<'EOF2'
FROM basic AS one
RUN echo one >/one

FROM basic AS two
RUN echo two >/two

FROM basic
COPY --from=one /one /one
COPY --from=two /two /two
EOF2
	run --separate-stderr husk build --no-cache -t par "$CTX"
	assert_status 0
	[ "$(grep -c -- '--> Built in parallel' <<<"$output")" -eq 2 ] ||
		fail "expected both independent stages built in parallel: $output"
	run --separate-stderr husk run --rm par cat /one /two
	assert_output "one
two"
	# A failing independent stage reports in order, with its output.
	printf 'FROM basic AS a\nRUN echo from-a && exit 4\nFROM basic AS b\nRUN true\nFROM basic\nCOPY --from=a /x /x\nCOPY --from=b /y /y\n' >"$CTX/Dockerfile"
	run --separate-stderr husk build "$CTX"
	assert_status 1
	assert_output_contains "from-a"
	assert_stderr_contains 'Dockerfile:2: RUN: ["/bin/sh","-c","echo from-a && exit 4"]: exited with status 4'
}

@test "build: a step that ran again and made something else has the steps after it run again" {
	printf 'FROM basic\nRUN cat /proc/sys/kernel/random/uuid >/t\nRUN cat /t >/u\n' >"$CTX/Dockerfile"
	run --separate-stderr husk build -t again "$CTX"
	assert_status 0
	# Lose the first RUN's cache entry (as if it had never been cached): it runs again and
	# writes another uuid; the second RUN's entry was made on the old one and must not be used.
	chain=$(husk inspect again | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["Layers"][1]["ChainID"])')
	entry=$(grep -l "\"chain_id\":\"$chain\"" "$STORE"/build-cache/*.json | head -1)
	[ -n "$entry" ] || fail "no cache entry names $chain"
	rm "$entry"
	run --separate-stderr husk build -t again "$CTX"
	assert_status 0
	[ "$(grep -c -- '--> CACHED' <<<"$output")" -eq 0 ] || fail "a step used a layer made on another: $output"
	run --separate-stderr husk run --rm again sh -c 'cmp /t /u && echo same'
	assert_output "same"
}

@test "build: rmi keeps the build cache; builder prune and image prune clear it" {
	printf 'FROM basic\nRUN echo one >/one\nCOPY a.txt /a\n' >"$CTX/Dockerfile"
	run --separate-stderr husk build -t cached "$CTX"
	assert_status 0
	husk rmi cached >/dev/null
	run --separate-stderr husk build -t cached "$CTX"
	assert_status 0
	[ "$(grep -c -- '--> CACHED' <<<"$output")" -eq 2 ] || fail "rmi took the cache: $output"
	husk rmi cached >/dev/null
	run --separate-stderr husk builder prune -f
	assert_status 0
	assert_output_contains "Total reclaimed space:"
	[ ! -e "$STORE/build-cache" ] || fail "build-cache/ is still there"
	run --separate-stderr husk build -t cached "$CTX"
	assert_status 0
	[ "$(grep -c -- '--> CACHED' <<<"$output")" -eq 0 ] || fail "builder prune left the cache: $output"
	run --separate-stderr husk image prune -a -f
	assert_status 0
	run --separate-stderr husk images -q
	[ -z "$output" ] || fail "image prune -a left images: $output"
	# Nothing is left in the store but its own files.
	[ -z "$(ls "$STORE/layers")" ] || fail "layers left: $(ls "$STORE/layers")"
}

@test "build: builder prune's reclaimed space is what the store lost on disk (layers, blobs, cache mounts, entries)" {
	printf 'FROM basic\nRUN head -c 5000000 /dev/urandom >/big\nRUN --mount=type=cache,target=/c head -c 3000000 /dev/urandom >/c/f && echo hi >/small\n' >"$CTX/Dockerfile"
	run --separate-stderr husk build -q -t big "$CTX"
	assert_status 0
	husk rmi big >/dev/null
	# Space as du counts it (st_blocks), in bytes.
	local before after
	before=$(du -sB1 "$STORE" 2>/dev/null | cut -f1)
	run --separate-stderr husk builder prune
	assert_status 0
	after=$(du -sB1 "$STORE" 2>/dev/null | cut -f1)
	run python3 -c '
import re, sys
m = re.fullmatch(r"Total reclaimed space: ([0-9.]+)(B|kB|MB|GB)", sys.argv[1].splitlines()[-1])
said = float(m.group(1)) * {"B": 1, "kB": 1e3, "MB": 1e6, "GB": 1e9}[m.group(2)]
went = int(sys.argv[2]) - int(sys.argv[3])
# The figure has 3 significant digits; images.json and the like are not counted.
print("ok" if went > 11e6 and abs(said - went) <= 0.01 * went + 64e3 else "said %d, du went down %d" % (said, went))' "$output" "$before" "$after"
	assert_output "ok"
	# Nothing left to free: 0B.
	run --separate-stderr husk builder prune
	assert_status 0
	assert_output "Total reclaimed space: 0B"
}

@test "build: RUN steps run from husk's sealed copy (CVE-2019-5736), and the output is not repeated" {
	printf 'FROM basic\nRUN sleep 3\n' >"$CTX/Dockerfile"
	local tag="sealed-run-$$-$RANDOM" exe="" p
	husk build --no-cache -t "$tag" "$CTX" >"$BATS_TEST_TMPDIR/out" 2>&1 &
	local pid=$!
	for _ in $(seq 1 50); do
		sleep 0.1
		for p in $(pgrep -f -- "-t $tag"); do
			exe=$(readlink "/proc/$p/exe" 2>/dev/null) || true
			[[ "$exe" == /memfd:* ]] && break 2
		done
	done
	wait "$pid"
	[[ "$exe" == /memfd:husk* ]] || fail "husk ran the RUN step from $exe" "$(cat "$BATS_TEST_TMPDIR/out")"
	grep -c 'STEP 1/2' "$BATS_TEST_TMPDIR/out" | grep -qx 1 || fail "a step printed twice:" "$(cat "$BATS_TEST_TMPDIR/out")"
}

@test "build: what a new user tried (a bad --target, -f - with RUN, a cached rebuild's ID, bad input)" {
	printf 'FROM basic\nRUN echo one >/one\n' >"$CTX/Dockerfile"
	run --separate-stderr husk build --target nosuch "$CTX"
	assert_status 1
	assert_one_error_line
	assert_stderr_contains '--target "nosuch": no such stage in Dockerfile'
	# A Dockerfile on stdin with a RUN (husk seals itself before reading it).
	run --separate-stderr husk build -q -f - "$CTX" <"$CTX/Dockerfile"
	assert_status 0
	# A build whose steps are all cached gives the same image ID, as docker's does.
	one=$(husk build -q "$CTX")
	two=$(husk build -q "$CTX")
	[ "$one" = "$two" ] || fail "a cached rebuild changed the ID: $one $two"
	run --separate-stderr husk build -
	assert_status 1
	assert_stderr_contains 'build context "-": a context (or Dockerfile) from stdin is not supported'
	run --separate-stderr husk build --secret "id=s,src=$BATS_TEST_TMPDIR/none" "$CTX"
	assert_status 1
	assert_one_error_line
	assert_stderr_contains "--secret \"id=s,src=$BATS_TEST_TMPDIR/none\""
	printf 'FROM basic\nEXPOSE notaport\n' >"$CTX/Dockerfile"
	run --separate-stderr husk build "$CTX"
	assert_status 1
	assert_stderr_contains 'Dockerfile:2: EXPOSE: "notaport": not PORT[-PORT][/tcp|udp|sctp]'
	printf 'FROM basic\nUSER nosuchuser\nRUN true\n' >"$CTX/Dockerfile"
	run --separate-stderr husk build "$CTX"
	assert_status 1
	assert_stderr_contains 'no such user'
	printf 'FROM basic AS b\nRUN true\nFROM basic\nCOPY --from=b /not/there /x\n' >"$CTX/Dockerfile"
	run --separate-stderr husk build "$CTX"
	assert_status 1
	assert_stderr_contains 'source "/not/there": not found in "b" (--from)'
}

# json EXPR: EXPR (Python, over "d", the first object of husk inspect's output in $output).
json() {
	python3 -c 'import json, sys; d = json.loads(sys.stdin.read())[0]; print(eval(sys.argv[1]))' \
		"$1" <<<"$output"
}

# The manifest of IMAGE in the store, as JSON on stdout.
stored_manifest() {
	local digest
	digest=$(husk inspect "$1" | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["Digest"])')
	cat "$STORE/blobs/sha256/${digest#sha256:}"
}

@test "build: --format docker writes Docker's v2 schema 2 manifest, oci (the default) OCI's; HEALTHCHECK, SHELL, ONBUILD stay in the config" {
	cat >"$CTX/Dockerfile" <<'EOF2'
FROM basic
RUN echo built >/built
HEALTHCHECK --interval=5s CMD true
SHELL ["/bin/sh", "-ec"]
ONBUILD RUN echo triggered
EOF2
	local check='
import json, sys
m, want = json.load(sys.stdin), sys.argv[1]
mt = {"docker": ("application/vnd.docker.distribution.manifest.v2+json",
                 "application/vnd.docker.container.image.v1+json",
                 "application/vnd.docker.image.rootfs.diff.tar.gzip"),
      "oci": ("application/vnd.oci.image.manifest.v1+json",
              "application/vnd.oci.image.config.v1+json",
              "application/vnd.oci.image.layer.v1.tar+gzip")}[want]
got = (m["mediaType"], m["config"]["mediaType"], sorted({l["mediaType"] for l in m["layers"]}))
print("ok" if got == (mt[0], mt[1], [mt[2]]) and m["schemaVersion"] == 2 and len(m["layers"]) == 2
      else "bad %s" % (got,))'
	run --separate-stderr husk build -q --format docker -t fmt-docker "$CTX"
	assert_status 0
	local id_docker=$output
	got=$(stored_manifest fmt-docker | python3 -c "$check" docker)
	[ "$got" = ok ] || fail "fmt-docker's manifest: $got"
	run --separate-stderr husk inspect fmt-docker
	[ "$(json 'd["ManifestType"]')" = application/vnd.docker.distribution.manifest.v2+json ] || fail "ManifestType: $output"
	[ "$(json 'sorted({l["MediaType"] for l in d["Layers"]})')" = "['application/vnd.docker.image.rootfs.diff.tar.gzip']" ] || fail "layers: $output"
	[ "$(json 'd["Config"]["Healthcheck"]["Test"]')" = "['CMD-SHELL', 'true']" ] || fail "Healthcheck: $output"
	[ "$(json 'd["Config"]["Shell"]')" = "['/bin/sh', '-ec']" ] || fail "Shell: $output"
	[ "$(json 'd["Config"]["OnBuild"]')" = "['RUN echo triggered']" ] || fail "OnBuild: $output"

	# The default, and --format oci: the same config (the same ID), OCI's manifest.
	run --separate-stderr husk build -q -t fmt-oci "$CTX"
	assert_status 0
	[ "$output" = "$id_docker" ] || fail "the config differs: $output, $id_docker"
	got=$(stored_manifest fmt-oci | python3 -c "$check" oci)
	[ "$got" = ok ] || fail "fmt-oci's manifest: $got"
	run --separate-stderr husk build -q --format oci -t fmt-oci "$CTX"
	assert_status 0
	run --separate-stderr husk inspect fmt-oci
	[ "$(json 'd["ManifestType"]')" = application/vnd.oci.image.manifest.v1+json ] || fail "ManifestType: $output"
	[ "$(json 'd["Config"]["Healthcheck"]["Test"]')" = "['CMD-SHELL', 'true']" ] || fail "Healthcheck: $output"
	[ "$(json 'd["Config"]["OnBuild"]')" = "['RUN echo triggered']" ] || fail "OnBuild: $output"

	# Either way the image saves and loads again, and runs.
	run --separate-stderr husk build -q --format docker -t fmt-docker "$CTX"
	assert_status 0
	run --separate-stderr husk save -o "$BATS_TEST_TMPDIR/fmt.tar" fmt-docker
	assert_status 0
	run --separate-stderr husk rmi fmt-docker fmt-oci
	assert_status 0
	run --separate-stderr husk load -i "$BATS_TEST_TMPDIR/fmt.tar"
	assert_status 0
	run --separate-stderr husk run --rm fmt-docker cat /built
	assert_output built

	run --separate-stderr husk build --format v2s1 "$CTX"
	assert_status 125
	assert_stderr_contains '--format "v2s1": expected oci or docker'
}

@test "build: a bad -t (125) or an --iidfile that cannot be written (1) fails before any step, and records nothing" {
	printf 'FROM basic\nRUN echo ran >/ran\n' >"$CTX/Dockerfile"
	local before
	before=$(store_snapshot)
	run --separate-stderr husk build -t ok -t UPPER "$CTX"
	assert_status 125
	assert_one_error_line
	assert_stderr_contains 'build: -t: invalid reference "UPPER"'
	[ -z "$output" ] || fail "a step ran: $output"
	assert_store_unchanged "$before"
	run --separate-stderr husk build -t iidtest --iidfile "$BATS_TEST_TMPDIR/nonexist/f" "$CTX"
	assert_status 1
	assert_one_error_line
	assert_stderr_contains "build: --iidfile \"$BATS_TEST_TMPDIR/nonexist/f\""
	[ -z "$output" ] || fail "a step ran: $output"
	assert_store_unchanged "$before"
	run --separate-stderr husk inspect iidtest
	assert_status 1
	# As docker's: an old FILE is removed first, so a failed build leaves none; a good one
	# writes the ID, and no temporary file stays beside it.
	mkdir "$BATS_TEST_TMPDIR/iid"
	echo stale >"$BATS_TEST_TMPDIR/iid/f"
	printf 'FROM basic\nRUN exit 3\n' >"$CTX/Dockerfile"
	run --separate-stderr husk build --iidfile "$BATS_TEST_TMPDIR/iid/f" "$CTX"
	assert_status 1
	[ -z "$(ls -A "$BATS_TEST_TMPDIR/iid")" ] || fail "left: $(ls -A "$BATS_TEST_TMPDIR/iid")"
	printf 'FROM basic\nRUN echo ran >/ran\n' >"$CTX/Dockerfile"
	run --separate-stderr husk build -q -t iidtest --iidfile "$BATS_TEST_TMPDIR/iid/f" "$CTX"
	assert_status 0
	[ "$(cat "$BATS_TEST_TMPDIR/iid/f")" = "$output" ] || fail "iidfile: $(cat "$BATS_TEST_TMPDIR/iid/f")"
	[ "$(ls -A "$BATS_TEST_TMPDIR/iid")" = f ] || fail "left: $(ls -A "$BATS_TEST_TMPDIR/iid")"
}

@test "build: podman loads a --format docker image husk saved (root)" {
	[ "$(test_mode)" = root ] || skip "podman load runs as root here"
	command -v podman >/dev/null || skip "podman is not installed"
	printf 'FROM basic\nRUN echo built >/built\nHEALTHCHECK CMD true\n' >"$CTX/Dockerfile"
	run --separate-stderr husk build -q --format docker -t fmt-pod "$CTX"
	assert_status 0
	local id=$output
	run --separate-stderr husk save -o "$BATS_TEST_TMPDIR/p.tar" fmt-pod
	assert_status 0
	# podman wants a runroot shorter than 50 characters.
	local pd
	pd=$(mktemp -d /tmp/hkpod.XXXXXX)
	run podman --root "$pd/root" --runroot "$pd/run" --storage-driver vfs load -i "$BATS_TEST_TMPDIR/p.tar"
	local st=$status out=$output
	run podman --root "$pd/root" --runroot "$pd/run" --storage-driver vfs \
		image inspect --format '{{.Id}} {{.HealthCheck.Test}}' localhost/fmt-pod:latest
	podman --root "$pd/root" --runroot "$pd/run" --storage-driver vfs rmi -a -f >/dev/null 2>&1 || true
	rm -rf "$pd"
	[ "$st" -eq 0 ] || fail "podman load: $out"
	assert_output "${id#sha256:} [CMD-SHELL true]"
}

@test "build: history --no-trunc keeps its columns aligned, as docker's table does" {
	printf 'FROM basic\nRUN echo a command line that goes well past the forty-five characters of the column >/x\nENV A=1\n' >"$CTX/Dockerfile"
	run --separate-stderr husk build -q -t hist-align "$CTX"
	assert_status 0
	local mode
	for mode in --no-trunc ""; do
		run --separate-stderr husk history $mode hist-align
		assert_status 0
		# Every column starts where its header does, after at least two spaces.
		python3 -c '
import re, sys
lines = sys.argv[1].split("\n")
head = lines[0]
starts = [head.index(h) for h in ("CREATED", "CREATED BY", "SIZE", "COMMENT")]
assert head.startswith("IMAGE"), head
for l in lines[1:]:
    for s in starts[:-1]:
        assert l[s - 2:s] == "  " and l[s] != " ", "column %d: %r" % (s, l)
    assert re.match(r"[0-9.]+[kMG]?B$", l[starts[2]:starts[3]].strip()), "size: %r" % l
    assert "RUN /bin/sh -c echo" not in l or sys.argv[2] != "--no-trunc" or \
        l[starts[1]:].startswith("RUN /bin/sh -c echo a command line that goes well past the forty-five characters of the column >/x "), l
' "$output" "$mode" || fail "misaligned ($mode):" "$output"
	done
	run --separate-stderr husk history --no-trunc hist-align
	assert_output_contains "characters of the column >/x"
}

@test "build: a localhost/ image the store lacks is an error naming it, with no pull (podman's rule)" {
	printf 'FROM localhost/nosuch:1\nRUN true\n' >"$CTX/Dockerfile"
	local pull
	for pull in "" --pull=missing --pull=always; do
		run --separate-stderr husk build $pull "$CTX"
		assert_status 1
		assert_one_error_line
		assert_stderr_contains 'Dockerfile:1: FROM localhost/nosuch:1: image "localhost/nosuch:1": not in the store (a localhost/ image is never pulled)'
		[[ "$stderr" != *Pulling* && "$stderr" != *443* ]] || fail "tried a pull: $stderr"
	done
	printf 'FROM basic\nCOPY --from=localhost/nosuch /x /x\n' >"$CTX/Dockerfile"
	run --separate-stderr husk build "$CTX"
	assert_status 1
	assert_one_error_line
	assert_stderr_contains 'image "localhost/nosuch": not in the store'
	# One the store has is used as it is, even with --pull=always.
	printf 'FROM localhost/basic:latest\nRUN echo ok >/ok\n' >"$CTX/Dockerfile"
	run --separate-stderr husk build -q --pull=always -t from-local "$CTX"
	assert_status 0
	[[ "$stderr" != *Pulling* ]] || fail "pulled a local image: $stderr"
}

@test "build: -q shows a failing RUN's own output (and the error); a step that succeeds prints nothing but the ID" {
	printf 'FROM basic\nRUN echo quiet-step-output; echo quiet-step-error >&2\nRUN echo failing-step-output; echo failing-step-error >&2; exit 3\n' >"$CTX/Dockerfile"
	run --separate-stderr husk build -q "$CTX"
	assert_status 1
	[ -z "$output" ] || fail "stdout: $output"
	assert_stderr_contains failing-step-output
	assert_stderr_contains failing-step-error
	[[ "$stderr" != *quiet-step-* ]] || fail "a successful step's output: $stderr"
	[ "$(grep -c '^husk: ' <<<"$stderr")" -eq 1 ] || fail "not one error line: $stderr"
	# Without a subordinate range the error line ends with a hint about the ids.
	[[ "${stderr##*$'\n'}" == "husk: build: Dockerfile:3: RUN"*"exited with status 3"* ]] || fail "the error is not last: $stderr"

	printf 'FROM basic\nRUN echo quiet-step-output; echo quiet-step-error >&2\n' >"$CTX/Dockerfile"
	run --separate-stderr husk build -q --no-cache "$CTX"
	assert_status 0
	[[ "$output" =~ ^sha256:[0-9a-f]{64}$ ]] || fail "-q: only the ID: $output"
	[ -z "$stderr" ] || fail "stderr: $stderr"
}

@test "build: the history keeps RUN's flags as written and each ARG with its Dockerfile default, never a given value or a secret" {
	cat >"$CTX/Dockerfile" <<'EOF2'
ARG G=global-default
FROM basic
ARG V=1
ARG TOKEN
ARG G
ARG R=${TOKEN}x
RUN --mount=type=tmpfs,target=/t --network=none echo "$V $G" >/v
RUN --mount=type=secret,id=tok cat /run/secrets/tok >/dev/null && touch /s
EOF2
	echo secret-content >"$BATS_TEST_TMPDIR/secret"
	run --separate-stderr husk build -q --build-arg TOKEN=s3cr3t-value --build-arg V=given-v \
		--secret "id=tok,src=$BATS_TEST_TMPDIR/secret" -t hist-flags "$CTX"
	assert_status 0
	run --separate-stderr husk run --rm hist-flags cat /v
	assert_output "given-v global-default"
	husk inspect hist-flags | python3 -c '
import json, sys
h = [(e.get("created_by"), bool(e.get("empty_layer"))) for e in json.load(sys.stdin)[0]["History"]][1:]
want = [("ARG V=1", True), ("ARG TOKEN", True), ("ARG G", True), ("ARG R=${TOKEN}x", True),
        ("RUN --mount=type=tmpfs,target=/t --network=none /bin/sh -c echo \"$V $G\" >/v", False),
        ("RUN --mount=type=secret,id=tok /bin/sh -c cat /run/secrets/tok >/dev/null && touch /s", False)]
assert h == want, h
' || fail "history"
	husk inspect hist-flags >"$BATS_TEST_TMPDIR/inspect.json"
	for v in s3cr3t-value given-v secret-content global-default; do
		! grep -q -- "$v" "$BATS_TEST_TMPDIR/inspect.json" || fail "\"$v\" is in the config"
	done
}

@test "build: a base image's triggers are printed once, though the build re-executes at its first RUN" {
	printf 'FROM basic\nONBUILD COPY a.txt /from-trigger\nONBUILD RUN echo triggered >>/trig\n' >"$CTX/Dockerfile"
	husk build -q -t onb-once "$CTX" >/dev/null
	printf 'FROM onb-once\nRUN true\n' >"$CTX/Dockerfile"
	run --separate-stderr husk build --no-cache --cache-explain "$CTX"
	assert_status 0
	[ "$(grep -c '^ONBUILD COPY a.txt /from-trigger$' <<<"$output")" -eq 1 ] || fail "printed again: $output"
	[ "$(grep -c '^ONBUILD RUN echo triggered >>/trig$' <<<"$output")" -eq 1 ] || fail "printed again: $output"
	[ "$(grep -c -- '^--> Cache miss: ' <<<"$output")" -eq 3 ] || fail "a reason missing or repeated: $output"
	[ "$(grep -c '^STEP ' <<<"$output")" -eq 2 ] || fail "a STEP line missing or repeated: $output"
	# Each step that ran says how long it took.
	[ "$(grep -cE -- '^--> ([0-9a-f]{64}|\(no change\)) [0-9]+\.[0-9]{3}s$' <<<"$output")" -eq 3 ] || fail "$output"
}

@test "build: a changed ARG misses only the steps that use it, as docker build" {
	printf 'FROM basic\nARG X=1\nCOPY a.txt /a\nENV NOT_X=fixed\nRUN echo run\nENV Y=$X\n' >"$CTX/Dockerfile"
	husk build -q -t argmiss "$CTX" >/dev/null
	run --separate-stderr husk build --build-arg X=2 -t argmiss "$CTX"
	assert_status 0
	# COPY does not use X: cached.  RUN sees every ARG of its stage: it runs again.
	[ "$(grep -c -- '^--> CACHED ' <<<"$output")" -eq 1 ] || fail "expected only the COPY cached: $output"
	run --separate-stderr cfg argmiss 'c["Env"]'
	assert_output_contains '"Y=2"'
	run --separate-stderr husk build -q --build-arg X=2 -t argmiss "$CTX"
	assert_status 0
	run --separate-stderr husk build --build-arg X=2 -t argmiss "$CTX"
	[ "$(grep -c -- '^--> CACHED ' <<<"$output")" -eq 2 ] || fail "a rebuild with the same value missed: $output"
}

@test "build: --secret files are read before any step: one too large or a directory stops the build first" {
	head -c 600000 /dev/zero >"$BATS_TEST_TMPDIR/big"
	printf 'FROM basic\nRUN echo first-step-ran\nRUN --mount=type=secret,id=s cat /run/secrets/s\n' >"$CTX/Dockerfile"
	run --separate-stderr husk build --secret "id=s,src=$BATS_TEST_TMPDIR/big" "$CTX"
	assert_status 1
	assert_one_error_line
	assert_stderr_contains "larger than 512000 bytes"
	[[ "$output" != *first-step-ran* ]] || fail "a step ran first: $output"
	run --separate-stderr husk build --secret "id=s,src=$BATS_TEST_TMPDIR" "$CTX"
	assert_status 1
	assert_one_error_line
	assert_stderr_contains "Is a directory"
	[[ "$output" != *first-step-ran* ]] || fail "a step ran first: $output"
}

@test "build: --pull of a short name the store has as a localhost/ image says so when the pull fails" {
	husk tag basic husk-never-on-a-registry-x7 >/dev/null
	printf 'FROM husk-never-on-a-registry-x7\nRUN true\n' >"$CTX/Dockerfile"
	run --separate-stderr husk build --pull --tls-verify=false "$CTX"
	assert_status 1
	assert_one_error_line
	assert_stderr_contains 'the store has localhost/husk-never-on-a-registry-x7:latest (a localhost/ image is never pulled'
}

@test "build: WORKDIR makes its directory when the image lacks it (a layer of its own), none when it has it" {
	printf 'FROM basic\nWORKDIR /empty/dir\nWORKDIR /etc\nWORKDIR rel\nUSER 1000\n' >"$CTX/Dockerfile"
	run --separate-stderr husk build -t wd "$CTX"
	assert_status 0
	run --separate-stderr husk run --rm -u 0 -w / wd stat -c '%n %F %a %u:%g' /empty/dir /etc/rel
	assert_output "/empty/dir directory 755 0:0
/etc/rel directory 755 0:0"
	# Two layers on the base's one: /etc existed.
	n=$(husk inspect wd | python3 -c 'import json,sys; print(len(json.load(sys.stdin)[0]["RootFS"]["diff_ids"]))')
	[ "$n" -eq 3 ] || fail "expected 3 layers, got $n"
	run --separate-stderr husk build -t wd "$CTX"
	[ "$(grep -c -- '^--> CACHED' <<<"$output")" -eq 3 ] || fail "not cached: $output"
}

@test "build: one ENV or LABEL expands all its words with the values from before it (the reference's abc=bye def=\$abc)" {
	printf 'FROM basic\nENV X=old\nENV X=new Y=${X}\nLABEL l=${X} X=label m=${X}\nRUN echo "X=$X Y=$Y" >/xy\n' >"$CTX/Dockerfile"
	run --separate-stderr husk build -q -t envline "$CTX"
	assert_status 0
	run --separate-stderr husk run --rm envline cat /xy
	assert_output "X=new Y=old"
	husk inspect envline | python3 -c '
import json, sys
labels = json.load(sys.stdin)[0]["Config"]["Labels"]
assert (labels["l"], labels["m"], labels["X"]) == ("new", "new", "label"), labels
' || fail "labels"
}

@test "build: a RUN's tmpfs mount runs programs (nosuid only, as BuildKit's)" {
	printf 'FROM basic\nRUN --mount=type=tmpfs,target=/tmp sh -c "cp /bin/busybox /tmp/echo && /tmp/echo ok >/ran && grep \\" /tmp \\" /proc/mounts >/opts"\n' >"$CTX/Dockerfile"
	run --separate-stderr husk build -q -t tmpexec "$CTX"
	assert_status 0
	run --separate-stderr husk run --rm tmpexec sh -c 'cat /ran; cat /opts'
	[ "${lines[0]}" = ok ] || fail "did not run: $output"
	[[ "${lines[1]}" == *nosuid* ]] || fail "not nosuid: $output"
	[[ "${lines[1]}" != *noexec* ]] || fail "noexec: $output"
}

@test "build: COPY of a URL is refused in one line saying COPY takes no URL" {
	printf 'FROM basic\nCOPY http://127.0.0.1:9/file.txt /n\n' >"$CTX/Dockerfile"
	run --separate-stderr husk build "$CTX"
	assert_status 1
	assert_one_error_line
	assert_stderr_contains 'Dockerfile:2: COPY: "http://127.0.0.1:9/file.txt": source can'"'"'t be a URL for COPY (ADD downloads it)'
}

@test "build: ADD unpacks a tar however compressed (gzip, bzip2, xz, zstd, V7 too) and copies a compressed file that holds no tar as it is" {
	mkdir -p "$BATS_TEST_TMPDIR/t/pkg"
	echo tool >"$BATS_TEST_TMPDIR/t/pkg/tool"
	tar -C "$BATS_TEST_TMPDIR/t" -cJf "$CTX/pkg.txz" pkg
	tar -C "$BATS_TEST_TMPDIR/t" -cjf "$CTX/pkg.tbz" pkg
	tar -C "$BATS_TEST_TMPDIR/t" -cf - pkg | zstd -q >"$CTX/pkg.tzst"
	tar -C "$BATS_TEST_TMPDIR/t" --format=v7 -cf "$CTX/v7.tar" pkg
	echo plain | gzip >"$CTX/plain.gz"
	echo data | xz >"$CTX/d.xz"
	echo b | bzip2 >"$CTX/b.bz2"
	cat >"$CTX/Dockerfile" <<'EOF2'
FROM basic
ADD plain.gz d.xz b.bz2 /p/
ADD pkg.txz /x/
ADD pkg.tbz /b/
ADD pkg.tzst /z/
ADD v7.tar /v/
EOF2
	run --separate-stderr husk build -q -t addz "$CTX"
	assert_status 0
	run --separate-stderr husk run --rm addz sh -c 'cat /x/pkg/tool /b/pkg/tool /z/pkg/tool /v/pkg/tool; zcat /p/plain.gz; xzcat /p/d.xz; bzcat /p/b.bz2'
	assert_output "tool
tool
tool
tool
plain
data
b"
}

@test "build: RUN heredocs within a command line go to the shell as written; a #! script is refused clearly" {
	cat >"$CTX/Dockerfile" <<'XEOF'
FROM basic
ARG WHO=world
RUN cat <<EOF >/greeting && cat <<'RAW' >/raw
hello $WHO
EOF
not $WHO
RAW
RUN <<EOF
echo whole >/whole
EOF
XEOF
	run --separate-stderr husk build -q -t hd "$CTX"
	assert_status 0
	run --separate-stderr husk run --rm hd cat /greeting /raw /whole
	assert_output 'hello world
not $WHO
whole'
	printf 'FROM basic\nRUN <<EOF\n#!/usr/bin/env python3\nprint(1)\nEOF\n' >"$CTX/Dockerfile"
	run --separate-stderr husk build "$CTX"
	assert_status 1
	assert_one_error_line
	assert_stderr_contains 'Dockerfile:2: RUN: a heredoc script with its own interpreter (#!): not supported yet'
}
