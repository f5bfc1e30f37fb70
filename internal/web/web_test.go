package web

import (
	"io/fs"
	"net/http"
	"net/http/httptest"
	"path"
	"regexp"
	"strings"
	"testing"
)

func TestHandler(t *testing.T) {
	h := Handler()
	tests := []struct {
		method, path string
		header       map[string]string
		code         int
		ctype        string
		contains     string
	}{
		{"GET", "/", nil, 200, "text/html", `<script type="module" src="app.js">`},
		{"HEAD", "/", nil, 200, "text/html", ""},
		{"GET", "/app.js", nil, 200, "text/javascript", "connectEvents"},
		{"GET", "/api.js", nil, 200, "text/javascript", "/v1/session"},
		{"GET", "/events.js", nil, 200, "text/javascript", "EventSource"},
		{"GET", "/style.css", nil, 200, "text/css", ":root"},
		{"GET", "/index.html", nil, 404, "", ""},
		{"GET", "/nope.js", nil, 404, "", ""},
		{"GET", "/static/app.js", nil, 404, "", ""},
		{"POST", "/", nil, 405, "", ""},
		{"DELETE", "/app.js", nil, 405, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			req := httptest.NewRequest(tt.method, tt.path, nil)
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != tt.code {
				t.Fatalf("status %d, want %d", rec.Code, tt.code)
			}
			if tt.code != 200 {
				return
			}
			if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, tt.ctype) {
				t.Errorf("Content-Type %q, want %s", ct, tt.ctype)
			}
			csp := rec.Header().Get("Content-Security-Policy")
			for _, want := range []string{"script-src 'self'", "frame-ancestors 'none'", "connect-src 'self'"} {
				if !strings.Contains(csp, want) {
					t.Errorf("CSP %q lacks %q", csp, want)
				}
			}
			if rec.Header().Get("X-Content-Type-Options") != "nosniff" {
				t.Error("no X-Content-Type-Options: nosniff")
			}
			if !strings.Contains(rec.Body.String(), tt.contains) {
				t.Errorf("body lacks %q", tt.contains)
			}
		})
	}
}

// An unchanged asset is answered 304 to a browser that has it.
func TestHandlerETag(t *testing.T) {
	h := Handler()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/app.js", nil))
	etag := rec.Header().Get("ETag")
	if etag == "" {
		t.Fatal("no ETag")
	}
	req := httptest.NewRequest("GET", "/app.js", nil)
	req.Header.Set("If-None-Match", etag)
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusNotModified {
		t.Fatalf("status %d with If-None-Match, want 304", rec.Code)
	}
}

// Nothing is fetched from elsewhere at run time: no asset names a URL with
// a scheme or a protocol-relative one in src, href, import or url().
func TestAssetsAreSelfContained(t *testing.T) {
	external := regexp.MustCompile(`(?i)(src|href|action)\s*=\s*["']?(https?:|//)|import\s[^;]*["'](https?:|//)|url\(\s*["']?(https?:|//)|@import`)
	err := fs.WalkDir(static, "static", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(static, p)
		if err != nil {
			return err
		}
		if m := external.Find(b); m != nil {
			t.Errorf("%s loads something from elsewhere: %s", p, m)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestEveryAssetHasAType: each embedded file's extension is in
// contentTypes, so none is served as application/octet-stream.
func TestEveryAssetHasAType(t *testing.T) {
	err := fs.WalkDir(static, "static", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		if _, ok := contentTypes[path.Ext(p)]; !ok {
			t.Errorf("%s: no content type for %q", p, path.Ext(p))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
