package webhook

import (
	"context"
	"fmt"
	"time"

	"github.com/hoistdev/hoist/internal/apperr"
	"github.com/hoistdev/hoist/internal/integration"
	"github.com/hoistdev/hoist/internal/jobqueue"
	"github.com/hoistdev/hoist/internal/space"
)

// AccessResolver resolves a principal's roles (space.Service).
type AccessResolver interface {
	Access(ctx context.Context, principal string) (space.Access, space.Tree, error)
}

// Integrations reads integrations (integration.Store).
type Integrations interface {
	GetIntegration(ctx context.Context, id string) (integration.Integration, error)
	ListIntegrations(ctx context.Context, f integration.Filter, cursor string, limit int) ([]integration.Integration, string, error)
}

// LogConfig configures a Log.
type LogConfig struct {
	Store        Store
	Integrations Integrations
	Access       AccessResolver
	Wake         func() // the job queue's Wake; nil does nothing
	Clock        func() time.Time
}

// Log is the delivery log (SPEC §2.4): every delivery is visible to the
// principals who may see its integration's details (SPEC §2.3), and can be
// processed again from its stored body.
type Log struct{ cfg LogConfig }

// NewLog returns the delivery log.
func NewLog(cfg LogConfig) *Log {
	if cfg.Wake == nil {
		cfg.Wake = func() {}
	}
	if cfg.Clock == nil {
		cfg.Clock = time.Now
	}
	return &Log{cfg: cfg}
}

// List pages deliveries newest first: of one integration when
// integrationID is set (Forbidden without the right to its details), else
// of every integration whose details the principal may see.
func (l *Log) List(ctx context.Context, principal, integrationID, cursor string, limit int) ([]Delivery, string, error) {
	access, _, err := l.cfg.Access.Access(ctx, principal)
	if err != nil {
		return nil, "", err
	}
	f := Filter{Integration: integrationID}
	switch {
	case integrationID != "":
		if _, err := l.integration(ctx, access, integrationID); err != nil {
			return nil, "", err
		}
		f.All = true // narrowed by Integration
	case access.IsRootAdmin():
		f.All = true
	default:
		if f.Integrations, err = l.detailed(ctx, access); err != nil {
			return nil, "", err
		}
	}
	return l.cfg.Store.ListDeliveries(ctx, f, cursor, limit)
}

// Get returns one delivery with its body; NotFound when the principal may
// not see it.
func (l *Log) Get(ctx context.Context, principal, id string) (Delivery, error) {
	access, _, err := l.cfg.Access.Access(ctx, principal)
	if err != nil {
		return Delivery{}, err
	}
	d, err := l.cfg.Store.GetDelivery(ctx, id)
	if err != nil {
		return Delivery{}, err
	}
	if _, err := l.integration(ctx, access, d.IntegrationID); err != nil {
		if apperr.Is(err, apperr.Forbidden) {
			return Delivery{}, apperr.Errorf(apperr.NotFound, "delivery %q not found", id)
		}
		return Delivery{}, err
	}
	return d, nil
}

// Redeliver processes a delivery again from its stored body: the
// decisions are made anew, runs already made are deduplicated. The new
// processing keeps its own outcome next to the earlier ones.
func (l *Log) Redeliver(ctx context.Context, principal, id string) (Delivery, error) {
	d, err := l.Get(ctx, principal, id)
	if err != nil {
		return Delivery{}, err
	}
	if d.Status == Ignored {
		return Delivery{}, apperr.Errorf(apperr.Invalid, "delivery %s is a %s, which Hoist ignores; there is nothing to process", id, d.Event)
	}
	job := func(n int) jobqueue.NewJob { return RedeliverJob(id, n) }
	if err := l.cfg.Store.RedeliverDelivery(ctx, id, principal, l.cfg.Clock().UTC(), job); err != nil {
		return Delivery{}, fmt.Errorf("redeliver %s: %w", id, err)
	}
	l.cfg.Wake()
	return l.cfg.Store.GetDelivery(ctx, id)
}

// integration loads an integration the principal may see the details of:
// NotFound when it may not even list it, Forbidden when it lists it only.
func (l *Log) integration(ctx context.Context, access space.Access, id string) (integration.Integration, error) {
	it, err := l.cfg.Integrations.GetIntegration(ctx, id)
	if apperr.Is(err, apperr.NotFound) || (err == nil && !integration.CanList(it, access)) {
		return integration.Integration{}, apperr.Errorf(apperr.NotFound, "no integration %q", id)
	}
	if err != nil {
		return integration.Integration{}, err
	}
	if !integration.CanSeeDetails(it, access) {
		return integration.Integration{}, apperr.Errorf(apperr.Forbidden,
			"the deliveries of integration %s are visible to its admins only", id)
	}
	return it, nil
}

// detailed lists the ids of every integration whose details the principal
// may see.
func (l *Log) detailed(ctx context.Context, access space.Access) ([]string, error) {
	var ids []string
	cursor := ""
	for {
		page, next, err := l.cfg.Integrations.ListIntegrations(ctx, integration.ListFilter(access), cursor, 500)
		if err != nil {
			return nil, fmt.Errorf("list integrations: %w", err)
		}
		for _, it := range page {
			if integration.CanSeeDetails(it, access) {
				ids = append(ids, it.ID)
			}
		}
		if next == "" {
			return ids, nil
		}
		cursor = next
	}
}
