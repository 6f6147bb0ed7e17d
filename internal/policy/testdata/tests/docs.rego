package hoist

ignore if {
	count(input.event.changed_files) > 0
	every f in input.event.changed_files {
		endswith(f, ".md")
	}
}
