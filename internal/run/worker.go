package run

import (
	"context"
	"crypto/rand"
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/hoistdev/hoist/internal/apperr"
	"github.com/hoistdev/hoist/internal/secret"
	"github.com/hoistdev/hoist/internal/stack"
	"github.com/hoistdev/hoist/internal/toolchain"
	"github.com/hoistdev/hoist/internal/vcs"
)

// The worker protocol, the same for the embedded pool and remote workers:
// lease a run, heartbeat, move it through the states a worker owns, send
// logs, report the plan, finish. Every call names the lease; a worker that
// lost its lease (the run was stopped, canceled, or failed as lost) gets a
// Conflict and must stop working on the run.

// Job is a leased run as a worker receives it.
type Job struct {
	RunID       string   `json:"run_id"`
	LeaseID     string   `json:"lease_id"`
	Phase       Phase    `json:"phase"`
	StackID     string   `json:"stack_id"`
	Type        Type     `json:"type"`
	CommitSHA   string   `json:"commit_sha"`
	Branch      string   `json:"branch"`
	Repository  string   `json:"repository"`
	ProjectRoot string   `json:"project_root"`
	GitCheckout bool     `json:"git_checkout"`
	Tool        string   `json:"tool"`
	ToolVersion string   `json:"tool_version,omitempty"` // from the worker's tools folder; "": its default OpenTofu
	Env         []EnvVar `json:"env"`
	// StateUser and StateToken are the http backend's basic-auth
	// credentials, valid while the lease is.
	StateUser  string `json:"state_user"`
	StateToken string `json:"state_token"`
	StateWrite bool   `json:"state_write"`
	// LeaseTTLSeconds is how long the lease lasts without a heartbeat.
	LeaseTTLSeconds float64 `json:"lease_ttl_seconds"`
	// Command is a task's command (phase task): its first argument names
	// the stack's tool, which the worker replaces by the binary it runs.
	Command []string `json:"command,omitempty"`
}

// LeaseTTL returns the lease duration.
func (j Job) LeaseTTL() time.Duration { return time.Duration(j.LeaseTTLSeconds * float64(time.Second)) }

func newLeaseID() string { return "lease_" + rand.Text() }

// Lease hands the oldest runnable run of the pool to the worker owner,
// waiting up to wait for one. ok is false when none came; a server that
// drains answers ErrShuttingDown.
func (s *Service) Lease(ctx context.Context, pool, owner string, wait time.Duration) (Job, bool, error) {
	deadline := time.NewTimer(wait)
	defer deadline.Stop()
	// Runs may become runnable on another server (promoted, or handed back
	// by a replica that shuts down), which no Notify here reports: poll too.
	poll := time.NewTicker(s.cfg.PollInterval)
	defer poll.Stop()
	for {
		if s.isDraining() {
			return Job{}, false, ErrShuttingDown
		}
		changed := s.changes()
		job, ok, err := s.tryLease(ctx, pool, owner)
		if err != nil || ok {
			return job, ok, err
		}
		select {
		case <-changed:
		case <-poll.C:
		case <-s.draining:
		case <-deadline.C:
			return Job{}, false, nil
		case <-ctx.Done():
			return Job{}, false, ctx.Err()
		}
	}
}

