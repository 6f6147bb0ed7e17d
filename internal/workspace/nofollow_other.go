//go:build !unix

package workspace

// noFollow: O_EXCL already refuses an existing symlink where there is no
// O_NOFOLLOW.
const noFollow = 0
