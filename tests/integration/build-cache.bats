#!/usr/bin/env bats
# husk build --cache-explain: one line for every RUN, COPY or ADD step that
# missed the cache, saying why; nothing more on a build that is all cache.
# Runs as root, with a subuid range and without.

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
	printf 'Dockerfile\n' >"$CTX/.dockerignore"
}

teardown() {
	remove_store "$STORE"
}

# The "--> Cache miss: " lines of the last build's output, the prefix cut.
misses() {
	sed -n 's/^--> Cache miss: //p' <<<"$output"
}

# build ARGS...: husk build --cache-explain ARGS... "$CTX", which must succeed.
build() {
	run --separate-stderr husk build --cache-explain "$@" "$CTX"
	assert_status 0
}

@test "cache-explain: a first build, a build all from the cache, --no-cache" {
	printf 'FROM basic\nCOPY a.txt /a\nRUN echo one >/one\n' >"$CTX/Dockerfile"
	build -t app
	[ "$(misses)" = "no earlier build of this step
no earlier build of this step" ] || fail "$output"
	# All cached: not a line more than without the flag.
	build -t app
	[ -z "$(misses)" ] || fail "a cached build explained something: $output"
	local with=$output
	run --separate-stderr husk build -t app "$CTX"
	[ "$with" = "$output" ] || fail "with --cache-explain: $with" "without: $output"
	# Without the flag nothing is explained, hit or miss.
	run --separate-stderr husk build --no-cache -t app "$CTX"
	assert_status 0
	[ -z "$(misses)" ] || fail "explained without --cache-explain: $output"
	build --no-cache -t app
	[ "$(misses)" = "the cache is not used (--no-cache)
the cache is not used (--no-cache)" ] || fail "$output"
}

@test "cache-explain: a changed file is named, the steps after say the step before missed" {
	printf 'FROM basic\nCOPY a.txt src /app/\nRUN echo one >/one\nRUN echo two >/two\n' >"$CTX/Dockerfile"
	run --separate-stderr husk build -t app "$CTX"
	assert_status 0
	echo 'int y = 1;' >"$CTX/src/sub/y.c"
	touch "$CTX/a.txt" # Touched, not changed: not named.
	build -t app
	[ "$(misses)" = "source files changed: src/sub/y.c
the step before missed
the step before missed" ] || fail "$output"
	# New and removed files; more than three are counted.
	rm "$CTX/src/x.c"
	for f in n1 n2 n3 n4; do echo "$f" >"$CTX/src/$f"; done
	build -t app
	[ "$(misses | head -1)" = "source files changed: src/n1 (new), src/n2 (new), src/n3 (new) (+2 more)" ] ||
		fail "$output"
	# Back to a version the cache has: a hit, nothing said.
	rm "$CTX/src/n1" "$CTX/src/n2" "$CTX/src/n3" "$CTX/src/n4"
	echo 'int x;' >"$CTX/src/x.c"
	build -t app
	[ -z "$(misses)" ] || fail "$output"
}

@test "cache-explain: a probe lists 4096 files at most, and says so past them" {
	mkdir "$CTX/many"
	(cd "$CTX/many" && for i in $(seq -w 1 4200); do echo "$i" >"f$i"; done)
	printf 'FROM basic\nCOPY many /many\n' >"$CTX/Dockerfile"
	build -t many
	[ "$(wc -c <"$(grep -l many/f0001 "$STORE"/build-cache/explain/*.json)")" -lt 300000 ] ||
		fail "the probe is too large"
	echo changed >"$CTX/many/f0010"
	build -t many
	[ "$(misses)" = "source files changed: many/f0010" ] || fail "$output"
	echo changed >"$CTX/many/f4200"
	build -t many
	[ "$(misses)" = "source files changed (more than 4096 files: not listed)" ] || fail "$output"
}

@test "cache-explain: a build arg, an instruction, an instruction before the step" {
	cat >"$CTX/Dockerfile" <<'EOF'
FROM basic
ARG FLAVOUR=plain
ARG OTHER=x
COPY a.txt /a
ENV MODE=fast
RUN echo "$FLAVOUR" >/flavour
EOF
	build -t app
	build -t app --build-arg FLAVOUR=sweet
	# The COPY does not use FLAVOUR: cached; the RUN sees it: missed, and says why.
	[ "$(misses)" = "the build arg FLAVOUR changed" ] || fail "$output"
	# The value is never shown.
	[[ "$output" != *sweet* ]] || fail "a build argument's value is shown: $output"
	! grep -rl sweet "$STORE/build-cache/explain" || fail "a probe keeps a build argument's value"

	# An instruction after the last layer step's: the step after it says which.
	sed -i 's/MODE=fast/MODE=slow/' "$CTX/Dockerfile"
	build -t app --build-arg FLAVOUR=sweet
	[ "$(misses)" = 'an instruction before it changed: was "ENV MODE=fast", now "ENV MODE=slow"' ] ||
		fail "$output"

	# The step itself.
	sed -i 's|>/flavour|>/flavour.txt|' "$CTX/Dockerfile"
	build -t app --build-arg FLAVOUR=sweet
	[ "$(misses)" = 'the instruction changed: was "RUN /bin/sh -c echo "$FLAVOUR" >/flavour", now "RUN /bin/sh -c echo "$FLAVOUR" >/flavour.txt"' ] ||
		fail "$output"

	# A build arg only the RUN sees (its environment).
	printf 'FROM basic\nARG LATE=1\nRUN echo late\n' >"$CTX/Dockerfile"
	build -t late
	build -t late --build-arg LATE=2
	[ "$(misses)" = "the build arg LATE changed" ] || fail "$output"
}

@test "cache-explain: the base image changed, or the stage it starts from" {
	pull plain latest
	cat >"$CTX/Dockerfile" <<'EOF'
ARG BASE=basic
FROM $BASE AS first
COPY a.txt /a

FROM first
RUN echo second >/second
EOF
	build -t app
	build -t app --build-arg BASE=plain
	[ "$(misses)" = "the base image changed: was image $(image_id basic | cut -c1-12), now image $(image_id plain | cut -c1-12)
the stage \"first\" it starts from changed" ] || fail "$output"
}

@test "cache-explain: stages built in parallel say why too" {
	cat >"$CTX/Dockerfile" <<'EOF'
FROM basic AS one
COPY a.txt /a
RUN echo one >/one

FROM basic AS two
RUN echo two >/two

FROM basic
COPY --from=one /one /one
COPY --from=two /two /two
EOF
	build -t par
	[ "$(grep -c -- '--> Built in parallel' <<<"$output")" -eq 3 ] || fail "not in parallel: $output"
	[ "$(misses | sort | uniq -c | awk '{print $1}')" = 5 ] || fail "$output"
	echo beta >"$CTX/a.txt"
	build -t par
	[ "$(misses)" = "source files changed: a.txt
the step before missed
the stage or image it copies from changed
the step before missed" ] || fail "$output"
	build -t par
	[ -z "$(misses)" ] || fail "$output"
}

@test "cache-explain: builder prune and image prune take the probes with the cache" {
	printf 'FROM basic\nCOPY a.txt /a\n' >"$CTX/Dockerfile"
	build -t app
	[ -n "$(ls "$STORE/build-cache/explain")" ] || fail "no probe was written"
	husk rmi app >/dev/null
	run --separate-stderr husk builder prune -f
	assert_status 0
	[ ! -e "$STORE/build-cache" ] || fail "build-cache/ is still there: $(find "$STORE/build-cache")"
	build -t app
	[ "$(misses)" = "no earlier build of this step" ] || fail "$output"
	# The cache entry gone (not by a prune, which takes the probe too), the probe kept: said so.
	rm "$STORE"/build-cache/*.json
	build -t app
	[ "$(misses)" = "the same step was built before, but its cache entry or its layer is gone" ] || fail "$output"
	# image prune takes them too.
	run --separate-stderr husk image prune -a -f
	assert_status 0
	[ ! -e "$STORE/build-cache" ] || fail "build-cache/ is still there: $(find "$STORE/build-cache")"
}
