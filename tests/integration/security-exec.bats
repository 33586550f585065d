#!/usr/bin/env bats
# The processes husk puts into a running container: what a container can reach through them.
#   CVE-2019-5736: a container that makes husk exec a "#!/proc/self/exe" script gets husk's
#                  binary running inside it, holds it open through /proc/PID/exe and rewrites
#                  it once husk exits.
#   CVE-2016-9962 class: the process husk exec makes must carry only the container's
#                  privileges by the time the container can see it, and must not stall on a
#                  FIFO the container planted where husk reads (/etc/passwd).

bats_require_minimum_version 1.5.0
load helpers

setup_file() {
	ensure_images
	new_store "$BATS_FILE_TMPDIR/store"
	export STORE HUSK
	pull basic latest
}

# husk as the interpreter of a script in a busybox image runs only when it is linked
# statically: a dynamic build (the sanitizer one) needs a loader the image does not have.
need_static_husk() {
	if LC_ALL=C readelf -l "$HUSK" 2>/dev/null | grep -q 'program interpreter'; then
		skip "this husk is linked dynamically and cannot run inside a busybox image"
	fi
}

teardown_file() {
	husk rm -f exe-target ptr fifo-run watched inh >/dev/null 2>&1 || true
	remove_store "$STORE"
}

@test "CVE-2019-5736: a container cannot rewrite husk's binary through /proc/self/exe" {
	need_static_husk
	local bin=$BATS_TEST_TMPDIR/bin before after pipe_pid
	mkdir -p "$bin"
	cp "$HUSK" "$bin/husk"
	cp "$(dirname "$HUSK")/husk-full" "$bin/husk-full"
	chmod 0755 "$bin/husk" "$bin/husk-full"
	HUSK=$bin/husk husk run -d --name exe-target basic sleep 100000 >/dev/null
	# An upgrade while it runs: a new inode at the same path, which only the next husk
	# command executes.
	cp "$bin/husk" "$bin/husk.new"
	mv -f "$bin/husk.new" "$bin/husk"
	before=$(sha256sum <"$bin/husk")

	# In the container: the script husk will exec, and a watcher that waits for a process
	# that is not busybox (husk, run as the script's interpreter), holds its executable open,
	# kills it and keeps trying to write through the held descriptor.
	HUSK=$bin/husk husk exec exe-target sh -c 'printf "#!/proc/self/exe\n" >/evil && chmod 0755 /evil'
	HUSK=$bin/husk husk exec -d exe-target sh -c '
		end=$(($(date +%s) + 60))
		while [ "$(date +%s)" -lt "$end" ]; do
			for p in /proc/[0-9]*; do
				t=$(readlink "$p/exe" 2>/dev/null) || continue
				case $t in /bin/busybox | "") continue ;; esac
				exec 3<"$p/exe" || continue
				echo "$t" >/tmp/found
				kill -9 "${p#/proc/}"
				i=0
				while [ $i -lt 100 ]; do
					if printf "#!/bin/sh\necho pwned\n" 2>/dev/null >/proc/self/fd/3; then
						echo written >/tmp/result
						exit 0
					fi
					sleep 0.1
					i=$((i + 1))
				done
				echo refused >/tmp/result
				exit 0
			done
		done
		echo timeout >/tmp/result'

	# husk exec runs the script with stderr into a full pipe: the interpreter blocks on its
	# first message, long enough for the watcher to find it.
	(
		exec 3>&-
		{
			head -c 65536 /dev/zero
			timeout 60 "$bin/husk" --root "$STORE" exec exe-target /evil
		} 2>&1 | sleep 60
	) &
	pipe_pid=$!
	for _ in $(seq 1 300); do
		run husk exec exe-target cat /tmp/result
		[ "$status" -eq 0 ] && break
		sleep 0.1
	done
	kill "$pipe_pid" 2>/dev/null || true
	wait "$pipe_pid" 2>/dev/null || true
	run husk exec exe-target sh -c 'cat /tmp/found; cat /tmp/result'
	echo "watcher: $output"
	after=$(sha256sum <"$bin/husk")
	[ "$before" = "$after" ] || fail "the container rewrote husk's binary ($output)"
	# The attack really ran: husk was the script's interpreter and the watcher held it.
	[ "${lines[0]:-}" != "" ] || fail "the watcher never saw husk run in the container: $output"
	[ "${lines[1]:-}" = refused ] || fail "the watcher's write was not refused: $output"
	HUSK=$bin/husk husk rm -f exe-target >/dev/null
}

