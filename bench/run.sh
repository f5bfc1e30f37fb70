#!/usr/bin/env bash
# bench/run.sh [quick|full]: gophone vs baresip 1.0.0, side by side, driven
# by SIPp on loopback. See bench/README.md for what each figure means.
set -euo pipefail
MODE=${1:-quick}
source "$(dirname "$0")/lib.sh"
need go sipp baresip dumpcap python3 awk

case $MODE in
quick)
	RATES="${RATES:-30 60}"           # incoming cps steps (1 s calls)
	RATE_DUR="${RATE_DUR:-4}"         # seconds of load per step
	LAT_RATE="${LAT_RATE:-50}" LAT_DUR="${LAT_DUR:-4}"
	CONC_STEPS="${CONC_STEPS:-100}"   # concurrent calls held
	CONC_RAMP="${CONC_RAMP:-50}"      # cps while ramping up
	JITTER_N="${JITTER_N:-100}"       # step whose capture gives the jitter figure
	WINDOW="${WINDOW:-2}"             # seconds of RTP capture while all calls are up
	OUT_RATES="${OUT_RATES:-10 20}" OUT_DUR="${OUT_DUR:-4}"
	CMD_N="${CMD_N:-200}" CMD_RATE="${CMD_RATE:-100}"
	;;
full)
	RATES="${RATES:-25 50 75 100 150 200 300 400 600 800 1000 1200 1500}"
	RATE_DUR="${RATE_DUR:-20}"
	LAT_RATE="${LAT_RATE:-50}" LAT_DUR="${LAT_DUR:-20}" # LAT_CALL_MS (default 1000): call length
	CONC_STEPS="${CONC_STEPS:-250 500 1000 1500 2000 3000 4000}"
	CONC_RAMP="${CONC_RAMP:-100}"
	JITTER_N="${JITTER_N:-1000}"
	WINDOW="${WINDOW:-3}"
	OUT_RATES="${OUT_RATES:-10 25 50 100 150 200 300 400 500 600 800}"
	OUT_DUR="${OUT_DUR:-20}"
	CMD_N="${CMD_N:-1000}" CMD_RATE="${CMD_RATE:-100}"
	;;
*) echo "usage: bench/run.sh [quick|full]" >&2; exit 2 ;;
esac
UAS=${UAS:-"gophone baresip"}

setup_work
build_gophone
RES=$WORK/results.txt
: >"$RES"
# put KEY UA VALUE
put() { printf '%s\t%s\t%s\n' "$1" "$2" "$3" >>"$RES"; }
cpu_pct() { awk -v t="$1" -v w="$2" -v h="$CLK_TCK" 'BEGIN{ if (w>0) printf "%.0f", 100*t/h/w; else print "?" }'; }

# start_ua UA RTPPORTS: sets UA_PID UA_PORT
start_ua() {
	case $1 in
	gophone) start_gophone "g$RANDOM" "$2"; UA_PID=$G_PID UA_PORT=$G_PORT UA_USER=1001 ;;
	baresip) start_baresip "b$RANDOM" "$2"; UA_PID=$B_PID UA_PORT=$B_PORT UA_USER=baresip ;;
	esac
}

# sipp_uac OUT UA REMOTEPORT RATE CALLS LIMIT DURATION_MS TIMEOUT_S [MEDIAPORT]
sipp_uac() {
	local out=$1 ua=$2 port=$3 r=$4 m=$5 l=$6 d=$7 to=$8 mp=${9:-}
	local sp
	sp=$(free_range 1)
	[[ -n $mp ]] || mp=$(free_range 2)
	# shellcheck disable=SC2046
	run_sipp "$ua" "$out" -sf "$BENCH_DIR/scenarios/uac_load.xml" $(sipp_common "$out") \
		-p "$sp" -mp "$mp" -r "$r" -m "$m" -l "$l" -d "$d" -s "$UA_USER" \
		-timeout "${to}s" -max_socket 65000 "127.0.0.1:$port" || true
}

