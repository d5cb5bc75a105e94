#!/bin/bash
# Golden test: the documentation names the tree as it is.
#
#   - every folder under src/ is named in docs/internals.md (as `src/NAME/`),
#     so that a new module cannot arrive without its row in the tree table;
#   - every path under src/, include/, tests/ or docs/ that README.md or a
#     docs/*.md names exists. A trailing `:LINE` or `:FROM-TO` is dropped, a
#     name with `*` must match at least one file, and one with `<...>` is a
#     pattern (`src/<module>/`) and is not checked.
#
# It reads files only; ctrack itself is not run.
#
# Usage: bash docs_lint.sh CTRACK SRCDIR BUILDDIR   (run by ctest)
. "$(dirname "${BASH_SOURCE[0]}")/lib.bash"
cd "$src" || exit 1

internals=docs/internals.md
[ -f "$internals" ] || fail "$internals is missing"

for dir in src/*/; do
    if ! grep -qF -- "$dir" "$internals" 2>/dev/null; then
        fail "$dir is not named in $internals"
    fi
done

# A path starts at a word boundary that is not part of a longer path or URL
# (../shared/tests/x is not ours), and runs over the characters a file name
# here uses, plus the glob and placeholder characters the docs write.
path_re='(^|[^A-Za-z0-9_./-])(src|include|tests|docs)/[A-Za-z0-9_./*<>+-]*'
checked=0
for doc in README.md docs/*.md; do
    while IFS=: read -r line match; do
        # Drop the leading boundary character, then the trailing sentence
        # punctuation and any :LINE or :FROM-TO suffix.
        path=$(printf '%s' "$match" | sed -E 's/^[^a-z]//; s/[.,;]+$//')
        case $path in
        *'<'* | *'>'*) continue ;;
        esac
        checked=$((checked + 1))
        case $path in
        *'*'*)
            # A glob: at least one file must match it.
            if ! compgen -G "$path" >/dev/null; then
                fail "$doc:$line: $path matches no file"
            fi
            ;;
        */)
            [ -d "$path" ] || fail "$doc:$line: $path is not a folder"
            ;;
        *)
            [ -e "$path" ] || fail "$doc:$line: $path does not exist"
            ;;
        esac
    done < <(grep -noE -- "$path_re" "$doc")
done

finish "docs: every src/ folder in $internals, $checked named paths exist"
