#!/bin/bash
# diago-patch.sh: writes third_party/diago/gophone.patch anew, the diff of
# every Go file of third_party/diago against the pristine diago v0.42.1 in
# the module cache (downloaded if missing), files in C sort order.
set -euo pipefail
cd "$(dirname "$0")/../third_party/diago"
orig=$(go mod download -json github.com/emiago/diago@v0.42.1 | sed -n 's/^\t"Dir": "\(.*\)",$/\1/p')
[[ -d $orig ]] || { echo "diago v0.42.1 not in the module cache" >&2; exit 1; }
find . -name '*.go' | sed 's#^\./##' | LC_ALL=C sort | while read -r f; do
	src=$orig/$f
	[[ -f $src ]] || src=/dev/null
	diff -u --label "a/$f" --label "b/$f" "$src" "$f" || [[ $? == 1 ]]
done >gophone.patch.new
mv gophone.patch.new gophone.patch
