#!/bin/sh
# mkimage.sh: build a small OCI image layout for husk's tests.
#
# Needs only a POSIX sh, coreutils, GNU tar and gzip, so that the tests do
# not depend on another container tool to make their images.  The same
# options give byte-identical blobs (tar --sort=name --mtime=@0
# --numeric-owner, gzip -n), hence the same image ID.
#
# Prints the image ID (sha256 of the config, hex) on stdout.
set -eu

prog=mkimage.sh
NL='
'
DEFAULT_PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
EPOCH=1970-01-01T00:00:00Z
MT_INDEX=application/vnd.oci.image.index.v1+json
MT_MANIFEST=application/vnd.oci.image.manifest.v1+json
MT_CONFIG=application/vnd.oci.image.config.v1+json
MT_LAYER=application/vnd.oci.image.layer.v1.tar
REF_NAME=org.opencontainers.image.ref.name
INDEX_HEAD="{\"schemaVersion\":2,\"mediaType\":\"$MT_INDEX\",\"manifests\":["
INDEX_TAIL=']}'

usage() {
	cat <<EOF
usage: $prog OUTDIR [options]

Writes (or adds to) the OCI image layout OUTDIR and prints the image ID.

  --tag TAG               annotate the index descriptor with ref.name TAG;
                          repeatable, each gives a descriptor; a tag already
                          in OUTDIR/index.json is moved to the new image
  --cmd JSON              config Cmd, a JSON array: --cmd '["sh","-c","id"]'
  --entrypoint JSON       config Entrypoint, a JSON array
  --workdir DIR           config WorkingDir
  --stop-signal SIG       config StopSignal, written as given (any text: the
                          tests also need names husk does not know)
  --env K=V               config Env entry, repeatable; PATH=$DEFAULT_PATH
                          is included unless an --env sets PATH
  --add SRC:DEST          copy host file (or directory) SRC to DEST in the
                          base layer, repeatable
  --layer DIR             an extra layer from the staged tree DIR,
                          repeatable, in order
  --layer-tar FILE        an extra layer that is the uncompressed tar FILE
                          as it is (whiteouts, odd entries; see
                          tests/mklayer.py), in order with --layer
  --empty-history TEXT    a history entry with empty_layer after the rest
  --compression gzip|zstd|none
                          layer compression (default gzip)
  --owner-file PATH:UID:GID
                          in the last layer, PATH is owned by UID:GID
                          (repeatable; needs root)

The base layer holds /bin/busybox (from \$BUSYBOX, default /bin/busybox,
which must be static) with a symlink per applet, /etc/passwd and /etc/group
(root, and tester 1234:1234), /etc/hostname, /tmp (1777), /root, /proc,
/dev and /sys.
EOF
	exit "${1:-2}"
}

die() {
	printf '%s: %s\n' "$prog" "$*" >&2
	exit 1
}

# json_str VALUE: print VALUE as a JSON string, quotes included.
json_str() {
	_s=$1
	_o=
	while [ -n "$_s" ]; do
		_r=${_s#?}
		_c=${_s%"$_r"}
		_s=$_r
		# shellcheck disable=SC1003 # '\' is a lone backslash
		case $_c in
		'\') _o="$_o\\\\" ;;
		'"') _o="$_o\\\"" ;;
		'	') _o="$_o\\t" ;;
		[[:cntrl:]]) die "control character in \"$1\"" ;;
		*) _o="$_o$_c" ;;
		esac
	done
	printf '"%s"' "$_o"
}

sha256_of() {
	# shellcheck disable=SC2046 # split "HEX  -" into words
	set -- $(sha256sum <"$1")
	printf '%s' "$1"
}

size_of() {
	stat -c %s -- "$1"
}

go_arch() {
	if command -v dpkg >/dev/null 2>&1; then
		_a=$(dpkg --print-architecture)
	else
		_a=$(uname -m)
	fi
	case $_a in
	amd64 | x86_64) echo amd64 ;;
	arm64 | aarch64) echo arm64 ;;
	armhf | armel | arm*) echo arm ;;
	i386 | i686) echo 386 ;;
	ppc64el | ppc64le) echo ppc64le ;;
	s390x) echo s390x ;;
	riscv64) echo riscv64 ;;
	mips64el) echo mips64le ;;
	*) die "unknown architecture \"$_a\"" ;;
	esac
}

