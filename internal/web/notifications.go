package web

import (
	"net/http"
	"net/url"
	"time"

	"github.com/hoistdev/hoist/internal/notify"
	"github.com/hoistdev/hoist/internal/space"
)

// The Notifications pages (issue 21) list the notification targets the
// viewer may read, create them in the spaces the viewer administers, and
// show a target's delivery log with redeliver. They sit with the
// Administration pages, but the notify service decides who sees and
// changes what: space admins use them too.

func (u *UI) notificationRoutes() {
	u.handle("GET /admin/notifications", u.page(u.notificationTargets))
	u.handle("POST /admin/notifications", u.form(u.createNotificationTarget))
	u.handle("GET /admin/notifications/{id}", u.page(u.notificationTarget))
	u.handle("POST /admin/notifications/{id}/delete", u.form(u.deleteNotificationTarget))
	u.handle("POST /admin/notifications/{id}/deliveries/{delivery}/redeliver", u.form(u.redeliverNotification))
}

// eventChoice is one event checkbox of the create form.
type eventChoice struct {
	Event   notify.Event
	Checked bool
}

// notificationTargetsPage is the content of notification_targets.html.
type notificationTargetsPage struct {
	Targets []notify.Target
	More    string
	Spaces  []space.Space // where the viewer may create targets; empty hides the form
	Events  []eventChoice
	Error   string
	Errors  map[string]string
	Name    string
	Space   string
	Kind    string
}

func (u *UI) notificationTargets(w http.ResponseWriter, r *http.Request) error {
	return u.renderNotificationTargets(w, r, http.StatusOK, notificationTargetsPage{Kind: string(notify.Webhook)}, nil)
}

func (u *UI) renderNotificationTargets(w http.ResponseWriter, r *http.Request, status int, p notificationTargetsPage, picked []string) error {
	targets, next, err := u.cfg.Notifications.List(r.Context(), principal(r), r.URL.Query().Get("cursor"), 100)
	if err != nil {
		return err
	}
	p.Targets, p.More = targets, next
	if p.Spaces, err = u.adminSpaces(r.Context(), principal(r)); err != nil {
		return err
	}
	for _, e := range notify.Events {
		c := eventChoice{Event: e}
		for _, s := range picked {
			c.Checked = c.Checked || s == string(e)
		}
		p.Events = append(p.Events, c)
	}
	return u.render(w, r, status, "notification_targets", view{Title: "Notifications", Nav: "admin", Flash: notificationFlash(r), Content: p})
}

var notificationFlashes = map[string]string{
	"deleted":     "Notification target deleted, with its delivery log.",
	"redelivered": "Delivery queued again: it is sent after the target's earlier deliveries.",
	"created":     "Notification target created.",
}

func notificationFlash(r *http.Request) string { return notificationFlashes[r.URL.Query().Get("done")] }

func (u *UI) createNotificationTarget(w http.ResponseWriter, r *http.Request) error {
	in := notify.CreateInput{Name: r.PostForm.Get("name"), Space: r.PostForm.Get("space"), Kind: r.PostForm.Get("kind"),
		URL: r.PostForm.Get("url"), Secret: r.PostForm.Get("secret"), Events: r.PostForm["event"]}
	t, err := u.cfg.Notifications.Create(r.Context(), principal(r), in)
	if err != nil {
		field, msg, status, err := fieldError(err)
		if err != nil {
			return err
		}
		// What was typed comes back, but never the URL or the secret.
		p := notificationTargetsPage{Error: msg, Errors: map[string]string{field: msg}, Name: in.Name, Space: in.Space, Kind: in.Kind}
		return u.renderNotificationTargets(w, r, status, p, in.Events)
	}
	http.Redirect(w, r, "/admin/notifications/"+url.PathEscape(t.ID)+"?done=created", http.StatusSeeOther)
	return nil
}

// notificationTargetPage is the content of notification_target.html.
type notificationTargetPage struct {
	Target     notify.Target
	Deliveries []notify.DeliveryView
	More       string
	CanManage  bool
	Now        time.Time
}

func (u *UI) notificationTarget(w http.ResponseWriter, r *http.Request) error {
	ctx, p := r.Context(), principal(r)
	t, err := u.cfg.Notifications.Get(ctx, p, r.PathValue("id"))
	if err != nil {
		return err
	}
	ds, next, err := u.cfg.Notifications.Deliveries(ctx, p, t.ID, r.URL.Query().Get("cursor"), 50)
	if err != nil {
		return err
	}
	access, _, err := u.cfg.Spaces.Access(ctx, p)
	if err != nil {
		return err
	}
	return u.render(w, r, http.StatusOK, "notification_target", view{Title: t.Name + " · Notifications", Nav: "admin",
		Flash: notificationFlash(r), Content: notificationTargetPage{Target: t, Deliveries: ds, More: next,
			CanManage: access.Has(t.SpaceID, space.Admin), Now: u.now()}})
}

func (u *UI) deleteNotificationTarget(w http.ResponseWriter, r *http.Request) error {
	if err := u.cfg.Notifications.Delete(r.Context(), principal(r), r.PathValue("id")); err != nil {
		return err
	}
	http.Redirect(w, r, "/admin/notifications?done=deleted", http.StatusSeeOther)
	return nil
}

func (u *UI) redeliverNotification(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	if _, err := u.cfg.Notifications.Redeliver(r.Context(), principal(r), id, r.PathValue("delivery")); err != nil {
		return err
	}
	http.Redirect(w, r, "/admin/notifications/"+url.PathEscape(id)+"?done=redelivered", http.StatusSeeOther)
	return nil
}
