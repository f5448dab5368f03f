package approve

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// A minimal Assuan client, enough to drive pinentry
// (https://www.gnupg.org/documentation/manuals/assuan/). Every line the
// server sends is checked; anything outside the protocol is ErrProtocol,
// which denies.

// assuanMaxLine is the protocol's line limit (1000 bytes including LF).
const assuanMaxLine = 1000

// assuanError is an "ERR <code> <description>" reply.
type assuanError struct {
	code uint32
	desc string
}

func (e *assuanError) Error() string { return fmt.Sprintf("ERR %d %s", e.code, e.desc) }

// gpg-error codes (low 16 bits of an Assuan error) that pinentry uses.
const (
	gpgErrTimeout      = 62
	gpgErrCanceled     = 99
	gpgErrNotConfirmed = 114
)

type assuanLine struct {
	s   string
	err error
}

type assuanConn struct {
	w     io.Writer
	lines chan assuanLine
	done  chan struct{}
}

// newAssuanConn reads r in a goroutine, so that every wait for a reply can
// also wait for the context: a pinentry that hangs must not hang envseal.
func newAssuanConn(w io.Writer, r io.Reader) *assuanConn {
	c := &assuanConn{w: w, lines: make(chan assuanLine), done: make(chan struct{})}
	go func() {
		defer close(c.lines)
		br := bufio.NewReaderSize(r, 4096)
		for {
			var l assuanLine
			b, err := br.ReadSlice('\n')
			switch {
			case errors.Is(err, bufio.ErrBufferFull):
				l.err = fmt.Errorf("%w: line longer than %d bytes", ErrProtocol, br.Size())
			case err != nil:
				l.err = err
			default:
				l.s = string(b[:len(b)-1])
			}
			select {
			case c.lines <- l:
			case <-c.done:
				return
			}
			if l.err != nil {
				return
			}
		}
	}()
	return c
}

// close stops the reader goroutine once nobody waits for replies.
func (c *assuanConn) close() { close(c.done) }

func (c *assuanConn) next(ctx context.Context) (string, error) {
	select {
	case l, ok := <-c.lines:
		switch {
		case !ok || errors.Is(l.err, io.EOF):
			return "", fmt.Errorf("%w: pinentry closed the connection", ErrNoAnswer)
		case l.err != nil:
			return "", l.err
		}
		return l.s, nil
	case <-ctx.Done():
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return "", fmt.Errorf("%w: %w", ErrTimeout, ctx.Err())
		}
		return "", fmt.Errorf("approval cancelled: %w", ctx.Err())
	}
}

// greeting reads the server's first line, which must be OK.
func (c *assuanConn) greeting(ctx context.Context) error {
	l, err := c.next(ctx)
	if err != nil {
		return err
	}
	if l != "OK" && !strings.HasPrefix(l, "OK ") {
		return fmt.Errorf("%w: greeting %q", ErrProtocol, clip(l))
	}
	return nil
}

// transact sends one command and reads until OK or ERR, returning the
// decoded D data. Status (S) lines and comments (#) are skipped; an INQUIRE
// is answered with CAN: envseal has nothing to give a pinentry.
func (c *assuanConn) transact(ctx context.Context, cmd string) (string, error) {
	if len(cmd)+1 > assuanMaxLine || strings.ContainsAny(cmd, "\r\n") {
		return "", fmt.Errorf("assuan command too long or not escaped: %.20q", cmd)
	}
	if _, err := io.WriteString(c.w, cmd+"\n"); err != nil {
		return "", fmt.Errorf("write to pinentry: %w", err)
	}
	var data strings.Builder
	for {
		l, err := c.next(ctx)
		if err != nil {
			return "", err
		}
		switch {
		case l == "OK" || strings.HasPrefix(l, "OK "):
			return data.String(), nil
		case strings.HasPrefix(l, "ERR "):
			return "", parseAssuanErr(l)
		case strings.HasPrefix(l, "D "):
			d, err := percentDecode(l[2:])
			if err != nil {
				return "", err
			}
			if data.Len()+len(d) > assuanMaxLine {
				return "", fmt.Errorf("%w: too much data", ErrProtocol)
			}
			data.WriteString(d)
		case l == "S" || strings.HasPrefix(l, "S ") || strings.HasPrefix(l, "#"):
		case l == "INQUIRE" || strings.HasPrefix(l, "INQUIRE "):
			if _, err := io.WriteString(c.w, "CAN\n"); err != nil {
				return "", fmt.Errorf("write to pinentry: %w", err)
			}
		default:
			return "", fmt.Errorf("%w: unexpected line %q", ErrProtocol, clip(l))
		}
	}
}

func parseAssuanErr(l string) error {
	f := strings.SplitN(l[4:], " ", 2)
	code, err := strconv.ParseUint(f[0], 10, 32)
	if err != nil {
		return fmt.Errorf("%w: bad error line %q", ErrProtocol, clip(l))
	}
	e := &assuanError{code: uint32(code)}
	if len(f) == 2 {
		e.desc = clean(f[1], false).text
	}
	return e
}

// percentEscape escapes a parameter the Assuan way: '%', CR and LF must be
// %XX; other control bytes are escaped too, so nothing in the text can end
// the line and start a command of the agent's choosing.
func percentEscape(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '%' || c < 0x20 || c == 0x7f {
			fmt.Fprintf(&b, "%%%02X", c)
		} else {
			b.WriteByte(c)
		}
	}
	return b.String()
}

func percentDecode(s string) (string, error) {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '%' {
			b.WriteByte(s[i])
			continue
		}
		if i+2 >= len(s) {
			return "", fmt.Errorf("%w: truncated %%-escape", ErrProtocol)
		}
		v, err := strconv.ParseUint(s[i+1:i+3], 16, 8)
		if err != nil {
			return "", fmt.Errorf("%w: bad %%-escape", ErrProtocol)
		}
		b.WriteByte(byte(v))
		i += 2
	}
	return b.String(), nil
}

// clip keeps error messages about garbage short and printable.
func clip(s string) string {
	if len(s) > 60 {
		s = s[:60]
	}
	return clean(s, false).text
}
