#!/bin/bash
# bench/startup.sh: container start-up time, husk against its peers, in one run.
#
#   sudo bench/startup.sh [N]        (N sequential runs per tool, default 100)
#
# Everything runs rootless, as the user husk-bench (created with a subordinate id range when
# missing), on the same busybox image:
#   husk    husk run --rm IMAGE true      (user, mount, pid, net+lo, uts, ipc, cgroup namespaces;
#                                          seccomp default profile, Docker's capabilities)
#   crun    crun run on a rootless bundle of the image's layer (same namespaces, the
#   runc    runc run   containers-common seccomp profile, Docker's capabilities)
#   podman  podman run --rm --network none IMAGE true (runtime = "runc", see containers.conf)
#   unshare unshare -Urmpfn --mount-proc true: the floor, namespaces and nothing else
# and prints each median, its ratio to husk's, and husk's peak RSS.  The tools take turns in
# BENCH_ROUNDS rounds (default 10), so that the load of a shared machine falls on all alike.
#
# This machine's Debian crun refuses the hybrid cgroup layout: it runs in a private mount
# namespace (unshare -m, as root) without /sys/fs/cgroup/unified, then as husk-bench.
# BENCH_TOOLS="husk crun runc podman unshare" picks tools; HUSK=path picks the binary.
set -euo pipefail

N=${1:-100}
TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
HUSK=${HUSK:-$TOP/husk}
USER_NAME=husk-bench
RANGE=300000-365535
TOOLS=${BENCH_TOOLS:-husk crun runc podman unshare}

die() { echo "startup.sh: $*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || die "run as root (it sets up the bench user; crun needs a mount namespace)"
[ -x "$HUSK" ] || die "no husk binary at $HUSK (build first)"
for p in crun runc podman uidmap busybox-static jq; do
	dpkg-query -W -f='${db:Status-Abbrev}' "$p" 2>/dev/null | grep -q '^ii' || missing+=" $p"
done
if [ -n "${missing:-}" ]; then
	echo "startup.sh: installing$missing" >&2
	# shellcheck disable=SC2086
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q $missing >/dev/null
fi

id "$USER_NAME" >/dev/null 2>&1 || useradd -m -s /bin/bash "$USER_NAME"
touch /etc/subuid /etc/subgid
grep -q "^$USER_NAME:" /etc/subuid || usermod --add-subuids "$RANGE" "$USER_NAME"
grep -q "^$USER_NAME:" /etc/subgid || usermod --add-subgids "$RANGE" "$USER_NAME"
uid=$(id -u "$USER_NAME")
home=$(getent passwd "$USER_NAME" | cut -d: -f6)

# Lowercase: podman names the image after the layout's path.
work=/tmp/husk-bench-$$
rm -rf "$work"
mkdir "$work"
cleanup() {
	runuser -u "$USER_NAME" -- podman rmi -f localhost/bench:latest >/dev/null 2>&1 || true
	if [ -d "$work/store" ]; then
		runuser -u "$USER_NAME" -- unshare --map-user=0 --map-group=0 --map-users=auto \
			--map-groups=auto rm -rf "$work/store" "$work/bundle" 2>/dev/null || true
	fi
	rm -rf "$work"
}
trap cleanup EXIT
chmod 0755 "$work"
cp "$HUSK" "$work/husk"
# husk runs husk-full (for pull) and husk-netns (user networks) from beside itself, or from
# its install directory.
if [ -x "$(dirname "$HUSK")/husk-full" ]; then cp "$(dirname "$HUSK")/husk-full" "$work/"; fi
if [ -x "$(dirname "$HUSK")/husk-netns" ]; then cp "$(dirname "$HUSK")/husk-netns" "$work/"; fi

# ------------------------------------------------------------ the image
"$TOP/tests/mkimage.sh" "$work/bench" --tag latest --cmd '["true"]' >/dev/null
chown -R "$USER_NAME:" "$work"
as_user() { runuser -u "$USER_NAME" -- env -i PATH=/usr/local/bin:/usr/bin:/bin HOME="$home" \
	USER="$USER_NAME" XDG_RUNTIME_DIR="$work/run" "$@"; }
mkdir -p "$work/run" && chown "$USER_NAME:" "$work/run" && chmod 0700 "$work/run"

as_user "$work/husk" --root "$work/store" pull "oci:$work/bench:latest" >/dev/null

# A rootless OCI bundle of the same layer: the user unpacks it in its own user namespace,
# with its subordinate range, as husk does.
mkdir -p "$work/bundle/rootfs"
chown -R "$USER_NAME:" "$work/bundle"
layer=$(jq -r '.layers[0].digest' "$work/bench/blobs/sha256/$(jq -r '.manifests[0].digest' \
	"$work/bench/index.json" | cut -d: -f2)" | cut -d: -f2)
as_user unshare --map-user=0 --map-group=0 --map-users=auto --map-groups=auto \
	tar -xzf "$work/bench/blobs/sha256/$layer" -C "$work/bundle/rootfs"
caps='["CAP_CHOWN","CAP_DAC_OVERRIDE","CAP_FSETID","CAP_FOWNER","CAP_MKNOD","CAP_NET_RAW",
 "CAP_SETGID","CAP_SETUID","CAP_SETFCAP","CAP_SETPCAP","CAP_NET_BIND_SERVICE","CAP_SYS_CHROOT",
 "CAP_KILL","CAP_AUDIT_WRITE"]'
