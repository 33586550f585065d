#!/usr/bin/env bats
# husk run's networks: the /etc files of every mode, --network pasta (outbound to a server on
# the host's loopback, published TCP and UDP ports, -P, husk port, a port in use),
# --network container:NAME, and nothing left behind (pasta, listeners) after rm or a monitor
# killed with SIGKILL.  In every test mode: pasta runs rootless in the container's user
# namespace, and as root on a descriptor of its network namespace.

bats_require_minimum_version 1.5.0
load helpers
load registry # free_port, free_udp_port, wait_port, udp_ask

setup_file() {
	ensure_images
	new_store "$BATS_FILE_TMPDIR/store"
	export STORE
	pull basic latest
}

teardown_file() {
	husk rm -f $(husk ps -aq) >/dev/null 2>&1 || true
	remove_store "$STORE"
}

teardown() {
	[ -z "${SERVER_PID:-}" ] || kill "$SERVER_PID" 2>/dev/null || true
	husk rm -f $(husk ps -aq) >/dev/null 2>&1 || true
}


# The host's own IPv4 address on its default route (not loopback).
host_address() {
	python3 -c 'import socket; s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.connect(("198.51.100.1", 9)); print(s.getsockname()[0])'
}


# The live (not zombie) pasta processes of container ID: its pid file's path is on pasta's
# command line.
pastas_of() { # ID
	local p
	for p in $(pgrep -f "$1/pasta.pid" || true); do
		proc_live "$p" && echo "$p"
	done
	return 0
}

# ------------------------------------------------------------- /etc files
@test "--network none: /etc/hosts has localhost and the hostname, /etc/hostname the hostname" {
	run --separate-stderr husk run --rm --network none -h box1 basic \
		sh -c 'cat /etc/hosts; echo ---; cat /etc/hostname; hostname'
	assert_status 0
	assert_output_contains "$(printf '127.0.0.1\tlocalhost')"
	assert_output_contains "$(printf '::1\tlocalhost ip6-localhost ip6-loopback')"
	assert_output_contains "$(printf '127.0.1.1\tbox1')"
	assert_output_contains "---
box1
box1"
}

@test "/etc/resolv.conf: the host's nameservers, none of them on loopback" {
	run --separate-stderr husk run --rm basic cat /etc/resolv.conf
	assert_status 0
	while read -r word ns _; do
		[ "$word" = nameserver ] || continue
		case $ns in
		127.* | ::1) ;;
		*) assert_output_contains "nameserver $ns" ;;
		esac
	done </etc/resolv.conf
	[[ "$output" != *"nameserver 127."* ]] || fail "a loopback nameserver: $output"
}

@test "the /etc files exist even in an image that has none" {
	# basic has no /etc/hosts, /etc/resolv.conf or /etc/hostname of its own.
	run --separate-stderr husk run --rm basic sh -c 'ls /etc/hosts /etc/resolv.conf /etc/hostname'
	assert_status 0
}

@test "--network host: the host's /etc/hosts comes first, and the host's name" {
	run --separate-stderr husk run --rm --network host basic hostname
	assert_output "$(hostname)"
	run --separate-stderr husk run --rm --network host basic cat /etc/hosts
	assert_status 0
	local first
	first=$(grep -v '^#' /etc/hosts | grep . | head -1)
	assert_output_contains "$first"
	assert_output_contains "host.containers.internal"
}

@test "--dns, --dns-search, --dns-option and --add-host" {
	run --separate-stderr husk run --rm --dns 192.0.2.53 --dns 2001:db8::53 --dns-search a.example \
		--dns-search b.example --dns-option ndots:2 --add-host db:10.1.2.3 \
		--add-host v6:2001:db8::1 basic sh -c 'cat /etc/resolv.conf; cat /etc/hosts'
	assert_status 0
	assert_output_contains "nameserver 192.0.2.53
nameserver 2001:db8::53
search a.example b.example
options ndots:2"
	assert_output_contains "$(printf '10.1.2.3\tdb')"
	assert_output_contains "$(printf '2001:db8::1\tv6')"
}