# A JSON array given on the command line goes into the config verbatim; we
# only check its outline (no JSON parser here).
check_array() {
	case $2 in
	'['*']') ;;
	*) die "$1 \"$2\": not a JSON array" ;;
	esac
}

no_newline() {
	case $2 in
	*"$NL"*) die "$1: newline in value" ;;
	esac
}

# Relative, clean path inside the image from an absolute or relative one.
image_path() {
	_p=$1
	while :; do
		case $_p in
		/*) _p=${_p#/} ;;
		./*) _p=${_p#./} ;;
		*) break ;;
		esac
	done
	case /$_p/ in
	*/../* | //) die "path \"$1\": must name a file inside the image" ;;
	esac
	printf '%s' "${_p%/}"
}

# ---------------------------------------------------------------- options
[ $# -ge 1 ] || usage
case $1 in
-h | --help) usage 0 ;;
-*) die "first argument must be OUTDIR, not \"$1\"" ;;
esac
out=$1
shift

tags=
cmd=
entrypoint=
workdir=
has_workdir=false
stop_signal=
has_stop_signal=false
envs=
adds=
layers=
compression=gzip
owners=
empties=

while [ $# -gt 0 ]; do
	case $1 in
	--*=*)
		_opt=${1%%=*}
		_val=${1#*=}
		shift
		set -- "$_opt" "$_val" "$@"
		;;
	esac
	case $1 in
	-h | --help) usage 0 ;;
	--tag | --cmd | --entrypoint | --workdir | --stop-signal | --env | --add | --layer | --layer-tar | --empty-history | --compression | --owner-file)
		[ $# -ge 2 ] || die "option $1 needs a value"
		no_newline "$1" "$2"
		;;
	*) die "unknown option \"$1\"" ;;
	esac
	case $1 in
	--tag)
		[ -n "$2" ] || die "--tag: empty tag"
		tags="$tags$2$NL"
		;;
	--cmd)
		check_array --cmd "$2"
		cmd=$2
		;;
	--entrypoint)
		check_array --entrypoint "$2"
		entrypoint=$2
		;;
	--workdir)
		workdir=$2
		has_workdir=true
		;;
	--stop-signal)
		stop_signal=$2
		has_stop_signal=true
		;;
	--env)
		case $2 in
		?*=*) ;;
		*) die "--env \"$2\": not K=V" ;;
		esac
		envs="$envs$2$NL"
		;;
	--add)
		case $2 in
		?*:?*) ;;
		*) die "--add \"$2\": not SRC:DEST" ;;
		esac
		adds="$adds$2$NL"
		;;
	--layer)
		[ -d "$2" ] || die "--layer \"$2\": not a directory"
		layers="$layers$2$NL"
		;;
	--layer-tar)
		[ -f "$2" ] || die "--layer-tar \"$2\": not a file"
		layers="${layers}tar:$2$NL"
		;;
	--empty-history)
		empties="$empties$2$NL"
		;;
	--compression)
		case $2 in
		gzip | zstd | none) compression=$2 ;;
		*) die "--compression \"$2\": must be gzip, zstd or none" ;;
		esac
		;;
	--owner-file)
		case $2 in
		?*:[0-9]*:[0-9]*) ;;
		*) die "--owner-file \"$2\": not PATH:UID:GID" ;;
		esac
		owners="$owners$2$NL"
		;;
	esac
	shift 2
done

if [ -n "$owners" ] && [ "$(id -u)" != 0 ]; then
	die "--owner-file needs root (the layer is built with chown)"
fi

busybox=${BUSYBOX:-/bin/busybox}
[ -x "$busybox" ] || die "busybox \"$busybox\": not found (install busybox-static)"

umask 022
export LC_ALL=C
tmp=$(mktemp -d "${TMPDIR:-/tmp}/mkimage.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
trap 'exit 1' HUP INT TERM

mkdir -p -- "$out/blobs/sha256"
blobs=$out/blobs/sha256

# ------------------------------------------------------------- base layer
base=$tmp/base
mkdir -p "$base/bin" "$base/etc" "$base/proc" "$base/dev" "$base/sys" "$base/root" "$base/tmp"
chmod 0700 "$base/root"
chmod 1777 "$base/tmp"
cp -- "$busybox" "$base/bin/busybox"
chmod 0755 "$base/bin/busybox"
"$busybox" --list >"$tmp/applets"
while IFS= read -r applet; do
	case $applet in
	'' | busybox | */*) continue ;;
	esac
	ln -s busybox "$base/bin/$applet"
