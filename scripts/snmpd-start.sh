#!/usr/bin/env bash
# snmpd-start.sh DIR [snmpd options...] runs the private snmpd configured by
# snmpd-conf.sh in the foreground (exec: the caller's pid is snmpd's pid).
# Only DIR/snmpd.conf is read (-C), never /etc/snmp; state stays in DIR/persist.
set -euo pipefail
[[ $# -ge 1 ]] || { echo "usage: snmpd-start.sh DIR [snmpd options...]" >&2; exit 2; }
dir=$1
shift
[[ -f $dir/snmpd.conf ]] || { echo "snmpd-start.sh: $dir/snmpd.conf missing (run snmpd-conf.sh)" >&2; exit 2; }
snmpd=$(command -v snmpd || echo /usr/sbin/snmpd)
export SNMP_PERSISTENT_DIR="$dir/persist"
# Never load MIB files: Debian ships none and we only use numeric OIDs.
export MIBS=""
# -I -smux: no SMUX listener (it would bind 0.0.0.0:199 and clash between
# test beds); AgentX is our only subagent protocol.
exec "$snmpd" -f -C -c "$dir/snmpd.conf" -Lf "$dir/snmpd.log" -p "$dir/snmpd.pid" -m "" -I -smux "$@"
