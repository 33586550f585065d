#!/bin/bash
# bench/network.sh: container networking, husk against podman, in one run.
#
#   sudo bench/network.sh [ROUNDS]      (each throughput ROUNDS times, default 3; medians)
#
# Everything runs rootless, as the user husk-bench (created with a subordinate id range when
# missing), through tests/user-env; the stores, the image and the run directories are on a
# tmpfs (/dev/shm).
#
# Throughput: iperf3, one TCP stream for BENCH_IPERF_SECONDS (default 3) seconds, the sender's
# data as the receiver counts it (end.sum_received), in Gbit/s.  Each engine runs four
# containers of the same image.  Two with user-mode networking through pasta:
#   nb-srv   iperf3 -s, its port 5201 published on a free host port (-p HOSTPORT:5201)
#   nb-cli   a shell that sleeps, no port published
# and two on a user network, benchnet (husk network create / podman network create):
#   nbu-srv  iperf3 -s, published on another free host port (-p UHOSTPORT:5201)
#   nbu-cli  a shell that sleeps
# Six paths are measured:
#   pasta:
#   host -> container        iperf3 -c 127.0.0.1 -p HOSTPORT on the host (to nb-srv)
#   container -> host        in nb-cli, iperf3 -c HOST to an iperf3 -s on the host
#   container -> container   in nb-cli, iperf3 -c HOST -p HOSTPORT (to nb-srv, by way of the host)
#   user network:
#   host -> container        iperf3 -c 127.0.0.1 -p UHOSTPORT on the host (to nbu-srv): husk's
#                            forwarder (engine/portfwd.c), podman's rootlessport
#   container -> host        in nbu-cli, iperf3 -c UHOST to the iperf3 -s on the host: pasta
#                            of husk's store network namespace, podman's slirp4netns
#   container <-> container  in nbu-cli, iperf3 -c nbu-srv: by name, across the bridge
# HOST is the host's loopback as the container sees it: host.containers.internal for husk, the
# gateway address for podman (pasta maps it to the host's loopback).  UHOST: the same name for
# husk; 10.0.2.2 for podman, slirp4netns's address of the host's loopback (allow_host_loopback,
# set in the containers.conf of the run).  The floor: iperf3 -c 127.0.0.1 to the same
# iperf3 -s on the host, both ends outside any container.  The paths take turns in each round,
# so that the load of a shared machine falls on all alike.
#
#   husk    husk run -d --network pasta [-p HOSTPORT:5201] IMAGE ...; husk exec C iperf3 -c ...
#           husk run -d --network benchnet [-p UHOSTPORT:5201] IMAGE ...
#   podman  podman run -d --network none IMAGE ..., with pasta attached to the container's
#           network namespace as podman 4.4 and later do for --network pasta
#           (pasta --config-net -t HOSTPORT:5201 PID): Debian 12's podman 4.3 has no pasta
#           mode.  pasta is the only process in the data path either way.  runtime runc.
#           User network: podman run -d --network benchnet [-p UHOSTPORT:5201], backend
#           netavark with aardvark-dns (names), slirp4netns (podman's rootless network
#           namespace) and rootlessport (-p); when podman cannot make such a network here the
#           table says why and leaves its column empty for those paths.
#
# Start-up: husk run --rm IMAGE true with the default network (still none), --network none,
# --network pasta, --network bridge (the default user network, husk) and --network benchnet,
# BENCH_START_N times each (default 20), taking turns; medians in ms, timed inside the user's
# shell, and each one's difference to none.  nbu-cli keeps running on benchnet meanwhile, so
# the store's network namespace is up (its cost is not counted: the target is what a
# container adds once it is).  Beside them, pasta alone: pasta --config-net true (pasta makes
# a user and network namespace, configures it and runs true there), what pasta itself costs.
# For reference, podman run --rm IMAGE true with its default network (slirp4netns in 4.3),
# --network none and --network benchnet, in the same way.
#
# Targets (the last lines): husk's throughput >= podman's on every path, container <->
# container on a user network >= 0.7 x loopback, --network bridge and benchnet <= 5 ms more
# than none.
#
# The image holds the host's own iperf3, the shared libraries ldd names for it, the dynamic
# loader and busybox (busybox-static): a tarball given to husk import and podman import (no
# network needed).  Whatever the script started (iperf3 -s, pasta, the containers, the
# networks, podman's pause process) is stopped when it ends, fails or is interrupted, and its
# directory removed.  BENCH_TOOLS="husk podman" picks the engines; HUSK=path picks the binary.
set -euo pipefail

