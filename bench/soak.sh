#!/usr/bin/env bash
# bench/soak.sh [N]: N calls (default 20000) of 1 s with RTP through one
# gophone daemon, then floods (malformed datagrams, 60 KB datagrams,
# REGISTER and INVITE floods). Compares `gophone debug` after each phase with
# the post-warm-up level:
#   soak:   goroutines, open file descriptors and heapInUse within 10 %,
#           RSS within 20 %  -> PASS/FAIL
#   floods: the whole flood sequence ROUNDS times (default 3); the daemon
#           stays alive, its goroutines return to the post-warm-up level,
#           and after the last round heapInUse and RSS are within 10 % /
#           20 % of what they were after the round before (memory bounded:
#           a flood leaves a fixed cost — grown maps, the event ring full
#           of flood events, heap fragmentation — not a growing one)  -> PASS/FAIL
# Env: RATE (cps, default 50), WARMUP (calls, default 4000: enough to fill
# the daemon's 10 000-event ring, the largest buffer that is full by design),
# SETTLE (s to wait after each load before measuring, default 40: sipgo keeps
# finished transactions for 64*T1 = 32 s), FLOOD (datagrams per flood,
# default 20000). After the floods the script waits until the goroutines are
# back (at most SETTLE_MAX s, default 300), then SETTLE s more, and reports
# how long that took:
# the flood's INVITEs are answered and their 200s retransmitted until 64*T1,
# and a machine busy with 20 000 of them needs longer than SETTLE.
set -euo pipefail
N=${1:-20000}
RATE=${RATE:-50}
WARMUP=${WARMUP:-4000}
SETTLE=${SETTLE:-40}
FLOOD=${FLOOD:-20000}
SETTLE_MAX=${SETTLE_MAX:-300}
ROUNDS=${ROUNDS:-3}
source "$(dirname "$0")/lib.sh"
((ROUNDS >= 2)) || die "ROUNDS must be at least 2: the last flood round is compared with the one before"
need go sipp python3 awk
setup_work
build_gophone
start_gophone soak 2000
UA_USER=1001

calls() { # calls NAME N
	local out=$WORK/$1 mp sp
	mp=$(free_range 2); sp=$(free_range 1)
	# shellcheck disable=SC2046
	run_sipp "$G_PID" "$out" -sf "$BENCH_DIR/scenarios/uac_load.xml" $(sipp_common "$out") \
		-p "$sp" -mp "$mp" -r "$RATE" -m "$2" -l $((RATE * 4)) -d 1000 -s "$UA_USER" \
		-timeout "$(($2 / RATE + 60))s" "127.0.0.1:$G_PORT" || true
	read -r cr ok fail < <(python3 "$BENCH_DIR/analyze.py" sippstat "$out.csv")
	read -r wall st ut peak rss0 rc <"$out.res"
	log "$1: $ok/$2 calls ok, $fail failed, ${wall}s, gophone CPU $(awk -v t="$ut" -v h="$CLK_TCK" 'BEGIN{printf "%.1f", t/h}') s, sipp CPU $(awk -v t="$st" -v h="$CLK_TCK" -v w="$wall" 'BEGIN{printf "%.0f", 100*t/h/w}')%"
}
# debug_json: `gophone debug` plus the daemon's open file descriptors (a
# leaked RTP socket would show there, not in the heap).
debug_json() {
	gophone_debug | python3 -c 'import json, os, sys
d = json.load(sys.stdin)
d["fds"] = len(os.listdir("/proc/%s/fd" % sys.argv[1]))
print(json.dumps(d))' "$G_PID"
}
settle_debug() { # settle_debug NAME -> prints the debug JSON, saves it
	log "waiting ${SETTLE}s before measuring ($1)"
	sleep "$SETTLE"
	debug_json >"$WORK/$1.json"
	cat "$WORK/$1.json" >&2
	echo >&2
}
compare() { # compare BASE NOW GOR_TOL HEAP_TOL RSS_TOL
	python3 - "$WORK/$1.json" "$WORK/$2.json" "$3" "$4" "$5" <<'EOF'
import json, sys
a, b = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
tol = {"goroutines": float(sys.argv[3]), "fds": float(sys.argv[3]), "heapInUse": float(sys.argv[4]), "rss": float(sys.argv[5])}
ok = True
for k, t in tol.items():
    r = b[k] / a[k] if a[k] else float("inf")
    good = r <= 1 + t
    ok &= good
    print("  %-10s %12d -> %12d  (x%.3f, limit x%.2f) %s" % (k, a[k], b[k], r, 1 + t, "ok" if good else "OVER"))
print("PASS" if ok else "FAIL")
EOF
}

calls warmup "$WARMUP"
settle_debug base
calls soak "$N"
settle_debug after_soak
echo "soak: $N calls at $RATE cps, measured ${SETTLE}s after the load"
compare base after_soak 0.10 0.10 0.20 >"$WORK/cmp_soak.txt" || true
cat "$WORK/cmp_soak.txt"
SOAK=$(tail -1 "$WORK/cmp_soak.txt")

