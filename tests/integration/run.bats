#!/usr/bin/env bats
# husk run: the process, its exit status, and how the image config shapes it.

bats_require_minimum_version 1.5.0
load helpers

setup_file() {
	ensure_images
	new_store "$BATS_FILE_TMPDIR/store"
	export STORE
	pull basic latest
	pull basic v1
	pull entry latest
}

teardown_file() {
	remove_store "$STORE"
}

# ----------------------------------------------------------- exit status
@test "exit status is the command's" {
	run --separate-stderr husk run --rm basic hsk-report exit 3
	assert_status 3
	run --separate-stderr husk run --rm basic sh -c 'exit 42'
	assert_status 42
	run --separate-stderr husk run --rm basic true
	assert_status 0
	run --separate-stderr husk run --rm basic false
	assert_status 1
}

@test "killed by SIGSEGV: exit status 139" {
	run --separate-stderr husk run --rm basic hsk-report kill-self SEGV
	assert_status 139
}

@test "killed by SIGFPE: exit status 136" {
	run --separate-stderr husk run --rm basic hsk-report kill-self FPE
	assert_status 136
}

@test "a child killed by SIGTERM: sh's 143 is passed through" {
	# Unlike the cases above, pid 1 (sh) is not killed: it exits 128+N
	# normally.  A pid 1 cannot kill itself with SIGTERM, so hsk-report
	# runs as sh's child.
	run --separate-stderr husk run --rm basic sh -c 'hsk-report kill-self TERM; exit $?'
	assert_status 143
}

@test "command not in the image: 127 and the exec error" {
	run -127 --separate-stderr husk run --rm basic nosuchcmd
	assert_status 127
	assert_one_error_line
	[ "$stderr" = 'husk: exec "nosuchcmd": executable file not found in $PATH' ] ||
		fail "stderr: $stderr"
}

@test "absolute path not in the image: 127" {
	run -127 --separate-stderr husk run --rm basic /no/such/file
	assert_status 127
	assert_one_error_line
	assert_stderr_contains "/no/such/file"
}

@test "a file that is not executable: 126" {
	run --separate-stderr husk run --rm basic /usr/local/bin/notexec
	assert_status 126
	assert_one_error_line
	assert_stderr_contains "/usr/local/bin/notexec"
	[[ "$output" != *"should not run"* ]] || fail "the script ran: $output"
}

@test "a directory as the command: 126" {
	run --separate-stderr husk run --rm basic /etc
	assert_status 126
	assert_one_error_line
}

# ------------------------------------------------------- cmd, entrypoint
@test "without arguments the image's Cmd runs" {
	run --separate-stderr husk run --rm basic
	assert_status 0
	assert_output "hello from husk"
}

@test "arguments replace Cmd" {
	run --separate-stderr husk run --rm basic echo replaced
	assert_status 0
	assert_output "replaced"
}

@test "arguments are passed as they are: spaces, quotes, empty" {
	run --separate-stderr husk run --rm basic sh -c 'for a in "$@"; do printf "[%s]" "$a"; done' \
		_ "a b" '' "c'd" '$HOME' -x
	assert_status 0
	assert_output "[a b][][c'd][\$HOME][-x]"
}

@test "Entrypoint + Cmd: both run, Cmd as the arguments" {
	run --separate-stderr husk run --rm entry
	assert_status 0
	assert_output "/srv/app"
}

@test "Entrypoint + arguments: the arguments replace Cmd only" {
	run --separate-stderr husk run --rm entry pid
	assert_status 0
	assert_output "1"
	run --separate-stderr husk run --rm entry env PATH
	assert_status 0
	assert_output "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
}

@test "flags after IMAGE belong to the command" {
	run --separate-stderr husk run --rm basic echo --rm --help
	assert_status 0
	assert_output "--rm --help"
}

# --------------------------------------------------------- env, workdir
@test "Env from the image is visible" {
	run --separate-stderr husk run --rm basic hsk-report env HUSK_TEST
	assert_status 0
	assert_output "basic-env"
	run --separate-stderr husk run --rm basic hsk-report env GREETING
	assert_status 0
	assert_output "hello world"
}

@test "PATH is the image's, not the caller's" {
	PATH=/caller/bin:$PATH run --separate-stderr husk run --rm basic hsk-report env PATH
	assert_status 0
	assert_output "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
}

@test "the caller's environment does not leak in" {
	HUSK_LEAK_CHECK=leaked run --separate-stderr husk run --rm basic hsk-report env HUSK_LEAK_CHECK
	assert_status 1
	[ -z "$output" ] || fail "leaked: $output"
}

@test "WorkingDir is the cwd" {
	run --separate-stderr husk run --rm entry cwd
	assert_status 0
	assert_output "/srv/app"
}

@test "without WorkingDir the cwd is /" {
	run --separate-stderr husk run --rm basic hsk-report cwd
	assert_status 0
	assert_output "/"
}

@test "stdout and stderr of the container go to husk's" {
	run --separate-stderr husk run --rm basic sh -c 'echo to-out; echo to-err >&2'
	assert_status 0
	assert_output "to-out"
	[[ "$stderr" == *to-err* ]] || fail "stderr: $stderr"
}

@test "stdin reaches the container (-i)" {
	run --separate-stderr bash -c 'echo piped-in | "$@"' _ \
		timeout 300 "$HUSK" --root "$STORE" run --rm -i basic cat
	assert_status 0
	assert_output "piped-in"
}

# ------------------------------------------------------------ image names
@test "run by localhost/NAME:TAG, NAME:TAG and NAME (latest)" {
	for ref in localhost/basic:latest basic:latest basic localhost/basic basic:v1; do
		run --separate-stderr husk run --rm "$ref" hsk-report env HUSK_TEST
		assert_status 0
		[ "$output" = basic-env ] || fail "$ref: $output" "$stderr"
	done
}

@test "run by image ID: full and a 12-hex prefix" {
	id=$(image_id basic)
	for ref in "$id" "${id:0:12}"; do
		run --separate-stderr husk run --rm "$ref" hsk-report env HUSK_TEST
		assert_status 0
		[ "$output" = basic-env ] || fail "$ref: $output" "$stderr"
	done
}

@test "run of a tag that was not pulled fails" {
	run --separate-stderr husk run --rm entry:v1 pid
	assert_status 125
	assert_one_error_line
	assert_stderr_contains 'image "entry:v1": not found'
}
