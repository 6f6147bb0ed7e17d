package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"time"
)

// schema is the part of JSON Schema 2020-12 (OpenAPI 3.1) that the walker
// writes; the field order is the order in the document.
type schema struct {
	Ref                  string     `json:"$ref,omitempty"`
	Type                 any        `json:"type,omitempty"` // a string, or [type, "null"]
	Format               string     `json:"format,omitempty"`
	ContentEncoding      string     `json:"contentEncoding,omitempty"`
	Description          string     `json:"description,omitempty"`
	Enum                 []any      `json:"enum,omitempty"`
	AnyOf                []*schema  `json:"anyOf,omitempty"`
	Required             []string   `json:"required,omitempty"`
	Properties           properties `json:"properties,omitzero"`
	AdditionalProperties any        `json:"additionalProperties,omitempty"` // false or a *schema
	Items                *schema    `json:"items,omitempty"`
}

// property is one property of an object schema.
type property struct {
	name   string
	schema *schema
}

// properties keeps the Go field order, which reads better than sorted.
type properties []property

func (ps properties) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, p := range ps {
		if i > 0 {
			b.WriteByte(',')
		}
		name, err := json.Marshal(p.name)
		if err != nil {
			return nil, err
		}
		val, err := marshal(p.schema)
		if err != nil {
			return nil, err
		}
		b.Write(name)
		b.WriteByte(':')
		b.Write(val)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// marshal is json.Marshal without HTML escaping: descriptions hold <id>.
func marshal(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}

var (
	timeType = reflect.TypeFor[time.Time]()
	rawType  = reflect.TypeFor[json.RawMessage]()
)

// walker turns Go types into component schemas. Rules (docs/design/api.md):
// a named struct is a component referenced by $ref; a field without
// omitempty or omitzero is required; a pointer is nullable; objects allow
// no other properties; the enum and format tags add what Go cannot say.
type walker struct {
	docs    docs
	schemas map[string]*schema
	names   map[reflect.Type]string
}

func newWalker(d docs) *walker {
	return &walker{docs: d, schemas: map[string]*schema{}, names: map[reflect.Type]string{}}
}

// component adds t's schema (and those it references) to w.schemas.
func (w *walker) component(t reflect.Type) error {
	if t.Kind() != reflect.Struct {
		return fmt.Errorf("%s: components are structs", t)
	}
	_, err := w.ref(t)
	return err
}

// ref is the $ref schema of the named struct t, walking t the first time.
func (w *walker) ref(t reflect.Type) (*schema, error) {
	name, seen := w.names[t]
	if !seen {
		name = componentName(t)
		for other, n := range w.names {
			if n == name {
				return nil, fmt.Errorf("%s and %s would both be the schema %s", t, other, name)
			}
		}
		w.names[t] = name
		s, err := w.object(t)
		if err != nil {
			return nil, err
		}
		w.schemas[name] = s
	}
	return &schema{Ref: "#/components/schemas/" + name}, nil
}

// componentName is the type's name; an instance of a generic type is named
// after its argument: Page[api.Space] is SpacePage.
func componentName(t reflect.Type) string {
	name := t.Name()
	base, arg, generic := strings.Cut(name, "[")
	if !generic {
		return name
	}
	arg = strings.TrimSuffix(arg, "]")
	return arg[strings.LastIndex(arg, ".")+1:] + base
}

func (w *walker) object(t reflect.Type) (*schema, error) {
	s := &schema{Type: "object", Description: w.docs.of(t, ""), AdditionalProperties: false}
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		if f.Anonymous {
			return nil, fmt.Errorf("%s.%s: embedded fields are not supported", t, f.Name)
		}
		name, opts, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" {
			continue
		}
		if name == "" {
			return nil, fmt.Errorf("%s.%s: no json name", t, f.Name)
		}
		fs, err := w.field(f)
		if err != nil {
			return nil, fmt.Errorf("%s.%s: %w", t, f.Name, err)
		}
		if d := w.docs.of(t, f.Name); d != "" {
			fs.Description = d
		}
		s.Properties = append(s.Properties, property{name, fs})
		if !hasOpt(opts, "omitempty") && !hasOpt(opts, "omitzero") {
			s.Required = append(s.Required, name)
		}
	}
	return s, nil
}

func hasOpt(opts, want string) bool {
	for o := range strings.SplitSeq(opts, ",") {
		if o == want {
			return true
		}
	}
	return false
}

// field is the schema of a struct field: its type's, with the enum and
// format tags applied, made nullable for a pointer.
func (w *walker) field(f reflect.StructField) (*schema, error) {
	t, nullable := f.Type, false
	if t.Kind() == reflect.Pointer {
		t, nullable = t.Elem(), true
	}
	s, err := w.typ(t)
	if err != nil {
		return nil, err
	}
	if e := f.Tag.Get("enum"); e != "" {
		if s.Type != "string" {
			return nil, fmt.Errorf("enum tag on a %v", s.Type)
		}
		for v := range strings.SplitSeq(e, ",") {
			s.Enum = append(s.Enum, v)
		}
	}
	if fm := f.Tag.Get("format"); fm != "" {
		s.Format = fm
	}
	if !nullable {
		return s, nil
	}
	if s.Ref != "" {
		return &schema{AnyOf: []*schema{s, {Type: "null"}}}, nil
	}
	s.Type = []string{s.Type.(string), "null"}
	if s.Enum != nil {
		s.Enum = append(s.Enum, nil)
	}
	return s, nil
}

func (w *walker) typ(t reflect.Type) (*schema, error) {
	switch {
	case t == timeType:
		return &schema{Type: "string", Format: "date-time"}, nil
	case t == rawType:
		return &schema{}, nil // any JSON value
	case t.Kind() == reflect.Slice && t.Elem().Kind() == reflect.Uint8:
		return &schema{Type: "string", ContentEncoding: "base64"}, nil
	}
	switch t.Kind() {
	case reflect.String:
		return &schema{Type: "string"}, nil
	case reflect.Bool:
		return &schema{Type: "boolean"}, nil
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return &schema{Type: "integer"}, nil
	case reflect.Float32, reflect.Float64:
		return &schema{Type: "number"}, nil
	case reflect.Interface:
		return &schema{}, nil
	case reflect.Struct:
		if t.Name() == "" {
			return nil, fmt.Errorf("anonymous struct %s: give it a name", t)
		}
		return w.ref(t)
	case reflect.Slice, reflect.Array:
		items, err := w.typ(t.Elem())
		if err != nil {
			return nil, err
		}
		return &schema{Type: "array", Items: items}, nil
	case reflect.Map:
		if t.Key().Kind() != reflect.String {
			return nil, fmt.Errorf("map key %s: JSON keys are strings", t.Key())
		}
		vals, err := w.typ(t.Elem())
		if err != nil {
			return nil, err
		}
		return &schema{Type: "object", AdditionalProperties: vals}, nil
	}
	return nil, fmt.Errorf("type %s has no JSON schema here", t)
}
