//go:build !unix

package approve

import "fmt"

func userWritable(string) string { return "" }

func resolveTrusted(path string) (string, error) {
	return "", fmt.Errorf("check owner of %s: %w", path, ErrUnsupported)
}