@test "CVE-2019-5736: every process husk starts in a container runs from a sealed copy" {
	need_static_husk
	# The first process, a detached one and an exec'd one: as long as they are husk, before
	# their exec, /proc/PID/exe is a memfd; a script whose interpreter is /proc/self/exe runs
	# that copy, never the binary on disk.
	run --separate-stderr husk run --rm basic sh -c 'printf "#!/proc/self/exe\n" >/x; chmod +x /x; /x 2>&1; true'
	assert_status 0
	run --separate-stderr husk run -d --name sealed basic sleep 1000
	assert_status 0
	run --separate-stderr husk exec sealed sh -c 'printf "#!/proc/self/exe --version\n" >/x; chmod +x /x'
	assert_status 0
	# husk itself, run as the script's interpreter, says which binary it is.
	run --separate-stderr husk exec sealed /x
	[ "$status" -eq 0 ] || fail "the interpreter did not run: $stderr"
	[[ "$output" == husk* ]] || fail "not husk: $output"
	run husk exec sealed sh -c 'ls -l /proc/1/exe'
	husk rm -f sealed >/dev/null
	# A monitor on the host runs from the copy too.
	run --separate-stderr husk run -d --name sealed2 basic sleep 1000
	local mon
	mon=$(pgrep -u "$(id -u)" -f "husk-monitor __monitor $STORE .* sealed2" | head -1)
	[ -n "$mon" ] || fail "no monitor found"
	[[ "$(readlink "/proc/$mon/exe")" == "/memfd:husk"* ]] ||
		fail "the monitor runs $(readlink "/proc/$mon/exe")"
	husk rm -f sealed2 >/dev/null
}

@test "exec: the joining process has only the container's privileges where the container can see it, and a FIFO at /etc/passwd does not stall it" {
	husk run -d --name ptr --cap-add SYS_PTRACE basic sleep 100000 >/dev/null
	# A watcher puts a FIFO where /etc/passwd was, records for 6 seconds any process whose
	# effective capabilities exceed pid 1's, then puts the file back (feeding the FIFO to
	# whoever waits on it).
	husk exec -d ptr sh -c '
		own=$(sed -n "s/^CapEff:[[:space:]]*//p" /proc/1/status)
		mv /etc/passwd /etc/passwd.real && mkfifo /etc/passwd
		: >/tmp/seen
		end=$(($(date +%s) + 6))
		while [ "$(date +%s)" -lt "$end" ]; do
			for s in /proc/[0-9]*/status; do
				c=$(sed -n "s/^CapEff:[[:space:]]*//p" "$s" 2>/dev/null) || continue
				[ -n "$c" ] || continue
				if [ $((0x$c & ~0x$own)) -ne 0 ]; then echo "$s $c" >>/tmp/seen; fi
			done
		done
		echo >/etc/passwd &
		sleep 0.5
		kill $! 2>/dev/null
		rm -f /etc/passwd
		mv /etc/passwd.real /etc/passwd
		echo done >>/tmp/seen'
	sleep 1
	# Old husk blocks on the FIFO with the host's capabilities until the watcher feeds it.
	run --separate-stderr timeout 20 "$HUSK" --root "$STORE" exec ptr true
	local st=$status err=$stderr
	for _ in $(seq 1 200); do
		run husk exec ptr sh -c 'grep -q done /tmp/seen && cat /tmp/seen'
		[ "$status" -eq 0 ] && break
		sleep 0.1
	done
	[ "$output" = done ] || fail "a process in the container had more than the container's capabilities:" "$output"
	status=$st stderr=$err
	[ "$status" -ne 124 ] || fail "husk exec stalled on a FIFO at /etc/passwd"
	[ "$status" -ne 0 ] || fail "husk exec ran with a FIFO as /etc/passwd (it waited for the watcher)"
	assert_one_error_line
	assert_stderr_contains "/etc/passwd"
	husk rm -f ptr >/dev/null
}

