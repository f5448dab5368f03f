package audit

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"testing"
	"time"

	"github.com/envseal/envseal/internal/seal"
)

// Known-answer records, also printed in docs/FORMAT.md ("audit.log"):
// master key 32 bytes of 0x42, so the audit subkey is
// HKDF-SHA256(ikm = 0x42×32, salt = none, info = "envseal v1 audit").
// Cross-checked with Python's hmac/hashlib when they were written.
var katLines = []string{
	`{"seq":1,"time":"2026-11-27T01:02:03.456789000Z","event":"vault_init","fields":{"kdf":"argon2id t=3 m=65536 p=4"},"prev":"0000000000000000000000000000000000000000000000000000000000000000","mac":"7e20bd6faa7ea263738b7abe293041857ac36a6e33151133b08b03fac0c8f36a"}`,
	`{"seq":2,"time":"2026-11-27T01:02:04.456789000Z","event":"unlock_failed","fields":{"reason":"wrong passphrase"},"prev":"832ab98144dd1e3c65de898308e1a943f12ec9aaaba13eb5b76fe32eb1e2a130","mac":null}`,
	`{"seq":3,"time":"2026-11-27T01:02:05.456789000Z","event":"secret_stored","fields":{"generation":1,"secret":"API_TOKEN","source":"tty"},"prev":"fb25be54857ad0087c47cb9b005c0d60e269234c73569f78bedffffa80c1f464","mac":"4eeb3a457591f112e753f34502f4d3d584243af9778bd075813beb1d9cf05c49"}`,
}

const katHead = "envseal audit head v1 seq=00000000000000000003 offset=00000000000000000460 hash=7ef6b1ed2f4e98952f6cac8597a02dc7b63b15ee5945529bf00845ee420ee451 mac=27bd67243cbc27768ce063cf44f65c11814fcf8e287336f02ca8a6f3bdafc4f7\n"

func TestFormatVectors(t *testing.T) {
	k := testKey(t)
	mac := seal.NewMAC(k.Subkey(seal.DomainAudit))
	t0 := time.Date(2026, 11, 27, 1, 2, 3, 456789000, time.UTC)
	var prev [HashSize]byte
	in := []struct {
		event, fields string
		keyed         bool
	}{
		{"vault_init", `{"kdf":"argon2id t=3 m=65536 p=4"}`, true},
		{"unlock_failed", `{"reason":"wrong passphrase"}`, false},
		{"secret_stored", `{"generation":1,"secret":"API_TOKEN","source":"tty"}`, true},
	}
	var lines []byte
	for i, r := range in {
		m := mac
		if !r.keyed {
			m = nil
		}
		got := encodeLine(uint64(i+1), t0.Add(time.Duration(i)*time.Second), r.event, []byte(r.fields), &prev, m)
		if string(got) != katLines[i] {
			t.Errorf("record %d:\n got %s\nwant %s", i+1, got, katLines[i])
		}
		prev = sha256.Sum256(got)
		lines = append(append(lines, got...), '\n')
	}
	// encodeFields produces exactly these fields from Go values.
	fb, _ := encodeFields(map[string]any{"source": "tty", "secret": "API_TOKEN", "generation": 1})
	if string(fb) != in[2].fields {
		t.Errorf("encodeFields = %s", fb)
	}
	h := head{seq: 3, offset: int64(len(katLines[0]) + len(katLines[1]) + 2), hash: prev}
	if got := string(h.encode(mac)); got != katHead {
		t.Errorf("head:\n got %q\nwant %q", got, katHead)
	}
	s, err := Verify(bytes.NewReader(lines), k)
	if err != nil || s.Records != 3 || s.Unkeyed != 1 || s.Uncovered != 0 {
		t.Fatalf("vectors do not verify: %v %+v", err, s)
	}
	if hh, err := parseHead([]byte(katHead), mac); err != nil || *hh != h {
		t.Fatalf("parseHead: %v %+v", err, hh)
	}
}

func TestParseRecord(t *testing.T) {
	r, err := ParseRecord([]byte(katLines[2] + "\n"))
	if err != nil {
		t.Fatal(err)
	}
	if r.Seq != 3 || r.Event != "secret_stored" || !r.Keyed() || hex.EncodeToString(r.Prev[:]) != "fb25be54857ad0087c47cb9b005c0d60e269234c73569f78bedffffa80c1f464" {
		t.Errorf("parsed %+v", r)
	}
	if want := time.Date(2026, 11, 27, 1, 2, 5, 456789000, time.UTC); !r.Time.Equal(want) {
		t.Errorf("time %v", r.Time)
	}
	f, err := r.FieldMap()
	if err != nil || f["secret"] != "API_TOKEN" || f["generation"].(interface{ String() string }).String() != "1" {
		t.Errorf("fields %v %v", f, err)
	}
	u, err := ParseRecord([]byte(katLines[1]))
	if err != nil || u.Keyed() {
		t.Errorf("unkeyed record: %+v %v", u, err)
	}
}

