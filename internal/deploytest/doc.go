// Package deploytest holds no code of the program: its tests check Hoist's
// packaging (the Dockerfile, deploy/compose.yaml, deploy/hoist.service) by
// running the image's steps outside a container (scripts/image-steps.sh)
// and by keeping those files in sync with the script and with the flags
// `hoist server` really has.
package deploytest
