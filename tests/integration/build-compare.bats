#!/usr/bin/env bats
# husk build against Debian's buildah: the same Dockerfiles built by both give the same
# files (type, mode, owner, size, link target, content), the same whiteouts and the same
# config (imgcompare.py).  As root only: buildah runs with --isolation chroot (this
# machine's OCI runtimes refuse the hybrid cgroup layout), which needs root.

bats_require_minimum_version 1.5.0
load helpers

setup_file() {
	ensure_images
}

setup() {
	[ "$(test_mode)" = root ] || skip "buildah comparisons run as root (buildah --isolation chroot)"
	command -v buildah >/dev/null || fail "buildah is not installed (scripts/install-deps)"
	new_store
	pull basic latest
	B=$BATS_TEST_TMPDIR/buildah
	# buildah names an image pulled from a layout after the layout's path, which must then be
	# lower case: a copy under a name of digits.
	LAYOUT=/tmp/husk-compare.$$.$RANDOM
	mkdir -p "$LAYOUT" && cp -r "$IMAGES/basic" "$LAYOUT/basic"
	buildah_ pull -q "oci:$LAYOUT/basic:latest" >/dev/null
	buildah_ tag "$(buildah_ images -q | head -1)" localhost/basic:latest
	CTX=$BATS_TEST_TMPDIR/ctx
	mkdir -p "$CTX/src/sub" "$CTX/docs"
	echo alpha >"$CTX/a.txt"
	echo 'int x;' >"$CTX/src/x.c"
	echo 'int y;' >"$CTX/src/sub/y.c"
	chmod 0750 "$CTX/src/sub"
	ln -s a.txt "$CTX/link"
	ln -s ../a.txt "$CTX/src/up"
	echo readme >"$CTX/docs/README.md"
	echo keep >"$CTX/docs/KEEP.md"
	echo notes >"$CTX/NOTES.md"
}

teardown() {
	[ -n "${LAYOUT:-}" ] && rm -rf "$LAYOUT"
	[ -n "${B:-}" ] && buildah_ rm -a >/dev/null 2>&1
	[ -n "${B:-}" ] && buildah_ rmi -a -f >/dev/null 2>&1
	remove_store "$STORE"
}

buildah_() {
	BUILDAH_ISOLATION=chroot buildah --root "$B/root" --runroot "$B/run" \
		--storage-driver overlay "$@"
}

# compare FLAGS...: build CTX with both tools and compare the images (with COMPARE_HISTORY
# set, each history entry's empty_layer mark and RUN flags too: imgcompare.py --history).
compare() {
	run --separate-stderr husk build -q -t cmp "$@" "$CTX"
	assert_status 0
	husk save -o "$BATS_TEST_TMPDIR/husk.tar" cmp
	run --separate-stderr buildah_ bud --format docker --layers -q -t cmp "$@" "$CTX"
	assert_status 0
	rm -f "$BATS_TEST_TMPDIR/buildah.tar"
	buildah_ push -q cmp "docker-archive:$BATS_TEST_TMPDIR/buildah.tar:cmp"
	run --separate-stderr python3 "$TOP/tests/integration/imgcompare.py" \
		${COMPARE_HISTORY:+--history} "$BATS_TEST_TMPDIR/husk.tar" "$BATS_TEST_TMPDIR/buildah.tar"
	[ "$status" -eq 0 ] || fail "husk | buildah differ:" "$output" "$stderr"
}

@test "compare: metadata instructions" {
	cat >"$CTX/Dockerfile" <<'EOF2'
FROM localhost/basic:latest
ARG V=1
ENV A=1 B="two words" C=${V}x
LABEL l1=v1 "l 2"="v 2"
# WORKDIR makes a missing directory in a layer (the Dockerfile reference; husk does, buildah
# 1.28 does not): made first here, so both images have them the same way.
RUN mkdir -p /app/sub
WORKDIR /app
WORKDIR sub
USER 1000:1000
EXPOSE 80 53/udp 8000-8001
VOLUME /vol ["/v2"]
STOPSIGNAL SIGQUIT
HEALTHCHECK --interval=10s --timeout=3s --retries=4 CMD ["true"]
ONBUILD RUN echo hi
ENTRYPOINT ["/bin/sh"]
CMD ["-c", "echo hello"]
EOF2
	compare
}

