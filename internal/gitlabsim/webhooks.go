package gitlabsim

import (
	"context"
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"sync"

	"github.com/hoistdev/hoist/internal/gitlabsim/hooks"
)

// Delivery is one recorded webhook request: headers (X-Gitlab-Token
// redacted), body, status code, duration, and transport error if any.
type Delivery = hooks.Delivery

// webhooks delivers events asynchronously, in order per hook (like one
// Sidekiq queue per hook), and records every delivery.
type webhooks struct {
	s      *Server
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu         sync.Mutex
	d          *hooks.Deliverer
	queues     map[int][]hookJob // per hook ID
	pending    int
	idle       chan struct{} // closed while pending == 0
	deliveries []Delivery
	closed     bool
}

type hookJob struct {
	hook hooks.Hook
	msg  hooks.Message
}

func newWebhooks(s *Server) *webhooks {
	ctx, cancel := context.WithCancel(context.Background())
	idle := make(chan struct{})
	close(idle)
	return &webhooks{s: s, ctx: ctx, cancel: cancel, queues: map[int][]hookJob{}, idle: idle}
}

// deliverer is built on first use, once the base URL (X-Gitlab-Instance)
// is known. Callers hold w.mu.
func (w *webhooks) deliverer() *hooks.Deliverer {
	if w.d == nil {
		w.d = &hooks.Deliverer{
			HTTPClient:  w.s.cfg.HookClient,
			Timeout:     w.s.cfg.HookTimeout,
			InstanceURL: w.s.URL(),
			Version:     Version,
			Clock:       w.s.cfg.Clock,
			Logger:      w.s.log,
		}
	}
	return w.d
}

// enqueue queues msg for every hook; one worker per hook keeps its order.
func (w *webhooks) enqueue(hs []hooks.Hook, msg hooks.Message) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed || len(hs) == 0 {
		return
	}
	if msg.EventUUID == "" {
		msg.EventUUID = newUUID()
	}
	if w.pending == 0 {
		w.idle = make(chan struct{})
	}
	for _, h := range hs {
		w.pending++
		q := w.queues[h.ID]
		w.queues[h.ID] = append(q, hookJob{hook: h, msg: msg})
		if len(q) == 0 {
			w.wg.Add(1)
			go w.drain(h.ID)
		}
	}
}

// drain sends the hook's queued jobs until its queue is empty.
func (w *webhooks) drain(hookID int) {
	defer w.wg.Done()
	for {
		w.mu.Lock()
		job := w.queues[hookID][0]
		d := w.deliverer()
		w.mu.Unlock()

		del := d.Send(w.ctx, job.hook, job.msg)

		w.mu.Lock()
		w.deliveries = append(w.deliveries, del)
		q := w.queues[hookID][1:]
		w.pending--
		if w.pending == 0 {
			close(w.idle)
		}
		if len(q) == 0 {
			delete(w.queues, hookID)
			w.mu.Unlock()
			return
		}
		w.queues[hookID] = q
		w.mu.Unlock()
	}
}

func (w *webhooks) close() {
	w.mu.Lock()
	w.closed = true
	w.mu.Unlock()
	w.cancel()
	w.wg.Wait()
}

// WaitHooks blocks until every queued webhook delivery has been sent (or
// failed), or ctx ends.
func (s *Server) WaitHooks(ctx context.Context) error {
	w := s.webhooks
	w.mu.Lock()
	idle := w.idle
	w.mu.Unlock()
	select {
	case <-idle:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("wait for webhooks: %w", ctx.Err())
	}
}

// Deliveries returns every recorded delivery, oldest first; hookID 0 means
// all hooks.
func (s *Server) Deliveries(hookID int) []Delivery {
	w := s.webhooks
	w.mu.Lock()
	defer w.mu.Unlock()
	var out []Delivery
	for _, d := range w.deliveries {
		if hookID == 0 || d.HookID == hookID {
			out = append(out, d)
		}
	}
	return out
}

// Redeliver re-sends a recorded delivery synchronously, as GitLab's
// "Resend request": same body, Idempotency-Key and event UUID, a new
// webhook UUID, to the hook's current URL and token.
func (s *Server) Redeliver(ctx context.Context, deliveryID int) (Delivery, error) {
	w := s.webhooks
	w.mu.Lock()
	var prev *Delivery
	for i := range w.deliveries {
		if w.deliveries[i].ID == deliveryID {
			prev = &w.deliveries[i]
			break
		}
	}
	if prev == nil {
		w.mu.Unlock()
		return Delivery{}, fmt.Errorf("delivery %d: %w", deliveryID, ErrNotFound)
	}
	p := *prev
	d := w.deliverer()
	w.mu.Unlock()

	h, err := s.hookByID(p.HookID)
	if err != nil {
		return Delivery{}, err
	}
	del := d.Redeliver(ctx, toHooksHook(h), p)
	w.mu.Lock()
	w.deliveries = append(w.deliveries, del)
	w.mu.Unlock()
	return del, nil
}