ROUNDS=${1:-3}
TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
HUSK=${HUSK:-$TOP/husk}
USER_NAME=husk-bench
RANGE=165536-231071
TOOLS=${BENCH_TOOLS:-husk podman}
SECS=${BENCH_IPERF_SECONDS:-3}
START_N=${BENCH_START_N:-20}
IMAGE=localhost/bench-iperf:latest

die() { echo "network.sh: $*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || die "run as root (it sets up the bench user and runs as that user)"
[[ "$ROUNDS" =~ ^[1-9][0-9]*$ ]] || die "rounds \"$ROUNDS\": not a positive number"
have() { [[ " $TOOLS " == *" $1 "* ]]; }
for t in $TOOLS; do
	case $t in husk | podman) ;; *) die "unknown tool \"$t\" (husk, podman)" ;; esac
done
if have husk; then
	[ -x "$HUSK" ] || die "no husk binary at $HUSK (build first)"
	"$HUSK" run --help 2>&1 | grep -q pasta ||
		die "$HUSK has no \"run --network pasta\" (user-mode networking is needed)"
	"$HUSK" network --help >/dev/null 2>&1 ||
		die "$HUSK has no \"network\" command (user networks are needed)"
fi
need=(iperf3 passt uidmap busybox-static jq python3)
have podman && need+=(podman runc)
missing=
for p in "${need[@]}"; do
	dpkg-query -W -f='${db:Status-Abbrev}' "$p" 2>/dev/null | grep -q '^ii' || missing+=" $p"
done
if [ -n "$missing" ]; then
	echo "network.sh: installing$missing" >&2
	# shellcheck disable=SC2086
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q $missing >/dev/null ||
		die "could not install$missing"
fi
# What podman's user networks need, rootless: without it podman's column stays empty on those
# paths, with the reason (podman_unet_why).
podman_unet_why=
if have podman; then
	missing=
	for p in netavark aardvark-dns slirp4netns; do
		dpkg-query -W -f='${db:Status-Abbrev}' "$p" 2>/dev/null | grep -q '^ii' || missing+=" $p"
	done
	if [ -n "$missing" ]; then
		echo "network.sh: installing$missing (podman's user networks)" >&2
		# shellcheck disable=SC2086
		DEBIAN_FRONTEND=noninteractive apt-get install -y -q $missing >/dev/null 2>&1 ||
			podman_unet_why="could not install$missing"
	fi
fi
[ -c /dev/net/tun ] ||
	die "/dev/net/tun is missing; rootless pasta needs it"
[ "$(stat -c %a /dev/net/tun)" = 666 ] ||
	echo "network.sh: /dev/net/tun is not mode 0666: rootless pasta may fail" >&2

id "$USER_NAME" >/dev/null 2>&1 || useradd -m -s /bin/bash "$USER_NAME"
touch /etc/subuid /etc/subgid
grep -q "^$USER_NAME:" /etc/subuid || usermod --add-subuids "$RANGE" "$USER_NAME"
grep -q "^$USER_NAME:" /etc/subgid || usermod --add-subgids "$RANGE" "$USER_NAME"

