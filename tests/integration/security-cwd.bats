#!/usr/bin/env bats
# CVE-2024-21626 ("Leaky Vessels"): a working directory of /proc/self/fd/N reaches a directory
# of the host that the runtime still had open when it resolved the path.  For every N from 3 to
# 20 and every way husk starts a process in a container, the process either fails cleanly or
# runs with its working directory inside the container, and never reads the host's marker.

bats_require_minimum_version 1.5.0
load helpers

# Enough "../" to climb from any host directory to the host's "/".
UP=../../../../../../../../../../../../../../../../../../../../../../../../

setup_file() {
	ensure_images
	new_store "$BATS_FILE_TMPDIR/store"
	export STORE HUSK
	# The host's marker, readable by this user and by the container's root (which is this
	# user on the host rootless), reachable only by climbing out of the container.
	SECRET=$BATS_FILE_TMPDIR/host-marker
	SECRET_TEXT=host-marker-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')
	printf '%s\n' "$SECRET_TEXT" >"$SECRET"
	chmod 0600 "$SECRET"
	export SECRET SECRET_TEXT
	pull basic latest
	# One layout, a tag per descriptor number: the base layer is shared by all of them.
	local n layout=$BATS_FILE_TMPDIR/wd
	for n in $(seq 3 20); do
		"$MKIMAGE" "$layout" --tag "fd$n" --compression none \
			--workdir "/proc/self/fd/$n" --cmd '["sh","-c","pwd"]' >/dev/null
		husk pull "oci:$layout:fd$n" >/dev/null 2>&1 || return 1
	done
	husk run -d --name target basic sleep 100000 >/dev/null
}

teardown_file() {
	husk rm -f target >/dev/null 2>&1 || true
	remove_store "$STORE"
}

# What every probe runs in the container: its working directory, then the marker by a
# path that only resolves from a directory of the host.
probe() {
	printf 'pwd; cat %s%s 2>/dev/null; true' "$UP" "$SECRET"
}