done <"$tmp/applets"

cat >"$base/etc/passwd" <<'EOF'
root:x:0:0:root:/root:/bin/sh
tester:x:1234:1234:tester:/tmp:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
EOF
cat >"$base/etc/group" <<'EOF'
root:x:0:
tester:x:1234:
nogroup:x:65534:
EOF
echo husk-image >"$base/etc/hostname"

while IFS= read -r spec; do
	[ -n "$spec" ] || continue
	src=${spec%:*}
	dest=$(image_path "${spec##*:}")
	[ -n "$dest" ] || die "--add \"$spec\": empty destination"
	[ -e "$src" ] || die "--add \"$spec\": \"$src\" does not exist"
	case $dest in
	*/*) mkdir -p -- "$base/${dest%/*}" ;;
	esac
	rm -rf -- "${base:?}/$dest"
	cp -R -p -- "$src" "$base/$dest"
done <<EOF
$adds
EOF

# ------------------------------------------------------------ all layers
nlayers=1
while IFS= read -r l; do
	if [ -n "$l" ]; then nlayers=$((nlayers + 1)); fi
done <<EOF
$layers
EOF

layers_json=
diffids_json=
history_json=
n=0
build_layer() { # DIR
	n=$((n + 1))
	dir=$1
	ownopts="--owner=0 --group=0"
	if [ "$n" = "$nlayers" ] && [ -n "$owners" ]; then
		# The last layer gets per-file owners: stage a copy owned by
		# root and chown the files asked for; tar keeps what it finds.
		if [ "$dir" != "$base" ]; then
			cp -a -- "$dir" "$tmp/owned"
			dir=$tmp/owned
		fi
		chown -R -h 0:0 -- "$dir"
		while IFS= read -r spec; do
			[ -n "$spec" ] || continue
			gid=${spec##*:}
			rest=${spec%:*}
			uid=${rest##*:}
			p=$(image_path "${rest%:*}")
			if [ -z "$p" ] || { [ ! -e "$dir/$p" ] && [ ! -h "$dir/$p" ]; }; then
				die "--owner-file \"$spec\": no such file in the last layer"
			fi
			chown -h "$uid:$gid" -- "$dir/$p"
		done <<EOF
$owners
EOF
		ownopts=
	fi
	case $dir in
	tar:*)
		cp -- "${dir#tar:}" "$tmp/layer.tar"
		;;
	*)
		(cd "$dir" && ls -A1) >"$tmp/list"
		# shellcheck disable=SC2086 # ownopts is a list of options
		tar -C "$dir" --format=gnu --numeric-owner $ownopts --sort=name --mtime=@0 \
			--verbatim-files-from -T "$tmp/list" -cf "$tmp/layer.tar"
		;;
	esac
	diffid=$(sha256_of "$tmp/layer.tar")
	if [ "$compression" = gzip ]; then
		gzip -n -c <"$tmp/layer.tar" >"$tmp/layer.blob"
		rm -f "$tmp/layer.tar"
		mt=$MT_LAYER+gzip
	elif [ "$compression" = zstd ]; then
		zstd -q -c <"$tmp/layer.tar" >"$tmp/layer.blob"
		rm -f "$tmp/layer.tar"
		mt=$MT_LAYER+zstd
	else
		mv "$tmp/layer.tar" "$tmp/layer.blob"
		mt=$MT_LAYER
	fi
	hex=$(sha256_of "$tmp/layer.blob")
	size=$(size_of "$tmp/layer.blob")
	mv -f "$tmp/layer.blob" "$blobs/$hex"
	rm -rf "$tmp/owned"

	sep=,
	if [ "$n" = 1 ]; then sep=; fi
	layers_json="$layers_json$sep{\"mediaType\":\"$mt\",\"digest\":\"sha256:$hex\",\"size\":$size}"
	diffids_json="$diffids_json$sep\"sha256:$diffid\""
	if [ "$n" = 1 ]; then
		what="base layer: busybox, /etc"
	else
		what="layer $n"
	fi
	history_json="$history_json$sep{\"created\":\"$EPOCH\",\"created_by\":\"$prog: $what\"}"
}

build_layer "$base"
while IFS= read -r l; do
	[ -n "$l" ] || continue
	build_layer "$l"
done <<EOF
$layers
EOF
while IFS= read -r h; do
	[ -n "$h" ] || continue
	history_json="$history_json,{\"created\":\"$EPOCH\",\"created_by\":$(json_str "$h"),\"empty_layer\":true}"
done <<EOF
$empties
EOF

# ------------------------------------------------------------------ config
env_json=
has_path=false
while IFS= read -r e; do
	[ -n "$e" ] || continue
	case $e in PATH=*) has_path=true ;; esac
	env_json="$env_json,$(json_str "$e")"
done <<EOF
$envs
EOF
if ! $has_path; then
	env_json=",$(json_str "PATH=$DEFAULT_PATH")$env_json"
fi
cfg="\"Env\":[${env_json#,}]"
if [ -n "$entrypoint" ]; then cfg="$cfg,\"Entrypoint\":$entrypoint"; fi
if [ -n "$cmd" ]; then cfg="$cfg,\"Cmd\":$cmd"; fi
if $has_workdir; then cfg="$cfg,\"WorkingDir\":$(json_str "$workdir")"; fi
if $has_stop_signal; then cfg="$cfg,\"StopSignal\":$(json_str "$stop_signal")"; fi

arch=$(go_arch)
printf '{"created":"%s","architecture":"%s","os":"linux","config":{%s},"rootfs":{"type":"layers","diff_ids":[%s]},"history":[%s]}' \
	"$EPOCH" "$arch" "$cfg" "$diffids_json" "$history_json" >"$tmp/config.json"
config_hex=$(sha256_of "$tmp/config.json")
config_size=$(size_of "$tmp/config.json")
mv -f "$tmp/config.json" "$blobs/$config_hex"

printf '{"schemaVersion":2,"mediaType":"%s","config":{"mediaType":"%s","digest":"sha256:%s","size":%s},"layers":[%s]}' \
	"$MT_MANIFEST" "$MT_CONFIG" "$config_hex" "$config_size" "$layers_json" >"$tmp/manifest.json"
manifest_hex=$(sha256_of "$tmp/manifest.json")
manifest_size=$(size_of "$tmp/manifest.json")
mv -f "$tmp/manifest.json" "$blobs/$manifest_hex"

# ------------------------------------------------------------------- index
# Our index.json has one descriptor a line, so adding to it needs no parser.
desc_for() { # TAG (may be empty)
	printf '{"mediaType":"%s","digest":"sha256:%s","size":%s,"platform":{"architecture":"%s","os":"linux"}' \
		"$MT_MANIFEST" "$manifest_hex" "$manifest_size" "$arch"
	if [ -n "$1" ]; then
		printf ',"annotations":{"%s":%s}' "$REF_NAME" "$(json_str "$1")"
	fi
	printf '}'
}

: >"$tmp/descs"
if [ -e "$out/index.json" ]; then
	{
		IFS= read -r head || head=
		[ "$head" = "$INDEX_HEAD" ] || die "\"$out/index.json\": not written by $prog, cannot add to it"
		while IFS= read -r line; do
			[ "$line" = "$INDEX_TAIL" ] && break
			line=${line%,}
			keep=true
			while IFS= read -r t; do
				[ -n "$t" ] || continue
				case $line in
				*"\"$REF_NAME\":$(json_str "$t")}"*) keep=false ;;
				esac
			done <<EOF
$tags
EOF
			if $keep; then printf '%s\n' "$line" >>"$tmp/descs"; fi
		done
	} <"$out/index.json"
fi
if [ -z "$tags" ]; then
	desc_for "" >>"$tmp/descs"
	echo >>"$tmp/descs"
else
	while IFS= read -r t; do
		[ -n "$t" ] || continue
		desc_for "$t" >>"$tmp/descs"
		echo >>"$tmp/descs"
	done <<EOF
$tags
EOF
fi

{
	printf '%s\n' "$INDEX_HEAD"
	first=true
	while IFS= read -r d; do
		$first || printf ',\n'
		first=false
		printf '%s' "$d"
	done <"$tmp/descs"
	printf '\n%s\n' "$INDEX_TAIL"
} >"$tmp/index.json"
mv -f "$tmp/index.json" "$out/index.json"
printf '{"imageLayoutVersion":"1.0.0"}' >"$out/oci-layout"

printf '%s\n' "$config_hex"
