#!/bin/bash
# check_refs.sh — every document the code, scripts or README refer to lives in
# the repository (issue 7, item 5): references to *.md files in comments and
# docs must resolve to a file in the checkout.  Run from anywhere.
set -euo pipefail
cd "$(dirname "$0")/.."
status=0
while IFS= read -r hit; do
	file=${hit%%:*}
	for ref in $(echo "${hit#*:}" | grep -oE '([A-Za-z0-9_./-]+/)?[A-Za-z0-9_-]+\.md' | sort -u); do
		# relative to the repository root, or to the referring file's directory
		if [ ! -f "$ref" ] && [ ! -f "$(dirname "$file")/$ref" ]; then
			echo "FAIL: $file refers to $ref, which is not in the repository"
			status=1
		fi
	done
done < <(git ls-files -z -- src test bench scripts examples docs README.md Makefile |
	xargs -0 grep -IoE '([A-Za-z0-9_./-]+/)?[A-Za-z0-9_-]+\.md' /dev/null 2>/dev/null | sort -u)
[ $status = 0 ] && echo "ok: every referenced .md file exists"
exit $status
