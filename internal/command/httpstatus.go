package command

import (
	"net/http"
	"sort"
)

// Error codes of the front ends themselves, besides the commands' own.
const (
	// CodeBadRequest: a request that is not a valid request at all
	// (malformed JSON, no command, too large).
	CodeBadRequest = "bad_request"
	// CodeUnauthorized: no valid API token or session (HTTP).
	CodeUnauthorized = "unauthorized"
	// CodeForbidden: a Host header that is not the listen address or a
	// loopback name (HTTP; DNS rebinding).
	CodeForbidden = "forbidden"
	// CodeNotFound: no route for the path (HTTP).
	CodeNotFound = "not_found"
	// CodeMethodNotAllowed: a route for the path, but not for the method
	// (HTTP).
	CodeMethodNotAllowed = "method_not_allowed"
)

// httpStatus maps every error code to the HTTP status it is served with.
var httpStatus = map[string]int{
	CodeBadArgs:          http.StatusBadRequest,
	CodeBadRequest:       http.StatusBadRequest,
	CodeUnauthorized:     http.StatusUnauthorized,
	CodeForbidden:        http.StatusForbidden,
	CodeNotFound:         http.StatusNotFound,
	CodeMethodNotAllowed: http.StatusMethodNotAllowed,
	CodeUnknownCommand:   http.StatusNotFound,
	CodeNoSuchCall:       http.StatusNotFound,
	CodeNoSuchAccount:    http.StatusNotFound,
	CodeNoSuchDevice:     http.StatusNotFound,
	CodeWrongState:       http.StatusConflict,
	CodeNoActiveCall:     http.StatusConflict,
	CodeNoRingingCall:    http.StatusConflict,
	CodeBusy:             http.StatusConflict,
	CodeUnsupported:      http.StatusUnprocessableEntity,
	CodeSIPError:         http.StatusBadGateway,
	CodeUnavailable:      http.StatusServiceUnavailable,
	CodeNotRunning:       http.StatusServiceUnavailable,
	CodeTimeout:          http.StatusGatewayTimeout,
	CodeInternal:         http.StatusInternalServerError,
}

// HTTPStatus returns the HTTP status of a reply with the given error code:
// 200 for "" (success), 500 for a code it does not know. It is the one
// place front ends that speak HTTP status codes (the HTTP API, and MQTT's
// reply properties) take them from; DESIGN §5 lists the map.
func HTTPStatus(code string) int {
	if code == "" {
		return http.StatusOK
	}
	if s, ok := httpStatus[code]; ok {
		return s
	}
	return http.StatusInternalServerError
}

// Codes returns every error code HTTPStatus knows, sorted.
func Codes() []string {
	codes := make([]string, 0, len(httpStatus))
	for c := range httpStatus {
		codes = append(codes, c)
	}
	sort.Strings(codes)
	return codes
}