# Short: podman's run root must be under 50 characters.
work=$(mktemp -d /dev/shm/hkn.XXXXXX)
chmod 0755 "$work"
pids=()   # iperf3 -s on the host, pasta attached to podman's containers
cleanup() {
	set +e
	local p
	for p in "${pids[@]}"; do
		kill "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	if [ -d "$work/husk-store" ]; then
		H rm -f nb-srv nb-cli nbu-srv nbu-cli >/dev/null 2>&1
		H network rm benchnet >/dev/null 2>&1
	fi
	if [ -d "$work/ps" ]; then
		P rm -f -t 0 nb-srv nb-cli nbu-srv nbu-cli >/dev/null 2>&1
		P network rm -f benchnet >/dev/null 2>&1
		# podman's rootless pause process, which holds its user namespace.
		p=$(cat "$work/run-$USER_NAME/libpod/tmp/pause.pid" 2>/dev/null)
		[ -n "$p" ] && kill "$p" 2>/dev/null
	fi
	cd /
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

cp "$HUSK" "$work/husk"
# husk runs husk-full (for import) and husk-netns (user networks) from beside itself, or from
# its install directory.
if [ -x "$(dirname "$HUSK")/husk-full" ]; then cp "$(dirname "$HUSK")/husk-full" "$work/"; fi
if [ -x "$(dirname "$HUSK")/husk-netns" ]; then cp "$(dirname "$HUSK")/husk-netns" "$work/"; fi
# slirp4netns's 10.0.2.2 is the host's loopback (podman's container -> host on benchnet).
cat >"$work/containers.conf" <<'EOF'
[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
network_cmd_options = ["allow_host_loopback=true"]
[network]
network_backend = "netavark"
EOF

# As the user, with the environment tests/user-env makes (HOME, XDG_RUNTIME_DIR and TMPDIR in
# the work directory).
U() { "$TOP/tests/user-env" "$USER_NAME" "$work" CONTAINERS_CONF="$work/containers.conf" -- "$@"; }
H() { U "$work/husk" --root "$work/husk-store" "$@"; }
P() { U podman --log-level error --root "$work/ps" --runroot "$work/pr" "$@"; }
# In the background, as the user: tests/user-env execs the command, so its pid is $!.
bg_user() { # LOG CMD...
	local log=$1
	shift
	"$TOP/tests/user-env" "$USER_NAME" "$work" -- "$@" >"$log" 2>&1 &
	pids+=($!)
}

# ------------------------------------------------------------------ the image
root=$work/rootfs
mkdir -p "$root"/{bin,usr/bin,etc,tmp,proc,sys,dev,root}
chmod 1777 "$root/tmp"
cp /usr/bin/iperf3 "$root/usr/bin/"
# The libraries and the loader, each where ldd finds it (the loader: the path in PT_INTERP).
while read -r lib; do
	mkdir -p "$root$(dirname "$lib")"
	cp -L "$lib" "$root$lib"
done < <(ldd /usr/bin/iperf3 | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }')
cp /bin/busybox "$root/bin/busybox"
for a in sh true sleep ip netstat grep cat; do ln -s busybox "$root/bin/$a"; done
# Names from /etc/hosts first (glibc without this file asks DNS first).
echo 'hosts: files dns' >"$root/etc/nsswitch.conf"
tar -C "$root" --numeric-owner --owner=0 --group=0 -cf "$work/iperf.tar" .
chown -R "$USER_NAME:" "$work"
have husk && { H import -c 'ENV PATH=/usr/bin:/bin' "$work/iperf.tar" "$IMAGE" >/dev/null ||
	die "husk import failed"; }
have podman && { P import -q -c 'ENV PATH=/usr/bin:/bin' "$work/iperf.tar" "$IMAGE" >/dev/null ||
	die "podman import failed"; }

# ------------------------------------------------------------------ the servers
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
# until SECONDS CMD...: CMD again every 0.1 s until it succeeds; fails after SECONDS.
until_ok() {
	local n=$(($1 * 10))
	shift
	while ! "$@" >/dev/null 2>&1; do
		((n-- > 0)) || return 1
		sleep 0.1
	done
}
host_listens() { ss -Hltn "sport = :$1" | grep -q .; }

host_port=$(free_port)
bg_user "$work/iperf3-host.log" iperf3 -s -p "$host_port"
until_ok 10 host_listens "$host_port" || die "iperf3 -s on the host did not start: $(cat "$work/iperf3-host.log")"

declare -A srv_port peer usrv_port upeer why
if have husk; then
	srv_port[husk]=$(free_port)
	H run -d --name nb-srv --network pasta -p "${srv_port[husk]}:5201" "$IMAGE" iperf3 -s >/dev/null ||
		die "husk run -d --network pasta -p ${srv_port[husk]}:5201 failed"
	H run -d --name nb-cli --network pasta "$IMAGE" sleep 1000000 >/dev/null ||
		die "husk run -d --network pasta failed"
	peer[husk]=host.containers.internal
	H network create benchnet >/dev/null || die "husk network create benchnet failed"
	usrv_port[husk]=$(free_port)
	H run -d --name nbu-srv --network benchnet -p "${usrv_port[husk]}:5201" "$IMAGE" iperf3 -s \
		>/dev/null || die "husk run -d --network benchnet -p ${usrv_port[husk]}:5201 failed"
	H run -d --name nbu-cli --network benchnet "$IMAGE" sleep 1000000 >/dev/null ||
		die "husk run -d --network benchnet failed"
	upeer[husk]=host.containers.internal
fi
if have podman; then
	srv_port[podman]=$(free_port)
	P run -d --name nb-srv --network none "$IMAGE" iperf3 -s >/dev/null || die "podman run failed"
	P run -d --name nb-cli --network none "$IMAGE" sleep 1000000 >/dev/null || die "podman run failed"
	for c in nb-srv nb-cli; do
		pid=$(P inspect -f '{{.State.Pid}}' "$c")
		ports=none
		[ $c = nb-srv ] && ports=${srv_port[podman]}:5201
		bg_user "$work/pasta-$c.log" pasta -f --quiet --config-net -t "$ports" -u none -T none -U none "$pid"
	done
	podman_ready() { P exec nb-cli ip route 2>/dev/null | grep -q '^default'; }
	until_ok 10 podman_ready ||
		die "pasta did not configure podman's container: $(cat "$work/pasta-nb-cli.log")"
	peer[podman]=$(P exec nb-cli ip route | awk '$1 == "default" { print $3; exit }')
	upeer[podman]=10.0.2.2
	# podman's user network: what fails is the reason in the table, not the end of the run.
	if [ -z "$podman_unet_why" ] && ! out=$(P network create benchnet 2>&1); then
		podman_unet_why="podman network create benchnet: $(head -n 1 <<<"$out")"
	fi
	if [ -z "$podman_unet_why" ]; then
		usrv_port[podman]=$(free_port)
		if ! out=$(P run -d --name nbu-srv --network benchnet -p "${usrv_port[podman]}:5201" \
			"$IMAGE" iperf3 -s 2>&1) ||
			! out=$(P run -d --name nbu-cli --network benchnet "$IMAGE" sleep 1000000 2>&1); then
			podman_unet_why="podman run --network benchnet: $(head -n 1 <<<"$out")"
		fi
	fi
	if [ -n "$podman_unet_why" ]; then
		for p in uh2c uc2h uc2c; do why[podman,$p]=$podman_unet_why; done
	fi
fi
engine() { if [ "$1" = husk ]; then H "${@:2}"; else P "${@:2}"; fi; }
for t in $TOOLS; do
	until_ok 10 engine "$t" exec nb-srv sh -c 'netstat -ltn | grep -q ":5201 "' ||
		die "$t: iperf3 -s did not start in the container"
	until_ok 10 host_listens "${srv_port[$t]}" ||
		die "$t: nothing listens on the published port ${srv_port[$t]}"
	[ -n "${why[$t,uc2c]:-}" ] && continue
	until_ok 10 engine "$t" exec nbu-srv sh -c 'netstat -ltn | grep -q ":5201 "' ||
		die "$t: iperf3 -s did not start in the container on benchnet"
	until_ok 10 host_listens "${usrv_port[$t]}" ||
		die "$t: nothing listens on the port ${usrv_port[$t]} published from benchnet"
done

# ------------------------------------------------------------------ throughput
# gbits CMD...: run an iperf3 client (-J), print the Gbit/s the receiver counted.
gbits() {
	local out
	out=$("$@" 2>&1) || die "failed: $*
$out"
	jq -er '.end.sum_received.bits_per_second / 1e9' <<<"$out" 2>/dev/null ||
		die "no result from: $*
$out"
}
ip3=(iperf3 -J -t "$SECS" -c)
paths=(h2c c2h c2c uh2c uc2h uc2c)
num() { if [ -n "$1" ]; then printf '%.2f' "$1"; else echo -; fi; }
# client TOOL PATH: the iperf3 client of that path (ip3), on the host or in a container.
client() {
	local t=$1
	case $2 in
	h2c) U "${ip3[@]}" 127.0.0.1 -p "${srv_port[$t]}" ;;
	c2h) engine "$t" exec nb-cli "${ip3[@]}" "${peer[$t]}" -p "$host_port" ;;
	c2c) engine "$t" exec nb-cli "${ip3[@]}" "${peer[$t]}" -p "${srv_port[$t]}" ;;
	uh2c) U "${ip3[@]}" 127.0.0.1 -p "${usrv_port[$t]}" ;;
	uc2h) engine "$t" exec nbu-cli "${ip3[@]}" "${upeer[$t]}" -p "$host_port" ;;
	uc2c) engine "$t" exec nbu-cli "${ip3[@]}" nbu-srv ;;
	esac
}
# podman's paths on benchnet, one second each first: one that fails is left out, with the
# reason (husk's are not: a failure there ends the run).
if have podman; then
	for p in uh2c uc2h uc2c; do
		[ -n "${why[podman,$p]:-}" ] && continue
		# shellcheck disable=SC2034  # client reads it
		ip3=(iperf3 -J -t 1 -c)
		if ! out=$(client podman "$p" 2>&1) || ! jq -e .end.sum_received <<<"$out" >/dev/null 2>&1; then
			why[podman,$p]="$(jq -r '.error // empty' <<<"$out" 2>/dev/null || true)"
			[ -n "${why[podman,$p]}" ] || why[podman,$p]=$(head -n 1 <<<"$out")
		fi
		ip3=(iperf3 -J -t "$SECS" -c)
	done