@test "a -v mount on /etc/hosts wins over the generated file" {
	printf '10.9.9.9 mine\n' >"$BATS_TEST_TMPDIR/hosts"
	chmod 0644 "$BATS_TEST_TMPDIR/hosts"
	chmod 0755 "$BATS_TEST_TMPDIR"
	run --separate-stderr husk run --rm -v "$BATS_TEST_TMPDIR/hosts:/etc/hosts:ro" basic cat /etc/hosts
	assert_status 0
	assert_output "10.9.9.9 mine"
}

@test "bad network options: one error line, 125, nothing created" {
	local bad
	for bad in "--network bogus" "--dns not-an-ip" "--add-host nocolon" "--add-host a:b:c:zz" \
		"-p 70000:80" "-p 80/sctp" "-p 1-3:1-2" "--network pasta -p x:80" "--expose 1:2" \
		"--network none -p 8080:80" "--network container:" "--network pasta:-f"; do
		# shellcheck disable=SC2086
		run --separate-stderr husk run --rm $bad basic true
		assert_status 125
		assert_one_error_line
	done
	run husk ps -aq
	assert_output ""
}

@test "--network container:X of a container that does not exist or is not running: 125" {
	run --separate-stderr husk run --rm --network container:nosuch basic true
	assert_status 125
	assert_stderr_contains 'nosuch'
	husk create --name stopped basic true >/dev/null
	run --separate-stderr husk run --rm --network container:stopped basic true
	assert_status 125
	assert_stderr_contains 'is not running'
}

# ------------------------------------------------------------------ pasta
@test "pasta: outbound to a server on the host's loopback through host.containers.internal" {
	local port
	port=$(free_port)
	mkdir -p "$BATS_TEST_TMPDIR/www"
	echo "from the host" >"$BATS_TEST_TMPDIR/www/index.txt"
	python3 -m http.server -b 127.0.0.1 -d "$BATS_TEST_TMPDIR/www" "$port" >/dev/null 2>&1 &
	SERVER_PID=$!
	wait_port "$port"
	run --separate-stderr husk run --rm --network pasta basic \
		wget -q -O - "http://host.containers.internal:$port/index.txt"
	assert_status 0
	assert_output "from the host"
	run --separate-stderr husk run --rm --network pasta basic \
		wget -q -O - "http://host.docker.internal:$port/index.txt"
	assert_output "from the host"
}

@test "pasta: the container has an interface beside lo, and a default route" {
	run --separate-stderr husk run --rm --network pasta basic sh -c 'cat /proc/net/route'
	assert_status 0
	assert_output_contains "00000000"
	run --separate-stderr husk run --rm --network pasta basic sh -c 'ls /sys/class/net'
	[ "$(echo "$output" | grep -cv '^lo$')" -ge 1 ] || fail "only lo: $output"
}

@test "pasta: -p HOSTPORT:80 reaches busybox httpd; ps, port and inspect show it" {
	local port
	port=$(free_port)
	run --separate-stderr husk run -d --name web --network pasta -p "$port:80" basic \
		httpd -f -p 80 -h /etc
	assert_status 0
	wait_port "$port"
	run curl -sf "http://127.0.0.1:$port/hostname"
	assert_status 0
	[ "$output" = "$(husk inspect web | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["Config"]["Hostname"])')" ]
	run husk port web
	assert_output "80/tcp -> 0.0.0.0:$port
80/tcp -> [::]:$port"
	run husk port web 80
	assert_output "0.0.0.0:$port
[::]:$port"
	run --separate-stderr husk port web 81
	assert_status 1
	assert_one_error_line
	run husk ps
	assert_output_contains "0.0.0.0:$port->80/tcp"
	run husk inspect web
	assert_output_contains '"NetworkMode": "pasta"'
	echo "$output" >"$BATS_TEST_TMPDIR/inspect.json"
	python3 - "$port" "$BATS_TEST_TMPDIR/inspect.json" <<'PY'
import json, sys
c = json.load(open(sys.argv[2]))[0]
port = sys.argv[1]
assert c["HostConfig"]["PortBindings"] == {"80/tcp": [{"HostIp": "", "HostPort": port}]}, c["HostConfig"]
assert c["HostConfig"]["PublishAllPorts"] is False, c["HostConfig"]
assert c["NetworkSettings"]["Ports"] == {"80/tcp": [{"HostIp": "0.0.0.0", "HostPort": port},
                                                    {"HostIp": "::", "HostPort": port}]}, c["NetworkSettings"]
assert c["Config"]["ExposedPorts"] == {"80/tcp": {}}, c["Config"]
PY
}

