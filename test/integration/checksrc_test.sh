#!/usr/bin/env bash
# checksrc_test: the tree has no banned function (STYLE.md §8), and checksrc.sh really
# catches one: a seeded temp tree must fail with the right file:line.
set -euo pipefail
src=${VR_SOURCE_DIR:?VR_SOURCE_DIR is set by test/CMakeLists.txt}
checksrc="$src/scripts/checksrc.sh"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

mkdir -p "$tmp/src/core"
cat >"$tmp/src/core/bad.c" <<'C'
/* strcpy( in a comment is fine */
static const char *ok = "sprintf( in a string is fine";
void f(char *d, const char *s) { strcpy(d, s); }
C
if out=$(bash "$checksrc" "$tmp" 2>&1); then
    echo "FAIL: checksrc accepted a tree that calls strcpy"
    exit 1
fi
if [ "$(grep -c "^[^ ]*:[0-9]*: banned '" <<<"$out")" != 1 ] ||
   ! grep -q "^src/core/bad.c:3: banned 'strcpy'" <<<"$out"; then
    printf 'FAIL: expected exactly src/core/bad.c:3 strcpy, got:\n%s\n' "$out"
    exit 1
fi

bash "$checksrc" "$src"
