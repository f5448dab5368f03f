package wire

import (
	"bytes"
	"encoding/binary"
	"errors"
	"testing"

	"github.com/envseal/envseal/internal/vault"
)

func frame(t testing.TB, typ byte, v any) []byte {
	b, err := EncodeFrame(typ, v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestFrameRoundTripAndLimits(t *testing.T) {
	m := &RunMsg{Argv: []string{"true"}, Cwd: "/", Env: []string{"A=b"}}
	f, err := ReadFrame(bytes.NewReader(frame(t, TypeRun, m)))
	if err != nil || f.Type != TypeRun {
		t.Fatalf("round trip: %v %q", err, f.Type)
	}
	if got, err := DecodeRun(f.Payload); err != nil || got.Argv[0] != "true" {
		t.Fatalf("decode run: %v", err)
	}
	bad := map[string][]byte{
		"version 2":     {2, TypeStatus, 0, 0, 0, 0},
		"unknown type":  {Version, 'Z', 0, 0, 0, 0},
		"oversized":     binary.BigEndian.AppendUint32([]byte{Version, TypeRun}, MaxPayload+1),
		"huge length":   {Version, TypeRun, 0xff, 0xff, 0xff, 0xff},
		"short payload": {Version, TypeRun, 0, 0, 0, 9, '{'},
		"short header":  {Version, TypeRun},
	}
	for name, b := range bad {
		if _, err := ReadFrame(bytes.NewReader(b)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	for name, p := range map[string]string{
		"empty argv":    `{"argv":[],"cwd":"/"}`,
		"relative cwd":  `{"argv":["x"],"cwd":"rel"}`,
		"unknown field": `{"argv":["x"],"cwd":"/","evil":1}`,
		"trailing":      `{"argv":["x"],"cwd":"/"} {}`,
		"nul":           `{"argv":["x\u0000y"],"cwd":"/"}`,
		"not json":      `argv`,
	} {
		if _, err := DecodeRun([]byte(p)); !errors.Is(err, ErrProtocol) {
			t.Errorf("%s: err = %v, want ErrProtocol", name, err)
		}
	}
	if _, err := DecodeSignal([]byte(`{"signal":9}`)); err == nil {
		t.Error("SIGKILL accepted for forwarding")
	}
	if s, err := DecodeSignal([]byte(`{"signal":2}`)); err != nil || s != 2 {
		t.Errorf("SIGINT refused: %v", err)
	}
}

// FuzzDecode feeds arbitrary bytes to the frame reader and every payload
// decoder: errors are fine, panics and over-limit allocations are not.
func FuzzDecode(f *testing.F) {
	f.Add(frame(f, TypeRun, &RunMsg{Argv: []string{"sh", "-c", "x"}, Cwd: "/tmp", Env: []string{"PATH=/bin"}}))
	f.Add(frame(f, TypeSignal, &SignalMsg{Signal: 2}))
	f.Add(frame(f, TypeStatus, nil))
	f.Add(frame(f, TypeResult, &ResultMsg{ExitCode: 1, Error: &WireError{Code: 126, Msg: "denied"}}))
	f.Add([]byte{Version, TypeRun, 0xff, 0xff, 0xff, 0xff})
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		r := bytes.NewReader(b)
		for {
			fr, err := ReadFrame(r)
			if err != nil {
				return
			}
			if len(fr.Payload) > MaxPayload {
				t.Fatalf("payload of %d bytes accepted", len(fr.Payload))
			}
			if m, err := DecodeRun(fr.Payload); err == nil {
				if len(m.Argv) == 0 || len(m.Argv) > MaxArgs || m.Cwd == "" || m.Cwd[0] != '/' {
					t.Fatalf("invalid run accepted: %d args", len(m.Argv))
				}
			}
			if s, err := DecodeSignal(fr.Payload); err == nil && !forwardable(s) {
				t.Fatalf("signal %d accepted", s)
			}
			if m, err := DecodeStore(fr.Payload); err == nil {
				if vault.ValidName(m.Name) != nil || len(m.Purpose) > MaxPurpose {
					t.Fatalf("invalid store request accepted")
				}
			}
			DecodeList(fr.Payload)
			DecodePolicy(fr.Payload)
			DecodeStoreResult(fr.Payload)
			DecodeResult(fr.Payload)
			DecodeStatus(fr.Payload)
			DecodeError(fr.Payload)
		}
	})
}
