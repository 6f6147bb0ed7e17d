package policy

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode"
)

// Bounds of what an evaluation takes in and what it leaves behind.
const (
	// MaxRecordedInput is how much of an input an evaluation record keeps.
	MaxRecordedInput = 256 << 10
	// maxMessages and maxMessageBytes bound what one policy may say: it
	// ends up in the delivery log, the run's error and GitLab.
	maxMessages     = 20
	maxMessageBytes = 1 << 10
)

// DecodeInput reads an input document: one JSON object, numbers kept
// exact.
func DecodeInput(b []byte) (map[string]any, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v map[string]any
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("not a JSON object: %w", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, errors.New("more than one JSON value")
	}
	if v == nil {
		return nil, errors.New("not a JSON object")
	}
	return v, nil
}

// toValue turns a Go value into the JSON-typed value OPA evaluates, through
// encoding/json, so that struct tags name the fields policies see.
func toValue(v any) (map[string]any, []byte, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, nil, fmt.Errorf("encode policy input: %w", err)
	}
	m, err := DecodeInput(b)
	return m, b, err
}

// recorded is the input as an evaluation keeps it: as given, or a note of
// its size when larger than MaxRecordedInput.
func recorded(b []byte) json.RawMessage {
	if len(b) <= MaxRecordedInput {
		return json.RawMessage(b)
	}
	return json.RawMessage(fmt.Sprintf(`{"truncated":true,"bytes":%d}`, len(b)))
}

// messages reads a rule that is a set of strings (message, deny, warn):
// strings kept, other values rendered as JSON, each cut to maxMessageBytes
// and stripped of control characters, at most maxMessages.
func messages(doc map[string]any, rule string) []string {
	vals, _ := doc[rule].([]any)
	out := make([]string, 0, min(len(vals), maxMessages))
	for _, v := range vals {
		if len(out) == maxMessages {
			out = append(out, fmt.Sprintf("… and %d more", len(vals)-maxMessages))
			break
		}
		s, ok := v.(string)
		if !ok {
			b, _ := json.Marshal(v)
			s = string(b)
		}
		out = append(out, cleanMessage(s))
	}
	return out
}

func cleanMessage(s string) string {
	s = strings.Map(func(r rune) rune {
		if r == '\n' || r == '\t' {
			return ' '
		}
		if unicode.IsControl(r) {
			return -1
		}
		return r
	}, s)
	if len(s) > maxMessageBytes {
		cut := maxMessageBytes
		for cut > 0 && !utf8Start(s[cut]) {
			cut--
		}
		s = s[:cut] + "…"
	}
	return s
}

func utf8Start(b byte) bool { return b&0xC0 != 0x80 }

// boolRule reads a boolean rule; anything but true is false.
func boolRule(doc map[string]any, rule string) bool {
	b, _ := doc[rule].(bool)
	return b
}
