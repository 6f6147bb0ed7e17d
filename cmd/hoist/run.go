package main

// `hoist run …`: runs (SPEC §4.3, §6.1).

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/hoistdev/hoist/internal/api"
	"github.com/spf13/cobra"
)

func runCommands() []spec {
	return []spec{
		leaf("trigger", "trigger a run of a stack (TRACKED at its tracked commit, or --proposed --commit SHA)", "STACK [--proposed --commit SHA]", runTrigger),
		leaf("task", "run a command in a stack's workspace at its tracked commit and stream its log (writers)", "--stack STACK [--no-follow] -- tofu ARGS...", runTask),
		leaf("list", "list a stack's runs, newest first", "STACK", runList),
		leaf("show", "show a run with its history and plan", "RUN", runShow),
		leaf("logs", "print a run's log (--follow streams it until the run ends)", "RUN [--follow]", runLogsCmd),
		leaf("confirm", "confirm an UNCONFIRMED run: apply its plan", "RUN", runActionCmd("confirm")),
		leaf("discard", "discard a run (QUEUED, READY, PENDING_REVIEW or UNCONFIRMED)", "RUN", runActionCmd("discard")),
		leaf("review", "approve or reject a run that approval policies hold in PENDING_REVIEW", "RUN --approve|--reject [--note TEXT]", runReview),
		leaf("stop", "stop a run (INITIALIZING or PLANNING)", "RUN", runActionCmd("stop")),
	}
}

func runTrigger(e *env, cmd *cobra.Command) runFunc {
	fs := cmd.Flags()
	cf := addClientFlags(cmd)
	proposed := fs.Bool("proposed", false, "a PROPOSED run (plan only) instead of a TRACKED one")
	commit := fs.String("commit", "", "the commit `SHA` of a proposed run")
	return func(ctx context.Context, args []string) error {
		stack, err := parseWithID(cmd, args, "stack id")
		if err != nil {
			return err
		}
		in := api.TriggerRun{Type: "TRACKED"}
		if *proposed {
			in = api.TriggerRun{Type: "PROPOSED", CommitSHA: *commit}
		} else if *commit != "" {
			return usageError{"--commit goes with --proposed: tracked runs run the stack's tracked commit"}
		}
		c, err := cf.client(e)
		if err != nil {
			return err
		}
		r, err := c.TriggerRun(ctx, stack, in)
		if err != nil {
			return err
		}
		return printRun(e, cf, r)
	}
}

// runTask triggers a TASK run and, unless --no-follow, streams its log
// until it ends: the exit code says whether the command succeeded.
func runTask(e *env, cmd *cobra.Command) runFunc {
	fs := cmd.Flags()
	cf := addClientFlags(cmd)
	stack := fs.String("stack", "", "the `STACK` whose workspace runs the command")
	noFollow := fs.Bool("no-follow", false, "print the run and return at once instead of streaming its log")
	return func(ctx context.Context, args []string) error {
		if *stack == "" {
			return usageError{"--stack is required"}
		}
		if cmd.ArgsLenAtDash() != 0 || len(args) == 0 {
			return usageError{"give the command after --: hoist run task --stack S -- tofu state list"}
		}
		c, err := cf.client(e)
		if err != nil {
			return err
		}
		r, err := c.TriggerRun(ctx, *stack, api.TriggerRun{Type: "TASK", Command: args})
		if err != nil {
			return err
		}
		if *noFollow || cf.json() {
			return printRun(e, cf, r)
		}
		fmt.Fprintf(e.stderr, "task run %s of %s\n", r.ID, r.Stack)
		if err := c.FollowRunLogs(ctx, r.ID, e.stdout); err != nil {
			return err
		}
		if r, err = c.GetRun(ctx, r.ID); err != nil {
			return err
		}
		if r.State != "FINISHED" {
			msg := fmt.Sprintf("task run %s ended %s", r.ID, r.State)
			if r.Error != "" {
				msg += ": " + r.Error
			}
			return errors.New(msg)
		}
		return nil
	}
}

func runList(e *env, cmd *cobra.Command) runFunc {
	cf := addClientFlags(cmd)
	return func(ctx context.Context, args []string) error {
		c, stack, err := cf.parseID(e, args, "stack id")
		if err != nil {
			return err
		}
		var items []api.Run
		for r, err := range c.Runs(ctx, stack) {
			if err != nil {
				return err
			}
			items = append(items, r)
			if len(items) >= 200 {
				break
			}
		}
		return printList(e, cf, items, []string{"ID", "TYPE", "STATE", "COMMIT", "BRANCH", "DELTA", "CREATED"}, func(r api.Run) []string {
			return []string{r.ID, r.Type, r.State, short(r.CommitSHA), orDash(r.Branch), r.Delta.String(), fmtTime(r.CreatedAt)}
		})
	}
}

func short(sha string) string {
	if len(sha) > 12 {
		return sha[:12]
	}
	return orDash(sha)
}