fi
declare -A res
for ((r = 1; r <= ROUNDS; r++)); do
	v=$(gbits U "${ip3[@]}" 127.0.0.1 -p "$host_port")
	res[loop]+="$v "
	line="loop $(num "$v")"
	for t in $TOOLS; do
		for p in "${paths[@]}"; do
			[ -n "${why[$t,$p]:-}" ] && continue
			v=$(gbits client "$t" "$p")
			res[$t,$p]+="$v "
			line+=", $t $p $(num "$v")"
		done
	done
	# Each round's values, to see the spread behind the medians.
	echo "network.sh: round $r of $ROUNDS (Gbit/s): $line" >&2
done

# ------------------------------------------------------------------ start-up
# Each of the networks given, N times, taking turns; "VARIANT MICROSECONDS" lines.  Run as
# the user; nbu-cli keeps the store's network namespace up meanwhile.
# shellcheck disable=SC2016
start_script='
husk=$1 store=$2 image=$3 ps=$4 pr=$5 n=$6
shift 6
nets=("$@")
k=${#nets[@]}
for ((i = 0; i < n; i++)); do
	for ((j = 0; j < k; j++)); do
		v=${nets[(i + j) % k]}
		case $v in
		default) cmd=("$husk" --root "$store" run --rm "$image" true) ;;
		alone) cmd=(pasta --config-net --quiet -t none -u none -T none -U none true) ;;
		podman-default) cmd=(podman --log-level error --root "$ps" --runroot "$pr" run --rm "$image" true) ;;
		podman-*) cmd=(podman --log-level error --root "$ps" --runroot "$pr" run --rm --network "${v#podman-}" "$image" true) ;;
		*) cmd=("$husk" --root "$store" run --rm --network "$v" "$image" true) ;;
		esac
		s=${EPOCHREALTIME/./}
		"${cmd[@]}" >/dev/null 2>"$TMPDIR/err" ||
			{ echo "${cmd[*]} failed:" >&2; cat "$TMPDIR/err" >&2; exit 1; }
		e=${EPOCHREALTIME/./}
		echo "$v $((e - s))"
	done
