package server

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/envseal/envseal/internal/approve"
	"github.com/envseal/envseal/internal/audit"
	"github.com/envseal/envseal/internal/broker/client"
	"github.com/envseal/envseal/internal/seal"
)

// slowLog takes its time over run_finished, the record a broker appends
// while the result goes out, and notes whether the key it was handed was
// still the real one by then.
type slowLog struct {
	mu     sync.Mutex
	want   seal.Key
	kinds  []string
	badKey bool
}

func (l *slowLog) Event(key seal.Key, kind audit.Event, f map[string]any) {
	if kind == audit.RunFinished {
		time.Sleep(100 * time.Millisecond)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if !key.Equal(l.want) {
		l.badKey = true
	}
	l.kinds = append(l.kinds, string(kind)+"/"+f["via"].(string))
}

// A broker run's run_finished is written with the run's key (not the
// wiped one), before any record of the next run, and before the broker
// is done with the connection; two runs back to back keep the log's
// order.
func TestRunFinishedOrderAndKey(t *testing.T) {
	log := &slowLog{}
	tb := startBroker(t, approve.AllowOnce, func(c *Config) {
		log.want = c.Key.Clone()
		c.Audit = log
	})
	for range 2 {
		c, err := client.Dial(tb.sock)
		if err != nil {
			t.Fatal(err)
		}
		if res, err := c.Run(context.Background(), runReq("true")); err != nil || res.ExitCode != 0 {
			t.Fatalf("run: %+v %v", res, err)
		}
	}
	tb.srv.Close()
	<-tb.done
	tb.done <- nil // for the cleanup's wait
	log.mu.Lock()
	defer log.mu.Unlock()
	var runs []string
	for _, k := range log.kinds {
		if strings.HasPrefix(k, "run_") {
			runs = append(runs, k)
		}
	}
	want := "run_started/broker run_finished/broker run_started/broker run_finished/broker"
	if got := strings.Join(runs, " "); got != want {
		t.Errorf("run records %q, want %q", got, want)
	}
	if log.badKey {
		t.Error("a record was appended with a key other than the broker's (wiped?)")
	}
}
