package notify

import (
	"context"
	"fmt"
	"log/slog"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/hoistdev/hoist/internal/apperr"
	"github.com/hoistdev/hoist/internal/audit"
	"github.com/hoistdev/hoist/internal/integration"
	"github.com/hoistdev/hoist/internal/secret"
	"github.com/hoistdev/hoist/internal/slug"
	"github.com/hoistdev/hoist/internal/space"
	"github.com/hoistdev/hoist/internal/stack"
)

// Bounds on what a target accepts.
const (
	MaxURLLen    = 2048
	MinSecretLen = 16
	MaxSecretLen = 256
)

// AccessResolver resolves a principal's roles over the space tree
// (space.Service implements it).
type AccessResolver interface {
	Access(ctx context.Context, principal string) (space.Access, space.Tree, error)
}

// SpaceStore reads the space tree where there is no principal: which
// targets an event's space is within (space.Store implements it).
type SpaceStore interface {
	ListSpaces(ctx context.Context) ([]space.Space, error)
}

// StackStore finds the stack of a run or a drift mark.
type StackStore interface {
	GetStack(ctx context.Context, id string) (stack.Stack, error)
}

// IntegrationStore lists the integrations whose token expiry is watched.
type IntegrationStore interface {
	ListIntegrations(ctx context.Context, f integration.Filter, cursor string, limit int) ([]integration.Integration, string, error)
}

// Config wires a Service.
type Config struct {
	Store        Store
	Access       AccessResolver
	Spaces       SpaceStore
	Stacks       StackStore
	Integrations IntegrationStore
	Box          *secret.Box
	PublicURL    string // Hoist's public base URL, for links
	Clock        func() time.Time
	Logger       *slog.Logger
	// Notify wakes the dispatcher (Dispatcher.Notify); optional.
	Notify func()
	// AllowHosts is the operator's allow-list of target hosts; nil allows
	// every host (ParseAllowList).
	AllowHosts *AllowList
}

// Service is the business operations on notification targets, and turns
// run transitions, drift marks and token expiry into deliveries.
type Service struct {
	cfg Config
	now func() time.Time
	log *slog.Logger
}

