package httpapi

import (
	"net/http"
	"reflect"
	"strings"
	"time"

	"github.com/gophone/gophone/internal/command"
	"github.com/gophone/gophone/internal/events"
)

const openAPIPath = "/v1/openapi.json"

// durationPattern is the shape of a Duration parameter (Go's
// time.ParseDuration, non-negative).
const durationPattern = `^([0-9]+(\.[0-9]*)?|\.[0-9]+)(ns|us|µs|ms|s|m|h)(([0-9]+(\.[0-9]*)?|\.[0-9]+)(ns|us|µs|ms|s|m|h))*$|^0$`

type obj = map[string]any

// openAPI returns the OpenAPI 3.1 document of the API, generated from the
// command table.
func (s *Server) openAPI() obj {
	paths := obj{}
	op := func(path, method string, o obj) {
		p, _ := paths[path].(obj)
		if p == nil {
			p = obj{}
			paths[path] = p
		}
		p[strings.ToLower(method)] = o
	}
	names := make([]string, 0, len(s.Commands))
	for _, spec := range s.Commands {
		names = append(names, spec.Name)
		if spec.Route.Path == "" {
			continue
		}
		if spec.Stream {
			op(spec.Route.Path, http.MethodGet, sseOperation(spec))
			op(wsPath(spec), http.MethodGet, wsOperation(spec))
			continue
		}
		op(spec.Route.Path, spec.Route.Method, commandOperation(spec))
	}
	op("/v1/commands/{name}", http.MethodPost, obj{
		"operationId": "command",
		"summary":     "run any command with its arguments",
		"parameters": []obj{{"name": "name", "in": "path", "required": true,
			"description": "command name (case-insensitive)",
			"schema":      obj{"type": "string", "enum": names}}},
		"requestBody": jsonBody(obj{"type": "object", "additionalProperties": false,
			"properties": obj{"args": obj{"type": "object", "description": "the command's arguments by parameter name"}}}, false),
		"responses": replies(),
	})
	op(sessionPath, http.MethodPost, obj{
		"operationId": "signIn",
		"summary":     "start a browser session: sets an HttpOnly, SameSite=Strict session cookie",
		"security":    []obj{{}},
		"requestBody": jsonBody(obj{"type": "object", "additionalProperties": false,
			"properties": obj{"token": obj{"type": "string", "description": "the API token"}}}, false),
		"responses": replies(),
	})
	op(sessionPath, http.MethodDelete, obj{
		"operationId": "signOut", "summary": "end the browser session", "responses": replies(),
	})
	op(openAPIPath, http.MethodGet, obj{
		"operationId": "openAPI", "summary": "this document",
		"responses": obj{"200": obj{"description": "the OpenAPI document",
			"content": obj{"application/json": obj{"schema": obj{"type": "object"}}}}, "401": errorReply()},
	})
	return obj{
		"openapi": "3.1.0",
		"info": obj{"title": "gophone HTTP API", "version": "1",
			"description": "gophone's command table over HTTP (DESIGN §5). Every route needs the API token " +
				"(Authorization: Bearer TOKEN; dataDir/api-token) or a session cookie from POST /v1/session."},
		"paths":    paths,
		"security": []obj{{"bearerAuth": []string{}}, {"sessionCookie": []string{}}},
		"components": obj{
			"securitySchemes": obj{
				"bearerAuth":    obj{"type": "http", "scheme": "bearer"},
				"sessionCookie": obj{"type": "apiKey", "in": "cookie", "name": SessionCookie},
			},
			"schemas": obj{
				"Reply": obj{"type": "object", "required": []string{"ok"},
					"properties": obj{"ok": obj{"const": true}, "result": obj{}}},
				"ErrorReply": obj{"type": "object", "required": []string{"ok", "error"},
					"properties": obj{"ok": obj{"const": false}, "error": obj{
						"type": "object", "required": []string{"code", "message"},
						"properties": obj{
							"code":    obj{"type": "string", "enum": command.Codes()},
							"message": obj{"type": "string"},
						}}}},
				"Event": eventSchema(),
			},
		},
	}
}