func runShow(e *env, cmd *cobra.Command) runFunc {
	cf := addClientFlags(cmd)
	return func(ctx context.Context, args []string) error {
		c, id, err := cf.parseID(e, args, "run id")
		if err != nil {
			return err
		}
		r, err := c.GetRun(ctx, id)
		if err != nil {
			return err
		}
		if err := printRun(e, cf, r); err != nil || cf.json() || r.Delta == nil {
			return err
		}
		evs, err := c.RunPolicyEvaluations(ctx, id)
		if err != nil {
			return err
		}
		if len(evs) > 0 {
			if err := printEvaluations(e, evs); err != nil {
				return err
			}
		}
		reviews, err := c.RunReviews(ctx, id)
		if err != nil || len(reviews) == 0 {
			return err
		}
		var b strings.Builder
		for _, rv := range reviews {
			fmt.Fprintf(&b, "%s  %s (%s)  %s", fmtTime(rv.CreatedAt), rv.Decision, rv.Reviewer, rv.Role)
			if rv.Note != "" {
				b.WriteString("\n  " + rv.Note)
			}
			b.WriteString("\n")
		}
		return details(e.stdout, nil, "Reviews", b.String())
	}
}

// printEvaluations is run show's "Policies" part: each plan policy's
// outcome and what it said.
func printEvaluations(e *env, evs []api.PolicyEvaluation) error {
	var b strings.Builder
	for _, ev := range evs {
		fmt.Fprintf(&b, "%s v%d  %s  %s", ev.Policy, ev.PolicyVersion, ev.Outcome, time.Duration(ev.DurationUS)*time.Microsecond)
		for _, m := range ev.Messages {
			b.WriteString("\n  " + m)
		}
		if ev.Error != "" {
			b.WriteString("\n  error: " + ev.Error)
		}
		b.WriteString("\n")
	}
	return details(e.stdout, nil, "Policies", b.String())
}

func printRun(e *env, cf *clientFlags, r *api.Run) error {
	if cf.json() {
		return writeJSON(e.stdout, r)
	}
	rows := []kv{{"ID", r.ID}, {"Stack", r.Stack}, {"Type", r.Type}, {"State", r.State}, {"Commit", r.CommitSHA},
		{"Branch", orDash(r.Branch)}, {"Triggered by", r.TriggeredBy}, {"Reason", orDash(r.Reason)},
		{"Delta", deltaText(r.Delta)}}
	if r.BlockedBy != "" {
		rows = append(rows, kv{"Blocked by", r.BlockedBy})
	}
	if r.ToolVersion != "" {
		rows = append(rows, kv{"Tool", r.Tool + " " + r.ToolVersion})
	}
	if r.Error != "" {
		rows = append(rows, kv{"Error", r.Error})
	}
	for _, res := range r.Resources {
		rows = append(rows, kv{"Resource", res.Action + " " + res.Address})
	}
	if r.ErrorDetail != "" {
		// OpenTofu's own words, whole lines, before the history.
		if err := details(e.stdout, rows, "OpenTofu error", r.ErrorDetail); err != nil {
			return err
		}
		rows = nil
	}
	var history strings.Builder
	for _, t := range r.History {
		history.WriteString(fmtTime(t.At) + "  " + t.State + "  " + t.Actor)
		if t.Note != "" {
			history.WriteString("  (" + t.Note + ")")
		}
		history.WriteString("\n")
	}
	return details(e.stdout, rows, "History", history.String())
}

// deltaText is the plan summary of run show: "no plan" for a run that
// never planned.
func deltaText(d *api.Delta) string {
	if d == nil {
		return "no plan"
	}
	return fmt.Sprintf("%s (import %d)", d, d.Import)
}

func runLogsCmd(e *env, cmd *cobra.Command) runFunc {
	fs := cmd.Flags()
	cf := addClientFlags(cmd)
	follow := fs.Bool("follow", false, "stream the log until the run ends")
	return func(ctx context.Context, args []string) error {
		c, id, err := cf.parseID(e, args, "run id")
		if err != nil {
			return err
		}
		if *follow {
			return c.FollowRunLogs(ctx, id, e.stdout)
		}
		var after int64
		for {
			chunks, _, err := c.RunLogs(ctx, id, after)
			if err != nil {
				return err
			}
			if len(chunks) == 0 {
				return nil
			}
			var b strings.Builder
			for _, ch := range chunks {
				b.WriteString(ch.Body)
				after = ch.ID
			}
			if _, err := fmt.Fprint(e.stdout, b.String()); err != nil {
				return err
			}
		}
	}
}

func runReview(e *env, cmd *cobra.Command) runFunc {
	fs := cmd.Flags()
	cf := addClientFlags(cmd)
	approve := fs.Bool("approve", false, "approve the run")
	reject := fs.Bool("reject", false, "reject the run (its approval policies then fail it)")
	note := fs.String("note", "", "a note for the review (at most 4,000 bytes)")
	return func(ctx context.Context, args []string) error {
		if *approve == *reject {
			return usageError{"give exactly one of --approve and --reject"}
		}
		c, id, err := cf.parseID(e, args, "run id")
		if err != nil {
			return err
		}
		in := api.CreateReview{Decision: "approve", Note: *note}
		if *reject {
			in.Decision = "reject"
		}
		res, err := c.ReviewRun(ctx, id, in)
		if err != nil {
			return err
		}
		return printRun(e, cf, &res.Run)
	}
}

func runActionCmd(action string) func(*env, *cobra.Command) runFunc {
	return func(e *env, cmd *cobra.Command) runFunc {
		cf := addClientFlags(cmd)
		return func(ctx context.Context, args []string) error {
			c, id, err := cf.parseID(e, args, "run id")
			if err != nil {
				return err
			}
			r, err := c.RunAction(ctx, id, action)
			if err != nil {
				return err
			}
			return printRun(e, cf, r)
		}
	}
}
