#!/usr/bin/env python3
"""bench/mcprun.py ENVSEAL RUNS — time MCP run_command against bare /bin/true.

Starts `ENVSEAL mcp` (stdio), initializes it, then alternates: a
tools/call of run_command for `/bin/true` with secret TOKEN (a rule must
allow it, and a broker must be running: the server talks to it), and a
bare fork+exec+wait of /bin/true from this process. Prints one line:
"<median run_command ms> <median bare ms> <min run_command ms> <min bare ms>".
"""
import json, os, statistics, subprocess, sys, time

es, runs = sys.argv[1], int(sys.argv[2])
p = subprocess.Popen([es, "mcp"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
ids = iter(range(1, 1 << 30))


def call(method, params=None, notify=False):
    msg = {"jsonrpc": "2.0", "method": method}
    if params is not None:
        msg["params"] = params
    if not notify:
        msg["id"] = next(ids)
    p.stdin.write((json.dumps(msg) + "\n").encode())
    p.stdin.flush()
    if notify:
        return None
    while True:
        line = p.stdout.readline()
        if not line:
            sys.exit("bench/mcprun: the mcp server went away")
        r = json.loads(line)
        if r.get("id") == msg["id"]:
            if "error" in r:
                sys.exit("bench/mcprun: %s: %s" % (method, r["error"]))
            return r["result"]


call("initialize", {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "bench", "version": "1"}})
call("notifications/initialized", notify=True)
args = {"name": "run_command", "arguments": {"argv": ["/bin/true"], "cwd": os.getcwd(), "secrets": {"TOKEN": "TOKEN"}}}
res = call("tools/call", args)
sc = res.get("structuredContent") or {}
if res.get("isError") or sc.get("exit_code") != 0 or sc.get("via") != "broker":
    sys.exit("bench/mcprun: run_command failed or did not go through the broker: %s" % json.dumps(res)[:400])
mcp_ms, bare_ms = [], []
for _ in range(3):  # warm-up
    call("tools/call", args)
for _ in range(runs):
    t = time.perf_counter()
    call("tools/call", args)
    mcp_ms.append((time.perf_counter() - t) * 1e3)
    t = time.perf_counter()
    subprocess.run(["/bin/true"], check=True)
    bare_ms.append((time.perf_counter() - t) * 1e3)
p.stdin.close()
p.wait()
print("%.2f %.2f %.2f %.2f" % (statistics.median(mcp_ms), statistics.median(bare_ms), min(mcp_ms), min(bare_ms)))
