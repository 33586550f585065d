#!/usr/bin/env bats
# husk network: the networks' records (STORE/networks/NAME.json) and the commands that
# manage them: create, ls, inspect, rm, prune, exists.  No datapath: nothing here makes a
# bridge or attaches a container, so attached containers are written into a record by hand.

bats_require_minimum_version 1.5.0
load helpers

setup() {
	new_store
}

teardown() {
	remove_store "$STORE"
}

# json EXPR: evaluate the Python expression EXPR over the JSON on standard input (as j).
json() {
	python3 -c 'import json, sys; j = json.load(sys.stdin); print(eval(sys.argv[1]))' "$1"
}

# attach_by_hand NETWORK ID IP: add container ID at IP to NETWORK's record, as the datapath
# will through husk_network_attach.
attach_by_hand() {
	python3 - "$STORE/networks/$1.json" "$2" "$3" <<-'PY'
		import json, sys
		path, cid, ip = sys.argv[1:4]
		rec = json.load(open(path))
		rec.setdefault("containers", []).append({"id": cid, "ipv4": ip, "aliases": ["web"]})
		json.dump(rec, open(path, "w"))
	PY
}

CID=ab00000000000000000000000000000000000000000000000000000000000001

@test "network ls: the default network husk is always there" {
	run --separate-stderr husk network ls
	assert_status 0
	[ "${lines[0]}" = "NETWORK ID     NAME   DRIVER   SCOPE" ] || fail "header: ${lines[0]}"
	[ "${#lines[@]}" -eq 2 ] || fail "expected one network:" "$output"
	[[ "${lines[1]}" =~ ^[0-9a-f]{12}\ \ \ husk\ \ \ bridge\ \ \ local$ ]] || fail "row: ${lines[1]}"
	run --separate-stderr husk network inspect husk
	assert_status 0
	[ "$(json 'j[0]["IPAM"]["Config"][0]["Subnet"]' <<<"$output")" = 10.88.0.0/16 ]
	[ "$(json 'j[0]["IPAM"]["Config"][0]["Gateway"]' <<<"$output")" = 10.88.0.1 ]
	[ "$(json 'j[0]["Options"]["com.docker.network.bridge.name"]' <<<"$output")" = husk0 ]
}

@test "network create: the first free 10.89.N.0/24, the next bridge, the ID printed" {
	run --separate-stderr husk network create one
	assert_status 0
	[[ "$output" =~ ^[0-9a-f]{64}$ ]] || fail "not an ID: $output"
	id=$output
	run --separate-stderr husk network create two
	assert_status 0
	run --separate-stderr husk network inspect one two
	assert_status 0
	[ "$(json 'j[0]["Id"]' <<<"$output")" = "$id" ]
	[ "$(json 'j[0]["Name"]' <<<"$output")" = one ]
	[ "$(json 'j[0]["Driver"]' <<<"$output")" = bridge ]
	[ "$(json 'j[0]["Internal"]' <<<"$output")" = False ]
	[ "$(json 'j[0]["IPAM"]["Config"]' <<<"$output")" = "[{'Subnet': '10.89.0.0/24', 'Gateway': '10.89.0.1'}]" ]
	[ "$(json 'j[1]["IPAM"]["Config"][0]["Subnet"]' <<<"$output")" = 10.89.1.0/24 ]
	[ "$(json 'j[0]["Options"]["com.docker.network.bridge.name"]' <<<"$output")" = husk1 ]
	[ "$(json 'j[1]["Options"]["com.docker.network.bridge.name"]' <<<"$output")" = husk2 ]
	[ "$(json 'j[0]["Containers"]' <<<"$output")" = "{}" ]
	[[ "$(json 'j[0]["Created"]' <<<"$output")" =~ ^20[0-9]{2}-[0-9]{2}-[0-9]{2}T ]]
	# The record in the store.
	[ "$(json 'j["bridge"], j["subnet"], j["driver"]' <"$STORE/networks/one.json")" = "('husk1', '10.89.0.0/24', 'bridge')" ]
	# By ID prefix too.
	run --separate-stderr husk network inspect "${id:0:12}"
	assert_status 0
	[ "$(json 'j[0]["Name"]' <<<"$output")" = one ]
}

@test "network create --subnet --gateway --internal --label -d bridge" {
	run --separate-stderr husk network create --subnet 192.168.77.0/24 --gateway 192.168.77.254 \
		--internal --label a=1 --label b= --label a=2 -d bridge mine
	assert_status 0
	run --separate-stderr husk network inspect mine
	assert_status 0
	[ "$(json 'j[0]["IPAM"]["Config"]' <<<"$output")" = "[{'Subnet': '192.168.77.0/24', 'Gateway': '192.168.77.254'}]" ]
	[ "$(json 'j[0]["Internal"]' <<<"$output")" = True ]
	[ "$(json 'j[0]["Labels"]' <<<"$output")" = "{'a': '2', 'b': ''}" ]
	# Without --gateway: the first host.
	run --separate-stderr husk network create --subnet 172.20.0.0/16 other
	assert_status 0
	run --separate-stderr husk network inspect other
	[ "$(json 'j[0]["IPAM"]["Config"][0]["Gateway"]' <<<"$output")" = 172.20.0.1 ]
}

