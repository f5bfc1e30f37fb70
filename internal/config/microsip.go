package config

import "strings"

// MicroSIP's own keys, as its settings loader reads them. Read from
// MicroSIP's source (settings.cpp, settings.h, SettingsDlg.cpp, mainDlg.cpp,
// global.cpp, lib/MSIP.cpp, lib/Crypto.cpp) in public copies on GitHub:
// 3.21.3 (frangarcj/microsip), 3.20.5 (litkinger/MicroSIP-3.20.5),
// 3.19.27 (nirzaf/MicroSIP-3.19.27-src), 3.22.3
// (kierknoby/MicroSIP, extracted/MicroSIP-3.22.3-src) and a 2016 3.1x
// (pgvee/MicroSIP). What they say, in short:
//
//   - microsip.ini is written as UTF-16 LE with a BOM (an ANSI file is
//     converted on start); GetPrivateProfileString strips one pair of quotes,
//     and the device names are written quoted.
//   - autoAnswer is "", button, header or all (button: the AA key holds the
//     button's state); before 3.x it was 0 (no), 1 (all calls) or 2 (SIP
//     header). A missing key means button.
//   - denyIncoming is "", button (DND holds the state), user, domain,
//     userdomain, remotedomain or all; older versions read rdomain and
//     address for remotedomain and userdomain.
//   - DTMFMethod is 0 auto (RFC 2833, else in-band), 1 in-band, 2 RFC 2833,
//     3 SIP INFO.
//   - maxConcurrentCalls 0 means no limit; callWaiting defaults to 1.
//   - rtpPortMin > 0 is the first RTP port, and rtpPortMax, when above it,
//     the last; sourcePort > 0 is the SIP port.
//   - volumeOutput and volumeInput are 0-100, 100 when missing.
//   - recordingFormat is wav or mp3 (anything but wav is mp3).
//   - audioCodecs is NAME/RATE/CHANNELS separated by spaces, in offer order.
//   - registerRefresh <= 0 means 300 and below 10 means 10; keepAlive <= 0
//     means 15.
//   - A saved password is encrypted with a key built into microsip.exe
//     (CryptoAPI RC2) and written as lower-case hex: whole 8-byte blocks,
//     so 16, 32, … hex digits. A value MicroSIP cannot decrypt is taken as
//     the plain password.
//   - Besides [Settings] and [AccountN] it keeps [Account0] (its local
//     account), [Calls], [Dialed], [Contacts] and [Shortcuts].

// guiSettings are MicroSIP [Settings] keys of its windows and buttons, or
// its own bookkeeping: known, and ignored without a word.
func guiSettings() []string {
	return []string{
		"singleMode", "ringingSound", "volumeRing", "mainX", "mainY", "mainW", "mainH",
		"messagesX", "messagesY", "messagesW", "messagesH", "ringinX", "ringinY",
		"callsWidth0", "callsWidth1", "callsWidth2", "callsWidth3", "callsWidth4", "callsWidth5",
		"contactsWidth0", "contactsWidth1", "contactsWidth2", "activeTab", "alwaysOnTop",
		"enableShortcuts", "shortcutsBottom", "lastCallNumber", "lastCallHasVideo",
		"updatesInterval", "checkUpdatesTime", "noResize", "bringToFrontOnIncoming",
		"enableMediaButtons", "localDTMF", "randomAnswerBox", "silent", "minimized",
		"multiMonitor", "defaultAction", "enableLocalAccount", "recordingButton",
		"buttonAC", "buttonCONF", "EM", "AC", "version", "crashReport", "hidden",
		"disableNameLookup", "noIgnoreCall", "portKnockerHost", "portKnockerPorts",
	}
}

