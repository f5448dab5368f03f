package wire

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/envseal/envseal/internal/policy"
	"github.com/envseal/envseal/internal/vault"
)

// Version is the wire protocol version; a frame of another version is
// refused with an error frame, never guessed at.
const Version = 1

// Limits. A same-uid client is still untrusted input: these bound what one
// connection can make the broker allocate.
const (
	HeaderSize = 6
	MaxPayload = 1 << 20 // 1 MiB: argv + environment of a run
	MaxArgs    = 4096
	MaxEnv     = 4096
	MaxGrants  = 64
	MaxString  = 128 << 10
)

// Frame types. Client to broker are upper-case, broker to client
// lower-case.
const (
	TypeRun    byte = 'R' // RunMsg, with 3 fds (stdin, stdout, stderr)
	TypeSignal byte = 'S' // SignalMsg, while a run is in progress
	TypeStatus byte = 'T' // empty payload
	TypeLock   byte = 'L' // empty payload
	TypeList   byte = 'N' // empty payload: secret names and metadata
	TypeStore  byte = 'W' // StoreMsg: ask the human to type a new secret
	TypePolicy byte = 'P' // empty payload: the approved rules (no values in them)
	TypeScan   byte = 'F' // ScanMsg + 1 fd: where stored values occur in content (scan.go)
	// TypeWithdraw (empty payload) withdraws every pending approval of the
	// sending process (its pid from SO_PEERCRED): sent on a second
	// connection by a client interrupted while its run waits for the human.
	TypeWithdraw byte = 'X'
	// TypeJail (JailMsg + 1 fd, from outside every jail) registers a jail:
	// the fd is a channel to its pin holder (sandbox/holder_linux.go). The
	// broker answers TypeOK once it holds there every pinned file of the
	// runs in progress, and keeps the registration while the connection
	// stays open.
	TypeJail byte = 'J'

	TypeResult     byte = 'r' // ResultMsg
	TypeStatusOK   byte = 't' // StatusMsg
	TypeOK         byte = 'k' // empty payload
	TypeListOK     byte = 'n' // ListMsg
	TypeStoreOK    byte = 'w' // StoreResultMsg
	TypePolicyOK   byte = 'p' // PolicyMsg
	TypeScanOK     byte = 'f' // ScanResultMsg: names and offsets, never values
	TypeWithdrawOK byte = 'x' // WithdrawMsg
	TypeError      byte = 'e' // ErrorMsg: a protocol-level refusal
)

// ErrProtocol wraps every malformed-input failure of the decoder.
var ErrProtocol = errors.New("broker protocol error")

// Errorf is an ErrProtocol with context.
func Errorf(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrProtocol, fmt.Sprintf(format, args...))
}

// Frame is one decoded frame.
type Frame struct {
	Type    byte
	Payload []byte
}

// RunMsg is a run request: what launch.Request carries minus the stdio,
// which travels as descriptors.
type RunMsg struct {
	Argv       []string       `json:"argv"`
	Cwd        string         `json:"cwd"`
	Env        []string       `json:"env"`
	PATH       string         `json:"path"`
	InheritEnv bool           `json:"inherit_env,omitempty"`
	Grants     []policy.Grant `json:"grants"`
	Sandbox    string         `json:"sandbox,omitempty"`
	Network    bool           `json:"network,omitempty"`
	RW         []string       `json:"rw,omitempty"`
	OnLeak     string         `json:"on_leak,omitempty"`
	Pins       []string       `json:"pins,omitempty"`
	// Templates (--template-file): the broker reads, pins and renders them.
	Templates []policy.Template `json:"templates,omitempty"`
}

// SignalMsg forwards a signal the client received to the child.
type SignalMsg struct {
	Signal int `json:"signal"`
}

// WireError is a checkpoint failure as launch.Error carries it.
type WireError struct {
	Code int    `json:"code"`
	Msg  string `json:"msg"`
	Hint string `json:"hint,omitempty"`
}

// ResultMsg is how a run ended.
type ResultMsg struct {
	ExitCode int            `json:"exit_code"`
	Approval string         `json:"approval,omitempty"`
	RuleID   string         `json:"rule_id,omitempty"`
	Leaks    map[string]int `json:"leaks,omitempty"`
	Error    *WireError     `json:"error,omitempty"`
	// ApprovalWaitMS is how long the human took at the broker's prompt.
	ApprovalWaitMS int64 `json:"approval_wait_ms,omitempty"`
}

// StatusMsg describes the broker.
type StatusMsg struct {
	Version  int    `json:"version"`
	PID      int    `json:"pid"`
	Locked   bool   `json:"locked"`
	IdleLock int64  `json:"idle_lock_s"`
	Active   int    `json:"active"`
	Served   uint64 `json:"served"`
	Approver string `json:"approver"`
}

// JailMsg registers a jail (TypeJail): its user namespace, as
// /proc/PID/ns/user names it.
type JailMsg struct {
	UserNS string `json:"user_ns"`
}

