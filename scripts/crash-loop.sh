#!/usr/bin/env bash
# Crash loop against the real server: scripts/crash-loop.sh [CYCLES] (default 100).
# Starts `pathwise serve --no-auth` on 127.0.0.1 over a scratch data directory and, each cycle,
# kills it with SIGKILL at one of three moments, chosen in turn:
#   writes    while clients post events (POST /v1/events) and catalog batches (node + vector);
#   shutdown  after SIGTERM, while the server drains, snapshots and flushes;
#   startup   while it opens the database (recovery, index rebuild), before or after /ready.
# After each restart it checks, through the HTTP API only:
#   - every acknowledged event is applied: re-sending it answers "duplicate";
#   - exactly once: after every attempted event is re-sent, each VIEWED edge's count equals the
#     number of distinct events ever attempted on it (none lost, none applied twice);
#   - every acknowledged catalog item exists with its vector, and a NEAREST search for its
#     vector finds it first (the HNSW index agrees with the record).
# Environment: PATHWISE_BIN (default build/pathwise), CRASH_LOOP_PORT (default 17391),
# CRASH_LOOP_MAX_SECONDS (default 900: stops early, still reporting, when exceeded),
# CRASH_LOOP_DATA (default a fresh directory under /tmp, removed on success),
# CRASH_LOOP_VECTORS=0 (catalog batches without vectors, and no NEAREST checks).
# Loopback only. The closing line: "crash-loop: N cycles ... OK" or "crash-loop: FAILED ...".
set -euo pipefail
cd "$(dirname "$0")/.."
CYCLES="${1:-100}"
BIN="${PATHWISE_BIN:-build/pathwise}"
if [ ! -x "$BIN" ]; then
  echo "crash-loop: no server binary at $BIN (build it with scripts/build.sh or set PATHWISE_BIN)" >&2
  exit 2
fi
exec python3 - "$CYCLES" "$BIN" <<'PYTHON'
import http.client, json, os, random, shutil, signal, subprocess, sys, tempfile, threading, time

cycles, binary = int(sys.argv[1]), sys.argv[2]
port = int(os.environ.get("CRASH_LOOP_PORT", "17391"))
max_seconds = float(os.environ.get("CRASH_LOOP_MAX_SECONDS", "900"))
data_root = os.environ.get("CRASH_LOOP_DATA") or tempfile.mkdtemp(prefix="pw_crashloop_")
data = os.path.join(data_root, "data")
log_path = os.path.join(data_root, "server.log")
os.makedirs(data_root, exist_ok=True)
USERS, ITEMS = 20, 20
with_vectors = os.environ.get("CRASH_LOOP_VECTORS", "1") != "0"
rng = random.Random(20261202)