// commandOperation describes spec on its own route: path wildcards as
// path parameters; the rest as query parameters (GET) or a flat JSON body.
func commandOperation(spec command.Spec) obj {
	inPath := map[string]bool{}
	var params []obj
	for _, name := range wildcards(spec.Route.Path) {
		inPath[name] = true
		p, _ := spec.Param(name)
		params = append(params, obj{"name": name, "in": "path", "required": true,
			"description": p.Help, "schema": paramSchema(p)})
	}
	o := obj{"operationId": spec.Name, "summary": spec.Help, "responses": replies()}
	props, required := obj{}, []string{}
	for _, p := range spec.Params {
		if inPath[p.Name] {
			continue
		}
		if spec.Route.Method == http.MethodGet {
			params = append(params, obj{"name": p.Name, "in": "query", "required": p.Required,
				"description": p.Help, "schema": paramSchema(p)})
			continue
		}
		props[p.Name] = paramSchema(p)
		if p.Required {
			required = append(required, p.Name)
		}
	}
	if params != nil {
		o["parameters"] = params
	}
	if spec.Route.Method != http.MethodGet {
		body := obj{"type": "object", "additionalProperties": false, "properties": props}
		if len(required) > 0 {
			body["required"] = required
		}
		o["requestBody"] = jsonBody(body, len(required) > 0)
	}
	return o
}

func paramSchema(p command.Param) obj {
	sc := obj{}
	if p.Help != "" {
		sc["description"] = p.Help
	}
	switch p.Kind {
	case command.Int:
		sc["type"] = "integer"
		if p.Max > 0 {
			sc["minimum"], sc["maximum"] = p.Min, p.Max
		}
	case command.Bool:
		sc["type"] = "boolean"
	case command.Duration:
		sc["type"], sc["pattern"] = "string", durationPattern
		sc["examples"] = []string{"30s", "1m30s"}
	default:
		sc["type"] = "string"
		if len(p.Enum) > 0 {
			sc["enum"] = p.Enum
		}
	}
	return sc
}

func jsonBody(schema obj, required bool) obj {
	return obj{"required": required, "content": obj{"application/json": obj{"schema": schema}}}
}

func replies() obj {
	return obj{
		"200": obj{"description": "the command's result",
			"content": obj{"application/json": obj{"schema": obj{"$ref": "#/components/schemas/Reply"}}}},
		"4XX": errorReply(),
		"5XX": errorReply(),
	}
}

func errorReply() obj {
	return obj{"description": "an error with a stable code; the status follows from the code (DESIGN §5)",
		"content": obj{"application/json": obj{"schema": obj{"$ref": "#/components/schemas/ErrorReply"}}}}
}

func streamParams(spec command.Spec) []obj {
	var params []obj
	for _, p := range spec.Params {
		params = append(params, obj{"name": p.Name, "in": "query", "description": p.Help, "schema": paramSchema(p)})
	}
	return append(params, obj{"name": "Last-Event-ID", "in": "header",
		"description": "resume after this seq (what the last frame's id said); wins over since",
		"schema":      obj{"type": "string", "pattern": "^[0-9]+$"}})
}

func sseOperation(spec command.Spec) obj {
	return obj{
		"operationId": spec.Name,
		"summary": spec.Help + " as Server-Sent Events: frames `id: SEQ`, `event: TYPE`, `data: EVENT`; " +
			"a gap event (id = its `to`) reports events missed; a comment line every 15 s when idle",
		"parameters": streamParams(spec),
		"responses": obj{
			"200": obj{"description": "the event stream",
				"content": obj{"text/event-stream": obj{"schema": obj{"type": "string",
					"description": "SSE frames whose data is an Event (#/components/schemas/Event)"}}}},
			"4XX": errorReply(),
			"5XX": errorReply(),
		},
	}
}

func wsOperation(spec command.Spec) obj {
	return obj{
		"operationId": spec.Name + "WebSocket",
		"summary": spec.Help + " over WebSocket: one Event object per text message; pings when idle; " +
			"the client sends nothing",
		"parameters": streamParams(spec),
		"responses": obj{
			"101": obj{"description": "switching to WebSocket; messages are Event objects"},
			"4XX": errorReply(),
			"5XX": errorReply(),
		},
	}
}

// eventSchema describes events.Event from its JSON fields.
func eventSchema() obj {
	props := obj{}
	t := reflect.TypeFor[events.Event]()
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "" || name == "-" {
			continue
		}
		props[name] = typeSchema(f.Type)
	}
	return obj{"type": "object", "required": []string{"seq", "time", "type"}, "properties": props}
}

func typeSchema(t reflect.Type) obj {
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == reflect.TypeFor[time.Time]() {
		return obj{"type": "string", "format": "date-time"}
	}
	switch t.Kind() {
	case reflect.Int, reflect.Int64, reflect.Int32, reflect.Uint64, reflect.Uint32, reflect.Uint:
		return obj{"type": "integer"}
	case reflect.Bool:
		return obj{"type": "boolean"}
	default:
		return obj{"type": "string"}
	}
}
