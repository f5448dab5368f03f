//go:build !unix

package detect

// oNoFollow: this OS has no O_NOFOLLOW; callers Lstat first.
const oNoFollow = 0
