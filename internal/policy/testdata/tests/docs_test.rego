package hoist_test

import data.hoist

test_ignores_markdown if {
	hoist.ignore with input as {"event": {"changed_files": ["README.md"]}}
}

test_keeps_code if {
	not hoist.ignore with input as {"event": {"changed_files": ["main.tf", "README.md"]}}
}

test_wrong_on_purpose if {
	hoist.ignore with input as {"event": {"changed_files": ["main.tf"]}}
}
