package main

// `hoist notification-target …`: notification targets (issue 21,
// docs/notifications.md). Their URL and secret are secrets: read from a
// file or an environment variable, never from the command line (which
// other users of the machine can see), and never shown.

import (
	"context"
	"fmt"
	"strconv"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/hoistdev/hoist/internal/api"
)

func notificationTargetCommands() []spec {
	return []spec{
		leaf("create", "create a webhook or Slack notification target", notificationCreateSynopsis, notificationCreate),
		leaf("list", "list the notification targets you may read", "", notificationList),
		leaf("show", "show a notification target (never its URL or secret)", "ID", notificationShow),
		leaf("update", "change a target's name, events, URL or secret",
			"ID [--name N] [--event E]... [--url-file F | --url-env V] [--secret-file F | --secret-env V]", notificationUpdate),
		leaf("delete", "delete a notification target and its delivery log", "ID", notificationDelete),
		leaf("deliveries", "show a target's delivery log, newest first, with each attempt", "ID [--limit N]", notificationDeliveries),
		leaf("redeliver", "send a delivery again (same body, new delivery id)", "ID DELIVERY", notificationRedeliver),
	}
}

const notificationCreateSynopsis = "--name N --space S --kind webhook|slack --event E... (--url-file F | --url-env V) " +
	"[--secret-file F | --secret-env V]"

// notificationSecretFlags are where a target's URL and secret come from.
type notificationSecretFlags struct{ urlFile, urlEnv, secretFile, secretEnv string }

func addNotificationSecretFlags(fs *pflag.FlagSet) *notificationSecretFlags {
	f := &notificationSecretFlags{}
	fs.StringVar(&f.urlFile, "url-file", "", "read the target URL from `FILE` (- for stdin)")
	fs.StringVar(&f.urlEnv, "url-env", "", "read the target URL from environment variable `VAR`")
	fs.StringVar(&f.secretFile, "secret-file", "", "read the signing secret (16-256 bytes) from `FILE` (- for stdin)")
	fs.StringVar(&f.secretEnv, "secret-env", "", "read the signing secret from environment variable `VAR`")
	return f
}

func (f *notificationSecretFlags) read(e *env) (url, secret string, err error) {
	if f.urlFile == "-" && f.secretFile == "-" {
		return "", "", usageError{"only one of --url-file and --secret-file can be stdin"}
	}
	if url, err = readSecret(e, "target URL", f.urlFile, f.urlEnv); err != nil {
		return "", "", err
	}
	secret, err = readSecret(e, "signing secret", f.secretFile, f.secretEnv)
	return url, secret, err
}

const eventNames = "run_finished, run_failed, run_needs_confirmation, run_needs_review, drift_detected, drift_cleared, token_expiring, " +
	"agent_pool_empty, agent_pool_recovered"

func notificationCreate(e *env, cmd *cobra.Command) runFunc {
	fs := cmd.Flags()
	cf := addClientFlags(cmd)
	var in api.CreateNotificationTarget
	var events listFlag
	fs.StringVar(&in.Name, "name", "", "name of the target (its id is the slug of it)")
	fs.StringVar(&in.Space, "space", "", "the space whose stacks (and those below) it hears about")
	fs.StringVar(&in.Kind, "kind", "", "webhook (signed JSON) or slack (Slack-compatible incoming webhook)")
	fs.Var(&events, "event", "an event to send (repeatable): "+eventNames)
	sf := addNotificationSecretFlags(fs)
	return func(ctx context.Context, args []string) error {
		if err := parseNoArgs(cmd, args); err != nil {
			return err
		}
		for flagName, v := range map[string]string{"name": in.Name, "space": in.Space, "kind": in.Kind} {
			if v == "" {
				return usageError{fmt.Sprintf("--%s is required", flagName)}
			}
		}
		if len(events) == 0 {
			return usageError{"give at least one --event"}
		}
		var err error
		if in.URL, in.Secret, err = sf.read(e); err != nil {
			return err
		}
		if in.URL == "" {
			return usageError{"give the target URL with --url-file or --url-env"}
		}
		in.Events = events
		c, err := cf.client(e)
		if err != nil {
			return err
		}
		t, err := c.CreateNotificationTarget(ctx, in)
		if err != nil {
			return err
		}
		return printNotificationTarget(e, cf, t)
	}
}

func notificationList(e *env, cmd *cobra.Command) runFunc {
	cf := addClientFlags(cmd)
	return func(ctx context.Context, args []string) error {
		c, err := cf.parseNone(e, args)
		if err != nil {
			return err
		}
		items, err := c.ListNotificationTargets(ctx)
		if err != nil {
			return err
		}
		return printList(e, cf, items, []string{"ID", "KIND", "SPACE", "HOST", "EVENTS"}, func(t api.NotificationTarget) []string {
			return []string{t.ID, t.Kind, t.Space, t.URLHost, joinOrDash(t.Events)}
		})
	}
}

