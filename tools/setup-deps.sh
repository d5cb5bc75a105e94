#!/bin/sh
# Makes sure the Debian packages named on the command line are installed.
# As root it installs what is missing with apt-get; otherwise it names the
# packages and the command to install them, and fails.
set -eu
missing=""
for pkg in "$@"; do
    if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
        missing="$missing $pkg"
    fi
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "setup: installing missing Debian packages:$missing"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    # shellcheck disable=SC2086
    apt-get install -y -qq --no-install-recommends $missing
    exit 0
fi
echo "setup: missing Debian packages:$missing" >&2
echo "setup: install them with: sudo apt-get install$missing" >&2
exit 1
