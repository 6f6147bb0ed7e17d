package postgres

import "github.com/hoistdev/hoist/internal/store/sqlstore"

// ListenerName is the application_name of w's listen connection, for tests
// that cut it.
func ListenerName(w sqlstore.Wakes) string { return w.(*Notifier).applicationName() }

// ChannelName exposes channelName.
var ChannelName = channelName
