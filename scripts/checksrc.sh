#!/usr/bin/env bash
# checksrc.sh — fail on the functions STYLE.md §8 bans, listing file:line for each use.
#
# Usage: scripts/checksrc.sh [ROOT]   (ROOT defaults to the repository root)
# Scans ROOT/{src,include,tools}/**/*.{c,h}. Comments and string/char literals are blanked
# first (line numbers kept), so prose such as "lock-free" or "sleep" in a comment is fine.
# Exit status: 0 clean, 1 violations found, 2 usage error.
#
# `memcmp` on signatures or tokens is also banned by STYLE.md but cannot be told apart from
# a harmless memcmp by a grep; review catches that one.
set -euo pipefail

root=${1:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
[ -d "$root" ] || { echo "checksrc: no such directory: $root" >&2; exit 2; }
command -v perl >/dev/null || { echo "checksrc: perl is required" >&2; exit 2; }

# The few files allowed to use a banned family, as "family<TAB>extended regex on the
# path relative to ROOT". mem.c implements vr_x*/vr_free and vr_panic; log.c and the CLI
# mains print.
allow='alloc	^src/core/mem\.c$
print	^src/core/mem\.c$
print	^src/core/log\.c$
print	^src/(vreq|vreqd)\.c$
print	^src/cli/
print	^tools/kubesim/main\.c$'

# Each check: family, perl regex (run on comment-free code), replacement advice.
checks='str	\b(v?sprintf|strcpy|strcat|strncpy)\s*\(	vr_buf_printf, checked snprintf, vr_str
parse	\b(strtok|atoi|atol|atof)\s*\(	vr_str scanning, vr_parse_int
alloc	(?<![.>\w])(?<!\(\()(malloc|calloc|realloc|strdup|free)\b(?!\s*[=:])	vr_x*, vr_free
cjson	\b(cJSON_Parse|cJSON_GetObjectItem)\s*\(	cJSON_ParseWithLengthOpts, cJSON_GetObjectItemCaseSensitive
block	\b(curl_easy_perform|sleep|usleep|system)\s*\(	a vr_req on the multi handle, a timer
print	(?<![.>\w])(printf|fprintf|vprintf|vfprintf|puts|fputs)\s*\(	VR_LOG'

# strip_code FILE: print FILE with comments and literals replaced by spaces.
strip_code() {
    perl -0777 -pe '
        s{(/\*.*?\*/)|(//[^\n]*)|("(?:\\.|[^"\\\n])*")|('"'"'(?:\\.|[^'"'"'\\\n])*'"'"')}{
            my $m = defined $1 ? $1 : defined $2 ? $2 : defined $3 ? $3 : $4;
            (my $k = $m) =~ s/[^\n]/ /g; $k }gse' "$1"
}

allowed() { # allowed FAMILY RELPATH
    local fam re
    while IFS=$'\t' read -r fam re; do
        [ "$fam" = "$1" ] && [[ $2 =~ $re ]] && return 0
    done <<<"$allow"
    return 1
}

bad=0
while IFS= read -r -d '' file; do
    rel=${file#"$root"/}
    code=$(strip_code "$file")
    while IFS=$'\t' read -r fam re advice; do
        allowed "$fam" "$rel" && continue
        hits=$(printf '%s\n' "$code" | perl -ne 'while (/'"$re"'/g) { print "$.:$1\n" }')
        [ -n "$hits" ] || continue
        while IFS=: read -r line name; do
            echo "$rel:$line: banned '$name' (use $advice)"
            bad=1
        done <<<"$hits"
    done <<<"$checks"
done < <(for d in src include tools; do
             [ -d "$root/$d" ] && find "$root/$d" -type f \( -name '*.c' -o -name '*.h' \) -print0
         done | sort -z)

if [ "$bad" -ne 0 ]; then
    echo "checksrc: banned functions found (STYLE.md §8)" >&2
    exit 1
fi
echo "checksrc: clean"