# The containers-common profile, as an OCI seccomp section for those capabilities on amd64.
seccomp=$(jq --argjson caps "$caps" '{
	defaultAction, defaultErrnoRet,
	architectures: ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
	syscalls: [.syscalls[]
		| select(((.includes.caps // []) - $caps) == [])
		| select(((.excludes.caps // []) - ((.excludes.caps // []) - $caps)) == [])
		| select(.includes.arches == null or (.includes.arches | index("amd64")))
		| select(.includes.minKernel == null)
		| del(.comment, .includes, .excludes, .errno)]
	} | with_entries(select(.value != null))' /usr/share/containers/seccomp.json)
# The same id map as husk's: the user as root, then its subordinate range (newuidmap).
IFS=: read -r _ sub_start sub_count < <(grep "^$USER_NAME:" /etc/subuid | head -1)
IFS=: read -r _ subg_start subg_count < <(grep "^$USER_NAME:" /etc/subgid | head -1)
as_user crun spec --rootless -b "$work/bundle"
jq --argjson caps "$caps" --argjson seccomp "$seccomp" '
	.process.args = ["true"] | .process.terminal = false
	| .process.capabilities = {bounding: $caps, effective: $caps, permitted: $caps}
	| .linux.seccomp = $seccomp
	| .linux.namespaces = [{type: "pid"}, {type: "network"}, {type: "ipc"}, {type: "uts"},
		{type: "mount"}, {type: "cgroup"}, {type: "user"}]
	| .linux.uidMappings = [{containerID: 0, hostID: '"$uid"', size: 1},
		{containerID: 1, hostID: '"$sub_start"', size: '"$sub_count"'}]
	| .linux.gidMappings = [{containerID: 0, hostID: '"$(id -g "$USER_NAME")"', size: 1},
		{containerID: 1, hostID: '"$subg_start"', size: '"$subg_count"'}]
	| .hostname = "bench"
	' "$work/bundle/config.json" >"$work/config.json"
mv "$work/config.json" "$work/bundle/config.json"
chown "$USER_NAME:" "$work/bundle/config.json"

# podman: the runtime this machine supports, its own storage, the same image.
mkdir -p "$home/.config/containers"
printf '[engine]\nruntime = "runc"\n' >"$home/.config/containers/containers.conf"
chown -R "$USER_NAME:" "$home/.config"

# --------------------------------------------------------------- timing
# loop FIRST N CMD...: N sequential runs, "{}" in CMD replaced by the run number (from FIRST);
# prints one duration in microseconds per line.  A failed run stops the benchmark.
loop_script='
first=$1 n=$2; shift 2
for ((i = first; i < first + n; i++)); do
	args=("${@//\{\}/$i}")
	s=${EPOCHREALTIME/./}
	"${args[@]}" >/dev/null 2>"$ERRLOG" || { echo "run $i failed: ${args[*]}" >&2; cat "$ERRLOG" >&2; exit 1; }
	e=${EPOCHREALTIME/./}
	echo $((e - s))
done'
median() { sort -n | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else print int((v[NR / 2] + v[NR / 2 + 1]) / 2) }'; }

# The tools take turns, ROUNDS rounds of N/ROUNDS runs each, so that a change in the machine's
# load (it is shared) falls on all of them alike.
ROUNDS=${BENCH_ROUNDS:-10}
per=$(((N + ROUNDS - 1) / ROUNDS))
user_loop() { as_user env ERRLOG="$work/run/err" bash -c "$loop_script" _ "$@"; }
# shellcheck disable=SC2016
crun_loop() {
	unshare -m bash -c 'umount /sys/fs/cgroup/unified 2>/dev/null || true; shift; exec "$@"' \
		_ _ runuser -u "$USER_NAME" -- env -i PATH=/usr/bin:/bin HOME="$home" \
		XDG_RUNTIME_DIR="$work/run" ERRLOG="$work/run/err" bash -c "$loop_script" _ "$@"
}
round() { # TOOL FIRST COUNT
	local t=$1 first=$2 n=$3
	case $t in
	husk) user_loop "$first" "$n" "$work/husk" --root "$work/store" run --rm localhost/bench:latest true ;;
	crun) crun_loop "$first" "$n" crun --root "$work/run/crun" run -b "$work/bundle" "b{}" ;;
	runc) user_loop "$first" "$n" runc --root "$work/run/runc" run -b "$work/bundle" "b{}" ;;
	podman) user_loop "$first" "$n" podman run --rm --network none localhost/bench:latest true ;;
	unshare) user_loop "$first" "$n" unshare -Urmpfn --mount-proc true ;;
	*) die "unknown tool \"$t\"" ;;
	esac
}

