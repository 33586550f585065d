#!/usr/bin/env bats
# User networks' datapath: containers on one network reach each other by name and alias,
# networks are kept apart, an --internal network has no way out, outbound reaches a server on
# the host through host.containers.internal, /etc/hosts follows the containers of a network,
# and nothing is left (the store's network namespace, its pasta, its helpers) once no
# container needs it, after rm, a monitor killed with SIGKILL, or network rm.  In every test
# mode: rootless, the network namespace lives in a user namespace of husk's.

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
	husk network prune >/dev/null 2>&1 || true
}

# The store's network namespace directory (engine/netns.h): RUNDIR/netns-DEV-INO.
netns_dir() {
	local run dev ino
	if [ "$(id -u)" = 0 ]; then
		run=/run/husk
	elif [ -n "${XDG_RUNTIME_DIR:-}" ] && [ -w "$XDG_RUNTIME_DIR" ]; then
		run=$XDG_RUNTIME_DIR/husk
	else
		run=/tmp/husk-run-$(id -u)
	fi
	dev=$(stat -c %d "$STORE")
	ino=$(stat -c %i "$STORE")
	printf '%s/netns-%x-%x\n' "$run" "$dev" "$ino"
}

# The keeper's and the holder's pids while the namespace is up (netns.h's holder file).
netns_pids() {
	local f
	f=$(netns_dir)/holder
	[ -f "$f" ] && awk '{print $1, $3}' "$f"
	return 0
}

# Run a command in the store's network namespace (its user namespace too, rootless).
in_netns() {
	local holder
	holder=$(netns_pids | awk '{print $2}')
	[ -n "$holder" ] || fail "the store's network namespace is not up"
	if [ "$(id -u)" = 0 ]; then
		nsenter -t "$holder" -n "$@"
	else
		nsenter -t "$holder" -U --preserve-credentials -n "$@"
	fi
}

serve_httpd() { # NAME NETWORK [ARGS...]: a detached busybox httpd serving its name, once it answers
	local name=$1 net=$2 i
	shift 2
	husk run -d --name "$name" --network "$net" "$@" basic \
		sh -c "mkdir /w && echo $name >/w/index.html && exec httpd -f -p 80 -h /w" >/dev/null
	# httpd starts after run -d returns: a client right away could find nothing listening.
	for i in $(seq 50); do
		husk exec "$name" wget -q -O /dev/null http://127.0.0.1/ 2>/dev/null && return 0
		sleep 0.1
	done
	fail "httpd in $name does not answer"
}

@test "two containers on a network reach each other by name and by alias" {
	husk network create appnet >/dev/null
	serve_httpd db appnet --network-alias database
	run --separate-stderr husk run --rm --network appnet basic \
		sh -c 'wget -q -O - http://db/; wget -q -O - http://database/'
	assert_status 0
	assert_output "db
db"
}

@test "a container's eth0 has its network's address and a default route via the gateway" {
	husk network create --subnet 10.99.7.0/24 addrnet >/dev/null
	run --separate-stderr husk run --rm --network addrnet --ip 10.99.7.42 basic \
		sh -c 'ip -4 -o addr show eth0; ip route show default'
	assert_status 0
	assert_output_contains "inet 10.99.7.42/24"
	assert_output_contains "default via 10.99.7.1 dev eth0"
}

@test "/etc/hosts lists the network's containers and follows them as they come and go" {
	husk network create hostsnet >/dev/null
	serve_httpd first hostsnet
	run husk exec first cat /etc/hosts
	assert_status 0
	assert_output_contains " first"
	husk run -d --name second --network hostsnet --network-alias two basic sleep 60 >/dev/null
	run husk exec first cat /etc/hosts
	assert_output_contains "second two"
	husk rm -f second >/dev/null
	run husk exec first cat /etc/hosts
	assert_status 0
	[[ "$output" != *second* ]] || fail "second is still in first's /etc/hosts: $output"
}

@test "two networks are kept apart" {
	husk network create --subnet 10.99.8.0/24 neta >/dev/null
	husk network create --subnet 10.99.9.0/24 netb >/dev/null
	serve_httpd web neta --ip 10.99.8.10
	run --separate-stderr husk run --rm --network neta basic timeout 3 wget -q -O - http://10.99.8.10/
	assert_output "web"
	run --separate-stderr husk run --rm --network netb basic \
		sh -c 'timeout 3 wget -q -O - http://10.99.8.10/ >/dev/null 2>&1 && echo reached || echo blocked'
	assert_output "blocked"
	# And by name: the other network's containers are not in its /etc/hosts.
	run --separate-stderr husk run --rm --network netb basic cat /etc/hosts
	[[ "$output" != *web* ]] || fail "netb's container knows web: $output"
}

