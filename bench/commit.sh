#!/bin/bash
# bench/commit.sh: time husk commit of a container whose upper directory holds
# about 80 MB (60 files of 1.3 MB of random data) against the floor: copying
# the upper directory (cp -a) and, after it, tar | igzip -1 | sha256sum of it:
# what any commit that keeps the container's files and makes a gzip layer must
# at least do.  The store and the copies are on a tmpfs (/dev/shm), so the
# disk does not decide.  Prints the best of ROUNDS for each and the ratio.
#
#   bench/commit.sh [ROUNDS]        (default 5)
#
# Runs as the calling user (root, or a user husk runs rootless for).
# Environment: HUSK (default ./husk), HUSK_TEST_IMAGES (the test images, as
# tests/run makes them: basic is used), BENCH_KEEP=1 keeps the work directory.
set -euo pipefail

TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
ROUNDS=${1:-5}
HUSK=${HUSK:-$TOP/husk}
IMAGES=${HUSK_TEST_IMAGES:-}

die() {
	echo "bench/commit.sh: $*" >&2
	exit 1
}

command -v igzip >/dev/null || die "needs igzip (apt-get install isal)"
[ -x "$HUSK" ] || die "no husk binary at $HUSK (build first)"
[ -n "$IMAGES" ] && [ -r "$IMAGES/basic.id" ] || die "set HUSK_TEST_IMAGES to the test images (tests/run makes them)"

work=$(mktemp -d /dev/shm/husk-bench-commit.XXXXXX)
cleanup() {
	if [ "${BENCH_KEEP:-0}" = 1 ]; then
		echo "kept $work" >&2
	else
		"$HUSK" --root "$work/store" rm -f big >/dev/null 2>&1 || true
		"$HUSK" --root "$work/store" image prune -a >/dev/null 2>&1 || true
		rm -rf "$work" 2>/dev/null || true
	fi
}
trap cleanup EXIT
h() { "$HUSK" --root "$work/store" "$@"; }

h pull -q "oci:$IMAGES/basic:latest" >/dev/null
id=$(h create --name big basic sh -c \
	'for i in $(seq 60); do head -c 1363148 /dev/urandom >/data/f$i; done')
h start -a big >/dev/null
upper="$work/store/containers/$id/upper"
du -sm "$upper" | awk '{ print "upper directory: " $1 " MB" }'

now() { date +%s.%N; }
best() { # the smallest of the numbers on stdin
	sort -g | head -1
}

: >"$work/husk.t"
: >"$work/floor.t"
for _ in $(seq "$ROUNDS"); do
	t0=$(now)
	img=$(h commit big)
	t1=$(now)
	echo "$t1 - $t0" | bc >>"$work/husk.t"
	h rmi "$img" >/dev/null

	t0=$(now)
	cp -a "$upper" "$work/floor-copy"
	tar -C "$upper" -c . | igzip -1 | sha256sum >/dev/null
	t1=$(now)
	echo "$t1 - $t0" | bc >>"$work/floor.t"
	rm -rf "$work/floor-copy"
done
hb=$(best <"$work/husk.t")
fb=$(best <"$work/floor.t")
printf 'husk commit  %.3f s (best of %d)\n' "$hb" "$ROUNDS"
printf 'floor        %.3f s (cp -a; tar | igzip -1 | sha256sum)\n' "$fb"
printf 'ratio        %.2f\n' "$(echo "$hb / $fb" | bc -l)"