// Every way a line can differ from what encodeLine writes is refused, so
// a record has exactly one spelling.
func TestParseRejects(t *testing.T) {
	good := katLines[0]
	bad := map[string]string{
		"empty":               ``,
		"not json":            `hello`,
		"uppercase mac":       strings.Replace(good, "7e20bd6f", "7E20BD6F", 1),
		"short mac":           strings.Replace(good, `7e20bd6f`, `7e20bd6`, 1),
		"uppercase prev":      strings.Replace(katLines[1], "832ab981", "832AB981", 1),
		"leading zero seq":    strings.Replace(good, `"seq":1,`, `"seq":01,`, 1),
		"zero seq":            strings.Replace(good, `"seq":1,`, `"seq":0,`, 1),
		"negative seq":        strings.Replace(good, `"seq":1,`, `"seq":-1,`, 1),
		"huge seq":            strings.Replace(good, `"seq":1,`, `"seq":99999999999999999999,`, 1),
		"space after colon":   strings.Replace(good, `"seq":1,`, `"seq": 1,`, 1),
		"time without nanos":  strings.Replace(good, `03.456789000Z`, `03.456789Z`, 1),
		"time with offset":    strings.Replace(good, `03.456789000Z`, `03.456789000+`, 1),
		"month 13":            strings.Replace(katLines[1], `2026-11-27`, `2026-13-27`, 1),
		"uppercase event":     strings.Replace(good, `vault_init`, `Vault_init`, 1),
		"event with dash":     strings.Replace(good, `vault_init`, `vault-init`, 1),
		"fields not object":   strings.Replace(katLines[1], `{"reason":"wrong passphrase"}`, `["x"]`, 1),
		"fields broken json":  strings.Replace(katLines[1], `{"reason":"wrong passphrase"}`, `{"reason":}`, 1),
		"fields two objects":  strings.Replace(katLines[1], `{"reason":"wrong passphrase"}`, `{}{}`, 1),
		"members reordered":   strings.Replace(good, `{"seq":1,"time":"2026-11-27T01:02:03.456789000Z"`, `{"time":"2026-11-27T01:02:03.456789000Z","seq":1`, 1),
		"extra member":        strings.Replace(good, `"mac":`, `"x":1,"mac":`, 1),
		"trailing space":      good + " ",
		"mac as empty string": strings.Replace(katLines[1], `"mac":null`, `"mac":""`, 1),
		"newer format":        strings.Replace(good, `{"seq":1,`, `{"v":2,"seq":1,`, 1),
		"too long":            strings.Replace(katLines[1], `wrong passphrase`, strings.Repeat("x", MaxLine), 1),
	}
	for name, line := range bad {
		if _, err := ParseRecord([]byte(line)); err == nil {
			t.Errorf("%s: accepted %.120q", name, line)
		}
	}
}

// FuzzParseRecord: the parser never panics, and whatever it accepts is
// reproduced byte for byte by the encoder (one spelling per record).
// Seeds are in testdata/fuzz/FuzzParseRecord and below.
func FuzzParseRecord(f *testing.F) {
	for _, l := range katLines {
		f.Add([]byte(l)) // the known-answer records, keyed and unkeyed
	}
	f.Add([]byte(`{"seq":1,"time":"2026-11-27T01:02:03.456789000Z","event":"x","fields":{},"prev":"` + strings.Repeat("0", 64) + `","mac":null}`))                                          // smallest record
	f.Add([]byte(`{"seq":1,"time":"2026-11-27T01:02:03.456789000Z","event":"x","fields":{"a":"\u0000\"}"},"prev":"` + strings.Repeat("0", 64) + `","mac":null}`))                           // escapes inside fields
	f.Add([]byte(`{"seq":1,"time":"2026-11-27T01:02:03.456789000Z","event":"x","fields":{,"prev":"` + strings.Repeat("0", 64) + `"},"prev":"` + strings.Repeat("0", 64) + `","mac":null}`)) // a fake prev inside fields
	f.Add([]byte(`{"seq":1,"mac":null}`))                                                                                                                                                   // truncated in the middle
	f.Fuzz(func(t *testing.T, line []byte) {
		r, err := ParseRecord(line)
		if err != nil {
			return
		}
		var mac []byte
		out := appendPrefix(nil, r.Seq, r.Time, r.Event, r.Fields, &r.Prev)
		if r.Keyed() {
			mac = append(append(append(out, partMAC...), appendHex(nil, r.MAC)...), endKeyed...)
		} else {
			mac = append(out, endUnkeyed...)
		}
		if !bytes.Equal(mac, bytes.TrimSuffix(line, []byte("\n"))) {
			t.Fatalf("accepted a second spelling:\n in %q\nout %q", line, mac)
		}
		if _, err := r.FieldMap(); err != nil {
			t.Fatalf("accepted fields that do not decode: %v", err)
		}
	})
}

// FuzzVerify: Verify never panics on any input, and a log it accepts is
// made of records the parser accepts, one per line.
func FuzzVerify(f *testing.F) {
	f.Add([]byte(strings.Join(katLines, "\n") + "\n"))     // a valid log
	f.Add([]byte(katLines[0] + "\n" + katLines[2] + "\n")) // a gap
	f.Add([]byte(katLines[0]))                             // no final newline
	f.Add([]byte("\n\n"))
	k := testKey(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := Verify(bytes.NewReader(data), k)
		if err != nil {
			tamperErr(t, err) // every failure is a TamperError, never a panic or a read error
			return
		}
		lines := bytes.Split(bytes.TrimSuffix(data, []byte("\n")), []byte("\n"))
		if len(data) == 0 {
			lines = nil
		}
		if s.Records != len(lines) {
			t.Fatalf("%d records for %d lines", s.Records, len(lines))
		}
		for _, l := range lines {
			if _, err := ParseRecord(l); err != nil {
				t.Fatalf("verified a log with an unparsable line: %v", err)
			}
		}
	})
}
