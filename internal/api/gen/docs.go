package main

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"reflect"
	"strings"
)

// docs are the doc comments of types and struct fields, by
// "importpath.Type" and "importpath.Type.Field": the descriptions of the
// schemas, so that the Go comment is the one place a field is explained.
type docs map[string]string

// of is the comment of t's field (or of t when field is "").
func (d docs) of(t reflect.Type, field string) string {
	name, _, _ := strings.Cut(t.Name(), "[") // Page[X]'s comments are Page's
	key := t.PkgPath() + "." + name
	if field != "" {
		key += "." + field
	}
	return d[key]
}

// parseDocs reads the comments of the Go files (tests aside) in dir, the
// source of the package importPath.
func parseDocs(d docs, dir, importPath string) (types []string, err error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	fset := token.NewFileSet()
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || !strings.HasSuffix(name, ".go") || strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, filepath.Join(dir, name), nil, parser.ParseComments)
		if err != nil {
			return nil, fmt.Errorf("parse %s: %w", name, err)
		}
		for _, decl := range f.Decls {
			gd, ok := decl.(*ast.GenDecl)
			if !ok || gd.Tok != token.TYPE {
				continue
			}
			for _, spec := range gd.Specs {
				ts := spec.(*ast.TypeSpec)
				st, ok := ts.Type.(*ast.StructType)
				if !ok || !ts.Name.IsExported() {
					continue
				}
				if ts.TypeParams == nil {
					types = append(types, ts.Name.Name)
				}
				key := importPath + "." + ts.Name.Name
				d[key] = text(ts.Doc, gd.Doc)
				for _, f := range st.Fields.List {
					for _, n := range f.Names {
						d[key+"."+n.Name] = text(f.Doc, f.Comment)
					}
				}
			}
		}
	}
	return types, nil
}

// text is the first non-empty comment group as one line.
func text(groups ...*ast.CommentGroup) string {
	for _, g := range groups {
		if t := strings.Join(strings.Fields(g.Text()), " "); t != "" {
			return t
		}
	}
	return ""
}
