# Set-up shared by the golden scripts, sourced first thing by each with the
# script's own arguments (CTRACK SRCDIR BUILDDIR, as ctest passes them):
#
#     . "$(dirname "${BASH_SOURCE[0]}")/lib.bash"
#
# It is not a test of its own: tests/CMakeLists.txt registers only the
# tests/golden/*.sh scripts. It sets
#   ctrack    the ctrack binary, as an absolute path (the checks run from
#             other directories);
#   src       the source tree, absolute; golden, its tests/golden;
#   build     the build tree, as given (empty when not given);
#   update    1 when CTRACK_UPDATE_GOLDEN=1 asks to refresh expected files;
#   tmp       a scratch directory, removed on exit;
#   failures  the number of failed checks so far (0);
# and defines fail, built and finish below.
set -u

ctrack=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
src=$(cd "$2" && pwd)
build=${3:-}
golden=$src/tests/golden
update=${CTRACK_UPDATE_GOLDEN:-0}

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failures=0

# fail MESSAGE...: reports a failed check and counts it.
fail() {
    echo "FAIL: $*" >&2
    failures=$((failures + 1))
}

# built PATH: succeeds when the tool PATH was built, else counts a failure.
built() {
    [ -x "$1" ] && return 0
    fail "$1 was not built"
    return 1
}

# finish MESSAGE: exits with status 1 when a check failed, else prints
# MESSAGE (and the script ends with status 0).
finish() {
    if [ "$failures" -ne 0 ]; then
        echo "$failures check(s) failed" >&2
        exit 1
    fi
    echo "$1"
}
