package notify

import (
	"context"
	"fmt"
	"math"
	"time"

	"github.com/hoistdev/hoist/internal/integration"
)

// TokenThresholds are the days before an integration token's expiry at
// which token_expiring is raised, once each, largest first.
var TokenThresholds = []int{30, 7, 1}

// threshold is the smallest of TokenThresholds that left (time to expiry)
// is within, or 0 when it is within none or the token already expired.
func threshold(left time.Duration) int {
	if left <= 0 {
		return 0
	}
	out := 0
	for _, d := range TokenThresholds {
		if left <= time.Duration(d)*24*time.Hour {
			out = d
		}
	}
	return out
}

// CheckTokens raises token_expiring for every integration whose recorded
// token expiry crossed a threshold since the last check: once per token
// and threshold, whichever server checks (the store records each). A
// token first seen with 5 days left raises the 7-day notice only; the
// 30-day one is recorded as passed.
func (s *Service) CheckTokens(ctx context.Context) error {
	now := s.now()
	cursor := ""
	for {
		its, next, err := s.cfg.Integrations.ListIntegrations(ctx, integration.Filter{All: true}, cursor, 200)
		if err != nil {
			return fmt.Errorf("token expiry: %w", err)
		}
		for _, it := range its {
			if it.TokenExpiresAt == nil {
				continue
			}
			if err := s.checkToken(ctx, it, now); err != nil {
				return err
			}
		}
		if next == "" {
			return nil
		}
		cursor = next
	}
}

func (s *Service) checkToken(ctx context.Context, it integration.Integration, now time.Time) error {
	exp := it.TokenExpiresAt.UTC()
	left := exp.Sub(now)
	th := threshold(left)
	if th == 0 {
		return nil
	}
	var sent bool
	err := s.cfg.Store.InTx(ctx, func(ctx context.Context) error {
		// Record every threshold crossed, the passed larger ones too; only
		// a new smallest one is sent.
		for _, d := range TokenThresholds {
			if d < th {
				continue
			}
			fresh, err := s.cfg.Store.RecordTokenNotice(ctx, it.ID, exp, d, now)
			if err != nil {
				return err
			}
			if d == th {
				sent = fresh
			}
		}
		if !sent {
			return nil
		}
		days := int(math.Ceil(left.Hours() / 24))
		n := Notification{Event: TokenExpiring, Space: it.SpaceID, URL: s.cfg.PublicURL + "/integrations/" + it.ID,
			Summary: fmt.Sprintf("the token of integration %s expires in %d days (%s): renew it before runs and GitLab write-back stop",
				it.Name, days, exp.Format("2006-01-02")),
			Integration: &IntegrationRef{ID: it.ID, Name: it.Name, TokenExpiresAt: exp, DaysLeft: days}}
		return s.notify(ctx, n)
	})
	if err != nil {
		return fmt.Errorf("token expiry of integration %s: %w", it.ID, err)
	}
	if sent {
		s.log.InfoContext(ctx, "integration token expiring", "integration_id", it.ID, "threshold_days", th)
	}
	return nil
}

// TokenWatch checks integration tokens periodically (CheckTokens).
type TokenWatch struct {
	svc *Service
	periodic
}

// WatchTokens returns a TokenWatch checking every interval (0: an hour).
func (s *Service) WatchTokens(interval time.Duration) *TokenWatch {
	if interval <= 0 {
		interval = time.Hour
	}
	return &TokenWatch{svc: s, periodic: newPeriodic(interval)}
}

// Start checks at once, then every interval, until Stop or ctx ends.
func (w *TokenWatch) Start(ctx context.Context) {
	w.start(ctx, w.svc.CheckTokens, func(ctx context.Context, err error) {
		w.svc.log.ErrorContext(ctx, "check integration token expiry", "error", err)
	})
}
