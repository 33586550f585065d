#!/bin/bash
# bench/build.sh: image builds, husk against buildah, in one run.
#
#   sudo bench/build.sh [ROUNDS]      (each case ROUNDS times per tool, default 3; medians)
#
# Both tools run rootless as the user husk-bench (created with a subordinate id range when
# missing), with their stores and the context on a tmpfs (ext4 here slows inode allocation
# after repeated deletes), on the same busybox image (tests/mkimage.sh; there is no network,
# so the multi-stage case's first stage is busybox too, where the issue's has debian).
#
# The context: 2000 small files (~30 MB in all) and one 50 MB file.  Two Dockerfiles:
#   single   FROM, ARG, ENV, WORKDIR, COPY . , a RUN that makes and deletes 100 files, USER, CMD
#   multi    a first stage that tars part of the context into an artifact, copied into the
#            second with COPY --from
# Cases: cold (an empty cache), no change, one file changed, one file touched, multi cold,
# and run: what one RUN step of a command that does nothing adds to a build (ten such steps
# against FROM alone, without the cache, divided by ten).  buildah runs as "buildah bud --layers" (its cache on), husk as "husk build".  Also
# printed: the floor (cp -a of the context plus tar | igzip -1 | sha256sum of it) and an
# lstat walk of the context.
#
# Debian's buildah needs an OCI runtime for RUN, and this machine's crun and runc refuse the
# hybrid cgroup layout: buildah runs in a private mount namespace (unshare -m, as root) without
# /sys/fs/cgroup/unified, then as husk-bench.  HUSK=path picks the husk binary.
set -euo pipefail

ROUNDS=${1:-3}
TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
HUSK=${HUSK:-$TOP/husk}
USER_NAME=husk-bench
RANGE=300000-365535