// DecodeJail decodes a TypeJail payload.
func DecodeJail(p []byte) (*JailMsg, error) {
	var m JailMsg
	if err := decodeJSON(p, &m); err != nil {
		return nil, err
	}
	return &m, nil
}

// WithdrawMsg answers TypeWithdraw: how many prompts were withdrawn (0
// when the run is past its approval).
type WithdrawMsg struct {
	Withdrawn int `json:"withdrawn"`
}

// ErrorMsg is a protocol-level refusal (bad frame, other uid, busy).
type ErrorMsg struct {
	Msg string `json:"msg"`
}

// AppendFrame appends the encoding of one frame to dst.
func AppendFrame(dst []byte, typ byte, payload []byte) ([]byte, error) {
	if len(payload) > MaxPayload {
		return dst, Errorf("payload of %d bytes is over the %d-byte limit", len(payload), MaxPayload)
	}
	dst = append(dst, Version, typ)
	dst = binary.BigEndian.AppendUint32(dst, uint32(len(payload)))
	return append(dst, payload...), nil
}

// EncodeFrame encodes v as JSON in a frame of type typ (v nil: empty
// payload).
func EncodeFrame(typ byte, v any) ([]byte, error) {
	var p []byte
	if v != nil {
		var err error
		if p, err = json.Marshal(v); err != nil {
			return nil, err
		}
	}
	return AppendFrame(nil, typ, p)
}

// ParseHeader checks a frame header and returns its type and payload
// length.
func ParseHeader(h []byte) (typ byte, n int, err error) {
	if len(h) < HeaderSize {
		return 0, 0, Errorf("short header")
	}
	if h[0] != Version {
		return 0, 0, Errorf("protocol version %d (this envseal speaks %d)", h[0], Version)
	}
	typ = h[1]
	switch typ {
	case TypeScan, TypeScanOK, TypeWithdraw, TypeWithdrawOK, TypeJail:
	case TypeRun, TypeSignal, TypeStatus, TypeLock, TypeList, TypeStore, TypePolicy,
		TypeResult, TypeStatusOK, TypeOK, TypeListOK, TypeStoreOK, TypePolicyOK, TypeError:
	default:
		return 0, 0, Errorf("unknown frame type %#x", typ)
	}
	l := binary.BigEndian.Uint32(h[2:HeaderSize])
	if l > MaxPayload {
		return 0, 0, Errorf("payload of %d bytes is over the %d-byte limit", l, MaxPayload)
	}
	return typ, int(l), nil
}

// ReadFrame reads one frame from r. A bad header fails before any payload
// is allocated.
func ReadFrame(r io.Reader) (Frame, error) {
	var h [HeaderSize]byte
	if _, err := io.ReadFull(r, h[:]); err != nil {
		return Frame{}, err
	}
	return ReadPayload(r, h[:])
}

// ReadPayload reads the payload of the frame whose header is h.
func ReadPayload(r io.Reader, h []byte) (Frame, error) {
	typ, n, err := ParseHeader(h)
	if err != nil {
		return Frame{}, err
	}
	p := make([]byte, n)
	if _, err := io.ReadFull(r, p); err != nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return Frame{}, fmt.Errorf("read frame payload: %w", err)
	}
	return Frame{Type: typ, Payload: p}, nil
}

// decodeJSON decodes p strictly: unknown fields and trailing data are
// refused, so a newer client's request is never half-understood.
func decodeJSON(p []byte, v any) error {
	d := json.NewDecoder(bytes.NewReader(p))
	d.DisallowUnknownFields()
	if err := d.Decode(v); err != nil {
		return Errorf("%v", err)
	}
	if d.More() {
		return Errorf("trailing data after the message")
	}
	return nil
}

// DecodeRun decodes and bounds-checks a run request. The checkpoint
// validates the meaning (names, deliveries, tier); this checks only what
// the transport must: sizes, NUL bytes, an absolute cwd.
func DecodeRun(p []byte) (*RunMsg, error) {
	var m RunMsg
	if err := decodeJSON(p, &m); err != nil {
		return nil, err
	}
	switch {
	case len(m.Argv) == 0:
		return nil, Errorf("empty argv")
	case len(m.Argv) > MaxArgs:
		return nil, Errorf("%d arguments (max %d)", len(m.Argv), MaxArgs)
	case len(m.Env) > MaxEnv:
		return nil, Errorf("%d environment entries (max %d)", len(m.Env), MaxEnv)
	case len(m.Grants) > MaxGrants:
		return nil, Errorf("%d secrets (max %d)", len(m.Grants), MaxGrants)
	case !strings.HasPrefix(m.Cwd, "/"):
		return nil, Errorf("cwd is not absolute")
	case len(m.RW) > MaxGrants:
		return nil, Errorf("%d writable dirs (max %d)", len(m.RW), MaxGrants)
	case len(m.Templates) > MaxGrants:
		return nil, Errorf("%d templates (max %d)", len(m.Templates), MaxGrants)
	}
	strs := [][]string{m.Argv, m.Env, m.RW, {m.Cwd, m.PATH, m.Sandbox, m.OnLeak}}
	for _, g := range m.Grants {
		strs = append(strs, []string{g.Secret, g.Env, g.Template})
	}
	for _, t := range m.Templates {
		strs = append(strs, []string{t.Env, t.Path})
	}
	for _, ss := range strs {
		for _, s := range ss {
			if len(s) > MaxString || strings.IndexByte(s, 0) >= 0 {
				return nil, Errorf("a string is over %d bytes or holds a NUL byte", MaxString)
			}
		}
	}
	return &m, nil
}

