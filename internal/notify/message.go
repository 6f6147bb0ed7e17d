package notify

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
)

// Headers of a delivery (docs/notifications.md).
const (
	HeaderSignature = "X-Hoist-Signature" // sha256=<hex HMAC-SHA256 of the raw body>
	HeaderEvent     = "X-Hoist-Event"
	HeaderDelivery  = "X-Hoist-Delivery"  // the delivery's id: new for every redelivery
	HeaderTimestamp = "X-Hoist-Timestamp" // Unix seconds at the attempt
)

// Sign is the X-Hoist-Signature value of body under secret:
// "sha256=" and the hex HMAC-SHA256 of the raw body.
func Sign(secret, body []byte) string {
	m := hmac.New(sha256.New, secret)
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// slackMessage is a Slack-compatible incoming webhook message: text for
// notifications and clients without blocks, blocks for the channel.
type slackMessage struct {
	Text   string       `json:"text"`
	Blocks []slackBlock `json:"blocks"`
}

type slackBlock struct {
	Type     string      `json:"type"`
	Text     *slackText  `json:"text,omitempty"`
	Elements []slackText `json:"elements,omitempty"`
}

type slackText struct {
	Type string `json:"type"`
	Text string `json:"text"`
}

// slackEscape escapes the three characters Slack's mrkdwn reserves.
func slackEscape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}

// maxSlackChanges bounds the drift changes listed in a Slack message.
const maxSlackChanges = 10

// renderSlack turns a stored webhook body into a Slack message.
func renderSlack(payload []byte) ([]byte, error) {
	var n Notification
	if err := json.Unmarshal(payload, &n); err != nil {
		return nil, fmt.Errorf("decode notification: %w", err)
	}
	headline := slackEscape(n.Summary)
	if n.URL != "" {
		headline = fmt.Sprintf("<%s|%s>", slackEscape(n.URL), headline)
	}
	icon := map[Event]string{RunFinished: ":white_check_mark:", RunFailed: ":x:", RunNeedsConfirmation: ":raised_hand:",
		RunNeedsReview: ":eyes:", DriftDetected: ":warning:", DriftCleared: ":white_check_mark:", TokenExpiring: ":hourglass:",
		AgentPoolEmpty: ":rotating_light:", AgentPoolRecovered: ":white_check_mark:"}[n.Event]
	msg := slackMessage{Text: strings.TrimSpace(icon + " " + slackEscape(n.Summary)),
		Blocks: []slackBlock{{Type: "section", Text: &slackText{Type: "mrkdwn", Text: strings.TrimSpace(icon + " *" + headline + "*")}}}}
	var ctx []string
	if r := n.Run; r != nil {
		if r.Branch != "" {
			ctx = append(ctx, "branch `"+slackEscape(r.Branch)+"`")
		}
		if r.CommitSHA != "" {
			ctx = append(ctx, "commit `"+r.CommitSHA[:min(8, len(r.CommitSHA))]+"` "+slackEscape(r.CommitTitle))
		}
		if r.Note != "" {
			ctx = append(ctx, slackEscape(r.Note))
		}
	}
	if d := n.Drift; d != nil && len(d.Changes) > 0 {
		lines := make([]string, 0, maxSlackChanges+1)
		for i, c := range d.Changes {
			if i == maxSlackChanges {
				lines = append(lines, fmt.Sprintf("… and %d more", len(d.Changes)-maxSlackChanges))
				break
			}
			lines = append(lines, "• `"+slackEscape(c.Address)+"` "+slackEscape(c.Action))
		}
		msg.Blocks = append(msg.Blocks, slackBlock{Type: "section", Text: &slackText{Type: "mrkdwn", Text: strings.Join(lines, "\n")}})
	}
	ctx = append(ctx, "space `"+slackEscape(n.Space)+"`", "event `"+string(n.Event)+"`")
	msg.Blocks = append(msg.Blocks, slackBlock{Type: "context", Elements: []slackText{{Type: "mrkdwn", Text: strings.Join(ctx, " · ")}}})
	return json.Marshal(msg)
}