// NewService returns a Service.
func NewService(cfg Config) *Service {
	clock := cfg.Clock
	if clock == nil {
		clock = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	cfg.PublicURL = strings.TrimRight(cfg.PublicURL, "/")
	return &Service{cfg: cfg, now: func() time.Time { return clock().UTC() }, log: cfg.Logger}
}

// CreateInput is a new target as a caller asks for it.
type CreateInput struct {
	Name   string
	Space  string
	Kind   string
	URL    string
	Secret string
	Events []string
}

// Patch changes a target: nil fields stay. The kind and space are fixed.
type Patch struct {
	Name   *string
	URL    *string
	Secret *string
	Events *[]string
}

// Create stores a new target, for admins of its space.
func (s *Service) Create(ctx context.Context, actor string, in CreateInput) (Target, error) {
	name, err := space.ValidateName("name", in.Name)
	if err != nil {
		return Target{}, err
	}
	t := Target{ID: slug.Make(name), Name: name, SpaceID: strings.TrimSpace(in.Space), Kind: Kind(in.Kind), CreatedBy: actor}
	if t.Kind != Webhook && t.Kind != Slack {
		return Target{}, apperr.InvalidField("kind", "must be webhook or slack")
	}
	if t.Events, err = ParseEvents("events", in.Events); err != nil {
		return Target{}, err
	}
	access, tree, err := s.cfg.Access.Access(ctx, actor)
	if err != nil {
		return Target{}, err
	}
	if t.SpaceID == "" {
		return Target{}, apperr.InvalidField("space", "is required")
	}
	if _, ok := tree.Get(t.SpaceID); !ok || !access.Has(t.SpaceID, space.Read) {
		return Target{}, apperr.InvalidField("space", "no space %q", t.SpaceID)
	}
	if !access.Has(t.SpaceID, space.Admin) {
		return Target{}, apperr.Errorf(apperr.Forbidden, "notification targets of space %q need admin on that space", t.SpaceID)
	}
	if err := s.setURL(&t, in.URL); err != nil {
		return Target{}, err
	}
	if err := s.setSecret(&t, in.Secret); err != nil {
		return Target{}, err
	}
	t.CreatedAt, t.UpdatedAt = s.now(), s.now()
	if err := s.cfg.Store.CreateNotificationTarget(ctx, t, s.entry(actor, "notification_target.create", t, map[string]any{"kind": t.Kind, "events": t.Events})); err != nil {
		return Target{}, fmt.Errorf("create notification target %s: %w", t.ID, err)
	}
	s.log.InfoContext(ctx, "notification target created", "target_id", t.ID, "actor", actor, "space_id", t.SpaceID)
	return t, nil
}

// setURL validates raw and seals it into t.
func (s *Service) setURL(t *Target, raw string) error {
	raw = strings.TrimSpace(raw)
	host, err := ValidateURL(raw)
	if err != nil {
		return err
	}
	u, _ := url.Parse(raw) // ValidateURL parsed it
	if err := s.cfg.AllowHosts.checkURLHost(u.Hostname()); err != nil {
		return err
	}
	t.URLSealed, t.URLHost = s.cfg.Box.Seal([]byte(raw), secret.AAD("notification_targets", t.ID, "url")), host
	return nil
}

// ValidateURL checks a target URL: http or https, a host, at most
// MaxURLLen bytes, no user info (credentials belong in the secret). It
// returns the host, for display.
func ValidateURL(raw string) (string, error) {
	if raw == "" {
		return "", apperr.InvalidField("url", "is required")
	}
	if len(raw) > MaxURLLen {
		return "", apperr.InvalidField("url", "must be at most %d bytes, got %d", MaxURLLen, len(raw))
	}
	u, err := url.Parse(raw)
	switch {
	case err != nil:
		return "", apperr.InvalidField("url", "is not a URL")
	case u.Scheme != "http" && u.Scheme != "https":
		return "", apperr.InvalidField("url", "must start with http:// or https://")
	case u.Host == "" || u.Hostname() == "":
		return "", apperr.InvalidField("url", "has no host")
	case u.User != nil:
		return "", apperr.InvalidField("url", "must not carry a user name or password")
	case u.Fragment != "":
		return "", apperr.InvalidField("url", "must not have a #fragment")
	}
	return u.Host, nil
}

// setSecret validates and seals a signing secret: required for webhooks,
// optional for Slack targets.
func (s *Service) setSecret(t *Target, sec string) error {
	switch n := len(sec); {
	case n == 0 && t.Kind == Webhook:
		return apperr.InvalidField("secret", "is required for webhook targets (at least %d bytes): receivers verify the signature with it", MinSecretLen)
	case n == 0:
		t.SecretSealed = nil
		return nil
	case n < MinSecretLen || n > MaxSecretLen:
		return apperr.InvalidField("secret", "must be %d to %d bytes, got %d", MinSecretLen, MaxSecretLen, n)
	}
	t.SecretSealed = s.cfg.Box.Seal([]byte(sec), secret.AAD("notification_targets", t.ID, "secret"))
	return nil
}

// open returns a target's URL and secret ("" when none).
func (s *Service) open(t Target) (string, []byte, error) {
	u, err := s.cfg.Box.Open(t.URLSealed, secret.AAD("notification_targets", t.ID, "url"))
	if err != nil {
		return "", nil, fmt.Errorf("open url of notification target %s: %w", t.ID, err)
	}
	if t.SecretSealed == nil {
		return string(u), nil, nil
	}
	sec, err := s.cfg.Box.Open(t.SecretSealed, secret.AAD("notification_targets", t.ID, "secret"))
	if err != nil {
		return "", nil, fmt.Errorf("open secret of notification target %s: %w", t.ID, err)
	}
	return string(u), sec, nil
}

func (s *Service) entry(actor, action string, t Target, detail map[string]any) audit.Entry {
	return audit.Entry{At: s.now(), Actor: actor, Action: action, ResourceType: "notification_target",
		ResourceID: t.ID, SpaceID: t.SpaceID, Detail: detail}
}

// List pages the targets the caller may read, ordered by id.
func (s *Service) List(ctx context.Context, actor, cursor string, limit int) ([]Target, string, error) {
	access, _, err := s.cfg.Access.Access(ctx, actor)
	if err != nil {
		return nil, "", err
	}
	var f Filter
	if f.All, f.Spaces = access.ReadScope(); !f.All && len(f.Spaces) == 0 {
		return []Target{}, "", nil
	}
	return s.cfg.Store.ListNotificationTargets(ctx, f, cursor, limit)
}

// Get returns a target the caller may read; others are NotFound.
func (s *Service) Get(ctx context.Context, actor, id string) (Target, error) {
	t, _, err := s.load(ctx, actor, id, space.Read)
	return t, err
}

// load returns a target the caller has at least role min on.
func (s *Service) load(ctx context.Context, actor, id string, min space.Role) (Target, space.Access, error) {
	access, _, err := s.cfg.Access.Access(ctx, actor)
	if err != nil {
		return Target{}, space.Access{}, err
	}
	t, err := s.cfg.Store.GetNotificationTarget(ctx, id)
	if apperr.Is(err, apperr.NotFound) || (err == nil && !access.Has(t.SpaceID, space.Read)) {
		return Target{}, space.Access{}, apperr.Errorf(apperr.NotFound, "no notification target %q", id)
	}
	if err != nil {
		return Target{}, space.Access{}, fmt.Errorf("load notification target %s: %w", id, err)
	}
	if !access.Has(t.SpaceID, min) {
		return Target{}, space.Access{}, apperr.Errorf(apperr.Forbidden, "changing notification target %q needs admin on space %q", id, t.SpaceID)
	}
	return t, access, nil
}

// Update applies a patch, for admins of the target's space.
func (s *Service) Update(ctx context.Context, actor, id string, p Patch) (Target, error) {
	t, _, err := s.load(ctx, actor, id, space.Admin)
	if err != nil {
		return Target{}, err
	}
	changed := []string{}
	if p.Name != nil {
		if t.Name, err = space.ValidateName("name", *p.Name); err != nil {
			return Target{}, err
		}
		changed = append(changed, "name")
	}
	if p.Events != nil {
		if t.Events, err = ParseEvents("events", *p.Events); err != nil {
			return Target{}, err
		}
		changed = append(changed, "events")
	}
	if p.URL != nil {
		if err := s.setURL(&t, *p.URL); err != nil {
			return Target{}, err
		}
		changed = append(changed, "url")
	}
	if p.Secret != nil {
		if err := s.setSecret(&t, *p.Secret); err != nil {
			return Target{}, err
		}
		changed = append(changed, "secret")
	}
	t.UpdatedAt = s.now()
	if err := s.cfg.Store.UpdateNotificationTarget(ctx, t, s.entry(actor, "notification_target.update", t, map[string]any{"changed": changed})); err != nil {
		return Target{}, fmt.Errorf("update notification target %s: %w", id, err)
	}
	return t, nil
}

// Delete removes a target and its delivery log, for admins of its space.
func (s *Service) Delete(ctx context.Context, actor, id string) error {
	t, _, err := s.load(ctx, actor, id, space.Admin)
	if err != nil {
		return err
	}
	if err := s.cfg.Store.DeleteNotificationTarget(ctx, id, s.entry(actor, "notification_target.delete", t, nil)); err != nil {
		return fmt.Errorf("delete notification target %s: %w", id, err)
	}
	return nil
}

// DeliveryView is a delivery with its attempts.
type DeliveryView struct {
	Delivery
	Attempts []Attempt
}

// Deliveries pages a target's delivery log, newest first, for readers of
// its space.
func (s *Service) Deliveries(ctx context.Context, actor, targetID, cursor string, limit int) ([]DeliveryView, string, error) {
	if _, _, err := s.load(ctx, actor, targetID, space.Read); err != nil {
		return nil, "", err
	}
	ds, next, err := s.cfg.Store.ListNotifications(ctx, targetID, cursor, limit)
	if err != nil {
		return nil, "", err
	}
	out := make([]DeliveryView, 0, len(ds))
	for _, d := range ds {
		as, err := s.cfg.Store.NotificationAttempts(ctx, d.ID)
		if err != nil {
			return nil, "", err
		}
		out = append(out, DeliveryView{Delivery: d, Attempts: as})
	}
	return out, next, nil
}

// Redeliver queues a delivery of a target again, as a new delivery with
// the same body, after the target's other deliveries; for admins of its
// space.
func (s *Service) Redeliver(ctx context.Context, actor, targetID, deliveryID string) (Delivery, error) {
	if _, _, err := s.load(ctx, actor, targetID, space.Admin); err != nil {
		return Delivery{}, err
	}
	id, err := strconv.ParseInt(deliveryID, 10, 64)
	if err != nil || id <= 0 {
		return Delivery{}, apperr.Errorf(apperr.NotFound, "no delivery %q of notification target %q", deliveryID, targetID)
	}
	d, err := s.cfg.Store.GetNotification(ctx, id)
	if apperr.Is(err, apperr.NotFound) || (err == nil && d.TargetID != targetID) {
		return Delivery{}, apperr.Errorf(apperr.NotFound, "no delivery %q of notification target %q", deliveryID, targetID)
	}
	if err != nil {
		return Delivery{}, err
	}
	now := s.now()
	first := d.ID
	if d.RedeliveryOf != 0 {
		first = d.RedeliveryOf
	}
	nd := Delivery{TargetID: d.TargetID, Event: d.Event, NotificationID: d.NotificationID, Payload: d.Payload,
		State: StatePending, NextAttemptAt: now, RedeliveryOf: first, CreatedAt: now, UpdatedAt: now}
	ids, err := s.cfg.Store.EnqueueNotifications(ctx, []Delivery{nd})
	if err != nil {
		return Delivery{}, fmt.Errorf("redeliver %d: %w", d.ID, err)
	}
	nd.ID = ids[0]
	s.log.InfoContext(ctx, "notification redelivery queued", "target_id", targetID, "delivery_id", d.ID, "actor", actor)
	s.wake()
	return nd, nil
}

// wake tells the dispatcher that deliveries were committed.
func (s *Service) wake() {
	if s.cfg.Notify != nil {
		s.cfg.Notify()
	}
}
