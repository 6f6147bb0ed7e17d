package worker

import (
	"context"
	"io"
	"time"

	"github.com/hoistdev/hoist/internal/run"
)

// Local is the in-process Server of the embedded pool.
type Local struct {
	Service *run.Service
	Pool    string
}

var _ Server = Local{}

// Lease implements Server.
func (l Local) Lease(ctx context.Context, owner string, wait time.Duration) (run.Job, bool, error) {
	return l.Service.Lease(ctx, l.Pool, owner, wait)
}

// Heartbeat implements Server.
func (l Local) Heartbeat(ctx context.Context, runID, leaseID string) (run.State, error) {
	return l.Service.Heartbeat(ctx, runID, leaseID)
}

// Advance implements Server.
func (l Local) Advance(ctx context.Context, runID, leaseID string, step run.Step) error {
	_, err := l.Service.Advance(ctx, runID, leaseID, step)
	return err
}

// ReportPlan implements Server.
func (l Local) ReportPlan(ctx context.Context, runID, leaseID string, rep run.PlanReport) (bool, error) {
	return l.Service.ReportPlan(ctx, runID, leaseID, rep)
}

// Finish implements Server.
func (l Local) Finish(ctx context.Context, runID, leaseID, errMsg, detail string) error {
	_, err := l.Service.Finish(ctx, runID, leaseID, errMsg, detail)
	return err
}

// HandBack implements Server.
func (l Local) HandBack(ctx context.Context, runID, leaseID string) error {
	_, err := l.Service.HandBack(ctx, runID, leaseID)
	return err
}

// AppendLog implements Server.
func (l Local) AppendLog(ctx context.Context, runID, leaseID, phase, text string) error {
	return l.Service.AppendLog(ctx, runID, leaseID, phase, text)
}

// PlanFile implements Server.
func (l Local) PlanFile(ctx context.Context, runID, leaseID string) ([]byte, error) {
	return l.Service.PlanFile(ctx, runID, leaseID)
}

// Source implements Server.
func (l Local) Source(ctx context.Context, runID, leaseID string, w io.Writer) error {
	return l.Service.Source(ctx, runID, leaseID, w)
}
