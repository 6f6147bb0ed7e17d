package main

// `hoist delivery …`: the webhook delivery log (SPEC §2.4).

import (
	"context"
	"fmt"
	"strconv"

	"github.com/hoistdev/hoist/internal/api"
	"github.com/spf13/cobra"
)

func deliveryCommands() []spec {
	return []spec{
		leaf("list", "list webhook deliveries, newest first", "[--integration I] [--limit N]", deliveryList),
		leaf("show", "show a delivery: what it was and what it did for each stack", "ID [--payload]", deliveryShow),
		leaf("redeliver", "process a delivery again from its stored body", "ID", deliveryRedeliver),
	}
}

func deliveryList(e *env, cmd *cobra.Command) runFunc {
	fs := cmd.Flags()
	cf := addClientFlags(cmd)
	var integration string
	var limit int
	fs.StringVar(&integration, "integration", "", "only the deliveries of integration `I`")
	fs.IntVar(&limit, "limit", 50, "show at most `N` deliveries")
	return func(ctx context.Context, args []string) error {
		if err := parseNoArgs(cmd, args); err != nil {
			return err
		}
		if limit < 1 {
			return usageError{"--limit must be at least 1"}
		}
		c, err := cf.client(e)
		if err != nil {
			return err
		}
		var items []api.Delivery
		for d, err := range c.Deliveries(ctx, integration) {
			if err != nil {
				return err
			}
			if items = append(items, d); len(items) == limit {
				break
			}
		}
		if cf.json() {
			return writeJSON(e.stdout, nonNilDeliveries(items))
		}
		rows := [][]string{{"ID", "RECEIVED", "INTEGRATION", "EVENT", "PROJECT", "REF", "STATUS", "PROCESSED", "RUNS", "SUMMARY"}}
		for _, d := range items {
			runs, summary := "-", orDash(d.Error)
			if d.Result != nil {
				runs = strconv.Itoa(len(d.Result.RunsCreated))
				if d.Error == "" {
					summary = d.Result.Summary
				}
			}
			rows = append(rows, []string{d.ID, fmtTime(d.ReceivedAt), d.Integration, d.Event, orDash(d.Project), orDash(d.Ref),
				d.Status, processedTimes(d.Processings), runs, summary})
		}
		return table(e.stdout, rows)
	}
}

// processedTimes says how often a delivery was processed: "1×", or
// "2× (redelivered)" when someone asked for it again.
func processedTimes(ps []api.Processing) string {
	switch len(ps) {
	case 0:
		return "-"
	case 1:
		return "1×"
	}
	return fmt.Sprintf("%d× (redelivered)", len(ps))
}

func nonNilDeliveries(ds []api.Delivery) []api.Delivery {
	if ds == nil {
		return []api.Delivery{}
	}
	return ds
}

func deliveryShow(e *env, cmd *cobra.Command) runFunc {
	fs := cmd.Flags()
	cf := addClientFlags(cmd)
	var payload bool
	fs.BoolVar(&payload, "payload", false, "print the stored headers and body instead")
	return func(ctx context.Context, args []string) error {
		c, id, err := cf.parseID(e, args, "delivery id")
		if err != nil {
			return err
		}
		d, err := c.GetDelivery(ctx, id)
		if err != nil {
			return err
		}
		switch {
		case cf.json():
			return writeJSON(e.stdout, d)
		case payload:
			return writeJSON(e.stdout, map[string]any{"headers": d.Headers, "body": d.Body})
		}
		if err := printDelivery(e, d); err != nil {
			return err
		}
		evs, err := c.DeliveryPolicyEvaluations(ctx, id)
		if err != nil || len(evs) == 0 {
			return err
		}
		return printEvaluations(e, evs)
	}
}

// printDelivery shows a delivery, then each processing's outcome and
// stack lines, oldest first, so a redelivery never hides what the first
// processing did.
func printDelivery(e *env, d *api.Delivery) error {
	summary := "-"
	if d.Result != nil {
		summary = d.Result.Summary
	}
	err := details(e.stdout, []kv{
		{"ID", d.ID},
		{"Received", fmtTime(d.ReceivedAt)},
		{"Integration", d.Integration},
		{"Event", d.Event},
		{"Project", orDash(d.Project)},
		{"Ref", orDash(d.Ref)},
		{"Dedupe key", d.DedupeKey},
		{"Status", fmt.Sprintf("%s (attempts: %d)", d.Status, d.Attempts)},
		{"Error", orDash(d.Error)},
		{"Result", summary},
	}, "", "")
	if err != nil {
		return err
	}
	if len(d.Processings) == 0 {
		return printResultLines(e, d.Result)
	}
	for _, p := range d.Processings {
		fmt.Fprintf(e.stdout, "\nProcessing %d: %s\n", p.Number, describeProcessing(p))
		if p.Error != "" {
			fmt.Fprintf(e.stdout, "  error: %s\n", oneLine(p.Error))
		}
		if p.Result != nil {
			fmt.Fprintf(e.stdout, "  %s\n", oneLine(p.Result.Summary))
		}
		if err := printResultLines(e, p.Result); err != nil {
			return err
		}
	}
	return nil
}

// describeProcessing is a processing's header line: what started it,
// when, and how it ended.
func describeProcessing(p api.Processing) string {
	what := p.Trigger
	if p.RequestedBy != "" {
		what += " by " + p.RequestedBy
	}
	attempts := "1 attempt"
	if p.Attempts != 1 {
		attempts = fmt.Sprintf("%d attempts", p.Attempts)
	}
	return fmt.Sprintf("%s at %s, %s (%s)", what, fmtTime(p.RequestedAt), p.Status, attempts)
}

// printResultLines prints a result's stack and module lines as tables.
func printResultLines(e *env, r *api.DeliveryResult) error {
	if r == nil {
		return nil
	}
	if len(r.Stacks) > 0 {
		fmt.Fprintln(e.stdout)
		rows := [][]string{{"STACK", "RESULT", "RUN", "REASON"}}
		for _, s := range r.Stacks {
			run := orDash(s.RunID)
			if s.RunType != "" && s.RunID != "" {
				run += " (" + s.RunType + ")"
			}
			rows = append(rows, []string{s.StackID, s.Result, run, s.Reason})
		}
		if err := table(e.stdout, rows); err != nil {
			return err
		}
		if r.StacksOmitted > 0 {
			fmt.Fprintf(e.stdout, "%d more skipped stacks are not listed.\n", r.StacksOmitted)
		}
	}
	if len(r.Modules) > 0 {
		fmt.Fprintln(e.stdout)
		rows := [][]string{{"MODULE", "VERSION", "RESULT", "REASON"}}
		for _, m := range r.Modules {
			rows = append(rows, []string{m.ModuleID, orDash(m.Version), m.Result, m.Reason})
		}
		return table(e.stdout, rows)
	}
	return nil
}

func deliveryRedeliver(e *env, cmd *cobra.Command) runFunc {
	cf := addClientFlags(cmd)
	return func(ctx context.Context, args []string) error {
		c, id, err := cf.parseID(e, args, "delivery id")
		if err != nil {
			return err
		}
		d, err := c.RedeliverDelivery(ctx, id)
		if err != nil {
			return err
		}
		if cf.json() {
			return writeJSON(e.stdout, d)
		}
		fmt.Fprintf(e.stdout, "Delivery %s queued for processing; `hoist delivery show %s` shows the result next to the earlier ones.\n", d.ID, d.ID)
		return nil
	}
}
