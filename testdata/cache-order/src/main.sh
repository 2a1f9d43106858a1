#!/bin/sh
echo "Course Goals"
for p in /app/node_modules/*/package.json; do cat "$p"; done