# ---- 1. incoming call rate, ≥ 99.9 % success, 1 s calls with RTP ----
bench_rate() {
	local ua=$1 r best=0 bestsipp="" n cr ok fail res
	start_ua "$ua" 4000
	for r in $RATES; do
		n=$((r * RATE_DUR))
		sipp_uac "$WORK/rate-$ua-$r" "$UA_PID" "$UA_PORT" "$r" "$n" $((r * 4 + 10)) 1000 $((RATE_DUR + 15))
		read -r cr ok fail < <(python3 "$BENCH_DIR/analyze.py" sippstat "$WORK/rate-$ua-$r.csv")
		read -r wall st ut peak rss0 rc <"$WORK/rate-$ua-$r.res"
		local sc uc; sc=$(cpu_pct "$st" "$wall"); uc=$(cpu_pct "$ut" "$wall")
		log "$ua rate $r cps: $ok/$n ok, $fail failed; UA CPU ${uc}% sipp CPU ${sc}%"
		put "rate_step_$r" "$ua" "$ok/$n ok, UA ${uc}%, sipp ${sc}%"
		if awk -v o="$ok" -v n="$n" 'BEGIN{exit !(o >= 0.999*n)}'; then
			best=$r bestsipp="sipp ${sc}% CPU"
		else
			[[ $sc -ge 90 ]] && log "sipp was saturated (${sc}% CPU): the limit is the load generator"
			break
		fi
	done
	put rate "$ua" "$best"
	put rate_note "$ua" "$bestsipp"
	stop_pid "$UA_PID"
}

# ---- 2. CPU per call-second; INVITE->200 latency at LAT_RATE cps from a capture ----
# Two runs of the same load on one UA: the first, with no capture running,
# gives the CPU figure (a capture on lo makes every sender on the machine
# copy each packet to it, which bench/README.md measured as a sizeable part
# of a UA's CPU); the second is captured and gives the latency.
bench_latency() {
	local ua=$1 n cap call_ms=${LAT_CALL_MS:-1000}
	start_ua "$ua" 2000
	n=$((LAT_RATE * LAT_DUR))
	lat_run() { sipp_uac "$WORK/$1-$ua" "$UA_PID" "$UA_PORT" "$LAT_RATE" "$n" $((LAT_RATE * (call_ms / 1000 + 4))) "$call_ms" $((LAT_DUR + call_ms / 1000 + 15)); }
	local cr ok fail cnt p50 p99 wall st ut peak rss0 rc
	lat_run cpu
	read -r cr ok fail < <(python3 "$BENCH_DIR/analyze.py" sippstat "$WORK/cpu-$ua.csv")
	read -r wall st ut peak rss0 rc <"$WORK/cpu-$ua.res"
	# CPU seconds of the UA per call-second of established call (LAT_CALL_MS long calls)
	local cpu; cpu=$(awk -v t="$ut" -v h="$CLK_TCK" -v c="$ok" -v ms="$call_ms" 'BEGIN{ if (c>0) printf "%.5f", t/h/(c*ms/1000); else print "?" }')
	log "$ua CPU at $LAT_RATE cps: $cpu s per call-second ($ok/$n ok, sipp $(cpu_pct "$st" "$wall")% CPU, steal $(steal_pct "$WORK/cpu-$ua.res")%)"
	put cpu_per_cs "$ua" "$cpu"
	put cpu_note "$ua" "$ok/$n ok, sipp $(cpu_pct "$st" "$wall")% CPU, steal $(steal_pct "$WORK/cpu-$ua.res")%"
	cap=$WORK/lat-$ua.pcap
	capture_start "$cap" 2000 "udp port $UA_PORT"
	lat_run lat
	capture_stop "$cap"
	read -r cr ok fail < <(python3 "$BENCH_DIR/analyze.py" sippstat "$WORK/lat-$ua.csv")
	read -r cnt p50 p99 < <(python3 "$BENCH_DIR/analyze.py" latency "$cap" "$UA_PORT")
	read -r wall st ut peak rss0 rc <"$WORK/lat-$ua.res"
	log "$ua latency at $LAT_RATE cps: $cnt calls, p50 $p50 ms p99 $p99 ms ($ok/$n ok)"
	put lat_p50 "$ua" "$p50"
	put lat_p99 "$ua" "$p99"
	put lat_note "$ua" "$ok/$n ok, sipp $(cpu_pct "$st" "$wall")% CPU, steal $(steal_pct "$WORK/lat-$ua.res")%; UA CPU with the capture running $(awk -v t="$ut" -v h="$CLK_TCK" -v c="$ok" -v ms="$call_ms" 'BEGIN{ if (c>0) printf "%.5f", t/h/(c*ms/1000); else print "?" }') s per call-second"
	stop_pid "$UA_PID"
}

