package server

import (
	"context"
	"io"
	"os"
	"testing"
	"time"

	"github.com/envseal/envseal/internal/approve"
	"github.com/envseal/envseal/internal/broker/client"
)

// TestLargeOutputThroughWarmHelper: a broker run whose program writes far
// more than a pipe holds, to a reader slower than the program, gets every
// byte through (the program's writes block; none fails with EAGAIN), run
// after run — the first by a cold helper, the later ones by warm ones.
func TestLargeOutputThroughWarmHelper(t *testing.T) {
	tb := startBroker(t, approve.AllowOnce, nil)
	const size = 8 << 20
	for i := range 3 {
		r, w, err := os.Pipe()
		if err != nil {
			t.Fatal(err)
		}
		got := make(chan int64, 1)
		go func() {
			time.Sleep(200 * time.Millisecond) // let the program fill every pipe on the way
			n, _ := io.Copy(io.Discard, r)
			r.Close()
			got <- n
		}()
		req := runReq("sh", "-c", "head -c 8388608 /dev/zero")
		req.Stdout = w
		c, err := client.Dial(tb.sock)
		if err != nil {
			t.Fatal(err)
		}
		var errb syncBuf
		req.Stderr = &errb
		res, err := c.Run(context.Background(), req)
		w.Close()
		n := <-got
		if err != nil || res.ExitCode != 0 || n != size {
			t.Fatalf("run %d: exit %+v, err %v, %d of %d bytes, stderr %q", i, res, err, n, size, errb.String())
		}
	}
}