@test "exec takes the container's confinement: capabilities, no_new_privs, seccomp, user" {
	husk run -d --name conf --cap-drop ALL --cap-add KILL --security-opt no-new-privileges \
		basic sleep 100000 >/dev/null
	run --separate-stderr husk exec conf sh -c 'grep -E "^(CapEff|CapBnd|NoNewPrivs|Seccomp):" /proc/self/status'
	assert_status 0
	assert_output_contains "CapEff:	0000000000000020"
	assert_output_contains "CapBnd:	0000000000000020"
	assert_output_contains "NoNewPrivs:	1"
	assert_output_contains "Seccomp:	2"
	if [ "$(test_mode)" != nosub ]; then # without a subordinate range only root is mapped
		run --separate-stderr husk exec -u tester conf sh -c 'id -u; grep ^CapEff /proc/self/status'
		assert_status 0
		assert_output_contains "1234"
		assert_output_contains "CapEff:	0000000000000000"
	fi
	husk rm -f conf >/dev/null
}

@test "run: a FIFO as the container's /etc/passwd fails the start cleanly instead of stalling" {
	# The container's first run makes the FIFO; its second start must not wait on it.
	husk create --name fifo-run basic sh -c 'test -p /etc/passwd || { rm /etc/passwd; mkfifo /etc/passwd; }' >/dev/null
	run --separate-stderr husk start -a fifo-run
	assert_status 0
	run --separate-stderr timeout 10 "$HUSK" --root "$STORE" start -a fifo-run
	[ "$status" -ne 124 ] || fail "husk start stalled on a FIFO at /etc/passwd"
	[ "$status" -ne 0 ] || fail "started with a FIFO as /etc/passwd"
	assert_one_error_line
	assert_stderr_contains "/etc/passwd"
	husk rm -f fifo-run >/dev/null
}

@test "CVE-2016-9962: a container's root cannot ptrace, read the memory of or open the descriptors of husk joining it" {
	husk run -d --name watched basic sleep 100000 >/dev/null
	# The watcher tries everything on each process that is still husk; a PATH of 11000 missing
	# directories keeps exec's process husk for a while (execvp tries each), so it is seen.
	husk exec -d watched sh -c 'hsk-report watch-husk 6 >/tmp/watch 2>&1'
	local path i
	path=$(seq -s: -f '/nx/%g' 1 11000):/bin
	sleep 0.3
	for i in $(seq 1 15); do
		husk exec -e "PATH=$path" watched true || fail "exec $i failed"
	done
	for _ in $(seq 1 100); do
		run husk exec watched cat /tmp/watch
		[[ "$output" == *seen* ]] && break
		sleep 0.1
	done
	husk rm -f watched >/dev/null
	local reached
	reached=$(printf '%s\n' "$output" | grep ' ok$' | sort -u | head -20)
	[ -z "$reached" ] || fail "the container reached into husk:" "$reached"
	[[ "$output" =~ seen\ ([0-9]+) ]] && [ "${BASH_REMATCH[1]}" -gt 0 ] ||
		fail "the watcher never saw husk in the container: $output"
}

@test "CVE-2022-29162: no inheritable or ambient capabilities in run, exec, -u and --cap-add" {
	local cmd='grep -E "^Cap(Inh|Amb):" /proc/self/status'
	run --separate-stderr husk run --rm basic sh -c "$cmd"
	assert_status 0
	assert_output "CapInh:	0000000000000000
CapAmb:	0000000000000000"
	run --separate-stderr husk run --rm --cap-add ALL basic sh -c "$cmd"
	assert_output "CapInh:	0000000000000000
CapAmb:	0000000000000000"
	husk run -d --name inh --cap-add NET_ADMIN basic sleep 100000 >/dev/null
	run --separate-stderr husk exec inh sh -c "$cmd"
	assert_output "CapInh:	0000000000000000
CapAmb:	0000000000000000"
	run --separate-stderr husk exec --privileged inh sh -c "$cmd"
	assert_output "CapInh:	0000000000000000
CapAmb:	0000000000000000"
	if [ "$(test_mode)" != nosub ]; then
		# A non-root user: an inheritable set would come back as permitted through a file
		# capability or an exec of a capable binary.
		run --separate-stderr husk exec -u 1234 inh sh -c "$cmd; grep ^CapPrm /proc/self/status"
		assert_output "CapInh:	0000000000000000
CapAmb:	0000000000000000
CapPrm:	0000000000000000"
	fi
	husk rm -f inh >/dev/null
}
