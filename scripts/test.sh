#!/usr/bin/env bash
# test.sh is gophone's one test command (`make test`, and CI through .ci/run).
# It installs the real SIP peers the integration tests drive when they are
# missing, then checks formatting, runs go vet and the whole test suite with
# the race detector.
set -euo pipefail

cd "$(dirname "$0")/.."
# mosquitto and kamailio install to /usr/sbin, which a non-root PATH may lack.
export PATH="$PATH:/usr/local/go/bin:/usr/sbin"

step() { printf '\n==> %s\n' "$*"; }

# 1. Tools the integration tests need (DESIGN.md §7), and for the web
# dialpad's browser test: Debian's Chromium and Node.js (never a browser
# download), with playwright-core from test/web's package-lock.json.
step "checking test tools (sipp, baresip, linphonec, tshark, sox, espeak-ng, mosquitto, kamailio, chromium, node, libopus)"
tools=(sipp baresip linphonec tshark sox espeak-ng mosquitto mosquitto_sub kamailio chromium node npm)
declare -A package=([sipp]=sip-tester [baresip]=baresip-core [linphonec]=linphone-cli [tshark]=tshark [sox]=sox
	[espeak-ng]=espeak-ng [mosquitto]=mosquitto [mosquitto_sub]=mosquitto-clients
	[kamailio]=kamailio [chromium]=chromium [node]=nodejs [npm]=npm)
missing=()
for tool in "${tools[@]}"; do
	command -v "$tool" >/dev/null 2>&1 || missing+=("${package[$tool]}")
done
# Kamailio's TLS module is a package of its own.
compgen -G '/usr/lib/*/kamailio/modules/tls.so' >/dev/null || missing+=(kamailio-tls-modules)
# The Opus build (-tags with_opus_c: cgo, libopus and opusfile by pkg-config).
pkg-config --exists opus opusfile 2>/dev/null || missing+=(pkg-config libopus-dev libopusfile-dev)
if ((${#missing[@]} > 0)); then
	echo "missing: ${missing[*]}; installing from Debian packages"
	SUDO=()
	if [[ $(id -u) -ne 0 ]]; then
		SUDO=(sudo)
	fi
	# tshark asks whether non-root users may capture; answer no, non-interactively.
	echo "wireshark-common wireshark-common/install-setuid boolean false" |
		"${SUDO[@]}" debconf-set-selections 2>/dev/null || true
	"${SUDO[@]}" apt-get update
	"${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y "${missing[@]}"
fi
for tool in "${tools[@]}"; do
	if ! command -v "$tool" >/dev/null 2>&1; then
		echo "FAIL: $tool is still missing after installation" >&2
		exit 1
	fi
done
if ! (cd test/web && npm ls --all >/dev/null 2>&1); then
	echo "installing test/web's packages (npm ci: playwright-core, axe-core; no browser download)"
	(cd test/web && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund)
fi
want=$(node -p 'require("./test/web/package-lock.json").packages["node_modules/playwright-core"].version')
echo "ok: $(sipp -v 2>&1 | grep -o 'SIPp v[^ ]*' | head -1), $(baresip -h 2>&1 | head -1 | cut -d' ' -f1-2)," \
	"$(chromium --version 2>/dev/null | head -1), node $(node --version), playwright-core $want"

# 2. Formatting.
step "gofmt -l"
unformatted=$(find . -name '*.go' -not -path './.git/*' -not -path '*/testdata/*' -print0 |
	xargs -0 -r gofmt -l)
if [[ -n "$unformatted" ]]; then
	echo "FAIL: these files need gofmt:" >&2
	echo "$unformatted" >&2
	exit 1
fi
echo "ok"

# 3. Static checks.
step "go vet ./..."
go vet ./...
echo "ok"

# The default build is pure Go; sound cards (malgo, cgo) are behind a tag
# and must keep compiling and working (through ALSA's null device, which
# libasound2, a dependency of baresip-core, always has).
step "builds: CGO_ENABLED=0 default, -tags malgo"
CGO_ENABLED=0 go build -o /dev/null ./cmd/gophone
go vet -tags malgo ./internal/audio
go build -tags malgo -o /dev/null ./cmd/gophone
go test -race -count=1 -tags malgo ./internal/audio
echo "ok"

# Opus is behind diago's with_opus_c tag (cgo, libopus): it must keep
# compiling, and its calls must carry audio (daemons built with the tag,
# against each other and baresip's opus module). The default build above
# has no cgo and offers no Opus.
step "builds: -tags with_opus_c"
go vet -tags with_opus_c ./internal/codec ./internal/config ./internal/sipua ./test/integration
go build -tags with_opus_c -o /dev/null ./cmd/gophone
go test -race -count=1 -tags with_opus_c ./internal/codec ./internal/config
go test -race -count=1 -tags with_opus_c -run 'Codec|Coders|Frame' ./internal/sipua
go test -count=1 -tags with_opus_c -run 'TestOpus|TestMicroSIPCodecsAndRTPPorts' ./test/integration
echo "ok"

# 4. Tests, race detector on, nothing cached.
step "go test -race -count=1 -timeout 15m ./..."
log=$(mktemp)
trap 'rm -f "$log"' EXIT
set +e
go test -race -count=1 -timeout 15m ./... 2>&1 | tee "$log"
rc=${PIPESTATUS[0]}
set -e

# Summary: packages and individual tests, as go test reported them.
pkg_ok=$(grep -cE '^ok[[:space:]]' "$log" || true)
pkg_fail=$(grep -cE '^(FAIL[[:space:]]|--- FAIL.*\[build failed\])' "$log" || true)
pkg_none=$(grep -cE '^\?[[:space:]]' "$log" || true)
printf '\n==> summary\n'
printf 'packages: %s ok, %s failed, %s without tests\n' "$pkg_ok" "$pkg_fail" "$pkg_none"
if [[ $rc -ne 0 ]]; then
	grep -E '^(--- FAIL|FAIL)' "$log" >&2 || true
	echo "FAIL: go test exited $rc" >&2
	exit "$rc"
fi
echo "PASS: gofmt, go vet and go test all clean"