# ---- 3. concurrent established calls with RTP both ways; RSS per call; jitter ----
# sample_filter MEDIAPORT: a capture filter for the RTP between SIPp's media
# port and the UA ports whose bits 1-3 are zero: an eighth of the streams,
# both directions, whatever the parity of the UA's ports.
sample_filter() {
	echo "(udp dst port $1 and (udp[0:2] & 14) = 0) or (udp src port $1 and (udp[2:2] & 14) = 0)"
}
bench_conc() {
	local ua=$1 n best=0 hold ramp_s ramp=$CONC_RAMP
	# baresip fails calls above about 50 cps: ramp it up slower than that,
	# so its concurrency is not cut short by its call rate.
	[[ $ua == baresip ]] && ramp=$((CONC_RAMP < 40 ? CONC_RAMP : 40))
	for n in $CONC_STEPS; do
		start_ua "$ua" $((n * 2 + 100))
		ramp_s=$(((n + ramp - 1) / ramp))
		hold=$(((ramp_s + WINDOW + 7) * 1000))
		local out=$WORK/conc-$ua-$n cap=$WORK/conc-$ua-$n.pcap all=$WORK/conc-$ua-$n-all.pcap
		local mp; mp=$(free_range 2)
		sipp_uac "$out" "$UA_PID" "$UA_PORT" "$ramp" "$n" "$n" "$hold" $((hold / 1000 + ramp_s + 30)) "$mp" &
		local bg=$!
		# Once every call should be up: a WINDOW-second capture of an eighth
		# of the streams gives their packet rates and jitter, then a 1 s
		# capture of all of them shows which go both ways. Capturing every
		# packet for the rates would slow what it measures: at 2000 calls the
		# kernel's copies to the capture were a tenth of the UA's CPU and
		# dumpcap took a quarter of a core (bench/README.md).
		sleep $((ramp_s + 2))
		capture_start "$cap" 64 "$(sample_filter "$mp")"
		sleep "$WINDOW"
		capture_stop "$cap"
		capture_start "$all" 64 "udp port $mp"
		sleep 1
		capture_stop "$all"
		local drops; drops=$(sed -n "s|.*dropped on interface.*': [0-9]*/\([0-9]*\) .*|\1|p" "$cap.log")
		wait "$bg" || true
		local cr ok fail streams both sampled j50 j99 jmax jmean pps50 pps1 x
		read -r cr ok fail < <(python3 "$BENCH_DIR/analyze.py" sippstat "$out.csv")
		read -r sampled x j50 j99 jmax jmean pps50 pps1 < <(python3 "$BENCH_DIR/analyze.py" jitter "$cap" "$mp" 0)
		read -r streams both x < <(python3 "$BENCH_DIR/analyze.py" jitter "$all" "$mp" 0)
		read -r wall st ut peak rss0 rc <"$out.res"
		local perc; perc=$(awk -v p="$peak" -v r="$rss0" -v n="$n" 'BEGIN{printf "%.1f", (p-r)/n}')
		local steal; steal=$(steal_pct "$out.res")
		log "$ua $n concurrent: $ok/$n calls ok, RTP streams seen $streams, both ways $both; peak RSS ${peak} kB (idle ${rss0} kB) -> ${perc} kB/call; over $sampled sampled streams: jitter p50 $j50 p99 $j99 max $jmax ms, packets/s per stream p50 $pps50, 1st percentile $pps1 (dumpcap dropped ${drops:-?}); UA CPU $(cpu_pct "$ut" "$wall")%, sipp CPU $(cpu_pct "$st" "$wall")%, steal ${steal}%"
		put "conc_step_$n" "$ua" "$ok/$n ok, RTP both ways $both, pkt/s per stream ($sampled sampled) p50 $pps50 p1 $pps1, UA $(cpu_pct "$ut" "$wall")%, sipp $(cpu_pct "$st" "$wall")%, steal ${steal}%"
		if [[ $n == "$JITTER_N" ]]; then
			put jit_p50 "$ua" "$j50"; put jit_p99 "$ua" "$j99"; put jit_max "$ua" "$jmax"
			put jit_note "$ua" "$sampled of $n streams sampled, dumpcap dropped ${drops:-?}"
		fi
		stop_pid "$UA_PID"
		# A step passes when every call is up with RTP both ways and even the
		# slowest 1 % of streams carry 95 % of their 50 packets/s.
		if [[ $ok -eq $n && $both -eq $n ]] && awk -v r="$pps1" 'BEGIN{exit !(r >= 47.5)}'; then
			best=$n
			put rss_per_call "$ua" "$perc"
			put rss_note "$ua" "at $n calls: peak $peak kB, idle $rss0 kB"
		else
			break
		fi
	done
	put conc "$ua" "$best"
}

