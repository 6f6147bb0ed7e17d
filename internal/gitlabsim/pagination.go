package gitlabsim

import (
	"fmt"
	"strconv"
	"strings"
)

const (
	defaultPerPage = 20
	maxPerPage     = 100
	// totalsLimit: GitLab omits X-Total and X-Total-Pages above it.
	totalsLimit = 10000
)

// paginate cuts items to the requested page and sets GitLab's offset
// pagination headers (X-Page, X-Per-Page, X-Next-Page, X-Prev-Page,
// X-Total, X-Total-Pages, Link). Every list endpoint goes through it.
func paginate[T any](c *call, items []T) []T {
	page := atoiDefault(c.r.URL.Query().Get("page"), 1)
	if page < 1 {
		page = 1
	}
	perPage := atoiDefault(c.r.URL.Query().Get("per_page"), defaultPerPage)
	if perPage < 1 {
		perPage = defaultPerPage
	}
	perPage = min(perPage, maxPerPage)
	total := len(items)
	totalPages := max((total+perPage-1)/perPage, 1)

	h := c.w.Header()
	h.Set("X-Page", strconv.Itoa(page))
	h.Set("X-Per-Page", strconv.Itoa(perPage))
	h.Set("X-Next-Page", "")
	h.Set("X-Prev-Page", "")
	if page < totalPages {
		h.Set("X-Next-Page", strconv.Itoa(page+1))
	}
	if page > 1 && page <= totalPages+1 {
		h.Set("X-Prev-Page", strconv.Itoa(page-1))
	}
	if total <= totalsLimit {
		h.Set("X-Total", strconv.Itoa(total))
		h.Set("X-Total-Pages", strconv.Itoa(totalPages))
	}
	links := []string{}
	if page < totalPages {
		links = append(links, c.pageLink(page+1, perPage, "next"))
	}
	if page > 1 {
		links = append(links, c.pageLink(page-1, perPage, "prev"))
	}
	links = append(links, c.pageLink(1, perPage, "first"))
	if total <= totalsLimit {
		links = append(links, c.pageLink(totalPages, perPage, "last"))
	}
	h.Set("Link", strings.Join(links, ", "))

	start := (page - 1) * perPage
	if start >= total {
		return []T{}
	}
	return items[start:min(start+perPage, total)]
}

func (c *call) pageLink(page, perPage int, rel string) string {
	q := c.r.URL.Query()
	q.Set("page", strconv.Itoa(page))
	q.Set("per_page", strconv.Itoa(perPage))
	u := c.base + c.r.URL.EscapedPath() + "?" + q.Encode()
	return fmt.Sprintf("<%s>; rel=%q", u, rel)
}

func atoiDefault(s string, def int) int {
	n, err := strconv.Atoi(s)
	if err != nil {
		return def
	}
	return n
}