die() { echo "build.sh: $*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || die "run as root (it sets up the bench user and a tmpfs)"
[ -x "$HUSK" ] || die "no husk binary at $HUSK (build first)"
for p in buildah uidmap busybox-static isal; do
	dpkg-query -W -f='${db:Status-Abbrev}' "$p" 2>/dev/null | grep -q '^ii' || missing+=" $p"
done
if [ -n "${missing:-}" ]; then
	echo "build.sh: installing$missing" >&2
	# shellcheck disable=SC2086
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q $missing >/dev/null
fi
id "$USER_NAME" >/dev/null 2>&1 || useradd -m -s /bin/bash "$USER_NAME"
touch /etc/subuid /etc/subgid
grep -q "^$USER_NAME:" /etc/subuid || usermod --add-subuids "$RANGE" "$USER_NAME"
grep -q "^$USER_NAME:" /etc/subgid || usermod --add-subgids "$RANGE" "$USER_NAME"
uid=$(id -u "$USER_NAME")

work=/tmp/husk-bench-build-$$
mkdir -p "$work"
mount -t tmpfs -o size=4g,mode=0755 tmpfs "$work"
cleanup() {
	cd /
	umount -l "$work" 2>/dev/null || true
	rmdir "$work" 2>/dev/null || true
}
trap cleanup EXIT
chown "$USER_NAME" "$work"

# The base image, as an OCI layout both tools import.
. "$TOP/tests/integration/helpers.bash"
mkdir -p "$work/images"
cc -static -O2 -o "$work/images/hsk-report" "$TOP/tests/helper/hsk-report.c"
build_test_images "$TOP/tests/mkimage.sh" "$work/images" "$work/images/hsk-report" >/dev/null
cp "$HUSK" "$work/husk"
[ -x "$(dirname "$HUSK")/husk-full" ] && cp "$(dirname "$HUSK")/husk-full" "$work/husk-full"
[ -x "$(dirname "$HUSK")/husk-netns" ] && cp "$(dirname "$HUSK")/husk-netns" "$work/husk-netns"
chown -R "$USER_NAME" "$work"

# The context.
ctx=$work/ctx
mkdir -p "$ctx/src"
for d in $(seq 0 19); do
	mkdir -p "$ctx/src/d$d"
	for f in $(seq 0 99); do
		head -c 15000 /dev/urandom >"$ctx/src/d$d/f$f"
	done
done
head -c 50000000 /dev/urandom >"$ctx/big.bin"
cat >"$ctx/Dockerfile" <<'EOF'
FROM localhost/basic:latest
ARG GREETING=hello
ENV APP_HOME=/app GREETING=$GREETING
WORKDIR /app
COPY . /app/
RUN mkdir -p /tmp/scratch && for i in $(seq 1 100); do echo $i >/tmp/scratch/f$i; done && rm -rf /tmp/scratch && echo built >/app/built
USER 1000
CMD ["cat", "/app/built"]
EOF
cat >"$ctx/Dockerfile.multi" <<'EOF'
FROM localhost/basic:latest AS build
COPY src/d0 /src
RUN tar -cf /artifact.tar -C /src .
FROM localhost/basic:latest
COPY --from=build /artifact.tar /artifact.tar
CMD ["ls", "-l", "/artifact.tar"]
EOF
# RUN's overhead: ten steps of a command that does nothing, against FROM alone, without the
# cache; per step, (ten - none) / 10.
{ echo 'FROM localhost/basic:latest'; for i in $(seq 1 10); do echo "RUN true $i"; done; } >"$ctx/Dockerfile.run10"
echo 'FROM localhost/basic:latest' >"$ctx/Dockerfile.run0"
chown -R "$USER_NAME" "$ctx"

as_user() { runuser -u "$USER_NAME" -- env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME="$work/home" \
	XDG_RUNTIME_DIR="$work/run" XDG_DATA_HOME="$work/data" XDG_CONFIG_HOME="$work/config" "$@"; }
mkdir -p "$work/home" "$work/run" "$work/data" "$work/config/containers"
chmod 700 "$work/run"
# buildah's storage on the tmpfs too.
cat >"$work/config/containers/storage.conf" <<EOF
[storage]
driver = "overlay"
graphroot = "$work/buildah-store"
runroot = "$work/run/buildah"
EOF
chown -R "$USER_NAME" "$work/home" "$work/run" "$work/data" "$work/config"

husk_b() { as_user "$work/husk" --root "$work/husk-store" "$@"; }
buildah_b() {
	unshare -m sh -c 'umount /sys/fs/cgroup/unified 2>/dev/null; exec "$@"' _ \
		runuser -u "$USER_NAME" -- env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME="$work/home" \
		XDG_RUNTIME_DIR="$work/run" XDG_CONFIG_HOME="$work/config" buildah "$@"
}

husk_b pull "oci:$work/images/basic:latest" >/dev/null
buildah_b pull -q "oci:$work/images/basic:latest" >/dev/null
buildah_b tag "$(buildah_b images -q | head -1)" localhost/basic:latest >/dev/null

# One timed command: seconds with ms, as bash's time measures it in the process that runs the
# command (so runuser, env and the buildah wrapper's unshare are not counted: they cost about
# 35 ms here, more than a no-change husk build).
TIMER='TIMEFORMAT=%3R; log=$1; shift; { time "$@" >"$log" 2>&1; } 2>&1 || { cat "$log" >&2; exit 1; }'
husk_t() { as_user bash -c "$TIMER" timer "$work/last.log" "$work/husk" --root "$work/husk-store" "$@"; }
buildah_t() {
	unshare -m sh -c 'umount /sys/fs/cgroup/unified 2>/dev/null; exec "$@"' _ \
		runuser -u "$USER_NAME" -- env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME="$work/home" \
		XDG_RUNTIME_DIR="$work/run" XDG_CONFIG_HOME="$work/config" \
		bash -c "$TIMER" timer "$work/last.log" buildah "$@"
}
root_t() { bash -c "$TIMER" timer "$work/last.log" "$@"; }
t() {
	local out
	out=$("$@") || die "failed: $*"
	echo "$out"
}
median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

husk_reset() { husk_b rmi -f bench-single bench-multi >/dev/null 2>&1 || true
	husk_b builder prune -f >/dev/null 2>&1 || true; }
buildah_reset() { buildah_b rmi -f bench-single bench-multi >/dev/null 2>&1 || true
	buildah_b rmi --prune >/dev/null 2>&1 || true; }

declare -A res
for r in $(seq 1 "$ROUNDS"); do
	for tool in husk buildah; do
		if [ $tool = husk ]; then
			build() { husk_t build -q "$@"; }
			reset=husk_reset
		else
			build() { buildah_t bud --layers -q "$@"; }
			reset=buildah_reset
		fi
		$reset
		res[$tool,cold]+="$(t build -t bench-single "$ctx") "
		res[$tool,nochange]+="$(t build -t bench-single "$ctx") "
		head -c 15000 /dev/urandom >"$ctx/src/d7/f7"
		res[$tool,changed]+="$(t build -t bench-single "$ctx") "
		touch "$ctx/src/d3/f3"
		res[$tool,touched]+="$(t build -t bench-single "$ctx") "
		$reset
		res[$tool,multi]+="$(t build -f "$ctx/Dockerfile.multi" -t bench-multi "$ctx") "
		r0=$(t build --no-cache -f "$ctx/Dockerfile.run0" "$ctx")
		r10=$(t build --no-cache -f "$ctx/Dockerfile.run10" "$ctx")
		res[$tool,run]+="$(awk -v a="$r0" -v b="$r10" 'BEGIN { printf "%.4f", (b - a) / 10 }') "
	done
	res[floor]+="$(t root_t sh -c "rm -rf $work/floor && cp -a $ctx $work/floor && tar -C $ctx -c . | igzip -1 | sha256sum") "
	res[walk]+="$(t root_t find "$ctx" -printf '') "
done

printf '%-28s %10s %10s %8s\n' case husk buildah husk/buildah
for c in cold nochange changed touched multi run; do
	h=$(tr ' ' '\n' <<<"${res[husk,$c]}" | grep . | median)
	b=$(tr ' ' '\n' <<<"${res[buildah,$c]}" | grep . | median)
	printf '%-28s %9ss %9ss %8.2f\n' "$c" "$h" "$b" "$(awk -v a="$h" -v b="$b" 'BEGIN { print a / b }')"
done
printf '%-28s %9ss\n' "floor (cp -a + tar|igzip|sha)" "$(tr ' ' '\n' <<<"${res[floor]}" | grep . | median)"
printf '%-28s %9ss\n' "lstat walk" "$(tr ' ' '\n' <<<"${res[walk]}" | grep . | median)"
