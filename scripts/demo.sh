#!/usr/bin/env bash
# The README's first command. On embedded defaults (filesystem lake + SQLite catalog under
# ./tributary-data/core), it:
#   1. builds tributary-core, tributary-edge and tributary-faultproxy;
#   2. starts a core and registers three sites;
#   3. starts the fault proxy in front of the core: it cuts connections, stalls them, throttles
#      and flips bits — a bad cellular link — and every edge talks to the core through it;
#   4. starts one edge agent per site and feeds its inbox generated sensor files: CSV and JSON
#      readings, a few large binary blobs, some duplicates;
#   5. shows each site's backlog draining (from `tributary-edge status --json`);
#   6. prints where the data landed and checks that every object arrived exactly once,
#      byte-identical, in the lake and the catalog.
# Ports: TRIBUTARY_DEMO_PORT (core, default 8080) and the next one (proxy).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh --system-only

echo "== building tributary-core, tributary-edge, tributary-faultproxy (a first build takes a few minutes)"
swift build 2>&1 | tail -n 1
BIN="$(swift build --show-bin-path)"

ROOT=./tributary-data
DATA=$ROOT/core
PORT=${TRIBUTARY_DEMO_PORT:-8080}
PROXY_PORT=$((PORT + 1))
URL="http://127.0.0.1:$PORT"
SITES=(plant-a plant-b ship-c)
rm -rf "$ROOT"
mkdir -p "$ROOT/logs"
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
}
trap cleanup EXIT

"$BIN/tributary-core" serve --data-dir "$DATA" --listen "127.0.0.1:$PORT" >"$ROOT/logs/core.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 1 100); do curl -sf "$URL/healthz" >/dev/null && break; sleep 0.1; done
curl -sf "$URL/healthz" >/dev/null || { echo "core did not start:"; cat "$ROOT/logs/core.log"; exit 1; }
echo "== core listening on $URL, lake in $DATA/lake"

# A bad link: 70 % of connections cut somewhere in their first 2 MB, 30 % stalled for 4 s,
# 1 MB/s per connection, and now and then one bit flipped on the way to the core.
"$BIN/tributary-faultproxy" --listen "127.0.0.1:$PROXY_PORT" --target "127.0.0.1:$PORT" --seed 2026 \
  --cut-probability 0.7 --cut-after 50000-2000000 --stall-probability 0.3 --stall-ms 4000-4000 \
  --throttle 1000000 --flip-probability 0.01 --stats "$ROOT/logs/proxy-stats.json" >"$ROOT/logs/proxy.log" 2>&1 &
PIDS+=($!)
echo "== fault proxy on 127.0.0.1:$PROXY_PORT → core: cuts, stalls, throttling, bit flips"

# Generated sensor data per site: readings, blobs, duplicates. Written to a staging area first,
# then moved into the inbox (a rename is taken at once, no settle wait).
python3 - "$ROOT" "${SITES[@]}" <<'PY'
import hashlib, json, os, random, sys
root, sites = sys.argv[1], sys.argv[2:]
expected = []
for n, site in enumerate(sites):
    rng = random.Random(n)
    stage = os.path.join(root, "edge", site, "stage")
    def put(rel, data):
        p = os.path.join(stage, rel)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        with open(p, "wb") as f:
            f.write(data)
        stream, name = rel.split("/", 1)
        expected.append({"site": site, "stream": stream, "name": name, "sha256": hashlib.sha256(data).hexdigest()})
    for i in range(120):
        rows = "".join(f"2026-11-21T08:{i % 60:02d}:{j % 60:02d}Z,vib-{n},{rng.gauss(0, 1):.5f}\n" for j in range(rng.randint(20, 400)))
        put(f"vibration/line-1/v{i:04d}.csv", ("ts,sensor,g\n" + rows).encode())
    for i in range(60):
        put(f"environment/e{i:04d}.json", json.dumps({"ts": f"2026-11-21T08:{i:02d}:00Z", "site": site,
            "celsius": round(rng.uniform(-5, 35), 2), "rh": rng.randint(20, 90)}).encode())
    put("camera/frame-0001.jpg", rng.randbytes(6 << 20))       # incompressible: sent as is
    put("firmware/dump.bin", bytes(10 << 20))                    # compressible: sent zstd-encoded
    put("vibration/line-1/v0000-resent.csv", open(os.path.join(stage, "vibration/line-1/v0000.csv"), "rb").read())
    put("environment/e0000-copy.json", open(os.path.join(stage, "environment/e0000.json"), "rb").read())
json.dump(expected, open(os.path.join(root, "expected.json"), "w"))
PY

for site in "${SITES[@]}"; do
  token=$("$BIN/tributary-core" sites add "$site" --data-dir "$DATA" | tail -n 1)
  dir=$ROOT/edge/$site
  mkdir -p "$dir/inbox"
  TRIBUTARY_SETTLE_MS=300 TRIBUTARY_SEGMENT_MAX_AGE_MS=500 TRIBUTARY_STALL_SECONDS=2 TRIBUTARY_RETRY_CAP_MS=3000 \
  TRIBUTARY_CHUNK_BYTES=$((1024 * 1024)) TRIBUTARY_SEGMENT_MAX_BYTES=$((1024 * 1024)) \
    "$BIN/tributary-edge" run --site "$site" --token "$token" --core "http://127.0.0.1:$PROXY_PORT" \
    --inbox "$dir/inbox" --spool "$dir/spool" >"$ROOT/logs/edge-$site.log" 2>&1 &
  PIDS+=($!)