def request(method, path, body=None, timeout=10.0):
    """(status, parsed JSON or None); raises OSError when the server is gone."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        headers = {"Content-Type": "application/json"}
        payload = body if isinstance(body, (str, bytes)) or body is None else json.dumps(body)
        conn.request(method, path, body=payload, headers=headers)
        resp = conn.getresponse()
        text = resp.read()
        try:
            return resp.status, json.loads(text) if text else None
        except ValueError:
            return resp.status, None
    finally:
        conn.close()

server = None
def start():
    global server
    log = open(log_path, "ab")
    server = subprocess.Popen([binary, "serve", "--data", data, "--no-auth",
                               "--listen", f"127.0.0.1:{port}"], stdout=log, stderr=log)

def wait_ready(limit=60.0):
    end = time.time() + limit
    while time.time() < end:
        if server.poll() is not None:
            raise SystemExit(f"crash-loop: FAILED: the server exited with {server.returncode} "
                             f"at startup (log {log_path})")
        try:
            if request("GET", "/ready", timeout=1.0)[0] == 200:
                return
        except (OSError, http.client.HTTPException):
            pass
        time.sleep(0.02)
    raise SystemExit(f"crash-loop: FAILED: the server was not ready within {limit} s")

def kill9():
    if server.poll() is None:
        server.send_signal(signal.SIGKILL)
    server.wait()

def fail(message):
    kill9()
    print(f"crash-loop: FAILED: {message} (data kept in {data_root})")
    sys.exit(1)

# Bookkeeping: attempted events by id -> (user, item); acknowledged ids; catalog items.
attempted, acked, resolved = {}, set(), set()
items_acked = {}  # id -> vector
lock = threading.Lock()
counter = [0]
figures = {"acked_events": 0, "unacked_found_applied": 0, "unacked_applied_on_resend": 0,
           "catalog_acked": 0, "resent_duplicates": 0}

def next_id(prefix):
    with lock:
        counter[0] += 1
        return f"{prefix}{counter[0]}"

def event_writer(stop, seed):
    r = random.Random(seed)
    while not stop.is_set():
        batch = []
        for _ in range(r.randint(1, 10)):
            e = (next_id("e"), r.randrange(USERS), r.randrange(ITEMS))
            batch.append(e)
        with lock:
            for eid, u, i in batch:
                attempted[eid] = (u, i)
        body = "\n".join(json.dumps({"event_id": eid, "user": f"u{u}", "item": f"i{i}",
                                     "type": "view"}) for eid, u, i in batch)
        try:
            status, reply = request("POST", "/v1/events", body, timeout=5.0)
        except (OSError, http.client.HTTPException):
            return  # the server is gone: these events are not acknowledged
        if status == 200 and reply and not reply.get("errors"):
            with lock:
                acked.update(eid for eid, _, _ in batch)

def catalog_writer(stop, seed):
    r = random.Random(seed)
    while not stop.is_set():
        cid = next_id("c")
        vec = [round(r.uniform(0.1, 1.0), 4) for _ in range(4)]
        lines = [json.dumps({"node": "Item", "id": cid, "props": {"n": 1}})]
        if with_vectors:
            lines.append(json.dumps({"vector": "Item.embedding", "id": cid, "values": vec}))
        body = "\n".join(lines)
        try:
            status, _ = request("POST", "/v1/batch", body, timeout=5.0)
        except (OSError, http.client.HTTPException):
            return
        if status == 200:
            with lock:
                items_acked[cid] = vec

def run_writers(seconds):
    stop = threading.Event()
    threads = [threading.Thread(target=event_writer, args=(stop, rng.random())) for _ in range(2)]
    threads.append(threading.Thread(target=catalog_writer, args=(stop, rng.random())))
    for t in threads:
        t.start()
    return stop, threads

def resend(ids):
    """Re-sends events; returns (applied, duplicates)."""
    applied = duplicates = 0
    ids = list(ids)
    for k in range(0, len(ids), 500):
        chunk = ids[k:k + 500]
        body = "\n".join(json.dumps({"event_id": eid, "user": f"u{attempted[eid][0]}",
                                     "item": f"i{attempted[eid][1]}", "type": "view"})
                         for eid in chunk)
        status, reply = request("POST", "/v1/events", body, timeout=60.0)
        if status != 200 or reply.get("errors"):
            fail(f"re-sending events answered {status}: {reply}")
        applied += reply["applied"]
        duplicates += reply["duplicates"]
    return applied, duplicates

def query(text, params=None):
    status, reply = request("POST", "/v1/query", {"query": text, "params": params or {}},
                            timeout=30.0)
    if status != 200:
        fail(f"query answered {status}: {reply}")
    return reply

checked_acked = set()
def verify(cycle):
    # 1. Acknowledged events of this cycle must all be duplicates now.
    with lock:
        new_acked = sorted(acked - checked_acked)
        unacked = sorted(set(attempted) - acked - resolved)
    applied, duplicates = resend(new_acked)
    if applied != 0:
        fail(f"cycle {cycle}: {applied} acknowledged events were missing after the restart")
    figures["resent_duplicates"] += duplicates
    checked_acked.update(new_acked)
    # 2. Unacknowledged events: some were committed before the kill; re-send the rest, so that
    # every attempted event is now applied exactly once.
    applied, duplicates = resend(unacked)
    figures["unacked_found_applied"] += duplicates
    figures["unacked_applied_on_resend"] += applied
    resolved.update(unacked)
    expected = {}
    for eid, (u, i) in attempted.items():
        expected[(f"u{u}", f"i{i}")] = expected.get((f"u{u}", f"i{i}"), 0) + 1
    rows = query("MATCH (u:User)-[v:VIEWED]->(i:Item) RETURN u.id, i.id, v.count")["rows"]
    got = {(r[0], r[1]): r[2] for r in rows}
    if got != expected:
        diff = {k: (got.get(k), expected.get(k)) for k in set(got) | set(expected)
                if got.get(k) != expected.get(k)}
        fail(f"cycle {cycle}: edge counts differ from the events sent (got, expected): "
             f"{dict(list(diff.items())[:5])}")
    # 3. Acknowledged catalog items exist with their vectors; the index finds them.
    for cid in list(items_acked):
        status, node = request("GET", f"/v1/nodes/Item/{cid}")
        if status != 200 or (with_vectors and not node["vectors"].get("embedding")):
            fail(f"cycle {cycle}: acknowledged item {cid} answered {status}: {node}")
    for cid in rng.sample(sorted(items_acked), min(10, len(items_acked)) if with_vectors else 0):
        reply = query("RECOMMEND (c:Item) FOR (u:User {id: 'probe'}) "
                      "FROM NEAREST 1 TO $v IN Item.embedding", {"v": items_acked[cid]})
        col = reply["columns"].index("id") if "id" in reply["columns"] else 0
        if not reply["rows"] or reply["rows"][0][col] != cid:
            fail(f"cycle {cycle}: NEAREST for {cid}'s vector returned {reply['rows'][:1]}")

# Setup: schema, event types, items and the probe user.
shutil.rmtree(data, ignore_errors=True)
start()
wait_ready()
schema = {"node_types": [{"name": "User"}, {"name": "Item", "properties": {"n": "int"}}],
          "edge_types": [{"name": "VIEWED", "mode": "accumulate", "from": "User", "to": "Item"}],
          "vector_spaces": [{"node_type": "Item", "name": "embedding", "dim": 4,
                             "metric": "cosine"}]}
for method, path, body in [("POST", "/v1/schema", schema),
                           ("PUT", "/v1/admin/event-types", {"view": {"edge": "VIEWED"}}),
                           ("POST", "/v1/batch", "\n".join(
                               [json.dumps({"node": "Item", "id": f"i{i}"}) for i in range(ITEMS)]
                               + [json.dumps({"node": "User", "id": "probe"})]))]:
    status, reply = request(method, path, body)
    if status != 200:
        fail(f"setup {method} {path} answered {status}: {reply}")

began = time.time()
modes = {"writes": 0, "shutdown": 0, "startup": 0}
done = 0
for cycle in range(cycles):
    if time.time() - began > max_seconds:
        break
    mode = ["writes", "shutdown", "startup"][cycle % 3]
    modes[mode] += 1
    if server.poll() is not None:
        start()
        wait_ready()
    if mode == "startup":
        kill9()
        start()
        time.sleep(rng.uniform(0.0, 0.4))  # somewhere in open / recovery / just after /ready
    else:
        stop, threads = run_writers(0)
        time.sleep(rng.uniform(0.2, 0.8))
        if mode == "shutdown":
            server.send_signal(signal.SIGTERM)
            time.sleep(rng.uniform(0.0, 0.2))
    kill9()  # writes: the writers are still sending
    if mode != "startup":
        stop.set()
        for t in threads:
            t.join()
    start()
    wait_ready()
    verify(cycle)
    done += 1

kill9()
elapsed = time.time() - began
figures["acked_events"] = len(acked)
figures["catalog_acked"] = len(items_acked)
print(f"crash-loop: {done} cycles in {elapsed:.0f} s ({modes['writes']} during writes, "
      f"{modes['shutdown']} during shutdown, {modes['startup']} during startup): "
      f"{figures['acked_events']} acknowledged events all present exactly once "
      f"({figures['unacked_found_applied']} unacknowledged were committed before a kill, "
      f"{figures['unacked_applied_on_resend']} were not and were applied on re-send), "
      f"{figures['catalog_acked']} acknowledged catalog items present"
      + (" with vectors that NEAREST finds first" if with_vectors else " (no vectors)") + "; OK")
if not os.environ.get("CRASH_LOOP_DATA"):
    shutil.rmtree(data_root, ignore_errors=True)
PYTHON