func (s *Service) tryLease(ctx context.Context, pool, owner string) (Job, bool, error) {
	token := "hoistrun_" + rand.Text()
	l := Lease{Pool: pool, Owner: owner, LeaseID: newLeaseID(), TokenHash: secret.HashAPIKey(token), At: s.now(),
		TTL: s.cfg.LeaseTTL, AllowApply: true}
	var leased Leased
	var ok bool
	err := s.record(ctx, func(ctx context.Context) ([]Event, error) {
		var err error
		if leased, ok, err = s.cfg.Exec.LeaseRun(ctx, l); err != nil || !ok {
			return nil, err
		}
		return []Event{leased.Event}, nil
	})
	if err != nil || !ok {
		return Job{}, false, err
	}
	r := leased.Run
	job, err := s.job(ctx, r, l.LeaseID, leased.Phase)
	if err != nil {
		// The run cannot run (its stack is gone, a secret does not open):
		// fail it visibly rather than hand out half a job.
		_, merr := s.moveRun(ctx, Move{RunID: r.ID, To: Failed, At: s.now(), Actor: "worker:" + owner,
			LeaseID: l.LeaseID, Error: apperr.MessageOf(err), Note: "could not prepare the run"})
		s.log.ErrorContext(ctx, "prepare leased run", "run_id", r.ID, "error", err.Error(), "fail_error", fmt.Sprint(merr))
		return Job{}, false, nil
	}
	job.StateToken, job.StateWrite = token, leased.TokenWrite
	s.log.InfoContext(ctx, "run leased", "run_id", r.ID, "worker", owner, "pool", pool, "phase", string(leased.Phase))
	return job, true, nil
}

func (s *Service) job(ctx context.Context, r Run, leaseID string, phase Phase) (Job, error) {
	st, err := s.cfg.Stacks.GetStack(ctx, r.StackID)
	if err != nil {
		return Job{}, fmt.Errorf("load stack %s: %w", r.StackID, err)
	}
	env, err := s.runEnv(ctx, r.StackID)
	if err != nil {
		return Job{}, fmt.Errorf("open variables of stack %s: %w", r.StackID, err)
	}
	job := Job{RunID: r.ID, LeaseID: leaseID, Phase: phase, StackID: r.StackID, Type: r.Type, CommitSHA: r.CommitSHA,
		Branch: r.Branch, Repository: st.Repository, ProjectRoot: st.ProjectRoot, GitCheckout: st.GitCheckout,
		Tool: string(st.Tool), ToolVersion: st.ToolVersion, Env: env, StateUser: r.ID, LeaseTTLSeconds: s.cfg.LeaseTTL.Seconds(),
		Command: r.TaskCommand}
	if phase == PhaseApply && st.ToolVersion != "" {
		// A saved plan applies only with the version that made it: the
		// stack's pin may have moved since the plan.
		e, err := s.cfg.Exec.GetExec(ctx, r.ID)
		if err != nil {
			return Job{}, fmt.Errorf("load execution of run %s: %w", r.ID, err)
		}
		if e.Binary.Version != "" {
			job.Tool, job.ToolVersion = e.Binary.Tool, e.Binary.Version
		}
	}
	return job, nil
}

// Heartbeat renews the lease and returns the run's state. A Conflict means
// the worker must stop: the run was stopped, canceled or taken from it.
func (s *Service) Heartbeat(ctx context.Context, runID, leaseID string) (State, error) {
	r, err := s.cfg.Exec.RenewLease(ctx, runID, leaseID, s.now().Add(s.cfg.LeaseTTL))
	return r.State, err
}

// workerMoves are the moves a worker makes on its own, each from its one
// predecessor.
var workerMoves = map[State]State{Initializing: Preparing, Planning: Initializing, Performing: Initializing, Applying: PreparingApply}

// Step is a worker's move of a run forward (Advance).
type Step struct {
	To State
	// Note, when given, goes into the run's history: the worker says there
	// how it executes the run (sandboxed, or not). It is the worker's
	// text, so it is cut to MaxWorkerNote characters and stripped of
	// control characters.
	Note string
	// Binary, when set, is recorded on the run: what executes it.
	Binary Binary
}

// Advance moves a leased run forward: INITIALIZING, PLANNING, PERFORMING,
// or APPLYING after a confirmation (recorded once: never applied twice).
func (s *Service) Advance(ctx context.Context, runID, leaseID string, step Step) (Run, error) {
	from, ok := workerMoves[step.To]
	if !ok {
		return Run{}, apperr.InvalidField("state", "a worker moves runs only to INITIALIZING, PLANNING, PERFORMING or APPLYING")
	}
	m := Move{RunID: runID, From: []State{from}, To: step.To, At: s.now(), Actor: s.workerActor(ctx, runID),
		LeaseID: leaseID, StartApply: step.To == Applying, Note: workerNote(step.Note)}
	if step.Binary != (Binary{}) {
		b := step.Binary
		if (b.Tool != string(stack.OpenTofu) && b.Tool != string(stack.Terraform)) || !toolchain.ValidVersion(b.Version) {
			return Run{}, apperr.InvalidField("tool", "a worker reports opentofu or terraform and a release version such as 1.10.6")
		}
		m.Binary = &b
	}
	return s.moveRun(ctx, m)
}