# The outcome of one attempt (status, output, stderr from bats' run): a clean failure that
# names the working directory (or, with a second argument, that text), or a working directory
# inside the container; never the marker.
check_attempt() { # WHAT [ERROR-TEXT]
	if [[ "$output$stderr" == *"$SECRET_TEXT"* ]]; then
		fail "$1: the container read the host's marker" "stdout: $output" "stderr: $stderr"
		return 1
	fi
	if [ "$status" -eq 0 ]; then
		[[ "${lines[0]:-}" == /* ]] ||
			fail "$1: ran with a working directory outside the container (pwd \"${lines[0]:-}\")" \
				"stdout: $output" "stderr: $stderr"
	else
		assert_one_error_line || fail "$1: failed without one clear error line"
		assert_stderr_contains "${2:-working directory}" || fail "$1: failed for another reason"
	fi
}

@test "CVE-2024-21626: an image's WorkingDir /proc/self/fd/N never reaches the host (N = 3..20)" {
	local n
	for n in $(seq 3 20); do
		run --separate-stderr husk run --rm "localhost/wd:fd$n" sh -c "$(probe)"
		check_attempt "run, WorkingDir /proc/self/fd/$n"
	done
}

@test "CVE-2024-21626: run -w /proc/self/fd/N never reaches the host (N = 3..20)" {
	local n
	for n in $(seq 3 20); do
		run --separate-stderr husk run --rm -w "/proc/self/fd/$n" basic sh -c "$(probe)"
		check_attempt "run -w /proc/self/fd/$n"
		run --separate-stderr husk run --rm -i -w "/proc/self/fd/$n" basic sh -c "$(probe)" </dev/null
		check_attempt "run -i -w /proc/self/fd/$n"
	done
}

@test "CVE-2024-21626: detached, created and started containers never reach the host (N = 3..20)" {
	local n id
	for n in $(seq 3 20); do
		# run -d: through the monitor.
		run --separate-stderr husk run -d "localhost/wd:fd$n" sh -c "$(probe)"
		if [ "$status" -eq 0 ]; then
			id=${lines[-1]}
			husk wait "$id" >/dev/null
			run --separate-stderr husk logs "$id"
			status=0
			check_attempt "run -d, WorkingDir /proc/self/fd/$n"
			husk rm -f "$id" >/dev/null
		else
			check_attempt "run -d, WorkingDir /proc/self/fd/$n"
		fi
		# create, then start -a.
		run --separate-stderr husk create -w "/proc/self/fd/$n" basic sh -c "$(probe)"
		assert_status 0
		id=${lines[-1]}
		run --separate-stderr husk start -a "$id"
		check_attempt "create -w /proc/self/fd/$n, start -a"
		husk rm -f "$id" >/dev/null
	done
}

@test "CVE-2024-21626: exec -w /proc/self/fd/N never reaches the host (N = 3..20)" {
	local n
	for n in $(seq 3 20); do
		run --separate-stderr husk exec -w "/proc/self/fd/$n" target sh -c "$(probe)"
		check_attempt "exec -w /proc/self/fd/$n"
		run --separate-stderr husk exec -i -w "/proc/self/fd/$n" target sh -c "$(probe)" </dev/null
		check_attempt "exec -i -w /proc/self/fd/$n"
		# Without a subordinate range only root is mapped.
		[ "$(test_mode)" != nosub ] || continue
		run --separate-stderr husk exec -u 1234 -w "/proc/self/fd/$n" target sh -c "$(probe)"
		check_attempt "exec -u 1234 -w /proc/self/fd/$n"
	done
}

@test "CVE-2024-21626: the other magic links as working directories stay inside" {
	local w
	for w in /proc/self/cwd /proc/self/root /proc/1/cwd /proc/self/fd /proc/thread-self/fd/3; do
		run --separate-stderr husk run --rm -w "$w" basic sh -c "$(probe)"
		check_attempt "run -w $w"
		run --separate-stderr husk exec -w "$w" target sh -c "$(probe)"
		check_attempt "exec -w $w"
	done
}

@test "CVE-2024-21626: a volume's destination through /proc/self/fd/N is not followed out" {
	local n vol=$BATS_TEST_TMPDIR/vol
	mkdir -p "$vol"
	for n in $(seq 3 20); do
		run --separate-stderr husk run --rm -v "$vol:/proc/self/fd/$n/husk-vol" basic sh -c "$(probe)"
		check_attempt "-v ...:/proc/self/fd/$n/husk-vol" "mount on"
	done
	# Nothing was created in the host directories husk had open.
	[ ! -e "$STORE/husk-vol" ] || fail "a volume destination created $STORE/husk-vol"
	[ -z "$(find "$BATS_FILE_TMPDIR" -name husk-vol)" ] || fail "husk-vol created on the host"
}

@test "a working directory that is a symlink inside the image resolves inside the container" {
	run --separate-stderr husk run --rm basic sh -c 'ln -s /usr/local /tmp/l; cd /tmp/l && pwd'
	assert_status 0
	# An absolute -w that does not exist is created, as docker does.
	run --separate-stderr husk run --rm -w /new/dir basic pwd
	assert_status 0
	assert_output /new/dir
	run --separate-stderr husk exec -w /data target pwd
	assert_status 0
	assert_output /data
	run --separate-stderr husk exec -w /no/such/dir target pwd
	[ "$status" -ne 0 ] || fail "exec -w into a missing directory succeeded"
	assert_one_error_line
}

@test "no descriptor of husk's is open in the container's process" {
	run --separate-stderr husk run --rm basic sh -c 'ls /proc/self/fd'
	assert_status 0
	# ls itself holds the directory it lists (3).
	[ "$(printf '%s\n' "$output" | tr '\n' ' ')" = "0 1 2 3 " ] || fail "open: $output"
	run --separate-stderr husk exec target sh -c 'ls /proc/self/fd'
	assert_status 0
	[ "$(printf '%s\n' "$output" | tr '\n' ' ')" = "0 1 2 3 " ] || fail "open in exec: $output"
}
