#!/usr/bin/env bash
# run.sh starts a private snmpd with tapagent behind it, for people to try
# (`make run`) and for the container (--foreground). Nothing here touches
# the system snmpd service, port 161 or /var/agentx/master.
#
# Settings (environment):
#   RUN_DIR     state, logs, pid files           (default ./run)
#   SNMP_PORT   agent UDP port                   (default 10161)
#   LISTEN      agent listen address             (default 127.0.0.1)
#   TRAP_SINK   HOST:PORT of the MD's receiver   (default: a local snmptrapd)
#   TRAP_PORT   port of that local snmptrapd     (default 10162)
#   TRAP_COMMUNITY                               (default public)
#   LI_AUTH LI_PRIV ADMIN_AUTH ADMIN_PRIV        passphrases (defaults: snmpd-conf.sh)
#   BIN_DIR     where tapagent is                (default ./bin)
#   LOG_LEVEL   tapagent --log-level             (default info)
#   SKIP_DEPS=1 SKIP_BUILD=1                     what make has done already
# --foreground: no package installs, no build, no local snmptrapd; stay
# attached and stop both daemons when either ends or on SIGTERM.
set -euo pipefail

cd "$(dirname "$0")/.."
repo=$(pwd)
foreground=0
[[ ${1:-} == --foreground ]] && foreground=1

run_dir=${RUN_DIR:-run}
snmp_port=${SNMP_PORT:-10161}
listen=${LISTEN:-127.0.0.1}
trap_port=${TRAP_PORT:-10162}
trap_sink=${TRAP_SINK:-}
bin_dir=${BIN_DIR:-bin}
log_level=${LOG_LEVEL:-info}
tap2=.1.3.6.1.4.1.9.9.399

if [[ $foreground -eq 0 ]]; then
	[[ ${SKIP_DEPS:-} == 1 ]] || scripts/deps.sh snmpd snmp snmptrapd
	if [[ ${SKIP_BUILD:-} != 1 ]] && compgen -G 'cmd/*/*.go' >/dev/null; then
		go build -o "$bin_dir/" ./cmd/...
	fi
fi

mkdir -p "$run_dir"
run_dir=$(cd "$run_dir" && pwd)
bin_dir=$(cd "$bin_dir" 2>/dev/null && pwd || echo "$repo/$bin_dir")

if [[ -f $run_dir/snmpd.pid ]] && kill -0 "$(<"$run_dir/snmpd.pid")" 2>/dev/null; then
	echo "run.sh: already running from $run_dir; stop it first: scripts/stop.sh $run_dir (make stop)" >&2
	exit 1
fi

# spawn NAME LOG CMD... starts CMD detached in its own session, with its pid
# in RUN_DIR/NAME.pid (the bash wrapper execs, so the pid is CMD's).
spawn() {
	local name=$1 log=$2
	shift 2
	setsid bash -c 'echo $$ >"$0"; exec "$@"' "$run_dir/$name.pid" "$@" </dev/null >>"$log" 2>&1 &
	for _ in $(seq 50); do
		[[ -s $run_dir/$name.pid ]] && return 0
		sleep 0.02
	done
	echo "run.sh: $name did not start" >&2
	return 1
}

# Local notification receiver unless an MD was named.
if [[ -z $trap_sink && $foreground -eq 0 ]]; then
	trap_sink=127.0.0.1:$trap_port
	spawn snmptrapd "$run_dir/snmptrapd.out" scripts/snmptrapd.sh "$run_dir/trapd" "$trap_port"
fi

conf_args=(--dir "$run_dir/snmpd" --port "$snmp_port" --listen "$listen")
[[ -z $trap_sink ]] || conf_args+=(--trap-sink "$trap_sink" --trap-community "${TRAP_COMMUNITY:-public}")
[[ -z ${LI_AUTH:-} ]] || conf_args+=(--li-auth "$LI_AUTH")
[[ -z ${LI_PRIV:-} ]] || conf_args+=(--li-priv "$LI_PRIV")
[[ -z ${ADMIN_AUTH:-} ]] || conf_args+=(--admin-auth "$ADMIN_AUTH")
[[ -z ${ADMIN_PRIV:-} ]] || conf_args+=(--admin-priv "$ADMIN_PRIV")
scripts/snmpd-conf.sh "${conf_args[@]}"
# shellcheck source=/dev/null
. "$run_dir/snmpd/testbed.env"

spawn snmpd "$run_dir/snmpd.out" scripts/snmpd-start.sh "$TB_DIR"

