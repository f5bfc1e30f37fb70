# bench/lib.sh: shared by run.sh and soak.sh (sourced, not run).
# Starts gophone / baresip / sipp / dumpcap on loopback, samples
# /proc/PID/stat and /proc/PID/status, and kills only the pids it started.

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$BENCH_DIR/.." && pwd)
CLK_TCK=$(getconf CLK_TCK)
STARTED_PIDS=()

log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "FATAL: $*"; exit 1; }

need() {
	local t
	for t in "$@"; do command -v "$t" >/dev/null || die "$t not found (Debian: sip-tester baresip-core tshark python3 golang)"; done
}

# work dir under /tmp (the socket path must stay short).
setup_work() {
	WORK=$(mktemp -d /tmp/gphbench.XXXXXX)
	log "work dir $WORK"
	trap cleanup EXIT
	trap 'exit 130' INT TERM
}

cleanup() {
	local p=""
	# sipp runs started by run_sipp in a background subshell leave WORK/*.pid
	for f in "$WORK"/*.pid; do [[ -e $f ]] && STARTED_PIDS+=("$(cat "$f")"); done
	for p in "${STARTED_PIDS[@]}"; do
		kill -TERM "$p" 2>/dev/null || true
	done
	local i
	for i in $(seq 30); do # up to 3 s for a clean exit
		for p in "${STARTED_PIDS[@]}"; do kill -0 "$p" 2>/dev/null && break; done
		kill -0 "$p" 2>/dev/null || break
		sleep 0.1
	done
	for p in "${STARTED_PIDS[@]}"; do
		kill -KILL "$p" 2>/dev/null || true
	done
	if [[ -n "${KEEP_WORK:-}" ]]; then log "kept $WORK"; else rm -rf "$WORK"; fi
}

track() { STARTED_PIDS+=("$1"); }
untrack() {
	local p keep=()
	for p in "${STARTED_PIDS[@]}"; do [[ $p == "$1" ]] || keep+=("$p"); done
	STARTED_PIDS=("${keep[@]}")
}
# stop_pid PID: TERM, wait up to 5 s, then KILL.
stop_pid() {
	local pid=$1 i
	kill -TERM "$pid" 2>/dev/null || true
	for i in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
	kill -KILL "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
	untrack "$pid"
}

# free_ports N STEP: prints a base port such that base..base+N*STEP-1 are all
# free for UDP and TCP on 127.0.0.1 (at the moment of asking).
free_range() {
	python3 - "$1" <<'EOF'
import random, socket, sys
n = int(sys.argv[1])
for _ in range(200):
    base = random.randrange(20000, 60000 - n) & ~1
    socks, ok = [], True
    try:
        for p in range(base, base + n):
            for kind in (socket.SOCK_DGRAM, socket.SOCK_STREAM):
                s = socket.socket(socket.AF_INET, kind)
                socks.append(s)
                s.bind(("127.0.0.1", p))
    except OSError:
        ok = False
    for s in socks:
        s.close()
    if ok:
        print(base)
        sys.exit(0)
sys.exit("no free port range")
EOF
}

# ticks PID: utime+stime in clock ticks (0 if gone).
ticks() { awk '{print $14+$15}' "/proc/$1/stat" 2>/dev/null || echo 0; }
# rss_kb PID: VmRSS in kB.
rss_kb() { awk '/^VmRSS:/{print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }

build_gophone() {
	GOPHONE_BIN=$WORK/gophone
	log "building gophone"
	(cd "$ROOT" && go build -o "$GOPHONE_BIN" ./cmd/gophone)
	(cd "$ROOT" && go build -o "$WORK/benchdrive" ./bench/cmd/benchdrive)
}

# gophone_ini FILE SIPPORT RTPBASE RTPCOUNT DIR HTTPPORT: the bench
# configuration.
gophone_ini() {
	cat >"$1" <<EOF
[Settings]
listen=127.0.0.1:$2
rtpPorts=$3-$(($3 + $4 - 1))
controlSocket=$5/ctl.sock
httpListen=127.0.0.1:$6
dataDir=$5/data
logFile=$5/gophone.log
autoAnswer=all
maxConcurrentCalls=100000
audioInput=tone:440
audioOutput=null

[Account1]
label=bench
codecs=PCMU,PCMA
EOF
}

# start_gophone NAME RTPCOUNT: sets G_PID G_PORT G_HTTP G_CFG G_DIR.
start_gophone() {
	local name=$1 n=$2 base
	G_DIR=$WORK/$name
	mkdir -p "$G_DIR/home"
	base=$(free_range $((n + 3)))
	G_PORT=$base
	G_HTTP=$((base + n + 2))
	G_CFG=$G_DIR/gophone.ini
	gophone_ini "$G_CFG" "$G_PORT" $((base + 2)) "$n" "$G_DIR" "$G_HTTP"
	HOME=$G_DIR/home XDG_RUNTIME_DIR=$G_DIR/home XDG_DATA_HOME=$G_DIR/home XDG_CONFIG_HOME=$G_DIR/home \
		"$GOPHONE_BIN" -c "$G_CFG" serve ${PROFILE:+--cpuprofile "$G_DIR/cpu.prof"} >"$G_DIR/serve.log" 2>&1 &
	G_PID=$!
	track "$G_PID"
	wait_up gophone "$G_PID" "$G_DIR/serve.log" gophone_answers
	log "gophone pid $G_PID on 127.0.0.1:$G_PORT"
}

gophone_answers() { "$GOPHONE_BIN" -c "$G_CFG" status --json >/dev/null 2>&1; }

# wait_up NAME PID LOG CHECK...: waits up to 10 s until the command CHECK
# succeeds; if PID exits first, prints LOG and dies.
wait_up() {
	local name=$1 pid=$2 logf=$3 i
	shift 3
	for i in $(seq 100); do
		"$@" && return 0
		kill -0 "$pid" 2>/dev/null || { cat "$logf" >&2; die "$name exited at start"; }
		sleep 0.1
	done
	die "$name did not come up within 10 s"
}

gophone_debug() { "$GOPHONE_BIN" -c "$G_CFG" debug; }

# baresip_config DIR SIPPORT RTPBASE RTPCOUNT CTRLPORT MAXCALLS
baresip_config() {
	local d=$1
	cat >"$d/config" <<EOF
poll_method epoll
sip_listen 127.0.0.1:$2
net_interface 127.0.0.1
call_local_timeout 120
call_max_calls $6
audio_source ausine,440
ausrc_srate 48000
ausrc_channels 2
rtp_ports $3-$(($3 + $4 - 1))
module_path /usr/lib/baresip/modules
module g711.so
module ausine.so
module_tmp account.so
module_app menu.so
module_app ctrl_tcp.so
ctrl_tcp_listen 127.0.0.1:$5
EOF
	echo "<sip:baresip@127.0.0.1:$2>;regint=0;answermode=auto;audio_codecs=PCMU/8000/1,PCMA/8000/1" >"$d/accounts"
}

# start_baresip NAME RTPCOUNT: sets B_PID B_PORT B_CTRL B_DIR.
start_baresip() {
	local name=$1 n=$2 base
	B_DIR=$WORK/$name
	mkdir -p "$B_DIR"
	# baresip also listens for SIP over TLS on SIPPORT+1
	base=$(free_range $((n + 4)))
	B_PORT=$base
	B_CTRL=$((base + 2))
	baresip_config "$B_DIR" "$B_PORT" $((base + 4)) "$n" "$B_CTRL" 100000
	(cd "$B_DIR" && exec baresip -f "$B_DIR" </dev/null >"$B_DIR/baresip.log" 2>&1) &
	B_PID=$!
	track "$B_PID"
	wait_up baresip "$B_PID" "$B_DIR/baresip.log" tcp_open "$B_CTRL"
	sleep 0.3 # let it finish loading modules
	log "baresip pid $B_PID on 127.0.0.1:$B_PORT (ctrl $B_CTRL)"
}

tcp_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# capture_start FILE SNAPLEN FILTER: dumpcap (tshark's capture engine) on lo,
# libpcap format; sets CAP_PID.
capture_start() {
	dumpcap -i lo -P -s "$2" -B 64 -f "$3" -w "$1" >"$1.log" 2>&1 &
	CAP_PID=$!
	track "$CAP_PID"
	local i
	for i in $(seq 50); do
		[[ -s $1 ]] && { sleep 0.3; return 0; }
		kill -0 "$CAP_PID" 2>/dev/null || { cat "$1.log" >&2; die "dumpcap failed"; }
		sleep 0.1
	done
	die "dumpcap did not start"
}
capture_stop() {
	sleep 0.3
	kill -INT "$CAP_PID" 2>/dev/null || true
	wait "$CAP_PID" 2>/dev/null || true
	untrack "$CAP_PID"
	grep -i "dropped" "$1.log" | sed "s/^/  dumpcap: /" >&2 || true
}

# run_sipp UAPID OUTPREFIX SIPP-ARGS...: runs sipp in the background,
# samples sipp's and the UA's CPU ticks and the UA's RSS every 0.2 s until
# sipp exits. Writes OUTPREFIX.res: wall_s sipp_ticks ua_ticks ua_peak_rss_kb ua_rss0_kb rc,
# and OUTPREFIX.steal: the machine's CPU time stolen by its host meanwhile.
run_sipp() {
	local ua=$1 out=$2
	shift 2
	local t0 ua0 rss0 peak=0 st=0 r ut rc steal0
	steal0=$(cpu_steal)
	ua0=$(ticks "$ua")
	rss0=$(rss_kb "$ua")
	t0=$(date +%s.%N)
	sipp "$@" >"$out.stdout" 2>"$out.stderr" &
	local sp=$!
	track "$sp"
	echo "$sp" >"$out.pid"
	while kill -0 "$sp" 2>/dev/null; do
		r=$(ticks "$sp"); [[ $r -gt 0 ]] && st=$r
		r=$(rss_kb "$ua"); [[ $r -gt $peak ]] && peak=$r
		sleep 0.2
	done
	rc=0
	wait "$sp" || rc=$?
	untrack "$sp"
	rm -f "$out.pid"
	ut=$(($(ticks "$ua") - ua0))
	echo "$(awk -v a="$(date +%s.%N)" -v b="$t0" 'BEGIN{printf "%.3f", a-b}') $st $ut $peak $rss0 $rc" >"$out.res"
	echo "$steal0 $(cpu_steal)" >"$out.steal"
}

# cpu_steal: "steal total" jiffies of all CPUs so far (/proc/stat). On a
# virtual machine the host may run something else on our CPUs; a run with
# much steal measured a smaller machine.
cpu_steal() { awk '/^cpu /{t=0; for (i=2; i<=9; i++) t+=$i; print $9, t; exit}' /proc/stat; }

# steal_pct OUTPREFIX.res: percent of the CPU time stolen during that sipp run.
steal_pct() { awk '{printf "%.0f", ($4-$2 > 0) ? 100*($3-$1)/($4-$2) : 0}' "${1%.res}.steal"; }

sipp_common() {
	# -i/-mi loopback, echo RTP back to the sender, stats CSV, no screen.
	echo -i 127.0.0.1 -mi 127.0.0.1 -rtp_echo -nostdin -trace_err -error_file "$1.err" \
		-trace_stat -stf "$1.csv" -fd 1
}