@test "compare: COPY, its destinations, owners, modes and links" {
	cat >"$CTX/Dockerfile" <<'EOF2'
FROM localhost/basic:latest
# See "metadata instructions": the directory exists before WORKDIR names it.
RUN mkdir /app
WORKDIR /app
COPY a.txt ./
COPY src /srcdir/
COPY src/x.c src/sub /two/
COPY --chown=12:34 --chmod=0600 a.txt /owned
COPY link /linked
COPY *.txt /glob/
COPY a.txt /usr/local/bin
COPY . /all/
EOF2
	compare
}

@test "compare: RUN deletes, replaces directories, hard links, modes" {
	cat >"$CTX/Dockerfile" <<'EOF2'
FROM localhost/basic:latest
RUN rm /data/owned && rm -rf /usr/local && mkdir /usr/local && echo new >/usr/local/x
RUN echo a >/h1 && ln /h1 /h2 && chmod 0700 /data && mkdir -p /deep/er && touch /deep/er/f
RUN rm -rf /deep/er && chown 5:6 /h1
EOF2
	compare
}

@test "compare: ARG scoping and --build-arg" {
	cat >"$CTX/Dockerfile" <<'EOF2'
ARG BASE=localhost/basic:latest
ARG GLOBAL=g
FROM $BASE
ARG GLOBAL
ARG LOCAL=l
ARG OVER=default
RUN echo "$GLOBAL $LOCAL $OVER" >/args
ENV OVER=env
RUN echo "$OVER" >/over
EOF2
	compare --build-arg OVER=given
}

@test "compare: .dockerignore (**, an exception, exclude all but)" {
	printf '**/*.md\n!docs/KEEP.md\n' >"$CTX/.dockerignore"
	printf 'FROM localhost/basic:latest\nCOPY . /ctx/\n' >"$CTX/Dockerfile"
	compare
	printf '*\n!src\n!a.txt\nsrc/sub\n' >"$CTX/.dockerignore"
	compare
}

@test "compare: multi-stage, an unused stage, COPY --from" {
	cat >"$CTX/Dockerfile" <<'EOF2'
FROM localhost/basic:latest AS build
RUN mkdir -p /out && echo artifact >/out/a && chmod 0751 /out/a

FROM localhost/basic:latest AS unused
RUN echo never >/never

FROM localhost/basic:latest
COPY --from=build /out/a /usr/local/bin/a
COPY --from=0 /out /out2
EOF2
	compare
}

@test "compare: ADD of a local archive" {
	mkdir -p "$BATS_TEST_TMPDIR/t/pkg"
	echo tool >"$BATS_TEST_TMPDIR/t/pkg/tool"
	tar -C "$BATS_TEST_TMPDIR/t" --owner=0 --group=0 -czf "$CTX/pkg.tgz" pkg
	printf 'FROM localhost/basic:latest\nADD pkg.tgz /opt/\nADD a.txt /added\n' >"$CTX/Dockerfile"
	compare
}

@test "compare: the history's ARG steps and RUN --mount flags" {
	cat >"$CTX/Dockerfile" <<'EOF2'
FROM localhost/basic:latest
ARG V=1
ARG TOKEN
RUN --mount=type=tmpfs,target=/t echo "$V" >/v && touch /t/gone
RUN --mount=type=cache,target=/c,id=hc echo c >/c/f && echo done >/done
ENV A=1
RUN echo plain >/plain
EOF2
	COMPARE_HISTORY=1 compare --build-arg TOKEN=given
}

@test "compare: one ENV or LABEL sees the values from before it" {
	printf 'FROM localhost/basic:latest\nENV X=old\nENV X=new Y=${X}\nLABEL l=${X} X=label m=${X}\nRUN echo "$X $Y" >/xy\n' >"$CTX/Dockerfile"
	compare
}

@test "compare: ADD of compressed files that hold no tar and of an xz tar" {
	mkdir -p "$BATS_TEST_TMPDIR/t/pkg"
	echo tool >"$BATS_TEST_TMPDIR/t/pkg/tool"
	tar -C "$BATS_TEST_TMPDIR/t" --owner=0 --group=0 -cJf "$CTX/pkg.txz" pkg
	echo plain | gzip >"$CTX/plain.gz"
	echo data | xz >"$CTX/d.xz"
	printf 'FROM localhost/basic:latest\nADD plain.gz d.xz /p/\nADD pkg.txz /opt/\n' >"$CTX/Dockerfile"
	compare
}