@test "outbound from a user network to a server on the host, through host.containers.internal" {
	local port
	port=$(free_port)
	mkdir -p "$BATS_TEST_TMPDIR/www"
	echo "from the host" >"$BATS_TEST_TMPDIR/www/index.txt"
	python3 -m http.server -b 127.0.0.1 -d "$BATS_TEST_TMPDIR/www" "$port" >/dev/null 2>&1 &
	SERVER_PID=$!
	wait_port "$port"
	husk network create outnet >/dev/null
	run --separate-stderr husk run --rm --network outnet basic \
		wget -q -O - "http://host.containers.internal:$port/index.txt"
	assert_status 0
	assert_output "from the host"
	# The default network too, by docker's name for it.
	run --separate-stderr husk run --rm --network bridge basic \
		wget -q -O - "http://host.docker.internal:$port/index.txt"
	assert_output "from the host"
}

@test "an --internal network reaches its own containers and nothing outside" {
	local port
	port=$(free_port)
	mkdir -p "$BATS_TEST_TMPDIR/www"
	echo "from the host" >"$BATS_TEST_TMPDIR/www/index.txt"
	python3 -m http.server -b 127.0.0.1 -d "$BATS_TEST_TMPDIR/www" "$port" >/dev/null 2>&1 &
	SERVER_PID=$!
	wait_port "$port"
	husk network create --internal closed >/dev/null
	serve_httpd inside closed
	run --separate-stderr husk run --rm --network closed basic timeout 3 wget -q -O - http://inside/
	assert_output "inside"
	run --separate-stderr husk run --rm --network closed basic \
		sh -c "timeout 3 wget -q -O - http://host.containers.internal:$port/index.txt >/dev/null 2>&1 && echo reached || echo blocked"
	assert_output "blocked"
}

@test "bad user network options: one error line, 125, nothing created" {
	run --separate-stderr husk run --rm --network nosuchnet basic true
	assert_status 125
	assert_stderr_contains "no such network: nosuchnet"
	run --separate-stderr husk run --rm --ip 10.88.0.9 basic true
	assert_status 125
	assert_stderr_contains "--ip and --network-alias need a user network"
	husk network create --subnet 10.99.10.0/24 ipnet >/dev/null
	run --separate-stderr husk run --rm --network ipnet --ip 10.99.11.5 basic true
	assert_status 125
	assert_stderr_contains "is not a host address of subnet"
	run husk ps -aq
	assert_output ""
	run husk network inspect ipnet
	[[ "$output" != *10.99.11.5* ]] || fail "the refused address is recorded"
}

@test "two containers cannot take one --ip" {
	husk network create --subnet 10.99.12.0/24 dupnet >/dev/null
	husk run -d --network dupnet --ip 10.99.12.5 basic sleep 60 >/dev/null
	run --separate-stderr husk run --rm --network dupnet --ip 10.99.12.5 basic true
	assert_status 125
	assert_stderr_contains "is in use"
}

@test "nothing is left once the last container of the store's networks is removed" {
	husk network create gonenet >/dev/null
	serve_httpd g1 gonenet
	local pids keeper holder
	pids=$(netns_pids)
	keeper=${pids% *}
	holder=${pids#* }
	[ -n "$keeper" ] && proc_live "$keeper" || fail "no keeper while a container runs"
	proc_live "$holder" || fail "no holder while a container runs"
	husk rm -f g1 >/dev/null
	wait_gone "$keeper" 10 || fail "keeper $keeper still runs"
	wait_gone "$holder" 10 || fail "holder $holder still runs"
	[ ! -e "$(netns_dir)/holder" ] || fail "holder file left"
	# No helper of husk-full's is left holding a namespace.
	run pgrep -f "__netns attach.*$(basename "$STORE")"
	[ "$status" -ne 0 ] || fail "a __netns helper is left: $output"
}

@test "a monitor killed with SIGKILL: its container's address stays reserved, the namespace goes" {
	husk network create killnet >/dev/null
	local id mon pids keeper
	id=$(husk run -d --network killnet basic sleep 600)
	pids=$(netns_pids)
	keeper=${pids% *}
	mon=$(husk inspect "$id" | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["State"]["MonitorPid"])')
	kill -9 "$mon"
	wait_gone "$keeper" 10 || fail "keeper $keeper still runs after the monitor was killed"
	husk rm -f "$id" >/dev/null
	run husk network inspect killnet
	[[ "$output" != *"$id"* ]] || fail "the removed container is still on killnet"
}

@test "network rm takes the network's bridge out of the running namespace" {
	husk network create --subnet 10.99.13.0/24 brnet >/dev/null
	husk network create keepnet >/dev/null
	husk run -d --name keeper --network keepnet basic sleep 600 >/dev/null
	husk run --rm --network brnet basic true
	local bridge
	bridge=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["bridge"])' "$STORE/networks/brnet.json")
	[ -n "$bridge" ]
	run in_netns ip -o link show
	assert_output_contains "$bridge"
	husk network rm brnet >/dev/null
	run in_netns ip -o link show
	[[ "$output" != *"$bridge:"* ]] || fail "bridge $bridge is still there: $output"
}