// DecodeSignal decodes a signal frame; only the signals a terminal user
// can send are forwarded (no SIGKILL/SIGSTOP games through the broker).
func DecodeSignal(p []byte) (int, error) {
	var m SignalMsg
	if err := decodeJSON(p, &m); err != nil {
		return 0, err
	}
	if !forwardable(m.Signal) {
		return 0, Errorf("signal %d is not forwarded", m.Signal)
	}
	return m.Signal, nil
}

// Signal numbers (identical on every Linux architecture envseal supports
// for these six).
const (
	sigHUP  = 1
	sigINT  = 2
	sigQUIT = 3
	sigUSR1 = 10
	sigUSR2 = 12
	sigTERM = 15
)

func forwardable(s int) bool {
	switch s {
	case sigHUP, sigINT, sigQUIT, sigUSR1, sigUSR2, sigTERM:
		return true
	}
	return false
}

// DecodeResult, DecodeStatus and DecodeError are the client side.
func DecodeResult(p []byte) (*ResultMsg, error) {
	var m ResultMsg
	if err := decodeJSON(p, &m); err != nil {
		return nil, err
	}
	return &m, nil
}

func DecodeStatus(p []byte) (*StatusMsg, error) {
	var m StatusMsg
	if err := decodeJSON(p, &m); err != nil {
		return nil, err
	}
	return &m, nil
}

func DecodeError(p []byte) string {
	var m ErrorMsg
	if err := decodeJSON(p, &m); err != nil {
		return "malformed error frame"
	}
	return m.Msg
}

// ListEntry is one secret's metadata (never its value).
type ListEntry struct {
	Name       string    `json:"name"`
	Created    time.Time `json:"created,omitzero"`
	Updated    time.Time `json:"updated,omitzero"`
	Generation uint64    `json:"generation,omitempty"`
	RotateDays uint32    `json:"rotate_days,omitempty"`
	Provider   string    `json:"provider,omitempty"`
	Weak       bool      `json:"weak,omitempty"`
	LastUsed   time.Time `json:"last_used,omitzero"`
	UseUnknown bool      `json:"last_used_unknown,omitempty"` // not within the audit log's scanned tail
	Error      string    `json:"error,omitempty"`
}

// ListMsg answers TypeList.
type ListMsg struct {
	Secrets []ListEntry `json:"secrets"`
}

// MaxPurpose bounds the sentence shown to the human with a store request.
const MaxPurpose = 512

// StoreMsg asks the human, on the broker's channel, to type the value of
// a new secret. The value never travels over the socket.
type StoreMsg struct {
	Name    string `json:"name"`
	Purpose string `json:"purpose,omitempty"`
}

// StoreResultMsg answers TypeStore: stored, or why not.
type StoreResultMsg struct {
	Stored bool   `json:"stored"`
	Reason string `json:"reason,omitempty"` // declined, exists, timeout…
}

// DecodeList decodes a list answer.
func DecodeList(p []byte) (*ListMsg, error) {
	var m ListMsg
	if err := decodeJSON(p, &m); err != nil {
		return nil, err
	}
	return &m, nil
}

// DecodeStore decodes and bounds-checks a store request.
func DecodeStore(p []byte) (*StoreMsg, error) {
	var m StoreMsg
	if err := decodeJSON(p, &m); err != nil {
		return nil, err
	}
	if err := vault.ValidName(m.Name); err != nil {
		return nil, Errorf("%v", err)
	}
	if len(m.Purpose) > MaxPurpose || strings.IndexByte(m.Purpose, 0) >= 0 {
		return nil, Errorf("purpose is over %d bytes or holds a NUL byte", MaxPurpose)
	}
	return &m, nil
}

// DecodeStoreResult decodes a store answer.
func DecodeStoreResult(p []byte) (*StoreResultMsg, error) {
	var m StoreResultMsg
	if err := decodeJSON(p, &m); err != nil {
		return nil, err
	}
	return &m, nil
}

// PolicyMsg answers TypePolicy: the rules as an agent may see them (paths,
// hashes, argv, secret names and deliveries, tier, expiry — never a value).
type PolicyMsg struct {
	Rules []policy.Rule `json:"rules"`
}

// DecodePolicy decodes a policy answer.
func DecodePolicy(p []byte) (*PolicyMsg, error) {
	var m PolicyMsg
	if err := decodeJSON(p, &m); err != nil {
		return nil, err
	}
	return &m, nil
}
