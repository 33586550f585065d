#!/bin/bash
# bench/push.sh: time pushing a multi-layer image (about 150 MB of gzip layers)
# to a local docker-registry with husk, skopeo copy and podman push, in the
# same run, against the floor: each layer's tar compressed with igzip -1 and
# uploaded with curl (a POST and a PUT), layers in parallel.  Prints each time
# (best of ROUNDS) and the ratios.
#
#   bench/push.sh [ROUNDS]        (default 3)
#
# Cold: a registry started empty for each push (no blob there, nothing to
# mount).  Warm: the same push again, every blob present.  husk pushes the
# image twice over: as pulled (its gzip blobs go as they are, as skopeo's do
# from the layout), and loaded from a docker-archive, whose layers the store
# keeps as plain tars: those are compressed at the push (ISA-L, level 1), with
# the blob cache emptied before each cold round, which is what podman does
# from its store, and what the floor does.
#
# Run as root: husk and podman run as BENCH_USER (default husk-sub, a user
# with a subuid range, as tests/run creates it), so both are rootless; each
# is timed inside that user's process.  Stores and registries live in a
# tmpfs when BENCH_TMP is one (default /dev/shm).
#
# Environment: HUSK (default ./husk), BENCH_DIRS (directories that become the
# layers; default: a few of /usr), BENCH_USER, BENCH_TMP, BENCH_KEEP=1 keeps
# the work directory.
set -euo pipefail

TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
ROUNDS=${1:-3}
HUSK=${HUSK:-$TOP/husk}
BENCH_USER=${BENCH_USER:-husk-sub}
BENCH_TMP=${BENCH_TMP:-/dev/shm}
read -r -a DIRS <<<"${BENCH_DIRS:-/usr/lib/python3.11 /usr/libexec /usr/share/perl /usr/lib/x86_64-linux-gnu/perl /usr/lib/gcc /usr/share/vim /usr/lib/git-core}"

die() {
	echo "bench/push.sh: $*" >&2
	exit 1
}

for t in docker-registry skopeo podman python3 tar curl igzip bc; do
	command -v "$t" >/dev/null || die "needs $t (apt-get install ${t/igzip/isal})"
done
[ -x "$HUSK" ] || die "no husk binary at $HUSK (build first)"

as_user=()
if [ "$(id -u)" = 0 ]; then
	id "$BENCH_USER" >/dev/null 2>&1 || die "no user $BENCH_USER (tests/run creates husk-sub)"
	as_user=(runuser -u "$BENCH_USER" --)
fi

work=$(mktemp -d "$BENCH_TMP/husk-bench-push.XXXXXX")
chmod 0777 "$work"
regpids=()
cleanup() {
	local p
	for p in "${regpids[@]}"; do
		kill "$p" 2>/dev/null || true
		wait "$p" 2>/dev/null || true
	done
	if [ "${BENCH_KEEP:-0}" = 1 ]; then
		echo "kept $work" >&2
	else
		"${as_user[@]}" sh -c 'podman unshare rm -rf "$1"/podman 2>/dev/null; rm -rf "$1"/husk-* "$1"/floor' _ "$work" 2>/dev/null || true
		rm -rf "$work"
	fi
}
trap cleanup EXIT