# ------------------------------------------------------------------ published ports

@test "user network: -p HOSTPORT:80 reaches busybox httpd, ps and port show it" {
	local port
	port=$(free_port)
	husk network create pubnet >/dev/null
	serve_httpd pub pubnet -p "$port:80"
	wait_port "$port"
	run curl -s -m 5 "http://127.0.0.1:$port/"
	assert_status 0
	assert_output "pub"
	run husk port pub 80
	assert_output "0.0.0.0:$port
[::]:$port"
	run husk ps
	assert_output_contains "0.0.0.0:$port->80/tcp"
}

@test "user network: a published UDP port, and -P to a free port" {
	local port
	port=$(free_udp_port)
	husk network create udpnet >/dev/null
	husk run -d --name udp --network udpnet -p "$port:9999/udp" basic hsk-report udp-echo 9999 >/dev/null
	run udp_ask 127.0.0.1 "$port" hello
	assert_status 0
	assert_output "echo:hello"
	husk run -d --name all --network udpnet --expose 80 -P basic \
		sh -c 'mkdir /w && echo all >/w/index.html && exec httpd -f -p 80 -h /w' >/dev/null
	local hp
	hp=$(husk port all 80 | head -1 | sed 's/.*://')
	[ -n "$hp" ] && [ "$hp" -gt 0 ] || fail "no host port for -P: $(husk port all)"
	wait_port "$hp"
	run curl -s -m 5 "http://127.0.0.1:$hp/"
	assert_output "all"
}

@test "user network: a host port in use fails the start with one line naming it" {
	local port
	port=$(free_port)
	python3 -m http.server -b 0.0.0.0 "$port" >/dev/null 2>&1 &
	SERVER_PID=$!
	wait_port "$port"
	husk network create busynet >/dev/null
	run --separate-stderr husk run -d --network busynet -p "$port:80" basic sleep 60
	assert_status 125
	assert_stderr_contains "port $port/tcp"
	assert_stderr_contains "Address already in use"
}

@test "user network: rm -f, and a monitor killed with SIGKILL, leave nothing listening" {
	local port id mon
	port=$(free_port)
	husk network create fwdnet >/dev/null
	id=$(husk run -d --network fwdnet -p "$port:80" basic httpd -f -p 80 -h /etc)
	wait_port "$port"
	husk rm -f "$id" >/dev/null
	run curl -s -m 2 "http://127.0.0.1:$port/"
	[ "$status" -ne 0 ] || fail "something still listens on $port after rm"
	id=$(husk run -d --network fwdnet -p "$port:80" basic httpd -f -p 80 -h /etc)
	wait_port "$port"
	mon=$(husk inspect "$id" | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["State"]["MonitorPid"])')
	kill -9 "$mon"
	local i
	for i in $(seq 50); do
		curl -s -m 1 "http://127.0.0.1:$port/" >/dev/null || break
		sleep 0.1
	done
	run curl -s -m 2 "http://127.0.0.1:$port/"
	[ "$status" -ne 0 ] || fail "something still listens on $port after the monitor was killed"
}

# ------------------------------------------------------------------ connect, disconnect
@test "network connect: a running container joins a second network at once, and keeps it across a restart" {
	husk network create --subnet 10.99.20.0/24 front >/dev/null
	husk network create --subnet 10.99.21.0/24 back >/dev/null
	husk run -d --name app --network front basic sleep 600 >/dev/null
	serve_httpd store back
	run --separate-stderr husk exec app sh -c 'timeout 3 wget -q -O - http://store/ >/dev/null 2>&1 && echo reached || echo blocked'
	assert_output "blocked"
	husk network connect --ip 10.99.21.50 --alias api back app
	run --separate-stderr husk exec app sh -c 'ip -4 -o addr show eth1; wget -q -O - http://store/'
	assert_status 0
	assert_output_contains "inet 10.99.21.50/24"
	assert_output_contains "store"
	# The other side knows it by name and alias.
	run husk exec store cat /etc/hosts
	assert_output_contains "10.99.21.50	app api"
	run husk inspect app
	assert_output_contains '"IPAddress": "10.99.21.50"'
	assert_output_contains '"front": {'
	husk stop app >/dev/null
	husk start app >/dev/null
	run --separate-stderr husk exec app wget -q -O - http://store/
	assert_output "store"
}