func notificationShow(e *env, cmd *cobra.Command) runFunc {
	cf := addClientFlags(cmd)
	return func(ctx context.Context, args []string) error {
		c, id, err := cf.parseID(e, args, "notification target id")
		if err != nil {
			return err
		}
		t, err := c.GetNotificationTarget(ctx, id)
		if err != nil {
			return err
		}
		return printNotificationTarget(e, cf, t)
	}
}

func printNotificationTarget(e *env, cf *clientFlags, t *api.NotificationTarget) error {
	if cf.json() {
		return writeJSON(e.stdout, t)
	}
	signed := "no"
	if t.HasSecret {
		signed = "yes (X-Hoist-Signature)"
	}
	return details(e.stdout, []kv{
		{"ID", t.ID}, {"Name", t.Name}, {"Kind", t.Kind}, {"Space", t.Space}, {"Host", t.URLHost}, {"Signed", signed},
		{"Events", joinOrDash(t.Events)}, {"Created", fmtTime(t.CreatedAt)}, {"Updated", fmtTime(t.UpdatedAt)},
	}, "", "")
}

func notificationUpdate(e *env, cmd *cobra.Command) runFunc {
	fs := cmd.Flags()
	cf := addClientFlags(cmd)
	var name string
	var events listFlag
	fs.StringVar(&name, "name", "", "new name (the id stays)")
	fs.Var(&events, "event", "replace the events (repeatable): "+eventNames)
	sf := addNotificationSecretFlags(fs)
	return func(ctx context.Context, args []string) error {
		id, err := parseWithID(cmd, args, "notification target id")
		if err != nil {
			return err
		}
		set := flagsSet(fs)
		var in api.UpdateNotificationTarget
		if set["name"] {
			in.Name = &name
		}
		if set["event"] {
			l := []string(events)
			in.Events = &l
		}
		u, s, err := sf.read(e)
		if err != nil {
			return err
		}
		if u != "" {
			in.URL = &u
		}
		if s != "" {
			in.Secret = &s
		}
		c, err := cf.client(e)
		if err != nil {
			return err
		}
		t, err := c.UpdateNotificationTarget(ctx, id, in)
		if err != nil {
			return err
		}
		return printNotificationTarget(e, cf, t)
	}
}

func notificationDelete(e *env, cmd *cobra.Command) runFunc {
	cf := addClientFlags(cmd)
	return func(ctx context.Context, args []string) error {
		c, id, err := cf.parseID(e, args, "notification target id")
		if err != nil {
			return err
		}
		if err := c.DeleteNotificationTarget(ctx, id); err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "notification target %s deleted\n", id)
		return nil
	}
}

func notificationDeliveries(e *env, cmd *cobra.Command) runFunc {
	cf := addClientFlags(cmd)
	var limit int
	cmd.Flags().IntVar(&limit, "limit", 50, "show at most `N` deliveries")
	return func(ctx context.Context, args []string) error {
		c, id, err := cf.parseID(e, args, "notification target id")
		if err != nil {
			return err
		}
		if limit < 1 {
			return usageError{"--limit must be at least 1"}
		}
		items, err := c.NotificationDeliveries(ctx, id)
		if err != nil {
			return err
		}
		items = items[:min(limit, len(items))]
		return printList(e, cf, items, []string{"ID", "EVENT", "STATE", "ATTEMPTS", "STATUS", "CREATED", "ERROR"},
			func(d api.NotificationDelivery) []string {
				status := "-"
				if d.LastStatus != 0 {
					status = strconv.Itoa(d.LastStatus)
				}
				return []string{strconv.FormatInt(d.ID, 10), d.Event, d.State, strconv.Itoa(d.Attempts), status,
					fmtTime(d.CreatedAt), orDash(d.LastError)}
			})
	}
}

func notificationRedeliver(e *env, cmd *cobra.Command) runFunc {
	cf := addClientFlags(cmd)
	return func(ctx context.Context, args []string) error {
		if len(args) != 2 {
			return usageError{"give the notification target id and the delivery id"}
		}
		deliveryID, err := strconv.ParseInt(args[1], 10, 64)
		if err != nil || deliveryID <= 0 {
			return usageError{fmt.Sprintf("delivery id %q is not a number", args[1])}
		}
		c, err := cf.client(e)
		if err != nil {
			return err
		}
		d, err := c.RedeliverNotification(ctx, args[0], deliveryID)
		if err != nil {
			return err
		}
		if cf.json() {
			return writeJSON(e.stdout, d)
		}
		fmt.Fprintf(e.stdout, "delivery %d queued again as delivery %d\n", deliveryID, d.ID)
		return nil
	}
}