// MaxWorkerNote bounds a worker's note in a run's history.
const MaxWorkerNote = 300

// UnsandboxedNote starts the history note of a run executed without a
// sandbox (--unsafe-unsandboxed-runs): the run page shows a warning.
const UnsandboxedNote = "NOT SANDBOXED"

func workerNote(note string) string {
	note = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || unicode.Is(unicode.Bidi_Control, r) {
			return ' '
		}
		return r
	}, note)
	if r := []rune(note); len(r) > MaxWorkerNote {
		note = string(r[:MaxWorkerNote-1]) + "…"
	}
	return strings.TrimSpace(note)
}

func (s *Service) workerActor(ctx context.Context, runID string) string {
	e, err := s.cfg.Exec.GetExec(ctx, runID)
	if err != nil || e.LeaseOwner == "" {
		return "worker"
	}
	return "worker:" + e.LeaseOwner
}

// PlanReport is what a worker found in PLANNING.
type PlanReport struct {
	Delta      Delta
	Resources  []Resource
	HasChanges bool
	Plan       []byte // the saved plan file
	// PlanJSON is `tofu show -json` of the plan, for plan policies; empty
	// when it was larger than MaxPlanJSON or the worker predates them.
	PlanJSON []byte
}

// MaxPlanJSON bounds the plan JSON a worker sends for plan policies.
const MaxPlanJSON = 32 << 20

// PlanChecker evaluates the plan policies of a run's stack (issue 17;
// internal/policy implements it) after the plan and before UNCONFIRMED,
// APPLYING or FINISHED. Its error is a storage failure; a policy that
// fails is a denial.
type PlanChecker interface {
	CheckPlan(ctx context.Context, r Run, planJSON []byte) (PlanVerdict, error)
}

// PlanVerdict is what a run's plan policies said: any Deny fails the run
// with the messages; Warn are kept on the run's history.
type PlanVerdict struct {
	Deny []string
	Warn []string
}

func planAAD(runID string) []byte { return secret.AAD("run_exec", runID, "plan") }

