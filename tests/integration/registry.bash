# registry.bash: real registries for the registry tests (load registry after
# helpers).  Debian's docker-registry listens on 127.0.0.1 on a free port,
# storing under the file's tmpdir; it stops in teardown_file, and by itself
# after REGISTRY_LIFETIME seconds whatever happens to bats.
#
#   registry_start NAME MODE   MODE: http | https | auth (htpasswd Basic
#                              over HTTPS; docker-registry wants TLS for it)
#                              sets REG_NAME_ADDR (127.0.0.1:PORT), REG_NAME_DIR
#   registry_stop_all          in teardown_file
#   registry_push SRC ADDR/REPO:TAG [skopeo args]
#                              skopeo copy oci:SRC docker://ADDR/REPO:TAG
#   registry_blob_file ADDR_DIR DIGEST_HEX  the file docker-registry keeps a blob in
#   badreg_start UPSTREAM_ADDR [UPSTREAM_SCHEME]
#                              tests/integration/badreg.py in front of a real
#                              registry: sets BADREG_ADDR, BADREG_DIR
# shellcheck disable=SC2154

REGISTRY_LIFETIME=${REGISTRY_LIFETIME:-1200}
REGISTRY_BIN=${REGISTRY_BIN:-/usr/bin/docker-registry}
TEST_USER=husk
TEST_PASS=s3cret-pass

free_port() {
	python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# A CA and a server certificate for 127.0.0.1 and localhost, made once per file.
make_certs() { # DIR
	local d=$1
	[ -r "$d/ca.crt" ] && return 0
	mkdir -p "$d"
	openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=husk test CA" \
		-keyout "$d/ca.key" -out "$d/ca.crt" 2>/dev/null || return 1
	openssl req -newkey rsa:2048 -nodes -subj "/CN=127.0.0.1" \
		-keyout "$d/server.key" -out "$d/server.csr" 2>/dev/null || return 1
	printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\n' >"$d/ext.cnf"
	openssl x509 -req -in "$d/server.csr" -CA "$d/ca.crt" -CAkey "$d/ca.key" -CAcreateserial \
		-days 2 -extfile "$d/ext.cnf" -out "$d/server.crt" 2>/dev/null
}

wait_port() { # PORT
	local i
	for i in $(seq 1 100); do
		if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then
			return 0
		fi
		sleep 0.1
	done
	echo "nothing listens on 127.0.0.1:$1" >&2
	return 1
}

registry_start() { # NAME MODE
	local name=$1 mode=$2 dir port tls="" auth=""
	dir=$BATS_FILE_TMPDIR/registry-$name
	mkdir -p "$dir/data"
	port=$(free_port)
	if [ "$mode" = https ] || [ "$mode" = auth ]; then
		make_certs "$BATS_FILE_TMPDIR/certs" || return 1
		tls="  tls:
    certificate: $BATS_FILE_TMPDIR/certs/server.crt
    key: $BATS_FILE_TMPDIR/certs/server.key"
	fi
	if [ "$mode" = auth ]; then
		htpasswd -Bbn "$TEST_USER" "$TEST_PASS" >"$dir/htpasswd" 2>/dev/null || return 1
		auth="auth:
  htpasswd:
    realm: husk-test
    path: $dir/htpasswd"
	fi
	cat >"$dir/config.yml" <<-EOC
		version: 0.1
		log:
		  level: error
		  accesslog:
		    disabled: true
		storage:
		  filesystem:
		    rootdirectory: $dir/data
		  delete:
		    enabled: true
		http:
		  addr: 127.0.0.1:$port
		$tls
		$auth
	EOC
	timeout "$REGISTRY_LIFETIME" "$REGISTRY_BIN" serve "$dir/config.yml" >"$dir/log" 2>&1 3>&- &
	echo $! >"$dir/pid"
	wait_port "$port" || {
		cat "$dir/log" >&2
		return 1
	}
	printf -v "REG_${name}_ADDR" '%s' "127.0.0.1:$port"
	printf -v "REG_${name}_DIR" '%s' "$dir"
	export "REG_${name}_ADDR" "REG_${name}_DIR"
}

registry_stop_all() {
	local f
	for f in "$BATS_FILE_TMPDIR"/registry-*/pid "$BATS_FILE_TMPDIR"/badreg/pid; do
		[ -r "$f" ] || continue
		kill "$(cat "$f")" 2>/dev/null
		rm -f "$f"
	done
	wait 2>/dev/null || true
}

registry_push() { # SRC DEST [skopeo args...]
	local src=$1 dest=$2
	shift 2
	skopeo --insecure-policy copy -q --dest-tls-verify=false "$@" "oci:$src" "docker://$dest" >/dev/null
}

# The file docker-registry keeps the blob HEX in.
registry_blob_file() { # REGISTRY_DIR HEX
	echo "$1/data/docker/registry/v2/blobs/sha256/${2:0:2}/$2/data"
}

badreg_start() { # UPSTREAM_ADDR [UPSTREAM_SCHEME]
	local dir=$BATS_FILE_TMPDIR/badreg port
	mkdir -p "$dir"
	port=$(free_port)
	timeout "$REGISTRY_LIFETIME" python3 "$_helpers_dir/badreg.py" --port "$port" \
		--upstream "${2:-http}://$1" --state "$dir" --user "$TEST_USER" --password "$TEST_PASS" \
		>"$dir/log" 2>&1 3>&- &
	echo $! >"$dir/pid"
	wait_port "$port" || {
		cat "$dir/log" >&2
		return 1
	}
	export BADREG_ADDR=127.0.0.1:$port BADREG_DIR=$dir
}

# A free UDP port (a TCP one may be taken for UDP).
free_udp_port() {
	python3 -c 'import socket; s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# A UDP round trip to ADDRESS:PORT: prints the answer.
udp_ask() { # ADDRESS PORT TEXT
	python3 - "$1" "$2" "$3" <<'PY'
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(1)
for _ in range(20):
    s.sendto(sys.argv[3].encode(), (sys.argv[1], int(sys.argv[2])))
    try:
        print(s.recv(2048).decode())
        sys.exit(0)
    except socket.timeout:
        pass
sys.exit(1)
PY
}
