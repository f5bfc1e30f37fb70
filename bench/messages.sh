#!/usr/bin/env bash
# bench/messages.sh: received SIP MESSAGEs per second that gophone stores
# durably (each committed to SQLite, synchronous FULL, before its 200),
# beside baresip 1.0.0 (which answers 200 and stores nothing), and
# SQLite's own synchronous-commit rate on the same disk. See bench/README.md.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
need go sipp baresip python3 awk

RATES="${RATES:-500 1000 2000 3000 4000}" # MESSAGEs per second, one step each
DUR="${DUR:-5}"                            # seconds per step
UAS=${UAS:-"gophone baresip"}
SCENARIO=$ROOT/test/integration/testdata/sipp/uac_message_flood.xml

LOAD0=$(cut -d" " -f1-3 /proc/loadavg)
setup_work
build_gophone
RES=$WORK/messages.txt
: >"$RES"

log "SQLite on this disk ($WORK): go test -bench ./internal/store"
(cd "$ROOT" && TMPDIR=$WORK go test -run '^$' -bench . -benchtime "${BENCHTIME:-3s}" ./internal/store) |
	awk '/^Benchmark/{print "  " $1, $(NF-1), $NF}' | tee -a "$RES"

# stored: the highest message id gophone has (0 for none).
stored() {
	"$GOPHONE_BIN" -c "$G_CFG" messages --json --limit 1 |
		python3 -c 'import json,sys; d=json.load(sys.stdin); print(d[-1]["id"] if d else 0)' 2>/dev/null || echo 0
}

# csv_field FILE COLUMN: the last row's value of COLUMN in a SIPp stat CSV.
csv_field() {
	python3 - "$1" "$2" <<'PY'
import sys
rows = [l.rstrip("\n").split(";") for l in open(sys.argv[1]) if l.strip()]
print(rows[-1][rows[0].index(sys.argv[2])])
PY
}

for ua in $UAS; do
	case $ua in
	gophone) start_gophone "msg-gophone" 4; pid=$G_PID port=$G_PORT user=gophone ;;
	baresip) start_baresip "msg-baresip" 4; pid=$B_PID port=$B_PORT user=baresip ;;
	esac
	for rate in $RATES; do
		n=$((rate * DUR))
		out=$WORK/$ua-$rate
		before=0
		[[ $ua == gophone ]] && before=$(stored)
		sport=$(free_range 2)
		run_sipp "$pid" "$out" -sf "$SCENARIO" -s "$user" -i 127.0.0.1 -p "$sport" -nostdin \
			-trace_err -error_file "$out.err" -trace_stat -stf "$out.csv" -fd 1 \
			-m "$n" -r "$rate" -l $((rate * 2)) -max_non_invite_retrans 5 \
			-timeout $((DUR * 4 + 40))s "127.0.0.1:$port"
		read -r wall sticks uticks _ _ rc <"$out.res"
		ok=$(csv_field "$out.csv" "SuccessfulCall(C)")
		keep="-"
		[[ $ua == gophone ]] && keep=$(($(stored) - before))
		hz=$(getconf CLK_TCK)
		line=$(awk -v ua="$ua" -v r="$rate" -v n="$n" -v ok="$ok" -v k="$keep" -v w="$wall" \
			-v s="$sticks" -v u="$uticks" -v hz="$hz" -v st="$(steal_pct "$out.res")" 'BEGIN{
			printf "%-8s rate %5d/s sent %6d 2xx %6d (%.2f%%) stored %6s  %6.0f 2xx/s  UA CPU %3.0f%%  SIPp CPU %3.0f%%  steal %s%%",
				ua, r, n, ok, 100*ok/n, k, ok/w, 100*u/hz/w, 100*s/hz/w, st }')
		log "$line"
		echo "$line" >>"$RES"
	done
	case $ua in
	gophone) stop_pid "$G_PID" ;;
	baresip) stop_pid "$B_PID" ;;
	esac
done
echo
echo "== results ($(date -u +%FT%TZ), $(nproc) cores, load before: ${LOAD0:-?})"
cat "$RES"