# A registry of its own, empty: sets PORT.
start_registry() { # NAME
	local d=$work/reg-$1
	PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
	mkdir -p "$d"
	cat >"$d/config.yml" <<EOC
version: 0.1
log:
  level: error
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: $d/data
http:
  addr: 127.0.0.1:$PORT
EOC
	timeout 3600 docker-registry serve "$d/config.yml" >"$d/log" 2>&1 &
	regpids+=($!)
	for _ in $(seq 1 100); do
		(exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null && return 0
		sleep 0.05
	done
	die "the registry did not start: $(cat "$d/log")"
}

# ---------------------------------------------------------------- the image
echo "building the image from: ${DIRS[*]}"
args=()
for d in "${DIRS[@]}"; do
	[ -d "$d" ] && args+=(--layer "$d")
done
[ ${#args[@]} -gt 0 ] || die "none of the BENCH_DIRS exist"
"$TOP/tests/mkimage.sh" "$work/layout" --tag latest "${args[@]}" --cmd '["true"]' >/dev/null
chmod -R a+rX "$work/layout"
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

# The floor's input: each layer's tar, uncompressed.
mkdir -p "$work/floor/tars"
for l in "${layers[@]}"; do
	igzip -dc "$work/layout/blobs/sha256/${l%% *}" >"$work/floor/tars/${l%% *}.tar"
done
chmod -R a+rwX "$work/floor"

# husk's two stores: as pulled (gzip blobs), and from a docker-archive (plain tars).
start_registry src
src=127.0.0.1:$PORT/bench/image:latest
skopeo --insecure-policy copy -q --dest-tls-verify=false "oci:$work/layout:latest" "docker://$src" >/dev/null
"${as_user[@]}" "$HUSK" --root "$work/husk-gz" pull -q "$src" >/dev/null
"${as_user[@]}" "$HUSK" --root "$work/husk-gz" save -o "$work/husk-archive.tar" "$src"
"${as_user[@]}" "$HUSK" --root "$work/husk-tar" load -q -i "$work/husk-archive.tar" >/dev/null
# podman's store, with the image pulled (not timed).
mkdir -p "$work/podman"
chmod 0777 "$work/podman"
podman_cmd() {
	"${as_user[@]}" env XDG_RUNTIME_DIR="$work/podman/xdg" podman --root "$work/podman/root" \
		--runroot "$work/podman/run" --storage-driver overlay "$@"
}
"${as_user[@]}" mkdir -m 0700 -p "$work/podman/xdg"
podman_cmd pull -q --tls-verify=false "$src" >/dev/null 2>"$work/podman/log" || die "podman pull: $(cat "$work/podman/log")"

# ------------------------------------------------------------------ timing
best() { # the smallest of its arguments
	printf '%s\n' "$@" | sort -g | head -1
}

# Seconds the command takes, measured in BENCH_USER's own shell.
timed() {
	"${as_user[@]}" env XDG_RUNTIME_DIR="$work/podman/xdg" bash -c '
		s=$(date +%s.%N); "$@" >/dev/null 2>>"'"$work"'/errors" || { echo fail; exit 1; }; e=$(date +%s.%N)
		echo "$e - $s" | bc -l' _ "$@"
}

floor_push() { # ADDR
	local addr=$1 pids=() l
	for l in "${layers[@]}"; do
		(
			h=${l%% *}
			igzip -1 -c "$work/floor/tars/$h.tar" >"$work/floor/$h.gz"
			d=sha256:$(sha256sum "$work/floor/$h.gz" | cut -d' ' -f1)
			loc=$(curl -sS -D - -o /dev/null -X POST "http://$addr/v2/floor/x/blobs/uploads/" |
				tr -d '\r' | sed -n 's/^[Ll]ocation: //p')
			case $loc in http*) ;; *) loc=http://$addr$loc ;; esac
			sep='?'
			[[ $loc == *\?* ]] && sep='&'
			curl -sS -f -o /dev/null -X PUT -H 'Content-Type: application/octet-stream' \
				--data-binary "@$work/floor/$h.gz" "$loc${sep}digest=$d"
		) &
		pids+=($!)
	done
	for p in "${pids[@]}"; do wait "$p"; done
}
export -f floor_push
export work
LAYERS_LIST=$(printf '%s\n' "${layers[@]}")
export LAYERS_LIST

declare -A cold warm
names=(floor husk husk-compress skopeo podman)
for n in "${names[@]}"; do
	cold[$n]=""
	warm[$n]=""
done
: >"$work/errors"
chmod 0666 "$work/errors"
for r in $(seq 1 "$ROUNDS"); do
	line="round $r:"
	for n in "${names[@]}"; do
		start_registry "$n-$r"
		dest=127.0.0.1:$PORT/bench/pushed:$r
		case $n in
		floor)
			cmd=(bash -c 'mapfile -t layers <<<"$LAYERS_LIST"; floor_push "$1"' _ "127.0.0.1:$PORT")
			;;
		husk) cmd=("$HUSK" --root "$work/husk-gz" push -q "$src" "$dest") ;;
		husk-compress)
			"${as_user[@]}" rm -rf "$work/husk-tar/blob-cache"
			cmd=("$HUSK" --root "$work/husk-tar" push -q "$src" "$dest")
			;;
		skopeo) cmd=(skopeo --insecure-policy copy -q --dest-tls-verify=false "oci:$work/layout:latest" "docker://$dest") ;;
		podman) cmd=(podman --root "$work/podman/root" --runroot "$work/podman/run" --storage-driver overlay push -q --tls-verify=false "$src" "$dest") ;;
		esac
		sync
		c=$(timed "${cmd[@]}") || die "$n failed: $(tail -5 "$work/errors")"
		cold[$n]="${cold[$n]} $c"
		if [ "$n" = floor ]; then
			w=-
		else
			w=$(timed "${cmd[@]}") || die "$n failed: $(tail -5 "$work/errors")"
			warm[$n]="${warm[$n]} $w"
		fi
		kill "${regpids[-1]}" 2>/dev/null || true
		line="$line $n $(printf '%.3f' "$c")/$w"
	done
	echo "$line"
done

echo
printf 'best of %d (seconds)   cold     warm\n' "$ROUNDS"
for n in "${names[@]}"; do
	# shellcheck disable=SC2086 # the lists are words
	c=$(best ${cold[$n]})
	if [ -n "${warm[$n]}" ]; then
		# shellcheck disable=SC2086
		w=$(printf '%.3f' "$(best ${warm[$n]})")
	else
		w=-
	fi
	printf '%-20s %7.3f  %7s\n' "$n" "$c" "$w"
	eval "best_$(echo "$n" | tr - _)=$c"
	[ "$w" = - ] || eval "warm_$(echo "$n" | tr - _)=$w"
done
# shellcheck disable=SC2154 # set by the eval above
{
	printf '\nhusk-compress / floor  = %.2f   (target <= 1.15: compress and upload, as the floor does)\n' "$(echo "$best_husk_compress / $best_floor" | bc -l)"
	printf 'husk-compress / podman = %.2f   (target <= 0.5)\n' "$(echo "$best_husk_compress / $best_podman" | bc -l)"
	printf 'husk / floor           = %.2f   (blobs as stored: nothing to compress)\n' "$(echo "$best_husk / $best_floor" | bc -l)"
	printf 'husk / skopeo          = %.2f\n' "$(echo "$best_husk / $best_skopeo" | bc -l)"
	printf 'husk warm = %.0f ms for %d layers and the config (target <= 50 ms plus a HEAD per layer)\n' "$(echo "$warm_husk * 1000" | bc -l)" "${#layers[@]}"
}