@test "network create: overlapping subnets, bad gateways and subnets are refused" {
	husk network create --subnet 10.89.0.0/24 first >/dev/null
	run --separate-stderr husk network create --subnet 10.89.0.128/25 second
	assert_status 1
	assert_one_error_line
	assert_stderr_contains 'network "second": subnet "10.89.0.128/25" overlaps network "first" (10.89.0.0/24)'
	run --separate-stderr husk network create --subnet 10.0.0.0/8 second
	assert_status 1
	assert_stderr_contains 'overlaps network'
	run --separate-stderr husk network create --subnet 10.88.1.0/24 second
	assert_status 1
	assert_stderr_contains 'overlaps network "husk" (10.88.0.0/16)'
	run --separate-stderr husk network create --subnet 172.21.0.0/24 --gateway 172.22.0.1 second
	assert_status 1
	assert_one_error_line
	assert_stderr_contains 'gateway "172.22.0.1" is not a host address of subnet "172.21.0.0/24"'
	run --separate-stderr husk network create --subnet 172.21.0.5/24 second
	assert_status 1
	assert_stderr_contains 'host bits set (172.21.0.0/24)'
	run --separate-stderr husk network create --subnet nonsense second
	assert_status 1
	assert_stderr_contains 'not an IPv4 CIDR'
	run --separate-stderr husk network create --gateway 10.1.1.1 second
	assert_status 125
	assert_stderr_contains '--gateway needs --subnet'
	# The automatic subnet steps over the taken one.
	run --separate-stderr husk network create second
	assert_status 0
	[ "$(json 'j["subnet"]' <"$STORE/networks/second.json")" = 10.89.1.0/24 ]
}