done'
# start N NETWORK...: warm up twice, then N rounds, appended to $work/start.
start() {
	local n=$1
	shift
	U bash -c "$start_script" _ "$work/husk" "$work/husk-store" "$IMAGE" "$work/ps" "$work/pr" \
		2 "$@" >/dev/null || die "run --rm failed"
	U bash -c "$start_script" _ "$work/husk" "$work/husk-store" "$IMAGE" "$work/ps" "$work/pr" \
		"$n" "$@" >>"$work/start" || die "run --rm failed"
}
: >"$work/start"
husk_nets=(default none pasta bridge benchnet alone)
podman_nets=(podman-default podman-none)
[ -z "${why[podman,uc2c]:-}" ] && podman_nets+=(podman-benchnet)
if have husk; then
	echo "network.sh: husk start-up, $START_N runs of each network" >&2
	start "$START_N" "${husk_nets[@]}"
fi
if have podman; then
	echo "network.sh: podman start-up, $START_N runs of each network" >&2
	start "$START_N" "${podman_nets[@]}"
fi

# ------------------------------------------------------------------ the table
median() { sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) exit; if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
med() { tr ' ' '\n' <<<"${res[$1]:-}" | { grep . || true; } | median; }
ratio() { if [ -n "$1" ] && [ -n "$2" ]; then awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; else echo -; fi; }
# ge A B [FACTOR]: whether A >= FACTOR x B (both given).
ge() { [ -n "$1" ] && [ -n "$2" ] && awk -v a="$1" -v b="$2" -v f="${3:-1}" 'BEGIN { exit !(a >= f * b) }'; }
path_name() {
	case $1 in
	h2c) echo "host -> container" ;;
	c2h) echo "container -> host" ;;
	c2c) echo "container -> container" ;;
	uh2c) echo "host -> container (-p)" ;;
	uc2h) echo "container -> host" ;;
	uc2c) echo "container <-> container" ;;
	esac
}