// ReportPlan records the plan and decides what comes next; apply is true
// when the worker must apply now (autodeploy).
func (s *Service) ReportPlan(ctx context.Context, runID, leaseID string, rep PlanReport) (apply bool, err error) {
	r, err := s.cfg.Runs.GetRun(ctx, runID)
	if err != nil {
		return false, err
	}
	m := Move{RunID: runID, From: []State{Planning}, At: s.now(), Actor: s.workerActor(ctx, runID), LeaseID: leaseID,
		Delta: &rep.Delta, Resources: BoundResources(rep.Resources), HasChanges: &rep.HasChanges}
	if m.Resources == nil {
		m.Resources = []Resource{}
	}
	var verdict PlanVerdict
	if s.cfg.PlanPolicy != nil {
		if _, err := s.holds(ctx, runID, leaseID); err != nil {
			return false, err // evaluate only for the worker that holds the run
		}
		if verdict, err = s.cfg.PlanPolicy.CheckPlan(ctx, r, rep.PlanJSON); err != nil {
			return false, fmt.Errorf("plan policies of run %s: %w", runID, err)
		}
	}
	if len(verdict.Deny) > 0 {
		return false, s.denyPlan(ctx, m, verdict)
	}
	switch {
	case r.Type != Tracked:
		m.To, m.Note = Finished, "plan only"
	case !rep.HasChanges:
		m.To, m.Note = Finished, "no changes"
	default:
		st, err := s.cfg.Stacks.GetStack(ctx, r.StackID)
		if err != nil {
			return false, err
		}
		approval, err := s.checkApproval(ctx, r, st, rep.Delta)
		if err != nil {
			return false, err
		}
		switch {
		case approval.Outcome == ApprovalRejected:
			return false, s.rejectPlan(ctx, m, approval, verdict)
		case approval.Outcome == ApprovalPending || !st.Autodeploy && r.Trigger != string(vcs.KindNote):
			// Waiting for reviews or for a confirmation: the worker lets
			// go, keeping the plan sealed for whoever applies it.
			if len(rep.Plan) == 0 {
				return false, apperr.InvalidField("plan", "a plan with changes needs its plan file")
			}
			m.To, m.ReleaseLease, m.PlanSealed = Unconfirmed, true, s.cfg.Box.Seal(rep.Plan, planAAD(runID))
			if approval.Outcome == ApprovalPending {
				m.To, m.Note = PendingReview, "waiting for review: "+strings.Join(approval.Messages, "; ")
			}
		case st.Autodeploy:
			m.To, m.StartApply, m.Note = Applying, true, "autodeploy"
		default: // a merge request's /hoist apply: the comment was the confirmation
			m.To, m.StartApply, m.Note = Applying, true, "applying: "+r.Reason
		}
		if approval.Outcome == ApprovalApproved {
			m.Note = strings.TrimPrefix(m.Note+"; approved by approval policies", "; ")
		}
	}
	if len(verdict.Warn) > 0 {
		m.Note = strings.TrimPrefix(m.Note+"; plan policy warnings: "+strings.Join(verdict.Warn, "; "), "; ")
	}
	if _, err := s.moveRun(ctx, m); err != nil {
		return false, err
	}
	s.Notify()
	return m.To == Applying, nil
}

// checkApproval evaluates the approval policies of a tracked run whose
// plan has changes (ApprovalNone without any).
func (s *Service) checkApproval(ctx context.Context, r Run, st stack.Stack, delta Delta) (ApprovalVerdict, error) {
	if s.cfg.Approvals == nil {
		return ApprovalVerdict{Outcome: ApprovalNone}, nil
	}
	r.Delta = delta
	v, err := s.cfg.Approvals.CheckApproval(ctx, r, st, nil)
	if err != nil {
		return ApprovalVerdict{}, fmt.Errorf("approval policies of run %s: %w", r.ID, err)
	}
	return v, nil
}

// rejectPlan fails a run its approval policies rejected as soon as it
// planned.
func (s *Service) rejectPlan(ctx context.Context, m Move, a ApprovalVerdict, v PlanVerdict) error {
	msg := "rejected by approval policy: " + strings.Join(a.Messages, "; ")
	if len(v.Warn) > 0 {
		msg += " (plan policy warnings: " + strings.Join(v.Warn, "; ") + ")"
	}
	m.To, m.Error = Failed, errorDetail(msg)
	m.Note = m.Error
	if _, err := s.moveRun(ctx, m); err != nil {
		return err
	}
	s.Notify()
	return nil
}

// denyPlan fails a run whose plan a plan policy denied, with the messages
// as its error (masked like a worker's error: they can quote the plan).
func (s *Service) denyPlan(ctx context.Context, m Move, v PlanVerdict) error {
	mask, err := s.masker(ctx, m.RunID)
	if err != nil {
		return err
	}
	msg := "plan denied by policy: " + strings.Join(v.Deny, "; ")
	if len(v.Warn) > 0 {
		msg += " (warnings: " + strings.Join(v.Warn, "; ") + ")"
	}
	m.To, m.Error = Failed, errorDetail(mask.Mask(msg))
	m.Note = m.Error
	if _, err := s.moveRun(ctx, m); err != nil {
		return err
	}
	s.Notify()
	return nil
}