@test "network disconnect: the interface goes at once, the address is given back" {
	husk network create --subnet 10.99.22.0/24 one >/dev/null
	husk network create --subnet 10.99.23.0/24 two >/dev/null
	husk run -d --name c --network one basic sleep 600 >/dev/null
	serve_httpd peer two
	husk network connect two c
	run --separate-stderr husk exec c wget -q -O - http://peer/
	assert_output "peer"
	husk network disconnect two c
	run --separate-stderr husk exec c sh -c 'ip -o link show eth1 >/dev/null 2>&1 && echo still || echo gone'
	assert_output "gone"
	run husk exec peer cat /etc/hosts
	[[ "$output" != *"	c"* ]] || fail "peer still lists c: $output"
	run husk network inspect two
	[[ "$output" != *'"Name": "c"'* ]] || fail "c is still on two: $output"
}

@test "network connect and disconnect: errors name the container and the network" {
	husk network create --subnet 10.99.24.0/24 home >/dev/null
	husk run -d --name n --network none basic sleep 600 >/dev/null
	run --separate-stderr husk network connect home n
	assert_status 1
	assert_stderr_contains 'container "n": its network is none'
	husk run -d --name u --network home basic sleep 600 >/dev/null
	run --separate-stderr husk network connect home u
	assert_status 1
	assert_stderr_contains 'container "u" is already on network "home"'
	run --separate-stderr husk network disconnect home u
	assert_status 1
	assert_stderr_contains 'is its first network'
	run --separate-stderr husk network connect nosuch u
	assert_status 1
	assert_stderr_contains 'no such network: nosuch'
}

@test "a container that gets an earlier one's address is reachable at once (its MAC follows the address)" {
	husk network create --subnet 10.99.30.0/24 arpnet >/dev/null
	serve_httpd srv1 arpnet --ip 10.99.30.10
	husk run -d --name cli --network arpnet basic sleep 600 >/dev/null
	run --separate-stderr husk exec cli timeout 5 wget -q -O - http://10.99.30.10/
	assert_output "srv1"
	husk rm -f srv1 >/dev/null
	serve_httpd srv2 arpnet --ip 10.99.30.10
	# The client's neighbour cache still has the address: it must still be right.
	run --separate-stderr husk exec cli timeout 5 wget -q -O - http://10.99.30.10/
	assert_status 0
	assert_output "srv2"
	run --separate-stderr husk exec srv2 cat /sys/class/net/eth0/address
	assert_output "02:42:0a:63:1e:0a"
}

@test "the namespace's keeper killed with SIGKILL takes its holder, pasta and pasta's watcher along" {
	husk network create killkeep >/dev/null
	husk run -d --name kk --network killkeep basic sleep 600 >/dev/null
	local pids keeper holder pastapid
	pids=$(netns_pids)
	keeper=${pids% *}
	holder=${pids#* }
	pastapid=$(cat "$(netns_dir)/pasta.pid")
	proc_live "$pastapid" || fail "no pasta $pastapid"
	kill -9 "$keeper"
	wait_gone "$holder" 10 || fail "holder $holder still runs"
	wait_gone "$pastapid" 10 || fail "pasta $pastapid still runs after its keeper was killed"
	# A new container brings a new namespace up.
	husk rm -f kk >/dev/null
	run --separate-stderr husk run --rm --network killkeep basic true
	assert_status 0
}

@test "rename: the other containers of the network know the new name" {
	husk network create renet >/dev/null
	serve_httpd old renet
	husk run -d --name peer --network renet basic sleep 600 >/dev/null
	husk rename old new
	run --separate-stderr husk exec peer wget -q -O - http://new/
	assert_status 0
	assert_output "old"
}

@test "network names that are --network modes are refused; bridge names the default network" {
	local name
	for name in bridge host none pasta container; do
		run --separate-stderr husk network create "$name"
		assert_status 1
		assert_stderr_contains "network name \"$name\": reserved"
	done
	run husk network inspect bridge
	assert_status 0
	assert_output_contains '"Name": "husk"'
	run --separate-stderr husk network rm bridge
	assert_stderr_contains 'the default network cannot be removed'
}

@test "ports published on an --internal network are discarded with a warning" {
	husk network create --internal sealed >/dev/null
	run --separate-stderr husk run -d --name sealedweb --network sealed -p "$(free_port):80" basic sleep 60
	assert_status 0
	assert_stderr_contains 'network "sealed" is internal: published ports are discarded'
	run husk port sealedweb
	assert_output ""
}