loop=$(med loop)
echo
echo "iperf3, one TCP stream, ${SECS} s, median of $ROUNDS (Gbit/s); load at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-30s %8s %8s %9s %12s %14s\n' path husk podman loopback husk/podman husk/loopback
for p in "${paths[@]}"; do
	case $p in
	h2c) echo "pasta (--network pasta; podman: pasta attached)" ;;
	uh2c) echo "user network benchnet (bridge, veth)" ;;
	esac
	h=$(med "husk,$p")
	d=$(med "podman,$p")
	printf '  %-28s %8s %8s %9s %12s %14s\n' "$(path_name "$p")" "$(num "$h")" "$(num "$d")" \
		"$(num "$loop")" "$(ratio "$h" "$d")" "$(ratio "$h" "$loop")"
done
printf '%-30s %8s %8s %9s\n' "loopback (no container)" - - "$(num "$loop")"
for t in $TOOLS; do
	for p in "${paths[@]}"; do
		[ -n "${why[$t,$p]:-}" ] || continue
		echo "  $t, $(path_name "$p") on benchnet: not available: ${why[$t,$p]}"
	done
done

# start_table ENGINE VARIANT...: medians, and the difference to none.
start_table() {
	local e=$1 none v m name pre=
	shift
	[ "$e" = podman ] && pre=podman-
	none=$(awk -v v="${pre}none" '$1 == v { print $2 }' "$work/start" | median)
	echo
	echo "$e run --rm IMAGE true, median of $START_N (ms)"
	printf '%-24s %8s %9s %8s\n' network median "- none" "/ none"
	for v in "$@"; do
		m=$(awk -v v="$v" '$1 == v { print $2 }' "$work/start" | median)
		name=${v#podman-}
		case $name in
		alone) name="pasta alone (no husk)" ;;
		default) [ "$e" = husk ] && name="default (none)" || name="default (slirp4netns)" ;;
		esac
		printf '%-24s %8.2f %+9.2f %8s\n' "$name" "$(awk -v m="$m" 'BEGIN { print m / 1000 }')" \
			"$(awk -v m="$m" -v n="$none" 'BEGIN { print (m - n) / 1000 }')" "$(ratio "$m" "$none")"
	done
}
have husk && start_table husk "${husk_nets[@]}"
have podman && start_table podman "${podman_nets[@]}"

if have husk; then
	echo
	echo "targets"
	if have podman; then
		below=
		for p in "${paths[@]}"; do
			d=$(med "podman,$p")
			[ -n "$d" ] || continue
			ge "$(med "husk,$p")" "$d" || below+=" $p"
		done
		if [ -z "$below" ]; then verdict=met; else verdict="NOT met:$below"; fi
		echo "  husk >= podman on every path podman has:       $verdict"
	fi
	u=$(med husk,uc2c)
	if ge "$u" "$loop" 0.7; then verdict=met; else verdict="NOT met"; fi
	echo "  container <-> container >= 0.7 x loopback:      $(ratio "$u" "$loop") x, $verdict"
	none=$(awk '$1 == "none" { print $2 }' "$work/start" | median)
	for v in bridge benchnet; do
		m=$(awk -v v="$v" '$1 == v { print $2 }' "$work/start" | median)
		d=$(awk -v m="$m" -v n="$none" 'BEGIN { printf "%.2f", (m - n) / 1000 }')
		if awk -v d="$d" 'BEGIN { exit !(d <= 5) }'; then verdict=met; else verdict="NOT met"; fi
		printf '  %-46s  %s ms, %s\n' "--network $v adds <= 5 ms to the start:" "$d" "$verdict"
	done
fi
