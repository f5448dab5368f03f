//go:build linux

package cli

import (
	"crypto/subtle"
	"fmt"
	"net"
	"net/http"
	"strings"

	"github.com/rogpeppe/go-internal/testscript"
)

// httpserver TOKENFILE starts an HTTP server on 127.0.0.1 for the rest of
// the script and sets $URL. It answers 200 and echoes the bearer token back
// (so the test can see the scrubber at work on a real tool's output) when
// the Authorization header carries the token in TOKENFILE, 401 otherwise.
func cmdHTTPServer(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: httpserver tokenfile")
	}
	want := strings.TrimSpace(ts.ReadFile(args[0]))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		ts.Fatalf("listen: %v", err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
		if subtle.ConstantTimeCompare([]byte(got), []byte(want)) != 1 {
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		fmt.Fprintf(w, "authorized; you sent %s\n", got)
	})}
	go srv.Serve(ln)
	ts.Defer(func() { srv.Close() })
	ts.Setenv("URL", "http://"+ln.Addr().String()+"/")
}
