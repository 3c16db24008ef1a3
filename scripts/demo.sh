#!/usr/bin/env bash
# The README's first command: builds tributary-core, starts it on embedded defaults
# (filesystem lake + SQLite catalog under ./tributary-data/core), registers a site, and ships
# sensor data to it the way an edge does — one object over tus in checksummed chunks, then a
# zstd-compressed tar segment of many small readings built with stock `tar` and `zstd`, then the
# same segment again to show deduplication. Ends by printing where the data landed and checking
# every object arrived exactly once.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh --system-only

echo "== building tributary-core (first build takes a few minutes)"
swift build --product tributary-core 2>&1 | tail -n 1
BIN="$(swift build --show-bin-path)/tributary-core"

DATA=./tributary-data/core
PORT=${TRIBUTARY_DEMO_PORT:-8080}
URL="http://127.0.0.1:$PORT"
rm -rf "$DATA"
WORK=$(mktemp -d)
"$BIN" serve --data-dir "$DATA" --listen "127.0.0.1:$PORT" >"$WORK/core.log" 2>&1 &
CORE=$!
trap 'kill $CORE 2>/dev/null || true; wait $CORE 2>/dev/null || true; rm -rf "$WORK"' EXIT
for _ in $(seq 1 100); do curl -sf "$URL/healthz" >/dev/null && break; sleep 0.1; done
curl -sf "$URL/healthz" >/dev/null || { echo "core did not start:"; cat "$WORK/core.log"; exit 1; }
echo "== core listening on $URL, data in $DATA"

TOKEN=$("$BIN" sites add plant-a --data-dir "$DATA" | tail -n 1)
echo "== registered site plant-a"

b64() { printf '%s' "$1" | base64 -w0; }
create() { # length metadata -> upload path
  curl -sf -D - -o /dev/null -X POST "$URL/v1/uploads" -H "Authorization: Bearer $TOKEN" \
    -H "Tus-Resumable: 1.0.0" -H "Upload-Length: $1" -H "Upload-Metadata: $2" |
    tr -d '\r' | awk 'tolower($1)=="location:"{print $2}'
}
patch_chunks() { # upload-path file chunk-bytes
  local path=$1 file=$2 chunk=$3 size offset=0
  size=$(stat -c %s "$file")
  while [ "$offset" -lt "$size" ]; do
    dd if="$file" of="$WORK/chunk" bs="$chunk" skip=$((offset / chunk)) count=1 status=none
    local sum
    sum=$(openssl dgst -sha256 -binary "$WORK/chunk" | base64 -w0)
    curl -sf -o /dev/null -X PATCH "$URL$path" -H "Authorization: Bearer $TOKEN" -H "Tus-Resumable: 1.0.0" \
      -H "Content-Type: application/offset+octet-stream" -H "Upload-Offset: $offset" \
      -H "Upload-Checksum: sha256 $sum" --data-binary "@$WORK/chunk"
    offset=$((offset + $(stat -c %s "$WORK/chunk")))
    printf '   %s: %d / %d bytes\n' "$(basename "$file")" "$offset" "$size"
  done
}

echo "== one object over tus: a 3 MiB vibration capture in 1 MiB checksummed chunks"
head -c $((3 * 1024 * 1024)) /dev/urandom >"$WORK/capture-0001.bin"
SHA=$(sha256sum "$WORK/capture-0001.bin" | cut -d' ' -f1)
U1=$(create "$(stat -c %s "$WORK/capture-0001.bin")" \
  "name $(b64 capture-0001.bin),stream $(b64 vibration),sha256 $(b64 "$SHA"),captured-at $(b64 2026-11-21T08:00:00Z)")
patch_chunks "$U1" "$WORK/capture-0001.bin" $((1024 * 1024))