// HookOptions creates a project hook. Events default to push only, as in
// GitLab.
type HookOptions struct {
	URL                    string `json:"url"`
	Token                  string `json:"token"`
	Name                   string `json:"name"`
	PushEvents             *bool  `json:"push_events"`
	PushEventsBranchFilter string `json:"push_events_branch_filter"`
	TagPushEvents          bool   `json:"tag_push_events"`
	MergeRequestsEvents    bool   `json:"merge_requests_events"`
	NoteEvents             bool   `json:"note_events"`
	EnableSSLVerification  *bool  `json:"enable_ssl_verification"` // default true
}

// AddHook adds a webhook to a project.
func (s *Server) AddHook(ctx context.Context, project string, o HookOptions) (Hook, error) {
	u, err := url.Parse(o.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return Hook{}, fmt.Errorf("hook url %q: %w", o.URL, ErrInvalid)
	}
	var h Hook
	err = s.mutate(func(st *state) error {
		p, err := st.projectByRef(project)
		if err != nil {
			return err
		}
		h = Hook{ID: st.nextID("hook"), ProjectID: p.ID, URL: o.URL, Name: o.Name, Token: o.Token,
			PushEvents: o.PushEvents == nil || *o.PushEvents, PushEventsBranchFilter: o.PushEventsBranchFilter,
			TagPushEvents: o.TagPushEvents, MergeRequestsEvents: o.MergeRequestsEvents, NoteEvents: o.NoteEvents,
			EnableSSLVerification: o.EnableSSLVerification == nil || *o.EnableSSLVerification, CreatedAt: s.now()}
		st.Hooks = append(st.Hooks, &h)
		return nil
	})
	return h, err
}

// Hooks lists a project's hooks.
func (s *Server) Hooks(project string) ([]Hook, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, err := s.st.projectByRef(project)
	if err != nil {
		return nil, err
	}
	var out []Hook
	for _, h := range s.st.Hooks {
		if h.ProjectID == p.ID {
			out = append(out, *h)
		}
	}
	return out, nil
}

// DeleteHook removes a hook.
func (s *Server) DeleteHook(ctx context.Context, hookID int) error {
	return s.mutate(func(st *state) error {
		for i, h := range st.Hooks {
			if h.ID == hookID {
				st.Hooks = append(st.Hooks[:i], st.Hooks[i+1:]...)
				return nil
			}
		}
		return fmt.Errorf("hook %d: %w", hookID, ErrNotFound)
	})
}

func (s *Server) hookByID(id int) (Hook, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, h := range s.st.Hooks {
		if h.ID == id {
			return *h, nil
		}
	}
	return Hook{}, fmt.Errorf("hook %d: %w", id, ErrNotFound)
}

func toHooksHook(h Hook) hooks.Hook {
	return hooks.Hook{ID: h.ID, URL: h.URL, Token: h.Token, PushEvents: h.PushEvents, TagPushEvents: h.TagPushEvents,
		MergeRequestsEvents: h.MergeRequestsEvents, NoteEvents: h.NoteEvents, EnableSSLVerification: h.EnableSSLVerification}
}

// fire queues an event for the project's hooks that want it. branch, when
// set, is checked against each hook's push_events_branch_filter.
func (s *Server) fire(projectID int, event, branch string, body []byte) {
	s.mu.Lock()
	var targets []hooks.Hook
	for _, h := range s.st.Hooks {
		hh := toHooksHook(*h)
		if h.ProjectID != projectID || !hh.Wants(event) {
			continue
		}
		if event == hooks.EventPush && branch != "" && !branchFilterMatch(h.PushEventsBranchFilter, branch) {
			continue
		}
		targets = append(targets, hh)
	}
	s.mu.Unlock()
	s.webhooks.enqueue(targets, hooks.Message{Event: event, Body: body})
}

// branchFilterMatch applies GitLab's wildcard branch filter: * matches any
// run of characters, an empty filter matches every branch.
func branchFilterMatch(filter, branch string) bool {
	if filter == "" {
		return true
	}
	parts := strings.Split(filter, "*")
	for i, p := range parts {
		parts[i] = regexp.QuoteMeta(p)
	}
	re, err := regexp.Compile("^" + strings.Join(parts, ".*") + "$")
	return err == nil && re.MatchString(branch)
}