for t in $TOOLS; do
	case $t in
	podman)
		as_user podman pull -q "oci:$work/bench:latest" >/dev/null
		as_user podman tag "localhost${work}/bench:latest" localhost/bench:latest
		;;
	esac
	# Warm up: caches, podman's storage.
	round "$t" 100000 2 >/dev/null || die "$t failed"
	: >"$work/times-$t"
done
for ((r = 0; r < ROUNDS; r++)); do
	echo "startup.sh: round $((r + 1)) of $ROUNDS ($per runs of each of: $TOOLS)" >&2
	for t in $TOOLS; do
		round "$t" $((r * per)) "$per" >>"$work/times-$t" || die "$t failed"
	done
done
declare -A med
for t in $TOOLS; do
	med[$t]=$(median <"$work/times-$t")
done

# Peak RSS of husk (the largest of husk and the processes it waits for).
rss=$(as_user /usr/bin/time -f %M "$work/husk" --root "$work/store" run --rm localhost/bench:latest true 2>&1 >/dev/null | tail -1)

echo
printf '%-8s %12s %14s\n' tool "median (ms)" "tool / husk"
for t in $TOOLS; do
	printf '%-8s %12.2f %14.2f\n' "$t" "$(echo "${med[$t]} / 1000" | bc -l)" \
		"$(echo "${med[$t]} / ${med[husk]:-1}" | bc -l)"
done
[ -n "${med[husk]:-}" ] && [ -n "${med[unshare]:-}" ] &&
	printf '\nhusk / unshare: %.2f (goal: at most 1.5)\n' "$(echo "${med[husk]} / ${med[unshare]}" | bc -l)"
[ -n "${med[husk]:-}" ] && [ -n "${med[crun]:-}" ] &&
	printf 'husk / crun:    %.2f (goal: at most 1)\n' "$(echo "${med[husk]} / ${med[crun]}" | bc -l)"
printf 'husk peak RSS:  %s KiB\n' "$rss"
