package api

// Launchpad is the getting-started checklist (SPEC §6.3).
type Launchpad struct {
	// the four numbered steps of SPEC §6.3
	Steps []LaunchpadStep `json:"steps"`
	Next  LaunchpadStep   `json:"next"`
	// how many of the steps are done
	Completed int `json:"completed"`
	// every available step is done
	Complete bool `json:"complete"`
}

// LaunchpadStep is one step of the checklist.
type LaunchpadStep struct {
	Number int    `json:"number"`
	Key    string `json:"key" enum:"connect_source_code,connect_cloud_account,create_first_stack,invite_teammate,trigger_first_run"`
	Title  string `json:"title"`
	Done   bool   `json:"done"`
	// false when Hoist cannot do this step yet
	Available bool   `json:"available"`
	Detail    string `json:"detail"`
}
