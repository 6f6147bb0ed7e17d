package main

import (
	"bytes"
	"os"
	"testing"
)

// TestDocumentIsGenerated fails when openapi.json's schemas and the api
// types differ: one was edited without the other.
func TestDocumentIsGenerated(t *testing.T) {
	t.Parallel()
	doc, err := os.ReadFile("../openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	want, err := generate(doc, "..")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(doc, want) {
		t.Fatal("internal/api/openapi.json is not what the api types generate: run `go generate ./internal/api` and commit the result")
	}
}