admin=(-v3 -l authPriv -u "$TB_ADMIN_USER" -a SHA -A "$TB_ADMIN_AUTH" -x AES -X "$TB_ADMIN_PRIV")
query=127.0.0.1
[[ $listen == 0.0.0.0 || $listen == 127.0.0.1 ]] || query=$listen
export SNMPCONFPATH=$TB_DIR MIBS=
ready=0
for _ in $(seq 100); do
	if snmpget -On -r 0 -t 1 "${admin[@]}" "$query:$snmp_port" .1.3.6.1.2.1.1.3.0 >/dev/null 2>&1; then
		ready=1
		break
	fi
	sleep 0.1
done
if [[ $ready -eq 0 ]]; then
	echo "run.sh: snmpd does not answer on $query:$snmp_port; log:" >&2
	tail -n 20 "$TB_DIR/snmpd.log" "$run_dir/snmpd.out" >&2 || true
	scripts/stop.sh "$run_dir" >/dev/null
	exit 1
fi

agent=$bin_dir/tapagent
agent_args=(--agentx "unix:$TB_AGENTX_SOCKET" --log-level "$log_level")
if [[ -x $agent ]]; then
	spawn tapagent "$run_dir/tapagent.log" "$agent" "${agent_args[@]}"
	registered=0
	for _ in $(seq 100); do
		if snmpgetnext -On -r 0 -t 1 "$query:$snmp_port" "$tap2" 2>/dev/null | grep -q "^$tap2\."; then
			registered=1
			break
		fi
		sleep 0.1
	done
	if [[ $registered -eq 0 ]]; then
		echo "run.sh: tapagent did not register $tap2; its log ($run_dir/tapagent.log):" >&2
		tail -n 20 "$run_dir/tapagent.log" >&2 || true
	fi
else
	echo "run.sh: $agent not built yet (cmd/tapagent); snmpd runs without it" >&2
fi

if [[ $foreground -eq 1 ]]; then
	echo "tapagent: snmpd on udp:$listen:$snmp_port, AgentX unix:$TB_AGENTX_SOCKET, trap sink ${trap_sink:-none}"
	pids=()
	for n in snmpd tapagent; do
		[[ -f $run_dir/$n.pid ]] && pids+=("$(<"$run_dir/$n.pid")")
	done
	trap 'scripts/stop.sh "$run_dir"; exit 0' TERM INT
	# The daemons are not our children (setsid): poll them.
	while true; do
		for p in "${pids[@]}"; do
			if ! kill -0 "$p" 2>/dev/null; then
				echo "run.sh: pid $p ended; stopping" >&2
				tail -n 20 "$TB_DIR/snmpd.log" "$run_dir/tapagent.log" 2>/dev/null >&2 || true
				scripts/stop.sh "$run_dir"
				exit 1
			fi
		done
		sleep 1 &
		wait $! || true
	done
fi

rel=${run_dir#"$repo"/}
cat <<INFO

tapagent test bed is running (state and logs in $rel/).
  snmpd      udp:$listen:$snmp_port   log $rel/snmpd/snmpd.log
  AgentX     unix:$TB_AGENTX_SOCKET
  tapagent   log $rel/tapagent.log
  traps to   ${trap_sink:-none}$([[ -f $run_dir/snmptrapd.pid ]] && echo "   received in $rel/trapd/traps.log")
  users      $TB_LI_USER (sees only the TAP trees .399 .394 .395 .400, and .397), $TB_ADMIN_USER (everything else)

Query as $TB_LI_USER (credentials from $rel/snmpd/snmp.conf, numeric OIDs, no MIB files needed):
  SNMPCONFPATH=$rel/snmpd snmpbulkwalk -On $query:$snmp_port $tap2
  SNMPCONFPATH=$rel/snmpd snmpget -On $query:$snmp_port $tap2.1.1.1.0      # cTap2MediationNewIndex.0
  SNMPCONFPATH=$rel/snmpd snmpset -On $query:$snmp_port $tap2.1.1.2.1.13.7 i 5   # cTap2MediationStatus.7 = createAndWait(5)
Query as $TB_ADMIN_USER:
  SNMPCONFPATH=$rel/snmpd snmpget -On ${admin[*]} $query:$snmp_port .1.3.6.1.2.1.1.1.0
Our clients (SNMP Research syntax; v3 credentials from the same snmp.conf):
  SNMPCONFPATH=$rel/snmpd $bin_dir/getmany -v3 $query:$snmp_port $TB_LI_USER cTap2MediationNewIndex.0
  SNMPCONFPATH=$rel/snmpd $bin_dir/setany -v3 $query:$snmp_port $TB_LI_USER cTap2MediationStatus.7 -i 5
Stop everything:
  $([[ $rel == run ]] && echo "make stop" || echo "make stop RUN_DIR=$rel")        (or scripts/stop.sh $rel)
INFO