@test "pasta: a published UDP port" {
	# Sent to the host's own address: Debian 12's pasta (2023-03-09) loses the answers of a
	# UDP exchange that comes in on the host's loopback (seen with this very test).
	local port addr
	port=$(free_udp_port)
	addr=$(host_address)
	husk run -d --name udp --network pasta -p "$port:9999/udp" basic \
		hsk-report udp-echo 9999 >/dev/null
	run udp_ask "$addr" "$port" hello
	assert_status 0
	assert_output "echo:hello"
	run husk port udp 9999/udp
	assert_output "0.0.0.0:$port
[::]:$port"
}

@test "pasta: -P publishes --expose'd ports on free host ports" {
	run --separate-stderr husk run -d --name pall --network pasta --expose 80 -P basic \
		httpd -f -p 80 -h /etc
	assert_status 0
	run husk port pall 80
	assert_status 0
	local hostport=${output##*:}
	[ "$hostport" -gt 0 ] || fail "no host port: $output"
	wait_port "$hostport"
	run curl -sf "http://127.0.0.1:$hostport/hostname"
	assert_status 0
	# docker's inspect: -P's ports are no bindings, PublishAllPorts says it.
	husk inspect pall >"$BATS_TEST_TMPDIR/inspect.json"
	python3 - "$BATS_TEST_TMPDIR/inspect.json" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))[0]
assert c["HostConfig"]["PortBindings"] == {}, c["HostConfig"]
assert c["HostConfig"]["PublishAllPorts"] is True, c["HostConfig"]
assert "80/tcp" in c["NetworkSettings"]["Ports"], c["NetworkSettings"]
assert c["Config"]["ExposedPorts"] == {"80/tcp": {}}, c["Config"]
PY
}

@test "-p without --network means pasta; a mapping given twice counts once, one host port for two is refused" {
	local port
	port=$(free_port)
	run --separate-stderr husk run -d --name implied -p "$port:80" -p "$port:80" basic \
		httpd -f -p 80 -h /etc
	assert_status 0
	wait_port "$port"
	run husk inspect implied
	assert_output_contains '"NetworkMode": "pasta"'
	run --separate-stderr husk run --rm -p 9001:80 -p 9001:81 basic true
	assert_status 125
	assert_one_error_line
	assert_stderr_contains "given for both 80 and 81"
	run --separate-stderr husk run --rm --expose nope basic true
	assert_status 125
	assert_stderr_contains 'expose "nope"'
}

@test "--network pasta:OPTIONS: the user's forwarding options replace husk's defaults" {
	# -T PORT: the container's 127.0.0.1:PORT reaches the host's (pasta forwards it).
	local port
	port=$(free_port)
	mkdir -p "$BATS_TEST_TMPDIR/www"
	echo "through -T" >"$BATS_TEST_TMPDIR/www/t.txt"
	python3 -m http.server -b 127.0.0.1 -d "$BATS_TEST_TMPDIR/www" "$port" >/dev/null 2>&1 &
	SERVER_PID=$!
	wait_port "$port"
	run --separate-stderr husk run --rm --network "pasta:-T,$port" basic \
		wget -q -O - "http://127.0.0.1:$port/t.txt"
	assert_status 0
	assert_output "through -T"
	run --separate-stderr husk run --rm --network pasta:--pid,/tmp/x basic true
	assert_status 125
	assert_one_error_line
}

@test "pasta: a host port in use fails the start with one line naming it; nothing is left" {
	local port
	port=$(free_port)
	python3 -c 'import socket, sys, time
s = socket.socket(); s.bind(("0.0.0.0", int(sys.argv[1]))); s.listen(); time.sleep(60)' "$port" &
	SERVER_PID=$!
	wait_port "$port"
	run --separate-stderr husk run --rm --network pasta -p "$port:80" basic true
	assert_status 125
	assert_one_error_line
	assert_stderr_contains "port $port/tcp"
	run --separate-stderr husk run -d --name busy --network pasta -p "$port:80" basic sleep 60
	assert_status 125
	assert_stderr_contains "port $port/tcp"
	run husk ps -q
	assert_output ""
}

