package gitlab

import (
	gl "gitlab.com/gitlab-org/api/client-go"

	"github.com/hoistdev/hoist/internal/vcs"
)

// APIClient is the client-go client the Client uses for ep's API calls,
// for tests that drive client-go directly.
func (c *Client) APIClient(ep vcs.Endpoint) (*gl.Client, error) {
	client, _, err := c.clientFor(ep, apiCall)
	return client, err
}

// Classify is classify, for table tests.
var Classify = classify
