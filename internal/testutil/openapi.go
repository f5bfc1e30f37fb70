package testutil

import (
	"encoding/json"
	"net/http"
	"regexp"
	"sort"
	"strings"
	"testing"
)

// OpenAPIDoc is the part of the API's OpenAPI document tests walk.
type OpenAPIDoc struct {
	OpenAPI    string                                 `json:"openapi"`
	Paths      map[string]map[string]OpenAPIOperation `json:"paths"`
	Components struct {
		SecuritySchemes map[string]struct {
			Type   string `json:"type"`
			Scheme string `json:"scheme"`
		} `json:"securitySchemes"`
	} `json:"components"`
}

// OpenAPIOperation is one method of a path.
type OpenAPIOperation struct {
	OperationID string `json:"operationId"`
	Parameters  []struct {
		Name   string `json:"name"`
		In     string `json:"in"`
		Schema struct {
			Enum []string `json:"enum"`
		} `json:"schema"`
	} `json:"parameters"`
}

// OpenAPI fetches and decodes GET /v1/openapi.json.
func (a *API) OpenAPI(t testing.TB) OpenAPIDoc {
	t.Helper()
	r := a.Do(t, "GET", "/v1/openapi.json", nil)
	if r.Status != http.StatusOK {
		t.Fatalf("GET /v1/openapi.json: %s", r)
	}
	var doc OpenAPIDoc
	if err := json.Unmarshal(r.Body, &doc); err != nil {
		t.Fatal(err)
	}
	return doc
}

// Probe is one operation of the OpenAPI document as a request that does
// nothing: wildcards filled (an enum's first value, else "walk") and an
// argument no command has (zz_walk), so that a command's route answers
// 400 bad_args from the table's validation without running it.
type Probe struct {
	Method, Path string // Path is concrete
	Pattern      string // the document's path
	Body         any
	// Want is the status the probe gets with a valid token.
	Want int
}

// Probes returns a probe for every operation of doc, sorted by path.
func (doc OpenAPIDoc) Probes() []Probe {
	wildcard := regexp.MustCompile(`\{([a-z]+)\}`)
	var probes []Probe
	for path, methods := range doc.Paths {
		for method, op := range methods {
			filled := wildcard.ReplaceAllStringFunc(path, func(w string) string {
				for _, p := range op.Parameters {
					if p.In == "path" && "{"+p.Name+"}" == w && len(p.Schema.Enum) > 0 {
						return p.Schema.Enum[0]
					}
				}
				return "walk"
			})
			p := Probe{Method: strings.ToUpper(method), Path: filled, Pattern: path, Want: http.StatusBadRequest}
			switch {
			case path == "/v1/openapi.json", path == "/v1/session" && p.Method == "DELETE":
				p.Want = http.StatusOK
			case path == "/v1/commands/{name}":
				p.Body = map[string]any{"args": map[string]any{"zz_walk": 1}}
			case p.Method == "GET":
				p.Path += "?zz_walk=1"
			default:
				p.Body = map[string]any{"zz_walk": 1}
			}
			probes = append(probes, p)
		}
	}
	sort.Slice(probes, func(i, j int) bool {
		return probes[i].Pattern+probes[i].Method < probes[j].Pattern+probes[j].Method
	})
	return probes
}

// WalkOpenAPI sends every probe of the document without a token, with a
// wrong one, with a foreign Host and with a's token, and reports what does
// not answer 401 (with WWW-Authenticate: Bearer), 401, 403 and the probe's
// Want (never 404 or 405) respectively. It returns the probes.
func (a *API) WalkOpenAPI(t testing.TB) []Probe {
	t.Helper()
	probes := a.OpenAPI(t).Probes()
	noToken, wrong := *a, *a
	noToken.Token, wrong.Token = "", a.Token+"x"
	for _, p := range probes {
		name := p.Method + " " + p.Path
		for who, c := range map[string]*API{"no token": &noToken, "a wrong token": &wrong} {
			r := c.Do(t, p.Method, p.Path, p.Body)
			if r.Status != http.StatusUnauthorized || r.Code() != "unauthorized" ||
				!strings.HasPrefix(r.Header.Get("WWW-Authenticate"), "Bearer") {
				t.Errorf("%s with %s: %s (WWW-Authenticate %q), want 401 unauthorized", name, who, r,
					r.Header.Get("WWW-Authenticate"))
			}
		}
		if r := a.Do(t, p.Method, p.Path, p.Body, "Host", "evil.example"); r.Status != http.StatusForbidden ||
			r.Code() != "forbidden" {
			t.Errorf("%s with Host evil.example: %s, want 403 forbidden", name, r)
		}
		r := a.Do(t, p.Method, p.Path, p.Body)
		if r.Status == http.StatusNotFound || r.Status == http.StatusMethodNotAllowed || r.Status != p.Want {
			t.Errorf("%s with the token: %s, want %d", name, r, p.Want)
		}
	}
	return probes
}