@test "pasta: a host range for one container port takes its first free port" {
	local port
	port=$(python3 -c 'import socket
for _ in range(50):
    a = socket.socket(); a.bind(("0.0.0.0", 0)); p = a.getsockname()[1]
    b = socket.socket()
    try:
        b.bind(("0.0.0.0", p + 1)); print(p); break
    except OSError:
        pass
    finally:
        a.close(); b.close()')
	python3 -c 'import socket, sys, time
s = socket.socket(); s.bind(("0.0.0.0", int(sys.argv[1]))); s.listen(); time.sleep(60)' "$port" &
	SERVER_PID=$!
	wait_port "$port"
	run --separate-stderr husk run -d --name ranged -p "$port-$((port + 1)):80" basic httpd -f -p 80 -h /etc
	assert_status 0
	run husk port ranged 80
	assert_output "0.0.0.0:$((port + 1))
[::]:$((port + 1))"
	wait_port "$((port + 1))"
	run curl -sf "http://127.0.0.1:$((port + 1))/hostname"
	assert_status 0
}

@test "--network container:X shares X's network, hostname and /etc files" {
	local port
	port=$(free_port)
	husk run -d --name front --network pasta -p "$port:80" -h fronthost --add-host db:10.7.7.7 basic \
		httpd -f -p 80 -h /etc >/dev/null
	wait_port "$port"
	run --separate-stderr husk run --rm --network container:front basic \
		sh -c 'wget -q -O - http://127.0.0.1:80/hostname; hostname; grep db /etc/hosts'
	assert_status 0
	assert_output "fronthost
fronthost
$(printf '10.7.7.7\tdb')"
}

@test "--network container:X with --hostname or --dns: 125" {
	husk run -d --name front2 basic sleep 60 >/dev/null
	run --separate-stderr husk run --rm --network container:front2 -h other basic true
	assert_status 125
	assert_one_error_line
}

# ------------------------------------------------------------ nothing left
@test "pasta: rm -f leaves no pasta and no listener" {
	local port id
	port=$(free_port)
	id=$(husk run -d --network pasta -p "$port:80" basic httpd -f -p 80 -h /etc)
	wait_port "$port"
	[ -n "$(pastas_of "$id")" ] || fail "no pasta for $id"
	husk rm -f "$id" >/dev/null
	local p
	for p in $(pgrep -f "$id/pasta.pid" || true); do
		wait_gone "$p" 5 || fail "pasta $p still runs"
	done
	run curl -s -m 2 "http://127.0.0.1:$port/"
	[ "$status" -ne 0 ] || fail "something still listens on $port"
}

@test "pasta: the container's end (run --rm in the foreground, and detached) stops its pasta" {
	local port id
	port=$(free_port)
	run --separate-stderr husk run --rm --network pasta -p "$port:80" basic true
	assert_status 0
	run curl -s -m 2 "http://127.0.0.1:$port/"
	[ "$status" -ne 0 ] || fail "something still listens on $port"
	id=$(husk run -d --network pasta -p "$port:80" basic sleep 0.5)
	husk wait "$id" >/dev/null
	local p
	for p in $(pgrep -f "$id/pasta.pid" || true); do
		wait_gone "$p" 5 || fail "pasta $p still runs after the container exited"
	done
}

@test "pasta: a monitor killed with SIGKILL takes the container's pasta and listener with it" {
	local port id mon
	port=$(free_port)
	id=$(husk run -d --network pasta -p "$port:80" basic httpd -f -p 80 -h /etc)
	wait_port "$port"
	mon=$(husk inspect "$id" | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["State"]["MonitorPid"])')
	[ "$mon" -gt 0 ]
	local pastas
	pastas=$(pastas_of "$id")
	[ -n "$pastas" ] || fail "no pasta for $id"
	kill -9 "$mon"
	local p
	for p in $pastas; do
		wait_gone "$p" 5 || fail "pasta $p still runs after its monitor was killed"
	done
	run curl -s -m 2 "http://127.0.0.1:$port/"
	[ "$status" -ne 0 ] || fail "something still listens on $port"
}