echo "== a segment: 40 small CSV/JSON readings in one zstd-compressed tar"
mkdir -p "$WORK/seg/temperature" "$WORK/seg/humidity"
entries=()
for i in $(seq -w 1 20); do
  printf 'ts,sensor,celsius\n2026-11-21T08:%s:00Z,t1,%d.%d\n' "$i" $((15 + 10#$i % 7)) $((10#$i % 10)) >"$WORK/seg/temperature/t-$i.csv"
  printf '{"ts":"2026-11-21T08:%s:00Z","sensor":"h1","rh":%d}\n' "$i" $((40 + 10#$i)) >"$WORK/seg/humidity/h-$i.json"
  entries+=("temperature/t-$i.csv" "humidity/h-$i.json")
done
{
  printf '{"format":"tributary-segment","version":1,"objects":['
  sep=""
  for e in "${entries[@]}"; do
    printf '%s{"stream":"%s","name":"%s","size":%d,"sha256":"%s","captured_at":"2026-11-21T08:00:00Z"}' \
      "$sep" "${e%%/*}" "${e#*/}" "$(stat -c %s "$WORK/seg/$e")" "$(sha256sum "$WORK/seg/$e" | cut -d' ' -f1)"
    sep=","
  done
  printf ']}'
} >"$WORK/seg/tributary-manifest.json"
tar --format=ustar -C "$WORK/seg" -cf - tributary-manifest.json "${entries[@]}" | zstd -q -19 -c >"$WORK/segment.tar.zst"
echo "   segment: $(stat -c %s "$WORK/segment.tar.zst") bytes compressed; zstd -dc | tar -t lists $(zstd -dc "$WORK/segment.tar.zst" | tar -t | wc -l) members"
SEGSHA=$(sha256sum "$WORK/segment.tar.zst" | cut -d' ' -f1)
U2=$(create "$(stat -c %s "$WORK/segment.tar.zst")" "kind $(b64 segment),sha256 $(b64 "$SEGSHA")")
patch_chunks "$U2" "$WORK/segment.tar.zst" $((256 * 1024))

echo "== the same segment again (an edge retrying after a lost receipt): deduplicated"
U3=$(create "$(stat -c %s "$WORK/segment.tar.zst")" "kind $(b64 segment),sha256 $(b64 "$SEGSHA")")
patch_chunks "$U3" "$WORK/segment.tar.zst" $((256 * 1024))

receipt() { curl -sf "$URL$1" -H "Authorization: Bearer $TOKEN"; }
count() { grep -o "\"status\":\"$2\"" <<<"$(receipt "$1")" | wc -l; }
echo "== receipts"
printf '   object upload:  %s stored\n' "$(count "$U1" stored)"
printf '   segment:        %s stored, %s duplicate\n' "$(count "$U2" stored)" "$(count "$U2" duplicate)"
printf '   segment again:  %s stored, %s duplicate\n' "$(count "$U3" stored)" "$(count "$U3" duplicate)"

echo "== where the data landed ($DATA/lake)"
(cd "$DATA/lake" && find . -path ./_tributary -prune -o -type f -print | sort | sed 's|^\./|   |' | head -n 8)
echo "   … $(cd "$DATA/lake" && find . -path ./_tributary -prune -o -type f -print | wc -l) object files; arrival manifests:"
(cd "$DATA/lake" && find _tributary/arrivals -type f | sort | sed 's|^|   |')

echo "== exactly-once check"
files=$(cd "$DATA/lake" && find . -path ./_tributary -prune -o -type f -print | wc -l)
stored=$(sqlite3 "$DATA/catalog.sqlite" "SELECT count(*) FROM objects")
arrivals=$(sqlite3 "$DATA/catalog.sqlite" "SELECT count(*) FROM arrivals")
bad=0
cmp -s "$WORK/capture-0001.bin" "$DATA/lake/$(sqlite3 "$DATA/catalog.sqlite" "SELECT key FROM objects WHERE sha256='$SHA'")" || bad=1
for e in "${entries[@]}"; do
  key=$(sqlite3 "$DATA/catalog.sqlite" "SELECT key FROM objects WHERE site='plant-a' AND sha256='$(sha256sum "$WORK/seg/$e" | cut -d' ' -f1)'")
  cmp -s "$WORK/seg/$e" "$DATA/lake/$key" || { echo "   MISMATCH: $e"; bad=1; }
done
echo "   41 distinct objects sent, 81 arrivals; lake holds $files object files, catalog $stored objects and $arrivals arrivals"
if [ "$files" -eq 41 ] && [ "$stored" -eq 41 ] && [ "$arrivals" -eq 81 ] && [ "$bad" -eq 0 ]; then
  echo "   OK: every object arrived exactly once, byte-identical"
else
  echo "   FAILED"; exit 1
fi
