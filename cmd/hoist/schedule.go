package main

// `hoist stack schedule …`: a stack's schedules (issue 21, docs/drift.md).

import (
	"context"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/hoistdev/hoist/internal/api"
)

func scheduleCommands() []spec {
	return []spec{
		leaf("create", "add a drift or task schedule to a stack (space admins)",
			"STACK --kind drift|task --cron EXPR [--time-zone ZONE] [--reconcile] [-- COMMAND...]", scheduleCreate),
		leaf("list", "list a stack's schedules", "STACK", scheduleList),
		leaf("delete", "delete a schedule of a stack (space admins)", "STACK SCHEDULE", scheduleDelete),
	}
}

func scheduleCreate(e *env, cmd *cobra.Command) runFunc {
	fs := cmd.Flags()
	cf := addClientFlags(cmd)
	kind := fs.String("kind", "", "drift (a proposed run whose plan marks the stack drifted) or task (runs COMMAND)")
	cron := fs.String("cron", "", "five cron fields (minute hour day-of-month month day-of-week) or @daily, @hourly, …")
	zone := fs.String("time-zone", "", "the IANA time zone of the cron's times (default UTC)")
	reconcile := fs.Bool("reconcile", false, "drift only: a drifted result starts a tracked run")
	return func(ctx context.Context, args []string) error {
		stack, command, err := stackAndCommand(cmd, args)
		if err != nil {
			return err
		}
		c, err := cf.client(e)
		if err != nil {
			return err
		}
		sc, err := c.CreateSchedule(ctx, stack, api.CreateSchedule{Kind: *kind, Cron: *cron, TimeZone: *zone,
			Command: command, Reconcile: *reconcile})
		if err != nil {
			return err
		}
		if cf.json() {
			return writeJSON(e.stdout, sc)
		}
		return details(e.stdout, []kv{{"ID", sc.ID}, {"Stack", sc.Stack}, {"Kind", sc.Kind}, {"Cron", sc.Cron},
			{"Time zone", sc.TimeZone}, {"Command", orDash(strings.Join(sc.Command, " "))}, {"Reconcile", yesNo(sc.Reconcile)},
			{"Next run", fmtTime(sc.NextRunAt)}}, "", "")
	}
}

// stackAndCommand splits the arguments of a command that takes a stack
// then, after --, a command: `STACK -- tofu state list`.
func stackAndCommand(cmd *cobra.Command, args []string) (string, []string, error) {
	dash := cmd.ArgsLenAtDash()
	if dash < 0 {
		dash = len(args)
	}
	stack, err := parseWithID(cmd, args[:dash], "stack id")
	if err != nil {
		return "", nil, err
	}
	return stack, args[dash:], nil
}

func scheduleList(e *env, cmd *cobra.Command) runFunc {
	cf := addClientFlags(cmd)
	return func(ctx context.Context, args []string) error {
		c, stack, err := cf.parseID(e, args, "stack id")
		if err != nil {
			return err
		}
		items, err := c.Schedules(ctx, stack)
		if err != nil {
			return err
		}
		return printList(e, cf, items, []string{"ID", "KIND", "CRON", "TIME ZONE", "NEXT RUN", "LAST RUN", "WHAT"},
			func(sc api.Schedule) []string {
				what := strings.Join(sc.Command, " ")
				if sc.Kind == "drift" {
					what = "drift detection"
					if sc.Reconcile {
						what += ", reconcile"
					}
				}
				last := orDash(sc.LastRun)
				if sc.LastError != "" {
					last = "error: " + sc.LastError
				}
				return []string{sc.ID, sc.Kind, sc.Cron, sc.TimeZone, fmtTime(sc.NextRunAt), last, what}
			})
	}
}

func scheduleDelete(e *env, cmd *cobra.Command) runFunc {
	cf := addClientFlags(cmd)
	return func(ctx context.Context, args []string) error {
		if len(args) != 2 {
			return usageError{fmt.Sprintf("%s: want a stack id and a schedule id, got %d arguments", cmdName(cmd), len(args))}
		}
		c, err := cf.client(e)
		if err != nil {
			return err
		}
		if err := c.DeleteSchedule(ctx, args[0], args[1]); err != nil {
			return err
		}
		if !cf.json() {
			fmt.Fprintf(e.stdout, "deleted schedule %s of stack %s\n", args[1], args[0])
		}
		return nil
	}
}
