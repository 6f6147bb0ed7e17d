package web

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/hoistdev/hoist/internal/apperr"
	"github.com/hoistdev/hoist/internal/policy"
	"github.com/hoistdev/hoist/internal/webhook"
)

// DeliveryPolicies lists the push policy evaluations of a delivery
// (policy.Service); callers check first that the viewer may see the
// delivery.
type DeliveryPolicies interface {
	DeliveryEvaluations(ctx context.Context, actor, deliveryID, cursor string, limit int) ([]policy.Evaluation, string, error)
}

// Bounds of what the delivery page renders: a delivery may be 25 MiB.
const (
	maxPayloadShown     = 64 << 10 // bytes of the body
	maxIndentedPayload  = 1 << 20  // larger bodies are shown as sent, not re-indented
	maxHeaderShown      = 2 << 10  // bytes of one header's value
	maxDeliveryPolicies = 100      // evaluations (the API pages through more)
)

// deliveryPage is the content of delivery.html.
type deliveryPage struct {
	webhook.Delivery
	IntegrationName string
	Headers         []headerLine // sorted by name; secret ones are never among them
	Payload         string       // the body, indented when it is JSON, cut to maxPayloadShown
	PayloadBytes    int          // the stored body's size
	PayloadCut      bool         // Payload is the beginning only
	Evaluations     []policy.Evaluation
	Policies        bool // the server records policy evaluations
	MoreEvaluations bool // more than maxDeliveryPolicies
}

type headerLine struct {
	Name, Value string
}

// Redeliverable: ignored events have nothing to process (the service
// refuses them too).
func (p deliveryPage) Redeliverable() bool { return p.Status != webhook.Ignored }

// Size is the stored body's size for people.
func (p deliveryPage) Size() string { return byteSize(p.PayloadBytes) }

// Shown is the size of the part of the body shown.
func (p deliveryPage) Shown() string { return byteSize(len(p.Payload)) }

func byteSize(n int) string {
	if n < 1<<10 {
		return strconv.Itoa(n) + " bytes"
	}
	return strconv.FormatFloat(float64(n)/(1<<10), 'f', 1, 64) + " KiB"
}

// Passes are the processings newest first, as a person reads a log.
func (p deliveryPage) Passes() []webhook.Pass {
	out := slices.Clone(p.Processings)
	slices.Reverse(out)
	return out
}

// deliveryDetails is one delivery: its headers and body, and each
// processing with its per-stack decisions, runs and policy evaluations.
// The delivery log decides who may see it (admins of its integration);
// everyone else gets 404, as from the API.
func (u *UI) deliveryDetails(w http.ResponseWriter, r *http.Request) error {
	ctx, p := r.Context(), principal(r)
	d, err := u.cfg.Deliveries.Get(ctx, p, r.PathValue("id"))
	if err != nil {
		return err
	}
	page := deliveryPage{Delivery: d, IntegrationName: d.IntegrationID, Headers: shownHeaders(d.Headers), PayloadBytes: len(d.Body)}
	page.Payload, page.PayloadCut = shownPayload(d.Body)
	if v, err := u.cfg.Integrations.Get(ctx, p, d.IntegrationID); err == nil {
		page.IntegrationName = v.Name
	} else if apperr.CodeOf(err) == apperr.Internal {
		return err
	}
	if u.cfg.DeliveryPolicies != nil {
		page.Policies = true
		evs, next, err := u.cfg.DeliveryPolicies.DeliveryEvaluations(ctx, p, d.ID, "", maxDeliveryPolicies)
		if err != nil {
			return err
		}
		page.Evaluations, page.MoreEvaluations = evs, next != ""
	}
	return u.render(w, r, http.StatusOK, "delivery", view{Title: d.Event + " delivery " + d.ID, Nav: "source-control",
		Flash: deliveryFlashes[r.URL.Query().Get("done")], Content: page})
}

var deliveryFlashes = map[string]string{
	"redelivered": "Redelivery queued: Hoist processes the stored delivery again and lists the new processing below. Runs already made are deduplicated.",
}

// redeliver processes the delivery again from its stored body, as POST
// /api/v1/deliveries/{id}/redeliver does, and comes back to its page.
func (u *UI) redeliver(w http.ResponseWriter, r *http.Request) error {
	d, err := u.cfg.Deliveries.Redeliver(r.Context(), principal(r), r.PathValue("id"))
	if err != nil {
		return err
	}
	http.Redirect(w, r, "/source-control/deliveries/"+url.PathEscape(d.ID)+"?done=redelivered", http.StatusSeeOther)
	return nil
}

// shownHeaders sorts the stored headers, leaves out any secret one (none
// is stored; this holds whatever a row holds) and cuts long values.
func shownHeaders(h map[string]string) []headerLine {
	out := make([]headerLine, 0, len(h))
	for k, v := range h {
		if webhook.SecretHeader(k) {
			continue
		}
		if len(v) > maxHeaderShown {
			v = cutUTF8(v, maxHeaderShown) + " … (cut)"
		}
		out = append(out, headerLine{Name: k, Value: v})
	}
	slices.SortFunc(out, func(a, b headerLine) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// shownPayload is the body as the page shows it: JSON indented (unless it
// is too large to re-indent cheaply), cut to maxPayloadShown bytes.
func shownPayload(body []byte) (string, bool) {
	s := string(body)
	if len(body) <= maxIndentedPayload {
		var buf bytes.Buffer
		if json.Indent(&buf, body, "", "  ") == nil {
			s = buf.String()
		}
	}
	if len(s) <= maxPayloadShown {
		return strings.ToValidUTF8(s, "\uFFFD"), false
	}
	return strings.ToValidUTF8(cutUTF8(s, maxPayloadShown), "\uFFFD"), true
}

// cutUTF8 cuts s to at most n bytes without splitting a character.
func cutUTF8(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
