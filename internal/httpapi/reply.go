package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/gophone/gophone/internal/command"
)

// writeReply writes resp as the control socket does, with the HTTP status
// of its error code (command.HTTPStatus).
func writeReply(w http.ResponseWriter, resp command.Response) {
	code := ""
	if !resp.OK {
		code = command.CodeInternal
		if resp.Error != nil {
			code = resp.Error.Code
		}
	}
	writeJSON(w, command.HTTPStatus(code), resp)
}

func writeError(w http.ResponseWriter, err *command.Error) {
	writeReply(w, command.Response{Error: err})
}

// writeJSON writes v as a JSON body with the given status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		status = http.StatusInternalServerError
		body, _ = json.Marshal(command.Response{Error: command.Errorf(command.CodeInternal,
			"encoding result: %v", err)})
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	w.Write(append(body, '\n'))
}

// decodeBody reads r's JSON body (at most MaxBodySize) into v; unknown
// fields, trailing data and anything but one object are bad_request. An
// empty body leaves v as it is.
func decodeBody(w http.ResponseWriter, r *http.Request, v any) *command.Error {
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBodySize))
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return command.Errorf(command.CodeBadRequest, "request body larger than %d bytes", MaxBodySize)
		}
		return command.Errorf(command.CodeBadRequest, "reading request body: %v", err)
	}
	if len(bytes.TrimSpace(b)) == 0 {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if b = bytes.TrimSpace(b); b[0] != '{' {
		return command.Errorf(command.CodeBadRequest, "request body must be a JSON object")
	}
	if err := dec.Decode(v); err != nil {
		return command.Errorf(command.CodeBadRequest, "malformed request body: %v", err)
	}
	if dec.More() {
		return command.Errorf(command.CodeBadRequest, "request body holds more than one JSON value")
	}
	return nil
}

// routeArgs reads a command's arguments from its own route: the path's
// {wildcards}, the query string, and a JSON object body (not for GET).
// Text from the path and the query is typed by the parameter's kind
// (command.Param.ParseString); a query parameter of kind Bool without a
// value is true. An argument given twice is bad_args; what the command
// does not know is left for Validate to report.
func routeArgs(w http.ResponseWriter, r *http.Request, spec command.Spec) (command.Args, *command.Error) {
	args := command.Args{}
	set := func(name string, v any) *command.Error {
		if _, dup := args[name]; dup {
			return command.Errorf(command.CodeBadArgs, "%s: %s given twice", spec.Name, name)
		}
		args[name] = v
		return nil
	}
	setText := func(name, text string) *command.Error {
		p, ok := spec.Param(name)
		if !ok || p.Name != name {
			return set(name, text)
		}
		if p.Kind == command.Bool && text == "" {
			return set(name, true)
		}
		v, err := p.ParseString(text)
		if err != nil {
			return command.Errorf(command.CodeBadArgs, "%s: %s %s", spec.Name, name, err.Message)
		}
		return set(name, v)
	}
	for _, name := range wildcards(spec.Route.Path) {
		if err := setText(name, r.PathValue(name)); err != nil {
			return args, err
		}
	}
	for name, vals := range r.URL.Query() {
		if len(vals) > 1 {
			return args, command.Errorf(command.CodeBadArgs, "%s: %s given twice", spec.Name, name)
		}
		if err := setText(name, vals[0]); err != nil {
			return args, err
		}
	}
	if r.Method == http.MethodGet || r.Method == http.MethodHead {
		return args, nil
	}
	var body map[string]any
	if err := decodeBody(w, r, &body); err != nil {
		return args, err
	}
	for name, v := range body {
		if err := set(name, v); err != nil {
			return args, err
		}
	}
	return args, nil
}

// wildcards returns the names of a route path's {wildcards}, in order.
func wildcards(path string) []string {
	var names []string
	for _, seg := range strings.Split(path, "/") {
		if strings.HasPrefix(seg, "{") && strings.HasSuffix(seg, "}") {
			names = append(names, strings.TrimSuffix(strings.Trim(seg, "{}"), "..."))
		}
	}
	return names
}

// routeSet knows the served paths and their methods, to tell a path that
// is not served (404 not_found) from a method it is not served with (405
// method_not_allowed).
type routeSet struct {
	paths map[string][]string // path pattern → methods
	order []string
}

func newRouteSet() *routeSet { return &routeSet{paths: map[string][]string{}} }

func (rs *routeSet) add(method, path string) {
	if _, ok := rs.paths[path]; !ok {
		rs.order = append(rs.order, path)
	}
	rs.paths[path] = append(rs.paths[path], method)
}

// notFound answers a request no route took.
func (rs *routeSet) notFound(w http.ResponseWriter, r *http.Request) {
	for _, p := range rs.order {
		if pathMatches(p, r.URL.Path) {
			methods := rs.paths[p]
			w.Header().Set("Allow", strings.Join(methods, ", "))
			writeError(w, command.Errorf(command.CodeMethodNotAllowed, "%s %s: allowed: %s",
				r.Method, r.URL.Path, strings.Join(methods, ", ")))
			return
		}
	}
	writeError(w, command.Errorf(command.CodeNotFound, "no route %s %s; see %s", r.Method, r.URL.Path, openAPIPath))
}

// pathMatches reports whether path matches pattern, whose {wildcards}
// each match one non-empty segment.
func pathMatches(pattern, path string) bool {
	ps, ss := strings.Split(pattern, "/"), strings.Split(path, "/")
	if len(ps) != len(ss) {
		return false
	}
	for i, p := range ps {
		if strings.HasPrefix(p, "{") {
			if ss[i] == "" {
				return false
			}
		} else if p != ss[i] {
			return false
		}
	}
	return true
}

// parseSeq reads a resume point: a non-negative decimal event seq.
func parseSeq(s string) (uint64, bool) {
	n, err := strconv.ParseUint(strings.TrimSpace(s), 10, 64)
	return n, err == nil
}