// Finish ends a leased run: FINISHED when errMsg is empty (after an apply
// or a task), FAILED with errMsg otherwise. detail is OpenTofu's own error
// (its Error: blocks), kept with a failure as the run's ErrorDetail.
func (s *Service) Finish(ctx context.Context, runID, leaseID, errMsg, detail string) (Run, error) {
	m := Move{RunID: runID, To: Failed, At: s.now(), Actor: s.workerActor(ctx, runID), LeaseID: leaseID}
	if errMsg == "" {
		m.To, m.From = Finished, []State{Applying, Performing}
	} else {
		if detail != "" {
			if _, err := s.holds(ctx, runID, leaseID); err != nil {
				return Run{}, err
			}
		}
		mask, err := s.masker(ctx, runID)
		if err != nil {
			return Run{}, err
		}
		// A remote worker's words: masked once more and bounded like the
		// detail, since the error is also the history note and the commit
		// status description.
		m.Error = errorDetail(mask.Mask(errMsg))
		m.Note = m.Error
		if detail != "" {
			m.ErrorDetail = errorDetail(mask.Mask(detail))
		}
	}
	r, err := s.moveRun(ctx, m)
	if err == nil {
		s.Notify()
	}
	return r, err
}

// holds checks that leaseID is the run's lease.
func (s *Service) holds(ctx context.Context, runID, leaseID string) (Exec, error) {
	e, err := s.cfg.Exec.GetExec(ctx, runID)
	if err != nil {
		return Exec{}, err
	}
	if leaseID == "" || e.LeaseID != leaseID {
		return Exec{}, apperr.Errorf(apperr.Conflict, "the worker no longer holds run %s", runID)
	}
	return e, nil
}

// PlanFile returns the saved plan of a run the worker holds for applying.
func (s *Service) PlanFile(ctx context.Context, runID, leaseID string) ([]byte, error) {
	if _, err := s.holds(ctx, runID, leaseID); err != nil {
		return nil, err
	}
	sealed, err := s.cfg.Exec.RunPlan(ctx, runID)
	if err != nil {
		return nil, err
	}
	return s.cfg.Box.Open(sealed, planAAD(runID))
}

// AppendLog stores worker output of a phase, masking the stack's secret
// values once more on the server.
func (s *Service) AppendLog(ctx context.Context, runID, leaseID, phase, text string) error {
	e, err := s.holds(ctx, runID, leaseID)
	if err != nil {
		return err
	}
	mask, err := s.masker(ctx, e.RunID)
	if err != nil {
		return err
	}
	if _, err := s.cfg.Exec.AppendRunLog(ctx, LogChunk{RunID: runID, Phase: phase, Body: mask.Mask(text), At: s.now()}); err != nil {
		return err
	}
	s.broadcast()
	return nil
}

// masker masks the secret values of the run's stack in what its worker
// sends: the worker masked them already, the server does it once more.
func (s *Service) masker(ctx context.Context, runID string) (Masker, error) {
	r, err := s.cfg.Runs.GetRun(ctx, runID)
	if err != nil {
		return Masker{}, err
	}
	env, err := s.runEnv(ctx, r.StackID)
	if err != nil {
		return Masker{}, err
	}
	var secrets []string
	for _, v := range env {
		if v.Secret {
			secrets = append(secrets, v.Value)
		}
	}
	return NewMasker(secrets), nil
}

// MaxErrorDetail bounds a run's ErrorDetail: a worker's text, kept whole
// on every run and shown in banners and merge request notes.
const MaxErrorDetail = 4 << 10

// errorDetail is a worker's error detail fit to keep: lines and tabs kept,
// other control characters (terminal escapes) and bidi overrides dropped,
// cut at MaxErrorDetail bytes.
func errorDetail(s string) string {
	s = strings.Map(func(r rune) rune {
		if r == '\n' || r == '\t' {
			return r
		}
		if unicode.IsControl(r) || unicode.Is(unicode.Bidi_Control, r) {
			return -1
		}
		return r
	}, strings.ToValidUTF8(s, "\uFFFD"))
	if len(s) > MaxErrorDetail {
		cut := MaxErrorDetail - len("…")
		for !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut] + "…"
	}
	return strings.TrimSpace(s)
}