# sipp_uas OUT UA CALLS TIMEOUT: background UAS that hangs up after 1 s; sets UAS_PORT, UAS_BG
sipp_uas() {
	local out=$1 ua=$2 m=$3 to=$4 mp
	UAS_PORT=$(free_range 1); mp=$(free_range 2)
	# shellcheck disable=SC2046
	run_sipp "$ua" "$out" -sf "$BENCH_DIR/scenarios/uas_bye.xml" $(sipp_common "$out") \
		-p "$UAS_PORT" -mp "$mp" -m "$m" -d 1000 -timeout "${to}s" -max_socket 65000 &
	UAS_BG=$!
	local i
	for i in $(seq 50); do
		ss -Hlun "sport = :$UAS_PORT" | grep -q . && return 0
		sleep 0.1
	done
	log "sipp UAS did not bind $UAS_PORT"
}

drive() { # drive UA RATE N LOG TARGET (UA gophone-http: gophone over its HTTP API)
	local args=(-rate "$2" -n "$3" -out "$4" -target "$5")
	case $1 in
	gophone) args+=(-backend gophone -sock "$G_DIR/ctl.sock") ;;
	gophone-http) args+=(-backend gophone-http -http "127.0.0.1:$G_HTTP" -token "$G_DIR/data/api-token") ;;
	baresip) args+=(-backend baresip -ctrl "127.0.0.1:$B_CTRL") ;;
	esac
	"$WORK/benchdrive" "${args[@]}"
}

# ---- 4. outgoing call rate (UA dials a SIPp UAS through its control interface) ----
bench_out() {
	local ua=$1 r best=0 n
	start_ua "$ua" 4000
	for r in $OUT_RATES; do
		n=$((r * OUT_DUR))
		local out=$WORK/out-$ua-$r
		sipp_uas "$out" "$UA_PID" "$n" $((OUT_DUR + 12))
		local d; d=$(drive "$ua" "$r" "$n" "$out.drive" "sip:1001@127.0.0.1:$UAS_PORT" || echo "0 $n")
		wait "$UAS_BG" || true
		local cr ok fail
		read -r cr ok fail < <(python3 "$BENCH_DIR/analyze.py" sippstat "$out.csv")
		read -r wall st ut peak rss0 rc <"$out.res"
		log "$ua outgoing $r cps: commands ok $d; sipp UAS $ok/$n calls ok; sipp CPU $(cpu_pct "$st" "$wall")%"
		put "out_step_$r" "$ua" "$ok/$n ok, sipp $(cpu_pct "$st" "$wall")%"
		if awk -v o="$ok" -v n="$n" 'BEGIN{exit !(o >= 0.999*n)}'; then best=$r; else break; fi
	done
	put out "$ua" "$best"
	stop_pid "$UA_PID"
}

