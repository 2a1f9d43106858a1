#!/bin/sh
# Stand-in for a package manager: "installs" each "name version" line of the
# manifest into node_modules/ (a few hundred small files per package).
set -e
manifest=${1:-deps.txt}
n=0
while read -r name version; do
  [ -n "$name" ] || continue
  dir=node_modules/$name
  mkdir -p "$dir/lib"
  i=0
  while [ $i -lt 200 ]; do
    echo "module.exports = '$name@$version part $i';" > "$dir/lib/part$i.js"
    i=$((i + 1))
  done
  echo "{\"name\": \"$name\", \"version\": \"$version\"}" > "$dir/package.json"
  n=$((n + 1))
done < "$manifest"
echo "installed $n packages"
