package httpapi_test

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/gophone/gophone/internal/daemon"
	"github.com/gophone/gophone/internal/httpapi"
)

// oasSchema is the OpenAPI Initiative's JSON Schema of OpenAPI 3.1
// documents (https://spec.openapis.org/oas/3.1/schema/2022-10-07).
const oasSchema = "testdata/oas-3.1-schema-2022-10-07.json"

// The document generated from gophone's command table is a valid OpenAPI
// 3.1 document, and each schema in it compiles as a JSON Schema 2020-12
// (the dialect OpenAPI 3.1 uses).
func TestOpenAPIDocumentValid(t *testing.T) {
	srv := &httpapi.Server{Commands: daemon.Specs(), Token: "t"}
	h := srv.Handler("127.0.0.1:6060")
	req := httptest.NewRequest("GET", "http://127.0.0.1:6060/v1/openapi.json", nil)
	req.Header.Set("Authorization", "Bearer t")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK {
		t.Fatalf("GET /v1/openapi.json: %d %s", rec.Code, rec.Body)
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(rec.Body.Bytes()))
	if err != nil {
		t.Fatal(err)
	}

	c := jsonschema.NewCompiler()
	sch, err := c.Compile(oasSchema)
	if err != nil {
		t.Fatal(err)
	}
	if err := sch.Validate(doc); err != nil {
		t.Errorf("not a valid OpenAPI 3.1 document: %v", err)
	}

	ptrs := schemaPointers(doc, "")
	for _, ptr := range ptrs {
		c := jsonschema.NewCompiler()
		c.DefaultDraft(jsonschema.Draft2020)
		if err := c.AddResource("mem:doc.json", doc); err != nil {
			t.Fatal(err)
		}
		if _, err := c.Compile("mem:doc.json#" + ptr); err != nil {
			t.Errorf("schema at %s: %v", ptr, err)
		}
	}
	if len(ptrs) < 50 {
		t.Errorf("only %d schemas in the document", len(ptrs))
	}
}

// schemaPointers returns the JSON pointers of the schema objects in an
// OpenAPI document: every "schema" value and every components.schemas
// entry.
func schemaPointers(v any, at string) []string {
	var ptrs []string
	switch x := v.(type) {
	case map[string]any:
		for k, sub := range x {
			p := at + "/" + strings.NewReplacer("~", "~0", "/", "~1").Replace(k)
			switch {
			case k == "schema":
				ptrs = append(ptrs, p)
			case at == "/components/schemas":
				ptrs = append(ptrs, p)
			default:
				ptrs = append(ptrs, schemaPointers(sub, p)...)
			}
		}
	case []any:
		for i, sub := range x {
			ptrs = append(ptrs, schemaPointers(sub, at+"/"+strconv.Itoa(i))...)
		}
	}
	return ptrs
}
