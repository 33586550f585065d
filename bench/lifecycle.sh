#!/bin/bash
# bench/lifecycle.sh: many containers from one image (issue 5's benchmark).
#
#   sudo bench/lifecycle.sh [N...]       (batch sizes, default: 100 1000)
#
# Runs rootless, as the user husk-bench (created with a subordinate id range when missing, as
# bench/startup.sh does), on a busybox image whose command is a long sleep.  For each batch of N:
#   create   husk create --name NAME IMAGE, N times in a row: time per container
#   disk     what each container adds to the store and to RUNDIR before it writes anything
#            (du of its directories, after create and again once started)
#   start    husk start NAME, N times in a row: time per container
#   monitor  resident memory of one idle monitor (VmRSS, and Pss from /proc/PID/smaps_rollup),
#            and the mean Pss of all N monitors
#   rm -f    husk rm -f NAME, N times in a row: time per container
# and, once, `husk exec C true` latency beside `podman exec C true` (median of BENCH_EXEC_N runs,
# default 50; podman with runtime = "runc" in containers.conf, as bench/startup.sh sets it).
# BENCH_PODMAN=0 leaves podman out.  HUSK=path picks the binary.
set -euo pipefail

TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
HUSK=${HUSK:-$TOP/husk}
USER_NAME=husk-bench
RANGE=300000-365535
EXEC_N=${BENCH_EXEC_N:-50}
PODMAN=${BENCH_PODMAN:-1}
BATCHES=("$@")
[ ${#BATCHES[@]} -gt 0 ] || BATCHES=(100 1000)

die() { echo "lifecycle.sh: $*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || die "run as root (it sets up the bench user and reads its containers' files)"
[ -x "$HUSK" ] || die "no husk binary at $HUSK (build first)"
for c in create start exec rm; do
	"$HUSK" "$c" --help >/dev/null 2>&1 ||
		die "\"husk $c\" does not work with $HUSK (the lifecycle commands of issue 5 are needed)"
done
for n in "${BATCHES[@]}"; do
	[[ "$n" =~ ^[1-9][0-9]*$ ]] || die "batch size \"$n\": not a positive number"
done
need=(uidmap busybox-static bc)
[ "$PODMAN" = 1 ] && need+=(podman runc)
missing=
for p in "${need[@]}"; do
	dpkg-query -W -f='${db:Status-Abbrev}' "$p" 2>/dev/null | grep -q '^ii' || missing+=" $p"
done
if [ -n "$missing" ]; then
	echo "lifecycle.sh: installing$missing" >&2
	# shellcheck disable=SC2086
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q $missing >/dev/null ||
		die "could not install$missing"
fi
for t in du awk sort bc runuser; do
	command -v "$t" >/dev/null || die "\"$t\" is missing"
done

id "$USER_NAME" >/dev/null 2>&1 || useradd -m -s /bin/bash "$USER_NAME"
touch /etc/subuid /etc/subgid
grep -q "^$USER_NAME:" /etc/subuid || usermod --add-subuids "$RANGE" "$USER_NAME"
grep -q "^$USER_NAME:" /etc/subgid || usermod --add-subgids "$RANGE" "$USER_NAME"
home=$(getent passwd "$USER_NAME" | cut -d: -f6)

# Short: RUNDIR/ID/attach.sock must fit a socket address (108 bytes).
work=/tmp/hl-$$
rm -rf "$work"
mkdir "$work"
as_user() { runuser -u "$USER_NAME" -- env -i PATH=/usr/local/bin:/usr/bin:/bin HOME="$home" \
	USER="$USER_NAME" XDG_RUNTIME_DIR="$work/run" "$@"; }
H() { as_user "$work/husk" --root "$work/store" "$@"; }
cleanup() {
	set +e
	if [ -d "$work/store" ]; then
		for f in "$work"/names-*; do
			[ -e "$f" ] && xargs -r -n 50 runuser -u "$USER_NAME" -- env -i \
				XDG_RUNTIME_DIR="$work/run" "$work/husk" --root "$work/store" rm -f \
				<"$f" >/dev/null 2>&1
		done
	fi
	if [ "$PODMAN" = 1 ]; then
		as_user podman rm -f -t 0 husk-bench-exec >/dev/null 2>&1
		as_user podman rmi -f localhost/bench:latest >/dev/null 2>&1
	fi
	if [ -d "$work/store" ]; then
		runuser -u "$USER_NAME" -- unshare --map-user=0 --map-group=0 --map-users=auto \
			--map-groups=auto rm -rf "$work/store" 2>/dev/null
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
mkdir -p "$work/run" && chown "$USER_NAME:" "$work/run" && chmod 0700 "$work/run"

"$TOP/tests/mkimage.sh" "$work/bench" --tag latest --cmd '["sleep","1000000"]' >/dev/null
chown -R "$USER_NAME:" "$work"
H pull "oci:$work/bench:latest" >/dev/null || die "husk pull of the bench image failed"

# loop CMD...: the command once per line of names on stdin, "{}" replaced by the name; prints
# "NAME MICROSECONDS STDOUT" a line.  A failed command stops the benchmark.
# shellcheck disable=SC2016
loop_script='
while read -r name; do
	args=("${@//\{\}/$name}")
	s=${EPOCHREALTIME/./}
	out=$("${args[@]}" </dev/null 2>"$ERRLOG") || { echo "failed: ${args[*]}" >&2; cat "$ERRLOG" >&2; exit 1; }
	e=${EPOCHREALTIME/./}
	echo "$name $((e - s)) $out"
done'
loop() { as_user env ERRLOG="$work/run/err" bash -c "$loop_script" _ "$@"; }
median() { sort -n | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else print int((v[NR / 2] + v[NR / 2 + 1]) / 2) }'; }
mean() { awk '{ s += $1 } END { if (NR) print int(s / NR); else print 0 }'; }
ms() { printf '%.2f' "$(echo "$1 / 1000" | bc -l)"; }

# The monitor's pid: the third field of RUNDIR/ID/pid (engine/rundir.h).
monitor_pid() { # ID
	awk '{ print $3 }' "$work/run/husk/$1/pid" 2>/dev/null || true
}
# du -sk of a container's directories: the store's and RUNDIR's (as root: the upper directory
# holds files of the subordinate ids).
ctr_kib() { # ID
	{ du -sk "$work/store/containers/$1" "$work/run/husk/$1" 2>/dev/null || true; } |
		awk '{ s += $1 } END { print s + 0 }'
}

summary=()
exec_ctr=
for n in "${BATCHES[@]}"; do
	names=$work/names-$n
	seq -f "b$n-%g" 1 "$n" >"$names"
	echo "lifecycle.sh: batch of $n: create" >&2
	store_before=$(du -sk "$work/store" | awk '{ print $1 }')
	loop "$work/husk" --root "$work/store" create --name "{}" localhost/bench:latest \
		<"$names" >"$work/create-$n" || die "husk create failed"
	store_after=$(du -sk "$work/store" | awk '{ print $1 }')
	awk '{ print $3 }' "$work/create-$n" >"$work/ids-$n"
	[ "$(grep -c '^[0-9a-f]\{64\}$' "$work/ids-$n")" = "$n" ] ||
		die "husk create did not print a 64-hex ID for every container"
	disk_created=$(while read -r id; do ctr_kib "$id"; done <"$work/ids-$n" | mean)

	echo "lifecycle.sh: batch of $n: start" >&2
	loop "$work/husk" --root "$work/store" start "{}" <"$names" >"$work/start-$n" ||
		die "husk start failed"
	disk_started=$(while read -r id; do ctr_kib "$id"; done <"$work/ids-$n" | mean)

	# Monitors: one idle one in detail, then the mean Pss of them all.
	first=$(head -1 "$work/ids-$n")
	mpid=$(monitor_pid "$first")
	if [ -z "$mpid" ] || [ ! -d "/proc/$mpid" ]; then
		die "no monitor process for $first (no $work/run/husk/$first/pid)"
	fi
	rss=$(awk '/^VmRSS:/ { print $2 }' "/proc/$mpid/status")
	pss=$(awk '/^Pss:/ { print $2 }' "/proc/$mpid/smaps_rollup")
	pss_mean=$(while read -r id; do
		p=$(monitor_pid "$id")
		if [ -n "$p" ]; then
			awk '/^Pss:/ { print $2 }' "/proc/$p/smaps_rollup" 2>/dev/null || true
		fi
	done <"$work/ids-$n" | mean)

	if [ -z "$exec_ctr" ]; then
		exec_ctr=$(head -1 "$names")
		echo "lifecycle.sh: husk exec, $EXEC_N runs" >&2
		loop "$work/husk" --root "$work/store" exec "$exec_ctr" true \
			< <(seq -f "run%g" 1 "$EXEC_N") >"$work/exec-husk" || die "husk exec failed"
	fi

	echo "lifecycle.sh: batch of $n: rm -f" >&2
	loop "$work/husk" --root "$work/store" rm -f "{}" <"$names" >"$work/rm-$n" ||
		die "husk rm -f failed"
	rm -f "$names"
	left=$(find "$work/store/containers" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l)

	summary+=("$(printf '%6d %12s %12s %12s %12s %10s %10s %8s %8s %10s %6s' "$n" \
		"$(ms "$(awk '{ print $2 }' "$work/create-$n" | median)")" \
		"$(ms "$(awk '{ print $2 }' "$work/start-$n" | median)")" \
		"$(ms "$(awk -v n="$n" '{ s += $2 } END { print int(s / n) }' "$work/create-$n" "$work/start-$n")")" \
		"$(ms "$(awk '{ print $2 }' "$work/rm-$n" | median)")" \
		"$disk_created" "$disk_started" "$rss" "$pss" "$pss_mean" "$left")")
	echo "  (store grew by $((store_after - store_before)) KiB for $n created containers)" >&2
done

if [ "$PODMAN" = 1 ]; then
	echo "lifecycle.sh: podman exec, $EXEC_N runs" >&2
	mkdir -p "$home/.config/containers"
	printf '[engine]\nruntime = "runc"\n' >"$home/.config/containers/containers.conf"
	chown -R "$USER_NAME:" "$home/.config"
	as_user podman pull -q "oci:$work/bench:latest" >/dev/null || die "podman pull failed"
	as_user podman tag "localhost${work}/bench:latest" localhost/bench:latest
	as_user podman run -d --name husk-bench-exec --network none localhost/bench:latest \
		>/dev/null || die "podman run -d failed"
	loop podman exec husk-bench-exec true < <(seq -f "run%g" 1 "$EXEC_N") >"$work/exec-podman" ||
		die "podman exec failed"
fi

echo
printf '%6s %12s %12s %12s %12s %10s %10s %8s %8s %10s %6s\n' N "create (ms)" "start (ms)" \
	"both/ctr" "rm -f (ms)" "disk KiB" "+started" "RSS KiB" "Pss KiB" "Pss mean" left
printf '%s\n' "${summary[@]}"
echo "(create, start, rm -f: medians; both/ctr: the batch's create and start time over N;"
echo " disk: du of the container's directories after create, and once started, before it writes;"
echo " RSS, Pss: one idle monitor; Pss mean: over all N monitors; left: directories after rm -f)"
echo
printf 'exec latency (median of %d): husk exec %s ms' "$EXEC_N" \
	"$(ms "$(awk '{ print $2 }' "$work/exec-husk" | median)")"
if [ -s "$work/exec-podman" ]; then
	printf ', podman exec %s ms' "$(ms "$(awk '{ print $2 }' "$work/exec-podman" | median)")"
fi
echo
echo "targets: disk under 100 KB a container before it writes; an idle monitor under 1 MB"
