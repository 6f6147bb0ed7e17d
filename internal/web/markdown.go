package web

import (
	"bytes"
	"html/template"

	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/extension"
)

// md renders descriptions. goldmark without html.WithUnsafe drops raw HTML
// and refuses javascript:, vbscript:, file: and data: (non-image) links,
// which is what SPEC §2.1's "rendered safely" needs from user markdown.
var md = goldmark.New(goldmark.WithExtensions(extension.Linkify, extension.Strikethrough, extension.Table))

// renderMarkdown turns user markdown into sanitised HTML.
func renderMarkdown(src string) template.HTML {
	var buf bytes.Buffer
	if err := md.Convert([]byte(src), &buf); err != nil {
		return template.HTML(template.HTMLEscapeString(src))
	}
	return template.HTML(buf.String()) //nolint:gosec // goldmark's safe mode output, see md
}