# ---- 5. command latency: control request -> INVITE on the wire ----
# gophone is measured through its control socket and then, on the same
# daemon, through its HTTP API (key cmd_http_*).
bench_cmd() {
	local ua=$1 via vias=$1
	[[ $ua == gophone ]] && vias="gophone gophone-http"
	start_ua "$ua" 1000
	for via in $vias; do
		local out=$WORK/cmd-$via cap=$WORK/cmd-$via.pcap
		capture_start "$cap" 2000 "udp port $UA_PORT"
		sipp_uas "$out" "$UA_PID" "$CMD_N" $((CMD_N / CMD_RATE + 20))
		drive "$via" "$CMD_RATE" "$CMD_N" "$out.drive" "sip:1001@127.0.0.1:$UAS_PORT" >/dev/null || true
		wait "$UAS_BG" || true
		capture_stop "$cap"
		local cnt p50 p99 cr ok fail
		read -r cnt p50 p99 < <(python3 "$BENCH_DIR/analyze.py" cmdlat "$cap" "$UA_PORT" "$out.drive")
		read -r cr ok fail < <(python3 "$BENCH_DIR/analyze.py" sippstat "$out.csv")
		log "$via command latency at $CMD_RATE/s: $cnt commands, p50 $p50 ms p99 $p99 ms; sipp UAS $ok/$CMD_N calls ok, steal $(steal_pct "$out.res")%"
		local key=cmd
		[[ $via == gophone-http ]] && key=cmd_http
		put "${key}_p50" "$ua" "$p50"; put "${key}_p99" "$ua" "$p99"
		put "${key}_note" "$ua" "$cnt commands at $CMD_RATE/s, sipp UAS $ok/$CMD_N calls ok, steal $(steal_pct "$out.res")%"
	done
	stop_pid "$UA_PID"
}

T0=$(date +%s)
ONLY=${ONLY:-"latency rate conc out cmd"}
# each measurement runs for both UAs back to back, so they see the same machine
for b in $ONLY; do
	for ua in $UAS; do "bench_$b" "$ua"; done
done

python3 - "$RES" "$MODE" "$(date -u +%Y-%m-%dT%H:%MZ)" "$(($(date +%s) - T0))" "$LAT_RATE" "$JITTER_N" <<'EOF'
import sys
res, mode, when, secs, latrate, jn = sys.argv[1:]
d = {}
for line in open(res):
    k, ua, v = line.rstrip("\n").split("\t")
    d[(k, ua)] = v
rows = [
    ("rate", "incoming calls/s at >= 99.9 % success (1 s calls, RTP)", True),
    ("conc", "concurrent established calls, RTP both ways", True),
    ("cpu_per_cs", "UA CPU s per call-second (%s cps)" % latrate, False),
    ("rss_per_call", "peak RSS per concurrent call, kB", False),
    ("lat_p50", "INVITE->200 p50 ms at %s cps (capture)" % latrate, False),
    ("lat_p99", "INVITE->200 p99 ms at %s cps (capture)" % latrate, False),
    ("jit_p50", "RTP send interval |d-20ms| p50 ms, %s calls" % jn, False),
    ("jit_p99", "RTP send interval |d-20ms| p99 ms, %s calls" % jn, False),
    ("out", "outgoing calls/s at >= 99.9 % success", True),
    ("cmd_p50", "command -> INVITE p50 ms (capture)", False),
    ("cmd_p99", "command -> INVITE p99 ms (capture)", False),
    ("cmd_http_p50", "HTTP command -> INVITE p50 ms (capture)", False),
    ("cmd_http_p99", "HTTP command -> INVITE p99 ms (capture)", False),
]
print()
print("gophone vs baresip 1.0.0, mode %s, %s, %s s" % (mode, when, secs))
print("%-52s %12s %12s %8s" % ("figure", "gophone", "baresip", "g/b"))
for k, name, _ in rows:
    g, b = d.get((k, "gophone"), "-"), d.get((k, "baresip"), "-")
    try:
        ratio = "%.2f" % (float(g) / float(b))
    except (ValueError, ZeroDivisionError):
        ratio = "-"
    print("%-52s %12s %12s %8s" % (name, g, b, ratio))
print()
print("notes (steps: ok/attempted, load generator CPU):")
for (k, ua), v in sorted(d.items()):
    if k.endswith("_note") or "_step_" in k:
        print("  %-8s %-16s %s" % (ua, k, v))
EOF
