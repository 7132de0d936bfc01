#!/usr/bin/env bash
# stop.sh [RUN_DIR] stops what run.sh started (tapagent, snmpd, snmptrapd),
# using the pid files in RUN_DIR (default ./run). A pid is only signalled
# when it still runs the program we started, so a reused pid is left alone.
set -euo pipefail
run_dir=${1:-${RUN_DIR:-run}}
[[ -d $run_dir ]] || { echo "stop.sh: nothing running ($run_dir does not exist)"; exit 0; }
run_dir=$(cd "$run_dir" && pwd)

stop_one() { # name pidfile
	local name=$1 pidfile=$2 pid cmdline
	[[ -f $pidfile ]] || return 0
	pid=$(<"$pidfile")
	cmdline=$({ tr '\0' ' ' <"/proc/$pid/cmdline"; } 2>/dev/null || true)
	if [[ $pid =~ ^[0-9]+$ && $cmdline == *"$name"* && $cmdline == *"$run_dir"* ]]; then
		kill -TERM "$pid" 2>/dev/null || true
		for _ in $(seq 50); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
		if kill -0 "$pid" 2>/dev/null; then
			echo "stop.sh: $name ($pid) ignored SIGTERM, killing it" >&2
			kill -KILL "$pid" 2>/dev/null || true
		fi
		echo "stopped $name ($pid)"
	fi
	rm -f "$pidfile"
}

stop_one tapagent "$run_dir/tapagent.pid"
stop_one snmpd "$run_dir/snmpd.pid"
stop_one snmptrapd "$run_dir/snmptrapd.pid"
