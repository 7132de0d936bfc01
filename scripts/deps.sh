#!/usr/bin/env bash
# deps.sh PKG... installs the Debian packages among PKG that are missing.
# Non-interactive and idempotent: when everything is installed it only asks
# dpkg and returns. The package lists are refreshed only when an install
# from the current lists fails (or there are none).
set -euo pipefail
missing=()
for p in "$@"; do
	if [[ $(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null) != installed ]]; then
		missing+=("$p")
	fi
done
[[ ${#missing[@]} -gt 0 ]] || exit 0

sudo=()
[[ $(id -u) -eq 0 ]] || sudo=(sudo)
export DEBIAN_FRONTEND=noninteractive
install=("${sudo[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}")
echo "deps.sh: installing ${missing[*]}" >&2
if compgen -G '/var/lib/apt/lists/*_Packages' >/dev/null && "${install[@]}"; then
	exit 0
fi
"${sudo[@]}" apt-get update -q
"${install[@]}"
