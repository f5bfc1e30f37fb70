// Command benchdrive places outgoing calls on a user agent under test at a
// fixed rate, through its control interface: gophone's control socket
// (CallTo), gophone's HTTP API (POST /v1/callto, the same command) or
// baresip's ctrl_tcp (dial). For every request it writes one
// line "SEQ SEND_UNIX_NS REPLY_UNIX_NS OK" to -out, so that the bench can
// match each request with the INVITE it caused in a packet capture (both
// clocks are CLOCK_REALTIME on the same machine).
//
// It is part of bench/ and is not used by the daemon.
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/gophone/gophone/internal/command"
	"github.com/gophone/gophone/internal/control"
	"github.com/gophone/gophone/internal/testutil"
)

type result struct {
	seq        int
	sent, done time.Time
	ok         bool
}

func main() {
	backend := flag.String("backend", "gophone", "gophone, gophone-http or baresip")
	sock := flag.String("sock", "", "gophone control socket")
	httpAddr := flag.String("http", "", "gophone HTTP API address host:port")
	tokenFile := flag.String("token", "", "file holding gophone's API token")
	ctrl := flag.String("ctrl", "", "baresip ctrl_tcp address host:port")
	target := flag.String("target", "", "URI to call")
	rate := flag.Float64("rate", 10, "requests per second")
	n := flag.Int("n", 10, "number of requests")
	out := flag.String("out", "", "per-request log file")
	flag.Parse()
	if *target == "" || *out == "" {
		fmt.Fprintln(os.Stderr, "benchdrive: -target and -out are required")
		os.Exit(2)
	}

	var do func(ctx context.Context, seq int) bool
	switch *backend {
	case "gophone":
		c, err := control.Dial(context.Background(), *sock)
		if err != nil {
			fmt.Fprintln(os.Stderr, "benchdrive:", err)
			os.Exit(1)
		}
		defer c.Close()
		do = func(ctx context.Context, seq int) bool {
			resp, err := c.Do(ctx, command.Request{Command: "CallTo", Args: command.Args{"number": *target}})
			if err != nil || !resp.OK {
				if seq < 3 {
					fmt.Fprintf(os.Stderr, "benchdrive: CallTo: %v %+v\n", err, resp.Error)
				}
				return false
			}
			return true
		}
	case "gophone-http":
		do = httpCallTo(*httpAddr, *tokenFile, *target)
	case "baresip":
		b, err := testutil.DialBaresipCtrl(*ctrl, nil)
		if err != nil {
			fmt.Fprintln(os.Stderr, "benchdrive:", err)
			os.Exit(1)
		}
		defer b.Close()
		do = func(ctx context.Context, seq int) bool {
			_, err := b.Command(ctx, "dial", *target)
			if err != nil && seq < 3 {
				fmt.Fprintln(os.Stderr, "benchdrive:", err)
			}
			return err == nil
		}
	default:
		fmt.Fprintln(os.Stderr, "benchdrive: unknown backend", *backend)
		os.Exit(2)
	}

	results := make([]result, *n)
	var wg sync.WaitGroup
	interval := time.Duration(float64(time.Second) / *rate)
	start := time.Now()
	for i := 0; i < *n; i++ {
		time.Sleep(time.Until(start.Add(time.Duration(i) * interval))) // pacing
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			r := result{seq: i, sent: time.Now()}
			r.ok = do(ctx, i)
			r.done = time.Now()
			results[i] = r
		}(i)
	}
	wg.Wait()
	f, err := os.Create(*out)
	if err != nil {
		fmt.Fprintln(os.Stderr, "benchdrive:", err)
		os.Exit(1)
	}
	w := bufio.NewWriter(f)
	okN := 0
	for _, r := range results {
		ok := 0
		if r.ok {
			ok = 1
			okN++
		}
		fmt.Fprintf(w, "%d %d %d %d\n", r.seq, r.sent.UnixNano(), r.done.UnixNano(), ok)
	}
	w.Flush()
	f.Close()
	fmt.Printf("%d %d\n", okN, *n)
}

// httpCallTo returns a request function that places a call with POST
// /v1/callto on gophone's HTTP API, over kept-alive connections.
func httpCallTo(addr, tokenFile, target string) func(ctx context.Context, seq int) bool {
	tok, err := os.ReadFile(tokenFile)
	if err != nil {
		fmt.Fprintln(os.Stderr, "benchdrive:", err)
		os.Exit(1)
	}
	auth := "Bearer " + strings.TrimSpace(string(tok))
	body, _ := json.Marshal(map[string]string{"number": target})
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	url := "http://" + addr + "/v1/callto"
	// One request first, so that the measured ones find a connection.
	warm, _ := http.NewRequest(http.MethodGet, "http://"+addr+"/v1/status", nil)
	warm.Header.Set("Authorization", auth)
	if resp, err := client.Do(warm); err == nil {
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	return func(ctx context.Context, seq int) bool {
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
		req.Header.Set("Authorization", auth)
		resp, err := client.Do(req)
		if err != nil {
			if seq < 3 {
				fmt.Fprintln(os.Stderr, "benchdrive: POST /v1/callto:", err)
			}
			return false
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			if seq < 3 {
				fmt.Fprintf(os.Stderr, "benchdrive: POST /v1/callto: %s %s\n", resp.Status, b)
			}
			return false
		}
		return true
	}
}
