#!/usr/bin/env python3
"""bench/analyze.py: figures from captures (dumpcap -F pcap on lo), SIPp
stat CSVs and benchdrive logs. Standard library only.

  analyze.py sippstat FILE.csv            -> created success failed
  analyze.py latency  CAP.pcap UAPORT     -> n p50_ms p99_ms (INVITE in -> first 200 out, per Call-ID)
  analyze.py jitter   CAP.pcap MEDIAPORT [SKIP_S] -> streams both_ways p50_ms p99_ms max_ms mean_abs_ms pps_p50 pps_p1
  analyze.py cmdlat   CAP.pcap UAPORT DRIVE.log -> n p50_ms p99_ms
"""
import csv
import struct
import sys


def packets(path):
    """Yields (ts, sport, dport, payload) of the UDP/IPv4 packets in a pcap."""
    with open(path, "rb") as f:
        data = f.read()
    magic = struct.unpack("<I", data[:4])[0]
    if magic == 0xA1B2C3D4:
        endian, scale = "<", 1e-6
    elif magic == 0xA1B23C4D:
        endian, scale = "<", 1e-9
    elif magic == 0xD4C3B2A1:
        endian, scale = ">", 1e-6
    else:
        sys.exit("not a libpcap file (use dumpcap -F pcap): %s" % path)
    linktype = struct.unpack(endian + "I", data[20:24])[0]
    l2 = {1: 14, 113: 16, 276: 20, 0: 4}.get(linktype)
    if l2 is None:
        sys.exit("unsupported link type %d" % linktype)
    off = 24
    hdr = struct.Struct(endian + "IIII")
    n = len(data)
    while off + 16 <= n:
        sec, frac, incl, _ = hdr.unpack_from(data, off)
        off += 16
        pkt = data[off:off + incl]
        off += incl
        ip = pkt[l2:]
        if len(ip) < 28 or ip[0] >> 4 != 4 or ip[9] != 17:
            continue
        ihl = (ip[0] & 15) * 4
        sport, dport = struct.unpack_from("!HH", ip, ihl)
        yield sec + frac * scale, sport, dport, ip[ihl + 8:]


def pct(xs, p):
    if not xs:
        return float("nan")
    xs = sorted(xs)
    k = min(len(xs) - 1, max(0, int(round(p / 100.0 * len(xs) + 0.5)) - 1))
    return xs[k]


def sip_head(payload):
    """(first line, call-id, cseq method) of a SIP message, or None."""
    try:
        text = payload.decode("latin-1")
    except Exception:
        return None
    head = text.split("\r\n\r\n", 1)[0].split("\r\n")
    if not head or not ("SIP/2.0" in head[0]):
        return None
    cid = meth = None
    for line in head[1:]:
        name, _, val = line.partition(":")
        name = name.strip().lower()
        if name in ("call-id", "i"):
            cid = val.strip()
        elif name == "cseq":
            parts = val.split()
            if len(parts) == 2:
                meth = parts[1].upper()
    return head[0], cid, meth


def latency(cap, uaport):
    uaport = int(uaport)
    inv, ok = {}, {}
    for ts, sp, dp, pl in packets(cap):
        if uaport not in (sp, dp):
            continue
        h = sip_head(pl)
        if not h:
            continue
        first, cid, meth = h
        if dp == uaport and first.startswith("INVITE "):
            inv.setdefault(cid, ts)
        elif sp == uaport and first.startswith("SIP/2.0 200") and meth == "INVITE":
            ok.setdefault(cid, ts)
    lat = [(ok[c] - inv[c]) * 1000 for c in ok if c in inv]
    print("%d %.2f %.2f" % (len(lat), pct(lat, 50), pct(lat, 99)))


def jitter(cap, mport, skip="0.5"):
    mport, skip = int(mport), float(skip)
    times, back = {}, set()
    for ts, sp, dp, pl in packets(cap):
        if len(pl) < 12 or pl[0] >> 6 != 2:
            continue
        if dp == mport:
            times.setdefault(sp, []).append(ts)
        elif sp == mport:
            back.add(dp)
    dev = []
    for port, ts in times.items():
        # skip the first SKIP s of each stream (call set-up)
        t0 = ts[0] + skip
        prev = None
        for t in ts:
            if t < t0:
                prev = t
                continue
            if prev is not None:
                dev.append(abs((t - prev) * 1000 - 20.0))
            prev = t
    both = len(set(times) & back)
    mean = sum(dev) / len(dev) if dev else float("nan")
    # packets per second of each stream over the capture: 50 at 20 ms ptime
    lo, hi = min(t[0] for t in times.values()), max(t[-1] for t in times.values())
    rate = sorted(len(t) / (hi - lo) for t in times.values()) if hi > lo else [0]
    print("%d %d %.2f %.2f %.2f %.3f %.1f %.1f" % (len(times), both, pct(dev, 50), pct(dev, 99),
                                                   max(dev) if dev else float("nan"), mean,
                                                   pct(rate, 50), pct(rate, 1)))


def cmdlat(cap, uaport, drive):
    uaport = int(uaport)
    seen, invites = set(), []
    for ts, sp, dp, pl in packets(cap):
        if sp != uaport:
            continue
        h = sip_head(pl)
        if h and h[0].startswith("INVITE ") and h[1] not in seen:
            seen.add(h[1])
            invites.append(ts)
    sends = []
    with open(drive) as f:
        for line in f:
            seq, sent, done, ok = line.split()
            if ok == "1":
                sends.append(int(sent) / 1e9)
    sends.sort()
    invites.sort()
    lat = []
    # pair each request with the first new INVITE after it
    j = 0
    for s in sends:
        while j < len(invites) and invites[j] < s:
            j += 1
        if j == len(invites):
            break
        lat.append((invites[j] - s) * 1000)
        j += 1
    print("%d %.2f %.2f" % (len(lat), pct(lat, 50), pct(lat, 99)))


def sippstat(path):
    with open(path) as f:
        rows = list(csv.reader(f, delimiter=";"))
    if len(rows) < 2:
        print("0 0 0")
        return
    h, last = rows[0], rows[-1]
    col = lambda name: int(last[h.index(name)])
    print(col("TotalCallCreated"), col("SuccessfulCall(C)"), col("FailedCall(C)"))


if __name__ == "__main__":
    cmd, args = sys.argv[1], sys.argv[2:]
    {"latency": latency, "jitter": jitter, "cmdlat": cmdlat, "sippstat": sippstat}[cmd](*args)