@test "network create: names in use, bad names and other drivers are refused" {
	husk network create dup >/dev/null
	run --separate-stderr husk network create dup
	assert_status 1
	assert_one_error_line
	assert_stderr_contains 'network "dup": already exists'
	run --separate-stderr husk network create husk
	assert_status 1
	assert_stderr_contains 'network "husk": already exists'
	for bad in ../etc 'a/b' -x .hidden 'sp ace' ''; do
		run --separate-stderr husk network create -- "$bad"
		assert_status 125
		assert_one_error_line
		assert_stderr_contains "network name \"$bad\": only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed"
	done
	[ ! -e "$STORE/etc.json" ]
	[ "$(ls "$STORE/networks")" = "dup.json
husk.json" ] || fail "records: $(ls "$STORE/networks")"
	run --separate-stderr husk network create -d macvlan m
	assert_status 125
	assert_stderr_contains 'driver "macvlan": not supported (only bridge)'
	run --separate-stderr husk network create
	assert_status 125
	run --separate-stderr husk network create a b
	assert_status 125
	run --separate-stderr husk network create --bogus a
	assert_status 125
}

@test "network ls: -q, --no-trunc, --format json, sorted by name" {
	id_b=$(husk network create bbb)
	id_a=$(husk network create --label k=v --internal aaa)
	run --separate-stderr husk network ls
	assert_status 0
	[ "${#lines[@]}" -eq 4 ]
	[[ "${lines[1]}" == "${id_a:0:12}   aaa    bridge   local" ]] || fail "row: ${lines[1]}"
	[[ "${lines[2]}" == "${id_b:0:12}   bbb    bridge   local" ]] || fail "row: ${lines[2]}"
	[[ "${lines[3]}" == *"   husk   bridge   local" ]] || fail "row: ${lines[3]}"
	run --separate-stderr husk network ls -q
	assert_status 0
	[ "${lines[0]}" = "${id_a:0:12}" ]
	[ "${lines[1]}" = "${id_b:0:12}" ]
	[ "${#lines[@]}" -eq 3 ]
	run --separate-stderr husk network ls -q --no-trunc
	[ "${lines[0]}" = "$id_a" ]
	run --separate-stderr husk network ls --format json
	assert_status 0
	[ "${#lines[@]}" -eq 3 ]
	[ "$(json 'j["ID"], j["Name"], j["Driver"], j["Internal"], j["Labels"]' <<<"${lines[0]}")" = "('${id_a:0:12}', 'aaa', 'bridge', 'true', 'k=v')" ]
	run --separate-stderr husk network ls --format '{{json .}}'
	assert_status 0
	run --separate-stderr husk network ls --format '{{.Name}}'
	assert_status 125
	run --separate-stderr husk network ls extra
	assert_status 125
	run --separate-stderr husk network list -q
	assert_status 0
}

@test "network inspect: attached containers with their addresses; unknown networks" {
	husk network create net >/dev/null
	attach_by_hand net "$CID" 10.89.0.2
	run --separate-stderr husk network inspect net
	assert_status 0
	[ "$(json "j[0]['Containers']['$CID']['IPv4Address']" <<<"$output")" = 10.89.0.2/24 ]
	[ "$(json "j[0]['Containers']['$CID']['Aliases']" <<<"$output")" = "['web']" ]
	run --separate-stderr husk network inspect net nope
	assert_status 1
	assert_one_error_line
	assert_stderr_contains 'no such network: nope'
	run --separate-stderr husk network inspect
	assert_status 125
}

@test "network rm: removes, refuses the default and networks with containers" {
	husk network create gone >/dev/null
	run --separate-stderr husk network rm gone
	assert_status 0
	assert_output gone
	[ ! -e "$STORE/networks/gone.json" ]
	run --separate-stderr husk network exists gone
	assert_status 1
	run --separate-stderr husk network rm husk
	assert_status 1
	assert_one_error_line
	assert_stderr_contains 'network "husk": the default network cannot be removed'
	husk network exists husk
	husk network create busy >/dev/null
	attach_by_hand busy "$CID" 10.89.0.2
	run --separate-stderr husk network rm busy
	assert_status 1
	assert_one_error_line
	assert_stderr_contains 'network "busy": 1 container is attached (ab0000000000)'
	husk network exists busy
	# Several: each failure reported, the rest removed.
	husk network create x1 >/dev/null
	husk network create x2 >/dev/null
	run --separate-stderr husk network remove x1 nope busy x2
	assert_status 1
	[ "$output" = $'x1\nx2' ] || fail "got: $output"
	assert_stderr_contains 'no such network: nope'
	assert_stderr_contains 'network "busy": 1 container is attached'
	run husk network exists x1
	assert_status 1
	run husk network exists x2
	assert_status 1
	run --separate-stderr husk network rm
	assert_status 125
}

@test "network prune: removes networks without containers, never the default" {
	husk network create p1 >/dev/null
	husk network create p2 >/dev/null
	husk network create used >/dev/null
	attach_by_hand used "$CID" 10.89.2.2
	run --separate-stderr husk network prune -f
	assert_status 0
	assert_output $'Deleted Networks:\np1\np2'
	run --separate-stderr husk network ls --format json
	[ "${#lines[@]}" -eq 2 ]
	husk network exists husk
	husk network exists used
	run --separate-stderr husk network prune
	assert_status 0
	assert_output ""
	run --separate-stderr husk network prune x
	assert_status 125
}

@test "network exists: 0 or 1, silent" {
	husk network create here >/dev/null
	run --separate-stderr husk network exists here
	assert_status 0
	assert_output ""
	run --separate-stderr husk network exists nowhere
	assert_status 1
	assert_output ""
	[ -z "$stderr" ] || fail "stderr: $stderr"
	run --separate-stderr husk network exists
	assert_status 125
	run --separate-stderr husk network frobnicate
	assert_status 125
}

@test "network create: 10 in parallel get distinct subnets and bridges" {
	pids=()
	for i in $(seq 1 10); do
		husk network create "par$i" >"$BATS_TEST_TMPDIR/par$i.out" 2>&1 &
		pids+=($!)
	done
	for p in "${pids[@]}"; do
		wait "$p" || fail "a create failed: $(cat "$BATS_TEST_TMPDIR"/par*.out)"
	done
	run --separate-stderr husk network inspect par1 par2 par3 par4 par5 par6 par7 par8 par9 par10
	assert_status 0
	subnets=$(json '" ".join(sorted(n["IPAM"]["Config"][0]["Subnet"] for n in j))' <<<"$output")
	bridges=$(json '" ".join(sorted(n["Options"]["com.docker.network.bridge.name"] for n in j))' <<<"$output")
	[ "$(tr ' ' '\n' <<<"$subnets" | sort -u | wc -l)" -eq 10 ] || fail "subnets: $subnets"
	[ "$(tr ' ' '\n' <<<"$bridges" | sort -u | wc -l)" -eq 10 ] || fail "bridges: $bridges"
	[ "$bridges" = "husk1 husk10 husk2 husk3 husk4 husk5 husk6 husk7 husk8 husk9" ] || fail "bridges: $bridges"
	for n in $(seq 0 9); do
		[[ " $subnets " == *" 10.89.$n.0/24 "* ]] || fail "10.89.$n.0/24 missing: $subnets"
	done
}