done
for site in "${SITES[@]}"; do
  for _ in $(seq 1 100); do [ -f "$ROOT/edge/$site/spool/agent-status.json" ] && break; sleep 0.1; done
  (cd "$ROOT/edge/$site/stage" && find . -type d -exec mkdir -p "../inbox/{}" \; && find . -type f -exec mv {} "../inbox/{}" \;)
  echo "   $site: $(find "$ROOT/edge/$site/inbox" "$ROOT/edge/$site/spool/objects" -type f | wc -l) files moved into its inbox"
done
echo "== three edge agents started (pending = accepted into the spool, not yet acknowledged by the core)"

echo "== backlog per site (pending objects / bytes, link state), until every spool is empty"
deadline=$((SECONDS + 300))
while :; do
  line=""
  total=0
  for site in "${SITES[@]}"; do
    s=$("$BIN/tributary-edge" status --json --spool "$ROOT/edge/$site/spool")
    read -r pending bytes link accepted <<<"$(python3 -c 'import json,sys; s=json.load(sys.stdin); a=s.get("agent") or {}; print(s["pending_objects"]+s["spool"]["batches"], s["pending_bytes"], (a.get("link") or {}).get("state","?"), s["counters"].get("accepted_objects",0))' <<<"$s")"
    line+=$(printf '  %s %3d objects %6.1f MB %-11s' "$site" "$pending" "$(python3 -c "print($bytes/1e6)")" "$link")
    total=$((total + pending))
    [ "$accepted" -gt 0 ] || total=$((total + 1))
  done
  printf '%s\n' "$line"
  [ "$total" -eq 0 ] && [ -z "$(find "$ROOT"/edge/*/inbox -type f | head -n 1)" ] && break
  [ $SECONDS -lt $deadline ] || { echo "demo: backlog did not drain within 300 s; see $ROOT/logs"; exit 1; }
  sleep 1
done

python3 - "$ROOT" "$BIN/tributary-edge" "${SITES[@]}" <<'PY'
import json, subprocess, sys
root, edge, sites = sys.argv[1], sys.argv[2], sys.argv[3:]
p = json.load(open(f"{root}/logs/proxy-stats.json"))
print(f"== the link was bad: {p['connections']} connections, {p['cuts']} cut, {p['stalls']} stalled, "
      f"{p['flips']} bits flipped, {p['bytes_up']} bytes carried to the core")
for site in sites:
    s = json.loads(subprocess.run([edge, "status", "--json", "--spool", f"{root}/edge/{site}/spool"],
                                  capture_output=True, text=True, check=True).stdout)
    c = s["counters"]
    print(f"   {site}: {c.get('acked_objects', 0)} delivered ({c.get('acked_duplicates', 0)} duplicates), "
          f"{c.get('chunks_resent_corrupt', 0)} damaged chunks re-sent, {c.get('quarantined_objects', 0)} quarantined, "
          f"{c.get('dropped_objects', 0)} dropped")
PY

echo "== where the data landed (Hive-style partitions under $DATA/lake)"
(cd "$DATA/lake" && find . -path ./_tributary -prune -o -type f -print | sed 's|^\./||; s|/[^/]*$||' | sort | uniq -c | sed 's/^/   /')

echo "== exactly-once check: every generated file is in the catalog once, and its lake file matches"
python3 - "$ROOT" "$DATA" "${SITES[@]}" <<'PY'
import hashlib, json, os, sqlite3, sys
root, data, sites = sys.argv[1], sys.argv[2], sys.argv[3:]
# expected.json lists every generated file (site, stream, name, sha256).
db = sqlite3.connect(os.path.join(data, "catalog.sqlite"))
expected = json.load(open(os.path.join(root, "expected.json")))
bad = 0
for site in sites:
    want = {(e["stream"], e["name"]): e["sha256"] for e in expected if e["site"] == site}
    rows = db.execute("SELECT stream, name, sha256, key, status FROM arrivals WHERE site = ?", (site,)).fetchall()
    seen = {}
    for stream, name, sha, key, status in rows:
        seen[(stream, name)] = seen.get((stream, name), 0) + 1
        if want.get((stream, name)) != sha:
            print(f"   UNEXPECTED {site} {stream}/{name}"); bad += 1
        with open(os.path.join(data, "lake", key), "rb") as f:
            h = hashlib.sha256()
            for b in iter(lambda: f.read(1 << 20), b""):
                h.update(b)
        if h.hexdigest() != sha:
            print(f"   MISMATCH {site} {stream}/{name}: lake bytes differ"); bad += 1
    missing = [k for k in want if k not in seen]
    twice = [k for k, n in seen.items() if n != 1]
    dups = sum(1 for r in rows if r[4] == "duplicate")
    ok = not missing and not twice
    print(f"   {site}: {len(seen)} of {len(want)} objects arrived, {len(missing)} missing, {len(twice)} more than once, "
          f"{dups} stored once and recorded as duplicates, lake bytes verified — {'OK' if ok else 'FAILED'}")
    bad += 0 if ok else 1
sys.exit(1 if bad else 0)
PY
echo "== done: every object arrived exactly once. Data in $DATA (lake/, catalog.sqlite); logs in $ROOT/logs"
