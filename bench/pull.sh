#!/bin/bash
# bench/pull.sh: time pulling a multi-layer image (about 150 MB of gzip
# layers) from a local docker-registry with husk and with podman (rootless,
# overlay driver), in the same run, against the floor: the same layers
# decompressed and extracted by the fastest tools on the machine (igzip -dc
# | tar -x, or gzip -dc, layers in parallel).  Prints each time (best of
# ROUNDS) and the ratios.
#
#   bench/pull.sh [ROUNDS]        (default 3)
#
# Run as root: husk and podman then run as BENCH_USER (default husk-sub, a
# user with a subuid range, as tests/run creates it), so both are rootless.
# Run as a user with a subuid range, both run as that user.
#
# Environment: HUSK (default ./husk), BENCH_DIRS (directories that become
# the layers; default: a few of /usr), BENCH_USER, BENCH_KEEP=1 keeps the
# work directory.
set -euo pipefail

TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
ROUNDS=${1:-3}
HUSK=${HUSK:-$TOP/husk}
BENCH_USER=${BENCH_USER:-husk-sub}
read -r -a DIRS <<<"${BENCH_DIRS:-/usr/lib/python3.11 /usr/libexec /usr/share/perl /usr/lib/x86_64-linux-gnu/perl /usr/lib/gcc /usr/share/vim /usr/lib/git-core}"

die() {
	echo "bench/pull.sh: $*" >&2
	exit 1
}

for t in docker-registry skopeo podman python3 tar; do
	command -v "$t" >/dev/null || die "needs $t (apt-get install $t)"
done
[ -x "$HUSK" ] || die "no husk binary at $HUSK (build first)"
if command -v igzip >/dev/null; then
	UNGZ="igzip -dc"
else
	UNGZ="gzip -dc"
fi

as_user=()
if [ "$(id -u)" = 0 ]; then
	id "$BENCH_USER" >/dev/null 2>&1 || die "no user $BENCH_USER (tests/run creates husk-sub)"
	as_user=(runuser -u "$BENCH_USER" --)
fi

work=$(mktemp -d /tmp/husk-bench.XXXXXX)
chmod 0755 "$work"
regpid=
cleanup() {
	if [ -n "$regpid" ]; then
		kill "$regpid" 2>/dev/null || true
		wait "$regpid" 2>/dev/null || true
	fi
	if [ "${BENCH_KEEP:-0}" = 1 ]; then
		echo "kept $work" >&2
	else
		"${as_user[@]}" sh -c 'podman unshare rm -rf "$1"/podman 2>/dev/null; rm -rf "$1"/husk-* "$1"/floor-*' _ "$work" 2>/dev/null || true
		rm -rf "$work"
	fi
}
trap cleanup EXIT

# ---------------------------------------------------------------- the image
echo "building the image from: ${DIRS[*]}"
args=()
for d in "${DIRS[@]}"; do
	[ -d "$d" ] && args+=(--layer "$d")
done
[ ${#args[@]} -gt 0 ] || die "none of the BENCH_DIRS exist"
"$TOP/tests/mkimage.sh" "$work/layout" --tag latest "${args[@]}" --cmd '["true"]' >/dev/null

port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
mkdir -p "$work/registry"
cat >"$work/registry/config.yml" <<EOC
version: 0.1
log:
  level: error
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: $work/registry/data
http:
  addr: 127.0.0.1:$port
EOC
timeout 3600 docker-registry serve "$work/registry/config.yml" >"$work/registry/log" 2>&1 &
regpid=$!
for _ in $(seq 1 100); do
	(exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
	sleep 0.1
done
ref=127.0.0.1:$port/bench/image:latest
skopeo --insecure-policy copy -q --dest-tls-verify=false "oci:$work/layout:latest" "docker://$ref" >/dev/null

blobs=$work/registry/data/docker/registry/v2/blobs/sha256
mapfile -t layers < <(python3 - "$work/layout" <<'EOP'
import json, sys
d = sys.argv[1]
idx = json.load(open(d + "/index.json"))
m = json.load(open(d + "/blobs/sha256/" + idx["manifests"][0]["digest"][7:]))
for l in m["layers"]:
    print(l["digest"][7:], l["size"])
EOP
)
total=0
for l in "${layers[@]}"; do total=$((total + ${l#* })); done
printf 'image: %d layers, %.1f MB compressed\n' "${#layers[@]}" "$(echo "$total / 1000000" | bc -l)"

# ------------------------------------------------------------------ timing
now() { date +%s.%N; }
best() { # the smallest of its arguments
	printf '%s\n' "$@" | sort -g | head -1
}

run_husk() {
	local d=$work/husk-$1
	"${as_user[@]}" "$HUSK" --root "$d" pull -q "$ref" >/dev/null
}
run_podman() {
	local d=$work/podman/$1
	"${as_user[@]}" mkdir -m 0700 -p "$work/podman/run-$1"
	"${as_user[@]}" env XDG_RUNTIME_DIR="$work/podman/run-$1" podman --root "$d/root" \
		--runroot "$d/run" --storage-driver overlay pull -q --tls-verify=false "$ref" \
		>/dev/null 2>>"$work/podman/log" || {
		cat "$work/podman/log" >&2
		return 1
	}
}
run_floor() {
	local d=$work/floor-$1 pids=() l
	"${as_user[@]}" mkdir -p "$d"
	for l in "${layers[@]}"; do
		"${as_user[@]}" mkdir -p "$d/${l%% *}"
		"${as_user[@]}" sh -c "$UNGZ \"\$1\" | tar -x --no-same-owner -C \"\$2\"" _ \
			"$(dirname "$blobs")/sha256/${l:0:2}/${l%% *}/data" "$d/${l%% *}" &
		pids+=($!)
	done
	for p in "${pids[@]}"; do wait "$p"; done
}

mkdir -p "$work/podman"
chmod 0777 "$work/podman"
chmod 0777 "$work"
t_husk=() t_podman=() t_floor=()
for r in $(seq 1 "$ROUNDS"); do
	sync
	s=$(now); run_floor "$r"; e=$(now)
	t_floor+=("$(echo "$e - $s" | bc -l)")
	s=$(now); run_husk "$r"; e=$(now)
	t_husk+=("$(echo "$e - $s" | bc -l)")
	s=$(now); run_podman "$r"; e=$(now)
	t_podman+=("$(echo "$e - $s" | bc -l)")
	printf 'round %d: floor %.2f s, husk %.2f s, podman %.2f s\n' "$r" \
		"${t_floor[-1]}" "${t_husk[-1]}" "${t_podman[-1]}"
done
h=$(best "${t_husk[@]}")
p=$(best "${t_podman[@]}")
f=$(best "${t_floor[@]}")
printf '\nbest of %d: floor (%s | tar -x, layers in parallel) %.2f s, husk %.2f s, podman %.2f s\n' \
	"$ROUNDS" "${UNGZ%% *}" "$f" "$h" "$p"
printf 'husk / podman = %.2f   (target <= 0.5)\n' "$(echo "$h / $p" | bc -l)"
printf 'husk / floor  = %.2f   (target <= 1.2)\n' "$(echo "$h / $f" | bc -l)"