# flood ROUND: every kind of flood, then wait until the goroutines are back
# (at least SETTLE s, at most SETTLE_MAX s); saves after_floodROUND.json.
flood() {
	log "flood round $1: $FLOOD datagrams of each kind"
	python3 - "$G_PORT" "$FLOOD" <<-'EOF'
	import os, random, socket, sys, time
	port, n = int(sys.argv[1]), int(sys.argv[2])
	dst = ("127.0.0.1", port)
	s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
	s.bind(("127.0.0.1", 0))
	s.setblocking(False)
	lport = s.getsockname()[1]
	def send(b):
	    try:
	        s.sendto(b, dst)
	    except BlockingIOError:
	        time.sleep(0.001)
	    try:
	        while True:
	            s.recv(65536)
	    except BlockingIOError:
	        pass
	def pace(i):
	    if i % 200 == 0:
	        time.sleep(0.02)  # about 10000 datagrams/s
	t = time.time()
	for i in range(n):  # malformed: random bytes, truncated and garbled SIP
	    k = i % 3
	    if k == 0:
	        b = os.urandom(random.randrange(1, 1400))
	    elif k == 1:
	        b = b"INVITE sip:1001@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP x;branch=z9hG4bK%d\r\nCSeq: x\r\n" % i
	    else:
	        b = b"SIP/2.0 200 OK\r\nContent-Length: 99999\r\n\r\n" + os.urandom(50)
	    send(b); pace(i)
	print("malformed: %d in %.1fs" % (n, time.time() - t), file=sys.stderr)
	t = time.time()
	big = b"OPTIONS sip:1001@127.0.0.1 SIP/2.0\r\nX-Pad: " + b"a" * 60000 + b"\r\n\r\n"
	for i in range(n // 10):  # 60 KB datagrams
	    send(big); pace(i)
	print("60KB: %d in %.1fs" % (n // 10, time.time() - t), file=sys.stderr)
	def req(method, i, body=b""):
	    cid = "flood-%s-%d-%d" % (method, i, random.getrandbits(32))
	    h = ("%s sip:1001@127.0.0.1:%d SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:%d;branch=z9hG4bK%s\r\n"
	         "From: <sip:flood@127.0.0.1>;tag=%d\r\nTo: <sip:1001@127.0.0.1>\r\nCall-ID: %s\r\n"
	         "CSeq: 1 %s\r\nContact: <sip:flood@127.0.0.1:%d>\r\nMax-Forwards: 70\r\nExpires: 60\r\n"
	         % (method, port, lport, cid, i, cid, method, lport))
	    if body:
	        h += "Content-Type: application/sdp\r\n"
	    return (h + "Content-Length: %d\r\n\r\n" % len(body)).encode() + body
	t = time.time()
	for i in range(n):
	    send(req("REGISTER", i)); pace(i)
	print("REGISTER: %d in %.1fs" % (n, time.time() - t), file=sys.stderr)
	sdp = (b"v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
	       b"m=audio 9 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n")
	t = time.time()
	for i in range(n):  # INVITEs never ACKed, never hung up
	    send(req("INVITE", i, sdp)); pace(i)
	print("INVITE: %d in %.1fs" % (n, time.time() - t), file=sys.stderr)
	EOF
	kill -0 "$G_PID" 2>/dev/null || die "gophone died during flood round $1"
	local base_gor waited=0 gor
	base_gor=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["goroutines"])' "$WORK/base.json")
	while ((waited < SETTLE_MAX)); do
		sleep 5
		waited=$((waited + 5))
		gor=$(gophone_debug | python3 -c 'import json,sys; print(json.load(sys.stdin)["goroutines"])')
		((waited % 30 == 0)) && log "flood round $1 +${waited}s: $gor goroutines"
		((waited >= SETTLE && gor * 10 <= base_gor * 11)) && break
	done
	kill -0 "$G_PID" 2>/dev/null || die "gophone died after flood round $1"
	# The flood's calls are over; their transactions linger 64*T1 more.
	sleep "$SETTLE"
	waited=$((waited + SETTLE))
	debug_json >"$WORK/after_flood$1.json"
	cat "$WORK/after_flood$1.json" >&2
	echo >&2
	echo "flood round $1: daemon alive; measured ${waited}s after it"
}
for ((r = 1; r <= ROUNDS; r++)); do flood "$r"; done
echo "floods: round 1 against the post-warm-up level (information):"
compare base after_flood1 0.10 100 100 || true
echo "floods: round $ROUNDS against round $((ROUNDS - 1)) (memory bounded):"
compare "after_flood$((ROUNDS - 1))" "after_flood$ROUNDS" 0.10 0.10 0.20 >"$WORK/cmp_floods.txt" || true
cat "$WORK/cmp_floods.txt"
echo "floods: goroutines against the post-warm-up level:"
compare base "after_flood$ROUNDS" 0.10 100 100 >"$WORK/cmp_gor.txt" || true
cat "$WORK/cmp_gor.txt"
FLOODS=$(tail -1 "$WORK/cmp_floods.txt")
[[ $(tail -1 "$WORK/cmp_gor.txt") == PASS ]] || FLOODS=FAIL
echo "soak $SOAK, floods $FLOODS"
[[ $SOAK == PASS && $FLOODS == PASS ]]
