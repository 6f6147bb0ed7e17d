package demo

// The sample project's files: OpenTofu code that needs no provider download
// (only the built-in terraform_data resource, locals and outputs), so the
// first run works offline within seconds.

// Names of what the demo creates. They double as the ids checked on
// restart, so nothing is created twice.
const (
	Group           = "demo"
	Project         = "demo/infra"
	Branch          = "main"
	BotUsername     = "hoist-bot"
	IntegrationName = "Demo GitLab"
	IntegrationID   = "demo-gitlab"
	NetworkStack    = "demo-network"
	AppStack        = "demo-app"
)

// stackSpec is one sample stack.
type stackSpec struct {
	name, root, description string
	autodeploy              bool
}

var stacks = []stackSpec{
	{name: NetworkStack, root: "stacks/network",
		description: "The demo network. Tracked runs wait for your confirmation before they apply."},
	{name: AppStack, root: "stacks/app", autodeploy: true,
		description: "The demo application. **Autodeploy**: tracked runs apply without confirmation."},
}

const readme = `# demo/infra

Sample infrastructure for the Hoist demo (` + "`hoist server --demo`" + `). Two stacks, one per folder:

- ` + "`stacks/network`" + ` — tracked runs plan and wait for confirmation;
- ` + "`stacks/app`" + ` — autodeploy: tracked runs apply straight away.

The code uses only OpenTofu's built-in ` + "`terraform_data`" + ` resource, so no provider is downloaded.
`

const networkTF = `variable "revision" {
  description = "Bumped by the demo's push command: any new value replaces the network below."
  type        = number
  default     = 0
}

locals {
  cidr  = "10.42.0.0/16"
  zones = ["a", "b", "c"]
  subnets = {
    for i, zone in local.zones : zone => cidrsubnet(local.cidr, 8, i)
  }
}

resource "terraform_data" "network" {
  input = {
    cidr     = local.cidr
    subnets  = local.subnets
    revision = var.revision
  }
}

output "cidr" {
  value = local.cidr
}

output "subnets" {
  value = local.subnets
}
`

const appTF = `variable "replicas" {
  description = "How many instances of the app run."
  type        = number
  default     = 2
}

locals {
  name = "demo-app"
  instances = [
    for i in range(var.replicas) : format("%s-%d", local.name, i + 1)
  ]
}

resource "terraform_data" "app" {
  input = {
    name      = local.name
    instances = local.instances
  }
}

output "instances" {
  value = local.instances
}
`

// files is the initial content of the sample project.
func files() map[string]string {
	return map[string]string{
		"README.md":              readme,
		"stacks/network/main.tf": networkTF,
		"stacks/app/main.tf":     appTF,
	}
}
