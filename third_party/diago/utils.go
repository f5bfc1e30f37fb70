// SPDX-License-Identifier: MPL-2.0
// SPDX-FileCopyrightText: Copyright (c) 2024, Emir Aganovic

package diago

import (
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"strings"
	"sync"

	"github.com/emiago/diago/media"
	"github.com/emiago/sipgo/sip"
	"github.com/pion/rtp"
)

var rtpBufPool = sync.Pool{
	New: func() any {
		return make([]byte, media.RTPBufSize)
	},
}

func copyWithBuf(reader io.Reader, writer io.Writer, payloadBuf []byte) (int64, error) {
	return media.CopyWithBuf(reader, writer, payloadBuf)
}

func closeAndLog(closer io.Closer, msg string) {
	if err := closer.Close(); err != nil {
		slog.Error(msg, "error", err)
	}
}

type rtpWriterBuffer struct {
	buf []*rtp.Packet
}

func newRTPWriterBuffer() *rtpWriterBuffer {
	return &rtpWriterBuffer{
		buf: make([]*rtp.Packet, 0, 1000),
	}
}

func (w *rtpWriterBuffer) WriteRTP(p *rtp.Packet) error {
	w.buf = append(w.buf, p)
	return nil
}

type loggingTransport struct{}

func (s *loggingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	bytes, _ := httputil.DumpRequestOut(r, false)

	resp, err := http.DefaultTransport.RoundTrip(r)
	// err is returned after dumping the response

	respBytes, _ := httputil.DumpResponse(resp, false)
	bytes = append(bytes, respBytes...)

	slog.Debug(fmt.Sprintf("HTTP Debug:\n%s\n", bytes))

	return resp, err
}

func uri2Header(uri sip.Uri) string {
	buf := &strings.Builder{}
	buf.WriteString("<")
	uri.StringWrite(buf)
	buf.WriteString(">")
	return buf.String()
}

// LocalIPToward (gophone) returns the local address the host's routes
// send from to reach host (an IP, with or without a port), or nil. It
// connects a UDP socket, which sends nothing.
func LocalIPToward(host string) net.IP {
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	ip := net.ParseIP(host)
	if ip == nil || ip.IsUnspecified() {
		return nil
	}
	c, err := net.DialUDP("udp", nil, &net.UDPAddr{IP: ip, Port: 9})
	if err != nil {
		return nil
	}
	defer c.Close()
	local := c.LocalAddr().(*net.UDPAddr).IP
	if ip4 := local.To4(); ip4 != nil {
		return ip4
	}
	return local
}