// unsupportedSettings are MicroSIP [Settings] keys of features gophone
// lacks, with the values that ask for nothing (besides "" and 0).
func unsupportedSettings() map[string][]string {
	return map[string][]string{
		"VAD": nil, "EC": {"1"}, "forceCodec": nil, "opusStereo": nil, "micAmplification": nil,
		"swLevelAdjustment": nil, "headsetSupport": nil, "rport": {"1"}, "dnsSrv": nil, "dnsSrvNs": nil, "STUN": nil,
		"enableSTUN": nil, "usersDirectory": nil, "audioRingDevice": nil, "cmdCallAnswerVideo": nil,
		"autoAnswerCalls": nil, "FWD": nil, "networkChanges": {"1"},
		"featureCodeCP": {"**"}, "featureCodeBT": {"##"}, "featureCodeAT": {"*2"},
		"enableFeatureCodeCP": {"1"}, "enableFeatureCodeBT": nil, "enableFeatureCodeAT": nil,
		// gophone is audio only: video settings are never worth a word.
		"disableVideo": {"*"}, "videoCaptureDevice": {"*"}, "videoCodec": {"*"}, "videoH264": {"*"},
		"videoH263": {"*"}, "videoVP8": {"*"}, "videoVP9": {"*"}, "videoBitrate": {"*"},
		"disableH264": {"*"}, "disableH263": {"*"}, "bitrateH264": {"*"}, "bitrateH263": {"*"},
	}
}

// guiAccount are MicroSIP [AccountN] keys gophone ignores without a word.
func guiAccount() []string {
	return []string{"voicemailNumber", "passwordSize", "id", "rememberPassword"}
}

// unsupportedAccount are MicroSIP [AccountN] keys of features gophone
// lacks, with the values that ask for nothing (besides "" and 0).
func unsupportedAccount() map[string][]string {
	return map[string][]string{
		"publicAddr": nil, "ICE": nil, "publish": nil, "AVPF": nil, "allowRewrite": nil,
		"disableSessionTimer": nil, "hideCID": nil, "dialingPrefix": nil, "dialPlan": nil,
		"STUN": nil, "enableAutoTransfer": nil, "autoTransferExtension": nil,
	}
}

// microsipSections are MicroSIP's sections besides [Settings] and
// [AccountN], N ≥ 1: accepted, their keys ignored.
func microsipSections() []string {
	return []string{"Account0", "Calls", "Dialed", "Contacts", "Shortcuts"}
}

// lookup finds name (any case) in keys.
func lookup(keys []string, name string) (string, bool) {
	for _, k := range keys {
		if strings.EqualFold(k, name) {
			return k, true
		}
	}
	return "", false
}

// lookupInert finds name (any case) in m and reports whether v asks for
// nothing: "", 0, one of the key's inert values, or any value when they
// are "*".
func lookupInert(m map[string][]string, name, v string) (key string, found, inert bool) {
	for k, inertValues := range m {
		if !strings.EqualFold(k, name) {
			continue
		}
		if v == "" || v == "0" {
			return k, true, true
		}
		_, inert = lookup(inertValues, v)
		_, any := lookup(inertValues, "*")
		return k, true, inert || any
	}
	return "", false, false
}

// legacyAutoAnswer maps the numbers MicroSIP wrote for autoAnswer before it
// wrote words.
func legacyAutoAnswer() map[string]string {
	return map[string]string{"0": "", "1": "all", "2": "header"}
}

// legacyDenyIncoming maps the values older MicroSIP versions read.
func legacyDenyIncoming() map[string]string {
	return map[string]string{"rdomain": "remotedomain", "address": "userdomain"}
}

// dtmfMethods maps MicroSIP's DTMFMethod numbers to gophone's words.
func dtmfMethods() map[string]string {
	return map[string]string{"0": "auto", "1": "inband", "2": "rfc4733", "3": "info"}
}

// encryptedPassword reports whether v has the form of a password MicroSIP
// saved encrypted: lower-case hex of whole 8-byte blocks (Bin2String), or,
// from versions before 3.x (with passwordSize), upper-case hex of whole
// blocks and a checksum byte (WritePrivateProfileStruct). A plain password
// of that form is taken for one too; passwordFile or the environment give
// it then.
func encryptedPassword(v string) bool {
	switch {
	case len(v) >= 16 && len(v)%16 == 0:
		return hexDigits(v, "0123456789abcdef")
	case len(v) >= 18 && len(v)%16 == 2:
		return hexDigits(v, "0123456789ABCDEF")
	}
	return false
}

func hexDigits(v, digits string) bool {
	for _, r := range v {
		if !strings.ContainsRune(digits, r) {
			return false
		}
	}
	return true
}
